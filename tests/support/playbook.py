"""Runs the collection's playbooks with the real ansible-playbook, the way a user does from the repository root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def write_inventory(path: str, hosts: t.Mapping[str, t.Mapping[str, t.Any]], group: str = "aragora") -> str:
    """An inventory of ``hosts`` (name -> host vars) in ``group``; local connection with this Python by default."""
    defaults = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = {"all": {"children": {group: {"hosts": {name: {**defaults, **hostvars}
                                                        for name, hostvars in hosts.items()}}}}}
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle)
    return path


def run_playbook(playbook: str, inventory: str, extra_vars: t.Mapping[str, t.Any] | None = None,
                 *args: str, timeout: float = 300, env: t.Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """ansible-playbook PLAYBOOK -i INVENTORY -e JSON ARGS..., from the repository root; output captured as text.

    ``env`` adds to (or overrides) the environment; a PATH given there goes before the venv's bin directory."""
    path = playbook if os.path.isabs(playbook) else os.path.join(ROOT, "playbooks", playbook)
    command = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, path]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    command += list(args)
    extra = dict(env or {})
    search_path = os.pathsep.join(p for p in (extra.pop("PATH", ""), BIN, os.environ.get("PATH", "")) if p)
    full_env = {**os.environ, "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                **extra, "PATH": search_path}
    return subprocess.run(command, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout, check=False)


def said(result: subprocess.CompletedProcess) -> str:
    """A run's output with whitespace collapsed (the YAML callback folds long messages across lines)."""
    return " ".join((result.stdout + result.stderr).split())


def read_report(directory: str, basename: str = "readiness-report") -> dict:
    with open(os.path.join(directory, basename + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def by_id(report: dict, target: str | None = None) -> dict[str, dict]:
    """The report's checks by id (of one target when several were checked)."""
    return {check["id"]: check for check in report["checks"] if target is None or check["target"] == target}
