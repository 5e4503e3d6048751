# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 9, Resource Limits: the limits the server enforces itself (container limits: Kubernetes checks)."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._engine.config import IntSetting, parse_int_setting
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import Outcome, failed, passed, warned
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "9"

# Defaults and valid ranges of Aragora 2.11.1 (docs/aragora-2.11.1.md).
MAX_CONCURRENT_DEBATES = IntSetting("ARAGORA_MAX_CONCURRENT_DEBATES", 10, 1, 100)
RATE_LIMIT = IntSetting("ARAGORA_RATE_LIMIT", 60, 1, 10000)
IP_RATE_LIMIT = IntSetting("ARAGORA_IP_RATE_LIMIT", 120, 1, 10000)


def judge_int_setting(ctx: TargetContext, setting: IntSetting, what: str, unit: str = "") -> Outcome:
    """PASS when set within range, WARN when unset (the server default applies), FAIL when unusable."""
    value, problem = parse_int_setting(ctx.config, setting)
    evidence = {setting.name: value, "default": setting.default, "valid_range": [setting.minimum, setting.maximum]}
    if problem:
        return failed("%s: %s" % (what, problem), **evidence)
    if value is None:
        return warned("%s not set (%s unset: the server default %d%s applies)"
                      % (what, setting.name, setting.default, unit), **evidence)
    return passed("%s is %d%s" % (what, value, unit), **evidence)


@check("limits.max_concurrent_debates", SECTION, "Concurrent debate limit",
       "Set ARAGORA_MAX_CONCURRENT_DEBATES (1-100) to what the replicas' CPU and the providers' quotas allow.",
       proves="`ARAGORA_MAX_CONCURRENT_DEBATES` within 1-100 (2.11 does not clamp out-of-range values).")
def max_concurrent_debates(ctx: TargetContext):
    return judge_int_setting(ctx, MAX_CONCURRENT_DEBATES, "Concurrent debate limit")


@check("limits.rate_limit", SECTION, "Rate limits configured",
       "Set ARAGORA_RATE_LIMIT (requests per minute per token, 1-10000).",
       proves="`ARAGORA_RATE_LIMIT` within 1-10000.")
def rate_limit(ctx: TargetContext):
    outcome = judge_int_setting(ctx, RATE_LIMIT, "Rate limit per token", " requests/min")
    if outcome.evidence.get(RATE_LIMIT.name) == 0:
        outcome.message += ": a limit of 0 requests a minute refuses every request made with a token (429)"
    return outcome


@check("limits.ip_rate_limit", SECTION, "Rate limits configured (per IP)",
       "Set ARAGORA_IP_RATE_LIMIT (requests per minute per IP, 1-10000).",
       proves="`ARAGORA_IP_RATE_LIMIT` within 1-10000.")
def ip_rate_limit(ctx: TargetContext):
    return judge_int_setting(ctx, IP_RATE_LIMIT, "Rate limit per IP", " requests/min")
