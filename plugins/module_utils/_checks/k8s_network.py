# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 2, High Availability, where no linter looks (Polaris, kube-score and Popeye have none of these): replicas
that share a ReadWriteOnce claim cannot run on two nodes; NetworkPolicies that cut the Aragora pods off their DNS,
databases, AI providers, Ingress controller or Prometheus; a WebSocket port no Service or Ingress exposes."""

from __future__ import annotations

import re
import typing as t
import urllib.parse

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import network_policy as netpol
from ansible_collections.aragora.ops.plugins.module_utils._checks.certificates import aragora_ingresses
from ansible_collections.aragora.ops.plugins.module_utils._checks.ha import SECTION, desired_replicas
from ansible_collections.aragora.ops.plugins.module_utils._checks.k8s_cluster import (
    app_container,
    aragora_services,
    cluster,
    listing,
    name_of,
    resolve_env,
    snapshot,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import K8sError, Snapshot, selector_matches
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import failed, passed, warned
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SINGLE_NODE_MODES = ("ReadWriteOnce", "ReadWriteOncePod")
WS_DEFAULT_PORT = 8765  # aragora.server --port
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
REDIS_VARIABLES = ("ARAGORA_REDIS_URL", "REDIS_URL")
DSN_VARIABLES = ("DATABASE_URL", "ARAGORA_POSTGRES_DSN")
_WS_PORT_ARG = re.compile(r"--port[= ](\d+)")


# --- 11: one ReadWriteOnce claim under several replicas ---------------------------------------------------------------

@check("ha.volume_access", SECTION, "Replicas can run on distinct nodes (volumes)",
       "Give each replica its own storage (a StatefulSet with volumeClaimTemplates), use a ReadWriteMany claim, or "
       "keep shared state out of the pods (PostgreSQL, Redis, object storage) and drop the claim from the Deployment.",
       proves="No ReadWriteOnce claim mounted under several replicas (the replicas or the HPA's `maxReplicas`).")
def volume_access(ctx: TargetContext):
    snap = snapshot(ctx)
    claims = {v.get("name"): (v.get("persistentVolumeClaim") or {}).get("claimName")
              for v in (snap.template.get("spec") or {}).get("volumes") or [] if v.get("persistentVolumeClaim")}
    replicas = max(desired_replicas(snap), *[int((h.get("spec") or {}).get("maxReplicas") or 0)
                                             for h in listing(snap, "hpas")
                                             if ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name")
                                             == snap.name] or [0])
    pvcs = {name_of(item): item for item in listing(snap, "pvcs")}
    evidence: dict[str, t.Any] = {"claims": {}, "replicas_up_to": replicas}
    single: list[str] = []
    missing: list[str] = []
    for volume, claim in claims.items():
        pvc = pvcs.get(claim)
        if pvc is None:
            missing.append(claim)
            evidence["claims"][claim] = "not found"
            continue
        modes = (pvc.get("spec") or {}).get("accessModes") or []
        evidence["claims"][claim] = modes
        if modes and all(mode in SINGLE_NODE_MODES for mode in modes):
            single.append("%s (volume %s, %s)" % (claim, volume, "/".join(modes)))
    if single and replicas > 1:
        return failed("Deployment %s runs up to %d replicas that all mount the single-node claim %s: they cannot run "
                      "on two nodes (Multi-Attach error) or are all forced onto one, so the replicas are no high "
                      "availability" % (snap.name, replicas, ", ".join(single)), **evidence)
    if missing:
        where = "the %s" % snap.target if not snap.live else "namespace %s" % snap.namespace
        return (warned if not snap.live else failed)(
            "Deployment %s mounts claim(s) %s that %s does not hold%s" % (
                snap.name, ", ".join(missing), where,
                "" if not snap.live else ": its pods stay Pending"), **evidence)
    if not claims:
        return passed("Deployment %s mounts no PersistentVolumeClaim: nothing ties its replicas to one node"
                      % snap.name, **evidence)
    return passed("The claims of Deployment %s let its replicas run on distinct nodes: %s" % (
        snap.name, ", ".join("%s (%s)" % (k, "/".join(v)) for k, v in evidence["claims"].items())), **evidence)


# --- 12: NetworkPolicies that cut Aragora off -------------------------------------------------------------------------

def _namespace_labels(snap: Snapshot) -> tuple[dict[str, dict], bool]:
    """(namespace -> labels, whether those are all of them) from the namespaces listing."""
    try:
        found = snap.items("namespaces")
    except K8sError:
        return {}, False
    return {name_of(item): dict((item.get("metadata") or {}).get("labels") or {}) for item in found}, snap.live


def _pod_peer(description: str, namespace: str, pod_labels: dict, complete: bool, port: int | str,
              namespaces: tuple[dict[str, dict], bool], protocol: str = "TCP") -> netpol.Peer:
    known, all_known = namespaces
    labels = dict(known.get(namespace) or {})
    labels.setdefault(NAMESPACE_NAME_LABEL, namespace)  # set by the API server on every namespace
    return netpol.Peer(description, namespace, labels, all_known and namespace in known, pod_labels, complete,
                       port=port, protocol=protocol)


def _service_port(service: dict, wanted: int | str) -> int | str | None:
    """The targetPort behind Service port ``wanted`` (number or name); None when the Service has no such port."""
    for port in (service.get("spec") or {}).get("ports") or []:
        if wanted in (port.get("port"), port.get("name")):
            return port.get("targetPort", port.get("port"))
    return None


def _dependency_peer(label: str, url: str, default_port: int, snap: Snapshot,
                     namespaces: tuple[dict[str, dict], bool]) -> netpol.Peer:
    """The peer a connection URL names: a Service of the cluster (its pods, by its selector) or an outside host."""
    parts = urllib.parse.urlsplit(url)
    host, port = (parts.hostname or "").lower(), parts.port or default_port
    short = re.sub(r"\.svc(\.cluster\.local)?$", "", host)
    labels = short.split(".")
    is_address = bool(re.match(r"^[\d.]+$", host)) or ":" in host
    in_cluster = not is_address and (len(labels) == 1 or short != host
                                     or (len(labels) == 2 and labels[1] in namespaces[0]))
    if not in_cluster:
        return netpol.Peer("%s at %s:%d (outside the cluster)" % (label, host, port), None,
                           address=host if is_address else None, port=port)
    name, namespace = labels[0], labels[1] if len(labels) > 1 else snap.namespace
    service = next((svc for svc in listing(snap, "services")
                    if name_of(svc) == name and namespace == snap.namespace), None)
    if service is None:
        return _pod_peer("%s (Service %s/%s, pods not known)" % (label, namespace, name), namespace, {}, False, port,
                         namespaces)
    target = _service_port(service, port)
    selector = dict((service.get("spec") or {}).get("selector") or {})
    return _pod_peer("%s (Service %s, pods %s)" % (label, name, ",".join("%s=%s" % kv for kv in selector.items())),
                     namespace, selector, False, target if isinstance(target, int) else port, namespaces)


def _named_ports(container: t.Mapping[str, t.Any]) -> dict[str, int]:
    return {p["name"]: int(p["containerPort"]) for p in container.get("ports") or [] if p.get("name")}


def _ingress_peers(snap: Snapshot, namespaces: tuple[dict[str, dict], bool]) -> list[netpol.Peer]:
    """The Ingress controller (when an Ingress routes to Aragora) and Prometheus (when a ServiceMonitor scrapes it)."""
    peers = []
    routes = [(path.get("backend") or {}).get("service") or {} for ingress in aragora_ingresses(snap)
              for rule in (ingress.get("spec") or {}).get("rules") or []
              for path in (rule.get("http") or {}).get("paths") or []]
    services = {name_of(svc): svc for svc in aragora_services(snap)}
    if routes:
        controller = next((name for name in sorted(namespaces[0]) if "ingress" in name), "ingress-nginx")
        route = next(r for r in routes if r.get("name") in services)
        port = (route.get("port") or {}).get("number") or (route.get("port") or {}).get("name")
        target = _service_port(services[route["name"]], port) or port
        peers.append(_pod_peer("the Ingress controller (namespace %s) on port %s" % (controller, target), controller,
                               {}, False, target, namespaces))
    if not snap.missing("service_monitors"):
        try:
            monitors = snap.items("service_monitors")
        except K8sError:
            monitors = []
        for monitor in monitors:
            spec = monitor.get("spec") or {}
            scraped = [svc for svc in services.values()
                       if selector_matches(spec.get("selector") or {}, (svc.get("metadata") or {}).get("labels"))]
            if not scraped:
                continue
            endpoint = (spec.get("endpoints") or [{}])[0]
            port = endpoint.get("targetPort") or _service_port(scraped[0], endpoint.get("port")) or endpoint.get("port")
            where = (monitor.get("metadata") or {}).get("namespace") or snap.namespace
            peers.append(_pod_peer("Prometheus (namespace %s, ServiceMonitor %s) on port %s" % (
                where, name_of(monitor), port), where, {}, False, port, namespaces))
            break
    return peers


@check("ha.network_policies", SECTION, "NetworkPolicies let Aragora reach what it needs",
       "Allow the Aragora pods egress to DNS (kube-dns, UDP and TCP 53), PostgreSQL, Redis and the AI providers "
       "(TCP 443), and ingress from the Ingress controller and Prometheus on the container's ports; mind that "
       "kustomize commonLabels add the common labels to the policies' pod selectors too.",
       proves="The NetworkPolicies selecting the pods let them reach DNS, PostgreSQL, Redis and the AI providers on "
              "443, and be reached by the Ingress controller and Prometheus; a peer known only in part WARNs.")
def network_policies(ctx: TargetContext):
    snap = snapshot(ctx)
    policies = listing(snap, "network_policies")
    labels = snap.pod_labels
    container = app_container(snap, ctx.options.k8s_container)
    selecting = {direction: [name_of(p) for p in netpol.selecting(policies, snap.namespace, labels, direction)]
                 for direction in ("Ingress", "Egress")}
    evidence: dict[str, t.Any] = {"policies_selecting_pods": selecting, "paths": {}}
    if not selecting["Ingress"] and not selecting["Egress"]:
        return passed("No NetworkPolicy selects the pods of Deployment %s: their traffic is not restricted"
                      % snap.name, **evidence)
    namespaces = _namespace_labels(snap)
    try:
        values = resolve_env(cluster(ctx), snap.namespace, container)[0]
    except K8sError:
        values = {}
    egress = [_pod_peer("DNS (kube-dns in kube-system, UDP 53)", "kube-system", {"k8s-app": "kube-dns"}, True, 53,
                        namespaces, "UDP")]
    for label, names, port in (("PostgreSQL", DSN_VARIABLES, 5432), ("Redis", REDIS_VARIABLES, 6379)):
        url = next((values[name] for name in names if values.get(name)), None)
        if url:
            egress.append(_dependency_peer(label, url, port, snap, namespaces))
    egress.append(netpol.Peer("the AI providers (HTTPS, TCP 443)", None, port=443))
    outcomes: list[tuple[str, str, str]] = []
    for peer in egress:
        outcomes.append(("to " + peer.description,) + netpol.verdict(policies, snap.namespace, labels, "Egress", peer))
    for peer in _ingress_peers(snap, namespaces):
        outcomes.append(("from " + peer.description,) + netpol.verdict(
            policies, snap.namespace, labels, "Ingress", peer, _named_ports(container)))
    evidence["paths"] = {what: "%s: %s" % (state, why) for what, state, why in outcomes}
    denied = ["%s (%s)" % (what, why) for what, state, why in outcomes if state == netpol.DENIED]
    unknown = ["%s (%s)" % (what, why) for what, state, why in outcomes if state == netpol.UNKNOWN]
    if denied:
        return failed("NetworkPolicies cut the Aragora pods off: %s" % "; ".join(denied), **evidence)
    if unknown:
        return warned("NetworkPolicies may cut the Aragora pods off: %s" % "; ".join(unknown),
                      "Check the labels of the peers the policies name (kubectl get pods --show-labels -A, kubectl "
                      "get ns --show-labels), or allow them explicitly.", **evidence)
    return passed("NetworkPolicies (%s) let the Aragora pods through: %s" % (
        ", ".join(sorted(set(selecting["Ingress"] + selecting["Egress"]))),
        "; ".join(what for what, _state, _why in outcomes)), **evidence)


# --- 13: the WebSocket port ---------------------------------------------------------------------------------------------

def websocket_port(container: t.Mapping[str, t.Any]) -> int:
    """The port aragora.server listens for WebSocket on: its --port argument, else 8765."""
    found = _WS_PORT_ARG.search(" ".join(str(p) for p in (container.get("command") or []) + (container.get("args") or [])))
    return int(found.group(1)) if found else WS_DEFAULT_PORT


@check("ha.websocket_route", SECTION, "WebSocket port exposed",
       "Expose the WebSocket port (aragora.server --port, 8765 by default) as a Service port and route a path of the "
       "Ingress to it (Aragora serves WebSocket on its own port: /ws on the HTTP port is 404).",
       proves="The WebSocket port (`--port`, 8765 by default) is exposed by a Service and routed by the Ingress.")
def websocket_route(ctx: TargetContext):
    snap = snapshot(ctx)
    container = app_container(snap, ctx.options.k8s_container)
    ws_port = websocket_port(container)
    names = {name for name, number in _named_ports(container).items() if number == ws_port}
    exposing: dict[str, list[t.Any]] = {}
    services = aragora_services(snap)
    for svc in services:
        for port in (svc.get("spec") or {}).get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            if target == ws_port or target in names or str(target) == str(ws_port):
                exposing.setdefault(name_of(svc), []).extend(p for p in (port.get("port"), port.get("name")) if p)
    evidence: dict[str, t.Any] = {"websocket_port": ws_port, "services": [name_of(s) for s in services],
                                  "service_ports": exposing}
    if not exposing:
        return failed("No Service port of %s reaches the WebSocket port %d of Deployment %s: no client can open a "
                      "WebSocket" % (", ".join(evidence["services"]) or "(no Service)", ws_port, snap.name), **evidence)
    ingresses = aragora_ingresses(snap)
    routed = []
    for ingress in ingresses:
        for rule in (ingress.get("spec") or {}).get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                backend = (path.get("backend") or {}).get("service") or {}
                port = backend.get("port") or {}
                if port.get("number") in exposing.get(backend.get("name"), []) or \
                        port.get("name") in exposing.get(backend.get("name"), []):
                    routed.append("%s %s%s" % (name_of(ingress), rule.get("host") or "*", path.get("path") or "/"))
    evidence["ingress_routes"] = routed
    if routed:
        return passed("WebSocket port %d is exposed by Service %s and routed by Ingress %s"
                      % (ws_port, ", ".join(exposing), ", ".join(routed)), **evidence)
    outside = [name_of(s) for s in services if (s.get("spec") or {}).get("type") in ("LoadBalancer", "NodePort")
               and name_of(s) in exposing]
    if outside:
        return passed("WebSocket port %d is exposed outside the cluster by Service %s (%s)" % (
            ws_port, ", ".join(outside), (services[0].get("spec") or {}).get("type")), **evidence)
    if ingresses:
        return failed("Ingress %s routes no path to the WebSocket Service port (%s): clients cannot connect to "
                      "wss://" % (", ".join(name_of(i) for i in ingresses), ", ".join(
                          "%s:%s" % (k, "/".join(str(p) for p in v)) for k, v in exposing.items())), **evidence)
    return failed("Service %s exposes WebSocket port %d inside the cluster only: no Ingress routes to Aragora and no "
                  "Service is a LoadBalancer or NodePort" % (", ".join(exposing), ws_port), **evidence)
