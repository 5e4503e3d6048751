"""Where the sandbox keeps everything: the paths inside one sandbox directory, its state.json, and the files it writes.

The layout of a sandbox directory (``--dir``) is described in the package's docstring (sandbox/__init__.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO_ROOT / "build" / "sandbox"
DEFAULT_ARAGORA_PYTHON = REPO_ROOT / "build" / "aragora-venv" / "bin" / "python"

MARKER = ".aragora-sandbox"
# PostgreSQL runs as the postgres user, who cannot traverse a checkout under a mode-700 directory (root's home,
# mktemp -d): its data, socket and log live under here instead, in one directory per sandbox directory.
PG_RUNTIME_PARENT = Path("/var/tmp")
STATE_VERSION = 1


class SandboxError(Exception):
    """An expected failure; the message says what to fix. Printed without a traceback."""


@dataclass(frozen=True)
class Layout:
    """Every path inside one sandbox directory, in one place."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).resolve())

    state = property(lambda s: s.root / "state.json")
    inventory = property(lambda s: s.root / "inventory.yml")
    env_file = property(lambda s: s.root / "aragora.env")
    tls = property(lambda s: s.root / "tls")
    ca = property(lambda s: s.tls / "ca.pem")
    ca_key = property(lambda s: s.tls / "ca-key.pem")
    cert = property(lambda s: s.tls / "server.pem")
    key = property(lambda s: s.tls / "server-key.pem")
    logs = property(lambda s: s.root / "logs")
    aragora_log = property(lambda s: s.logs / "aragora.log")
    redis_log = property(lambda s: s.logs / "redis.log")
    # pg_ctl opens the log as postgres: it lives beside the cluster; logs/postgres.log links to it.
    postgres_log = property(lambda s: s.pg_runtime / "postgres.log")
    postgres_log_link = property(lambda s: s.logs / "postgres.log")
    redis_dir = property(lambda s: s.root / "redis")
    redis_conf = property(lambda s: s.root / "redis.conf")
    redis_pidfile = property(lambda s: s.redis_dir / "redis.pid")
    pg_runtime = property(lambda s: pg_runtime_dir(s.root))
    pg_data = property(lambda s: s.pg_runtime / "pgdata")
    pg_sock = property(lambda s: s.pg_runtime / "pgsock")
    data = property(lambda s: s.root / "data")
    home = property(lambda s: s.root / "home")
    backups = property(lambda s: s.root / "backups")
    k8s = property(lambda s: s.root / "k8s")
    kubeconfig = property(lambda s: s.k8s / "kubeconfig")
    k8s_port_file = property(lambda s: s.k8s / "port")
    k8s_log = property(lambda s: s.logs / "k8s-emulator.log")

    # Removed and recreated by every `up`: each sandbox starts from nothing, with fresh
    # secrets. Logs are truncated by the new run, not deleted.
    def disposable(self) -> list[Path]:
        return [self.tls, self.redis_dir, self.redis_conf, self.data, self.home, self.backups, self.env_file, self.inventory, self.k8s]


def pg_runtime_dir(root: Path, parent: Path = PG_RUNTIME_PARENT) -> Path:
    """PostgreSQL's directory for the sandbox in `root`: outside it, so that postgres can reach it wherever the
    checkout is, and named by a digest of `root`'s real path, so that two checkouts (or two sandboxes of one, as
    the tests start) never share a cluster."""
    digest = hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:16]
    return parent / f"aragora-sandbox-pg-{digest}"


def make_pg_runtime(layout: Layout) -> None:
    """Create (or re-create) the PostgreSQL directory: ours (root, 0755, not a link), in a world-writable parent."""
    path = layout.pg_runtime
    if path.is_symlink() or (path.exists() and path.stat().st_uid != os.geteuid()):
        raise SandboxError(f"{path} exists and is not the sandbox's (a link, or owned by another user): remove it")
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(mode=0o755)
    path.chmod(0o755)  # whatever the umask: postgres must traverse it


def write_file(path: Path, text: str, mode: int = 0o644) -> None:
    """Write atomically with `mode` set before any content lands (secrets never world-readable)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(text)
    os.replace(tmp, path)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) or "(empty)"
    except OSError:
        return f"(no log at {path})"


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse a KEY=value EnvironmentFile (as written by `up`) into a dict."""
    env: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


# ------------------------------------------------------------------ state.json


def load_state(layout: Layout) -> dict[str, Any] | None:
    try:
        state = json.loads(layout.state.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # Unreadable: treated as stale; `down` still finds services by their files.
    return state if isinstance(state, dict) else {}


def save_state(layout: Layout, state: dict[str, Any]) -> None:
    write_file(layout.state, json.dumps(state, indent=2, sort_keys=True) + "\n")
