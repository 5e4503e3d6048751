# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The incident record of an action taken during an incident (a rollback, a restore): who, when, where, from what
to what, and whether it was verified. Generic: a systemd rollback names hosts, a Kubernetes one a cluster and
namespace; both write the same JSON and Markdown (a page rendered by _reporting/document.py, as the readiness
report is). No Ansible here."""

from __future__ import annotations

import datetime
import getpass
import json
import os
import re
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._clients.files import write_atomically, write_json_atomically
from ansible_collections.aragora.ops.plugins.module_utils._reporting import document as doc
from ansible_collections.aragora.ops.plugins.module_utils._reporting import markdown as md

OUTCOMES = ("succeeded", "unchanged", "reverted", "failed", "planned")


def local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return "uid %d" % os.getuid()


def build_record(kind: str, target: t.Mapping[str, t.Any], from_: t.Any, to: t.Any, outcome: str,
                 summary: str, verification: t.Mapping[str, t.Any] | None = None,
                 events: t.Sequence[t.Mapping[str, t.Any]] | None = None, actor: str | None = None,
                 started: str | None = None, finished: str | None = None) -> dict[str, t.Any]:
    """One incident record; ``actor`` defaults to the local user (pass the AWX/AAP user when there is one)."""
    if outcome not in OUTCOMES:
        raise ValueError("outcome must be one of %s, got %r" % (", ".join(OUTCOMES), outcome))
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return {
        "kind": kind,
        "outcome": outcome,
        "summary": summary,
        "actor": actor or local_user(),
        "actor_source": "given" if actor else "local user",
        "started": started or now,
        "finished": finished or now,
        "target": dict(target),
        "from": from_,
        "to": to,
        "verification": dict(verification or {}),
        "events": [dict(event) for event in events or ()],
    }


def _value(value: t.Any) -> str:
    """A field's value as text: "-" when empty, JSON when not a string."""
    if value is None or value == "":
        return "-"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def document(record: t.Mapping[str, t.Any]) -> doc.Document:
    """The record as a page: facts (who, when, from, to, the target), what verified it, what happened."""
    facts = [(label, _value(record[key])) for label, key in (
        ("Who", "actor"), ("Started", "started"), ("Finished", "finished"), ("From", "from"), ("To", "to"))]
    facts += [("Target %s" % key, _value(value)) for key, value in sorted(record["target"].items())]
    verification = [(key, ": ", _value(value)) for key, value in sorted(record["verification"].items())]
    events = [(_value(event.get("step", event)), " - ", _value(event["detail"])) if event.get("detail")
              else _value(event.get("step", event)) for event in record["events"]]
    return doc.Document(
        doc.Verbatim("Incident record: %s - %s" % (record["kind"], record["outcome"].upper())), facts, [
            doc.Section("Verification", [doc.ItemList(verification or ["none"])]),
            doc.Section("What happened", [doc.ItemList(events, ordered=True) if events
                                          else doc.ItemList(["nothing recorded"])])],
        summary=doc.Verbatim(record["summary"]))


def to_markdown(record: t.Mapping[str, t.Any]) -> str:
    return doc.to_markdown(document(record))


def file_stem(record: t.Mapping[str, t.Any]) -> str:
    """incident-<UTC time>-<kind>-<target>: sorts by time, unique per target and action."""
    stamp = re.sub(r"[^0-9T]", "", record["started"].split("+")[0])
    target = "-".join(str(value) for _key, value in sorted(record["target"].items()) if value)
    return md.file_name_part("incident-%s-%s-%s" % (stamp, record["kind"], target or "unknown"))[:150]


def write_record(record: t.Mapping[str, t.Any], directory: str) -> list[str]:
    """Write <stem>.json and <stem>.md under ``directory`` (created if needed); return their paths."""
    os.makedirs(directory, exist_ok=True)
    stem = base = os.path.join(directory, file_stem(record))
    number = 1
    while os.path.exists(stem + ".json"):  # two actions on one target within a second: keep both
        number += 1
        stem = "%s-%d" % (base, number)
    write_json_atomically(stem + ".json", record)
    write_atomically(stem + ".md", to_markdown(record))
    return [stem + ".json", stem + ".md"]
