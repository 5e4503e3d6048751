"""Runs one of the collection's modules the way Ansible does on a host: a new Python process, its arguments as
JSON (check and diff mode as Ansible passes them), its result as JSON on stdout. No playbook start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import typing as t

from tests.conftest import COLLECTIONS


def run_module(name: str, args: t.Mapping[str, t.Any], check_mode: bool = False, diff: bool = False,
               timeout: float = 120) -> dict[str, t.Any]:
    """The module's result dict (``failed`` set when it failed)."""
    payload = {"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(payload, handle)
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "ansible_collections.aragora.ops.plugins.modules.%s" % name, handle.name],
            capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([COLLECTIONS, os.environ.get("PYTHONPATH", "")])})
    finally:
        os.unlink(handle.name)
    try:
        return json.loads(completed.stdout)
    except ValueError:
        raise AssertionError("module %s did not answer JSON (rc %d): %s %s" % (
            name, completed.returncode, completed.stdout[-2000:], completed.stderr[-2000:])) from None
