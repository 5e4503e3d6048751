"""The controllers of the emulated cluster: Deployment -> ReplicaSets -> Pods, DaemonSet -> Pods, a scheduler.

They run synchronously after every write, so a rollout is complete by the time the write is answered: `kubectl
rollout status` returns at once and tests need no sleeps. Images marked broken give pods that never become ready,
so a rollout of one stalls with ProgressDeadlineExceeded (what a rollback is for).
"""

from __future__ import annotations

import copy
import itertools
import random
from typing import Any, Protocol

from sandbox.k8s import scheduler
from sandbox.k8s.objects import (
    Obj, dig, int_or_percent, labels_match, selector_requirements, template_hash, timestamp,
)

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"


class Store(Protocol):
    """What the controllers need from the API server's object store (resources named like 'deployments.apps')."""

    def live(self, resource: str, namespace: str | None = None) -> list[Obj]: ...

    def save(self, resource: str, obj: Obj) -> Obj: ...

    def remove(self, resource: str, namespace: str | None, name: str) -> None: ...


def owned_by(obj: Obj, owner: Obj) -> bool:
    return any(
        ref.get("uid") == owner["metadata"]["uid"] and ref.get("controller")
        for ref in obj["metadata"].get("ownerReferences") or []
    )


def owner_reference(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True,
    }


def revision(obj: Obj) -> int:
    return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))


def pod_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in dig(pod, "status.conditions", []))


def condition(kind: str, healthy: bool, reason: str, message: str, old: list[Obj]) -> Obj:
    """A status condition; the transition time moves only when the status changes (as controllers do)."""
    status = "True" if healthy else "False"
    previous = next((c for c in old if c.get("type") == kind), None)
    moment = timestamp()
    changed = previous is None or previous.get("status") != status
    return {
        "type": kind, "status": status, "reason": reason, "message": message,
        "lastUpdateTime": moment if changed or previous.get("reason") != reason else previous["lastUpdateTime"],
        "lastTransitionTime": moment if changed else previous.get("lastTransitionTime", moment),
    }


class PodRuntime(Protocol):
    """What runs a pod's containers (sandbox/k8s/process_driver.py); without one, pods are ready at once."""

    def start(self, pod: Obj) -> str | None: ...  # None: started (ready later); else the container's waiting reason

    def stop(self, pod: Obj, remove_when_gone: bool = True) -> None: ...


class Controllers:
    """Reconciles Deployments, ReplicaSets and DaemonSets into pods placed on nodes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.broken_images: set[str] = set()
        # (namespace, workload name) -> nodes its pods go to, instead of round-robin over all nodes.
        self.pins: dict[tuple[str, str], list[str]] = {}
        # Namespaces whose pods, once deleted, stay Terminating for ever (a finalizer or a stuck preStop hook).
        self.undying_namespaces: set[str] = set()
        # Runs the pods' containers: pods are created not ready, and terminated pods wait for it to stop them.
        self.runtime: PodRuntime | None = None
        self._next_node = itertools.count()
        self._next_ip = itertools.count(10)
        self._random = random.Random(4)  # reproducible pod names

    def reconcile(self) -> None:
        for deployment in self.store.live("deployments.apps"):
            self._deployment(deployment)
        for replicaset in self.store.live("replicasets.apps"):
            self._replicaset(replicaset)
        for daemonset in self.store.live("daemonsets.apps"):
            self._daemonset(daemonset)

    # ---- Deployments ----------------------------------------------------------------------------------------------

    def _replicasets_of(self, deployment: Obj) -> list[Obj]:
        namespace = deployment["metadata"]["namespace"]
        return [rs for rs in self.store.live("replicasets.apps", namespace) if owned_by(rs, deployment)]

    def _new_replicaset(self, deployment: Obj, pod_hash: str, number: int) -> Obj:
        template = copy.deepcopy(deployment["spec"]["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        selector = copy.deepcopy(deployment["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        annotations = {REVISION: str(number)}
        cause = (deployment["metadata"].get("annotations") or {}).get(CHANGE_CAUSE)
        if cause:
            annotations[CHANGE_CAUSE] = cause
        return {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {
                "name": f"{deployment['metadata']['name']}-{pod_hash}",
                "namespace": deployment["metadata"]["namespace"],
                "labels": dict(template["metadata"]["labels"]),
                "annotations": annotations,
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
            "status": {"replicas": 0},
        }

    def _current_replicaset(self, deployment: Obj, replicasets: list[Obj]) -> Obj:
        """The ReplicaSet of the current template: found by hash (a rollback re-uses the old one under a new
        revision number, remembering the old numbers as the real controller does) or created."""
        pod_hash = template_hash(deployment["spec"]["template"])
        latest = max((revision(rs) for rs in replicasets), default=0)
        current = next((rs for rs in replicasets if rs["metadata"]["labels"].get(HASH_LABEL) == pod_hash), None)
        if current is None:
            current = self.store.save("replicasets.apps", self._new_replicaset(deployment, pod_hash, latest + 1))
            replicasets.append(current)
        elif revision(current) != latest:
            annotations = current["metadata"].setdefault("annotations", {})
            history = [h for h in annotations.get(REVISION_HISTORY, "").split(",") if h]
            annotations[REVISION_HISTORY] = ",".join(history + [str(revision(current))])
            annotations[REVISION] = str(latest + 1)
            current = self.store.save("replicasets.apps", current)
        return current

    def _deployment(self, deployment: Obj) -> None:
        spec = deployment["spec"]
        replicas = int(spec.get("replicas", 1))
        replicasets = self._replicasets_of(deployment)
        current = self._current_replicaset(deployment, replicasets)
        olds = [rs for rs in replicasets if rs["metadata"]["uid"] != current["metadata"]["uid"]]
        rolling = dig(spec, "strategy.rollingUpdate") or {}
        surge = int_or_percent(rolling.get("maxSurge", "25%"), replicas, round_up=True)
        unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
        healthy = not self._broken(current["spec"]["template"])
        old_pods = sum(int(rs["spec"].get("replicas", 0)) for rs in olds)
        if spec.get("paused"):
            wanted = {rs["metadata"]["uid"]: int(rs["spec"].get("replicas", 0)) for rs in replicasets}
        elif healthy or old_pods == 0:
            wanted = {rs["metadata"]["uid"]: 0 for rs in olds} | {current["metadata"]["uid"]: replicas}
        else:
            # The new pods never become ready: the rollout stops after the surge, old pods keep serving.
            first = max(surge, 1) if unavailable == 0 else max(surge + unavailable, 1)
            wanted = {rs["metadata"]["uid"]: int(rs["spec"].get("replicas", 0)) for rs in olds}
            wanted[current["metadata"]["uid"]] = min(replicas, first)
        for rs in self._replicasets_of(deployment):  # re-read: the current one may have a new revision
            rs_replicas = wanted[rs["metadata"]["uid"]]
            annotations = rs["metadata"].setdefault("annotations", {})
            desired = {"deployment.kubernetes.io/desired-replicas": str(replicas),
                       "deployment.kubernetes.io/max-replicas": str(replicas + surge)}
            if rs["spec"].get("replicas") != rs_replicas or any(annotations.get(k) != v for k, v in desired.items()):
                rs["spec"]["replicas"] = rs_replicas
                annotations.update(desired)
                rs = self.store.save("replicasets.apps", rs)
            self._replicaset(rs)
        self._deployment_status(deployment, current, self._replicasets_of(deployment), healthy, unavailable)

    def _deployment_status(
        self, deployment: Obj, current: Obj, replicasets: list[Obj], healthy: bool, max_unavailable: int
    ) -> None:
        namespace, name = deployment["metadata"]["namespace"], deployment["metadata"]["name"]
        replicas = int(deployment["spec"].get("replicas", 1))
        pods = {rs["metadata"]["uid"]: self._pods_of(rs) for rs in replicasets}
        total = sum(len(p) for p in pods.values())
        updated = len(pods[current["metadata"]["uid"]])
        ready = sum(pod_ready(p) for group in pods.values() for p in group)
        old_conditions = dig(deployment, "status.conditions", [])
        rs_name = current["metadata"]["name"]
        if not healthy:
            progressing = condition("Progressing", False, "ProgressDeadlineExceeded",
                                    f'ReplicaSet "{rs_name}" has timed out progressing.', old_conditions)
        elif updated == total == replicas and ready >= replicas:
            progressing = condition("Progressing", True, "NewReplicaSetAvailable",
                                    f'ReplicaSet "{rs_name}" has successfully progressed.', old_conditions)
        else:
            progressing = condition("Progressing", True, "ReplicaSetUpdated",
                                    f'ReplicaSet "{rs_name}" is progressing.', old_conditions)
        available = ready >= replicas - max_unavailable
        status = {
            "observedGeneration": deployment["metadata"]["generation"],
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [
                condition("Available", available,
                          "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                          "Deployment has minimum availability." if available
                          else "Deployment does not have minimum availability.", old_conditions),
                progressing,
            ],
        }
        if total - ready > 0:
            status["unavailableReplicas"] = total - ready
        status = {k: v for k, v in status.items() if v != 0 or k == "observedGeneration"}
        annotations = deployment["metadata"].setdefault("annotations", {})
        if status != deployment.get("status") or annotations.get(REVISION) != str(revision(current)):
            # Re-read: saving a ReplicaSet may have been answered by a newer version of the Deployment.
            fresh = next(d for d in self.store.live("deployments.apps", namespace) if d["metadata"]["name"] == name)
            fresh["status"] = status
            fresh["metadata"].setdefault("annotations", {})[REVISION] = str(revision(current))
            self.store.save("deployments.apps", fresh)

    # ---- ReplicaSets, DaemonSets, pods ----------------------------------------------------------------------------

    def _pods_of(self, owner: Obj) -> list[Obj]:
        namespace = owner["metadata"]["namespace"]
        return [pod for pod in self.store.live("pods", namespace) if owned_by(pod, owner)]

    def _broken(self, template: Obj) -> bool:
        return any(c.get("image") in self.broken_images for c in dig(template, "spec.containers", []))

    def _replicaset(self, replicaset: Obj) -> None:
        # Terminating pods still exist but no longer count towards the replicas.
        pods = [p for p in self._pods_of(replicaset) if not p["metadata"].get("deletionTimestamp")]
        pods = self._retry_waiting(replicaset, pods)
        wanted = int(replicaset["spec"].get("replicas", 1))
        for _missing in range(wanted - len(pods)):
            pods.append(self._create_pod(replicaset, *self._schedule(replicaset)))
        # Scaling down removes the newest pods first.
        pods.sort(key=lambda p: (p["metadata"]["creationTimestamp"], int(p["metadata"]["resourceVersion"])))
        for pod in pods[max(wanted, 0):]:
            if pod["metadata"]["namespace"] in self.undying_namespaces or self.runtime is not None:
                pod["metadata"]["deletionTimestamp"] = timestamp()
                self.store.save("pods", pod)
                if self.runtime is not None and pod["metadata"]["namespace"] not in self.undying_namespaces:
                    self.runtime.stop(pod)  # removes the pod once its process has exited
            else:
                self.store.remove("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        pods = pods[:max(wanted, 0)]
        ready = sum(pod_ready(p) for p in pods)
        status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                  "availableReplicas": ready, "observedGeneration": replicaset["metadata"]["generation"]}
        status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
        if replicaset.get("status") != status:
            replicaset["status"] = status
            self.store.save("replicasets.apps", replicaset)

    def _daemonset(self, daemonset: Obj) -> None:
        pods = self._pods_of(daemonset)
        placed = {p["spec"].get("nodeName") for p in pods}
        nodes = [n["metadata"]["name"] for n in self._nodes(daemonset["spec"]["template"])]
        for node in nodes:
            if node not in placed:
                pods.append(self._create_pod(daemonset, node))
        ready = sum(pod_ready(p) for p in pods)
        status = {
            "currentNumberScheduled": len(pods), "desiredNumberScheduled": len(nodes), "numberMisscheduled": 0,
            "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": len(pods),
            "observedGeneration": daemonset["metadata"]["generation"],
        }
        if daemonset.get("status") != status:
            daemonset["status"] = status
            self.store.save("daemonsets.apps", daemonset)

    def _nodes(self, template: Obj) -> list[Obj]:
        """Schedulable nodes the template's nodeSelector admits, by name."""
        wanted = selector_requirements({"matchLabels": dig(template, "spec.nodeSelector") or {}})
        nodes = [n for n in self.store.live("nodes") if not n.get("spec", {}).get("unschedulable")]
        return sorted((n for n in nodes if labels_match(wanted, n["metadata"].get("labels"))),
                      key=lambda n: n["metadata"]["name"])

    def _schedule(self, replicaset: Obj) -> tuple[str | None, str | None]:
        """(node, why none): round-robin over the nodes the scheduler admits (scheduler.py), among the pinned ones
        when a scenario pins the Deployment's pods."""
        owner = next(iter(replicaset["metadata"].get("ownerReferences") or []), {}).get("name")
        pinned = self.pins.get((replicaset["metadata"]["namespace"], owner or replicaset["metadata"]["name"]))
        template = replicaset["spec"]["template"]
        candidates = self._nodes(template)
        if pinned:
            by_name = {n["metadata"]["name"]: n for n in self.store.live("nodes")}
            candidates = [by_name[name] for name in pinned if name in by_name]
        return scheduler.choose(self.store, template, replicaset["metadata"]["namespace"], candidates,
                                lambda names: names[next(self._next_node) % len(names)])

    def _retry_waiting(self, replicaset: Obj, pods: list[Obj]) -> list[Obj]:
        """Pods left Pending, or waiting on a volume attached elsewhere, are replaced once they could run."""
        kept = []
        for pod in pods:
            waiting = dig(pod, "status.containerStatuses", [{}])[0].get("state", {}).get("waiting", {})
            node = dig(pod, "spec.nodeName")
            if node is None and self._schedule(replicaset)[0] is not None or \
                    waiting.get("reason") == "ContainerCreating" and not scheduler.attach_error(
                        self.store, pod, pod["metadata"]["namespace"], node):
                self.store.remove("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
            else:
                kept.append(pod)
        return kept

    def _create_pod(self, owner: Obj, node: str | None, unschedulable: str | None = None) -> Obj:
        template = copy.deepcopy(owner["spec"]["template"])
        suffix = "".join(self._random.choice("bcdfghjklmnpqrstvwxz2456789") for _position in range(5))
        broken = self._broken(template)
        started = timestamp()
        attaching = scheduler.attach_error(self.store, template, owner["metadata"]["namespace"], node) \
            if node is not None else None
        starting = self.runtime is not None and not broken and node is not None and not attaching
        ready = "False" if broken or node is None or attaching or starting else "True"
        if node is None:
            status: dict[str, Any] = {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": unschedulable or "0/0 nodes are available"}]}
        else:
            state: Obj = ({"waiting": {"reason": "CrashLoopBackOff"}} if broken
                          else {"waiting": {"reason": "ContainerCreating", "message": attaching}} if attaching
                          else {"waiting": {"reason": "ContainerCreating"}} if starting
                          else {"running": {"startedAt": started}})
            status = {
                "phase": "Pending" if attaching else "Running", "hostIP": self._node_ip(node), "podIP": f"10.244.0.{next(self._next_ip) % 250}",
                "startTime": started,
                "conditions": [{"type": kind, "status": ready if kind in ("Ready", "ContainersReady") else "True",
                                "lastTransitionTime": started}
                               for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                "containerStatuses": [
                    {"name": c["name"], "image": c["image"], "imageID": f"{c['image']}@sha256:{'0' * 64}",
                     "ready": ready == "True", "started": ready == "True", "restartCount": 5 if broken else 0,
                     "state": state}
                    for c in template["spec"]["containers"]
                ],
            }
        spec = template["spec"]
        if node is not None:
            spec["nodeName"] = node
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": f"{owner['metadata']['name']}-{suffix}", "namespace": owner["metadata"]["namespace"],
                "labels": template.get("metadata", {}).get("labels", {}),
                "annotations": template.get("metadata", {}).get("annotations", {}),
                "ownerReferences": [owner_reference(owner)],
            },
            "spec": spec,
            "status": status,
        }
        pod = self.store.save("pods", pod)
        if starting and self.runtime is not None:
            reason = self.runtime.start(pod)
            if reason:
                for container in pod["status"]["containerStatuses"]:
                    container["state"] = {"waiting": {"reason": reason}}
                pod = self.store.save("pods", pod)
        return pod

    def _node_ip(self, node: str) -> str:
        for candidate in self.store.live("nodes"):
            if candidate["metadata"]["name"] == node:
                addresses = dig(candidate, "status.addresses", [])
                return next((a["address"] for a in addresses if a.get("type") == "InternalIP"), "10.0.0.1")
        return "10.0.0.1"
