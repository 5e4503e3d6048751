"""readiness_check run in the controller's process (which Python counts as the controller's own: test_in_controller):
the same validation and masking as the module."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._ansible.check_module import run_in_this_process


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
