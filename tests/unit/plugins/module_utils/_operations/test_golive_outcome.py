"""The golive role's decisions: the handed verdict, the pre-release backup, the result's checks, the watch plan."""

from __future__ import annotations

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._operations import golive_outcome as go

SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False", "false_condition": False}
BACKUP_CHECK = {"id": "database.pre_release_backup", "status": "PASS", "message": "Backed up aragora."}
PG_BACKUP = {"changed": True, "archive": "/b/aragora-1.dump", "check": BACKUP_CHECK,
             "verified": {"sha256": "ab" * 32, "tables": 12}}
SQLITE_BACKUP = {"changed": True, "path": "/b/sqlite-1", "check": dict(BACKUP_CHECK, message="Backed up 2 files.")}
TREE = {"changed": False, "current": "2.11.0", "releases": ["2.10.0", "2.11.0"]}


def backup(**observed):
    base = {"running_release": "", "release_tree": None, "next_release": "2.11.1", "db_host": "db", "host": "web1",
            "postgres": None, "sqlite": None}
    return go.pre_release_backup({**base, **observed})


@pytest.mark.parametrize("verdict", [None, "", "GO"])
def test_no_verdict_or_go_lets_the_go_live_on(verdict):
    assert go.handed_verdict({"verdict": verdict})["go"] is True
    assert go.handed_verdict({})["go"] is True


def test_a_no_go_verdict_stops_the_go_live_saying_what_to_do():
    assert go.handed_verdict({"verdict": "NO-GO"}) == {
        "go": False, "message": "The pre-launch verdict handed to this run is NO-GO, not GO: fix what the prelaunch "
                                "report names and run prelaunch again before going live."}


def test_the_running_release_given_wins_over_the_tree_and_the_tree_over_nothing():
    given = backup(running_release="2.10.0", release_tree=TREE)
    assert given["releases"] == {"running_release": "2.10.0", "next_release": "2.11.1"}
    assert backup(release_tree=TREE)["releases"]["running_release"] == "2.11.0"
    assert backup(release_tree=SKIPPED)["releases"]["running_release"] == ""
    assert backup(release_tree=dict(TREE, current=None))["releases"]["running_release"] == ""


def test_both_releases_known_pass_the_preflight():
    decided = backup(release_tree=TREE)
    assert decided["releases_known"] is True
    assert decided["label"] == {"running_release": "2.11.0", "next_release": "2.11.1", "taken_by": "web1"}


def test_an_unknown_release_is_named_with_the_variable_that_sets_it():
    decided = backup(next_release="")
    assert decided["releases_known"] is False
    assert decided["preflight_message"] == (
        "The pre-release backup needs the release running now (unknown: set aragora_golive_running_release, or "
        "aragora_release_root on systemd hosts) and the one about to go live (unknown: set aragora_golive_release). "
        "Or leave the phase out (aragora_golive_phases without pre_release_backup) knowing that a rollback cannot "
        "bring the database back.")
    assert backup(running_release="2.11.0")["releases_known"] is True
    assert "running now (2.11.0) and the one about to go live (2.11.1)." in backup(
        running_release="2.11.0")["preflight_message"]


def test_postgres_where_a_db_host_is_set_and_its_backup_published():
    decided = backup(running_release="2.11.0", postgres=PG_BACKUP, sqlite=SKIPPED)
    assert decided["backend"] == "postgres" and decided["backup"] == PG_BACKUP
    assert decided["said"] == "PASS: Backed up aragora."
    assert decided["published"] == {"archive": "/b/aragora-1.dump", "backend": "postgres",
                                    "running_release": "2.11.0", "next_release": "2.11.1", "status": "PASS",
                                    "sha256": "ab" * 32}


def test_sqlite_without_a_db_host_publishes_its_path():
    decided = backup(db_host="", running_release="2.11.0", postgres=SKIPPED, sqlite=SQLITE_BACKUP)
    assert decided["backend"] == "sqlite" and decided["backup"] == SQLITE_BACKUP
    assert decided["said"] == "PASS: Backed up 2 files."
    assert decided["published"]["archive"] == "/b/sqlite-1" and decided["published"]["sha256"] is None


def test_a_backup_that_failed_without_a_check_is_a_fail_with_the_modules_message():
    failed = {"failed": True, "msg": "pg_dump not found"}
    decided = backup(postgres=failed)
    assert decided["said"] == "FAIL: pg_dump not found"
    assert decided["published"]["status"] == "FAIL" and decided["published"]["archive"] is None
    assert backup(postgres={"failed": True})["said"] == "FAIL: the backup task returned no message"


def test_an_archive_key_wins_over_the_path_even_when_empty_and_a_null_verification_has_no_sha():
    decided = backup(postgres={"archive": None, "path": "/b/x", "verified": None, "check": BACKUP_CHECK})
    assert decided["published"]["archive"] is None and decided["published"]["sha256"] is None


def test_a_check_without_a_message_says_the_modules_message():
    decided = backup(postgres={"msg": "timed out", "check": {"status": "FAIL"}})
    assert decided["said"] == "FAIL: timed out"


def test_before_the_backup_nothing_is_taken():
    decided = backup(running_release="2.11.0")
    assert decided["backup"] == {} and decided["published"]["status"] == "FAIL"


def test_result_checks_in_the_order_the_phases_ran():
    prelaunch = {"checks": [{"id": "health"}], "lines": []}
    smoke = {"checks": [{"id": "smoke.debate"}]}
    assert go.golive_checks({"prelaunch": prelaunch, "backup": PG_BACKUP, "smoke": smoke}) == {
        "checks": [{"id": "health"}, BACKUP_CHECK, {"id": "smoke.debate"}]}


def test_a_phase_that_did_not_run_adds_no_check():
    assert go.golive_checks({"prelaunch": SKIPPED, "backup": None, "smoke": SKIPPED}) == {"checks": []}
    assert go.golive_checks({}) == {"checks": []}
    # A backup that failed before saying anything has no check: the report has none to count.
    assert go.golive_checks({"backup": {"failed": True, "msg": "x"}}) == {"checks": []}


@pytest.mark.parametrize("given, kind", [
    ({"deployment_kind": "systemd", "kubeconfig": "/k"}, "systemd"),
    ({"deployment_kind": "bogus"}, "bogus"),  # the role's assert names it
    ({"kubeconfig": "/k"}, "kubernetes"),
    ({"kube_context": "prod"}, "kubernetes"),
    ({"k8s_in_cluster": True}, "kubernetes"),
    ({"deployment_kind": "", "kubeconfig": "", "kube_context": "", "k8s_in_cluster": False}, "systemd"),
])
def test_the_deployment_kind_is_given_or_inferred_from_kubernetes_access(given, kind):
    assert go.watch_plan(given)["kind"] == kind


def test_the_metrics_url_is_the_watch_url_else_the_api_url_else_empty():
    assert go.watch_plan({"metrics_url": "http://m", "api_url": "http://a"})["metrics_url"] == "http://m"
    assert go.watch_plan({"metrics_url": "", "api_url": "http://a"})["metrics_url"] == "http://a"
    assert go.watch_plan({"metrics_url": "", "api_url": ""})["metrics_url"] == ""


def test_the_watch_record_is_added_to_the_result_so_far():
    record = {"outcome": "succeeded"}
    assert go.with_watch({"result": {"checks": [{"id": "x"}]}, "watch": record}) == {"checks": [{"id": "x"}],
                                                                                     "watch": record}
    assert go.with_watch({"result": None, "watch": record}) == {"watch": record}
    with pytest.raises(KeyError):
        go.with_watch({"result": None})
