# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 7, OAuth & Authentication."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._checks.common import host_of, is_local_host, split_list, url_parts
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import IntSetting
from ansible_collections.aragora.ops.plugins.module_utils._checks.limits import judge_int_setting
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import CheckSkipped, failed, passed
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "7"
OAUTH_VARIABLES = ("GOOGLE_OAUTH_CLIENT_ID", "GOOGLE_OAUTH_CLIENT_SECRET", "GOOGLE_OAUTH_REDIRECT_URI",
                   "OAUTH_SUCCESS_URL", "OAUTH_ERROR_URL", "OAUTH_ALLOWED_REDIRECT_HOSTS")
JWT_EXPIRY = IntSetting("ARAGORA_JWT_EXPIRY_HOURS", 24, 1, 168)
# What Aragora 2.11.1 allows when OAUTH_ALLOWED_REDIRECT_HOSTS is unset (handlers/oauth/config.py,
# docs/aragora-2.11.1.md "OAuth").
FALLBACK_HOSTS = {"production": ("aragora.ai", "www.aragora.ai", "api.aragora.ai"),
                  "development": ("localhost", "127.0.0.1")}


def allowed_redirect_hosts(ctx: TargetContext) -> tuple[list[str], str]:
    """(the hosts the server allows, where they come from): the variable, else the server's own fallback."""
    hosts = [host.lower() for host in split_list(ctx.config.get("OAUTH_ALLOWED_REDIRECT_HOSTS"))]
    if hosts:
        return hosts, "OAUTH_ALLOWED_REDIRECT_HOSTS"
    mode = "production" if (ctx.config.get("ARAGORA_ENV") or "").lower() == "production" else "development"
    return list(FALLBACK_HOSTS[mode]), "OAUTH_ALLOWED_REDIRECT_HOSTS unset: the server's %s fallback" % mode


def host_allowed(host: str, allowed: list[str]) -> bool:
    """As the server decides (handlers/oauth/validation.py): the host itself, or a subdomain of an allowed host."""
    host = host.lower()
    return any(host == entry or host.endswith("." + entry) for entry in allowed)


def _require_oauth(ctx: TargetContext) -> None:
    if not any(ctx.config.get(name) for name in OAUTH_VARIABLES):
        raise CheckSkipped("OAuth login is not configured (none of %s is set)" % ", ".join(OAUTH_VARIABLES[:3]))


def _url_problem(name: str, value: str | None, schemes: tuple[str, ...] = ("https",)) -> str | None:
    """Why the URL in ``name`` is not fit for production, or None."""
    if value is None:
        return "%s is not set" % name
    parts = url_parts(value)
    if parts is None:
        return "%s is not an absolute URL" % name
    if parts.scheme.lower() not in schemes:
        return "%s is %s, not %s" % (name, parts.scheme, "/".join(schemes))
    if is_local_host(parts.hostname):
        return "%s points at %s" % (name, parts.hostname)
    return None


@check("oauth.redirect_urls", SECTION, "OAuth redirect URLs set",
       "Set GOOGLE_OAUTH_REDIRECT_URI (https://API_HOST/api/auth/oauth/google/callback), OAUTH_SUCCESS_URL and "
       "OAUTH_ERROR_URL to https URLs whose hosts are listed in OAUTH_ALLOWED_REDIRECT_HOSTS.",
       proves="`GOOGLE_OAUTH_REDIRECT_URI`, `OAUTH_SUCCESS_URL`, `OAUTH_ERROR_URL` are https, not local, on hosts in "
              "`OAUTH_ALLOWED_REDIRECT_HOSTS`.",
       cannot_see="A server without OAuth configured (SKIP).")
def redirect_urls(ctx: TargetContext):
    _require_oauth(ctx)
    allowed, source = allowed_redirect_hosts(ctx)
    names = ("GOOGLE_OAUTH_REDIRECT_URI", "OAUTH_SUCCESS_URL", "OAUTH_ERROR_URL")
    urls = {name: ctx.config.get(name) for name in names}
    problems = [problem for name in names for problem in [_url_problem(name, urls[name])] if problem]
    refused = [(name, host_of(url)) for name, url in urls.items()
               if url and url_parts(url) and not host_allowed(host_of(url), allowed)]
    problems += ["%s host %s is not an allowed redirect host (%s: %s)" % (name, host, source, ", ".join(allowed))
                 for name, host in refused]
    evidence = dict(urls)
    evidence["allowed_hosts"] = allowed
    evidence["allowed_hosts_from"] = source
    if problems:
        return failed("OAuth redirect URLs not production-ready: %s" % "; ".join(problems), **evidence)
    return passed("OAuth redirect URLs are https and on allowed hosts", **evidence)


@check("oauth.allowed_hosts", SECTION, "Allowed hosts configured",
       "Set OAUTH_ALLOWED_REDIRECT_HOSTS to the production host names only (yourdomain.com,api.yourdomain.com); "
       "the server also allows their subdomains.",
       proves="`OAUTH_ALLOWED_REDIRECT_HOSTS` set, without localhost or wildcards; unset FAILs naming the server's "
              "fallback (aragora.ai hosts in production); redirect URLs may be on subdomains, as the server allows.")
def allowed_hosts(ctx: TargetContext):
    _require_oauth(ctx)
    hosts = split_list(ctx.config.get("OAUTH_ALLOWED_REDIRECT_HOSTS"))
    if not hosts:
        fallback, source = allowed_redirect_hosts(ctx)
        return failed("OAUTH_ALLOWED_REDIRECT_HOSTS is not set: Aragora 2.11.1 falls back to %s (%s), not your "
                      "hosts" % (", ".join(fallback), source.split(": ", 1)[-1]), hosts=[], server_allows=fallback)
    bad = [host for host in hosts if "*" in host or is_local_host(host_of(host))]
    if bad:
        return failed("OAuth allowed hosts include %s" % ", ".join(bad), hosts=hosts)
    return passed("OAuth allowed hosts: %s" % ", ".join(hosts), hosts=hosts)


@check("oauth.session_timeout", SECTION, "Session timeout reasonable",
       "Set ARAGORA_JWT_EXPIRY_HOURS between 1 and 168 (the checklist's maximum).",
       proves="`ARAGORA_JWT_EXPIRY_HOURS` within 1-168 (unset: the server's 24 h).")
def session_timeout(ctx: TargetContext):
    setting = IntSetting(JWT_EXPIRY.name, JWT_EXPIRY.default, JWT_EXPIRY.minimum,
                         int(ctx.threshold("jwt_expiry_max_hours")))
    outcome = judge_int_setting(ctx, setting, "Session timeout", " h")
    if outcome.status == "WARN":  # unset: the server's own default of 24 h is reasonable
        return passed("Session timeout is %d h (server default)" % JWT_EXPIRY.default, **outcome.evidence)
    return outcome


@check("oauth.frontend_urls", SECTION, "Frontend URLs",
       "Set NEXT_PUBLIC_API_URL=https://API_HOST and NEXT_PUBLIC_WS_URL=wss://API_HOST for the production front end.",
       proves="`NEXT_PUBLIC_API_URL` is https and `NEXT_PUBLIC_WS_URL` wss, not local.",
       cannot_see="A configuration without the front end's (SKIP).")
def frontend_urls(ctx: TargetContext):
    names = {"NEXT_PUBLIC_API_URL": ("https",), "NEXT_PUBLIC_WS_URL": ("wss",)}
    urls = {name: ctx.config.get(name) for name in names}
    if not any(urls.values()):
        raise CheckSkipped("Front-end URLs are not part of this configuration (NEXT_PUBLIC_API_URL, NEXT_PUBLIC_WS_URL "
                           "unset); check them where the front end is built")
    problems = [problem for name, schemes in names.items() for problem in [_url_problem(name, urls[name], schemes)]
                if problem]
    if problems:
        return failed("Front-end URLs not production-ready: %s" % "; ".join(problems), **urls)
    return passed("Front-end URLs point at %s" % ", ".join(sorted({host_of(url) for url in urls.values()})), **urls)


# Aragora 2.11 SSO settings (prefix ARAGORA_SSO_): what each provider type needs, and which of them are URLs.
SSO_COMMON = ("ARAGORA_SSO_ENTITY_ID", "ARAGORA_SSO_CALLBACK_URL")
SSO_REQUIRED = {
    "oidc": ("ARAGORA_SSO_CLIENT_ID", "ARAGORA_SSO_CLIENT_SECRET"),
    "saml": ("ARAGORA_SSO_IDP_ENTITY_ID", "ARAGORA_SSO_IDP_SSO_URL", "ARAGORA_SSO_IDP_CERTIFICATE"),
}
SSO_PROVIDER_FAMILY = {"oidc": "oidc", "azure_ad": "oidc", "okta": "oidc", "google": "oidc", "saml": "saml"}
SSO_URLS = ("ARAGORA_SSO_CALLBACK_URL", "ARAGORA_SSO_ISSUER_URL", "ARAGORA_SSO_AUTH_ENDPOINT",
            "ARAGORA_SSO_TOKEN_ENDPOINT", "ARAGORA_SSO_USERINFO_ENDPOINT", "ARAGORA_SSO_JWKS_URI",
            "ARAGORA_SSO_IDP_SSO_URL", "ARAGORA_SSO_IDP_SLO_URL")


@check("oauth.sso", SECTION, "SSO configured (if used)",
       "Complete the ARAGORA_SSO_* settings for the provider type (see Aragora's SSO_SETUP.md) with https URLs.",
       proves="When `ARAGORA_SSO_ENABLED`: the provider type's required `ARAGORA_SSO_*` settings are present and "
              "their URLs https.",
       cannot_see="A server without SSO (SKIP).")
def sso(ctx: TargetContext):
    enabled = (ctx.config.get("ARAGORA_SSO_ENABLED") or "false").lower() in ("1", "true", "yes", "on")
    if not enabled:
        raise CheckSkipped("SSO is not used (ARAGORA_SSO_ENABLED is not true)")
    provider = (ctx.config.get("ARAGORA_SSO_PROVIDER_TYPE") or "oidc").lower()
    family = SSO_PROVIDER_FAMILY.get(provider)
    evidence = {"provider_type": provider}
    if family is None:
        return failed("SSO provider type %r is not supported (one of %s)" % (provider, ", ".join(SSO_PROVIDER_FAMILY)),
                      **evidence)
    required = SSO_COMMON + SSO_REQUIRED[family]
    missing = [name for name in required if not ctx.config.get(name)]
    if family == "oidc" and not ctx.config.get("ARAGORA_SSO_ISSUER_URL") and not (
            ctx.config.get("ARAGORA_SSO_AUTH_ENDPOINT") and ctx.config.get("ARAGORA_SSO_TOKEN_ENDPOINT")):
        missing.append("ARAGORA_SSO_ISSUER_URL (or ARAGORA_SSO_AUTH_ENDPOINT and ARAGORA_SSO_TOKEN_ENDPOINT)")
    problems = ["%s missing" % name for name in missing]
    problems += [problem for name in SSO_URLS if ctx.config.get(name)
                 for problem in [_url_problem(name, ctx.config.get(name))] if problem]
    evidence["set"] = sorted(name for name in required + SSO_URLS if ctx.config.get(name))
    if problems:
        return failed("SSO (%s) incomplete: %s" % (provider, "; ".join(problems)), **evidence)
    return passed("SSO (%s) configured with https URLs" % provider, **evidence)
