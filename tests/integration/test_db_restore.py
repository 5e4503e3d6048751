"""playbooks/db_restore.yml and db_restore_drill.yml against a real PostgreSQL 15 (one private cluster per test),
with the writers an emulated Kubernetes Deployment (scenario healthy_ha: 3 replicas) or a systemd unit run by the
``systemctl`` stand-in. Every test asserts the data: which rows each database holds afterwards, not just the exit."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import Config
from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import run_target
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext
from tests.support import pg_instance, systemctl_standin
from tests.support.playbook import BIN, ROOT, run_playbook, said, write_inventory

GROUP = "aragora_db"
BACKUP_ROWS = 500  # debates in the archive
LIVE_ROWS = 777  # debates in the live database when the restore starts (newer than the archive)

SEED = """
CREATE TABLE debates (id serial PRIMARY KEY, question text NOT NULL);
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE);
INSERT INTO debates (question) SELECT 'question ' || g FROM generate_series(1, {rows}) AS g;
INSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, 12) AS g;
"""


def seed_and_back_up(pg, backup_dir: str, extra_sql: str = "") -> str:
    """The archive holds BACKUP_ROWS debates; then the live database moves on to LIVE_ROWS."""
    pg.psql(SEED.format(rows=BACKUP_ROWS) + extra_sql)
    server = pg_archive.Server("127.0.0.1", pg.port, pg.user, pg.password, pg.database)
    archive = pg_archive.take_backup(server, backup_dir)["archive_path"]
    pg.psql("INSERT INTO debates (question) SELECT 'after backup ' || g FROM generate_series(1, %d) AS g"
            % (LIVE_ROWS - BACKUP_ROWS))
    return archive


class Run:
    """One restore setup: inventory, directories, the writers."""

    def __init__(self, tmp_path, pg, cluster=None, **hostvars) -> None:
        self.pg, self.cluster = pg, cluster
        self.backups = str(tmp_path / "backups")
        self.state_dir = str(tmp_path / "state")
        self.reports = str(tmp_path / "reports")
        writers = {"aragora_restore_writers": "kubernetes", "aragora_kubeconfig": cluster.kubeconfig} if cluster \
            else {"aragora_restore_writers": "none"}
        self.vars = {**pg.connection_vars(), "aragora_backup_dir": self.backups,
                     "aragora_restore_state_dir": self.state_dir, "aragora_report_dir": self.reports,
                     "aragora_restore_writers_timeout": 20, **writers, **hostvars}
        self.inventory = write_inventory(str(tmp_path / "inventory.yml"), {"db": self.vars}, GROUP)

    def playbook(self, *args, extra=None, playbook="db_restore.yml", **kwargs):
        return run_playbook(playbook, self.inventory, extra or {}, *args, **kwargs)

    def replicas(self) -> int:
        return int(self.cluster.get("deployments.apps", "aragora")["spec"]["replicas"])

    def pods(self) -> list:
        return [p for p in self.cluster.list("pods", "aragora")
                if p["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "aragora"]

    def open_state(self) -> dict | None:
        return pg_instance.read_restore_state(self.state_dir)


def output(result) -> str:
    return result.stdout + result.stderr


def test_happy_path_restores_verifies_and_scales_back(tmp_path, pg, k8s_cluster):
    cluster = k8s_cluster("healthy_ha")
    run = Run(tmp_path, pg, cluster)
    archive = seed_and_back_up(pg, run.backups)
    assert pg.count("debates") == LIVE_ROWS and run.replicas() == 3
    result = run.playbook(extra={"aragora_restore_confirm": True, "aragora_restore_safety_dump": True,
                                 "aragora_restore_checks": [{"name": "users", "sql": "SELECT count(*) = 12 FROM users"}]})
    assert result.returncode == 0, output(result)
    # The archive's data is live, the previous data kept under another name, the safety dump on disk.
    assert pg.count("debates") == BACKUP_ROWS and pg.count("users") == 12
    kept = [name for name in pg.databases() if name.startswith("aragora_pre_restore_")]
    assert len(kept) == 1 and pg.count("debates", kept[0]) == LIVE_ROWS
    dumps = glob.glob(os.path.join(run.backups, "aragora-pre-restore-*.dump"))
    assert len(dumps) == 1 and json.load(open(pg_archive.manifest_path(dumps[0])))["tables"]["public.debates"] == LIVE_ROWS
    assert "row counts match the manifest" in result.stdout and "1/1 SQL checks pass" in result.stdout
    assert run.replicas() == 3 and len(run.pods()) == 3
    assert run.open_state() is None  # closed, kept as history
    records = glob.glob(os.path.join(run.reports, "incident-*-db-restore-*.json"))
    assert records and json.load(open(records[0]))["outcome"] == "succeeded"
    assert os.path.basename(archive) in result.stdout


def test_missing_confirmation_refuses_and_says_what_would_be_replaced(tmp_path, pg, k8s_cluster):
    cluster = k8s_cluster("healthy_ha")
    run = Run(tmp_path, pg, cluster)
    seed_and_back_up(pg, run.backups)
    result = run.playbook()
    assert result.returncode != 0
    assert "Refusing to restore without confirmation" in output(result)
    assert "database aragora at 127.0.0.1:%d" % pg.port in output(result) and "%d rows" % (LIVE_ROWS + 12) in output(result)
    assert pg.count("debates") == LIVE_ROWS and pg.databases() == ["aragora", "postgres"]
    assert run.replicas() == 3 and run.open_state() is None


def test_check_mode_validates_reports_and_changes_nothing(tmp_path, pg, k8s_cluster):
    cluster = k8s_cluster("healthy_ha")
    run = Run(tmp_path, pg, cluster)
    seed_and_back_up(pg, run.backups)
    before = sorted(os.listdir(run.backups))
    result = run.playbook("--check", "-e", "aragora_restore_safety_dump=true")
    assert result.returncode == 0, output(result)
    assert "sha256 matches its manifest" in result.stdout and "Would then: take a safety dump" in result.stdout
    assert "The live schema is the schema in the backup (same tables and columns)" in said(result)
    assert pg.count("debates") == LIVE_ROWS and pg.databases() == ["aragora", "postgres"]
    assert sorted(os.listdir(run.backups)) == before and not os.path.exists(run.state_dir)
    assert run.replicas() == 3


def test_plan_says_how_the_schema_changed_since_the_archive(tmp_path, pg):
    """A release migrated the schema after the archive: the plain restore's plan (--check, and the refusal without
    confirmation) names the tables and columns added and dropped, so nobody runs the old release on the new schema."""
    run = Run(tmp_path, pg)
    seed_and_back_up(pg, run.backups)
    pg.psql("ALTER TABLE users ADD COLUMN locale text; ALTER TABLE debates DROP COLUMN question; "
            "CREATE TABLE release_notes (id serial PRIMARY KEY, note text)")
    changed = ("The live schema DIFFERS from the schema in the backup (tables added since the backup: "
               "public.release_notes; columns added: public.users.locale; columns dropped: public.debates.question)")
    checked = run.playbook("--check")
    assert checked.returncode == 0, output(checked)
    assert changed in said(checked), said(checked)
    refused = run.playbook()
    assert refused.returncode != 0 and "Refusing to restore without confirmation" in said(refused)
    assert changed in said(refused)
    assert pg.databases() == ["aragora", "postgres"] and "locale" in pg.psql(
        "SELECT string_agg(column_name, ',') FROM information_schema.columns WHERE table_name = 'users'")[0][0]


def test_corrupt_archive_is_refused_before_scaling_down(tmp_path, pg, k8s_cluster):
    cluster = k8s_cluster("healthy_ha")
    run = Run(tmp_path, pg, cluster)
    archive = seed_and_back_up(pg, run.backups)
    os.unlink(pg_archive.manifest_path(archive))  # nothing vouches for the bytes: every data block is read
    with open(archive, "r+b") as handle:
        handle.seek(os.path.getsize(archive) - 200)
        handle.write(b"\0" * 150)
    result = run.playbook(extra={"aragora_restore_confirm": True})
    assert result.returncode != 0
    assert "Step 2 - validate the archive" in output(result) and "nothing was touched" in output(result)
    assert "step: stop_writers" not in output(result)
    assert run.replicas() == 3 and len(run.pods()) == 3  # never scaled
    assert pg.count("debates") == LIVE_ROWS and pg.databases() == ["aragora", "postgres"]


def test_check_mode_on_a_corrupt_archive_fails_and_names_the_validation(tmp_path, pg):
    """One change from test_check_mode_validates_reports_and_changes_nothing: the archive is corrupt. A --check run
    is the operator's go for the restore, so it fails, naming the validation, and still changes nothing."""
    run = Run(tmp_path, pg)
    archive = seed_and_back_up(pg, run.backups)
    os.unlink(pg_archive.manifest_path(archive))
    with open(archive, "r+b") as handle:
        handle.seek(os.path.getsize(archive) - 200)
        handle.write(b"\0" * 150)
    result = run.playbook("--check")
    assert result.returncode != 0, output(result)
    assert "DATABASE RESTORE FAILED" in output(result) and "Step 2 - validate the archive" in output(result)
    assert "outcome: failed" in output(result) and "outcome: planned" not in output(result), output(result)
    assert pg.count("debates") == LIVE_ROWS and pg.databases() == ["aragora", "postgres"]
    assert not os.path.exists(run.state_dir)


def test_sha256_mismatch_is_refused(tmp_path, pg, k8s_cluster):
    cluster = k8s_cluster("healthy_ha")
    run = Run(tmp_path, pg, cluster)
    archive = seed_and_back_up(pg, run.backups)
    with open(archive, "ab") as handle:
        handle.write(b"tampered")
    result = run.playbook(extra={"aragora_restore_confirm": True})
    assert result.returncode != 0
    assert "is not the one its manifest describes" in output(result)
    assert run.replicas() == 3 and pg.count("debates") == LIVE_ROWS
    assert pg.databases() == ["aragora", "postgres"]


# A dump that cannot reload: mm_items' CHECK reads zz_allowed, whose rows pg_restore loads after mm_items' own.
UNRELOADABLE = """
CREATE TABLE zz_allowed (v int); INSERT INTO zz_allowed VALUES (1);
CREATE FUNCTION allowed(i int) RETURNS boolean LANGUAGE sql AS
  'SELECT EXISTS (SELECT 1 FROM public.zz_allowed WHERE v = i)';
CREATE TABLE mm_items (v int CHECK (public.allowed(v))); INSERT INTO mm_items VALUES (1);
"""


def test_pg_restore_failing_half_way_keeps_old_data_and_scales_back(tmp_path, pg, k8s_cluster):
    cluster = k8s_cluster("healthy_ha")
    run = Run(tmp_path, pg, cluster, aragora_restore_jobs=1)
    seed_and_back_up(pg, run.backups, UNRELOADABLE)
    result = run.playbook(extra={"aragora_restore_confirm": True})
    assert result.returncode != 0
    assert "Step 5 - restore into a new database" in output(result)
    assert "violates check constraint" in output(result) and "was not touched" in output(result)
    assert "DATABASE RESTORE FAILED" in output(result) and "the previous data (untouched)" in output(result)
    assert pg.count("debates") == LIVE_ROWS and pg.databases() == ["aragora", "postgres"]
    assert run.replicas() == 3 and len(run.pods()) == 3
    records = glob.glob(os.path.join(run.reports, "incident-*-db-restore-*.json"))
    assert json.load(open(records[0]))["outcome"] == "failed"


@pytest.mark.timed
def test_pods_that_never_terminate_time_out_and_scale_back(tmp_path, pg, k8s_cluster):
    cluster = k8s_cluster("healthy_ha")
    cluster.keep_terminating_pods()
    run = Run(tmp_path, pg, cluster, aragora_restore_writers_timeout=3)
    seed_and_back_up(pg, run.backups)
    began = time.monotonic()
    result = run.playbook(extra={"aragora_restore_confirm": True})
    assert result.returncode != 0
    assert "3 pod(s) still exist after 3 s" in output(result)
    assert time.monotonic() - began < 60
    assert pg.count("debates") == LIVE_ROWS and pg.databases() == ["aragora", "postgres"]
    assert run.replicas() == 3
    assert run.open_state() is None


def test_killed_between_scale_down_and_restore_then_rerun(tmp_path, pg, k8s_cluster):
    cluster = k8s_cluster("healthy_ha")
    run = Run(tmp_path, pg, cluster)
    seed_and_back_up(pg, run.backups)
    command = [os.path.join(BIN, "ansible-playbook"), "-i", run.inventory, os.path.join(ROOT, "playbooks",
               "db_restore.yml"), "-e", json.dumps({"aragora_restore_confirm": True})]
    env = {**os.environ, "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
           "PATH": BIN + os.pathsep + os.environ["PATH"]}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = run.open_state() or {}
        if (state.get("steps") or {}).get("stop_writers", {}).get("status") == "done":
            os.killpg(proc.pid, signal.SIGKILL)  # the run we started, by its own process group
            break
        time.sleep(0.02)
    proc.wait(10)
    state = run.open_state()
    assert state["steps"]["stop_writers"]["status"] == "done" and not state.get("swapped")
    assert run.replicas() == 0  # the interrupted run left the app down
    assert pg.count("debates") == LIVE_ROWS  # and the data as it was
    result = run.playbook(extra={"aragora_restore_confirm": True})
    assert result.returncode == 0, output(result)
    assert "RESUMING run %s" % state["run_id"] in result.stdout
    assert run.replicas() == 3 and len(run.pods()) == 3  # back to the saved count, not the 0 it found
    assert pg.count("debates") == BACKUP_ROWS
    kept = [name for name in pg.databases() if name.startswith("aragora_pre_restore_")]
    assert kept == ["aragora_pre_restore_%s" % state["run_id"]] and pg.count("debates", kept[0]) == LIVE_ROWS
    assert not [name for name in pg.databases() if "_restore_2" in name and not name.startswith("aragora_pre")]
    # By default no safety dump: the kept database above is the whole previous state, every row of it.
    assert not glob.glob(os.path.join(run.backups, "aragora-pre-restore-*.dump"))


def test_systemd_unit_is_stopped_and_started_again(tmp_path, pg):
    base = str(tmp_path)
    bin_dir = os.path.join(base, "bin")
    state = os.path.join(base, "systemd")
    systemctl = systemctl_standin.install(bin_dir, state)
    os.makedirs(os.path.join(state, "units"), exist_ok=True)
    with open(os.path.join(state, "units", "aragora-db-writer.service"), "w", encoding="utf-8") as handle:
        handle.write("[Service]\nExecStart=%s -c \"import time; time.sleep(3600)\"\n" % sys.executable)
    subprocess.run([systemctl, "start", "aragora-db-writer.service"], check=True, timeout=30)
    run = Run(tmp_path, pg, aragora_restore_writers="systemd", aragora_systemd_unit="aragora-db-writer.service")
    seed_and_back_up(pg, run.backups)
    pid_before = subprocess.run([systemctl, "show", "--property=MainPID", "--value", "aragora-db-writer.service"],
                                capture_output=True, text=True, check=True).stdout.strip()
    try:
        result = run.playbook(extra={"aragora_restore_confirm": True}, env={"PATH": bin_dir})
        assert result.returncode == 0, output(result)
        assert "unit aragora-db-writer.service stopped" in result.stdout
        assert "unit aragora-db-writer.service started again" in result.stdout
        pid_after = subprocess.run([systemctl, "show", "--property=MainPID", "--value", "aragora-db-writer.service"],
                                   capture_output=True, text=True, check=True).stdout.strip()
        assert pid_after not in ("0", pid_before)  # a new process: it was stopped, then started
        assert pg.count("debates") == BACKUP_ROWS
    finally:
        subprocess.run([systemctl, "stop", "aragora-db-writer.service"], check=False, timeout=30)


def test_drill_writes_evidence_that_prelaunch_accepts(tmp_path, pg):
    run = Run(tmp_path, pg)
    archive = seed_and_back_up(pg, run.backups)
    evidence_file = str(tmp_path / "drill" / "restore-drill.json")
    result = run.playbook(playbook="db_restore_drill.yml", extra={"aragora_restore_evidence_file": evidence_file})
    assert result.returncode == 0, output(result)
    evidence = json.load(open(evidence_file))
    assert evidence["result"] == "success" and evidence["archive"] == archive
    assert evidence["tables_restored"] == 2 and evidence["rows_restored"] == BACKUP_ROWS + 12
    assert evidence["counts_verified"] is True and evidence["finished_at"].endswith("Z")
    assert pg.databases() == ["aragora", "postgres"]  # the scratch database is gone
    assert pg.count("debates") == LIVE_ROWS  # the live database untouched
    # Prelaunch's checks of section 3 (run_target, what readiness_check runs) now find the backup and accept the drill.
    dsn = "postgresql://%s:%s@127.0.0.1:%d/%s" % (pg.user, pg.password, pg.port, pg.database)
    context = TargetContext(Config(variables={"DATABASE_URL": dsn}), options={
        "backup_dir": run.backups, "restore_evidence_file": evidence_file})
    checks = {c["id"]: c for c in run_target({"groups": ["database"]}, context)["checks"]}
    assert checks["database.restore_tested"]["status"] == "PASS", checks["database.restore_tested"]
    assert checks["database.restore_tested"]["evidence"]["archive"] == archive
    assert checks["database.backup"]["status"] == "PASS", checks["database.backup"]


def test_backup_role_installs_a_schedule_whose_backup_prelaunch_finds(tmp_path, pg):
    pg.psql(SEED.format(rows=BACKUP_ROWS))
    bin_dir, state = str(tmp_path / "bin"), str(tmp_path / "systemd")
    systemctl = systemctl_standin.install(bin_dir, state)
    backups = str(tmp_path / "backups")
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"db": {
        **pg.connection_vars(), "aragora_backup_dir": backups, "aragora_backup_keep_days": 7,
        "aragora_backup_lib_dir": str(tmp_path / "lib"), "aragora_backup_env_file": str(tmp_path / "etc" / "env"),
        "aragora_backup_unit_dir": os.path.join(state, "units"), "aragora_backup_python": sys.executable,
        # The stand-in runs services, not timers: the timer is installed and enabled, the service started once.
        "aragora_backup_timer_state": "stopped"}}, GROUP)
    stale = os.path.join(backups, "aragora-20200101T000000Z.dump")
    os.makedirs(backups)
    with open(stale, "wb") as handle:
        handle.write(b"PGDMP old")
    os.utime(stale, (time.time() - 40 * 86400,) * 2)
    result = run_playbook("db_backup.yml", inventory, {}, env={"PATH": bin_dir})
    assert result.returncode == 0, output(result)
    timer = open(os.path.join(state, "units", "aragora-db-backup.timer")).read()
    assert "OnCalendar=*-*-* 02:00:00" in timer and "Persistent=true" in timer
    assert subprocess.run([systemctl, "is-enabled", "aragora-db-backup.timer"], capture_output=True, text=True,
                          check=False).stdout.strip() == "enabled"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and pg_archive.newest_good(backups) in (None, stale):
        time.sleep(0.2)
    while time.monotonic() < deadline and os.path.exists(stale):  # retention runs after the dump
        time.sleep(0.2)
    archive = pg_archive.newest_good(backups)
    assert archive and archive != stale and not os.path.exists(stale), os.listdir(backups)
    manifest = pg_archive.read_manifest(archive)
    assert manifest["tables"] == {"public.debates": BACKUP_ROWS, "public.users": 12}
    assert manifest["sha256"] == pg_archive.sha256_of(archive) and manifest["server_version"].startswith("15.")
    assert pg.password not in open(os.path.join(state, "units", "aragora-db-backup.service")).read()
    assert pg.password not in output(result)
    context = TargetContext(Config(variables={}), options={"backup_dir": backups})
    checks = {c["id"]: c for c in run_target({"groups": ["database"]}, context)["checks"]}
    assert checks["database.backup"]["status"] == "PASS", checks["database.backup"]


def make_sqlite_data(data_dir: str, files: int = 25) -> None:
    import sqlite3  # pylint: disable=import-outside-toplevel
    os.makedirs(data_dir, exist_ok=True)
    for number in range(files):
        conn = sqlite3.connect(os.path.join(data_dir, "store_%02d.db" % number))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT)")
        conn.executemany("INSERT INTO items (body) VALUES (?)", [("row %d" % i,) for i in range(number + 10)])
        conn.commit()
        conn.close()


def sqlite_count(path: str) -> int:
    import sqlite3  # pylint: disable=import-outside-toplevel
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM items").fetchone()[0]
    finally:
        conn.close()


def test_sqlite_backup_and_restore_with_the_unit_stopped(tmp_path):
    from ansible_collections.aragora.ops.plugins.module_utils._operations import sqlite_archive  # pylint: disable=import-outside-toplevel
    data, backups = str(tmp_path / "data"), str(tmp_path / "sqlite-backups")
    make_sqlite_data(data)
    taken = sqlite_archive.backup(data, backups)
    assert len(taken["files"]) == 25 and all(f["integrity"] == "ok" for f in taken["files"].values())
    import sqlite3  # pylint: disable=import-outside-toplevel
    conn = sqlite3.connect(os.path.join(data, "store_03.db"))
    conn.execute("DELETE FROM items")  # the incident: data lost after the backup
    conn.commit()
    conn.close()
    bin_dir, state = str(tmp_path / "bin"), str(tmp_path / "systemd")
    systemctl = systemctl_standin.install(bin_dir, state)
    with open(os.path.join(state, "units", "aragora.service"), "w", encoding="utf-8") as handle:
        handle.write("[Service]\nExecStart=%s -c \"import time; time.sleep(3600)\"\n" % sys.executable)
    subprocess.run([systemctl, "start", "aragora.service"], check=True, timeout=30)
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"db": {
        "aragora_db_backend": "sqlite", "aragora_data_dir": data, "aragora_sqlite_backup_dir": backups}}, GROUP)
    try:
        refused = run_playbook("db_restore.yml", inventory, {}, env={"PATH": bin_dir})
        assert refused.returncode != 0 and "Refusing to restore without confirmation" in output(refused)
        assert sqlite_count(os.path.join(data, "store_03.db")) == 0
        result = run_playbook("db_restore.yml", inventory, {"aragora_restore_confirm": True}, env={"PATH": bin_dir})
        assert result.returncode == 0, output(result)
        assert sqlite_count(os.path.join(data, "store_03.db")) == 13  # the backup's rows are back
        assert sqlite_count(os.path.join(data, "store_24.db")) == 34
        safety = [name for name in os.listdir(backups) if name.startswith("aragora-sqlite-pre-restore-")]
        assert len(safety) == 1 and sqlite_count(os.path.join(backups, safety[0], "store_03.db")) == 0
        assert subprocess.run([systemctl, "is-active", "aragora.service"], capture_output=True, text=True,
                              check=False).stdout.strip() == "active"
    finally:
        subprocess.run([systemctl, "stop", "aragora.service"], check=False, timeout=30)


def test_sqlite_restore_refused_without_confirmation_fails_and_records_that_nothing_ran(tmp_path):
    """The refusal is the first stop: the record says which steps did not run, and the run fails with the reason."""
    from ansible_collections.aragora.ops.plugins.module_utils._operations import sqlite_archive  # pylint: disable=import-outside-toplevel
    data, backups, reports = str(tmp_path / "data"), str(tmp_path / "sqlite-backups"), str(tmp_path / "reports")
    make_sqlite_data(data, files=2)
    backup_set = sqlite_archive.backup(data, backups)["path"]
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"db": {
        "aragora_db_backend": "sqlite", "aragora_data_dir": data, "aragora_sqlite_backup_dir": backups,
        "aragora_report_dir": reports}}, GROUP)
    result = run_playbook("db_restore.yml", inventory, {})
    text = output(result)
    assert result.returncode != 0 and "DATABASE RESTORE FAILED on db (Step 1 - refuse without confirmation: " \
        "Refusing to restore without confirmation: the restore would replace 2 files" in text, text[-3000:]
    assert "is undefined" not in text, text[-3000:]
    records = glob.glob(os.path.join(reports, "incident-*-db-restore-*.json"))
    assert len(records) == 1, os.listdir(reports)
    with open(records[0], encoding="utf-8") as handle:
        record = json.load(handle)
    assert record["outcome"] == "failed" and record["to"] == backup_set
    assert record["verification"]["files_verified"] is False and record["verification"]["files"] is None
    assert [event["detail"] for event in record["events"]] == [
        record["events"][0]["detail"], "aragora.service: not run", "not run", "aragora.service: not run",
        "not checked"]
    assert record["events"][0]["detail"].startswith("would replace 2 files in %s" % data)
    assert sqlite_count(os.path.join(data, "store_01.db")) == 11  # nothing was touched


class SqliteHost:
    """A real Aragora 2.11.1 on SQLite (ARAGORA_DATA_DIR), run by the systemctl stand-in from a unit file, with a
    backup set of its real files taken while it runs, and then the incident: the probe rows deleted."""

    PROBE_ROWS = 7

    def __init__(self, tmp_path) -> None:
        from tests.support.systemd_host import make_host, wait_ready  # pylint: disable=import-outside-toplevel
        self.bin, state = str(tmp_path / "bin"), str(tmp_path / "systemd")
        self.systemctl = systemctl_standin.install(self.bin, state)
        self.host = make_host(str(tmp_path / "host"), os.path.join(state, "units"), "aragora-sqlite.service",
                              {"2.11.1": {}}, "2.11.1")
        self.data = os.path.join(self.host["root"], "data")
        self.backups, self.reports = str(tmp_path / "sqlite-backups"), str(tmp_path / "reports")
        self.ctl("start")
        assert wait_ready(self.host["api_url"]), self.ctl("show")
        self.probe = os.path.join(self.data, "core.db")  # one of the server's own files, written beside it
        self.sql("CREATE TABLE restore_probe (id INTEGER PRIMARY KEY); INSERT INTO restore_probe (id) "
                 "VALUES %s" % ", ".join("(%d)" % n for n in range(1, self.PROBE_ROWS + 1)))
        from ansible_collections.aragora.ops.plugins.module_utils._operations import sqlite_archive  # pylint: disable=import-outside-toplevel
        self.set = sqlite_archive.backup(self.data, self.backups)["path"]
        self.sql("DELETE FROM restore_probe")
        assert self.probe_rows() == 0

    def ctl(self, *args: str) -> str:
        return subprocess.run([self.systemctl, *args, self.host["unit"]], capture_output=True, text=True,
                              timeout=60, check=False).stdout.strip()

    def sql(self, script: str) -> None:
        import sqlite3  # pylint: disable=import-outside-toplevel
        conn = sqlite3.connect(self.probe, timeout=10)
        try:
            conn.executescript(script)
        finally:
            conn.close()

    def probe_rows(self) -> int:
        import sqlite3  # pylint: disable=import-outside-toplevel
        conn = sqlite3.connect(self.probe, timeout=10)
        try:
            return conn.execute("SELECT count(*) FROM restore_probe").fetchone()[0]
        finally:
            conn.close()

    def restore(self, **extra):
        inventory = write_inventory(os.path.join(os.path.dirname(self.backups), "inventory.yml"), {"db": {
            "aragora_db_backend": "sqlite", "aragora_data_dir": self.data, "aragora_sqlite_backup_dir": self.backups,
            "aragora_systemd_unit": self.host["unit"], "aragora_api_url": self.host["api_url"],
            "aragora_report_dir": self.reports, "aragora_restore_health_interval": 1, **extra}}, GROUP)
        return run_playbook("db_restore.yml", inventory, {"aragora_restore_confirm": True}, env={"PATH": self.bin})

    def records(self) -> list[dict]:
        found = []
        for path in sorted(glob.glob(os.path.join(self.reports, "incident-*-db-restore-*.json"))):
            with open(path, encoding="utf-8") as handle:
                found.append(json.load(handle))
        return found

    def stop(self) -> None:
        self.ctl("stop")


def test_sqlite_restore_of_a_real_server_passes_the_health_gate_and_writes_the_incident_record(tmp_path):
    host = SqliteHost(tmp_path)
    try:
        result = host.restore()
        assert result.returncode == 0, output(result)
        assert host.probe_rows() == SqliteHost.PROBE_ROWS  # the backup's rows are back
        assert host.ctl("is-active") == "active"
        record, = host.records()
        assert record["outcome"] == "succeeded" and record["kind"] == "db-restore"
        assert record["target"] == {"host": "db", "backend": "sqlite", "data_dir": host.data}
        assert record["to"] == host.set and record["from"] == host.data
        verification = record["verification"]
        assert verification["health"] == "GO" and verification["files_verified"] is True
        assert verification["files"] == len(sqlite_archive_files(host.set)) and verification["rows"] >= 7
        assert verification["safety_copy"].startswith(os.path.join(host.backups, "aragora-sqlite-pre-restore-"))
        assert [event["step"] for event in record["events"]] == ["validate", "stop unit", "restore", "start unit",
                                                                 "health"]
        assert record["events"][4]["detail"] == "GO"
        assert os.path.isfile(os.path.join(host.reports, os.path.basename(glob.glob(os.path.join(
            host.reports, "incident-*-db-restore-*.md"))[0])))
    finally:
        host.stop()


def test_sqlite_restore_whose_server_does_not_come_back_fails_on_the_health_gate(tmp_path):
    """One change: the release's configuration is broken before the restore (production without its secrets), so
    the server restarted on the restored files refuses to start. The files are restored; the run fails naming the
    health gate, and the record says so."""
    host = SqliteHost(tmp_path)
    try:
        with open(os.path.join(host.host["root"], "current", "release.env"), "w", encoding="utf-8") as handle:
            handle.write("ARAGORA_ENV=production\n")
        result = host.restore(aragora_restore_health_timeout=12)
        assert result.returncode != 0
        text = said(result)
        assert "DATABASE RESTORE FAILED on db (Wait until the server passes the health gate" in text, text[-3000:]
        assert "The files of %s were restored; the previous files are kept in" % host.data in text
        assert host.probe_rows() == SqliteHost.PROBE_ROWS
        record, = host.records()
        assert record["outcome"] == "failed" and record["verification"]["health"] == "NO-GO"
        assert record["verification"]["files_verified"] is True
        assert record["summary"].startswith("Restore of the SQLite files of %s FAILED: " % host.data)
    finally:
        host.stop()


def sqlite_archive_files(set_dir: str) -> list[str]:
    with open(os.path.join(set_dir, "manifest.json"), encoding="utf-8") as handle:
        return sorted(json.load(handle)["files"])


@pytest.mark.sandbox
def test_drill_against_the_sandbox_postgres_and_its_nightly_archive(tmp_path, sandbox_state, sandbox_env):
    """The sandbox's real PostgreSQL with Aragora's own schema, and the archive its backup step left (no manifest:
    the drill reads every data block instead of checking a sha256)."""
    import urllib.parse  # pylint: disable=import-outside-toplevel
    dsn = urllib.parse.urlsplit(sandbox_env["DATABASE_URL"])
    port = sandbox_state["ports"]["postgres"]
    subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                    sandbox_state["paths"]["pg_socket_dir"], "-p", str(port), "-d", "postgres", "-c",
                    "ALTER ROLE aragora CREATEDB"], check=True, capture_output=True, timeout=60)
    evidence_file = str(tmp_path / "restore-drill.json")
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"db": {
        "aragora_db_host": "127.0.0.1", "aragora_db_port": port, "aragora_db_user": dsn.username,
        "aragora_db_password": urllib.parse.unquote(dsn.password), "aragora_db_name": "aragora",
        "aragora_backup_dir": sandbox_state["paths"]["backup_dir"]}}, GROUP)
    result = run_playbook("db_restore_drill.yml", inventory, {"aragora_restore_evidence_file": evidence_file})
    assert result.returncode == 0, output(result)
    evidence = json.load(open(evidence_file))
    assert evidence["result"] == "success" and evidence["archive"].startswith(sandbox_state["paths"]["backup_dir"])
    assert evidence["tables_restored"] >= 18  # Aragora 2.11.1's tables (checks.database.EXPECTED_TABLES)
    assert urllib.parse.unquote(dsn.password) not in output(result)
    context = TargetContext(Config(variables={"DATABASE_URL": sandbox_env["DATABASE_URL"]}), options={
        "backup_dir": sandbox_state["paths"]["backup_dir"], "restore_evidence_file": evidence_file})
    checks = {c["id"]: c for c in run_target({"groups": ["database"]}, context)["checks"]}
    assert checks["database.restore_tested"]["status"] == "PASS", checks["database.restore_tested"]
