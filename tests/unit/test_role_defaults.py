"""The roles' defaults, their argument specs and the module's defaults say the same thing (one can drift otherwise)."""

from __future__ import annotations

import os

import yaml

from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import GROUPS
from ansible_collections.aragora.ops.plugins.module_utils._operations import releases, watch
from ansible_collections.aragora.ops.plugins.module_utils._checks.smoke import DEFAULT_DEBATE_BODY
from ansible_collections.aragora.ops.plugins.module_utils._reporting.golive import PRELAUNCH_CHECK_IDS
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import DEFAULT_ENDPOINTS, DEFAULT_THRESHOLDS

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
    for role in ("prelaunch", "readiness_report", "systemd_rollback", "golive", "coordinated_rollback"):
        defaults = load("roles", role, "defaults", "main.yml")
        options = load("roles", role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
        assert set(defaults) == set(options), role
        for name, value in defaults.items():
            assert options[name]["default"] == value, (role, name)


def test_systemd_rollback_role_defaults_are_the_release_defaults():
    defaults = load("roles", "systemd_rollback", "defaults", "main.yml")
    assert defaults["aragora_releases_dir"] == releases.DEFAULT_RELEASES_DIR
    assert defaults["aragora_current_link"] == releases.DEFAULT_LINK
    assert defaults["aragora_release_required_paths"] == list(releases.DEFAULT_REQUIRED_PATHS)
    assert defaults["aragora_release_version_file"] == releases.DEFAULT_VERSION_FILE
    assert defaults["aragora_release_min_free_mb"] == releases.DEFAULT_MIN_FREE_MB


def test_golive_role_defaults_are_the_modules_defaults():
    defaults = load("roles", "golive", "defaults", "main.yml")
    assert defaults["aragora_golive_prelaunch_checks"] == list(PRELAUNCH_CHECK_IDS)
    assert defaults["aragora_smoke_debate_body"] == DEFAULT_DEBATE_BODY
    assert defaults["aragora_golive_watch_thresholds"] == watch.DEFAULT_THRESHOLDS
    watch_options = load("roles", "golive", "meta", "argument_specs.yml")["argument_specs"]["watch"]["options"]
    for name, option in watch_options.items():
        assert option["default"] == defaults[name], name
