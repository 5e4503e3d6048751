# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The db_restore (restore and drill) and db_backup roles' decisions as filters: observations in, the role's result out
(module_utils/_operations/restore_outcome.py holds and tests the logic), as plugins/filter/rollback.py does for the
rollback roles."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._operations import restore_outcome
from ansible_collections.aragora.ops.plugins.module_utils._reporting import restore_checks
from ansible_collections.aragora.ops.plugins.plugin_utils.decisions import decision_filter, with_checks


def restore_step_failure(result: t.Any, task_name: t.Any) -> dict[str, t.Any]:
    return restore_outcome.step_failure(result if isinstance(result, t.Mapping) else {}, str(task_name))


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {
            "restore_step_failure": restore_step_failure,
            "db_restore_postgres_result": decision_filter(
                "db_restore_postgres_result", with_checks(restore_outcome.postgres_restore,
                                                          restore_checks.restore_results)),
            "db_restore_sqlite_result": decision_filter(
                "db_restore_sqlite_result", with_checks(restore_outcome.sqlite_restore, restore_checks.restore_results)),
            "db_restore_drill_result": decision_filter(
                "db_restore_drill_result", with_checks(restore_outcome.drill_restore, restore_checks.drill_results)),
            "db_backup_result": decision_filter("db_backup_result", restore_outcome.db_backup),
        }
