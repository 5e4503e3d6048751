"""Server-side printing (meta.k8s.io/v1 Table): kubectl asks for it and prints only NAME and AGE without it."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from sandbox.k8s.objects import Obj, dig, now, selector_string

Column = tuple[str, int, Callable[[Obj], Any]]  # header, priority (1: only with -o wide), cell


def age(obj: Obj) -> str:
    created = datetime.datetime.strptime(obj["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    seconds = int((now() - created.replace(tzinfo=datetime.timezone.utc)).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _pod_status(pod: Obj) -> str:
    waiting = [s["state"]["waiting"].get("reason") for s in dig(pod, "status.containerStatuses", [])
               if "waiting" in s.get("state", {})]
    return waiting[0] if waiting else dig(pod, "status.phase", "Unknown")


def _ready(pod: Obj) -> str:
    statuses = dig(pod, "status.containerStatuses", [])
    return f"{sum(bool(s.get('ready')) for s in statuses)}/{len(dig(pod, 'spec.containers', []))}"


def _containers(path: str, field: str) -> Callable[[Obj], str]:
    return lambda obj: ",".join(str(c.get(field, "")) for c in dig(obj, path, []))


def _node_status(node: Obj) -> str:
    ready = next((c for c in dig(node, "status.conditions", []) if c.get("type") == "Ready"), {})
    status = "Ready" if ready.get("status") == "True" else "NotReady"
    return status + (",SchedulingDisabled" if dig(node, "spec.unschedulable") else "")


def _target(hpa: Obj) -> str:
    ref = dig(hpa, "spec.scaleTargetRef", {})
    return f"{ref.get('kind')}/{ref.get('name')}"


NAME: Column = ("Name", 0, lambda o: o["metadata"]["name"])
AGE: Column = ("Age", 0, age)
COLUMNS: dict[str, list[Column]] = {
    "pods": [NAME, ("Ready", 0, _ready), ("Status", 0, _pod_status),
             ("Restarts", 0, lambda p: sum(s.get("restartCount", 0) for s in dig(p, "status.containerStatuses", []))),
             AGE, ("IP", 1, lambda p: dig(p, "status.podIP", "<none>")),
             ("Node", 1, lambda p: dig(p, "spec.nodeName", "<none>"))],
    "deployments": [NAME, ("Ready", 0, lambda d: f"{dig(d, 'status.readyReplicas', 0)}/{dig(d, 'spec.replicas', 1)}"),
                    ("Up-to-date", 0, lambda d: dig(d, "status.updatedReplicas", 0)),
                    ("Available", 0, lambda d: dig(d, "status.availableReplicas", 0)), AGE,
                    ("Containers", 1, _containers("spec.template.spec.containers", "name")),
                    ("Images", 1, _containers("spec.template.spec.containers", "image")),
                    ("Selector", 1, lambda d: selector_string(dig(d, "spec.selector")))],
    "replicasets": [NAME, ("Desired", 0, lambda r: dig(r, "spec.replicas", 1)),
                    ("Current", 0, lambda r: dig(r, "status.replicas", 0)),
                    ("Ready", 0, lambda r: dig(r, "status.readyReplicas", 0)), AGE,
                    ("Images", 1, _containers("spec.template.spec.containers", "image"))],
    "nodes": [NAME, ("Status", 0, _node_status), ("Roles", 0, lambda n: "<none>"), AGE,
              ("Version", 0, lambda n: dig(n, "status.nodeInfo.kubeletVersion", "")),
              ("Internal-IP", 1, lambda n: next((a["address"] for a in dig(n, "status.addresses", [])), "<none>"))],
    "horizontalpodautoscalers": [NAME, ("Reference", 0, _target),
                                 ("MinPods", 0, lambda h: dig(h, "spec.minReplicas", 1)),
                                 ("MaxPods", 0, lambda h: dig(h, "spec.maxReplicas", "")),
                                 ("Replicas", 0, lambda h: dig(h, "status.currentReplicas", 0)), AGE],
    "poddisruptionbudgets": [NAME, ("Min Available", 0, lambda p: dig(p, "spec.minAvailable", "N/A")),
                             ("Max Unavailable", 0, lambda p: dig(p, "spec.maxUnavailable", "N/A")),
                             ("Allowed Disruptions", 0, lambda p: dig(p, "status.disruptionsAllowed", 0)), AGE],
}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def table(plural: str, objects: list[Obj], resource_version: str) -> Obj | None:
    """The Table of these objects, or None for kinds without columns here (kubectl then prints NAME and AGE)."""
    columns = COLUMNS.get(plural)
    if columns is None:
        return None
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [{"name": header, "type": "string", "format": "name" if header == "Name" else "",
                               "description": "", "priority": priority} for header, priority, _cell in columns],
        "rows": [{"cells": [cell(obj) for _header, _priority, cell in columns],
                  "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj["metadata"]}} for obj in objects],
    }
