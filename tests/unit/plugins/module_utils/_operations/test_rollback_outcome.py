"""The rollback roles' decisions: outcome, operator message, incident events and verification from observations."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._operations import rollback_outcome as ro

GO = {"verdict": "GO", "counts": {"PASS": 2}, "checks": [
    {"id": "health.readyz", "status": "PASS", "message": "readyz answers 200"},
    {"id": "health.release_version", "status": "PASS", "message": "Release version is 2.10.0"}]}
NO_GO = {"failed": True, "verdict": "NO-GO", "msg": "gate", "checks": [
    {"id": "health.readyz", "status": "PASS", "message": "readyz answers 200"},
    {"id": "health.release_version", "status": "FAIL", "message": "Release version is 9.9.9, not 2.10.0"}]}
PLAN = {"changed": True, "from": "2.11.1", "to": "2.10.0", "link": "/srv/current", "link_before": "releases/2.11.1",
        "expected_version": "2.10.0", "from_expected_version": ""}


def systemd(**observed):
    base = {"host": "web-1", "unit": "aragora.service", "link_path": "/srv/current", "release": "", "min_free_mb": 100,
            "check_mode": False, "started": "2026-12-01T15:00:00+00:00", "actor": "", "unit_state": {"stdout": "loaded\n"},
            "plan": PLAN}
    return ro.systemd_rollback({**base, **observed})


def test_failure_names_the_task_and_its_fail_checks_else_its_msg():
    assert ro.failure(NO_GO, "Health gate on 2.10.0") == {
        "reason": "Health gate on 2.10.0: Release version is 9.9.9, not 2.10.0", "verification": NO_GO}
    assert ro.failure({"failed": True, "msg": "unit not found"}, "Pre-flight - the unit exists") == {
        "reason": "Pre-flight - the unit exists: unit not found", "verification": {}}
    assert ro.failure({"failed": True}, "Restart")["reason"] == "Restart: failed"
    assert ro.failure(None, "X")["reason"] == "X: failed"


def test_systemd_success_says_version_and_records_the_gate():
    result = systemd(switch={"changed": True}, health=GO)
    assert result["outcome"] == "succeeded" and not result["stopped_before_change"]
    assert result["message"] == "Rolled web-1 back from 2.11.1 to 2.10.0: health gate passed (version 2.10.0)."
    assert result["summary"] == result["message"] and result["error"] == ""
    assert result["verification"] == {"health_verdict": "GO", "health_counts": {"PASS": 2},
                                      "health_checks": {"health.readyz": "readyz answers 200",
                                                        "health.release_version": "Release version is 2.10.0"},
                                      "expected_version": "2.10.0", "revert_health_verdict": None}
    assert [event["step"] for event in result["events"]] == [
        "/srv/current -> releases/2.11.1 (2.11.1)", "pre-flight passed",
        "switched to 2.10.0, restarted aragora.service, health gate passed"]
    assert result["events"][1]["detail"] == "unit aragora.service loaded; release 2.10.0 complete; 100 MB free"
    assert result["published"] == {"kind": "systemd", "outcome": "succeeded", "from": "2.11.1", "to": "2.10.0",
                                   "message": result["message"], "incident_files": []}


def test_systemd_switch_without_a_passed_gate_is_not_a_success():
    assert systemd(switch={"changed": True})["outcome"] == "failed"
    assert systemd(switch={"changed": True}, health=NO_GO)["outcome"] == "failed"


def test_systemd_expected_version_given_wins_and_none_is_not_compared():
    assert systemd(expected_version="2.10.1", switch={"changed": True}, health=GO)["expected_version"] == "2.10.1"
    result = systemd(plan={**PLAN, "expected_version": None}, switch={"changed": True}, health=GO)
    assert result["message"].endswith(": health gate passed.") and result["verification"]["expected_version"] is None


def test_systemd_check_mode_plans_and_unchanged_changes_nothing():
    planned = systemd(check_mode=True, switch={"changed": True})
    assert planned["outcome"] == "planned" and planned["message"] == "Would roll web-1 back from 2.11.1 to 2.10.0."
    assert planned["verification"]["health_verdict"] is None
    same = systemd(plan={**PLAN, "to": "2.11.1"}, switch={"skipped": True})
    assert same["outcome"] == "unchanged" and same["message"] == "web-1 already runs 2.11.1: nothing changed."


def test_systemd_failure_before_the_switch_says_nothing_changed():
    failure = ro.failure({"failed": True, "msg": "release '3.0.0' not found under /srv/releases"}, "Pre-flight - x")
    result = systemd(plan={"failed": True, "msg": "not found"}, failure=failure, release="3.0.0")
    assert result["outcome"] == "failed" and result["stopped_before_change"] and result["message"] == ""
    assert result["error"] == ("Rollback of web-1 stopped before any change (Pre-flight - x: release '3.0.0' not found "
                               "under /srv/releases). /srv/current and aragora.service are as they were.")
    assert result["summary"] == "Rollback of web-1 stopped before any change: " + failure["reason"]
    assert (result["from"], result["record_to"], result["events"]) == (None, "3.0.0", [])


def test_systemd_not_confirmed_names_both_releases():
    assert systemd()["not_confirmed"] == (
        "Not confirmed (aragora_rollback_confirm is false): it would roll web-1 back from 2.11.1 to 2.10.0. Launch "
        "again with aragora_rollback_confirm=true.")


def test_systemd_failed_gate_then_reverted():
    failure = ro.failure(NO_GO, "Health gate on 2.10.0")
    result = systemd(switch={"changed": True}, failure=failure, revert_switch={"changed": True},
                     revert_restart={"changed": True}, health=GO)
    assert result["outcome"] == "reverted" and result["error"] == result["message"]
    assert result["message"] == (
        "ROLLBACK FAILED on web-1: 2.10.0 did not pass (Health gate on 2.10.0: Release version is 9.9.9, not "
        "2.10.0). REVERTED: /srv/current points at 2.11.1 again and aragora.service passed the health gate on it.")
    assert result["verification"]["health_verdict"] == "NO-GO"  # the gate that failed
    assert result["verification"]["revert_health_verdict"] == "GO"  # the revert's gate
    assert [event["step"] for event in result["events"][2:]] == [
        "switched to 2.10.0 and restarted aragora.service", "FAILED", "switched back to 2.11.1, restarted, health gate passed"]


def test_systemd_revert_says_exactly_how_far_it_got():
    failure = ro.failure(NO_GO, "Health gate on 2.10.0")
    gate = ro.failure({"failed": True, "msg": "9.9.9"}, "Health gate on 2.11.1")
    both = systemd(switch={"changed": True}, failure=failure, revert_switch={"changed": True},
                   revert_restart={"changed": True}, revert_failure=gate, after={"current": "2.11.1"})
    assert both["outcome"] == "failed"
    assert ('REVERT INCOMPLETE: /srv/current points at 2.11.1 again and aragora.service was restarted on it, but '
            '"Health gate on 2.11.1: 9.9.9". Now /srv/current points at 2.11.1. Check aragora.service now (systemctl '
            'status aragora.service, readlink /srv/current).') in both["message"]
    assert both["events"][-1] == {"step": "revert to 2.11.1: /srv/current points at 2.11.1 again and aragora.service "
                                          "was restarted on it, then FAILED", "detail": gate["reason"]}
    switched_only = systemd(switch={"changed": True}, failure=failure, revert_switch={"changed": True},
                            revert_restart={"failed": True}, revert_failure=gate, after={"current": "2.11.1"})
    assert "REVERT INCOMPLETE: /srv/current points at 2.11.1 again, but" in switched_only["message"]
    nothing = systemd(switch={"changed": True}, failure=failure, revert_switch={"failed": True}, revert_failure=gate,
                      after={"failed": True})
    assert 'THE REVERT FAILED before anything was reverted: "Health gate on 2.11.1: 9.9.9". Now /srv/current ' \
           'cannot be read.' in nothing["message"]
    assert nothing["events"][-1]["step"] == "revert to 2.11.1 FAILED"


UNDO = {"changed": True, "from_revision": 3, "to_revision": 2, "images_before": ["aragora:2.11.1"],
        "images_after": ["aragora:2.10.0"], "version_after": "2.10.0", "state_before": "revision 3, 2/2 ready",
        "history": [{"revision": 2, "images": ["aragora:2.10.0"]}, {"revision": 3, "images": ["aragora:2.11.1"]}],
        "message": "Rolled deployment/aragora back from revision 3 to 2.", "rollout": "complete", "timings": {"s": 1},
        "state": "revision 2, 2/2 ready"}


def kubernetes(**observed):
    base = {"cluster": "", "namespace": "prod", "deployment": "aragora", "revision": 0, "expected_version": "",
            "api_url": "https://api", "confirm": True, "check_mode": False, "undo": UNDO}
    return ro.kubernetes_rollback({**base, **observed})


def test_kubernetes_success_verifies_the_release_the_undo_names():
    result = kubernetes(health=GO)
    assert result["outcome"] == "succeeded" and result["where"] == "default kubeconfig prod/deployment/aragora"
    assert (result["from"], result["to"]) == ("revision 3 (aragora:2.11.1)", "revision 2 (aragora:2.10.0)")
    assert result["message"] == UNDO["message"] + " Verified at https://api: health GO, release 2.10.0."
    assert result["events"][:2] == [{"step": "before: revision 3, 2/2 ready"},
                                    {"step": "history: 2, 3", "detail": "aragora:2.10.0; aragora:2.11.1"}]
    assert result["events"][-1] == {"step": "verified: GO", "detail": "expected release 2.10.0"}
    assert result["verification"]["deployment_state"] == "revision 2, 2/2 ready"
    assert result["said"] == "SUCCEEDED: %s Incident record: " % result["message"]
    assert kubernetes(undo={**UNDO, "changed": False}, health=GO)["outcome"] == "unchanged"


def test_kubernetes_check_mode_and_refusal():
    planned = kubernetes(check_mode=True, confirm=False)
    assert planned["outcome"] == "planned" and planned["message"] == UNDO["message"]
    assert planned["events"][-1] == {"step": "verified: skipped (check mode)", "detail": "expected release 2.10.0"}
    refused = kubernetes(confirm=False, failure=ro.failure({"failed": True, "msg": "Not confirmed"}, "Require"))
    assert refused["stopped_before_change"] and refused["outcome"] == "failed"
    assert refused["error"] == "Rollback of default kubeconfig prod/deployment/aragora stopped before any change: " \
                               "Require: Not confirmed"
    assert refused["not_confirmed"].startswith("Not confirmed (aragora_rollback_confirm is false): it would roll "
                                               "revision 3 (aragora:2.11.1) back to revision 2 (aragora:2.10.0).")


def test_kubernetes_failure_after_the_patch_says_where_the_deployment_is():
    failure = ro.failure({"failed": True, "msg": "rollout timed out"}, "Roll back and wait for the rollout")
    result = kubernetes(cluster="kind-prod", undo={**UNDO, "failed": True, "rollout": "timeout"}, failure=failure,
                        after={"state": "revision 2, 0/2 ready"})
    assert not result["stopped_before_change"] and result["outcome"] == "failed"
    assert result["message"] == (
        "ROLLBACK FAILED for kind-prod prod/deployment/aragora: Roll back and wait for the rollout: rollout timed "
        "out. THE DEPLOYMENT IS NOW AT revision 2, 0/2 ready. Nothing was rolled forward: decide by hand (kubectl "
        "rollout history deployment/aragora -n prod; kubectl describe deployment/aragora -n prod).")
    assert result["events"][-1] == {"step": "after: revision 2, 0/2 ready"}
    unread = kubernetes(undo={**UNDO, "failed": True, "rollout": "timeout"}, failure=failure)
    assert "NOW AT an unknown state (cannot read it)" in unread["message"]
    assert unread["events"][-1] == {"step": "after: unknown (cannot read the Deployment)"}


def test_kubernetes_without_an_answer_records_the_revision_asked():
    failure = ro.failure({"failed": True, "msg": "no kubeconfig"}, "Pre-flight")
    assert kubernetes(undo=None, failure=failure, revision="4")["record_to"] == "revision 4"
    assert kubernetes(undo=None, failure=failure, revision="x")["record_to"] == "previous revision"


WATCH = {"breached": True, "source": "metrics", "started_at": "2026-12-01T15:00:00.000Z", "thresholds": {"e": 1},
         "breach": {"after_s": 12.5, "reasons": ["error rate 9% > 5%", "p99 3 s > 2 s"], "sample": {"e": 9},
                    "detected_at": 1796137212.25, "detected_at_iso": "2026-12-01T15:00:12.250Z"}}


def test_golive_watch_times_the_rollback_from_the_breach():
    rollback = {"outcome": "succeeded", "from": "2.11.1", "to": "2.10.0"}
    result = ro.golive_watch({"host": "a", "kind": "systemd", "watch": WATCH, "rollback_started_at": 1796137212.5,
                              "rollback": rollback, "incident": {"files": ["x.json"]}})
    assert result["outcome"] == "succeeded" and (result["from"], result["to"]) == ("2.11.1", "2.10.0")
    assert result["verification"]["breach_to_rollback_started_s"] == 0.25
    assert result["verification"]["rollback_started_at"] == "2026-12-01T15:00:12.500Z"
    assert result["summary"] == ("Watch window breached 12.5 s after go-live (error rate 9% > 5%; p99 3 s > 2 s). "
                                 "Rollback started 0.25 s after the breach was seen: succeeded.")
    assert result["events"][2] == {"step": "rollback started 2026-12-01T15:00:12.500Z (+0.25 s)"}
    assert result["error"] == "GO-LIVE ROLLED BACK on a: error rate 9% > 5%; p99 3 s > 2 s. Incident record: x.json."


def test_golive_watch_failed_or_absent_rollback():
    failed = ro.golive_watch({"kind": "kubernetes", "watch": WATCH, "rollback_started_at": 1796137213.0,
                              "rollback": {"outcome": "reverted"}, "rollback_error": "ROLLBACK FAILED"})
    assert failed["outcome"] == "failed" and failed["summary"].endswith("was seen: failed. ROLLBACK FAILED")
    off = ro.golive_watch({"kind": "systemd", "watch": WATCH})
    assert off["rollback_outcome"] == "not run" and off["outcome"] == "failed" and off["from"] is None
    assert off["summary"].endswith("Automatic rollback is off (aragora_golive_auto_rollback): roll back by hand "
                                   "(playbooks/rollback.yml).")
    assert off["events"][2:] == [{"step": "no automatic rollback"}, {"step": "rollback not run"}]
    assert ro.golive_watch({"kind": "systemd", "watch": WATCH, "check_mode": True})["outcome"] == "planned"


def test_golive_stop_says_rolled_back_only_when_the_rollback_succeeded():
    failed = ro.golive_watch({"host": "a", "kind": "kubernetes", "watch": WATCH, "rollback_started_at": 1796137213.0,
                              "rollback": {"outcome": "reverted"}, "rollback_error": "ROLLBACK FAILED",
                              "incident": {"files": ["x.json"]}})
    assert failed["error"] == ("GO-LIVE ROLLBACK FAILED on a: error rate 9% > 5%; p99 3 s > 2 s. The automatic "
                               "rollback ended reverted (ROLLBACK FAILED): roll back by hand (playbooks/rollback.yml)."
                               " Incident record: x.json.")
    off = ro.golive_watch({"host": "a", "kind": "systemd", "watch": WATCH, "incident": {"files": ["x.json"]}})
    assert off["error"] == ("GO-LIVE WATCH BREACHED on a: error rate 9% > 5%; p99 3 s > 2 s. The release is still "
                            "live: automatic rollback is off (aragora_golive_auto_rollback); roll back by hand "
                            "(playbooks/rollback.yml). Incident record: x.json.")
    planned = ro.golive_watch({"host": "a", "kind": "systemd", "watch": WATCH, "check_mode": True,
                               "rollback_started_at": 1796137213.0, "rollback": {"outcome": "planned"}})
    assert planned["error"].startswith("GO-LIVE WATCH BREACHED on a: error rate 9% > 5%; p99 3 s > 2 s. Check mode:")
    assert "ROLLED BACK" not in failed["error"] + off["error"] + planned["error"]


def test_watch_said():
    assert ro.watch_said(WATCH) == "BREACH after 12.5 s: error rate 9% > 5%; p99 3 s > 2 s"
    assert ro.watch_said({"breached": False, "watched_s": 30, "samples_taken": 4, "source": "metrics"}) == \
        "No threshold crossed in 30 s (4 samples of metrics)"


def coordinated(**observed):
    base = {"host": "site", "kind": "systemd", "database": "aragora", "state_path": "/s/restore-aragora.json",
            "application": {"from": "2.11.1", "to": "2.10.0", "expected_version": "2.0.3"}}
    return ro.coordinated_rollback({**base, **observed})


def test_coordinated_application_plan():
    systemd_plan = {"from": "2.11.1", "to": "2.10.0", "expected_version": ""}
    assert ro.coordinated_application({"recorded": {}, "kind": "systemd", "expected_version": "", "root": "/srv",
                                       "releases_dir": "releases", "link": "current", "systemd_plan": systemd_plan}) \
        == {"kind": "systemd", "from": "2.11.1", "to": "2.10.0", "expected_version": "", "root": "/srv",
            "releases_dir": "releases", "link": "current"}
    k8s = ro.coordinated_application({"recorded": {}, "kind": "kubernetes", "expected_version": "",
                                      "k8s_plan": {"images_before": ["reg:5000/aragora:2.11.1"], "to_revision": 2,
                                                   "version_after": "2.10.0", "images_after": ["a:2.10.0"]}})
    assert (k8s["from"], k8s["to"], k8s["expected_version"]) == ("2.11.1", "2.10.0", "2.10.0")
    assert ro.coordinated_application({"recorded": {"from": "x"}, "kind": "systemd"}) == {"from": "x"}


def test_coordinated_success_and_its_events():
    result = coordinated(plan={"step": "plan", "message": "plan", "archive": "/b/a.dump",
                               "impact": {"discarded": {"n": 1}, "schema": {"s": 1}}},
                         verify={"step": "verify", "message": "verified", "old_database": "aragora_old",
                                 "counts_verified": True, "discarded": {"n": 2}},
                         switch={"skipped": True}, finish={"step": "finish"}, health=GO)
    assert result["outcome"] == "succeeded" and result["error"] == "" and result["message"] is None
    assert result["summary"] == "Rolled site and database aragora back to 2.10.0: verified"
    assert result["events"] == [{"step": "plan", "message": "plan"}, {"step": "verify", "message": "verified"}]
    assert result["verification"]["discarded"] == {"n": 2} and result["verification"]["health"] == "GO"
    assert coordinated(finish={"step": "finish"}, check_mode=True)["outcome"] == "planned"


def test_coordinated_failure_says_where_things_stand():
    failure = ro.failure({"failed": True, "msg": "boom"}, "Step 5 - restore")
    nothing = coordinated(failure=failure, application=None)
    assert nothing["error"] == "COORDINATED ROLLBACK FAILED on site (Step 5 - restore: boom). Nothing was changed. "
    back = coordinated(failure=failure, after={"writers": {}}, start={"step": "start_writers"})
    assert "The live database and 2.11.1 are as they were; the writers run again." in back["message"]
    stuck = coordinated(failure=failure, after={"writers": {}}, start={"failed": True, "msg": "no unit"})
    assert "are as they were; THE WRITERS ARE NOT RUNNING: no unit." in stuck["message"]
    live = coordinated(failure=failure, after={"swapped": True, "steps": {}}, where="W")
    assert live["message"].endswith("The restored database is LIVE and the writers are STOPPED: do not start 2.11.1 "
                                    "on it. Rerun the same command to finish (it resumes from /s/restore-aragora.json). W")
    switched = coordinated(failure=failure, after={"swapped": True, "steps": {"switch_release": {"status": "done"}}})
    assert "Database and application are rolled back to 2.10.0; what failed is after the switch." in switched["message"]
