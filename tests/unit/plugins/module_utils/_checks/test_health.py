"""Go-Live health checks against a fake live API."""

from __future__ import annotations

import pytest
from tests.unit.plugins.module_utils.ops_fakes import make_ctx, obs, refused, run

HEALTHY = obs(200, {"status": "healthy", "timestamp": "2025-01-01T00:00:00Z"}, headers={"X-API-Release": "2.11.1"})
BUILD_DEV = obs(200, {"sha": "abc", "sha_short": "abc", "build_time": None, "version": "dev"})


# --- health.liveness ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer, status, words", [
    (obs(200, {"status": "ok"}), "PASS", "Liveness endpoint is ok"),
    (obs(200, {"status": "ok", "degraded": True, "degraded_reason": "redis unreachable"}), "WARN",
     "degraded: redis unreachable"),
    (obs(503, {"status": "ok"}), "FAIL", "503"),
    (obs(200, {"status": "starting"}), "FAIL", "'starting'"),
    (obs(401, {"error": "auth"}), "FAIL", "asks for credentials"),
    (obs(200, b"<html>ok</html>"), "FAIL", "not JSON"),
    (obs(200, b"[1, 2]"), "FAIL", "expected a JSON object, got list"),
    (refused(), "FAIL", "connection refused"),
])
def test_liveness(answer, status, words):
    result = run("health.liveness", make_ctx(answers={"/healthz": answer}))
    assert result["status"] == status
    assert words in result["message"]
    assert "Traceback" not in result["message"]


def test_liveness_degraded_reason_in_evidence():
    answer = obs(200, {"status": "ok", "degraded": True, "degraded_reason": "disk full"})
    result = run("health.liveness", make_ctx(answers={"/healthz": answer}))
    assert result["evidence"]["degraded_reason"] == "disk full"
    assert result["remediation"] == "Fix the degraded component named in the reason."


def test_health_checks_skip_without_api():
    for check_id in ("health.liveness", "health.readiness", "health.api_health", "health.release_version",
                     "health.response_time"):
        result = run(check_id, make_ctx({"ARAGORA_ENV": "production"}))
        assert result["status"] == "SKIP"
        assert "api_url" in result["message"]


# --- health.readiness ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer, status, words", [
    (obs(200, {"status": "ready"}), "PASS", "ready to take traffic"),
    (obs(503, {"status": "not_ready", "reason": "database not initialised"}), "FAIL",
     "not ready (503): database not initialised"),
    (obs(503, {"status": "not_ready"}), "FAIL", "not ready (503): not_ready"),
    (obs(200, {"status": "not_ready"}), "FAIL", "not ready (200)"),
    (obs(401, b"{}"), "FAIL", "asks for credentials"),
    (obs(403, b"{}"), "FAIL", "refuses the credentials"),
    (obs(502, b"Bad Gateway"), "FAIL", "not JSON"),
    (refused(), "ERROR", "connection refused"),
])
def test_readiness(answer, status, words):
    result = run("health.readiness", make_ctx(answers={"/readyz": answer}))
    assert result["status"] == status
    assert words in result["message"]


def test_readiness_reason_in_evidence():
    answer = obs(503, {"status": "not_ready", "reason": "migrations pending"})
    result = run("health.readiness", make_ctx(answers={"/readyz": answer}))
    assert result["evidence"] == {"url": "https://api.example.com/readyz", "http_status": 503,
                                  "status": "not_ready", "reason": "migrations pending"}


# --- health.api_health --------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer, status, words", [
    (HEALTHY, "PASS", "reports healthy"),
    (obs(503, {"status": "degraded", "degraded_reason": "Redis configured but failing"}), "FAIL",
     "reports degraded (503): Redis configured but failing"),
    (obs(503, {"status": "degraded", "issues": ["filesystem not writable"]}), "FAIL", "filesystem not writable"),
    (obs(503, {"status": "degraded"}), "FAIL", "reports degraded (503)"),
    (obs(200, {"status": "degraded"}), "FAIL", "reports degraded (200)"),
    (obs(401, {"error": "unauthorized"}), "FAIL", "asks for credentials"),
    (obs(200, b"{not json"), "FAIL", "not JSON"),
    (refused(), "ERROR", "connection refused"),
])
def test_api_health(answer, status, words):
    result = run("health.api_health", make_ctx(answers={"/api/health": answer}))
    assert result["status"] == status
    assert words in result["message"]


def test_api_health_unreachable_could_not_judge_naming_the_cause():
    result = run("health.api_health", make_ctx(answers={"/api/health": refused()}))
    assert result["message"].startswith("Could not judge: API unavailable (see health.liveness): "
                                        "GET https://api.example.com/api/health ->")
    assert result["cause"]["check"] == "health.liveness" and result["cause"]["dependency"] == "API"
    assert "Start the Aragora server" in result["remediation"]


def test_liveness_owns_the_api_outage_and_fails():
    result = run("health.liveness", make_ctx(answers={"/healthz": refused()}))
    assert result["status"] == "FAIL" and "cause" not in result
    assert "Start the Aragora server" in result["remediation"]


def test_api_health_path_is_configurable():
    ctx = make_ctx(answers={"/api/v1/health": HEALTHY}, endpoints={"health": "/api/v1/health"})
    assert run("health.api_health", ctx)["status"] == "PASS"


# --- health.release_version ---------------------------------------------------------------------------------


def build(version):
    return obs(200, {"sha": "abc", "version": version})


@pytest.mark.parametrize("health, build_answer, expected, status, words", [
    (HEALTHY, BUILD_DEV, None, "PASS", "Release version is 2.11.1"),
    (HEALTHY, BUILD_DEV, "2.11.1", "PASS", "Release version is 2.11.1"),
    (HEALTHY, build("2.11.1"), "2.11.1", "PASS", "2.11.1"),
    (HEALTHY, BUILD_DEV, "2.12.0", "FAIL", "Release version is 2.11.1, expected 2.12.0"),
    (obs(200, {"status": "healthy"}), build("2.12.0"), "2.12.0", "PASS", "2.12.0"),
    (obs(200, {"status": "healthy"}), BUILD_DEV, None, "WARN", "not reported"),
    (obs(200, {"status": "healthy"}), build("unknown"), "2.11.1", "WARN", "not reported"),
    (obs(200, {"status": "healthy"}), refused(), None, "WARN", "not reported"),
    (HEALTHY, refused(), None, "PASS", "2.11.1"),
    (HEALTHY, obs(404, {"error": "nope"}), None, "PASS", "2.11.1"),
    (HEALTHY, obs(200, b"not json"), None, "PASS", "2.11.1"),
    (HEALTHY, obs(200, b"[1]"), None, "PASS", "2.11.1"),
    (HEALTHY, build("2.11.0"), None, "WARN", "inconsistently: header 2.11.1, build 2.11.0"),
    (refused(), BUILD_DEV, None, "ERROR", "connection refused"),
    # A degraded server answers 503 and still says its release (Aragora 2.11.1).
    (obs(503, {"status": "degraded"}, headers={"X-API-Release": "2.11.1"}), BUILD_DEV, "2.11.1", "PASS",
     "Release version is 2.11.1"),
    (obs(503, {"status": "degraded"}), BUILD_DEV, "2.11.1", "FAIL", "without X-API-Release"),
])
def test_release_version(health, build_answer, expected, status, words):
    ctx = make_ctx(answers={"/api/health": health, "/health/build": build_answer}, expected_version=expected)
    result = run("health.release_version", ctx)
    assert result["status"] == status, result["message"]
    assert words in result["message"]


def test_release_version_evidence():
    ctx = make_ctx(answers={"/api/health": HEALTHY, "/health/build": BUILD_DEV}, expected_version="2.11.1")
    result = run("health.release_version", ctx)
    assert result["evidence"] == {"x_api_release": "2.11.1", "build_version": "dev", "expected": "2.11.1",
                                  "health_status": 200}


def test_release_version_numeric_build_version_is_not_a_crash():
    ctx = make_ctx(answers={"/api/health": obs(200, {"status": "healthy"}), "/health/build": build(2.11)})
    result = run("health.release_version", ctx)
    assert "could not complete" not in result["message"]


# --- health.response_time -----------------------------------------------------------------------------------


@pytest.mark.parametrize("elapsed, status", [
    (0.0, "PASS"), (499.0, "PASS"), (500.0, "PASS"), (500.4, "PASS"), (501.0, "WARN"), (2000.0, "WARN"),
    (2001.0, "FAIL"), (30000.0, "FAIL"),
])
def test_response_time_thresholds(elapsed, status):
    answer = obs(200, {"status": "healthy"}, elapsed_ms=elapsed)
    result = run("health.response_time", make_ctx(answers={"/api/health": answer}))
    assert result["status"] == status
    assert result["evidence"] == {"elapsed_ms": round(elapsed), "warn_ms": 500, "fail_ms": 2000}


def test_response_time_thresholds_configurable():
    answer = obs(200, {"status": "healthy"}, elapsed_ms=350)
    ctx = make_ctx(answers={"/api/health": answer},
                   thresholds={"response_time_warn_ms": 300, "response_time_fail_ms": 340})
    assert run("health.response_time", ctx)["status"] == "FAIL"
    ctx = make_ctx(answers={"/api/health": answer}, thresholds={"response_time_warn_ms": "300"})
    assert run("health.response_time", ctx)["status"] == "WARN"


def test_response_time_counts_even_a_503():
    answer = obs(503, {"status": "degraded"}, elapsed_ms=10)
    assert run("health.response_time", make_ctx(answers={"/api/health": answer}))["status"] == "PASS"


def test_response_time_unreachable_could_not_judge():
    result = run("health.response_time", make_ctx(answers={"/api/health": refused()}))
    assert result["status"] == "ERROR"
    assert "connection refused" in result["message"]


# --- the endpoint is fetched once for all checks that read it ---------------------------------------------


def test_health_endpoint_fetched_once_across_checks():
    from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY, run_checks

    ctx = make_ctx(answers={"/api/health": HEALTHY, "/health/build": BUILD_DEV})
    ids = ("health.api_health", "health.release_version", "health.response_time", "security.https_enforced")
    results = run_checks([REGISTRY[i] for i in ids], ctx)
    assert [r["status"] for r in results] == ["PASS", "PASS", "PASS", "PASS"]
    assert [call[0] for call in ctx.client.calls].count("/api/health") == 1
