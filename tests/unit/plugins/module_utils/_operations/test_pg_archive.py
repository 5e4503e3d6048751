"""Archive bookkeeping and the restore's state machine, without a server: retention, manifests, the state file."""

from __future__ import annotations

import json
import os
import time

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive, pg_restore_run
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_archive import Server
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_restore_run import Restore, RestoreError, StateFile, Writers

DAY = 86400


def archive(directory, name: str, age_days: float, manifest_size: int | None = None, body: bytes = b"PGDMP") -> str:
    path = os.path.join(directory, name)
    with open(path, "wb") as handle:
        handle.write(body)
    if manifest_size is not None:
        with open(pg_archive.manifest_path(path), "w", encoding="utf-8") as handle:
            json.dump({"sha256": "x", "size_bytes": manifest_size}, handle)
    moment = time.time() - age_days * DAY
    os.utime(path, (moment, moment))
    return path


def test_retention_deletes_old_archives_and_their_manifests(tmp_path):
    old = archive(tmp_path, "aragora-1.dump", 40, manifest_size=5)
    new = archive(tmp_path, "aragora-2.dump", 1, manifest_size=5)
    result = pg_archive.apply_retention(str(tmp_path), keep_days=30)
    assert result["deleted"] == [old] and not os.path.exists(old)
    assert not os.path.exists(pg_archive.manifest_path(old)) and os.path.exists(new)


def test_retention_never_deletes_the_newest_good_archive(tmp_path):
    good = archive(tmp_path, "aragora-1.dump", 60, manifest_size=5)
    bad = archive(tmp_path, "aragora-2.dump", 50, manifest_size=999)  # cut short: size differs from its manifest
    result = pg_archive.apply_retention(str(tmp_path), keep_days=30)
    assert result["newest_good"] == good and os.path.exists(good)
    assert result["deleted"] == [bad]


def test_retention_dry_run_deletes_nothing(tmp_path):
    old = archive(tmp_path, "aragora-1.dump", 40)
    archive(tmp_path, "aragora-2.dump", 0)
    assert pg_archive.apply_retention(str(tmp_path), 30, dry_run=True)["deleted"] == [old]
    assert os.path.exists(old)


def test_manifest_path_and_unreadable_manifest(tmp_path):
    path = archive(tmp_path, "aragora-1.dump", 0)
    assert pg_archive.manifest_path(path).endswith("aragora-1.manifest.json")
    assert pg_archive.read_manifest(path) is None
    with open(pg_archive.manifest_path(path), "w", encoding="utf-8") as handle:
        handle.write("{not json")
    with pytest.raises(pg_archive.ArchiveError, match="cannot be read"):
        pg_archive.read_manifest(path)
    assert not pg_archive.is_good(path)


def test_password_is_scrubbed_from_messages():
    server = Server(password="s3cret-pw")
    assert server.scrub("FATAL: password s3cret-pw rejected") == "FATAL: password ******** rejected"
    assert server.env()["PGPASSWORD"] == "s3cret-pw"


def test_an_unfinished_restore_pins_its_archive(tmp_path):
    first = archive(tmp_path, "aragora-1.dump", 1)
    other = archive(tmp_path, "aragora-2.dump", 0)
    params = {"state_dir": str(tmp_path / "state"), "archive": first}
    restore = Restore(Server(database="aragora"), params)
    restore._begin()  # pylint: disable=protected-access
    writers = {"kind": "kubernetes", "namespace": "aragora", "deployment": "aragora", "replicas": 3}
    restore.state.mark("stop_writers", "done", "scaled", writers=writers)
    with pytest.raises(RestoreError, match="unfinished restore of aragora from .*aragora-1.dump"):
        Restore(Server(database="aragora"), {**params, "archive": other})
    resumed = Restore(Server(database="aragora"), {"state_dir": params["state_dir"]})
    assert resumed.archive == first and resumed.run_id == restore.run_id
    assert resumed.state.data["writers"]["replicas"] == 3  # what a rerun scales back to


def test_newest_archive_is_chosen_when_none_is_given(tmp_path):
    archive(tmp_path, "aragora-1.dump", 2)
    newest = archive(tmp_path, "aragora-2.dump", 1)
    restore = Restore(Server(database="aragora"), {"state_dir": str(tmp_path / "s"), "backup_dir": str(tmp_path)})
    assert restore.archive == newest


def _restore_with_state(tmp_path, server=None, **data):
    state = StateFile(str(tmp_path), "aragora")
    state.data = {"run_id": "r1", "archive": "/b/a.dump", "safety_dump": str(tmp_path / "pre.dump"),
                  "new_database": "aragora_restore_r1",
                  "writers": {"kind": "kubernetes", "namespace": "aragora", "deployment": "aragora", "replicas": 3},
                  "steps": {"stop_writers": {"status": "done"}, "restore": {"status": "failed"}}, **data}
    state.save()
    return Restore(server or Server(database="aragora"), {"state_dir": str(tmp_path)})


def test_where_things_stand_is_what_is_observed_and_says_how_to_finish_by_hand(tmp_path, monkeypatch):
    (tmp_path / "pre.dump").write_bytes(b"PGDMP")
    restore = _restore_with_state(tmp_path)
    present = {"aragora", "aragora_restore_r1"}
    monkeypatch.setattr(restore, "_exists", lambda name: name in present)
    monkeypatch.setattr(restore, "_sql", lambda sql, *args, **kwargs: [])
    text = restore.where_things_stand()["where_things_stand"]
    assert "holds the previous data (untouched)" in text and "Safety dump: %s" % (tmp_path / "pre.dump") in text
    assert "The restored copy aragora_restore_r1 exists" in text
    assert "kubectl -n aragora scale deployment/aragora --replicas=3" in text
    assert "The restore state is open" in text and "resumes it" in text
    present.discard("aragora_restore_r1")  # dropped meanwhile: the summary follows what is there now
    (tmp_path / "pre.dump").unlink()
    text = restore.where_things_stand()["where_things_stand"]
    assert "The restored copy aragora_restore_r1 does not exist" in text and "is MISSING from disk" in text
    history = restore.state.close("failed")
    assert history.endswith("restore-aragora-r1.json") and not os.path.exists(restore.state.path)
    text = restore.where_things_stand()["where_things_stand"]
    assert "The restore state is closed (kept as %s): a rerun starts a new restore" % history in text
    assert "resumes" not in text


def test_where_things_stand_claims_nothing_about_databases_it_cannot_observe(tmp_path):
    restore = _restore_with_state(tmp_path, Server("127.0.0.1", 1, database="aragora", connect_timeout=2))
    text = restore.where_things_stand()["where_things_stand"]
    assert "could not be observed" in text
    assert "holds" not in text and "restored copy" not in text


def test_writers_by_hand():
    assert Writers.by_hand({"kind": "systemd", "unit": "aragora.service", "was_active": True}) == \
        "systemctl start aragora.service"
    assert "not running before" in Writers.by_hand({"kind": "systemd", "unit": "a", "was_active": False})


def test_database_names_are_checked():
    with pytest.raises(RestoreError, match="only letters"):
        Restore(Server(database="bad-name;"), {"state_dir": "/nonexistent"})
    assert pg_restore_run.STEPS[0] == "plan" and pg_restore_run.STEPS[-2:] == ("start_writers", "finish")


def test_the_default_archive_is_never_a_safety_dump(tmp_path):
    backup = archive(tmp_path, "aragora-20261127T020000Z.dump", 2)
    archive(tmp_path, "aragora-pre-restore-20261130T020000Z.dump", 1)  # a safety dump written without a kind
    newer = archive(tmp_path, "aragora-20261130T030000Z.dump", 0.5)
    with open(pg_archive.manifest_path(newer), "w", encoding="utf-8") as handle:  # a safety dump by its manifest
        json.dump({"sha256": "x", "kind": pg_archive.KIND_SAFETY_DUMP}, handle)
    assert pg_archive.restorable_archives(str(tmp_path)) == [backup]
    assert Restore(Server(database="aragora"), {"state_dir": str(tmp_path / "s"),
                                                "backup_dir": str(tmp_path)}).archive == backup
    os.unlink(backup)
    with pytest.raises(RestoreError, match="only 2 safety dump"):
        Restore(Server(database="aragora"), {"state_dir": str(tmp_path / "s"), "backup_dir": str(tmp_path)})
    named = Restore(Server(database="aragora"), {"state_dir": str(tmp_path / "s"), "backup_dir": str(tmp_path),
                                                 "archive": newer})
    assert named.archive == newer  # named, a safety dump is restored like any archive


def test_archive_tables_come_from_the_table_of_contents():
    listing = """;
; Archive created at 2026-12-01 08:00:00 UTC
3589; 0 16542 TABLE DATA public _schema_versions aragora
3584; 0 16478 TABLE DATA public Users aragora
3590; 1259 16400 TABLE public debates aragora
3591; 0 16401 SEQUENCE SET public debates_id_seq aragora
"""
    assert pg_archive.archive_tables(listing) == {"public._schema_versions", 'public."Users"'}


def test_a_process_is_named_by_pid_and_start_time():
    me = {"pid": os.getpid(), "start": pg_restore_run.process_start(os.getpid())}
    assert me["start"] and pg_restore_run.controller_alive(me)
    assert not pg_restore_run.controller_alive({**me, "start": str(int(me["start"]) + 1)})  # a reused pid
    assert not pg_restore_run.controller_alive(None)
    assert pg_restore_run.find_controller() is None  # pytest does not run under ansible-playbook


def test_a_step_running_elsewhere_refuses_the_next_one_naming_it(tmp_path):
    import fcntl  # pylint: disable=import-outside-toplevel
    restore = _restore_with_state(tmp_path, Server("127.0.0.1", 1, database="aragora", connect_timeout=2))
    holder = {"pid": 4242, "step": "restore", "since": "2026-12-01T09:00:00Z", "host": "db1", "run_token": "t-1",
              "controller": None}
    with open(restore.state.lock_path, "w", encoding="utf-8") as handle:
        json.dump(holder, handle)
        handle.flush()
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # another open file: the step's flock conflicts with it
        with pytest.raises(pg_restore_run.RestoreBusy) as refused:
            with restore.exclusive("plan"):
                pytest.fail("ran while another step held the lock")
    message = str(refused.value)
    assert "step restore, process 4242 on db1" in message and "run t-1" in message
    assert "this run changed nothing" in message and not restore.locked


def test_a_new_run_takes_over_only_from_a_run_that_is_gone(tmp_path, monkeypatch):
    alive = {"pid": os.getpid(), "start": pg_restore_run.process_start(os.getpid())}
    restore = _restore_with_state(tmp_path, owner={"token": "old", "controller": alive, "host": os.uname()[1]})
    restore.params = {**restore.params, "run_token": "new"}
    with pytest.raises(pg_restore_run.RestoreBusy, match="another run is restoring aragora now"):
        restore._claim("plan")  # pylint: disable=protected-access
    with pytest.raises(pg_restore_run.RestoreBusy, match="run old now drives the restore"):
        restore._claim("restore")  # pylint: disable=protected-access
    monkeypatch.setattr(pg_restore_run, "controller_alive", lambda controller: False)
    restore._claim("plan")  # pylint: disable=protected-access
    assert restore.state.data["owner"]["token"] == "new" and restore.taken_over_from["token"] == "old"
    assert StateFile(str(tmp_path), "aragora").data["takeovers"][-1]["from"] == "old"
