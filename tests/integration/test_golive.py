"""playbooks/golive.yml: the pre-launch health check and a real smoke test against the Aragora sandbox, the smoke
test's faults (422 body, 429 Retry-After, a debate that never finishes) against the fault server, and the guarded
watch window whose metrics turn bad mid-window rolling back a systemd host (real Aragora under the systemctl
stand-in) and an emulated Kubernetes Deployment; with healthy metrics nothing is rolled back.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import signal
import subprocess
import time

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._operations import sqlite_archive
from tests.support import systemctl_standin
from tests.support.fault_server import LOGIN_PASSWORD, LOGIN_TOKEN, FaultServer
from tests.support.module_runner import run_module
from tests.support.playbook import by_id, read_report, run_playbook, write_inventory
from tests.support.systemd_host import link, make_host, wait_ready

SMOKE_IDS = ["smoke.token", "smoke.create_debate", "smoke.debate_completes", "smoke.websocket", "smoke.metrics"]


def smoke(server: FaultServer, check_mode: bool = False, **args) -> dict:
    return run_module("smoke_test", {"api_url": server.url, "poll_interval": 0.2, **args}, check_mode=check_mode)


def statuses(result: dict) -> dict[str, str]:
    return {check["id"]: check["status"] for check in result["checks"]}


def messages(result: dict) -> dict[str, str]:
    return {check["id"]: check["message"] for check in result["checks"]}


def records(directory: str, kind: str | None = None) -> list[dict]:
    found = []
    for path in sorted(glob.glob(os.path.join(directory, "incident-*.json")), key=os.path.getmtime):
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        if kind is None or record["kind"] == kind:
            found.append(record)
    return found


# ---- the real sandbox ---------------------------------------------------------------------------------------------


def test_golive_against_the_sandbox_prelaunch_and_real_smoke_test(tmp_path, sandbox_state, sandbox_env):
    inventory = sandbox_state["paths"]["inventory"]
    reports = str(tmp_path / "reports")
    run = run_playbook("golive.yml", inventory, {"aragora_report_dir": reports}, "-vvv", timeout=180)
    output = run.stdout + run.stderr
    report = read_report(reports, "golive-report")
    checks = by_id(report)
    # The checklist's script, line by line.
    for line in ("=== Pre-Launch Health Check ===", "Health endpoint: healthy", "Database: ok", "Redis: ok",
                 "TLS Certificate: OK (>7 days)", "Replicas: 3/3", "Pod distribution:", "Circuit breakers open: 0"):
        assert line in output, line
    # A real debate, created with a token signed from the host's env file, completed.
    assert checks["smoke.token"]["status"] == "PASS"
    assert "signed with ARAGORA_JWT_SECRET" in checks["smoke.token"]["message"]
    assert checks["smoke.create_debate"]["status"] == "PASS", checks["smoke.create_debate"]
    assert checks["smoke.create_debate"]["evidence"]["debate_id"].startswith("adhoc_")
    assert checks["smoke.debate_completes"]["status"] == "PASS", checks["smoke.debate_completes"]
    assert checks["smoke.websocket"]["status"] == "PASS", checks["smoke.websocket"]
    assert checks["smoke.metrics"]["status"] == "PASS", checks["smoke.metrics"]
    assert report["verdict"] == "GO" and run.returncode == 0, output[-3000:]
    # No secret in -vvv output or in the report, the signed token's secret included.
    with open(os.path.join(reports, "golive-report.json"), encoding="utf-8") as handle:
        written = handle.read()
    for name in ("ARAGORA_JWT_SECRET", "ARAGORA_API_TOKEN", "ARAGORA_ENCRYPTION_KEY"):
        assert sandbox_env[name] not in output and sandbox_env[name] not in written, name


def test_golive_check_mode_creates_nothing(tmp_path, sandbox_state):
    reports = str(tmp_path / "reports")
    run = run_playbook("golive.yml", sandbox_state["paths"]["inventory"],
                       {"aragora_report_dir": reports, "aragora_golive_phases": ["smoke"]}, "--check", timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    checks = by_id(read_report(reports, "golive-report"))
    assert checks["smoke.create_debate"]["status"] == "SKIP"
    assert checks["smoke.create_debate"]["message"].startswith("Check mode: would POST {agents, question, rounds}")
    assert "nothing was created" in checks["smoke.create_debate"]["message"]
    assert "debate_id" not in checks["smoke.create_debate"]["evidence"]


# ---- the smoke test's faults --------------------------------------------------------------------------------------


def test_checklist_body_is_rejected_with_422_and_the_result_says_why():
    with FaultServer("debates") as server:
        result = smoke(server, debate_body={"topic": "Smoke test debate", "agents": ["demo"], "max_rounds": 1})
    assert statuses(result)["smoke.create_debate"] == "FAIL"
    message = messages(result)["smoke.create_debate"]
    assert "rejected the debate body (422)" in message and "topic/max_rounds" in message
    assert statuses(result)["smoke.debate_completes"] == "SKIP"
    assert result["verdict"] == "NO-GO" and not result["changed"]


def test_unknown_agent_is_a_400_reported_clearly():
    with FaultServer("debates") as server:
        result = smoke(server, debate_body={"question": "q", "agents": ["gpt-4"], "rounds": 1})
    assert "(400): Unknown agent type(s): gpt-4" in messages(result)["smoke.create_debate"]


@pytest.mark.timed
def test_rate_limit_is_waited_out_with_retry_after():
    with FaultServer("rate_limited", rate_limited_creates=2, retry_after=1) as server:
        began = time.monotonic()
        result = smoke(server)
        elapsed = time.monotonic() - began
        posts = [path for method, path in server.seen if method == "POST"]
    assert statuses(result)["smoke.create_debate"] == "PASS", result["checks"]
    assert statuses(result)["smoke.debate_completes"] == "PASS"
    assert len(posts) == 3 and elapsed >= 2  # two 429s, each waited out for its Retry-After
    assert result["checks"][1]["evidence"]["attempts"] == [429, 429, 200]
    assert result["changed"]


@pytest.mark.timed
def test_rate_limit_longer_than_allowed_fails_without_waiting_it_out():
    with FaultServer("rate_limited", rate_limited_creates=5, retry_after=60) as server:
        began = time.monotonic()
        result = smoke(server, max_retry_after=5)
    assert time.monotonic() - began < 10
    assert statuses(result)["smoke.create_debate"] == "FAIL"
    assert "Retry-After 60s would exceed the 5 s allowed" in messages(result)["smoke.create_debate"]


@pytest.mark.timed
def test_debate_that_never_finishes_fails_at_the_timeout():
    with FaultServer("debate_never_finishes") as server:
        began = time.monotonic()
        result = smoke(server, debate_timeout=2)
        elapsed = time.monotonic() - began
    assert statuses(result)["smoke.debate_completes"] == "FAIL"
    assert "did not finish within 2 s (last status running)" in messages(result)["smoke.debate_completes"]
    assert elapsed < 6


def test_login_token_is_used_and_neither_it_nor_the_password_is_returned():
    with FaultServer("debates") as server:
        result = smoke(server, login_email="smoke@example.test", login_password=LOGIN_PASSWORD)
        sent = set(server.state["authorization"])
        refused = smoke(server, login_email="smoke@example.test", login_password="wrong")
    assert statuses(result)["smoke.token"] == "PASS" and statuses(result)["smoke.debate_completes"] == "PASS"
    assert sent == {"Bearer " + LOGIN_TOKEN}
    assert LOGIN_TOKEN not in json.dumps(result) and LOGIN_PASSWORD not in json.dumps(result)
    assert statuses(refused)["smoke.token"] == "FAIL" and "login as smoke@example.test failed" in messages(refused)[
        "smoke.token"]
    assert statuses(refused)["smoke.create_debate"] == "FAIL"  # its token could not be had: said, not hidden


def test_smoke_check_mode_posts_nothing():
    with FaultServer("debates") as server:
        result = smoke(server, check_mode=True)
        assert [method for method, _path in server.seen] == ["GET"]  # /metrics only
    # changed: it would create a debate (issue 13: check mode says what a run would change)
    assert statuses(result)["smoke.create_debate"] == "SKIP" and result["changed"]


# ---- the guarded watch window ---------------------------------------------------------------------------------------

WATCH = {"aragora_golive_phases": [], "aragora_golive_watch": True, "aragora_golive_watch_minutes": 0.5,
         "aragora_golive_watch_interval": 0.5}


@pytest.fixture(scope="module")
def systemd_host(tmp_path_factory):
    """One systemd host running real Aragora 2.11.1 (release 2.11.1, with 2.10.0 to roll back to)."""
    base = str(tmp_path_factory.mktemp("golive-systemd"))
    state, bin_dir = os.path.join(base, "systemd"), os.path.join(base, "bin")
    systemctl = systemctl_standin.install(bin_dir, state)
    host = make_host(os.path.join(base, "a"), os.path.join(state, "units"), "aragora-golive.service",
                     {"2.10.0": {}, "2.11.1": {}}, "2.11.1")
    host.update(base=base, bin=bin_dir, state=state, systemctl=systemctl)
    subprocess.run([systemctl, "start", host["unit"]], capture_output=True, timeout=60, check=True)
    try:
        assert wait_ready(host["api_url"])
        yield host
    finally:
        unit = systemctl_standin.Unit(state, host["unit"])
        pid = unit.main_pid()
        subprocess.run([systemctl, "stop", host["unit"]], capture_output=True, timeout=60, check=False)
        if pid and systemctl_standin.process_start_time(pid) is not None:
            os.killpg(pid, signal.SIGKILL)


def systemd_inventory(host: dict, metrics_url: str, reports: str) -> str:
    hostvars = {"aragora_release_root": host["root"], "aragora_systemd_unit": host["unit"],
                "aragora_api_url": host["api_url"], "aragora_golive_metrics_url": metrics_url,
                "aragora_report_dir": reports, "aragora_rollback_health_interval": 1,
                "aragora_rollback_health_timeout": 60}
    return write_inventory(os.path.join(reports, "inventory.yml"), {"a": hostvars}, "aragora")


def open_sqlite_files(pid: int, data_dir: str) -> set[str]:
    """The SQLite files of ``data_dir`` the process has open now (relative paths): the files it really uses."""
    found = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        with contextlib.suppress(OSError):
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            if target.startswith(data_dir + os.sep) and target.endswith((".db", ".sqlite", ".sqlite3")):
                found.add(os.path.relpath(target, data_dir))
    return found


def test_sqlite_pre_release_backup_of_a_real_server(tmp_path, systemd_host):
    """No aragora_db_host: go-live backs up the SQLite files the running 2.11.1 uses (ARAGORA_DATA_DIR of its env
    file), online, labelled, validated, in the report and set_stats; a backup that fails is a NO-GO, no smoke test."""
    data_dir = os.path.join(systemd_host["root"], "data")
    pid = systemctl_standin.Unit(systemd_host["state"], systemd_host["unit"]).main_pid()
    in_use = open_sqlite_files(pid, data_dir)
    assert in_use, "the server has no SQLite file open under %s" % data_dir
    backups, reports = str(tmp_path / "sqlite-backups"), str(tmp_path / "reports")
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"a": {
        "aragora_release_root": systemd_host["root"], "aragora_env_file": os.path.join(systemd_host["root"], ".env"),
        "aragora_sqlite_backup_dir": backups, "aragora_report_dir": reports}}, "aragora")
    run = run_playbook("golive.yml", inventory, {"aragora_golive_phases": ["pre_release_backup"],
                                                 "aragora_golive_release": "2.12.0"},
                       env={"PATH": systemd_host["bin"], "ANSIBLE_SHOW_CUSTOM_STATS": "1"}, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    taken, = glob.glob(os.path.join(backups, "aragora-sqlite-pre-release-*"))
    manifest = sqlite_archive.validate(taken)  # sha256 and integrity_check of every file, read again
    assert manifest["pre_release"] == {"running_release": "2.11.1", "next_release": "2.12.0", "taken_by": "a"}
    assert manifest["data_dir"] == data_dir and in_use <= set(manifest["files"])
    assert set(manifest["files"]) == set(sqlite_archive.database_files(data_dir))
    # A consistent copy of each live file, through the online backup API: the same rows as the file the server uses.
    for relative, entry in manifest["files"].items():
        assert entry["tables"] == sqlite_archive.inspect(os.path.join(data_dir, relative))["tables"], relative
    check = by_id(read_report(reports, "golive-report"))["golive.pre_release_backup"]
    assert check["status"] == "PASS" and check["evidence"]["archive"] == taken, check
    assert check["evidence"]["backend"] == "sqlite" and check["evidence"]["files"] == len(manifest["files"])
    assert "PRAGMA integrity_check ok" in check["message"] and "2.11.1 -> 2.12.0" in check["message"]
    assert "aragora_pre_release_backup" in run.stdout and taken in run.stdout  # set_stats

    # The same go-live whose backup cannot be written: FAIL, NO-GO, and the smoke test (after the switch) not run.
    blocked = str(tmp_path / "not-a-directory")
    with open(blocked, "w", encoding="utf-8") as handle:
        handle.write("a file where the backup directory should be\n")
    reports_failed = str(tmp_path / "reports-failed")
    run = run_playbook("golive.yml", inventory, {"aragora_golive_phases": ["pre_release_backup", "smoke"],
                                                 "aragora_golive_release": "2.12.0", "aragora_report_dir": reports_failed,
                                                 "aragora_sqlite_backup_dir": blocked},
                       env={"PATH": systemd_host["bin"]}, timeout=120)
    report = read_report(reports_failed, "golive-report")
    check = by_id(report)["golive.pre_release_backup"]
    assert check["status"] == "FAIL" and "SQLite backup failed" in check["message"] and "Do not switch" in check["message"]
    assert report["verdict"] == "NO-GO" and run.returncode != 0
    assert not [c for c in report["checks"] if c["id"].startswith("smoke.")]
    assert link(systemd_host) == "releases/2.11.1"


def test_healthy_metrics_roll_nothing_back(tmp_path, systemd_host):
    reports = str(tmp_path)
    with FaultServer("metrics_stay_healthy") as metrics:
        run = run_playbook("golive.yml", systemd_inventory(systemd_host, metrics.url, reports),
                           {**WATCH, "aragora_golive_watch_minutes": 0.05}, env={"PATH": systemd_host["bin"]},
                           timeout=60)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "No threshold crossed" in run.stdout
    assert link(systemd_host) == "releases/2.11.1"
    assert records(reports) == []


def test_errors_mid_window_roll_the_systemd_host_back_within_seconds(tmp_path, systemd_host):
    reports = str(tmp_path)
    with FaultServer("metrics_turn_bad", bad_after=2, bad_kind="errors") as metrics:
        run = run_playbook("golive.yml", systemd_inventory(systemd_host, metrics.url, reports), WATCH,
                           env={"PATH": systemd_host["bin"]}, timeout=120)
        bad_since = metrics.state["bad_since_wall"]
    assert run.returncode != 0  # the go-live stops: it was rolled back
    assert "GO-LIVE ROLLED BACK on a: error rate 30.0 % > 5 %" in run.stdout, run.stdout[-3000:]
    assert link(systemd_host) == "releases/2.10.0"
    (watch,) = records(reports, "golive-watch")
    (rollback,) = records(reports, "systemd-rollback")
    assert rollback["outcome"] == "succeeded" and (rollback["from"], rollback["to"]) == ("2.11.1", "2.10.0")
    assert watch["outcome"] == "succeeded" and (watch["from"], watch["to"]) == ("2.11.1", "2.10.0")
    verification = watch["verification"]
    assert verification["rollback_kind"] == "systemd" and verification["rollback_outcome"] == "succeeded"
    breach_to_rollback = float(verification["breach_to_rollback_started_s"])
    switched = os.lstat(os.path.join(systemd_host["root"], "current")).st_mtime
    print("breach seen -> rollback started: %.2f s; metrics turned bad -> link switched: %.2f s"
          % (breach_to_rollback, switched - bad_since))
    assert 0 <= breach_to_rollback < 30
    assert switched - bad_since < 30
    # Put the host back on 2.11.1 for whatever runs next.
    back = run_playbook("rollback.yml", write_inventory(
        os.path.join(reports, "back.yml"), {"a": {"aragora_release_root": systemd_host["root"],
                                                  "aragora_systemd_unit": systemd_host["unit"],
                                                  "aragora_api_url": systemd_host["api_url"],
                                                  "aragora_report_dir": reports,
                                                  "aragora_rollback_health_interval": 1}}, "aragora_systemd"),
        {"aragora_rollback_release": "2.11.1"}, env={"PATH": systemd_host["bin"]}, timeout=120)
    assert back.returncode == 0, back.stdout[-2000:]


def test_breach_without_automatic_rollback_says_the_release_is_still_live(tmp_path, systemd_host):
    reports = str(tmp_path)
    with FaultServer("metrics_turn_bad", bad_after=1, bad_kind="errors") as metrics:
        run = run_playbook("golive.yml", systemd_inventory(systemd_host, metrics.url, reports),
                           {**WATCH, "aragora_golive_auto_rollback": False}, env={"PATH": systemd_host["bin"]},
                           timeout=120)
    assert run.returncode != 0
    assert "GO-LIVE WATCH BREACHED on a: error rate 30.0 % > 5 %" in run.stdout, run.stdout[-3000:]
    assert "The release is still live: automatic rollback is off" in run.stdout
    assert "ROLLED BACK" not in run.stdout
    assert link(systemd_host) == "releases/2.11.1"
    (watch,) = records(reports, "golive-watch")
    assert watch["outcome"] == "failed" and watch["verification"]["rollback_outcome"] == "not run"
    assert records(reports, "systemd-rollback") == []


def test_open_breaker_mid_window_rolls_the_kubernetes_deployment_back(tmp_path, k8s_cluster, sandbox_state):
    cluster = k8s_cluster("bad_release")
    reports = str(tmp_path)
    with FaultServer("metrics_turn_bad", bad_after=1.5, bad_kind="breaker") as metrics:
        host = {"aragora_kubeconfig": cluster.kubeconfig, "aragora_api_url": sandbox_state["urls"]["api"],
                "aragora_ca_path": sandbox_state["paths"]["ca"], "aragora_golive_metrics_url": metrics.url,
                "aragora_report_dir": reports, "aragora_rollback_poll_interval": 0.2,
                "aragora_rollback_health_interval": 1}
        inventory = write_inventory(str(tmp_path / "inventory.yml"), {"prod-k8s": host}, "aragora")
        run = run_playbook("golive.yml", inventory, WATCH, timeout=120)
    assert run.returncode != 0
    assert "GO-LIVE ROLLED BACK on prod-k8s: circuit breakers open: demo" in run.stdout, run.stdout[-3000:]
    images = [c["image"] for c in cluster.get("deployments.apps", "aragora")["spec"]["template"]["spec"]["containers"]]
    assert images == ["ghcr.io/aragora/aragora:2.11.1"]
    (watch,) = records(reports, "golive-watch")
    assert watch["verification"]["rollback_kind"] == "kubernetes"
    assert watch["verification"]["rollback_outcome"] == "succeeded"
    assert float(watch["verification"]["breach_to_rollback_started_s"]) < 30
    print("kubernetes: breach seen -> rollback started: %s s" % watch["verification"]["breach_to_rollback_started_s"])
