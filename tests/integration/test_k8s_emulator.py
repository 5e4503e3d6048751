"""The emulated Kubernetes API server is faithful enough: kubectl and the official client read and drive it."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from kubernetes import client, config, dynamic

import sandbox
from sandbox.k8s import scenarios as k8s_scenarios
from sandbox.k8s.emulator import EmulatedCluster

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


@pytest.mark.timed
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


@pytest.mark.timed
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


def test_runs_as_a_process_of_its_own(tmp_path):
    """`python -m sandbox.k8s serve` (what the sandbox starts, stopped by PID): the scenario is served once the port
    file exists, at the kubeconfig's server, and SIGTERM ends it cleanly."""
    kubeconfig, port_file = tmp_path / "kubeconfig", tmp_path / "port"
    process = subprocess.Popen([sys.executable, "-m", "sandbox.k8s", "serve", "--scenario", "one_replica",
                                "--kubeconfig", str(kubeconfig), "--port-file", str(port_file)],
                               cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(sandbox.REPO_ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert port_file.exists(), "no port file within 30 s (exit %s)" % process.poll()
        api = config.new_client_from_config(str(kubeconfig))
        assert api.configuration.host == "http://127.0.0.1:%s" % port_file.read_text()
        assert client.AppsV1Api(api).read_namespaced_deployment("aragora", "aragora").spec.replicas == 1
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=15)[0]
    assert process.returncode == 0, output
    assert "emulated Kubernetes API at http://127.0.0.1:%s" % port_file.read_text() in output


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


# --- what a cluster takes (issue 12) -----------------------------------------------------------------------------------

@needs_kubectl
def test_kubectl_creates_gets_and_deletes_namespaces(k8s_cluster):
    cluster = k8s_cluster()
    assert kubectl(cluster, "create", "namespace", "staging").stdout.strip() == "namespace/staging created"
    kubectl(cluster, "label", "namespace", "staging", "pod-security.kubernetes.io/enforce=restricted")
    staging = kubectl_json(cluster, "get", "namespace", "staging")
    assert staging["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    names = kubectl(cluster, "get", "ns", "-o", "name").stdout.split()
    assert {"namespace/aragora", "namespace/staging"} <= set(names)
    kubectl(cluster, "create", "configmap", "settings", "-n", "staging", "--from-literal=ARAGORA_ENV=staging")
    assert kubectl_json(cluster, "get", "cm", "settings", "-n", "staging")["data"] == {"ARAGORA_ENV": "staging"}
    kubectl(cluster, "delete", "namespace", "staging")
    assert "NotFound" in kubectl(cluster, "get", "ns", "staging", check=False).stderr


@needs_kubectl
def test_kubectl_apply_with_validation_takes_every_kind_upstream_uses(k8s_cluster, tmp_path):
    cluster = k8s_cluster()
    manifest = tmp_path / "kinds.yaml"
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "reader"},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "reader"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "default"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"},
         "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota"}, "spec": {"hard": {"pods": "20"}}},
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits"},
         "spec": {"limits": [{"type": "Container", "default": {"cpu": "1"}}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny"},
         "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
        # A status sent on create is dropped, as the API server does: only the status subresource writes it.
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
         "status": {"phase": "Bound"}},
    ]}))
    applied = kubectl(cluster, "apply", "-f", str(manifest))  # validation on: needs the OpenAPI v3 documents
    assert applied.stdout.count(" created") == 7, applied.stdout
    again = kubectl(cluster, "apply", "-f", str(manifest)).stdout
    # The claim's status is in the manifest and not on the server, so kubectl patches it again (a real server too).
    assert again.count(" unchanged") == 6 and "persistentvolumeclaim/data configured" in again, again
    assert "status" not in kubectl_json(cluster, "get", "pvc", "data")
    assert kubectl_json(cluster, "get", "clusterrole", "reader")["rules"][0]["resources"] == ["nodes"]
    index = json.loads(kubectl(cluster, "get", "--raw", "/openapi/v3").stdout)
    assert {"api/v1", "apis/apps/v1", "apis/rbac.authorization.k8s.io/v1", "apis/cert-manager.io/v1"} <= set(
        index["paths"])


def _replicas_with(cluster: EmulatedCluster, replicas: int, **pod_spec) -> list[dict]:
    deployment = cluster.get("deployments.apps", "aragora")
    deployment["spec"]["replicas"] = replicas
    deployment["spec"]["template"]["spec"].update(pod_spec)
    deployment.pop("status", None)
    cluster.apply([deployment])
    return [p for p in cluster.list("pods", "aragora") if p["metadata"]["labels"].get("app.kubernetes.io/component")
            == "server" and not p["metadata"].get("deletionTimestamp")]


def _scheduled(pods: list[dict]) -> tuple[list[str], list[str]]:
    placed = sorted(p["spec"]["nodeName"] for p in pods if p["spec"].get("nodeName"))
    pending = [c.get("message", "") for p in pods if not p["spec"].get("nodeName")
               for c in p["status"]["conditions"] if c["type"] == "PodScheduled"]
    return placed, pending


SERVER_SELECTOR = {"matchLabels": {"app.kubernetes.io/name": "aragora", "app.kubernetes.io/component": "server"}}


def test_scheduler_honours_required_anti_affinity_and_says_why_a_pod_is_pending(k8s_cluster):
    cluster = k8s_cluster()
    pods = _replicas_with(cluster, 4, affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": SERVER_SELECTOR}]}})
    placed, pending = _scheduled(pods)
    assert placed == ["node-a", "node-b", "node-c"]
    assert pending == ["0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."]


def test_scheduler_honours_topology_spread_and_node_selector(k8s_cluster):
    cluster = k8s_cluster()
    pods = _replicas_with(cluster, 6, affinity=None, topologySpreadConstraints=[
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": SERVER_SELECTOR}])
    placed, pending = _scheduled(pods)
    assert placed == ["node-a", "node-a", "node-b", "node-b", "node-c", "node-c"] and not pending
    pods = _replicas_with(cluster, 2, topologySpreadConstraints=None, nodeSelector={"disktype": "ssd"})
    placed, pending = _scheduled(pods)
    assert not placed and pending == ["0/0 nodes are available: no node matches the pod's node selector."] * 2


def test_read_write_once_claims_give_multi_attach_and_missing_claims_pending(k8s_cluster):
    cluster = k8s_cluster()
    cluster.apply([{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}])
    pods = _replicas_with(cluster, 3, volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}])
    waiting = sorted(p["status"]["containerStatuses"][0]["state"].get("waiting", {}).get("message", "running")
                     for p in pods)
    assert waiting[-1] == "running" and all(w.startswith('Multi-Attach error for volume "pvc-data" Volume is already '
                                                         "used by pod(s) on node") for w in waiting[:2])
    assert cluster.get("deployments.apps", "aragora")["status"]["readyReplicas"] == 1
    pods = _replicas_with(cluster, 1, volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "nope"}}])
    assert _scheduled(pods)[1] == ['0/3 nodes are available: persistentvolumeclaim "nope" not found.']
