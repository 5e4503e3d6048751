"""The readiness report's input gathered from each target's result fact."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aragora.ops.plugins.filter.readiness import (
    NO_RESULTS,
    prelaunch_check_groups,
    readiness_no_target,
    readiness_report_targets,
    readiness_results,
)


def test_checks_error_unreachable_and_missing_are_each_said():
    hostvars = {"a": {"prelaunch_readiness": {"checks": [{"id": "x"}], "scope": {"checks_not_run": 3}}},
                "b": {"prelaunch_readiness": {"error": "the check task failed"}},
                "c": {"prelaunch_readiness": {"unreachable": True, "msg": "ssh: connect refused"}},
                "d": {}, "e": {"golive_result": {"checks": []}}}
    assert readiness_results(["a", "b", "c", "d", "gone"], hostvars) == {
        "results": {"a": [{"id": "x"}], "b": "the check task failed", "c": "ssh: connect refused", "d": NO_RESULTS,
                    "gone": NO_RESULTS},
        "scopes": {"a": {"checks_not_run": 3}}}
    assert readiness_results(["a", "e"], hostvars, "golive_result")["results"] == {"a": NO_RESULTS, "e": []}


def test_names_must_be_a_list():
    with pytest.raises(AnsibleFilterError, match="expects a list of host names, not str"):
        readiness_results("aragora", {})


def test_the_report_targets_the_hosts_given_else_those_matched():
    assert readiness_report_targets([], ["web1"]) == ["web1"]
    assert readiness_report_targets(["db"], ["web1"]) == ["db"]
    with pytest.raises(AnsibleFilterError, match="readiness_report_targets expects the host names given"):
        readiness_report_targets("web1", [])


def test_no_target_message_names_the_limit():
    assert "and --limit db leaves none of them" in readiness_no_target(["web1"], "aragora", "db")
    assert "No inventory host matches 'aragora'" in readiness_no_target([], "aragora")


@pytest.mark.parametrize("run_tags, skip_tags, groups", [
    (["all"], [], ["environment", "database", "tls"]),
    (["all"], ["tls"], ["environment", "database"]),
    (["tls", "environment"], [], ["environment", "tls"]),
    (["tls"], ["tls"], []),
    (["smoke"], [], []),  # a tag naming no group selects none: the report then says nothing was judged
])
def test_check_groups_selected_by_tags(run_tags, skip_tags, groups):
    assert prelaunch_check_groups(["environment", "database", "tls"], run_tags, skip_tags) == groups


def test_check_groups_need_lists():
    with pytest.raises(AnsibleFilterError, match="prelaunch_check_groups expects ansible_run_tags"):
        prelaunch_check_groups(["tls"], "all", [])
