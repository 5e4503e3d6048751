"""Issue 12's rules on plain dicts: Pod Security levels, NetworkPolicy semantics, migration and backup identity,
monitoring where Prometheus looks, rendered manifests as a source."""

from __future__ import annotations

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import network_policy as netpol
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import pod_security
from ansible_collections.aragora.ops.plugins.module_utils._checks import database
from ansible_collections.aragora.ops.plugins.module_utils._checks.k8s_jobs import dumps, upgrade_container
from ansible_collections.aragora.ops.plugins.module_utils._checks.k8s_cluster import image_release
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import k8s_client
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import Cluster, K8sError, Listing
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_manifests import ManifestCluster
from tests.unit.plugins.module_utils.k8s_fakes import LABELS, healthy, k8s_ctx
from tests.unit.plugins.module_utils.ops_fakes import run

RESTRICTED_OK = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "app", "securityContext": {"allowPrivilegeEscalation": False,
                                                       "capabilities": {"drop": ["ALL"]}}}],
    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "x"}}],
}


# --- Pod Security -------------------------------------------------------------------------------------------------

def test_pod_security_levels():
    assert pod_security.violations(RESTRICTED_OK, "restricted") == []
    bare = {"containers": [{"name": "backup"}]}
    assert pod_security.violations(bare, "baseline") == []
    assert pod_security.violations(bare, "privileged") == pod_security.violations(bare, None) == []
    refused = pod_security.violations(bare, "restricted")
    assert [v.split(" (")[0] for v in refused] == [
        "allowPrivilegeEscalation != false", "unrestricted capabilities", "runAsNonRoot != true", "seccompProfile"]
    host = {"hostNetwork": True, "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
            "containers": [{"name": "c", "securityContext": {"privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}},
                            "ports": [{"containerPort": 80, "hostPort": 80}]}]}
    assert len(pod_security.violations(host, "baseline")) == 5
    root = {**RESTRICTED_OK, "securityContext": {**RESTRICTED_OK["securityContext"], "runAsUser": 0}}
    assert pod_security.violations(root, "restricted") == ['runAsUser=0 (container "app" must not run as root)']
    assert pod_security.enforced_level({"metadata": {"labels": {pod_security.ENFORCE_LABEL: "restricted"}}}) == \
        "restricted"
    assert pod_security.enforced_level({"metadata": {"labels": {pod_security.ENFORCE_LABEL: "bogus"}}}) is None


# --- NetworkPolicy ------------------------------------------------------------------------------------------------

def _policy(name, spec, namespace="aragora"):
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


DENY_ALL = _policy("deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
DNS = netpol.Peer("dns", "kube-system", {"kubernetes.io/metadata.name": "kube-system"}, True,
                  {"k8s-app": "kube-dns"}, True, port=53, protocol="UDP")


def test_network_policy_unrestricted_denied_allowed_and_unknown():
    assert netpol.verdict([], "aragora", LABELS, "Egress", DNS)[0] == netpol.ALLOWED
    assert netpol.verdict([DENY_ALL], "aragora", LABELS, "Egress", DNS)[0] == netpol.DENIED
    dns_rule = _policy("dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
        "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}]}]})
    assert netpol.verdict([DENY_ALL, dns_rule], "aragora", LABELS, "Egress", DNS) == (netpol.ALLOWED, "allowed by dns")
    tcp = netpol.Peer("dns", "kube-system", {}, True, {"k8s-app": "kube-dns"}, True, port=53, protocol="TCP")
    assert netpol.verdict([DENY_ALL, dns_rule], "aragora", LABELS, "Egress", tcp)[0] == netpol.DENIED
    # Postgres pods known only by their Service's selector: a policy wanting more labels may or may not match.
    postgres = netpol.Peer("pg", "aragora", {}, False, {"app": "postgres"}, False, port=5432)
    wants_more = _policy("pg", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
        "to": [{"podSelector": {"matchLabels": {"app": "postgres", "tier": "db"}}}], "ports": [{"port": 5432}]}]})
    assert netpol.verdict([wants_more], "aragora", LABELS, "Egress", postgres)[0] == netpol.UNKNOWN
    other = netpol.Peer("pg", "aragora", {}, False, {"app": "mysql"}, False, port=5432)
    assert netpol.verdict([wants_more], "aragora", LABELS, "Egress", other)[0] == netpol.DENIED


def test_network_policy_ip_blocks_ports_and_ingress_named_ports():
    providers = netpol.Peer("providers", None, port=443)
    anywhere = _policy("out", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}], "ports": [{"port": 443}]}]})
    assert netpol.verdict([anywhere], "aragora", LABELS, "Egress", providers)[0] == netpol.ALLOWED
    one_range = _policy("out", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
        "to": [{"ipBlock": {"cidr": "160.79.104.0/23"}}], "ports": [{"port": 443}]}]})
    assert netpol.verdict([one_range], "aragora", LABELS, "Egress", providers)[0] == netpol.UNKNOWN
    ranged = _policy("out", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
        "ports": [{"port": 400, "endPort": 500}]}]})
    assert netpol.verdict([ranged], "aragora", LABELS, "Egress", providers)[0] == netpol.ALLOWED
    ingress = _policy("in", {"podSelector": {"matchLabels": LABELS}, "ingress": [{
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
        "ports": [{"port": "http"}]}]})
    controller = netpol.Peer("nginx", "ingress-nginx", {"kubernetes.io/metadata.name": "ingress-nginx"}, False, {},
                             False, port=8080)
    assert netpol.verdict([ingress], "aragora", LABELS, "Ingress", controller, {"http": 8080})[0] == netpol.ALLOWED
    prometheus = netpol.Peer("prom", "monitoring", {"kubernetes.io/metadata.name": "monitoring"}, False, {}, False,
                             port=8080)
    assert netpol.verdict([ingress], "aragora", LABELS, "Ingress", prometheus, {"http": 8080})[0] == netpol.DENIED
    assert netpol.selecting([ingress], "aragora", {"app": "other"}, "Ingress") == []


# --- what the Jobs run --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command, upgrades", [
    (["python", "-m", "aragora.migrations", "upgrade"], True),
    (["sh", "-c", "python -m aragora.migrations upgrade && echo done"], True),
    (["python", "-m", "aragora.migrations", "status"], False),
    (["python", "-m", "aragora.migrations", "upgrade", "--dry-run"], False),
    (["python", "-m", "aragora.migrations", "downgrade"], False),
])
def test_a_migration_job_is_known_by_its_command(command, upgrades):
    job = {"spec": {"template": {"spec": {"containers": [{"name": "m", "command": command}],
                                          "initContainers": [{"name": "i", "command": ["aragora.migrations upgrade"]}]}}}}
    assert (upgrade_container(job) is not None) is upgrades


def test_release_of_an_image_and_what_a_cronjob_dumps():
    assert image_release("aragora:2.1.10") == image_release("registry.example.com/aragora/backend:2.1.10") == "2.1.10"
    assert image_release("ghcr.io/aragora/aragora@sha256:abc") == "sha256:abc"
    assert image_release("ghcr.io/aragora/aragora") is None

    def cronjob(command):
        return {"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"command": command}]}}}}}}
    assert dumps(cronjob(["sh", "-c", "pg_dump -Fc $DATABASE_URL > /b/x.dump"])) == "postgres"
    assert dumps(cronjob(["sh", "-c", "cp /data/aragora.db /backups/"])) == "sqlite"
    assert dumps(cronjob(["sh", "-c", "echo hello"])) is None


def test_a_garbage_collected_migration_job_passes_when_the_schema_proves_the_migrations(monkeypatch):
    facts = type("Facts", (), {"where": "aragora@db:5432/aragora", "applied_migrations": list(
        database.MIGRATION_VERSIONS)})()
    monkeypatch.setattr(database, "database_facts", lambda ctx: facts)
    result = run("migrations.job", k8s_ctx(listings={"jobs": []}))
    assert result["status"] == "PASS" and "holds all 11 migrations of 2.11.1" in result["message"]
    facts.applied_migrations = list(database.MIGRATION_VERSIONS[:-1])
    result = run("migrations.job", k8s_ctx(listings={"jobs": []}))
    assert result["status"] == "FAIL" and "lacks 1 migration(s) of 2.11.1" in result["message"]


def test_backup_of_another_database_fails():
    backup = healthy()["cronjobs"][0]
    backup["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0].update(
        env=[{"name": "DATABASE_URL", "value": "postgresql://u@old-db:5432/legacy"}])
    result = run("backups.cronjob", k8s_ctx(listings={"cronjobs": [backup]}))
    assert result["status"] == "FAIL"
    assert "it dumps old-db/legacy, but the Deployment uses aragora-postgres/aragora" in result["message"]


# --- monitoring where Prometheus looks -----------------------------------------------------------------------------

def test_a_service_monitor_elsewhere_needs_a_namespace_selector_covering_aragora():
    monitor = healthy()["service_monitors"][0]
    monitor["metadata"]["namespace"] = "monitoring"
    result = run("observability.service_monitor", k8s_ctx(listings={"service_monitors": [monitor]}))
    assert result["status"] == "FAIL"
    assert "monitoring/aragora (its namespaceSelector does not cover aragora)" in result["message"]
    monitor["spec"]["namespaceSelector"] = {"any": True}
    assert run("observability.service_monitor", k8s_ctx(listings={"service_monitors": [monitor]}))["status"] == "PASS"


def test_monitoring_listing_falls_back_to_the_own_namespace_when_cluster_wide_is_refused():
    seen = []

    class Api(Cluster):
        def __init__(self):  # pylint: disable=super-init-not-called  # no API client: custom_listing is faked
            pass

        def custom_listing(self, crd, namespace):
            seen.append(namespace)
            if namespace is None:
                return Listing(error=K8sError("list servicemonitors (cluster-wide): 403 Forbidden", 403))
            return Listing([{"metadata": {"name": "aragora", "namespace": namespace}}])

    found = Api().monitoring_listing(k8s_client.SERVICE_MONITORS, (), "aragora")
    assert seen == [None, "aragora"] and len(found.items) == 1
    assert found.note.startswith("only namespace aragora was read: listing servicemonitors in every namespace was "
                                 "refused")
    seen.clear()
    given = Api().monitoring_listing(k8s_client.SERVICE_MONITORS,
                                     ("monitoring", "aragora"), "aragora")
    assert seen == ["monitoring", "aragora"] and len(given.items) == 2 and given.note is None


# --- rendered manifests --------------------------------------------------------------------------------------------

def test_manifests_default_namespaces_keep_cluster_scoped_kinds_and_flatten_lists(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: aragora,"
        " namespace: x}\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: aragora}\n  spec: {}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {A: b}\n"
                                            "---\n# empty\n")
    (tmp_path / "notes.txt").write_text("not: yaml: at all: [")
    source = ManifestCluster(str(tmp_path), "aragora")
    assert [(o["kind"], o["metadata"].get("namespace")) for o in source.objects] == [
        ("Namespace", None), ("Deployment", "aragora"), ("ConfigMap", "aragora")]
    assert source.read_config_map("aragora", "c") == source.objects[2]
    snap = source.snapshot("aragora", "aragora", "cert-manager")
    assert not snap.live and snap.items("pods") == [] and snap.items("namespace")[0]["metadata"]["name"] == "aragora"
    (tmp_path / "bad.yaml").write_text("a: [")
    with pytest.raises(K8sError, match="bad.yaml is not valid YAML"):
        ManifestCluster(str(tmp_path), "aragora")
