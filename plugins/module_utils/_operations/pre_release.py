# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pre-release backups and what a coordinated rollback would discard, as plain functions.

A pre-release backup is a ``pg_dump -Fc`` archive taken by go-live just before a release goes live; its manifest
says which release ran then (``running_release``) and which one was about to go live (``next_release``). Rolling
release B back to release A restores the backup labelled ``A -> B``, and no other: one taken for another pair of
releases holds another schema or misses data.

Before the restored database replaces the live one, :func:`discarded_rows` counts what the live database holds that
the backup does not (rows created after the backup's snapshot, per table; the tables added since; Aragora's users
and debates by name), and :func:`export_commands` says how to get those rows out of the kept database.
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_archive import PRE_RELEASE, Server

# Columns that say when a row was created, in the order they are preferred (Aragora 2.11's tables use these).
CREATED_COLUMNS = ("created_at", "inserted_at", "requested_at", "linked_at", "connected_at", "received_at",
                   "timestamp", "started_at")
TIMESTAMP_TYPES = ("timestamp with time zone", "timestamp without time zone")
# Aragora's own tables an SRE asks about by name ("how many debates and users would we lose?").
ARAGORA_TABLES = {"users": "public.users", "debates": "public.debates"}
# The modules' options of a pre-release backup (doc fragment aragora.ops.pre_release).
ARGUMENT_SPEC = {
    "pre_release": {"type": "dict", "options": {"running_release": {"type": "str", "required": True},
                                                "next_release": {"type": "str", "required": True},
                                                "taken_by": {"type": "str"}}},
    "keep_releases": {"type": "int", "default": 3},
}


class PreReleaseError(Exception):
    """No usable pre-release backup; the message lists the backups that exist."""


def labels(running_release: str, next_release: str, host: str | None = None) -> dict[str, str]:
    found = {"running_release": str(running_release), "next_release": str(next_release)}
    if host:
        found["taken_by"] = host
    return found


def describe(directory: str) -> list[str]:
    """One line per pre-release backup in ``directory``: which releases it protects, when, where."""
    lines = []
    for archive, manifest in pg_archive.pre_release_archives(directory):
        labels = manifest[PRE_RELEASE]
        lines.append("%s (before %s -> %s, taken %s)" % (os.path.basename(archive), labels.get("running_release"),
                                                         labels.get("next_release"), manifest.get("finished_at")))
    return lines


def find_backup(directory: str, current: str, target: str) -> tuple[str, dict[str, t.Any]]:
    """The newest pre-release backup taken when ``current`` went live over ``target``; PreReleaseError otherwise."""
    matching = [(archive, manifest) for archive, manifest in pg_archive.pre_release_archives(directory)
                if manifest[PRE_RELEASE].get("next_release") == current
                and manifest[PRE_RELEASE].get("running_release") == target]
    if matching:
        return matching[-1]
    existing = describe(directory)
    raise PreReleaseError(
        "no pre-release backup of %s taken when %s went live is in %s, so the database cannot be brought back to "
        "what %s ran on. Pre-release backups there: %s. Nothing was changed. Roll back the application alone only "
        "if %s runs on %s's schema; otherwise name an archive to restore (aragora_restore_archive) knowingly"
        % (target, current, directory, target, "; ".join(existing) if existing else "none", target, current))


def verify_archive(archive: str, manifest: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The archive is the one its manifest describes (sha256) and pg_restore reads it (--list), judged as a restore
    judges it (pg_archive.validate_archive); ArchiveError if not."""
    facts = pg_archive.validate_archive(archive, manifest=manifest, read_data=False)
    return {"sha256": facts["sha256"], "sha256_verified": True, "toc_entries": facts["toc_entries"]}


def schema_difference(backup: t.Mapping[str, t.Mapping[str, str]] | None,
                      live: t.Mapping[str, t.Mapping[str, str]]) -> dict[str, t.Any]:
    """Tables and columns the live schema has that the backup's has not, and the other way round."""
    if backup is None:
        return {"compared": False, "differs": None,
                "message": "The manifest of the archive records no schema (an older backup): schemas not compared"}
    added_tables = sorted(set(live) - set(backup))
    dropped_tables = sorted(set(backup) - set(live))
    added_columns = {table: sorted(set(live[table]) - set(backup[table]))
                     for table in sorted(set(live) & set(backup)) if set(live[table]) - set(backup[table])}
    dropped_columns = {table: sorted(set(backup[table]) - set(live[table]))
                       for table in sorted(set(live) & set(backup)) if set(backup[table]) - set(live[table])}
    differs = bool(added_tables or dropped_tables or added_columns or dropped_columns)
    parts = []
    if added_tables:
        parts.append("tables added since the backup: %s" % ", ".join(added_tables))
    if dropped_tables:
        parts.append("tables dropped since: %s" % ", ".join(dropped_tables))
    if added_columns:
        parts.append("columns added: %s" % "; ".join(
            "%s.%s" % (tbl, ", ".join(cols)) for tbl, cols in added_columns.items()))
    if dropped_columns:
        parts.append("columns dropped: %s" % "; ".join(
            "%s.%s" % (tbl, ", ".join(cols)) for tbl, cols in dropped_columns.items()))
    message = ("The live schema DIFFERS from the schema in the backup (%s): an application-only rollback would run "
               "the old release on the new schema" % "; ".join(parts)) if differs else \
        "The live schema is the schema in the backup (same tables and columns)"
    return {"compared": True, "differs": differs, "tables_added": added_tables, "tables_dropped": dropped_tables,
            "columns_added": added_columns, "columns_dropped": dropped_columns, "message": message}


def created_column(columns: t.Mapping[str, str]) -> str | None:
    return next((name for name in CREATED_COLUMNS if columns.get(name) in TIMESTAMP_TYPES), None)


def _ident(name: str) -> str:
    return ".".join('"%s"' % part.replace('"', '""') for part in name.split(".", 1))


def _literal(text: str) -> str:
    return "'%s'" % text.replace("'", "''")


def discarded_rows(server: Server, database: str, manifest: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What ``database`` (the live one, kept after the swap) holds that the backup of ``manifest`` does not.

    Per table: rows whose creation time is after the backup's snapshot; a table added since: all its rows; a table
    without a creation time: how many more rows it has than the backup had (a lower bound: rows changed or deleted
    and re-added are not seen)."""
    since = manifest.get("snapshot_at") or manifest.get("started_at")
    backup_counts = manifest.get("tables") or {}
    live_schema = pg_archive.schema_of(server, database)
    tables: dict[str, dict[str, t.Any]] = {}
    for table, columns in sorted(live_schema.items()):
        column = created_column(columns)
        if table not in backup_counts:
            rows = int(pg_archive.psql(server, "SELECT count(*) FROM %s" % _ident(table), database)[0][0])
            entry = {"rows": rows, "how": "table added since the backup"}
        elif column and since:
            rows = int(pg_archive.psql(server, "SELECT count(*) FROM %s WHERE %s > %s::timestamptz" % (
                _ident(table), '"%s"' % column, _literal(since)), database)[0][0])
            entry = {"rows": rows, "how": "%s after %s" % (column, since), "column": column}
        else:
            live = int(pg_archive.psql(server, "SELECT count(*) FROM %s" % _ident(table), database)[0][0])
            rows = max(0, live - int(backup_counts[table]))
            entry = {"rows": rows, "how": "row count %d now, %d in the backup (no creation time: a lower bound)"
                                          % (live, int(backup_counts[table]))}
        if entry["rows"]:
            tables[table] = entry
    aragora = {name: (tables.get(table, {}).get("rows", 0) if table in live_schema else None)
               for name, table in ARAGORA_TABLES.items()}
    total = sum(entry["rows"] for entry in tables.values())
    named = ", ".join("%s %s" % (value, name) if value is not None else "no %s table" % name
                      for name, value in aragora.items())
    message = ("%d row(s) written since the backup (%s) would not be in the restored database: %s%s" % (
        total, since, named, "; by table: " + ", ".join("%s %d" % (tbl, e["rows"]) for tbl, e in tables.items())
        if tables else "")) if total else "nothing was written since the backup (%s): no row is discarded" % since
    return {"since": since, "total": total, "tables": tables, "aragora": aragora, "message": message}


def export_commands(kept_database: str, discarded: t.Mapping[str, t.Any]) -> list[str]:
    """psql commands that copy the discarded rows out of the kept database, one CSV per table."""
    commands = []
    for table, entry in (discarded.get("tables") or {}).items():
        where = " WHERE %s > %s" % (entry["column"], _literal(discarded["since"])) if entry.get("column") else ""
        commands.append("psql -d %s -c \"\\copy (SELECT * FROM %s%s) TO '%s.csv' CSV HEADER\"" % (
            kept_database, table, where, table))
    return commands


def postgres_taken(taken: t.Mapping[str, t.Any]) -> tuple[dict[str, t.Any], str]:
    """Evidence and proof of a PostgreSQL pre-release backup (postgres_backup's result)."""
    manifest = taken["manifest"]
    evidence = {"backend": "postgres", "archive": taken["archive"], "sha256": manifest["sha256"],
                "size_bytes": manifest["size_bytes"], "rows": manifest["rows_total"],
                "tables": len(manifest.get("tables") or {}), "toc_entries": taken["verified"]["toc_entries"]}
    return evidence, "%s (%d tables, %d rows; sha256 matches its manifest, pg_restore reads %d entries)" % (
        taken["archive"], evidence["tables"], evidence["rows"], evidence["toc_entries"])


def sqlite_taken(manifest: t.Mapping[str, t.Any]) -> tuple[dict[str, t.Any], str]:
    """Evidence and proof of a SQLite pre-release backup set (sqlite_archive.backup's manifest, validated)."""
    files = manifest["files"]
    evidence = {"backend": "sqlite", "archive": manifest["path"], "data_dir": manifest["data_dir"],
                "files": len(files), "size_bytes": sum(entry["size_bytes"] for entry in files.values()),
                "tables": sum(len(entry["tables"]) for entry in files.values()),
                "rows": sum(sum(entry["tables"].values()) for entry in files.values())}
    return evidence, ("%s (%d SQLite files of %s, %d tables, %d rows; the sha256 of every file matches its manifest, "
                      "PRAGMA integrity_check ok)" % (manifest["path"], evidence["files"], manifest["data_dir"],
                                                      evidence["tables"], evidence["rows"]))
