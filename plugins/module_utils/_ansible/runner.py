# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one runner, what modules call: builds one target's context from module parameters and runs its selected
checks (the readiness checks, the go-live script's pre-launch steps, or the smoke test), each summarised the same
way. Ansible glue: it knows the module options, the checks and the go-live script's lines."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._checks import k8s_cluster, smoke
from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import GROUPS
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import Config
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import (
    MAX_WORKERS,
    REGISTRY,
    CheckSpec,
    run_checks,
    select,
)
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import HttpClient
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import counts, verdict
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext, TargetOptions
from ansible_collections.aragora.ops.plugins.module_utils._reporting.golive import (
    PRELAUNCH_CHECK_IDS,
    PRELAUNCH_STEPS,
    prelaunch_lines,
    smoke_lines,
)


def build_context(params: t.Mapping[str, t.Any]) -> TargetContext:
    client = None
    if params.get("api_url"):
        client = HttpClient(params["api_url"], timeout=params["timeout"], validate_certs=params["validate_certs"],
                            ca_path=params.get("ca_path"), max_body_bytes=params["max_body_bytes"],
                            server_name=params.get("tls_server_name"))
    context = TargetContext(
        Config(env_file=params.get("env_file"), variables=params.get("config")),
        client,
        endpoints=params.get("endpoints"),
        thresholds=params.get("thresholds"),
        expected_version=params.get("expected_version"),
        api_token=params.get("api_token"),
        metrics_token=params.get("metrics_token"),
        http_url=params.get("http_url"),
        options=TargetOptions.from_params(params),
    )
    if k8s_cluster.k8s_given(context.options):
        # No env file and no variables: the configuration checks read the Deployment's env, when first asked.
        context.config.attach(lambda: k8s_cluster.cluster_config(context))
    return context


def run_target(params: t.Mapping[str, t.Any], context: TargetContext | None = None) -> dict[str, t.Any]:
    """Run the checks ``params`` select and summarise them for one target."""
    context = context or build_context(params)
    # An empty list runs nothing (--tags naming no section): the report then says nothing was judged.
    groups = GROUPS if params.get("groups") is None else params["groups"]
    to_run, to_skip = select(groups, params.get("skip_checks") or ())
    return run(context, to_run, to_skip, params.get("strict", False), params.get("max_workers", MAX_WORKERS))


def run(context: TargetContext, to_run: t.Sequence[CheckSpec], skipped: t.Sequence[CheckSpec] = (),
        strict: bool = False, max_workers: int = MAX_WORKERS) -> dict[str, t.Any]:
    """Run ``to_run`` (``skipped``: left out by the caller) and summarise them: checks, counts, verdict, and where
    the configuration came from."""
    results = run_checks(to_run, context, skipped, max_workers=max_workers)
    return {"checks": results, "counts": counts(results), "verdict": verdict(results, strict),
            "config_sources": context.config.sources}


def run_prelaunch(context: TargetContext, check_ids: t.Sequence[str], strict: bool = False) -> dict[str, t.Any]:
    """The go-live script's pre-launch health check: ``check_ids`` (readiness checks), with the script's lines."""
    unknown = sorted(set(check_ids) - set(REGISTRY))
    if unknown:
        raise ValueError("check_ids: unknown check id(s) %s" % ", ".join(unknown))
    result = run(context, select(ids=check_ids)[0], strict=strict)
    steps = [step for step in PRELAUNCH_STEPS if step[1] in check_ids] + [
        (REGISTRY[check_id].title, check_id) for check_id in check_ids if check_id not in PRELAUNCH_CHECK_IDS]
    return {**result, "lines": prelaunch_lines(result["checks"], steps)}


def run_smoke(context: TargetContext, skip_checks: t.Sequence[str] = (), strict: bool = False) -> dict[str, t.Any]:
    """The post-launch smoke test (every smoke check but ``skip_checks``), with the script's lines."""
    unknown = sorted(set(skip_checks) - set(smoke.SMOKE_CHECKS))
    if unknown:
        raise ValueError("skip_checks: unknown smoke check id(s) %s; known: %s" % (
            ", ".join(unknown), ", ".join(smoke.SMOKE_CHECKS)))
    result = run(context, *select(skip=skip_checks, registry=smoke.SMOKE_CHECKS), strict=strict)
    return {**result, "lines": smoke_lines(result["checks"])}


def scope(groups: t.Iterable[str] | None) -> dict[str, t.Any]:
    """Which check groups a run of ``groups`` (None: all) leaves out (--tags, aragora_check_groups), and how many
    checks they hold: a report must say when its verdict covers only part of the checklist."""
    wanted = set(GROUPS if groups is None else groups)
    left_out = [group for group in GROUPS if group not in wanted]
    return {"groups_not_run": left_out, "checks_not_run": len(select(left_out)[0]) if left_out else 0}
