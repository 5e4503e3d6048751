# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The golive role's decisions as filters: observations in, the decision out (module_utils/_operations/
golive_outcome.py holds and tests the logic), as plugins/filter/rollback.py does for the rollback roles."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._operations import golive_outcome
from ansible_collections.aragora.ops.plugins.plugin_utils.decisions import decision_filter

DECISIONS = {
    "golive_handed_verdict": golive_outcome.handed_verdict,
    "golive_pre_release_backup": golive_outcome.pre_release_backup,
    "golive_result": golive_outcome.golive_checks,
    "golive_watch_plan": golive_outcome.watch_plan,
    "golive_result_with_watch": golive_outcome.with_watch,
}


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {name: decision_filter(name, function) for name, function in DECISIONS.items()}
