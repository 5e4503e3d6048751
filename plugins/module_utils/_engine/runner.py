# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builds one target's context from module parameters and runs its selected checks: what modules call."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._checks import kube
from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import GROUPS
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import Config
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import MAX_WORKERS, run_checks, select
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import HttpClient
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import counts, verdict
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext, TargetOptions


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
    if kube.k8s_given(context.options):
        # No env file and no variables: the configuration checks read the Deployment's env, when first asked.
        context.config.attach(lambda: kube.cluster_config(context))
    return context


def run_target(params: t.Mapping[str, t.Any], context: TargetContext | None = None) -> dict[str, t.Any]:
    """Run the checks ``params`` select and summarise them for one target."""
    context = context or build_context(params)
    # An empty list runs nothing (--tags naming no section): the report then says nothing was judged.
    groups = GROUPS if params.get("groups") is None else params["groups"]
    to_run, to_skip = select(groups, params.get("skip_checks") or ())
    results = run_checks(to_run, context, to_skip, max_workers=params.get("max_workers", MAX_WORKERS))
    return {
        "checks": results,
        "counts": counts(results),
        "verdict": verdict(results, params.get("strict", False)),
        "config_sources": context.config.sources,
    }


def scope(groups: t.Iterable[str] | None) -> dict[str, t.Any]:
    """Which check groups a run of ``groups`` (None: all) leaves out (--tags, aragora_check_groups), and how many
    checks they hold: a report must say when its verdict covers only part of the checklist."""
    wanted = set(GROUPS if groups is None else groups)
    left_out = [group for group in GROUPS if group not in wanted]
    return {"groups_not_run": left_out, "checks_not_run": len(select(left_out)[0]) if left_out else 0}
