"""Scenarios of the emulated cluster: sandbox/k8s/scenarios/NAME.yaml, beside this file.

`healthy_ha.yaml` holds full manifests. Every other scenario is an overlay of another, one YAML mapping:

    base: healthy_ha            # the scenario it changes
    patch: [manifest, ...]      # strategic-merge patches of base objects (matched by kind, name, namespace)
    add: [manifest, ...]        # extra objects
    remove: [{kind, name, namespace}]
    pin: {NAMESPACE/DEPLOYMENT: [node, ...]}   # where the emulated scheduler puts those pods
    faults: [{verb, resource, status, namespace, hang}]
    missing_crd_groups: [group, ...]
    broken_images: [image, ...] # pods of these images never become ready
    then_patch: [manifest, ...] # patches applied after loading, one by one (each a rollout on top of the last)

Strings like "{{ now }}", "{{ now - 2h }}", "{{ now + 70d }}" become timestamps relative to the load time.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
from typing import TYPE_CHECKING, Any

import yaml

from sandbox.k8s.objects import Obj, now, strategic_merge_patch, timestamp

if TYPE_CHECKING:
    from sandbox.k8s.emulator import EmulatedCluster

SCENARIOS = os.path.dirname(os.path.abspath(__file__))
_PLACEHOLDER = re.compile(r"\{\{\s*now\s*(?:([+-])\s*(\d+)\s*([smhd]))?\s*\}\}")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclasses.dataclass
class Scenario:
    manifests: list[Obj]
    pins: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    faults: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    missing_crd_groups: list[str] = dataclasses.field(default_factory=list)
    broken_images: list[str] = dataclasses.field(default_factory=list)
    then_patch: list[Obj] = dataclasses.field(default_factory=list)


def names() -> list[str]:
    return sorted(name[:-5] for name in os.listdir(SCENARIOS) if name.endswith(".yaml"))


def _identity(manifest: Obj, namespace: str) -> tuple[str, str, str]:
    meta = manifest.get("metadata") or manifest
    cluster_scoped = manifest["kind"] in ("Namespace", "Node", "ClusterIssuer", "CustomResourceDefinition")
    return manifest["kind"], meta["name"], "" if cluster_scoped else meta.get("namespace", namespace)


def _patch(manifests: list[Obj], patches: list[Obj], namespace: str) -> list[Obj]:
    wanted = {_identity(p, namespace): p for p in patches}
    missing = set(wanted) - {_identity(m, namespace) for m in manifests}
    if missing:
        raise ValueError(f"scenario patches objects the base does not have: {sorted(missing)}")
    return [strategic_merge_patch(m, wanted[_identity(m, namespace)]) if _identity(m, namespace) in wanted else m
            for m in manifests]


def read_manifests(path: str | os.PathLike[str]) -> list[dict]:
    """The documents of a YAML file, a ``kind: List`` (what kubectl apply -f takes as one document) flattened."""
    with open(path, encoding="utf-8") as handle:
        documents = [doc for doc in yaml.safe_load_all(handle) if doc]
    return [item for doc in documents for item in (doc["items"] if doc.get("kind") == "List" else [doc])]


def resolve(name: str, namespace: str = "aragora") -> Scenario:
    """The scenario's manifests and settings, overlays applied onto their bases (placeholders not yet resolved)."""
    documents = read_manifests(os.path.join(SCENARIOS, f"{name}.yaml"))
    if not (len(documents) == 1 and "base" in documents[0]):
        return Scenario(documents)
    overlay = documents[0]
    scenario = resolve(overlay["base"], namespace)
    removed = {_identity(r, namespace) for r in overlay.get("remove", [])}
    manifests = [m for m in scenario.manifests if _identity(m, namespace) not in removed]
    scenario.manifests = _patch(manifests, overlay.get("patch", []), namespace) + overlay.get("add", [])
    scenario.pins.update(overlay.get("pin", {}))
    scenario.faults += overlay.get("faults", [])
    scenario.missing_crd_groups += overlay.get("missing_crd_groups", [])
    scenario.broken_images += overlay.get("broken_images", [])
    scenario.then_patch += overlay.get("then_patch", [])
    return scenario


def render_times(value: Any, moment: datetime.datetime | None = None) -> Any:
    """Replace the "{{ now ± N[smhd] }}" placeholders, recursively."""
    moment = moment or now()
    if isinstance(value, dict):
        return {k: render_times(v, moment) for k, v in value.items()}
    if isinstance(value, list):
        return [render_times(v, moment) for v in value]
    if isinstance(value, str):
        def replace(match: re.Match[str]) -> str:
            delta = datetime.timedelta(**{_UNITS[match[3]]: int(match[2])}) if match[1] else datetime.timedelta()
            return timestamp(moment + delta if match[1] != "-" else moment - delta)
        return _PLACEHOLDER.sub(replace, value)
    return value


def load(cluster: EmulatedCluster, name: str) -> None:
    """Load a scenario into a started cluster."""
    scenario = resolve(name, cluster.namespace)
    for group in scenario.missing_crd_groups:
        cluster.delete_crd_group(group)
    for workload, nodes in scenario.pins.items():
        namespace, _slash, deployment = workload.partition("/")
        cluster.pin(namespace, deployment, nodes)
    for image in scenario.broken_images:
        cluster.break_image(image)
    moment = now()
    manifests = [render_times(m, moment) for m in scenario.manifests
                 if m["apiVersion"].rpartition("/")[0] not in scenario.missing_crd_groups]
    cluster.apply(manifests)
    current = {_identity(m, cluster.namespace): m for m in manifests}
    for patch in scenario.then_patch:  # one at a time: two patches of one Deployment are two rollouts
        identity = _identity(patch, cluster.namespace)
        manifest = strategic_merge_patch(current[identity], render_times(patch, moment))
        manifest.pop("status", None)  # a rollout changes the spec; the controllers write the status
        current[identity] = manifest
        cluster.apply([manifest])
    for fault in scenario.faults:
        if fault.get("hang"):
            cluster.hang(fault["verb"], fault["resource"], fault["hang"], fault.get("namespace"))
        else:
            cluster.fail(fault["verb"], fault["resource"], fault.get("status", 403), fault.get("namespace"))
