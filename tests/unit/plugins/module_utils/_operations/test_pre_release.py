"""Pre-release backups without a server: which archive a rollback takes, retention by release, the schema comparison,
the export commands, and prelaunch's rollback-readiness check."""

from __future__ import annotations

import json
import os
import time

import pytest
from tests.unit.plugins.module_utils.ops_fakes import make_ctx, run

from ansible_collections.aragora.ops.plugins.module_utils._checks import pre_release as pre_release_check
from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive, pre_release

DAY = 86400


def archive(directory, name: str, age_days: float, labels: dict | None = None) -> str:
    path = os.path.join(directory, name)
    with open(path, "wb") as handle:
        handle.write(b"PGDMP")
    manifest = {"sha256": "x", "size_bytes": 5, "finished_at": "2026-11-%02dT02:00:00Z" % max(1, 30 - int(age_days))}
    if labels:
        manifest["pre_release"] = labels
    with open(pg_archive.manifest_path(path), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    moment = time.time() - age_days * DAY
    os.utime(path, (moment, moment))
    return path


def release(running: str, going: str) -> dict:
    return {"running_release": running, "next_release": going}


def test_the_backup_taken_when_current_replaced_target_is_chosen(tmp_path):
    archive(tmp_path, "aragora-pre-release-1.dump", 9, release("2.9.0", "2.10.0"))
    wanted = archive(tmp_path, "aragora-pre-release-2.dump", 5, release("2.10.0", "2.11.0"))
    archive(tmp_path, "aragora-nightly.dump", 1)
    assert pre_release.find_backup(str(tmp_path), "2.11.0", "2.10.0")[0] == wanted


@pytest.mark.parametrize("current, target", [("2.11.1", "2.11.0"), ("2.11.0", "2.9.0")])
def test_no_backup_for_that_pair_is_refused_listing_what_exists(tmp_path, current, target):
    archive(tmp_path, "aragora-pre-release-2.dump", 5, release("2.10.0", "2.11.0"))
    with pytest.raises(pre_release.PreReleaseError) as error:
        pre_release.find_backup(str(tmp_path), current, target)
    message = str(error.value)
    assert "no pre-release backup of %s taken when %s went live" % (target, current) in message
    assert "aragora-pre-release-2.dump (before 2.10.0 -> 2.11.0" in message and "Nothing was changed" in message


def test_retention_keeps_the_pre_release_backups_of_the_last_n_releases_whatever_their_age(tmp_path):
    oldest = archive(tmp_path, "p1.dump", 200, release("2.8.0", "2.9.0"))
    kept = [archive(tmp_path, "p2.dump", 150, release("2.9.0", "2.10.0")),
            archive(tmp_path, "p3.dump", 100, release("2.10.0", "2.11.0"))]
    nightly_old = archive(tmp_path, "n1.dump", 60)
    newest = archive(tmp_path, "n2.dump", 0)
    result = pg_archive.apply_retention(str(tmp_path), keep_days=30, keep_releases=2)
    assert sorted(result["deleted"]) == sorted([oldest, nightly_old])
    assert result["pre_release_kept"] == sorted(kept)
    assert all(os.path.exists(path) for path in kept + [newest])


def test_retention_without_keep_releases_treats_them_as_any_archive(tmp_path):
    old = archive(tmp_path, "p1.dump", 100, release("2.10.0", "2.11.0"))
    archive(tmp_path, "n.dump", 0)
    assert pg_archive.apply_retention(str(tmp_path), keep_days=30)["deleted"] == [old]


def test_schema_difference_names_tables_and_columns():
    backup = {"public.users": {"id": "text", "email": "text"}, "public.old": {"id": "integer"}}
    live = {"public.users": {"id": "text", "email": "text", "locale": "text"}, "public.notes": {"id": "integer"}}
    diff = pre_release.schema_difference(backup, live)
    assert diff["differs"] and diff["tables_added"] == ["public.notes"] and diff["tables_dropped"] == ["public.old"]
    assert diff["columns_added"] == {"public.users": ["locale"]} and diff["columns_dropped"] == {}
    assert "application-only rollback would run the old release" in diff["message"] and "public.users.locale" in diff["message"]
    assert not pre_release.schema_difference(backup, backup)["differs"]
    assert pre_release.schema_difference(None, live)["compared"] is False


def test_created_column_prefers_created_at_and_needs_a_timestamp():
    columns = {"timestamp": "timestamp with time zone", "created_at": "timestamp with time zone"}
    assert pre_release.created_column(columns) == "created_at"
    assert pre_release.created_column({"created_at": "text"}) is None


def test_export_commands_copy_only_the_discarded_rows_from_the_kept_database():
    discarded = {"since": "2026-12-01 08:00:00+00", "tables": {
        "public.users": {"rows": 4, "column": "created_at"}, "public.notes": {"rows": 2}}}
    users, notes = pre_release.export_commands("aragora_pre_restore_1", discarded)
    assert users == ("psql -d aragora_pre_restore_1 -c \"\\copy (SELECT * FROM public.users WHERE created_at > "
                     "'2026-12-01 08:00:00+00') TO 'public.users.csv' CSV HEADER\"")
    assert "SELECT * FROM public.notes)" in notes


def test_backup_check_pass_and_fail():
    labels = release("2.11.0", "2.11.1")
    taken = {"archive": "/b/a.dump", "manifest": {"sha256": "s", "size_bytes": 9, "rows_total": 3, "tables": {"t": 3}},
             "verified": {"toc_entries": 12}}
    ok = pre_release_check.backup_check(labels, pre_release.postgres_taken(taken), None, time.monotonic())
    assert ok["status"] == "PASS" and ok["id"] == "golive.pre_release_backup" and "2.11.0 -> 2.11.1" in ok["message"]
    assert "pg_restore reads 12 entries" in ok["message"] and ok["evidence"]["backend"] == "postgres"
    bad = pre_release_check.backup_check(labels, None, "disk full", time.monotonic())
    assert bad["status"] == "FAIL" and "Do not switch" in bad["message"]
    skipped = pre_release_check.backup_check(labels, None, None, time.monotonic(), skipped="the server uses PostgreSQL")
    assert skipped["status"] == "SKIP" and "not taken (the server uses PostgreSQL)" in skipped["message"]
    assert skipped["remediation"]


def test_backup_check_of_a_sqlite_set():
    manifest = {"path": "/b/aragora-sqlite-pre-release-1", "data_dir": "/opt/aragora/data",
                "files": {"debates.db": {"size_bytes": 10, "tables": {"debates": 3, "votes": 2}},
                          "users.db": {"size_bytes": 5, "tables": {"users": 7}}}}
    ok = pre_release_check.backup_check(release("2.11.0", "2.11.1"), pre_release.sqlite_taken(manifest), None,
                                        time.monotonic())
    assert ok["status"] == "PASS" and "2 SQLite files of /opt/aragora/data, 3 tables, 12 rows" in ok["message"]
    assert ok["evidence"]["backend"] == "sqlite" and ok["evidence"]["archive"] == manifest["path"]


def test_prelaunch_check_finds_the_backup_of_the_running_release(tmp_path):
    archive(tmp_path, "aragora-pre-release-1.dump", 5, release("2.11.0", "2.11.1"))
    ok = run("database.pre_release_backup", make_ctx(options={"backup_dir": str(tmp_path),
                                                              "running_release": "2.11.1"}))
    assert ok["status"] == "PASS" and "before 2.11.1 replaced 2.11.0" in ok["message"]
    missing = run("database.pre_release_backup", make_ctx(options={"backup_dir": str(tmp_path),
                                                                   "running_release": "2.12.0"}))
    assert missing["status"] == "FAIL" and "(2.11.0 -> 2.11.1)" in missing["message"]
    unknown = run("database.pre_release_backup", make_ctx(options={"backup_dir": str(tmp_path)}))
    assert unknown["status"] == "SKIP" and "running release is not known" in unknown["message"]
