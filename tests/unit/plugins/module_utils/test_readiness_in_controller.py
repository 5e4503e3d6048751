"""Which Python counts as the controller's own for readiness_check's in-controller run, and that run's masking."""

from __future__ import annotations

import os
import sys

from ansible_collections.aragora.ops.plugins.action.readiness_check import same_python
from ansible_collections.aragora.ops.plugins.module_utils.check_module import run_in_this_process


def test_the_same_interpreter_through_a_linked_venv_is_the_same_python(tmp_path):
    venv_bin = os.path.dirname(sys.executable)
    linked = tmp_path / "project-venv"
    os.symlink(os.path.dirname(venv_bin), linked)
    assert same_python(sys.executable, sys.executable)
    assert same_python(str(linked / "bin" / os.path.basename(sys.executable)), sys.executable)


def test_another_directory_or_a_relative_name_is_another_python(tmp_path):
    base = os.path.realpath(sys.executable)  # a venv's python links to the base interpreter, with other libraries
    if os.path.dirname(base) != os.path.dirname(sys.executable):
        assert not same_python(base, sys.executable)
    wrapper = tmp_path / "python"
    os.symlink(sys.executable, wrapper)
    assert not same_python(str(wrapper), sys.executable)
    assert not same_python("python3", sys.executable)


def test_validation_errors_name_the_option_and_hide_secrets():
    secret = "jwt-secret-value-0123456789abcdef-never-shown"
    result = run_in_this_process({"config": {"ARAGORA_JWT_SECRET": secret}, "thresholds": {"nope": 1}},
                                 "aragora.ops.readiness_check")
    assert result["failed"] and result["msg"].startswith("thresholds: unknown key(s) nope")
    unsupported = run_in_this_process({"no_such_option": secret, "api_token": secret}, "aragora.ops.readiness_check")
    assert unsupported["failed"] and "Unsupported parameters for (aragora.ops.readiness_check) module" in unsupported["msg"]
    assert secret not in str(unsupported) and secret not in str(result)


def test_results_and_invocation_are_masked():
    secret = "jwt-secret-value-0123456789abcdef-never-shown"
    result = run_in_this_process({"config": {"ARAGORA_JWT_SECRET": secret, "ARAGORA_ENV": "production"},
                                  "groups": ["security"], "api_token": "token-value-never-shown"},
                                 "aragora.ops.readiness_check")
    assert not result.get("failed") and result["checks"] and result["verdict"] in ("GO", "NO-GO")
    assert result["invocation"]["module_args"]["config"]["ARAGORA_ENV"] == "production"
    assert secret not in str(result) and "token-value-never-shown" not in str(result)
