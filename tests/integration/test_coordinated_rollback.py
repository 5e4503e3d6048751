"""Go-live's pre-release backup and the coordinated rollback (rollback.yml -e aragora_rollback_database=true), with
real PostgreSQL 15 and real Aragora releases from PyPI: release A = 2.11.0, release B = 2.11.1.

Found by running them: 2.11.0 and 2.11.1 create the same tables in PostgreSQL at start (their storage modules differ
only in SQLite code), so B's start here is 2.11.1 behind the kind of entrypoint releases ship (``migrate && exec
server``) whose migration is ours: it adds a column to Aragora's ``users`` table and a table ``release_notes``, and
writes a row. Writes under B are then made as the application would make them (users created, notes written).

systemd: a release tree and unit run by the ``systemctl`` stand-in. Kubernetes: the emulated Deployment whose pods are
real processes (image tag 2.11.0 / 2.11.1-migrating).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import time

import pytest
import yaml

from sandbox.k8s.emulator import EmulatedCluster
from sandbox.k8s.process_driver import ProcessDriver, aragora_deployment, venv_python
from tests.support import pg_instance
from tests.support.playbook import BIN, ROOT, run_playbook, said
from tests.support.release_site import (
    A, API_RELEASE, B, NEW_USERS, SEED_USERS, SystemdSite, api_release, archive_checksums, checksums, columns,
    database_env, insert_users, release_b_entrypoint,
)
from tests.support.systemd_host import link


SNAPSHOT = "snapshot_of_the_prepared_site"  # a template database: pg.databases() does not list it


def observe(site: SystemdSite) -> tuple:
    """What a test may change on the site: the unit's process, the release link, the databases and their rows."""
    databases = site.pg.databases()
    return (site.unit.main_pid(), link(site.host), databases,
            checksums(site.pg, "aragora") if "aragora" in databases else None)


def copy_tree(source: str, destination: str) -> None:
    shutil.rmtree(destination, ignore_errors=True)
    if os.path.isdir(source):
        shutil.copytree(source, destination)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Set up once: A serving with its data, the pre-release backup taken by go-live, then B live with its migration
    and writes. Its database, backups and reports are kept as a snapshot, which each test starts from."""
    pg = pg_instance.start()
    site = SystemdSite(str(tmp_path_factory.mktemp("coordinated")), pg)
    try:
        site.ctl("start", site.host["unit"])
        site.serve(A)
        insert_users(pg, SEED_USERS, "a")
        site.archive = site.golive_b()
        site.truth = archive_checksums(pg, site.archive)
        insert_users(pg, NEW_USERS, "b")
        pg.psql("INSERT INTO release_notes (note) VALUES ('written by 2.11.1')")
        site.ctl("stop", site.host["unit"])  # a template is copied from a database nobody is connected to
        pg.psql("CREATE DATABASE %s TEMPLATE aragora IS_TEMPLATE true" % SNAPSHOT, "postgres")
        for directory in (site.backups, site.reports):
            copy_tree(directory, directory + ".snapshot")
        site.ctl("start", site.host["unit"])
        site.serve(B)
        site.observed = observe(site)
        yield site
    finally:
        site.stop()
        pg.stop()


def back_to_the_snapshot(site: SystemdSite) -> None:
    """B serving again on the prepared data, as if go-live had just been replayed (without replaying it)."""
    site.ctl("stop", site.host["unit"])
    for name in site.pg.databases():
        if name != "postgres":
            site.pg.psql('DROP DATABASE "%s" WITH (FORCE)' % name, "postgres")
    site.pg.psql("CREATE DATABASE aragora TEMPLATE %s" % SNAPSHOT, "postgres")
    os.unlink(os.path.join(site.host["root"], "current"))
    os.symlink(os.path.join("releases", B), os.path.join(site.host["root"], "current"))
    site.ctl("start", site.host["unit"])
    site.serve(B)
    site.observed = observe(site)


@pytest.fixture
def site(prepared):
    """The prepared site as go-live left it: its database and unit brought back only when a test changed them
    (the read-only tests share one setup), its backups, reports and restore state always."""
    if observe(prepared) != prepared.observed:
        back_to_the_snapshot(prepared)
    for directory in (prepared.backups, prepared.reports):
        copy_tree(directory + ".snapshot", directory)
    shutil.rmtree(prepared.state_dir, ignore_errors=True)
    assert prepared.open_state() is None and prepared.incidents() == []
    return prepared


ROLLBACK = {"aragora_rollback_database": True, "aragora_restore_confirm": True}


def assert_rolled_back(site: SystemdSite) -> dict:
    """A serves on the pre-release backup's data; B's rows are in the kept database; one state closed."""
    pg = site.pg
    assert link(site.host) == "releases/%s" % A
    site.serve(A)
    live = checksums(pg, "aragora")
    assert "public.release_notes" not in live and "locale" not in columns(pg, "aragora")
    # A's start writes nothing to these tables: the data is the backup's, row for row.
    assert live == site.truth
    kept = [name for name in pg.databases() if name.startswith("aragora_pre_restore_")]
    assert len(kept) == 1
    assert pg.count("users", kept[0]) == SEED_USERS + NEW_USERS and pg.count("release_notes", kept[0]) == 2
    assert "locale" in columns(pg, kept[0])
    assert site.open_state() is None
    assert not [name for name in pg.databases() if name.startswith("aragora_restore_")]  # no stray copy
    record = site.incidents()[-1]
    assert record["outcome"] == "succeeded" and (record["from"], record["to"]) == (B, A)
    return record


def test_golive_records_the_pre_release_backup(site):
    with open(site.archive[:-len(".dump")] + ".manifest.json", encoding="utf-8") as handle:
        manifest = json.load(handle)
    assert manifest["pre_release"] == {"running_release": A, "next_release": B, "taken_by": "site"}
    assert "public.users" in manifest["schema"] and "locale" not in manifest["schema"]["public.users"]
    with open(os.path.join(site.reports, "golive-report.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    check = next(c for c in report["checks"] if c["id"] == "golive.pre_release_backup")
    assert check["status"] == "PASS" and check["evidence"]["archive"] == site.archive
    assert "sha256 matches its manifest" in check["message"]


def test_check_mode_shows_the_plan_and_changes_nothing(site):
    pg = site.pg
    before = checksums(pg, "aragora")
    pid = site.unit.main_pid()
    result = site.run("rollback.yml", {"aragora_rollback_database": True}, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "%d row(s) written since the backup" % (NEW_USERS + 2) in said(result)
    assert "%d users" % NEW_USERS in said(result)
    assert "The live schema DIFFERS from the schema in the backup" in said(result), said(result)
    assert "columns added: public.users.locale" in said(result)
    assert checksums(pg, "aragora") == before and pg.databases() == ["aragora", "postgres"]
    assert link(site.host) == "releases/%s" % B and site.unit.main_pid() == pid
    assert site.open_state() is None and site.incidents() == []


def test_without_confirmation_the_prompt_says_what_would_be_discarded(site):
    pg = site.pg
    result = site.run("rollback.yml", {"aragora_rollback_database": True})
    assert result.returncode != 0
    assert "Refusing to restore without confirmation" in said(result)
    assert "%d users" % NEW_USERS in said(result)
    assert link(site.host) == "releases/%s" % B and pg.databases() == ["aragora", "postgres"]


@pytest.mark.parametrize("labels", [None, {"running_release": "2.10.0", "next_release": B}])
def test_missing_or_mismatched_backup_is_refused_with_nothing_changed(site, labels):
    pg = site.pg
    manifest_path = site.archive[:-len(".dump")] + ".manifest.json"
    with open(manifest_path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    if labels is None:
        os.unlink(site.archive)
        os.unlink(manifest_path)
    else:
        manifest["pre_release"] = labels
        with open(manifest_path, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle)
    before = checksums(pg, "aragora")
    pid = site.unit.main_pid()
    result = site.run("rollback.yml", ROLLBACK)
    assert result.returncode != 0
    assert "no pre-release backup of %s taken when %s went live" % (A, B) in said(result)
    listed = "Pre-release backups there: none" if labels is None else "(before 2.10.0 -> %s, taken" % B
    assert listed in said(result) and "Nothing was changed" in said(result)
    assert checksums(pg, "aragora") == before and pg.databases() == ["aragora", "postgres"]
    assert link(site.host) == "releases/%s" % B and site.unit.main_pid() == pid
    assert site.open_state() is None


def test_coordinated_rollback_brings_back_a_and_its_data(site):
    began = time.monotonic()
    result = site.run("rollback.yml", ROLLBACK)
    print("coordinated rollback (systemd), wall time: %.1f s" % (time.monotonic() - began))
    assert result.returncode == 0, result.stdout + result.stderr
    record = assert_rolled_back(site)
    discarded = record["verification"]["discarded"]
    # B's writes are counted, and the export commands name the kept database.
    assert discarded["aragora"]["users"] == NEW_USERS
    assert discarded["tables"]["public.release_notes"]["rows"] == 2
    assert discarded["tables"]["public.users"]["rows"] == NEW_USERS
    assert any("release_notes" in command for command in discarded["export_commands"])
    assert record["verification"]["schema"]["columns_added"] == {"public.users": ["locale"]}
    assert record["verification"]["health"] == "GO" and record["verification"]["expected_version"] == "2.0.3"
    assert "aragora_rollback_results:" in result.stdout


@pytest.mark.parametrize("step", ["stop_writers", "restore", "verify", "switch_release", "start_writers"])
def test_killed_after_each_step_then_rerun_ends_the_same(site, step):
    command = [os.path.join(BIN, "ansible-playbook"), "-i", site.inventory, os.path.join(ROOT, "playbooks",
               "rollback.yml"), "-e", json.dumps(ROLLBACK)]
    env = {**os.environ, "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
           "PATH": os.pathsep.join((os.path.dirname(site.systemctl), BIN, os.environ["PATH"]))}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        state = site.open_state() or {}
        if (state.get("steps") or {}).get(step, {}).get("status") == "done":
            os.killpg(proc.pid, signal.SIGKILL)  # the run we started, by its own process group
            killed = True
            break
        time.sleep(0.02)
    proc.wait(30)
    assert killed, "the run ended before step %s was recorded done" % step
    assert site.open_state()["steps"][step]["status"] == "done"
    result = site.run("rollback.yml", ROLLBACK)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RESUMING run" in said(result)
    assert_rolled_back(site)


# ---- Kubernetes -------------------------------------------------------------------------------------------------

IMAGE = "ghcr.io/aragora/aragora:%s"


def test_kubernetes_coordinated_rollback(tmp_path, pg):
    entry = release_b_entrypoint(str(tmp_path / "release-b"), pg)
    driver = ProcessDriver({A: venv_python(A), B: entry}, env=database_env(pg), base=str(tmp_path / "pods"))
    cluster = EmulatedCluster(None).start()
    try:
        driver.attach(cluster)
        api_url = driver.service("aragora", {"app.kubernetes.io/name": "aragora"})
        cluster.apply(aragora_deployment(IMAGE % A))
        assert driver.wait_until(lambda: api_release(api_url) == API_RELEASE[A], 90)
        insert_users(pg, SEED_USERS, "a")
        backups, reports = str(tmp_path / "backups"), str(tmp_path / "reports")
        hostvars = {"ansible_connection": "local", "ansible_python_interpreter": os.path.join(BIN, "python"),
                    **pg.connection_vars(), "aragora_kubeconfig": cluster.kubeconfig, "aragora_api_url": api_url,
                    "aragora_backup_dir": backups, "aragora_report_dir": reports,
                    "aragora_restore_state_dir": str(tmp_path / "state"), "aragora_rollback_health_interval": 1,
                    "aragora_rollback_health_timeout": 60, "aragora_restore_writers_timeout": 60,
                    "aragora_rollback_expected_version": API_RELEASE[A]}
        inventory = str(tmp_path / "inventory.yml")
        with open(inventory, "w", encoding="utf-8") as handle:
            yaml.safe_dump({"all": {"hosts": {"cluster": hostvars},
                                    "children": {"aragora": {"hosts": {"cluster": {}}},
                                                 "aragora_kubernetes": {"hosts": {"cluster": {}}}}}}, handle)
        golive = run_playbook("golive.yml", inventory, {"aragora_golive_phases": ["pre_release_backup"],
                                                        "aragora_golive_release": B,
                                                        "aragora_golive_running_release": A,
                                                        "aragora_report_dir": reports})
        assert golive.returncode == 0, golive.stdout + golive.stderr
        archive, = glob.glob(os.path.join(backups, "aragora-pre-release-*.dump"))
        truth = archive_checksums(pg, archive)
        deployment = cluster.get("deployments.apps", "aragora")
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = IMAGE % B
        cluster.apply([deployment])
        assert driver.wait_until(lambda: api_release(api_url) == API_RELEASE[B] and len(driver.running()) == 1, 90)
        insert_users(pg, NEW_USERS, "b")
        result = run_playbook("rollback.yml", inventory, ROLLBACK, timeout=400)
        assert result.returncode == 0, result.stdout + result.stderr
        assert api_release(api_url) == API_RELEASE[A] and [p.release for p in driver.running()] == [A]
        assert checksums(pg, "aragora") == truth
        kept, = [name for name in pg.databases() if name.startswith("aragora_pre_restore_")]
        assert pg.count("users", kept) == SEED_USERS + NEW_USERS
        record, = [json.load(open(path, encoding="utf-8"))
                   for path in glob.glob(os.path.join(reports, "incident-*coordinated-rollback*.json"))]
        assert record["verification"]["discarded"]["aragora"]["users"] == NEW_USERS
        assert (record["from"], record["to"], record["outcome"]) == (B, A, "succeeded")
    finally:
        driver.close()
        cluster.stop()
