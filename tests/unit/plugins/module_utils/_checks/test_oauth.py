"""Section 7, OAuth & Authentication."""

from __future__ import annotations

import pytest
from tests.unit.plugins.module_utils.ops_fakes import NEUTRAL, make_ctx, run

GOOD_OAUTH = {
    "GOOGLE_OAUTH_CLIENT_ID": "123.apps.googleusercontent.com",
    "GOOGLE_OAUTH_CLIENT_SECRET": "gocspx-abc",
    "GOOGLE_OAUTH_REDIRECT_URI": "https://api.example.com/api/auth/oauth/google/callback",
    "OAUTH_SUCCESS_URL": "https://app.example.com/auth/success",
    "OAUTH_ERROR_URL": "https://app.example.com/auth/error",
    "OAUTH_ALLOWED_REDIRECT_HOSTS": "app.example.com,api.example.com",
}


def oauth(**overrides):
    values = dict(GOOD_OAUTH)
    for name, value in overrides.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    return make_ctx(values)


# --- oauth.redirect_urls ------------------------------------------------------------------------------------


def test_redirect_urls_good_passes():
    result = run("oauth.redirect_urls", oauth())
    assert result["status"] == "PASS"
    assert result["evidence"]["allowed_hosts"] == ["app.example.com", "api.example.com"]
    assert result["evidence"]["allowed_hosts_from"] == "OAUTH_ALLOWED_REDIRECT_HOSTS"


@pytest.mark.parametrize("name", ["GOOGLE_OAUTH_REDIRECT_URI", "OAUTH_SUCCESS_URL", "OAUTH_ERROR_URL"])
def test_redirect_urls_plain_http_fails(name):
    url = GOOD_OAUTH[name].replace("https://", "http://")
    result = run("oauth.redirect_urls", oauth(**{name: url}))
    assert result["status"] == "FAIL"
    assert "%s is http, not https" % name in result["message"]


@pytest.mark.parametrize("host", ["localhost:3000", "127.0.0.1", "0.0.0.0:8080"])
def test_redirect_urls_local_host_fails(host):
    result = run("oauth.redirect_urls", oauth(OAUTH_SUCCESS_URL="https://%s/auth/success" % host,
                                              OAUTH_ALLOWED_REDIRECT_HOSTS="app.example.com,api.example.com"))
    assert result["status"] == "FAIL"
    assert "OAUTH_SUCCESS_URL points at %s" % host.split(":")[0] in result["message"]


def test_redirect_urls_host_not_allowed_fails():
    result = run("oauth.redirect_urls", oauth(OAUTH_ERROR_URL="https://evil.example.net/err"))
    assert result["status"] == "FAIL"
    assert "OAUTH_ERROR_URL host evil.example.net is not an allowed redirect host (OAUTH_ALLOWED_REDIRECT_HOSTS: " \
        "app.example.com, api.example.com)" in result["message"]


def test_redirect_urls_allowed_hosts_compared_case_insensitively():
    result = run("oauth.redirect_urls", oauth(OAUTH_ALLOWED_REDIRECT_HOSTS="APP.example.com, Api.Example.com"))
    assert result["status"] == "PASS"


def test_redirect_urls_unset_and_relative_fail():
    result = run("oauth.redirect_urls", oauth(OAUTH_SUCCESS_URL=None, OAUTH_ERROR_URL="/auth/error"))
    assert result["status"] == "FAIL"
    assert "OAUTH_SUCCESS_URL is not set" in result["message"]
    assert "OAUTH_ERROR_URL is not an absolute URL" in result["message"]


def test_redirect_urls_without_allowed_hosts_fails_each_url_naming_the_fallback():
    result = run("oauth.redirect_urls", oauth(OAUTH_ALLOWED_REDIRECT_HOSTS=None, ARAGORA_ENV="production"))
    assert result["status"] == "FAIL"
    assert result["message"].count("is not an allowed redirect host (OAUTH_ALLOWED_REDIRECT_HOSTS unset: the "
                                   "server's production fallback: aragora.ai, www.aragora.ai, api.aragora.ai)") == 3


def test_redirect_urls_subdomain_of_an_allowed_host_passes_as_the_server_accepts_it():
    result = run("oauth.redirect_urls", oauth(OAUTH_ALLOWED_REDIRECT_HOSTS="example.com"))
    assert result["status"] == "PASS", result["message"]


def test_redirect_urls_lookalike_host_is_not_a_subdomain():
    result = run("oauth.redirect_urls", oauth(OAUTH_ALLOWED_REDIRECT_HOSTS="example.com",
                                              OAUTH_ERROR_URL="https://evilexample.com/err"))
    assert result["status"] == "FAIL" and "evilexample.com" in result["message"]


@pytest.mark.parametrize("check_id", ["oauth.redirect_urls", "oauth.allowed_hosts"])
def test_oauth_not_configured_skips(check_id):
    result = run(check_id, make_ctx({"ARAGORA_ENV": "production"}))
    assert result["status"] == "SKIP"
    assert "OAuth login is not configured" in result["message"]


@pytest.mark.parametrize("check_id", ["oauth.redirect_urls", "oauth.allowed_hosts", "oauth.session_timeout",
                                      "oauth.frontend_urls", "oauth.sso"])
def test_oauth_checks_skip_without_configuration(check_id):
    result = run(check_id, make_ctx())
    assert result["status"] == "SKIP"
    assert "no configuration" in result["message"]


# --- oauth.allowed_hosts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("hosts, status", [
    ("app.example.com,api.example.com", "PASS"),
    ("app.example.com:443", "PASS"),
    ("localhost", "FAIL"),
    ("app.example.com,localhost:3000", "FAIL"),
    ("127.0.0.1", "FAIL"),
    ("0.0.0.0", "FAIL"),
    ("*", "FAIL"),
    ("*.example.com", "FAIL"),
    ("[::1]", "FAIL"),
    ("web.localhost", "FAIL"),
])
def test_allowed_hosts(hosts, status):
    result = run("oauth.allowed_hosts", oauth(OAUTH_ALLOWED_REDIRECT_HOSTS=hosts))
    assert result["status"] == status
    assert result["evidence"]["hosts"] == [h.strip() for h in hosts.split(",")]


def test_allowed_hosts_unset_fails():
    result = run("oauth.allowed_hosts", oauth(OAUTH_ALLOWED_REDIRECT_HOSTS=None))
    assert result["status"] == "FAIL"


def test_allowed_hosts_unset_in_production_names_the_aragora_ai_fallback():
    result = run("oauth.allowed_hosts", oauth(OAUTH_ALLOWED_REDIRECT_HOSTS=None, ARAGORA_ENV="production"))
    assert "falls back to aragora.ai, www.aragora.ai, api.aragora.ai (the server's production fallback)" in \
        result["message"]
    assert "not restricted" not in result["message"]
    assert "not set" in result["message"]


def test_allowed_hosts_failure_names_only_the_bad_hosts():
    result = run("oauth.allowed_hosts", oauth(OAUTH_ALLOWED_REDIRECT_HOSTS="app.example.com,localhost,*"))
    assert result["message"] == "OAuth allowed hosts include localhost, *"


def test_allowed_hosts_bare_ipv6_loopback_fails():
    assert run("oauth.allowed_hosts", oauth(OAUTH_ALLOWED_REDIRECT_HOSTS="::1"))["status"] == "FAIL"


# --- oauth.session_timeout ----------------------------------------------------------------------------------


@pytest.mark.parametrize("hours, status", [
    ("0", "FAIL"), ("1", "PASS"), ("24", "PASS"), ("168", "PASS"), ("169", "FAIL"), ("-1", "FAIL"),
    ("1.5", "FAIL"), ("one week", "FAIL"),
])
def test_session_timeout(hours, status):
    result = run("oauth.session_timeout", make_ctx({"ARAGORA_JWT_EXPIRY_HOURS": hours}))
    assert result["status"] == status, result["message"]
    assert result["evidence"]["valid_range"] == [1, 168]


def test_session_timeout_messages():
    assert "outside the valid range 1-168" in run(
        "oauth.session_timeout", make_ctx({"ARAGORA_JWT_EXPIRY_HOURS": "169"}))["message"]
    assert "is not a whole number" in run(
        "oauth.session_timeout", make_ctx({"ARAGORA_JWT_EXPIRY_HOURS": "abc"}))["message"]


def test_session_timeout_unset_passes_with_server_default():
    result = run("oauth.session_timeout", make_ctx(NEUTRAL))
    assert result["status"] == "PASS"
    assert "24 h (server default)" in result["message"]
    assert result["remediation"] == ""


def test_session_timeout_max_is_a_threshold():
    ctx = make_ctx({"ARAGORA_JWT_EXPIRY_HOURS": "48"}, thresholds={"jwt_expiry_max_hours": 24})
    result = run("oauth.session_timeout", ctx)
    assert result["status"] == "FAIL"
    assert result["evidence"]["valid_range"] == [1, 24]


# --- oauth.frontend_urls ------------------------------------------------------------------------------------


@pytest.mark.parametrize("variables, status, words", [
    ({"NEXT_PUBLIC_API_URL": "https://api.example.com", "NEXT_PUBLIC_WS_URL": "wss://api.example.com"}, "PASS",
     "api.example.com"),
    ({"NEXT_PUBLIC_API_URL": "http://api.example.com", "NEXT_PUBLIC_WS_URL": "wss://api.example.com"}, "FAIL",
     "NEXT_PUBLIC_API_URL is http, not https"),
    ({"NEXT_PUBLIC_API_URL": "https://api.example.com", "NEXT_PUBLIC_WS_URL": "ws://api.example.com"}, "FAIL",
     "NEXT_PUBLIC_WS_URL is ws, not wss"),
    ({"NEXT_PUBLIC_API_URL": "https://localhost:8080", "NEXT_PUBLIC_WS_URL": "wss://api.example.com"}, "FAIL",
     "points at localhost"),
    ({"NEXT_PUBLIC_API_URL": "https://api.example.com"}, "FAIL", "NEXT_PUBLIC_WS_URL is not set"),
])
def test_frontend_urls(variables, status, words):
    result = run("oauth.frontend_urls", make_ctx(variables))
    assert result["status"] == status
    assert words in result["message"]


def test_frontend_urls_unset_skips():
    result = run("oauth.frontend_urls", make_ctx(NEUTRAL))
    assert result["status"] == "SKIP"
    assert "NEXT_PUBLIC_API_URL" in result["message"]


# --- oauth.sso ----------------------------------------------------------------------------------------------


OIDC = {
    "ARAGORA_SSO_ENABLED": "true",
    "ARAGORA_SSO_PROVIDER_TYPE": "oidc",
    "ARAGORA_SSO_ENTITY_ID": "aragora",
    "ARAGORA_SSO_CALLBACK_URL": "https://api.example.com/auth/sso/callback",
    "ARAGORA_SSO_CLIENT_ID": "client",
    "ARAGORA_SSO_CLIENT_SECRET": "ssosecret",
    "ARAGORA_SSO_ISSUER_URL": "https://idp.example.com",
}
SAML = {
    "ARAGORA_SSO_ENABLED": "true",
    "ARAGORA_SSO_PROVIDER_TYPE": "saml",
    "ARAGORA_SSO_ENTITY_ID": "aragora",
    "ARAGORA_SSO_CALLBACK_URL": "https://api.example.com/auth/sso/acs",
    "ARAGORA_SSO_IDP_ENTITY_ID": "https://idp.example.com/metadata",
    "ARAGORA_SSO_IDP_SSO_URL": "https://idp.example.com/sso",
    "ARAGORA_SSO_IDP_CERTIFICATE": "MIIC...cert",
}


def sso(base, **overrides):
    values = {**base, **overrides}
    return make_ctx({k: v for k, v in values.items() if v is not None})


@pytest.mark.parametrize("enabled", [None, "false", "0", "no"])
def test_sso_disabled_skips(enabled):
    values = dict(OIDC, ARAGORA_SSO_ENABLED=enabled)
    result = run("oauth.sso", sso(values))
    assert result["status"] == "SKIP"
    assert "SSO is not used" in result["message"]


@pytest.mark.parametrize("base, overrides", [
    (OIDC, {}),
    (OIDC, {"ARAGORA_SSO_PROVIDER_TYPE": None}),  # oidc is the default type
    (OIDC, {"ARAGORA_SSO_PROVIDER_TYPE": "Azure_AD"}),
    (OIDC, {"ARAGORA_SSO_ENABLED": "1"}),
    (OIDC, {"ARAGORA_SSO_ISSUER_URL": None, "ARAGORA_SSO_AUTH_ENDPOINT": "https://idp.example.com/auth",
            "ARAGORA_SSO_TOKEN_ENDPOINT": "https://idp.example.com/token"}),
    (SAML, {}),
])
def test_sso_complete_passes(base, overrides):
    result = run("oauth.sso", sso(base, **overrides))
    assert result["status"] == "PASS", result["message"]
    assert "ssosecret" not in str(result)


@pytest.mark.parametrize("base, overrides, words", [
    (OIDC, {"ARAGORA_SSO_CLIENT_SECRET": None}, "ARAGORA_SSO_CLIENT_SECRET missing"),
    (OIDC, {"ARAGORA_SSO_ENTITY_ID": None}, "ARAGORA_SSO_ENTITY_ID missing"),
    (OIDC, {"ARAGORA_SSO_ISSUER_URL": None}, "ARAGORA_SSO_ISSUER_URL (or ARAGORA_SSO_AUTH_ENDPOINT"),
    (OIDC, {"ARAGORA_SSO_ISSUER_URL": None, "ARAGORA_SSO_AUTH_ENDPOINT": "https://idp.example.com/auth"},
     "ARAGORA_SSO_ISSUER_URL (or"),
    (OIDC, {"ARAGORA_SSO_ISSUER_URL": "http://idp.example.com"}, "ARAGORA_SSO_ISSUER_URL is http, not https"),
    (OIDC, {"ARAGORA_SSO_CALLBACK_URL": "https://localhost/cb"}, "ARAGORA_SSO_CALLBACK_URL points at localhost"),
    (SAML, {"ARAGORA_SSO_IDP_CERTIFICATE": None}, "ARAGORA_SSO_IDP_CERTIFICATE missing"),
    (SAML, {"ARAGORA_SSO_IDP_SSO_URL": "http://idp.example.com/sso"}, "ARAGORA_SSO_IDP_SSO_URL is http"),
    (OIDC, {"ARAGORA_SSO_PROVIDER_TYPE": "kerberos"}, "'kerberos' is not supported"),
])
def test_sso_incomplete_fails(base, overrides, words):
    result = run("oauth.sso", sso(base, **overrides))
    assert result["status"] == "FAIL"
    assert words in result["message"]


def test_sso_saml_does_not_need_oidc_settings():
    result = run("oauth.sso", sso(SAML))
    assert "CLIENT_ID" not in result["message"]
    assert result["evidence"]["provider_type"] == "saml"
    assert "ARAGORA_SSO_IDP_SSO_URL" in result["evidence"]["set"]
