"""The Kubernetes checks (sections 2, 3, 5, 6, 9, 10) on dict fixtures: every rule's edges, no cluster."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._checks import k8s_cluster
from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import KUBERNETES_GROUPS
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import (
    K8sError,
    api_error,
    selector_matches,
    selector_string,
)
from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import build_context, run_target
from tests.unit.plugins.module_utils.k8s_fakes import (
    LABELS,
    FakeCluster,
    ago,
    ahead,
    deployment,
    healthy,
    k8s_ctx,
    node,
    pod,
)
from tests.unit.plugins.module_utils.ops_fakes import make_ctx, run

K8S_IDS = [spec.id for spec in REGISTRY.values() if spec.group in KUBERNETES_GROUPS]


def status_of(check_id, **kwargs):
    return run(check_id, k8s_ctx(**kwargs))


def dep_with(**changes):
    dep = deployment()
    for path, value in changes.items():
        target = dep
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        if value is None:
            target.pop(keys[-1], None)
        else:
            target[keys[-1]] = value
    return dep


def pod_spec(dep):
    return dep["spec"]["template"]["spec"]


# --- the whole group ------------------------------------------------------------------------------------------------

def test_healthy_deployment_passes_every_kubernetes_check_but_grafana():
    results = {cid: run(cid, k8s_ctx()) for cid in K8S_IDS}
    assert {cid: r["status"] for cid, r in results.items() if r["status"] != "PASS"} == {
        "observability.grafana_dashboards": "SKIP"}, {cid: r["message"] for cid, r in results.items()}


def test_without_a_cluster_every_kubernetes_check_skips_with_the_reason():
    for cid in K8S_IDS:
        result = run(cid, make_ctx())
        assert result["status"] == "SKIP", cid
    assert "kubeconfig" in run("ha.replicas", make_ctx())["message"]


def test_kubernetes_groups_are_in_checklist_order_and_known():
    assert KUBERNETES_GROUPS == ("ha", "migrations", "observability", "certificates", "resources", "backups")
    assert {spec.group for spec in REGISTRY.values()} >= set(KUBERNETES_GROUPS)


def test_an_unreadable_deployment_fails_every_kubernetes_check_with_the_api_message():
    ctx = make_ctx(options={"kubeconfig": "/x"})
    ctx.fact("k8s.cluster", FakeCluster)

    def broken():
        raise k8s_cluster.CheckInputError("get deployments.apps in namespace aragora: 403 Forbidden: nope")

    with pytest.raises(k8s_cluster.CheckInputError):
        ctx.fact("k8s.snapshot", broken)
    result = run("ha.replicas", ctx)
    assert result["status"] == "FAIL" and "403 Forbidden" in result["message"]


def test_one_forbidden_listing_fails_only_the_checks_that_read_it():
    error = K8sError("list nodes (cluster-wide): 403 Forbidden: the identity in use may not list nodes", 403)
    ctx = k8s_ctx(listings={"nodes": error})
    assert run("ha.pod_distribution_zones", ctx)["status"] == "FAIL"
    assert "may not list nodes" in run("ha.pod_distribution_zones", ctx)["message"]
    assert run("ha.replicas", ctx)["status"] == "PASS"


# --- API errors -----------------------------------------------------------------------------------------------------

class _ApiException(Exception):
    def __init__(self, status, body, reason=""):
        super().__init__(reason)
        self.status, self.body, self.reason = status, body, reason


def test_api_errors_name_the_call_and_the_refused_verb_and_resource():
    forbidden = api_error(_ApiException(403, b'{"kind":"Status","message":"deployments.apps \\"aragora\\" is '
                                             b'forbidden: User \\"x\\" cannot get resource"}'),
                          "get", "deployments.apps", "aragora")
    assert forbidden.status == 403
    assert "may not get deployments.apps" in str(forbidden) and "User \"x\" cannot get" in str(forbidden)
    assert "verbs [get], resources [deployments]" in str(forbidden)
    assert "rejected the credentials" in str(api_error(_ApiException(401, b"Unauthorized"), "list", "pods", "aragora"))
    assert "500 Internal Server Error: etcd down" in str(
        api_error(_ApiException(500, b'{"message":"etcd down"}'), "list", "pods", None))


def test_transport_errors_become_kube_errors():
    import urllib3
    error = api_error(urllib3.exceptions.ReadTimeoutError(None, "/api", "read timed out"), "list", "pods", "aragora")
    assert "no answer from the API server in time" in str(error)
    error = api_error(urllib3.exceptions.MaxRetryError(None, "/api", "refused"), "list", "pods", "aragora")
    assert "cannot reach the API server" in str(error)


def test_unusable_kubeconfig_is_a_clear_fail(tmp_path):
    bad = tmp_path / "kubeconfig"
    bad.write_text("not: [a kubeconfig")
    ctx = make_ctx(options={"kubeconfig": str(bad)})
    result = run("ha.replicas", ctx)
    assert result["status"] == "FAIL" and "cannot use kubeconfig %s" % bad in result["message"]


# --- selectors ------------------------------------------------------------------------------------------------------

def test_selectors_match_and_render_as_the_api_does():
    selector = {"matchLabels": {"a": "1"}, "matchExpressions": [
        {"key": "b", "operator": "In", "values": ["x", "y"]}, {"key": "c", "operator": "DoesNotExist"},
        {"key": "d", "operator": "Exists"}, {"key": "e", "operator": "NotIn", "values": ["z"]}]}
    assert selector_string(selector) == "a=1,b in (x,y),!c,d,e notin (z)"
    assert selector_matches(selector, {"a": "1", "b": "x", "d": ""})
    assert not selector_matches(selector, {"a": "1", "b": "x", "d": "", "c": "1"})
    assert not selector_matches(selector, {"a": "1", "b": "q", "d": ""})
    assert not selector_matches(selector, {"a": "1", "b": "x", "d": "", "e": "z"})
    assert selector_matches({}, {"any": "thing"}) and not selector_matches(None, {"any": "thing"})


# --- section 2 ------------------------------------------------------------------------------------------------------

def test_replicas_one_desired_fails():
    result = status_of("ha.replicas", dep=dep_with(spec__replicas=1))
    assert result["status"] == "FAIL" and "wants 1 replica" in result["message"]


def test_replicas_not_all_ready_fails():
    dep = dep_with(status__readyReplicas=2)
    result = status_of("ha.replicas", dep=dep)
    assert result["status"] == "FAIL" and "2 ready and 3 available of 3" in result["message"]


def test_replicas_min_threshold_is_configurable():
    ctx = k8s_ctx(dep=dep_with(spec__replicas=3), thresholds={"min_replicas": 4})
    assert run("ha.replicas", ctx)["status"] == "FAIL"


@pytest.mark.parametrize("strategy, status, words", [
    ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}, "PASS", "maxUnavailable 0"),
    ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "0%"}}, "PASS", "maxUnavailable 0"),
    ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}, "FAIL", "maxUnavailable is 1"),
    ({"type": "RollingUpdate"}, "FAIL", "25% (the default)"),
    ({"type": "Recreate"}, "FAIL", "Recreate"),
])
def test_rolling_update(strategy, status, words):
    result = status_of("ha.rolling_update", dep=dep_with(spec__strategy=strategy))
    assert result["status"] == status and words in result["message"], result["message"]


def test_hpa_targeting_another_workload_fails_naming_it():
    hpa = healthy()["hpas"][0]
    hpa["spec"]["scaleTargetRef"]["name"] = "aragora-worker"
    result = status_of("ha.hpa", listings={"hpas": [hpa]})
    assert result["status"] == "FAIL"
    assert "aragora-hpa (targets Deployment aragora-worker)" in result["message"]


def test_hpa_absent_low_minimum_and_duplicates():
    assert "No HorizontalPodAutoscaler" in status_of("ha.hpa", listings={"hpas": []})["message"]
    low = healthy()["hpas"][0]
    low["spec"]["minReplicas"] = 1
    assert "scale down to 1" in status_of("ha.hpa", listings={"hpas": [low]})["message"]
    unset = copy.deepcopy(low)
    del unset["spec"]["minReplicas"]
    assert status_of("ha.hpa", listings={"hpas": [unset]})["status"] == "FAIL"  # the API's default is 1
    two = [healthy()["hpas"][0], {**copy.deepcopy(healthy()["hpas"][0]), "metadata": {"name": "aragora"}}]
    assert "2 HPAs target" in status_of("ha.hpa", listings={"hpas": two})["message"]


def _pdb(name="aragora-pdb", **spec):
    return {"metadata": {"name": name}, "spec": {"selector": {"matchLabels": dict(LABELS)}, **spec}}


@pytest.mark.parametrize("spec, status", [
    ({"maxUnavailable": 1}, "PASS"),
    ({"maxUnavailable": "50%"}, "PASS"),
    ({"minAvailable": 2}, "PASS"),
    ({"minAvailable": "50%"}, "PASS"),
    ({"maxUnavailable": 0}, "WARN"),
    ({"maxUnavailable": "0%"}, "WARN"),
    ({"minAvailable": 3}, "WARN"),
    ({"minAvailable": "100%"}, "WARN"),
    ({}, "FAIL"),
])
def test_pdb_policy(spec, status):
    assert status_of("ha.pdb", listings={"pdbs": [_pdb(**spec)]})["status"] == status


def test_two_pdbs_on_the_same_pods_fail_and_other_pdbs_are_ignored():
    other = {"metadata": {"name": "redis"}, "spec": {"maxUnavailable": 1,
                                                     "selector": {"matchLabels": {"app": "redis"}}}}
    result = status_of("ha.pdb", listings={"pdbs": [_pdb(maxUnavailable=1), _pdb("aragora", minAvailable=1), other]})
    assert result["status"] == "FAIL" and "eviction API refuses" in result["message"]
    assert result["evidence"]["pdbs_selecting_pods"] == ["aragora-pdb", "aragora"]
    assert status_of("ha.pdb", listings={"pdbs": [other]})["status"] == "FAIL"


def test_anti_affinity_required_preferred_spread_and_none():
    result = status_of("ha.anti_affinity")
    assert result["status"] == "PASS" and "preferred only" in result["message"]
    dep = deployment()
    pod_spec(dep)["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": dict(LABELS)}}]}}
    pod_spec(dep).pop("topologySpreadConstraints")
    result = status_of("ha.anti_affinity", dep=dep)
    assert result["status"] == "PASS" and "required anti-affinity on kubernetes.io/hostname" in result["message"]
    dep = deployment()
    pod_spec(dep).pop("affinity")
    pod_spec(dep)["topologySpreadConstraints"][0]["whenUnsatisfiable"] = "DoNotSchedule"
    result = status_of("ha.anti_affinity", dep=dep)
    assert result["status"] == "PASS" and "required topology spread" in result["message"]
    dep = deployment()
    pod_spec(dep).pop("affinity")
    pod_spec(dep).pop("topologySpreadConstraints")
    assert status_of("ha.anti_affinity", dep=dep)["status"] == "FAIL"


def test_anti_affinity_that_selects_other_pods_does_not_count():
    dep = deployment()
    pod_spec(dep).pop("topologySpreadConstraints")
    term = pod_spec(dep)["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    term["podAffinityTerm"]["labelSelector"] = {"matchLabels": {"app": "redis"}}
    assert status_of("ha.anti_affinity", dep=dep)["status"] == "FAIL"


def test_pods_on_one_node_fail_and_unready_pods_do_not_count():
    pods = [pod("a", "node-a"), pod("b", "node-a"), pod("c", "node-b", is_ready=False)]
    result = status_of("ha.pod_distribution_nodes", listings={"pods": pods})
    assert result["status"] == "FAIL" and "run on node node-a" in result["message"]
    assert result["evidence"]["pods_by_node"] == {"node-a": ["a", "b"]}
    assert status_of("ha.pod_distribution_nodes")["status"] == "PASS"


def test_pods_not_owned_by_the_deployment_do_not_count():
    stranger = pod("stranger", "node-z")
    stranger["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "uid": "other-rs"}]
    pods = [pod("a", "node-a"), pod("b", "node-a"), stranger]
    assert status_of("ha.pod_distribution_nodes", listings={"pods": pods})["status"] == "FAIL"


def test_zones_one_zone_only_fails_and_no_zone_labels_skip():
    nodes = [node("node-a", "zone-1"), node("node-b", "zone-1"), node("node-c", "zone-1")]
    result = status_of("ha.pod_distribution_zones", listings={"nodes": nodes})
    assert result["status"] == "FAIL" and "all in zone-1" in result["message"]
    nodes = [node("node-a", None), node("node-b", None), node("node-c", None)]
    assert status_of("ha.pod_distribution_zones", listings={"nodes": nodes})["status"] == "SKIP"
    result = status_of("ha.pod_distribution_zones")
    assert result["status"] == "PASS" and result["evidence"]["ready_pods_by_zone"] == {
        "zone-1": 1, "zone-2": 1, "zone-3": 1}


def test_zones_pods_in_one_zone_of_a_multi_zone_cluster_fail():
    pods = [pod("a", "node-a"), pod("b", "node-a")]
    result = status_of("ha.pod_distribution_zones", listings={"pods": pods})
    assert result["status"] == "FAIL" and "zone zone-1" in result["message"]


# --- section 9 ------------------------------------------------------------------------------------------------------

def test_missing_limits_and_requests_are_named():
    dep = deployment()
    pod_spec(dep)["containers"][0]["resources"] = {"requests": {"cpu": "500m"}}
    result = status_of("resources.requests_limits", dep=dep)
    assert result["status"] == "FAIL"
    assert result["evidence"]["missing"] == ["aragora: requests.memory", "aragora: limits.cpu", "aragora: limits.memory"]


def test_missing_probes_are_named():
    dep = deployment()
    pod_spec(dep)["containers"][0].pop("readinessProbe")
    result = status_of("resources.probes", dep=dep)
    assert result["status"] == "FAIL" and "aragora: readinessProbe" in result["message"]


@pytest.mark.parametrize("image, status", [
    ("ghcr.io/aragora/aragora:2.11.1", "PASS"),
    ("ghcr.io/aragora/aragora:latest", "FAIL"),
    ("ghcr.io/aragora/aragora", "FAIL"),
    ("localhost:5000/aragora", "FAIL"),
    ("localhost:5000/aragora:2.11.1", "PASS"),
    ("ghcr.io/aragora/aragora@sha256:" + "a" * 64, "PASS"),
])
def test_image_tags(image, status):
    dep = deployment()
    pod_spec(dep)["containers"][0]["image"] = image
    assert status_of("resources.image_tag", dep=dep)["status"] == status


# --- section 6 ------------------------------------------------------------------------------------------------------

def test_cert_manager_absent_or_not_ready_fails():
    assert "No cert-manager pods" in status_of("certificates.cert_manager", listings={"cert_manager_pods": []})["message"]
    pods = healthy()["cert_manager_pods"]
    pods[2]["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}
    assert "cert-manager-webhook-1" in status_of("certificates.cert_manager",
                                                 listings={"cert_manager_pods": pods})["message"]


def test_cluster_issuer_not_ready_or_missing_fails():
    issuer = {"metadata": {"name": "letsencrypt-prod"}, "status": {"conditions": [
        {"type": "Ready", "status": "False", "message": "ACME account not registered"}]}}
    result = status_of("certificates.cluster_issuer", listings={"cluster_issuers": [issuer]})
    assert result["status"] == "FAIL" and "ACME account not registered" in result["message"]
    result = status_of("certificates.cluster_issuer", listings={"cluster_issuers": []})
    assert result["status"] == "FAIL" and "missing (used by Ingress aragora)" in result["message"]
    assert status_of("certificates.cluster_issuer")["status"] == "PASS"


def test_certificate_from_the_ingress_annotation_ready_with_expiry_and_secret():
    result = status_of("certificates.certificate")
    assert result["status"] == "PASS"
    assert result["evidence"]["certificates"]["aragora-tls"]["secret_exists"] is True


def _certificate(**status):
    cert = healthy()["certificates"][0]
    cert["status"].update(status)
    return cert


def test_certificate_not_ready_expiring_unscheduled_and_secretless():
    not_ready = _certificate(conditions=[{"type": "Ready", "status": "False", "reason": "Failed",
                                          "message": "order failed"}])
    assert "not Ready (order failed)" in status_of("certificates.certificate",
                                                   listings={"certificates": [not_ready]})["message"]
    expired = _certificate(notAfter=ago(days=1))
    assert status_of("certificates.certificate", listings={"certificates": [expired]})["status"] == "FAIL"
    soon = _certificate(notAfter=ahead(days=20))
    assert status_of("certificates.certificate", listings={"certificates": [soon]})["status"] == "WARN"
    overdue = _certificate(renewalTime=ago(days=2))
    assert "renewal was due" in status_of("certificates.certificate", listings={"certificates": [overdue]})["message"]
    no_renewal = _certificate(renewalTime=None)
    assert "no renewalTime" in status_of("certificates.certificate",
                                         listings={"certificates": [no_renewal]})["message"]
    result = status_of("certificates.certificate", api=FakeCluster())
    assert result["status"] == "PASS"
    api = FakeCluster()
    del api.secrets["aragora-tls"]
    assert "Secret aragora-tls does not exist" in status_of("certificates.certificate", api=api)["message"]


def test_certificate_missing_for_the_ingress_or_by_name_fails_and_missing_crd_fails():
    assert "aragora-tls" in status_of("certificates.certificate", listings={"certificates": []})["message"]
    result = status_of("certificates.certificate", options={"certificate_name": "other"})
    assert result["status"] == "FAIL" and "certificate_name" in result["message"]
    result = status_of("certificates.certificate", listings={"certificates": "CRD not installed"})
    assert result["status"] == "FAIL" and "cert-manager is not installed" in result["message"]


# --- sections 3 and 10 ----------------------------------------------------------------------------------------------

def test_migration_job_completed_for_the_running_image_passes():
    result = status_of("migrations.job")
    assert result["status"] == "PASS" and "2.11.1" in result["message"]


def test_migration_job_failed_reports_the_last_log_lines():
    job = healthy()["jobs"][0]
    job["status"] = {"failed": 3, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}
    result = status_of("migrations.job", listings={"jobs": [job]}, api=FakeCluster(log="relation users: boom\n"))
    assert result["status"] == "FAIL" and "BackoffLimitExceeded" in result["message"]
    assert "relation users: boom" in result["message"] and result["evidence"]["log_tail"] == "relation users: boom"


def test_migration_job_absent_running_for_another_image_or_still_running():
    result = status_of("migrations.job", listings={"jobs": []})
    assert result["status"] == "FAIL" and "No Job in namespace aragora runs python -m aragora.migrations upgrade" \
        in result["message"]
    job = healthy()["jobs"][0]
    job["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/aragora/aragora:2.10.0"
    result = status_of("migrations.job", listings={"jobs": [job]})
    assert result["status"] == "FAIL" and "No migration Job ran for the running release 2.11.1" in result["message"]
    assert "aragora-migrate (ghcr.io/aragora/aragora:2.10.0)" in result["message"]
    job = healthy()["jobs"][0]
    job["status"] = {"active": 1}
    assert status_of("migrations.job", listings={"jobs": [job]})["status"] == "WARN"


def test_migration_job_found_by_prefix_newest_first():
    old = healthy()["jobs"][0]
    old["metadata"].update(name="aragora-migrate-41", creationTimestamp=ago(days=3))
    old["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/aragora/aragora:2.10.0"
    new = healthy()["jobs"][0]
    new["metadata"].update(name="aragora-migrate-42", creationTimestamp=ago(hours=1))
    result = status_of("migrations.job", listings={"jobs": [old, new]})
    assert result["status"] == "PASS" and result["evidence"]["job"] == "aragora-migrate-42"


def _cronjob(**status):
    item = healthy()["cronjobs"][0]
    item["status"].update(status)
    return item


def test_backup_cronjob_suspended_stale_never_and_absent():
    suspended = _cronjob()
    suspended["spec"]["suspend"] = True
    assert "suspended" in status_of("backups.cronjob", listings={"cronjobs": [suspended]})["message"]
    stale = _cronjob(lastSuccessfulTime=ago(hours=30))
    result = status_of("backups.cronjob", listings={"cronjobs": [stale]})
    assert result["status"] == "FAIL" and "limit 26 h" in result["message"]
    never = _cronjob(lastSuccessfulTime=None)
    assert "never completed" in status_of("backups.cronjob", listings={"cronjobs": [never]})["message"]
    unrelated = {"metadata": {"name": "cleanup"}, "spec": {"schedule": "@hourly"}}
    assert status_of("backups.cronjob", listings={"cronjobs": [unrelated]})["status"] == "FAIL"
    ctx = k8s_ctx(thresholds={"backup_max_age_hours": 8})
    assert run("backups.cronjob", ctx)["status"] == "FAIL"
    assert status_of("backups.cronjob", options={"backup_cronjob": "cleanup"},
                     listings={"cronjobs": [unrelated]})["status"] == "FAIL"


# --- section 5 ------------------------------------------------------------------------------------------------------

def test_service_monitor_missing_crd_skips_with_the_reason():
    result = status_of("observability.service_monitor", listings={"service_monitors": "CRD servicemonitors missing"})
    assert result["status"] == "SKIP" and "CRD servicemonitors missing" in result["message"]


def test_service_monitor_must_select_the_service_and_name_its_port():
    monitor = healthy()["service_monitors"][0]
    monitor["spec"]["selector"] = {"matchLabels": {"app": "redis"}}
    assert status_of("observability.service_monitor", listings={"service_monitors": [monitor]})["status"] == "FAIL"
    monitor = healthy()["service_monitors"][0]
    monitor["spec"]["endpoints"][0]["port"] = "metrics"
    result = status_of("observability.service_monitor", listings={"service_monitors": [monitor]})
    assert result["status"] == "FAIL" and "wants port metrics" in result["message"]
    monitor = healthy()["service_monitors"][0]
    monitor["spec"]["namespaceSelector"] = {"matchNames": ["elsewhere"]}
    assert status_of("observability.service_monitor", listings={"service_monitors": [monitor]})["status"] == "FAIL"


def test_prometheus_rule_lists_the_missing_alerts():
    rule = healthy()["prometheus_rules"][0]
    rule["spec"]["groups"][0]["rules"] = rule["spec"]["groups"][0]["rules"][:6]
    result = status_of("observability.prometheus_rule", listings={"prometheus_rules": [rule]})
    assert result["status"] == "FAIL" and result["evidence"]["missing"] == ["HighLatency", "RateLimitSpike"]
    assert status_of("observability.prometheus_rule", listings={"prometheus_rules": "absent"})["status"] == "SKIP"
    assert status_of("observability.prometheus_rule", listings={"prometheus_rules": []})["status"] == "FAIL"


def test_log_shipper_absent_or_not_ready_fails():
    assert status_of("observability.log_shipper", listings={"daemonsets": []})["status"] == "FAIL"
    shipper = healthy()["daemonsets"][0]
    shipper["status"] = {"desiredNumberScheduled": 3, "numberReady": 1}
    result = status_of("observability.log_shipper", listings={"daemonsets": [shipper]})
    assert result["status"] == "FAIL" and "1/3 ready" in result["message"]


def test_grafana_dashboards_skip_without_url_and_token():
    assert run("observability.grafana_dashboards", make_ctx())["status"] == "SKIP"


# --- configuration from the Deployment's env ------------------------------------------------------------------------

def test_deployment_env_resolves_values_config_maps_secrets_prefixes_and_references():
    container = {"envFrom": [{"configMapRef": {"name": "aragora-config"}},
                             {"secretRef": {"name": "provider-keys"}, "prefix": "P_"},
                             {"configMapRef": {"name": "absent", "optional": True}}],
                 "env": [{"name": "ARAGORA_ENV", "value": "production"},
                         {"name": "HOST", "value": "db"},
                         {"name": "URL", "value": "postgresql://u@$(HOST)/x $$(HOST)"},
                         {"name": "ARAGORA_JWT_SECRET",
                          "valueFrom": {"secretKeyRef": {"name": "aragora-secrets", "key": "jwt-secret"}}},
                         {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                         {"name": "GONE", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}]}
    api = FakeCluster(secrets={"provider-keys": {"OPENAI": "sk-1"}})
    values, from_secrets, notes, config_map_secrets = k8s_cluster.resolve_env(api, "aragora", container)
    assert values["ARAGORA_LOG_LEVEL"] == "INFO" and values["P_OPENAI"] == "sk-1"
    assert values["URL"] == "postgresql://u@db/x $(HOST)"
    assert values["ARAGORA_JWT_SECRET"].startswith("s3cret-value")
    assert from_secrets == {"P_OPENAI", "ARAGORA_JWT_SECRET"}
    assert config_map_secrets == {"aragora-config": []}  # consumed, and no secret in it (the absent one is not)
    assert any("POD_IP" in note for note in notes) and any("GONE" in note for note in notes)


def test_configuration_checks_read_the_deployment_env_and_its_secrets_are_masked():
    ctx = k8s_ctx()
    ctx.config.attach(lambda: k8s_cluster.cluster_config(ctx))
    assert ctx.config.given and not ctx.config.sources  # read when first asked, not before
    result = run("security.jwt_secret", ctx)
    assert result["status"] == "PASS", result["message"]
    assert ctx.config.sources == ["Deployment aragora/aragora container aragora"]
    assert "s3cret-value-from-the-cluster-0123456789" in ctx.config.secrets()
    assert run("security.environment_mode", ctx)["status"] == "PASS"


def test_configuration_from_an_unreadable_cluster_names_the_kubernetes_api_as_its_cause():
    ctx = make_ctx(options={"kubeconfig": "/nonexistent"})
    ctx.config.attach(lambda: k8s_cluster.cluster_config(ctx))
    result = run("security.environment_mode", ctx)
    # The same outage as the Kubernetes checks': one cause, owned by ha.replicas, not a second "configuration" one.
    assert result["status"] == "ERROR" and "configuration from the cluster" in result["message"], result
    assert result["cause"]["check"] == "ha.replicas" and "/nonexistent" in result["cause"]["reason"]


def test_build_context_attaches_the_cluster_only_without_env_file_or_config():
    params = {"timeout": 1.0, "kubeconfig": "/nonexistent"}
    assert build_context(params).config.given
    assert build_context({**params, "config": {"ARAGORA_ENV": "production"}}).config.sources == ["variables"]
    assert not build_context({"timeout": 1.0}).config.given


def test_run_target_with_an_unusable_kubeconfig_is_one_cause_for_every_kubernetes_check():
    result = run_target({"timeout": 1.0, "kubeconfig": "/nonexistent", "groups": list(KUBERNETES_GROUPS)})
    statuses = {r["id"]: r["status"] for r in result["checks"]}
    assert statuses.pop("observability.grafana_dashboards") == "SKIP"
    assert statuses.pop("ha.replicas") == "FAIL"  # the owner of the cause "Kubernetes API"
    assert set(statuses.values()) == {"ERROR"} and result["verdict"] == "NO-GO"
    assert {r["cause"]["dependency"] for r in result["checks"] if r["status"] == "ERROR"} == {"Kubernetes API"}
    assert all("/nonexistent" in r["message"] for r in result["checks"] if r["status"] in ("FAIL", "ERROR"))


def test_replicas_a_stalled_or_unfinished_rollout_is_reported():
    dep = dep_with(status__conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                        "message": "ReplicaSet aragora-2 has timed out progressing."}])
    result = status_of("ha.replicas", dep=dep)
    assert result["status"] == "FAIL" and "rollout stalled" in result["message"]
    assert status_of("ha.replicas", dep=dep_with(status__updatedReplicas=1))["status"] == "WARN"


def test_forbidden_pods_fail_the_distribution_checks_with_the_api_message():
    error = K8sError("list pods in namespace aragora: 403 Forbidden: the identity in use may not list pods", 403)
    for check_id in ("ha.pod_distribution_nodes", "ha.pod_distribution_zones"):
        result = status_of(check_id, listings={"pods": error})
        assert result["status"] == "FAIL" and result["message"].endswith("may not list pods"), result["message"]
