"""Check mode tells the truth: each module that writes says under --check that it would change something, and
changes nothing; run for real it changes what it said. Real files, a real SQLite database, a real PostgreSQL 15."""

from __future__ import annotations

import os
import sqlite3

import pytest

from tests.support import pg_instance
from tests.support.module_runner import run_module

RECORD = {"kind": "systemd-rollback", "target": {"host": "web-1"}, "from": "2.11.1", "to": "2.10.0",
          "outcome": "succeeded", "summary": "Rolled back; health gate passed."}
RESULTS = {"prod": [{"id": "security.env_mode", "section": "1. Security Configuration", "title": "Environment mode",
                     "status": "PASS", "message": "Environment mode is production", "evidence": {},
                     "remediation": "", "duration_ms": 1.0}]}


def listing(directory) -> list[str]:
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def test_incident_record(tmp_path):
    dest = tmp_path / "records"
    planned = run_module("incident_record", {**RECORD, "dest": str(dest)}, check_mode=True)
    assert planned["changed"] and planned["files"] == [] and not dest.exists()
    written = run_module("incident_record", {**RECORD, "dest": str(dest)})
    assert written["changed"] and sorted(map(os.path.basename, written["files"])) == listing(dest)


def test_an_incident_record_that_cannot_be_written_is_a_warning_not_a_failure(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    result = run_module("incident_record", {**RECORD, "dest": str(blocker / "records")})
    assert not result.get("failed") and not result["changed"] and result["files"] == []
    warning = str(result["warnings"])  # a string, or (ansible-core 2.19) a structured warning holding it
    assert "could not be written" in warning and "aragora_report_dir" in warning
    assert result["record"]["outcome"] == "succeeded" and result["write_error"]


def test_readiness_report(tmp_path):
    dest = tmp_path / "reports"
    planned = run_module("readiness_report", {"results": RESULTS, "dest": str(dest)}, check_mode=True)
    assert planned["changed"] and planned["verdict"] == "GO" and not dest.exists()
    written = run_module("readiness_report", {"results": RESULTS, "dest": str(dest)})
    assert written["files"] == planned["files"] and all(os.path.isfile(path) for path in written["files"])


def test_sqlite_backup(tmp_path):
    data, backups = tmp_path / "data", tmp_path / "backups"
    data.mkdir()
    with sqlite3.connect(data / "debates.db") as db:
        db.execute("CREATE TABLE debates (id INTEGER PRIMARY KEY)")
    planned = run_module("sqlite_backup", {"data_dir": str(data), "backup_dir": str(backups)}, check_mode=True)
    assert planned["changed"] and listing(backups) == []
    taken = run_module("sqlite_backup", {"data_dir": str(data), "backup_dir": str(backups)})
    assert taken["changed"] and len(listing(backups)) == 1
    before = (data / "debates.db").read_bytes()
    restore = run_module("sqlite_backup", {"state": "restore", "data_dir": str(data), "backup_dir": str(backups)},
                         check_mode=True)
    assert restore["changed"] and "would replace" in restore["msg"] and (data / "debates.db").read_bytes() == before


@pytest.fixture(scope="module")
def postgres():
    instance = pg_instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def test_postgres_backup(tmp_path, postgres):
    args = {"host": "127.0.0.1", "port": postgres.port, "user": postgres.user, "password": postgres.password,
            "backup_dir": str(tmp_path), "keep_days": 0}
    planned = run_module("postgres_backup", args, check_mode=True)
    assert planned["changed"] and planned["archive"] is None and listing(tmp_path) == []
    taken = run_module("postgres_backup", args)
    assert taken["changed"] and os.path.isfile(taken["archive"])
