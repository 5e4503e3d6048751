"""The roles' defaults, their argument specs and the module's defaults say the same thing (one can drift otherwise)."""

from __future__ import annotations

import os

import yaml

from ansible_collections.aragora.ops.plugins.module_utils.checks.catalog import GROUPS
from ansible_collections.aragora.ops.plugins.module_utils.http_client import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT
from ansible_collections.aragora.ops.plugins.module_utils.target import DEFAULT_ENDPOINTS, DEFAULT_THRESHOLDS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(*parts: str) -> dict:
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_prelaunch_role_defaults_are_the_modules_defaults():
    defaults = load("roles", "prelaunch", "defaults", "main.yml")
    assert defaults["aragora_endpoints"] == DEFAULT_ENDPOINTS
    assert defaults["aragora_thresholds"] == DEFAULT_THRESHOLDS
    assert defaults["aragora_check_groups"] == list(GROUPS)
    assert defaults["aragora_timeout"] == DEFAULT_TIMEOUT
    assert defaults["aragora_max_body_bytes"] == DEFAULT_MAX_BODY_BYTES


def test_every_role_default_is_declared_in_the_argument_spec_with_the_same_value():
    for role in ("prelaunch", "readiness_report"):
        defaults = load("roles", role, "defaults", "main.yml")
        options = load("roles", role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
        assert set(defaults) == set(options), role
        for name, value in defaults.items():
            assert options[name]["default"] == value, (role, name)
