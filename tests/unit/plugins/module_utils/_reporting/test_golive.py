"""The go-live pieces without a server: the shipped alert rules, the watch's arithmetic, the signed token, the
pre-launch lines, and the smoke checks' own registry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from ansible_collections.aragora.ops.plugins.module_utils._clients import jwt_hs256
from ansible_collections.aragora.ops.plugins.module_utils._operations import watch
from ansible_collections.aragora.ops.plugins.module_utils._checks import observability, smoke
from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import GROUPS
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY
from ansible_collections.aragora.ops.plugins.module_utils._reporting.golive import PRELAUNCH_CHECK_IDS, prelaunch_lines
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import HttpObservation
from ansible_collections.aragora.ops.plugins.module_utils._clients.metrics import Sample, parse_samples_lenient

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
RULES = os.path.join(ROOT, "files", "prometheus")
# The checklist's alert table: the "for" of each condition that has a duration.
CHECKLIST_FOR = {"AragoraDown": "2m", "HighErrorRate": "5m", "DatabaseDown": "1m", "HighMemory": "10m",
                 "HighLatency": "10m"}


def shipped_rules() -> dict[str, dict]:
    with open(os.path.join(RULES, "aragora-alerts.rules.yml"), encoding="utf-8") as handle:
        groups = yaml.safe_load(handle)["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_shipped_rules_are_the_alerts_the_check_requires_with_the_checklists_thresholds():
    rules = shipped_rules()
    assert sorted(rules) == sorted(observability.REQUIRED_ALERTS)
    assert observability.threshold_differences({name: rule["expr"] for name, rule in rules.items()}) == {}
    for name, duration in CHECKLIST_FOR.items():
        assert rules[name]["for"] == duration, name
    assert rules["CircuitBreakerOpen"]["expr"].endswith("== 1")  # the gauge's "open"


def test_prometheus_rule_manifest_carries_the_same_rules():
    with open(os.path.join(RULES, "aragora-alerts.rules.yml"), encoding="utf-8") as handle:
        plain = yaml.safe_load(handle)
    with open(os.path.join(RULES, "aragora-prometheusrule.yaml"), encoding="utf-8") as handle:
        manifest = yaml.safe_load(handle)
    assert manifest["kind"] == "PrometheusRule" and manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["spec"]["groups"] == plain["groups"]


@pytest.mark.parametrize("expr, expected", [
    ("sum(x) / sum(y) > 0.05", 0.05),
    ("a - time() < 7 * 24 * 3600", 604800.0),
    ("up == 0 or absent(up)", None),
    ("vector(1)", None),
])
def test_alert_threshold(expr, expected):
    assert observability.alert_threshold(expr) == expected


def test_threshold_differences_name_the_looser_alerts():
    expressions = {"HighLatency": "histogram_quantile(0.95, x) > 2", "HighErrorRate": "x > 0.05",
                   "HighMemory": "vector(1)"}
    differ = observability.threshold_differences(expressions)
    assert differ == {"HighLatency": "2 (checklist 0.5)", "HighMemory": "no numeric threshold (checklist 0.8)"}


# ---- the watch ------------------------------------------------------------------------------------------------------

def scrape(at, ok, errors, duration_sum=0.0, count=None, breaker=0.0, metrics_scrapes=0):
    samples = [Sample("aragora_http_requests_total", {"endpoint": "/api/x", "status": "200"}, ok),
               Sample("aragora_http_requests_total", {"endpoint": "/api/x", "status": "503"}, errors),
               Sample("aragora_http_requests_total", {"endpoint": "/metrics", "status": "200"}, metrics_scrapes),
               Sample("aragora_http_request_duration_seconds_sum", {"endpoint": "/api/x"}, duration_sum),
               Sample("aragora_http_request_duration_seconds_count", {"endpoint": "/api/x"},
                      ok + errors if count is None else count),
               Sample("aragora_agent_circuit_breaker_state", {"agent_type": "anthropic"}, breaker)]
    return watch.read_scrape(samples, at, watch.DEFAULT_METRICS, ["/metrics"])


def test_error_rate_is_the_5xx_share_of_the_interval_without_the_watchs_own_scrapes():
    measures = watch.assess(scrape(0, 1000, 0, metrics_scrapes=5), scrape(5, 1090, 10, metrics_scrapes=500))
    assert measures["requests"] == 100 and measures["errors_5xx"] == 10 and measures["error_rate_percent"] == 10.0
    assert watch.breaches(measures, watch.DEFAULT_THRESHOLDS) == ["error rate 10.0 % > 5 % (10 of 100 requests were "
                                                                  "5xx)"]


def test_too_few_requests_are_not_judged_and_a_restart_is_not_negative():
    few = watch.assess(scrape(0, 0, 0), scrape(5, 3, 2))
    assert few["error_rate_percent"] == 40.0 and watch.breaches(few, watch.DEFAULT_THRESHOLDS) == []
    restarted = watch.assess(scrape(0, 5000, 0), scrape(5, 100, 0))
    assert restarted["requests"] == 100 and restarted["error_rate_percent"] == 0.0


def test_latency_is_the_interval_mean_without_buckets_and_p95_with_them():
    mean = watch.assess(scrape(0, 100, 0, duration_sum=1.0), scrape(5, 200, 0, duration_sum=61.0))
    assert mean["latency_ms"] == 600.0 and mean["latency_kind"].startswith("mean")
    assert "latency" in watch.breaches(mean, watch.DEFAULT_THRESHOLDS)[0]
    buckets = {0.1: 90.0, 0.5: 94.0, 1.0: 100.0, math.inf: 100.0}
    assert watch.quantile_from_buckets(buckets, 0.95) == pytest.approx(0.5 + 0.5 * (95 - 94) / 6)


def test_an_open_breaker_is_a_breach():
    measures = watch.assess(scrape(0, 100, 0), scrape(5, 200, 0, breaker=1.0))
    assert watch.breaches(measures, watch.DEFAULT_THRESHOLDS) == ["circuit breakers open: anthropic"]


class ScriptedSource:
    describe = "scripted"

    def __init__(self, measures):
        self.measures = list(measures)

    def sample(self):
        item = self.measures.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def healthy(at=0.0):
    return {"at": at, "requests": 100, "errors_5xx": 0, "error_rate_percent": 0.0, "latency_ms": 20.0,
            "open_breakers": []}


def test_watch_returns_at_the_first_breach_and_ends_with_the_window_otherwise():
    clock = iter(range(1000)).__next__
    bad = {**healthy(), "errors_5xx": 50, "error_rate_percent": 50.0}
    result = watch.watch(ScriptedSource([None, healthy(), bad, healthy()]), {}, 100, 1, clock=clock,
                         sleep=lambda _s: None)
    assert result["breached"] and result["samples_taken"] == 2
    assert result["breach"]["reasons"][0].startswith("error rate 50.0 %")
    calm = watch.watch(ScriptedSource([healthy()] * 10), {}, 3, 1, clock=iter(range(1000)).__next__,
                       sleep=lambda _s: None)
    assert not calm["breached"] and calm["samples_taken"] == 4


def test_watch_needs_consecutive_breaches_and_counts_unreadable_metrics():
    bad = {**healthy(), "latency_ms": 900.0}
    result = watch.watch(ScriptedSource([bad, healthy(), bad, bad]), {}, 100, 1, breach_samples=2,
                         clock=iter(range(1000)).__next__, sleep=lambda _s: None)
    assert result["breached"] and result["samples_taken"] == 4
    down = watch.watch(ScriptedSource([OSError("refused")] * 5), {}, 100, 1, max_scrape_failures=3,
                       clock=iter(range(1000)).__next__, sleep=lambda _s: None)
    assert down["breached"] and "unreadable 3 times in a row: refused" in down["breach"]["reasons"][0]


def test_aragora_2_11_duration_lines_are_read_not_rejected():
    text = ('aragora_http_requests_total{endpoint="/api/health",method="GET",status="200"} 3\n'
            'aragora_http_request_duration_seconds{endpoint="/api/health",method="GET",status="200"}_count 3\n'
            'aragora_http_request_duration_seconds{endpoint="/api/health",method="GET",status="200"}_sum 0.009\n')
    samples, rejected = parse_samples_lenient(text)
    assert rejected == [] and [s.name for s in samples] == [
        "aragora_http_requests_total", "aragora_http_request_duration_seconds_count",
        "aragora_http_request_duration_seconds_sum"]


# ---- token, lines, registry -----------------------------------------------------------------------------------------

def test_signed_token_verifies_with_the_secret_and_carries_aragoras_claims():
    secret = "s" * 48
    token = jwt_hs256.access_token(secret, "smoke", "smoke@example.invalid", now=1000, ttl_seconds=60)
    header, payload, signature = token.split(".")
    expected = hmac.new(secret.encode(), ("%s.%s" % (header, payload)).encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert claims == {"sub": "smoke", "email": "smoke@example.invalid", "org_id": None, "role": "member",
                      "iat": 1000, "exp": 1060, "type": "access", "tv": 1}


def result(check_id, outcome, message="", **evidence):
    return {"id": check_id, "status": outcome, "message": message, "evidence": evidence}


def test_prelaunch_lines_read_as_the_checklists_script():
    lines = prelaunch_lines([
        result("health.api_health", "PASS", status="healthy"),
        result("database.connection", "PASS"),
        result("redis.connection", "FAIL", "Redis unreachable"),
        result("tls.expiry", "PASS", days_left=80, fail_under_days=7),
        result("ha.replicas", "PASS", ready=3, desired=3),
        result("ha.pod_distribution_nodes", "PASS", pods_by_node={"node-a": ["aragora-1"], "node-b": ["aragora-2"]}),
        result("providers.circuit_breakers", "PASS", open=[]),
    ])
    assert lines == ["=== Pre-Launch Health Check ===", "Health endpoint: healthy", "Database: ok",
                     "Redis: FAILED (Redis unreachable)", "TLS Certificate: OK (>7 days), 80 days left",
                     "Replicas: 3/3", "Pod distribution:", "aragora-1 node-a", "aragora-2 node-b",
                     "Circuit breakers open: 0", "=== Check Complete ==="]
    expiring = prelaunch_lines([result("tls.expiry", "FAIL", "expires in 3 days")],
                               [("TLS Certificate", "tls.expiry")])
    assert expiring[1] == "TLS Certificate: EXPIRING SOON (expires in 3 days)"


def test_smoke_checks_are_never_readiness_checks():
    assert set(PRELAUNCH_CHECK_IDS) <= set(REGISTRY)
    assert not set(smoke.SMOKE_CHECKS) & set(REGISTRY)
    assert "smoke" not in GROUPS


class FakePrometheus:
    """Answers /api/v1/query like Prometheus, from a table of query -> result vector."""

    base_url = "http://prometheus.test"

    def __init__(self, answers):
        self.answers, self.asked = answers, []

    def get(self, path, headers=None):
        query = parse_qs(urlsplit(path).query)["query"][0]
        self.asked.append((query, dict(headers or {})))
        vector = [{"metric": {}, "value": [0, str(value)]} for value in self.answers.get(query, [])]
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": vector}}).encode()
        return HttpObservation("GET", self.base_url + path, 200, {}, body)


def test_prometheus_source_turns_query_results_into_measures():
    queries = watch.DEFAULT_PROMETHEUS_QUERIES
    client = FakePrometheus({queries["error_rate"]: [0.12], queries["open_breakers"]: [0]})
    measures = watch.PrometheusSource(client, {}, token="t0k").sample()
    assert measures["error_rate_percent"] == 12.0 and measures["latency_ms"] is None  # no buckets: no data, not 0
    assert measures["open_breakers"] == 0
    assert all(headers == {"Authorization": "Bearer t0k"} for _query, headers in client.asked)
    assert watch.breaches(measures, watch.DEFAULT_THRESHOLDS) == ["error rate 12.0 % > 5 %"]
