"""The incident record: its fields, the actor, the files."""

from __future__ import annotations

import json

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._reporting.incident import build_record, to_markdown, write_record


def record(**changes):
    fields = {"kind": "systemd-rollback", "target": {"host": "web-1", "unit": "aragora.service"}, "from_": "2.11.1",
              "to": "2.10.0", "outcome": "succeeded", "summary": "Rolled back | verified",
              "verification": {"health_verdict": "GO"}, "events": [{"step": "switched", "detail": "x"}],
              "started": "2026-01-02T03:04:05+00:00"}
    fields.update(changes)
    return build_record(**fields)


def test_actor_is_the_given_awx_user_or_the_local_user():
    assert record(actor="alice")["actor"] == "alice"
    local = record()
    assert local["actor"] and local["actor_source"] == "local user"


def test_unknown_outcome_is_refused():
    with pytest.raises(ValueError, match="outcome must be one of"):
        record(outcome="maybe")


def test_files_json_and_markdown_and_no_overwrite(tmp_path):
    first = write_record(record(), str(tmp_path))
    second = write_record(record(), str(tmp_path))
    assert [p.rsplit("/", 1)[1] for p in first] == [
        "incident-20260102T030405-systemd-rollback-web-1-aragora.service.json",
        "incident-20260102T030405-systemd-rollback-web-1-aragora.service.md"]
    assert second[0].endswith("-2.json")
    with open(first[0], encoding="utf-8") as handle:
        assert json.load(handle)["to"] == "2.10.0"


def test_markdown_names_who_what_and_escapes_table_cells():
    text = to_markdown(record(actor="alice"))
    assert "| Who | alice |" in text and "| From | 2.11.1 |" in text and "| Target host | web-1 |" in text
    assert "1. switched - x" in text and "- health_verdict: GO" in text


def test_markdown_page_byte_for_byte():
    reverted = build_record("systemd-rollback", {"host": "web-1"}, "2.11.1", None, "reverted", "Reverted | back", {},
                            [{"step": "switched", "detail": "a|b"}, {"step": "checked"}], actor="alice",
                            started="2026-01-02T03:04:05+00:00", finished="2026-01-02T03:04:09+00:00")
    assert to_markdown(reverted) == """\
# Incident record: systemd-rollback - REVERTED

Reverted | back

| | |
|---|---|
| Who | alice |
| Started | 2026-01-02T03:04:05+00:00 |
| Finished | 2026-01-02T03:04:09+00:00 |
| From | 2.11.1 |
| To | - |
| Target host | web-1 |

## Verification

- none

## What happened

1. switched - a\\|b
2. checked
"""
    planned = build_record("k8s-rollback", {}, "a", "b", "planned", "s", {"gate": "GO"}, [], actor="bob",
                           started="2026-01-02T03:04:05+00:00", finished="2026-01-02T03:04:05+00:00")
    assert to_markdown(planned).split("## Verification\n\n")[1] == (
        "- gate: GO\n\n## What happened\n\n- nothing recorded\n")


def test_a_key_with_a_bar_or_a_newline_stays_in_its_row():
    record = build_record("db-restore", {"db|name": "x"}, "a", "b", "failed", "s", {"rows\nverified": 3}, [],
                          actor="bob", started="2026-12-01T00:00:00+00:00")
    page = to_markdown(record)
    assert "| Target db\\|name | x |" in page
    assert "- rows verified: 3" in page
