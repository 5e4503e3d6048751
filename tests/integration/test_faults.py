# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness checks against a broken Aragora: every fault ends in a FAIL that says what went wrong, in plain
words and within the timeout, never a traceback or a hang.

In-process through runner.run_target (what the readiness_check module calls), and once end to end through the real
``ansible-playbook playbooks/prelaunch.yml``. The server is tests/support/fault_server.py.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
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

from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import GROUPS, KUBERNETES_GROUPS  # noqa: E402
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import k8s_client  # noqa: E402
from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import run_target  # noqa: E402
from tests.support.fault_server import MiB, FaultServer, RawFaultServer  # noqa: E402
from tests.support.playbook import by_id, read_report, run_playbook, write_inventory  # noqa: E402

# Nearly every test here bounds a duration (a hang guard): they run alone, after the parallel part (Makefile).
pytestmark = pytest.mark.timed

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
# Checks that reach the server but judge on configuration when it answers without a token: each transport fault
# must still stop them (they could not judge), but an error answer does not.
REACHING_CHECKS = LIVE_API_CHECKS + ("security.rate_limiting",)


def expect(checks: t.Iterable[str], pattern: str) -> dict[str, str]:
    return dict.fromkeys(checks, pattern)


# Per fault: the checks that must FAIL, and a regex their message must match (what went wrong, in plain words).
TRANSPORT_FAULTS: dict[str, dict[str, str]] = {
    "refused": expect(REACHING_CHECKS, r"connection refused"),
    "huge_body": expect(REACHING_CHECKS, r"body larger than %d bytes" % MAX_BODY_BYTES),
    "huge_body_content_length": expect(REACHING_CHECKS, r"body larger than %d bytes" % MAX_BODY_BYTES),
}
SLOW_FAULTS: dict[str, dict[str, str]] = {
    "hang": expect(REACHING_CHECKS, r"no answer within 2 s"),
    "trickle": expect(REACHING_CHECKS, r"no (complete )?answer within 2 s"),
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
    """Every check that reaches the server is in REACHING_CHECKS, so the fault tests below cover new ones too."""
    server = fault_server("refused")
    checks = run_target(probe_params(server.url))["checks"]
    reached = {check["id"] for check in checks if "connection refused" in check["message"]}
    assert reached == set(REACHING_CHECKS)


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


def test_each_endpoint_is_fetched_once_per_run(fault_server):
    """The checks share what they read: one request per endpoint and distinct request (the CORS probe's Origin
    makes /api/health twice), so a run does not spend the server's rate limit on itself."""
    server = fault_server("healthy")
    run_target(probe_params(server.url))
    paths = [path for _method, path in server.seen]
    repeated = {path: paths.count(path) for path in set(paths) if paths.count(path) > 1}
    assert repeated == {"/api/health": 2}, repeated


def test_a_brief_throttle_is_waited_out_once(fault_server):
    """A 429 whose Retry-After fits in the timeout is waited out once, and the checks judge the real answer."""
    server = fault_server("throttled_once", retry_after=1)
    checks = by_id(run_target(probe_params(server.url, groups=["health"])))
    assert all(checks[check_id]["status"] == "PASS" for check_id in HEALTH_JSON), checks
    assert [path for _method, path in server.seen].count("/readyz") == 2


def test_a_persistent_throttle_is_named_as_such(fault_server):
    """Still 429 after the one wait: "throttled by the server's rate limiter", with its own remediation, never
    "did not answer 200"."""
    server = fault_server("throttled", retry_after=1)
    checks = by_id(run_target(probe_params(server.url)))
    for check_id in HEALTH_JSON + METRICS:
        check = checks[check_id]
        assert check["status"] == "FAIL" and "throttled by the server's rate limiter" in check["message"], check
        assert "did not answer 200" not in check["message"]
        assert check["evidence"]["could_not_judge"] == "throttled" and "rate limiter" in check["remediation"]
    assert [path for _method, path in server.seen].count("/readyz") == 2


@pytest.mark.parametrize("mode", ["unauthorized", "forbidden", "http_500", "malformed_json"])
def test_response_time_does_not_pass_on_an_error_answer(fault_server, mode):
    server = fault_server(mode)
    check = by_id(run_target(probe_params(server.url, groups=["health"])))["health.response_time"]
    assert check["status"] == "FAIL", check


def test_a_wrong_api_token_is_not_an_open_circuit_breaker(fault_server):
    server = fault_server("unauthorized")
    check = by_id(run_target(probe_params(server.url, api_token="wrong-token", groups=["providers"])))[
        "providers.circuit_breakers"]
    assert check["status"] == "FAIL" and "api_token" in check["message"], check
    assert "is open" not in check["remediation"] and "api_token" in check["remediation"]


def test_an_env_file_that_is_a_fifo_is_refused_at_once(tmp_path):
    """A FIFO (no writer) as env file: refused as not a regular file, never a hang on open."""
    fifo = tmp_path / "aragora.env"
    os.mkfifo(fifo)
    started = time.monotonic()
    checks = by_id(run_target({**probe_params("", groups=["security"]), "api_url": None, "env_file": str(fifo)}))
    assert time.monotonic() - started < TIMEOUT
    check = checks["security.environment_mode"]
    assert check["status"] == "FAIL" and "not a regular file (it is a FIFO)" in check["message"], check


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


# --- the fault matrix: every dependency x every fault mode that applies to it ----------------------------------------
#
# Each cell runs the dependency's checks in-process (what the probe modules call) against one fault, with secrets in
# the configuration and in every URL, and asserts: the run ends within MATRIX_BOUND, the checks that read the
# dependency FAIL (never PASS, never crash) with a message naming the cause, and no secret shows anywhere. Cells run
# on a few threads at once: most of them wait on a socket, not the CPU.

MATRIX_BOUND = TIMEOUT + 2
JWT_SECRET = "matrix-Jwt-Secret-k3Nq8Vw2Rt6Yp1Zs4Xc7Bm9"
PASSWORD = "matrix-Passw0rd-L5Hg2Df8"
MATRIX_SECRETS = (JWT_SECRET, PASSWORD, "kube-Token-Zq9Wx3Ec")
MATRIX_CONFIG = {"ARAGORA_ENV": "production", "ARAGORA_JWT_SECRET": JWT_SECRET}

# What a message must say, per fault (the cause in plain words), whatever the dependency; a dependency may refine it.
TIMED_OUT = r"(no (complete )?answer|no WebSocket handshake|did not answer|timed out|no complete answer).* 2 s|" \
            r"within 2 s|2 s \(timeout\)"
CAUSES: dict[str, str] = {
    "refused": r"refused",
    "hang": TIMED_OUT,
    "trickle": TIMED_OUT,
    "garbage": r"not a valid HTTP|without a valid HTTP answer|before a valid HTTP answer|no valid WebSocket "
               r"handshake|not JSON|protocol|not speak",
    "close": r"closed|without a valid|unexpected|lost|reset",
    "unauthorized": r"401",
    "forbidden": r"403",
    "http_500": r"500",
    "malformed_json": r"not JSON|not valid Prometheus|not JSON|answered 200",
    "huge_body": r"larger than|too large",
    "redirect_loop": r"redirect",
    "throttled": r"throttled by the server's rate limiter",
    "empty_object": r"expected \w+|not Aragora's|is not ok|status None",
    "json_string": r"expected \w+|expected a JSON object|expected a Kubernetes object",
    "not_its_protocol": r"not speak|protocol|not a|unexpected|invalid|closed|garbage|wrong|reset|No such",
}


@dataclasses.dataclass(frozen=True)
class Dependency:
    """One dependency of the probes: the groups that read it, the checks that must FAIL when it is broken, the
    fault server it is tried against ("http" or "raw" below HTTP), and its parameters for a server's address."""

    name: str
    groups: tuple[str, ...]
    judged: tuple[str, ...]
    params: t.Callable[[str, int, str], dict[str, t.Any]]  # (host, port, a kubeconfig path) -> run_target params
    modes: tuple[str, ...]
    causes: t.Mapping[str, str] = dataclasses.field(default_factory=dict)
    server_options: t.Mapping[str, dict[str, t.Any]] = dataclasses.field(default_factory=dict)  # per mode


HTTP_MODES = ("refused", "hang", "trickle", "garbage", "unauthorized", "forbidden", "http_500", "malformed_json",
              "huge_body", "redirect_loop", "throttled")
RAW_MODES = ("refused", "hang", "trickle", "garbage", "close", "huge_body")
# "not_its_protocol": a healthy HTTP server (the fault server's healthy mode) where another protocol was expected.


def write_kubeconfig(path: str, server: str) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "faulty",
                   "clusters": [{"name": "faulty", "cluster": {"server": server}}],
                   "contexts": [{"name": "faulty", "context": {"cluster": "faulty", "user": "faulty"}}],
                   "users": [{"name": "faulty", "user": {"token": MATRIX_SECRETS[2]}}]}, handle)
    return path


DEPENDENCIES: dict[str, Dependency] = {dep.name: dep for dep in (
    # security.cors_origins and https_enforced also judge the configuration and the URL: not the API's answer alone.
    Dependency("API", ("health", "monitoring", "providers", "security"),
               tuple(set(LIVE_API_CHECKS) - {"security.cors_origins", "security.https_enforced"}),
               lambda host, port, _kc: {"api_url": "http://aragora:%s@%s:%d" % (PASSWORD, host, port)},
               HTTP_MODES),
    Dependency("TLS", ("tls",), ("tls.certificate_trusted", "tls.hostname", "tls.expiry", "tls.protocol"),
               lambda host, port, _kc: {"api_url": "https://aragora:%s@%s:%d" % (PASSWORD, host, port),
                                        "tls_server_name": "aragora.example"},
               RAW_MODES + ("not_its_protocol",),
               {"garbage": r"TLS|handshake|not speak|closed", "huge_body": r"TLS|handshake|not speak|record",
                "close": r"TLS|handshake|closed|EOF"}),
    Dependency("WebSocket", ("websocket",), ("websocket.connectivity",),
               lambda host, port, _kc: {"ws_url": "ws://aragora:%s@%s:%d/ws" % (PASSWORD, host, port)},
               HTTP_MODES, {"malformed_json": r"rejected with HTTP 200", "throttled": r"429",
                            "huge_body": r"larger than|too large|no valid WebSocket handshake"}),
    Dependency("PostgreSQL", ("database",), ("database.connection",),
               lambda host, port, _kc: {"database_url": "postgresql://aragora:%s@%s:%d/aragora"
                                                        % (PASSWORD, host, port)},
               RAW_MODES + ("not_its_protocol",),
               {"refused": r"nothing accepts connections",
                "garbage": r"not a PostgreSQL|protocol|closed|unexpected|invalid|not speak",
                # The trickle's first byte is not the answer to PostgreSQL's SSL request: a protocol error at once.
                "trickle": r"invalid response to SSL negotiation|" + TIMED_OUT,
                "huge_body": r"not a PostgreSQL|protocol|closed|unexpected|invalid|not speak|" + TIMED_OUT,
                # An HTTP server waits for a request line that PostgreSQL's startup packet never ends.
                "not_its_protocol": TIMED_OUT}),
    Dependency("Redis", ("redis",), ("redis.connection",),
               lambda host, port, _kc: {"redis_url": "redis://:%s@%s:%d/0" % (PASSWORD, host, port)},
               RAW_MODES + ("not_its_protocol",),
               {"garbage": r"not a Redis|protocol|closed|unexpected|invalid|not speak|error",
                "huge_body": r"not a Redis|protocol|closed|unexpected|invalid|not speak|error|" + TIMED_OUT}),
    Dependency("Kubernetes", KUBERNETES_GROUPS, ("ha.replicas", "ha.pdb", "resources.requests_limits",
                                                 "resources.image_tag", "ha.rolling_update"),
               lambda host, port, kc: {"kubeconfig": write_kubeconfig(kc, "http://%s:%d" % (host, port))},
               HTTP_MODES + ("empty_object", "json_string"),
               {"garbage": r"without a valid HTTP answer|not JSON", "redirect_loop": r"30\d|redirect",
                "throttled": r"429"},
               {"huge_body": {"body_bytes": k8s_client.MAX_BODY_BYTES + MiB, "chunk_bytes": MiB}}),
)}

# The Kubernetes listings broken while the Deployment reads fine: what each check reads then is the fault itself.
DEPLOYMENT_PATH = "/apis/apps/v1/namespaces/aragora/deployments/aragora"
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "aragora", "namespace": "aragora", "uid": "u-1"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "aragora"}},
                       "template": {"metadata": {"labels": {"app": "aragora"}},
                                    "spec": {"containers": [{"name": "aragora", "image": "aragora:2.11.1"}]}}}}
LISTING_MODES = ("trickle", "hang", "empty_object", "json_string", "http_500")
# The checks that read listings (what the Deployment alone decides is judged from it, rightly).
LISTING_CHECKS = ("ha.pdb", "ha.hpa", "ha.pod_distribution_nodes", "migrations.job", "backups.cronjob")


def matrix_cells() -> list[tuple[str, str]]:
    cells = [(dep.name, mode) for dep in DEPENDENCIES.values() for mode in dep.modes]
    return cells + [("Kubernetes listings", mode) for mode in LISTING_MODES]


def start_fault(dependency: str, mode: str) -> t.Any:
    """The fault server of a cell, started: below HTTP for the dependencies that speak their own protocol."""
    if mode == "not_its_protocol":
        return FaultServer("healthy").start()
    if dependency == "Kubernetes listings":
        return FaultServer(mode, fixed_answers={DEPLOYMENT_PATH: DEPLOYMENT}).start()
    if dependency in ("TLS", "PostgreSQL", "Redis"):
        return RawFaultServer(mode).start()
    return FaultServer(mode, **DEPENDENCIES[dependency].server_options.get(mode, {})).start()


def run_cell(dependency: str, mode: str, directory: str) -> dict[str, t.Any]:
    """One cell: its server started, the dependency's checks run with a bound, the server stopped."""
    dep = DEPENDENCIES[dependency.split()[0]]
    server = start_fault(dependency, mode)
    kubeconfig = os.path.join(directory, "kubeconfig-%s-%s.json" % (dependency.replace(" ", "-"), mode))
    params = {**probe_params("", groups=list(dep.groups), config=MATRIX_CONFIG), "api_url": None,
              **dep.params(server.host, server.port, kubeconfig)}
    try:
        result, elapsed = run_bounded(params, server, MATRIX_BOUND + 5)
    finally:
        server.stop()
    judged = LISTING_CHECKS if dependency == "Kubernetes listings" else dep.judged
    return {"dependency": dependency, "mode": mode, "elapsed": elapsed, "result": result, "judged": judged,
            "cause": dep.causes.get(mode, CAUSES[mode])}


# The dependencies whose checks say they could not judge, with the cause's remediation (causes.py): not only a FAIL.
NAMED_CAUSE = ("API", "TLS", "Kubernetes")


def cell_problems(cell: dict[str, t.Any]) -> list[str]:
    """What is wrong with a cell's outcome: empty when it is clean."""
    problems = []
    if cell["elapsed"] >= MATRIX_BOUND:
        problems.append("took %.1f s (bound %g s)" % (cell["elapsed"], MATRIX_BOUND))
    checks = by_id(cell["result"])
    text = json.dumps(cell["result"], default=str)
    problems += ["secret %s... shown" % secret[:10] for secret in MATRIX_SECRETS if secret in text]
    for marker in CRASH_MARKERS:
        if marker in text:
            problems.append("crash marker %r in the results" % marker)
    for check_id in cell["judged"]:
        check = checks[check_id]
        if cell["dependency"].split()[0] in NAMED_CAUSE and check["status"] in ("FAIL", "ERROR") \
                and not check["evidence"].get("could_not_judge"):
            problems.append("%s does not say it could not judge (evidence.could_not_judge)" % check_id)
        # FAIL, or ERROR (could not judge) naming the check that owns the cause, which itself FAILs when it ran
        # (a group run alone, such as TLS, does not run health.liveness: the cause then stands in the report alone).
        cause = check.get("cause") or {}
        owner = checks.get(cause.get("check", ""))
        if check["status"] == "ERROR" and (not cause.get("reason") or (owner and owner["status"] != "FAIL")):
            problems.append("%s is ERROR for a cause %s that is not named or whose owner did not FAIL" % (
                check_id, cause.get("check")))
        elif check["status"] not in ("FAIL", "ERROR"):
            problems.append("%s is %s: %s" % (check_id, check["status"], check["message"][:200]))
        elif not re.search(cell["cause"], check["message"]):
            problems.append("%s does not name the cause /%s/: %s" % (check_id, cell["cause"], check["message"][:300]))
    if any(check["status"] == "PASS" for check in checks.values() if check["id"] in cell["judged"]):
        problems.append("a check of the broken dependency passed")
    return problems


def run_matrix(directory: str, workers: int = 6) -> list[dict[str, t.Any]]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_cell, dependency, mode, directory) for dependency, mode in matrix_cells()]
        return [future.result() for future in futures]


def warm_up_kubernetes_client(directory: str) -> float:
    """The kubernetes client builds its API classes on first use (1-3 s of CPU here): paid once per process before
    any network call, it is not a fault's cost. Returns what it cost."""
    started = time.monotonic()
    k8s_client.Cluster(k8s_client.ClusterTarget(write_kubeconfig(os.path.join(directory, "warm.json"),
                                                                 "http://127.0.0.1:1")))
    return time.monotonic() - started


def test_fault_matrix(tmp_path, record_property):
    """Every dependency x every fault: a clear FAIL naming the cause within timeout + 2 s, no traceback, no secret."""
    record_property("kubernetes_client_first_use_s", round(warm_up_kubernetes_client(str(tmp_path)), 2))
    cells = run_matrix(str(tmp_path))
    dirty = {"%s/%s" % (cell["dependency"], cell["mode"]): cell_problems(cell) for cell in cells}
    dirty = {name: problems for name, problems in dirty.items() if problems}
    worst: dict[str, float] = {}
    for cell in cells:
        worst[cell["dependency"]] = max(worst.get(cell["dependency"], 0.0), cell["elapsed"])
    record_property("cells", len(cells))
    record_property("worst_case_s", json.dumps({name: round(value, 2) for name, value in worst.items()}))
    print("fault matrix: %d cells, %d clean; worst case per dependency: %s" % (
        len(cells), len(cells) - len(dirty), ", ".join("%s %.2f s" % item for item in sorted(worst.items()))))
    assert not dirty, "\n".join("%s: %s" % (name, "; ".join(problems)) for name, problems in sorted(dirty.items()))


# --- bad inputs: what an operator can get wrong, each a clear FAIL naming the input, at once -------------------------

def _bad_env_file(directory: str, kind: str) -> str:
    path = os.path.join(directory, "aragora-%s.env" % kind)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        os.mkdir(path)
    elif kind == "not_utf8":
        with open(path, "wb") as handle:
            handle.write(b"ARAGORA_ENV=\xff\xfeproduction\n")
    return path  # "missing": nothing there


BAD_INPUTS: dict[str, tuple[t.Callable[[str], dict[str, t.Any]], str, str]] = {
    # name: (params for a scratch directory, a check that must FAIL, what its message must say)
    "env file is a FIFO": (lambda d: {"env_file": _bad_env_file(d, "fifo"), "groups": ["security"]},
                           "security.environment_mode", r"not a regular file \(it is a FIFO\)"),
    "env file is a directory": (lambda d: {"env_file": _bad_env_file(d, "directory"), "groups": ["security"]},
                                "security.environment_mode", r"cannot read env file .*directory"),
    "env file missing": (lambda d: {"env_file": _bad_env_file(d, "missing"), "groups": ["security"]},
                         "security.environment_mode", r"cannot read env file .*No such file"),
    "env file not UTF-8": (lambda d: {"env_file": _bad_env_file(d, "not_utf8"), "groups": ["security"]},
                           "security.environment_mode", r"not UTF-8"),
    "kubeconfig missing": (lambda d: {"kubeconfig": os.path.join(d, "none.yml"), "groups": ["ha"]},
                           "ha.replicas", r"cannot use kubeconfig"),
    "kubeconfig not YAML": (lambda d: {"kubeconfig": _write(d, "kc.yml", "clusters: [unclosed"), "groups": ["ha"]},
                            "ha.replicas", r"cannot use kubeconfig"),
    "database_url not a DSN": (lambda d: {"database_url": "not a dsn at all", "groups": ["database"]},
                               "database.connection", r"DSN|invalid|cannot"),
    "redis_url with a bad port": (lambda d: {"redis_url": "redis://:%s@127.0.0.1:notaport/0" % PASSWORD,
                                             "groups": ["redis"]}, "redis.connection", r"port|cannot be used"),
}


def _write(directory: str, name: str, text: str) -> str:
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_clear_fail_at_once(tmp_path, case):
    make_params, check_id, pattern = BAD_INPUTS[case]
    params = {**probe_params("", config=MATRIX_CONFIG), "api_url": None, **make_params(str(tmp_path))}
    started = time.monotonic()
    result = run_target(params)
    assert time.monotonic() - started < TIMEOUT
    checks = by_id(result)
    assert_no_crash(checks.values())
    check = checks[check_id]
    assert check["status"] == "FAIL" and re.search(pattern, check["message"]), check["message"]
    assert not any(secret in json.dumps(result) for secret in MATRIX_SECRETS)
