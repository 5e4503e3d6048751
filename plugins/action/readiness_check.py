# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""readiness_check runs its checks in the controller's worker process when the module would run on the controller
anyway, with the controller's own Python: a local connection, no become, no async, no delegation, no task
environment, and ``ansible_python_interpreter`` set to the Python running Ansible (``{{ ansible_playbook_python }}``).
That module process would import the same libraries from the same interpreter; running here spares the AnsiballZ
payload built on the controller (~0.6 s of CPU: Ansible compiles every module_utils file to find its imports) and
a process that compiles the same files again from the zip. Anywhere else (a remote host, another interpreter,
become) the module runs as any module does.
"""

from __future__ import annotations

import warnings

from ansible.plugins.action import ActionBase

from ansible_collections.aragora.ops.plugins.plugin_utils.in_controller import runs_in_controller

MODULE = "aragora.ops.readiness_check"


class ActionModule(ActionBase):
    _supports_check_mode = True  # read-only probes: the same run under --check
    _supports_async = True  # async runs the module (below)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        if not runs_in_controller(self, task_vars):
            wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
            result.update(self._execute_module(module_name=MODULE, task_vars=task_vars, wrap_async=wrap_async))
            return result
        # Imported here: a task that runs the module has no use for the checks' libraries in this process.
        from ansible_collections.aragora.ops.plugins.module_utils._ansible.check_module import (  # pylint: disable=import-outside-toplevel
            run_in_this_process,
        )

        # As in a module process, where stderr is not shown: an unverified HTTPS probe's library warnings.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result.update(run_in_this_process(self._task.args, MODULE))
        return result
