"""runner.run_target / build_context, and the TargetContext the checks read."""

from __future__ import annotations

import threading

import pytest
from tests.unit.plugins.module_utils.ops_fakes import FakeClient, make_ctx, obs

from ansible_collections.aragora.ops.plugins.module_utils._engine.config import Config
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import HttpClient, HttpObservation
from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import GROUPS
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import select
from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import build_context, run_target, scope
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import DEFAULT_ENDPOINTS, TargetContext

PARAMS = {"timeout": 5.0, "validate_certs": True, "max_body_bytes": 1024}


def test_build_context_without_api_url_has_no_client():
    ctx = build_context({**PARAMS, "config": {"ARAGORA_ENV": "production"}, "thresholds": {"jwt_expiry_max_hours": 24},
                         "endpoints": {"health": "/api/v1/health"}, "expected_version": "2.11.1"})
    assert ctx.client is None
    assert ctx.config.get("ARAGORA_ENV") == "production"
    assert ctx.threshold("jwt_expiry_max_hours") == 24.0
    assert ctx.threshold("response_time_warn_ms") == 500.0  # defaults kept beside overrides
    assert ctx.endpoints["health"] == "/api/v1/health" and ctx.endpoints["readyz"] == "/readyz"
    assert ctx.expected_version == "2.11.1"


def test_build_context_with_api_url_makes_bounded_client():
    ctx = build_context({**PARAMS, "api_url": "https://api.example.com/", "validate_certs": False})
    assert isinstance(ctx.client, HttpClient)
    assert ctx.client.base_url == "https://api.example.com"
    assert (ctx.client.timeout, ctx.client.verify, ctx.client.max_body_bytes) == (5.0, False, 1024)
    assert ctx.client.url("/readyz") == "https://api.example.com/readyz"
    assert ctx.client.url("http://other/x") == "http://other/x"


def test_run_target_no_source_all_skip_and_go():
    out = run_target({}, make_ctx())
    assert out["verdict"] == "GO"
    assert out["counts"]["SKIP"] == len(out["checks"]) > 0
    assert out["config_sources"] == []


def test_run_target_groups_skip_checks_and_strict():
    ctx = make_ctx({"ARAGORA_ENV": "production", "ARAGORA_JWT_SECRET": "Qw7Zp2Lk9Rt4Vb6Nm1Hy3Jd8Fs5Gc0Xe"})
    out = run_target({"groups": ["security"], "skip_checks": ["security.api_keys_storage"]}, ctx)
    ids = [c["id"] for c in out["checks"]]
    assert all(i.startswith("security.") for i in ids)
    skipped = [c for c in out["checks"] if c["id"] == "security.api_keys_storage"][0]
    assert skipped["status"] == "SKIP" and "skip_checks" in skipped["message"]
    statuses = {c["id"]: c["status"] for c in out["checks"]}
    assert statuses["security.environment_mode"] == "PASS" and statuses["security.jwt_secret"] == "PASS"
    assert statuses["security.cors_origins"] == "WARN"
    assert out["verdict"] == "GO"
    assert run_target({"groups": ["security"], "strict": True}, ctx)["verdict"] == "NO-GO"
    assert out["config_sources"] == ["variables"]


def test_api_without_client_skips():
    from ansible_collections.aragora.ops.plugins.module_utils._engine.result import CheckSkipped

    with pytest.raises(CheckSkipped, match="api_url"):
        TargetContext(Config()).api("health")


def test_api_caches_per_request_and_sends_token():
    ctx = make_ctx(answers={"/api/health": obs(200, {"status": "healthy"})})
    first = ctx.api("health")
    assert ctx.api("health") is first
    ctx.api("health", token="t")
    ctx.api("health", headers={"Origin": "http://x"})
    ctx.api("/api/health")  # a raw path is used as is, and shares the cache entry
    assert ctx.client.calls == [("/api/health", {}, True), ("/api/health", {"Authorization": "Bearer t"}, True),
                                ("/api/health", {"Origin": "http://x"}, True)]
    assert first.url == "https://api.example.com/api/health"


def test_api_fetches_once_under_concurrency():
    gate = threading.Event()
    client = FakeClient({"/readyz": lambda headers: (gate.wait(5), obs(200, {"status": "ready"}))[1]})
    ctx = TargetContext(Config(), client)
    seen: list[HttpObservation] = []
    threads = [threading.Thread(target=lambda: seen.append(ctx.api("readyz"))) for _dummy in range(8)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(5)
    assert len(seen) == 8 and all(s is seen[0] for s in seen)
    assert len(client.calls) == 1


def test_default_endpoints_match_the_contract():
    assert DEFAULT_ENDPOINTS == {"healthz": "/healthz", "readyz": "/readyz", "health": "/api/health",
                                 "build": "/health/build", "metrics": "/metrics",
                                 "circuit_breakers": "/api/admin/system-health/circuit-breakers",
                                 "rate_limits_config": "/api/rate-limits/config",
                                 "rate_limited": "/api/debates?limit=1"}


# --- HttpObservation ----------------------------------------------------------------------------------------


def test_observation_describe_ok_json():
    o = HttpObservation("GET", "https://h/readyz", status=503, body=b'{"a": 1}', elapsed_ms=12.7)
    assert o.describe() == "GET https://h/readyz -> 503 in 12 ms"
    assert not o.ok and o.json() == {"a": 1}
    assert HttpObservation("GET", "u", status=204).ok
    err = HttpObservation("GET", "https://h/x", error="connection refused")
    assert err.describe() == "GET https://h/x -> connection refused" and not err.ok
    with pytest.raises(ValueError, match="not JSON"):
        HttpObservation("GET", "u", status=200, body=b"<html>").json()


def test_scope_names_the_groups_left_out_in_checklist_order_and_counts_their_checks():
    assert scope(None) == {"groups_not_run": [], "checks_not_run": 0}
    assert scope(GROUPS) == {"groups_not_run": [], "checks_not_run": 0}
    only_tls = scope(["tls"])
    assert only_tls["groups_not_run"] == [group for group in GROUPS if group != "tls"]
    assert only_tls["checks_not_run"] == len(select(only_tls["groups_not_run"])[0]) > 0
    assert scope([])["checks_not_run"] == len(select()[0])
