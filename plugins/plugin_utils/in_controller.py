# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When an action plugin may do its module's work in the controller's own process: when the module would run on
the controller anyway, as the same user, with the same Python and libraries, and the same environment. Then a module
process adds only its cost (a Python start, the AnsiballZ payload, every module_utils compiled again from the zip:
~0.5-0.9 s of CPU here) and nothing the in-process run lacks."""

from __future__ import annotations

import os
import sys
import typing as t


def same_python(interpreter: str) -> bool:
    """Whether ``interpreter`` is the Python running Ansible, with its libraries: the same binary, and the same venv
    (a venv's python is a symlink to the base binary, so the binary alone does not tell; a venv reached through a
    symlinked directory is the same venv)."""
    path = os.path.abspath(interpreter)
    return (os.path.realpath(path) == os.path.realpath(sys.executable)
            and os.path.realpath(os.path.dirname(os.path.dirname(path))) == os.path.realpath(sys.prefix))


def runs_in_controller(action: t.Any, task_vars: t.Mapping[str, t.Any], stdlib_only: bool = False) -> bool:
    """For an ActionBase: a local connection, no become, no async, no delegation, no task environment, and
    ``ansible_python_interpreter`` naming the Python running Ansible (a discovered one may be another).

    ``stdlib_only``: work that needs nothing but the standard library and reads no environment (rendering report
    files): the same machine as the same user is all it needs, whatever the interpreter."""
    if action._connection.transport not in ("local", "ansible.builtin.local") or action._play_context.become:
        return False
    if stdlib_only:
        return True
    # The task's environment is a list of mappings (one per level: play, block, role), often all empty.
    if action._task.async_val or action._task.delegate_to or any(action._task.environment or ()):
        return False
    interpreter = task_vars.get("ansible_python_interpreter")
    return bool(interpreter) and same_python(str(action._templar.template(interpreter)))
