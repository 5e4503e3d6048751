"""Two real Aragora releases and one PostgreSQL, for the coordinated rollback's tests and benchmark.

Release A = 2.11.0, release B = 2.11.1 behind the kind of entrypoint releases ship (``migrate && exec server``), whose
migration is ours: 2.11.0 and 2.11.1 create the same tables in PostgreSQL at start (their storage modules differ only
in SQLite code), so B's schema change has to come from somewhere. It adds a column to Aragora's ``users`` table and a
table ``release_notes``, and writes a row; like a real migration it changes nothing when run again (a restart of B).
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess

import pytest
import yaml

from sandbox.k8s.process_driver import venv_python
from tests.support import pg_instance, systemctl_standin
from tests.support.playbook import BIN, run_playbook
from tests.support.systemd_host import get, make_host, wait_ready

A, B = "2.11.0", "2.11.1"
API_RELEASE = {A: "2.0.3", B: "2.11.1"}  # what each real release sends as X-API-Release
NEW_USERS = 4  # users created while B serves
MIGRATION = """
ALTER TABLE users ADD COLUMN IF NOT EXISTS locale text;
CREATE TABLE IF NOT EXISTS release_notes (id serial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
                                          note text NOT NULL);
INSERT INTO release_notes (note) SELECT 'migrated to 2.11.1'
WHERE NOT EXISTS (SELECT 1 FROM release_notes WHERE note = 'migrated to 2.11.1');
"""
SEED_USERS = 7  # users created under A, before the go-live
CHECKSUMS_SQL = """
SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
"""


def insert_users(pg, count: int, prefix: str, database: str | None = None) -> None:
    pg.psql("INSERT INTO users (id, email, password_hash, password_salt, name, created_at, updated_at) "
            "SELECT '%s-' || g, '%s' || g || '@example.com', 'x', 'y', 'user ' || g, now(), now() "
            "FROM generate_series(1, %d) AS g" % (prefix, prefix, count), database)


def checksums(pg, database: str) -> dict[str, str]:
    """Table -> md5 over its rows (order-free): equal checksums, equal data."""
    tables = [row[0] for row in pg.psql(CHECKSUMS_SQL, database)]
    return {table: pg.psql("SELECT md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), '')) FROM %s AS t"
                           % table, database)[0][0] for table in tables}


def columns(pg, database: str, table: str = "users") -> list[str]:
    return [row[0] for row in pg.psql("SELECT column_name FROM information_schema.columns WHERE table_name = '%s' "
                                      "ORDER BY ordinal_position" % table, database)]


def archive_checksums(pg, archive: str) -> dict[str, str]:
    """The checksums of what the archive holds, restored into a scratch database by pg_restore itself."""
    pg.psql("DROP DATABASE IF EXISTS archive_truth", "postgres")
    pg.psql("CREATE DATABASE archive_truth", "postgres")
    subprocess.run(["pg_restore", "--exit-on-error", "-d", "archive_truth", archive], env=pg.env(), check=True,
                   capture_output=True, timeout=120)
    try:
        return checksums(pg, "archive_truth")
    finally:
        pg.psql("DROP DATABASE archive_truth", "postgres")


def release_b_entrypoint(directory: str, pg) -> str:
    """A venv-like directory whose bin/python runs B's migration, then the real 2.11.1 Python."""
    os.makedirs(os.path.join(directory, "bin"), exist_ok=True)
    with open(os.path.join(directory, "migration.sql"), "w", encoding="utf-8") as handle:
        handle.write(MIGRATION)
    script = os.path.join(directory, "bin", "python")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\n# Release 2.11.1's entrypoint: its migration, then the server.\n"
                     "PGPASSWORD='%s' psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p %d -U aragora -d aragora -f %s "
                     "|| exit 1\nexec %s \"$@\"\n"
                     % (pg.password, pg.port, os.path.join(directory, "migration.sql"), venv_python(B)))
    os.chmod(script, 0o755)
    return script


def api_release(api_url: str) -> str | None:
    return get(api_url + "/api/health")[1].get("X-API-Release")


def database_env(pg) -> dict[str, str]:
    return {"ARAGORA_DB_BACKEND": "postgres",
            "DATABASE_URL": "postgresql://aragora:%s@127.0.0.1:%d/aragora" % (pg.password, pg.port)}


class SystemdSite:
    """Release A serving on a systemd host, its database in a real PostgreSQL."""

    def __init__(self, base: str, pg) -> None:
        for release in (A, B):
            if not os.path.exists(venv_python(release)):
                pytest.fail("Aragora %s is not installed at %s: run scripts/setup.sh" % (release, venv_python(release)))
        self.base, self.pg = base, pg
        self.state = os.path.join(base, "systemd")
        self.systemctl = systemctl_standin.install(os.path.join(base, "bin"), self.state)
        entry = release_b_entrypoint(os.path.join(base, "release-b"), pg)
        releases = {A: {"venv": os.path.dirname(os.path.dirname(venv_python(A))), "version": API_RELEASE[A]},
                    B: {"venv": os.path.dirname(os.path.dirname(entry)), "version": API_RELEASE[B]}}
        self.host = make_host(os.path.join(base, "host"), os.path.join(self.state, "units"), "aragora.service",
                              releases, A)
        with open(os.path.join(self.host["root"], ".env"), "a", encoding="utf-8") as handle:
            handle.write("".join("%s=%s\n" % item for item in database_env(pg).items()))
        self.unit = systemctl_standin.Unit(self.state, self.host["unit"])
        self.backups = os.path.join(base, "backups")
        self.reports = os.path.join(base, "reports")
        self.state_dir = os.path.join(base, "restore-state")
        hostvars = {"ansible_connection": "local", "ansible_python_interpreter": os.path.join(BIN, "python"),
                    **pg.connection_vars(), "aragora_release_root": self.host["root"],
                    "aragora_systemd_unit": self.host["unit"], "aragora_api_url": self.host["api_url"],
                    "aragora_backup_dir": self.backups, "aragora_report_dir": self.reports,
                    "aragora_restore_state_dir": self.state_dir, "aragora_rollback_health_interval": 1,
                    "aragora_rollback_health_timeout": 60, "aragora_restore_writers_timeout": 30}
        self.inventory = os.path.join(base, "inventory.yml")
        with open(self.inventory, "w", encoding="utf-8") as handle:
            yaml.safe_dump({"all": {"hosts": {"site": hostvars},
                                    "children": {"aragora": {"hosts": {"site": {}}},
                                                 "aragora_systemd": {"hosts": {"site": {}}}}}}, handle)

    def ctl(self, *args: str) -> None:
        subprocess.run([self.systemctl, *args], check=True, timeout=60, capture_output=True)

    def serve(self, release: str) -> None:
        assert wait_ready(self.host["api_url"]), open(self.unit.log, encoding="utf-8").read()[-3000:]
        assert api_release(self.host["api_url"]) == API_RELEASE[release]

    def run(self, playbook: str, extra: dict | None = None, *args: str) -> subprocess.CompletedProcess:
        return run_playbook(playbook, self.inventory, extra, *args, timeout=400,
                            env={"PATH": os.path.dirname(self.systemctl), "ANSIBLE_SHOW_CUSTOM_STATS": "1"})

    def golive_b(self) -> str:
        """Go-live of B: the pre-release backup phase, then the switch and B's start (its migration)."""
        result = self.run("golive.yml", {"aragora_golive_phases": ["pre_release_backup"], "aragora_golive_release": B,
                                         "aragora_report_dir": self.reports})
        assert result.returncode == 0, result.stdout + result.stderr
        archives = glob.glob(os.path.join(self.backups, "aragora-pre-release-*.dump"))
        assert len(archives) == 1, archives
        subprocess.run(["ln", "-sfn", "releases/%s" % B, os.path.join(self.host["root"], "current")], check=True)
        self.ctl("restart", self.host["unit"])
        self.serve(B)
        return archives[0]

    def open_state(self) -> dict | None:
        return pg_instance.read_restore_state(self.state_dir)

    def incidents(self) -> list[dict]:
        records = []
        for path in sorted(glob.glob(os.path.join(self.reports, "incident-*coordinated-rollback*.json")),
                           key=os.path.getmtime):
            with open(path, encoding="utf-8") as handle:
                records.append(json.load(handle))
        return records

    def stop(self) -> None:
        pid = self.unit.main_pid()
        subprocess.run([self.systemctl, "stop", self.host["unit"]], timeout=60, check=False, capture_output=True)
        if pid and systemctl_standin.process_start_time(pid) is not None:
            os.killpg(pid, signal.SIGKILL)
