"""The readiness check (database.backup) and the restore pick the newest backup by one rule, so they judge and
restore the same archive."""

from __future__ import annotations

import json
import os
import time

from tests.unit.plugins.module_utils.ops_fakes import make_ctx, run

from ansible_collections.aragora.ops.plugins.module_utils._checks import database
from ansible_collections.aragora.ops.plugins.module_utils._checks.database import ArchiveCheck
from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_archive import Server
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_restore_run import Restore


def write(path, hours_ago: float) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("PGDMP")
    moment = time.time() - hours_ago * 3600
    os.utime(path, (moment, moment))
    return str(path)


def judged_archive(directory, monkeypatch) -> str:
    judged = []
    monkeypatch.setattr(database, "judge_archive",
                        lambda path, _timeout, _max: judged.append(path) or ArchiveCheck(True, toc_entries=1))
    result = run("database.backup", make_ctx(options={"backup_dir": str(directory)}))
    assert result["status"] == "PASS", result
    return judged[0]


def restored_archive(directory) -> str:
    return Restore(Server(database="aragora"), {"state_dir": str(directory / "state"),
                                                "backup_dir": str(directory)}).archive


def test_a_newer_safety_dump_is_neither_judged_nor_restored(tmp_path, monkeypatch):
    backup = write(tmp_path / "aragora-20261130T020000Z.dump", hours_ago=3)
    write(tmp_path / "aragora-pre-restore-20261130T040000Z.dump", hours_ago=1)  # safety dump by its name
    by_manifest = write(tmp_path / "aragora-20261130T050000Z.dump", hours_ago=0.5)
    with open(pg_archive.manifest_path(by_manifest), "w", encoding="utf-8") as handle:
        json.dump({"sha256": "x", "kind": pg_archive.KIND_SAFETY_DUMP}, handle)
    assert judged_archive(tmp_path, monkeypatch) == restored_archive(tmp_path) == backup


def test_a_backup_job_s_own_suffix_is_judged_and_restored_alike(tmp_path, monkeypatch):
    write(tmp_path / "aragora-old.dump", hours_ago=5)
    theirs = write(tmp_path / "aragora-new.pgdump", hours_ago=1)
    write(tmp_path / "aragora-now.pgdump.partial", hours_ago=0)  # still being written
    write(tmp_path / ".aragora-hidden.dump", hours_ago=0)
    write(tmp_path / "backup.log", hours_ago=0)
    assert judged_archive(tmp_path, monkeypatch) == restored_archive(tmp_path) == theirs
    backups, others = pg_archive.scan_backups(str(tmp_path))
    assert [os.path.basename(path) for path in backups] == ["aragora-old.dump", "aragora-new.pgdump"]
    assert others == ["backup.log"]


def test_no_backup_directory_means_no_default_archive(tmp_path):
    assert pg_archive.restorable_archives(str(tmp_path / "nowhere")) == []
