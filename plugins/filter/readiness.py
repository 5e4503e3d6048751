# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness report's input, gathered from the targets' result facts, the targets it covers, why a run has none
left, and the check groups a run under --tags selects (filters: they only shape data the roles already have)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import groups_for_tags
from ansible_collections.aragora.ops.plugins.module_utils._reporting.report import no_target_left, report_targets

# What a target with no result fact reports (a FAIL in the report, with this reason).
NO_RESULTS = "no results: the host was skipped or its play stopped"


def results_of(names: t.Iterable[str], facts: t.Mapping[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """Each target's checks, or why it has none; and what each target's run left out (its scope, under --tags).

    ``facts`` maps each name to its result fact (None when the host has none): a readiness_check result
    (``checks``, ``scope``), a task that could not run (``error``), or an unreachable host's result (``msg``).
    """
    results: dict[str, t.Any] = {}
    scopes: dict[str, t.Any] = {}
    for name in names:
        readiness = facts.get(name)
        readiness = readiness if isinstance(readiness, t.Mapping) else {}
        if "checks" in readiness:
            results[name] = readiness["checks"]
        else:
            results[name] = readiness.get("error", readiness.get("msg", NO_RESULTS))
        if "scope" in readiness:
            scopes[name] = readiness["scope"]
    return {"results": results, "scopes": scopes}


def readiness_results(names: t.Any, hostvars: t.Any, fact: t.Any = "prelaunch_readiness") -> dict[str, t.Any]:
    if not isinstance(names, (list, tuple)):
        raise AnsibleFilterError("aragora.ops.readiness_results expects a list of host names, not %s"
                                 % type(names).__name__)
    facts = {}
    for name in names:
        host = hostvars[name] if name in hostvars else {}  # a name given that is no inventory host has no result
        facts[name] = host[fact] if fact in host else None
    return results_of(names, facts)


def _names(value: t.Any, name: str, what: str) -> list[str]:
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("aragora.ops.%s expects %s (a list), not %s" % (name, what, type(value).__name__))
    return [str(item) for item in value]


def readiness_report_targets(given: t.Any, matched: t.Any) -> list[str]:
    return report_targets(_names(given, "readiness_report_targets", "the host names given"),
                          _names(matched, "readiness_report_targets", "the hosts the targets' pattern matches"))


def readiness_no_target(matched: t.Any, pattern: t.Any, limit: t.Any = None) -> str:
    return no_target_left(str(pattern), _names(matched, "readiness_no_target", "the hosts the pattern matches"),
                          None if limit is None else str(limit))


def prelaunch_check_groups(groups: t.Any, run_tags: t.Any, skip_tags: t.Any) -> list[str]:
    name = "prelaunch_check_groups"
    return groups_for_tags(_names(groups, name, "the check groups"), _names(run_tags, name, "ansible_run_tags"),
                           _names(skip_tags, name, "ansible_skip_tags"))


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"readiness_results": readiness_results, "readiness_report_targets": readiness_report_targets,
                "readiness_no_target": readiness_no_target, "prelaunch_check_groups": prelaunch_check_groups}
