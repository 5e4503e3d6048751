# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What writes to the database during a restore, one class per kind: a Kubernetes Deployment (scaled to 0 and back),
a systemd unit (stopped and started again), or nothing. Each saves what it was before it is stopped (``observe``,
a plain dict kept in the restore's state file) and works from that saved state afterwards, so a rerun after a kill
brings back the replicas the application had, not the 0 the killed run left."""

from __future__ import annotations

import subprocess
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._operations.restore_state import RestoreError

WRITER_KINDS = ("none", "kubernetes", "systemd")


class Writers:
    """No writers (writers=none): nothing to stop or start; the kinds below override each step."""

    kind = "none"

    def __init__(self, params: t.Mapping[str, t.Any]) -> None:
        self.params = params
        self.timeout = float(params.get("writers_timeout") or 300)

    def describe(self) -> str:
        return "no writers (writers=none)"

    def for_state(self, state: t.Mapping[str, t.Any]) -> "Writers":
        """The writers that act on ``state`` (saved by an earlier run, which may have named another kind)."""
        kind = kind_of(state)
        return self if self.kind == kind.kind else kind(self.params)

    @staticmethod
    def describe_saved(state: t.Mapping[str, t.Any]) -> str:
        return "none"

    @staticmethod
    def start_by_hand(state: t.Mapping[str, t.Any]) -> str:
        return "nothing to start"

    @staticmethod
    def describe_state(state: t.Mapping[str, t.Any]) -> str:
        """The saved state in words, whatever its kind."""
        return kind_of(state).describe_saved(state)

    @staticmethod
    def by_hand(state: t.Mapping[str, t.Any]) -> str:
        """How to bring the saved state back by hand, whatever its kind."""
        return kind_of(state).start_by_hand(state)

    def observe(self) -> dict[str, t.Any]:
        return {"kind": "none"}

    def stop(self, state: t.Mapping[str, t.Any]) -> str:
        return "no writers to stop (writers=none): make sure nothing writes to the database"

    def start(self, state: t.Mapping[str, t.Any]) -> str:
        return "no writers to start"

    def compare(self, before: t.Mapping[str, t.Any], now: t.Mapping[str, t.Any]) -> str:
        """Whether the writers observed ``now`` are back as ``before`` the restore, in one sentence."""
        return ""


class KubernetesWriters(Writers):
    """A Deployment, through the collection's client layer (kubeconfig loading and error sentences); one client per
    module run: stop/start and the observation after a failure."""

    kind = "kubernetes"

    def __init__(self, params: t.Mapping[str, t.Any]) -> None:
        super().__init__(params)
        self._client: t.Any = None

    def describe(self) -> str:
        return "Deployment %s/%s" % (self.params["namespace"], self.params["deployment"])

    @staticmethod
    def describe_saved(state: t.Mapping[str, t.Any]) -> str:
        return "Deployment %s/%s at %d replicas" % (state["namespace"], state["deployment"], state["replicas"])

    @staticmethod
    def start_by_hand(state: t.Mapping[str, t.Any]) -> str:
        return "kubectl -n %s scale deployment/%s --replicas=%d" % (
            state["namespace"], state["deployment"], state["replicas"])

    def cluster(self) -> t.Any:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> t.Any:
        from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import k8s_client  # pylint: disable=import-outside-toplevel
        timeout = float(self.params.get("api_timeout") or 10)
        # No connection option at all: the default kubeconfig.
        target = (k8s_client.ClusterTarget.from_options(self.params, timeout)
                  or k8s_client.ClusterTarget(timeout=timeout))
        try:
            return k8s_client.Cluster(target)
        except k8s_client.K8sError as exc:
            raise RestoreError(str(exc)) from None

    @staticmethod
    def call(function: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
        """``function(*args, **kwargs)``, a Kubernetes error raised as a RestoreError with its sentence."""
        from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import k8s_client  # pylint: disable=import-outside-toplevel
        try:
            return function(*args, **kwargs)
        except k8s_client.K8sError as exc:
            raise RestoreError(str(exc)) from None

    def observe(self) -> dict[str, t.Any]:
        cluster = self.cluster()
        namespace, name = self.params["namespace"], self.params["deployment"]
        deployment = self.call(cluster.read_deployment, namespace, name)
        replicas = int((deployment.get("spec") or {}).get("replicas", 1))
        return {"kind": "kubernetes", "namespace": namespace, "deployment": name, "replicas": replicas}

    def stop(self, state: t.Mapping[str, t.Any]) -> str:
        from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import waiter  # pylint: disable=import-outside-toplevel
        cluster = self.cluster()
        namespace, name = state["namespace"], state["deployment"]
        self.call(waiter.scale, cluster, namespace, name, 0)
        deployment = self.call(cluster.read_deployment, namespace, name)
        gone = self.call(waiter.wait_pods_gone, cluster, namespace, deployment, self.timeout)
        if gone.done:
            return "Deployment %s/%s scaled from %d to 0, its pods are gone" % (namespace, name, state["replicas"])
        names = ", ".join(p["metadata"]["name"] for p in gone.value[:5])
        raise RestoreError("Deployment %s/%s scaled to 0 but %d pod(s) still exist after %g s (%s): "
                           "the restore did not start" % (namespace, name, len(gone.value), self.timeout, names))

    def start(self, state: t.Mapping[str, t.Any]) -> str:
        from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import waiter  # pylint: disable=import-outside-toplevel
        cluster = self.cluster()
        namespace, name, replicas = state["namespace"], state["deployment"], int(state["replicas"])
        self.call(waiter.scale, cluster, namespace, name, replicas)
        ready = self.call(waiter.wait_available, cluster, namespace, name, replicas, self.timeout)
        if ready.done:
            return "Deployment %s/%s back at %d replicas, %d available" % (namespace, name, replicas, ready.value)
        raise RestoreError("Deployment %s/%s scaled back to %d but only %d available after %g s"
                           % (namespace, name, replicas, ready.value, self.timeout))

    def compare(self, before: t.Mapping[str, t.Any], now: t.Mapping[str, t.Any]) -> str:
        if now["replicas"] >= before["replicas"]:
            return "The writers run again: Deployment %s/%s at %d replicas (%d before the restore)." % (
                now["namespace"], now["deployment"], now["replicas"], before["replicas"])
        return "The writers are NOT back: Deployment %s/%s is at %d replicas, %d before the restore: %s." % (
            now["namespace"], now["deployment"], now["replicas"], before["replicas"], self.start_by_hand(before))


class SystemdWriters(Writers):
    """A systemd unit, through systemctl (a unit that was not running is left as it was)."""

    kind = "systemd"

    def describe(self) -> str:
        return "unit %s" % self.params["unit"]

    @staticmethod
    def describe_saved(state: t.Mapping[str, t.Any]) -> str:
        return "unit %s %s" % (state["unit"], "active" if state["was_active"] else "left stopped as it was")

    @staticmethod
    def start_by_hand(state: t.Mapping[str, t.Any]) -> str:
        return "systemctl start %s" % state["unit"] if state["was_active"] else "the unit was not running before"

    @staticmethod
    def _systemctl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False, timeout=60)

    def observe(self) -> dict[str, t.Any]:
        unit = self.params["unit"]
        active = self._systemctl("is-active", unit).stdout.strip() == "active"
        return {"kind": "systemd", "unit": unit, "was_active": active}

    def stop(self, state: t.Mapping[str, t.Any]) -> str:
        if not state["was_active"]:
            return "unit %s was not running: left stopped" % state["unit"]
        result = self._systemctl("stop", state["unit"])
        active = self._systemctl("is-active", state["unit"]).stdout.strip()
        if result.returncode != 0 or active in ("active", "deactivating"):
            raise RestoreError("systemctl stop %s failed (%s): the restore did not start"
                               % (state["unit"], (result.stderr or active).strip()))
        return "unit %s stopped" % state["unit"]

    def start(self, state: t.Mapping[str, t.Any]) -> str:
        if not state["was_active"]:
            return "unit %s was not running before the restore: left stopped" % state["unit"]
        result = self._systemctl("start", state["unit"])
        active = self._systemctl("is-active", state["unit"]).stdout.strip()
        if result.returncode != 0 or active != "active":
            raise RestoreError("systemctl start %s failed (%s)" % (state["unit"], (result.stderr or active).strip()))
        return "unit %s started again" % state["unit"]

    def compare(self, before: t.Mapping[str, t.Any], now: t.Mapping[str, t.Any]) -> str:
        if now["was_active"] or not before["was_active"]:
            return "The writers are as before the restore: unit %s %s." % (
                now["unit"], "active" if now["was_active"] else "not running (it was not running before either)")
        return "The writers are NOT back: unit %s is not active (it was before): %s." % (
            now["unit"], self.start_by_hand(before))


_KINDS: dict[str, type[Writers]] = {kind.kind: kind for kind in (Writers, KubernetesWriters, SystemdWriters)}


def kind_of(state: t.Mapping[str, t.Any]) -> type[Writers]:
    return _KINDS[state.get("kind") or "none"]


def writers_for(params: t.Mapping[str, t.Any]) -> Writers:
    """The writers the module parameters name (``writers``: none, kubernetes or systemd)."""
    return _KINDS[params.get("writers") or "none"](params)
