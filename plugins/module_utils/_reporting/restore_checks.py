# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verifications of a database restore as results of the common schema (_engine/result.py), read from the
db_restore role's result (module_utils/_operations/restore_outcome.py): the restored data against its manifest
(the verify step's own results, verification.py) and the health gate once the writers are back. They go into the
result fact's ``checks``, as the rollbacks' do (rollback_checks.py); the incident record keeps its own fields."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._engine.result import Outcome, make_result
from ansible_collections.aragora.ops.plugins.module_utils._reporting.verification import (
    ROW_COUNTS_REMEDIATION, SECTION)

GATE_REMEDIATION = ("Look at the health checks (health_gate_result) and at where_things_stand: bring the application "
                    "back on the data the restore left, or restore again.")


def _not_run(result: t.Mapping[str, t.Any], what: str) -> Outcome:
    """Why a verification did not run: check mode, or the failure that came first."""
    if result.get("outcome") == "planned":
        return Outcome("SKIP", "Check mode: nothing was restored, so %s did not run" % what, {}, "")
    return Outcome("SKIP", "%s did not run: %s" % (what[0].upper() + what[1:], result.get("reason") or
                                                   "the restore stopped before it"), {}, "")


def _gate(result: t.Mapping[str, t.Any]) -> Outcome:
    verdict = (result.get("verification") or {}).get("health")
    evidence = {"verdict": verdict, "api_url": result.get("api_url")}
    if verdict == "GO":
        on = ("the restored data" if result.get("outcome") == "succeeded"
              else "the data the failed restore left (see where it stands)")
        return Outcome("PASS", "The application passes the health gate with the writers back, on %s" % on, evidence)
    if verdict:
        return Outcome("FAIL", "The application did not pass the health gate after the restore (%s): %s"
                       % (verdict, result.get("reason")), evidence)
    if result.get("outcome") != "planned" and not result.get("api_url"):
        return Outcome("SKIP", "Not checked: aragora_api_url is empty (only the writers were brought back)",
                       evidence, "")
    return _not_run(result, "the health gate")


def _verified(result: t.Mapping[str, t.Any]) -> list[dict]:
    """The verification's own results (``restore.row_counts``, ``restore.sql_check_<n>``), else a
    ``restore.row_counts`` that says why it could not judge."""
    return list(result.get("verify_checks") or []) or [
        make_result("restore.row_counts", SECTION, "Restored row counts match the backup",
                    _not_run(result, "the verification"), ROW_COUNTS_REMEDIATION)]


def restore_results(result: t.Mapping[str, t.Any]) -> list[dict]:
    """The verify step's results on PostgreSQL; ``restore.health_gate`` on both backends."""
    results = _verified(result) if result.get("kind") == "postgres" else []
    results.append(make_result("restore.health_gate", SECTION, "The application passes the health gate after the "
                               "restore", _gate(result), GATE_REMEDIATION))
    return results


def drill_results(result: t.Mapping[str, t.Any]) -> list[dict]:
    """The restore drill's results: the scratch database verified against its manifest. No health gate: the
    application never runs on a scratch database."""
    return _verified(result)
