"""The playbooks run as AWX runs a job: ansible-runner over a private data dir laid out as AWX lays it out - the
project checkout (a plain copy of this repository: no venv link, no build/collections), the inventory, the survey
answers as extra vars (AWX's strings for a multiple choice), the Kubernetes credential as K8S_AUTH_* - against the
sandbox and the emulated cluster. Each run ends with the status AWX would show and the set_stats artifacts the next
workflow node is given."""

from __future__ import annotations

import glob
import json
import os
import subprocess

import pytest
import yaml

from tests.support.playbook import BIN, ROOT

IMAGE = "ghcr.io/aragora/aragora:%s"


def checkout(destination: str) -> None:
    """The project as a git checkout has it: tracked and new files, symlinks kept, nothing ignored (no .venv)."""
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    paths = [p for p in listing.split(b"\0") if p and os.path.lexists(os.path.join(ROOT.encode(), p))]
    os.makedirs(destination)
    packed = subprocess.run(["tar", "--null", "--files-from=-", "-cf", "-"], cwd=ROOT, input=b"\0".join(paths),
                            capture_output=True, check=True).stdout
    subprocess.run(["tar", "-xf", "-", "-C", destination], input=packed, check=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("awx-project") / "project")
    checkout(path)
    assert not os.path.exists(os.path.join(path, "build"))
    return path


def private_data_dir(base, project: str, inventory: dict, extravars: dict, envvars: dict) -> str:
    """AWX's layout: project/, inventory/hosts, env/extravars (survey answers and awx_* vars), env/envvars."""
    root = base / "private_data_dir"
    (root / "inventory").mkdir(parents=True)
    (root / "env").mkdir()
    os.symlink(project, root / "project")
    (root / "inventory" / "hosts").write_text(yaml.safe_dump(inventory))
    awx = {"awx_job_id": 4242, "awx_user_name": "alice", "tower_user_name": "alice", "awx_job_launch_type": "workflow"}
    (root / "env" / "extravars").write_text(yaml.safe_dump({**awx, **extravars}))
    (root / "env" / "envvars").write_text(yaml.safe_dump({"ANSIBLE_NOCOLOR": "1", **envvars}))
    return str(root)


def run_job(root: str, playbook: str, ident: str) -> tuple[str, dict, str]:
    """ansible-runner run; the job's status, its set_stats artifacts (as AWX reads them) and its stdout."""
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]}
    env.pop("ANSIBLE_CONFIG", None)  # AWX uses the project's own ansible.cfg
    subprocess.run([os.path.join(BIN, "ansible-runner"), "run", root, "-p", playbook, "--ident", ident],
                   env=env, capture_output=True, text=True, timeout=300, check=False)
    artifacts = os.path.join(root, "artifacts", ident)
    with open(os.path.join(artifacts, "status"), encoding="utf-8") as handle:
        status = handle.read().strip()
    stats = {}
    for path in glob.glob(os.path.join(artifacts, "job_events", "*.json")):
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
        if event.get("event") == "playbook_on_stats":
            stats = event["event_data"].get("artifact_data", {})
    with open(os.path.join(artifacts, "stdout"), encoding="utf-8") as handle:
        return status, stats, handle.read()


def target(sandbox_state: dict, **extra) -> dict:
    return {"ansible_connection": "local", "ansible_python_interpreter": os.path.join(BIN, "python"),
            "aragora_api_url": sandbox_state["urls"]["api"], "aragora_ca_path": sandbox_state["paths"]["ca"], **extra}


def test_prelaunch_job_fails_on_no_go_and_hands_the_verdict_and_report_to_the_workflow(
        tmp_path, project, sandbox_state, k8s_cluster):
    cluster = k8s_cluster("healthy_ha")
    inventory = {"all": {"children": {"aragora": {"hosts": {"sandbox": target(
        sandbox_state, aragora_env_file=sandbox_state["paths"]["env_file"])}}}}}
    root = private_data_dir(tmp_path, project, inventory, {"aragora_targets": "aragora", "aragora_strict": "false"},
                            {"K8S_AUTH_HOST": cluster.url, "K8S_AUTH_API_KEY": "awx-token",
                             "K8S_AUTH_VERIFY_SSL": "False"})
    status, stats, stdout = run_job(root, "playbooks/prelaunch.yml", "prelaunch-1")
    # No AI provider key in the sandbox: NO-GO, so the job fails (a workflow takes its failure branch).
    assert status == "failed", stdout[-3000:]
    assert stats["aragora_readiness_verdict"] == "NO-GO"
    files = stats["aragora_readiness_files"]
    assert files and all(path.startswith(os.path.join(root, "artifacts", "prelaunch-1", "aragora-reports"))
                         for path in files)
    with open(files[0], encoding="utf-8") as handle:
        report = json.load(handle)
    checks = {check["id"]: check for check in report["checks"]}
    # The credential's K8S_AUTH_* reached the cluster: the Kubernetes checks ran and judged.
    assert checks["ha.replicas"]["status"] == "PASS"
    assert "awx-token" not in stdout and "awx-token" not in json.dumps(report)


def test_golive_job_refuses_the_no_go_the_prelaunch_node_handed_over(tmp_path, project, sandbox_state):
    inventory = {"all": {"children": {"aragora": {"hosts": {"sandbox": target(sandbox_state)}}}}}
    root = private_data_dir(tmp_path, project, inventory,
                            {"aragora_golive_phases": ["smoke"], "aragora_golive_watch": "false",
                             "aragora_readiness_verdict": "NO-GO"}, {})
    status, stats, stdout = run_job(root, "playbooks/golive.yml", "golive-1")
    assert status == "failed" and stats["aragora_readiness_verdict"] == "NO-GO"
    assert "The pre-launch verdict handed to this run is NO-GO" in stdout
    assert "smoke.create_debate" not in stdout  # nothing was created on the server


def test_kubernetes_rollback_job_from_survey_answers_and_the_awx_credential(
        tmp_path, project, sandbox_state, k8s_cluster):
    cluster = k8s_cluster("bad_release")
    inventory = {"all": {"children": {"aragora_kubernetes": {"hosts": {"prod-k8s": target(
        sandbox_state, aragora_rollback_poll_interval=0.2, aragora_rollback_health_interval=1)}}}}}
    # Survey answers as AWX passes them, and an upstream node's artifact named `revision` that must not be read.
    root = private_data_dir(tmp_path, project, inventory,
                            {"aragora_rollback_revision": 0, "aragora_rollback_confirm": "true", "revision": 1},
                            {"K8S_AUTH_HOST": cluster.url, "K8S_AUTH_API_KEY": "awx-token",
                             "K8S_AUTH_VERIFY_SSL": "False", "KUBECONFIG": "/nonexistent/kubeconfig"})
    status, stats, stdout = run_job(root, "playbooks/rollback.yml", "rollback-1")
    assert status == "successful", stdout[-4000:]
    (result,) = stats["aragora_rollback_results"].values()
    assert result["outcome"] == "succeeded" and "2.11.1" in result["to"]
    assert result["incident_files"][0].startswith(os.path.join(root, "artifacts", "rollback-1"))
    deployment = cluster.get("deployments.apps", "aragora")
    assert [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]] == [IMAGE % "2.11.1"]
