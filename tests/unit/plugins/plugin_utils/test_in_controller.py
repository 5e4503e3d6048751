"""When an action plugin may do its module's work in the controller's process: only where the module would run the
same code with the same Python, libraries, user and environment."""

from __future__ import annotations

import os
import sys
import types

import pytest

from ansible_collections.aragora.ops.plugins.plugin_utils.in_controller import runs_in_controller, same_python


def action(transport="local", become=False, async_val=0, delegate_to=None, environment=({},)):
    templar = types.SimpleNamespace(template=lambda value: value.replace("{{ ansible_playbook_python }}",
                                                                         sys.executable))
    return types.SimpleNamespace(_connection=types.SimpleNamespace(transport=transport),
                                 _play_context=types.SimpleNamespace(become=become), _templar=templar,
                                 _task=types.SimpleNamespace(async_val=async_val, delegate_to=delegate_to,
                                                             environment=list(environment)))


HERE = {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}


def test_a_local_task_with_the_controllers_python_runs_here():
    assert runs_in_controller(action(), HERE)
    assert runs_in_controller(action(transport="ansible.builtin.local", environment=()), HERE)


@pytest.mark.parametrize("changed", [{"transport": "ssh"}, {"become": True}, {"async_val": 30},
                                     {"delegate_to": "db1"}, {"environment": ({}, {"KUBECONFIG": "/x"})}])
def test_anything_the_module_would_see_differently_runs_the_module(changed):
    assert not runs_in_controller(action(**changed), HERE)


@pytest.mark.parametrize("interpreter", [None, "", "/nonexistent/python3", "/usr/bin/env python3"])
def test_an_unknown_or_other_interpreter_runs_the_module(interpreter):
    assert not runs_in_controller(action(), {"ansible_python_interpreter": interpreter} if interpreter else {})


def test_same_python_through_a_symlinked_venv_but_not_the_base_binary(tmp_path):
    assert same_python(sys.executable)
    linked = tmp_path / "venv"
    os.symlink(sys.prefix, linked)
    assert same_python(str(linked / "bin" / os.path.basename(sys.executable)))
    if sys.prefix != sys.base_prefix:  # in a venv: its base interpreter has other libraries
        assert not same_python(os.path.join(sys.base_prefix, "bin", os.path.basename(sys.executable)))


def test_a_link_elsewhere_to_the_controllers_python_or_a_bare_name_is_another_python(tmp_path):
    wrapper = tmp_path / "python"  # the same binary outside its venv: another sys.prefix, other libraries
    os.symlink(sys.executable, wrapper)
    assert not same_python(str(wrapper))
    assert not same_python("python3")


# The same rule for work that needs only the standard library (readiness_report's rendering): the same machine as
# the same user, whatever the interpreter.
def test_stdlib_only_work_runs_here_with_any_interpreter():
    assert runs_in_controller(action(), {}, stdlib_only=True)
    assert runs_in_controller(action(), {"ansible_python_interpreter": "/usr/bin/python3"}, stdlib_only=True)
    assert not runs_in_controller(action(), {})  # the checks need the controller's own Python


@pytest.mark.parametrize("changed", [{"transport": "ssh"}, {"become": True}])
def test_stdlib_only_work_elsewhere_or_as_another_user_runs_the_module(changed):
    assert not runs_in_controller(action(**changed), {}, stdlib_only=True)
