# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""preflight validates in the controller's own process, wherever the task runs: the module reads nothing but its
arguments, so a module process (a Python start, AnsiballZ, ~0.4 s of CPU) would add nothing but time before a
rollback's first change. The rules are module_utils/_operations/preflight.py's, the answer the module's."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.aragora.ops.plugins.module_utils._operations import preflight


class ActionModule(ActionBase):
    _supports_check_mode = True  # it only validates: the same in check mode
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(argument_spec=preflight.ARGUMENT_SPEC)
        result.update(preflight.answer(params["role"], params["inputs"]))
        return result
