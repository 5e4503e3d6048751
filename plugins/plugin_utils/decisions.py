# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A role's decision as a filter: a pure function over the role's observations (module_utils/_operations), called
from Jinja with a dict, whose bad input is named instead of raised as a traceback."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

Decision = t.Callable[[t.Mapping[str, t.Any]], t.Dict[str, t.Any]]


def observations(value: t.Any, name: str) -> t.Mapping[str, t.Any]:
    """The observations a filter was given, or an error naming the filter when they are not a dict."""
    if not isinstance(value, t.Mapping):
        raise AnsibleFilterError("aragora.ops.%s expects a dict of observations, not %s" % (name, type(value).__name__))
    return value


def decision_filter(name: str, function: Decision) -> t.Callable[..., t.Any]:
    """The filter ``aragora.ops.<name>``: ``function`` over the observations, a missing one named."""
    def decide(observed: t.Any) -> dict[str, t.Any]:
        try:
            return function(observations(observed, name))
        except KeyError as exc:
            raise AnsibleFilterError("aragora.ops.%s: the observation %s is missing" % (name, exc)) from exc
    decide.__name__ = name
    return decide


def with_checks(function: Decision, checks: t.Callable[[t.Mapping[str, t.Any]], t.List[dict]]) -> Decision:
    """The result, with its verifications as results of the common check schema under ``checks``."""
    def decide(observed: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        result = function(observed)
        result["checks"] = checks(result)
        return result
    return decide
