"""The rollback roles' last decisions that lived in their Jinja: who runs it, the plan line, the Kubernetes undo's
plan-only switch and the release its health gate compares, the cluster's name, the no-running-release refusal."""

from __future__ import annotations

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._operations import rollback_outcome as ro

UNDO = {"changed": True, "from_revision": 3, "to_revision": 2, "images_before": ["aragora:2.11.1"],
        "images_after": ["aragora:2.10.0"], "version_after": "2.10.0", "message": "Rolled back.", "rollout": "complete"}
PLAN = {"changed": True, "from": "2.11.1", "to": "2.10.0", "link": "/srv/current", "link_before": "releases/2.11.1",
        "expected_version": "2.10.0"}


@pytest.mark.parametrize("variables, given, expected", [
    ({}, (), ""),
    ({"awx_user_name": "alice", "tower_user_name": "bob"}, (), "alice"),
    ({"tower_user_name": "bob"}, (), "bob"),
    # Set but empty stays empty, as `awx_user_name | default(tower_user_name)` kept it: the record names the local user.
    ({"awx_user_name": "", "tower_user_name": "bob"}, (), ""),
    ({"awx_user_name": None, "tower_user_name": "bob"}, (), ""),
    ({"awx_user_name": "alice"}, ("carol",), "carol"),
    ({"awx_user_name": "alice"}, ("", None), "alice"),
])
def test_actor_the_given_name_else_the_awx_user_else_empty(variables, given, expected):
    assert ro.actor(variables, given) == expected


def kubernetes(**observed):
    base = {"namespace": "prod", "deployment": "aragora", "revision": 0, "expected_version": "", "api_url": "https://api",
            "confirm": True, "check_mode": False, "undo": UNDO}
    return ro.kubernetes_rollback({**base, **observed})


def test_kubernetes_cluster_is_the_context_else_the_kubeconfig_else_the_default():
    assert kubernetes(kube_context="kind-prod", kubeconfig="/k/config")["cluster"] == "kind-prod"
    assert kubernetes(kube_context="", kubeconfig="/k/config")["where"] == "/k/config prod/deployment/aragora"
    assert kubernetes(kube_context="", kubeconfig="")["cluster"] == "default kubeconfig"


def test_kubernetes_undo_only_plans_without_the_go_or_under_check():
    assert kubernetes()["only_plans"] is False
    assert kubernetes(confirm=False)["only_plans"] is True
    assert kubernetes(check_mode=True)["only_plans"] is True
    # Asked before the undo ran: the switch does not depend on its answer.
    assert kubernetes(undo=None, confirm=False)["only_plans"] is True


def test_kubernetes_health_gate_version_given_else_the_undo_names_it_else_empty():
    assert kubernetes(expected_version="2.10.1")["health_gate_version"] == "2.10.1"
    assert kubernetes()["health_gate_version"] == "2.10.0"
    result = kubernetes(undo={**UNDO, "version_after": None})
    assert result["health_gate_version"] == "" and result["expected_version"] is None


def test_systemd_no_running_release_names_the_link_and_what_it_says():
    base = {"host": "web-1", "unit": "aragora.service", "link_path": "/srv/current", "releases_path": "/srv/releases",
            "release": "previous"}
    result = ro.systemd_rollback({**base, "before": {"link": "/srv/current", "link_target": "/tmp/elsewhere",
                                                     "current": None}})
    assert result["no_running_release"] == (
        "/srv/current does not point at a release under /srv/releases (it says /tmp/elsewhere): there is no running "
        "release to come back to. Point it at the running release by hand first.")
    assert "(it says nothing)" in ro.systemd_rollback({**base, "before": {"link": "/srv/current",
                                                                          "link_target": ""}})["no_running_release"]


def coordinated(**observed):
    base = {"host": "site", "kind": "kubernetes", "database": "aragora", "state_path": "/s/restore-aragora.json",
            "plan": {"step": "plan", "message": "Would replace aragora."},
            "validate": {"step": "validate", "message": "Archive valid."},
            "application": {"from": "2.11.1", "to": "2.10.0", "expected_version": "2.0.3"}}
    return ro.coordinated_rollback({**base, **observed})


def test_coordinated_plan_report_says_what_follows_the_plan():
    now = coordinated()["plan_report"]
    assert now == ["Would replace aragora.", "Archive valid.",
                   "Now: stop the writers (kubernetes), restore into a new database, verify it, swap it in (the "
                   "current one kept), switch the application to 2.10.0, start it and wait for the health gate "
                   "(release 2.0.3)."]
    planned = coordinated(check_mode=True, application={"from": "2.11.1", "to": None, "expected_version": ""})
    # A release none names shows as nothing, as the template showed it; no version is not compared.
    assert planned["plan_report"][2].startswith("Would then: stop the writers (kubernetes),")
    assert planned["plan_report"][2].endswith("switch the application to , start it and wait for the health gate "
                                              "(release not compared).")
