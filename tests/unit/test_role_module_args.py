"""The roles hand their variables to the modules one argument at a time (`timeout: "{{ aragora_timeout }}"`): each
such argument names an option the module has, fed by a variable the role declares in scripts/role_vocabulary.yml,
of a type the option takes. A renamed option or variable fails here, not in the middle of a rollback."""

from __future__ import annotations

import copy
import glob
import json
import os
import re
import subprocess
import sys
import typing as t

import pytest
import yaml

from tests.support.playbook import ROOT

from scripts import gen_role_specs

# An argument that is one role variable, as is or left out when empty.
ONE_VARIABLE = re.compile(r"^\{\{ (aragora_[a-z0-9_]+)( \| default\(omit, true\))? \}\}$")
# The module option types that accept a value of each argument-spec type of a role variable.
TAKES = {"str": {"str", "path", "raw"}, "int": {"int", "float", "raw"}, "float": {"float", "raw"},
         "bool": {"bool", "raw"}, "list": {"list", "raw"}, "dict": {"dict", "raw"}}
INCLUDED_BY_OTHERS = re.compile(r"name: aragora\.ops\.([a-z_]+)\s*$", re.M)


@pytest.fixture(scope="module", name="module_options")
def module_options_fixture() -> dict[str, dict[str, dict]]:
    """Each module's options, and their aliases, as ansible-doc documents them (sanity keeps that equal to the spec)."""
    names = sorted(os.path.basename(path)[:-3] for path in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")))
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "--json", "-t", "module",
                          *("aragora.ops." + name for name in names)], capture_output=True, text=True, check=True,
                         timeout=300, cwd=ROOT, env={**os.environ, "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg")})
    options: dict[str, dict[str, dict]] = {}
    for name, doc in json.loads(out.stdout).items():
        module = options.setdefault(name.split(".")[-1], {})
        for option, spec in (doc["doc"].get("options") or {}).items():
            for key in [option, *(spec.get("aliases") or [])]:
                module[key] = spec
    return options


def module_calls(node: t.Any) -> t.Iterator[tuple[str, dict]]:
    """(module, arguments) of every aragora.ops module a task file calls or sets module_defaults for."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.startswith("aragora.ops.") and isinstance(value, dict):
                yield key.split(".")[-1], value
            yield from module_calls(value)
    elif isinstance(node, list):
        for item in node:
            yield from module_calls(item)


def variable_arguments(role: str) -> t.Iterator[tuple[str, str, str, str]]:
    """(task file, module, option, variable) of each argument of the role's tasks that is one aragora_* variable."""
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", role, "tasks", "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            tasks = yaml.safe_load(handle)
        for module, arguments in module_calls(tasks):
            for option, value in arguments.items():
                found = ONE_VARIABLE.match(value.strip()) if isinstance(value, str) else None
                if found:
                    yield os.path.relpath(path, ROOT), module, option, found.group(1)


def includers() -> dict[str, set[str]]:
    """The roles each role is included by (include_role name: aragora.ops.<role>)."""
    found: dict[str, set[str]] = {}
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            for included in INCLUDED_BY_OTHERS.findall(handle.read()):
                found.setdefault(included, set()).add(path.split(os.sep)[-3])
    return found


VOCABULARY = gen_role_specs.load()
ROLES = sorted(VOCABULARY["roles"])


def mismatches(vocabulary: dict, role: str, module_options: dict[str, dict[str, dict]]) -> list[str]:
    variables = gen_role_specs.role_variables(vocabulary, role)
    # A role included by others (health_gate) may read its includers' variables: each of them must declare it.
    declared_by_includers = [gen_role_specs.role_variables(vocabulary, other) for other in includers().get(role, ())]
    wrong = []
    for path, module, option, variable in variable_arguments(role):
        spec = module_options.get(module, {}).get(option)
        if spec is None:
            wrong.append("%s: %s has no option %s" % (path, module, option))
            continue
        declaration = variables.get(variable)
        if declaration is None and declared_by_includers and all(variable in other for other in declared_by_includers):
            declaration = declared_by_includers[0][variable]
        if declaration is None:
            wrong.append("%s: %s=%s, which the role does not declare" % (path, option, variable))
        elif spec.get("type", "str") not in TAKES[declaration["type"]]:
            wrong.append("%s: %s (%s) takes %s, a %s" % (
                path, option, spec.get("type", "str"), variable, declaration["type"]))
    return wrong


@pytest.mark.parametrize("role", ROLES)
def test_each_variable_argument_is_a_module_option_of_a_type_it_takes(role, module_options):
    assert mismatches(VOCABULARY, role, module_options) == []


def test_a_variable_of_a_type_the_option_does_not_take_is_found(module_options):
    vocabulary = copy.deepcopy(VOCABULARY)
    vocabulary["roles"]["prelaunch"]["variables"]["aragora_timeout"]["type"] = "str"
    vocabulary["roles"]["prelaunch"]["variables"]["aragora_timeout"]["default"] = "10"
    assert mismatches(vocabulary, "prelaunch", module_options) == [
        "roles/prelaunch/tasks/main.yml: timeout (float) takes aragora_timeout, a str"]


def test_a_variable_the_role_does_not_declare_is_found(module_options):
    vocabulary = copy.deepcopy(VOCABULARY)
    del vocabulary["roles"]["prelaunch"]["variables"]["aragora_ws_origin"]
    assert mismatches(vocabulary, "prelaunch", module_options) == [
        "roles/prelaunch/tasks/main.yml: ws_origin=aragora_ws_origin, which the role does not declare"]


def test_an_option_the_module_lacks_is_found(module_options):
    options = copy.deepcopy(module_options)
    del options["readiness_check"]["ws_origin"]
    assert mismatches(VOCABULARY, "prelaunch", options) == [
        "roles/prelaunch/tasks/main.yml: readiness_check has no option ws_origin"]


def test_an_included_role_may_read_what_every_includer_declares(module_options):
    assert mismatches(VOCABULARY, "health_gate", module_options) == []
    vocabulary = copy.deepcopy(VOCABULARY)
    del vocabulary["roles"]["systemd_rollback"]["variables"]["aragora_ca_path"]
    assert mismatches(vocabulary, "health_gate", module_options) == [
        "roles/health_gate/tasks/main.yml: ca_path=aragora_ca_path, which the role does not declare"]


def test_the_roles_hand_their_variables_to_the_modules(module_options):
    """The check above reads what it is meant to: most of the roles' module arguments are one variable each."""
    arguments = [argument for role in ROLES for argument in variable_arguments(role)]
    assert len(arguments) > 150
    assert ("roles/prelaunch/tasks/main.yml", "readiness_check", "timeout", "aragora_timeout") in arguments
    assert "kube_context" in module_options["readiness_check"]
