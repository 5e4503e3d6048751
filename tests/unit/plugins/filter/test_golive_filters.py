"""The filters the golive role calls: every one documented, bad input named, not a traceback."""

from __future__ import annotations

import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aragora.ops.plugins.filter.golive import FilterModule

FILTERS = FilterModule().filters()
FILTER_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "filter")


def test_every_filter_is_documented():
    assert sorted(FILTERS) == ["golive_handed_verdict", "golive_pre_release_backup", "golive_result",
                               "golive_result_with_watch", "golive_watch_plan"]
    for name in FILTERS:
        assert os.path.isfile(os.path.join(FILTER_DIR, name + ".yml")), name


def test_not_a_dict_and_a_missing_observation_are_named():
    with pytest.raises(AnsibleFilterError, match="golive_result expects a dict of observations, not list"):
        FILTERS["golive_result"]([])
    with pytest.raises(AnsibleFilterError, match="golive_result_with_watch: the observation 'watch' is missing"):
        FILTERS["golive_result_with_watch"]({})


def test_a_filter_returns_its_decision():
    assert FILTERS["golive_handed_verdict"]({"verdict": "GO"})["go"] is True
    assert FILTERS["golive_watch_plan"]({"kube_context": "prod"})["kind"] == "kubernetes"
