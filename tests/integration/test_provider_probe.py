"""The optional live provider key probe (provider_probe), against a fault server standing in for the providers."""

from __future__ import annotations

import pytest

# Through catalog: importing it registers every check.
from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import REGISTRY
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import Config
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import run_one
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext
from tests.support.fault_server import FaultServer

ACCEPTED = "sk-ant-api03-" + "Qw7Zp2Lk9Rt4Vb6Nm1Hy3Jd8Fs5Gc0Xe" * 3
REVOKED = "sk-ant-api03-" + "Zp2Lk9Rt4Vb6Nm1Hy3Jd8Fs5Gc0XeQw7" * 3


def primary(key: str, base_url: str, probe: bool = True, timeout: float = 2.0) -> dict:
    ctx = TargetContext(Config(variables={"ANTHROPIC_API_KEY": key}),
                        options={"provider_probe": probe, "provider_api_urls": {"anthropic": base_url},
                                 "timeout": timeout})
    return run_one(REGISTRY["providers.primary"], ctx)


@pytest.fixture(scope="module")
def provider():
    with FaultServer("provider_api", accepted_key=ACCEPTED) as server:
        yield server


def test_accepted_key_passes_saying_the_provider_accepted_it(provider):
    result = primary(ACCEPTED, provider.url)
    assert result["status"] == "PASS" and "accepted by the provider" in result["message"]
    assert ("GET", "/v1/models") in provider.seen


def test_refused_key_fails_naming_the_answer(provider):
    result = primary(REVOKED, provider.url)
    assert result["status"] == "FAIL"
    assert "The provider refuses ANTHROPIC_API_KEY" in result["message"] and "-> 401" in result["message"]
    assert REVOKED not in str(result)


def test_unreachable_provider_warns():
    with FaultServer("refused") as server:
        result = primary(ACCEPTED, server.url)
    assert result["status"] == "WARN" and "is unknown" in result["message"]


def test_hanging_provider_warns_within_the_timeout():
    with FaultServer("hang") as server:
        result = primary(ACCEPTED, server.url, timeout=1.0)
    assert result["status"] == "WARN" and "timeout" in result["message"]
    assert result["duration_ms"] < 5000


def test_probe_off_by_default_asks_nobody(provider):
    before = len(provider.seen)
    result = primary(REVOKED, provider.url, probe=False)
    assert result["status"] == "PASS" and len(provider.seen) == before
