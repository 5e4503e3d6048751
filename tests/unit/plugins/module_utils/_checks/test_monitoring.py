"""Section 5, Monitoring & Observability; and the Prometheus parsing it relies on."""

from __future__ import annotations

import pytest
from tests.unit.plugins.module_utils.ops_fakes import NEUTRAL, make_ctx, obs, refused, run

from ansible_collections.aragora.ops.plugins.module_utils._clients.metrics import parse_samples, with_prefix

# As Aragora 2.11.1 serves it: no HELP/TYPE lines.
ARAGORA_METRICS = (
    'aragora_http_requests_total{endpoint="/api/health",method="GET",status="200"} 7.0\n'
    'aragora_agent_circuit_breaker_state{agent_type="demo"} 0.0\n'
    'process_cpu_seconds_total 1.5\n'
)


# --- monitoring.prometheus_metrics --------------------------------------------------------------------------


def test_prometheus_metrics_with_aragora_series_passes():
    result = run("monitoring.prometheus_metrics", make_ctx(answers={"/metrics": obs(200, ARAGORA_METRICS)}))
    assert result["status"] == "PASS"
    assert result["evidence"]["samples"] == 3
    assert result["evidence"]["aragora_samples"] == 2
    assert result["evidence"]["aragora_metrics"] == ["aragora_agent_circuit_breaker_state",
                                                     "aragora_http_requests_total"]


def test_prometheus_metrics_without_aragora_series_fails():
    text = "# HELP process_cpu_seconds_total CPU\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n"
    result = run("monitoring.prometheus_metrics", make_ctx(answers={"/metrics": obs(200, text)}))
    assert result["status"] == "FAIL"
    assert "no aragora_ series" in result["message"]


def test_prometheus_metrics_empty_body_fails():
    result = run("monitoring.prometheus_metrics", make_ctx(answers={"/metrics": obs(200, "")}))
    assert result["status"] == "FAIL"
    assert result["evidence"]["samples"] == 0


@pytest.mark.parametrize("answer, words", [
    (obs(200, "not valid {{{\n"), "not valid Prometheus text"),
    (obs(200, 'aragora_x{a=b} 1\n'), "not valid Prometheus text"),
    (obs(401, b""), "set metrics_token to ARAGORA_METRICS_TOKEN"),
    (obs(403, b""), "set metrics_token"),
    (obs(404, b"not found"), "did not answer 200"),
])
def test_prometheus_metrics_problems_fail(answer, words):
    result = run("monitoring.prometheus_metrics", make_ctx(answers={"/metrics": answer}))
    assert result["status"] == "FAIL"
    assert words in result["message"]
    assert "Traceback" not in result["message"]


@pytest.mark.parametrize("answer, words", [
    (refused(), "connection refused"),
    (obs(error="no answer within 10 s (timeout)"), "timeout"),
])
def test_prometheus_metrics_unreachable_api_could_not_judge(answer, words):
    result = run("monitoring.prometheus_metrics", make_ctx(answers={"/metrics": answer}))
    assert result["status"] == "ERROR" and result["cause"]["check"] == "health.liveness"
    assert words in result["message"]
    assert "Traceback" not in result["message"]


def test_prometheus_metrics_path_is_configurable_and_token_sent():
    ctx = make_ctx(answers={"/prom": obs(200, ARAGORA_METRICS)}, endpoints={"metrics": "/prom"}, metrics_token="t")
    result = run("monitoring.prometheus_metrics", ctx)
    assert result["status"] == "PASS"
    assert ctx.client.calls == [("/prom", {"Authorization": "Bearer t"}, True)]


def test_prometheus_metrics_without_api_skips():
    assert run("monitoring.prometheus_metrics", make_ctx(NEUTRAL))["status"] == "SKIP"


def test_parse_samples_and_prefix():
    samples = parse_samples(ARAGORA_METRICS)
    assert [s.name for s in with_prefix(samples, "aragora_")] == ["aragora_http_requests_total",
                                                                  "aragora_agent_circuit_breaker_state"]
    assert samples[0].labels == {"endpoint": "/api/health", "method": "GET", "status": "200"}
    assert samples[1].value == 0.0


def test_parse_samples_invalid_raises_value_error():
    with pytest.raises(ValueError, match="not valid Prometheus text"):
        parse_samples("garbage {{{\n")


# --- monitoring.sentry_dsn ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dsn, status", [
    ("https://abc123@o42.ingest.sentry.io/4505", "PASS"),
    ("http://abc@sentry.internal:9000/2", "PASS"),
    ("https://o42.ingest.sentry.io/4505", "FAIL"),  # no key
    ("https://abc123@o42.ingest.sentry.io/", "FAIL"),  # no project
    ("ftp://abc@host/1", "FAIL"),
    ("not a dsn", "FAIL"),
    ("abc123@o42.ingest.sentry.io/4505", "FAIL"),
])
def test_sentry_dsn(dsn, status):
    result = run("monitoring.sentry_dsn", make_ctx({"SENTRY_DSN": dsn}))
    assert result["status"] == status
    assert result["evidence"]["configured"] is True
    assert "abc" not in str(result["evidence"]) and dsn not in result["message"]


def test_sentry_dsn_pass_names_host():
    result = run("monitoring.sentry_dsn", make_ctx({"SENTRY_DSN": "https://k@o42.ingest.sentry.io/1"}))
    assert result["evidence"]["host"] == "o42.ingest.sentry.io"


def test_sentry_dsn_unset_warns():
    result = run("monitoring.sentry_dsn", make_ctx(NEUTRAL))
    assert result["status"] == "WARN"
    assert result["evidence"] == {"configured": False}


# --- monitoring.log_level -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, status, effective", [
    ("DEBUG", "WARN", "DEBUG"),
    ("debug", "WARN", "DEBUG"),
    ("INFO", "PASS", "INFO"),
    ("warning", "PASS", "WARNING"),
    ("WARN", "PASS", "WARNING"),  # logging.WARN is an alias of WARNING
    ("ERROR", "PASS", "ERROR"),
    ("CRITICAL", "PASS", "CRITICAL"),
    ("bogus", "FAIL", "BOGUS"),
    ("TRACE", "FAIL", "TRACE"),
])
def test_log_level(value, status, effective):
    result = run("monitoring.log_level", make_ctx({"ARAGORA_LOG_LEVEL": value}))
    assert result["status"] == status
    assert result["evidence"] == {"ARAGORA_LOG_LEVEL": value, "effective": effective}


def test_log_level_unset_passes_as_default_info():
    result = run("monitoring.log_level", make_ctx(NEUTRAL))
    assert result["status"] == "PASS"
    assert result["message"] == "Log level is INFO (default)"


def test_log_level_bogus_names_valid_levels():
    result = run("monitoring.log_level", make_ctx({"ARAGORA_LOG_LEVEL": "bogus"}))
    assert "'bogus' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL" in result["message"]


@pytest.mark.parametrize("check_id", ["monitoring.sentry_dsn", "monitoring.log_level"])
def test_config_checks_skip_without_configuration(check_id):
    assert run(check_id, make_ctx())["status"] == "SKIP"


@pytest.mark.parametrize("dsn", ["https://xxx@sentry.io/123", "https://your-sentry-key@o0.ingest.sentry.io/1",
                                 "https://abc123@example.com/1"])
def test_sentry_dsn_placeholder_fails(dsn):
    result = run("monitoring.sentry_dsn", make_ctx({"SENTRY_DSN": dsn}))
    assert result["status"] == "FAIL" and "placeholder" in result["message"]
