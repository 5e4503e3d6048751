"""playbooks/rollback.yml on systemd hosts, against real Aragora 2.11.1 servers run by a ``systemctl`` stand-in.

Each host is a release tree in a temporary directory (../support/systemd_host.py): releases that link the real
Aragora venv, tell themselves apart by the CORS origin they allow, or cannot start (production mode without its
secrets). The tests run in order on host ``a``, each leaving it serving 2.11.1 or saying where it is.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import time

import pytest

from tests.support import systemctl_standin
from tests.support.playbook import run_playbook, write_inventory
from tests.support.systemd_host import allowed_origin, get, link, make_host, origin, wait_ready

RELEASES = {
    "2.9.0": {"broken": True},
    "2.10.0": {"version": "2.11.1"},  # says which version it serves: the gate compares it with X-API-Release
    "2.11.1": {},  # says nothing: the gate does not compare versions
}
GROUP = "aragora_systemd"
# The gate of a run whose target is broken. The role has one gate timeout, for the target and for the revert to the
# release that ran: a broken release exits within 2 s, but the revert's healthy 2.11.1 must come up within it too,
# and that takes 4-6 s idle and up to 11 s at load 13-16 (measured): 10 s failed the revert's gate under load.
BROKEN_TIMEOUT = 30


class Deployment:
    """The stand-in, the hosts' release trees and running units; every process started is stopped by PID."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.state = os.path.join(base, "systemd")
        self.bin = os.path.join(base, "bin")
        self.systemctl = systemctl_standin.install(self.bin, self.state)
        self.reports = os.path.join(base, "reports")
        self.hosts: dict[str, dict] = {}

    def add(self, name: str, releases: dict, current: str, start: bool = True) -> dict:
        host = make_host(os.path.join(self.base, name), os.path.join(self.state, "units"),
                         "aragora-%s.service" % name, releases, current)
        self.hosts[name] = host
        if start:
            self.ctl("start", host["unit"])
        return host

    def ctl(self, *args: str) -> str:
        return subprocess.run([self.systemctl, *args], capture_output=True, text=True, timeout=60,
                              check=True).stdout.strip()

    def main_pid(self, name: str) -> int:
        return int(self.ctl("show", "--property=MainPID", "--value", self.hosts[name]["unit"]))

    def inventory(self, *names: str, per_host: dict[str, dict] | None = None, **extra) -> str:
        """Every host's variables, ``extra`` for all of them, ``per_host[name]`` for one."""
        hostvars = {name: {"aragora_release_root": self.hosts[name]["root"],
                           "aragora_systemd_unit": self.hosts[name]["unit"],
                           "aragora_api_url": self.hosts[name]["api_url"],
                           "aragora_report_dir": self.reports,
                           "aragora_rollback_health_interval": 1,
                           "aragora_rollback_health_timeout": 60, **extra, **(per_host or {}).get(name, {})}
                    for name in names}
        return write_inventory(os.path.join(self.base, "inventory-%s.yml" % "-".join(names)), hostvars, GROUP)

    def run(self, inventory: str, extra_vars: dict | None = None, *args: str) -> subprocess.CompletedProcess:
        return run_playbook("rollback.yml", inventory, extra_vars, *args, timeout=240,
                            env={"PATH": self.bin, "ANSIBLE_SHOW_CUSTOM_STATS": "1"})

    def incidents(self) -> list[dict]:
        records = []
        for path in sorted(glob.glob(os.path.join(self.reports, "incident-*.json")), key=os.path.getmtime):
            with open(path, encoding="utf-8") as handle:
                records.append(json.load(handle))
        return records

    def stop_all(self) -> None:
        """Stop every unit through the stand-in; whatever still runs after that is killed by its recorded PID."""
        survivors = []
        for host in self.hosts.values():
            unit = systemctl_standin.Unit(self.state, host["unit"])
            pid = unit.main_pid()
            subprocess.run([self.systemctl, "stop", host["unit"]], capture_output=True, timeout=60, check=False)
            if pid and systemctl_standin.process_start_time(pid) is not None:
                os.killpg(pid, signal.SIGKILL)
                survivors.append(pid)
        assert not survivors, "aragora pid(s) %s survived systemctl stop" % survivors


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    deployment = Deployment(str(tmp_path_factory.mktemp("systemd-rollback")))
    try:
        deployment.add("a", RELEASES, "2.11.1")
        deployment.add("b", {"2.10.0": {}, "2.11.1": {}}, "2.11.1")
        deployment.add("c", {"2.10.0": {"broken": True}, "2.11.1": {}}, "2.11.1")
        deployment.add("d", {"2.10.0": {}, "2.11.1": {}}, "2.11.1", start=False)  # must never be reached
        for name in "abc":
            assert wait_ready(deployment.hosts[name]["api_url"]), deployment.ctl("show", deployment.hosts[name]["unit"])
        yield deployment
    finally:
        deployment.stop_all()


def serving(deployment: Deployment, name: str, release: str) -> bool:
    """Host ``name`` answers ready and allows ``release``'s origin: that release's configuration is live."""
    api_url = deployment.hosts[name]["api_url"]
    return get(api_url + "/readyz")[0] == 200 and allowed_origin(api_url, release) == origin(release)


def test_check_mode_says_what_would_change_and_changes_nothing(deployment):
    pid = deployment.main_pid("a")
    result = deployment.run(deployment.inventory("a"), None, "--check", "--diff")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "releases/2.11.1" in result.stdout and "releases/2.10.0" in result.stdout  # the diff: before, after
    assert "Would roll a back from 2.11.1 to 2.10.0" in result.stdout
    assert link(deployment.hosts["a"]) == "releases/2.11.1"
    assert deployment.main_pid("a") == pid
    assert deployment.incidents() == []  # a dry run is not an incident


def test_missing_target_is_a_clear_error_and_nothing_is_touched(deployment):
    pid = deployment.main_pid("a")
    result = deployment.run(deployment.inventory("a"), {"aragora_rollback_release": "3.0.0"})
    assert result.returncode != 0
    assert "release '3.0.0' not found under" in result.stdout
    assert "stopped before any change" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert link(deployment.hosts["a"]) == "releases/2.11.1"
    assert deployment.main_pid("a") == pid


def test_already_current_changes_nothing_and_does_not_restart(deployment):
    pid = deployment.main_pid("a")
    result = deployment.run(deployment.inventory("a"), {"aragora_rollback_release": "2.11.1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "changed=0" in result.stdout
    assert deployment.main_pid("a") == pid
    assert deployment.incidents()[-1]["outcome"] == "unchanged"


def test_rollback_to_previous_switches_restarts_and_verifies(deployment):
    old_pid = deployment.main_pid("a")
    began = time.monotonic()
    result = deployment.run(deployment.inventory("a"))
    elapsed = time.monotonic() - began
    assert result.returncode == 0, result.stdout + result.stderr
    print("one-host rollback, wall time: %.1f s" % elapsed)
    assert link(deployment.hosts["a"]) == "releases/2.10.0"
    assert deployment.main_pid("a") not in (0, old_pid)
    assert serving(deployment, "a", "2.10.0")
    record = deployment.incidents()[-1]
    assert record["outcome"] == "succeeded" and (record["from"], record["to"]) == ("2.11.1", "2.10.0")
    assert record["target"] == {"host": "a", "unit": "aragora-a.service"}
    assert record["actor"]  # the local user
    # 2.10.0 has a VERSION file: the gate compared it with what the server reports.
    assert record["verification"]["expected_version"] == "2.11.1"
    assert record["verification"]["health_verdict"] == "GO"
    assert record["verification"]["health_checks"]["health.release_version"] == "Release version is 2.11.1"
    assert "aragora_rollback_results:" in result.stdout and "outcome: succeeded" in result.stdout  # set_stats


def test_rollback_to_a_named_version_records_the_awx_user(deployment):
    extra_vars = {"aragora_rollback_release": "2.11.1", "awx_user_name": "oncall-alice"}
    result = deployment.run(deployment.inventory("a"), extra_vars)
    assert result.returncode == 0, result.stdout + result.stderr
    assert link(deployment.hosts["a"]) == "releases/2.11.1"
    assert serving(deployment, "a", "2.11.1")
    record = deployment.incidents()[-1]
    assert (record["from"], record["to"], record["outcome"]) == ("2.10.0", "2.11.1", "succeeded")
    assert record["actor"] == "oncall-alice"
    assert record["verification"]["expected_version"] is None  # 2.11.1 has no VERSION file: not compared
    markdown = record_markdown(deployment)
    assert "oncall-alice" in markdown and "2.10.0" in markdown


def test_broken_target_is_reverted_and_the_play_fails_saying_so(deployment):
    result = deployment.run(deployment.inventory("a", aragora_rollback_health_timeout=BROKEN_TIMEOUT),
                            {"aragora_rollback_release": "2.9.0"})
    assert result.returncode != 0
    assert "ROLLBACK FAILED on a: 2.9.0 did not pass" in result.stdout
    assert "REVERTED" in result.stdout and "points at 2.11.1 again" in result.stdout
    assert link(deployment.hosts["a"]) == "releases/2.11.1"
    assert serving(deployment, "a", "2.11.1")
    record = deployment.incidents()[-1]
    assert (record["from"], record["to"], record["outcome"]) == ("2.11.1", "2.9.0", "reverted")
    assert record["verification"]["revert_health_verdict"] == "GO"


def test_a_revert_that_switched_back_but_failed_its_gate_says_exactly_that(deployment):
    # The release that runs says it serves 9.9.9 (VERSION), the server reports 2.11.1: after the broken target,
    # the revert switches back and restarts fine, and only its health gate fails. The message says so, no more.
    deployment.add("e", {"2.10.0": {"broken": True}, "2.11.1": {"version": "9.9.9"}}, "2.11.1")
    assert wait_ready(deployment.hosts["e"]["api_url"])
    result = deployment.run(deployment.inventory("e", aragora_rollback_health_timeout=BROKEN_TIMEOUT))
    assert result.returncode != 0
    text = " ".join(result.stdout.split())
    assert "ROLLBACK FAILED on e: 2.10.0 did not pass" in text
    assert "REVERT INCOMPLETE: %s/current points at 2.11.1 again and aragora-e.service was restarted on it, but" \
        % deployment.hosts["e"]["root"] in text, text[-3000:]
    assert "Health gate on 2.11.1" in text and "9.9.9" in text
    assert "Now %s/current points at 2.11.1" % deployment.hosts["e"]["root"] in text
    assert "THE REVERT FAILED" not in text
    assert link(deployment.hosts["e"]) == "releases/2.11.1" and serving(deployment, "e", "2.11.1")
    record = deployment.incidents()[-1]
    assert record["outcome"] == "failed" and "REVERT INCOMPLETE" in record["summary"]


def test_two_hosts_second_fails_first_stays_rolled_back_and_the_run_stops(deployment):
    # Only c's target is broken: b's healthy target keeps the usual gate, so that a slow start under load is no FAIL.
    result = deployment.run(deployment.inventory(
        "b", "c", "d", per_host={"c": {"aragora_rollback_health_timeout": BROKEN_TIMEOUT}}))
    assert result.returncode != 0
    assert link(deployment.hosts["b"]) == "releases/2.10.0" and serving(deployment, "b", "2.10.0")
    assert link(deployment.hosts["c"]) == "releases/2.11.1" and serving(deployment, "c", "2.11.1")
    assert "ROLLBACK FAILED on c" in result.stdout
    assert link(deployment.hosts["d"]) == "releases/2.11.1"  # never reached
    assert "[d]" not in result.stdout


def record_markdown(deployment: Deployment) -> str:
    path = sorted(glob.glob(os.path.join(deployment.reports, "incident-*.md")), key=os.path.getmtime)[-1]
    with open(path, encoding="utf-8") as handle:
        return handle.read()
