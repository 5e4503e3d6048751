"""The services of the sandbox, each started and stopped on its own: Redis 7, PostgreSQL 15 (and its pg_dump
archive), the TLS certificates, the real Aragora server, and the emulated Kubernetes API (sandbox/k8s)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import pwd
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from sandbox.layout import REPO_ROOT, Layout, SandboxError, make_pg_runtime, tail, write_file
from sandbox.processes import (
    LOOPBACK,
    SERVICE_TIMEOUT,
    gone,
    owned,
    proc_start_time,
    run_command,
    session_of,
    signal_and_wait,
    wait_until,
)

try:  # Only the TLS step needs it; a missing package becomes a clear error there.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # pragma: no cover - depends on the machine
    x509 = None  # type: ignore[assignment]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_OS_USER = "postgres"
DB_NAME = DB_USER = "aragora"

READY_TIMEOUT = 90.0  # Aragora needs 5-11 s to become ready; leave room for a slow machine.
ARAGORA_STOP_GRACE = 15.0  # SIGTERM -> SIGKILL.
HTTP_TIMEOUT = 3.0  # Each readiness request.

# Aragora's database backend. "postgres" (the default, as in production) was tried against
# 2.11.1: see the note in build_env(). "sqlite" keeps DATABASE_URL in the env file but leaves
# the server on SQLite, for tests that need register/login.
DB_BACKENDS = ("postgres", "sqlite")


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
    write_file(layout.redis_conf, "\n".join([
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
    run_command([binary, str(layout.redis_conf)], "redis-server")
    if not wait_until(lambda: _redis_ping(port, password) and layout.redis_pidfile.exists(), SERVICE_TIMEOUT):
        raise SandboxError(f"Redis did not answer PING on {LOOPBACK}:{port} within {SERVICE_TIMEOUT:.0f} s; "
                           f"its log ({layout.redis_log}):\n{tail(layout.redis_log)}")
    pid = int(layout.redis_pidfile.read_text().split()[0])
    return {"pid": pid, "start_time": proc_start_time(pid)}


def stop_redis(layout: Layout, recorded: dict[str, Any] | None) -> None:
    """SIGTERM the PID in Redis's pidfile (falling back to the one in state.json)."""
    pid = None
    try:
        pid = int(layout.redis_pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = (recorded or {}).get("pid")
    if not owned(pid, layout.redis_dir):  # Redis chdirs into its `dir`.
        print("  redis: not running")
        return
    signal_and_wait(pid, "redis", SERVICE_TIMEOUT)
    print(f"  redis (pid {pid}): stopped")


# ------------------------------------------------------------------ PostgreSQL


def _as_postgres(*cmd: str) -> list[str]:
    return ["runuser", "-u", PG_OS_USER, "--", *cmd]


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
    make_pg_runtime(layout)
    for path, mode in ((layout.pg_data, 0o700), (layout.pg_sock, 0o700)):
        path.mkdir(mode=mode)
        os.chown(path, pg_user.pw_uid, pg_user.pw_gid)
    layout.postgres_log.write_text("")
    os.chown(layout.postgres_log, pg_user.pw_uid, pg_user.pw_gid)
    layout.logs.mkdir(exist_ok=True)
    layout.postgres_log_link.unlink(missing_ok=True)
    layout.postgres_log_link.symlink_to(layout.postgres_log)

    run_command(_as_postgres(str(PG_BIN / "initdb"), "-D", str(layout.pg_data), "-U", PG_OS_USER,
                             "--auth-local=peer", "--auth-host=scram-sha-256", "--encoding=UTF8",
                             "--locale=C.UTF-8", "--no-instructions"), "initdb", timeout=60)
    options = f"-p {port} -k {layout.pg_sock} -c listen_addresses={LOOPBACK}"
    options += "".join(f" -c {name}={value}" for name, value in (server_settings or {}).items())
    run_command(_as_postgres(str(PG_BIN / "pg_ctl"), "start", "-D", str(layout.pg_data), "-l",
                             str(layout.postgres_log), "-w", "-t", str(int(SERVICE_TIMEOUT)), "-o", options),
                f"pg_ctl start (log: {layout.postgres_log})", timeout=SERVICE_TIMEOUT + 5)
    pid = _postmaster_pid(layout)
    info = {"pid": pid, "start_time": proc_start_time(pid) if pid else None}

    # The superuser connects by peer auth over the private socket; the password travels on
    # stdin, never on a command line. (token_urlsafe has no quote characters.)
    run_command(_as_postgres(str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(layout.pg_sock),
                             "-p", str(port), "-d", "postgres", "-f", "-"),
                "creating the aragora role and database",
                input=(f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{password}';\n"
                       f"CREATE DATABASE {DB_NAME} OWNER {DB_USER};\n"))
    # Prove the DSN Aragora will get actually logs in (TCP + SCRAM), before Aragora tries.
    run_command([str(PG_BIN / "psql"), "-X", "-q", "-t", "-c", "SELECT 1",
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
    run_command([str(PG_BIN / "pg_dump"), "--format=custom", "--file", str(partial), "--host", LOOPBACK,
                 "--port", str(port), "--username", DB_USER, DB_NAME],
                "pg_dump of the aragora database", timeout=60,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"})
    partial.chmod(0o600)
    partial.rename(archive)
    return archive


def stop_postgres(layout: Layout, recorded: dict[str, Any] | None) -> None:
    """`pg_ctl stop -m fast` as postgres, then make sure the postmaster is gone."""
    pid = _postmaster_pid(layout) or (recorded or {}).get("pid")
    if not owned(pid, layout.pg_data):  # The postmaster chdirs into its data directory.
        print("  postgres: not running")
        remove_pg_runtime(layout)
        return
    try:
        run_command(_as_postgres(str(PG_BIN / "pg_ctl"), "stop", "-D", str(layout.pg_data), "-m", "fast",
                                 "-w", "-t", str(int(SERVICE_TIMEOUT))), "pg_ctl stop", timeout=SERVICE_TIMEOUT + 5)
    except SandboxError as exc:
        print(f"  postgres: {exc}; sending SIGTERM to the postmaster")
    if not wait_until(lambda: gone(pid), 5.0):
        signal_and_wait(pid, "postgres", SERVICE_TIMEOUT)
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

    write_file(layout.ca, ca_cert.public_bytes(serialization.Encoding.PEM).decode())
    # The CA key is kept (0600) so tests can issue further certificates, e.g. an expired one.
    write_file(layout.ca_key, pem_key(ca_key), mode=0o600)
    write_file(layout.cert, cert.public_bytes(serialization.Encoding.PEM).decode())
    write_file(layout.key, pem_key(key), mode=0o600)


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
    write_file(layout.env_file, "\n".join(lines) + "\n", mode=0o600)


def check_aragora_python(python: Path, db_backend: str) -> None:
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
    return {"pid": proc.pid, "start_time": proc_start_time(proc.pid)}


def wait_aragora_ready(layout: Layout, api_url: str, info: dict[str, Any], timeout: float | None = None) -> None:
    timeout = READY_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    seen = "no answer yet"
    while time.monotonic() < deadline:
        if not owned(info["pid"], layout.root, info["start_time"]):
            raise SandboxError(f"Aragora exited during start-up; last lines of {layout.aragora_log}:\n"
                               f"{tail(layout.aragora_log)}")
        ready, seen = probe_ready(api_url, layout.ca)
        if ready:
            return
        time.sleep(0.5)
    raise SandboxError(f"Aragora not ready at {api_url}/readyz after {timeout:.0f} s (last: {seen}); "
                       f"last lines of {layout.aragora_log}:\n{tail(layout.aragora_log)}")


def stop_aragora(layout: Layout, recorded: dict[str, Any] | None) -> None:
    """SIGTERM the server's PID, SIGKILL after the grace period; then sweep its session."""
    pid = (recorded or {}).get("pid")
    if not owned(pid, layout.root, (recorded or {}).get("start_time")):
        print("  aragora: not running")
        return
    began = time.monotonic()
    signal_and_wait(pid, "aragora", ARAGORA_STOP_GRACE)
    # start_new_session made the server a session leader: any helper it left behind carries
    # its PID as session id. Matched by session id, never by name.
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != pid and session_of(int(entry.name)) == pid:
            signal_and_wait(int(entry.name), "aragora helper", 5.0)
    print(f"  aragora (pid {pid}): stopped in {time.monotonic() - began:.1f} s")


def start_k8s_emulator(layout: Layout) -> dict[str, Any]:
    """The emulated Kubernetes API (sandbox/k8s) with the healthy_ha scenario, as a process of
    its own so that `down` stops it by PID; ready once it has written its port file."""
    layout.k8s.mkdir()
    cmd = [sys.executable, "-m", "sandbox.k8s", "serve", "--scenario", "healthy_ha",
           "--kubeconfig", str(layout.kubeconfig), "--port-file", str(layout.k8s_port_file)]
    with open(layout.k8s_log, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=layout.k8s, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                                start_new_session=True)
    info = {"pid": proc.pid, "start_time": proc_start_time(proc.pid)}
    if not wait_until(lambda: layout.k8s_port_file.exists() or proc.poll() is not None, SERVICE_TIMEOUT) \
            or proc.poll() is not None:
        raise SandboxError(f"the Kubernetes emulator did not start; last lines of {layout.k8s_log}:\n"
                           f"{tail(layout.k8s_log)}")
    return info


def stop_k8s_emulator(layout: Layout, recorded: dict[str, Any] | None) -> None:
    pid = (recorded or {}).get("pid")
    if not owned(pid, layout.k8s, (recorded or {}).get("start_time")):
        print("  k8s emulator: not running")
        return
    signal_and_wait(pid, "k8s emulator", 5.0)
    print(f"  k8s emulator (pid {pid}): stopped")
