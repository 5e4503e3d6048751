# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 2, High Availability, on Kubernetes: the Deployment's replicas and rollout strategy, the HPA that scales
it and the PDB that protects it (found by what they target and select, not by name: upstream manifests name them
inconsistently), its anti-affinity or topology spread, and where its ready pods actually run (nodes and zones), which
the static checkers (Polaris, kube-score) do not look at.
"""

from __future__ import annotations

import math
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._checks.k8s_cluster import (
    condition,
    could_not_read,
    condition_true,
    listing,
    live_state,
    name_of,
    snapshot,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import (
    HOSTNAME_KEY,
    ZONE_KEYS,
    K8sError,
    Snapshot,
    selector_matches,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    CheckSkipped,
    failed,
    passed,
    warned,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "2"
SPREAD_KEYS = (HOSTNAME_KEY,) + ZONE_KEYS


def _spec(snap: Snapshot) -> dict:
    return snap.deployment.get("spec") or {}


def desired_replicas(snap: Snapshot) -> int:
    replicas = _spec(snap).get("replicas")
    return 1 if replicas is None else int(replicas)  # the API's default


def scaled(value: t.Any, total: int, round_up: bool) -> int | None:
    """An IntOrString (3, '25%') against ``total``, as the controllers compute it; None when unreadable."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        try:
            share = float(text[:-1]) * total / 100
        except ValueError:
            return None
        return int(math.ceil(share) if round_up else math.floor(share))
    try:
        return int(text)
    except ValueError:
        return None


def ready_pods(snap: Snapshot) -> list[dict]:
    """The Deployment's pods that are Ready and not being deleted (SKIP on rendered manifests: they have no pods)."""
    live_state(snap, "where the Deployment's pods run")
    try:
        pods = snap.owned_pods()
    except K8sError as exc:
        raise could_not_read(exc) from None
    return [pod for pod in pods
            if condition_true(pod, "Ready") and not (pod.get("metadata") or {}).get("deletionTimestamp")]


@check("ha.replicas", SECTION, "Minimum 2 replicas",
       "Set spec.replicas to 2 or more (the checklist's manifest has 3), and find why replicas are not ready: "
       "kubectl describe deploy/aragora and kubectl get pods -o wide (pending pods, failing probes, crash loops).",
       proves="`spec.replicas` >= 2 (`min_replicas`) and as many ready and available; a rollout stalled with "
              "ProgressDeadlineExceeded FAILs, one in progress WARNs.")
def replicas(ctx: TargetContext):
    snap = snapshot(ctx)
    minimum = int(ctx.threshold("min_replicas"))
    status = snap.deployment.get("status") or {}
    desired = desired_replicas(snap)
    if not snap.live:
        if desired < minimum:
            return failed("Deployment %s asks for %d replica(s) in the %s: fewer than %d, so one pod's loss is an "
                          "outage" % (snap.name, desired, snap.target, minimum), desired=desired, minimum=minimum)
        return passed("Deployment %s asks for %d replicas in the %s (how many are ready is live state)"
                      % (snap.name, desired, snap.target), desired=desired, minimum=minimum)
    ready = int(status.get("readyReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    evidence = {"deployment": "%s/%s" % (snap.namespace, snap.name), "desired": desired, "ready": ready,
                "available": available, "updated": int(status.get("updatedReplicas") or 0), "minimum": minimum}
    if desired < minimum:
        return failed("Deployment %s wants %d replica(s): fewer than %d, so one pod's loss is an outage"
                      % (snap.name, desired, minimum), **evidence)
    if ready < desired or available < desired:
        return failed("Deployment %s has %d ready and %d available of %d desired replicas"
                      % (snap.name, ready, available, desired), **evidence)
    progressing = condition(snap.deployment, "Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return failed("Deployment %s has %d replicas ready, but its rollout stalled (ProgressDeadlineExceeded: %s)"
                      % (snap.name, ready, progressing.get("message") or "no progress"),
                      "Find why the new pods do not become ready (kubectl describe pods, kubectl logs), then fix the "
                      "image or roll back (kubectl rollout undo deploy/aragora).", **evidence)
    if evidence["updated"] < desired:
        return warned("Deployment %s has %d ready replicas, %d of %d on the current template: a rollout is in progress"
                      % (snap.name, ready, evidence["updated"], desired),
                      "Wait for the rollout to finish (kubectl rollout status) before going live.", **evidence)
    return passed("Deployment %s has %d of %d replicas ready and available" % (snap.name, ready, desired), **evidence)


@check("ha.rolling_update", SECTION, "Rolling update without unavailability",
       "Set spec.strategy to RollingUpdate with maxUnavailable: 0 and maxSurge: 1, as in the checklist's manifest.",
       proves="`RollingUpdate` with `maxUnavailable` 0 (or 0 %); the default 25 % and `Recreate` FAIL.")
def rolling_update(ctx: TargetContext):
    snap = snapshot(ctx)
    strategy = _spec(snap).get("strategy") or {}
    kind = strategy.get("type") or "RollingUpdate"
    rolling = strategy.get("rollingUpdate") or {}
    max_unavailable = rolling.get("maxUnavailable", "25%")  # the API's defaults
    max_surge = rolling.get("maxSurge", "25%")
    evidence = {"type": kind, "maxUnavailable": max_unavailable, "maxSurge": max_surge}
    if kind != "RollingUpdate":
        return failed("Deployment %s uses the %s strategy: every pod stops before the new ones start" % (snap.name, kind),
                      **evidence)
    # Judged for any replica count, since the HPA changes it: 25% of 3 rounds down to 0, of 4 it is 1.
    unavailable = scaled(max_unavailable, 1000, round_up=False)
    if unavailable != 0:
        default = "" if "maxUnavailable" in rolling else " (the default)"
        return failed("RollingUpdate maxUnavailable is %s%s: a rollout may take serving pods down before their "
                      "replacements are ready" % (max_unavailable, default), **evidence)
    return passed("RollingUpdate with maxUnavailable 0 and maxSurge %s" % max_surge, **evidence)


def _targets(hpa: dict, snap: Snapshot) -> bool:
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    return ref.get("kind") == "Deployment" and ref.get("name") == snap.name and \
        str(ref.get("apiVersion") or "apps/v1").split("/", maxsplit=1)[0] in ("apps", "extensions")


@check("ha.hpa", SECTION, "HPA configured",
       "Create a HorizontalPodAutoscaler whose scaleTargetRef is this Deployment (apps/v1, kind Deployment), with "
       "minReplicas of 2 or more.",
       proves="An HPA whose `scaleTargetRef` is this Deployment, `minReplicas` >= 2, its ScalingActive and "
              "AbleToScale conditions not False; one targeting another workload FAILs naming it; two on the "
              "Deployment FAIL.")
def hpa(ctx: TargetContext):
    snap = snapshot(ctx)
    minimum = int(ctx.threshold("min_replicas"))
    hpas = listing(snap, "hpas")
    ours = [item for item in hpas if _targets(item, snap)]
    others = ["%s (targets %s %s)" % (name_of(item), ((item.get("spec") or {}).get("scaleTargetRef") or {}).get("kind"),
                                      ((item.get("spec") or {}).get("scaleTargetRef") or {}).get("name"))
              for item in hpas if not _targets(item, snap)]
    evidence: dict[str, t.Any] = {"hpas_targeting_deployment": [name_of(item) for item in ours],
                                  "other_hpas": others}
    if not ours:
        if others:
            return failed("No HPA targets Deployment %s; the namespace's HPA(s) target other workloads: %s"
                          % (snap.name, ", ".join(others)), **evidence)
        return failed("No HorizontalPodAutoscaler in namespace %s targets Deployment %s" % (snap.namespace, snap.name),
                      **evidence)
    if len(ours) > 1:
        return failed("%d HPAs target Deployment %s (%s): they fight over its replica count"
                      % (len(ours), snap.name, ", ".join(evidence["hpas_targeting_deployment"])), **evidence)
    spec = ours[0].get("spec") or {}
    min_replicas = int(spec.get("minReplicas") or 1)
    evidence.update(hpa=name_of(ours[0]), minReplicas=min_replicas, maxReplicas=spec.get("maxReplicas"),
                    currentReplicas=(ours[0].get("status") or {}).get("currentReplicas"))
    if min_replicas < minimum:
        return failed("HPA %s lets Deployment %s scale down to %d replica(s) (minReplicas < %d)"
                      % (name_of(ours[0]), snap.name, min_replicas, minimum), **evidence)
    if not snap.live:
        return passed("HPA %s scales Deployment %s between %d and %s replicas (in the %s; whether its metrics are "
                      "served is live state)" % (name_of(ours[0]), snap.name, min_replicas, spec.get("maxReplicas"),
                                                 snap.target), **evidence)
    stuck = [(kind, condition(ours[0], kind)) for kind in ("AbleToScale", "ScalingActive")]
    stuck = [(kind, found) for kind, found in stuck if found and str(found.get("status")) == "False"]
    evidence["conditions"] = {c.get("type"): "%s (%s)" % (c.get("status"), c.get("reason"))
                              for c in (ours[0].get("status") or {}).get("conditions") or []}
    if stuck:
        return failed("HPA %s cannot scale Deployment %s: %s" % (name_of(ours[0]), snap.name, "; ".join(
            "%s=False (%s: %s)" % (kind, found.get("reason"), found.get("message") or "no message")
            for kind, found in stuck)),
            "Make the HPA's metrics available (metrics-server for cpu/memory; a custom or external metrics adapter, "
            "such as prometheus-adapter, for any other metric) or drop the metrics nothing serves: kubectl describe "
            "hpa.", **evidence)
    return passed("HPA %s scales Deployment %s between %d and %s replicas"
                  % (name_of(ours[0]), snap.name, min_replicas, spec.get("maxReplicas")), **evidence)


def allowed_disruptions(pdb: dict, expected: int) -> int | None:
    """How many of ``expected`` healthy pods the PDB lets a drain evict; None when its policy is unreadable."""
    spec = pdb.get("spec") or {}
    if spec.get("maxUnavailable") is not None:
        return scaled(spec["maxUnavailable"], expected, round_up=True)
    if spec.get("minAvailable") is not None:
        minimum = scaled(spec["minAvailable"], expected, round_up=True)
        return None if minimum is None else max(0, expected - minimum)
    return None


@check("ha.pdb", SECTION, "PDB configured",
       "Create one PodDisruptionBudget selecting the Deployment's pods that still allows a voluntary disruption, "
       "for example maxUnavailable: 1 (or minAvailable below the replica count).",
       proves="Exactly one PDB selecting the pods, allowing >= 1 voluntary disruption (computed from "
              "`minAvailable`/`maxUnavailable` and the replicas, and its live `disruptionsAllowed`); none allowed "
              "WARNs (blocks drains); two PDBs FAIL (the eviction API refuses them).")
def pdb(ctx: TargetContext):
    snap = snapshot(ctx)
    labels = snap.pod_labels
    ours = [item for item in listing(snap, "pdbs") if selector_matches((item.get("spec") or {}).get("selector"), labels)]
    names = [name_of(item) for item in ours]
    evidence: dict[str, t.Any] = {"pdbs_selecting_pods": names}
    if not ours:
        return failed("No PodDisruptionBudget in namespace %s selects the pods of Deployment %s"
                      % (snap.namespace, snap.name), **evidence)
    if len(ours) > 1:
        return failed("%d PodDisruptionBudgets select the same pods (%s): the eviction API refuses to evict pods "
                      "covered by more than one, so every node drain stalls" % (len(ours), ", ".join(names)),
                      "Keep exactly one PodDisruptionBudget for these pods and delete the others.", **evidence)
    item = ours[0]
    spec = item.get("spec") or {}
    expected = desired_replicas(snap)
    allowed = allowed_disruptions(item, expected)
    evidence.update(pdb=names[0], minAvailable=spec.get("minAvailable"), maxUnavailable=spec.get("maxUnavailable"),
                    replicas=expected, disruptions_allowed_by_policy=allowed,
                    disruptionsAllowed=(item.get("status") or {}).get("disruptionsAllowed"))
    if allowed is None:
        return failed("PodDisruptionBudget %s sets neither a usable minAvailable nor maxUnavailable" % names[0],
                      **evidence)
    if allowed < 1:
        return warned("PodDisruptionBudget %s allows no voluntary disruption of %d replica(s): it blocks every node "
                      "drain and cluster upgrade" % (names[0], expected),
                      "Allow at least one disruption: maxUnavailable: 1, or minAvailable below the replica count.",
                      **evidence)
    if expected < 2:
        return warned("PodDisruptionBudget %s lets a drain evict the only replica of Deployment %s: it protects "
                      "nothing" % (names[0], snap.name),
                      "Run 2 or more replicas, so that the budget keeps one serving while another is evicted.",
                      **evidence)
    live = (item.get("status") or {}).get("disruptionsAllowed")
    if snap.live and live is not None and int(live) < 1:
        status = item.get("status") or {}
        return warned("PodDisruptionBudget %s allows %d disruption(s) by its policy, but the disruption controller "
                      "allows none now (%s of %s desired healthy pods healthy): every drain is blocked"
                      % (names[0], allowed, status.get("currentHealthy"), status.get("desiredHealthy")),
                      "Find why pods are not healthy (kubectl get pods, kubectl describe pdb) before draining nodes.",
                      **evidence)
    return passed("PodDisruptionBudget %s allows %d voluntary disruption(s) of %d replicas"
                  % (names[0], allowed, expected), **evidence)


def _spreads_own_pods(selector: t.Any, labels: dict) -> bool:
    return isinstance(selector, dict) and selector_matches(selector, labels)


@check("ha.anti_affinity", SECTION, "Anti-affinity rules",
       "Add pod anti-affinity on topologyKey kubernetes.io/hostname selecting the Deployment's own pods, or "
       "topologySpreadConstraints over kubernetes.io/hostname or topology.kubernetes.io/zone.",
       proves="Pod anti-affinity on `kubernetes.io/hostname` (or zone) or topology spread constraints, selecting the "
              "pods themselves; required vs preferred reported, either passes.")
def anti_affinity(ctx: TargetContext):
    snap = snapshot(ctx)
    pod_spec = snap.template.get("spec") or {}
    labels = snap.pod_labels
    anti = (pod_spec.get("affinity") or {}).get("podAntiAffinity") or {}
    rules: list[str] = []
    for term in anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []:
        if term.get("topologyKey") in SPREAD_KEYS and _spreads_own_pods(term.get("labelSelector"), labels):
            rules.append("required anti-affinity on %s" % term["topologyKey"])
    for weighted in anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []:
        term = weighted.get("podAffinityTerm") or {}
        if term.get("topologyKey") in SPREAD_KEYS and _spreads_own_pods(term.get("labelSelector"), labels):
            rules.append("preferred anti-affinity on %s (weight %s)" % (term["topologyKey"], weighted.get("weight")))
    no_constraint: list[str] = []
    replicas = desired_replicas(snap)
    for constraint in pod_spec.get("topologySpreadConstraints") or []:
        if constraint.get("topologyKey") in SPREAD_KEYS and _spreads_own_pods(constraint.get("labelSelector"), labels):
            kind = "required" if constraint.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule" else "preferred"
            rule = "%s topology spread on %s (maxSkew %s)" % (kind, constraint["topologyKey"], constraint.get("maxSkew"))
            if int(constraint.get("maxSkew") or 1) >= replicas:
                no_constraint.append(rule + ": maxSkew >= %d replicas lets every pod share one domain" % replicas)
            else:
                rules.append(rule)
    evidence = {"rules": rules, "no_constraint": no_constraint}
    if not rules:
        return failed("Deployment %s has no pod anti-affinity or topology spread over hosts or zones that selects its "
                      "own pods%s: the scheduler may put every replica on one node"
                      % (snap.name, " (%s)" % "; ".join(no_constraint) if no_constraint else ""), **evidence)
    required = [rule for rule in rules if rule.startswith("required")]
    zone_spread = [rule for rule in rules if "spread on" in rule and any(key in rule for key in ZONE_KEYS)]
    if not required and not zone_spread:
        return warned("Pods are spread by preference only (%s), with no spread over zones: the scheduler may still "
                      "co-locate every pod" % "; ".join(rules),
                      "Make the host spread required (requiredDuringScheduling anti-affinity, or a topology spread "
                      "with whenUnsatisfiable: DoNotSchedule), or add a topology spread over "
                      "topology.kubernetes.io/zone.", **evidence)
    strength = "required" if required else "preferred only (the scheduler may still co-locate pods)"
    return passed("Pods are spread: %s; %s" % ("; ".join(rules), strength), **evidence)


def _placement(snap: Snapshot) -> tuple[list[dict], dict[str, dict]]:
    pods = ready_pods(snap)
    nodes = {name_of(node): (node.get("metadata") or {}).get("labels") or {} for node in listing(snap, "nodes")}
    return pods, nodes


def _zone(labels: dict) -> str | None:
    for key in ZONE_KEYS:
        if labels.get(key):
            return labels[key]
    return None


@check("ha.pod_distribution_nodes", SECTION, "Pods on distinct nodes",
       "Spread the pods (anti-affinity or topology spread on kubernetes.io/hostname) and make sure the cluster has "
       "schedulable capacity on a second node; then kubectl rollout restart the Deployment.",
       proves="Where the ready pods of the Deployment's ReplicaSets actually run: >= 2 distinct nodes.")
def pod_distribution_nodes(ctx: TargetContext):
    snap = snapshot(ctx)
    pods = ready_pods(snap)
    by_node: dict[str, list[str]] = {}
    for pod in pods:
        by_node.setdefault((pod.get("spec") or {}).get("nodeName") or "(unscheduled)", []).append(name_of(pod))
    evidence = {"ready_pods": len(pods), "pods_by_node": by_node}
    if len(by_node) < 2:
        where = "on node %s" % next(iter(by_node)) if by_node else "anywhere"
        return failed("The %d ready pod(s) of Deployment %s run %s: losing that node takes the service down"
                      % (len(pods), snap.name, where), **evidence)
    return passed("%d ready pods run on %d distinct nodes" % (len(pods), len(by_node)), **evidence)


@check("ha.pod_distribution_zones", SECTION, "Multi-zone distribution",
       "Spread the pods across zones (topologySpreadConstraints on topology.kubernetes.io/zone) and give the cluster "
       "nodes in a second zone.",
       proves="Where the ready pods actually run: >= 2 `topology.kubernetes.io/zone` values.",
       cannot_see="Zones of nodes that carry no zone label (SKIP when none does).")
def pod_distribution_zones(ctx: TargetContext):
    snap = snapshot(ctx)
    pods, nodes = _placement(snap)
    cluster_zones = sorted({zone for zone in (_zone(labels) for labels in nodes.values()) if zone})
    if not cluster_zones:
        raise CheckSkipped("the cluster's nodes carry no topology.kubernetes.io/zone label: zones are not known")
    by_zone: dict[str, int] = {}
    for pod in pods:
        zone = _zone(nodes.get((pod.get("spec") or {}).get("nodeName") or "", {})) or "(no zone)"
        by_zone[zone] = by_zone.get(zone, 0) + 1
    evidence = {"ready_pods_by_zone": by_zone, "cluster_zones": cluster_zones}
    zones = [zone for zone in by_zone if zone != "(no zone)"]
    if len(zones) < 2:
        extra = (" (the cluster's nodes are all in %s)" % cluster_zones[0]) if len(cluster_zones) == 1 else ""
        return failed("The ready pods of Deployment %s run in %s%s: a zone outage takes the service down"
                      % (snap.name, "zone " + zones[0] if zones else "no known zone", extra), **evidence)
    return passed("Ready pods run in %d zones: %s" % (len(zones), ", ".join(sorted(zones))), **evidence)
