"""How users hand the collection a cluster: AWX's Kubernetes credential (K8S_AUTH_* in the environment),
module_defaults for group/aragora.ops.kubernetes with kubernetes.core's connection options, and option errors
that say what to fix instead of "Failed to import". Against the emulated API server over real HTTP."""

from __future__ import annotations


from tests.support.module_runner import run_module
from tests.support.playbook import run_playbook, write_inventory

K8S_AUTH = ("K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_VERIFY_SSL")


def statuses(result: dict) -> dict[str, str]:
    return {check["id"]: check["status"] for check in result["checks"]}


def test_the_awx_credential_environment_alone_reaches_the_cluster(k8s_cluster, monkeypatch):
    cluster = k8s_cluster("bad_release")
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")  # proves no kubeconfig is read
    monkeypatch.setenv("K8S_AUTH_HOST", cluster.url)
    monkeypatch.setenv("K8S_AUTH_API_KEY", "awx-injected-token")
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "false")
    result = run_module("kubernetes_check", {"timeout": 5})
    assert statuses(result)["ha.replicas"] == "PASS", result
    assert "awx-injected-token" not in str(result)
    undo = run_module("k8s_rollout_undo", {}, check_mode=True)
    assert not undo.get("failed") and "revision" in undo["state"], undo


def test_no_cluster_named_anywhere_skips_the_kubernetes_checks(monkeypatch):
    for name in K8S_AUTH:
        monkeypatch.delenv(name, raising=False)
    result = run_module("kubernetes_check", {"timeout": 5})
    assert set(statuses(result).values()) == {"SKIP"} and "k8s_host/K8S_AUTH_HOST" in result["checks"][0]["message"]


def test_module_defaults_group_sets_the_connection_of_every_kubernetes_module(k8s_cluster, tmp_path):
    cluster = k8s_cluster("bad_release")
    playbook = tmp_path / "group.yml"
    playbook.write_text(f"""
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/aragora.ops.kubernetes:
      k8s_host: {cluster.url}
      k8s_api_key: a-token
      k8s_validate_certs: false
  tasks:
    - aragora.ops.kubernetes_check:
        timeout: 5
      register: checked
    - aragora.ops.k8s_rollout_undo: {{}}
      check_mode: true
      register: planned
    - ansible.builtin.assert:
        that:
          - checked.checks | selectattr('id', 'equalto', 'ha.replicas') | map(attribute='status') | first == 'PASS'
          - planned.state is search('revision')
""")
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {})
    run = run_playbook(str(playbook), inventory, env={"KUBECONFIG": "/nonexistent/kubeconfig"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def test_option_errors_say_what_to_fix_not_failed_to_import(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("")
    both = run_module("kubernetes_check", {"kubeconfig": str(kubeconfig), "k8s_in_cluster": True})
    assert both["failed"] and "mutually exclusive" in both["msg"] and "import" not in both["msg"].lower()
    grafana = run_module("readiness_check", {"grafana_url": "grafana.internal:3000", "groups": ["observability"]})
    assert grafana["failed"] and "grafana_url must start with http" in grafana["msg"]
    assert "import" not in grafana["msg"].lower()
    half = run_module("k8s_rollout_undo", {"client_cert": str(kubeconfig)})
    assert half["failed"] and "required together" in half["msg"] and "k8s_client_key" in half["msg"]
    in_cluster = run_module("k8s_rollout_undo", {"in_cluster": True, "host": "https://k8s.example:6443"})
    assert in_cluster["failed"] and "mutually exclusive" in in_cluster["msg"]
