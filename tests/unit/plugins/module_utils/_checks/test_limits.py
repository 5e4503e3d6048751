"""Section 9, Resource Limits."""

from __future__ import annotations

import pytest
from tests.unit.plugins.module_utils.ops_fakes import NEUTRAL, make_ctx, run


@pytest.mark.parametrize("value, status", [
    ("0", "FAIL"), ("1", "PASS"), ("10", "PASS"), ("100", "PASS"), ("101", "FAIL"), ("-3", "FAIL"), ("ten", "FAIL"),
])
def test_max_concurrent_debates(value, status):
    result = run("limits.max_concurrent_debates", make_ctx({"ARAGORA_MAX_CONCURRENT_DEBATES": value}))
    assert result["status"] == status, result["message"]
    assert result["evidence"]["valid_range"] == [1, 100]
    if status == "PASS":
        assert result["evidence"]["ARAGORA_MAX_CONCURRENT_DEBATES"] == int(value)
        assert result["remediation"] == ""
    else:
        assert "ARAGORA_MAX_CONCURRENT_DEBATES" in result["remediation"]


@pytest.mark.parametrize("check_id, name", [("limits.rate_limit", "ARAGORA_RATE_LIMIT"),
                                            ("limits.ip_rate_limit", "ARAGORA_IP_RATE_LIMIT")])
@pytest.mark.parametrize("value, status", [("0", "FAIL"), ("1", "PASS"), ("10000", "PASS"), ("10001", "FAIL"),
                                           ("60/min", "FAIL")])
def test_rate_limits(check_id, name, value, status):
    result = run(check_id, make_ctx({name: value}))
    assert result["status"] == status, result["message"]
    assert result["evidence"]["valid_range"] == [1, 10000]


def test_out_of_range_message_names_range():
    result = run("limits.rate_limit", make_ctx({"ARAGORA_RATE_LIMIT": "10001"}))
    assert result["message"] == "Rate limit per token: ARAGORA_RATE_LIMIT=10001 is outside the valid range 1-10000"
    assert result["evidence"]["ARAGORA_RATE_LIMIT"] == 10001


@pytest.mark.parametrize("check_id, default", [("limits.max_concurrent_debates", 10), ("limits.rate_limit", 60),
                                               ("limits.ip_rate_limit", 120)])
def test_unset_warns_with_server_default(check_id, default):
    result = run(check_id, make_ctx(NEUTRAL))
    assert result["status"] == "WARN"
    assert "server default %d" % default in result["message"]
    assert result["evidence"]["default"] == default


@pytest.mark.parametrize("check_id", ["limits.max_concurrent_debates", "limits.rate_limit", "limits.ip_rate_limit"])
def test_no_configuration_skips(check_id):
    assert run(check_id, make_ctx())["status"] == "SKIP"
