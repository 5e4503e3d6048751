# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole of a probe module: argument spec, validation, run the checks, mask secrets, exit.

readiness_check runs the groups the caller picks; each granular module (one group) is this call with its group.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.aragora.ops.plugins.module_utils.checks.catalog import GROUPS
from ansible_collections.aragora.ops.plugins.module_utils.k8s_args import K8S_REQUIRED_TOGETHER
from ansible_collections.aragora.ops.plugins.module_utils.masked_module import MaskedModule
from ansible_collections.aragora.ops.plugins.module_utils.module_args import (
    invalid_params,
    missing_library,
    target_argument_spec,
)
from ansible_collections.aragora.ops.plugins.module_utils.runner import build_context, run_target, scope
from ansible_collections.aragora.ops.plugins.module_utils.target import TargetContext


def target_module(extra: t.Mapping[str, dict[str, t.Any]],
                  registry: t.Mapping[str, t.Any] | None = None) -> tuple[MaskedModule, dict[str, t.Any]]:
    """The module of a target's checks with the ``extra`` options, its parameters validated (or fail_json); the
    secrets in its parameters are masked from the first failure on."""
    module = MaskedModule(argument_spec=target_argument_spec(**extra), supports_check_mode=True,
                          required_together=K8S_REQUIRED_TOGETHER)
    params = dict(module.params)
    library = missing_library(params)
    if library:
        module.fail_json(msg=missing_required_lib(library))
    problem = invalid_params(params, registry)
    if problem:
        module.fail_json(msg=problem)
    return module, params


def masked_context(module: MaskedModule, params: t.Mapping[str, t.Any]) -> TargetContext:
    """The target's context, the secrets of its env file masked before any check runs (those read from the cluster
    while the checks run are registered by ``finish``)."""
    context = build_context(params)
    module.register_secrets(context.config.secrets())
    return context


def finish(module: MaskedModule, context: TargetContext, **result: t.Any) -> t.NoReturn:
    """exit_json with every secret the checks came to know masked."""
    module.register_secrets(context.config.secrets())
    module.exit_json(**result)


def run_check_module(groups: t.Sequence[str] | None = None) -> None:
    """Run as an Ansible module: the given groups, or (None) an option ``groups`` the caller chooses from."""
    extra = {} if groups else {"groups": {"type": "list", "elements": "str", "choices": list(GROUPS)}}
    module, params = target_module(extra)
    if groups:
        params["groups"] = list(groups)
    context = masked_context(module, params)
    result = run_target(params, context)
    if not groups:  # readiness_check, whose caller picks the groups: say which it left out
        result["scope"] = scope(params.get("groups"))
    finish(module, context, changed=False, **result)
