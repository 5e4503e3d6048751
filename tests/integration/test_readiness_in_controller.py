"""readiness_check's two ways of running (plugins/action/readiness_check.py): in the controller's worker when the
module would run on the controller with the controller's Python anyway, as a module process anywhere else. Both
must judge alike, fail alike on a bad option, and keep every secret out of -vvv output."""

from __future__ import annotations

import os
import re
import sys

import pytest

from tests.support.playbook import read_report, run_playbook, write_inventory

# The interpreter of a target checked from the controller, as the sandbox's inventory and the README set it.
IN_CONTROLLER = "{{ ansible_playbook_python }}"


def wrapper_python(directory: str) -> tuple[str, str]:
    """Another interpreter path for the same Python, which leaves a mark each time a module process starts."""
    marks = os.path.join(directory, "module-processes")
    path = os.path.join(directory, "python-wrapper")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('#!/bin/sh\necho started >> "%s"\nexec "%s" "$@"\n' % (marks, sys.executable))
    os.chmod(path, 0o755)
    return path, marks


def env_secrets(env_file: str) -> list[str]:
    found = []
    with open(env_file, encoding="utf-8") as handle:
        for line in handle:
            name, _equals, value = line.strip().partition("=")
            if re.search(r"SECRET|PASSWORD|TOKEN|_KEY$|_URL$", name) and len(value) >= 8:
                found.append(value.split("://", 1)[-1].split("@", 1)[0].split(":")[-1] if "@" in value else value)
    return [secret for secret in found if len(secret) >= 8]


def comparable(report: dict) -> dict[str, tuple[str, str]]:
    """Each check's status and message, measured numbers (ms, seconds) left out."""
    return {check["id"]: (check["status"], re.sub(r"\d+(\.\d+)?", "N", check["message"])) for check in report["checks"]}


@pytest.fixture(name="hosts")
def fixture_hosts(sandbox_state):
    return {"aragora_api_url": sandbox_state["urls"]["api"], "aragora_ws_url": sandbox_state["urls"]["ws"],
            "aragora_env_file": sandbox_state["paths"]["env_file"], "aragora_ca_path": sandbox_state["paths"]["ca"],
            "aragora_backup_dir": sandbox_state["paths"]["backup_dir"]}


def test_in_the_controller_and_as_a_module_judge_alike_and_mask_alike(tmp_path, sandbox_state, hosts):
    wrapper, marks = wrapper_python(str(tmp_path))
    runs = {}
    # The server's first probes change what it reports (its circuit breakers appear on first use): the run compared
    # with the module's is the second in the controller.
    for way, interpreter in (("first", IN_CONTROLLER), ("module", wrapper), ("controller", IN_CONTROLLER)):
        inventory = write_inventory(str(tmp_path / (way + ".yml")),
                                    {"sandbox": {**hosts, "ansible_python_interpreter": interpreter}})
        reports = str(tmp_path / way)
        result = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": reports}, "-vvv")
        assert result.returncode in (0, 2), result.stdout[-3000:] + result.stderr[-3000:]
        runs[way] = (read_report(reports), result.stdout + result.stderr)
        # Only the module run started a module process (with the wrapper): one, for the one target; the others
        # executed nothing on the target's connection.
        with open(marks, encoding="utf-8") if os.path.exists(marks) else open(os.devnull, encoding="utf-8") as seen:
            assert seen.read().count("started") == (0 if way == "first" else 1), way
        executed = re.findall(r"<sandbox> EXEC .*", result.stdout)
        assert len(executed) == (1 if way == "module" else 0), (way, executed)
    assert comparable(runs["controller"][0]) == comparable(runs["module"][0])
    secrets = env_secrets(sandbox_state["paths"]["env_file"])
    assert secrets, "the sandbox's env file has secrets to look for"
    for way, (_report, output) in runs.items():
        assert "Verdict for sandbox" in output  # the run printed its results, where a secret would show
        leaked = [secret[:4] + "..." for secret in secrets if secret in output]
        assert not leaked, "%s run printed secrets %s" % (way, leaked)


def test_a_bad_option_fails_alike_without_its_secret(tmp_path, hosts):
    wrapper, _marks = wrapper_python(str(tmp_path))
    secret = "s3cret-jwt-value-never-shown-0123456789abcdef"
    messages = {}
    for way, interpreter in (("controller", IN_CONTROLLER), ("module", wrapper)):
        inventory = write_inventory(str(tmp_path / (way + ".yml")), {"sandbox": {
            **hosts, "ansible_python_interpreter": interpreter, "aragora_env_file": "",
            "aragora_config": {"ARAGORA_JWT_SECRET": secret}, "aragora_thresholds": {"no_such_threshold": 1}}})
        result = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path / way)}, "-vvv")
        output = result.stdout + result.stderr
        assert secret not in output, way
        assert len(re.findall(r"<sandbox> EXEC .*", result.stdout)) == (1 if way == "module" else 0), way
        messages[way] = re.search(r"thresholds: unknown key\(s\) no_such_threshold[^\"'\n]*", output).group(0)
    assert messages["controller"] == messages["module"]
