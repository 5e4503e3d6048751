# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 1, Security Configuration."""

from __future__ import annotations

import collections
import math
import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._clients import jwt_hs256
from ansible_collections.aragora.ops.plugins.module_utils._checks import secret_shape
from ansible_collections.aragora.ops.plugins.module_utils._checks.common import (
    answered,
    host_of,
    is_json,
    is_local_host,
    split_list,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import (
    EnvFileInfo,
    secret_like,
    service_user,
    user_name,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    failed,
    passed,
    skipped,
    warned,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "1"

# Provider keys the server reads (docs/aragora-2.11.1.md); the first two are the checklist's primary providers.
PRIMARY_PROVIDER_KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")
FALLBACK_PROVIDER_KEYS = ("OPENROUTER_API_KEY",)
OTHER_PROVIDER_KEYS = ("MISTRAL_API_KEY", "GEMINI_API_KEY", "XAI_API_KEY")
PROVIDER_KEYS = PRIMARY_PROVIDER_KEYS + FALLBACK_PROVIDER_KEYS + OTHER_PROVIDER_KEYS


def shannon_bits_per_char(value: str) -> float:
    """Empirical entropy of the characters of ``value``: 0 for 'aaaa', about 4.5-5 for random base64."""
    if not value:
        return 0.0
    total = len(value)
    # 0.0 - ... so that a single repeated character gives 0.0, not -0.0
    return 0.0 - sum(n / total * math.log2(n / total) for n in collections.Counter(value).values())


@check("security.environment_mode", SECTION, "Production environment mode",
       "Set ARAGORA_ENV=production.",
       proves="`ARAGORA_ENV=production`.")
def environment_mode(ctx: TargetContext):
    value = ctx.config.get("ARAGORA_ENV")
    if value == "production":
        return passed("Environment mode is production", ARAGORA_ENV=value)
    if value is None:
        return failed("Environment mode is not set (ARAGORA_ENV unset: the server runs as development)",
                      ARAGORA_ENV=None)
    return failed("Environment mode is %s, not production" % value, ARAGORA_ENV=value)


@check("security.jwt_secret", SECTION, "JWT Secret (32+ chars)",
       "Generate one: python -c \"import secrets; print(secrets.token_urlsafe(48))\" and set ARAGORA_JWT_SECRET "
       "from your secret manager.",
       proves="`ARAGORA_JWT_SECRET` of 32 characters or more, not a placeholder, entropy >= 3.0 bits per character; "
              "the value is never shown.")
def jwt_secret(ctx: TargetContext):
    secret = ctx.config.get("ARAGORA_JWT_SECRET")
    if secret is None:
        return failed("JWT secret is not configured (ARAGORA_JWT_SECRET unset)", length=0)
    min_length = int(ctx.threshold("jwt_secret_min_length"))
    min_entropy = ctx.threshold("jwt_secret_min_entropy_bits")
    entropy = round(shannon_bits_per_char(secret), 2)
    evidence = {"length": len(secret), "min_length": min_length, "entropy_bits_per_char": entropy,
                "distinct_characters": len(set(secret))}
    if len(secret) < min_length:
        return failed("JWT secret is too short (%d chars, needs %d+)" % (len(secret), min_length), **evidence)
    reason = secret_shape.placeholder(secret)
    if reason:
        return failed("JWT secret looks like a placeholder copied from an example: %s" % reason, **evidence)
    if entropy < min_entropy:
        return failed("JWT secret has low entropy (%.2f bits/char, needs %.1f+)" % (entropy, min_entropy), **evidence)
    return passed("JWT secret configured (%d chars)" % len(secret), **evidence)


# Secret-bearing settings judged here; the provider keys are judged by providers.*, the JWT secret above, the
# Sentry DSN's key by monitoring.sentry_dsn: each with secret_shape, the one detector.
SECRET_SETTINGS = ("ARAGORA_API_TOKEN", "ARAGORA_ENCRYPTION_KEY", "ARAGORA_METRICS_TOKEN", "GOOGLE_OAUTH_CLIENT_SECRET",
                   "SUPABASE_KEY")


def judge_secrets(ctx: TargetContext, names: tuple[str, ...]) -> tuple[list[str], list[str], list[str]]:
    """(names set, placeholder reasons, shape reasons) of the settings ``names``; never a value."""
    present, placeholders, shapes = [], [], []
    for name in names:
        value = ctx.config.get(name)
        if value is None:
            continue
        present.append(name)
        verdict = secret_shape.judge(name, value)
        if verdict:
            (placeholders if verdict[0] == "placeholder" else shapes).append(verdict[1])
    return present, placeholders, shapes


@check("security.secret_values", SECTION, "Secrets are generated values, not examples",
       "Replace every example value with one generated for this deployment (python -c \"import secrets; "
       "print(secrets.token_urlsafe(48))\"; ARAGORA_ENCRYPTION_KEY: secrets.token_hex(32)), from the secret manager.",
       proves="API and metrics token, encryption key, OAuth client secret, `SUPABASE_KEY`: a checklist example "
              "(`xxx`, `your-...`, `change-me`) FAILs, a value without its known shape WARNs "
              "(`checks/secret_shape.py`, shared with the provider, JWT and Sentry checks).")
def secret_values(ctx: TargetContext):
    present, placeholders, shapes = judge_secrets(ctx, SECRET_SETTINGS)
    evidence = {"judged": present, "placeholders": placeholders, "unexpected_shapes": shapes}
    if placeholders:
        return failed("; ".join(placeholders), **evidence)
    if shapes:
        return warned("; ".join(shapes), "Check that each value is the one issued for it (not a truncated or "
                      "mistyped copy).", **evidence)
    if not present:
        return skipped("None of %s is set" % ", ".join(SECRET_SETTINGS), **evidence)
    return passed("Secrets have the shape of generated values (%s)" % ", ".join(present), **evidence)


@check("security.api_keys_storage", SECTION, "API keys in secret manager",
       "Move provider API keys out of the plain env file into a secret manager (Kubernetes Secret, Vault, "
       "systemd credentials); until then make the file readable by the service user only (chmod 600).",
       proves="Any secret (secret names, URL passwords) in an env file group/others can read: FAIL; owner neither "
              "root nor the unit's user (`service_user`, or `User=` of `systemd_unit_file`): WARN, and WARN \"could "
              "not be judged\" when the unit's user is unknown; provider keys in a plain file: WARN; on Kubernetes, a "
              "secret in a ConfigMap the Deployment consumes: FAIL naming the ConfigMap and keys.",
       cannot_see="A configuration given as variables only (SKIP).")
def api_keys_storage(ctx: TargetContext):
    ctx.config.require()
    info = ctx.config.env_file
    if info is None:
        if ctx.config.config_map_secrets is not None:  # the Deployment's env, read from the cluster
            return config_map_storage(ctx)
        return skipped("No env file on a host to inspect: provider keys came as variables (vault, AWX survey)")
    in_file = sorted(name for name in PROVIDER_KEYS if ctx.config.file_values.get(name, "").strip())
    # Any secret, not only provider keys: the JWT secret, the encryption key, passwords inside URLs.
    secrets_in_file = sorted(name for name, value in ctx.config.file_values.items() if secret_like(name, value))
    evidence = {"env_file": info.path, "mode": "%04o" % info.mode, "provider_keys_in_file": in_file,
                "secrets_in_file": secrets_in_file, "owner_uid": info.uid, "owner": user_name(info.uid)}
    if secrets_in_file and info.readable_by_others:
        return failed("Env file %s (mode %04o) holds secrets (%s) that %s can read" % (
            info.path, info.mode, ", ".join(secrets_in_file),
            "group and others" if info.mode & 0o044 == 0o044 else "others" if info.mode & 0o004 else "its group"),
            "Make it readable by its owner only: chmod 600 %s (owner root or the service's user); move the "
            "secrets to a secret manager." % info.path, **evidence)
    owner_problem = env_file_owner_problem(ctx, info, evidence) if secrets_in_file else None
    problems = [owner_problem] if owner_problem else []
    if in_file:
        problems.append("Provider API keys held in a plain env file (%s, mode %04o)" % (info.path, info.mode))
    if problems:
        remediation = None
        if owner_problem:
            remediation = ("Give the file to root or to the unit's user (chown root:root %s, or the User= of the "
                           "unit), so that no other account can read or rewrite the secrets; give service_user or "
                           "systemd_unit_file so the owner can be judged." % info.path)
        return warned("; ".join(problems), remediation, **evidence)
    return passed("No provider API key held in the plain env file%s" % (
        " (mode %04o, owner %s: readable by its owner only)" % (info.mode, evidence["owner"])
        if secrets_in_file else ""), **evidence)


def env_file_owner_problem(ctx: TargetContext, info: EnvFileInfo, evidence: dict) -> str | None:
    """Why the owner of an env file that holds secrets is wrong, or could not be judged; None when it is root or
    the user the unit runs as (service_user, else systemd_unit_file's User=)."""
    owner = evidence["owner"]
    if info.uid == 0:
        return None
    user = service_user(ctx.options.service_user, ctx.options.systemd_unit_file)
    evidence.update(service_user=user.name, service_user_source=user.source)
    if user.uid is None:  # never a PASS on a guess: the owner may be any account
        return ("Env file %s holds secrets and is owned by %s (uid %d), not root; the unit's user is unknown (%s), "
                "so the owner could not be judged" % (info.path, owner, info.uid, user.unknown))
    if user.uid == info.uid:
        return None
    return ("Env file %s holds secrets and is owned by %s (uid %d), neither root nor the unit's user %s (%s): that "
            "account can read and rewrite them" % (info.path, owner, info.uid, user.name, user.source))


def config_map_storage(ctx: TargetContext):
    """The Kubernetes equivalent of a plain env file: secret-like values the Deployment reads from a ConfigMap
    (envFrom configMapRef, env valueFrom configMapKeyRef), which anyone who may read ConfigMaps sees, instead of a
    Secret. Never the value: the ConfigMap, its keys and the variables they become."""
    consumed = ctx.config.config_map_secrets or {}
    exposed = {name: ["%s (as %s)" % (key, variable) if key != variable else key for key, variable in sorted(entries)]
               for name, entries in sorted(consumed.items()) if entries}
    evidence = {"config_maps_read": sorted(consumed), "secrets_in_config_maps": exposed,
                "from_secrets": sorted(ctx.config.secret_names)}
    if exposed:
        return failed("Secret-like values are held in ConfigMaps, not Secrets: %s" % "; ".join(
            "ConfigMap %s keys %s" % (name, ", ".join(keys)) for name, keys in sorted(exposed.items())),
            "Move these keys into a Secret (kubectl create secret generic ...) and reference it with secretRef / "
            "secretKeyRef; delete them from the ConfigMap, and rotate them: whoever could read ConfigMaps has "
            "seen them.", **evidence)
    return passed("No secret-like value is read from a ConfigMap (ConfigMaps read: %s; %d variables from Secrets)" % (
        ", ".join(evidence["config_maps_read"]) or "none", len(evidence["from_secrets"])), **evidence)


LOCAL_ORIGIN_PROBE = "http://localhost:3000"


@check("security.cors_origins", SECTION, "CORS origins restricted",
       "Set ARAGORA_ALLOWED_ORIGINS to the production front-end origins only (https://app.example.com), "
       "without localhost, 127.0.0.1 or *.",
       proves="`ARAGORA_ALLOWED_ORIGINS` without localhost/127.0.0.1/`*`, and the live server does not echo a "
              "localhost `Origin`.")
def cors_origins(ctx: TargetContext):
    """Judged on the configuration when there is one, and on what the live server answers a localhost origin."""
    if ctx.client is None:
        ctx.config.require()
    evidence: dict = {}
    problems = []
    live_verdict = False
    if ctx.client is not None:
        probe = answered(ctx.api("health", headers={"Origin": LOCAL_ORIGIN_PROBE}))
        echoed = probe.headers.get("Access-Control-Allow-Origin")
        if probe.ok and is_json(probe):  # an error answer, or a proxy's page, proves nothing about the CORS policy
            live_verdict = True
            evidence["live_probe"] = "Origin %s -> Access-Control-Allow-Origin %s" % (LOCAL_ORIGIN_PROBE, echoed)
        else:
            evidence["live_probe"] = "inconclusive: %s" % probe.describe()
        if echoed in ("*", LOCAL_ORIGIN_PROBE):
            problems.append("the live server allows origin %s" % LOCAL_ORIGIN_PROBE)
    if not live_verdict and not problems and not ctx.config.given:
        return failed("CORS policy could not be judged: no configuration given and the live probe was "
                      "inconclusive", **evidence)
    if ctx.config.given:
        origins = split_list(ctx.config.get("ARAGORA_ALLOWED_ORIGINS"))
        evidence["ARAGORA_ALLOWED_ORIGINS"] = origins or None
        problems += ["ARAGORA_ALLOWED_ORIGINS includes %s" % origin for origin in origins
                     if "*" in origin or is_local_host(host_of(origin))]
        if not origins and not problems:
            return warned("CORS origins not configured (ARAGORA_ALLOWED_ORIGINS unset: the server falls back to "
                          "upstream's aragora.ai origins in production, localhost ones in development)", **evidence)
    if problems:
        return failed("CORS origins not restricted: %s" % "; ".join(problems), **evidence)
    plain_http = [o for o in evidence.get("ARAGORA_ALLOWED_ORIGINS") or [] if o.lower().startswith("http://")]
    if plain_http:
        return warned("CORS origins include plain-http origins: %s" % ", ".join(plain_http),
                      "Serve the front end over https and list its https origin.", **evidence)
    origins = evidence.get("ARAGORA_ALLOWED_ORIGINS")
    return passed("CORS origins restricted%s" % (" to " + ", ".join(origins) if origins else
                                                 " (localhost origin refused by the live server)"), **evidence)


@check("security.https_enforced", SECTION, "TLS/HTTPS enforced",
       "Serve the API over https only: terminate TLS at the proxy or load balancer (or ARAGORA_SSL_ENABLED) and "
       "redirect plain http to https.",
       proves="A verified TLS handshake, and `aragora_http_url` redirects to https.",
       cannot_see="HSTS alone proves nothing: 2.11 sends it over plain HTTP too.")
def https_enforced(ctx: TargetContext):
    """Judged by the scheme and handshake: Aragora sends HSTS on every answer, plain HTTP too, so HSTS proves nothing."""
    observation = answered(ctx.api("health"))
    evidence = {"url": observation.url, "hsts": observation.headers.get("Strict-Transport-Security")}
    if ctx.http_url:
        redirect = ctx.client.get(ctx.http_url, allow_redirects=False)
        if redirect.error:  # the API answered over https: this is the plain-http listener's own fault
            return failed("Plain HTTP redirect could not be verified: %s" % redirect.describe(), **evidence)
        location = redirect.headers.get("Location", "")
        evidence.update(http_url=ctx.http_url, http_status=redirect.status, http_location=location or None)
        if not (300 <= (redirect.status or 0) < 400 and location.lower().startswith("https://")):
            return failed("Plain HTTP is served without a redirect to HTTPS (%s answered %s)"
                          % (ctx.http_url, redirect.status), **evidence)
    if not observation.url.lower().startswith("https://"):
        return failed("API is served over plain HTTP (%s)" % observation.url, **evidence)
    verified = ctx.client.verify is not False
    evidence["certificate_verified"] = verified
    return passed("TLS/HTTPS enforced (TLS handshake%s%s)" % (
        "" if verified else ", certificate not verified: validate_certs is off",
        ", http redirects to https" if ctx.http_url else ""), **evidence)


# What Aragora 2.11.1's limiter reads, and the names the checklist or `aragora deploy validate` use that the server
# never reads (docs/aragora-2.11.1.md, "Rate limiting"): the latter are never the ground for a verdict.
RATE_LIMIT_VARIABLES_READ = ("ARAGORA_DISABLE_ALL_RATE_LIMITS", "ARAGORA_RATE_LIMIT", "ARAGORA_IP_RATE_LIMIT",
                             "ARAGORA_BURST_MULTIPLIER", "ARAGORA_REDIS_URL", "ARAGORA_REDIS_KEY_PREFIX",
                             "ARAGORA_RATE_LIMIT_FAIL_OPEN", "ARAGORA_TRUSTED_PROXIES")
# The switch 2.11.1 does read (server/middleware/rate_limit/default_limiter.py, handlers/utils/rate_limit.py,
# stream/debate_stream_server.py): it turns off the default per-client limiter (public endpoints, /healthz included:
# 30 a minute per IP; 120 per token), the handler limiters and the WebSocket's. Endpoints with a limit of their own
# (the distributed limiter: /api/debates 30 a minute per token) still limit: observed live, docs/aragora-2.11.1.md.
DISABLE_ALL_SWITCH = "ARAGORA_DISABLE_ALL_RATE_LIMITS"
RATE_LIMIT_VARIABLES_IGNORED = ("ARAGORA_DISABLE_RATE_LIMIT", "ARAGORA_RATE_LIMIT_BACKEND")
RATE_PROBE_SUBJECT = "aragora-ops-rate-limit-probe"  # its own token bucket: no user's limit is spent


def _probe_token(ctx: TargetContext) -> str | None:
    """A member token for the limited endpoint: signed with the configuration's ARAGORA_JWT_SECRET, else api_token."""
    secret = ctx.config.get("ARAGORA_JWT_SECRET") if ctx.config.given else None
    if secret:
        subject = "%s-%d" % (RATE_PROBE_SUBJECT, int(time.time()))
        return jwt_hs256.access_token(secret, subject, "rate-probe@aragora-ops.invalid", "member", 120)
    return ctx.api_token


def observe_rate_limiter(ctx: TargetContext, burst: bool) -> dict[str, t.Any] | None:
    """What the live limiter does on the limited endpoint with a token: one request, or (``burst``) up to
    rate_limit_burst_max requests until the first 429. None when no token can be had."""
    token = _probe_token(ctx)
    if ctx.client is None or token is None:
        return None
    path = ctx.endpoints["rate_limited"]
    attempts = int(ctx.threshold("rate_limit_burst_max")) if burst else 1
    headers = {"Authorization": "Bearer " + token}
    accepted = 0
    for _attempt in range(attempts):
        seen = answered(ctx.client.get(path, headers=headers))
        if seen.status == 429:
            return {"endpoint": path, "accepted_before_429": accepted, "limited": True,
                    "x_ratelimit_limit": seen.headers.get("X-RateLimit-Limit"),
                    "retry_after": seen.headers.get("Retry-After")}
        if seen.status != 200:  # another release, or a proxy: no evidence either way
            return {"endpoint": path, "limited": False, "inconclusive": seen.describe()}
        accepted += 1
    return {"endpoint": path, "accepted_before_429": accepted, "limited": False, "burst": burst,
            "x_ratelimit_limit": None}


@check("security.rate_limiting", SECTION, "Rate limiting enabled",
       "Leave ARAGORA_DISABLE_ALL_RATE_LIMITS unset (ARAGORA_DISABLE_RATE_LIMIT is read only by `aragora deploy "
       "validate`): set ARAGORA_RATE_LIMIT and ARAGORA_IP_RATE_LIMIT, and give the server ARAGORA_REDIS_URL so that limits are shared "
       "by all replicas.",
       proves="The live limiter, with a member token of its own (one request; with `rate_limit_burst` a bounded burst "
              "to the first 429); `ARAGORA_DISABLE_ALL_RATE_LIMITS` (read) FAILs, `ARAGORA_DISABLE_RATE_LIMIT` (not "
              "read by the server) changes nothing; a Redis URL for shared limits.",
       cannot_see="`/api/rate-limits/config`: it does not exist on 2.11.")
def rate_limiting(ctx: TargetContext):
    """Judged on what the live server does with a token (2.11.1 sends X-RateLimit-* only with its 429; a bounded
    burst, when rate_limit_burst is on, proves the limit), and on ARAGORA_REDIS_URL for sharing. The checklist's
    /api/rate-limits/config does not exist in 2.11.1."""
    evidence: dict = {"variables_read_by_server": list(RATE_LIMIT_VARIABLES_READ),
                      "variables_ignored_by_server": list(RATE_LIMIT_VARIABLES_IGNORED)}
    if ctx.client is not None:  # the checklist's probe: absent from 2.11.1, kept as evidence
        # No answer at all means the server is out of reach: the live probe below would wait out a second timeout.
        evidence["rate_limits_config_endpoint"] = answered(ctx.api("rate_limits_config")).describe()
    ignored = {name: ctx.config.get(name) for name in RATE_LIMIT_VARIABLES_IGNORED if ctx.config.get(name)}
    if ignored:
        evidence["ignored_but_set"] = ignored
    live = observe_rate_limiter(ctx, bool(ctx.options.rate_limit_burst))
    evidence["live"] = live if live is not None else (
        "not probed: no api_url, or no token (ARAGORA_JWT_SECRET or api_token)")
    switch = ctx.config.get(DISABLE_ALL_SWITCH)
    evidence[DISABLE_ALL_SWITCH] = switch
    if live and not live["limited"] and live.get("burst"):
        return failed("The live server did not limit: %d requests with one token on %s, all answered 200%s"
                      % (live["accepted_before_429"], live["endpoint"], " (%s=%s)" % (DISABLE_ALL_SWITCH, switch)
                         if switch else ""), "Unset %s and restart the server." % DISABLE_ALL_SWITCH, **evidence)
    if (switch or "").lower() in ("1", "true", "yes"):
        still = (" (endpoints with a limit of their own still limit: live %d x 200 then 429 on %s)"
                 % (live["accepted_before_429"], live["endpoint"]) if live and live["limited"] else "")
        return failed("Rate limiting is mostly disabled: %s=%s turns off Aragora 2.11.1's default per-client limiter "
                      "(every public endpoint, and 120 a minute per token elsewhere), the handler limiters and the "
                      "WebSocket's%s" % (DISABLE_ALL_SWITCH, switch, still),
                      "Unset %s (it is meant for load tests) and restart the server." % DISABLE_ALL_SWITCH, **evidence)
    shared = ctx.config.get("ARAGORA_REDIS_URL") is not None
    evidence["ARAGORA_REDIS_URL_set"] = shared
    if live and live["limited"]:
        seen = "the live server limits: %d x 200 then 429 on %s (X-RateLimit-Limit %s, Retry-After %s)" % (
            live["accepted_before_429"], live["endpoint"], live["x_ratelimit_limit"], live["retry_after"])
    else:
        seen = "%s unset, so every limiter is on" % DISABLE_ALL_SWITCH
    note = "; %s set but not read by the server" % ", ".join(sorted(ignored)) if ignored else ""
    if not shared:
        legacy = " (only the legacy REDIS_URL is set, which the limiter does not read)" if ctx.config.get(
            "REDIS_URL") else ""
        return warned("Redis not configured (rate limiting will use in-memory)%s: %s%s" % (legacy, seen, note),
                      **evidence)
    return passed("Rate limiting enabled, shared through Redis (ARAGORA_REDIS_URL): %s%s" % (seen, note), **evidence)


_BLACKLIST_BACKENDS = ("memory", "sqlite", "postgres", "supabase", "redis")


def effective_blacklist_backend(ctx: TargetContext) -> tuple[str, str]:
    """(backend, why): Aragora 2.11 falls back to ARAGORA_DB_BACKEND, which 'auto' resolves from DATABASE_URL."""
    explicit = ctx.config.get("ARAGORA_BLACKLIST_BACKEND")
    if explicit:
        return explicit.lower(), "ARAGORA_BLACKLIST_BACKEND"
    db_backend = (ctx.config.get("ARAGORA_DB_BACKEND") or "auto").lower()
    if db_backend != "auto":
        return db_backend, "ARAGORA_BLACKLIST_BACKEND unset, ARAGORA_DB_BACKEND=%s" % db_backend
    if ctx.config.first("DATABASE_URL", "ARAGORA_POSTGRES_DSN")[1]:
        return "postgres", "ARAGORA_BLACKLIST_BACKEND unset, database backend auto with DATABASE_URL"
    return "sqlite", "ARAGORA_BLACKLIST_BACKEND unset, database backend auto without DATABASE_URL"


@check("security.token_blacklist", SECTION, "Token blacklist backend",
       "Set ARAGORA_BLACKLIST_BACKEND=redis (or sqlite on a single instance) so revoked tokens stay revoked "
       "across restarts and replicas.",
       proves="`ARAGORA_BLACKLIST_BACKEND` redis/sqlite/postgres PASS, memory WARN; unset follows the server's "
              "fallback (`ARAGORA_DB_BACKEND`, `DATABASE_URL`).")
def token_blacklist(ctx: TargetContext):
    backend, why = effective_blacklist_backend(ctx)
    evidence = {"effective": backend, "decided_by": why}
    if backend not in _BLACKLIST_BACKENDS:
        return failed("Token blacklist backend %r is not one of %s" % (backend, ", ".join(_BLACKLIST_BACKENDS)),
                      **evidence)
    if backend == "memory":
        return warned("Token blacklist uses memory: revocations are lost on restart and not shared between replicas",
                      **evidence)
    return passed("Token blacklist backend is %s" % backend, **evidence)
