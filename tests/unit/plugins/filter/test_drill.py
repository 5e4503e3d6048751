"""The restore drill's filter: its name, bad input named, not a traceback; checks added to the result."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aragora.ops.plugins.filter.drill import FilterModule

FILTERS = FilterModule().filters()


def test_the_documented_filter_is_there():
    assert sorted(FILTERS) == ["db_restore_drill_result"]


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match="expects a dict of observations, not str"):
        FILTERS["db_restore_drill_result"]("drill")
    with pytest.raises(AnsibleFilterError, match="the observation 'database' is missing"):
        FILTERS["db_restore_drill_result"]({"host": "db"})


def test_a_failed_drill_has_its_checks():
    observed = {"host": "db", "database": "aragora", "drill": {"failed": True, "msg": "no archive"}}
    result = FILTERS["db_restore_drill_result"](observed)
    assert result["outcome"] == "failed" and [check["status"] for check in result["checks"]] == ["SKIP"]
