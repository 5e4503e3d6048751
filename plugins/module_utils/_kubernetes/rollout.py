# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rolling a Deployment back the way ``kubectl rollout undo`` does, and then waiting for it, without Ansible.

- History comes from the ReplicaSets the Deployment OWNS (ownerReferences uid), never from ones that only match its
  labels; each revision has its number, images, change-cause and age.
- The target is the previous revision (the newest owned revision other than the current one: numbers have gaps
  after earlier rollbacks) or an explicit one; an unknown revision is an error that lists the known ones.
- The change is one JSON patch: the pod template replaced by the target's (without its pod-template-hash label), the
  Deployment's own annotations kept (only ``kubernetes.io/change-cause`` follows the target, as kubectl does), and
  ``metadata.resourceVersion`` as a precondition, so a concurrent change is a 409 that is re-read and retried.
- The wait reads the Deployment until the rollout is complete, and stops at once on ProgressDeadlineExceeded or when
  the new pods crash-loop or cannot pull their image, rather than waiting out the timeout.

Everything goes through k8s_client.Cluster (one client layer; its errors are sentences naming the call).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import (
    DEPLOYMENTS,
    PODS,
    REPLICA_SETS,
    Cluster,
    K8sError,
    Kind,
    read_deployment,
    selector_string,
)
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import waiter

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"
# Container states that do not get better by waiting: the wait stops when a new pod is in one of them.
STUCK_REASONS = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
                 "CreateContainerConfigError", "CreateContainerError")
ARGO_ROLLOUTS = Kind("argoproj.io", "v1alpha1", "rollouts")
ROLLOUT_OPTIONS = "namespace, name"  # k8s_rollout_undo's options naming the Deployment


class RolloutError(K8sError):
    """The rollback cannot or should not be done; ``str()`` says why and what to do."""

    deployment: dict | None = None  # the Deployment as it was read, when it was


def _meta(obj: t.Mapping[str, t.Any]) -> dict:
    return obj.get("metadata") or {}


def images(template: t.Mapping[str, t.Any] | None) -> list[str]:
    """The images of a pod template's containers, in order."""
    return [c.get("image", "") for c in ((template or {}).get("spec") or {}).get("containers") or []]


def image_tags(names: t.Iterable[str]) -> list[str]:
    """'ghcr.io/aragora/aragora:2.11.1' -> '2.11.1' (digests and untagged images give '')."""
    tags = []
    for name in names:
        name = name.split("@", 1)[0]
        last = name.rsplit("/", 1)[-1]
        tags.append(last.split(":", 1)[1] if ":" in last else "")
    return tags


def clean_template(template: t.Mapping[str, t.Any] | None) -> dict:
    """The template without the pod-template-hash label the ReplicaSet controller adds."""
    template = copy.deepcopy(dict(template or {}))
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return template


def same_template(a: t.Mapping[str, t.Any] | None, b: t.Mapping[str, t.Any] | None) -> bool:
    return clean_template(a) == clean_template(b)


def _parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def human_age(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(max(seconds, 0))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return "%d%s" % (seconds // size, unit)
    return "%ds" % seconds


@dataclasses.dataclass
class Revision:
    number: int
    replicaset: str
    images: list[str]
    change_cause: str | None
    created: str | None
    age_seconds: float | None
    replicas: int
    ready_replicas: int
    pod_template_hash: str | None
    template: dict = dataclasses.field(repr=False)

    def summary(self) -> dict[str, t.Any]:
        return {"revision": self.number, "replicaset": self.replicaset, "images": self.images,
                "change_cause": self.change_cause, "created": self.created, "age": human_age(self.age_seconds),
                "replicas": self.replicas, "ready_replicas": self.ready_replicas}

    def describe(self) -> str:
        return "revision %d (%s)" % (self.number, ", ".join(self.images) or "no containers")


def owns(owner: t.Mapping[str, t.Any], obj: t.Mapping[str, t.Any]) -> bool:
    uid = _meta(owner).get("uid")
    return bool(uid) and any(ref.get("uid") == uid for ref in _meta(obj).get("ownerReferences") or [])


def history(deployment: t.Mapping[str, t.Any], replicasets: t.Iterable[t.Mapping[str, t.Any]],
            now: datetime.datetime | None = None) -> list[Revision]:
    """The Deployment's revisions, oldest first, from the ReplicaSets it owns (a label match alone is not enough)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    revisions = []
    for rs in replicasets:
        meta = _meta(rs)
        if not owns(deployment, rs):
            continue
        try:
            number = int((meta.get("annotations") or {}).get(REVISION, ""))
        except ValueError:
            continue  # not (yet) given a revision by the Deployment controller
        created = _parse_time(meta.get("creationTimestamp"))
        template = (rs.get("spec") or {}).get("template") or {}
        status = rs.get("status") or {}
        revisions.append(Revision(
            number=number, replicaset=meta.get("name", ""), images=images(template),
            change_cause=(meta.get("annotations") or {}).get(CHANGE_CAUSE), created=meta.get("creationTimestamp"),
            age_seconds=(now - created).total_seconds() if created else None,
            replicas=int(status.get("replicas") or 0), ready_replicas=int(status.get("readyReplicas") or 0),
            pod_template_hash=((template.get("metadata") or {}).get("labels") or {}).get(HASH_LABEL)
            or (meta.get("labels") or {}).get(HASH_LABEL),
            template=template))
    return sorted(revisions, key=lambda r: r.number)


def current_revision(deployment: t.Mapping[str, t.Any], revisions: list[Revision]) -> Revision | None:
    """The revision whose template the Deployment runs (by template; the annotation when templates are equal)."""
    template = (deployment.get("spec") or {}).get("template")
    matching = [r for r in revisions if same_template(r.template, template)]
    annotated = (_meta(deployment).get("annotations") or {}).get(REVISION)
    for revision in matching:
        if str(revision.number) == annotated:
            return revision
    return matching[-1] if matching else None


def _known(revisions: list[Revision]) -> str:
    return "; ".join("%d: %s%s" % (r.number, ", ".join(r.images),
                                   " (%s)" % r.change_cause if r.change_cause else "") for r in revisions) or "none"


def choose_target(deployment: t.Mapping[str, t.Any], revisions: list[Revision], wanted: int | None,
                  current: Revision | None) -> Revision:
    """The revision to roll back to: ``wanted``, or (None/0) the newest owned revision other than the current."""
    name = _meta(deployment).get("name", "")
    if wanted:
        target = next((r for r in revisions if r.number == wanted), None)
        if target is None:
            raise RolloutError("Deployment %s has no revision %d; the revisions it owns are: %s. Pick one of those "
                               "(kubectl rollout history deployment/%s)." % (name, wanted, _known(revisions), name))
        return target
    others = [r for r in revisions if current is None or r.number != current.number]
    if not others:
        raise RolloutError(
            "Deployment %s has no earlier revision to roll back to: the ReplicaSets it owns hold only %s. Nothing was "
            "changed. Its revision history may have been pruned (spec.revisionHistoryLimit) or the Deployment "
            "re-created; roll forward to a known-good image instead (kubectl set image)." % (name, _known(revisions)))
    return others[-1]


@dataclasses.dataclass
class Plan:
    """What a rollback would do."""

    name: str
    namespace: str
    from_revision: int | None
    to_revision: int
    images_before: list[str]
    images_after: list[str]
    template_before: dict
    template_after: dict
    changed: bool
    paused: bool
    resource_version: str
    target: Revision
    history: list[Revision]
    change_cause_before: str | None
    change_cause_after: str | None

    def describe(self) -> str:
        return "Deployment %s/%s from revision %s (%s) to revision %d (%s)" % (
            self.namespace, self.name, self.from_revision if self.from_revision is not None else "unknown",
            ", ".join(self.images_before), self.to_revision, ", ".join(self.images_after))


def plan(deployment: t.Mapping[str, t.Any], replicasets: t.Iterable[t.Mapping[str, t.Any]],
         wanted: int | None) -> Plan:
    revisions = history(deployment, replicasets)
    meta = _meta(deployment)
    if not revisions:
        raise RolloutError(
            "Deployment %s has no rollout history: no ReplicaSet in namespace %s is owned by it (ownerReferences uid "
            "%s); ReplicaSets that only match its labels are never used. Nothing was changed."
            % (meta.get("name"), meta.get("namespace"), meta.get("uid")))
    current = current_revision(deployment, revisions)
    target = choose_target(deployment, revisions, wanted, current)
    before = (deployment.get("spec") or {}).get("template") or {}
    after = clean_template(target.template)
    annotations = meta.get("annotations") or {}
    cause_before = annotations.get(CHANGE_CAUSE)
    return Plan(
        name=meta.get("name", ""), namespace=meta.get("namespace", ""),
        from_revision=current.number if current else to_int(annotations.get(REVISION)),
        to_revision=target.number, images_before=images(before), images_after=images(after),
        template_before=copy.deepcopy(before), template_after=after, changed=not same_template(before, after),
        paused=bool((deployment.get("spec") or {}).get("paused")), resource_version=meta.get("resourceVersion", ""),
        target=target, history=revisions, change_cause_before=cause_before,
        change_cause_after=target.change_cause if target.change_cause else None)


def to_int(value: t.Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def rollback_patch(deployment: t.Mapping[str, t.Any], the_plan: Plan, resume: bool) -> list[dict]:
    """The JSON patch: resourceVersion as a precondition, the template, change-cause; the other annotations kept."""
    ops: list[dict] = [
        {"op": "replace", "path": "/metadata/resourceVersion", "value": the_plan.resource_version},
        {"op": "replace", "path": "/spec/template", "value": the_plan.template_after},
    ]
    annotations = _meta(deployment).get("annotations")
    cause_path = "/metadata/annotations/" + CHANGE_CAUSE.replace("~", "~0").replace("/", "~1")
    if the_plan.change_cause_after is not None:
        if annotations is None:
            ops.append({"op": "add", "path": "/metadata/annotations", "value": {}})
        ops.append({"op": "add", "path": cause_path, "value": the_plan.change_cause_after})
    elif annotations and CHANGE_CAUSE in annotations:
        ops.append({"op": "remove", "path": cause_path})  # the cause of the bad revision no longer applies
    if resume and the_plan.paused:
        ops.append({"op": "replace", "path": "/spec/paused", "value": False})
    return ops


# ---- the cluster ----------------------------------------------------------------------------------------------------


def read_state(cluster: Cluster, namespace: str, name: str) -> tuple[dict, list[dict]]:
    """The Deployment and the ReplicaSets its selector matches (ownership is checked by history())."""
    try:
        deployment = read_deployment(cluster, namespace, name, ROLLOUT_OPTIONS)
    except K8sError as exc:
        argo = argo_rollout(cluster, namespace, name) if exc.status == 404 else None
        if argo:  # no Deployment of that name because Argo Rollouts runs the application
            raise argo from None
        raise
    argo = argo_rollout(cluster, namespace, name)
    if argo:
        raise argo
    selector = selector_string((deployment.get("spec") or {}).get("selector"))
    return deployment, cluster.list_items(REPLICA_SETS, namespace, selector)


def argo_rollout(cluster: Cluster, namespace: str, name: str) -> RolloutError | None:
    """An error when an Argo Rollouts ``Rollout`` of this name exists: it owns the rollout, not the Deployment."""
    group, version = ARGO_ROLLOUTS.group, ARGO_ROLLOUTS.version
    try:
        cluster.read(ARGO_ROLLOUTS, namespace, name)
    except K8sError:
        return None  # not installed (404), not there, or not readable: nothing says Argo manages it
    return RolloutError(
        "%s/%s is managed by Argo Rollouts (kind: Rollout, %s/%s): this module does not roll it back, because Argo "
        "would undo or fight the change. Use: kubectl argo rollouts undo %s -n %s [--to-revision=N]"
        % (namespace, name, group, version, name, namespace))


@dataclasses.dataclass
class ApplyResult:
    plan: Plan
    changed: bool
    attempts: int
    conflicts: int
    deployment: dict  # as the patch answered it (as read when nothing was patched)
    patch: list[dict]
    before: dict  # the Deployment as read just before the patch (or the check-mode plan)


def apply(cluster: Cluster, namespace: str, name: str, wanted: int | None, resume_paused: bool = False,
          check_mode: bool = False, max_attempts: int = 5) -> ApplyResult:
    """Plan and (unless check_mode) patch; a 409 re-reads and re-plans, at most ``max_attempts`` times, for the
    revision the first plan chose: a rollout that lands meanwhile must not turn "the previous revision" into
    another one."""
    conflicts = 0
    for attempt in range(1, max_attempts + 1):
        deployment, replicasets = read_state(cluster, namespace, name)
        try:
            the_plan = plan(deployment, replicasets, wanted)
        except RolloutError as exc:
            exc.deployment = deployment  # the caller reports the state it is in
            raise
        if not the_plan.changed:  # already at the target: nothing to do, paused or not
            return ApplyResult(the_plan, False, attempt, conflicts, deployment, [], deployment)
        if the_plan.paused and not resume_paused:
            refused = RolloutError(
                "Deployment %s/%s is paused (spec.paused: true): someone stopped its rollouts on purpose, and a "
                "rollback would not progress. Nothing was changed. Resume it with resume_paused=true (or kubectl "
                "rollout resume deployment/%s -n %s) if rolling back is what is wanted."
                % (namespace, name, name, namespace))
            refused.deployment = deployment
            raise refused
        ops = rollback_patch(deployment, the_plan, resume_paused)
        if check_mode:
            return ApplyResult(the_plan, True, attempt, conflicts, deployment, ops, deployment)
        try:
            patched = cluster.request("patch", DEPLOYMENTS, namespace, name, body=ops,
                                      content_type="application/json-patch+json")
        except K8sError as exc:
            if exc.status == 409 and attempt < max_attempts:
                conflicts += 1
                wanted = the_plan.to_revision
                time.sleep(min(0.1 * attempt, 1.0))
                continue
            if exc.status == 409:
                raise RolloutError("%s (still conflicting after %d attempts: something else keeps changing the "
                                   "Deployment; stop it, then run again)" % (exc, max_attempts), 409) from None
            raise
        return ApplyResult(the_plan, True, attempt, conflicts, patched, ops, deployment)
    raise AssertionError("unreachable")  # pragma: no cover


# ---- waiting --------------------------------------------------------------------------------------------------------


def condition(deployment: t.Mapping[str, t.Any], kind: str) -> dict:
    return next((c for c in ((deployment.get("status") or {}).get("conditions") or []) if c.get("type") == kind), {})


def describe_state(deployment: t.Mapping[str, t.Any]) -> str:
    """'revision 4 (images ...): 3 desired, 3 updated, 3 ready, 3 available, 0 old; Progressing=True (...)'."""
    spec, status, meta = deployment.get("spec") or {}, deployment.get("status") or {}, _meta(deployment)
    progressing = condition(deployment, "Progressing")
    total, updated = int(status.get("replicas") or 0), int(status.get("updatedReplicas") or 0)
    return ("revision %s (%s)%s: %d desired, %d updated, %d ready, %d available, %d old; Progressing=%s%s" % (
        (meta.get("annotations") or {}).get(REVISION, "?"), ", ".join(images(spec.get("template"))),
        ", PAUSED" if spec.get("paused") else "", int(spec.get("replicas", 1)), updated,
        int(status.get("readyReplicas") or 0), int(status.get("availableReplicas") or 0), max(total - updated, 0),
        progressing.get("status", "?"), " %s: %s" % (progressing.get("reason", ""), progressing.get("message", ""))
        if progressing else ""))


def rollout_progress(deployment: t.Mapping[str, t.Any]) -> tuple[str, str]:
    """('done'|'failed'|'waiting', why), the way ``kubectl rollout status`` decides."""
    spec, status, meta = deployment.get("spec") or {}, deployment.get("status") or {}, _meta(deployment)
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return "waiting", "the Deployment controller has not observed the change yet"
    progressing = condition(deployment, "Progressing")
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return "failed", "ProgressDeadlineExceeded: %s" % progressing.get("message", "")
    wanted = int(spec.get("replicas", 1))
    updated, total = int(status.get("updatedReplicas") or 0), int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < wanted:
        return "waiting", "%d of %d new replicas updated" % (updated, wanted)
    if total > updated:
        return "waiting", "%d old replicas pending termination" % (total - updated)
    if available < updated:
        return "waiting", "%d of %d updated replicas available" % (available, updated)
    return "done", "%d of %d replicas updated and available" % (available, wanted)


def stuck_pods(pods: t.Iterable[t.Mapping[str, t.Any]]) -> list[str]:
    """'pod-x: container aragora CrashLoopBackOff' for each new pod in a state that waiting does not fix."""
    stuck = []
    for pod in pods:
        statuses = (pod.get("status") or {}).get("initContainerStatuses") or []
        statuses += (pod.get("status") or {}).get("containerStatuses") or []
        for cs in statuses:
            reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
            if reason in STUCK_REASONS:
                stuck.append("%s: container %s %s" % (_meta(pod).get("name"), cs.get("name"), reason))
    return stuck


@dataclasses.dataclass
class WaitResult:
    outcome: str  # done, failed, timeout
    message: str
    elapsed: float
    polls: int
    deployment: dict


def wait(cluster: Cluster, namespace: str, name: str, pod_template_hash: str | None, timeout: float,
         poll_interval: float, clock: t.Callable[[], float] = time.monotonic,
         sleep: t.Callable[[float], None] = time.sleep) -> WaitResult:
    """Until the rollout completes, fails (ProgressDeadlineExceeded, new pods stuck) or ``timeout`` passes."""
    def observe() -> tuple[bool, tuple[str, str, dict]]:
        deployment = read_deployment(cluster, namespace, name, ROLLOUT_OPTIONS)
        outcome, why = rollout_progress(deployment)
        if outcome in ("done", "failed"):
            return True, (outcome, why, deployment)
        if pod_template_hash:
            selector = selector_string((deployment.get("spec") or {}).get("selector"))
            selector = ",".join(p for p in (selector, "%s=%s" % (HASH_LABEL, pod_template_hash)) if p)
            try:
                pods = cluster.list_items(PODS, namespace, selector)
            except K8sError:
                pods = []  # not allowed to list pods: the Deployment's own conditions still end the wait
            stuck = stuck_pods(pods)
            if stuck:
                return True, ("failed", "new pods cannot start: %s" % "; ".join(stuck[:5]), deployment)
        return False, ("timeout", why, deployment)

    polled = waiter.poll_until(observe, timeout, poll_interval, clock, sleep)
    outcome, why, deployment = polled.value
    if not polled.done:
        why = "the rollout did not complete within %ss (%s)" % (timeout, why)
    return WaitResult(outcome, why, polled.elapsed, polled.polls, deployment)
