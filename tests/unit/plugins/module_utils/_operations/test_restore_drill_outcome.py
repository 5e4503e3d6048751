"""The restore drill's result (db_restore_result of tasks_from drill.yml), decided from its one registered step."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._operations import restore_outcome as ro
from ansible_collections.aragora.ops.plugins.module_utils._reporting import restore_checks

ROW_COUNTS = {"id": "restore.row_counts", "status": "PASS", "message": "12 tables match"}
EVIDENCE = {"finished_at": "2026-12-01T15:01:00+00:00", "started_at": "2026-12-01T15:00:00+00:00",
            "result": "success", "archive": "/b/a.dump", "duration_s": 1.5}
DRILL = {"changed": True, "step": "drill", "archive": "/b/a.dump", "scratch_database": "aragora_restore_drill",
         "tables_restored": 12, "rows_restored": 340, "counts_verified": True, "checks": [ROW_COUNTS],
         "evidence": EVIDENCE, "evidence_file": "/e/drill.json", "error": None,
         "message": "restore drill of /b/a.dump succeeded in 1.5 s: 12 tables, 340 rows"}


def drill(**observed):
    base = {"host": "db", "database": "aragora", "evidence_file": "/e/drill.json", "check_mode": False,
            "actor": "alice", "drill": DRILL}
    return ro.drill_restore({**base, **observed})


def test_a_drill_that_passed():
    result = drill()
    assert result["outcome"] == "succeeded" and result["error"] == "" and result["reason"] == ""
    # The line the run has always printed.
    assert result["report"] == DRILL["message"] + " Evidence: /e/drill.json" == result["summary"]
    assert (result["from"], result["to"]) == ("/b/a.dump", "aragora_restore_drill")
    assert result["verification"] == {"row_counts_verified": True, "tables": 12, "rows": 340,
                                      "evidence_file": "/e/drill.json"}
    assert result["started"] == EVIDENCE["started_at"] and result["actor"] == "alice"
    assert result["incident_files"] == [] and result["evidence"] == EVIDENCE
    assert restore_checks.drill_results(result) == [ROW_COUNTS]


def test_a_drill_that_failed_keeps_the_modules_message_and_its_evidence():
    failed = {**DRILL, "failed": True, "msg": "restore drill failed: verification failed: users 1 != 2",
              "error": "verification failed: users 1 != 2", "checks": [{**ROW_COUNTS, "status": "FAIL"}]}
    failed.pop("message")
    result = drill(drill=failed)
    assert result["outcome"] == "failed"
    assert result["error"] == result["reason"] == result["report"] == failed["msg"]
    assert result["summary"] == "Restore drill of aragora FAILED: " + failed["msg"]
    assert [check["status"] for check in restore_checks.drill_results(result)] == ["FAIL"]


def test_a_drill_refused_before_it_ran_says_why_it_could_not_judge():
    result = drill(drill={"failed": True, "msg": "step drill: jobs must be >= 1; nothing was touched"})
    assert result["outcome"] == "failed" and result["evidence"] is None and result["started"] is None
    [row_counts] = restore_checks.drill_results(result)
    assert row_counts["id"] == "restore.row_counts" and row_counts["status"] == "SKIP"
    assert row_counts["message"] == "The verification did not run: step drill: jobs must be >= 1; nothing was touched"


def test_a_drill_in_check_mode_is_planned_and_verifies_nothing():
    planned = {"changed": False, "step": "drill",
               "message": "check mode: the drill would restore into a scratch database and write /e/drill.json"}
    result = drill(check_mode=True, drill=planned)
    assert result["outcome"] == "planned" and result["error"] == ""
    assert result["report"] == planned["message"] + " Evidence: /e/drill.json"
    assert restore_checks.drill_results(result)[0]["message"].startswith("Check mode: nothing was restored")


def test_a_drill_not_reached():
    assert drill(drill=None)["reason"] == "the restore drill did not run"
