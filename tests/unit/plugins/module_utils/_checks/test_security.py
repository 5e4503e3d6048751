"""Section 1, Security Configuration."""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets

import pytest
from tests.unit.plugins.module_utils.k8s_fakes import FakeCluster
from tests.unit.plugins.module_utils.ops_fakes import NEUTRAL, make_ctx, obs, refused, run

from ansible_collections.aragora.ops.plugins.module_utils._checks import k8s_cluster, secret_shape
from ansible_collections.aragora.ops.plugins.module_utils._checks.security import shannon_bits_per_char

# 32 distinct characters, no placeholder word: a strong-looking secret of exactly the minimum length.
STRONG_32 = "Qw7Zp2Lk9Rt4Vb6Nm1Hy3Jd8Fs5Gc0Xe"
assert len(STRONG_32) == 32 and len(set(STRONG_32)) == 32


def strong_token() -> str:
    """A real secrets.token_urlsafe(48). The rare token (about 1 in 20,000) that spells a placeholder word by chance
    is rerolled, so that this test is not flaky; the odds are pinned by the xxx test below."""
    while True:
        token = secrets.token_urlsafe(48)
        if not secret_shape.placeholder(token):
            return token


# --- security.environment_mode ------------------------------------------------------------------------------


@pytest.mark.parametrize("variables, status", [
    ({"ARAGORA_ENV": "production"}, "PASS"),
    ({"ARAGORA_ENV": "development"}, "FAIL"),
    ({"ARAGORA_ENV": "staging"}, "FAIL"),
    ({"ARAGORA_ENV": "  "}, "FAIL"),  # blank is unset
    (NEUTRAL, "FAIL"),
])
def test_environment_mode(variables, status):
    result = run("security.environment_mode", make_ctx(variables))
    assert result["status"] == status
    if status == "FAIL":
        assert result["remediation"] == "Set ARAGORA_ENV=production."


def test_environment_mode_unset_says_development():
    result = run("security.environment_mode", make_ctx(NEUTRAL))
    assert "unset" in result["message"] and "development" in result["message"]
    assert result["evidence"] == {"ARAGORA_ENV": None}


# --- security.jwt_secret ------------------------------------------------------------------------------------


@pytest.mark.parametrize("secret, status, words", [
    (STRONG_32[:31], "FAIL", "too short (31 chars, needs 32+)"),
    (STRONG_32, "PASS", "32 chars"),
    ("a" * 40, "FAIL", "low entropy"),
    ("abc" * 14, "FAIL", "low entropy"),
    ("ab" * 32, "FAIL", "low entropy"),
    ("change-me-to-a-long-random-value-0123456789", "FAIL", "placeholder"),
    ("your_jwt_key_here_9f8e7d6c5b4a39281706abcdef", "FAIL", "placeholder"),
    ("<generate with secrets.token_urlsafe(48) please>", "FAIL", "placeholder"),
    ("Qw7Zp2Lk9Rt4Vb6Nm1Hy3Jd8Fs5Gc0Xe-EXAMPLE", "FAIL", "placeholder"),
    ("super-secret-jwt-signing-material-4u7Zk2", "FAIL", "placeholder"),
])
def test_jwt_secret_edges(secret, status, words):
    result = run("security.jwt_secret", make_ctx({"ARAGORA_JWT_SECRET": secret}))
    assert result["status"] == status, result["message"]
    assert words in result["message"]
    assert result["evidence"]["length"] == len(secret)


def test_jwt_secret_real_token_passes():
    token = strong_token()
    result = run("security.jwt_secret", make_ctx({"ARAGORA_JWT_SECRET": token}))
    assert result["status"] == "PASS", result["message"]
    assert result["evidence"]["entropy_bits_per_char"] >= 4.0
    assert result["remediation"] == ""


def test_jwt_secret_value_never_in_result():
    token = strong_token()
    for secret in (token, token[:20], "a" * 40):
        result = run("security.jwt_secret", make_ctx({"ARAGORA_JWT_SECRET": secret}))
        assert secret not in json.dumps(result)


def test_jwt_secret_unset_fails_with_remediation():
    result = run("security.jwt_secret", make_ctx(NEUTRAL))
    assert result["status"] == "FAIL"
    assert "ARAGORA_JWT_SECRET unset" in result["message"]
    assert "token_urlsafe" in result["remediation"]


def test_jwt_secret_min_length_threshold_is_configurable():
    token = strong_token()  # 64 chars
    ctx = make_ctx({"ARAGORA_JWT_SECRET": token}, thresholds={"jwt_secret_min_length": 65})
    assert run("security.jwt_secret", ctx)["status"] == "FAIL"
    ctx = make_ctx({"ARAGORA_JWT_SECRET": token}, thresholds={"jwt_secret_min_length": 64})
    assert run("security.jwt_secret", ctx)["status"] == "PASS"


def test_jwt_secret_no_configuration_skips():
    result = run("security.jwt_secret", make_ctx())
    assert result["status"] == "SKIP"
    assert "no configuration" in result["message"]


def test_jwt_secret_random_token_containing_xxx_is_not_a_placeholder():
    # A token as secrets.token_urlsafe(48) can produce it (64 url-safe chars), which happens to contain 'XxX'.
    token = "k3Jq9_Vb2RtZpL8mWc4YhNfA0sGdXxXu7eQi1oT6yKvBn5rHlCjM-EwUzPaS3gDf"
    assert len(token) == 64 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert run("security.jwt_secret", make_ctx({"ARAGORA_JWT_SECRET": token}))["status"] == "PASS"


@pytest.mark.parametrize("value, expected", [("", 0.0), ("aaaa", 0.0), ("ab", 1.0), ("abcd", 2.0)])
def test_shannon_bits_per_char(value, expected):
    assert shannon_bits_per_char(value) == pytest.approx(expected)
    assert str(shannon_bits_per_char(value)) != "-0.0"


# --- security.api_keys_storage ------------------------------------------------------------------------------


def env_file(tmp_path, text, mode):
    path = tmp_path / "aragora.env"
    path.write_text(text)
    os.chmod(path, mode)
    return str(path)


@pytest.mark.parametrize("mode, status", [(0o600, "WARN"), (0o400, "WARN"), (0o640, "FAIL"), (0o644, "FAIL"),
                                          (0o604, "FAIL")])
def test_api_keys_in_env_file_by_mode(tmp_path, mode, status):
    path = env_file(tmp_path, "ARAGORA_ENV=production\nANTHROPIC_API_KEY=sk-ant-abc123\n", mode)
    result = run("security.api_keys_storage", make_ctx(env_file=path))
    assert result["status"] == status
    assert result["evidence"] == {"env_file": path, "mode": "%04o" % mode, "provider_keys_in_file": ["ANTHROPIC_API_KEY"],
                                  "secrets_in_file": ["ANTHROPIC_API_KEY"], "owner_uid": os.getuid(),
                                  "owner": pwd.getpwuid(os.getuid()).pw_name}
    assert "sk-ant-abc123" not in json.dumps(result)
    assert path in result["message"]


def test_api_keys_not_in_env_file_passes(tmp_path):
    path = env_file(tmp_path, "ARAGORA_ENV=production\nANTHROPIC_API_KEY=\n", 0o644)
    # keys given as variables on top of the file are not stored in the file
    result = run("security.api_keys_storage", make_ctx({"OPENAI_API_KEY": "sk-live"}, env_file=path))
    assert result["status"] == "PASS"
    assert result["evidence"]["provider_keys_in_file"] == []


@pytest.mark.parametrize("mode, status, who", [(0o644, "FAIL", "group and others"), (0o640, "FAIL", "its group"),
                                               (0o604, "FAIL", "others"), (0o600, "PASS", None)])
def test_any_secret_in_an_env_file_others_can_read_fails(tmp_path, mode, status, who):
    path = env_file(tmp_path, "ARAGORA_ENV=production\nARAGORA_JWT_SECRET=%s\n"
                              "DATABASE_URL=postgresql://aragora:pg-pw-123@db:5432/aragora\n" % strong_token(), mode)
    result = run("security.api_keys_storage", make_ctx(env_file=path))
    assert result["status"] == status, result["message"]
    assert result["evidence"]["secrets_in_file"] == ["ARAGORA_JWT_SECRET", "DATABASE_URL"]
    if who:
        assert "holds secrets (ARAGORA_JWT_SECRET, DATABASE_URL) that %s can read" % who in result["message"]
        assert "chmod 600" in result["remediation"]
    assert "pg-pw-123" not in json.dumps(result)


SECRETS_FILE = "ARAGORA_ENV=production\nARAGORA_JWT_SECRET=%s\n" % strong_token()
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")


def owned_by(tmp_path, user: str) -> str:
    path = env_file(tmp_path, SECRETS_FILE, 0o600)
    os.chown(path, pwd.getpwnam(user).pw_uid, -1)
    return path


def unit_file(tmp_path, *lines: str, drop_in: str | None = None) -> str:
    path = tmp_path / "aragora.service"
    path.write_text("[Unit]\nDescription=Aragora\nUser=ignored-outside-service\n[Service]\n%s\n" % "\n".join(lines))
    if drop_in is not None:
        (tmp_path / "aragora.service.d").mkdir()
        (tmp_path / "aragora.service.d" / "10-user.conf").write_text("[Service]\n%s\n" % drop_in)
    return str(path)


@as_root
@pytest.mark.parametrize("owner, options, status, words", [
    ("root", {}, "PASS", "owner root"),  # root may always own it: nothing to learn about the unit
    ("daemon", {"service_user": "daemon"}, "PASS", "owner daemon"),
    ("daemon", {"service_user": "nobody"}, "WARN", "neither root nor the unit's user nobody (service_user)"),
    ("daemon", {"service_user": "1"}, "PASS", "owner daemon"),  # a numeric uid is that user
    ("daemon", {}, "WARN", "the unit's user is unknown (neither service_user nor systemd_unit_file was given), so "
                           "the owner could not be judged"),
    ("daemon", {"service_user": "no-such-user-here"}, "WARN", "user no-such-user-here does not exist on this host"),
])
def test_env_file_owner_is_root_or_the_units_user(tmp_path, owner, options, status, words):
    result = run("security.api_keys_storage", make_ctx(env_file=owned_by(tmp_path, owner), options=options))
    assert result["status"] == status, result["message"]
    assert words in result["message"]
    assert result["evidence"]["owner"] == owner
    if status == "WARN":
        assert "chown root:root" in result["remediation"]


@as_root
@pytest.mark.parametrize("lines, drop_in, status, words", [
    (["User=daemon"], None, "PASS", "owner daemon"),
    (["User=nobody"], None, "WARN", "neither root nor the unit's user nobody (User= in "),
    (["User=nobody"], "User=daemon", "PASS", "owner daemon"),  # the drop-in, read after the unit, wins
    ([], None, "WARN", "neither root nor the unit's user root"),  # no User=: the unit runs as root
    (["User=daemon", "DynamicUser=yes"], None, "WARN", "the unit has DynamicUser=yes"),
])
def test_env_file_owner_against_the_unit_files_user(tmp_path, lines, drop_in, status, words):
    unit = unit_file(tmp_path, *lines, drop_in=drop_in)
    result = run("security.api_keys_storage", make_ctx(env_file=owned_by(tmp_path, "daemon"),
                                                       options={"systemd_unit_file": unit}))
    assert result["status"] == status, result["message"]
    assert words in result["message"]


@as_root
def test_an_unreadable_unit_file_is_named(tmp_path):
    missing = str(tmp_path / "missing.service")
    result = run("security.api_keys_storage", make_ctx(env_file=owned_by(tmp_path, "daemon"),
                                                       options={"systemd_unit_file": missing}))
    assert result["status"] == "FAIL" and "cannot read the unit file %s (systemd_unit_file)" % missing in \
        result["message"], result


# --- security.api_keys_storage on Kubernetes: ConfigMaps are not Secrets ---------------------------------------

def cluster_ctx(config_map_secrets: dict, secret_names: set):
    ctx = make_ctx()
    ctx.config.attach(lambda: ({"ARAGORA_ENV": "production"}, secret_names,
                               "Deployment aragora/aragora container aragora", config_map_secrets))
    return ctx


def test_secrets_in_a_config_map_fail_naming_it_and_its_keys():
    consumed = {"aragora-config": [("jwt-secret", "ARAGORA_JWT_SECRET")], "aragora-db": [("DATABASE_URL", "DATABASE_URL")],
                "aragora-tuning": []}
    result = run("security.api_keys_storage", cluster_ctx(consumed, {"OPENAI_API_KEY"}))
    assert result["status"] == "FAIL", result
    assert result["message"] == ("Secret-like values are held in ConfigMaps, not Secrets: ConfigMap aragora-config "
                                 "keys jwt-secret (as ARAGORA_JWT_SECRET); ConfigMap aragora-db keys DATABASE_URL")
    assert result["evidence"]["config_maps_read"] == ["aragora-config", "aragora-db", "aragora-tuning"]
    assert "Secret" in result["remediation"] and "rotate" in result["remediation"]


def test_config_maps_without_secrets_pass():
    result = run("security.api_keys_storage", cluster_ctx({"aragora-config": []}, {"ARAGORA_JWT_SECRET"}))
    assert result["status"] == "PASS", result
    assert "ConfigMaps read: aragora-config; 1 variables from Secrets" in result["message"]


def test_deployment_env_records_the_secret_like_entries_of_the_config_maps_it_consumes():
    """Reading the cluster decides what is secret-like with config.secret_like, the one test: by the variable's
    name, or a password inside a URL; an entry a later Secret overrides is still exposed in its ConfigMap."""
    api = FakeCluster(config_maps={"aragora-config": {
        "ARAGORA_JWT_SECRET": strong_token(), "ARAGORA_LOG_LEVEL": "INFO",
        "DATABASE_URL": "postgresql://aragora:Pg-pw-9f3k2@db:5432/aragora", "REDIS_URL": "redis://cache:6379/0",
        "jwt": "x"}}, secrets={"aragora-secrets": {"ARAGORA_JWT_SECRET": strong_token()}})
    container = {"envFrom": [{"configMapRef": {"name": "aragora-config"}}, {"secretRef": {"name": "aragora-secrets"}}],
                 "env": [{"name": "ARAGORA_ENCRYPTION_KEY",
                          "valueFrom": {"configMapKeyRef": {"name": "aragora-config", "key": "jwt"}}}]}
    resolved = k8s_cluster.resolve_env(api, "aragora", container)
    assert resolved.config_map_secrets == {"aragora-config": [("ARAGORA_JWT_SECRET", "ARAGORA_JWT_SECRET"),
                                                              ("DATABASE_URL", "DATABASE_URL"),
                                                              ("jwt", "ARAGORA_ENCRYPTION_KEY")]}


def test_api_keys_several_in_file_listed_sorted(tmp_path):
    path = env_file(tmp_path, "OPENROUTER_API_KEY=or\nANTHROPIC_API_KEY=an\nXAI_API_KEY=x\n", 0o600)
    result = run("security.api_keys_storage", make_ctx(env_file=path))
    assert result["evidence"]["provider_keys_in_file"] == ["ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "XAI_API_KEY"]


def test_api_keys_variables_only_skips():
    result = run("security.api_keys_storage", make_ctx({"ANTHROPIC_API_KEY": "sk"}))
    assert result["status"] == "SKIP"
    assert "variables" in result["message"]


def test_api_keys_no_configuration_skips():
    assert run("security.api_keys_storage", make_ctx())["status"] == "SKIP"


def test_unreadable_env_file_fails_naming_it(tmp_path):
    missing = str(tmp_path / "nope.env")
    for check_id in ("security.api_keys_storage", "security.jwt_secret", "security.environment_mode"):
        result = run(check_id, make_ctx(env_file=missing))
        # security.environment_mode judges the unreadable configuration; the others could not judge.
        assert result["status"] == ("FAIL" if check_id == "security.environment_mode" else "ERROR")
        assert missing in result["message"]
        assert "No such file" in result["message"]


def test_env_file_that_is_a_directory_fails_naming_it(tmp_path):
    result = run("security.jwt_secret", make_ctx(env_file=str(tmp_path)))
    assert result["status"] == "ERROR" and result["cause"]["dependency"] == "configuration"
    assert str(tmp_path) in result["message"]


# --- security.cors_origins ----------------------------------------------------------------------------------


@pytest.mark.parametrize("origins, status", [
    ("https://app.example.com", "PASS"),
    ("https://app.example.com, https://admin.example.com", "PASS"),
    ("https://localhost.example.com", "PASS"),  # a real domain that merely starts with 'localhost'
    ("http://localhost:3000", "FAIL"),
    ("https://app.example.com,http://127.0.0.1:8080", "FAIL"),
    ("http://127.0.1.1", "FAIL"),
    ("*", "FAIL"),
    ("https://*.example.com", "FAIL"),
    ("http://0.0.0.0:3000", "FAIL"),
    ("http://[::1]:3000", "FAIL"),
    ("http://dev.localhost:3000", "FAIL"),
    ("http://app.example.com", "WARN"),
    ("https://app.example.com,http://app.example.com", "WARN"),
])
def test_cors_origins_config(origins, status):
    result = run("security.cors_origins", make_ctx({"ARAGORA_ALLOWED_ORIGINS": origins}))
    assert result["status"] == status, result["message"]
    assert "live_probe" not in result["evidence"]


def test_cors_origins_failure_names_each_bad_origin():
    origins = "https://app.example.com,http://localhost:3000,*"
    result = run("security.cors_origins", make_ctx({"ARAGORA_ALLOWED_ORIGINS": origins}))
    assert "includes http://localhost:3000" in result["message"]
    assert "includes *" in result["message"]
    assert "app.example.com" not in result["message"]


def test_cors_origins_unset_warns():
    result = run("security.cors_origins", make_ctx(NEUTRAL))
    assert result["status"] == "WARN"
    assert "ARAGORA_ALLOWED_ORIGINS unset" in result["message"]


def test_cors_origins_nothing_to_judge_skips():
    assert run("security.cors_origins", make_ctx())["status"] == "SKIP"


def cors_answer(echo):
    def answer(headers):
        assert headers.get("Origin") == "http://localhost:3000"
        return obs(200, {"status": "healthy"}, headers={"Access-Control-Allow-Origin": echo} if echo else {})
    return answer


@pytest.mark.parametrize("echo, status", [("http://localhost:3000", "FAIL"), ("*", "FAIL"),
                                          ("https://app.example.com", "PASS"), (None, "PASS")])
def test_cors_live_probe_only(echo, status):
    ctx = make_ctx(answers={"/api/health": cors_answer(echo)})
    result = run("security.cors_origins", ctx)
    assert result["status"] == status
    assert result["evidence"]["live_probe"] == "Origin http://localhost:3000 -> Access-Control-Allow-Origin %s" % echo
    if status == "FAIL":
        assert "live server allows origin http://localhost:3000" in result["message"]


def test_cors_live_probe_echo_fails_even_with_clean_config():
    ctx = make_ctx({"ARAGORA_ALLOWED_ORIGINS": "https://app.example.com"},
                   answers={"/api/health": cors_answer("http://localhost:3000")})
    result = run("security.cors_origins", ctx)
    assert result["status"] == "FAIL"
    assert result["evidence"]["ARAGORA_ALLOWED_ORIGINS"] == ["https://app.example.com"]


def test_cors_live_probe_refused_could_not_judge():
    result = run("security.cors_origins", make_ctx(answers={"/api/health": refused()}))
    assert result["status"] == "ERROR" and result["cause"]["check"] == "health.liveness"
    assert "connection refused" in result["message"]


# --- security.https_enforced --------------------------------------------------------------------------------


HEALTHY = obs(200, {"status": "healthy"}, headers={"Strict-Transport-Security": "max-age=31536000"})


def test_https_enforced_https_passes():
    result = run("security.https_enforced", make_ctx(answers={"/api/health": HEALTHY}))
    assert result["status"] == "PASS"
    assert result["evidence"]["url"] == "https://api.example.com/api/health"
    assert result["evidence"]["hsts"] == "max-age=31536000"


def test_https_enforced_plain_http_fails_despite_hsts():
    result = run("security.https_enforced", make_ctx(answers={"/api/health": HEALTHY}, base_url="http://api.example.com"))
    assert result["status"] == "FAIL"
    assert "plain HTTP" in result["message"]


@pytest.mark.parametrize("status, location, expected", [
    (301, "https://api.example.com/", "PASS"),
    (308, "HTTPS://api.example.com/", "PASS"),
    (302, "http://api.example.com/other", "FAIL"),
    (200, None, "FAIL"),
    (404, None, "FAIL"),
])
def test_https_enforced_http_redirect(status, location, expected):
    http_url = "http://api.example.com/api/health"
    answers = {"/api/health": HEALTHY, http_url: obs(status, b"", headers={"Location": location} if location else {})}
    ctx = make_ctx(answers=answers, http_url=http_url)
    result = run("security.https_enforced", ctx)
    assert result["status"] == expected
    assert result["evidence"]["http_status"] == status
    # the redirect is judged as sent, not followed
    assert (http_url, {}, False) in ctx.client.calls


def test_https_enforced_http_url_refused_fails():
    http_url = "http://api.example.com/"
    ctx = make_ctx(answers={"/api/health": HEALTHY, http_url: refused()}, http_url=http_url)
    result = run("security.https_enforced", ctx)
    assert result["status"] == "FAIL"
    assert "connection refused" in result["message"]


def test_https_enforced_without_api_skips():
    result = run("security.https_enforced", make_ctx({"ARAGORA_ENV": "production"}))
    assert result["status"] == "SKIP"
    assert "api_url" in result["message"]


def test_https_enforced_health_unreachable_could_not_judge():
    result = run("security.https_enforced", make_ctx(answers={"/api/health": refused()}))
    assert result["status"] == "ERROR"


# --- security.rate_limiting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("variables, status", [
    # Aragora 2.11.1 never reads ARAGORA_DISABLE_RATE_LIMIT: it changes no verdict.
    ({"ARAGORA_DISABLE_RATE_LIMIT": "true", "ARAGORA_REDIS_URL": "redis://r:6379"}, "PASS"),
    ({"ARAGORA_DISABLE_RATE_LIMIT": "1"}, "WARN"),
    ({"ARAGORA_DISABLE_RATE_LIMIT": "false", "ARAGORA_REDIS_URL": "redis://r:6379"}, "PASS"),
    ({"ARAGORA_REDIS_URL": "redis://:pw@r:6379/0"}, "PASS"),
    ({"REDIS_URL": "redis://r:6379"}, "WARN"),  # the 2.11 limiter reads ARAGORA_REDIS_URL only
    ({"ARAGORA_RATE_LIMIT": "100"}, "WARN"),
    (NEUTRAL, "WARN"),
])
def test_rate_limiting(variables, status):
    result = run("security.rate_limiting", make_ctx(variables))
    assert result["status"] == status
    assert "pw" not in json.dumps(result["evidence"])


def test_rate_limiting_says_legacy_redis_url_is_not_read_and_keeps_legacy_endpoint_evidence():
    ctx = make_ctx({"REDIS_URL": "redis://r:6379"}, answers={})
    result = run("security.rate_limiting", ctx)
    assert "only the legacy REDIS_URL is set, which the limiter does not read" in result["message"]
    assert result["evidence"]["ARAGORA_REDIS_URL_set"] is False
    assert result["evidence"]["rate_limits_config_endpoint"] == \
        "GET https://api.example.com/api/rate-limits/config -> 404 in 12 ms"


def test_rate_limiting_no_config_skips_even_with_api():
    assert run("security.rate_limiting", make_ctx(answers={}))["status"] == "SKIP"


# --- security.token_blacklist -------------------------------------------------------------------------------


@pytest.mark.parametrize("variables, status, effective, decided_by", [
    ({"ARAGORA_BLACKLIST_BACKEND": "redis"}, "PASS", "redis", "ARAGORA_BLACKLIST_BACKEND"),
    ({"ARAGORA_BLACKLIST_BACKEND": "REDIS"}, "PASS", "redis", "ARAGORA_BLACKLIST_BACKEND"),
    ({"ARAGORA_BLACKLIST_BACKEND": "sqlite"}, "PASS", "sqlite", "ARAGORA_BLACKLIST_BACKEND"),
    ({"ARAGORA_BLACKLIST_BACKEND": "memory"}, "WARN", "memory", "ARAGORA_BLACKLIST_BACKEND"),
    ({"ARAGORA_BLACKLIST_BACKEND": "bogus"}, "FAIL", "bogus", "ARAGORA_BLACKLIST_BACKEND"),
    # explicit wins over the database fallback
    ({"ARAGORA_BLACKLIST_BACKEND": "memory", "ARAGORA_DB_BACKEND": "postgres"}, "WARN", "memory",
     "ARAGORA_BLACKLIST_BACKEND"),
    ({"ARAGORA_DB_BACKEND": "postgres"}, "PASS", "postgres", "ARAGORA_DB_BACKEND=postgres"),
    ({"ARAGORA_DB_BACKEND": "sqlite", "DATABASE_URL": "postgresql://u:p@db/a"}, "PASS", "sqlite",
     "ARAGORA_DB_BACKEND=sqlite"),
    ({"ARAGORA_DB_BACKEND": "bogus"}, "FAIL", "bogus", "ARAGORA_DB_BACKEND=bogus"),
    ({"DATABASE_URL": "postgresql://u:p@db/a"}, "PASS", "postgres", "auto with DATABASE_URL"),
    ({"ARAGORA_DB_BACKEND": "auto", "ARAGORA_POSTGRES_DSN": "postgresql://u:p@db/a"}, "PASS", "postgres",
     "auto with DATABASE_URL"),
    (NEUTRAL, "PASS", "sqlite", "auto without DATABASE_URL"),
])
def test_token_blacklist(variables, status, effective, decided_by):
    result = run("security.token_blacklist", make_ctx(variables))
    assert result["status"] == status
    assert result["evidence"]["effective"] == effective
    assert decided_by in result["evidence"]["decided_by"]


def test_token_blacklist_memory_warning_explains_why():
    result = run("security.token_blacklist", make_ctx({"ARAGORA_BLACKLIST_BACKEND": "memory"}))
    assert "lost on restart" in result["message"]
    assert "ARAGORA_BLACKLIST_BACKEND=redis" in result["remediation"]


def test_token_blacklist_no_configuration_skips():
    assert run("security.token_blacklist", make_ctx())["status"] == "SKIP"


# --- secrets never leave through any check --------------------------------------------------------------------


def test_no_check_result_contains_a_configured_secret(tmp_path):
    from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY, run_checks

    variables = {
        "ARAGORA_ENV": "production",
        "ARAGORA_JWT_SECRET": "jwt-" + strong_token(),
        "ARAGORA_API_TOKEN": "apitoken-Zq81hG7",
        "ARAGORA_ENCRYPTION_KEY": "ab" * 32,
        "ANTHROPIC_API_KEY": "sk-ant-UNIQUE7731",
        "OPENAI_API_KEY": "sk-openai-UNIQUE9912",
        "OPENROUTER_API_KEY": "sk-or-UNIQUE5521",
        "ARAGORA_REDIS_URL": "redis://:redisPW8812@redis:6379/0",
        "DATABASE_URL": "postgresql://aragora:pgPW4471@db:5432/aragora",
        "SENTRY_DSN": "https://sentrykey6610@o1.ingest.sentry.io/42",
        "GOOGLE_OAUTH_CLIENT_ID": "client-id",
        "GOOGLE_OAUTH_CLIENT_SECRET": "gocspx-UNIQUE3390",
        "ARAGORA_SSO_ENABLED": "true",
        "ARAGORA_SSO_CLIENT_SECRET": "sso-UNIQUE1180",
    }
    path = env_file(tmp_path, "".join("%s=%s\n" % item for item in variables.items()), 0o644)
    ctx = make_ctx(variables, env_file=path)
    results = run_checks(list(REGISTRY.values()), ctx)
    dumped = json.dumps(results)
    for secret in ctx.config.secrets():
        assert secret not in dumped, secret
    assert {"sk-ant-UNIQUE7731", "redisPW8812", "pgPW4471", variables["SENTRY_DSN"]} <= ctx.config.secrets()
    assert not re.search(r"UNIQUE\d{4}", dumped)


# --- security.secret_values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("variables, status, words", [
    ({"ARAGORA_API_TOKEN": secrets.token_urlsafe(32), "ARAGORA_ENCRYPTION_KEY": secrets.token_hex(32)}, "PASS",
     "ARAGORA_API_TOKEN, ARAGORA_ENCRYPTION_KEY"),
    ({"ARAGORA_API_TOKEN": "change-me"}, "FAIL", "ARAGORA_API_TOKEN is a placeholder"),
    ({"GOOGLE_OAUTH_CLIENT_SECRET": "your-client-secret"}, "FAIL", "GOOGLE_OAUTH_CLIENT_SECRET is a placeholder"),
    ({"SUPABASE_KEY": "xxx"}, "FAIL", "SUPABASE_KEY is a placeholder"),
    ({"SUPABASE_KEY": "sb_secret_" + secrets.token_urlsafe(32)}, "PASS", "SUPABASE_KEY"),
    ({"ARAGORA_ENCRYPTION_KEY": secrets.token_urlsafe(48)}, "WARN", "ARAGORA_ENCRYPTION_KEY holds characters"),
    ({"ARAGORA_API_TOKEN": "abc123"}, "WARN", "is 6 characters long"),
    ({"ARAGORA_ENV": "production"}, "SKIP", "None of"),
])
def test_secret_values(variables, status, words):
    result = run("security.secret_values", make_ctx(variables))
    assert result["status"] == status, result["message"]
    assert words in result["message"]
    for value in variables.values():
        if len(value) > 10:  # the generated ones; a placeholder word may be named as the mark of an example
            assert value not in str(result)


def test_rate_limiting_names_the_ignored_variable():
    result = run("security.rate_limiting", make_ctx({"ARAGORA_DISABLE_RATE_LIMIT": "true",
                                                     "ARAGORA_REDIS_URL": "redis://r:6379"}))
    assert "ARAGORA_DISABLE_RATE_LIMIT set but not read by the server" in result["message"]
    assert "ARAGORA_DISABLE_RATE_LIMIT" in result["evidence"]["variables_ignored_by_server"]


def _limited_after(n):
    state = {"calls": 0}

    def answer(headers):
        assert headers["Authorization"].startswith("Bearer ")
        state["calls"] += 1
        if state["calls"] > n:
            return obs(429, {"error": "Rate limit exceeded."}, headers={"X-RateLimit-Limit": str(n),
                                                                        "Retry-After": "2"})
        return obs(200, {"debates": []})
    return answer


@pytest.mark.parametrize("burst, limit, status, words", [
    (True, 30, "PASS", "30 x 200 then 429 on /api/debates?limit=1 (X-RateLimit-Limit 30, Retry-After 2)"),
    (True, 100, "FAIL", "did not limit: 60 requests"),
    (False, 30, "PASS", "ARAGORA_DISABLE_ALL_RATE_LIMITS unset, so every limiter is on"),
])
def test_rate_limiting_live_probe(burst, limit, status, words):
    ctx = make_ctx({"ARAGORA_JWT_SECRET": strong_token(), "ARAGORA_REDIS_URL": "redis://r:6379"},
                   answers={"/api/debates?limit=1": _limited_after(limit)}, options={"rate_limit_burst": burst})
    result = run("security.rate_limiting", ctx)
    assert result["status"] == status, result["message"]
    assert words in result["message"]


@pytest.mark.parametrize("value, status", [("true", "FAIL"), ("1", "FAIL"), ("false", "PASS")])
def test_rate_limiting_fails_on_the_switch_the_server_reads(value, status):
    result = run("security.rate_limiting", make_ctx({"ARAGORA_DISABLE_ALL_RATE_LIMITS": value,
                                                     "ARAGORA_REDIS_URL": "redis://r:6379"}))
    assert result["status"] == status
    if status == "FAIL":
        assert "turns off Aragora 2.11.1's default per-client limiter" in result["message"]
