"""A private PostgreSQL 15 for a test, started with the sandbox's own start_postgres in a temporary directory.

Role and database ``aragora`` (SCRAM over TCP on loopback); the role gets CREATEDB, which the restore needs to make
the new database it swaps in. Stopped by its postmaster's PID (sandbox.stop_postgres), never by name.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import sandbox


@dataclasses.dataclass
class PgInstance:
    root: str
    port: int
    password: str
    process: dict
    user: str = "aragora"
    database: str = "aragora"

    @property
    def layout(self) -> "sandbox.Layout":
        return sandbox.Layout(Path(self.root))

    def env(self) -> dict[str, str]:
        return {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": self.user,
                "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "5"}

    def psql(self, sql: str, database: str | None = None, timeout: float = 120) -> list[list[str]]:
        proc = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1",
                               "-d", database or self.database, "-c", sql],
                              env=self.env(), capture_output=True, text=True, check=True, timeout=timeout)
        return [line.split("|") for line in proc.stdout.splitlines() if line]

    def superuser_sql(self, sql: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", str(self.layout.pg_sock), "-p", str(self.port), "-d", "postgres", "-c", sql],
                       check=True, capture_output=True, text=True, timeout=60)

    def databases(self) -> list[str]:
        return sorted(row[0] for row in self.psql("SELECT datname FROM pg_database WHERE NOT datistemplate",
                                                  "postgres"))

    def count(self, table: str, database: str | None = None) -> int:
        return int(self.psql("SELECT count(*) FROM %s" % table, database)[0][0])

    def connection_vars(self) -> dict:
        return {"aragora_db_host": "127.0.0.1", "aragora_db_port": self.port, "aragora_db_user": self.user,
                "aragora_db_password": self.password, "aragora_db_name": self.database}

    def stop(self) -> None:
        sandbox.stop_postgres(self.layout, self.process)
        shutil.rmtree(self.root, ignore_errors=True)


def read_restore_state(state_dir: str, database: str = "aragora") -> dict | None:
    """The open restore state file of ``database`` (pg_restore_run.StateFile), None when there is none."""
    path = os.path.join(state_dir, "restore-%s.json" % database)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def start(base: str | None = None) -> PgInstance:
    root = tempfile.mkdtemp(prefix="aragora-pg-", dir=base)
    os.chmod(root, 0o755)  # postgres must reach pgdata/ and pgsock/ inside it
    layout = sandbox.Layout(Path(root))
    layout.logs.mkdir()
    port = sandbox.pick_free_ports(("postgres",))["postgres"]
    password = secrets.token_urlsafe(18)
    process = sandbox.start_postgres(layout, port, password)
    instance = PgInstance(root, port, password, process)
    instance.superuser_sql("ALTER ROLE aragora CREATEDB")
    return instance
