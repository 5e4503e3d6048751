"""The emulated Kubernetes API server is faithful enough: kubectl and the official client read and drive it."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import time

import pytest
from kubernetes import client, config, dynamic

from tests.support import k8s_scenarios
from tests.support.k8s_emulator import EmulatedCluster

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
SERVER = "app.kubernetes.io/name=aragora,app.kubernetes.io/component=server"


def kubectl(cluster: EmulatedCluster, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cache = os.path.join(os.path.dirname(cluster.kubeconfig), "kubectl-cache")
    result = subprocess.run([KUBECTL or "kubectl", "--kubeconfig", cluster.kubeconfig, "--cache-dir", cache, *args],
                            capture_output=True, text=True, timeout=30, check=False)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def kubectl_json(cluster: EmulatedCluster, *args: str) -> dict:
    return json.loads(kubectl(cluster, *args, "-o", "json").stdout)


def test_starts_fast_and_stops_clean():
    started = time.monotonic()
    with EmulatedCluster() as cluster:
        elapsed = time.monotonic() - started
        assert os.path.exists(cluster.kubeconfig)
        port = cluster.port
    assert elapsed < 1.0
    assert not os.path.exists(cluster.kubeconfig)
    with EmulatedCluster(port=port) as again:  # the port was released
        assert again.port == port


@needs_kubectl
def test_kubectl_reads_the_healthy_scenario(k8s_cluster):
    cluster = k8s_cluster()
    deployment = kubectl_json(cluster, "get", "deploy", "aragora")
    assert deployment["metadata"]["generation"] == 1 and deployment["metadata"]["uid"]
    assert deployment["status"]["readyReplicas"] == 3
    assert {c["type"]: c["status"] for c in deployment["status"]["conditions"]} == {
        "Available": "True", "Progressing": "True"}
    wide = kubectl(cluster, "get", "pods", "-o", "wide").stdout
    assert {line.split()[6] for line in wide.splitlines()[1:]} == {"node-a", "node-b", "node-c"}
    nodes = kubectl_json(cluster, "get", "nodes")
    assert len({n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes["items"]}) == 3
    assert "Deployment/aragora" in kubectl(cluster, "get", "hpa").stdout
    assert kubectl_json(cluster, "get", "pdb")["items"][0]["spec"]["maxUnavailable"] == 1
    assert len(kubectl_json(cluster, "get", "pods", "-l", SERVER)["items"]) == 3
    set_based = kubectl_json(cluster, "get", "pods", "-A", "-l", "app.kubernetes.io/name in (aragora,webhook)")
    assert len(set_based["items"]) == 4
    on_b = kubectl_json(cluster, "get", "pods", "-A", "--field-selector", "spec.nodeName=node-b,status.phase=Running")
    assert {p["metadata"]["namespace"] for p in on_b["items"]} == {"aragora", "cert-manager", "logging"}
    assert kubectl_json(cluster, "get", "certificate", "aragora-tls")["status"]["conditions"][0]["status"] == "True"


@needs_kubectl
def test_kubectl_scale_and_rollouts(k8s_cluster):
    cluster = k8s_cluster()
    kubectl(cluster, "scale", "deploy/aragora", "--replicas=4")
    assert kubectl_json(cluster, "get", "deploy", "aragora")["status"]["availableReplicas"] == 4
    assert len(cluster.list("pods", "aragora")) == 4

    kubectl(cluster, "set", "image", "deploy/aragora", "aragora=ghcr.io/aragora/aragora:2.12.0")
    assert "successfully rolled out" in kubectl(cluster, "rollout", "status", "deploy/aragora", "--timeout=10s").stdout
    replicasets = kubectl_json(cluster, "get", "rs", "-l", SERVER)["items"]
    assert len(replicasets) == 2
    uid = cluster.get("deployments.apps", "aragora")["metadata"]["uid"]
    assert all(rs["metadata"]["ownerReferences"][0]["uid"] == uid for rs in replicasets)
    revisions = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]:
                 rs["spec"]["template"]["spec"]["containers"][0]["image"] for rs in replicasets}
    assert revisions == {"1": "ghcr.io/aragora/aragora:2.11.1", "2": "ghcr.io/aragora/aragora:2.12.0"}
    pods = cluster.list("pods", "aragora")
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"ghcr.io/aragora/aragora:2.12.0"}

    kubectl(cluster, "rollout", "undo", "deploy/aragora")
    history = kubectl(cluster, "rollout", "history", "deploy/aragora").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
    deployment = cluster.get("deployments.apps", "aragora")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/aragora/aragora:2.11.1"
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert len(cluster.list("replicasets.apps", "aragora")) == 2  # the old ReplicaSet came back as revision 3

    kubectl(cluster, "rollout", "undo", "deploy/aragora", "--to-revision=2")
    deployment = cluster.get("deployments.apps", "aragora")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/aragora/aragora:2.12.0"
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"
    assert deployment["metadata"]["generation"] == 5  # scale, set image, two undos
    assert deployment["status"]["observedGeneration"] == 5


@needs_kubectl
def test_stalled_rollout_is_reported_and_undone(k8s_cluster):
    cluster = k8s_cluster("rollout_stalled")
    status = kubectl(cluster, "rollout", "status", "deploy/aragora", "--timeout=5s", check=False)
    assert status.returncode != 0 and "exceeded its progress deadline" in status.stderr
    assert sum(p["status"]["conditions"][1]["status"] == "True" for p in cluster.list("pods", "aragora")) == 3
    kubectl(cluster, "rollout", "undo", "deploy/aragora")
    assert "successfully rolled out" in kubectl(cluster, "rollout", "status", "deploy/aragora", "--timeout=5s").stdout


@needs_kubectl
def test_faults(k8s_cluster):
    cluster = k8s_cluster("rbac_denied")
    denied = kubectl(cluster, "get", "pods", check=False)
    assert denied.returncode != 0
    assert 'cannot list resource "pods" in API group "" in the namespace "aragora"' in denied.stderr
    # kubectl auth can-i sends protobuf, which the emulator does not decode; the Python client sends JSON.
    authorization = client.AuthorizationV1Api(config.new_client_from_config(cluster.kubeconfig))
    for resource, allowed in (("pods", False), ("deployments", True)):
        review = {"spec": {"resourceAttributes": {"namespace": "aragora", "verb": "list", "resource": resource,
                                                  "group": "" if resource == "pods" else "apps"}}}
        assert authorization.create_self_subject_access_review(review).status.allowed is allowed
    cluster.fail("get", "deployments", 500)
    assert "InternalError" in kubectl(cluster, "get", "deploy", "aragora", "-o", "json", check=False).stderr
    cluster.clear_faults()
    cluster.hang("list", "services", seconds=30)
    started = time.monotonic()
    hung = kubectl(cluster, "get", "svc", "--request-timeout=1s", check=False)
    assert hung.returncode != 0 and time.monotonic() - started < 10


def test_official_client_and_dynamic_client(k8s_cluster):
    cluster = k8s_cluster()
    api = config.new_client_from_config(cluster.kubeconfig, context="emulated")
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    assert len(core.list_namespaced_pod("aragora", label_selector=SERVER).items) == 3
    assert len(core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-a").items) == 3
    scale = apps.read_namespaced_deployment_scale("aragora", "aragora")
    assert (scale.kind, scale.spec.replicas, scale.status.selector) == ("Scale", 3, SERVER.replace(",", ","))
    apps.patch_namespaced_deployment_scale("aragora", "aragora", {"spec": {"replicas": 5}})
    assert apps.read_namespaced_deployment("aragora", "aragora").status.ready_replicas == 5
    for path in glob.glob(f"/tmp/k8srcp-*{cluster.port}*.json"):  # the DynamicClient's discovery cache
        os.unlink(path)
    dyn = dynamic.DynamicClient(api)
    hpas = dyn.resources.get(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler").get(namespace="aragora")
    assert hpas.items[0].spec.scaleTargetRef.name == "aragora"
    rules = dyn.resources.get(api_version="monitoring.coreos.com/v1", kind="PrometheusRule").get(namespace="aragora")
    alerts = {r.alert for group in rules.items[0].spec.groups for r in group.rules}
    assert {"AragoraDown", "HighErrorRate", "CertificateExpiring", "RateLimitSpike"} <= alerts
    # A watch sends JSON lines from a resourceVersion.
    version = apps.list_namespaced_deployment("aragora").metadata.resource_version
    apps.patch_namespaced_deployment("aragora", "aragora", {"metadata": {"labels": {"watched": "yes"}}})
    stream = apps.list_namespaced_deployment("aragora", watch=True, resource_version=version, timeout_seconds=1,
                                             _preload_content=False)
    assert stream.headers["Content-Type"] == "application/json"
    events = [json.loads(line) for line in stream.read().splitlines()]
    assert events[0]["object"]["metadata"]["labels"]["watched"] == "yes"


def test_missing_crd_group(k8s_cluster):
    cluster = k8s_cluster("missing_monitoring_crds")
    api = config.new_client_from_config(cluster.kubeconfig)
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert "monitoring.coreos.com" not in groups and "cert-manager.io" in groups
    crds = client.ApiextensionsV1Api(api).list_custom_resource_definition().items
    assert not any(crd.spec.group == "monitoring.coreos.com" for crd in crds)


@pytest.mark.parametrize("name", [n for n in k8s_scenarios.names() if n != "healthy_ha"])
def test_every_scenario_loads(k8s_cluster, name):
    cluster = k8s_cluster(name)
    assert cluster.get("deployments.apps", "aragora") is not None


def test_scenario_specifics(k8s_cluster):
    one_node = k8s_cluster("all_pods_one_node")
    assert {p["spec"]["nodeName"] for p in one_node.list("pods", "aragora")} == {"node-a"}
    limits = k8s_cluster("missing_limits").get("deployments.apps", "aragora")
    resources = limits["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert "limits" not in resources and resources["requests"]["cpu"] == "500m"
    stale = k8s_cluster("backup_cronjob_stale").get("cronjobs.batch", "aragora-backup")
    assert stale["status"]["lastSuccessfulTime"] < stale["status"]["lastScheduleTime"]
