# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL archives with the PostgreSQL client tools: take one (pg_dump -Fc plus a manifest), check one, keep N days.

Standard library only, on purpose: the backup role copies this very file (with ``_clients/pg_tools.py``) onto
hosts, beside the small ``aragora-db-backup`` script its systemd timer or cron runs, so the scheduled backup and
the module share one implementation. Connection settings come from libpq's own environment (PGHOST, PGPORT,
PGUSER, PGPASSWORD, PGDATABASE) or from :class:`Server`; the password only ever travels in PGPASSWORD, never on a command line.

The manifest's row counts are exact (``count(*)``) and read in the very snapshot pg_dump dumps
(``pg_export_snapshot()`` then ``pg_dump --snapshot``), so that a restore can be verified table by table even when
the application kept writing during the backup.
"""

from __future__ import annotations

import ctypes
import dataclasses
import datetime
import glob
import hashlib
import json
import os
import re
import signal
import subprocess
import time
import typing as t

# On a database host (roles/db_backup) this file runs as a copy beside the scheduled backup's script, with its two
# helpers copied next to it under these names.
try:
    from ansible_collections.aragora.ops.plugins.module_utils._clients.files import write_json_atomically
except ImportError:
    from aragora_ops_files import write_json_atomically  # type: ignore[no-redef]
try:
    from ansible_collections.aragora.ops.plugins.module_utils._clients import pg_tools
except ImportError:
    import pg_tools  # type: ignore[no-redef]

ARCHIVE_SUFFIX = ".dump"
MANIFEST_SUFFIX = ".manifest.json"
PARTIAL_SUFFIX = ".partial"
MANIFEST_FORMAT = "aragora.ops/pg-backup-manifest/1"
DEFAULT_KEEP_DAYS = 30
# What an archive is for, in its manifest: the scheduled or named backups, and the dump a restore takes of the data it
# replaces (never itself a default candidate for a restore).
KIND_BACKUP = "backup"
KIND_SAFETY_DUMP = "safety_dump"
SAFETY_DUMP_MARK = "-pre-restore-"  # in the names of safety dumps written before manifests carried their kind
# What counts as a pg_dump archive in a backup directory (ours end in ARCHIVE_SUFFIX; other backup jobs name theirs
# otherwise), and the endings of names still being written.
BACKUP_SUFFIXES = (ARCHIVE_SUFFIX, ".pgdump", ".backup", ".tar")
IN_PROGRESS_SUFFIXES = (".tmp", PARTIAL_SUFFIX, ".part", ".inprogress")
_PR_SET_PDEATHSIG = 1
_SEP = "\x1f"
_END = "__aragora_ops_end__"

# Exact row counts of every ordinary and partitioned table outside the system schemas, in one query.
ROW_COUNTS_SQL = (
    "SELECT format('%I.%I', n.nspname, c.relname), (xpath('/row/n/text()', query_to_xml(format("
    "'SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint "
    "FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1"
)

# Every column of every user table, in order: the schema a manifest records, compared before a restore.
COLUMNS_SQL = (
    "SELECT format('%I.%I', table_schema, table_name), column_name, data_type FROM information_schema.columns "
    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg_toast%' "
    "AND table_schema NOT LIKE 'pg_temp%' ORDER BY 1, ordinal_position"
)
PRE_RELEASE = "pre_release"  # the manifest key of a pre-release backup's labels


class ArchiveError(Exception):
    """A step that could not be done; the message names what and what to fix (never a password)."""


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def find_tool(name: str) -> str:
    """A PostgreSQL client tool (`pg_tools.find_tool`); ArchiveError when there is none."""
    found = pg_tools.find_tool(name)
    if not found:
        raise ArchiveError("%s not found: install the PostgreSQL client (apt-get install postgresql-client)" % name)
    return found


@dataclasses.dataclass
class Server:
    """Where to connect; None leaves the setting to libpq's environment (PGHOST, ...) and defaults."""

    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    database: str | None = None
    maintenance_database: str = "postgres"
    connect_timeout: int = 10
    ssl_mode: str | None = None  # community.postgresql's ssl_mode and ca_cert, as libpq's PGSSLMODE/PGSSLROOTCERT
    ca_cert: str | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for key, value in (("PGHOST", self.host), ("PGPORT", self.port), ("PGUSER", self.user),
                           ("PGPASSWORD", self.password), ("PGDATABASE", self.database),
                           ("PGSSLMODE", self.ssl_mode), ("PGSSLROOTCERT", self.ca_cert)):
            if value not in (None, ""):
                env[key] = str(value)
        env["PGCONNECT_TIMEOUT"] = str(max(2, int(self.connect_timeout)))
        env.setdefault("PGAPPNAME", "aragora.ops")
        return env

    @property
    def dbname(self) -> str:
        return self.database or os.environ.get("PGDATABASE") or "aragora"

    def where(self, database: str | None = None) -> str:
        env = self.env()
        return "%s:%s/%s" % (env.get("PGHOST", "localhost"), env.get("PGPORT", "5432"), database or self.dbname)

    def scrub(self, text: str) -> str:
        return text.replace(self.password, "********") if self.password else text


def die_with_parent() -> None:
    """preexec_fn of every client tool: the kernel kills it when the process that started it dies (Linux
    PR_SET_PDEATHSIG), so a killed restore never leaves a pg_restore or pg_dump running on its own."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the caller's own cleanup is all there is
        pass


def run_tool(server: Server, argv: list[str], what: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run a client tool; ArchiveError with its first error lines when it fails or outlasts ``timeout``."""
    try:
        proc = subprocess.run(argv, env=server.env(), capture_output=True, text=True, errors="replace",
                              stdin=subprocess.DEVNULL, timeout=timeout, check=False,
                              preexec_fn=die_with_parent)  # pylint: disable=subprocess-popen-preexec-fn
    except subprocess.TimeoutExpired:
        raise ArchiveError("%s did not finish within %g s" % (what, timeout or 0)) from None
    except OSError as exc:
        raise ArchiveError("%s could not start %s: %s" % (what, argv[0], exc)) from None
    if proc.returncode != 0:
        raise ArchiveError("%s failed (exit %d): %s" % (what, proc.returncode, server.scrub(error_lines(proc.stderr))))
    return proc


def error_lines(stderr: str, limit: int = 3) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()] or lines
    return " | ".join(errors[:limit]) or "no message"


def psql(server: Server, sql: str, database: str | None = None, timeout: float | None = 60) -> list[list[str]]:
    """Rows of ``sql`` (every statement of it, in one implicit transaction) as lists of text."""
    argv = [find_tool("psql"), "-X", "-q", "-A", "-t", "-F", _SEP, "-v", "ON_ERROR_STOP=1",
            "-d", database or server.dbname, "-c", sql]
    proc = run_tool(server, argv, "psql on %s" % server.where(database), timeout)
    return [line.split(_SEP) for line in proc.stdout.splitlines() if line]


def row_counts(server: Server, database: str | None = None) -> dict[str, int]:
    return {name: int(count) for name, count in psql(server, ROW_COUNTS_SQL, database)}


def columns_from_rows(rows: t.Iterable[t.Sequence[str]]) -> dict[str, dict[str, str]]:
    schema: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        schema.setdefault(table, {})[column] = data_type
    return schema


def schema_of(server: Server, database: str | None = None) -> dict[str, dict[str, str]]:
    """Table -> {column: data type}, of the user tables of ``database``."""
    return columns_from_rows(psql(server, COLUMNS_SQL, database))


def server_version(server: Server, database: str | None = None) -> tuple[str, int]:
    (version, number), = psql(server, "SELECT current_setting('server_version'), current_setting('server_version_num')",
                              database)
    return version, int(number)


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(archive: str) -> str:
    base = archive[:-len(ARCHIVE_SUFFIX)] if archive.endswith(ARCHIVE_SUFFIX) else archive
    return base + MANIFEST_SUFFIX


def read_manifest(archive: str) -> dict[str, t.Any] | None:
    """The archive's manifest, None when it has none; ArchiveError when it is there but unreadable."""
    path = manifest_path(archive)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ArchiveError("manifest %s cannot be read: %s" % (path, exc)) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("sha256"), str):
        raise ArchiveError("manifest %s has no sha256: not a manifest this collection wrote" % path)
    return manifest


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PsqlSession:
    """One psql session kept open: the backup holds its REPEATABLE READ snapshot in it for pg_dump, the restore its
    advisory lock. ``close`` commits whatever is open and ends the session."""

    def __init__(self, server: Server, database: str) -> None:
        self.server = server
        argv = [find_tool("psql"), "-X", "-q", "-A", "-t", "-F", _SEP, "-v", "ON_ERROR_STOP=1", "-d", database]
        self.proc = subprocess.Popen(argv, env=server.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, errors="replace",
                                     preexec_fn=die_with_parent)  # pylint: disable=subprocess-popen-preexec-fn

    def ask(self, sql: str) -> list[list[str]]:
        if self.proc.stdin is None or self.proc.stdout is None:
            raise ArchiveError("psql on %s has no pipes" % self.server.where())
        try:
            self.proc.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo " + _END + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        rows = []
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line == _END:
                return rows
            if line:
                rows.append(line.split(_SEP))
        raise ArchiveError("psql on %s stopped: %s" % (self.server.where(), self.close()))

    def close(self) -> str:
        try:
            _out, err = self.proc.communicate("COMMIT;\n", timeout=30)
        except (subprocess.TimeoutExpired, ValueError, BrokenPipeError):
            self.proc.kill()
            _out, err = self.proc.communicate()
        return self.server.scrub(error_lines(err or ""))


def _dump_as_partial(server: Server, partial: str, timeout: float | None, compress: int | None) -> dict[str, t.Any]:
    """pg_dump -Fc of ``server.dbname`` into ``partial`` from one snapshot, and the manifest's facts of that
    snapshot: server version, rows per table, the schema, the archive's size and sha256."""
    database = server.dbname
    session = PsqlSession(server, database)
    try:
        session.ask("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        (snapshot, version, version_num, snapshot_at), = session.ask(
            "SELECT pg_export_snapshot(), current_setting('server_version'), current_setting('server_version_num'), "
            "now()::text")
        argv = [find_tool("pg_dump"), "--format=custom", "--snapshot", snapshot, "--file", partial, "-d", database]
        if compress is not None:
            argv.append("--compress=%d" % compress)
        run_tool(server, argv, "pg_dump of %s" % server.where(), timeout)
        counts = {name: int(count) for name, count in session.ask(ROW_COUNTS_SQL)}
        schema = columns_from_rows(session.ask(COLUMNS_SQL))
    finally:
        session.close()
    os.chmod(partial, 0o600)
    return {"format": MANIFEST_FORMAT, "database": database, "server_version": version,
            "server_version_num": int(version_num), "size_bytes": os.path.getsize(partial),
            "sha256": sha256_of(partial), "tables": counts, "rows_total": sum(counts.values()), "schema": schema,
            "snapshot_at": snapshot_at}


def take_backup(server: Server, directory: str, prefix: str | None = None, timeout: float | None = None,
                compress: int | None = None, kind: str = KIND_BACKUP,
                pre_release: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """pg_dump -Fc of ``server.dbname`` into ``directory``, with its manifest; the manifest (with ``archive`` and
    ``manifest`` paths) returned. The archive is written as ``.partial`` and appears under its name only complete,
    its manifest first: any archive in the directory has a complete manifest beside it. ``kind`` says what the
    archive is for (KIND_SAFETY_DUMP: never chosen by default for a restore). The manifest records the schema
    (columns per table) and, for a pre-release backup, the releases it protects (``pre_release``)."""
    database = server.dbname
    os.makedirs(directory, mode=0o700, exist_ok=True)
    started, began = utc_now(), time.monotonic()
    stamp = started.replace("-", "").replace(":", "")
    archive = os.path.join(directory, "%s-%s%s" % (prefix or database, stamp, ARCHIVE_SUFFIX))
    number = 1
    while os.path.exists(archive) or os.path.exists(archive + PARTIAL_SUFFIX):  # two backups within a second
        number += 1
        archive = os.path.join(directory, "%s-%s-%d%s" % (prefix or database, stamp, number, ARCHIVE_SUFFIX))
    partial = archive + PARTIAL_SUFFIX
    try:
        manifest = _dump_as_partial(server, partial, timeout, compress)
        manifest.update(kind=kind, archive=os.path.basename(archive), started_at=started, finished_at=utc_now(),
                        duration_s=round(time.monotonic() - began, 3))
        if pre_release:
            manifest[PRE_RELEASE] = dict(pre_release)
        write_json_atomically(manifest_path(archive), manifest, 0o600)
        os.replace(partial, archive)
    except BaseException:  # failed, or interrupted (up to the rename): nothing half-made outlives the backup
        if os.path.exists(partial):
            os.unlink(partial)
            if not os.path.exists(archive) and os.path.exists(manifest_path(archive)):
                os.unlink(manifest_path(archive))
        raise
    _fsync_dir(directory)
    return {**manifest, "archive_path": archive, "manifest_path": manifest_path(archive)}


def list_archives(directory: str) -> list[str]:
    """Complete archives (no .partial) in ``directory``, oldest first (by modification time)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    paths = [os.path.join(directory, name) for name in names
             if name.endswith(ARCHIVE_SUFFIX) and not name.startswith(".")]
    return sorted((p for p in paths if os.path.isfile(p)), key=os.path.getmtime)


def is_safety_dump(archive: str) -> bool:
    """A restore's own safety dump, by its manifest's kind (or, without one, by the name safety dumps are given)."""
    try:
        manifest = read_manifest(archive)
    except ArchiveError:
        manifest = None
    if manifest is not None and manifest.get("kind"):
        return manifest["kind"] == KIND_SAFETY_DUMP
    return SAFETY_DUMP_MARK in os.path.basename(archive)


def scan_backups(directory: str) -> tuple[list[str], list[str]]:
    """(the backups in ``directory``, oldest first; the other names in it, sorted). A backup is a pg_dump archive
    (a file ending in BACKUP_SUFFIXES, or a directory archive with its toc.dat), neither hidden, nor still being
    written, nor a restore's safety dump. The one rule for "the newest backup": the readiness check judges the
    archive a restore would restore by default. OSError when the directory cannot be read."""
    backups, others = [], []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(".") or entry.name.endswith(IN_PROGRESS_SUFFIXES):
                continue
            if ((entry.is_file() and entry.name.endswith(BACKUP_SUFFIXES))
                    or (entry.is_dir() and os.path.isfile(os.path.join(entry.path, "toc.dat")))) \
                    and not is_safety_dump(entry.path):
                backups.append((entry.stat().st_mtime, entry.path))
            else:
                others.append(entry.name)
    return [path for _mtime, path in sorted(backups)], sorted(others)


def restorable_archives(directory: str) -> list[str]:
    """The archives a restore may choose by default, oldest first (`scan_backups`); none when there is no such
    directory."""
    try:
        return scan_backups(directory)[0]
    except FileNotFoundError:
        return []


def _toc_name(name: str) -> str:
    """A name as format('%I') writes it (the manifest's keys): quoted unless plain lower case."""
    return name if re.match(r"^[a-z_][a-z0-9_$]*$", name) else '"%s"' % name.replace('"', '""')


def archive_tables(listing: str) -> set[str]:
    """The tables whose rows the archive holds, as schema.table, from ``pg_restore --list``'s TABLE DATA entries
    (``<id>; <oid> <oid> TABLE DATA <schema> <table> <owner>``)."""
    tables = set()
    for line in listing.splitlines():
        match = re.match(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ", line + " ")
        if match:
            tables.add("%s.%s" % (_toc_name(match.group(1)), _toc_name(match.group(2))))
    return tables


def list_tables(archive: str, timeout: float = 300) -> set[str]:
    """archive_tables of ``archive``; ArchiveError when pg_restore cannot list it."""
    listing = subprocess.run([find_tool("pg_restore"), "--list", archive], capture_output=True, text=True,
                             errors="replace", stdin=subprocess.DEVNULL, check=False, timeout=timeout,
                             preexec_fn=die_with_parent)  # pylint: disable=subprocess-popen-preexec-fn
    if listing.returncode != 0:
        raise ArchiveError("pg_restore --list cannot read archive %s (%s)" % (archive, error_lines(listing.stderr)))
    return archive_tables(listing.stdout)


class ArchiveDefect(ArchiveError):
    """An archive that must not be restored or counted on; ``defect`` names what is wrong: missing, empty,
    no_manifest, sha256, listing or data."""

    def __init__(self, message: str, defect: str) -> None:
        super().__init__(message)
        self.defect = defect


_READ_MANIFEST: t.Any = object()


def validate_archive(archive: str, manifest: t.Any = _READ_MANIFEST, require_manifest: bool = False,
                     read_data: bool | None = None, list_timeout: float = 300,
                     data_timeout: float = 3600) -> dict[str, t.Any]:
    """The one judgment of a pg_dump archive before a restore, a drill or a pre-release backup counts on it: a
    non-empty file; the sha256 its manifest records (``manifest``: read beside the archive unless given; None: it
    has none); ``pg_restore --list`` reads its table of contents; and, when ``read_data`` (default: when no manifest
    vouches for the bytes), every data block (a truncated archive keeps its table of contents readable).
    ArchiveDefect naming the first defect otherwise. The facts: archive, size_bytes, manifest, sha256,
    sha256_verified, toc_entries, dumped_from_major, data_read, tables (schema.table whose rows it holds)."""
    if not os.path.isfile(archive):
        raise ArchiveDefect("archive %s does not exist (or is not a file)" % archive, "missing")
    if os.path.getsize(archive) == 0:
        raise ArchiveDefect("archive %s is empty" % archive, "empty")
    if manifest is _READ_MANIFEST:
        manifest = read_manifest(archive)
    facts: dict[str, t.Any] = {"archive": archive, "size_bytes": os.path.getsize(archive), "manifest": manifest,
                               "sha256": None, "sha256_verified": False, "data_read": False}
    if manifest is None and require_manifest:
        raise ArchiveDefect("archive %s has no manifest (%s) and require_manifest is set"
                            % (archive, manifest_path(archive)), "no_manifest")
    if manifest is not None:
        digest = sha256_of(archive)
        if digest != manifest.get("sha256"):
            raise ArchiveDefect("archive %s is not the one its manifest describes: sha256 %s, manifest says %s "
                                "(damaged or replaced)" % (archive, digest, manifest.get("sha256")), "sha256")
        facts.update(sha256=digest, sha256_verified=True)
    pg_restore = find_tool("pg_restore")
    listing = subprocess.run([pg_restore, "--list", archive], capture_output=True, text=True, errors="replace",
                             stdin=subprocess.DEVNULL, check=False, timeout=list_timeout,
                             preexec_fn=die_with_parent)  # pylint: disable=subprocess-popen-preexec-fn
    if listing.returncode != 0:
        raise ArchiveDefect("pg_restore --list cannot read archive %s (%s): not a readable pg_dump archive"
                            % (archive, error_lines(listing.stderr)), "listing")
    if manifest is None if read_data is None else read_data:
        full = subprocess.run([pg_restore, "--file", os.devnull, archive], capture_output=True, text=True,
                              errors="replace", stdin=subprocess.DEVNULL, check=False, timeout=data_timeout,
                              preexec_fn=die_with_parent)  # pylint: disable=subprocess-popen-preexec-fn
        if full.returncode != 0:
            raise ArchiveDefect("archive %s: its table of contents reads but its data does not (truncated or "
                                "damaged: %s)" % (archive, error_lines(full.stderr)), "data")
        facts["data_read"] = True
    dumped = re.search(r"Dumped from database version: (\d+)", listing.stdout)
    facts.update(toc_entries=sum(1 for line in listing.stdout.splitlines() if line and not line.startswith(";")),
                 dumped_from_major=int(dumped.group(1)) if dumped else None, tables=archive_tables(listing.stdout))
    return facts


def is_good(archive: str) -> bool:
    """A complete archive whose manifest, when it has one, matches its size (the cheap test retention uses)."""
    try:
        manifest = read_manifest(archive)
    except ArchiveError:
        return False
    return manifest is None or manifest.get("size_bytes") == os.path.getsize(archive)


def newest_good(directory: str) -> str | None:
    good = [path for path in restorable_archives(directory) if is_good(path)]
    return good[-1] if good else None


def pre_release_archives(directory: str) -> list[tuple[str, dict[str, t.Any]]]:
    """(archive, manifest) of the good pre-release backups in ``directory``, oldest first."""
    found = []
    for archive in list_archives(directory):
        try:
            manifest = read_manifest(archive)
        except ArchiveError:
            continue
        if manifest and isinstance(manifest.get(PRE_RELEASE), dict) and is_good(archive):
            found.append((archive, manifest))
    return found


def newest_per_release(backups: t.Iterable[tuple[str, t.Mapping[str, t.Any]]], keep_releases: int) -> list[str]:
    """Of (backup, manifest) pairs, oldest first: the newest pre-release backup of each of the last
    ``keep_releases`` releases that went live (PostgreSQL archives and SQLite sets alike)."""
    newest: dict[str, str] = {}
    for backup, manifest in backups:  # oldest first: the last one of a release wins
        release = str(manifest[PRE_RELEASE].get("next_release"))
        newest.pop(release, None)
        newest[release] = backup
    return list(newest.values())[-keep_releases:] if keep_releases > 0 else []


def protected_pre_release(directory: str, keep_releases: int) -> list[str]:
    """The newest pre-release backup of each of the last ``keep_releases`` releases that went live."""
    return newest_per_release(pre_release_archives(directory), keep_releases)


def apply_retention(directory: str, keep_days: float = DEFAULT_KEEP_DAYS, dry_run: bool = False,
                    now: float | None = None, keep_releases: int = 0) -> dict[str, t.Any]:
    """Delete archives (and their manifests) older than ``keep_days``, never the newest good archive nor the
    pre-release backups of the last ``keep_releases`` releases (whatever their age), and leftover .partial files
    older than a day. Returns what was (or, dry_run, would be) deleted and kept."""
    now = time.time() if now is None else now
    keep = newest_good(directory)
    protected = set(protected_pre_release(directory, keep_releases))
    deleted, kept = [], []
    for archive in list_archives(directory):
        if archive != keep and archive not in protected and now - os.path.getmtime(archive) > keep_days * 86400:
            deleted.append(archive)
            if not dry_run:
                os.unlink(archive)
                if os.path.exists(manifest_path(archive)):
                    os.unlink(manifest_path(archive))
        else:
            kept.append(archive)
    stale = [p for p in glob.glob(os.path.join(glob.escape(directory), "*" + PARTIAL_SUFFIX))
             if now - os.path.getmtime(p) > 86400]
    for path in stale:
        deleted.append(path)
        if not dry_run:
            os.unlink(path)
    return {"deleted": deleted, "kept": kept, "newest_good": keep, "keep_days": keep_days,
            "pre_release_kept": sorted(protected)}
