"""The one poll loop behind every wait on a Deployment, and the Deployment waits built on it (fake clock)."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import waiter
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import DEPLOYMENTS, PODS


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_poll_until_stops_when_done_and_reports_the_last_observation():
    clock = Clock()
    answers = iter([(False, 1), (False, 2), (True, 3)])
    polled = waiter.poll_until(lambda: next(answers), timeout=10, interval=2, clock=clock, sleep=clock.sleep)
    assert (polled.done, polled.value, polled.polls, polled.elapsed) == (True, 3, 3, 4.0)
    assert clock.slept == [2, 2]


def test_poll_until_never_sleeps_past_the_deadline_and_always_observes_once():
    clock = Clock()
    polled = waiter.poll_until(lambda: (False, "still"), timeout=5, interval=2, clock=clock, sleep=clock.sleep)
    assert (polled.done, polled.value, polled.polls, polled.elapsed) == (False, "still", 4, 5.0)
    assert clock.slept == [2, 2, 1]
    once = waiter.poll_until(lambda: (False, "x"), timeout=0, interval=1, clock=clock, sleep=clock.sleep)
    assert once.polls == 1 and not once.done


class Cluster:
    """Answers as the API would: a Deployment whose pods go away and whose replicas become available."""

    def __init__(self, pods_left: list[int], available: list[int]) -> None:
        self.pods_left, self.available, self.calls = pods_left, available, []

    def request(self, verb, kind, namespace, name, **kwargs):
        self.calls.append((verb, kind, namespace, name, kwargs))
        return {"spec": kwargs["body"]["spec"]}

    def list_items(self, kind, namespace, selector):
        assert (kind, namespace, selector) == (PODS, "ns", "app=aragora")
        return [{"metadata": {"name": "p%d" % i}} for i in range(self.pods_left.pop(0))]

    def read_deployment(self, namespace, name):
        return {"status": {"availableReplicas": self.available.pop(0)}}


DEPLOYMENT = {"spec": {"selector": {"matchLabels": {"app": "aragora"}}}}


def test_scale_patches_the_scale_subresource():
    cluster = Cluster([], [])
    waiter.scale(cluster, "ns", "aragora", 0)
    assert cluster.calls == [("patch", DEPLOYMENTS, "ns", "aragora", {
        "subresource": "scale", "body": {"spec": {"replicas": 0}}, "content_type": "application/merge-patch+json"})]


def test_pods_gone_and_replicas_available():
    clock = Clock()
    gone = waiter.wait_pods_gone(Cluster([2, 1, 0], []), "ns", DEPLOYMENT, 30, clock=clock, sleep=clock.sleep)
    assert gone.done and gone.value == [] and gone.polls == 3
    left = waiter.wait_pods_gone(Cluster([2, 2, 2], []), "ns", DEPLOYMENT, 2, clock=clock, sleep=clock.sleep)
    assert not left.done and [pod["metadata"]["name"] for pod in left.value] == ["p0", "p1"]
    ready = waiter.wait_available(Cluster([], [0, 1, 2]), "ns", "aragora", 2, 30, clock=clock, sleep=clock.sleep)
    assert ready.done and ready.value == 2
    short = waiter.wait_available(Cluster([], [0, 1]), "ns", "aragora", 2, 1, clock=clock, sleep=clock.sleep)
    assert not short.done and short.value == 1
