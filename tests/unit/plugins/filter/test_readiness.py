"""The readiness report's input gathered from each target's result fact."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aragora.ops.plugins.filter.readiness import NO_RESULTS, readiness_results


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
