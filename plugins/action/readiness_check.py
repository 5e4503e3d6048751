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

import os
import sys
import warnings

from ansible.plugins.action import ActionBase

MODULE = "aragora.ops.readiness_check"


def same_python(interpreter: str, running: str) -> bool:
    """Whether ``interpreter`` is the Python running here with its libraries: the same executable in the same bin
    directory (a venv's python is a link to the base interpreter, whose own directory has other libraries; a link to
    the venv itself, as /work/project/.venv -> /shared/.venv, is the same venv)."""
    if not os.path.isabs(interpreter):
        return False
    return (os.path.realpath(interpreter) == os.path.realpath(running)
            and os.path.realpath(os.path.dirname(interpreter)) == os.path.realpath(os.path.dirname(running)))


class ActionModule(ActionBase):
    _supports_check_mode = True  # read-only probes: the same run under --check
    _supports_async = True  # async runs the module (below)

    def _runs_here(self, task_vars: dict) -> bool:
        if self._connection.transport not in ("local", "ansible.builtin.local") or self._play_context.become:
            return False
        # The task's environment is a list of mappings (one per level: play, block, role), often all empty.
        if self._task.async_val or self._task.delegate_to or any(self._task.environment or ()):
            return False
        interpreter = task_vars.get("ansible_python_interpreter")
        if not interpreter:
            return False  # discovered on the host: maybe not this Python, nor its libraries
        return same_python(str(self._templar.template(interpreter)), sys.executable)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        if not self._runs_here(task_vars):
            wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
            result.update(self._execute_module(module_name=MODULE, task_vars=task_vars, wrap_async=wrap_async))
            return result
        # Imported here: a task that runs the module has no use for the checks' libraries in this process.
        from ansible_collections.aragora.ops.plugins.module_utils.check_module import (  # pylint: disable=import-outside-toplevel
            run_in_this_process,
        )

        # As in a module process, where stderr is not shown: an unverified HTTPS probe's library warnings.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result.update(run_in_this_process(self._task.args, MODULE))
        return result
