"""aragora.ops.k8s_rollout_undo and rollback.yml's Kubernetes play against the emulated API server (over HTTP, with
kubectl as the referee), and the real Aragora 2.11.1 sandbox server for the verification step.

Scenario bad_release: revision 1 runs 2.10.0, revision 2 runs 2.11.1 (what the real server reports), revision 3 the
bad 2.12.0. Faults (409, 403), a broken image and unschedulable pods come from the emulator.
"""

from __future__ import annotations

import glob
import json
import os
import time

import pytest

from tests.integration.test_k8s_emulator import kubectl, needs_kubectl
from tests.support.module_runner import run_module
from tests.support.playbook import run_playbook, write_inventory

IMAGE = "ghcr.io/aragora/aragora:%s"
MODULE = "k8s_rollout_undo"


def undo(cluster, check_mode: bool = False, diff: bool = False, **args) -> dict:
    return run_module(MODULE, {"kubeconfig": cluster.kubeconfig, "poll_interval": 0.2, "wait_timeout": 30, **args},
                      check_mode=check_mode, diff=diff)


def deployment(cluster) -> dict:
    return cluster.get("deployments.apps", "aragora")


def images_of(obj: dict) -> list[str]:
    return [c["image"] for c in obj["spec"]["template"]["spec"]["containers"]]


def history_revisions(cluster) -> list[int]:
    """The revisions `kubectl rollout history` lists."""
    lines = kubectl(cluster, "rollout", "history", "deployment/aragora").stdout.splitlines()
    return [int(line.split()[0]) for line in lines if line[:1].isdigit()]


@pytest.fixture
def bad_release(k8s_cluster):
    return k8s_cluster("bad_release")


@needs_kubectl
def test_previous_revision_rollback_agrees_with_kubectl(bad_release):
    result = undo(bad_release)
    assert not result.get("failed"), result["msg"]
    assert result["changed"] and result["rollout"] == "done"
    assert (result["from_revision"], result["to_revision"], result["new_revision"]) == (3, 2, 4)
    assert result["images_before"] == [IMAGE % "2.12.0"] and result["images_after"] == [IMAGE % "2.11.1"]
    assert result["version_after"] == "2.11.1"
    assert set(result["timings"]) >= {"plan", "patch", "wait", "total"}
    live = deployment(bad_release)
    assert images_of(live) == [IMAGE % "2.11.1"]
    annotations = live["metadata"]["annotations"]
    # Its own annotations are kept; change-cause follows the revision, as kubectl does.
    assert annotations["team"] == "platform"
    assert annotations["kubernetes.io/change-cause"] == "upgrade to 2.11.1"
    assert "pod-template-hash" not in live["spec"]["template"]["metadata"]["labels"]
    kubectl(bad_release, "rollout", "status", "deployment/aragora", "--timeout=5s")
    # What the module reports as history is what kubectl lists, revision by revision.
    listed = undo(bad_release, check_mode=True)["history"]
    assert [r["revision"] for r in listed] == history_revisions(bad_release) == [1, 3, 4]
    for revision in listed:
        shown = kubectl(bad_release, "rollout", "history", "deployment/aragora", "--revision=%d" % revision["revision"])
        assert revision["images"][0] in shown.stdout
        assert revision["change_cause"] in shown.stdout


def test_explicit_revision(bad_release):
    result = undo(bad_release, revision=1)
    assert result["changed"] and (result["from_revision"], result["to_revision"]) == (3, 1)
    assert images_of(deployment(bad_release)) == [IMAGE % "2.10.0"]


def test_revision_gaps_and_unknown_revision(bad_release):
    assert undo(bad_release)["to_revision"] == 2  # revisions are now 1, 3, 4
    unknown = undo(bad_release, revision=2)
    assert unknown["failed"] and not unknown["changed"]
    assert "no revision 2" in unknown["msg"] and "1: " + IMAGE % "2.10.0" in unknown["msg"] and "4: " in unknown["msg"]
    # Revision 3 pruned (revisionHistoryLimit, or by hand): the previous of 4 is 1, not the missing 4-1.
    owned = [rs for rs in bad_release.list("replicasets.apps", "aragora")
             if rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision") == "3"]
    bad_release.call(bad_release.handler.remove, "replicasets.apps", "aragora", owned[0]["metadata"]["name"])
    result = undo(bad_release)
    assert (result["from_revision"], result["to_revision"]) == (4, 1), result.get("msg")
    assert images_of(deployment(bad_release)) == [IMAGE % "2.10.0"]


def test_unowned_replicaset_with_matching_labels_is_never_used(bad_release):
    owned = next(rs for rs in bad_release.list("replicasets.apps", "aragora") if rs["metadata"]["name"].startswith(
        "aragora-"))
    stray = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
             "metadata": {"name": "aragora-legacy", "labels": dict(owned["metadata"]["labels"]),
                          "annotations": {"deployment.kubernetes.io/revision": "7"}},
             "spec": {"replicas": 0, "selector": owned["spec"]["selector"],
                      "template": {**owned["spec"]["template"], "spec": {
                          **owned["spec"]["template"]["spec"], "containers": [{"name": "aragora",
                                                                               "image": IMAGE % "2.9.0"}]}}}}
    bad_release.apply([stray])
    planned = undo(bad_release, check_mode=True)
    assert [r["revision"] for r in planned["history"]] == [1, 2, 3]
    assert planned["to_revision"] == 2
    refused = undo(bad_release, revision=7)
    assert refused["failed"] and "no revision 7" in refused["msg"]
    assert undo(bad_release)["images_after"] == [IMAGE % "2.11.1"]


def test_no_history_is_a_clear_error(k8s_cluster):
    cluster = k8s_cluster("healthy_ha")  # one revision only
    before = deployment(cluster)["metadata"]["resourceVersion"]
    result = undo(cluster)
    assert result["failed"] and not result["changed"]
    assert "no earlier revision to roll back to" in result["msg"] and "Nothing was changed" in result["msg"]
    assert deployment(cluster)["metadata"]["resourceVersion"] == before


@needs_kubectl
def test_paused_deployment_is_refused_unless_resumed(bad_release):
    kubectl(bad_release, "rollout", "pause", "deployment/aragora")
    before = deployment(bad_release)["metadata"]["resourceVersion"]
    refused = undo(bad_release)
    assert refused["failed"] and "is paused" in refused["msg"] and "resume_paused" in refused["msg"]
    assert "PAUSED" in refused["state"]
    assert deployment(bad_release)["metadata"]["resourceVersion"] == before
    resumed = undo(bad_release, resume_paused=True)
    assert resumed["changed"] and resumed["rollout"] == "done", resumed.get("msg")
    assert not deployment(bad_release)["spec"].get("paused")


def test_already_at_target_changes_nothing(bad_release):
    before = deployment(bad_release)["metadata"]["resourceVersion"]
    result = undo(bad_release, revision=3)
    assert not result.get("failed") and not result["changed"] and "nothing changed" in result["message"]
    assert deployment(bad_release)["metadata"]["resourceVersion"] == before


def test_conflict_on_first_patch_is_retried(bad_release):
    bad_release.fail("patch", "deployments", 409, times=1)
    result = undo(bad_release)
    assert result["changed"] and result["conflicts_retried"] == 1 and result["rollout"] == "done"
    assert images_of(deployment(bad_release)) == [IMAGE % "2.11.1"]


def test_rbac_denial_names_verb_and_resource(bad_release):
    bad_release.deny("patch", "deployments")
    result = undo(bad_release)
    assert result["failed"] and not result["changed"]
    assert "403" in result["msg"] and "patch deployments.apps" in result["msg"]
    assert images_of(deployment(bad_release)) == [IMAGE % "2.12.0"]


@pytest.mark.timed
@needs_kubectl
def test_rollout_that_never_completes_honours_the_timeout(bad_release):
    # Revision 4: pods no node admits (Pending forever, no deadline reported); then 2.12.0 again as revision 5.
    kubectl(bad_release, "patch", "deployment/aragora", "-p",
            json.dumps({"spec": {"template": {"spec": {"nodeSelector": {"disktype": "none-such"}}}}}))
    kubectl(bad_release, "patch", "deployment/aragora", "--type=json",
            "-p", json.dumps([{"op": "remove", "path": "/spec/template/spec/nodeSelector"}]))
    started = time.monotonic()
    result = undo(bad_release, wait_timeout=2, poll_interval=0.5)
    elapsed = time.monotonic() - started
    assert result["failed"] and result["rollout"] == "timeout" and result["to_revision"] == 4
    assert "did NOT COMPLETE" in result["msg"] and "Nothing was rolled forward" in result["msg"]
    assert 2 <= result["timings"]["wait"] < 3.5 and elapsed < 10


@pytest.mark.timed
def test_progress_deadline_exceeded_fails_within_two_polls(bad_release):
    bad_release.break_image(IMAGE % "2.11.1")  # the revision rolled back to cannot start either
    started = time.monotonic()
    result = undo(bad_release, wait_timeout=60, poll_interval=1)
    assert result["failed"] and result["rollout"] == "failed"
    assert "ProgressDeadlineExceeded" in result["msg"] and "Nothing was rolled forward" in result["msg"]
    assert result["timings"]["wait"] < 2.0 and time.monotonic() - started < 10
    # It stays where it was rolled back to: 2.11.1, not forward to 2.12.0.
    assert images_of(deployment(bad_release)) == [IMAGE % "2.11.1"]
    assert "revision 4" in result["state"]


def test_check_mode_says_what_and_changes_nothing(bad_release):
    before = deployment(bad_release)
    result = undo(bad_release, check_mode=True, diff=True)
    assert result["changed"] and result["rollout"] == "skipped"
    assert result["message"].startswith("Would roll back") and "revision 3" in result["message"]
    assert images_of({"spec": {"template": result["diff"]["before"]}}) == [IMAGE % "2.12.0"]
    assert images_of({"spec": {"template": result["diff"]["after"]}}) == [IMAGE % "2.11.1"]
    after = deployment(bad_release)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_argo_rollout_is_not_handled(k8s_cluster):
    cluster = k8s_cluster("bad_release", crd_groups=["argoproj.io"])
    cluster.apply([{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "aragora"},
                    "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "aragora"}}}])
    result = undo(cluster)
    assert result["failed"] and not result["changed"]
    assert "Argo Rollouts" in result["msg"] and "kubectl argo rollouts undo aragora -n aragora" in result["msg"]


# ---- rollback.yml, with the real server for the verification --------------------------------------------------------


def _inventory(tmp_path, cluster, sandbox_state, **extra) -> str:
    host = {"aragora_kubeconfig": cluster.kubeconfig, "aragora_api_url": sandbox_state["urls"]["api"],
            "aragora_ca_path": sandbox_state["paths"]["ca"], "aragora_report_dir": str(tmp_path / "reports"),
            "aragora_rollback_poll_interval": 0.2, "aragora_rollback_health_interval": 1, **extra}
    return write_inventory(str(tmp_path / "inventory.yml"), {"prod-k8s": host}, "aragora_kubernetes")


def _records(tmp_path) -> list[dict]:
    paths = sorted(glob.glob(str(tmp_path / "reports" / "incident-*.json")), key=os.path.getmtime)
    records = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            records.append(json.load(handle))
        assert os.path.exists(path[:-5] + ".md")
    return records


def test_playbook_rolls_back_verifies_and_records(tmp_path, bad_release, sandbox_state):
    inventory = _inventory(tmp_path, bad_release, sandbox_state)
    run = run_playbook("rollback.yml", inventory, None, env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"}, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "SUCCEEDED" in run.stdout and "aragora_rollback_results" in run.stdout
    assert images_of(deployment(bad_release)) == [IMAGE % "2.11.1"]
    (record,) = _records(tmp_path)
    assert record["kind"] == "kubernetes-rollback" and record["outcome"] == "succeeded"
    assert record["target"]["namespace"] == "aragora" and record["target"]["deployment"] == "aragora"
    assert "2.12.0" in record["from"] and "revision 2" in record["to"] and "2.11.1" in record["to"]
    assert record["verification"]["health_verdict"] == "GO"
    assert record["verification"]["expected_version"] == "2.11.1"
    assert record["verification"]["rollout"] == "done"
    assert record["actor"]


def test_playbook_fails_loudly_when_verification_fails(tmp_path, bad_release, sandbox_state):
    # Revision 1 is 2.10.0, but the server answering still reports 2.11.1: the verification must not pass.
    inventory = _inventory(tmp_path, bad_release, sandbox_state, aragora_rollback_health_timeout=1)
    run = run_playbook("rollback.yml", inventory, {"aragora_rollback_revision": 1}, timeout=120)
    assert run.returncode != 0
    assert "ROLLBACK FAILED" in run.stdout and "THE DEPLOYMENT IS NOW AT revision 4" in run.stdout, run.stdout[-4000:]
    assert "Nothing was rolled forward" in run.stdout
    assert images_of(deployment(bad_release)) == [IMAGE % "2.10.0"]  # left where it was rolled back to
    (record,) = _records(tmp_path)
    assert record["outcome"] == "failed" and record["verification"]["health_verdict"] == "NO-GO"
    assert "2.10.0" in record["verification"]["deployment_state"]
