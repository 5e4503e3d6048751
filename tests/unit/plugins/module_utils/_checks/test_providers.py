"""Section 8, API Provider Configuration."""

from __future__ import annotations

import pytest
from tests.unit.plugins.module_utils.ops_fakes import NEUTRAL, make_ctx, obs, refused, run

ADMIN = "/api/admin/system-health/circuit-breakers"
# Keys of the shapes the providers issue (random, never real).
ANTHROPIC = "sk-ant-api03-" + "Qw7Zp2Lk9Rt4Vb6Nm1Hy3Jd8Fs5Gc0Xe" * 3
OPENAI = "sk-proj-" + "Zp2Lk9Rt4Vb6Nm1Hy3Jd8Fs5Gc0XeQw7" * 2
OPENROUTER = "sk-or-v1-" + "0123456789abcdef" * 4
MISTRAL = "Qw7Zp2Lk9Rt4Vb6Nm1Hy3Jd8Fs5Gc0Xe"
GEMINI = "AIzaSyB" + "Qw7Zp2Lk9Rt4Vb6Nm1Hy3Jd8Fs5Gc0X"
XAI = "xai-" + "Qw7Zp2Lk9Rt4Vb6Nm1Hy3Jd8Fs5Gc0Xe" * 2


# --- providers.primary / providers.fallback -----------------------------------------------------------------


@pytest.mark.parametrize("keys, primary, fallback", [
    ({}, "FAIL", "WARN"),
    ({"OPENROUTER_API_KEY": OPENROUTER}, "FAIL", "PASS"),
    ({"MISTRAL_API_KEY": MISTRAL}, "WARN", "WARN"),
    ({"GEMINI_API_KEY": GEMINI, "XAI_API_KEY": XAI}, "WARN", "WARN"),
    ({"ANTHROPIC_API_KEY": ANTHROPIC}, "PASS", "WARN"),
    ({"OPENAI_API_KEY": OPENAI}, "PASS", "WARN"),
    ({"ANTHROPIC_API_KEY": ANTHROPIC, "OPENROUTER_API_KEY": OPENROUTER}, "PASS", "PASS"),
    # The checklist's own example values are placeholders: FAIL, whatever else is set.
    ({"ANTHROPIC_API_KEY": "sk-ant-xxx"}, "FAIL", "WARN"),
    ({"OPENAI_API_KEY": "sk-xxx"}, "FAIL", "WARN"),
    ({"ANTHROPIC_API_KEY": ANTHROPIC, "OPENROUTER_API_KEY": "sk-or-xxx"}, "PASS", "FAIL"),
    ({"ANTHROPIC_API_KEY": ANTHROPIC, "GEMINI_API_KEY": "AIzaSy..."}, "FAIL", "WARN"),
    ({"OPENAI_API_KEY": OPENAI, "XAI_API_KEY": "xai-xxx"}, "FAIL", "WARN"),
    ({"OPENAI_API_KEY": "xxx"}, "FAIL", "WARN"),
    ({"ANTHROPIC_API_KEY": "your-anthropic-key-here-0123456789abcdefghijk"}, "FAIL", "WARN"),
    ({"ANTHROPIC_API_KEY": "<anthropic key>"}, "FAIL", "WARN"),
    # Not the provider's shape: WARN, naming what is off.
    ({"ANTHROPIC_API_KEY": OPENAI}, "WARN", "WARN"),  # an OpenAI key in the Anthropic variable
    ({"ANTHROPIC_API_KEY": "sk-ant-short"}, "WARN", "WARN"),
    ({"ANTHROPIC_API_KEY": ANTHROPIC, "OPENROUTER_API_KEY": "sk-or-" + "a b" * 20}, "PASS", "WARN"),
    ({"ANTHROPIC_API_KEY": "   "}, "FAIL", "WARN"),  # blank is unset
])
def test_provider_keys(keys, primary, fallback):
    ctx = make_ctx({**NEUTRAL, **keys})
    assert run("providers.primary", ctx)["status"] == primary
    assert run("providers.fallback", ctx)["status"] == fallback


def test_primary_evidence_lists_names_never_values():
    ctx = make_ctx({"ANTHROPIC_API_KEY": ANTHROPIC, "XAI_API_KEY": XAI})
    result = run("providers.primary", ctx)
    assert result["evidence"] == {"primary_keys_set": ["ANTHROPIC_API_KEY"], "other_keys_set": ["XAI_API_KEY"]}
    assert ANTHROPIC not in str(result) and XAI not in str(result)


def test_placeholder_message_names_the_variable_and_never_the_value():
    result = run("providers.primary", make_ctx({"ANTHROPIC_API_KEY": "sk-ant-xxx"}))
    assert result["message"].startswith("ANTHROPIC_API_KEY is a placeholder")
    assert "issued" in result["remediation"]


def test_wrong_shape_says_what_is_off():
    result = run("providers.primary", make_ctx({"ANTHROPIC_API_KEY": OPENAI}))
    assert "does not start with sk-ant-" in result["message"] and OPENAI not in str(result)


def test_primary_none_says_demo_agents():
    result = run("providers.primary", make_ctx(NEUTRAL))
    assert "neither ANTHROPIC_API_KEY nor OPENAI_API_KEY" in result["message"]
    assert "demo" in result["remediation"]


def test_primary_other_key_warns_naming_it():
    result = run("providers.primary", make_ctx({"MISTRAL_API_KEY": MISTRAL}))
    assert "MISTRAL_API_KEY" in result["message"]


@pytest.mark.parametrize("check_id", ["providers.primary", "providers.fallback", "providers.agent_timeout"])
def test_provider_config_checks_skip_without_configuration(check_id):
    assert run(check_id, make_ctx())["status"] == "SKIP"


# --- providers.circuit_breakers -----------------------------------------------------------------------------


def metrics(*breakers, extra="aragora_http_requests_total{endpoint=\"/api/health\",method=\"GET\",status=\"200\"} 3\n"):
    lines = ['aragora_agent_circuit_breaker_state{agent_type="%s"} %s\n' % item for item in breakers]
    return obs(200, extra + "".join(lines))


@pytest.mark.parametrize("breakers, status, open_, half_open", [
    ((("anthropic-api", "0"), ("openai-api", "0")), "PASS", [], []),
    ((("anthropic-api", "0"), ("openai-api", "1")), "FAIL", ["openai-api"], []),
    ((("anthropic-api", "2"), ("openai-api", "0")), "WARN", [], ["anthropic-api"]),
    ((("anthropic-api", "2"), ("openai-api", "1")), "FAIL", ["openai-api"], ["anthropic-api"]),
    ((), "PASS", [], []),
])
def test_circuit_breakers_from_metrics(breakers, status, open_, half_open):
    ctx = make_ctx(answers={"/metrics": metrics(*breakers)})
    result = run("providers.circuit_breakers", ctx)
    assert result["status"] == status
    assert result["evidence"]["open"] == open_
    assert result["evidence"]["half_open"] == half_open
    assert result["evidence"]["breakers"] == len(breakers)
    assert result["evidence"]["source"] == "/metrics (aragora_agent_circuit_breaker_state)"


def test_circuit_breakers_absent_series_reports_zero_of_zero():
    result = run("providers.circuit_breakers", make_ctx(answers={"/metrics": metrics()}))
    assert result["message"] == ("No circuit breaker registered yet (one appears per agent once it is used): none is "
                                 "open, which says nothing yet about the providers")


def test_circuit_breakers_scrape_sends_metrics_token():
    ctx = make_ctx(answers={"/metrics": metrics(("a", "0"))}, metrics_token="mtok")
    run("providers.circuit_breakers", ctx)
    assert ctx.client.calls == [("/metrics", {"Authorization": "Bearer mtok"}, True)]


@pytest.mark.parametrize("answer, words, owner", [
    (obs(401, b"unauthorized"), "set metrics_token", "monitoring.prometheus_metrics"),
    (obs(500, b"boom"), "did not answer 200", "monitoring.prometheus_metrics"),
    (refused(), "connection refused", "health.liveness"),
    (obs(200, "aragora_x{a=b} 1\n"), "not valid Prometheus text", "monitoring.prometheus_metrics"),
])
def test_circuit_breakers_scrape_problems_could_not_judge(answer, words, owner):
    result = run("providers.circuit_breakers", make_ctx(answers={"/metrics": answer}))
    assert result["status"] == "ERROR" and result["cause"]["check"] == owner
    assert "An agent's circuit breaker is open" not in result["remediation"]
    assert words in result["message"]


def admin(*breakers):
    return obs(200, {"data": {"breakers": [{"name": n, "state": s, "failure_count": 0} for n, s in breakers],
                              "total": len(breakers), "available": len(breakers)}})


@pytest.mark.parametrize("breakers, status", [
    ((("anthropic", "closed"), ("openai", "closed")), "PASS"),
    ((("anthropic", "OPEN"), ("openai", "closed")), "FAIL"),
    ((("anthropic", "half-open"),), "WARN"),
])
def test_circuit_breakers_from_admin_api_with_token(breakers, status):
    ctx = make_ctx(answers={ADMIN: admin(*breakers)}, api_token="jwt")
    result = run("providers.circuit_breakers", ctx)
    assert result["status"] == status
    assert result["evidence"]["source"] == ADMIN
    assert ctx.client.calls == [(ADMIN, {"Authorization": "Bearer jwt"}, True)]


def test_circuit_breakers_admin_api_refuses_token_fails():
    ctx = make_ctx(answers={ADMIN: obs(403, {"error": "forbidden"})}, api_token="jwt")
    result = run("providers.circuit_breakers", ctx)
    assert result["status"] == "FAIL"
    assert "refuses the credentials" in result["message"]
    # The remediation is about the token, not about an open breaker the check never saw.
    assert "api_token" in result["remediation"] and "is open" not in result["remediation"]
    assert result["evidence"]["could_not_judge"] == "credentials"


@pytest.mark.parametrize("answer", [obs(500, {"error": "internal error"}), obs(404, {"error": "not found"})])
def test_circuit_breakers_admin_api_error_status_does_not_pass(answer):
    ctx = make_ctx(answers={ADMIN: answer}, api_token="jwt")
    assert run("providers.circuit_breakers", ctx)["status"] != "PASS"


def test_circuit_breakers_without_api_skips():
    assert run("providers.circuit_breakers", make_ctx(NEUTRAL))["status"] == "SKIP"


# --- providers.agent_timeout --------------------------------------------------------------------------------


@pytest.mark.parametrize("value, status", [
    ("29", "FAIL"), ("30", "PASS"), ("240", "PASS"), ("1200", "PASS"), ("1201", "FAIL"), ("0", "FAIL"),
    ("abc", "FAIL"), ("30s", "FAIL"), ("2.5", "FAIL"), (" 600 ", "PASS"),
])
def test_agent_timeout(value, status):
    result = run("providers.agent_timeout", make_ctx({"ARAGORA_AGENT_TIMEOUT": value}))
    assert result["status"] == status, result["message"]
    assert result["evidence"]["valid_range"] == [30, 1200]


def test_agent_timeout_non_numeric_message():
    result = run("providers.agent_timeout", make_ctx({"ARAGORA_AGENT_TIMEOUT": "abc"}))
    assert result["message"] == "Agent timeout: ARAGORA_AGENT_TIMEOUT='abc' is not a whole number"


def test_agent_timeout_unset_warns_with_default():
    result = run("providers.agent_timeout", make_ctx(NEUTRAL))
    assert result["status"] == "WARN"
    assert "server default 240 s" in result["message"]


def test_agent_timeout_only_legacy_name_set_says_it_is_read_nowhere():
    result = run("providers.agent_timeout", make_ctx({"ARAGORA_AGENT_TIMEOUT_SECONDS": "300"}))
    assert result["status"] == "WARN"
    assert "ARAGORA_AGENT_TIMEOUT_SECONDS=300 is set but Aragora 2.11 reads it nowhere" in result["message"]
    assert result["evidence"]["ARAGORA_AGENT_TIMEOUT_SECONDS"] == "300"
    assert "reads it nowhere" in result["evidence"]["note"]
    assert result["evidence"]["ARAGORA_AGENT_TIMEOUT"] is None


def test_agent_timeout_legacy_beside_valid_setting_passes_with_note():
    result = run("providers.agent_timeout", make_ctx({"ARAGORA_AGENT_TIMEOUT": "300",
                                                      "ARAGORA_AGENT_TIMEOUT_SECONDS": "900"}))
    assert result["status"] == "PASS"
    assert result["evidence"]["ARAGORA_AGENT_TIMEOUT"] == 300
    assert "reads it nowhere" in result["evidence"]["note"]
