"""`make bench`: what one target's checks and a prelaunch.yml run cost, as ratios against baselines measured in
the same run on the same machine (a real sandbox: Aragora 2.11.1, PostgreSQL, Redis, TLS).

- checks, concurrent vs one at a time: the engine's thread pool against max_workers=1, in-process, against the
  sandbox (loopback: answers in a few ms) and against a server answering after 100 ms (a distant API);
- prelaunch.yml vs an empty playbook: the collection's own cost above ansible-playbook's start-up.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "scripts")]
import tests.conftest  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import  # makes the collection importable
import sandbox  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.aragora.ops.plugins.module_utils.runner import run_target  # noqa: E402
from tests.support.fault_server import FaultServer  # noqa: E402
from tests.support.playbook import run_playbook, write_inventory  # noqa: E402

ROUNDS = 7
# The foundation's groups: the live API and the configuration, without the dependency probes.
API_AND_CONFIG_GROUPS = ("health", "security", "monitoring", "oauth", "providers", "limits")


def median_seconds(action, rounds: int = ROUNDS) -> float:
    samples = []
    for _dummy in range(rounds):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    directory = os.path.join(ROOT, "build", "bench-sandbox")
    state = sandbox.up(directory, os.path.join(ROOT, "build", "aragora-venv", "bin", "python"))
    try:
        params = {"api_url": state["urls"]["api"], "env_file": state["paths"]["env_file"],
                  "ca_path": state["paths"]["ca"], "validate_certs": True, "timeout": 10.0,
                  "max_body_bytes": 5 * 1024 * 1024, "config": {}, "ws_url": state["urls"]["ws"],
                  "backup_dir": state["paths"]["backup_dir"]}
        checks = len(run_target(params)["checks"])
        api_and_config = {**params, "groups": list(API_AND_CONFIG_GROUPS)}
        api_only = median_seconds(lambda: run_target(api_and_config))
        concurrent = median_seconds(lambda: run_target(params))
        sequential = median_seconds(lambda: run_target({**params, "max_workers": 1}))
        with FaultServer("slow", delay=0.1) as distant:
            distant_params = {**params, "api_url": distant.url, "ca_path": None}
            distant_concurrent = median_seconds(lambda: run_target(distant_params), rounds=3)
            distant_sequential = median_seconds(lambda: run_target({**distant_params, "max_workers": 1}), rounds=3)

        with tempfile.TemporaryDirectory() as scratch:
            inventory = write_inventory(os.path.join(scratch, "inventory.yml"), {"bench": {
                "aragora_api_url": params["api_url"], "aragora_env_file": params["env_file"],
                "aragora_ca_path": params["ca_path"]}})
            empty = os.path.join(scratch, "empty.yml")
            with open(empty, "w", encoding="utf-8") as handle:
                handle.write("- hosts: aragora\n  gather_facts: false\n  tasks: []\n")
            extra = {"aragora_report_dir": os.path.join(scratch, "reports")}
            baseline = median_seconds(lambda: run_playbook(empty, inventory), rounds=3)
            prelaunch = median_seconds(lambda: run_playbook("prelaunch.yml", inventory, extra), rounds=3)
    finally:
        sandbox.down(directory)

    print("\nbench: one target, %d checks, against the real sandbox (median of %d)" % (checks, ROUNDS))
    print("  checks concurrent:       %7.3f s" % concurrent)
    print("  checks one at a time:    %7.3f s  (baseline)" % sequential)
    print("  ratio concurrent/serial: %7.2f" % (concurrent / sequential))
    print("  API and config groups:   %7.3f s  (without PostgreSQL, Redis, TLS, WebSocket probes)" % api_only)
    print("  ratio all/API-and-config:%7.2f" % (concurrent / api_only))
    print("bench: the same checks against an API answering in 100 ms (median of 3)")
    print("  checks concurrent:       %7.3f s" % distant_concurrent)
    print("  checks one at a time:    %7.3f s  (baseline)" % distant_sequential)
    print("  ratio concurrent/serial: %7.2f" % (distant_concurrent / distant_sequential))
    print("bench: ansible-playbook wall time (median of 3)")
    print("  prelaunch.yml:           %7.3f s" % prelaunch)
    print("  empty playbook:          %7.3f s  (baseline: start-up)" % baseline)
    print("  ratio prelaunch/empty:   %7.2f" % (prelaunch / baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
