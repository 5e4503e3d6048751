"""The restore's verification as results of the common schema: one meaning for `checks`."""

from ansible_collections.aragora.ops.plugins.module_utils._engine.result import verdict
from ansible_collections.aragora.ops.plugins.module_utils._reporting.verification import restore_results

KEYS = {"id", "section", "title", "status", "message", "evidence", "remediation", "duration_ms"}


def test_matching_counts_and_a_passing_sql_check_are_two_passes():
    results = restore_results({"counts_verified": True, "tables": 2, "rows": 512, "problems": [],
                               "sql_checks": [{"name": "users exist", "passed": True, "value": "t"}]})
    assert [r["id"] for r in results] == ["restore.row_counts", "restore.sql_check_1"]
    assert all(set(r) == KEYS for r in results) and verdict(results) == "GO"
    assert results[0]["section"] == "3. Database & Persistence" and results[0]["remediation"] == ""
    assert results[0]["message"] == "Row counts of all 2 tables match the archive's manifest (512 rows)"
    assert results[1]["title"] == "SQL check: users exist"


def test_a_count_mismatch_and_a_false_sql_check_fail_each_with_its_own_message():
    problems = ["row counts differ: public.debates 777 != 500", "check 'users exist' returned 'f', not true"]
    results = restore_results({"counts_verified": False, "tables": 2, "rows": 789, "problems": problems,
                               "mismatched": {"public.debates": {"expected": 500, "found": 777}},
                               "sql_checks": [{"name": "users exist", "passed": False, "value": "f"}]})
    assert [r["status"] for r in results] == ["FAIL", "FAIL"] and verdict(results) == "NO-GO"
    assert results[0]["message"] == "Row counts NOT verified: row counts differ: public.debates 777 != 500"
    assert results[0]["evidence"]["mismatched"] == {"public.debates": {"expected": 500, "found": 777}}
    assert results[1]["message"] == "SQL check 'users exist' returned 'f', not true" and results[1]["remediation"]


def test_without_a_manifest_the_counts_are_not_judged():
    result, = restore_results({"counts_verified": False, "tables": 3, "rows": 10, "problems": [], "sql_checks": []})
    assert result["status"] == "SKIP" and "No manifest" in result["message"] and result["remediation"] == ""
