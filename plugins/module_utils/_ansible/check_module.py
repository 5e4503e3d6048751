# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole of a probe module: argument spec, validation, run the checks, mask secrets, exit.

readiness_check runs the groups the caller picks; each granular module (one group) is this call with its group.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import GROUPS
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import parameter_secrets
from ansible_collections.aragora.ops.plugins.module_utils._ansible.k8s_args import K8S_REQUIRED_TOGETHER
from ansible_collections.aragora.ops.plugins.module_utils._ansible.masked_module import MaskedModule
from ansible_collections.aragora.ops.plugins.module_utils._ansible.module_args import compose, params_problem, pieces_of
from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import build_context, run_target, scope
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext


def check_groups_option(groups: t.Sequence[str] | None) -> dict[str, dict[str, t.Any]]:
    """The ``groups`` option of a module whose caller picks the groups (none when the module runs fixed ones)."""
    return {} if groups else {"groups": {"type": "list", "elements": "str", "choices": list(GROUPS)}}


def probe_argument_spec(groups: t.Sequence[str] | None) -> dict[str, dict[str, t.Any]]:
    """The argument spec of the module running ``groups`` (None: readiness_check, whose caller picks them)."""
    return compose(pieces_of(groups), **check_groups_option(groups))


def target_module(extra: t.Mapping[str, dict[str, t.Any]], registry: t.Mapping[str, t.Any] | None = None,
                  pieces: t.Iterable[str] | None = None) -> tuple[MaskedModule, dict[str, t.Any]]:
    """The module of a target's checks with the options of ``pieces`` (module_args.PIECES; all when None) and its
    own ``extra`` options, its parameters validated (or fail_json); the secrets in its parameters are masked from
    the first failure on."""
    spec = compose(pieces_of(None) if pieces is None else pieces, **extra)
    module = MaskedModule(argument_spec=spec, supports_check_mode=True,
                          required_together=_required_together(spec))
    params = dict(module.params)
    problem = params_problem(params, registry)
    if problem:
        module.fail_json(msg=problem)
    return module, params


def _required_together(spec: t.Mapping[str, t.Any]) -> list[list[str]]:
    """A client certificate needs its key, in the modules that take the Kubernetes connection."""
    return K8S_REQUIRED_TOGETHER if "k8s_client_cert" in spec else []


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
    module, params = target_module(check_groups_option(groups), pieces=pieces_of(groups))
    if groups:
        params["groups"] = list(groups)
    context = masked_context(module, params)
    finish(module, context, changed=False, **target_result(params, context, groups))


def target_result(params: t.Mapping[str, t.Any], context: TargetContext, groups: t.Sequence[str] | None) -> dict:
    """The checks' results; for readiness_check (whose caller picks the groups, ``groups`` None) also the groups it
    left out."""
    result = run_target(params, context)
    if not groups:
        result["scope"] = scope(params.get("groups"))
    return result


def run_in_this_process(args: t.Mapping[str, t.Any], name: str, groups: t.Sequence[str] | None = None) -> dict:
    """What ``run_check_module`` returns, computed in the calling process (an action plugin on the controller) with
    the same argument spec, validation and masking: every secret of the parameters, of the no_log options and of
    the configuration the checks read is removed from the result, failures included."""
    spec = probe_argument_spec(groups)
    validation = ArgumentSpecValidator(spec, required_together=_required_together(spec)).validate(dict(args))
    params = dict(validation.validated_parameters)
    secrets = set(validation._no_log_values) | parameter_secrets(params)  # pylint: disable=protected-access
    if validation.error_messages:
        message = validation.errors.msg
        if isinstance(validation.errors[0], UnsupportedError):
            message = "Unsupported parameters for (%s) module: %s" % (name, message)
        return remove_values({"failed": True, "msg": message}, secrets)
    problem = params_problem(params)
    if problem:
        return remove_values({"failed": True, "msg": problem}, secrets)
    if groups:
        params["groups"] = list(groups)
    context = build_context(params)
    result = {"changed": False, **target_result(params, context, groups)}
    secrets |= set(context.config.secrets())
    result["invocation"] = {"module_args": params}
    return remove_values(result, {secret for secret in secrets if secret})
