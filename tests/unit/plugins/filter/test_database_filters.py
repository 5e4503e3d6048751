"""The filters the db_restore (restore and drill) and db_backup roles call: names, bad input named, not a traceback."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aragora.ops.plugins.filter.database import FilterModule

FILTERS = FilterModule().filters()


def test_every_documented_filter_is_there():
    assert sorted(FILTERS) == ["db_backup_result", "db_restore_drill_result", "db_restore_postgres_result",
                               "db_restore_sqlite_result", "restore_step_failure"]


@pytest.mark.parametrize("not_a_dict, missing", [
    (("db_restore_postgres_result", "plan"), ("db_restore_sqlite_result", "data_dir")),
    (("db_restore_drill_result", "drill"), ("db_restore_drill_result", "database")),
])
def test_not_a_dict_and_a_missing_observation_are_named(not_a_dict, missing):
    name, value = not_a_dict
    with pytest.raises(AnsibleFilterError, match="%s expects a dict of observations, not str" % name):
        FILTERS[name](value)
    name, observation = missing
    with pytest.raises(AnsibleFilterError, match="%s: the observation '%s' is missing" % (name, observation)):
        FILTERS[name]({"host": "db"})


def test_step_failure_of_an_undefined_result():
    assert FILTERS["restore_step_failure"](None, "Step 1") == {"reason": "Step 1: failed", "where_things_stand": ""}


def test_a_failed_drill_has_its_checks():
    observed = {"host": "db", "database": "aragora", "drill": {"failed": True, "msg": "no archive"}}
    result = FILTERS["db_restore_drill_result"](observed)
    assert result["outcome"] == "failed" and [check["status"] for check in result["checks"]] == ["SKIP"]
