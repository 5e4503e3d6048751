"""rollback.yml's k8s_rollout_undo runs in the controller's process on a local connection with the controller's
Python (plugins/action/k8s_rollout_undo.py) and answers exactly what the module answers."""

from __future__ import annotations

from tests.support.module_runner import run_module
from tests.support.playbook import run_playbook, write_inventory

UNDO_TASK = "TASK [aragora.ops.kubernetes_rollback : Roll back and wait for the rollout]"
TOKEN = "in-controller-token-4f9a"


def test_the_undo_runs_in_the_controller_and_says_what_the_module_says(k8s_cluster, tmp_path):
    cluster = k8s_cluster("bad_release")
    before = cluster.get("deployments.apps", "aragora")
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"prod-k8s": {
        "aragora_api_url": "http://127.0.0.1:9", "aragora_report_dir": str(tmp_path / "reports")}},
        "aragora_kubernetes")
    # The cluster as AWX's credential gives it (K8S_AUTH_*): the API key must not appear in -vvv output.
    run = run_playbook("rollback.yml", inventory, None, "--check", "-vvv", timeout=120,
                       env={"K8S_AUTH_HOST": cluster.url, "K8S_AUTH_API_KEY": TOKEN, "KUBECONFIG": "/nonexistent"})
    assert run.returncode == 0, run.stdout[-4000:]
    undo = run.stdout[run.stdout.index(UNDO_TASK):].split("\nTASK [", 1)[0]
    assert "EXEC " not in undo and "Using module file" not in undo, undo[:2000]  # no module process
    module = run_module("k8s_rollout_undo", {"k8s_host": cluster.url, "k8s_api_key": TOKEN}, check_mode=True)
    assert module["message"].startswith("Would roll back Deployment aragora/aragora from revision 3")
    shown = " ".join(undo.replace("'", "").split())  # the YAML callback's folding and quoting undone
    for field in ("message", "state_before"):
        assert "%s: %s" % (field, " ".join(module[field].split())) in shown, (field, module[field])
    assert TOKEN not in run.stdout + run.stderr
    assert cluster.get("deployments.apps", "aragora")["metadata"]["resourceVersion"] == \
        before["metadata"]["resourceVersion"]
