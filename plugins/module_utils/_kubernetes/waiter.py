# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting on a Deployment (as kubernetes.core's ``k8s/waiter.py``): one poll loop behind every wait of the
collection, with an injectable clock and sleep, and the Deployment calls the waits are made of (scale it, its pods,
its available replicas). Every call goes through ``Cluster.request``, so each is bounded by the client's timeout
and fails as a K8sError that names it. No Ansible here."""

from __future__ import annotations

import dataclasses
import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import (
    DEPLOYMENTS,
    PODS,
    selector_string,
)

Cluster = t.Any  # k8s_client.Cluster, or a test's stand-in with request/read/list_items


@dataclasses.dataclass
class Polled:
    """How a wait ended: ``done`` (else the timeout passed), the last observation, and what it took."""

    done: bool
    value: t.Any
    elapsed: float
    polls: int


def poll_until(observe: t.Callable[[], tuple[bool, t.Any]], timeout: float, interval: float,
               clock: t.Callable[[], float] = time.monotonic,
               sleep: t.Callable[[float], None] = time.sleep) -> Polled:
    """Call ``observe`` (which answers (done, what it saw)) until it is done or ``timeout`` seconds have passed;
    it always runs once, and no sleep reaches past the deadline."""
    started = clock()
    polls = 0
    while True:
        polls += 1
        done, value = observe()
        elapsed = clock() - started
        if done or elapsed >= timeout:
            return Polled(done, value, elapsed, polls)
        sleep(max(min(interval, timeout - elapsed), 0.0))


def scale(cluster: Cluster, namespace: str, name: str, replicas: int) -> dict:
    """Set the Deployment's replicas through its scale subresource (what ``kubectl scale`` does)."""
    return cluster.request("patch", DEPLOYMENTS, namespace, name, subresource="scale",
                           body={"spec": {"replicas": replicas}}, content_type="application/merge-patch+json")


def selected_pods(cluster: Cluster, namespace: str, deployment: t.Mapping[str, t.Any]) -> list[dict]:
    """The pods the Deployment's selector matches, terminating ones included."""
    return cluster.list_items(PODS, namespace, selector_string((deployment.get("spec") or {}).get("selector")))


def wait_pods_gone(cluster: Cluster, namespace: str, deployment: t.Mapping[str, t.Any], timeout: float,
                   interval: float = 1.0, **clock: t.Any) -> Polled:
    """Until no pod of the Deployment is left (scaled to 0); ``value``: the pods still there."""
    def observe() -> tuple[bool, list[dict]]:
        pods = selected_pods(cluster, namespace, deployment)
        return not pods, pods
    return poll_until(observe, timeout, interval, **clock)


def available_replicas(deployment: t.Mapping[str, t.Any]) -> int:
    return int((deployment.get("status") or {}).get("availableReplicas") or 0)


def wait_available(cluster: Cluster, namespace: str, name: str, replicas: int, timeout: float,
                   interval: float = 1.0, **clock: t.Any) -> Polled:
    """Until the Deployment has ``replicas`` available; ``value``: how many are."""
    def observe() -> tuple[bool, int]:
        available = available_replicas(cluster.read_deployment(namespace, name))
        return available >= replicas, available
    return poll_until(observe, timeout, interval, **clock)
