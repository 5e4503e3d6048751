"""A newcomer's clone under a mode-700 directory (root's home, mktemp -d): the sandbox's PostgreSQL still starts.

PostgreSQL runs as the postgres user, who cannot traverse such a directory; this clones the repository there and
runs the clone's own sandbox code for the PostgreSQL part of `make demo` / `make test` (initdb, pg_ctl, the role,
a pg_dump archive), which is the part that failed. The rest of the sandbox runs as root and is covered elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from tests.support.playbook import ROOT

CLONE_SCRIPT = r"""
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import sandbox
layout = sandbox.Layout(Path(sys.argv[1]) / "build" / "sandbox")
layout.root.mkdir(parents=True)
layout.logs.mkdir()
port = sandbox.pick_free_ports(("postgres",))["postgres"]
try:
    sandbox.start_postgres(layout, port, "newcomer-password")
    archive = sandbox.write_backup(layout, port, "newcomer-password")
    print("ARCHIVE", archive.stat().st_size, layout.pg_data)
finally:
    sandbox.stop_postgres(layout, None)
print("RUNTIME_LEFT", layout.pg_runtime.exists())
print("LOG_KEPT", layout.postgres_log_link.is_file() and not layout.postgres_log_link.is_symlink())
"""


def test_sandbox_postgres_starts_from_a_clone_in_a_mode_700_directory():
    home = tempfile.mkdtemp(prefix="aragora-newcomer-")  # mode 0700, like /root
    try:
        assert os.stat(home).st_mode & 0o777 == 0o700
        clone = os.path.join(home, "aragora.ops")
        subprocess.run(["git", "clone", "--quiet", "--local", "--no-hardlinks", ROOT, clone], check=True,
                       capture_output=True, timeout=60)
        # The clone holds the committed tree; the working tree's sandbox package is what is under test.
        subprocess.run(["rm", "-rf", os.path.join(clone, "sandbox")], check=True)
        subprocess.run(["cp", "-r", os.path.join(ROOT, "sandbox"), clone], check=True)
        proc = subprocess.run([sys.executable, "-c", CLONE_SCRIPT, clone], capture_output=True, text=True,
                              timeout=120, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        archive_line = next(line for line in proc.stdout.splitlines() if line.startswith("ARCHIVE"))
        size, pg_data = archive_line.split()[1:]
        assert int(size) > 0 and not pg_data.startswith(home)
        assert "RUNTIME_LEFT False" in proc.stdout and "LOG_KEPT True" in proc.stdout
    finally:
        subprocess.run(["rm", "-rf", home], check=False)
