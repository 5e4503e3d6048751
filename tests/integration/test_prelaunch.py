"""prelaunch.yml end to end: the real ansible-playbook against the real Aragora server of the sandbox."""

from __future__ import annotations

import glob
import os
import secrets
import xml.etree.ElementTree as ET

import pytest

# Through catalog: importing it registers every check.
from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import REGISTRY
from tests.support.playbook import by_id, read_report, run_playbook, write_inventory

# What a production deployment would add to the sandbox's own configuration to pass every check.
PRODUCTION_EXTRAS = {
    # Of the shapes the providers issue: placeholders and other shapes are judged (checks/secret_shape.py).
    "ANTHROPIC_API_KEY": "sk-ant-api03-" + secrets.token_urlsafe(70),
    "OPENROUTER_API_KEY": "sk-or-v1-" + secrets.token_hex(32),
    # A DSN on a reserved example domain (sentry.example.com) is a placeholder: errors would reach nobody.
    "SENTRY_DSN": "https://%s@o4504.ingest.sentry.io/42" % secrets.token_hex(16),
}


def sandbox_host(state: dict, **extra) -> dict:
    return {"aragora_api_url": state["urls"]["api"], "aragora_env_file": state["paths"]["env_file"],
            "aragora_ca_path": state["paths"]["ca"], **extra}


@pytest.fixture()
def inventory(tmp_path, sandbox_state):
    return write_inventory(str(tmp_path / "inventory.yml"), {"sandbox": sandbox_host(sandbox_state)})


def test_sandbox_as_configured_is_no_go_for_want_of_a_provider_key(tmp_path, inventory):
    result = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)})

    assert result.returncode == 2, result.stdout + result.stderr
    report = read_report(str(tmp_path))
    checks = by_id(report)
    assert report["verdict"] == "NO-GO"
    assert set(checks) == set(REGISTRY), "every registered check is in the report"
    assert checks["providers.primary"]["status"] == "FAIL"
    assert [c["id"] for c in report["checks"] if c["status"] == "FAIL"] == ["providers.primary"]
    for passing in ("health.liveness", "health.readiness", "health.api_health", "health.response_time",
                    "security.environment_mode", "security.jwt_secret", "security.https_enforced",
                    "security.cors_origins", "security.token_blacklist", "monitoring.prometheus_metrics",
                    "limits.rate_limit", "providers.agent_timeout"):
        assert checks[passing]["status"] == "PASS", checks[passing]
    assert checks["health.release_version"]["message"] == "Release version is 2.11.1"
    assert all(check["target"] == "sandbox" for check in report["checks"])
    # The summary is printed in the checklist's own style, grouped by section.
    assert "[PASS] Environment mode is production" in result.stdout
    assert "1. Security Configuration" in result.stdout
    assert "NO-GO: 1 check(s) failed" in result.stdout


def test_report_files_are_markdown_with_sign_off_and_junit_with_one_case_per_check(tmp_path, inventory):
    run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)})

    report = read_report(str(tmp_path))
    markdown = (tmp_path / "readiness-report.md").read_text()
    for section in {check["section"] for check in report["checks"]}:
        assert "### " + section in markdown
    assert "| Engineering Lead | | | |" in markdown
    assert "| Scope | every check of the checklist |" in markdown  # a full run: no group left out
    assert report["partial"] is False and report["not_run"] == {}
    suites = ET.parse(tmp_path / "readiness-report.xml").getroot()
    cases = suites.findall("./testsuite/testcase")
    assert len(cases) == len(report["checks"])
    assert [c.get("name").split(":")[0] for c in cases if c.find("failure") is not None] == ["providers.primary"]


def test_go_when_the_configuration_adds_provider_keys(tmp_path, sandbox_state):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {
        "sandbox": sandbox_host(sandbox_state, aragora_config=PRODUCTION_EXTRAS, aragora_expected_version="2.11.1")})

    result = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path), "aragora_strict": True})

    assert result.returncode == 0, result.stdout[-3000:]
    report = read_report(str(tmp_path))
    assert report["verdict"] == "GO"
    assert report["counts"]["FAIL"] == 0 and report["counts"]["WARN"] == 0


def test_strict_turns_a_warning_into_no_go(tmp_path, sandbox_state):
    extras = {k: v for k, v in PRODUCTION_EXTRAS.items() if k != "SENTRY_DSN"}
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {
        "sandbox": sandbox_host(sandbox_state, aragora_config=extras)})

    relaxed = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path / "relaxed")})
    strict = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path / "strict"),
                                                       "aragora_strict": True})

    assert relaxed.returncode == 0 and read_report(str(tmp_path / "relaxed"))["verdict"] == "GO"
    assert strict.returncode == 2 and read_report(str(tmp_path / "strict"))["verdict"] == "NO-GO"
    assert by_id(read_report(str(tmp_path / "strict")))["monitoring.sentry_dsn"]["status"] == "WARN"


def test_check_mode_runs_the_read_only_checks_and_writes_the_report(tmp_path, inventory):
    result = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)}, "--check")

    assert result.returncode == 2, result.stdout[-3000:]
    checks = by_id(read_report(str(tmp_path)))
    assert checks["health.readiness"]["status"] == "PASS"
    assert checks["monitoring.prometheus_metrics"]["evidence"]["aragora_samples"] > 0


def test_several_targets_give_one_report_each_beside_the_combined_one(tmp_path, sandbox_state):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {
        "production": sandbox_host(sandbox_state, aragora_config=PRODUCTION_EXTRAS),
        "staging": sandbox_host(sandbox_state, aragora_config={"ARAGORA_ENV": "staging"}),
    })

    result = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)})

    assert result.returncode == 2
    combined = read_report(str(tmp_path))
    assert combined["targets"]["production"]["verdict"] == "GO"
    assert combined["targets"]["staging"]["verdict"] == "NO-GO"
    assert by_id(combined, "staging")["security.environment_mode"]["message"] == \
        "Environment mode is staging, not production"
    for target in ("production", "staging"):
        own = read_report(str(tmp_path), "readiness-report-" + target)
        assert {check["target"] for check in own["checks"]} == {target}
        assert (tmp_path / ("readiness-report-%s.md" % target)).exists()


def test_no_secret_reaches_the_output_or_the_reports(tmp_path, sandbox_state, sandbox_env):
    api_token = secrets.token_urlsafe(32)
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {
        "sandbox": sandbox_host(sandbox_state, aragora_config=PRODUCTION_EXTRAS, aragora_api_token=api_token,
                                aragora_metrics_token=secrets.token_urlsafe(16))})

    result = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)}, "-vvv")

    secrets_used = {api_token, *PRODUCTION_EXTRAS.values()}
    secrets_used |= {sandbox_env[name] for name in ("ARAGORA_JWT_SECRET", "ARAGORA_API_TOKEN", "ARAGORA_ENCRYPTION_KEY")}
    secrets_used |= {url.split(":")[2].split("@")[0] for url in (sandbox_env["ARAGORA_REDIS_URL"],
                                                                 sandbox_env["DATABASE_URL"])}
    assert len(secrets_used) >= 8
    outputs = {"stdout": result.stdout, "stderr": result.stderr}
    outputs |= {path: open(path, encoding="utf-8").read() for path in glob.glob(str(tmp_path / "readiness-report*"))}
    assert len(outputs) == 6  # stdout, stderr and the report as JSON, Markdown, HTML and JUnit
    for where, text in outputs.items():
        leaked = [secret[:4] + "..." for secret in secrets_used if secret in text]
        assert not leaked, "secrets %s found in %s" % (leaked, where)
    # The test means something: -vvv does print the module arguments, where the secrets would have shown.
    assert "ANTHROPIC_API_KEY" in result.stdout and "api_token" in result.stdout


def test_unreachable_target_is_a_fail_in_the_report_not_a_missing_line(tmp_path, sandbox_state):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {
        "sandbox": sandbox_host(sandbox_state),
        "gone": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1},
    })

    result = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)})

    assert result.returncode == 2
    gone = by_id(read_report(str(tmp_path)), "gone")
    assert list(gone) == ["target.results"]
    assert gone["target.results"]["status"] == "FAIL"
    assert "port 1" in gone["target.results"]["message"]


def test_bad_option_is_a_clear_fail_for_that_target(tmp_path, sandbox_state):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {
        "sandbox": sandbox_host(sandbox_state, aragora_thresholds={"response_time_warn_msec": 100})})

    result = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)})

    assert result.returncode == 2
    message = by_id(read_report(str(tmp_path)))["target.results"]["message"]
    assert "thresholds: unknown key(s) response_time_warn_msec" in message
    assert "Traceback" not in result.stdout + result.stderr


def test_no_inventory_match_says_what_to_give(tmp_path):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"other": {}}, group="elsewhere")

    result = run_playbook("prelaunch.yml", inventory, {"aragora_report_dir": str(tmp_path)})

    assert result.returncode == 2
    assert "No inventory host matches 'aragora'" in result.stdout
    assert not os.path.exists(tmp_path / "readiness-report.json")
