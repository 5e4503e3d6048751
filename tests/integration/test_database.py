"""Section 3 against real PostgreSQL 15: the sandbox's database, a small server of our own, real pg_dump archives."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._engine.config import Config
from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import run_target
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext
from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive
import sandbox
from tests.support.playbook import run_playbook, write_inventory

SMALL_PASSWORD = "Small-Server-" + os.urandom(8).hex()


def run_database(env_file: str | None = None, variables: dict | None = None, thresholds: dict | None = None,
                 **options) -> dict[str, dict]:
    """The database group for one target, in process; results by check id."""
    ctx = TargetContext(Config(env_file=env_file, variables=variables), thresholds=thresholds, options=options)
    return {result["id"]: result for result in run_target({"groups": ["database"]}, ctx)["checks"]}


def with_password(dsn: str, password: str) -> str:
    parts = urllib.parse.urlsplit(dsn)
    return parts._replace(netloc="%s:%s@%s:%s" % (parts.username, password, parts.hostname, parts.port)).geturl()


def with_database(dsn: str, name: str) -> str:
    return urllib.parse.urlsplit(dsn)._replace(path="/" + name).geturl()


def assert_no_secret(results: dict, *secrets: str) -> None:
    text = json.dumps(results, default=str)
    for secret in secrets:
        assert secret not in text, "a secret leaked into the results"


@pytest.fixture(scope="module")
def sandbox_dsn(sandbox_env) -> str:
    return sandbox_env["DATABASE_URL"]


@pytest.fixture(scope="module")
def sandbox_backup_dir(sandbox_state) -> str:
    directory = sandbox_state["paths"].get("backup_dir")
    assert directory, ("this sandbox was started by a sandbox.py that took no backup: "
                       "python scripts/sandbox.py down --dir %s, then re-run" % sandbox_state["dir"])
    return directory


@pytest.fixture(scope="module")
def small_server(sandbox_state):
    """PostgreSQL 15 with max_connections=20 and TLS (the sandbox's certificate for 127.0.0.1): (layout, port)."""
    root = tempfile.mkdtemp(prefix="aragora-ops-db-test-")
    os.chmod(root, 0o755)  # the postgres user must reach its data directory inside
    layout = sandbox.Layout(root)
    layout.logs.mkdir()
    tls_dir = os.path.join(root, "pgtls")
    os.mkdir(tls_dir, 0o700)
    for source, name in ((sandbox_state["paths"]["cert"], "server.pem"), (sandbox_state["paths"]["key"], "key.pem")):
        shutil.copy(source, os.path.join(tls_dir, name))
    postgres = pwd.getpwnam(sandbox.PG_OS_USER)
    for path in (tls_dir, *(os.path.join(tls_dir, name) for name in os.listdir(tls_dir))):
        os.chown(path, postgres.pw_uid, postgres.pw_gid)
    os.chmod(os.path.join(tls_dir, "key.pem"), 0o600)
    port = sandbox.pick_free_ports(("postgres",))["postgres"]
    try:
        sandbox.start_postgres(layout, port, SMALL_PASSWORD, {
            "max_connections": "20", "ssl": "on", "ssl_cert_file": os.path.join(tls_dir, "server.pem"),
            "ssl_key_file": os.path.join(tls_dir, "key.pem")})
        yield layout, port
    finally:
        sandbox.stop_postgres(layout, None)
        shutil.rmtree(root, ignore_errors=True)


def small_dsn(port: int, query: str = "") -> str:
    return "postgresql://aragora:%s@127.0.0.1:%d/aragora%s" % (SMALL_PASSWORD, port, query)


def pg_dump(sandbox_dsn: str, directory, name: str, dump_format: str = "custom") -> str:
    """A real pg_dump archive of the sandbox database, alone in a directory of its own."""
    directory.mkdir()
    archive = str(directory / name)
    parts = urllib.parse.urlsplit(sandbox_dsn)
    subprocess.run(["pg_dump", "--format=" + dump_format, "--file", archive, "--host", parts.hostname, "--port",
                    str(parts.port), "--username", parts.username, parts.path.lstrip("/")],
                   env={**os.environ, "PGPASSWORD": urllib.parse.unquote(parts.password)}, check=True, timeout=60)
    return archive


@pytest.fixture()
def fresh_archive(tmp_path, sandbox_dsn) -> str:
    """A real pg_dump -Fc archive of the sandbox database, alone in a directory of its own."""
    return pg_dump(sandbox_dsn, tmp_path / "backups", "aragora-test.dump")


# --- the healthy sandbox --------------------------------------------------------------------------------------


@pytest.mark.timed
def test_sandbox_database_is_ready(sandbox_state, sandbox_dsn, sandbox_backup_dir):
    started = time.monotonic()
    results = run_database(sandbox_state["paths"]["env_file"], backup_dir=sandbox_backup_dir)
    elapsed = time.monotonic() - started

    statuses = {check_id: result["status"] for check_id, result in results.items()}
    assert statuses == {
        "database.connection": "PASS", "database.server_version": "PASS", "database.latency": "PASS",
        "database.tls": "SKIP",  # loopback, and the sandbox's DSN does not ask for TLS
        "database.pool_sizing": "PASS", "database.timeouts": "PASS", "database.migrations": "PASS",
        "database.backup": "PASS", "database.restore_tested": "SKIP",
        "database.pre_release_backup": "SKIP",  # the sandbox names no running release
    }, {check_id: result["message"] for check_id, result in results.items()}
    assert "set aragora_running_release" in results["database.pre_release_backup"]["message"]
    assert "PostgreSQL 15." in results["database.connection"]["message"]
    assert results["database.migrations"]["evidence"]["missing_tables"] == []
    assert results["database.pool_sizing"]["evidence"]["pool_demand"] == 35
    assert results["database.backup"]["evidence"]["data_verified"] is True
    assert results["database.restore_tested"]["message"].startswith("No restore drill evidence yet")
    assert_no_secret(results, urllib.parse.urlsplit(sandbox_dsn).password)
    assert elapsed < 5, "the database group took %.1f s" % elapsed


# --- connection failures --------------------------------------------------------------------------------------


def test_wrong_password_fails_naming_the_user_not_the_password(sandbox_dsn):
    wrong = "Wrong-" + os.urandom(6).hex()
    results = run_database(variables={"DATABASE_URL": with_password(sandbox_dsn, wrong)})
    connection = results["database.connection"]
    port = urllib.parse.urlsplit(sandbox_dsn).port
    assert connection["status"] == "FAIL"
    assert connection["message"] == ("Database connection failed: PostgreSQL at 127.0.0.1:%d/aragora refused the "
                                     "password of user aragora: set the DSN's password to the role's" % port)
    # Cannot be judged, for the same reason: ERROR, naming database.connection.
    assert results["database.pool_sizing"]["status"] == "ERROR"
    assert results["database.pool_sizing"]["cause"]["check"] == "database.connection"
    assert_no_secret(results, wrong, urllib.parse.urlsplit(sandbox_dsn).password)


def test_missing_database_fails_naming_it(sandbox_dsn):
    results = run_database(variables={"DATABASE_URL": with_database(sandbox_dsn, "aragora_missing")})
    connection = results["database.connection"]
    assert connection["status"] == "FAIL"
    assert "database aragora_missing does not exist on 127.0.0.1:" in connection["message"]
    assert "Create the database" in connection["remediation"]
    assert_no_secret(results, urllib.parse.urlsplit(sandbox_dsn).password)


@pytest.mark.timed
def test_server_that_never_answers_fails_at_the_timeout():
    with socket.socket() as silent:  # the kernel completes the handshake; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        results = run_database(variables={"DATABASE_URL": "postgresql://aragora:pw@127.0.0.1:%d/aragora" % port},
                               timeout=1.5)
        elapsed = time.monotonic() - started
    assert results["database.connection"]["status"] == "FAIL"
    assert "no answer from PostgreSQL at 127.0.0.1:%d/aragora within 1.5 s" % port in \
        results["database.connection"]["message"]
    assert elapsed < 4, "took %.1f s" % elapsed


# --- a small server: pool too big for it, TLS, then stopped ---------------------------------------------------


def test_pool_does_not_fit_a_small_server(small_server):
    _layout, port = small_server
    results = run_database(variables={"DATABASE_URL": small_dsn(port), "ARAGORA_DB_MAX_OVERFLOW": "10"},
                           app_replicas=3)
    pool = results["database.pool_sizing"]
    assert pool["status"] == "FAIL"
    assert pool["message"].startswith("Connection pools need up to 105 connections ((20 + 15) x 3 replicas) but "
                                      "PostgreSQL allows 17 (max_connections - reserved)")
    assert "ARAGORA_DB_MAX_OVERFLOW=10 is read by nothing on Aragora 2.11; the overflow in force is the default 15 " \
           "(ARAGORA_DB_POOL_OVERFLOW unset)" in pool["message"]
    assert pool["evidence"]["max_connections"] == 20
    assert pool["evidence"]["superuser_reserved_connections"] == 3
    # A bare database: the server never started against it.
    assert results["database.migrations"]["status"] == "FAIL"
    assert "none of the 18 tables" in results["database.migrations"]["message"]
    assert_no_secret(results, SMALL_PASSWORD)


def test_tls_when_the_dsn_asks_for_it(small_server, sandbox_state):
    _layout, port = small_server
    query = "?sslmode=verify-full&sslrootcert=%s" % urllib.parse.quote(sandbox_state["paths"]["ca"])
    results = run_database(variables={"DATABASE_URL": small_dsn(port, query)})
    tls = results["database.tls"]
    assert tls["status"] == "PASS", tls
    assert tls["evidence"]["ssl_in_use"] is True
    assert tls["evidence"]["ssl_version"].startswith("TLSv1.")
    assert "certificate verified" in tls["message"]


def test_tls_required_from_a_server_without_it_fails(sandbox_dsn):
    results = run_database(variables={"DATABASE_URL": sandbox_dsn + "?sslmode=require"})
    assert results["database.connection"]["status"] == "FAIL"
    assert "requires TLS (sslmode=require)" in results["database.connection"]["message"]
    assert results["database.tls"]["status"] == "ERROR"  # no session to judge: the connection's failure says why
    assert "requires TLS (sslmode=require)" in results["database.tls"]["message"]


def test_stopped_server_fails_naming_host_and_port(small_server):
    layout, port = small_server
    sandbox.stop_postgres(layout, None)
    results = run_database(variables={"DATABASE_URL": small_dsn(port)})
    connection = results["database.connection"]
    assert connection["status"] == "FAIL"
    assert "nothing accepts connections at 127.0.0.1:%d (PostgreSQL stopped" % port in connection["message"]
    assert "Start PostgreSQL" in connection["remediation"]
    assert_no_secret(results, SMALL_PASSWORD)


# --- backups: real archives -----------------------------------------------------------------------------------


def backup_result(archive: str) -> dict:
    return run_database(backup_dir=os.path.dirname(archive))["database.backup"]


def test_fresh_valid_archive_passes(fresh_archive):
    result = backup_result(fresh_archive)
    assert result["status"] == "PASS", result
    assert result["evidence"]["dumped_database"] == "aragora"
    assert result["evidence"]["toc_entries"] > 18


def test_stale_archive_fails_as_stale(fresh_archive):
    moment = time.time() - 30 * 3600
    os.utime(fresh_archive, (moment, moment))
    result = backup_result(fresh_archive)
    assert result["status"] == "FAIL"
    assert "is 30.0 h old (limit 26 h)" in result["message"]


@pytest.mark.parametrize("keep", [0.5, 0.999], ids=["half", "all-but-the-tail"])
def test_truncated_archive_fails_as_corrupt(fresh_archive, keep):
    size = os.path.getsize(fresh_archive)
    os.truncate(fresh_archive, int(size * keep) if keep < 0.99 else size - 50)
    result = backup_result(fresh_archive)
    assert result["status"] == "FAIL"
    assert "is not a readable pg_dump archive" in result["message"]
    assert "could not read from input file" in result["message"]


def take_backup(sandbox_dsn: str, directory: str) -> str:
    """A backup of the sandbox database as aragora.ops.postgres_backup takes it (pg_dump -Fc, then its manifest)."""
    parts = urllib.parse.urlsplit(sandbox_dsn)
    server = pg_archive.Server(host=parts.hostname, port=parts.port, user=parts.username,
                               password=urllib.parse.unquote(parts.password), database=parts.path.lstrip("/"))
    return pg_archive.take_backup(server, directory)["archive_path"]


def alter_archive(archive: str) -> str:
    """One byte of the archive changed where its table of contents ends and its data begins."""
    with open(archive, "r+b") as handle:
        handle.seek(os.path.getsize(archive) // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    return "sha256 %s, manifest says" % pg_archive.sha256_of(archive)


def misstate_manifest(archive: str) -> str:
    """The manifest beside the archive made to record another sha256."""
    path = pg_archive.manifest_path(archive)
    with open(path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    manifest["sha256"] = "0" * 64
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    return "manifest says %s" % ("0" * 64)


@pytest.mark.parametrize("change", [alter_archive, misstate_manifest], ids=["archive-altered", "manifest-wrong"])
def test_backup_that_no_longer_matches_its_manifest_fails(tmp_path, sandbox_state, sandbox_dsn, change):
    """Healthy: a postgres_backup archive with its manifest passes, its sha256 verified. One change (the archive's
    bytes, or the sha256 its manifest records): exactly database.backup turns FAIL, naming the mismatch, as the
    restore refuses that archive."""
    directory = str(tmp_path / "backups")
    archive = take_backup(sandbox_dsn, directory)
    env_file = sandbox_state["paths"]["env_file"]
    healthy = run_database(env_file, backup_dir=directory)
    assert healthy["database.backup"]["status"] == "PASS", healthy["database.backup"]
    assert healthy["database.backup"]["evidence"]["sha256_verified"] is True
    assert healthy["database.backup"]["evidence"]["data_verified"] is True

    named = change(archive)
    broken = run_database(env_file, backup_dir=directory)
    changed = {check_id: (healthy[check_id]["status"], result["status"])
               for check_id, result in broken.items() if result["status"] != healthy[check_id]["status"]}
    assert changed == {"database.backup": ("PASS", "FAIL")}, broken["database.backup"]
    result = broken["database.backup"]
    assert result["message"].startswith("Newest backup %s is not the archive its manifest %s describes (sha256 "
                                        % (archive, pg_archive.manifest_path(archive))), result["message"]
    assert named in result["message"] and "a restore refuses it" in result["message"]
    assert result["evidence"]["sha256_verified"] is False
    with pytest.raises(pg_archive.ArchiveDefect) as refused:  # the restore's judgment: the same archive, refused
        pg_archive.validate_archive(archive)
    assert refused.value.defect == "sha256"


def test_directory_archive_is_judged_whole(tmp_path, sandbox_dsn):
    """pg_dump's directory format, which scan_backups picks as the newest backup: listed and read in full."""
    archive = pg_dump(sandbox_dsn, tmp_path / "backups", "aragora-test", "directory")
    result = backup_result(archive)
    assert result["status"] == "PASS", result
    assert result["evidence"]["data_verified"] is True and result["evidence"]["dumped_database"] == "aragora"
    assert result["evidence"]["sha256_verified"] is False  # no manifest: nothing to compare
    table_data = sorted(name for name in os.listdir(archive) if name.endswith(".dat.gz"))
    os.truncate(os.path.join(archive, table_data[-1]), 10)  # one table's data cut short
    damaged = backup_result(archive)
    assert damaged["status"] == "FAIL" and "is not a readable pg_dump archive" in damaged["message"], damaged


# --- the real ansible-playbook --------------------------------------------------------------------------------

PLAYBOOK = """
- name: Check the sandbox's database with the granular module
  hosts: sandbox
  gather_facts: false
  tasks:
    - name: Run the database group
      aragora.ops.database_check:
        env_file: "{{ aragora_env_file }}"
        backup_dir: "{{ aragora_backup_dir }}"
        restore_evidence_file: "{{ aragora_restore_evidence_file }}"
      register: database
    - name: Keep what the module returned
      ansible.builtin.copy:
        content: "{{ database | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
      check_mode: false
"""


def test_granular_module_in_a_real_playbook_under_check_mode(
        tmp_path, sandbox_state, sandbox_dsn, sandbox_backup_dir):
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"sandbox": {
        "aragora_env_file": sandbox_state["paths"]["env_file"],
        "aragora_backup_dir": sandbox_backup_dir,
        "aragora_restore_evidence_file": str(tmp_path / "no-drill-yet.json"),
    }})
    playbook = tmp_path / "database.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    result_file = tmp_path / "result.json"
    result = run_playbook(str(playbook), inventory, {"result_file": str(result_file)}, "--check", "-vvv")

    assert result.returncode == 0, result.stdout + result.stderr
    returned = json.loads(result_file.read_text(encoding="utf-8"))
    statuses = {check["id"]: check["status"] for check in returned["checks"]}
    assert statuses.pop("database.tls") == "SKIP"
    assert statuses.pop("database.restore_tested") == "SKIP"
    assert statuses.pop("database.pre_release_backup") == "SKIP"  # no aragora_running_release given
    assert set(statuses.values()) == {"PASS"}, returned["checks"]
    assert returned["verdict"] == "GO" and returned["changed"] is False
    password = urllib.parse.urlsplit(sandbox_dsn).password
    assert password not in result.stdout + result.stderr + result_file.read_text(encoding="utf-8")
