"""The filters the rollback roles call: names, bad input named, not a traceback."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aragora.ops.plugins.filter.rollback import FilterModule

FILTERS = FilterModule().filters()


def test_every_documented_filter_is_there():
    assert sorted(FILTERS) == ["coordinated_rollback_application", "coordinated_rollback_result", "failure",
                               "golive_watch_result", "kubernetes_rollback_result", "systemd_rollback_result"]


def test_not_a_dict_and_a_missing_observation_are_named():
    with pytest.raises(AnsibleFilterError, match="expects a dict of observations, not list"):
        FILTERS["systemd_rollback_result"]([])
    with pytest.raises(AnsibleFilterError, match="the observation 'namespace' is missing"):
        FILTERS["kubernetes_rollback_result"]({})


def test_failure_of_an_undefined_result():
    assert FILTERS["failure"](None, "Task")["reason"] == "Task: failed"
