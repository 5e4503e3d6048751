"""rollout.py on plain dicts: history by ownership, the target with gaps, the patch, progress and stuck pods."""

from __future__ import annotations

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import rollout

UID = "d-uid"


def template(image: str, hash_: str | None = None) -> dict:
    labels = {"app": "aragora", **({"pod-template-hash": hash_} if hash_ else {})}
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "aragora", "image": image}]}}


def replicaset(revision: int, image: str, owner: str | None = UID, cause: str | None = None) -> dict:
    annotations = {"deployment.kubernetes.io/revision": str(revision), **({rollout.CHANGE_CAUSE: cause} if cause else {})}
    return {"metadata": {"name": "aragora-%d" % revision, "annotations": annotations,
                         "creationTimestamp": "2025-01-01T00:00:00Z",
                         "ownerReferences": [{"uid": owner, "controller": True}] if owner else []},
            "spec": {"template": template(image, "h%d" % revision)}, "status": {"replicas": 1}}


def deployment(image: str, revision: int, annotations: dict | None = None, paused: bool = False) -> dict:
    return {"metadata": {"name": "aragora", "namespace": "aragora", "uid": UID, "resourceVersion": "42",
                         "annotations": {"deployment.kubernetes.io/revision": str(revision), **(annotations or {})}},
            "spec": {"template": template(image), "paused": paused}}


def test_history_only_owned_replicasets():
    sets = [replicaset(1, "a:1"), replicaset(2, "a:2"), replicaset(9, "a:9", owner=None), replicaset(8, "a:8", "x")]
    assert [r.number for r in rollout.history(deployment("a:2", 2), sets)] == [1, 2]


def test_previous_skips_gaps_and_the_current():
    sets = [replicaset(1, "a:1"), replicaset(4, "a:4"), replicaset(6, "a:6")]
    planned = rollout.plan(deployment("a:6", 6), sets, None)
    assert (planned.from_revision, planned.to_revision, planned.images_after) == (6, 4, ["a:4"])
    assert planned.changed and "pod-template-hash" not in planned.template_after["metadata"]["labels"]


def test_unknown_revision_lists_known_ones():
    sets = [replicaset(1, "a:1", cause="first"), replicaset(3, "a:3")]
    with pytest.raises(rollout.RolloutError, match=r"no revision 2; .*1: a:1 \(first\); 3: a:3"):
        rollout.plan(deployment("a:3", 3), sets, 2)


@pytest.mark.parametrize("sets", [[], [replicaset(1, "a:1")], [replicaset(1, "a:1", owner=None)]])
def test_no_history_is_an_error(sets):
    with pytest.raises(rollout.RolloutError, match="no (rollout history|earlier revision)"):
        rollout.plan(deployment("a:1", 1), sets, None)


def test_already_at_target_is_unchanged():
    planned = rollout.plan(deployment("a:2", 2), [replicaset(1, "a:1"), replicaset(2, "a:2")], 2)
    assert not planned.changed


def test_patch_keeps_annotations_and_follows_change_cause():
    sets = [replicaset(1, "a:1", cause="deploy 1"), replicaset(2, "a:2")]
    current = deployment("a:2", 2, {"team": "sre", rollout.CHANGE_CAUSE: "deploy 2"})
    ops = rollout.rollback_patch(current, rollout.plan(current, sets, None), resume=False)
    assert ops[0] == {"op": "replace", "path": "/metadata/resourceVersion", "value": "42"}
    assert {"op": "add", "path": "/metadata/annotations/kubernetes.io~1change-cause", "value": "deploy 1"} in ops
    assert not any(op["path"] == "/metadata/annotations" for op in ops)  # never replaced wholesale
    without_cause = rollout.rollback_patch(current, rollout.plan(current, [replicaset(1, "a:1"), sets[1]], None),
                                           resume=True)
    assert {"op": "remove", "path": "/metadata/annotations/kubernetes.io~1change-cause"} in without_cause


def test_progress_like_kubectl():
    base = {"metadata": {"generation": 2}, "spec": {"replicas": 3}}
    assert rollout.rollout_progress({**base, "status": {"observedGeneration": 1}})[0] == "waiting"
    deadline = {"observedGeneration": 2, "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}
    assert rollout.rollout_progress({**base, "status": deadline})[0] == "failed"
    old_left = {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3}
    assert rollout.rollout_progress({**base, "status": old_left})[1] == "1 old replicas pending termination"
    done = {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}
    assert rollout.rollout_progress({**base, "status": done})[0] == "done"


def test_stuck_pods_and_image_tags():
    pod = {"metadata": {"name": "p"}, "status": {"containerStatuses": [
        {"name": "aragora", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}}
    pending = {"metadata": {"name": "q"}, "status": {"phase": "Pending"}}
    assert rollout.stuck_pods([pod, pending]) == ["p: container aragora ImagePullBackOff"]
    assert rollout.image_tags(["r.io:5000/a/b:2.11.1", "b", "b@sha256:00"]) == ["2.11.1", "", ""]


class ConflictingCluster:
    """The Deployment at revision 3 of 1-3; the first patch meets a 409 because revision 4 rolled out meanwhile."""

    def __init__(self) -> None:
        self.deployment, self.sets = deployment("a:3", 3), [replicaset(1, "a:1"), replicaset(2, "a:2"),
                                                            replicaset(3, "a:3")]
        self.patches: list[list[dict]] = []

    def read(self, kind, namespace, name):
        if kind is rollout.ARGO_ROLLOUTS:
            raise rollout.K8sError("not found", 404)
        return self.deployment

    def list_items(self, kind, namespace, selector):
        return self.sets

    def request(self, verb, kind, namespace, name, **kwargs):
        self.patches.append(kwargs["body"])
        if len(self.patches) == 1:
            self.deployment, self.sets = deployment("a:4", 4), self.sets + [replicaset(4, "a:4")]
            raise rollout.K8sError("patch deployments.apps: 409 Conflict", 409)
        return {**self.deployment, "spec": {"template": kwargs["body"][1]["value"]}}


def test_a_conflict_re_plans_for_the_revision_planned_first(monkeypatch):
    monkeypatch.setattr(rollout.time, "sleep", lambda seconds: None)
    cluster = ConflictingCluster()
    result = rollout.apply(cluster, "aragora", "aragora", None)
    # "The previous revision" is 3 after revision 4 landed: the retry still goes to 2, the one planned.
    assert result.conflicts == 1 and result.plan.to_revision == 2 and result.plan.from_revision == 4
    assert [rollout.images(patch[1]["value"]) for patch in cluster.patches] == [["a:2"], ["a:2"]]
    assert rollout.images(result.before["spec"]["template"]) == ["a:4"]  # the state it was in just before the patch
