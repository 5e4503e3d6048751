"""The readiness report's sentences: the verdict the run stops with, the targets it covers, why none is left."""

from __future__ import annotations

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._reporting.report import (
    no_target_left,
    report_targets,
    verdict_message,
    write_report,
)

FILES = ["r/readiness-report.json", "r/readiness-report.md"]
WHERE = "The report is in r/readiness-report.json, r/readiness-report.md."


def tally(**given):
    return {"PASS": 0, "WARN": 0, "FAIL": 0, "ERROR": 0, "SKIP": 0, **given}


@pytest.mark.parametrize("counts, strict, said", [
    (tally(FAIL=2), False, "NO-GO: 2 check(s) failed. "),
    (tally(FAIL=2, ERROR=1), False, "NO-GO: 2 check(s) failed, 1 could not judge. "),
    (tally(ERROR=1, WARN=3), True, "NO-GO: 0 check(s) failed, 1 could not judge and 3 warned (strict). "),
    (tally(FAIL=1, WARN=3), False, "NO-GO: 1 check(s) failed. "),  # not strict: a WARN is not why it stops
    (tally(WARN=3), True, "NO-GO: 0 check(s) failed and 3 warned (strict). "),
])
def test_the_no_go_message_counts_what_made_it_no_go(counts, strict, said):
    assert verdict_message("NO-GO", counts, strict, FILES) == said + WHERE


def test_a_go_message_says_where_the_report_is():
    assert verdict_message("GO", tally(PASS=4, WARN=1), False, FILES) == "GO. " + WHERE


def test_write_report_returns_the_message_of_its_verdict(tmp_path):
    checks = [{"id": "a", "section": "1. Environment", "title": "A", "status": "FAIL", "message": "m",
               "evidence": {}, "remediation": "r", "duration_ms": 1.0}]
    params = {"results": {"web": checks}, "dest": str(tmp_path), "basename": "readiness-report", "strict": False,
              "scopes": {}}
    result = write_report(params, check_mode=True)
    assert result["message"] == "NO-GO: 1 check(s) failed. The report is in %s." % ", ".join(result["files"])
    assert not list(tmp_path.iterdir())


def test_the_report_covers_the_hosts_given_else_those_the_pattern_matches():
    assert report_targets(["web1"], ["web1", "web2"]) == ["web1"]
    assert report_targets([], ["web1", "web2"]) == ["web1", "web2"]
    assert report_targets([], []) == []


def test_no_target_left_says_whether_the_pattern_or_the_limit_left_none():
    advice = (": give an inventory with that group (-i inventory.yml), set aragora_targets to your targets' group or "
              "host pattern, or widen the limit.")
    start = "NO-GO: no Aragora target is left to check. "
    assert no_target_left("aragora", [], None) == start + "No inventory host matches 'aragora'" + advice
    assert no_target_left("aragora", [], "db") == start + "No inventory host matches 'aragora'" + advice
    assert no_target_left("aragora", ["web1", "web2"], "db") == (
        start + "'aragora' matches web1, web2 and --limit db leaves none of them" + advice)
    assert no_target_left("aragora", ["web1"], None) == start + "'aragora' matches web1" + advice
