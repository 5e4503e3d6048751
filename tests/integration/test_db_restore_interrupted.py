"""playbooks/db_restore.yml interrupted, raced and fed a bad archive, against a real PostgreSQL 15 (one private cluster
per test) with an emulated Kubernetes Deployment as the writers (scenario healthy_ha: 3 replicas).

Interruption is what an SRE's terminal does to it: ansible-playbook itself SIGKILLed (only that process: its workers,
the module and pg_restore are left to fend for themselves) at each step; then the rerun. Every test asserts the data
by checksum of its rows, that no process of the run is left, and that no restored copy is left behind."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import threading
import time
import uuid

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive
from tests.integration.test_db_restore import Run, output
from tests.support.playbook import BIN, ROOT

BACKUP_ROWS = 50000  # enough rows for pg_dump and pg_restore to be caught running
LIVE_EXTRA = 1234
CHECKSUM_SQL = "SELECT md5(string_agg(id || ':' || question, ',' ORDER BY id)) FROM debates"
SEED = """
CREATE TABLE debates (id serial PRIMARY KEY, question text NOT NULL);
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE);
INSERT INTO debates (question) SELECT 'question ' || g || repeat('x', 40) FROM generate_series(1, {rows}) AS g;
INSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, 12) AS g;
"""


def seed(pg, backups: str) -> dict:
    """The archive, and the checksums of the data it holds and of the newer live data it will replace."""
    pg.psql(SEED.format(rows=BACKUP_ROWS))
    backup_sum = pg.psql(CHECKSUM_SQL)[0][0]
    server = pg_archive.Server("127.0.0.1", pg.port, pg.user, pg.password, pg.database)
    archive = pg_archive.take_backup(server, backups)["archive_path"]
    pg.psql("INSERT INTO debates (question) SELECT 'after backup ' || g FROM generate_series(1, %d) AS g" % LIVE_EXTRA)
    return {"archive": archive, "backup_sum": backup_sum, "live_sum": pg.psql(CHECKSUM_SQL)[0][0]}


def run_processes(mark: str) -> list[str]:
    """Processes whose environment carries ``mark`` (every process of one test's runs), as "pid command"."""
    found = []
    needle = ("ARAGORA_OPS_TEST_RUN=%s" % mark).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as handle:
                if needle not in handle.read().split(b"\0"):
                    continue
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")[:200]
        except OSError:
            continue
        found.append("%s %s" % (entry, command))
    return found


def wait_for_no_process(mark: str, seconds: float = 20) -> list[str]:
    deadline = time.monotonic() + seconds
    left = run_processes(mark)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = run_processes(mark)
    return left


def start_playbook(run: Run, mark: str, extra: dict) -> subprocess.Popen:
    command = [os.path.join(BIN, "ansible-playbook"), "-i", run.inventory,
               os.path.join(ROOT, "playbooks", "db_restore.yml"), "-e", json.dumps(extra)]
    env = {**os.environ, "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "PATH": BIN + os.pathsep + os.environ["PATH"], "ARAGORA_OPS_TEST_RUN": mark}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def step_status(run: Run, step: str) -> str | None:
    try:
        state = run.open_state() or {}
    except ValueError:  # read while being replaced: next poll
        return None
    return (state.get("steps") or {}).get(step, {}).get("status")


def wait_for_step(run: Run, proc: subprocess.Popen, step: str, statuses=("started", "swapping", "done"),
                  seconds: float = 90) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = step_status(run, step)
        if status in statuses:
            return status
        assert proc.poll() is None, "the run ended before step %s: %s" % (step, proc.stdout.read()[-3000:])
        time.sleep(0.01)
    raise AssertionError("step %s never reached %s" % (step, statuses))


def databases_allow_connections(pg) -> dict[str, bool]:
    return {name: allowed == "t" for name, allowed in pg.psql(
        "SELECT datname, datallowconn FROM pg_database WHERE NOT datistemplate", "postgres")}


def assert_restored_once(pg, sums: dict, run_id: str | None = None) -> None:
    """The archive's rows live, the replaced rows kept once, no restored copy left, connections allowed everywhere."""
    assert pg.psql(CHECKSUM_SQL)[0][0] == sums["backup_sum"] and pg.count("users") == 12
    kept = [name for name in pg.databases() if name.startswith("aragora_pre_restore_")]
    assert len(kept) == 1 and pg.psql(CHECKSUM_SQL, kept[0])[0][0] == sums["live_sum"], pg.databases()
    if run_id:
        assert kept == ["aragora_pre_restore_%s" % run_id]
    assert sorted(pg.databases()) == sorted(["aragora", "postgres", kept[0]]), pg.databases()
    assert all(databases_allow_connections(pg).values()), databases_allow_connections(pg)


@pytest.mark.parametrize("step", ["safety_dump", "stop_writers", "restore", "verify", "start_writers"])
def test_ansible_playbook_killed_at_each_step_leaves_no_process_and_the_rerun_finishes(tmp_path, pg, k8s_cluster, step):
    cluster = k8s_cluster("healthy_ha")
    run = Run(tmp_path, pg, cluster, aragora_restore_jobs=1)
    sums = seed(pg, run.backups)
    mark = uuid.uuid4().hex
    # The safety dump is off by default: asked for, so that the kill can land in it (and leave no .partial).
    proc = start_playbook(run, mark, {"aragora_restore_confirm": True, "aragora_restore_safety_dump": True})
    try:
        wait_for_step(run, proc, step)
        os.kill(proc.pid, signal.SIGKILL)  # ansible-playbook only: its workers and the module are not signalled
        proc.wait(10)
        # The step in flight ends with its run (watchdog) and its pg_dump/pg_restore/psql with it.
        assert wait_for_no_process(mark) == [], "left running after the kill"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    state = run.open_state()
    assert state is not None and not state.get("finished_at")
    assert not glob.glob(os.path.join(run.backups, "*.partial"))  # an interrupted safety dump leaves no partial
    leftovers = [name for name in pg.databases() if name.startswith("aragora_restore_")]
    if state["steps"].get("restore", {}).get("status") == "done" and not state.get("swapped"):
        assert leftovers == [state["new_database"]]  # complete: the rerun verifies and swaps it
    else:
        assert leftovers == [], "a half-made copy outlived its run: %s" % leftovers
    # The live data is either untouched or already the archive's (killed after the swap), never anything else.
    assert pg.psql(CHECKSUM_SQL)[0][0] in (sums["live_sum"], sums["backup_sum"])
    rerun_mark = uuid.uuid4().hex
    rerun = start_playbook(run, rerun_mark, {"aragora_restore_confirm": True})
    out = rerun.communicate(timeout=300)[0]
    assert rerun.returncode == 0, out[-5000:]
    assert "RESUMING run %s" % state["run_id"] in out
    assert_restored_once(pg, sums, state["run_id"])
    assert run.replicas() == 3 and len(run.pods()) == 3  # the saved count, whatever the killed run left
    assert run.open_state() is None
    assert wait_for_no_process(rerun_mark) == []


def test_a_second_run_at_the_same_time_is_refused_and_changes_nothing(tmp_path, pg, k8s_cluster):
    cluster = k8s_cluster("healthy_ha")
    run = Run(tmp_path, pg, cluster, aragora_restore_jobs=1)
    sums = seed(pg, run.backups)
    mark = uuid.uuid4().hex
    first = start_playbook(run, mark, {"aragora_restore_confirm": True})
    try:
        wait_for_step(run, first, "stop_writers")
        second = run.playbook(extra={"aragora_restore_confirm": True}, timeout=300)
        first_out = first.communicate(timeout=300)[0]
    finally:
        if first.poll() is None:
            first.kill()
    text = " ".join(output(second).split())
    assert second.returncode != 0
    assert "Two restores of one database at once are refused" in text or \
        "two restores of one database at once are refused" in text, text[-3000:]
    assert first.returncode == 0, first_out[-5000:]
    assert_restored_once(pg, sums)
    assert run.replicas() == 3
    histories = glob.glob(os.path.join(run.state_dir, "restore-aragora-*.json"))
    assert len(histories) == 1 and json.load(open(histories[0]))["outcome"] == "succeeded"


def test_a_client_reconnecting_during_the_swap_is_kept_out_and_connections_come_back(tmp_path, pg, k8s_cluster):
    cluster = k8s_cluster("healthy_ha")
    run = Run(tmp_path, pg, cluster, aragora_restore_jobs=1)
    sums = seed(pg, run.backups)
    refusals, stop = [], threading.Event()

    def reconnecting_client() -> None:  # an application instance the scale-down missed: it reconnects at once
        while not stop.is_set():
            proc = subprocess.run(["psql", "-X", "-q", "-d", "aragora", "-c", "SELECT pg_sleep(0.05)"],
                                  env=pg.env(), capture_output=True, text=True, check=False, timeout=30)
            if "not currently accepting connections" in proc.stderr:
                refusals.append(proc.stderr.strip())

    client = threading.Thread(target=reconnecting_client, daemon=True)
    client.start()
    try:
        result = run.playbook(extra={"aragora_restore_confirm": True}, timeout=300)
    finally:
        stop.set()
        client.join(30)
    assert result.returncode == 0, output(result)[-5000:]
    assert refusals, "the client was never refused: the swap did not block new connections"
    assert_restored_once(pg, sums)


def test_the_default_archive_is_the_backup_not_the_previous_safety_dump(tmp_path, pg):
    run = Run(tmp_path, pg)
    sums = seed(pg, run.backups)
    # The safety dump is off by default (the swap keeps the replaced database whole): asked for, it lands beside
    # the backups, where the next run's default archive must not pick it.
    first = run.playbook(extra={"aragora_restore_confirm": True, "aragora_restore_safety_dump": True})
    assert first.returncode == 0, output(first)[-3000:]
    dumps = glob.glob(os.path.join(run.backups, "aragora-pre-restore-*.dump"))
    assert len(dumps) == 1 and os.path.getmtime(dumps[0]) > os.path.getmtime(sums["archive"])
    assert pg_archive.read_manifest(dumps[0])["kind"] == pg_archive.KIND_SAFETY_DUMP
    second = run.playbook(extra={"aragora_restore_confirm": True})
    assert second.returncode == 0, output(second)[-3000:]
    text = " ".join(second.stdout.split())
    assert "with archive %s" % sums["archive"] in text and "with archive %s" % dumps[0] not in text
    assert pg.psql(CHECKSUM_SQL)[0][0] == sums["backup_sum"]  # the backup again, not the data the first replaced


@pytest.mark.parametrize("tables,says", [
    ({}, "the manifest lists no tables"),
    ({"public.debates": BACKUP_ROWS}, "the manifest does not list 1 table(s) of the archive: public.users"),
])
def test_an_empty_or_partial_manifest_fails_verification_and_nothing_is_swapped(tmp_path, pg, tables, says):
    run = Run(tmp_path, pg)
    sums = seed(pg, run.backups)
    manifest_path = pg_archive.manifest_path(sums["archive"])
    manifest = json.load(open(manifest_path))
    manifest["tables"] = tables
    with open(manifest_path, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    result = run.playbook(extra={"aragora_restore_confirm": True})
    assert result.returncode != 0
    text = " ".join(output(result).split())
    assert says in text and "Not swapped in" in text, text[-4000:]
    assert "row counts match" not in text
    assert pg.psql(CHECKSUM_SQL)[0][0] == sums["live_sum"]  # live data untouched
    copies = [name for name in pg.databases() if name.startswith("aragora_restore_")]
    assert len(copies) == 1  # kept for inspection, and the summary says so because it is there
    final = text[text.rindex("DATABASE RESTORE FAILED"):]  # the run's last word, observed after the always section
    assert "The restored copy %s exists" % copies[0] in final
    # The state was closed by the always section: the summary must not promise that a rerun resumes.
    assert "The restore state is closed" in final and "resumes it" not in final, final
    (record,) = [json.load(open(p)) for p in glob.glob(os.path.join(run.reports, "incident-*-db-restore-*.json"))]
    assert record["outcome"] == "failed" and record["verification"]["row_counts_verified"] is False
