"""SQLite backup sets: pre-release labels, retention like PostgreSQL's, the default set, where the server keeps them."""

from __future__ import annotations

import os
import sqlite3
import time

from ansible_collections.aragora.ops.plugins.module_utils._operations import sqlite_archive

DAY = 86400


def make_data(directory, rows: int = 3) -> str:
    os.makedirs(directory, exist_ok=True)
    conn = sqlite3.connect(os.path.join(directory, "debates.db"))
    conn.execute("CREATE TABLE debates (id INTEGER PRIMARY KEY, topic TEXT)")
    conn.executemany("INSERT INTO debates (topic) VALUES (?)", [("t%d" % n,) for n in range(rows)])
    conn.commit()
    conn.close()
    return str(directory)


def age(set_dir: str, days: float, order: int = 0) -> None:
    stamp = time.time() - days * DAY + order  # order: sets taken within one second, in the order they were taken
    os.utime(os.path.join(set_dir, sqlite_archive.MANIFEST), (stamp, stamp))


def test_a_pre_release_set_carries_its_labels_and_validates(tmp_path):
    data = make_data(tmp_path / "data")
    taken = sqlite_archive.backup(data, str(tmp_path / "b"), prefix=sqlite_archive.PRE_RELEASE_PREFIX,
                                  pre_release={"running_release": "2.11.0", "next_release": "2.11.1"})
    assert os.path.basename(taken["path"]).startswith("aragora-sqlite-pre-release-")
    labels = sqlite_archive.validate(taken["path"])["pre_release"]
    assert labels == {"running_release": "2.11.0", "next_release": "2.11.1"}
    assert taken["files"]["debates.db"]["tables"] == {"debates": 3}
    assert [pair[0] for pair in sqlite_archive.pre_release_sets(str(tmp_path / "b"))] == [taken["path"]]


def test_retention_keeps_the_newest_and_each_releases_pre_release_set_whatever_their_age(tmp_path):
    data, backups = make_data(tmp_path / "data"), str(tmp_path / "b")
    releases = [("2.9.0", "2.10.0"), ("2.10.0", "2.11.0"), ("2.11.0", "2.11.1")]
    pre = []
    for running, going in releases:
        pre.append(sqlite_archive.backup(data, backups, prefix=sqlite_archive.PRE_RELEASE_PREFIX,
                                         pre_release={"running_release": running, "next_release": going})["path"])
    old_plain = sqlite_archive.backup(data, backups)["path"]
    newest = sqlite_archive.backup(data, backups)["path"]
    for order, path in enumerate(pre + [old_plain, newest]):
        age(path, 90, order)
    dry = sqlite_archive.apply_retention(backups, keep_days=30, keep_releases=2, dry_run=True)
    assert sorted(dry["deleted"]) == sorted([pre[0], old_plain]) and os.path.isdir(pre[0])
    done = sqlite_archive.apply_retention(backups, keep_days=30, keep_releases=2)
    assert sorted(done["deleted"]) == sorted([pre[0], old_plain])
    assert sorted(done["kept"]) == sorted([pre[1], pre[2], newest]) and not os.path.exists(pre[0])


def test_the_default_set_to_restore_is_never_a_restores_safety_copy(tmp_path):
    data, backups = make_data(tmp_path / "data"), str(tmp_path / "b")
    taken = sqlite_archive.backup(data, backups)
    safety = sqlite_archive.backup(data, backups, prefix=sqlite_archive.SAFETY_PREFIX)
    # "aragora-sqlite-pre-restore-..." sorts after "aragora-sqlite-2026...": by name the safety copy would win.
    assert sorted([taken["path"], safety["path"]])[-1] == safety["path"]
    assert sqlite_archive.newest_set(backups) == taken["path"]


def test_where_the_server_keeps_its_sqlite_files():
    found = sqlite_archive.server_storage({"ARAGORA_DATA_DIR": "/opt/aragora/data"}, "/opt/aragora/.env")
    assert found["backend"] == "sqlite" and found["data_dir"] == "/opt/aragora/data" and not found["problem"]
    legacy = sqlite_archive.server_storage({"ARAGORA_NOMIC_DIR": "/srv/nomic"}, "/e")
    assert legacy["data_dir"] == "/srv/nomic" and legacy["from"] == "ARAGORA_NOMIC_DIR in /e"
    on_pg = sqlite_archive.server_storage({"ARAGORA_DB_BACKEND": "Postgres", "ARAGORA_DATA_DIR": "/d"}, "/e")
    assert on_pg["backend"] == "postgres" and "aragora_db_host is not set" in on_pg["problem"]
    unset = sqlite_archive.server_storage({}, "/e")
    assert unset["data_dir"] is None and "set aragora_data_dir" in unset["problem"]
    relative = sqlite_archive.server_storage({"ARAGORA_DATA_DIR": "data"}, "/e")
    assert relative["data_dir"] is None and "relative to the server's working directory" in relative["problem"]
