"""Section 4, Redis Configuration: the checks' judgements on observations built in the test, and the client's edges
that need no server (error sentences, CONFIG refused, TLS arguments, Sentinel/cluster targets)."""

from __future__ import annotations

import types
import typing as t

import pytest
import redis
from tests.unit.plugins.module_utils.ops_fakes import NEUTRAL, make_ctx, run

from ansible_collections.aragora.ops.plugins.module_utils._clients import redis_client
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY
from ansible_collections.aragora.ops.plugins.module_utils._clients.redis_client import (
    NodeObservation,
    ProbeOptions,
    RedisObservation,
    RedisProbeError,
    RedisTarget,
)

PASSWORD = "s3cr3t-Redis-pw"
URL = "redis://:%s@cache.internal:6379/0" % PASSWORD
PRODUCTION = types.MappingProxyType({  # read-only: it is a default argument below
    "ARAGORA_ENV": "production", "ARAGORA_REDIS_URL": URL, "ARAGORA_BLACKLIST_BACKEND": "redis",
    "ARAGORA_REDIS_KEY_PREFIX": "aragora:prod:", "ARAGORA_RATE_LIMIT_BACKEND": "redis"})
LIVE_CHECKS = ("redis.connection", "redis.persistence", "redis.persistence_status", "redis.maxmemory",
               "redis.eviction_policy")
MB = 1024 * 1024


def node(config: dict[str, str] | None = None, config_error: str | None = None, ping_ms: float = 0.4,
         address: str = "cache.internal:6379", streams: list[str] | None = (), **info: t.Any) -> NodeObservation:
    """A healthy production Redis, as the sandbox runs it, with ``info`` and ``config`` overriding."""
    base_info = {"redis_version": "7.0.15", "role": "master", "maxmemory": 256 * MB, "maxmemory_human": "256.00M",
                 "used_memory": 2 * MB, "used_memory_human": "2.00M", "maxmemory_policy": "noeviction",
                 "aof_enabled": 1, "rdb_last_bgsave_status": "ok", "aof_last_bgrewrite_status": "ok",
                 "aof_last_write_status": "ok", "rdb_last_save_time": 1_700_000_000,
                 "rdb_changes_since_last_save": 3}
    if config is None and config_error is None:
        config = {"save": "900 1 300 10", "appendonly": "yes", "maxmemory": str(256 * MB),
                  "maxmemory-policy": "noeviction"}
    return NodeObservation(address, 1.5, ping_ms, {**base_info, **info}, None, config, config_error,
                           streams=None if streams is None else list(streams))


def ctx_seeing(nodes: list[NodeObservation] | Exception, variables: t.Mapping[str, t.Any] = PRODUCTION,
               topology: dict | None = None, **kwargs: t.Any):
    """A context whose Redis probe returns ``nodes`` (or raises the exception), counting the probes."""
    ctx = make_ctx(variables, **kwargs)
    calls = []

    def fake_observe(target: RedisTarget, options: ProbeOptions) -> RedisObservation:
        calls.append((target, options))
        if isinstance(nodes, Exception):
            raise nodes
        return RedisObservation(target, nodes, topology or {})

    ctx.observe_calls = calls
    return ctx, fake_observe


@pytest.fixture()
def seeing(monkeypatch):
    def build(nodes, variables=PRODUCTION, **kwargs):
        ctx, fake = ctx_seeing(nodes, variables, **kwargs)
        monkeypatch.setattr(redis_client, "observe", fake)
        return ctx
    return build


def test_healthy_production_redis_passes_every_check_with_one_probe(seeing):
    ctx = seeing([node()])
    results = {check_id: run(check_id, ctx) for check_id in redis_checks_ids()}
    assert {r["id"]: r["status"] for r in results.values()} == dict.fromkeys(redis_checks_ids(), "PASS")
    assert len(ctx.observe_calls) == 1
    assert PASSWORD not in repr(results)
    assert results["redis.connection"]["evidence"]["redis"] == "redis://:********@cache.internal:6379/0"


def redis_checks_ids() -> list[str]:
    return [check_id for check_id in REGISTRY if check_id.startswith("redis.")]


# --- redis.url_configured -------------------------------------------------------------------------------------


@pytest.mark.parametrize("variables, status, words", [
    (NEUTRAL, "FAIL", "Redis not configured (rate limiting will use in-memory)"),
    ({"ARAGORA_SINGLE_INSTANCE": "true"}, "WARN", "accepted because ARAGORA_SINGLE_INSTANCE=true"),
    ({"REDIS_URL": "redis://:pw@cache:6379"}, "WARN", "only in the legacy REDIS_URL"),
    ({"ARAGORA_REDIS_URL": "http://cache:6379"}, "FAIL", "is not a Redis URL"),
    ({"ARAGORA_REDIS_URL": "redis://cache.internal:6379/0"}, "WARN", "no password for the remote host"),
    ({"ARAGORA_REDIS_URL": "redis://127.0.0.1:6379/0"}, "PASS", "Redis URL configured"),
    ({"ARAGORA_REDIS_URL": "rediss://app:pw@cache:6380/0"}, "PASS", "(ARAGORA_REDIS_URL, TLS)"),
    ({"ARAGORA_REDIS_URL": URL, "ARAGORA_REDIS_MODE": "replicated"}, "WARN", "falls back to standalone"),
    ({"ARAGORA_REDIS_MODE": "sentinel", "ARAGORA_REDIS_SENTINEL_HOSTS": "s1, s2:26380"}, "PASS",
     "Sentinel master mymaster via s1:26379, s2:26380"),
    ({"ARAGORA_REDIS_MODE": "sentinel"}, "FAIL", "ARAGORA_REDIS_SENTINEL_HOSTS is unset"),
    ({"ARAGORA_REDIS_CLUSTER_NODES": "n1:7000,n2:7001"}, "PASS", "cluster via n1:7000, n2:7001"),
    ({"ARAGORA_REDIS_MODE": "cluster", "ARAGORA_REDIS_CLUSTER_NODES": "n1:port"}, "FAIL", "is not host:port"),
])
def test_url_configured(variables, status, words):
    result = run("redis.url_configured", make_ctx(variables))
    assert result["status"] == status, result
    assert words in result["message"]
    assert "pw" not in repr(result["evidence"]).replace("password_set", "")


def test_url_configured_names_the_acl_user_and_skips_without_configuration():
    result = run("redis.url_configured", make_ctx({"ARAGORA_REDIS_URL": "rediss://aragora:pw@cache:6380/1"}))
    assert result["evidence"]["acl_user"] == "aragora" and result["evidence"]["tls"] is True
    assert run("redis.url_configured", make_ctx())["status"] == "SKIP"


# --- redis.connection -----------------------------------------------------------------------------------------


def test_connection_failure_fails_every_live_check_with_the_one_reason(seeing):
    ctx = seeing(RedisProbeError("connection refused by Redis at cache.internal:6379 (nothing listens there)"))
    for check_id in LIVE_CHECKS:
        result = run(check_id, ctx)
        # redis.connection judges the outage; the others could not judge, and say why.
        assert result["status"] == ("FAIL" if check_id == "redis.connection" else "ERROR"), check_id
        assert "connection refused by Redis at cache.internal:6379" in result["message"]
    assert len(ctx.observe_calls) == 1  # one timeout, not one per check


def test_slow_redis_warns_over_the_threshold(seeing):
    result = run("redis.connection", seeing([node(ping_ms=80.0)], thresholds={"redis_latency_warn_ms": 50}))
    assert result["status"] == "WARN" and "PING 80.0 ms, over 50 ms" in result["message"]


def test_sentinel_master_that_is_a_replica_fails(seeing):
    variables = {"ARAGORA_REDIS_MODE": "sentinel", "ARAGORA_REDIS_SENTINEL_HOSTS": "s1:26379"}
    ctx = seeing([node(role="slave")], variables, topology={"sentinel_master_address": "10.0.0.7:6379"})
    result = run("redis.connection", ctx)
    assert result["status"] == "FAIL" and "is a slave, not a master" in result["message"]
    target = ctx.observe_calls[0][0]
    assert (target.mode, target.nodes, target.sentinel_master) == ("sentinel", (("s1", 26379),), "mymaster")


def test_cluster_judges_every_primary_and_its_state(seeing):
    variables = {"ARAGORA_REDIS_CLUSTER_NODES": "n1:7000", "ARAGORA_REDIS_PASSWORD": PASSWORD}
    primaries = [node(address="n1:7000"), node(address="n2:7001", maxmemory=0, maxmemory_human="0B")]
    ctx = seeing(primaries, variables, topology={"cluster_state": "ok", "primaries": 2})
    memory = run("redis.maxmemory", ctx)
    assert memory["status"] == "FAIL" and memory["message"].startswith("primary n2:7001: Redis has no memory limit")
    assert set(memory["evidence"]["nodes"]) == {"n1:7000", "n2:7001"}
    assert run("redis.persistence", ctx)["message"].endswith("(all 2 primaries)")
    assert ctx.observe_calls[0][0].password == PASSWORD
    broken = seeing(primaries, variables, topology={"cluster_state": "fail", "primaries": 2})
    assert "cluster state is fail" in run("redis.connection", broken)["message"]


def test_redis_url_option_is_probed_without_configuration(seeing):
    ctx = seeing([node()], variables=None, options={"redis_url": "redis://127.0.0.1:6379"})
    assert run("redis.connection", ctx)["status"] == "PASS"
    assert ctx.observe_calls[0][0].source == "redis_url option"


def test_live_checks_skip_when_nothing_names_a_redis(seeing):
    for variables in (None, NEUTRAL):
        result = run("redis.connection", seeing([node()], variables))
        assert result["status"] == "SKIP" and "set ARAGORA_REDIS_URL" in result["message"]


def test_a_url_that_is_not_redis_fails_before_any_connection(seeing):
    ctx = seeing([node()], {"ARAGORA_REDIS_URL": "https://:%s@cache:6379" % PASSWORD})
    result = run("redis.connection", ctx)
    assert result["status"] == "FAIL" and "is not a Redis URL" in result["message"]
    assert PASSWORD not in result["message"] and not ctx.observe_calls


def test_probe_uses_the_targets_timeout_and_tls_settings(seeing):
    ctx = seeing([node()], answers={}, options={"ca_path": "/etc/ca.pem", "validate_certs": False, "timeout": 1.5})
    run("redis.connection", ctx)
    assert ctx.observe_calls[0][1] == ProbeOptions(1.5, "/etc/ca.pem", False)


# --- redis.persistence / redis.persistence_status -------------------------------------------------------------


@pytest.mark.parametrize("observed, status, words", [
    (node(), "PASS", "AOF, RDB snapshots (save 900 1 300 10)"),
    (node(config={"save": "", "appendonly": "yes"}), "PASS", "enabled: AOF"),
    (node(config={"save": "3600 1", "appendonly": "no"}, aof_enabled=0), "PASS", "RDB snapshots (save 3600 1)"),
    (node(config={"save": "", "appendonly": "no"}, aof_enabled=0), "FAIL", "Redis persistence is off"),
    (node(config_error="CONFIG is disabled or renamed", aof_enabled=1), "PASS", "enabled: AOF"),
    (node(config_error="CONFIG is disabled or renamed", aof_enabled=0), "WARN", "schedule cannot be read"),
])
def test_persistence(seeing, observed, status, words):
    result = run("redis.persistence", seeing([observed]))
    assert result["status"] == status and words in result["message"], result
    assert result["evidence"]["read_from"] == ("CONFIG GET" if observed.config is not None else
                                               "INFO (CONFIG unavailable)")


@pytest.mark.parametrize("observed, status, words", [
    (node(), "PASS", "last save and AOF rewrite/write succeeded"),
    (node(rdb_last_bgsave_status="err"), "FAIL", "rdb_last_bgsave_status=err"),
    (node(aof_last_bgrewrite_status="err", aof_last_write_status="err"), "FAIL",
     "aof_last_bgrewrite_status=err, aof_last_write_status=err"),
    # AOF off: its statuses mean nothing and are not judged.
    (node(config={"save": "60 1", "appendonly": "no"}, aof_enabled=0, aof_last_write_status="err"), "PASS",
     "last save succeeded"),
    (node(config={"save": "", "appendonly": "no"}, aof_enabled=0), "SKIP", "persistence is off"),
])
def test_persistence_status(seeing, observed, status, words):
    result = run("redis.persistence_status", seeing([observed]))
    assert result["status"] == status and words in result["message"], result


def test_info_refused_to_the_acl_user_fails_the_checks_that_need_it(seeing):
    refused = NodeObservation("cache:6379", 1.0, 0.3, {}, "Redis at cache:6379 refused a command to this ACL user "
                              "(NOPERM): grant it +ping and +info", None, "CONFIG GET is not granted")
    ctx = seeing([refused])
    assert run("redis.connection", ctx)["status"] == "PASS"
    result = run("redis.maxmemory", ctx)
    assert result["status"] == "FAIL" and "grant it +ping and +info" in result["message"]


# --- redis.maxmemory / redis.eviction_policy ------------------------------------------------------------------


@pytest.mark.parametrize("observed, status, words", [
    (node(), "PASS", "Redis memory limit set (maxmemory 256.00M)"),
    (node(maxmemory=0, maxmemory_human="0B"), "FAIL", "no memory limit (maxmemory 0)"),
    (node(used_memory=240 * MB, used_memory_human="240.00M"), "WARN", "uses 94% of its memory limit"),
])
def test_maxmemory(seeing, observed, status, words):
    result = run("redis.maxmemory", seeing([observed]))
    assert result["status"] == status and words in result["message"], result


SQLITE_BLACKLIST = {**PRODUCTION, "ARAGORA_BLACKLIST_BACKEND": "sqlite"}


@pytest.mark.parametrize("policy, variables, status, words", [
    ("noeviction", PRODUCTION, "PASS", "holds the token blacklist"),
    ("allkeys-lru", PRODUCTION, "WARN", "but holds the token blacklist: eviction can drop"),
    ("volatile-ttl", PRODUCTION, "WARN", "a revocation (the token becomes valid again)"),
    ("allkeys-lfu", SQLITE_BLACKLIST, "PASS", "least useful keys"),
    ("volatile-lru", SQLITE_BLACKLIST, "PASS", "least useful keys"),
    ("noeviction", SQLITE_BLACKLIST, "WARN", "rate limiting then fails"),
    ("allkeys-random", SQLITE_BLACKLIST, "WARN", "random keys"),
    ("something-new", SQLITE_BLACKLIST, "WARN", "Unknown maxmemory-policy"),
])
def test_eviction_policy(seeing, policy, variables, status, words):
    result = run("redis.eviction_policy", seeing([node(maxmemory_policy=policy)], variables))
    assert result["status"] == status and words in result["message"], result


def test_eviction_policy_without_configuration_assumes_revoked_tokens_may_be_there(seeing):
    ctx = seeing([node(maxmemory_policy="volatile-lru")], None, options={"redis_url": "redis://127.0.0.1"})
    result = run("redis.eviction_policy", ctx)
    assert result["status"] == "WARN" and "the token blacklist, if it is in Redis" in result["message"]


STREAMS = ["aragora:cp:stream:high", "aragora:cp:stream:normal", "aragora:notifications:pending"]


@pytest.mark.parametrize("policy, streams, keyspace, status, words", [
    # The blacklist in memory/SQLite, but Redis holds Aragora's queues: never advise eviction.
    ("noeviction", STREAMS, {"db0": {"keys": 9, "expires": 3}}, "PASS",
     "holds queues (3 streams: aragora:cp:stream:high"),
    ("noeviction", [], {"db0": {"keys": 9, "expires": 3}}, "PASS", "6 keys without expiry"),
    ("noeviction", None, {}, "PASS", "nothing is dropped"),  # SCAN refused: contents unknown, no advice to evict
    ("allkeys-lru", STREAMS, {"db0": {"keys": 3, "expires": 0}}, "WARN", "can drop queued work"),
    ("allkeys-lfu", [], {"db0": {"keys": 5, "expires": 1}}, "WARN", "4 keys without expiry"),
    ("volatile-lru", STREAMS, {"db0": {"keys": 3, "expires": 0}}, "PASS", "are never evicted"),
    ("noeviction", [], {"db0": {"keys": 4, "expires": 4}}, "WARN", "rate limiting then fails"),
])
def test_eviction_policy_decided_by_what_redis_holds(seeing, policy, streams, keyspace, status, words):
    result = run("redis.eviction_policy", seeing([node(maxmemory_policy=policy, streams=streams, **keyspace)],
                                                 SQLITE_BLACKLIST))
    assert result["status"] == status and words in result["message"], result["message"]


def test_eviction_policy_skips_without_a_memory_limit(seeing):
    assert run("redis.eviction_policy", seeing([node(maxmemory=0)]))["status"] == "SKIP"


# --- redis.rate_limit_backend / redis.token_blacklist / redis.key_prefix --------------------------------------


SENTINEL_TOO = {**PRODUCTION, "ARAGORA_REDIS_MODE": "sentinel", "ARAGORA_REDIS_SENTINEL_HOSTS": "s1"}


@pytest.mark.parametrize("variables, status, words", [
    (PRODUCTION, "PASS", "Rate limiting uses Redis"),
    ({"ARAGORA_RATE_LIMIT_BACKEND": "redis"}, "FAIL", "does not use Redis (ARAGORA_REDIS_URL unset)"),
    ({"REDIS_URL": URL}, "FAIL", "only the legacy REDIS_URL is set"),
    ({**PRODUCTION, "ARAGORA_RATE_LIMIT_BACKEND": "memory"}, "WARN", "ARAGORA_RATE_LIMIT_BACKEND=memory"),
    # Read only by `aragora deploy validate`: the 2.11.1 limiter uses Redis all the same.
    ({**PRODUCTION, "ARAGORA_DISABLE_RATE_LIMIT": "true"}, "PASS", "Rate limiting uses Redis"),
    (SENTINEL_TOO, "WARN", "not through Sentinel"),
])
def test_rate_limit_backend(variables, status, words):
    result = run("redis.rate_limit_backend", make_ctx(variables))
    assert result["status"] == status and words in result["message"], result
    assert PASSWORD not in repr(result)


@pytest.mark.parametrize("variables, replicas, status, words", [
    (PRODUCTION, 1, "PASS", "keys aragora:blacklist:*"),
    ({"ARAGORA_BLACKLIST_BACKEND": "redis"}, 1, "FAIL", "tries redis://localhost:6379/0"),
    ({"ARAGORA_BLACKLIST_BACKEND": "redis", "REDIS_URL": URL}, 1, "FAIL", "legacy REDIS_URL is not read"),
    (SQLITE_BLACKLIST, 1, "SKIP", "uses sqlite, not Redis"),
    (SQLITE_BLACKLIST, 3, "WARN", "stays valid on the others"),
    ({**PRODUCTION, "ARAGORA_BLACKLIST_BACKEND": "postgres"}, 3, "SKIP", "uses postgres"),
    ({**SENTINEL_TOO}, 1, "WARN", "after a failover"),
])
def test_token_blacklist(variables, replicas, status, words):
    result = run("redis.token_blacklist", make_ctx(variables, options={"app_replicas": replicas}))
    assert result["status"] == status and words in result["message"], result


@pytest.mark.parametrize("variables, status, words", [
    (PRODUCTION, "PASS", "aragora:prod:"),
    ({"ARAGORA_ENV": "production", "ARAGORA_REDIS_URL": URL}, "WARN", "default aragora:ratelimit:"),
    ({"ARAGORA_ENV": "development", "ARAGORA_REDIS_URL": URL}, "SKIP", "Not production"),
    ({"ARAGORA_ENV": "production"}, "SKIP", "Redis is not configured"),
])
def test_key_prefix(variables, status, words):
    result = run("redis.key_prefix", make_ctx(variables))
    assert result["status"] == status and words in result["message"], result


# --- redis_client ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("error, words", [
    (redis.AuthenticationError("WRONGPASS invalid username-password pair"), "refused the credentials"),
    (redis.ResponseError("NOAUTH Authentication required."), "refused the credentials"),
    (redis.exceptions.NoPermissionError("NOPERM no permissions to run 'info'"), "grant it +ping and +info"),
    (redis.TimeoutError("Timeout reading from socket"), "did not answer within 2 s (timeout)"),
    (redis.ConnectionError("Error 111 connecting to h:1. Connection refused."), "connection refused by Redis"),
    (redis.ConnectionError("Error 1 connecting to h:1. [SSL: CERTIFICATE_VERIFY_FAILED]"), "TLS with Redis"),
    (redis.ConnectionError("Error -2 connecting to nohost:1. Name or service not known."), "cannot resolve"),
    (redis.ConnectionError("Connection closed by server."), "cannot connect to Redis"),
    (redis.ResponseError("ERR something odd"), "answered with an error"),
])
def test_describe_error(error, words):
    assert words in redis_client.describe_error(error, "h:1", 2.0)


def test_observe_masks_the_password_in_every_sentence(monkeypatch):
    def leaky(*_args, **_kwargs):
        raise redis.ConnectionError("bad things about redis://:%s@h:1" % PASSWORD)
    monkeypatch.setattr(redis.Redis, "from_url", leaky)
    with pytest.raises(RedisProbeError) as caught:
        redis_client.observe(RedisTarget("standalone", "ARAGORA_REDIS_URL", url=URL), ProbeOptions(1.0))
    assert PASSWORD not in str(caught.value) and "********" in str(caught.value)


def test_observe_without_redis_py_names_the_package(monkeypatch):
    monkeypatch.setattr(redis_client, "redis", None)
    with pytest.raises(RedisProbeError, match=r"pip install redis"):
        redis_client.observe(RedisTarget("standalone", "x", url=URL), ProbeOptions(1.0))


class FakePipeline:
    def __init__(self, answers: list) -> None:
        self.answers = answers

    def config_get(self, _name: str) -> None:
        pass

    def execute(self, raise_on_error: bool = True) -> list:
        assert raise_on_error is False
        return self.answers


@pytest.mark.parametrize("answers, config, words", [
    ([{"save": "60 1"}, {"appendonly": "no"}], {"save": "60 1", "appendonly": "no"}, None),
    ([redis.ResponseError("unknown command 'CONFIG'")] * 2, None, "disabled or renamed"),
    ([redis.exceptions.NoPermissionError("NOPERM config|get")] * 2, None, "not granted to this ACL user"),
])
def test_read_config(answers, config, words):
    client = type("Client", (), {"pipeline": lambda self, transaction: FakePipeline(answers)})()
    got, error = redis_client._read_config(client)  # pylint: disable=protected-access
    assert got == config
    assert (error is None) if words is None else (words in error)


def test_tls_arguments_only_for_tls_connections():
    plain = redis_client._client_kwargs(ProbeOptions(3.0, "/ca.pem"), tls=False)  # pylint: disable=protected-access
    assert not any(key.startswith("ssl") for key in plain)
    assert plain["socket_timeout"] == plain["socket_connect_timeout"] == 3.0
    assert plain["retry"].get_retries() == 0
    tls = redis_client._client_kwargs(ProbeOptions(3.0, "/ca.pem", False), tls=True)  # pylint: disable=protected-access
    assert (tls["ssl_ca_certs"], tls["ssl_cert_reqs"], tls["ssl_check_hostname"]) == ("/ca.pem", "none", False)


@pytest.mark.parametrize("value, expected", [
    ("h", ("h", 26379)), ("h:1", ("h", 1)), (" [::1]:7000 ", ("::1", 7000)),
])
def test_parse_host_port(value, expected):
    assert redis_client.parse_host_port(value, 26379) == expected


def test_target_description_masks_and_secrets_are_known():
    target = RedisTarget("standalone", "ARAGORA_REDIS_URL", url=URL)
    assert PASSWORD not in target.describe() and PASSWORD in target.secrets()
    sentinel = RedisTarget("sentinel", "x", nodes=(("s1", 26379),), sentinel_master="m", password="p1",
                           sentinel_password="p2")
    assert sentinel.describe() == "Sentinel master m via s1:26379" and sentinel.secrets() == {"p1", "p2"}
