"""`make bench`: the rollbacks' costs, as ratios against baselines measured in the same run (interleaved, medians).

- failed rollback detected: k8s_rollout_undo's wait (fails on ProgressDeadlineExceeded) against a wait that only
  looks for the Deployment to be ready, as kubernetes.core's waiter does, which runs until its timeout;
- Kubernetes: rollback.yml (pre-flight, plan, undo, wait, verify with the health checks, incident record) against
  `kubectl rollout undo && kubectl rollout status` (no pre-flight, no record, no verification), on the emulated
  cluster (scenario bad_release) with the real sandbox server for the verification;
- Kubernetes reaction: from the command's start to the rollback's PATCH reaching the API server, for both, and the
  CPU seconds the command had used by then;
- systemd reaction: from the command's start to the host's `current` symlink pointing at the target release, against
  `ln -sfn releases/X current && systemctl restart UNIT`, on a release tree whose unit runs the real Aragora server
  under the tests' systemctl stand-in (tests/support/systemctl_standin.py).

The machine is shared: wall times move with the load, CPU seconds much less; both are printed, with the load.

    python tests/bench/bench_k8s_rollback.py [--rounds N] [--only k8s|systemd]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT]
import tests.conftest  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import  # makes the collection importable
import sandbox  # noqa: E402  pylint: disable=wrong-import-position
from sandbox.k8s.emulator import EmulatedCluster, KubernetesApiEmulator  # noqa: E402
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import rollout  # noqa: E402
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import Cluster, ClusterTarget  # noqa: E402
from tests.support import systemctl_standin  # noqa: E402
from tests.support.playbook import run_playbook, write_inventory  # noqa: E402
from tests.support.systemd_host import make_host, wait_ready  # noqa: E402

ROUNDS = 5
WAIT_TIMEOUT = 10.0
POLL = 1.0
BROKEN = "ghcr.io/aragora/aragora:2.11.1"


PATCHES: list[float] = []  # time.monotonic() of each PATCH the emulated API server received (one clock per machine)
PATCH_CPU: list[float] = []  # CPU seconds the bench's child processes (the command under test) had used by then
_handle = KubernetesApiEmulator._handle


SANDBOX_SESSIONS: set[int] = set()  # the sandbox's servers (session leaders), children of this process too


def descendants_cpu() -> float:
    """CPU seconds of every live descendant of this process but the sandbox's servers (the command under test and
    its workers, which Ansible puts in sessions of their own), with the children each has reaped (from /proc)."""
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry, encoding="utf-8") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            if int(fields[3]) not in SANDBOX_SESSIONS:
                cpu[int(entry)] = sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    total, me = 0.0, os.getpid()
    for pid in cpu:
        ancestor = parents.get(pid)
        while ancestor and ancestor != me:
            ancestor = parents.get(ancestor)
        total += cpu[pid] if ancestor == me else 0.0
    return total


async def _recording_handle(self, request):  # the bench's own instrument on the emulator, nothing else changes
    if str(request.method.value).upper() == "PATCH":
        PATCHES.append(time.monotonic())
        PATCH_CPU.append(descendants_cpu())
    return await _handle(self, request)


KubernetesApiEmulator._handle = _recording_handle


def reaction(started: float) -> tuple[float, float]:
    """Seconds from ``started`` to the first PATCH after it, and the CPU seconds the command had used by then
    (what the reaction is on an idle machine, where nothing else competes for the cores)."""
    first = min(index for index, stamp in enumerate(PATCHES) if stamp >= started)
    return PATCHES[first] - started, PATCH_CPU[first]


class LinkWatch:
    """Notes when a symlink first points at ``target`` (polled every millisecond, in a thread), and the CPU the
    command had used by then."""

    def __init__(self, path: str, target: str) -> None:
        self.path, self.target = path, target
        self.switched: float | None = None
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                now = os.readlink(self.path)
            except OSError:
                now = None  # ln -sfn unlinks before it links again
            if now == self.target:
                self.switched = time.monotonic()
                self.cpu = descendants_cpu()
                return
            time.sleep(0.001)

    def __enter__(self) -> "LinkWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def ready_only_wait(cluster: Cluster, timeout: float, poll: float) -> float:
    """kubernetes.core's deployment_ready predicate, polled until true or the timeout (conditions ignored)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        deployment = cluster.read_deployment("aragora", "aragora")
        spec, status = deployment["spec"], deployment.get("status") or {}
        if (spec.get("replicas") == status.get("replicas") and status.get("availableReplicas") == status.get("replicas")
                and status.get("observedGeneration") == deployment["metadata"]["generation"]
                and not status.get("unavailableReplicas")):
            break
        time.sleep(poll)
    return time.monotonic() - started


def failed_rollback_detection() -> tuple[float, float]:
    times = []
    for fail_fast in (True, False):
        with EmulatedCluster("bad_release") as emulated:
            emulated.break_image(BROKEN)
            cluster = Cluster(ClusterTarget(emulated.kubeconfig))
            result = rollout.apply(cluster, "aragora", "aragora", None)
            started = time.monotonic()
            if fail_fast:
                waited = rollout.wait(cluster, "aragora", "aragora", result.plan.target.pod_template_hash,
                                      WAIT_TIMEOUT, POLL)
                assert waited.outcome == "failed", waited
            else:
                ready_only_wait(cluster, WAIT_TIMEOUT, POLL)
            times.append(time.monotonic() - started)
    return times[0], times[1]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def kubernetes_rounds(state: dict, scratch: str, rounds: int) -> dict[str, list[float]]:
    """rollback.yml and kubectl, one after the other in each round, each on a fresh emulated cluster."""
    kubectl = shutil.which("kubectl") or "kubectl"
    keys = ("playbook", "plain", "playbook_patch", "plain_patch", "playbook_cpu", "plain_cpu", "load")
    runs: dict[str, list[float]] = {key: [] for key in keys}
    for index in range(rounds):
        runs["load"].append(os.getloadavg()[0])
        with EmulatedCluster("bad_release") as emulated:
            inventory = write_inventory(os.path.join(scratch, "inventory-%d.yml" % index), {"k8s": {
                "aragora_kubeconfig": emulated.kubeconfig, "aragora_api_url": state["urls"]["api"],
                "aragora_ca_path": state["paths"]["ca"], "aragora_report_dir": os.path.join(scratch, "reports"),
                "aragora_rollback_poll_interval": 0.5, "aragora_rollback_health_interval": 1}}, "aragora_kubernetes")
            started = time.monotonic()
            run = run_playbook("rollback.yml", inventory, timeout=120)
            runs["playbook"].append(time.monotonic() - started)
            wall, cpu = reaction(started)
            runs["playbook_patch"].append(wall)
            runs["playbook_cpu"].append(cpu)
            assert run.returncode == 0, run.stdout[-3000:]
        with EmulatedCluster("bad_release") as emulated:
            base = [kubectl, "--kubeconfig", emulated.kubeconfig, "--cache-dir", os.path.join(scratch, "kcache")]
            started = time.monotonic()
            subprocess.run(base + ["rollout", "undo", "deployment/aragora"], check=True, capture_output=True,
                           timeout=60)
            wall, cpu = reaction(started)
            runs["plain_patch"].append(wall)
            runs["plain_cpu"].append(cpu)
            subprocess.run(base + ["rollout", "status", "deployment/aragora", "--timeout=60s"], check=True,
                           capture_output=True, timeout=90)
            runs["plain"].append(time.monotonic() - started)
    return runs


def systemd_rounds(scratch: str, rounds: int) -> dict[str, list[float]]:
    """rollback.yml to 2.10.0, then the baseline back to 2.11.1, in each round, on one release tree whose unit runs
    the real Aragora server (ready again before each command starts)."""
    bin_dir, state_dir = os.path.join(scratch, "bin"), os.path.join(scratch, "systemd")
    systemctl = systemctl_standin.install(bin_dir, state_dir)
    host = make_host(os.path.join(scratch, "host"), os.path.join(state_dir, "units"), "aragora-bench.service",
                     {"2.10.0": {}, "2.11.1": {}}, "2.11.1")
    current = os.path.join(host["root"], "current")
    inventory = write_inventory(os.path.join(scratch, "inventory-systemd.yml"), {"host": {
        "aragora_release_root": host["root"], "aragora_systemd_unit": host["unit"], "aragora_api_url": host["api_url"],
        "aragora_report_dir": os.path.join(scratch, "reports"), "aragora_rollback_health_interval": 1,
        "aragora_rollback_health_timeout": 60}}, "aragora_systemd")
    keys = ("playbook", "plain", "playbook_switch", "plain_switch", "playbook_cpu", "plain_cpu", "load")
    runs: dict[str, list[float]] = {key: [] for key in keys}
    ctl = [systemctl]
    subprocess.run(ctl + ["start", host["unit"]], check=True, capture_output=True, timeout=60)
    try:
        for _index in range(rounds):
            assert wait_ready(host["api_url"]), "the bench's Aragora unit did not become ready"
            runs["load"].append(os.getloadavg()[0])
            with LinkWatch(current, "releases/2.10.0") as watch:
                started = time.monotonic()
                run = run_playbook("rollback.yml", inventory, {"aragora_rollback_release": "2.10.0"}, timeout=240,
                                   env={"PATH": bin_dir})
                runs["playbook"].append(time.monotonic() - started)
            assert run.returncode == 0 and watch.switched, run.stdout[-3000:]
            runs["playbook_switch"].append(watch.switched - started)
            runs["playbook_cpu"].append(watch.cpu)
            assert wait_ready(host["api_url"]), "the bench's Aragora unit did not become ready on 2.10.0"
            with LinkWatch(current, "releases/2.11.1") as watch:
                started = time.monotonic()
                subprocess.run(["ln", "-sfn", "releases/2.11.1", current], check=True, timeout=30)
                subprocess.run(ctl + ["restart", host["unit"]], check=True, capture_output=True, timeout=60)
                runs["plain"].append(time.monotonic() - started)
            assert watch.switched, "ln -sfn did not switch %s" % current
            runs["plain_switch"].append(watch.switched - started)
            runs["plain_cpu"].append(watch.cpu)
    finally:
        subprocess.run(ctl + ["stop", host["unit"]], capture_output=True, timeout=60, check=False)
    return runs


def print_reaction(title: str, rounds: int, runs: dict[str, list[float]], event: str, target: str,
                   baseline: str) -> None:
    wall, plain = median(runs["playbook_" + event]), median(runs["plain_" + event])
    cpu, plain_cpu = median(runs["playbook_cpu"]), median(runs["plain_cpu"])
    print("bench: %s (median of %d interleaved rounds, load %.1f-%.1f)"
          % (title, rounds, min(runs["load"]), max(runs["load"])))
    print("  rollback.yml:                 %7.3f s wall%s, %.3f s of CPU by then  (each: %s)"
          % (wall, target, cpu, ", ".join("%.2f/%.2f" % pair
                                          for pair in zip(runs["playbook_" + event], runs["playbook_cpu"]))))
    print("  %-29s %7.3f s wall (baseline), %.3f s of CPU by then" % (baseline + ":", plain, plain_cpu))
    # ln -sfn switches within milliseconds, before the clock ticks once: no CPU ratio to it.
    print("  ratio playbook/baseline:      %7.2f wall, %s CPU" % (
        wall / plain, "%.2f" % (cpu / plain_cpu) if plain_cpu >= 0.01 else "n/a (baseline < 10 ms of CPU)"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--only", choices=("k8s", "systemd"))
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rollback-") as scratch:
        if options.only != "systemd":
            detected, waited_out = failed_rollback_detection()
            directory = os.path.join(ROOT, "build", "bench-rollback-sandbox")
            state = sandbox.up(directory, os.path.join(ROOT, "build", "aragora-venv", "bin", "python"))
            SANDBOX_SESSIONS.update(info["pid"] for info in state["processes"].values())
            try:
                k8s = kubernetes_rounds(state, scratch, options.rounds)
            finally:
                sandbox.down(directory)
            print("\nbench: a rollback whose revision cannot start (ProgressDeadlineExceeded), poll %.0f s, "
                  "timeout %.0f s" % (POLL, WAIT_TIMEOUT))
            print("  k8s_rollout_undo detects it:  %7.3f s" % detected)
            print("  ready-only wait (timeout):    %7.3f s  (baseline: kubernetes.core's waiter)" % waited_out)
            print("  ratio detect/timeout:         %7.4f  (the emulator reports the deadline at once: detection is "
                  "the first poll)" % (detected / waited_out))
            print("bench: rollback.yml vs kubectl rollout undo && kubectl rollout status (median of %d)"
                  % options.rounds)
            print("  rollback.yml (pre-flight, undo, wait, verify, incident record): %7.3f s" % median(k8s["playbook"]))
            print("  kubectl undo && status:       %7.3f s  (baseline)" % median(k8s["plain"]))
            print("  ratio playbook/kubectl:       %7.2f" % (median(k8s["playbook"]) / median(k8s["plain"])))
            print_reaction("Kubernetes reaction, command start to the rollback PATCH received by the API server",
                           options.rounds, k8s, "patch", " (target <= 1.5 s)", "kubectl rollout undo")
        if options.only != "k8s":
            systemd = systemd_rounds(scratch, options.rounds)
            print("bench: systemd rollback.yml (pre-flight, switch, restart, health gate, incident record): %7.3f s"
                  % median(systemd["playbook"]))
            print("  ln -sfn && systemctl restart: %7.3f s  (baseline; no pre-flight, no verification)"
                  % median(systemd["plain"]))
            print_reaction("systemd reaction, command start to `current` pointing at the target release",
                           options.rounds, systemd, "switch", "", "ln -sfn && systemctl restart")
    return 0


if __name__ == "__main__":
    sys.exit(main())
