# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore drill's decision as a filter: what the drill registered in, the db_restore role's result out
(module_utils/_operations/restore_outcome.py holds and tests the logic), as plugins/filter/database.py does for the
restore itself."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._operations import restore_outcome
from ansible_collections.aragora.ops.plugins.module_utils._reporting import restore_checks
from ansible_collections.aragora.ops.plugins.plugin_utils.decisions import decision_filter, with_checks


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {
            "db_restore_drill_result": decision_filter(
                "db_restore_drill_result", with_checks(restore_outcome.drill_restore, restore_checks.drill_results)),
        }
