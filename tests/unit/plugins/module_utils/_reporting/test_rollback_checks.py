"""A rollback's verifications and the watch window's as results of the common check schema."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._operations import rollback_outcome as ro
from ansible_collections.aragora.ops.plugins.module_utils._reporting.rollback_checks import (rollback_results,
                                                                                             watch_results)
from tests.unit.plugins.module_utils._operations.test_rollback_outcome import GO, NO_GO, WATCH, kubernetes, systemd

SCHEMA = {"id", "section", "title", "status", "message", "evidence", "remediation", "duration_ms"}


def by_id(results):
    assert all(set(result) == SCHEMA and result["section"] == "10. Disaster Recovery" for result in results)
    return {result["id"]: result for result in results}


def test_a_verified_rollback_passes_its_gate_and_has_no_revert():
    checks = by_id(rollback_results(systemd(switch={"changed": True}, health=GO)))
    assert list(checks) == ["rollback.health_gate"]
    assert checks["rollback.health_gate"]["status"] == "PASS" and checks["rollback.health_gate"]["remediation"] == ""
    assert checks["rollback.health_gate"]["message"] == "2.10.0 passed the health gate (release 2.10.0)"


def test_a_reverted_rollback_fails_its_gate_and_passes_its_revert():
    failure = ro.failure(NO_GO, "Health gate on 2.10.0")
    checks = by_id(rollback_results(systemd(switch={"changed": True}, failure=failure, revert_switch={"changed": True},
                                            revert_restart={"changed": True}, health=GO)))
    gate, revert = checks["rollback.health_gate"], checks["rollback.revert"]
    assert gate["status"] == "FAIL" and "2.10.0 did not pass the health gate (NO-GO)" in gate["message"]
    assert gate["remediation"] and revert["status"] == "PASS"
    assert revert["message"] == "Reverted to 2.11.1, which passed the health gate"


def test_a_failed_revert_fails_saying_how_far_it_got():
    failure = ro.failure(NO_GO, "Health gate on 2.10.0")
    result = systemd(switch={"changed": True}, failure=failure, revert_switch={"failed": True},
                     revert_failure=ro.failure({"msg": "x"}, "Switch back"))
    revert = by_id(rollback_results(result))["rollback.revert"]
    assert revert["status"] == "FAIL" and "THE REVERT FAILED before anything was reverted" in revert["message"]


def test_what_did_not_run_is_a_skip_naming_why():
    stopped = systemd(failure=ro.failure({"msg": "unit not found"}, "Pre-flight - the unit exists"))
    gate = by_id(rollback_results(stopped))["rollback.health_gate"]
    assert gate["status"] == "SKIP" and gate["message"] == \
        "The health gate did not run: Pre-flight - the unit exists: unit not found"
    assert "rollback.revert" not in by_id(rollback_results(stopped))
    planned = by_id(rollback_results(kubernetes(check_mode=True)))["rollback.health_gate"]
    assert planned["status"] == "SKIP" and planned["message"].startswith("Check mode")


def test_the_watch_window_fails_on_a_breach_and_the_rollback_is_judged():
    record = ro.golive_watch({"kind": "systemd", "watch": WATCH, "rollback_started_at": 1796137212.5,
                              "rollback": {"outcome": "succeeded"}})
    checks = by_id(watch_results(record))
    assert checks["golive.watch_window"]["status"] == "FAIL"
    assert checks["golive.watch_window"]["evidence"]["reasons"] == WATCH["breach"]["reasons"]
    assert checks["golive.auto_rollback"]["status"] == "PASS" and "0.25 s after" in checks["golive.auto_rollback"][
        "message"]
    failed = by_id(watch_results(ro.golive_watch({"kind": "systemd", "watch": WATCH, "rollback_started_at": 1.0,
                                                  "rollback": {"outcome": "reverted"}})))
    assert failed["golive.auto_rollback"]["status"] == "FAIL"
    off = by_id(watch_results(ro.golive_watch({"kind": "systemd", "watch": WATCH})))
    assert off["golive.auto_rollback"]["status"] == "SKIP"
    calm = by_id(watch_results(ro.golive_watch({"watch": {"breached": False, "watched_s": 30, "samples_taken": 4,
                                                          "source": "metrics"}})))
    assert list(calm) == ["golive.watch_window"] and calm["golive.watch_window"]["status"] == "PASS"
