"""The AWX/AAP configuration as code (controller/configuration.yml): every job template's playbook is in the project,
every survey question sets an input a role of that playbook declares (type, choices, default compatible), no survey
asks for a secret, the workflow's nodes name templates that exist, and controller/configure.yml resolves its awx.awx
modules."""

from __future__ import annotations

import os
import re

import pytest
import yaml

from tests.support.playbook import ROOT, run_playbook, write_inventory

CONFIG = yaml.safe_load(open(os.path.join(ROOT, "controller", "configuration.yml"), encoding="utf-8"))
TEMPLATES = {template["name"]: template for template in CONFIG["controller_templates"]}
BOOLEAN_ANSWERS = {"true", "false"}


def roles_of(playbook: str) -> list[tuple[str, str]]:
    """(role, entry point) pairs the playbook runs: its plays' roles and include_role tasks (tasks_from)."""
    found = []
    for play in yaml.safe_load(open(os.path.join(ROOT, playbook), encoding="utf-8")):
        for role in play.get("roles", []):
            found.append((role["role"] if isinstance(role, dict) else role, "main"))
        for task in play.get("tasks", []):
            include = task.get("ansible.builtin.include_role")
            if include:
                entry = os.path.splitext(include.get("tasks_from", "main"))[0]
                found.append((include["name"], entry))
    return [(name.split(".")[-1], entry) for name, entry in found]


def declared_options(playbook: str) -> dict[str, dict]:
    options: dict[str, dict] = {}
    for role, entry in roles_of(playbook):
        path = os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")
        specs = yaml.safe_load(open(path, encoding="utf-8"))["argument_specs"]
        options.update(specs.get(entry, {}).get("options", {}))
    return options


def questions():
    for template in CONFIG["controller_templates"]:
        for question in (template.get("survey_spec") or {}).get("spec", []):
            yield pytest.param(template, question, id="%s:%s" % (template["name"], question["variable"]))


@pytest.mark.parametrize("template", CONFIG["controller_templates"], ids=lambda t: t["name"])
def test_each_template_runs_a_playbook_of_the_project(template):
    assert os.path.isfile(os.path.join(ROOT, template["playbook"])), template["playbook"]
    assert roles_of(template["playbook"]), "no aragora.ops role in %s" % template["playbook"]
    assert template["survey_enabled"] == bool(template.get("survey_spec"))


@pytest.mark.parametrize("template, question", list(questions()))
def test_each_survey_question_is_a_declared_role_input_of_a_compatible_type(template, question):
    option = declared_options(template["playbook"]).get(question["variable"])
    assert option is not None, "%s is not an input of the roles of %s" % (question["variable"], template["playbook"])
    assert not option.get("no_log"), "secrets come from credentials, never surveys"
    assert question["type"] != "password"
    kind, default = question["type"], question.get("default")
    if kind in ("text", "textarea"):
        assert option["type"] in ("str", "path") and isinstance(default, str)
    elif kind == "integer":
        assert option["type"] == "int" and isinstance(default, int)
        assert question.get("min", default) <= default <= question.get("max", default)
    elif kind == "float":
        assert option["type"] == "float" and isinstance(default, (int, float))
        assert question.get("min", default) <= default <= question.get("max", default)
    elif kind == "multiplechoice":
        # AWX sends the chosen string; the role's validation converts "true"/"false" for a bool.
        if option["type"] == "bool":
            assert set(question["choices"]) == BOOLEAN_ANSWERS and default in BOOLEAN_ANSWERS
        else:
            assert option["type"] == "str" and set(question["choices"]) <= set(option["choices"])
            assert default in question["choices"]
    elif kind == "multiselect":
        allowed = set(option.get("choices") or question["choices"])
        assert option["type"] == "list" and set(question["choices"]) <= allowed
        assert set(default.split("\n")) <= set(question["choices"])
    else:
        pytest.fail("survey type %s not handled" % kind)


def test_workflow_nodes_name_templates_that_exist_and_pass_the_verdict_on():
    (workflow,) = CONFIG["controller_workflows"]
    nodes = {node["identifier"]: node for node in workflow["workflow_nodes"]}
    for node in nodes.values():
        template = node["unified_job_template"]
        assert template["type"] == "workflow_approval" or template["name"] in TEMPLATES
        for kind in ("success_nodes", "failure_nodes", "always_nodes"):
            assert all(link["identifier"] in nodes for link in node.get("related", {}).get(kind, []))
    # prelaunch -> approval -> go-live (watching) -> on failure the Kubernetes rollback
    assert nodes["prelaunch"]["related"]["success_nodes"] == [{"identifier": "approve"}]
    assert nodes["approve"]["related"]["success_nodes"] == [{"identifier": "golive"}]
    assert nodes["golive"]["related"]["failure_nodes"] == [{"identifier": "rollback"}]
    assert nodes["golive"]["extra_data"]["aragora_golive_watch"] is True
    # The go-live node reads the prelaunch node's set_stats verdict (aragora_readiness_verdict) and refuses a NO-GO.
    assert "aragora_readiness_verdict" in declared_options(TEMPLATES["Aragora go-live"]["playbook"])


def test_the_drill_has_a_monthly_schedule_and_the_large_prelaunch_is_sliced():
    (schedule,) = CONFIG["controller_schedules"]
    assert schedule["unified_job_template"] in TEMPLATES and re.search(r"FREQ=MONTHLY", schedule["rrule"])
    assert TEMPLATES[schedule["unified_job_template"]]["playbook"] == "playbooks/db_restore_drill.yml"
    sliced = [t for t in CONFIG["controller_templates"] if t.get("job_slice_count", 1) > 1]
    assert [t["playbook"] for t in sliced] == ["playbooks/prelaunch.yml"]


def test_configure_playbook_resolves_its_awx_modules(tmp_path):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {})
    result = run_playbook(os.path.join(ROOT, "controller", "configure.yml"), inventory, None, "--syntax-check")
    assert result.returncode == 0, result.stdout + result.stderr
