#!/usr/bin/env python
"""Local sandbox of an Aragora production deployment, on loopback only.

Runs the real pieces a production Aragora host has - Redis 7 with a password and
persistence, PostgreSQL 15 with its own role and database, a private CA and a TLS
server certificate, and the real Aragora server in ``ARAGORA_ENV=production`` with
direct TLS - so the aragora.ops collection's demo and integration tests have
something true to check.

Usage::

    python scripts/sandbox.py up     [--dir build/sandbox] [--aragora-python PATH]
                                     [--db-backend postgres|sqlite]
    python scripts/sandbox.py down   [--dir build/sandbox]
    python scripts/sandbox.py status [--dir build/sandbox]

Importable for pytest fixtures::

    from sandbox import up, down, status, read_env_file
    state = up("build/sandbox", "build/aragora-venv/bin/python")
    ...
    down("build/sandbox")

Layout of the sandbox directory (``--dir``)::

    .aragora-sandbox   marker: this directory belongs to the sandbox (safe to reset)
    state.json         pids, ports, paths - never secrets
    inventory.yml      Ansible inventory for the collection (no secrets)
    aragora.env        the server's EnvironmentFile (mode 0600, holds the secrets)
    tls/               ca.pem, ca-key.pem, server.pem, server-key.pem (keys 0600)
    logs/              aragora.log, redis.log, postgres.log (kept by ``down``)
    redis/ redis.conf  Redis data (AOF) and its config (0600: it holds requirepass)
    pg -> /var/tmp/aragora-sandbox-pg-<digest>/   PostgreSQL's own directory, outside the checkout (see
                       Layout.pg_runtime): pgdata/, pgsock/ and postgres.log there, owned by postgres
    data/ home/        ARAGORA_DATA_DIR and the server's HOME
    backups/           a pg_dump -Fc archive of the aragora database, taken once the server is ready

Requires Python 3.11, the stdlib and ``cryptography``; runs as root (PostgreSQL is
run as the ``postgres`` user through ``runuser``).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import ipaddress
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

try:  # Only the TLS step needs it; a missing package becomes a clear error there.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # pragma: no cover - depends on the machine
    x509 = None  # type: ignore[assignment]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO_ROOT / "build" / "sandbox"
DEFAULT_ARAGORA_PYTHON = REPO_ROOT / "build" / "aragora-venv" / "bin" / "python"

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_OS_USER = "postgres"
DB_NAME = DB_USER = "aragora"
LOOPBACK = "127.0.0.1"
MARKER = ".aragora-sandbox"
# PostgreSQL runs as the postgres user, who cannot traverse a checkout under a mode-700 directory (root's home,
# mktemp -d): its data, socket and log live under here instead, in one directory per sandbox directory.
PG_RUNTIME_PARENT = Path("/var/tmp")
STATE_VERSION = 1

READY_TIMEOUT = 90.0  # Aragora needs 5-11 s to become ready; leave room for a slow machine.
SERVICE_TIMEOUT = 20.0  # Redis / PostgreSQL start-up and shutdown.
ARAGORA_STOP_GRACE = 15.0  # SIGTERM -> SIGKILL.
HTTP_TIMEOUT = 3.0  # Each readiness request.

# Aragora's database backend. "postgres" (the default, as in production) was tried against
# 2.11.1: see the note in build_env(). "sqlite" keeps DATABASE_URL in the env file but leaves
# the server on SQLite, for tests that need register/login.
DB_BACKENDS = ("postgres", "sqlite")

# Ports the sandbox needs, by the name they carry in state.json.
PORT_NAMES = ("redis", "postgres", "http", "ws", "control_plane_ws", "nomic_loop_ws", "canvas_ws")


class SandboxError(Exception):
    """An expected failure; the message says what to fix. Printed without a traceback."""


# --------------------------------------------------------------------------- layout


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


def _make_pg_runtime(layout: Layout) -> None:
    """Create (or re-create) the PostgreSQL directory: ours (root, 0755, not a link), in a world-writable parent."""
    path = layout.pg_runtime
    if path.is_symlink() or (path.exists() and path.stat().st_uid != os.geteuid()):
        raise SandboxError(f"{path} exists and is not the sandbox's (a link, or owned by another user): remove it")
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(mode=0o755)
    path.chmod(0o755)  # whatever the umask: postgres must traverse it


def _write_file(path: Path, text: str, mode: int = 0o644) -> None:
    """Write atomically with `mode` set before any content lands (secrets never world-readable)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(text)
    os.replace(tmp, path)


def _tail(path: Path, lines: int = 30) -> str:
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
    _write_file(layout.state, json.dumps(state, indent=2, sort_keys=True) + "\n")


# ------------------------------------------------------------------ processes
# A PID alone is not an identity: after a reboot or a long pause it may belong to someone
# else. Before signalling, we check the process's working directory (each service runs in
# a directory of its own inside the sandbox) and, when recorded, its start time.


def _proc_start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):  # A zombie has finished: it counts as gone.
        return None
    return int(fields[19])  # Field 22 of /proc/PID/stat: start time in clock ticks.


def _proc_cwd(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


def _owned(pid: int | None, cwd: Path, start_time: int | None = None) -> bool:
    """True when `pid` runs, is not a zombie, and is the process we started."""
    if not pid:
        return False
    started = _proc_start_time(pid)
    if started is None or (start_time is not None and started != start_time):
        return False
    return _proc_cwd(pid) == str(cwd)


def _gone(pid: int) -> bool:
    try:  # Reap it if it is our own child (when `up` and `down` run in one process).
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return _proc_start_time(pid) is None


def _session_of(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def _wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _signal_and_wait(pid: int, name: str, grace: float) -> None:
    """SIGTERM, wait `grace` seconds, then SIGKILL; raise if the process survives."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if _wait_until(lambda: _gone(pid), wait):
            if sig == signal.SIGKILL:
                print(f"  {name} (pid {pid}) ignored SIGTERM for {grace:.0f} s: killed")
            return
    raise SandboxError(f"{name} (pid {pid}) survived SIGKILL; inspect it with: ps -o pid,stat,cmd -p {pid}")


def _run(cmd: list[str], what: str, *, timeout: float = SERVICE_TIMEOUT, input: str | None = None,
         env: dict[str, str] | None = None) -> str:
    """Run a command to completion; turn every failure into a SandboxError naming `what`."""
    try:
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                              env=env, cwd="/", check=False)  # cwd "/": the postgres user cannot enter ours.
    except FileNotFoundError:
        raise SandboxError(f"{what}: {cmd[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise SandboxError(f"{what}: no answer within {timeout:.0f} s ({' '.join(cmd[:3])} ...)") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-1500:]
        raise SandboxError(f"{what} failed (exit {proc.returncode}): {detail}")
    return proc.stdout


def _as_postgres(*cmd: str) -> list[str]:
    return ["runuser", "-u", PG_OS_USER, "--", *cmd]


def _ephemeral_low(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> int:
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _bind_free(sock: socket.socket, low: int, high: int) -> None:
    """Bind ``sock`` on loopback to a random free port in [low, high); the kernel's own choice if the range is empty."""
    for _attempt in range(200 if high - low >= 1000 else 0):
        try:
            sock.bind((LOOPBACK, low + secrets.randbelow(high - low)))
            return
        except OSError:
            continue
    sock.bind((LOOPBACK, 0))


def pick_free_ports(names: tuple[str, ...] = PORT_NAMES) -> dict[str, int]:
    """Distinct free loopback ports (all sockets held until every port is known).

    Drawn at random below the kernel's ephemeral range (where connections take their source ports), not asked of
    the kernel: the servers bind these ports seconds later (Aragora initialises for ~7 s first), and in that time a
    kernel-chosen port can become some connection's source port, or be handed to another test process that asks
    the kernel too (pytest-xdist workers start servers at the same moment)."""
    low = min(_ephemeral_low(), 65536)
    sockets = []
    try:
        for _dummy in names:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            _bind_free(sock, 10000, low)
        return {name: sock.getsockname()[1] for name, sock in zip(names, sockets)}
    finally:
        for sock in sockets:
            sock.close()


# ------------------------------------------------------------------ Redis


def _redis_ping(port: int, password: str) -> bool:
    """AUTH + PING over raw RESP (no redis-py needed here)."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0) as conn:
            conn.sendall(f"AUTH {password}\r\nPING\r\n".encode())
            reply = b""
            while reply.count(b"\r\n") < 2:
                chunk = conn.recv(256)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return False
    return reply == b"+OK\r\n+PONG\r\n"


def start_redis(layout: Layout, port: int, password: str) -> dict[str, Any]:
    """Redis 7 as production runs it: password, AOF + RDB persistence, a memory limit."""
    binary = shutil.which("redis-server")
    if not binary:
        raise SandboxError("redis-server not found: apt-get install -y redis-server")
    layout.redis_dir.mkdir(mode=0o700)
    # The password lives in a 0600 config file, not on the command line where `ps` shows it.
    _write_file(layout.redis_conf, "\n".join([
        f"bind {LOOPBACK}",
        f"port {port}",
        "protected-mode yes",
        "daemonize yes",
        f"pidfile {layout.redis_pidfile}",
        f"logfile {layout.redis_log}",
        f"dir {layout.redis_dir}",
        f"requirepass {password}",
        "appendonly yes",
        "appendfsync everysec",
        "save 900 1 300 10 60 10000",
        "maxmemory 256mb",
        # Never evict silently: rate-limit counters and revoked tokens live here.
        "maxmemory-policy noeviction",
        "",
    ]), mode=0o600)
    layout.redis_log.write_text("")
    _run([binary, str(layout.redis_conf)], "redis-server")
    if not _wait_until(lambda: _redis_ping(port, password) and layout.redis_pidfile.exists(), SERVICE_TIMEOUT):
        raise SandboxError(f"Redis did not answer PING on {LOOPBACK}:{port} within {SERVICE_TIMEOUT:.0f} s; "
                           f"its log ({layout.redis_log}):\n{_tail(layout.redis_log)}")
    pid = int(layout.redis_pidfile.read_text().split()[0])
    return {"pid": pid, "start_time": _proc_start_time(pid)}


def stop_redis(layout: Layout, recorded: dict[str, Any] | None) -> None:
    """SIGTERM the PID in Redis's pidfile (falling back to the one in state.json)."""
    pid = None
    try:
        pid = int(layout.redis_pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = (recorded or {}).get("pid")
    if not _owned(pid, layout.redis_dir):  # Redis chdirs into its `dir`.
        print("  redis: not running")
        return
    _signal_and_wait(pid, "redis", SERVICE_TIMEOUT)
    print(f"  redis (pid {pid}): stopped")


# ------------------------------------------------------------------ PostgreSQL


def _postmaster_pid(layout: Layout) -> int | None:
    try:
        return int((layout.pg_data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def start_postgres(layout: Layout, port: int, password: str,
                   server_settings: dict[str, str] | None = None) -> dict[str, Any]:
    """A private PostgreSQL 15 cluster; role and database `aragora`, SCRAM over TCP.

    `server_settings` adds `-c name=value` options (tests: a small max_connections, ssl).
    """
    for tool in ("initdb", "pg_ctl", "psql"):
        if not (PG_BIN / tool).exists():
            raise SandboxError(f"{PG_BIN / tool} not found: apt-get install -y postgresql-15")
    if not shutil.which("runuser"):
        raise SandboxError("runuser not found: apt-get install -y util-linux")
    try:
        pg_user = pwd.getpwnam(PG_OS_USER)
    except KeyError:
        raise SandboxError(f"no '{PG_OS_USER}' OS user: apt-get install -y postgresql-15") from None
    if os.geteuid() != 0:
        raise SandboxError("PostgreSQL is run as the postgres user through runuser: run the sandbox as root")

    # initdb refuses root: the cluster, its socket dir and its log belong to postgres, outside the checkout.
    _make_pg_runtime(layout)
    for path, mode in ((layout.pg_data, 0o700), (layout.pg_sock, 0o700)):
        path.mkdir(mode=mode)
        os.chown(path, pg_user.pw_uid, pg_user.pw_gid)
    layout.postgres_log.write_text("")
    os.chown(layout.postgres_log, pg_user.pw_uid, pg_user.pw_gid)
    layout.logs.mkdir(exist_ok=True)
    layout.postgres_log_link.unlink(missing_ok=True)
    layout.postgres_log_link.symlink_to(layout.postgres_log)

    _run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(layout.pg_data), "-U", PG_OS_USER,
                      "--auth-local=peer", "--auth-host=scram-sha-256", "--encoding=UTF8",
                      "--locale=C.UTF-8", "--no-instructions"), "initdb", timeout=60)
    options = f"-p {port} -k {layout.pg_sock} -c listen_addresses={LOOPBACK}"
    options += "".join(f" -c {name}={value}" for name, value in (server_settings or {}).items())
    _run(_as_postgres(str(PG_BIN / "pg_ctl"), "start", "-D", str(layout.pg_data), "-l",
                      str(layout.postgres_log), "-w", "-t", str(int(SERVICE_TIMEOUT)), "-o", options),
         f"pg_ctl start (log: {layout.postgres_log})", timeout=SERVICE_TIMEOUT + 5)
    pid = _postmaster_pid(layout)
    info = {"pid": pid, "start_time": _proc_start_time(pid) if pid else None}

    # The superuser connects by peer auth over the private socket; the password travels on
    # stdin, never on a command line. (token_urlsafe has no quote characters.)
    _run(_as_postgres(str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(layout.pg_sock),
                      "-p", str(port), "-d", "postgres", "-f", "-"),
         "creating the aragora role and database",
         input=(f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{password}';\n"
                f"CREATE DATABASE {DB_NAME} OWNER {DB_USER};\n"))
    # Prove the DSN Aragora will get actually logs in (TCP + SCRAM), before Aragora tries.
    _run([str(PG_BIN / "psql"), "-X", "-q", "-t", "-c", "SELECT 1",
          f"host={LOOPBACK} port={port} dbname={DB_NAME} user={DB_USER}"],
         "logging in to PostgreSQL as aragora over TCP",
         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"})
    return info


def write_backup(layout: Layout, port: int, password: str) -> Path:
    """A `pg_dump -Fc` archive of the aragora database in backups/, as a nightly backup job leaves one."""
    layout.backups.mkdir(mode=0o700, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    archive = layout.backups / f"{DB_NAME}-{stamp}.dump"
    partial = archive.with_name(archive.name + ".partial")  # renamed once complete, as a careful job does
    _run([str(PG_BIN / "pg_dump"), "--format=custom", "--file", str(partial), "--host", LOOPBACK,
          "--port", str(port), "--username", DB_USER, DB_NAME],
         "pg_dump of the aragora database", timeout=60,
         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"})
    partial.chmod(0o600)
    partial.rename(archive)
    return archive


def stop_postgres(layout: Layout, recorded: dict[str, Any] | None) -> None:
    """`pg_ctl stop -m fast` as postgres, then make sure the postmaster is gone."""
    pid = _postmaster_pid(layout) or (recorded or {}).get("pid")
    if not _owned(pid, layout.pg_data):  # The postmaster chdirs into its data directory.
        print("  postgres: not running")
        remove_pg_runtime(layout)
        return
    try:
        _run(_as_postgres(str(PG_BIN / "pg_ctl"), "stop", "-D", str(layout.pg_data), "-m", "fast",
                          "-w", "-t", str(int(SERVICE_TIMEOUT))), "pg_ctl stop", timeout=SERVICE_TIMEOUT + 5)
    except SandboxError as exc:
        print(f"  postgres: {exc}; sending SIGTERM to the postmaster")
    if not _wait_until(lambda: _gone(pid), 5.0):
        _signal_and_wait(pid, "postgres", SERVICE_TIMEOUT)
    print(f"  postgres (pid {pid}): stopped")
    remove_pg_runtime(layout)


def remove_pg_runtime(layout: Layout) -> None:
    """Once the cluster is stopped: keep its log in logs/ (in place of the link), remove its directory."""
    if not layout.pg_runtime.is_dir() or layout.pg_runtime.is_symlink():
        return
    if layout.postgres_log.exists() and layout.logs.is_dir():
        layout.postgres_log_link.unlink(missing_ok=True)
        shutil.copyfile(layout.postgres_log, layout.postgres_log_link)
    shutil.rmtree(layout.pg_runtime)


# ------------------------------------------------------------------ TLS


def create_tls(layout: Layout) -> None:
    """A sandbox CA and a server certificate for 127.0.0.1 and localhost (ECDSA P-256)."""
    if x509 is None:
        raise SandboxError("the Python package 'cryptography' is missing: pip install cryptography")
    layout.tls.mkdir(mode=0o755)
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(minutes=5)  # Tolerate small clock differences.

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Aragora Sandbox"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "Aragora Sandbox CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Aragora Sandbox"),
                                 x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # 90 days, like an ACME (Let's Encrypt) certificate: well past any expiry threshold.
        .not_valid_before(start).not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def pem_key(private_key: ec.EllipticCurvePrivateKey) -> str:
        return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()).decode()

    _write_file(layout.ca, ca_cert.public_bytes(serialization.Encoding.PEM).decode())
    # The CA key is kept (0600) so tests can issue further certificates, e.g. an expired one.
    _write_file(layout.ca_key, pem_key(ca_key), mode=0o600)
    _write_file(layout.cert, cert.public_bytes(serialization.Encoding.PEM).decode())
    _write_file(layout.key, pem_key(key), mode=0o600)


# ------------------------------------------------------------------ Aragora


def build_env(layout: Layout, ports: dict[str, int], redis_password: str, db_password: str,
              db_backend: str = "postgres") -> dict[str, str]:
    """The production configuration, as the systemd EnvironmentFile of a real host holds it."""
    env = {
        # Mode and secrets: production refuses to start without these four.
        "ARAGORA_ENV": "production",
        "ARAGORA_JWT_SECRET": secrets.token_urlsafe(48),
        "ARAGORA_API_TOKEN": secrets.token_urlsafe(32),
        "ARAGORA_ENCRYPTION_KEY": secrets.token_hex(32),
        "ARAGORA_JWT_EXPIRY_HOURS": "24",
        # No cloud secret manager and no PostgreSQL audit log here; login needs these off.
        "ARAGORA_SECRETS_STRICT": "false",
        "ARAGORA_REQUIRE_DISTRIBUTED": "false",
        # Direct TLS: the HTTP port speaks HTTPS only.
        "ARAGORA_SSL_ENABLED": "true",
        "ARAGORA_SSL_CERT": str(layout.cert),
        "ARAGORA_SSL_KEY": str(layout.key),
        "ARAGORA_ALLOWED_ORIGINS": "https://aragora.sandbox.test",
        # Redis: token blacklist and rate limits shared across instances.
        "ARAGORA_REDIS_URL": f"redis://:{redis_password}@{LOOPBACK}:{ports['redis']}/0",
        "ARAGORA_REDIS_KEY_PREFIX": "aragora:sandbox:",
        "ARAGORA_BLACKLIST_BACKEND": "redis",
        "ARAGORA_RATE_LIMIT_BACKEND": "redis",
        "ARAGORA_RATE_LIMIT": "100",
        "ARAGORA_IP_RATE_LIMIT": "200",
        # PostgreSQL.
        "DATABASE_URL": f"postgresql://{DB_USER}:{db_password}@{LOOPBACK}:{ports['postgres']}/{DB_NAME}",
        "ARAGORA_DB_POOL_SIZE": "20",
        "ARAGORA_DB_POOL_OVERFLOW": "15",
        # Debates (demo agents: no AI provider keys exist on this machine).
        "ARAGORA_MAX_CONCURRENT_DEBATES": "20",
        "ARAGORA_AGENT_TIMEOUT": "90",
        "ARAGORA_LOG_LEVEL": "INFO",
        "ARAGORA_DATA_DIR": str(layout.data),
        # The three extra WebSocket listeners (defaults 8766-8768 would collide between sandboxes).
        "ARAGORA_CONTROL_PLANE_WS_PORT": str(ports["control_plane_ws"]),
        "ARAGORA_NOMIC_LOOP_WS_PORT": str(ports["nomic_loop_ws"]),
        "ARAGORA_CANVAS_WS_PORT": str(ports["canvas_ws"]),
    }
    if db_backend == "postgres":
        # Tried on 2.11.1: with asyncpg in its venv the server creates its tables in PostgreSQL,
        # stays healthy (/api/health healthy, /readyz ready) and runs debates (self-signed JWTs).
        # But POST /api/auth/register and /login answer 500 (an Aragora bug: asyncpg "another
        # operation is in progress"); use db_backend="sqlite" when a test needs them.
        # Without this variable the server stays on SQLite in demo mode (no provider keys set)
        # even though DATABASE_URL is set.
        env["ARAGORA_DB_BACKEND"] = "postgres"
    return env


def write_env_file(layout: Layout, env: dict[str, str]) -> None:
    lines = ["# Aragora sandbox EnvironmentFile (systemd style, KEY=value). Generated by scripts/sandbox.py;",
             "# secrets are fresh for every `up`. Keep this file 0600."]
    lines += [f"{key}={value}" for key, value in env.items()]
    _write_file(layout.env_file, "\n".join(lines) + "\n", mode=0o600)


def _check_aragora_python(python: Path, db_backend: str) -> None:
    if not (python.is_file() and os.access(python, os.X_OK)):
        raise SandboxError(
            f"Aragora's Python not found at {python}: create it with\n"
            f"  python3.11 -m venv {python.parent.parent} && "
            f"{python.parent}/pip install aragora==2.11.1 bcrypt redis asyncpg\n"
            "or pass --aragora-python PATH")
    needed = ["aragora", "redis"] + (["asyncpg"] if db_backend == "postgres" else [])
    probe = ("import importlib.util as u, sys; m = [n for n in sys.argv[1:] if not u.find_spec(n)]; "
             "sys.exit(', '.join(m) or None)")
    try:
        proc = subprocess.run([str(python), "-c", probe, *needed], capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxError(f"cannot run {python}: {exc}") from None
    if proc.returncode != 0:
        missing = proc.stderr.strip() or "see its output"
        raise SandboxError(f"{python} lacks {missing}: "
                           f"{python} -m pip install aragora==2.11.1 bcrypt redis asyncpg")


def _https_opener(ca: Path) -> urllib.request.OpenerDirector:
    context = ssl.create_default_context(cafile=str(ca))
    # ProxyHandler({}): loopback must never go through an http(s)_proxy from the environment.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                       urllib.request.HTTPSHandler(context=context))


def probe_ready(api_url: str, ca: Path) -> tuple[bool, str]:
    """One GET /readyz: (ready?, what was seen)."""
    try:
        with _https_opener(ca).open(f"{api_url}/readyz", timeout=HTTP_TIMEOUT) as resp:
            body = json.loads(resp.read() or b"{}")
            return body.get("status") == "ready", f"HTTP {resp.status} {body}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code} {exc.read(300)!r}"
    except (OSError, ValueError) as exc:  # URLError, TLS and timeouts are OSErrors.
        return False, str(getattr(exc, "reason", exc))


def start_aragora(layout: Layout, python: Path, ports: dict[str, int], env: dict[str, str]) -> dict[str, Any]:
    """Start the real server with exactly the env file's variables over a minimal environment."""
    layout.data.mkdir()
    layout.home.mkdir()
    child_env = {
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        # A HOME of its own keeps anything the server writes under ~ inside the sandbox.
        "HOME": str(layout.home),
        "LANG": "C.UTF-8",
        **env,
    }
    cmd = [str(python), "-m", "aragora.server", "--host", LOOPBACK,
           "--http-port", str(ports["http"]), "--port", str(ports["ws"])]
    with open(layout.aragora_log, "wb") as log:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=child_env, cwd=layout.root, start_new_session=True)
        except OSError as exc:
            raise SandboxError(f"cannot start {python}: {exc}") from None
    # Popen ran `python` itself (no shell), so this PID is the server's own.
    return {"pid": proc.pid, "start_time": _proc_start_time(proc.pid)}


def wait_aragora_ready(layout: Layout, api_url: str, info: dict[str, Any], timeout: float | None = None) -> None:
    timeout = READY_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    seen = "no answer yet"
    while time.monotonic() < deadline:
        if not _owned(info["pid"], layout.root, info["start_time"]):
            raise SandboxError(f"Aragora exited during start-up; last lines of {layout.aragora_log}:\n"
                               f"{_tail(layout.aragora_log)}")
        ready, seen = probe_ready(api_url, layout.ca)
        if ready:
            return
        time.sleep(0.5)
    raise SandboxError(f"Aragora not ready at {api_url}/readyz after {timeout:.0f} s (last: {seen}); "
                       f"last lines of {layout.aragora_log}:\n{_tail(layout.aragora_log)}")


def stop_aragora(layout: Layout, recorded: dict[str, Any] | None) -> None:
    """SIGTERM the server's PID, SIGKILL after the grace period; then sweep its session."""
    pid = (recorded or {}).get("pid")
    if not _owned(pid, layout.root, (recorded or {}).get("start_time")):
        print("  aragora: not running")
        return
    began = time.monotonic()
    _signal_and_wait(pid, "aragora", ARAGORA_STOP_GRACE)
    # start_new_session made the server a session leader: any helper it left behind carries
    # its PID as session id. Matched by session id, never by name.
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != pid and _session_of(int(entry.name)) == pid:
            _signal_and_wait(int(entry.name), "aragora helper", 5.0)
    print(f"  aragora (pid {pid}): stopped in {time.monotonic() - began:.1f} s")


def start_k8s_emulator(layout: Layout) -> dict[str, Any]:
    """The emulated Kubernetes API (tests/support/k8s_emulator.py) with the healthy_ha scenario, as a process of
    its own so that `down` stops it by PID; ready once it has written its port file."""
    layout.k8s.mkdir()
    repo = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "tests.support.k8s_emulator", "serve", "--scenario", "healthy_ha",
           "--kubeconfig", str(layout.kubeconfig), "--port-file", str(layout.k8s_port_file)]
    with open(layout.k8s_log, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=layout.k8s, env={**os.environ, "PYTHONPATH": str(repo)},
                                start_new_session=True)
    info = {"pid": proc.pid, "start_time": _proc_start_time(proc.pid)}
    if not _wait_until(lambda: layout.k8s_port_file.exists() or proc.poll() is not None, SERVICE_TIMEOUT) \
            or proc.poll() is not None:
        raise SandboxError(f"the Kubernetes emulator did not start; last lines of {layout.k8s_log}:\n"
                           f"{_tail(layout.k8s_log)}")
    return info


def stop_k8s_emulator(layout: Layout, recorded: dict[str, Any] | None) -> None:
    pid = (recorded or {}).get("pid")
    if not _owned(pid, layout.k8s, (recorded or {}).get("start_time")):
        print("  k8s emulator: not running")
        return
    _signal_and_wait(pid, "k8s emulator", 5.0)
    print(f"  k8s emulator (pid {pid}): stopped")


# ------------------------------------------------------------------ inventory


def write_inventory(layout: Layout, state: dict[str, Any]) -> None:
    # json.dumps yields valid YAML double-quoted strings for the paths.
    text = f"""\
# Generated by scripts/sandbox.py: the local Aragora sandbox. No secrets here; they are in
# aragora_env_file. The WebSocket URL is plain ws://: Aragora 2.11.1 serves TLS on its HTTP
# port only (ARAGORA_SSL_ENABLED); a wss:// handshake to the WS port is reset.
all:
  children:
    aragora:
      hosts:
        sandbox:
          ansible_connection: local
          ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
          aragora_api_url: {state['urls']['api']}
          aragora_ws_url: {state['urls']['ws']}
          aragora_env_file: {json.dumps(str(layout.env_file))}
          aragora_ca_path: {json.dumps(str(layout.ca))}
          aragora_backup_dir: {json.dumps(str(layout.backups))}
          aragora_kubeconfig: {json.dumps(str(layout.kubeconfig))}
          aragora_k8s_namespace: aragora
          aragora_k8s_deployment: aragora
"""
    _write_file(layout.inventory, text)


# ------------------------------------------------------------------ commands


def _all_running(layout: Layout, state: dict[str, Any]) -> dict[str, bool]:
    procs = state.get("processes", {})
    cwd = {"aragora": layout.root, "redis": layout.redis_dir, "postgres": layout.pg_data, "k8s": layout.k8s}
    return {name: _owned(procs.get(name, {}).get("pid"), cwd[name], procs.get(name, {}).get("start_time"))
            for name in cwd}


def _is_up(layout: Layout, state: dict[str, Any] | None) -> bool:
    if not state or "urls" not in state:
        return False
    return all(_all_running(layout, state).values()) and probe_ready(state["urls"]["api"], layout.ca)[0]


def _prepare_dir(layout: Layout) -> None:
    """Create the sandbox dir, or reset one we created before; never touch a foreign directory."""
    if layout.root.exists() and any(layout.root.iterdir()) and not (layout.root / MARKER).exists():
        raise SandboxError(f"{layout.root} is not empty and was not created by the sandbox: "
                           "choose another --dir or empty it")
    layout.root.mkdir(parents=True, exist_ok=True)
    (layout.root / MARKER).write_text("Managed by scripts/sandbox.py; reset by every `up`.\n")
    for path in layout.disposable():
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    layout.logs.mkdir(exist_ok=True)


def up(dir: str | os.PathLike[str] = DEFAULT_DIR,
       aragora_python: str | os.PathLike[str] = DEFAULT_ARAGORA_PYTHON,
       db_backend: str = "postgres", env_overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Start the sandbox (or find it already up) and return its state (no secrets).

    ``env_overrides`` replaces variables of the server's environment (the benchmarks raise the rate limits)."""
    if db_backend not in DB_BACKENDS:
        raise SandboxError(f"db_backend must be one of {', '.join(DB_BACKENDS)}, not {db_backend!r}")
    layout = Layout(Path(dir))
    python = Path(aragora_python).absolute()  # Not resolve(): a venv's python is a symlink.
    state = load_state(layout)
    if _is_up(layout, state):
        print(f"sandbox already up in {layout.root} ({state['urls']['api']}, "
              f"db backend {state.get('db_backend')}): nothing started")
        return state
    if state is not None:
        print(f"stale sandbox state in {layout.root}: cleaning up first")
        down(layout.root)

    began = time.monotonic()
    _check_aragora_python(python, db_backend)
    _prepare_dir(layout)
    ports = pick_free_ports()
    state = {
        "version": STATE_VERSION,
        "dir": str(layout.root),
        "aragora_python": str(python),
        "ports": ports,
        # ws://, not wss://: ARAGORA_SSL_ENABLED puts TLS on the HTTP port only; 2.11.1 has no TLS
        # option for its WebSocket listener (production terminates TLS for it in a proxy/ingress).
        "urls": {"api": f"https://{LOOPBACK}:{ports['http']}", "ws": f"ws://{LOOPBACK}:{ports['ws']}"},
        "paths": {
            "env_file": str(layout.env_file), "inventory": str(layout.inventory), "ca": str(layout.ca),
            "ca_key": str(layout.ca_key), "cert": str(layout.cert), "key": str(layout.key),
            "data_dir": str(layout.data), "pg_data": str(layout.pg_data), "pg_socket_dir": str(layout.pg_sock),
            "redis_conf": str(layout.redis_conf), "redis_pidfile": str(layout.redis_pidfile),
            "aragora_log": str(layout.aragora_log), "redis_log": str(layout.redis_log),
            "postgres_log": str(layout.postgres_log), "backup_dir": str(layout.backups),
            "kubeconfig": str(layout.kubeconfig),
        },
        "db_backend": db_backend,
        "processes": {},
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    # state.json is written before and after each start, so `down` can always clean up.
    save_state(layout, state)
    redis_password, db_password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    try:
        state["processes"]["redis"] = start_redis(layout, ports["redis"], redis_password)
        save_state(layout, state)
        print(f"  redis      127.0.0.1:{ports['redis']} (pid {state['processes']['redis']['pid']})")
        state["processes"]["postgres"] = start_postgres(layout, ports["postgres"], db_password)
        save_state(layout, state)
        print(f"  postgres   127.0.0.1:{ports['postgres']} (pid {state['processes']['postgres']['pid']})")
        create_tls(layout)
        env = {**build_env(layout, ports, redis_password, db_password, db_backend), **(env_overrides or {})}
        write_env_file(layout, env)
        state["processes"]["aragora"] = start_aragora(layout, python, ports, env)
        save_state(layout, state)
        wait_aragora_ready(layout, state["urls"]["api"], state["processes"]["aragora"])
        print(f"  aragora    {state['urls']['api']}  {state['urls']['ws']} "
              f"(pid {state['processes']['aragora']['pid']})")
        # After readiness: the server has created its tables, so the archive holds the real schema.
        print(f"  backup     {write_backup(layout, ports['postgres'], db_password)}")
        state["processes"]["k8s"] = start_k8s_emulator(layout)
        save_state(layout, state)
        print(f"  kubernetes http://127.0.0.1:{layout.k8s_port_file.read_text()} (emulated, scenario healthy_ha, "
              f"pid {state['processes']['k8s']['pid']})")
    except BaseException:  # Also Ctrl-C: never leave half a sandbox running.
        print("start-up failed: stopping what was started", file=sys.stderr)
        down(layout.root)
        raise
    state["up_seconds"] = round(time.monotonic() - began, 1)
    save_state(layout, state)
    write_inventory(layout, state)
    print(f"sandbox up in {state['up_seconds']} s; inventory: {layout.inventory}")
    return state


def down(dir: str | os.PathLike[str] = DEFAULT_DIR) -> None:
    """Stop exactly what `up` started; keep the logs; remove state.json."""
    layout = Layout(Path(dir))
    state = load_state(layout) or {}
    procs = state.get("processes", {})
    if not layout.root.exists():
        print(f"no sandbox in {layout.root}")
        return
    began = time.monotonic()
    errors = []
    # Aragora first (it holds connections to the other two), then its dependencies. Redis and
    # PostgreSQL are also found by their own pidfiles, which covers a lost or partial state.json.
    for name, stop in (("k8s", stop_k8s_emulator), ("aragora", stop_aragora), ("redis", stop_redis),
                       ("postgres", stop_postgres)):
        try:
            stop(layout, procs.get(name))
        except SandboxError as exc:
            errors.append(f"{name}: {exc}")
    if errors:
        raise SandboxError("could not stop everything (state.json kept):\n  " + "\n  ".join(errors))
    layout.state.unlink(missing_ok=True)
    print(f"sandbox down in {time.monotonic() - began:.1f} s (logs kept in {layout.logs})")


def status(dir: str | os.PathLike[str] = DEFAULT_DIR) -> dict[str, Any]:
    """What runs and whether Aragora is ready: {"up": bool, "running": {...}, "ready": bool, ...}."""
    layout = Layout(Path(dir))
    state = load_state(layout)
    if not state or "urls" not in state:
        return {"up": False, "running": {}, "ready": False, "detail": f"no sandbox state in {layout.root}"}
    running = _all_running(layout, state)
    ready, detail = probe_ready(state["urls"]["api"], layout.ca) if running["aragora"] else (False, "not running")
    return {"up": all(running.values()) and ready, "running": running, "ready": ready, "detail": detail,
            "state": state}


# ------------------------------------------------------------------ CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local sandbox of an Aragora production deployment.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("up", "start the sandbox (no-op when it is already up)"),
                       ("down", "stop everything the sandbox started"),
                       ("status", "show what runs; exit 0 when up")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--dir", default=str(DEFAULT_DIR), help=f"sandbox directory (default: {DEFAULT_DIR})")
        if name == "up":
            sub.add_argument("--aragora-python", default=str(DEFAULT_ARAGORA_PYTHON),
                             help=f"Python of a venv with aragora==2.11.1 (default: {DEFAULT_ARAGORA_PYTHON})")
            sub.add_argument("--db-backend", choices=DB_BACKENDS, default="postgres",
                             help="Aragora's database (default: postgres; sqlite when register/login are needed)")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            up(args.dir, args.aragora_python, args.db_backend)
        elif args.command == "down":
            down(args.dir)
        else:
            result = status(args.dir)
            for name, alive in result["running"].items():
                pid = result["state"]["processes"].get(name, {}).get("pid")
                print(f"  {name:<9} {'running' if alive else 'stopped'} (pid {pid})")
            if "state" in result:
                print(f"  api       {result['state']['urls']['api']}  ready: {result['ready']} ({result['detail']})")
            print("sandbox is up" if result["up"] else f"sandbox is not up ({result['detail']})")
            return 0 if result["up"] else 1
    except SandboxError as exc:
        print(f"sandbox {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
