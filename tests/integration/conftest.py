"""The real sandbox (Aragora 2.11.1, PostgreSQL 15, Redis 7, TLS) for the integration tests, started once."""

from __future__ import annotations

import os
import sys

import pytest

from tests.support.playbook import ROOT

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import sandbox  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def sandbox_state():
    """A sandbox of the tests' own (build/test-sandbox), apart from the demo's; stopped when the session ends."""
    directory = os.path.join(ROOT, "build", "test-sandbox")
    python = os.path.join(ROOT, "build", "aragora-venv", "bin", "python")
    state = sandbox.up(directory, python)
    try:
        yield state
    finally:
        sandbox.down(directory)


@pytest.fixture(scope="session")
def sandbox_env(sandbox_state) -> dict[str, str]:
    """The sandbox server's own configuration, secrets included (for the tests that look for leaks)."""
    return sandbox.read_env_file(sandbox_state["paths"]["env_file"])
