"""Section 4 against real Redis 7 servers: the sandbox's (healthy), and instances of the test's own - stopped, with
another password, without persistence, without a memory limit, with CONFIG renamed away, over TLS, behind a
Sentinel - plus a TCP server that never answers. Every server started here is stopped here, by its PID."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import typing as t

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import run_target
from tests.support.playbook import run_playbook, write_inventory

import sandbox  # noqa: E402  pylint: disable=wrong-import-order  # scripts/, put on sys.path by conftest

TIMEOUT = 1.5
REDIS_CHECKS = ("redis.url_configured", "redis.connection", "redis.rate_limit_backend", "redis.token_blacklist",
                "redis.persistence", "redis.persistence_status", "redis.maxmemory", "redis.eviction_policy",
                "redis.key_prefix")
LIVE_CHECKS = ("redis.connection", "redis.persistence", "redis.persistence_status", "redis.maxmemory",
               "redis.eviction_policy")
# What a production Redis has, for instances that should fail one thing only.
SOUND = ("--appendonly", "yes", "--maxmemory", "64mb")


def _wait(predicate: t.Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie that its parent (init, for a daemon) has yet to reap."""
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


class RedisInstance:
    """A redis-server of the test's own, in its own directory, on a free loopback port (its TLS port with tls)."""

    def __init__(self, directory: str, *args: str, tls: bool = False, sentinel_of: int | None = None) -> None:
        self.port = sandbox.pick_free_ports(("redis",))["redis"]
        self.directory = os.path.join(directory, "redis-%d" % self.port)
        os.makedirs(self.directory)
        self.pidfile = os.path.join(self.directory, "redis.pid")
        self.command = ["redis-server"]
        if sentinel_of:  # a Sentinel rewrites its config file, so it needs one of its own
            config = os.path.join(self.directory, "sentinel.conf")
            with open(config, "w", encoding="utf-8") as handle:
                handle.write("sentinel monitor mymaster 127.0.0.1 %d 1\n" % sentinel_of)
            self.command += [config, "--sentinel"]
        ports = ["--port", "0", "--tls-port", str(self.port)] if tls else ["--port", str(self.port)]
        self.command += [*ports, "--bind", "127.0.0.1", "--daemonize", "yes", "--pidfile", self.pidfile,
                         "--dir", self.directory, "--logfile", os.path.join(self.directory, "redis.log"), *args]
        self.pid: int | None = None

    def start(self) -> RedisInstance:
        subprocess.run(self.command, check=True, timeout=10, capture_output=True)
        assert _wait(lambda: self._pid_written() and _accepts(self.port)), "redis-server did not start"
        return self

    def _pid_written(self) -> bool:
        """The daemon creates its pidfile and then writes it: empty for a moment."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(self.pidfile, encoding="utf-8") as handle:
                self.pid = int(handle.read().split()[0])
        return self.pid is not None

    def stop(self) -> None:
        if self.pid is None and not self._pid_written():  # a start that failed half-way leaves a pidfile behind
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        if not _wait(lambda: _gone(self.pid), 10.0):
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None

    @property
    def url(self) -> str:
        return "redis://127.0.0.1:%d/0" % self.port


@pytest.fixture()
def start_redis(tmp_path) -> t.Iterator[t.Callable[..., RedisInstance]]:
    started: list[RedisInstance] = []

    def start(*args: str, **kwargs: t.Any) -> RedisInstance:
        instance = RedisInstance(str(tmp_path), *args, **kwargs)
        started.append(instance)
        return instance.start()

    yield start
    for instance in reversed(started):
        instance.stop()


def check_redis(config: dict[str, str] | None = None, **params: t.Any) -> dict[str, dict]:
    """The redis group in-process, as the modules run it, with a short timeout. The API URL only carries the timeout
    (TargetContext keeps it in its API client); the redis checks never call the API."""
    result = run_target({"groups": ["redis"], "config": config, "timeout": TIMEOUT, "validate_certs": True,
                         "max_body_bytes": 1024, "api_url": "http://127.0.0.1:9", **params})
    return {check["id"]: check for check in result["checks"]}


def production(url: str, **extra: str) -> dict[str, str]:
    return {"ARAGORA_ENV": "production", "ARAGORA_REDIS_URL": url, "ARAGORA_BLACKLIST_BACKEND": "redis",
            "ARAGORA_REDIS_KEY_PREFIX": "aragora:test:", "ARAGORA_RATE_LIMIT_BACKEND": "redis", **extra}


# --- the sandbox's Redis, as the server uses it -------------------------------------------------------------------


@pytest.mark.timed
def test_the_sandbox_redis_passes_every_check(sandbox_state, sandbox_env):
    started = time.monotonic()
    checks = check_redis(env_file=sandbox_state["paths"]["env_file"])
    elapsed = time.monotonic() - started
    assert {check_id: checks[check_id]["status"] for check_id in REDIS_CHECKS} == dict.fromkeys(REDIS_CHECKS, "PASS"), \
        {check_id: checks[check_id]["message"] for check_id in REDIS_CHECKS}
    assert checks["redis.persistence"]["message"].startswith("Redis persistence enabled: AOF, RDB snapshots")
    assert "noeviction" in checks["redis.eviction_policy"]["message"]
    password = sandbox_env["ARAGORA_REDIS_URL"].split(":")[2].split("@")[0]
    assert password not in repr(checks)
    assert elapsed < 2.0, elapsed


def test_redis_check_module_in_a_playbook_against_the_sandbox(tmp_path, sandbox_state, sandbox_env):
    """The granular module through the real ansible-playbook, at -vvv, in check mode: every check passes, the
    results are returned, and the Redis password appears nowhere in the output."""
    playbook = tmp_path / "redis.yml"
    playbook.write_text(json.dumps([{
        "name": "Redis readiness", "hosts": "aragora", "gather_facts": False,
        "tasks": [
            {"name": "Check Redis", "aragora.ops.redis_check": {"env_file": sandbox_state["paths"]["env_file"]},
             "register": "redis_readiness"},
            {"name": "Keep the results", "ansible.builtin.copy": {
                "content": "{{ redis_readiness.checks | to_json }}", "dest": str(tmp_path / "checks.json")},
             "check_mode": False},
        ]}]))
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"sandbox": {}})
    result = run_playbook(str(playbook), inventory, None, "--check", "-vvv")
    assert result.returncode == 0, result.stdout[-3000:]
    checks = {check["id"]: check for check in json.loads((tmp_path / "checks.json").read_text())}
    assert {check_id: checks[check_id]["status"] for check_id in REDIS_CHECKS} == dict.fromkeys(REDIS_CHECKS, "PASS")
    password = sandbox_env["ARAGORA_REDIS_URL"].split(":")[2].split("@")[0]
    assert password not in result.stdout + result.stderr


# --- broken Redis servers -----------------------------------------------------------------------------------------


def test_stopped_redis_fails_each_live_check_with_connection_refused(start_redis):
    instance = start_redis(*SOUND)
    instance.stop()
    checks = check_redis(production(instance.url))
    for check_id in LIVE_CHECKS:  # redis.connection judges the outage; the others could not judge, naming it
        assert checks[check_id]["status"] == ("FAIL" if check_id == "redis.connection" else "ERROR"), check_id
        assert "connection refused by Redis at redis://127.0.0.1:%d/0" % instance.port in checks[check_id]["message"]
    assert checks["redis.url_configured"]["status"] == "PASS"  # the configuration itself is right


def test_wrong_password_is_named_and_never_shown(start_redis):
    server_password, wrong_password = "Server-side-%d" % os.getpid(), "Wrong-one-%d" % os.getpid()
    instance = start_redis("--requirepass", server_password, *SOUND)
    url = "redis://:%s@127.0.0.1:%d/0" % (wrong_password, instance.port)
    checks = check_redis(production(url))
    message = checks["redis.connection"]["message"]
    assert checks["redis.connection"]["status"] == "FAIL" and "refused the credentials" in message
    assert "redis://:********@127.0.0.1" in message
    assert wrong_password not in repr(checks) and server_password not in repr(checks)
    missing = check_redis(production(instance.url))["redis.connection"]
    assert missing["status"] == "FAIL" and "refused the credentials" in missing["message"]
    right = check_redis(production("redis://:%s@127.0.0.1:%d/0" % (server_password, instance.port)))
    assert right["redis.connection"]["status"] == "PASS"


def test_acl_user_logs_in_with_its_own_password(start_redis):
    instance = start_redis("--user", "aragora", "on", ">AclPw-1", "~*", "&*", "+@all", *SOUND)
    checks = check_redis(production("redis://aragora:AclPw-1@127.0.0.1:%d/0" % instance.port))
    assert checks["redis.connection"]["status"] == "PASS", checks["redis.connection"]["message"]
    assert checks["redis.url_configured"]["evidence"]["acl_user"] == "aragora"


def test_persistence_off_fails_and_its_status_is_not_judged(start_redis):
    instance = start_redis("--save", "", "--appendonly", "no", "--maxmemory", "64mb")
    checks = check_redis(production(instance.url))
    assert checks["redis.persistence"]["status"] == "FAIL"
    assert "persistence is off" in checks["redis.persistence"]["message"]
    assert checks["redis.persistence_status"]["status"] == "SKIP"
    assert checks["redis.maxmemory"]["status"] == "PASS"


def test_no_maxmemory_fails_and_the_policy_is_not_judged(start_redis):
    instance = start_redis("--appendonly", "yes")
    checks = check_redis(production(instance.url))
    assert checks["redis.maxmemory"]["status"] == "FAIL"
    assert "no memory limit (maxmemory 0)" in checks["redis.maxmemory"]["message"]
    assert checks["redis.eviction_policy"]["status"] == "SKIP"
    assert checks["redis.persistence"]["status"] == "PASS"


def test_evicting_policy_warns_when_revoked_tokens_live_in_redis(start_redis):
    instance = start_redis("--maxmemory-policy", "allkeys-lru", *SOUND)
    assert check_redis(production(instance.url))["redis.eviction_policy"]["status"] == "WARN"
    cache_only = production(instance.url, ARAGORA_BLACKLIST_BACKEND="sqlite")
    assert check_redis(cache_only)["redis.eviction_policy"]["status"] == "PASS"


def test_config_renamed_away_falls_back_to_info(start_redis):
    with_aof = start_redis("--rename-command", "CONFIG", "", *SOUND)
    checks = check_redis(production(with_aof.url))
    persistence = checks["redis.persistence"]
    assert persistence["status"] == "PASS" and persistence["evidence"]["read_from"] == "INFO (CONFIG unavailable)"
    assert "unknown command 'CONFIG'" in persistence["evidence"]["config_unavailable"]
    assert checks["redis.maxmemory"]["status"] == "PASS" and checks["redis.persistence_status"]["status"] == "PASS"
    rdb_only = start_redis("--rename-command", "CONFIG", "", "--maxmemory", "64mb")
    persistence = check_redis(production(rdb_only.url))["redis.persistence"]
    assert persistence["status"] == "WARN" and "schedule cannot be read" in persistence["message"]


def test_tls_is_verified_against_ca_path(start_redis, sandbox_state):
    tls = sandbox_state["paths"]
    instance = start_redis("--tls-cert-file", tls["cert"], "--tls-key-file", tls["key"], "--tls-ca-cert-file",
                           tls["ca"], "--tls-auth-clients", "no", *SOUND, tls=True)
    url = "rediss://127.0.0.1:%d/0" % instance.port
    verified = check_redis(production(url), ca_path=tls["ca"])
    assert verified["redis.connection"]["status"] == "PASS", verified["redis.connection"]["message"]
    assert verified["redis.url_configured"]["message"] == "Redis URL configured (ARAGORA_REDIS_URL, TLS)"
    unknown_ca = check_redis(production(url))["redis.connection"]
    assert unknown_ca["status"] == "FAIL" and "certificate verify failed" in unknown_ca["message"]
    plain = check_redis(production(url.replace("rediss://", "redis://")))["redis.connection"]
    assert plain["status"] == "FAIL", plain


def test_sentinel_mode_probes_the_master_the_sentinel_names(start_redis):
    master = start_redis(*SOUND)
    sentinel = start_redis(sentinel_of=master.port)
    config = {"ARAGORA_ENV": "production", "ARAGORA_REDIS_MODE": "sentinel", "ARAGORA_REDIS_URL": master.url,
              "ARAGORA_REDIS_SENTINEL_HOSTS": "127.0.0.1:%d" % sentinel.port, "ARAGORA_BLACKLIST_BACKEND": "redis"}
    checks = check_redis(config)
    connection = checks["redis.connection"]
    assert connection["status"] == "PASS", connection["message"]
    assert connection["evidence"]["sentinel_master_address"] == "127.0.0.1:%d" % master.port
    assert checks["redis.rate_limit_backend"]["status"] == "WARN"  # Aragora's limiter does not follow Sentinel
    unknown = check_redis({**config, "ARAGORA_REDIS_SENTINEL_MASTER": "other"})["redis.connection"]
    assert unknown["status"] == "FAIL" and "knows a reachable master named 'other'" in unknown["message"]


@contextlib.contextmanager
def silent_server() -> t.Iterator[int]:
    """Accepts TCP connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    stopping = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while not stopping.is_set():
            with contextlib.suppress(socket.timeout):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        thread.join(2)
        for connection in held + [listener]:
            connection.close()


@pytest.mark.timed
def test_silent_server_ends_at_the_timeout():
    with silent_server() as port:
        started = time.monotonic()
        checks = check_redis(production("redis://:pw-silent@127.0.0.1:%d/0" % port))
        elapsed = time.monotonic() - started
    for check_id in LIVE_CHECKS:
        assert checks[check_id]["status"] == ("FAIL" if check_id == "redis.connection" else "ERROR"), check_id
        assert "did not answer within 1.5 s (timeout)" in checks[check_id]["message"]
    assert TIMEOUT <= elapsed < 2 * TIMEOUT, elapsed  # one timeout for all the checks, no retry
    assert "pw-silent" not in repr(checks)
