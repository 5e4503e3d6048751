# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 9, Resource Limits, on Kubernetes: requests and limits, probes and image tags of the Deployment's
containers (the limits the server enforces itself are the ``limits`` group)."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._checks.kube import image_tag, snapshot
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import failed, passed
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "9"
RESOURCES = ("cpu", "memory")


@check("resources.requests_limits", SECTION, "CPU and memory limits set",
       "Give every container CPU and memory requests and limits (the checklist: requests 500m/512Mi, limits "
       "2000m/2Gi).",
       proves="CPU and memory requests and limits on every container.")
def requests_limits(ctx: TargetContext):
    snap = snapshot(ctx)
    missing: list[str] = []
    seen: dict[str, dict] = {}
    for container in snap.containers:
        resources = container.get("resources") or {}
        seen[container.get("name", "?")] = {"requests": resources.get("requests") or {},
                                            "limits": resources.get("limits") or {}}
        for kind in ("requests", "limits"):
            for resource in RESOURCES:
                if not (resources.get(kind) or {}).get(resource):
                    missing.append("%s: %s.%s" % (container.get("name", "?"), kind, resource))
    evidence = {"containers": seen, "missing": missing}
    if missing:
        return failed("Container resources not set: %s" % ", ".join(missing), **evidence)
    return passed("Every container (%d) sets CPU and memory requests and limits" % len(seen), **evidence)


@check("resources.probes", SECTION, "Liveness and readiness probes",
       "Give every container a livenessProbe (Aragora: GET /healthz) and a readinessProbe (GET /readyz).",
       proves="Liveness and readiness probes on every container.")
def probes(ctx: TargetContext):
    snap = snapshot(ctx)
    missing: list[str] = []
    seen: dict[str, dict] = {}
    for container in snap.containers:
        name = container.get("name", "?")
        seen[name] = {}
        for probe in ("livenessProbe", "readinessProbe"):
            spec = container.get(probe)
            if not spec:
                missing.append("%s: %s" % (name, probe))
                continue
            http = spec.get("httpGet") or {}
            seen[name][probe] = http.get("path") or ("exec" if "exec" in spec else
                                                     "tcpSocket" if "tcpSocket" in spec else "grpc")
    evidence = {"probes": seen, "missing": missing}
    if missing:
        return failed("Probes missing: %s" % ", ".join(missing), **evidence)
    return passed("Every container (%d) has liveness and readiness probes" % len(seen), **evidence)


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
