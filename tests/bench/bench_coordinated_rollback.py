"""`make bench`: the coordinated rollback's wall time against a >= 500 MB database, and the sum of the two separate
playbooks it replaces (db_restore.yml with the same archive, then rollback.yml), measured in the same run.

A systemd host (the ``systemctl`` stand-in) serves release B (2.11.1) on a private PostgreSQL 15 holding Aragora's
tables and a generated 500 MB of debates (bench_db_restore's generator); the pre-release backup labelled 2.11.0 ->
2.11.1 is taken first. Each variant starts from B serving on the same data, and ends with A (2.11.0) serving on the
backup's data, health gate passed. BENCH_ROWS sets rows per table (default 2.7M: about 520 MB). Both variants run
with their roles' defaults (no safety dump in either: the swap keeps the old database). Each variant's slowest tasks
are printed (tests/bench/callback_plugins), and the load average before and after, as the machine is shared.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "bench")]
import tests.conftest  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
from bench_db_restore import GENERATE  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive, pre_release  # noqa: E402
from tests.support import pg_instance  # noqa: E402
from tests.support.release_site import A, B, SystemdSite  # noqa: E402
from tests.support.systemd_host import link  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "2700000"))
MIN_BYTES = int(os.environ.get("BENCH_MIN_MB", "500")) * 1024 * 1024  # lower it only to try the bench out


HERE = os.path.dirname(os.path.abspath(__file__))
TASK_TIMES = {}  # variant -> [(seconds, task)]


def timed(action) -> float:
    began = time.monotonic()
    action()
    return time.monotonic() - began


def with_task_times(variant: str, workdir: str, action) -> None:
    """Run ``action`` with the task-time callback on; keep its tasks' wall times under ``variant``."""
    path = os.path.join(workdir, "tasks-%s.jsonl" % variant.replace(" ", "-"))
    os.environ.update(ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
                      ANSIBLE_CALLBACKS_ENABLED="bench_task_times", BENCH_TASK_TIMES=path)
    try:
        action()
    finally:
        for name in ("ANSIBLE_CALLBACK_PLUGINS", "ANSIBLE_CALLBACKS_ENABLED", "BENCH_TASK_TIMES"):
            os.environ.pop(name, None)
    with open(path, encoding="utf-8") as handle:
        TASK_TIMES[variant] = sorted(((entry["seconds"], entry["task"]) for entry in map(json.loads, handle)),
                                     reverse=True)


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main() -> int:
    workdir = tempfile.mkdtemp(prefix="aragora-bench-coordinated-")
    pg = pg_instance.start()
    site = None
    try:
        site = SystemdSite(workdir, pg)
        site.ctl("start", site.host["unit"])
        site.serve(A)  # A creates Aragora's tables; B's migration then changes them
        seconds = timed(lambda: pg.psql(GENERATE % {"rows": ROWS}, timeout=3600))
        size = int(pg.psql("SELECT pg_database_size('aragora')")[0][0])
        print("generated %.0f MB (%d rows per table) in %.1f s" % (size / 2**20, ROWS, seconds))
        if size < MIN_BYTES:
            print("the database is under 500 MB: raise BENCH_ROWS", file=sys.stderr)
            return 1

        def back_to_b() -> None:
            """B serving again on the data the backup holds, the kept databases and safety dumps dropped."""
            site.ctl("stop", site.host["unit"])
            for name in pg.databases():
                if name.startswith("aragora_pre_restore_"):
                    pg.psql('DROP DATABASE "%s"' % name, "postgres")
            for name in os.listdir(site.backups):
                if name.startswith("aragora-pre-restore-"):
                    os.unlink(os.path.join(site.backups, name))
            os.unlink(os.path.join(site.host["root"], "current"))
            os.symlink(os.path.join("releases", B), os.path.join(site.host["root"], "current"))
            site.ctl("start", site.host["unit"])
            site.serve(B)

        server = pg_archive.Server("127.0.0.1", pg.port, pg.user, pg.password, "aragora")
        manifest = pg_archive.take_backup(server, site.backups, prefix="aragora-pre-release",
                                          pre_release=pre_release.labels(A, B))
        archive = manifest["archive_path"]
        print("pre-release backup: archive %.0f MB" % (manifest["size_bytes"] / 2**20))
        back_to_b()

        def check(result: subprocess.CompletedProcess) -> None:
            if result.returncode != 0:
                raise RuntimeError(result.stdout[-4000:] + result.stderr[-2000:])

        print("before the runs: %s" % load())
        coordinated = timed(lambda: with_task_times("coordinated", workdir, lambda: check(site.run(
            "rollback.yml", {"aragora_rollback_database": True, "aragora_restore_confirm": True}))))
        assert link(site.host) == "releases/%s" % A
        record = site.incidents()[-1]
        print("coordinated: %s; %s" % (record["outcome"], record["verification"]["discarded"]["message"]))
        back_to_b()
        restore = timed(lambda: with_task_times("db_restore", workdir, lambda: check(site.run("db_restore.yml", {
            "aragora_db_targets": "aragora_systemd", "aragora_restore_confirm": True, "aragora_restore_archive": archive,
            "aragora_restore_writers": "systemd"}))))
        rollback = timed(lambda: with_task_times("rollback", workdir, lambda: check(site.run(
            "rollback.yml", {"aragora_rollback_release": A}))))
        assert link(site.host) == "releases/%s" % A
        print("after the runs: %s" % load())
        for variant, tasks in TASK_TIMES.items():
            print("\nslowest tasks of %s:" % variant)
            for seconds, task in tasks[:8]:
                print("  %6.1f s  %s" % (seconds, task[:110]))
        print()
        print("coordinated rollback (rollback.yml -e aragora_rollback_database=true): %6.1f s" % coordinated)
        print("db_restore.yml (same archive, writers=systemd):                     %6.1f s" % restore)
        print("rollback.yml (application only):                                    %6.1f s" % rollback)
        print("sum of the two separate playbooks:                                  %6.1f s" % (restore + rollback))
        print("ratio coordinated / separate:                                        %.2f" % (
            coordinated / (restore + rollback)))
        return 0
    finally:
        if site is not None:
            site.stop()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
