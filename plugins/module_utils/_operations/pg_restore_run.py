# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A PostgreSQL restore that cannot lose data, as a state machine whose state lives in a file.

Steps, in this order (the role calls them one task each, in block/rescue/always):

1. ``plan``         what will be replaced by what; refuse without confirmation (check mode: no confirmation needed)
2. ``validate``     the archive, before anything is touched: exists, sha256 against its manifest, ``pg_restore
                    --list`` (and a full read when there is no manifest to vouch for the bytes), server major version
3. ``safety_dump``  pg_dump of the current database, kept, its path reported
4. ``stop_writers`` Deployment scaled to 0 and its pods gone (real timeout), or the systemd unit stopped; the previous
                    replica count / unit state saved in the state file *before* anything is scaled; sessions ended
5. ``restore``      into a NEW database (``--exit-on-error``, ``--jobs N``); the live database is not touched
6. ``verify``       the new database: per-table row counts against the manifest, the user's SQL checks; only then the
                    swap, by rename, in one transaction (the old database is kept under another name, never dropped)
7. ``start_writers`` always: back to the saved replica count / the unit started again
   ``finish``       closes the state file (kept as history) once the writers run again

Every step reads the state file first: a step already done is reported and skipped, so a rerun after an
interruption at any point carries on where it stopped (the previous replica count is the saved one, not the 0 a
killed run left behind; a half-made new database, always ours by its run id, is dropped and made again).
No Ansible here: the module is a thin wrapper.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import signal
import socket
import threading
import time
import typing as t
import uuid

from ansible_collections.aragora.ops.plugins.module_utils._clients.files import write_json_atomically
from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive, pre_release
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_archive import ArchiveError, Server, utc_now
from ansible_collections.aragora.ops.plugins.module_utils._operations.preflight import DATABASE_NAME
from ansible_collections.aragora.ops.plugins.module_utils._operations.restore_state import (
    STATE_FORMAT,
    RestoreBusy,
    RestoreError,
    RunInterrupted,
    StateFile,
)
from ansible_collections.aragora.ops.plugins.module_utils._operations.restore_writers import Writers

STEPS = ("plan", "validate", "safety_dump", "stop_writers", "restore", "verify", "start_writers", "finish")
_TERMINATE_SQL = (
    "SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity AS a LEFT JOIN pg_roles AS r ON r.oid = a.usesysid "
    "WHERE a.datname = %s AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend' "
    "AND ((SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR (NOT coalesce(r.rolsuper, false) "
    "AND (a.usename = current_user OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'))))"
)


# A new run meets an unfinished restore whose run cannot be seen from here (its ansible-playbook runs elsewhere):
# it takes the restore over only once that run has been quiet this long (between two of its steps there is well
# under a second; a step in progress holds the lock).
TAKEOVER_QUIET_S = 10.0
# How long the run that owns the restore waits for another run's step to let go of the lock (that run is refused at
# its claim; its plan reads the database's size first, which takes seconds on a loaded server).
OWNER_WAIT_S = 120.0
WATCHDOG_INTERVAL_S = 0.5
# The PostgreSQL advisory lock of restores of one database (two-key form: this constant, hashtext(database)).
_ADVISORY_CLASS = 0x41524F52  # "AROR"
_ADVISORY_SQL = "SELECT pg_try_advisory_lock(%d, hashtext(%s))"
_ADVISORY_HOLDER_SQL = (
    "SELECT a.pid, coalesce(host(a.client_addr), 'local socket'), a.application_name, "
    "to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM pg_locks AS l "
    "JOIN pg_stat_activity AS a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.classid = %d AND l.objid = hashtext(%s)::oid AND l.objsubid = 2"
)


def _ident(name: str) -> str:
    return '"%s"' % name.replace('"', '""')


def _literal(text: str) -> str:
    return "'%s'" % text.replace("'", "''")


# ---- the run: who drives a restore, and the guard around each of its steps -------------------------------------------

def _proc_stat(pid: int) -> list[str]:
    """Fields 3.. of /proc/<pid>/stat (after the command name, which may hold spaces); [] when there is no process."""
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot): with the pid it names one process for good, as pids
    are reused; None when there is no such process."""
    fields = _proc_stat(pid)
    return fields[19] if len(fields) > 19 else None


def find_controller() -> dict[str, t.Any] | None:
    """The ansible-playbook process this module runs under, when it runs on this host (the topmost one: the workers
    it forks carry the same command line). None when the run is driven from another host (over SSH) or by hand."""
    found, pid = None, os.getppid()
    for _depth in range(64):
        if pid <= 1:
            break
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                argv = handle.read().split(b"\0")[:2]
        except OSError:
            break
        if any(os.path.basename(arg.decode("utf-8", "replace")) == "ansible-playbook" for arg in argv):
            found = pid
        fields = _proc_stat(pid)
        pid = int(fields[1]) if len(fields) > 1 else 0
    return {"pid": found, "start": process_start(found)} if found else None


def controller_alive(controller: t.Mapping[str, t.Any] | None) -> bool:
    return bool(controller) and controller.get("start") is not None \
        and process_start(int(controller["pid"])) == controller["start"]


def _interrupt(signum: int, _frame: t.Any) -> None:
    raise RunInterrupted("the run was interrupted (signal %s)" % signal.Signals(signum).name)


class Watchdog:
    """Ends the step when the ansible-playbook of its run is gone (killed): a SIGTERM to this process, whose handler
    raises RunInterrupted wherever the step is; subprocess.run then kills the tool it was waiting for. Without it an
    orphaned step would run on, and a rerun would meet it half-way."""

    def __init__(self, controller: t.Mapping[str, t.Any] | None) -> None:
        self.controller = controller
        self.stop = threading.Event()
        self.previous: dict[int, t.Any] = {}

    def __enter__(self) -> "Watchdog":
        try:
            for signum in (signal.SIGTERM, signal.SIGHUP):
                self.previous[signum] = signal.signal(signum, _interrupt)
        except ValueError:  # not the main thread: no handlers, no watchdog
            return self
        if self.controller:
            threading.Thread(target=self._watch, name="restore-watchdog", daemon=True).start()
        return self

    def _watch(self) -> None:
        while not self.stop.wait(WATCHDOG_INTERVAL_S):
            if not controller_alive(self.controller):
                os.kill(os.getpid(), signal.SIGTERM)
                return

    def __exit__(self, *_exc: t.Any) -> None:
        self.stop.set()
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


class Restore:
    """One restore of ``server.dbname`` from ``archive``; every method is one step, returning its report."""

    def __init__(self, server: Server, params: t.Mapping[str, t.Any]) -> None:
        self.server = server
        self.params = params
        self.database = server.dbname
        if not DATABASE_NAME.match(self.database):
            raise RestoreError("database name %r: only letters, digits and _ are supported here" % self.database)
        self.state = StateFile(params["state_dir"], self.database)
        self.controller = find_controller()
        self.taken_over_from: dict[str, t.Any] | None = None
        self.locked = False  # this process holds the step's locks: only then is the state written
        self.archive = self._archive()

    # ---- helpers -------------------------------------------------------------------------------------------------

    def _archive(self) -> str:
        given = self.params.get("archive")
        if self.state.open and self.state.data.get("archive"):
            recorded = self.state.data["archive"]
            if given and os.path.abspath(given) != recorded:
                raise RestoreError(
                    "an unfinished restore of %s from %s (run %s, started %s) is recorded in %s: rerun with that "
                    "archive to finish it (it is safe to rerun), or read that file to see where it stopped"
                    % (self.database, recorded, self.state.data.get("run_id"), self.state.data.get("started_at"),
                       self.state.path))
            return recorded
        if given:
            return os.path.abspath(given)
        directory = self.params.get("backup_dir")
        # The newest real backup, good or not (validation then says what is wrong with it, rather than restoring an
        # older one without a word); never a safety dump of an earlier restore, unless it is named.
        archives = pg_archive.restorable_archives(directory) if directory else []
        if not archives:
            safety = pg_archive.list_archives(directory) if directory else []
            suffixes = ", ".join("*" + suffix for suffix in pg_archive.BACKUP_SUFFIXES)
            only_safety = (" (only %d safety dump(s) of earlier restores, which are never chosen by default)"
                           % len(safety) if safety else "")
            raise RestoreError("no archive given and no backup (%s or a directory archive) in backup_dir %s%s: "
                               "name one with archive" % (suffixes, directory or "(not set)", only_safety))
        return archives[-1]

    def _sql(self, sql: str, database: str | None = None, timeout: float | None = 60) -> list[list[str]]:
        return pg_archive.psql(self.server, sql, database or self.server.maintenance_database, timeout)

    def _exists(self, database: str) -> bool:
        return bool(self._sql("SELECT 1 FROM pg_database WHERE datname = %s" % _literal(database)))

    def _terminate(self, database: str) -> int:
        """End the client sessions on ``database`` this role may end. Autovacuum workers (superuser processes that
        follow a large restore) are left alone: PostgreSQL stops them itself for a rename; sessions of roles this one
        may not signal stay, and the rename then says that the database is in use."""
        rows = self._sql(_TERMINATE_SQL % _literal(database))
        return int(rows[0][0])

    @property
    def run_id(self) -> str:
        return self.state.data["run_id"]

    @property
    def new_database(self) -> str:
        return ("%s_restore_%s" % (self.database[:40], self.run_id))[:63]

    @property
    def old_database(self) -> str:
        return ("%s_pre_restore_%s" % (self.database[:36], self.run_id))[:63]

    def _begin(self) -> None:
        if not self.state.open:
            self.state.data = {"format": STATE_FORMAT, "run_id": datetime.datetime.now(datetime.timezone.utc)
                               .strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:6], "database": self.database,
                               "server": self.server.where(), "archive": self.archive, "started_at": utc_now(),
                               "steps": {}, "owner": self._owner()}
            self.state.save()

    # ---- one step at a time, by one run -------------------------------------------------------------------------

    def _owner(self) -> dict[str, t.Any]:
        return {"token": self.params.get("run_token"), "controller": self.controller, "host": socket.gethostname()}

    def _holder_of(self, fd: int) -> dict[str, t.Any]:
        try:
            return json.loads(os.pread(fd, 65536, 0).decode("utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def _owns_the_open_restore(self) -> bool:
        """The state file, read without its lock (a hint: it is read again under it), names this run as the owner of
        the restore in progress."""
        token = self.params.get("run_token")
        try:
            saved = StateFile(self.state.directory, self.database)
        except RestoreError:
            return False
        return bool(token) and saved.open and (saved.data.get("owner") or {}).get("token") == token

    def _take_file_lock(self, fd: int) -> None:
        """The state file's lock, or RestoreError naming the step that holds it. Waited for: a step whose
        ansible-playbook is gone (on this host: it ends itself within a second, its Watchdog), and, by the run that
        owns the restore in progress, another run's step (refused at its claim, it lets go: a second run's plan
        must not end the first run between two of its steps)."""
        deadline = time.monotonic() + TAKEOVER_QUIET_S
        owner: bool | None = None  # whether this run owns the open restore: read once, when another run is met
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                holder = self._holder_of(fd)
            orphan = holder.get("host") == socket.gethostname() and holder.get("controller") \
                and not controller_alive(holder["controller"])
            intruder = holder.get("run_token") != self.params.get("run_token")
            if intruder and owner is None:
                owner = self._owns_the_open_restore()
            if intruder and owner and time.monotonic() < deadline + OWNER_WAIT_S:
                time.sleep(0.2)
                continue
            if not orphan or time.monotonic() >= deadline:
                controller = holder.get("controller") or {}
                raise RestoreBusy(
                    "another restore of %s is running a step now: step %s, process %s on %s since %s (run %s%s). Two "
                    "restores of one database at once are refused: this run changed nothing; wait for that one to "
                    "end (or end it: kill %s) and rerun" % (
                        self.database, holder.get("step", "?"), holder.get("pid", "?"), holder.get("host", "?"),
                        holder.get("since", "?"), holder.get("run_token") or "without a run token",
                        ", ansible-playbook pid %s %s" % (controller["pid"], "running" if controller_alive(controller)
                                                          else "gone") if controller else "",
                        holder.get("pid", "?")))
            time.sleep(0.2)

    def _take_advisory_lock(self) -> "pg_archive.PsqlSession":
        """PostgreSQL's advisory lock of restores of this database, held by a session on the maintenance database
        for the step's life: it keeps out a restore of the same database run from another host (another state file)."""
        session = pg_archive.PsqlSession(self.server, self.server.maintenance_database)
        try:
            (granted,), = session.ask(_ADVISORY_SQL % (_ADVISORY_CLASS, _literal(self.database)))
            if granted == "t":
                return session
            holders = session.ask(_ADVISORY_HOLDER_SQL % (_ADVISORY_CLASS, _literal(self.database)))
        except (ArchiveError, ValueError) as exc:
            session.close()
            raise RestoreError("cannot take the restore's advisory lock on %s: %s" % (self.server.where(), exc)) \
                from None
        session.close()
        who = "; ".join("backend %s from %s (%s) since %s" % tuple(row) for row in holders if len(row) == 4)
        raise RestoreBusy("another restore of %s holds its PostgreSQL advisory lock on %s (%s): two restores of one "
                          "database at once are refused, this run changed nothing"
                          % (self.database, self.server.where(), who or "holder not visible to this role"))

    def _claim(self, step: str) -> None:
        """This run drives the restore recorded in the state file, or RestoreError. A new run (another run token)
        takes an unfinished restore over only at its first step, and only when the run that left it is gone."""
        token = self.params.get("run_token")
        if not token or not self.state.open:
            return
        owner = self.state.data.get("owner") or {}
        if owner.get("token") == token:
            return
        if owner.get("token") and step != "plan":
            taken_at = (self.state.data.get("takeovers") or [{}])[-1].get("at", "?")
            raise RestoreBusy("run %s now drives the restore of %s (it took over at %s): this run stops here and "
                              "changed nothing in this step" % (owner["token"], self.database, taken_at))
        previous = owner.get("controller")
        if owner.get("token") and previous and owner.get("host") == socket.gethostname():
            if controller_alive(previous):
                raise RestoreBusy(
                    "another run is restoring %s now (run %s, ansible-playbook pid %s, started %s): two restores of "
                    "one database at once are refused; this run changed nothing" % (
                        self.database, self.run_id, previous["pid"], self.state.data.get("started_at")))
        elif owner.get("token") and self.state.age_s < TAKEOVER_QUIET_S:
            raise RestoreBusy(
                "another run (run %s, driven from %s) acted on this restore of %s %.0f s ago: two restores of one "
                "database at once are refused; if that run was interrupted, rerun once it has been quiet for %g s"
                % (self.run_id, owner.get("host"), self.database, self.state.age_s, TAKEOVER_QUIET_S))
        self.state.data.setdefault("takeovers", []).append({"at": utc_now(), "from": owner.get("token"), "to": token})
        self.state.data["owner"] = self._owner()
        self.state.save()
        self.taken_over_from = owner

    @contextlib.contextmanager
    def exclusive(self, step: str, check_mode: bool = False) -> t.Iterator[None]:
        """Run one step alone: the state file's lock (one step per database on this host) and PostgreSQL's advisory
        lock (one per database on the server) held for the step; the state read again under them; this run's claim
        on the restore; and a Watchdog that ends the step when its ansible-playbook dies. Check mode writes nothing:
        it takes the file lock only when the state directory exists."""
        fd = None
        if not check_mode or os.path.isdir(self.state.directory):
            os.makedirs(self.state.directory, mode=0o700, exist_ok=True)
            fd = os.open(self.state.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fd is not None:
                self._take_file_lock(fd)
                if not check_mode:
                    holder = {"pid": os.getpid(), "step": step, "since": utc_now(), "host": socket.gethostname(),
                              "run_token": self.params.get("run_token"), "controller": self.controller}
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)
            session = self._take_advisory_lock()
            self.locked = True
            try:
                self.state.load()
                self.archive = self._archive()
                if not check_mode:
                    self._claim(step)
                    if self.state.data.get("connections_blocked"):
                        # A run killed during the swap left new connections refused. No swap is in flight while
                        # this run holds the locks: settle it (committed or not) before any step reads a database.
                        self._swap_committed()
                        self._reopen_connections()
                with Watchdog(self.controller):
                    yield
            finally:
                self.locked = False
                session.close()
        finally:
            if fd is not None:
                os.close(fd)  # the flock goes with it, also when this process is killed

    def _target_facts(self) -> dict[str, t.Any]:
        if not self._exists(self.database):
            return {"exists": False}
        size, = self._sql("SELECT pg_size_pretty(pg_database_size(%s))" % _literal(self.database))[0]
        counts = pg_archive.row_counts(self.server, self.database)
        return {"exists": True, "size": size, "tables": len(counts), "rows": sum(counts.values())}

    def schema_change(self, target: t.Mapping[str, t.Any], manifest: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
        """Tables and columns the live database has gained or lost since the archive (its manifest's schema): what
        an application-only rollback would run the old release on."""
        if self.state.data.get("swapped"):
            return {"compared": False, "differs": None,
                    "message": "Schema not compared: the restored database is already live in this run"}
        if not target["exists"]:
            return {"compared": False, "differs": None,
                    "message": "Schema not compared: database %s does not exist yet" % self.database}
        live = pg_archive.schema_of(self.server, self.database)
        return pre_release.schema_difference((manifest or {}).get("schema"), live)

    # ---- steps ---------------------------------------------------------------------------------------------------

    def plan(self, confirm: bool, check_mode: bool) -> dict[str, t.Any]:
        """Step 1: what will be replaced by what; refuse without confirmation (not needed in check mode)."""
        target = self._target_facts()
        manifest = pg_archive.read_manifest(self.archive) if os.path.isfile(self.archive) else None
        resumed = self.state.open
        what = ("database %s at %s (%s)" % (self.database, self.server.where(), "%s, %d tables, %d rows" % (
            target["size"], target["tables"], target["rows"]) if target["exists"] else "does not exist yet"))
        source = "archive %s%s" % (self.archive, " (taken %s, %d tables, %d rows)" % (
            manifest.get("finished_at"), len(manifest.get("tables") or {}), manifest.get("rows_total", 0))
            if manifest else " (no manifest)")
        schema = self.schema_change(target, manifest)
        message = "Restore will replace %s with %s; the current database is kept as %s. %s" % (
            what, source, "<database>_pre_restore_<run id>" if not resumed else self.old_database, schema["message"])
        report = {"step": "plan", "target": target, "archive": self.archive, "manifest": manifest is not None,
                  "resuming": resumed, "state_file": self.state.path, "schema": schema, "message": message}
        if resumed:
            report["message"] += ("; RESUMING run %s (started %s, steps done: %s%s)" % (
                self.run_id, self.state.data.get("started_at"),
                ", ".join(n for n in STEPS if self.state.done(n)) or "none",
                "; taken over from run %s, which is gone" % self.taken_over_from.get("token")
                if self.taken_over_from else ""))
        if not confirm and not check_mode:
            raise RestoreError("Refusing to restore without confirmation. %s. Rerun with -e aragora_restore_confirm=true "
                               "(AWX: answer the survey's confirmation) once you are sure." % message)
        return report

    def validate(self) -> dict[str, t.Any]:
        """Step 2: the archive is sound (pg_archive.validate_archive, the judgment every archive gets) and fits the
        server, before anything is touched."""
        archive = self.archive
        try:
            facts = pg_archive.validate_archive(archive, require_manifest=bool(self.params.get("require_manifest")))
        except pg_archive.ArchiveDefect as exc:
            # The defects of the file itself end in ": "; those pg_restore reports in "; " (as they always read).
            raise RestoreError("%s%snothing was touched" % (
                exc, ": " if exc.defect in ("missing", "empty", "no_manifest", "sha256") else "; ")) from None
        report: dict[str, t.Any] = {"step": "validate", "archive": archive, "size_bytes": facts["size_bytes"]}
        manifest = facts["manifest"]
        if manifest is not None:
            report.update(sha256=facts["sha256"], sha256_verified=True,
                          manifest_tables=len(manifest.get("tables") or {}))
        if facts["data_read"]:
            report["data_read"] = True
        _version, number = pg_archive.server_version(self.server, self.server.maintenance_database)
        server_major = number // 10000
        dumped_major = facts["dumped_from_major"]
        report.update(toc_entries=facts["toc_entries"], dumped_from_major=dumped_major, server_major=server_major)
        if dumped_major is not None and dumped_major > server_major:
            raise RestoreError("archive %s was dumped from PostgreSQL %d; the server is PostgreSQL %d: restore it "
                               "on %d or newer; nothing was touched"
                               % (archive, dumped_major, server_major, dumped_major))
        report["message"] = "archive %s is sound: %s, pg_restore reads %d entries, PostgreSQL %s -> %d" % (
            os.path.basename(archive), "sha256 matches its manifest" if manifest else
            "no manifest, every data block read", report["toc_entries"], dumped_major or "?", server_major)
        return report

    def safety_dump(self) -> dict[str, t.Any]:
        """Step 3: a pg_dump of the current database, kept; skipped when done already or asked not to."""
        self._begin()
        if self.state.done("safety_dump"):
            path = self.state.data.get("safety_dump")
            if path is None or os.path.isfile(path):
                return {"step": "safety_dump", "changed": False, "path": path,
                        "message": "already done in this run: %s" % (path or "skipped")}
        if not self.params.get("safety_dump", True):
            self.state.mark("safety_dump", "done", "skipped: safety_dump is false", safety_dump=None)
            return {"step": "safety_dump", "changed": False, "path": None, "message": "skipped (safety_dump=false)"}
        if not self._exists(self.database):
            self.state.mark("safety_dump", "done", "nothing to dump", safety_dump=None)
            return {"step": "safety_dump", "changed": False, "path": None,
                    "message": "database %s does not exist: nothing to dump" % self.database}
        directory = self.params.get("safety_dump_dir") or self.params.get("backup_dir") or self.state.directory
        self.state.mark("safety_dump", "started", "pg_dump of %s into %s" % (self.database, directory))
        manifest = pg_archive.take_backup(self.server, directory, prefix="%s-pre-restore" % self.database,
                                          timeout=self.params.get("restore_timeout"),
                                          kind=pg_archive.KIND_SAFETY_DUMP)
        self.state.mark("safety_dump", "done", manifest["archive_path"], safety_dump=manifest["archive_path"])
        return {"step": "safety_dump", "changed": True, "path": manifest["archive_path"],
                "size_bytes": manifest["size_bytes"], "rows": manifest["rows_total"],
                "message": "safety dump of %s kept at %s (%d rows)"
                           % (self.database, manifest["archive_path"], manifest["rows_total"])}

    def stop_writers(self, writers: "Writers") -> dict[str, t.Any]:
        """Step 4: the writers stopped (previous state saved first) and the database's sessions ended."""
        self._begin()
        before = self.state.data.get("writers")
        if before is None:  # saved before anything is scaled: a rerun never mistakes our 0 for the app's count
            before = writers.observe()
            self.state.mark("stop_writers", "started", "stopping %s" % writers.describe(), writers=before)
        detail = writers.for_state(before).stop(before)
        ended = self._terminate(self.database) if self._exists(self.database) else 0
        self.state.mark("stop_writers", "done", detail)
        return {"step": "stop_writers", "changed": True, "writers": before, "sessions_ended": ended,
                "message": "%s; %d remaining session(s) on %s ended" % (detail, ended, self.database)}

    def restore(self) -> dict[str, t.Any]:
        """Step 5: pg_restore into a new database; the live one is not touched. A failure drops only that new one."""
        self._begin()
        new = self.new_database
        if self.state.data.get("swapped") or self.state.done("restore"):
            return {"step": "restore", "changed": False, "database": new,
                    "message": "already done in this run (%s)" % new}
        if self._exists(new):  # a run killed mid-restore left it half made; its name carries our run id
            self._sql("DROP DATABASE %s" % _ident(new))
        owner = self._sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s"
                          % _literal(self.database))
        owner_clause = " OWNER %s" % _ident(owner[0][0]) if owner else ""
        self._sql("CREATE DATABASE %s TEMPLATE template0%s" % (_ident(new), owner_clause))
        self.state.mark("restore", "started", "pg_restore into %s" % new, new_database=new)
        jobs = max(1, int(self.params.get("jobs") or 1))
        argv = [pg_archive.find_tool("pg_restore"), "--exit-on-error", "--jobs", str(jobs), "-d", new]
        if self.params.get("no_owner"):
            argv.append("--no-owner")
        began = time.monotonic()
        try:
            pg_archive.run_tool(self.server, argv + [self.archive], "pg_restore into %s" % new,
                                self.params.get("restore_timeout"))
        except (ArchiveError, RunInterrupted) as exc:
            # pg_restore has ended (subprocess.run kills it on an interruption): the half-made copy goes with it.
            self._sql("DROP DATABASE IF EXISTS %s" % _ident(new))
            self.state.mark("restore", "interrupted" if isinstance(exc, RunInterrupted) else "failed", str(exc))
            raise type(exc)("%s. The live database %s was not touched (the half-restored %s was dropped)"
                            % (exc, self.database, new)) from None
        seconds = round(time.monotonic() - began, 2)
        self.state.mark("restore", "done", "restored into %s in %g s" % (new, seconds))
        return {"step": "restore", "changed": True, "database": new, "jobs": jobs, "duration_s": seconds,
                "message": "restored %s into new database %s in %g s (--exit-on-error --jobs %d); %s untouched"
                           % (os.path.basename(self.archive), new, seconds, jobs, self.database)}

    def _swap_committed(self) -> bool:
        """Whether the swap is done: the state says so, or a run killed between the rename's COMMIT and its state
        write left the restored copy gone (renamed live) while the swap was under way. Recorded when found."""
        if self.state.data.get("swapped"):
            return True
        if self.state.step("verify").get("status") != "swapping" or self._exists(self.new_database):
            return False
        if not self.locked:  # observed only: the state is written by the step that holds the locks
            return True
        old = self.old_database if self._exists(self.old_database) else None
        self.state.mark("verify", "done", "the swap had been committed by an interrupted run", swapped=True,
                        old_database=old)
        return True

    def _block_connections(self, names: t.Sequence[str]) -> None:
        """No new session on ``names`` until _reopen_connections: a client reconnecting between the end of the
        sessions and the rename would make the rename fail. What each allowed before is kept in the state (by oid,
        which a rename keeps) first, so that a killed run's rerun opens them again."""
        blocked = dict(self.state.data.get("connections_blocked") or {})
        for name in names:
            for oid, allowed in self._sql("SELECT oid, datallowconn FROM pg_database WHERE datname = %s"
                                          % _literal(name)):
                blocked.setdefault(oid, allowed == "t")
        self.state.mark("verify", "swapping", "new connections to %s refused for the swap" % " and ".join(names),
                        connections_blocked=blocked)
        for name in names:
            if self._exists(name):
                self._sql("ALTER DATABASE %s WITH ALLOW_CONNECTIONS false" % _ident(name))

    def _reopen_connections(self) -> list[str]:
        """Connections allowed again as before the swap, on the databases blocked (whatever their names now)."""
        blocked = self.state.data.get("connections_blocked") or {}
        reopened = []
        for oid, allowed in blocked.items():
            for (name,) in self._sql("SELECT datname FROM pg_database WHERE oid = %d" % int(oid)):
                self._sql("ALTER DATABASE %s WITH ALLOW_CONNECTIONS %s" % (_ident(name), str(bool(allowed)).lower()))
                reopened.append(name)
        if blocked:
            self.state.data.pop("connections_blocked", None)
            self.state.save()
        return reopened

    def verify(self, checks: t.Sequence[t.Mapping[str, str]]) -> dict[str, t.Any]:
        """Step 6: every table of the archive verified against the manifest and the SQL checks run on the restored
        database; only then the swap, by rename in one transaction, with new connections to both refused meanwhile."""
        self._begin()
        swapped = self._swap_committed()
        database = self.database if swapped else self.new_database
        if not swapped and not (self.state.done("restore") and self._exists(database)):
            raise RestoreError("nothing to verify: the restore step has not completed in run %s" % self.run_id)
        self.state.mark("verify", self.state.step("verify").get("status") if swapped else "started",
                        "verifying %s" % database)
        report = verify_database(self.server, database, pg_archive.read_manifest(self.archive), checks,
                                 pg_archive.list_tables(self.archive))
        if report["problems"]:
            self.state.mark("verify", "failed", "; ".join(report["problems"]))
            raise RestoreError("verification of restored database %s failed: %s. Not swapped in: %s is still the "
                               "live database, untouched; %s is kept for inspection (drop it when done)"
                               % (database, "; ".join(report["problems"]), self.database, database))
        if not swapped:
            old = self.old_database
            exists = self._exists(self.database)
            try:  # blocking too: an interruption half-way through it must still reach the finally below
                self._block_connections([self.database, database] if exists else [database])
                self._terminate(self.database)
                self._terminate(database)
                renames = ["ALTER DATABASE %s RENAME TO %s" % (_ident(self.database), _ident(old))] if exists else []
                renames.append("ALTER DATABASE %s RENAME TO %s" % (_ident(database), _ident(self.database)))
                self._sql("BEGIN; %s; COMMIT" % "; ".join(renames))
                self.state.mark("verify", "done", "verified and swapped in", swapped=True,
                                old_database=old if exists else None)
            finally:
                # Also on failure or interruption; if this fails too, start_writers (always run) tries again.
                with contextlib.suppress(ArchiveError):
                    self._reopen_connections()
        report.update(step="verify", changed=not swapped, old_database=self.state.data.get("old_database"),
                      message="%s; %s is live%s" % (report["message"], self.database, (
                          ", the previous data is kept as database %s" % self.state.data["old_database"])
                          if self.state.data.get("old_database") else ""))
        return report

    def start_writers(self, writers: "Writers") -> dict[str, t.Any]:
        """Step 7: the writers back as they were before step 4 (nothing to do when they were never stopped)."""
        reopened = self._reopen_connections() if self.state.open else []
        reopened_note = "; new connections allowed again to %s" % ", ".join(reopened) if reopened else ""
        before = self.state.data.get("writers") if self.state.open else None
        if before is None:
            return {"step": "start_writers", "changed": bool(reopened), "writers": None,
                    "message": "the writers were not stopped by this run: nothing to bring back" + reopened_note}
        detail = writers.for_state(before).start(before) + reopened_note
        self.state.mark("start_writers", "done", detail)
        return {"step": "start_writers", "changed": True, "writers": before, "message": detail}

    def finish(self, outcome: str, writers: "Writers | None" = None) -> dict[str, t.Any]:
        if not self.state.open:
            return {"step": "finish", "changed": False, "message": "no open restore state"}
        history = self.state.close(outcome)
        # Observed once closed (it says so). The writers were observed by start_writers moments ago when it
        # brought them back; only otherwise are they read again.
        summary = self.where_things_stand(None if self.state.done("start_writers") else writers)
        return {"step": "finish", "changed": True, "state_history": history, "outcome": outcome,
                "message": "restore state closed (%s), kept as %s" % (outcome, history), **summary}

    def where_things_stand(self, writers: "Writers | None" = None) -> dict[str, t.Any]:
        """What an SRE needs after a failure, as observed now - the databases on the server, the safety dump on
        disk, the writers, whether the state is still open - never assumed from the step that failed; and how to
        finish by hand."""
        data = self.state.data
        steps = {name: (data.get("steps") or {}).get(name, {}).get("status", "not run") for name in STEPS[2:7]}
        new, old = data.get("new_database"), data.get("old_database")
        lines = []
        try:
            swapped = self._swap_committed() if data.get("run_id") else False
            old = self.state.data.get("old_database")
            present = {name for name in (self.database, new, old) if name and self._exists(name)}
            blocked = [name for oid in data.get("connections_blocked") or {}
                       for (name,) in self._sql("SELECT datname FROM pg_database WHERE oid = %d" % int(oid))]
        except ArchiveError as exc:
            swapped, present, blocked = bool(data.get("swapped")), None, []
            lines.append("The databases on %s could not be observed (%s)." % (self.server.where(), exc))
        if present is not None:
            if self.database not in present:
                lines.append("Database %s does not exist on %s." % (self.database, self.server.where()))
            else:
                lines.append("Database %s holds %s." % (self.database, "the data restored from %s" % data.get("archive")
                                                        if swapped else "the previous data (untouched)"))
            if old and old in present:
                lines.append("The previous data is kept as database %s (drop it once the restored data is "
                             "accepted)." % old)
            if new and not swapped:
                lines.append("The restored copy %s %s." % (new, "exists (verification: %s; drop it when done)"
                                                           % steps["verify"] if new in present
                                                           else "does not exist (none is left behind)"))
        if blocked:
            lines.append("New connections are still refused to %s: ALTER DATABASE ... WITH ALLOW_CONNECTIONS true "
                         "(or rerun to resume, which allows them again)." % ", ".join(blocked))
        if data.get("safety_dump"):
            lines.append(("Safety dump: %s." if os.path.isfile(data["safety_dump"]) else
                          "The safety dump %s is MISSING from disk.") % data["safety_dump"])
        lines.append(self._writers_now(data.get("writers"), writers))
        if self.state.open:
            lines.append("The restore state is open in %s: rerunning db_restore.yml with the same archive resumes "
                         "it." % self.state.path)
            if new and present is not None and new in present and not swapped and steps["verify"] != "failed":
                lines.append("To swap by hand instead: ALTER DATABASE %s RENAME TO %s; ALTER DATABASE %s RENAME TO "
                             "%s." % (self.database, self.old_database, new, self.database))
        else:
            lines.append("The restore state is closed (kept as %s): a rerun starts a new restore."
                         % (getattr(self.state, "history_path", None) or self.state.path))
        return {"steps": steps, "where_things_stand": " ".join(line for line in lines if line),
                "state_file": self.state.path, "state_open": self.state.open}

    def _writers_now(self, before: t.Mapping[str, t.Any] | None, writers: "Writers | None") -> str:
        if not before or before.get("kind") == "none":
            return ""
        started = self.state.step("start_writers")
        if writers is None and started.get("status") == "done":
            return "The writers were brought back: %s (seen at %s)." % (started.get("detail"), started.get("at"))
        if writers is None:
            return "The writers (%s before the restore) were not observed; to bring them back: %s." % (
                Writers.describe_state(before), Writers.by_hand(before))
        writers = writers.for_state(before)
        try:
            now = writers.observe()
        except RestoreError as exc:
            return "The writers could not be observed (%s); before the restore: %s." % (
                exc, Writers.describe_state(before))
        return writers.compare(before, now)


def verify_database(server: Server, database: str, manifest: t.Mapping[str, t.Any] | None,
                    checks: t.Sequence[t.Mapping[str, str]],
                    archive_tables: t.Collection[str] | None = None) -> dict[str, t.Any]:
    """Row counts of ``database`` against the manifest, and the user's checks (each SQL must return true).

    With a manifest, verification covers every table: a manifest that lists no table, or not every table whose rows
    the archive holds (``archive_tables``, from its table of contents), or not every table of the restored
    database, is a failed verification, never "row counts match"."""
    counts = pg_archive.row_counts(server, database)
    problems, mismatched = [], {}
    coverage_problems = []
    if manifest is not None:
        expected = manifest.get("tables") if isinstance(manifest.get("tables"), dict) else {}
        if not expected:
            coverage_problems.append("the manifest lists no tables: there is nothing to verify the %d restored "
                                     "table(s) against" % len(counts))
        uncovered = sorted(set(archive_tables or ()) - set(expected))
        unlisted = sorted(set(counts) - set(expected))
        if expected and uncovered:
            coverage_problems.append("the manifest does not list %d table(s) of the archive: %s" % (
                len(uncovered), ", ".join(uncovered[:10])))
        unlisted = [name for name in unlisted if name not in uncovered]
        if expected and unlisted:
            coverage_problems.append("the restored database has %d table(s) the manifest does not list: %s" % (
                len(unlisted), ", ".join(unlisted[:10])))
        for table, rows in sorted(expected.items()):
            if table not in counts:
                problems.append("table %s missing" % table)
            elif counts[table] != rows:
                mismatched[table] = {"expected": rows, "found": counts[table]}
        if mismatched:
            problems.append("row counts differ: %s" % ", ".join(
                "%s %d != %d" % (name, v["found"], v["expected"]) for name, v in mismatched.items()))
        problems = coverage_problems + problems
    counts_verified = manifest is not None and not problems
    check_results = []
    for number, check in enumerate(checks or (), 1):
        name = check.get("name") or "check %d" % number
        try:
            rows = pg_archive.psql(server, check["sql"], database)
            value = rows[0][0] if rows and rows[0] else None
            passed = str(value).lower() in ("t", "true", "1")
        except ArchiveError as exc:
            value, passed = str(exc), False
        check_results.append({"name": name, "passed": passed, "value": value})
        if not passed:
            problems.append("check %r returned %r, not true" % (name, value))
    message = "%s: %d tables, %d rows%s%s" % (
        database, len(counts), sum(counts.values()),
        ", row counts match the manifest (all %d tables)" % len(counts) if counts_verified else
        ", no manifest to compare row counts with" if manifest is None else ", row counts NOT verified",
        ", %d/%d SQL checks pass" % (sum(c["passed"] for c in check_results), len(check_results))
        if check_results else "")
    return {"tables": len(counts), "rows": sum(counts.values()), "row_counts": counts, "mismatched": mismatched,
            "sql_checks": check_results, "problems": problems, "message": message, "counts_verified": counts_verified}


def drill(server: Server, params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Restore the newest (or given) archive into a scratch database, verify it, drop it, write the evidence JSON
    that the database.restore_tested check reads. Failures are evidence too (result failure, with the error)."""
    started, began = utc_now(), time.monotonic()
    scratch = params.get("scratch_database") or "%s_restore_drill" % server.dbname
    archives = pg_archive.restorable_archives(params["backup_dir"]) if params.get("backup_dir") else []
    archive = params.get("archive") or (archives[-1] if archives else None)
    report: dict[str, t.Any] = {"archive": archive, "scratch_database": scratch}
    error = None
    try:
        if not archive:
            raise RestoreError("no archive given and none in backup_dir %s" % params.get("backup_dir"))
        if not DATABASE_NAME.match(scratch):
            raise RestoreError("scratch database name %r: only letters, digits and _" % scratch)
        # Judged as a restore judges it, without reading the data twice (pg_restore reads it all just below).
        facts = pg_archive.validate_archive(archive, read_data=False)
        manifest = facts["manifest"]
        maintenance = server.maintenance_database
        pg_archive.psql(server, "DROP DATABASE IF EXISTS %s" % _ident(scratch), maintenance)
        pg_archive.psql(server, "CREATE DATABASE %s TEMPLATE template0" % _ident(scratch), maintenance)
        try:
            pg_archive.run_tool(server, [pg_archive.find_tool("pg_restore"), "--exit-on-error", "--no-owner",
                                         "--jobs", str(max(1, int(params.get("jobs") or 1))), "-d", scratch, archive],
                                "pg_restore into %s" % scratch, params.get("restore_timeout"))
            verified = verify_database(server, scratch, manifest, params.get("checks") or [], facts["tables"])
        finally:
            pg_archive.psql(server, "DROP DATABASE IF EXISTS %s" % _ident(scratch), maintenance)
        report.update(tables_restored=verified["tables"], rows_restored=verified["rows"],
                      counts_verified=verified["counts_verified"], sql_checks=verified["sql_checks"],
                      verification=verified)
        if verified["problems"]:
            raise RestoreError("verification failed: %s" % "; ".join(verified["problems"]))
    except (RestoreError, ArchiveError) as exc:
        error = str(exc)
    evidence = {"finished_at": utc_now(), "started_at": started, "result": "failure" if error else "success",
                "archive": archive or "(none)", "duration_s": round(time.monotonic() - began, 3),
                "target": "%s@%s" % (scratch, server.where(scratch).rsplit("/", 1)[0]),
                "tables_restored": report.get("tables_restored"), "rows_restored": report.get("rows_restored"),
                "counts_verified": report.get("counts_verified", False)}
    if error:
        evidence["error"] = error
    if params.get("evidence_file"):
        directory = os.path.dirname(os.path.abspath(params["evidence_file"]))
        os.makedirs(directory, exist_ok=True)
        write_json_atomically(params["evidence_file"], evidence)
    report.update(evidence=evidence, evidence_file=params.get("evidence_file"), error=error)
    return report
