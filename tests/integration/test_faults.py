# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness checks against a broken Aragora: every fault ends in a FAIL that says what went wrong, in plain
words and within the timeout, never a traceback or a hang.

In-process through runner.run_target (what the readiness_check module calls), and once end to end through the real
``ansible-playbook playbooks/prelaunch.yml``. The server is tests/support/fault_server.py.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
import time
import typing as t

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from ansible_collections.aragora.ops.plugins.module_utils.checks.catalog import GROUPS  # noqa: E402
from ansible_collections.aragora.ops.plugins.module_utils.runner import run_target  # noqa: E402
from tests.support.fault_server import FaultServer  # noqa: E402
from tests.support.playbook import by_id, read_report, run_playbook, write_inventory  # noqa: E402

TIMEOUT = 2.0
MAX_BODY_BYTES = 5 * 1024 * 1024
# A correctness bound, not a speed target: a run that waits on a slow server at most one connect/read timeout per
# phase, plus the body deadline, plus slack for a loaded machine, has not hung.
RUN_BOUND = 2 * TIMEOUT + 3

# The checks that read the live API (with no api_token, so the circuit breakers come from /metrics).
HEALTH_JSON = ("health.liveness", "health.readiness", "health.api_health")
METRICS = ("monitoring.prometheus_metrics", "providers.circuit_breakers")
LIVE_API_CHECKS = HEALTH_JSON + METRICS + (
    "health.release_version", "health.response_time", "security.cors_origins", "security.https_enforced")


def expect(checks: t.Iterable[str], pattern: str) -> dict[str, str]:
    return dict.fromkeys(checks, pattern)


# Per fault: the checks that must FAIL, and a regex their message must match (what went wrong, in plain words).
TRANSPORT_FAULTS: dict[str, dict[str, str]] = {
    "refused": expect(LIVE_API_CHECKS, r"connection refused"),
    "huge_body": expect(LIVE_API_CHECKS, r"body larger than %d bytes" % MAX_BODY_BYTES),
    "huge_body_content_length": expect(LIVE_API_CHECKS, r"body larger than %d bytes" % MAX_BODY_BYTES),
}
SLOW_FAULTS: dict[str, dict[str, str]] = {
    "hang": expect(LIVE_API_CHECKS, r"no answer within 2 s"),
    "trickle": expect(LIVE_API_CHECKS, r"no (complete )?answer within 2 s"),
}
ANSWER_FAULTS: dict[str, dict[str, str]] = {
    "http_500": {**expect(HEALTH_JSON, r"answered 500 with a body that is not JSON"),
                 **expect(METRICS, r"-> 500 in \d+ ms: the metrics endpoint did not answer 200")},
    "malformed_json": {**expect(HEALTH_JSON, r"answered 200 with a body that is not JSON"),
                       **expect(METRICS, r"not valid Prometheus text")},
    "unauthorized": {**expect(HEALTH_JSON, r"-> 401 in \d+ ms: it asks for credentials"),
                     **expect(METRICS, r"-> 401 in \d+ ms: set metrics_token")},
    "forbidden": {**expect(HEALTH_JSON, r"-> 403 in \d+ ms: it refuses the credentials"),
                  **expect(METRICS, r"-> 403 in \d+ ms: set metrics_token")},
    "degraded": {"health.readiness": r"not ready \(503\): redis unreachable",
                 "health.api_health": r"reports degraded \(503\): redis unreachable"},
}

# Messages of the engine's last resort, when a check raised instead of returning an outcome.
CRASH_MARKERS = ("Traceback", "could not complete")


@pytest.fixture
def fault_server() -> t.Iterator[t.Callable[..., FaultServer]]:
    """Start fault servers by mode; every one is stopped at teardown, whatever the test did."""
    servers: list[FaultServer] = []

    def start(mode: str, **options: t.Any) -> FaultServer:
        server = FaultServer(mode, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def probe_params(url: str, **overrides: t.Any) -> dict[str, t.Any]:
    """The readiness_check module's parameters, as the prelaunch role passes them."""
    return {"api_url": url, "timeout": TIMEOUT, "validate_certs": True, "max_body_bytes": MAX_BODY_BYTES,
            "config": {}, "groups": list(GROUPS), **overrides}


def run_bounded(params: dict[str, t.Any], server: FaultServer, bound: float) -> tuple[dict, float]:
    """run_target on a thread, given ``bound`` seconds; past that the server is stopped to free the run.

    Returns the result and how long the run took (or had taken when the bound passed), so a hang shows up as a
    failed assertion on the duration, not as a test that never ends.
    """
    outcome: dict[str, t.Any] = {}

    def target() -> None:
        try:
            outcome["result"] = run_target(params)
        except BaseException as exc:  # pylint: disable=broad-exception-caught  # reported by the assertion below
            outcome["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=target, name="run_target-%s" % server.mode, daemon=True)
    thread.start()
    thread.join(bound)
    elapsed = time.monotonic() - started
    if thread.is_alive():
        server.stop()  # ends the waiting or trickling answers, so the run can finish and the test report it
        thread.join(3 * TIMEOUT + 10)
        assert not thread.is_alive(), "run_target is still running after the fault server stopped"
    assert "error" not in outcome, "run_target raised %r" % outcome.get("error")
    return outcome["result"], elapsed


def assert_no_crash(checks: t.Iterable[dict]) -> None:
    for check in checks:
        text = check["message"] + json.dumps(check["evidence"], default=str)
        for marker in CRASH_MARKERS:
            assert marker not in text, "%s crashed instead of judging: %s" % (check["id"], check["message"])


def assert_fails_with(result: dict, expected: dict[str, str]) -> None:
    checks = by_id(result)
    assert_no_crash(checks.values())
    for check_id, pattern in expected.items():
        check = checks[check_id]
        # FAIL, or ERROR (could not judge) naming the check that owns the cause, which itself FAILs.
        assert check["status"] in ("FAIL", "ERROR"), "%s is %s: %s" % (check_id, check["status"], check["message"])
        if check["status"] == "ERROR":
            assert checks[check["cause"]["check"]]["status"] == "FAIL", check
        assert re.search(pattern, check["message"]), "%s says %r, expected /%s/" % (
            check_id, check["message"], pattern)
    assert result["verdict"] == "NO-GO"


# --- the fault server itself ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["hang", "trickle"])
def test_fault_server_stops_promptly_while_clients_wait(mode):
    """stop() is not held up by a handler that is waiting or trickling, nor by a client that never hangs up."""
    server = FaultServer(mode).start()
    clients = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _dummy in range(3)]
    try:
        for client in clients:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        time.sleep(0.2)  # the handlers are now inside the mode
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
        assert not any(th.name.startswith("fault-%s-handler" % mode) for th in threading.enumerate())
    finally:
        server.stop()
        for client in clients:
            client.close()


# --- in-process ----------------------------------------------------------------------------------------------------

def test_healthy_server_passes_the_live_checks(fault_server):
    """The baseline: the fault server's healthy mode is an Aragora 2.11.1 the checks accept."""
    server = fault_server("healthy")
    checks = by_id(run_target(probe_params(server.url)))
    assert_no_crash(checks.values())
    statuses = {check_id: checks[check_id]["status"] for check_id in LIVE_API_CHECKS}
    # Plain http on 127.0.0.1 is not HTTPS, rightly.
    assert statuses.pop("security.https_enforced") == "FAIL"
    assert set(statuses.values()) == {"PASS"}, statuses
    assert "2.11.1" in checks["health.release_version"]["message"]


def test_the_list_of_live_api_checks_is_complete(fault_server):
    """Every check that reaches the server is in LIVE_API_CHECKS, so the fault tests below cover new ones too."""
    server = fault_server("refused")
    checks = run_target(probe_params(server.url))["checks"]
    reached = {check["id"] for check in checks if "connection refused" in check["message"]}
    assert reached == set(LIVE_API_CHECKS)


@pytest.mark.parametrize("mode", sorted({**TRANSPORT_FAULTS, **ANSWER_FAULTS}))
def test_fault_fails_the_live_checks_in_plain_words(fault_server, mode):
    server = fault_server(mode)
    result, elapsed = run_bounded(probe_params(server.url), server, RUN_BOUND)
    assert elapsed < RUN_BOUND
    assert_fails_with(result, {**TRANSPORT_FAULTS, **ANSWER_FAULTS}[mode])


def test_degraded_server_is_alive_but_not_ready(fault_server):
    server = fault_server("degraded")
    checks = by_id(run_target(probe_params(server.url)))
    liveness = checks["health.liveness"]
    assert liveness["status"] == "WARN" and "redis unreachable" in liveness["message"]
    assert checks["health.api_health"]["evidence"]["reason"] == "redis unreachable"


def test_huge_body_is_refused_at_the_limit_not_read_whole(fault_server):
    """The 50 MB body is cut at max_body_bytes: the server sees the client go long before the end."""
    server = fault_server("huge_body")
    params = probe_params(server.url, max_body_bytes=1024 * 1024, groups=["health"])
    result, elapsed = run_bounded(params, server, RUN_BOUND)
    assert_fails_with(result, expect(HEALTH_JSON, r"body larger than 1048576 bytes"))
    assert elapsed < TIMEOUT, "reading stopped at the limit, not after 50 MB (took %.2f s)" % elapsed


@pytest.mark.parametrize("mode", [
    "hang",
    "trickle",
])
def test_slow_server_run_ends_within_the_timeout(fault_server, mode, record_property):
    """A server that never answers, or answers a byte a second, holds the run no longer than the timeout allows."""
    server = fault_server(mode)
    result, elapsed = run_bounded(probe_params(server.url), server, RUN_BOUND)
    record_property("elapsed_s", round(elapsed, 2))
    print("%s: run_target took %.2f s (timeout %g s, bound %g s)" % (mode, elapsed, TIMEOUT, RUN_BOUND))
    assert elapsed < RUN_BOUND, "the %s run took %.1f s with timeout %g s: it hung" % (mode, elapsed, TIMEOUT)
    assert_fails_with(result, SLOW_FAULTS[mode])


# A server answering an error proves nothing about its version or CORS policy; the checks should say so.
ERROR_ANSWERS = sorted(set(ANSWER_FAULTS) - {"degraded"})


@pytest.mark.parametrize("mode", ERROR_ANSWERS)
def test_release_version_names_the_error_answer(fault_server, mode):
    server = fault_server(mode)
    check = by_id(run_target(probe_params(server.url)))["health.release_version"]
    assert check["status"] == "FAIL", "%s: %s" % (check["status"], check["message"])
    assert re.search(r"\b(500|401|403|not JSON)\b", check["message"]), check["message"]


@pytest.mark.parametrize("mode", ERROR_ANSWERS)
def test_cors_check_does_not_pass_on_an_error_answer(fault_server, mode):
    server = fault_server(mode)
    check = by_id(run_target(probe_params(server.url)))["security.cors_origins"]
    assert check["status"] != "PASS", check["message"]


# --- end to end: the real playbook ---------------------------------------------------------------------------------

TARGET = "fault-target"


@pytest.mark.parametrize("mode", ["hang", "huge_body"])
def test_prelaunch_playbook_reports_no_go_on_a_broken_server(fault_server, tmp_path, mode, record_property):
    server = fault_server(mode)
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {TARGET: {
        "aragora_api_url": server.url, "aragora_timeout": int(TIMEOUT),
        "aragora_config": {"ARAGORA_ENV": "production", "ARAGORA_LOG_LEVEL": "INFO"}}})
    started = time.monotonic()
    run = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)}, timeout=180)
    elapsed = time.monotonic() - started
    record_property("elapsed_s", round(elapsed, 2))
    print("%s: ansible-playbook took %.2f s" % (mode, elapsed))
    output = run.stdout + run.stderr
    assert "Traceback" not in output, output[-4000:]
    assert run.returncode == 2, "exit %s\n%s" % (run.returncode, output[-4000:])

    assert (tmp_path / "readiness-report.json").is_file(), output[-4000:]
    report = read_report(str(tmp_path))
    assert report["verdict"] == "NO-GO"
    checks = by_id(report, TARGET)
    expected = SLOW_FAULTS[mode] if mode in SLOW_FAULTS else TRANSPORT_FAULTS[mode]
    assert_fails_with({"checks": list(checks.values()), "verdict": report["verdict"]}, expected)
    # The configuration given as variables was judged, not skipped, while the API was down.
    assert checks["security.environment_mode"]["status"] == "PASS"
    assert "NO-GO" in output
