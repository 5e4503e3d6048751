# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis probe (redis-py): connect to a standalone server, a Sentinel-managed master or a cluster's primaries, and
read once what the checks judge (PING round trips, INFO, the CONFIG parameters), with a timeout on every connect
and read and no retries, so that a dead or silent server costs one timeout.

Failures become RedisProbeError with one sentence that names what to fix; passwords never appear in it.
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
import typing as t
import urllib.parse

from ansible_collections.aragora.ops.plugins.module_utils._clients.masking import mask_url, password_spellings, scrub

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.cluster import ClusterNode, RedisCluster
    from redis.retry import Retry
    from redis.sentinel import MasterNotFoundError, Sentinel
except ImportError:  # reported as a probe error naming the package
    redis = None  # type: ignore[assignment]

STANDALONE = "standalone"
SENTINEL = "sentinel"
CLUSTER = "cluster"
MODES = (STANDALONE, SENTINEL, CLUSTER)

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379

PING_SAMPLES = 5  # the latency verdict is the median of these PINGs
# SCAN ... TYPE stream: at most SCAN_ROUNDS x SCAN_COUNT keys looked at (bounded on a big Redis); names kept.
SCAN_ROUNDS = 20
SCAN_COUNT = 1000
STREAMS_KEPT = 20
# Read with one pipelined round trip; managed Redis often disables CONFIG, hence the INFO fallback in the checks.
CONFIG_PARAMETERS = ("save", "appendonly", "maxmemory", "maxmemory-policy")


class RedisProbeError(Exception):
    """Redis could not be probed; the message says why and what to fix, without secrets."""


@dataclasses.dataclass(frozen=True)
class RedisTarget:
    """Where the Redis the application uses is, and how to log in to it."""

    mode: str
    source: str  # the setting it came from, for evidence: "ARAGORA_REDIS_URL", "redis_url option", ...
    url: str | None = None  # standalone
    nodes: tuple[tuple[str, int], ...] = ()  # the Sentinels, or the cluster's start-up nodes
    sentinel_master: str | None = None
    username: str | None = None  # ACL user; for standalone it comes from the URL
    password: str | None = None
    sentinel_password: str | None = None
    tls: bool = False  # sentinel/cluster data connections; standalone follows the URL's scheme

    def describe(self) -> str:
        """What is probed, secrets masked: 'redis://:********@cache:6379/0' or 'Sentinel master mymaster via ...'."""
        addresses = ", ".join("%s:%d" % node for node in self.nodes)
        if self.mode == SENTINEL:
            return "Sentinel master %s via %s" % (self.sentinel_master, addresses)
        if self.mode == CLUSTER:
            return "cluster via %s" % addresses
        return mask_url(self.url or "")

    def secrets(self) -> set[str]:
        found = {value for value in (self.password, self.sentinel_password) if value}
        if self.url:
            found |= password_spellings(urllib.parse.urlsplit(self.url).password)
        return found


@dataclasses.dataclass(frozen=True)
class ProbeOptions:
    timeout: float  # seconds, for every connect and every read
    ca_path: str | None = None  # CA bundle for TLS; the system's when None
    validate_certs: bool = True


@dataclasses.dataclass
class NodeObservation:
    """One Redis server as observed: round trips, INFO, and CONFIG (or why CONFIG could not be read)."""

    address: str
    connect_ms: float  # first PING: TCP (and TLS) connect, AUTH and the round trip
    ping_ms: float  # median of PING_SAMPLES PINGs on the open connection: the round trip alone
    info: dict[str, t.Any]
    info_error: str | None = None
    config: dict[str, str] | None = None
    config_error: str | None = None
    ping_samples_ms: list[float] = dataclasses.field(default_factory=list)
    # Stream keys (queues: Aragora's control-plane and notification streams) found by a bounded SCAN ... TYPE stream;
    # None with streams_error when SCAN is not allowed. streams_complete: the whole keyspace was scanned.
    streams: list[str] | None = None
    streams_error: str | None = None
    streams_complete: bool = True

    def persistent_keys(self) -> int | None:
        """Keys without a TTL, from INFO keyspace (keys - expires, all databases); None when INFO was refused."""
        if self.info_error or not self.info:
            return None
        return sum(int(db.get("keys", 0)) - int(db.get("expires", 0)) for name, db in self.info.items()
                   if name.startswith("db") and isinstance(db, dict))


@dataclasses.dataclass
class RedisObservation:
    target: RedisTarget
    nodes: list[NodeObservation]
    topology: dict[str, t.Any] = dataclasses.field(default_factory=dict)  # Sentinel's master, the cluster's state


def parse_host_port(value: str, default_port: int) -> tuple[str, int]:
    """'h:26379' -> ('h', 26379); 'h' -> ('h', default); '[::1]:7000' -> ('::1', 7000)."""
    parts = urllib.parse.urlsplit("//" + value.strip())
    try:
        port = parts.port
    except ValueError:
        raise RedisProbeError("%r is not host:port" % value) from None
    if not parts.hostname:
        raise RedisProbeError("%r is not host:port" % value)
    return parts.hostname, port or default_port


def observe(target: RedisTarget, options: ProbeOptions) -> RedisObservation:
    """Probe ``target``; RedisProbeError with a sentence naming what to fix when it cannot be reached or read."""
    if redis is None:
        raise RedisProbeError("the Python package redis (redis-py) is needed on the host the module runs on "
                              "(pip install redis)")
    secrets = target.secrets()
    try:
        if target.mode == SENTINEL:
            return _observe_sentinel(target, options)
        if target.mode == CLUSTER:
            return _observe_cluster(target, options)
        client = redis.Redis.from_url(target.url, **_client_kwargs(options, _url_uses_tls(target.url)))
        with _Deadline(client, options.timeout) as deadline:
            try:
                return RedisObservation(target, [_observe_node(client, _url_address(target.url), options)])
            except (redis.RedisError, OSError, ValueError):  # ValueError: a read on the socket the deadline closed
                if deadline.passed.is_set():
                    raise RedisProbeError("Redis at %s did not answer within %g s (timeout): no complete answer "
                                          "came (silent, trickling or endless); is it a Redis server?"
                                          % (target.describe(), options.timeout)) from None
                raise
    except RedisProbeError as exc:
        raise RedisProbeError(scrub(str(exc), secrets)) from None
    except (redis.RedisError, OSError, ValueError) as exc:
        raise RedisProbeError(scrub(describe_error(exc, target.describe(), options.timeout), secrets)) from None


class _Deadline:
    """Cuts the client's connections once ``seconds`` have passed: redis-py bounds each socket read, not a reply
    that trickles in a byte at a time or never ends."""

    def __init__(self, client: t.Any, seconds: float) -> None:
        self.client = client
        self.passed = threading.Event()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def _cut(self) -> None:
        self.passed.set()
        self.client.connection_pool.disconnect()

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self._timer.cancel()


def describe_error(exc: BaseException, where: str, timeout: float) -> str:
    """One sentence on why Redis at ``where`` could not be used, naming what to fix."""
    detail = str(exc).strip().rstrip(".") or type(exc).__name__
    text = detail.lower()
    if isinstance(exc, redis.AuthenticationError) or "wrongpass" in text or "noauth" in text:
        return ("Redis at %s refused the credentials (%s): check the password, and the ACL user, in the Redis URL"
                % (where, detail))
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return ("Redis at %s refused a command to this ACL user (%s): grant it +ping and +info (and +config|get)"
                % (where, detail))
    if isinstance(exc, redis.TimeoutError):
        return ("Redis at %s did not answer within %g s (timeout): check that the address is a Redis server and "
                "that nothing between here and it drops the traffic" % (where, timeout))
    if "ssl" in text or "certificate" in text or "tls" in text:
        return ("TLS with Redis at %s failed (%s): check the certificate against ca_path (or the system CAs) and "
                "that the URL's scheme matches the server (rediss:// for TLS)" % (where, detail))
    if "refused" in text:
        return "connection refused by Redis at %s (nothing listens there, or a firewall rejects it)" % where
    if "name or service not known" in text or "nodename nor servname" in text or "name resolution" in text:
        return "cannot resolve the host of Redis at %s: check the host name in the Redis URL" % where
    if isinstance(exc, (redis.ConnectionError, OSError)):
        return "cannot connect to Redis at %s: %s" % (where, detail)
    if isinstance(exc, ValueError):
        return "the Redis URL %s cannot be used: %s" % (where, detail)
    return "Redis at %s answered with an error: %s" % (where, detail)


def _url_uses_tls(url: str | None) -> bool:
    return (url or "").lower().startswith("rediss://")


def _url_address(url: str | None) -> str:
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme == "unix":
        return parts.path
    return "%s:%d" % (parts.hostname or "localhost", parts.port or DEFAULT_PORT)


def _client_kwargs(options: ProbeOptions, tls: bool) -> dict[str, t.Any]:
    """Timeouts on connect and read, no retries (redis-py 6+ retries three times by default), no CLIENT SETINFO."""
    kwargs: dict[str, t.Any] = {
        "socket_connect_timeout": options.timeout,
        "socket_timeout": options.timeout,
        "retry": Retry(NoBackoff(), 0),
        "retry_on_timeout": False,
        "lib_name": None,
        "lib_version": None,
    }
    if tls:  # only then: a plain connection refuses the ssl_* arguments
        kwargs.update(ssl_cert_reqs="required" if options.validate_certs else "none",
                      ssl_check_hostname=options.validate_certs)
        if options.ca_path:
            kwargs["ssl_ca_certs"] = options.ca_path
    return kwargs


def _observe_node(client: t.Any, address: str, options: ProbeOptions) -> NodeObservation:
    try:
        started = time.monotonic()
        client.ping()
        connect_ms = (time.monotonic() - started) * 1000
        samples = []
        for _sample in range(PING_SAMPLES):  # one PING is one scheduler hiccup away from a false WARN
            started = time.monotonic()
            client.ping()
            samples.append(round((time.monotonic() - started) * 1000, 1))
        info, info_error = _read_info(client, address, options)
        config, config_error = _read_config(client)
        streams, streams_error, complete = _scan_streams(client)
        return NodeObservation(address, round(connect_ms, 1), statistics.median(samples), info, info_error, config,
                               config_error, samples, streams, streams_error, complete)
    finally:
        client.close()


def _scan_streams(client: t.Any) -> tuple[list[str] | None, str | None, bool]:
    """(stream keys, None, whole keyspace scanned) from at most SCAN_ROUNDS rounds of SCAN ... TYPE stream."""
    found: list[str] = []
    cursor = 0
    try:
        for _round in range(SCAN_ROUNDS):
            cursor, keys = client.scan(cursor=cursor, count=SCAN_COUNT, _type="stream")
            found.extend(key.decode() if isinstance(key, bytes) else str(key) for key in keys)
            if int(cursor) == 0:
                return sorted(found)[:STREAMS_KEPT], None, True
    except redis.exceptions.ResponseError as exc:  # SCAN renamed or not granted (managed Redis, ACL)
        return None, "SCAN is not allowed here (%s)" % str(exc).strip(), False
    return sorted(found)[:STREAMS_KEPT], None, False


def _read_info(client: t.Any, address: str, options: ProbeOptions) -> tuple[dict[str, t.Any], str | None]:
    try:
        return client.info(), None
    except redis.exceptions.NoPermissionError as exc:  # an ACL user without +info: PING still proved the connection
        return {}, describe_error(exc, address, options.timeout)


def _read_config(client: t.Any) -> tuple[dict[str, str] | None, str | None]:
    """(parameters, None), or (None, why) when CONFIG is renamed away, disabled or not granted (managed Redis)."""
    pipeline = client.pipeline(transaction=False)
    for name in CONFIG_PARAMETERS:
        pipeline.config_get(name)
    config: dict[str, str] = {}
    for answer in pipeline.execute(raise_on_error=False):
        if isinstance(answer, redis.ResponseError):
            detail = str(answer).strip()
            if isinstance(answer, redis.exceptions.NoPermissionError):
                return None, "CONFIG GET is not granted to this ACL user (%s)" % detail
            return None, "CONFIG is disabled or renamed on this server, as managed Redis does (%s)" % detail
        config.update({str(key): str(value) for key, value in (answer or {}).items()})
    return config, None


def _observe_sentinel(target: RedisTarget, options: ProbeOptions) -> RedisObservation:
    """Ask the Sentinels for the master's address, then probe the master the way the application writes to it."""
    sentinel_kwargs = _client_kwargs(options, False)  # Aragora talks to its Sentinels without TLS too
    if target.sentinel_password:
        sentinel_kwargs["password"] = target.sentinel_password
    sentinel = Sentinel(list(target.nodes), sentinel_kwargs=sentinel_kwargs)
    try:
        host, port = sentinel.discover_master(target.sentinel_master)
    except MasterNotFoundError as exc:
        raise RedisProbeError(
            "no Sentinel of %s knows a reachable master named %r (%s): check ARAGORA_REDIS_SENTINEL_HOSTS and "
            "ARAGORA_REDIS_SENTINEL_MASTER" % (", ".join("%s:%d" % node for node in target.nodes),
                                               target.sentinel_master, str(exc).strip())) from None
    finally:
        for connection in sentinel.sentinels:
            connection.close()
    address = "%s:%d" % (host, port)
    client = redis.Redis(host=host, port=port, username=target.username, password=target.password,
                         **_client_kwargs(options, target.tls), **_ssl_flag(target.tls))
    try:
        node = _observe_node(client, address, options)
    except (redis.RedisError, OSError) as exc:
        raise RedisProbeError("the master %s that Sentinel names: %s" % (
            address, describe_error(exc, address, options.timeout))) from None
    return RedisObservation(target, [node], {"sentinel_master_address": address})


def _observe_cluster(target: RedisTarget, options: ProbeOptions) -> RedisObservation:
    """Every primary of the cluster is probed: each one holds part of the keys, so each must be sound."""
    cluster = RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
                           username=target.username, password=target.password,
                           **_client_kwargs(options, target.tls), **_ssl_flag(target.tls))
    try:
        state = cluster.cluster_info().get("cluster_state")
        nodes = [_observe_node(primary.redis_connection, primary.name, options) for primary in cluster.get_primaries()]
    finally:
        cluster.close()
    return RedisObservation(target, nodes, {"cluster_state": state, "primaries": len(nodes)})


def _ssl_flag(tls: bool) -> dict[str, bool]:
    return {"ssl": True} if tls else {}
