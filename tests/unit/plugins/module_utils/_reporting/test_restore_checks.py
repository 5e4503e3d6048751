"""A restore's verifications as results of the common check schema, from the db_restore role's result."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._operations import restore_outcome as ro
from ansible_collections.aragora.ops.plugins.module_utils._reporting.restore_checks import restore_results
from ansible_collections.aragora.ops.plugins.module_utils._reporting.verification import (
    restore_results as verify_results)

VERIFIED = {"counts_verified": True, "tables": 2, "rows": 512, "problems": [], "mismatched": {}, "sql_checks": []}
PLAN = {"target": "aragora", "archive": "/b/a.dump", "message": "Would replace aragora."}
STEP = {"changed": True, "message": "done"}
BASE = {"host": "db", "database": "aragora", "archive": "", "api_url": "http://127.0.0.1:8080", "check_mode": False}


def by_id(result):
    return {check["id"]: check for check in restore_results(result)}


def postgres(**observed):
    return ro.postgres_restore({**BASE, **observed})


def test_a_restore_that_succeeded_passes_its_row_counts_and_health_gate():
    verify = {**STEP, **VERIFIED, "checks": verify_results(VERIFIED)}
    checks = by_id(postgres(plan=PLAN, validate=STEP, safety=STEP, stop=STEP, restore=STEP, verify=verify,
                            start=STEP, finish={"steps": {}}, health={"verdict": "GO"}))
    assert checks["restore.row_counts"]["status"] == "PASS" and "512 rows" in checks["restore.row_counts"]["message"]
    assert checks["restore.health_gate"]["status"] == "PASS"
    assert checks["restore.health_gate"]["message"].endswith("on the restored data")
    assert checks["restore.health_gate"]["section"] == checks["restore.row_counts"]["section"]


def test_a_restore_that_failed_says_why_its_checks_could_not_judge():
    failure = ro.step_failure({"failed": True, "msg": "pg_restore failed"}, "Step 5")
    checks = by_id(postgres(plan=PLAN, restore={"failed": True, "msg": "pg_restore failed"}, failure=failure,
                            health={"verdict": "GO"}))
    assert checks["restore.row_counts"]["status"] == "SKIP"
    assert checks["restore.row_counts"]["message"] == "The verification did not run: Step 5: pg_restore failed"
    # The writers came back on the data the failed restore left: the gate says so, not that the restore is healthy.
    assert checks["restore.health_gate"]["status"] == "PASS" and "failed restore" in \
        checks["restore.health_gate"]["message"]


def test_a_health_gate_that_said_no_go_fails_and_one_without_api_url_is_not_checked():
    failure = ro.step_failure({"failed": True, "msg": "NO-GO"}, "Wait until the server passes the health gate")
    failed = by_id(postgres(plan=PLAN, health={"failed": True, "verdict": "NO-GO"}, writers_failure=failure))
    assert failed["restore.health_gate"]["status"] == "FAIL" and "(NO-GO)" in failed["restore.health_gate"]["message"]
    assert failed["restore.health_gate"]["remediation"]
    quiet = by_id(ro.sqlite_restore({**BASE, "data_dir": "/data", "unit": "aragora.service", "api_url": "",
                                     "restore": {"changed": True, "msg": "restored"}}))
    assert list(quiet) == ["restore.health_gate"] and quiet["restore.health_gate"]["status"] == "SKIP"
    assert "aragora_api_url is empty" in quiet["restore.health_gate"]["message"]


def test_check_mode_skips_both_and_names_check_mode():
    checks = by_id(postgres(check_mode=True, plan=PLAN, validate=STEP))
    assert {check["status"] for check in checks.values()} == {"SKIP"}
    assert all(check["message"].startswith("Check mode: nothing was restored") for check in checks.values())
