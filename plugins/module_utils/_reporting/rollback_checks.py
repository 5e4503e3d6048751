# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verifications of a rollback and of the go-live watch window as results of the common schema
(_engine/result.py), read from the role's result (module_utils/_operations/rollback_outcome.py): the health gate on
the release rolled back to, the systemd revert, the watch window and its automatic rollback. They go into the result
fact's ``checks``, which the report's renderer and any other reader of check results understand; the incident
record keeps its own fields as they are."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._engine.result import Outcome, make_result

# Checklist section 10 (Disaster Recovery): a rollback is its procedure, verified.
SECTION = "10"
GATE_REMEDIATION = ("Look at the health checks in the incident record; fix the release rolled back to, or roll back "
                    "to another one.")
REVERT_REMEDIATION = "Check the unit and the release link by hand now (systemctl status, readlink) and restore service."
WATCH_REMEDIATION = "Find why the release crossed the threshold before it goes live again (the breach's sample)."
AUTO_ROLLBACK_REMEDIATION = "Roll back by hand (playbooks/rollback.yml) and read the rollback's incident record."


def _gate(result: t.Mapping[str, t.Any]) -> Outcome:
    verification = result.get("verification") or {}
    verdict = verification.get("health_verdict") or verification.get("health")
    evidence = {"verdict": verdict, "expected_version": verification.get("expected_version"), "to": result.get("to")}
    outcome = result.get("outcome")
    if outcome == "planned":
        return Outcome("SKIP", "Check mode: the health gate on %s did not run" % result.get("to"), evidence, "")
    if verdict == "GO" and outcome in ("succeeded", "unchanged"):
        version = verification.get("expected_version")
        return Outcome("PASS", "%s passed the health gate%s" % (
            result.get("to"), (" (release %s)" % version) if version else ""), evidence)
    if verdict:
        return Outcome("FAIL", "%s did not pass the health gate (%s): %s" % (result.get("to"), verdict,
                                                                             result.get("reason")), evidence)
    if result.get("reason"):
        return Outcome("SKIP", "The health gate did not run: %s" % result["reason"], evidence, "")
    return Outcome("SKIP", "%s: nothing was switched, so there was nothing to verify" % result.get("message"),
                   evidence, "")


def rollback_results(result: t.Mapping[str, t.Any]) -> list[dict]:
    """``rollback.health_gate`` for every rollback; ``rollback.revert`` for a systemd rollback that reverted."""
    results = [make_result("rollback.health_gate", SECTION, "The release rolled back to passes the health gate",
                           _gate(result), GATE_REMEDIATION)]
    outcome = result.get("outcome")
    if result.get("kind") == "systemd" and result.get("reason") and not result.get("stopped_before_change"):
        evidence = {"from": result.get("from"),
                    "health_verdict": (result.get("verification") or {}).get("revert_health_verdict")}
        if outcome == "reverted":
            revert = Outcome("PASS", "Reverted to %s, which passed the health gate" % result.get("from"), evidence)
        else:
            revert = Outcome("FAIL", result.get("message") or "The revert to %s failed" % result.get("from"), evidence)
        results.append(make_result("rollback.revert", SECTION, "A failed rollback is reverted to the release that ran",
                                   revert, REVERT_REMEDIATION))
    return results


def watch_results(record: t.Mapping[str, t.Any]) -> list[dict]:
    """``golive.watch_window`` (no threshold crossed) and, after a breach, ``golive.auto_rollback``."""
    verification = record.get("verification") or {}
    if not record.get("breached"):
        return [make_result("golive.watch_window", SECTION, "No threshold is crossed in the watch window",
                            Outcome("PASS", record.get("said", ""), {}), WATCH_REMEDIATION)]
    results = [make_result("golive.watch_window", SECTION, "No threshold is crossed in the watch window",
                           Outcome("FAIL", record.get("said", ""), {"reasons": verification.get("breach_reasons"),
                                                                    "sample": verification.get("breach_sample")}),
                           WATCH_REMEDIATION)]
    evidence = {"rollback_kind": verification.get("rollback_kind"),
                "rollback_outcome": record.get("rollback_outcome"),
                "breach_to_rollback_started_s": verification.get("breach_to_rollback_started_s")}
    if verification.get("rollback_started_at") is None:
        rolled = Outcome("SKIP", "No automatic rollback ran (aragora_golive_auto_rollback is off)", evidence, "")
    elif record.get("outcome") == "planned":
        rolled = Outcome("SKIP", "Check mode: the rollback was only planned", evidence, "")
    elif record.get("outcome") == "succeeded":
        rolled = Outcome("PASS", "Rolled back automatically (%s) %s s after the breach was seen"
                         % (record.get("rollback_outcome"), verification.get("breach_to_rollback_started_s")), evidence)
    else:
        rolled = Outcome("FAIL", "The automatic rollback ended %s: %s"
                         % (record.get("rollback_outcome"), record.get("summary")), evidence)
    results.append(make_result("golive.auto_rollback", SECTION, "A breach is rolled back automatically", rolled,
                               AUTO_ROLLBACK_REMEDIATION))
    return results
