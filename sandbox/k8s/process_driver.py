"""Real Aragora processes behind the emulated cluster's pods: a pod is a process, its image tag picks the release.

The emulator's controllers (controllers.Controllers) call the driver through a small hook (``runtime``):

* ``start(pod)`` when they create a pod: the pod's image tag names a release (``ghcr.io/x/aragora:2.11.0`` ->
  ``2.11.0``), whose Python runs ``python -m aragora.server`` on ports of its own. The pod is created not ready and
  becomes Ready once the process answers ``/readyz`` 200; a tag without a release is ``ErrImagePull`` (never ready);
  a process that exits on its own leaves its pod ``CrashLoopBackOff`` (not ready).
* ``stop(pod)`` when a scale-down or rollout terminates a pod: the pod stays ``Terminating`` (deletionTimestamp)
  until its process has exited after SIGTERM (SIGKILL after the grace period), as a kubelet does; only then is it
  removed. A pod deleted through the API (or garbage-collected) has its process stopped the same way.

So "the Deployment is scaled to 0 and its pods are gone" means the writers' processes have exited, and a rollout to
another image really serves another release. ``service(deployment)`` is the Deployment's Service: one loopback port
that forwards each connection to a Ready pod's process (what a ClusterIP does), so a test has one stable API URL.

    driver = ProcessDriver({"2.11.1": venv_python("2.11.1"), "2.11.0": venv_python("2.11.0")}, env={...}, base=tmp)
    with EmulatedCluster(None) as cluster:
        driver.attach(cluster)
        ...
        driver.close()          # every process it started is stopped, by PID
"""

from __future__ import annotations

import dataclasses
import os
import select
import signal
import socket
import socketserver
import subprocess
import threading
import time
import typing as t
import urllib.error
import urllib.request

from sandbox.k8s.objects import Obj, dig, timestamp
from sandbox.layout import REPO_ROOT
from sandbox.processes import LOOPBACK, pick_free_ports

if t.TYPE_CHECKING:
    from sandbox.k8s.emulator import EmulatedCluster

STOP_GRACE = 15.0  # terminationGracePeriodSeconds
POLL = 0.2


def venv_python(release: str) -> str:
    """The Python of a real Aragora release installed by scripts/setup.sh (2.11.1: build/aragora-venv)."""
    name = "aragora-venv" if release == "2.11.1" else "aragora-venv-%s" % release
    return os.path.join(REPO_ROOT, "build", name, "bin", "python")


def image_tag(image: str) -> str:
    """The tag of an image reference (``registry:5000/aragora:2.11.0@sha256:...`` -> ``2.11.0``)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def _ready(port: int) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open("http://%s:%d/readyz" % (LOOPBACK, port), timeout=1.0) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


@dataclasses.dataclass
class PodProcess:
    """One pod's Aragora process."""

    namespace: str
    name: str
    release: str
    labels: dict[str, str]
    process: subprocess.Popen | None
    port: int
    log: str
    ready: bool = False
    stopping: bool = False
    stop_deadline: float = 0.0
    remove_when_gone: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name

    def exited(self) -> bool:
        return self.process is None or self.process.poll() is not None


class _Forwarder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ProcessDriver:
    """Runs the pods of the emulated cluster as real Aragora processes (the controllers' ``runtime`` hook)."""

    def __init__(self, releases: t.Mapping[str, str], env: t.Mapping[str, str] | None = None,
                 base: str | None = None) -> None:
        self.releases = dict(releases)
        self.env = dict(env or {})
        self.base = base or os.path.join(REPO_ROOT, "build", "k8s-pods")
        self.pods: dict[tuple[str, str], PodProcess] = {}
        self.cluster: EmulatedCluster | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._watcher: threading.Thread | None = None
        self._services: list[_Forwarder] = []

    # ---- the hook the controllers call (on the emulator's loop: never block) -----------------------------------

    def attach(self, cluster: "EmulatedCluster") -> "ProcessDriver":
        self.cluster = cluster
        cluster.call(setattr, cluster.handler.controllers, "runtime", self)
        self._watcher = threading.Thread(target=self._watch, name="k8s-process-driver", daemon=True)
        self._watcher.start()
        return self

    def start(self, pod: Obj) -> str | None:
        """Start the pod's process; None when it runs, else the reason it cannot (the container's waiting reason)."""
        containers = dig(pod, "spec.containers", [])
        release = image_tag(containers[0]["image"]) if containers else ""
        python = self.releases.get(release)
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        directory = os.path.join(self.base, namespace, name)
        os.makedirs(os.path.join(directory, "home"), exist_ok=True)
        log = os.path.join(directory, "aragora.log")
        entry = PodProcess(namespace, name, release, dict(pod["metadata"].get("labels") or {}), None, 0, log)
        with self._lock:
            self.pods[entry.key] = entry
        if not python or not os.path.exists(python):
            return "ErrImagePull"
        ports = pick_free_ports(("http", "ws", "control_ws", "nomic_ws", "canvas_ws"))
        http, ws, control_ws, nomic_ws, canvas_ws = ports.values()
        env = {"PATH": "%s:/usr/local/bin:/usr/bin:/bin" % os.path.dirname(python), "LANG": "C.UTF-8",
               "HOME": os.path.join(directory, "home"), "ARAGORA_DATA_DIR": directory, "ARAGORA_ENV": "development",
               "ARAGORA_CONTROL_PLANE_WS_PORT": str(control_ws), "ARAGORA_NOMIC_LOOP_WS_PORT": str(nomic_ws),
               "ARAGORA_CANVAS_WS_PORT": str(canvas_ws), **self.env,
               **{e["name"]: str(e.get("value", "")) for c in containers for e in c.get("env") or [] if "name" in e}}
        with open(log, "ab") as handle:
            entry.process = subprocess.Popen(
                [python, "-m", "aragora.server", "--host", LOOPBACK, "--http-port", str(http), "--port", str(ws)],
                stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=directory,
                start_new_session=True)
        entry.port = http
        return None

    def stop(self, pod: Obj, remove_when_gone: bool = True) -> None:
        """SIGTERM the pod's process; the watcher SIGKILLs it after the grace period and then removes the pod."""
        with self._lock:
            entry = self.pods.get((pod["metadata"]["namespace"], pod["metadata"]["name"]))
            if entry is None:
                return
            entry.remove_when_gone = remove_when_gone
            if not entry.stopping:
                entry.stopping, entry.ready = True, False
                entry.stop_deadline = time.monotonic() + STOP_GRACE
                if not entry.exited():
                    os.killpg(entry.process.pid, signal.SIGTERM)

    # ---- the kubelet: readiness, exits, removal of terminated pods -------------------------------------------------

    def _watch(self) -> None:
        while not self._closing.wait(POLL):
            with self._lock:
                entries = list(self.pods.values())
            for entry in entries:
                try:
                    self._observe(entry)
                except RuntimeError:  # the emulator is stopping
                    return

    def _observe(self, entry: PodProcess) -> None:
        if entry.stopping:
            if not entry.exited() and time.monotonic() >= entry.stop_deadline:
                os.killpg(entry.process.pid, signal.SIGKILL)
            if entry.exited():
                with self._lock:
                    self.pods.pop(entry.key, None)
                if entry.remove_when_gone and self.cluster is not None:
                    self.cluster.call(self.cluster.handler.remove, "pods", entry.namespace, entry.name)
            return
        if entry.process is None:
            return
        if entry.exited():
            self._set_status(entry, False, {"waiting": {"reason": "CrashLoopBackOff"}})
            with self._lock:
                self.pods.pop(entry.key, None)
            return
        if not entry.ready and _ready(entry.port):
            entry.ready = True
            self._set_status(entry, True, {"running": {"startedAt": timestamp()}})

    def _set_status(self, entry: PodProcess, ready: bool, state: Obj) -> None:
        if self.cluster is None:
            return
        handler = self.cluster.handler

        def update() -> None:
            pod = handler.find("pods", entry.namespace, entry.name)
            if pod is None or pod["metadata"].get("deletionTimestamp"):
                return
            status = pod.setdefault("status", {})
            for item in status.get("conditions") or []:
                if item.get("type") in ("Ready", "ContainersReady"):
                    item.update(status="True" if ready else "False", lastTransitionTime=timestamp())
            for container in status.get("containerStatuses") or []:
                container.update(ready=ready, started=ready, state=state)
            handler.save("pods", pod)
            handler.settle()
        self.cluster.call(update)

    # ---- the Service --------------------------------------------------------------------------------------------

    def service(self, namespace: str, labels: t.Mapping[str, str]) -> str:
        """A loopback URL forwarding each connection to a Ready pod process whose labels include ``labels``."""
        driver = self

        class Forward(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with driver._lock:  # pylint: disable=protected-access
                    ready = [e for e in driver.pods.values() if e.ready and not e.stopping
                             and e.namespace == namespace and all(e.labels.get(k) == v for k, v in labels.items())]
                if not ready:
                    return  # connection closed: no endpoint, as a Service without ready pods
                entry = ready[int(time.monotonic() * 1000) % len(ready)]
                try:
                    upstream = socket.create_connection((LOOPBACK, entry.port), timeout=5)
                except OSError:
                    return
                with upstream:
                    _pipe(self.request, upstream)

        server = _Forwarder((LOOPBACK, 0), Forward)
        threading.Thread(target=server.serve_forever, name="k8s-service", daemon=True).start()
        self._services.append(server)
        return "http://%s:%d" % (LOOPBACK, server.server_address[1])

    # ---- what tests read ------------------------------------------------------------------------------------------

    @staticmethod
    def wait_until(predicate: t.Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)
        return True

    def running(self, namespace: str | None = None) -> list[PodProcess]:
        """The pods whose processes still run (stopping ones included, until they have exited)."""
        with self._lock:
            return [e for e in self.pods.values() if not e.exited() and (namespace is None or e.namespace == namespace)]

    def close(self) -> None:
        """Stop every process this driver started (SIGTERM, then SIGKILL after the grace period), by PID."""
        self._closing.set()
        if self._watcher is not None:
            self._watcher.join(5)
        for server in self._services:
            server.shutdown()
            server.server_close()
        with self._lock:
            entries = list(self.pods.values())
        for entry in entries:
            if not entry.exited():
                os.killpg(entry.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for entry in entries:
            if entry.process is None:
                continue
            try:
                entry.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(entry.process.pid, signal.SIGKILL)
                entry.process.wait(5)


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [client, upstream]
    try:
        while True:
            readable, _writable, _errors = select.select(sockets, [], [], 30)
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (upstream if source is client else client).sendall(data)
    except OSError:  # either side reset: the connection ends, as through a real Service
        return


def aragora_deployment(image: str, replicas: int = 1, namespace: str = "aragora", name: str = "aragora",
                       env: t.Mapping[str, str] | None = None) -> list[Obj]:
    """A namespace, one schedulable node and an Aragora Deployment of ``image``: the least a driven cluster needs."""
    labels = {"app.kubernetes.io/name": name}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "Node",
         "metadata": {"name": "node-a", "labels": {"kubernetes.io/hostname": "node-a", "kubernetes.io/os": "linux"}},
         "spec": {}, "status": {"addresses": [{"type": "InternalIP", "address": "10.0.1.10"}],
                                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
         "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                  "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                  "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{
                      "name": "aragora", "image": image,
                      "env": [{"name": k, "value": v} for k, v in (env or {}).items()]}]}}}},
    ]
