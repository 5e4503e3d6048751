# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checklist's Post-Launch Smoke Test against the real API contract, as checks of the common schema.

Unlike every readiness check, the smoke test changes something: it creates a debate. Its checks therefore live in a
registry of their own (``SMOKE_CHECKS``), which no readiness run selects, and under check mode they say what they
would do instead of doing it. The steps share their facts, so they run concurrently and still in order: the debate
waits for the token, its completion for the debate.
"""

from __future__ import annotations

import dataclasses
import time
import typing as t
import urllib.parse

from ansible_collections.aragora.ops.plugins.module_utils._clients import jwt_hs256
from ansible_collections.aragora.ops.plugins.module_utils._checks import websocket
from ansible_collections.aragora.ops.plugins.module_utils._checks.common import answered
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import CheckSpec, check
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import HttpObservation
from ansible_collections.aragora.ops.plugins.module_utils._clients.metrics import parse_samples_lenient, with_prefix
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    CheckInputError,
    CheckSkipped,
    failed,
    passed,
    skipped,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "11"
SMOKE_CHECKS: dict[str, CheckSpec] = {}

# The real contract (ARAGORA_CONTRACT.md); every value can be overridden through the module's options.
DEFAULT_DEBATE_BODY: dict[str, t.Any] = {
    "question": "aragora.ops post-launch smoke test: is the service answering?",
    "agents": ["demo", "demo"],
    "rounds": 1,
}


@dataclasses.dataclass(frozen=True)
class SmokeOptions:
    """The smoke test's options (the smoke_test module's own, by the same names), read by its steps as
    ``ctx.smoke``."""

    check_mode: bool = False
    token_source: str = "auto"  # auto | provided | login | sign
    smoke_token: str | None = None
    login_email: str | None = None
    login_password: str | None = None
    login_path: str = "/api/auth/login"
    token_field: str = "tokens.access_token"
    jwt_subject: str = "aragora-ops-smoke"
    jwt_email: str = "smoke@aragora-ops.invalid"
    jwt_role: str = "member"
    jwt_ttl_seconds: int = 900
    debate_path: str = "/api/debates"
    debate_status_path: str = "/api/debates/{id}"
    debate_body: t.Mapping[str, t.Any] = dataclasses.field(default_factory=lambda: dict(DEFAULT_DEBATE_BODY))
    debate_id_field: str = "debate_id"
    debate_status_field: str = "status"
    debate_done_statuses: t.Sequence[str] = ("completed",)
    debate_failed_statuses: t.Sequence[str] = ("failed", "error", "cancelled", "timeout")
    debate_timeout: float = 120.0
    poll_interval: float = 1.0
    max_retry_after: float = 30.0  # seconds the create step may wait in total on 429 Retry-After
    max_retries: int = 3

    @classmethod
    def from_params(cls, params: t.Mapping[str, t.Any], check_mode: bool) -> SmokeOptions:
        """The options among ``params`` (None keeps the default), in check mode or not."""
        names = [field.name for field in dataclasses.fields(cls) if field.name != "check_mode"]
        return cls(check_mode=check_mode, **{name: params[name] for name in names if params.get(name) is not None})


# The checklist's own body, which Aragora 2.11 answers with 422.
CHECKLIST_ONLY_FIELDS = ("topic", "max_rounds")


def _dig(data: t.Any, dotted: str) -> t.Any:
    for key in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _error_text(observation: HttpObservation) -> str:
    try:
        body = observation.json()
    except ValueError:
        return observation.text[:200]
    if isinstance(body, dict):
        for key in ("error", "detail", "message", "errors"):
            if body.get(key):
                return str(body[key])[:300]
    return str(body)[:300]


def _post(ctx: TargetContext, path: str, body: t.Any, token: str | None = None) -> HttpObservation:
    if ctx.client is None:
        raise CheckSkipped("no API URL given (api_url)")
    headers = {"Authorization": "Bearer " + token} if token else {}
    return ctx.client.request("POST", path, headers=headers, json_body=body)


def _get(ctx: TargetContext, path: str, token: str | None) -> HttpObservation:
    headers = {"Authorization": "Bearer " + token} if token else {}
    return ctx.client.get(path, headers=headers)


# --- token ------------------------------------------------------------------------------------------------------

def _token_plan(ctx: TargetContext) -> str:
    """Which way the token is had: provided, login, sign (or none: the API asks for none, development mode)."""
    source = ctx.smoke.token_source
    if source != "auto":
        return source
    if ctx.smoke.smoke_token:
        return "provided"
    if ctx.smoke.login_email and ctx.smoke.login_password:
        return "login"
    if ctx.config.given and ctx.config.get("ARAGORA_JWT_SECRET"):
        return "sign"
    return "none"


def _obtain_token(ctx: TargetContext) -> tuple[str | None, dict[str, t.Any]]:
    plan = _token_plan(ctx)
    if plan == "provided":
        if not ctx.smoke.smoke_token:
            raise CheckInputError("token_source is provided but no token was given (smoke_token)")
        return ctx.smoke.smoke_token, {"source": "provided"}
    if plan == "login":
        email, password = ctx.smoke.login_email, ctx.smoke.login_password
        if not (email and password):
            raise CheckInputError("token_source is login but login_email/login_password are not both given")
        observation = answered(_post(ctx, ctx.smoke.login_path, {"email": email, "password": password}))
        evidence = {"source": "login", "url": observation.url, "http_status": observation.status, "email": email}
        if not observation.ok:
            raise CheckInputError("login as %s failed: %s: %s%s" % (
                email, observation.describe(), _error_text(observation),
                " (Aragora 2.11.1 with PostgreSQL answers 500 to every login: use a provided or signed token)"
                if observation.status == 500 else ""))
        try:
            token = _dig(observation.json(), ctx.smoke.token_field)
        except ValueError as exc:
            raise CheckInputError(str(exc)) from None
        if not token:
            raise CheckInputError("%s: no token at %s in the answer"
                                  % (observation.describe(), ctx.smoke.token_field))
        return str(token), evidence
    if plan == "sign":
        secret = ctx.config.get("ARAGORA_JWT_SECRET")
        if not secret:
            raise CheckInputError("token_source is sign but ARAGORA_JWT_SECRET is not in the configuration "
                                  "(env_file or config)")
        token = jwt_hs256.access_token(secret, ctx.smoke.jwt_subject, ctx.smoke.jwt_email,
                                       ctx.smoke.jwt_role, int(ctx.smoke.jwt_ttl_seconds))
        return token, {"source": "signed with ARAGORA_JWT_SECRET from %s" % ", ".join(ctx.config.sources),
                       "role": ctx.smoke.jwt_role, "ttl_seconds": int(ctx.smoke.jwt_ttl_seconds)}
    if plan == "none":
        return None, {"source": "none"}
    raise CheckInputError("token_source must be auto, provided, login or sign, not %r" % plan)


def token(ctx: TargetContext) -> str | None:
    return ctx.fact("smoke.token", lambda: _obtain_token(ctx))[0]


@check("smoke.token", SECTION, "Test token obtained",
       "Give the smoke test a way to authenticate: a token (smoke_token), credentials of a test user (login_email, "
       "login_password, from vault or an AWX credential), or the server's env file so it signs a short-lived member "
       "token with ARAGORA_JWT_SECRET.", registry=SMOKE_CHECKS,
       proves="A given token; else a login (credentials from vault/AWX); else a member JWT signed on the host with "
              "`ARAGORA_JWT_SECRET`.")
def token_check(ctx: TargetContext):
    plan = _token_plan(ctx)
    if ctx.smoke.check_mode and plan == "login":
        return skipped("Check mode: would log in as %s at %s" % (ctx.smoke.login_email, ctx.smoke.login_path))
    value, evidence = ctx.fact("smoke.token", lambda: _obtain_token(ctx))
    if value is None:
        return passed("No token: none was given, no credentials and no JWT secret; the API is called without one "
                      "(development mode needs none)", **evidence)
    return passed("Token obtained (%s)" % evidence["source"], **evidence)


# --- the debate -------------------------------------------------------------------------------------------------

def _create(ctx: TargetContext) -> dict[str, t.Any]:
    """POST the debate, waiting out 429 Retry-After within max_retry_after; the answer and what it cost."""
    body = ctx.smoke.debate_body
    bearer = token(ctx)
    waited, attempts = 0.0, []
    while True:
        observation = answered(_post(ctx, ctx.smoke.debate_path, body, bearer))
        attempts.append(observation.status)
        if observation.status != 429:
            return {"observation": observation, "attempts": attempts, "waited_s": round(waited, 1)}
        retry_after = _retry_after(observation)
        if len(attempts) > int(ctx.smoke.max_retries) or waited + retry_after > float(ctx.smoke.max_retry_after):
            return {"observation": observation, "attempts": attempts, "waited_s": round(waited, 1),
                    "retry_after": retry_after}
        time.sleep(retry_after)
        waited += retry_after


def _retry_after(observation: HttpObservation) -> float:
    value = (observation.headers or {}).get("Retry-After")
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 1.0  # no usable header (Aragora's token-level 429 sends none): a second, then try again


def created(ctx: TargetContext) -> dict[str, t.Any]:
    return ctx.fact("smoke.create", lambda: _create(ctx))


@check("smoke.create_debate", SECTION, "Create a test debate",
       "Send the body the server's contract asks for (debate_body; Aragora 2.11: question, agents, rounds) with a "
       "token of a role that may create debates.", registry=SMOKE_CHECKS,
       proves="`POST /api/debates` with 2.11.1's `{\"question\",\"agents\",\"rounds\"}`; the checklist's "
              "`topic`/`max_rounds` gets 422 and the FAIL says so; 429 waited out by `Retry-After` within "
              "`max_retry_after`.")
def create_debate(ctx: TargetContext):
    body = ctx.smoke.debate_body
    if ctx.smoke.check_mode:
        return skipped("Check mode: would POST %s to %s and follow the debate until %s (at most %g s); nothing was "
                       "created" % (_describe_body(body), ctx.smoke.debate_path,
                                    "/".join(ctx.smoke.debate_done_statuses), ctx.smoke.debate_timeout),
                       body=body)
    outcome = created(ctx)
    observation = outcome["observation"]
    evidence = {"url": observation.url, "http_status": observation.status, "attempts": outcome["attempts"],
                "waited_for_rate_limit_s": outcome["waited_s"], "body": body}
    if observation.status == 429:
        return failed("Debate creation rate-limited: 429 %d time(s), Retry-After %gs would exceed the %g s allowed "
                      "(max_retry_after)" % (len(outcome["attempts"]), outcome["retry_after"],
                                             ctx.smoke.max_retry_after),
                      "Wait for the limit to pass (Aragora 2.11 allows 5 creates a minute) or raise max_retry_after.",
                      retry_after=outcome["retry_after"], **evidence)
    if observation.status in (400, 422):
        stale = [key for key in CHECKLIST_ONLY_FIELDS if isinstance(body, dict) and key in body]
        hint = (" The body uses the checklist's %s, which Aragora 2.11 rejects: it wants {\"question\", \"agents\", "
                "\"rounds\"}." % "/".join(stale)) if stale else ""
        return failed("Server rejected the debate body (%d): %s.%s"
                      % (observation.status, _error_text(observation), hint),
                      "Fix debate_body to the server's contract (Aragora 2.11: question, agents such as [demo, demo] "
                      "or configured providers, rounds).", error=_error_text(observation), **evidence)
    if observation.status in (401, 403):
        return failed("Debate creation refused (%d): %s" % (observation.status, _error_text(observation)),
                      "The token is not accepted: check its source (a signed token needs the server's "
                      "ARAGORA_JWT_SECRET) and that its role may create debates.", **evidence)
    if observation.status == 402:
        return failed("Debate creation refused (402): the monthly quota is spent", "Raise the organisation's quota.",
                      **evidence)
    if not observation.ok:
        return failed("Debate creation failed: %s: %s" % (observation.describe(), _error_text(observation)),
                      **evidence)
    debate_id = _debate_id(ctx, observation)
    evidence["debate_id"] = debate_id
    waited = " after waiting %gs for the rate limit" % outcome["waited_s"] if outcome["waited_s"] else ""
    return passed("Created debate %s%s" % (debate_id, waited), **evidence)


def _describe_body(body: t.Any) -> str:
    if isinstance(body, dict):
        return "{%s}" % ", ".join(sorted(body))
    return type(body).__name__


def _debate_id(ctx: TargetContext, observation: HttpObservation) -> str:
    try:
        debate_id = _dig(observation.json(), ctx.smoke.debate_id_field)
    except ValueError as exc:
        raise CheckInputError(str(exc)) from None
    if not debate_id:
        raise CheckInputError("%s: no %s in the answer: %s" % (observation.describe(), ctx.smoke.debate_id_field,
                                                               observation.text[:200]))
    return str(debate_id)


@check("smoke.debate_completes", SECTION, "Test debate completes",
       "Find why debates do not finish: the server log, the agents' providers (keys, quotas, circuit breakers), "
       "ARAGORA_AGENT_TIMEOUT and ARAGORA_MAX_CONCURRENT_DEBATES.", registry=SMOKE_CHECKS,
       proves="`GET /api/debates/{id}` until `completed` (PASS) or `failed`/`error`/`cancelled`/`timeout` (FAIL), "
              "within `debate_timeout`.")
def debate_completes(ctx: TargetContext):
    if ctx.smoke.check_mode:
        return skipped("Check mode: no debate was created, so none is followed")
    observation = created(ctx)["observation"]
    if not observation.ok:
        raise CheckSkipped("no debate was created (see smoke.create_debate)")
    debate_id = _debate_id(ctx, observation)
    path = ctx.smoke.debate_status_path.replace("{id}", urllib.parse.quote(debate_id, safe=""))
    done, failed_statuses = set(ctx.smoke.debate_done_statuses), set(ctx.smoke.debate_failed_statuses)
    timeout, interval = float(ctx.smoke.debate_timeout), float(ctx.smoke.poll_interval)
    started = time.monotonic()
    seen: list[str] = []
    last = None
    while True:
        last = answered(_get(ctx, path, token(ctx)))
        status = None
        if last.status == 200:
            try:
                status = _dig(last.json(), ctx.smoke.debate_status_field)
            except ValueError:
                status = None
        label = str(status) if status is not None else "HTTP %s" % last.status
        if not seen or seen[-1] != label:
            seen.append(label)
        elapsed = time.monotonic() - started
        evidence = {"debate_id": debate_id, "url": last.url, "statuses_seen": seen, "elapsed_s": round(elapsed, 1),
                    "timeout_s": timeout}
        if status in done:
            return passed("Debate %s %s in %.1f s (%s)" % (debate_id, status, elapsed, " -> ".join(seen)), **evidence)
        if status in failed_statuses:
            return failed("Debate %s ended %s after %.1f s: %s" % (debate_id, status, elapsed,
                                                                   _error_text(last)), **evidence)
        if last.status in (401, 403, 404):
            return failed("Debate %s cannot be read: %s" % (debate_id, last.describe()), **evidence)
        if elapsed + interval > timeout:
            return failed("Debate %s did not finish within %g s (last status %s)" % (debate_id, timeout, label),
                          "The debate is stuck or slow: read the server log for it; raise debate_timeout if the "
                          "agents are slow by design.", **evidence)
        time.sleep(interval)


# --- WebSocket and metrics --------------------------------------------------------------------------------------

@check("smoke.websocket", SECTION, "WebSocket connects and sends its first message",
       "Make the WebSocket listener reachable with the subprotocol aragora-v1 and the front end's Origin allowed.",
       registry=SMOKE_CHECKS,
       proves="The `websocket.connectivity` probe (subprotocol `aragora-v1`, first message `connection_info`).")
def websocket_first_message(ctx: TargetContext):
    return websocket.connectivity(ctx)


@check("smoke.metrics", SECTION, "Metrics endpoint answers",
       "Make /metrics answer (with metrics_token when ARAGORA_METRICS_TOKEN is set).", registry=SMOKE_CHECKS,
       proves="`/metrics` answers 200 with `aragora_` samples.")
def metrics_answer(ctx: TargetContext):
    observation = answered(ctx.api("metrics", token=ctx.metrics_token))
    evidence = {"url": observation.url, "http_status": observation.status}
    if observation.status != 200:
        return failed("Metrics endpoint: %s" % observation.describe(), **evidence)
    samples, rejected = parse_samples_lenient(observation.text)
    ours = with_prefix(samples, "aragora_")
    evidence.update(samples=len(samples), aragora_samples=len(ours), unreadable_lines=rejected[:3])
    if not ours:
        return failed("Metrics endpoint answers but exposes no aragora_ series", **evidence)
    return passed("Metrics endpoint: OK (%d aragora_ samples)" % len(ours), **evidence)
