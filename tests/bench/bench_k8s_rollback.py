"""`make bench`: the Kubernetes rollback's costs, as ratios against baselines measured in the same run on the same
emulated cluster (scenario bad_release) and the real sandbox server for the verification.

- failed rollback detected: k8s_rollout_undo's wait (fails on ProgressDeadlineExceeded) against a wait that only
  looks for the Deployment to be ready, as kubernetes.core's waiter does, which runs until its timeout;
- rollback.yml (record, undo, wait, verify with the health checks, incident record) against
  `kubectl rollout undo && kubectl rollout status` (no record, no verification);
- reaction: from the command's start to the rollback's PATCH reaching the API server, for both.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "scripts")]
import tests.conftest  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import  # makes the collection importable
import sandbox  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.aragora.ops.plugins.module_utils import rollout  # noqa: E402
from ansible_collections.aragora.ops.plugins.module_utils.k8s_client import Cluster, ClusterTarget  # noqa: E402
from tests.support.k8s_emulator import EmulatedCluster, KubernetesApiEmulator  # noqa: E402
from tests.support.playbook import run_playbook, write_inventory  # noqa: E402

ROUNDS = 3
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


def playbook_vs_kubectl(state: dict, scratch: str) -> tuple[float, ...]:
    kubectl = shutil.which("kubectl") or "kubectl"
    playbook, plain, playbook_patch, plain_patch, playbook_cpu, plain_cpu = [], [], [], [], [], []
    for index in range(ROUNDS):
        with EmulatedCluster("bad_release") as emulated:
            inventory = write_inventory(os.path.join(scratch, "inventory-%d.yml" % index), {"k8s": {
                "aragora_kubeconfig": emulated.kubeconfig, "aragora_api_url": state["urls"]["api"],
                "aragora_ca_path": state["paths"]["ca"], "aragora_report_dir": os.path.join(scratch, "reports"),
                "aragora_rollback_poll_interval": 0.5, "aragora_rollback_health_interval": 1}}, "aragora_kubernetes")
            started = time.monotonic()
            run = run_playbook("rollback.yml", inventory, timeout=120)
            playbook.append(time.monotonic() - started)
            wall, cpu = reaction(started)
            playbook_patch.append(wall)
            playbook_cpu.append(cpu)
            assert run.returncode == 0, run.stdout[-3000:]
        with EmulatedCluster("bad_release") as emulated:
            base = [kubectl, "--kubeconfig", emulated.kubeconfig, "--cache-dir", os.path.join(scratch, "kcache")]
            started = time.monotonic()
            subprocess.run(base + ["rollout", "undo", "deployment/aragora"], check=True, capture_output=True)
            wall, cpu = reaction(started)
            plain_patch.append(wall)
            plain_cpu.append(cpu)
            subprocess.run(base + ["rollout", "status", "deployment/aragora", "--timeout=60s"], check=True,
                           capture_output=True)
            plain.append(time.monotonic() - started)
    runs = (playbook, plain, playbook_patch, plain_patch, playbook_cpu, plain_cpu)
    return tuple(statistics.median(samples) for samples in runs)


def main() -> int:
    detected, waited_out = failed_rollback_detection()
    directory = os.path.join(ROOT, "build", "bench-rollback-sandbox")
    state = sandbox.up(directory, os.path.join(ROOT, "build", "aragora-venv", "bin", "python"))
    SANDBOX_SESSIONS.update(info["pid"] for info in state["processes"].values())
    try:
        with tempfile.TemporaryDirectory(prefix="bench-rollback-") as scratch:
            playbook, plain, playbook_patch, plain_patch, playbook_cpu, plain_cpu = playbook_vs_kubectl(state, scratch)
    finally:
        sandbox.down(directory)
    print("\nbench: a rollback whose revision cannot start (ProgressDeadlineExceeded), poll %.0f s, timeout %.0f s"
          % (POLL, WAIT_TIMEOUT))
    print("  k8s_rollout_undo detects it:  %7.3f s" % detected)
    print("  ready-only wait (timeout):    %7.3f s  (baseline: kubernetes.core's waiter)" % waited_out)
    print("  ratio detect/timeout:         %7.4f  (the emulator reports the deadline at once: detection is the first"
          " poll)" % (detected / waited_out))
    print("bench: rollback.yml vs kubectl rollout undo && kubectl rollout status (median of %d)" % ROUNDS)
    print("  rollback.yml (record, undo, wait, verify, incident record): %7.3f s" % playbook)
    print("  kubectl undo && status:       %7.3f s  (baseline)" % plain)
    print("  ratio playbook/kubectl:       %7.2f" % (playbook / plain))
    print("bench: reaction, command start to the rollback PATCH received by the API server (median of %d)" % ROUNDS)
    print("  rollback.yml:                 %7.3f s  (target <= 1.5 s), %.3f s of CPU by then" % (playbook_patch, playbook_cpu))
    print("  kubectl rollout undo:         %7.3f s  (baseline), %.3f s of CPU by then" % (plain_patch, plain_cpu))
    print("  ratio playbook/kubectl:       %7.2f" % (playbook_patch / plain_patch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
