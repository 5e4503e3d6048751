"""The real sandbox (Aragora 2.11.1, PostgreSQL 15, Redis 7, TLS) for the integration tests, started once."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os

import pytest

import sandbox
from sandbox.k8s.emulator import EmulatedCluster
from tests.support import pg_instance
from tests.support.playbook import ROOT


@contextlib.contextmanager
def own_sandbox_dir():
    """The first of build/test-sandbox, build/test-sandbox-2, ... that no other pytest session holds: each one is
    held by an flock on its .lock file beside it (released when the process ends, however it ends). A second session
    in the same checkout, or a pytest-xdist worker, gets a sandbox of its own instead of stopping the first's."""
    for number in itertools.count(1):
        directory = os.path.join(ROOT, "build", "test-sandbox" if number == 1 else "test-sandbox-%d" % number)
        os.makedirs(os.path.dirname(directory), exist_ok=True)
        with open(directory + ".lock", "w", encoding="utf-8") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            try:
                yield directory
            finally:  # the claim ends with the session, however the fixture using it ends
                fcntl.flock(lock, fcntl.LOCK_UN)
            return


@pytest.fixture(scope="session")
def sandbox_state():
    """A sandbox of the tests' own (build/test-sandbox), apart from the demo's; stopped when the session ends."""
    python = os.path.join(ROOT, "build", "aragora-venv", "bin", "python")
    with own_sandbox_dir() as directory:
        state = sandbox.up(directory, python)
        try:
            yield state
        finally:
            sandbox.down(directory)


@pytest.fixture(scope="session")
def sandbox_env(sandbox_state) -> dict[str, str]:
    """The sandbox server's own configuration, secrets included (for the tests that look for leaks)."""
    return sandbox.read_env_file(sandbox_state["paths"]["env_file"])


@pytest.fixture
def k8s_cluster():
    """Factory: k8s_cluster(scenario="healthy_ha", missing_crd_groups=..., faults=..., broken_images=...) -> a
    started EmulatedCluster (fresh port, own kubeconfig); all are stopped at teardown."""
    clusters: list[EmulatedCluster] = []

    def start(scenario: str | None = "healthy_ha", **options) -> EmulatedCluster:
        cluster = EmulatedCluster(scenario, **options)
        clusters.append(cluster)
        return cluster.start()

    try:
        yield start
    finally:
        for cluster in clusters:
            cluster.stop()


@pytest.fixture
def pg():
    """A private PostgreSQL 15 (tests/support/pg_instance.py) for one test, stopped by its PID at teardown."""
    instance = pg_instance.start()
    try:
        yield instance
    finally:
        instance.stop()
