"""The Kubernetes checks before apply (k8s_manifests: rendered manifests, a directory, a kustomization built by the
real `kubectl kustomize`) and after it (the same kustomization applied to the emulated cluster with the real
`kubectl apply -k`, validation on): the same check code on another source of objects, the live-only checks SKIP
saying so, a kustomization that does not build is a FAIL quoting kustomize."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import KUBERNETES_GROUPS
from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import run_target
from tests.integration.test_kubernetes_checks import EXPECTED, GRAFANA, K8S_IDS, statuses
from tests.support import k8s_scenarios

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYOUT = os.path.join(ROOT, "k8s", "kustomize", "upstream_layout")
PLATFORM = os.path.join(ROOT, "k8s", "kustomize", "platform.yaml")
PROMETHEUS_RULE = os.path.join(os.path.dirname(ROOT), "files", "prometheus", "aragora-prometheusrule.yaml")
# What only a running cluster reports: SKIP on manifests, saying so.
LIVE_ONLY = {"ha.pod_distribution_nodes", "ha.pod_distribution_zones", "certificates.cert_manager",
             "certificates.cluster_issuer", "certificates.certificate", "migrations.job", "observability.log_shipper"}
# Scenarios that break something manifests hold; their static checks must agree with the live ones. Differences
# by design: manifests ask for replicas (ha.replicas), the cluster also says how many are ready.
STATIC_SCENARIOS = {
    "missing_limits": {}, "hpa_targets_other": {}, "two_pdbs": {}, "pdb_max_unavailable_zero": {},
    "spread_preferred_only": {}, "spread_skew_no_constraint": {}, "service_monitor_two_services": {},
    "ingress_routes_elsewhere": {"certificates.certificate": "FAIL"},  # no Ingress routes to Aragora: static
    "alerts_renamed": {}, "network_policies_allow": {},
    "network_policies_common_labels": {}, "websocket_not_exposed": {}, "backup_sqlite_under_restricted": {},
    "backup_refused_by_pod_security": {}, "monitoring_namespace": {}, "one_replica": {},
    "rwo_claim_shared": {"ha.replicas": "PASS"},  # 3 asked for; live, 2 wait on the Multi-Attach error
    "migration_status_job_only": {"migrations.job": "FAIL"},  # no Job in the manifests runs the upgrade
}


def kubectl(kubeconfig: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args], capture_output=True, text=True,
                          timeout=60, check=False)


def manifests_params(path: str, **extra) -> dict:
    return {"k8s_manifests": path, "timeout": 10.0, "groups": list(KUBERNETES_GROUPS), **extra}


@pytest.fixture()
def layout(tmp_path):
    """The upstream-shaped kustomization, with the collection's own PrometheusRule placed in namespace monitoring."""
    copy = tmp_path / "upstream_layout"
    shutil.copytree(LAYOUT, copy)
    shutil.copy(PROMETHEUS_RULE, copy / "monitoring" / "prometheusrule.yaml")
    kustomization = copy / "monitoring" / "kustomization.yaml"
    data = yaml.safe_load(kustomization.read_text())
    data["resources"].append("prometheusrule.yaml")
    kustomization.write_text(yaml.safe_dump(data))
    return str(copy)


def expected_from_manifests(live: dict[str, str]) -> dict[str, str]:
    expected = dict(live)
    expected.update({check_id: "SKIP" for check_id in LIVE_ONLY})
    return expected


def test_the_rendered_kustomization_passes_its_static_checks_and_skips_the_live_ones(layout):
    result = run_target(manifests_params(layout))
    expected = {check_id: "PASS" for check_id in K8S_IDS}
    expected.update(GRAFANA)
    expected = expected_from_manifests(expected)
    assert statuses(result) == expected, {c["id"]: c["message"] for c in result["checks"] if c["status"] != "PASS"}
    assert result["verdict"] == "GO"
    checks = {c["id"]: c for c in result["checks"]}
    assert "kustomization %s" % layout in checks["certificates.cert_manager"]["message"]
    assert "is live cluster state, which manifests do not hold" in checks["migrations.job"]["message"]
    assert "aragora-migrate (release 2.11.1)" in checks["migrations.job"]["message"]
    assert "monitoring/aragora -> Service aragora-metrics" in checks["observability.service_monitor"]["message"]
    assert "monitoring/aragora-alerts" in checks["observability.prometheus_rule"]["message"]
    # The configuration checks read the Deployment's environment from the manifests' ConfigMap and Secret.
    security = run_target(manifests_params(layout, groups=["security"]))
    assert security["config_sources"] == ["Deployment aragora/aragora container aragora"]
    assert statuses(security)["security.environment_mode"] == "PASS"


def test_kubectl_apply_k_then_the_same_checks_live(k8s_cluster, layout):
    cluster = k8s_cluster(None)
    cluster.apply(k8s_scenarios.render_times(k8s_scenarios.read_manifests(PLATFORM)))
    applied = kubectl(cluster.kubeconfig, "apply", "-k", layout)  # validation on: the emulator serves OpenAPI v3
    assert applied.returncode == 0, applied.stderr
    assert "namespace/aragora created" in applied.stdout and "servicemonitor.monitoring.coreos.com/aragora created" \
        in applied.stdout
    again = kubectl(cluster.kubeconfig, "apply", "-k", layout)
    assert again.returncode == 0 and "deployment.apps/aragora unchanged" in again.stdout, again.stderr
    assert cluster.get("namespaces", "aragora")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == \
        "restricted"
    # No controller has reported yet: the Job has not completed, the CronJob never ran, cert-manager issued nothing.
    fresh = statuses(run_target({"kubeconfig": cluster.kubeconfig, "timeout": 5.0, "groups": list(KUBERNETES_GROUPS)}))
    assert {k: v for k, v in fresh.items() if v != "PASS"} == {
        **GRAFANA, "migrations.job": "WARN", "backups.cronjob": "FAIL", "certificates.certificate": "FAIL"}
    # What the Job controller, the CronJob controller and cert-manager would then report.
    now, later = k8s_scenarios.render_times(["{{ now - 1h }}", "{{ now + 80d }}"])
    cluster.set_status("jobs.batch", "aragora-migrate", {"succeeded": 1, "completionTime": now, "conditions": [
        {"type": "Complete", "status": "True", "lastTransitionTime": now}]})
    cluster.set_status("cronjobs.batch", "aragora-backup", {"lastScheduleTime": now, "lastSuccessfulTime": now})
    cluster.apply([{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                    "metadata": {"name": "aragora-tls"}, "data": {"tls.crt": "", "tls.key": ""}}])
    cluster.set_status("certificates.cert-manager.io", "aragora-tls", {
        "conditions": [{"type": "Ready", "status": "True", "reason": "Ready"}], "notAfter": later,
        "renewalTime": k8s_scenarios.render_times("{{ now + 50d }}")})
    result = run_target({"kubeconfig": cluster.kubeconfig, "timeout": 5.0, "groups": list(KUBERNETES_GROUPS)})
    expected = {check_id: "PASS" for check_id in K8S_IDS}
    expected.update(GRAFANA)
    assert statuses(result) == expected, {c["id"]: c["message"] for c in result["checks"] if c["status"] != "PASS"}
    pods = cluster.list("pods", "aragora")
    assert len({p["spec"]["nodeName"] for p in pods}) == 3  # required anti-affinity: one pod per node


def test_a_kustomization_that_does_not_build_fails_every_check_quoting_kustomize(tmp_path, layout):
    secrets = os.path.join(layout, "app", "secret.yaml")
    shutil.copy(secrets, os.path.join(layout, "app", "secrets.yaml"))  # upstream defines one Secret in two files
    kustomization = os.path.join(layout, "app", "kustomization.yaml")
    data = yaml.safe_load(open(kustomization, encoding="utf-8"))
    data["resources"].append("secrets.yaml")
    with open(kustomization, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle)
    result = run_target(manifests_params(layout))
    failed = [c for c in result["checks"] if c["status"] == "FAIL"]
    assert len(failed) == len(K8S_IDS) - 1  # all but Grafana's
    message = failed[0]["message"]
    assert "does not build (kubectl kustomize)" in message
    assert "may not add resource with an already registered id: Secret.v1.[noGrp]/aragora-secrets" in message


def test_a_missing_path_and_a_missing_deployment_are_named(tmp_path):
    result = run_target(manifests_params(str(tmp_path / "nope")))
    assert "k8s_manifests %s is neither a file nor a directory" % (tmp_path / "nope") in result["checks"][0]["message"]
    (tmp_path / "other.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n")
    result = run_target(manifests_params(str(tmp_path)))
    assert "Deployment aragora not found in namespace aragora of the manifests in %s (k8s_namespace, k8s_deployment); " \
        "it holds aragora/web" % tmp_path in result["checks"][0]["message"]


@pytest.mark.parametrize("scenario", sorted(STATIC_SCENARIOS))
def test_rendered_scenario_agrees_with_the_live_checks(tmp_path, scenario):
    """The scenario's objects written as a YAML file (status and all): the static checks say what they say live."""
    path = tmp_path / ("%s.yaml" % scenario)
    manifests = k8s_scenarios.render_times(k8s_scenarios.resolve(scenario).manifests)
    path.write_text(yaml.safe_dump_all(manifests))
    result = run_target(manifests_params(str(path)))
    _live_verdict, not_passing = EXPECTED[scenario]
    live = {check_id: "PASS" for check_id in K8S_IDS}
    live.update(GRAFANA)
    live.update(not_passing)
    expected = expected_from_manifests(live)
    expected["ha.replicas"] = "FAIL" if scenario == "one_replica" else "PASS"
    expected.update(STATIC_SCENARIOS[scenario])
    assert statuses(result) == expected, {c["id"]: c["message"] for c in result["checks"] if c["status"] != "PASS"}
    assert result["verdict"] == ("GO" if "FAIL" not in expected.values() else "NO-GO")
