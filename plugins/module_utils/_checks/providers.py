# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 8, API Provider Configuration."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._engine.causes import CREDENTIALS, CouldNotJudge
from ansible_collections.aragora.ops.plugins.module_utils._checks.common import json_object
from ansible_collections.aragora.ops.plugins.module_utils._checks.limits import judge_int_setting
from ansible_collections.aragora.ops.plugins.module_utils._checks.monitoring import scrape
from ansible_collections.aragora.ops.plugins.module_utils._checks.security import (
    FALLBACK_PROVIDER_KEYS,
    OTHER_PROVIDER_KEYS,
    PRIMARY_PROVIDER_KEYS,
    judge_secrets,
)
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import HttpClient
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import IntSetting
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    CheckInputError,
    Outcome,
    failed,
    passed,
    warned,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "8"
AGENT_TIMEOUT = IntSetting("ARAGORA_AGENT_TIMEOUT", 240, 30, 1200)
# The checklist's name for it; Aragora 2.11 reads it nowhere.
LEGACY_AGENT_TIMEOUT = "ARAGORA_AGENT_TIMEOUT_SECONDS"
BREAKER_METRIC = "aragora_agent_circuit_breaker_state"
# Gauge values of BREAKER_METRIC, as Aragora's circuit breaker exports them.
BREAKER_STATES = {0.0: "closed", 1.0: "open", 2.0: "half-open"}


# The optional live probe (option provider_probe): each provider's cheapest authenticated read, which answers
# 401/403 (Gemini: 400 API_KEY_INVALID) to a key it does not accept. Base URLs can be changed (provider_api_urls).
PROVIDER_API = {
    "ANTHROPIC_API_KEY": ("anthropic", "https://api.anthropic.com", "/v1/models"),
    "OPENAI_API_KEY": ("openai", "https://api.openai.com", "/v1/models"),
    "OPENROUTER_API_KEY": ("openrouter", "https://openrouter.ai", "/api/v1/key"),  # its /models needs no key
    "MISTRAL_API_KEY": ("mistral", "https://api.mistral.ai", "/v1/models"),
    "GEMINI_API_KEY": ("gemini", "https://generativelanguage.googleapis.com", "/v1beta/models"),
    "XAI_API_KEY": ("xai", "https://api.x.ai", "/v1/models"),
}
PLACEHOLDER_REMEDIATION = ("Put the key the provider issued (from its console, through the secret manager) in place "
                           "of the example value; without a real key that provider's agents fail every call.")


def _auth_headers(name: str, key: str) -> dict[str, str]:
    if name == "ANTHROPIC_API_KEY":
        return {"x-api-key": key, "anthropic-version": "2023-06-01"}
    if name == "GEMINI_API_KEY":
        return {"x-goog-api-key": key}  # a header, so that the key is never part of a URL in the evidence
    return {"Authorization": "Bearer " + key}


def probe_provider_key(ctx: TargetContext, name: str) -> tuple[str, str]:
    """('accepted' | 'rejected' | 'unknown', what was seen) for the key in ``name``, asked of its provider once."""
    provider, default_base, path = PROVIDER_API[name]
    base = (ctx.options.provider_api_urls or {}).get(provider) or default_base

    def ask() -> tuple[str, str]:
        client = HttpClient(base, timeout=ctx.timeout)
        seen = client.get(path, headers=_auth_headers(name, ctx.config.get(name) or ""))
        rejected = (401, 403, 400) if name == "GEMINI_API_KEY" else (401, 403)
        if seen.error:
            return "unknown", seen.describe()
        if seen.status in rejected:
            return "rejected", seen.describe()
        if seen.ok:
            return "accepted", seen.describe()
        return "unknown", seen.describe()

    return ctx.fact(("provider_probe", name), ask)


def judge_provider_keys(ctx: TargetContext, names: tuple[str, ...], role: str) -> tuple[list[str], Outcome | None]:
    """(usable key names, the outcome when a set key is a placeholder, has the wrong shape or is refused live)."""
    present, placeholders, shapes = judge_secrets(ctx, names)
    evidence: dict[str, t.Any] = {"%s_keys_set" % role: present}
    if placeholders:
        return [], failed("; ".join(placeholders), PLACEHOLDER_REMEDIATION, **evidence)
    if ctx.options.provider_probe and present:
        answers = {name: probe_provider_key(ctx, name) for name in present}
        evidence["live_probe"] = {name: seen for name, (_verdict, seen) in answers.items()}
        rejected = [name for name, (verdict, _seen) in answers.items() if verdict == "rejected"]
        unknown = [name for name, (verdict, _seen) in answers.items() if verdict == "unknown"]
        if rejected:
            return [], failed("The provider refuses %s (%s)" % (", ".join(rejected), "; ".join(
                answers[name][1] for name in rejected)), PLACEHOLDER_REMEDIATION, **evidence)
        if unknown:
            return present, warned("Whether the provider accepts %s is unknown: %s" % (", ".join(unknown), "; ".join(
                answers[name][1] for name in unknown)), "Check that the hosts running Aragora reach the provider's "
                "API (egress, proxy, DNS); the probe asks it from the host running the checks.", **evidence)
    if shapes:
        return present, warned("; ".join(shapes), "Check that the value is the key the provider issued, whole "
                               "(not truncated or pasted into the wrong variable).", **evidence)
    return present, None


@check("providers.primary", SECTION, "Primary provider configured",
       "Set ANTHROPIC_API_KEY or OPENAI_API_KEY (from the secret manager); without one the server runs demo "
       "agents only.",
       proves="`ANTHROPIC_API_KEY` or `OPENAI_API_KEY`; WARN when only another provider the server accepts is set; a "
              "placeholder key FAILs, a key of another shape WARNs; `provider_probe` asks the provider (401/403 "
              "FAIL).",
       cannot_see="Whether a key works, without `provider_probe`.")
def primary(ctx: TargetContext):
    primary_keys, problem = judge_provider_keys(ctx, PRIMARY_PROVIDER_KEYS, "primary")
    other_keys, other_problem = judge_provider_keys(ctx, OTHER_PROVIDER_KEYS, "other")
    evidence = {"primary_keys_set": _set_keys(ctx, PRIMARY_PROVIDER_KEYS),
                "other_keys_set": _set_keys(ctx, OTHER_PROVIDER_KEYS)}
    worst = max((o for o in (problem, other_problem) if o), key=lambda o: o.status == "FAIL", default=None)
    if worst is not None:
        worst.evidence.update(evidence)
        return worst
    probed = " (accepted by the provider)" if ctx.options.provider_probe else ""
    if primary_keys:
        return passed("Primary provider configured (%s)%s" % (", ".join(primary_keys), probed), **evidence)
    if other_keys:
        return warned("No checklist primary provider, but %s is set (the server accepts it)" % ", ".join(other_keys),
                      **evidence)
    return failed("No primary AI provider configured (neither %s is set)" % " nor ".join(PRIMARY_PROVIDER_KEYS),
                  **evidence)


def _set_keys(ctx: TargetContext, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if ctx.config.get(name)]


@check("providers.fallback", SECTION, "Fallback provider configured",
       "Set OPENROUTER_API_KEY so debates continue when a primary provider's quota is exhausted.",
       proves="`OPENROUTER_API_KEY`; WARN when absent.")
def fallback(ctx: TargetContext):
    keys, problem = judge_provider_keys(ctx, FALLBACK_PROVIDER_KEYS, "fallback")
    if problem is not None:
        return problem
    if keys:
        return passed("Fallback provider configured (%s)%s" % (", ".join(keys), " (accepted by the provider)"
                                                               if ctx.options.provider_probe else ""),
                      fallback_keys_set=keys)
    return warned("No fallback provider (OPENROUTER_API_KEY unset): quota exhaustion stops debates",
                  fallback_keys_set=keys)


@check("providers.circuit_breakers", SECTION, "Circuit breakers enabled",
       "An agent's circuit breaker is open: check that provider's key, quota and status page; breakers close on "
       "their own once calls succeed again.",
       proves="No breaker open, read from `/api/admin/system-health/circuit-breakers` with `api_token`, else "
              "`aragora_agent_circuit_breaker_state` in `/metrics` (0 closed, 1 open, 2 half-open).",
       cannot_see="`/api/agents/circuit-breakers`: it does not exist on 2.11.")
def circuit_breakers(ctx: TargetContext):
    states = _breakers_from_admin_api(ctx) if ctx.api_token else None
    source = ctx.endpoints["circuit_breakers"]
    if states is None:
        samples = scrape(ctx)[1]
        states = {sample.labels.get("agent_type", "?"): BREAKER_STATES.get(sample.value, str(sample.value))
                  for sample in samples if sample.name == BREAKER_METRIC}
        source = "%s (%s)" % (ctx.endpoints["metrics"], BREAKER_METRIC)
    open_ = sorted(name for name, state in states.items() if state == "open")
    half_open = sorted(name for name, state in states.items() if state == "half-open")
    evidence = {"source": source, "breakers": len(states), "open": open_, "half_open": half_open}
    if open_:
        return failed("Circuit breakers open: %s" % ", ".join(open_), **evidence)
    if half_open:
        return warned("Circuit breakers half-open (recovering): %s" % ", ".join(half_open), **evidence)
    if not states:
        # Aragora registers an agent's breaker on its first call: none yet proves the breakers are not open, not
        # that any provider has been called.
        return passed("No circuit breaker registered yet (one appears per agent once it is used): none is open, "
                      "which says nothing yet about the providers", **evidence)
    return passed("Circuit breakers open: 0 of %d (%s)" % (len(states), ", ".join(sorted(states))), **evidence)


def _breakers_from_admin_api(ctx: TargetContext) -> dict[str, str]:
    observation = ctx.api("circuit_breakers", token=ctx.api_token)
    if observation.status in (401, 403):
        raise CouldNotJudge("%s: the admin API refuses the credentials given (api_token), so the breakers could not be read"
                            % observation.describe(), CREDENTIALS,
                            "Give an api_token the admin API accepts (an admin's token), or none to read the "
                            "breakers from /metrics.")
    body = json_object(observation)
    if observation.status != 200:
        raise CheckInputError("%s: the circuit-breaker endpoint did not answer 200" % observation.describe())
    breakers = (body.get("data") or {}).get("breakers") or []
    return {str(item.get("name")): str(item.get("state", "")).lower() for item in breakers if isinstance(item, dict)}


@check("providers.agent_timeout", SECTION, "Agent timeout configured",
       "Set ARAGORA_AGENT_TIMEOUT (seconds, 30-1200); the checklist's ARAGORA_AGENT_TIMEOUT_SECONDS is not read "
       "by Aragora 2.11.",
       proves="`ARAGORA_AGENT_TIMEOUT` within 30-1200.",
       cannot_see="The checklist's `ARAGORA_AGENT_TIMEOUT_SECONDS`: read nowhere, which the evidence says when only "
                  "it is set.")
def agent_timeout(ctx: TargetContext):
    outcome = judge_int_setting(ctx, AGENT_TIMEOUT, "Agent timeout", " s")
    legacy = ctx.config.get(LEGACY_AGENT_TIMEOUT)
    if legacy is not None:
        outcome.evidence[LEGACY_AGENT_TIMEOUT] = legacy
        note = "%s=%s is set but Aragora 2.11 reads it nowhere" % (LEGACY_AGENT_TIMEOUT, legacy)
        outcome.evidence["note"] = note
        if outcome.status == "WARN":  # the checklist's name alone: the same verdict as ARAGORA_DB_MAX_OVERFLOW alone
            outcome.message += "; " + note
            outcome.remediation = "Rename %s to %s, the variable Aragora 2.11 reads (seconds, 30-1200)." % (
                LEGACY_AGENT_TIMEOUT, AGENT_TIMEOUT.name)
    return outcome
