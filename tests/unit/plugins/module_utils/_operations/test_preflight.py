"""Pre-flight of the roles that change production: every bad input named by its variable, good ones normalised."""

from __future__ import annotations

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._operations import preflight


def problems(role, **inputs):
    return preflight.validate(role, inputs)[1]


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "localhost", "ftp://host", "http://", "https://:8080",
                                 "http://host:port", 8080])
def test_an_api_url_without_scheme_or_host_is_refused_naming_the_variable(url):
    found = problems("systemd_rollback", aragora_api_url=url)
    assert len(found) == 1 and found[0].startswith("aragora_api_url "), found


def test_good_inputs_pass_and_come_back_as_numbers_and_booleans():
    values, found = preflight.validate("kubernetes_rollback", {
        "aragora_api_url": "https://aragora.example.com", "aragora_rollback_health_timeout": "120",
        "aragora_rollback_health_interval": 3, "aragora_k8s_timeout": "2.5", "aragora_rollback_revision": "0",
        "aragora_rollback_resume_paused": "false", "aragora_k8s_namespace": "aragora"})
    assert found == []
    assert values["aragora_rollback_health_timeout"] == 120.0 and values["aragora_k8s_timeout"] == 2.5
    assert values["aragora_rollback_revision"] == 0 and values["aragora_rollback_resume_paused"] is False


@pytest.mark.parametrize("role,name", [
    ("systemd_rollback", "aragora_rollback_health_timeout"),
    ("systemd_rollback", "aragora_rollback_health_interval"),
    ("kubernetes_rollback", "aragora_k8s_timeout"),
    ("kubernetes_rollback", "aragora_rollback_wait_timeout"),
    ("db_restore", "aragora_restore_writers_timeout"),
    ("db_restore", "aragora_restore_timeout"),
    ("db_restore", "aragora_k8s_timeout"),
    ("golive", "aragora_smoke_debate_timeout"),
])
@pytest.mark.parametrize("value", [-1, "-1", 0, "soon", float("nan"), True])
def test_timeouts_of_zero_or_less_or_not_numbers_are_refused(role, name, value):
    found = problems(role, **{name: value})
    assert len(found) == 1 and found[0].startswith(name + " must be"), found


def test_every_problem_is_reported_at_once():
    found = problems("db_restore", aragora_api_url="db:8080", aragora_restore_writers_timeout=-1,
                     aragora_restore_jobs=0, aragora_db_port=70000, aragora_db_name="aragora; DROP",
                     aragora_restore_writers="helm")
    assert [p.split()[0] for p in found] == ["aragora_api_url", "aragora_restore_writers_timeout",
                                             "aragora_restore_jobs", "aragora_db_port", "aragora_db_name",
                                             "aragora_restore_writers"]
    message = preflight.failure_message("db_restore", found)
    assert message.startswith("Pre-flight of db_restore refused its inputs, nothing was changed: ")


def test_an_empty_api_url_is_allowed_where_it_means_not_used_only():
    assert problems("db_restore", aragora_api_url="") == []
    assert problems("golive", aragora_api_url="", aragora_ws_url="") == []
    assert problems("systemd_rollback", aragora_api_url="")[0].startswith("aragora_api_url must start with")
    assert problems("golive", aragora_ws_url="http://host")[0].startswith("aragora_ws_url must start with ws://")


def test_null_is_left_to_the_default_and_an_unknown_variable_is_a_wiring_mistake():
    assert problems("golive", aragora_rollback_health_timeout=None) == []
    found = problems("golive", aragora_no_such_thing=1)
    assert found and found[0].startswith("aragora_no_such_thing: not an input of golive's pre-flight")


@pytest.mark.parametrize("release", ["", "  ", "../2.10.0", "releases/2.10.0", ".."])
def test_a_release_that_is_not_a_directory_name_is_refused(release):
    assert problems("systemd_rollback", aragora_rollback_release=release)


def test_names_must_not_be_empty_and_counts_must_be_whole():
    assert problems("kubernetes_rollback", aragora_k8s_deployment="")
    assert problems("kubernetes_rollback", aragora_rollback_revision=1.5)
    assert problems("kubernetes_rollback", aragora_rollback_revision=-2)
    assert problems("golive", aragora_golive_phases=["prelaunch", "smok"])[0].startswith(
        "aragora_golive_phases unknown item(s) 'smok'")
    assert problems("golive", aragora_golive_watch_minutes=0.5) == []


def test_the_answer_fails_naming_every_problem_or_returns_the_validated_inputs():
    refused = preflight.answer("kubernetes_rollback", {"aragora_api_url": "aragora:8080", "aragora_k8s_timeout": 0})
    assert refused["failed"] and not refused["changed"] and len(refused["problems"]) == 2
    assert refused["msg"].startswith("Pre-flight of kubernetes_rollback refused its inputs, nothing was changed: ")
    assert "aragora_api_url must start with" in refused["msg"] and "aragora_k8s_timeout must be" in refused["msg"]
    passed = preflight.answer("kubernetes_rollback", {"aragora_k8s_timeout": "2", "aragora_rollback_revision": None})
    assert "failed" not in passed and passed["inputs"] == {"aragora_k8s_timeout": 2.0}
    assert passed["message"] == "1 input(s) of kubernetes_rollback are usable"


def test_the_answer_says_when_the_role_started_in_utc_also_when_it_refuses():
    import datetime
    at = datetime.datetime(2026, 12, 1, 16, 0, 5, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert preflight.answer("kubernetes_rollback", {}, now=lambda: at)["started"] == "2026-12-01T15:00:05+00:00"
    refused = preflight.answer("kubernetes_rollback", {"aragora_k8s_timeout": 0}, now=lambda: at)
    assert refused["failed"] and refused["started"] == "2026-12-01T15:00:05+00:00"
