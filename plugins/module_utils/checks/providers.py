# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 8, API Provider Configuration."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils.causes import CREDENTIALS, CouldNotJudge
from ansible_collections.aragora.ops.plugins.module_utils.checks.common import json_object
from ansible_collections.aragora.ops.plugins.module_utils.checks.limits import judge_int_setting
from ansible_collections.aragora.ops.plugins.module_utils.checks.monitoring import scrape
from ansible_collections.aragora.ops.plugins.module_utils.checks.security import (
    FALLBACK_PROVIDER_KEYS,
    OTHER_PROVIDER_KEYS,
    PRIMARY_PROVIDER_KEYS,
)
from ansible_collections.aragora.ops.plugins.module_utils.config import IntSetting
from ansible_collections.aragora.ops.plugins.module_utils.engine import check
from ansible_collections.aragora.ops.plugins.module_utils.result import CheckInputError, failed, passed, warned
from ansible_collections.aragora.ops.plugins.module_utils.target import TargetContext

SECTION = "8"
AGENT_TIMEOUT = IntSetting("ARAGORA_AGENT_TIMEOUT", 240, 30, 1200)
# The checklist's name for it; Aragora 2.11 reads it nowhere.
LEGACY_AGENT_TIMEOUT = "ARAGORA_AGENT_TIMEOUT_SECONDS"
BREAKER_METRIC = "aragora_agent_circuit_breaker_state"
# Gauge values of BREAKER_METRIC, as Aragora's circuit breaker exports them.
BREAKER_STATES = {0.0: "closed", 1.0: "open", 2.0: "half-open"}


def _set_keys(ctx: TargetContext, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if ctx.config.get(name)]


@check("providers.primary", SECTION, "Primary provider configured",
       "Set ANTHROPIC_API_KEY or OPENAI_API_KEY (from the secret manager); without one the server runs demo "
       "agents only.")
def primary(ctx: TargetContext):
    primary_keys = _set_keys(ctx, PRIMARY_PROVIDER_KEYS)
    other_keys = _set_keys(ctx, OTHER_PROVIDER_KEYS)
    evidence = {"primary_keys_set": primary_keys, "other_keys_set": other_keys}
    if primary_keys:
        return passed("Primary provider configured (%s)" % ", ".join(primary_keys), **evidence)
    if other_keys:
        return warned("No checklist primary provider, but %s is set (the server accepts it)" % ", ".join(other_keys),
                      **evidence)
    return failed("No primary AI provider configured (neither %s is set)" % " nor ".join(PRIMARY_PROVIDER_KEYS),
                  **evidence)


@check("providers.fallback", SECTION, "Fallback provider configured",
       "Set OPENROUTER_API_KEY so debates continue when a primary provider's quota is exhausted.")
def fallback(ctx: TargetContext):
    keys = _set_keys(ctx, FALLBACK_PROVIDER_KEYS)
    if keys:
        return passed("Fallback provider configured (%s)" % ", ".join(keys), fallback_keys_set=keys)
    return warned("No fallback provider (OPENROUTER_API_KEY unset): quota exhaustion stops debates",
                  fallback_keys_set=keys)


@check("providers.circuit_breakers", SECTION, "Circuit breakers enabled",
       "An agent's circuit breaker is open: check that provider's key, quota and status page; breakers close on "
       "their own once calls succeed again.")
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
    return passed("Circuit breakers open: 0 (of %d reported)" % len(states), **evidence)


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
       "by Aragora 2.11.")
def agent_timeout(ctx: TargetContext):
    outcome = judge_int_setting(ctx, AGENT_TIMEOUT, "Agent timeout", " s")
    legacy = ctx.config.get(LEGACY_AGENT_TIMEOUT)
    if legacy is not None:
        outcome.evidence[LEGACY_AGENT_TIMEOUT] = legacy
        note = "%s=%s is set but Aragora 2.11 reads it nowhere" % (LEGACY_AGENT_TIMEOUT, legacy)
        outcome.evidence["note"] = note
        if outcome.status == "WARN":
            outcome.message += "; " + note
    return outcome
