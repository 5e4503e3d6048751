# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 9, Resource Limits, on Kubernetes: requests and limits, probes and image tags of the Deployment's
containers (the limits the server enforces itself are the ``limits`` group)."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._checks.k8s_cluster import image_tag, snapshot
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import Outcome, failed, passed
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "9"
RESOURCES = ("cpu", "memory")


def _judge_every_container(ctx: TargetContext, inspect: t.Callable[[dict], tuple[dict, list[str]]],
                           evidence_key: str, lacking: str, having: str) -> Outcome:
    """PASS when no container of the Deployment lacks anything ``inspect`` looks for, else a FAIL naming each
    'container: item'; ``inspect`` answers (what the container has, what it lacks)."""
    seen: dict[str, dict] = {}
    missing: list[str] = []
    for container in snapshot(ctx).containers:
        name = container.get("name", "?")
        seen[name], lacks = inspect(container)
        missing.extend("%s: %s" % (name, item) for item in lacks)
    evidence = {evidence_key: seen, "missing": missing}
    if missing:
        return failed("%s: %s" % (lacking, ", ".join(missing)), **evidence)
    return passed("Every container (%d) %s" % (len(seen), having), **evidence)


@check("resources.requests_limits", SECTION, "CPU and memory limits set",
       "Give every container CPU and memory requests and limits (the checklist: requests 500m/512Mi, limits "
       "2000m/2Gi).",
       proves="CPU and memory requests and limits on every container.")
def requests_limits(ctx: TargetContext):
    def inspect(container: dict) -> tuple[dict, list[str]]:
        resources = container.get("resources") or {}
        has = {kind: resources.get(kind) or {} for kind in ("requests", "limits")}
        return has, ["%s.%s" % (kind, resource) for kind in has for resource in RESOURCES
                     if not has[kind].get(resource)]

    return _judge_every_container(ctx, inspect, "containers", "Container resources not set",
                                  "sets CPU and memory requests and limits")


@check("resources.probes", SECTION, "Liveness and readiness probes",
       "Give every container a livenessProbe (Aragora: GET /healthz) and a readinessProbe (GET /readyz).",
       proves="Liveness and readiness probes on every container.")
def probes(ctx: TargetContext):
    def inspect(container: dict) -> tuple[dict, list[str]]:
        has: dict[str, str] = {}
        for probe in ("livenessProbe", "readinessProbe"):
            spec = container.get(probe)
            if spec:
                has[probe] = (spec.get("httpGet") or {}).get("path") or (
                    "exec" if "exec" in spec else "tcpSocket" if "tcpSocket" in spec else "grpc")
        return has, [probe for probe in ("livenessProbe", "readinessProbe") if probe not in has]

    return _judge_every_container(ctx, inspect, "probes", "Probes missing", "has liveness and readiness probes")


@check("resources.image_tag", SECTION, "No latest image tag",
       "Deploy a fixed release tag (for example aragora:2.11.1) or a digest, never latest or an untagged image.",
       proves="No `latest` or untagged image (a digest is fine).")
def image_tags(ctx: TargetContext):
    snap = snapshot(ctx)
    bad: list[str] = []
    images: dict[str, str] = {}
    for container in snap.containers:
        image = container.get("image") or ""
        images[container.get("name", "?")] = image
        tag, pinned = image_tag(image)
        if not pinned and tag in (None, "latest"):
            bad.append("%s (%s)" % (image, "latest" if tag else "no tag: latest is implied"))
    evidence = {"images": images}
    if bad:
        return failed("Floating image tag: %s" % ", ".join(bad), **evidence)
    return passed("Images are pinned: %s" % ", ".join(sorted(set(images.values()))), **evidence)
