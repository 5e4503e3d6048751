"""Test helpers: a healthy Aragora deployment as the Kubernetes API's JSON, and a context that reads it.

No network: the snapshot and the API client are put in the context's fact cache before a check runs.
"""

from __future__ import annotations

import base64
import copy
import datetime
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._checks.observability import CHECKLIST_ALERT_THRESHOLDS
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import K8sError, Listing, Snapshot
from tests.unit.plugins.module_utils.ops_fakes import make_ctx

NS = "aragora"
LABELS = {"app.kubernetes.io/name": "aragora", "app.kubernetes.io/component": "server"}
IMAGE = "ghcr.io/aragora/aragora:2.11.1"
UID = "dep-uid"
RS_UID = "rs-uid"


def ago(**delta: float) -> str:
    return (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def ahead(**delta: float) -> str:
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, namespace: str | None = NS, **extra: t.Any) -> dict:
    found = {"name": name, **extra}
    if namespace:
        found["namespace"] = namespace
    return found


def ready(status: bool = True) -> dict:
    return {"conditions": [{"type": "Ready", "status": "True" if status else "False"}]}


def deployment() -> dict:
    container = {
        "name": "aragora", "image": IMAGE,
        "args": ["python", "-m", "aragora.server", "--http-port", "8080", "--port", "8765"],
        "ports": [{"name": "http", "containerPort": 8080}, {"name": "ws", "containerPort": 8765}],
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "2000m", "memory": "2Gi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}},
        "env": [{"name": "ARAGORA_ENV", "value": "production"},
                {"name": "ARAGORA_JWT_SECRET", "valueFrom": {"secretKeyRef": {"name": "aragora-secrets",
                                                                              "key": "jwt-secret"}}}],
        "envFrom": [{"configMapRef": {"name": "aragora-config"}}],
    }
    return {
        "metadata": meta("aragora", uid=UID, labels=dict(LABELS)),
        "spec": {
            "replicas": 3, "selector": {"matchLabels": dict(LABELS)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": dict(LABELS)}, "spec": {
                "containers": [container],
                "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                                        "labelSelector": {"matchLabels": dict(LABELS)}}}]}},
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                               "whenUnsatisfiable": "ScheduleAnyway",
                                               "labelSelector": {"matchLabels": dict(LABELS)}}],
            }},
        },
        "status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "updatedReplicas": 3},
    }


def pod(name: str, node: str, is_ready: bool = True) -> dict:
    return {"metadata": meta(name, labels=dict(LABELS), ownerReferences=[{"kind": "ReplicaSet", "uid": RS_UID}]),
            "spec": {"nodeName": node}, "status": {"phase": "Running", **ready(is_ready)}}


def node(name: str, zone: str | None) -> dict:
    labels = {"kubernetes.io/hostname": name}
    if zone:
        labels["topology.kubernetes.io/zone"] = zone
    return {"metadata": meta(name, None, labels=labels)}


def healthy() -> dict[str, list[dict]]:
    """The listings of a healthy HA deployment, by snapshot listing name."""
    cert_spec = {"secretName": "aragora-tls", "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt-prod"}}
    return {
        "pods": [pod("aragora-a", "node-a"), pod("aragora-b", "node-b"), pod("aragora-c", "node-c")],
        "replicasets": [{"metadata": meta("aragora-rs", uid=RS_UID,
                                          ownerReferences=[{"kind": "Deployment", "uid": UID}])}],
        "nodes": [node("node-a", "zone-1"), node("node-b", "zone-2"), node("node-c", "zone-3")],
        "hpas": [{"metadata": meta("aragora-hpa"), "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "aragora"},
            "minReplicas": 3, "maxReplicas": 10}}],
        "pdbs": [{"metadata": meta("aragora-pdb"),
                  "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(LABELS)}}}],
        "services": [{"metadata": meta("aragora", labels=dict(LABELS)), "spec": {
            "selector": dict(LABELS), "ports": [{"name": "http", "port": 80, "targetPort": 8080},
                                                {"name": "ws", "port": 8765, "targetPort": "ws"}]}}],
        "jobs": [{"metadata": meta("aragora-migrate", uid="job-uid", creationTimestamp=ago(hours=2)),
                  "spec": {"template": {"spec": {"containers": [{
                      "name": "migrate", "image": IMAGE,
                      "command": ["python", "-m", "aragora.migrations", "upgrade"]}]}}},
                  "status": {"succeeded": 1, "completionTime": ago(hours=2),
                             "conditions": [{"type": "Complete", "status": "True"}]}}],
        "cronjobs": [{
            "metadata": meta("aragora-backup"),
            "spec": {"schedule": "0 2 * * *", "suspend": False, "jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "backup", "image": "postgres:16",
                                "command": ["sh", "-c", "pg_dump -Fc > /backups/x.dump"]}]}}}}},
            "status": {"lastScheduleTime": ago(hours=10), "lastSuccessfulTime": ago(hours=10)}}],
        "ingresses": [{
            "metadata": meta("aragora", annotations={"cert-manager.io/cluster-issuer": "letsencrypt-prod"}),
            "spec": {"tls": [{"hosts": ["api.example.com"], "secretName": "aragora-tls"}],
                     "rules": [{"host": "api.example.com", "http": {"paths": [
                         {"path": "/", "backend": {"service": {"name": "aragora", "port": {"name": "http"}}}},
                         {"path": "/ws", "backend": {"service": {"name": "aragora", "port": {"name": "ws"}}}}]}}]}}],
        "daemonsets": [{"metadata": meta("fluent-bit", "logging", labels={"app.kubernetes.io/name": "fluent-bit"}),
                        "spec": {"template": {"spec": {"containers": [{"image": "fluent/fluent-bit:3.0"}]}}},
                        "status": {"desiredNumberScheduled": 3, "numberReady": 3}}],
        "cert_manager_pods": [{"metadata": meta(name, "cert-manager"), "status": {"phase": "Running", **ready()}}
                              for name in ("cert-manager-1", "cert-manager-cainjector-1", "cert-manager-webhook-1")],
        "certificates": [{"metadata": meta("aragora-tls"), "spec": cert_spec, "status": {
            **ready(), "notAfter": ahead(days=80), "renewalTime": ahead(days=50)}}],
        "issuers": [],
        "cluster_issuers": [{"metadata": meta("letsencrypt-prod", None), "status": ready()}],
        "service_monitors": [{"metadata": meta("aragora"), "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "aragora"}},
            "endpoints": [{"port": "http", "path": "/metrics"}]}}],
        "namespace": [{"metadata": meta(NS, None, labels={"kubernetes.io/metadata.name": NS})}],
        "namespaces": [{"metadata": meta(NS, None, labels={"kubernetes.io/metadata.name": NS})}],
        "network_policies": [],
        "pvcs": [],
        "prometheus_rules": [{"metadata": meta("aragora-alerts"), "spec": {"groups": [{"name": "aragora", "rules": [
            # The checklist's thresholds where it gives one (observability.CHECKLIST_ALERT_THRESHOLDS).
            {"alert": name, "expr": "vector(1) > %r" % CHECKLIST_ALERT_THRESHOLDS.get(name, 0)} for name in (
                "AragoraDown", "HighErrorRate", "DatabaseDown", "CertificateExpiring", "HighMemory",
                "CircuitBreakerOpen", "HighLatency", "RateLimitSpike")]}]}}],
    }


class FakeCluster:
    """The API client's on-demand reads: Secrets, ConfigMaps, a Job's pods and their logs."""

    def __init__(self, secrets: dict[str, dict[str, str]] | None = None,
                 config_maps: dict[str, dict[str, str]] | None = None, log: str = "migration failed: boom\n",
                 job_pods: list[dict] | None = None) -> None:
        self.secrets = {"aragora-tls": {"tls.crt": "x"},
                        "aragora-secrets": {"jwt-secret": "s3cret-value-from-the-cluster-0123456789"}}
        self.secrets.update(secrets or {})
        self.config_maps = {"aragora-config": {"ARAGORA_LOG_LEVEL": "INFO", "ARAGORA_DB_BACKEND": "postgres",
                                               "DATABASE_URL": "postgresql://aragora@aragora-postgres:5432/aragora"}}
        self.config_maps.update(config_maps or {})
        self.log = log
        self.job_pods = job_pods if job_pods is not None else [
            {"metadata": meta("aragora-migrate-x", creationTimestamp=ago(hours=1))}]
        self.core = self

    def read_secret(self, namespace: str, name: str) -> dict | None:
        if name not in self.secrets:
            return None
        return {"data": {k: base64.b64encode(v.encode()).decode() for k, v in self.secrets[name].items()}}

    def read_config_map(self, namespace: str, name: str) -> dict | None:
        return {"data": self.config_maps[name]} if name in self.config_maps else None

    def list_namespaced_pod(self, *args: t.Any, **kwargs: t.Any) -> None:  # only passed to call()
        return None

    def call(self, verb: str, resource: str, namespace: str | None, method: t.Callable, *args: t.Any,
             **kwargs: t.Any) -> dict:
        return {"items": self.job_pods}

    def list_items(self, kind: t.Any, namespace: str | None = None, label_selector: str | None = None) -> list[dict]:
        assert kind.plural == "pods" and label_selector.startswith("job-name="), (kind, label_selector)
        return self.job_pods

    def pod_log_tail(self, namespace: str, pod_name: str, lines: int) -> str:
        return self.log


def snap_of(listings: t.Mapping[str, t.Any] | None = None, dep: dict | None = None) -> Snapshot:
    """A Snapshot; a listing given as a K8sError fails, as a str is a missing CRD."""
    built = {}
    for name, value in {**healthy(), **(listings or {})}.items():
        if isinstance(value, K8sError):
            built[name] = Listing(error=value)
        elif isinstance(value, str):
            built[name] = Listing(missing=value)
        else:
            built[name] = Listing(copy.deepcopy(value))
    return Snapshot(NS, "kubeconfig test", dep or deployment(), built)


def k8s_ctx(listings: t.Mapping[str, t.Any] | None = None, dep: dict | None = None,
            api: FakeCluster | None = None, options: t.Mapping[str, t.Any] | None = None, **kwargs: t.Any):
    ctx = make_ctx(options={"kubeconfig": "/nonexistent/kubeconfig", **(options or {})}, **kwargs)
    ctx.fact("k8s.cluster", lambda: api or FakeCluster())
    ctx.fact("k8s.snapshot", lambda: snap_of(listings, dep))
    return ctx
