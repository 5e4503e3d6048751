# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups and restores of Aragora's SQLite storage (the ~25 database files of its ARAGORA_DATA_DIR).

Backup: each file through SQLite's online backup API (consistent even while the server writes), then
``PRAGMA integrity_check`` on the copy, into a set directory written as ``.partial`` and renamed once complete, with a
manifest (sha256, size, per-table row counts of every file). Restore, with the service stopped: the set is checked
first (manifest, sha256, integrity) before anything is touched, the current files are backed up the same way (the
safety copy), then each file is copied beside its target and renamed over it (its stale -wal/-shm removed), and the
result is checked against the manifest. No Ansible here.

A pre-release backup (go-live, before the switch) is such a set whose manifest carries the two releases it protects
(``pre_release``, as PostgreSQL's pre-release archives); retention keeps the newest one of each of the last N releases
whatever its age. :func:`server_storage` says where the server keeps its SQLite files, from what it reads.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._clients.files import replaced_atomically
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_archive import PRE_RELEASE, newest_per_release, sha256_of

PATTERNS = (".db", ".sqlite", ".sqlite3")
MANIFEST = "manifest.json"
PARTIAL = ".partial"
PREFIX = "aragora-sqlite"
PRE_RELEASE_PREFIX = PREFIX + "-pre-release"
SAFETY_PREFIX = PREFIX + "-pre-restore"
# Aragora 2.11 reads its data directory from ARAGORA_DATA_DIR, or the legacy ARAGORA_NOMIC_DIR (config/settings.py,
# persistence/db_config.py); ARAGORA_DB_BACKEND=postgres|postgresql moves its unified store to PostgreSQL.
DATA_DIR_VARIABLES = ("ARAGORA_DATA_DIR", "ARAGORA_NOMIC_DIR")
POSTGRES_BACKENDS = ("postgres", "postgresql")


class SqliteArchiveError(Exception):
    """What failed and what state things are in."""


def _stamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def database_files(data_dir: str) -> list[str]:
    """The SQLite files under ``data_dir`` (relative paths, sorted)."""
    found = []
    for root, _dirs, files in os.walk(data_dir):
        for name in files:
            if name.endswith(PATTERNS):
                found.append(os.path.relpath(os.path.join(root, name), data_dir))
    return sorted(found)


def inspect(path: str) -> dict[str, t.Any]:
    """integrity_check and exact row counts of one SQLite file (opened read-only)."""
    conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        counts = {name: conn.execute('SELECT count(*) FROM "%s"' % name.replace('"', '""')).fetchone()[0]
                  for name in tables}
    except sqlite3.DatabaseError as exc:
        return {"integrity": str(exc), "tables": {}}
    finally:
        conn.close()
    return {"integrity": "ok" if integrity == ["ok"] else "; ".join(integrity[:3]), "tables": counts}


def server_storage(env: t.Mapping[str, str], env_file: str) -> dict[str, t.Any]:
    """Where the server whose environment is ``env`` keeps its SQLite files: ``backend`` (sqlite or postgres),
    ``data_dir`` (absolute, or None with ``problem`` saying why it cannot be told)."""
    backend = (env.get("ARAGORA_DB_BACKEND") or "").strip().lower()
    if backend in POSTGRES_BACKENDS:
        return {"backend": "postgres", "data_dir": None,
                "problem": "the server uses PostgreSQL (ARAGORA_DB_BACKEND=%s in %s) but aragora_db_host is not set"
                           % (backend, env_file)}
    variable = next((name for name in DATA_DIR_VARIABLES if env.get(name)), None)
    if variable is None:
        return {"backend": "sqlite", "data_dir": None,
                "problem": "%s sets no %s, so the server keeps its SQLite files in a directory relative to where it "
                           "runs: set aragora_data_dir" % (env_file, " or ".join(DATA_DIR_VARIABLES))}
    if not os.path.isabs(env[variable]):
        return {"backend": "sqlite", "data_dir": None,
                "problem": "%s=%s in %s is relative to the server's working directory: set aragora_data_dir to the "
                           "absolute path" % (variable, env[variable], env_file)}
    return {"backend": "sqlite", "data_dir": env[variable], "problem": None, "from": "%s in %s" % (variable, env_file)}


def backup(data_dir: str, backup_dir: str, prefix: str = PREFIX,
           pre_release: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """Back up every SQLite file of ``data_dir`` into a new set directory; its manifest returned (with ``path``).
    ``pre_release``: the labels of a pre-release backup (running_release, next_release), kept in the manifest."""
    files = database_files(data_dir)
    if not files:
        raise SqliteArchiveError("no SQLite files (%s) under %s: is it ARAGORA_DATA_DIR?"
                                 % (", ".join(PATTERNS), data_dir))
    os.makedirs(backup_dir, mode=0o700, exist_ok=True)
    final = os.path.join(backup_dir, "%s-%s" % (prefix, _stamp()))
    number = 1
    while os.path.exists(final):
        number += 1
        final = os.path.join(backup_dir, "%s-%s-%d" % (prefix, _stamp(), number))
    partial = final + PARTIAL
    os.makedirs(partial, mode=0o700)
    entries = {}
    try:
        for relative in files:
            target = os.path.join(partial, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            source = sqlite3.connect(os.path.join(data_dir, relative))
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)  # the online backup API: a consistent copy while others write
            finally:
                copy.close()
                source.close()
            facts = inspect(target)
            if facts["integrity"] != "ok":
                raise SqliteArchiveError("%s fails PRAGMA integrity_check (%s): not backed up; repair it first"
                                         % (os.path.join(data_dir, relative), facts["integrity"]))
            entries[relative] = {"sha256": sha256_of(target), "size_bytes": os.path.getsize(target), **facts}
    except (sqlite3.Error, OSError, SqliteArchiveError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise SqliteArchiveError(str(exc)) from None
    manifest = {"format": "aragora.ops/sqlite-backup-manifest/1", "data_dir": os.path.abspath(data_dir),
                "taken_at": _stamp(), "files": entries}
    if pre_release:
        manifest[PRE_RELEASE] = dict(pre_release)
    with open(os.path.join(partial, MANIFEST), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
    os.replace(partial, final)
    return {**manifest, "path": final}


def backup_sets(backup_dir: str) -> list[tuple[str, dict[str, t.Any]]]:
    """(set directory, manifest) of the complete sets in ``backup_dir``, oldest first (by when they were taken)."""
    found = []
    if os.path.isdir(backup_dir):
        for name in os.listdir(backup_dir):
            path = os.path.join(backup_dir, name)
            if not name.startswith(PREFIX + "-") or name.endswith(PARTIAL):
                continue
            try:
                with open(os.path.join(path, MANIFEST), encoding="utf-8") as handle:
                    manifest = json.load(handle)
            except (OSError, ValueError):
                continue
            found.append((path, manifest))
    # taken_at has whole seconds: sets of the same second are told apart by when their manifest was written.
    return sorted(found, key=lambda pair: (str(pair[1].get("taken_at")),
                                           os.path.getmtime(os.path.join(pair[0], MANIFEST)), pair[0]))


def newest_set(backup_dir: str) -> str | None:
    """The newest set to restore by default: any but a restore's safety copy (the files a restore replaced)."""
    sets = [path for path, _manifest in backup_sets(backup_dir)
            if not os.path.basename(path).startswith(SAFETY_PREFIX + "-")]
    return sets[-1] if sets else None


def pre_release_sets(backup_dir: str) -> list[tuple[str, dict[str, t.Any]]]:
    return [(path, manifest) for path, manifest in backup_sets(backup_dir)
            if isinstance(manifest.get(PRE_RELEASE), dict)]


def apply_retention(backup_dir: str, keep_days: float, keep_releases: int = 0, dry_run: bool = False,
                    now: float | None = None) -> dict[str, t.Any]:
    """Delete sets older than ``keep_days``, never the newest set nor the pre-release backups of the last
    ``keep_releases`` releases (whatever their age); and leftover .partial sets older than a day. The same rules as
    pg_archive.apply_retention."""
    now = time.time() if now is None else now
    keep = newest_set(backup_dir)
    protected = set(newest_per_release(pre_release_sets(backup_dir), keep_releases))
    deleted, kept = [], []
    for path, _manifest in backup_sets(backup_dir):
        age = now - os.path.getmtime(os.path.join(path, MANIFEST))
        if path != keep and path not in protected and age > keep_days * 86400:
            deleted.append(path)
            if not dry_run:
                shutil.rmtree(path)
        else:
            kept.append(path)
    stale = [os.path.join(backup_dir, name) for name in (os.listdir(backup_dir) if os.path.isdir(backup_dir) else [])
             if name.endswith(PARTIAL) and now - os.path.getmtime(os.path.join(backup_dir, name)) > 86400]
    for path in stale:
        deleted.append(path)
        if not dry_run:
            shutil.rmtree(path, ignore_errors=True)
    return {"deleted": deleted, "kept": kept, "newest": keep, "keep_days": keep_days,
            "pre_release_kept": sorted(protected)}


def validate(set_dir: str) -> dict[str, t.Any]:
    """The set is complete and sound: manifest, sha256 and integrity of every file; before anything is touched."""
    try:
        with open(os.path.join(set_dir, MANIFEST), encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SqliteArchiveError("backup set %s has no readable manifest (%s): nothing was touched" % (set_dir, exc))
    for relative, expected in sorted(manifest["files"].items()):
        path = os.path.join(set_dir, relative)
        if not os.path.isfile(path) or sha256_of(path) != expected["sha256"]:
            raise SqliteArchiveError("backup set %s: %s is missing or does not match its sha256: nothing was touched"
                                     % (set_dir, relative))
        integrity = inspect(path)["integrity"]
        if integrity != "ok":
            raise SqliteArchiveError("backup set %s: %s fails integrity_check (%s): nothing was touched"
                                     % (set_dir, relative, integrity))
    return manifest


def unit_active(unit: str) -> bool:
    result = subprocess.run(["systemctl", "is-active", unit], capture_output=True, text=True, check=False, timeout=30)
    return result.stdout.strip() in ("active", "activating", "deactivating", "reloading")


def restore(set_dir: str, data_dir: str, safety_dir: str, unit: str | None = None) -> dict[str, t.Any]:
    """Restore the set into ``data_dir`` (the service must be stopped); a safety copy of the current files first."""
    manifest = validate(set_dir)
    if unit and unit_active(unit):
        raise SqliteArchiveError("unit %s is running: stop it first (the role does); nothing was touched" % unit)
    safety = backup(data_dir, safety_dir, prefix=SAFETY_PREFIX) if database_files(data_dir) else None
    replaced = []
    for relative in sorted(manifest["files"]):
        target = os.path.join(data_dir, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with replaced_atomically(target) as temporary:
            shutil.copyfile(os.path.join(set_dir, relative), temporary)
            for suffix in ("-wal", "-shm", "-journal"):  # a stale WAL would be replayed onto the restored file
                if os.path.exists(target + suffix):
                    os.unlink(target + suffix)
        replaced.append(relative)
    problems = []
    for relative, expected in sorted(manifest["files"].items()):
        facts = inspect(os.path.join(data_dir, relative))
        if facts["integrity"] != "ok" or facts["tables"] != expected["tables"]:
            problems.append(relative)
    if problems:
        raise SqliteArchiveError("restored files do not match the manifest: %s; the safety copy of the previous "
                                 "files is %s" % (", ".join(problems), safety and safety["path"]))
    return {"restored": replaced, "safety_copy": safety and safety["path"], "set": set_dir,
            "rows": sum(sum(entry["tables"].values()) for entry in manifest["files"].values())}
