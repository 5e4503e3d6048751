"""rollback.yml between two real Aragora releases from PyPI (2.11.1 -> 2.11.0), on the emulated Kubernetes whose
pods are real processes (sandbox/k8s/process_driver.py) and on a systemd host run by the ``systemctl`` stand-in.

What the servers say, found by running them: 2.11.1 sends ``X-API-Release: 2.11.1``; 2.11.0 sends
``X-API-Release: 2.0.3`` (a literal in its aragora/server/versioning/compat.py that went stale; 2.11.1 derives it
from the package version). So the release a rollback to 2.11.0 must see is 2.0.3, and a gate that expects the image
tag 2.11.0 refuses it - which the last test shows.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from sandbox.k8s.emulator import EmulatedCluster
from sandbox.k8s.process_driver import ProcessDriver, aragora_deployment, venv_python
from tests.support import systemctl_standin
from tests.support.playbook import run_playbook, write_inventory
from tests.support.systemd_host import get, link, make_host, wait_ready

IMAGE = "ghcr.io/aragora/aragora:%s"
# What each real release sends as X-API-Release (see the module docstring).
API_RELEASE = {"2.11.1": "2.11.1", "2.11.0": "2.0.3"}
LABELS = {"app.kubernetes.io/name": "aragora"}


def installed(release: str) -> str:
    python = venv_python(release)
    if not os.path.exists(python):
        pytest.fail("Aragora %s is not installed at %s: run scripts/setup.sh" % (release, python))
    return python


def api_release(api_url: str) -> str | None:
    return get(api_url + "/api/health")[1].get("X-API-Release")


class DrivenCluster:
    """The emulated cluster whose Deployment runs real Aragora processes, revision 1 = 2.11.0, 2 = 2.11.1."""

    def __init__(self, base: str, env: dict | None = None) -> None:
        self.driver = ProcessDriver({r: installed(r) for r in API_RELEASE}, env=env, base=os.path.join(base, "pods"))
        self.cluster = EmulatedCluster(None).start()
        self.driver.attach(self.cluster)
        self.api_url = self.driver.service("aragora", LABELS)

    def deploy(self, *releases: str) -> None:
        """One rollout per release, each waited for until its pods are Ready (so each is a revision)."""
        for release in releases:
            manifests = aragora_deployment(IMAGE % release)
            live = self.cluster.get("deployments.apps", "aragora")
            if live:
                live["spec"]["template"] = manifests[-1]["spec"]["template"]
                manifests = [live]
            self.cluster.apply(manifests)
            assert self.wait(lambda r=release: api_release(self.api_url) == API_RELEASE[r] and self.settled()), \
                "release %s did not become ready: %s" % (release, self.driver.running())

    def settled(self) -> bool:
        return len(self.driver.running()) == int(self.cluster.get("deployments.apps", "aragora")["spec"]["replicas"])

    @staticmethod
    def wait(predicate, timeout: float = 90.0) -> bool:
        return ProcessDriver.wait_until(predicate, timeout)

    def releases_running(self) -> list[str]:
        return sorted(p.release for p in self.driver.running())

    def stop(self) -> None:
        self.driver.close()
        self.cluster.stop()


@pytest.fixture
def driven(tmp_path):
    cluster = DrivenCluster(str(tmp_path))
    try:
        yield cluster
    finally:
        cluster.stop()


def k8s_inventory(tmp_path, driven: DrivenCluster, **extra) -> str:
    hostvars = {"aragora_kubeconfig": driven.cluster.kubeconfig, "aragora_api_url": driven.api_url,
                "aragora_report_dir": str(tmp_path / "reports"), "aragora_rollback_health_interval": 1,
                "aragora_rollback_health_timeout": 60, "aragora_rollback_poll_interval": 0.5,
                "aragora_rollback_wait_timeout": 90, **extra}
    return write_inventory(str(tmp_path / "inventory.yml"), {"cluster": hostvars}, "aragora_kubernetes")


def test_scale_to_zero_stops_the_processes_and_back_starts_them(driven):
    driven.deploy("2.11.1")
    first = driven.driver.running()
    assert [p.release for p in first] == ["2.11.1"] and api_release(driven.api_url) == "2.11.1"
    deployment = driven.cluster.get("deployments.apps", "aragora")
    deployment["spec"]["replicas"] = 0
    driven.cluster.apply([deployment])
    # The pod stays Terminating until its process has exited, then it is gone: no process, no answer.
    assert driven.wait(lambda: not driven.cluster.list("pods", "aragora"), 30)
    assert driven.driver.running() == [] and first[0].process.poll() is not None
    assert api_release(driven.api_url) is None
    deployment = driven.cluster.get("deployments.apps", "aragora")
    deployment["spec"]["replicas"] = 1
    driven.cluster.apply([deployment])
    assert driven.wait(lambda: api_release(driven.api_url) == "2.11.1")
    assert driven.driver.running()[0].process.pid != first[0].process.pid


def test_unknown_image_tag_never_becomes_ready(driven):
    driven.cluster.apply(aragora_deployment(IMAGE % "9.9.9"))
    pods = driven.cluster.list("pods", "aragora")
    assert len(pods) == 1
    assert pods[0]["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "ErrImagePull"}}
    assert driven.driver.running() == []
    assert not driven.cluster.get("deployments.apps", "aragora")["status"].get("availableReplicas")


def test_kubernetes_rollback_from_2_11_1_to_2_11_0_serves_2_11_0(tmp_path, driven):
    driven.deploy("2.11.0", "2.11.1")
    before = driven.driver.running()[0]
    result = run_playbook("rollback.yml", k8s_inventory(tmp_path, driven, aragora_rollback_expected_version="2.0.3"),
                          timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    # The real server behind the Service is 2.11.0 now; the 2.11.1 process has exited.
    assert api_release(driven.api_url) == "2.0.3"
    assert driven.releases_running() == ["2.11.0"] and before.process.poll() is not None
    assert "health GO, release 2.0.3" in result.stdout


def test_kubernetes_rollback_expecting_the_tag_is_refused_by_the_gate(tmp_path, driven):
    driven.deploy("2.11.0", "2.11.1")
    result = run_playbook("rollback.yml", k8s_inventory(tmp_path, driven, aragora_rollback_health_timeout=4),
                          timeout=240)
    assert result.returncode != 0
    # The gate read the real server: 2.11.0 calls itself 2.0.3, not its image tag.
    assert "Release version is 2.0.3, expected 2.11.0" in result.stdout
    assert driven.releases_running() == ["2.11.0"]


def test_systemd_rollback_from_2_11_1_to_2_11_0_serves_2_11_0(tmp_path):
    state = str(tmp_path / "systemd")
    systemctl = systemctl_standin.install(str(tmp_path / "bin"), state)
    releases = {"2.11.0": {"venv": os.path.dirname(os.path.dirname(installed("2.11.0"))), "version": "2.0.3"},
                "2.11.1": {"venv": os.path.dirname(os.path.dirname(installed("2.11.1"))), "version": "2.11.1"}}
    host = make_host(str(tmp_path / "host"), os.path.join(state, "units"), "aragora.service", releases, "2.11.1")
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"host": {
        "aragora_release_root": host["root"], "aragora_systemd_unit": host["unit"], "aragora_api_url": host["api_url"],
        "aragora_report_dir": str(tmp_path / "reports"), "aragora_rollback_health_interval": 1,
        "aragora_rollback_health_timeout": 60}}, "aragora_systemd")
    unit = systemctl_standin.Unit(state, host["unit"])
    try:
        subprocess.run([systemctl, "start", host["unit"]], check=True, timeout=60)
        assert wait_ready(host["api_url"]) and api_release(host["api_url"]) == "2.11.1"
        old_pid = unit.main_pid()
        result = run_playbook("rollback.yml", inventory, None, timeout=240, env={"PATH": os.path.dirname(systemctl)})
        assert result.returncode == 0, result.stdout + result.stderr
        assert link(host) == "releases/2.11.0"
        assert api_release(host["api_url"]) == "2.0.3" and unit.main_pid() not in (0, old_pid)
        assert systemctl_standin.process_start_time(old_pid) is None  # the 2.11.1 process has exited
    finally:
        subprocess.run([systemctl, "stop", host["unit"]], check=False, timeout=60)
