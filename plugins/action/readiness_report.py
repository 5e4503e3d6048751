# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""readiness_report renders in the controller's own process when the task runs on the controller as the same
user (the readiness_report role's case: hosts localhost): no module process, no AnsiballZ payload carrying every
target's results. Anywhere else (a remote host, become) it runs the module, which writes the files there."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.aragora.ops.plugins.module_utils._reporting.report import REPORT_ARGUMENT_SPEC, write_report
from ansible_collections.aragora.ops.plugins.plugin_utils.in_controller import runs_in_controller


class ActionModule(ActionBase):
    _supports_check_mode = True  # under --check the files are named, not written (the role's task sets check_mode: false)
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if not runs_in_controller(self, task_vars or {}, stdlib_only=True):
            result.update(self._execute_module(module_name="aragora.ops.readiness_report", task_vars=task_vars))
            return result
        validation, params = self.validate_argument_spec(argument_spec=REPORT_ARGUMENT_SPEC)
        del validation  # validate_argument_spec raised already when the options were invalid
        try:
            result.update(write_report(params, bool(self._task.check_mode)))
        except OSError as exc:
            result.update(failed=True, msg="cannot write the report into %s: %s" % (params["dest"], exc))
        return result
