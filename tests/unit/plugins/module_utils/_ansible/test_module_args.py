"""Validation of the target options (module_args.py)."""

from __future__ import annotations

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._ansible import module_args
from ansible_collections.aragora.ops.plugins.module_utils._ansible.module_args import (
    TARGET_ARGUMENT_SPEC,
    invalid_params,
    target_argument_spec,
)

VALID = {"api_url": "https://api.example.com", "timeout": 10.0, "endpoints": {"health": "/api/v1/health"},
         "thresholds": {"response_time_warn_ms": 300, "jwt_secret_min_length": "48"}}


def params(**overrides):
    return {**VALID, **overrides}


def test_valid_params():
    assert invalid_params(VALID) is None
    assert invalid_params({}) is None
    assert invalid_params(params(api_url="HTTP://API.EXAMPLE.COM")) is None


@pytest.mark.parametrize("overrides, words", [
    ({"endpoints": {"helth": "/x"}}, "endpoints: unknown key(s) helth; valid keys: build, circuit_breakers"),
    ({"thresholds": {"latency": 1, "zzz": 2}}, "thresholds: unknown key(s) latency, zzz; valid keys:"),
    ({"thresholds": {"response_time_warn_ms": "fast"}}, "thresholds.response_time_warn_ms must be a number, got 'fast'"),
    ({"thresholds": {"response_time_fail_ms": None}}, "thresholds.response_time_fail_ms must be a number"),
    ({"thresholds": {"response_time_fail_ms": [1]}}, "thresholds.response_time_fail_ms must be a number"),
    ({"api_url": "ftp://api.example.com"}, "api_url must start with http:// or https://, got 'ftp://api.example.com'"),
    ({"api_url": "api.example.com"}, "api_url must start with http:// or https://"),
    ({"timeout": 0}, "timeout must be a positive number"),
    ({"timeout": -1.5}, "timeout must be a positive number"),
])
def test_invalid_params(overrides, words):
    problem = invalid_params(params(**overrides))
    assert problem is not None and words in problem


def test_unknown_key_message_lists_every_valid_key():
    problem = invalid_params({"thresholds": {"bogus": 1}})
    for key in ("jwt_secret_min_length", "jwt_secret_min_entropy_bits", "jwt_expiry_max_hours",
                "response_time_warn_ms", "response_time_fail_ms"):
        assert key in problem


def test_secret_options_are_no_log():
    assert TARGET_ARGUMENT_SPEC["api_token"]["no_log"] is True
    assert TARGET_ARGUMENT_SPEC["metrics_token"]["no_log"] is True


def test_target_argument_spec_adds_extra_options():
    spec = target_argument_spec(groups={"type": "list", "elements": "str"})
    assert spec["groups"] == {"type": "list", "elements": "str"}
    assert set(TARGET_ARGUMENT_SPEC) < set(spec)


def test_missing_library(monkeypatch):
    assert module_args.missing_library({"api_url": "https://x"}) is None
    monkeypatch.setattr(module_args.http_client, "requests", None)
    assert module_args.missing_library({"api_url": "https://x"}) == "requests"
    assert module_args.missing_library({"api_url": None}) is None
