"""What the probes do with answers and inputs that are not what they should be: Kubernetes answers of the wrong
shape, passwords in URLs and keyword DSNs, named causes, Retry-After."""

from __future__ import annotations

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._engine import causes
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import mask_url, parameter_secrets, url_password
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import shape_problem

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "aragora"}, "spec": {}}
POD_LIST = {"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "p"}}]}


@pytest.mark.parametrize("verb, resource, answer", [
    ("get", "deployments.apps", DEPLOYMENT),
    ("list", "pods", POD_LIST),
    ("list", "pods", {"apiVersion": "v1", "kind": "PodList", "items": []}),
    ("list", "certificates.cert-manager.io", {"apiVersion": "cert-manager.io/v1", "kind": "CertificateList",
                                              "items": []}),
    ("patch", "deployments.apps", {"anything": "the answer of a change is not judged here"}),
])
def test_the_object_asked_for_is_accepted(verb, resource, answer):
    assert shape_problem(verb, resource, answer) is None


@pytest.mark.parametrize("verb, resource, answer, words", [
    ("get", "deployments.apps", {}, "expected Deployment"),
    ("get", "deployments.apps", "upstream error", "expected a Kubernetes object"),
    ("get", "deployments.apps", {**DEPLOYMENT, "kind": "Status"}, "kind 'Status'"),
    ("get", "deployments.apps", {"kind": "Deployment", "apiVersion": "apps/v1"}, "expected Deployment"),
    ("list", "pods", {}, "expected PodList with an items list"),
    ("list", "pods", [], "expected a Kubernetes object"),
    ("list", "pods", {"apiVersion": "v1", "kind": "PodList", "items": ["a string"]}, "items list"),
    ("list", "pods", {"apiVersion": "v1", "kind": "NodeList", "items": []}, "expected PodList"),
    ("list", "pods", {"kind": "PodList", "items": []}, "items list"),  # no apiVersion: not the API server's
])
def test_anything_else_is_named(verb, resource, answer, words):
    problem = shape_problem(verb, resource, answer)
    assert problem and words in problem, problem


def test_passwords_in_urls_and_keyword_dsns_are_found_and_masked():
    assert url_password("postgresql://aragora:pw1@db/aragora") == "pw1"
    assert url_password("host=db user=aragora password=pw2 dbname=aragora") == "pw2"
    assert url_password("host=db password='p w3'") == "p w3"
    assert url_password("redis://cache:6379/0") is None
    assert mask_url("host=db password=pw2") == "host=db password=********"
    assert mask_url("redis://cache:6379/0") == "redis://cache:6379/0"


def test_parameter_secrets_reads_config_and_every_url_option_even_unvalidated():
    found = parameter_secrets({
        "config": {"ARAGORA_JWT_SECRET": "jwt1", "ARAGORA_ENV": "production", "X_TOKEN": 12345},
        "api_url": "aragora:pw-no-scheme@host",  # rejected later, and echoed in the message
        "database_url": "host=db password=pw-keyword",
        "redis_url": "redis://:pw-redis@cache:6379/0",
        "ws_url": 42,  # not validated yet: any shape
    })
    assert {"jwt1", "12345", "pw-no-scheme", "pw-keyword", "pw-redis"} <= found
    assert "production" not in found
    assert parameter_secrets({"config": "not a dict"}) == set()


@pytest.mark.parametrize("header, seconds", [("30", 30.0), ("0", 0.0), ("1.5", 1.5), (None, None),
                                             ("Wed, 21 Oct 2026 07:28:00 GMT", None), ("-1", None)])
def test_retry_after_seconds(header, seconds):
    assert causes.retry_after_seconds({"Retry-After": header} if header is not None else {}) == seconds


def test_could_not_judge_carries_its_cause_and_remediation():
    exc = causes.throttled("GET /metrics -> 429 in 3 ms", 30.0)
    assert str(exc) == "GET /metrics -> 429 in 3 ms: throttled by the server's rate limiter (Retry-After: 30 s)"
    assert exc.kind == causes.THROTTLED and exc.remediation == causes.REMEDIATION[causes.THROTTLED]
