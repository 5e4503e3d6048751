"""Incident playbooks given an input that is wrong from the start: refused in pre-flight, naming the variable, with
nothing changed (the `current` symlink and the unit, the Deployment, the database all as they were); run against an
inventory without their group: a failure naming the group, not an exit 0 after "no hosts matched"; the health gate
never retries an error that cannot change."""

from __future__ import annotations

import os
import time

import pytest

from tests.integration.test_db_restore import LIVE_ROWS, Run, output, seed_and_back_up
from tests.support import systemctl_standin
from tests.support.playbook import run_playbook, write_inventory
from tests.support.systemd_host import link, make_host

IMAGE = "ghcr.io/aragora/aragora:%s"


@pytest.fixture
def systemd_host(tmp_path):
    """A release tree whose unit is stopped: a rollback that got past pre-flight would switch the link and start it."""
    bin_dir, state = str(tmp_path / "bin"), str(tmp_path / "systemd")
    systemctl = systemctl_standin.install(bin_dir, state)
    host = make_host(str(tmp_path / "a"), os.path.join(state, "units"), "aragora-a.service",
                     {"2.10.0": {}, "2.11.1": {}}, "2.11.1")
    return {**host, "bin": bin_dir, "systemctl": systemctl, "reports": str(tmp_path / "reports")}


def unit_state(host) -> str:
    import subprocess  # pylint: disable=import-outside-toplevel
    return subprocess.run([host["systemctl"], "is-active", host["unit"]], capture_output=True, text=True,
                          check=False, timeout=30).stdout.strip()


BAD_ROLLBACK_INPUTS = [
    ({"aragora_api_url": "127.0.0.1:8080"}, "aragora_api_url must start with http:// or https://"),
    ({"aragora_rollback_health_timeout": -1}, "aragora_rollback_health_timeout must be a number of seconds above 0"),
    ({"aragora_rollback_health_interval": 0}, "aragora_rollback_health_interval must be a number of seconds above 0"),
    ({"aragora_timeout": -2}, "aragora_timeout must be a number of seconds above 0"),
    ({"aragora_rollback_release": "../2.10.0"}, "aragora_rollback_release must be 'previous' or the name of a release"),
]


@pytest.mark.timed
@pytest.mark.parametrize("bad,says", BAD_ROLLBACK_INPUTS)
def test_systemd_rollback_refuses_a_bad_input_before_switching(systemd_host, tmp_path, bad, says):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"a": {
        "aragora_release_root": systemd_host["root"], "aragora_systemd_unit": systemd_host["unit"],
        "aragora_api_url": systemd_host["api_url"], "aragora_report_dir": systemd_host["reports"]}},
        "aragora_systemd")
    began = time.monotonic()
    result = run_playbook("rollback.yml", inventory, bad, env={"PATH": systemd_host["bin"]}, timeout=120)
    assert result.returncode != 0
    assert says in output(result) and "stopped before any change" in output(result), output(result)[-3000:]
    assert "Traceback" not in output(result)
    assert link(systemd_host) == "releases/2.11.1" and unit_state(systemd_host) != "active"
    assert "Restart the unit" not in result.stdout
    assert time.monotonic() - began < 30  # no health gate was waited for


@pytest.mark.parametrize("bad,says", [
    ({"aragora_api_url": "aragora.example.com"}, "aragora_api_url must start with http:// or https://"),
    ({"aragora_k8s_timeout": -1}, "aragora_k8s_timeout must be a number of seconds above 0, got -1"),
    ({"aragora_rollback_health_timeout": -1}, "aragora_rollback_health_timeout must be a number of seconds above 0"),
    ({"aragora_rollback_revision": -3}, "aragora_rollback_revision must be a whole number, 0 or more"),
])
def test_kubernetes_rollback_refuses_a_bad_input_before_rolling_back(k8s_cluster, tmp_path, bad, says):
    cluster = k8s_cluster("bad_release")
    before = cluster.get("deployments.apps", "aragora")
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"prod-k8s": {
        "aragora_kubeconfig": cluster.kubeconfig, "aragora_api_url": "http://127.0.0.1:9",
        "aragora_report_dir": str(tmp_path / "reports")}}, "aragora_kubernetes")
    result = run_playbook("rollback.yml", inventory, bad, timeout=120)
    assert result.returncode != 0
    assert says in output(result) and "stopped before any change" in output(result), output(result)[-3000:]
    assert "Traceback" not in output(result) and "pydantic" not in output(result).lower()
    after = cluster.get("deployments.apps", "aragora")
    assert after["spec"]["template"] == before["spec"]["template"]
    assert after["metadata"]["annotations"] == before["metadata"]["annotations"]


@pytest.mark.parametrize("bad,says", [
    ({"aragora_restore_writers_timeout": -1}, "aragora_restore_writers_timeout must be a number of seconds above 0"),
    ({"aragora_api_url": "aragora:8080"}, "aragora_api_url must start with http:// or https://"),
    ({"aragora_restore_jobs": 0}, "aragora_restore_jobs must be a whole number, 1 or more"),
    ({"aragora_db_name": "aragora-prod"}, "aragora_db_name must be a database name of letters, digits and _"),
])
def test_restore_refuses_a_bad_input_before_touching_anything(tmp_path, pg, k8s_cluster, bad, says):
    cluster = k8s_cluster("healthy_ha")
    run = Run(tmp_path, pg, cluster)
    seed_and_back_up(pg, run.backups)
    backups_before = sorted(os.listdir(run.backups))
    result = run.playbook(extra={"aragora_restore_confirm": True, **bad})
    assert result.returncode != 0
    assert says in output(result) and "nothing was changed" in output(result), output(result)[-3000:]
    assert pg.count("debates") == LIVE_ROWS and pg.databases() == ["aragora", "postgres"]
    assert run.replicas() == 3 and sorted(os.listdir(run.backups)) == backups_before
    assert not os.path.exists(run.state_dir)


@pytest.mark.parametrize("playbook,says", [
    ("rollback.yml", "aragora_systemd (set by aragora_systemd_targets) and aragora_kubernetes (set by "
                     "aragora_kubernetes_targets) match no host"),
    ("db_restore.yml", "aragora_db (set by aragora_db_targets) matches no host"),
])
def test_an_inventory_without_the_playbooks_group_fails_naming_it(tmp_path, playbook, says):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"web1": {}}, "aragora")
    result = run_playbook(playbook, inventory, {"aragora_restore_confirm": True}, timeout=120)
    assert result.returncode != 0, output(result)
    text = " ".join(output(result).split())
    assert says in text and inventory in text, output(result)[-3000:]
    within_limit = run_playbook(playbook, inventory, {}, "--limit", "web1", timeout=120)
    assert within_limit.returncode != 0 and "within --limit web1" in " ".join(output(within_limit).split())


def test_one_empty_group_of_two_is_reported_and_the_other_play_runs(systemd_host, tmp_path):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"a": {
        "aragora_release_root": systemd_host["root"], "aragora_systemd_unit": systemd_host["unit"],
        "aragora_api_url": systemd_host["api_url"], "aragora_report_dir": systemd_host["reports"]}},
        "aragora_systemd")
    result = run_playbook("rollback.yml", inventory, {}, "--check", env={"PATH": systemd_host["bin"]}, timeout=120)
    assert result.returncode == 0, output(result)[-3000:]
    text = " ".join(result.stdout.split())
    assert "aragora_kubernetes (set by aragora_kubernetes_targets) matches no host: its play does nothing" in text
    assert "TASK [aragora.ops.systemd_rollback : Switch the link to 2.10.0]" in text  # the systemd play ran (--check)
    assert link(systemd_host) == "releases/2.11.1"


@pytest.mark.timed
def test_health_gate_does_not_retry_a_parameter_error(tmp_path):
    playbook = tmp_path / "gate.yml"
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: aragora.ops.health_gate
      vars:
        aragora_api_url: "127.0.0.1:1"
        health_gate_timeout: 60
        health_gate_interval: 2
""")
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"localhost": {}}, "local")
    began = time.monotonic()
    result = run_playbook(str(playbook), inventory, {}, "-v", timeout=120)
    assert result.returncode != 0
    assert "api_url must start with http:// or https://" in output(result)
    assert "FAILED - RETRYING" not in output(result) and "attempts: 1" in result.stdout, result.stdout[-2000:]
    assert time.monotonic() - began < 20


@pytest.mark.parametrize("bad,says", [
    ({"aragora_golive_watch_interval": 0}, "aragora_golive_watch_interval must be a number of seconds above 0"),
    ({"aragora_rollback_health_timeout": -1}, "aragora_rollback_health_timeout must be a number of seconds above 0"),
    ({"aragora_api_url": "aragora.example.com"}, "aragora_api_url must start with http:// or https://"),
])
def test_golive_refuses_a_bad_input_before_any_check_or_smoke_debate(tmp_path, bad, says):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"web1": {
        "aragora_api_url": "http://127.0.0.1:9", "aragora_report_dir": str(tmp_path / "reports")}}, "aragora")
    result = run_playbook("golive.yml", inventory, {"aragora_golive_watch": True, **bad}, timeout=120)
    assert result.returncode != 0
    assert says in output(result) and "nothing was changed" in output(result), output(result)[-3000:]
    assert "TASK [aragora.ops.golive : Post-launch smoke test" not in result.stdout
    assert "TASK [aragora.ops.golive : Pre-launch health check" not in result.stdout
