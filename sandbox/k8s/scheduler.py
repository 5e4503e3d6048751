"""The emulated cluster's scheduler and volume attachment: where a new pod may run, and whether it can start there.

Honoured, as kube-scheduler and the kubelet do: nodeSelector (by the controllers' node list), required pod
anti-affinity (requiredDuringSchedulingIgnoredDuringExecution, same namespace unless the term names others), topology
spread constraints with whenUnsatisfiable: DoNotSchedule, PersistentVolumeClaims that do not exist (Pending) and
ReadWriteOncePod claims already in use (Pending). A ReadWriteOnce claim attached on another node does not stop
scheduling (it does not on a real cluster either): the pod is placed, then stays ContainerCreating with the kubelet's
Multi-Attach error. Not emulated: resources and node capacity, taints and tolerations, node affinity, preferred terms
(they only weigh), inter-pod affinity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.k8s.objects import Obj, dig, labels_match, selector_requirements

Store = Any  # the API server's store: live(resource, namespace) -> list of objects


def _matches(selector: Obj | None, labels: dict[str, str] | None) -> bool:
    return selector is not None and labels_match(selector_requirements(selector), labels or {})


def _placed(store: Store, namespaces: set[str] | None) -> list[Obj]:
    """Pods bound to a node and not being deleted (of these namespaces; all when None)."""
    return [pod for pod in store.live("pods") if dig(pod, "spec.nodeName")
            and not pod["metadata"].get("deletionTimestamp")
            and (namespaces is None or pod["metadata"]["namespace"] in namespaces)]


def _claims(template: Obj) -> list[str]:
    return [v["persistentVolumeClaim"]["claimName"] for v in dig(template, "spec.volumes", []) or []
            if (v.get("persistentVolumeClaim") or {}).get("claimName")]


def _claim_users(store: Store, namespace: str, claim: str) -> list[Obj]:
    return [pod for pod in _placed(store, {namespace}) if claim in _claims(pod)]


def filter_nodes(store: Store, template: Obj, namespace: str, nodes: list[Obj]) -> tuple[list[Obj], str | None]:
    """(the nodes the pod may be scheduled on, kube-scheduler's message when there is none)."""
    labels = dig(template, "metadata.labels", {}) or {}
    total = len(nodes)
    if not nodes:
        return [], "0/0 nodes are available: no node matches the pod's node selector."
    for claim in _claims(template):
        pvc = next((p for p in store.live("persistentvolumeclaims", namespace) if p["metadata"]["name"] == claim), None)
        if pvc is None:
            return [], f'0/{total} nodes are available: persistentvolumeclaim "{claim}" not found.'
        if "ReadWriteOncePod" in (dig(pvc, "spec.accessModes", []) or []) and _claim_users(store, namespace, claim):
            return [], (f"0/{total} nodes are available: {total} node(s) unavailable due to PersistentVolumeClaim "
                        f'with ReadWriteOncePod access mode ("{claim}" is in use).')
    by_name = {n["metadata"]["name"]: n for n in store.live("nodes")}

    def domain(node_name: str, key: str) -> str | None:
        return (by_name.get(node_name, {}).get("metadata", {}).get("labels") or {}).get(key)

    kept = list(nodes)
    for term in dig(template, "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution", []) or []:
        key = term.get("topologyKey", "")
        namespaces = set(term.get("namespaces") or [namespace])
        taken = {domain(p["spec"]["nodeName"], key) for p in _placed(store, namespaces)
                 if _matches(term.get("labelSelector"), p["metadata"].get("labels"))}
        before = len(kept)
        kept = [n for n in kept if (n["metadata"].get("labels") or {}).get(key) not in taken]
        if not kept:
            return [], f"0/{total} nodes are available: {before} node(s) didn't match pod anti-affinity rules."
    for constraint in dig(template, "spec.topologySpreadConstraints", []) or []:
        if constraint.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
            continue
        key, skew = constraint.get("topologyKey", ""), int(constraint.get("maxSkew") or 1)
        domains = {(n["metadata"].get("labels") or {}).get(key) for n in nodes} - {None}
        counts = {d: 0 for d in domains}
        for pod in _placed(store, {namespace}):
            value = domain(pod["spec"]["nodeName"], key)
            if value in counts and _matches(constraint.get("labelSelector"), pod["metadata"].get("labels")):
                counts[value] += 1
        lowest = min(counts.values(), default=0)
        before = len(kept)
        kept = [n for n in kept if (n["metadata"].get("labels") or {}).get(key) in counts
                and counts[(n["metadata"].get("labels") or {})[key]] + 1 - lowest <= skew]
        if not kept:
            return [], f"0/{total} nodes are available: {before} node(s) didn't match pod topology spread constraints."
    return kept, None


def attach_error(store: Store, template: Obj, namespace: str, node: str) -> str | None:
    """The kubelet's Multi-Attach error when a ReadWriteOnce claim of the pod is in use on another node."""
    for claim in _claims(template):
        pvc = next((p for p in store.live("persistentvolumeclaims", namespace) if p["metadata"]["name"] == claim), None)
        modes = dig(pvc, "spec.accessModes", []) if pvc else []
        if modes and all(mode in ("ReadWriteOnce", "ReadWriteOncePod") for mode in modes):
            elsewhere = sorted({p["spec"]["nodeName"] for p in _claim_users(store, namespace, claim)} - {node})
            if elsewhere:
                return (f'Multi-Attach error for volume "pvc-{claim}" Volume is already used by pod(s) on node '
                        f'{", ".join(elsewhere)}')
    return None


def choose(store: Store, template: Obj, namespace: str, nodes: list[Obj], pick: Callable[[list[str]], str]
           ) -> tuple[str | None, str | None]:
    """(the node for a new pod or None, why none)."""
    kept, why = filter_nodes(store, template, namespace, nodes)
    if not kept:
        return None, why
    return pick([n["metadata"]["name"] for n in kept]), None
