# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollback roles' decisions as filters: observations in, the role's result out (module_utils/_operations/
rollback_outcome.py holds and tests the logic). Filters, not a module: they only shape data the role already has,
and the roles ask again after each step, which costs a module process each time."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._operations import rollback_outcome
from ansible_collections.aragora.ops.plugins.module_utils._reporting import rollback_checks
from ansible_collections.aragora.ops.plugins.plugin_utils.decisions import decision_filter, with_checks


def failure(result: t.Any, task_name: t.Any) -> dict[str, t.Any]:
    return rollback_outcome.failure(result if isinstance(result, t.Mapping) else {}, str(task_name))


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        outcome, checks = rollback_outcome, rollback_checks
        return {
            "failure": failure,
            "systemd_rollback_result": decision_filter(
                "systemd_rollback_result", with_checks(outcome.systemd_rollback, checks.rollback_results)),
            "kubernetes_rollback_result": decision_filter(
                "kubernetes_rollback_result", with_checks(outcome.kubernetes_rollback, checks.rollback_results)),
            "coordinated_rollback_result": decision_filter(
                "coordinated_rollback_result", with_checks(outcome.coordinated_rollback, checks.rollback_results)),
            "coordinated_rollback_application": decision_filter(
                "coordinated_rollback_application", outcome.coordinated_application),
            "golive_watch_result": decision_filter(
                "golive_watch_result", with_checks(outcome.golive_watch, checks.watch_results)),
        }
