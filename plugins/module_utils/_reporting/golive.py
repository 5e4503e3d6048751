# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checklist's Go-Live Verification as its scripts print it: the pre-launch health check (seven readiness checks)
and the post-launch smoke test (the smoke checks). ``runner.run_prelaunch``/``run_smoke`` run them."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._engine.result import FAIL, PASS, SKIP, WARN

# The script's seven steps, in its order: its label, and the readiness check that answers it.
PRELAUNCH_STEPS: tuple[tuple[str, str], ...] = (
    ("Health endpoint", "health.api_health"),
    ("Database", "database.connection"),
    ("Redis", "redis.connection"),
    ("TLS Certificate", "tls.expiry"),
    ("Replicas", "ha.replicas"),
    ("Pod distribution", "ha.pod_distribution_nodes"),
    ("Circuit breakers open", "providers.circuit_breakers"),
)
PRELAUNCH_CHECK_IDS: tuple[str, ...] = tuple(check_id for _label, check_id in PRELAUNCH_STEPS)


def _word(result: dict) -> str:
    """What the script prints for a step it has no better word for."""
    if result["status"] == SKIP:
        return "SKIPPED (%s)" % result["message"]
    if result["status"] == FAIL:
        return "FAILED (%s)" % result["message"]
    if result["status"] == WARN:
        return "WARNING (%s)" % result["message"]
    return "ok"


def _line(label: str, result: dict | None) -> list[str]:
    if result is None:
        return ["%s: not checked" % label]
    evidence, status = result.get("evidence") or {}, result["status"]
    if result["id"] == "health.api_health" and status != SKIP:
        return ["%s: %s" % (label, evidence.get("status") if status == PASS else "FAILED (%s)" % result["message"])]
    if result["id"] == "tls.expiry" and status in (PASS, WARN):
        days = evidence.get("days_left", evidence.get("days_remaining"))
        left = "" if days is None else ", %s days left" % days
        return ["%s: OK (>%g days)%s" % (label, evidence.get("fail_under_days", 7), left)]
    if result["id"] == "tls.expiry" and status == FAIL:
        return ["%s: EXPIRING SOON (%s)" % (label, result["message"])]
    if result["id"] == "ha.replicas" and status != SKIP and "desired" in evidence:
        return ["%s: %s/%s%s" % (label, evidence["ready"], evidence["desired"],
                                 "" if status == PASS else " (%s)" % result["message"])]
    if result["id"] == "ha.pod_distribution_nodes" and status != SKIP:
        lines = ["%s:%s" % (label, "" if status == PASS else " %s" % result["message"])]
        for node, pods in sorted((evidence.get("pods_by_node") or {}).items()):
            lines.extend("%s %s" % (pod, node) for pod in pods)
        return lines
    if result["id"] == "providers.circuit_breakers" and status != SKIP and "open" in evidence:
        return ["%s: %d" % (label, len(evidence["open"]))]
    if result["id"] == "providers.circuit_breakers":
        return ["%s: ? (%s)" % (label, result["message"])]
    return ["%s: %s" % (label, _word(result))]


def prelaunch_lines(results: t.Sequence[dict], steps: t.Sequence[tuple[str, str]] = PRELAUNCH_STEPS) -> list[str]:
    by_id = {result["id"]: result for result in results}
    lines = ["=== Pre-Launch Health Check ==="]
    for label, check_id in steps:
        lines.extend(_line(label, by_id.get(check_id)))
    lines.append("=== Check Complete ===")
    return lines


def smoke_lines(results: t.Sequence[dict]) -> list[str]:
    return (["=== Post-Launch Smoke Test ==="] + ["[%s] %s" % (r["status"], r["message"]) for r in results]
            + ["=== Smoke Test Complete ==="])
