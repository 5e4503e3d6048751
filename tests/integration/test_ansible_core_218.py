"""ansible-core 2.18, the oldest meta/runtime.yml admits (requires_ansible >=2.18.0): prelaunch.yml and a Kubernetes
rollback run with it against the sandbox and the emulated cluster (build/core218-venv, made by scripts/setup.sh)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support.playbook import ROOT, read_report, write_inventory

CORE218 = os.path.join(ROOT, "build", "core218-venv", "bin")
IMAGE = "ghcr.io/aragora/aragora:%s"

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(CORE218, "ansible-playbook")),
                                reason="build/core218-venv is missing: run `make setup`")


def run_218(playbook: str, inventory: str, extra_vars: dict) -> subprocess.CompletedProcess:
    version = subprocess.run([os.path.join(CORE218, "ansible-playbook"), "--version"], capture_output=True,
                             text=True, check=True).stdout
    assert "core 2.18." in version
    return subprocess.run([os.path.join(CORE218, "ansible-playbook"), "-i", inventory,
                           os.path.join(ROOT, "playbooks", playbook), "-e", json.dumps(extra_vars)], cwd=ROOT,
                          env={**os.environ, "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
                               "PATH": CORE218 + os.pathsep + os.environ["PATH"], "ANSIBLE_SHOW_CUSTOM_STATS": "1"},
                          capture_output=True, text=True, timeout=300, check=False)


def test_prelaunch_and_a_kubernetes_rollback_on_ansible_core_218(tmp_path, sandbox_state, k8s_cluster):
    python = os.path.join(CORE218, "python")
    healthy = k8s_cluster("healthy_ha")
    inventory = write_inventory(str(tmp_path / "prelaunch.yml"), {"sandbox": {
        "ansible_python_interpreter": python, "aragora_api_url": sandbox_state["urls"]["api"],
        "aragora_ca_path": sandbox_state["paths"]["ca"], "aragora_kubeconfig": healthy.kubeconfig,
        "aragora_check_groups": ["health", "ha"]}})
    run = run_218("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path / "reports")})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    report = read_report(str(tmp_path / "reports"))
    assert report["verdict"] == "GO" and report["counts"]["PASS"] >= 10

    bad = k8s_cluster("bad_release")
    inventory = write_inventory(str(tmp_path / "rollback.yml"), {"prod-k8s": {
        "ansible_python_interpreter": python, "aragora_kubeconfig": bad.kubeconfig,
        "aragora_api_url": sandbox_state["urls"]["api"], "aragora_ca_path": sandbox_state["paths"]["ca"],
        "aragora_rollback_poll_interval": 0.2, "aragora_rollback_health_interval": 1}}, "aragora_kubernetes")
    run = run_218("rollback.yml", inventory, {"aragora_report_dir": str(tmp_path / "reports")})
    assert run.returncode == 0 and "SUCCEEDED" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]
    deployment = bad.get("deployments.apps", "aragora")
    assert [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]] == [IMAGE % "2.11.1"]
