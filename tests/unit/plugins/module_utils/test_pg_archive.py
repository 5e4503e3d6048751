"""Archive bookkeeping and the restore's state machine, without a server: retention, manifests, the state file."""

from __future__ import annotations

import json
import os
import time

import pytest

from ansible_collections.aragora.ops.plugins.module_utils import pg_archive, pg_restore_run
from ansible_collections.aragora.ops.plugins.module_utils.pg_archive import Server
from ansible_collections.aragora.ops.plugins.module_utils.pg_restore_run import Restore, RestoreError, StateFile, Writers

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


def test_where_things_stand_says_how_to_finish_by_hand(tmp_path):
    state = StateFile(str(tmp_path), "aragora")
    state.data = {"run_id": "r1", "archive": "/b/a.dump", "safety_dump": "/b/pre.dump",
                  "writers": {"kind": "kubernetes", "namespace": "aragora", "deployment": "aragora", "replicas": 3},
                  "steps": {"stop_writers": {"status": "done"}, "restore": {"status": "failed"}}}
    state.save()
    restore = Restore(Server(database="aragora"), {"state_dir": str(tmp_path)})
    text = restore.where_things_stand()["where_things_stand"]
    assert "holds the previous data (untouched)" in text and "Safety dump: /b/pre.dump" in text
    assert "kubectl -n aragora scale deployment/aragora --replicas=3" in text
    history = restore.state.close("failed")
    assert history.endswith("restore-aragora-r1.json") and not os.path.exists(restore.state.path)


def test_writers_by_hand():
    assert Writers.by_hand({"kind": "systemd", "unit": "aragora.service", "was_active": True}) == \
        "systemctl start aragora.service"
    assert "not running before" in Writers.by_hand({"kind": "systemd", "unit": "a", "was_active": False})


def test_database_names_are_checked():
    with pytest.raises(RestoreError, match="only letters"):
        Restore(Server(database="bad-name;"), {"state_dir": "/nonexistent"})
    assert pg_restore_run.STEPS[0] == "plan" and pg_restore_run.STEPS[-2:] == ("start_writers", "finish")
