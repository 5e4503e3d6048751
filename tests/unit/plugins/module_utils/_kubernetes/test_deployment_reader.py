"""The one Deployment reader (k8s_client.read_deployment) behind the checks, the waits and the rollback."""

from __future__ import annotations

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import rollout
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import (
    DEPLOYMENTS,
    K8sError,
    read_deployment,
)

NOT_FOUND = 'get deployments.apps/web in namespace shop at https://k8s:6443: 404 Not Found'


class Api:
    """Answers ``read`` as the API would: the Deployments and Rollouts it has, 404 for the rest."""

    def __init__(self, objects: dict | None = None) -> None:
        self.objects, self.reads = objects or {}, []

    def read(self, kind, namespace, name):
        self.reads.append((kind, namespace, name))
        if (kind, namespace, name) not in self.objects:
            raise K8sError(NOT_FOUND, 404)
        return self.objects[(kind, namespace, name)]

    def list_items(self, kind, namespace, selector):
        return []


def test_a_missing_deployment_is_one_sentence_naming_the_options_of_its_caller():
    with pytest.raises(K8sError) as checks:
        read_deployment(Api(), "shop", "web")
    assert str(checks.value) == "Deployment web not found in namespace shop (k8s_namespace, k8s_deployment): " + NOT_FOUND
    assert checks.value.status == 404
    with pytest.raises(K8sError) as undo:
        rollout.read_state(Api(), "shop", "web")
    assert str(undo.value) == "Deployment web not found in namespace shop (namespace, name): " + NOT_FOUND


def test_other_errors_pass_through_unchanged():
    class Forbidden(Api):
        def read(self, kind, namespace, name):
            raise K8sError("get deployments.apps/web in namespace shop: 403 Forbidden", 403)
    with pytest.raises(K8sError, match="^get deployments.apps/web in namespace shop: 403 Forbidden$"):
        read_deployment(Forbidden(), "shop", "web")


def test_an_argo_rollout_of_that_name_explains_the_missing_deployment():
    api = Api({(rollout.ARGO_ROLLOUTS, "shop", "web"): {"kind": "Rollout"}})
    with pytest.raises(rollout.RolloutError, match="managed by Argo Rollouts"):
        rollout.read_state(api, "shop", "web")


def test_the_rollback_s_wait_reads_through_the_one_reader():
    deployment = {"metadata": {"generation": 1}, "spec": {"replicas": 1},
                  "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}}
    api = Api({(DEPLOYMENTS, "shop", "web"): deployment})
    waited = rollout.wait(api, "shop", "web", None, timeout=5, poll_interval=1)
    assert waited.outcome == "done" and api.reads == [(DEPLOYMENTS, "shop", "web")]
    with pytest.raises(K8sError, match=r"^Deployment gone not found in namespace shop \(namespace, name\)"):
        rollout.wait(api, "shop", "gone", None, timeout=5, poll_interval=1)
