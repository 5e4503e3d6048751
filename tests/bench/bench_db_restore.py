"""`make bench`: what the safe restore costs against a bare `pg_restore -d`, and what --jobs buys, as ratios
measured in the same run on the same machine (a private PostgreSQL 15, a generated database of >= 300 MB).

- bare:        CREATE DATABASE + pg_restore -d (one job), the checklist's "Database Rollback" as written;
- safe:        the restore steps 2, 3, 5, 6 of db_restore.yml - validate (sha256 against the manifest, pg_restore
               --list, server version), [safety dump of the live database: off by default,] pg_restore
               --exit-on-error into a new database, row counts against the manifest, swap by rename - with its
               defaults (--jobs 2, no safety dump), with --jobs 1, and with the safety dump.
Writers are not part of it (scaling takes what the cluster takes). BENCH_ROWS sets rows per table (default 1.6M).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT]
import tests.conftest  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import  # makes the collection importable
from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive  # noqa: E402
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_restore_run import Restore  # noqa: E402
from tests.support import pg_instance  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "1600000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # medians of this many runs of each variant
MIN_BYTES = 300 * 1024 * 1024
DEFAULT_JOBS = 2  # db_restore's aragora_restore_jobs
# Two large tables (so that --jobs has tables and indexes to spread), with text that compresses like real data.
GENERATE = """
CREATE TABLE debates (id bigint PRIMARY KEY, question text NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE messages (id bigint PRIMARY KEY, debate_id bigint NOT NULL, body text NOT NULL);
INSERT INTO debates SELECT g, md5(g::text) || ' ' || md5((g * 7)::text) || ' ' || repeat('why ', g %% 5),
       now() - g * interval '1 second' FROM generate_series(1, %(rows)d) AS g;
INSERT INTO messages SELECT g, g %% 50000, md5((g * 3)::text) || ' ' || md5((g * 11)::text) || ' agrees'
       FROM generate_series(1, %(rows)d) AS g;
CREATE INDEX debates_created ON debates (created_at);
CREATE INDEX messages_debate ON messages (debate_id);
ANALYZE;
"""


def timed(action) -> tuple[float, object]:
    began = time.monotonic()
    result = action()
    return time.monotonic() - began, result


def main() -> int:
    workdir = tempfile.mkdtemp(prefix="aragora-bench-restore-")
    pg = pg_instance.start()
    try:
        seconds, _rows = timed(lambda: pg.psql(GENERATE % {"rows": ROWS}, timeout=1800))
        size = int(pg.psql("SELECT pg_database_size('aragora')")[0][0])
        print("generated %.0f MB (%d rows per table) in %.1f s" % (size / 2**20, ROWS, seconds))
        if size < MIN_BYTES:
            print("the database is under 300 MB: raise BENCH_ROWS", file=sys.stderr)
            return 1
        server = pg_archive.Server("127.0.0.1", pg.port, pg.user, pg.password, "aragora")
        backups = os.path.join(workdir, "backups")
        seconds, manifest = timed(lambda: pg_archive.take_backup(server, backups))
        archive = manifest["archive_path"]
        print("backup (pg_dump -Fc + exact row counts in its snapshot): %.1f s, archive %.0f MB"
              % (seconds, manifest["size_bytes"] / 2**20))

        def bare(n_jobs: int) -> float:
            pg.psql("DROP DATABASE IF EXISTS bare_restore", "postgres")
            began = time.monotonic()
            pg.psql("CREATE DATABASE bare_restore", "postgres")
            subprocess.run(["pg_restore", "--jobs", str(n_jobs), "-d", "bare_restore", archive], env=pg.env(),
                           check=True, capture_output=True)
            seconds = time.monotonic() - began
            pg.psql("DROP DATABASE bare_restore", "postgres")
            return seconds

        def safe(n_jobs: int, safety_dump: bool = False) -> dict[str, float]:
            params = {"state_dir": os.path.join(workdir, "state"), "archive": archive, "backup_dir": backups,
                      "safety_dump_dir": os.path.join(workdir, "safety"), "jobs": n_jobs, "safety_dump": safety_dump}
            restore = Restore(server, params)
            phases = {}
            for name, step in (("validate", restore.validate), ("safety_dump", restore.safety_dump),
                               ("restore", restore.restore), ("verify_swap", lambda: restore.verify([]))):
                phases[name], _report = timed(step)
            restore.finish("succeeded")
            for name in pg.databases():  # keep the next run's conditions equal: drop the kept old database
                if name.startswith("aragora_pre_restore_"):
                    pg.psql('DROP DATABASE "%s"' % name, "postgres")
            shutil.rmtree(os.path.join(workdir, "safety"), ignore_errors=True)
            phases["total"] = sum(phases.values())
            return phases

        def median_phases(runs: list[dict[str, float]]) -> dict[str, float]:
            return {key: statistics.median(run[key] for run in runs) for key in runs[0]}

        bare_1, bare_n, safe_default, safe_1, safe_dump = [], [], [], [], []
        for _round in range(ROUNDS):  # interleaved, so that a slow moment of the machine hits every variant
            bare_1.append(bare(1))
            bare_n.append(bare(DEFAULT_JOBS))
            safe_default.append(safe(DEFAULT_JOBS))
            safe_1.append(safe(1))
            safe_dump.append(safe(DEFAULT_JOBS, safety_dump=True))
        bare_1_s, bare_n_s = statistics.median(bare_1), statistics.median(bare_n)
        assert pg.count("debates") == ROWS and pg.count("messages") == ROWS
        print()
        print("medians of %d runs, %d CPUs (shared with other work: compare the ratios)" % (ROUNDS, os.cpu_count() or 0))
        print("%-45s %6.1f s  ratio 1.00" % ("bare pg_restore -d, --jobs 1:", bare_1_s))
        print("%-45s %6.1f s  ratio %.2f" % ("bare pg_restore -d, --jobs %d:" % DEFAULT_JOBS, bare_n_s, bare_n_s / bare_1_s))
        for label, runs in (("safe restore, its defaults (--jobs %d):" % DEFAULT_JOBS, safe_default),
                            ("safe restore, --jobs 1:", safe_1),
                            ("safe restore, --jobs %d, with the safety dump:" % DEFAULT_JOBS, safe_dump)):
            phases = median_phases(runs)
            print("%-45s %6.1f s  ratio %.2f  (validate %.1f, safety dump %.1f, restore %.1f, verify+swap %.1f)"
                  % (label, phases["total"], phases["total"] / bare_1_s, phases["validate"], phases["safety_dump"],
                     phases["restore"], phases["verify_swap"]))
        return 0
    finally:
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
