"""The Kubernetes REST read layer: paths by kind, credentials, errors, missing CRDs (the emulated API server over
HTTP covers the same in tests/integration)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import k8s_client
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import (
    CLUSTER_ISSUERS,
    DEPLOYMENTS,
    NODES,
    PODS,
    Cluster,
    ClusterTarget,
    K8sError,
)


class Response:
    def __init__(self, status: int, body: object, reason: str = "") -> None:
        self.status, self.reason = status, reason
        self.data = body if isinstance(body, bytes) else json.dumps(body).encode()


class Pool:
    """The client's urllib3 pool: records each request, answers from a table of (method, path) -> Response."""

    def __init__(self, answers: dict) -> None:
        self.answers, self.requests = answers, []

    def request(self, method, url, headers=None, body=None, timeout=None, retries=None, preload_content=True):
        self.requests.append({"method": method, "url": url, "headers": headers, "body": body, "timeout": timeout,
                              "retries": retries})
        path = url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
        return self.answers.get((method, "/" + path), Response(404, {"message": "not found"}, "Not Found"))


class Configuration:
    host = "https://api.example:6443"

    def auth_settings(self):
        return {"BearerToken": {"in": "header", "key": "authorization", "value": "Bearer t0ken"}}


class ApiClient:
    user_agent = "test"

    def __init__(self, pool: Pool) -> None:
        self.configuration = Configuration()
        self.rest_client = type("Rest", (), {"pool_manager": pool})()


def cluster(answers: dict) -> tuple[Cluster, Pool]:
    pool = Pool(answers)
    return Cluster(ClusterTarget("/kubeconfig", timeout=3.0), api_client=ApiClient(pool)), pool


def test_paths_of_core_group_namespaced_and_cluster_wide_kinds():
    assert PODS.path("aragora") == "/api/v1/namespaces/aragora/pods"
    assert DEPLOYMENTS.path("aragora", "web") == "/apis/apps/v1/namespaces/aragora/deployments/web"
    assert NODES.path("ignored") == "/api/v1/nodes"
    assert CLUSTER_ISSUERS.path() == "/apis/cert-manager.io/v1/clusterissuers"
    assert PODS.path("aragora", "web-1", "log") == "/api/v1/namespaces/aragora/pods/web-1/log"
    assert DEPLOYMENTS.resource == "deployments.apps" and PODS.resource == "pods"


def test_a_read_sends_the_credentials_a_timeout_no_retry_and_the_selector():
    api, pool = cluster({("GET", "/api/v1/namespaces/aragora/pods"): Response(200, {"kind": "PodList", "apiVersion": "v1", "items": [{"a": 1}]})})
    assert api.list_items(PODS, "aragora", "app=aragora,tier in (web)") == [{"a": 1}]
    sent = pool.requests[0]
    assert sent["headers"]["authorization"] == "Bearer t0ken" and sent["headers"]["Accept"] == "application/json"
    assert "labelSelector=app%3Daragora%2Ctier+in+%28web%29" in sent["url"]
    assert sent["retries"] is False and sent["timeout"].connect_timeout == 3.0 and sent["timeout"].read_timeout == 3.0


def test_a_refusal_names_the_verb_and_resource_to_grant():
    api, _pool = cluster({("GET", "/apis/apps/v1/namespaces/aragora/deployments/aragora"): Response(
        403, {"message": 'deployments.apps "aragora" is forbidden'}, "Forbidden")})
    with pytest.raises(K8sError) as raised:
        api.read_deployment("aragora", "aragora")
    assert raised.value.status == 403
    assert "get deployments.apps in namespace aragora: 403 Forbidden" in str(raised.value)
    assert "verbs [get], resources [deployments]" in str(raised.value)


def test_a_missing_deployment_says_which_options_name_it():
    api, _pool = cluster({})
    with pytest.raises(K8sError, match="Deployment web not found in namespace shop"):
        api.read_deployment("shop", "web")


def test_a_crd_not_installed_is_missing_while_a_core_kind_error_is_an_error():
    api, _pool = cluster({})
    assert "its CRD is not installed" in api.listing(CLUSTER_ISSUERS).missing
    listing = api.listing(PODS, "aragora")
    assert listing.missing is None and listing.error.status == 404


def test_a_patch_sends_a_json_patch_body():
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 3}]
    api, pool = cluster({("PATCH", "/apis/apps/v1/namespaces/aragora/deployments/web"): Response(200, {"ok": 1})})
    assert api.request("patch", DEPLOYMENTS, "aragora", "web", body=ops,
                       content_type="application/json-patch+json") == {"ok": 1}
    assert json.loads(pool.requests[0]["body"]) == ops
    assert pool.requests[0]["headers"]["Content-Type"] == "application/json-patch+json"


def test_a_log_is_text_and_an_answer_that_is_not_json_is_an_error():
    api, _pool = cluster({("GET", "/api/v1/namespaces/aragora/pods/p/log"): Response(200, b"line 1\nline 2\n"),
                          ("GET", "/api/v1/nodes"): Response(200, b"<html>proxy</html>")})
    assert api.pod_log_tail("aragora", "p", 2) == "line 1\nline 2\n"
    with pytest.raises(K8sError, match="not JSON"):
        api.list_items(NODES)


def test_a_transport_failure_is_a_kube_error_naming_the_call():
    class Broken(Pool):
        def request(self, *args, **kwargs):
            raise k8s_client.urllib3.exceptions.NewConnectionError(None, "connection refused")

    api = Cluster(ClusterTarget("/kubeconfig"), api_client=ApiClient(Broken({})))
    with pytest.raises(K8sError, match="list pods in namespace aragora: cannot connect to the API server"):
        api.list_items(PODS, "aragora")


def test_the_typed_apis_are_built_only_when_asked_for():
    api, _pool = cluster({})
    assert "core" not in vars(api) and "apps" not in vars(api)
