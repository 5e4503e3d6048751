# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetworkPolicy semantics (networking.k8s.io/v1) as pure functions: may this pod send to, or receive from, that
peer on that port? Policies are additive: a pod selected by no policy of a direction is unrestricted in it; once
selected, only what some rule of some selecting policy allows passes.

What is known of a peer may be partial: a Service's selector is a subset of its pods' labels, a namespace read
without permission has only its automatic ``kubernetes.io/metadata.name`` label, an external host has no known
address. Each question is therefore answered twice, assuming the unknown in favour and against: ``allowed`` when
even the pessimistic answer allows, ``denied`` when even the optimistic one denies, ``unknown`` otherwise.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import selector_matches

ALLOWED, DENIED, UNKNOWN = "allowed", "denied", "unknown"
# An address that stands for "a public host" (TEST-NET-3: outside every private range a policy may exclude).
PUBLIC_ADDRESS = "203.0.113.50"


@dataclasses.dataclass(frozen=True)
class Peer:
    """The other end: a pod (namespace and labels) or an outside address (``namespace`` None)."""

    description: str
    namespace: str | None = None
    namespace_labels: t.Mapping[str, str] = dataclasses.field(default_factory=dict)
    namespace_labels_complete: bool = True
    pod_labels: t.Mapping[str, str] = dataclasses.field(default_factory=dict)
    pod_labels_complete: bool = True
    address: str | None = None  # an outside peer's address; None: not known
    port: int | str = 0  # the destination port (the Aragora pod's own on ingress), a number or a port name
    protocol: str = "TCP"


def _labels_match(selector: t.Mapping[str, t.Any], labels: t.Mapping[str, str], complete: bool,
                  optimistic: bool) -> bool:
    if selector_matches(selector, labels):
        return True
    if complete or not optimistic:
        return False
    # Unknown labels may satisfy the terms about keys we do not see; the terms about keys we see must still hold.
    known = {"matchLabels": {k: v for k, v in (selector.get("matchLabels") or {}).items() if k in labels},
             "matchExpressions": [e for e in selector.get("matchExpressions") or [] if e.get("key") in labels]}
    return selector_matches(known, labels)


def _in_block(block: t.Mapping[str, t.Any], address: str | None, optimistic: bool) -> bool:
    candidate = address or PUBLIC_ADDRESS
    try:
        ip = ipaddress.ip_address(candidate)
        network = ipaddress.ip_network(block.get("cidr", ""), strict=False)
        excepted = [ipaddress.ip_network(e, strict=False) for e in block.get("except") or []]
    except ValueError:
        return False
    inside = ip.version == network.version and ip in network and not any(
        ip.version == e.version and ip in e for e in excepted)
    if address is None and not optimistic:
        return inside and network.prefixlen == 0  # an unknown public host: only "anywhere (but private)" surely holds
    return inside or (address is None and optimistic)


def _peer_matches(term: t.Mapping[str, t.Any], policy_namespace: str, peer: Peer, optimistic: bool) -> bool:
    if "ipBlock" in term:
        return peer.namespace is None and _in_block(term["ipBlock"], peer.address, optimistic)
    if peer.namespace is None:
        return False  # pod and namespace selectors select pods, never outside hosts
    if "namespaceSelector" in term:
        if not _labels_match(term["namespaceSelector"] or {}, peer.namespace_labels, peer.namespace_labels_complete,
                             optimistic):
            return False
    elif peer.namespace != policy_namespace:
        return False
    if "podSelector" in term:
        return _labels_match(term["podSelector"] or {}, peer.pod_labels, peer.pod_labels_complete, optimistic)
    return True


def _port_matches(entry: t.Mapping[str, t.Any], peer: Peer, named_ports: t.Mapping[str, int]) -> bool:
    if (entry.get("protocol") or "TCP") != peer.protocol:
        return False
    if entry.get("port") is None:
        return True
    wanted = entry["port"]
    port = peer.port
    if isinstance(port, str) and port in named_ports:
        port = named_ports[port]
    if isinstance(wanted, str) and not wanted.isdigit():
        return wanted == peer.port or named_ports.get(wanted) == port
    if isinstance(port, str):
        return False
    low, high = int(wanted), int(entry.get("endPort") or wanted)
    return low <= port <= high


def selecting(policies: t.Iterable[dict], namespace: str, labels: t.Mapping[str, str], direction: str) -> list[dict]:
    """The policies of ``namespace`` that select a pod with ``labels`` for ``direction`` (Ingress or Egress)."""
    chosen = []
    for policy in policies:
        meta, spec = policy.get("metadata") or {}, policy.get("spec") or {}
        if meta.get("namespace", namespace) != namespace:
            continue
        if not selector_matches(spec.get("podSelector") or {}, labels):
            continue
        types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))
        if direction in types:
            chosen.append(policy)
    return chosen


def _allows(policies: list[dict], direction: str, peer: Peer, named_ports: t.Mapping[str, int],
            optimistic: bool) -> list[str]:
    """The names of the policies with a rule letting ``peer`` through."""
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    names = []
    for policy in policies:
        namespace = (policy.get("metadata") or {}).get("namespace", "")
        for rule in (policy.get("spec") or {}).get(key) or []:
            ports = rule.get("ports") or []
            terms = rule.get(peers_key) or []
            if ports and not any(_port_matches(entry, peer, named_ports) for entry in ports):
                continue
            if terms and not any(_peer_matches(term, namespace, peer, optimistic) for term in terms):
                continue
            names.append((policy.get("metadata") or {}).get("name", "?"))
            break
    return names


def verdict(policies: t.Iterable[dict], namespace: str, labels: t.Mapping[str, str], direction: str, peer: Peer,
            named_ports: t.Mapping[str, int] | None = None) -> tuple[str, str]:
    """(ALLOWED, DENIED or UNKNOWN, why) for traffic between the pod and ``peer`` in ``direction``."""
    chosen = selecting(policies, namespace, labels, direction)
    if not chosen:
        return ALLOWED, "no NetworkPolicy restricts %s" % direction.lower()
    names = ", ".join(p["metadata"].get("name", "?") for p in chosen)
    ports = dict(named_ports or {})
    sure = _allows(chosen, direction, peer, ports, optimistic=False)
    if sure:
        return ALLOWED, "allowed by %s" % ", ".join(sure)
    maybe = _allows(chosen, direction, peer, ports, optimistic=True)
    if maybe:
        return UNKNOWN, "%s allow(s) it only if the peer carries labels or an address not known here" % ", ".join(maybe)
    return DENIED, "no rule of %s (which select the Aragora pods for %s) allows it" % (names, direction.lower())
