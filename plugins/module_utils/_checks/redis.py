# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 4, Redis Configuration.

What Aragora 2.11.1 really does with Redis (its source): the rate limiter and the token blacklist connect with
``ARAGORA_REDIS_URL`` alone (not the legacy ``REDIS_URL``, and never through Sentinel or a cluster client, whatever
``ARAGORA_REDIS_MODE`` says); the blacklist keeps each revoked token as a key with a TTL under the fixed prefix
``aragora:blacklist:``; ``ARAGORA_REDIS_KEY_PREFIX`` namespaces only the rate-limit registry's default limiter (the
per-endpoint limiter writes ``aragora:ratelimit:ep:*`` whatever it says); the control plane keeps streams without
expiry (``aragora:cp:stream:*``, ``aragora:notifications:pending``); ``ARAGORA_RATE_LIMIT_BACKEND`` and
``ARAGORA_DISABLE_RATE_LIMIT`` are read only by ``aragora deploy validate``. See docs/aragora-2.11.1.md.

The live checks share one observation of the server (one connection, six PINGs, one INFO, one pipelined CONFIG GET,
a bounded SCAN ... TYPE stream);
where CONFIG is disabled or renamed (managed Redis), they fall back to INFO and say so.
"""

from __future__ import annotations

import datetime
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._clients import redis_client
from ansible_collections.aragora.ops.plugins.module_utils._checks.common import is_local_host, split_list, url_parts
from ansible_collections.aragora.ops.plugins.module_utils._checks.security import effective_blacklist_backend
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import mask_url
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._clients.redis_client import (
    CLUSTER,
    DEFAULT_PORT,
    DEFAULT_SENTINEL_PORT,
    MODES,
    SENTINEL,
    STANDALONE,
    NodeObservation,
    ProbeOptions,
    RedisObservation,
    RedisProbeError,
    RedisTarget,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    Cause,
    CheckInputError,
    CheckSkipped,
    Outcome,
    failed,
    passed,
    skipped,
    warned,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "4"

URL_VARIABLE = "ARAGORA_REDIS_URL"  # the one the rate limiter, the token blacklist and the shared pool read
LEGACY_URL_VARIABLE = "REDIS_URL"  # read by the server's health check and its HA client only
NOT_CONFIGURED = "Redis not configured (rate limiting will use in-memory)"  # the checklist's words
URL_SCHEMES = ("redis", "rediss", "unix")
BLACKLIST_KEY_PREFIX = "aragora:blacklist:"  # fixed in Aragora 2.11.1; ARAGORA_REDIS_KEY_PREFIX does not change it
DEFAULT_RATE_LIMIT_KEY_PREFIX = "aragora:ratelimit:"
DEFAULT_SENTINEL_MASTER = "mymaster"
# Share of maxmemory in use above which the memory check warns; a candidate for target.DEFAULT_THRESHOLDS.
MEMORY_WARN_RATIO = 0.9
_TRUE = ("1", "true", "yes", "on")

# Policies that evict the least useful keys first: right for counters and caches.
CACHE_POLICIES = ("allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu", "volatile-ttl")
RANDOM_POLICIES = ("allkeys-random", "volatile-random")
NO_EVICTION = "noeviction"
_SEVERITY = {SKIP: 0, PASS: 1, WARN: 2, FAIL: 3}
REDIS_UNAVAILABLE = Cause("redis.connection", "Redis",
                          "Start Redis or fix the address, password and TLS settings in the Redis URL; then run the "
                          "checks again.")


# --- what the configuration says ----------------------------------------------------------------------------------

def _enabled(value: str | None) -> bool:
    return (value or "").lower() in _TRUE


def configured_mode(ctx: TargetContext) -> tuple[str, str | None]:
    """(mode, problem), as Aragora's HA client decides it: ARAGORA_REDIS_MODE, else Sentinel or cluster when their
    hosts are set, else standalone; an unknown mode falls back to standalone, as the server does."""
    raw = (ctx.config.get("ARAGORA_REDIS_MODE") or "").lower()
    problem = None
    if raw in (SENTINEL, CLUSTER):
        return raw, None
    if raw and raw not in MODES:
        problem = "ARAGORA_REDIS_MODE=%s is not one of %s: Aragora falls back to standalone" % (raw, ", ".join(MODES))
    if ctx.config.get("ARAGORA_REDIS_SENTINEL_HOSTS"):
        return SENTINEL, problem
    if ctx.config.get("ARAGORA_REDIS_CLUSTER_NODES"):
        return CLUSTER, problem
    return STANDALONE, problem


def _nodes(ctx: TargetContext, variable: str, mode: str, default_port: int) -> tuple[tuple[str, int], ...]:
    hosts = split_list(ctx.config.get(variable))
    if not hosts:
        raise CheckInputError("ARAGORA_REDIS_MODE=%s but %s is unset: list the %s as host:port" % (
            mode, variable, "Sentinels" if mode == SENTINEL else "cluster nodes"))
    try:
        return tuple(redis_client.parse_host_port(host, default_port) for host in hosts)
    except RedisProbeError as exc:
        raise CheckInputError("%s: %s" % (variable, exc)) from None


def configured_target(ctx: TargetContext) -> RedisTarget | None:
    """The Redis the configuration points Aragora at; None when it points at none."""
    mode, _problem = configured_mode(ctx)
    url_name, url = ctx.config.first(URL_VARIABLE, LEGACY_URL_VARIABLE)
    if mode == STANDALONE:
        return RedisTarget(STANDALONE, url_name, url=url) if url else None
    # Sentinel and cluster: Aragora's HA client takes the password from ARAGORA_REDIS_PASSWORD, else none.
    parts = url_parts(url) if url else None
    tls = _enabled(ctx.config.get("ARAGORA_REDIS_SSL")) or bool(parts and parts.scheme == "rediss")
    credentials = {"username": (parts.username if parts else None) or None,
                   "password": ctx.config.get("ARAGORA_REDIS_PASSWORD") or (parts.password if parts else None),
                   "tls": tls}
    if mode == SENTINEL:
        return RedisTarget(SENTINEL, "ARAGORA_REDIS_SENTINEL_HOSTS",
                           nodes=_nodes(ctx, "ARAGORA_REDIS_SENTINEL_HOSTS", mode, DEFAULT_SENTINEL_PORT),
                           sentinel_master=ctx.config.get("ARAGORA_REDIS_SENTINEL_MASTER") or DEFAULT_SENTINEL_MASTER,
                           sentinel_password=ctx.config.get("ARAGORA_REDIS_SENTINEL_PASSWORD"), **credentials)
    return RedisTarget(CLUSTER, "ARAGORA_REDIS_CLUSTER_NODES",
                       nodes=_nodes(ctx, "ARAGORA_REDIS_CLUSTER_NODES", mode, DEFAULT_PORT), **credentials)


def probe_target(ctx: TargetContext) -> RedisTarget:
    """The option redis_url when given, else what the configuration names; SKIP the live checks when neither does."""
    option = ctx.options.redis_url
    if option:
        return RedisTarget(STANDALONE, "redis_url option", url=option)
    target = configured_target(ctx) if ctx.config.given else None
    if target is None:
        raise CheckSkipped("no Redis to probe: set %s (or the Sentinel/cluster settings) in the configuration, or "
                           "give redis_url" % URL_VARIABLE)
    return target


def probe_options(ctx: TargetContext) -> ProbeOptions:
    """The target's timeout and TLS settings, the same as its API client's."""
    return ProbeOptions(ctx.timeout, ctx.options.ca_path, bool(ctx.options.validate_certs))


def observation(ctx: TargetContext) -> RedisObservation:
    """The one observation of the target's Redis that every live check reads."""
    def produce() -> RedisObservation:
        target = probe_target(ctx)
        if target.mode == STANDALONE:
            parts = url_parts(target.url or "")
            scheme = (target.url or "").split("://", 1)[0].lower()
            if scheme not in URL_SCHEMES or (scheme != "unix" and parts is None):
                raise CheckInputError("%s is not a Redis URL (%s): use redis://, rediss:// (TLS) or unix://" % (
                    target.source, mask_url(target.url or "")))
        try:
            return redis_client.observe(target, probe_options(ctx))
        except RedisProbeError as exc:
            raise CheckInputError(str(exc), REDIS_UNAVAILABLE) from None

    return ctx.fact("redis.observation", produce)


# --- judging every node the same way ------------------------------------------------------------------------------

def judge_nodes(seen: RedisObservation, judge: t.Callable[[NodeObservation], Outcome]) -> Outcome:
    """One node: its outcome. A cluster's primaries: the worst outcome, naming its primary, with every node's
    evidence."""
    outcomes = [(node, judge(node)) for node in seen.nodes]
    if len(outcomes) == 1:
        outcome = outcomes[0][1]
        outcome.evidence = {"redis": seen.target.describe(), **outcome.evidence}
        return outcome
    node, worst = max(outcomes, key=lambda pair: _SEVERITY[pair[1].status])
    evidence = {"redis": seen.target.describe(), "nodes": {n.address: o.evidence for n, o in outcomes}}
    if worst.status == PASS:
        return Outcome(PASS, "%s (all %d primaries)" % (worst.message, len(outcomes)), evidence)
    return Outcome(worst.status, "primary %s: %s" % (node.address, worst.message), evidence, worst.remediation)


def _info_of(node: NodeObservation) -> dict[str, t.Any]:
    if node.info_error:
        raise CheckInputError(node.info_error)
    return node.info


def _config_note(node: NodeObservation) -> dict[str, t.Any]:
    return {"read_from": "CONFIG GET"} if node.config is not None else {
        "read_from": "INFO (CONFIG unavailable)", "config_unavailable": node.config_error}


def _epoch(value: t.Any) -> str | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat()


# --- the checks ---------------------------------------------------------------------------------------------------

@check("redis.url_configured", SECTION, "Redis URL configured",
       "Set ARAGORA_REDIS_URL=redis://:PASSWORD@HOST:6379/0 (rediss:// for TLS; redis://USER:PASSWORD@... for an "
       "ACL user), or ARAGORA_REDIS_MODE=sentinel with ARAGORA_REDIS_SENTINEL_HOSTS.",
       proves="`ARAGORA_REDIS_URL` (legacy `REDIS_URL` WARNs), its scheme, password and mode.")
def url_configured(ctx: TargetContext):
    mode, mode_problem = configured_mode(ctx)
    if mode != STANDALONE:
        target = configured_target(ctx)
        evidence = {"mode": mode, "redis": target.describe(), "tls": target.tls,
                    "password_set": bool(target.password), "acl_user": target.username}
        return passed("Redis configured: %s" % target.describe(), **evidence)
    name, url = ctx.config.first(URL_VARIABLE, LEGACY_URL_VARIABLE)
    if not url:
        evidence = {"mode": mode, "ARAGORA_SINGLE_INSTANCE": ctx.config.get("ARAGORA_SINGLE_INSTANCE")}
        if _enabled(ctx.config.get("ARAGORA_SINGLE_INSTANCE")):
            return warned(NOT_CONFIGURED + "; accepted because ARAGORA_SINGLE_INSTANCE=true", **evidence)
        return failed(NOT_CONFIGURED, **evidence)
    parts = url_parts(url)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    evidence = {"variable": name, "mode": mode, "url": mask_url(url), "tls": scheme == "rediss"}
    if scheme not in URL_SCHEMES or (scheme != "unix" and parts is None):
        return failed("%s is not a Redis URL: use redis://, rediss:// (TLS) or unix://" % name, **evidence)
    evidence.update(password_set=bool(parts and parts.password), acl_user=(parts.username if parts else None) or None)
    if name == LEGACY_URL_VARIABLE:
        return warned("Redis URL is set only in the legacy REDIS_URL, which Aragora 2.11's rate limiter and token "
                      "blacklist do not read", "Rename REDIS_URL to ARAGORA_REDIS_URL.", **evidence)
    if mode_problem:
        return warned(mode_problem, "Set ARAGORA_REDIS_MODE to standalone, sentinel or cluster.", **evidence)
    remote = parts is not None and not is_local_host(parts.hostname)
    if remote and not evidence["password_set"]:
        return warned("Redis URL has no password for the remote host %s" % parts.hostname,
                      "Require a password on the Redis server (requirepass or an ACL user) and put it in the URL.",
                      **evidence)
    return passed("Redis URL configured (%s%s)" % (name, ", TLS" if evidence["tls"] else ""), **evidence)


@check("redis.connection", SECTION, "Redis connection works",
       "Start Redis or fix the address, password and TLS settings in the Redis URL, and make sure the hosts that run "
       "Aragora can reach it.",
       proves="A redis-py PING with the application's URL, and its latency; the Sentinel master, or every "
              "cluster primary.")
def connection(ctx: TargetContext):
    seen = observation(ctx)
    warn_ms = ctx.threshold("redis_latency_warn_ms")
    topology = dict(seen.topology)

    def judge(node: NodeObservation) -> Outcome:
        evidence = {"address": node.address, "ping_ms": node.ping_ms, "connect_ms": node.connect_ms,
                    "redis_version": node.info.get("redis_version"), "role": node.info.get("role"),
                    "latency_warn_ms": warn_ms}
        if node.info_error:
            evidence["info_refused"] = node.info_error
        role = node.info.get("role")
        if seen.target.mode != STANDALONE and role not in (None, "master"):
            return failed("%s is a %s, not a master: Aragora's writes would fail" % (node.address, role), **evidence)
        if node.ping_ms > warn_ms:
            return warned("Redis answers slowly (PING %.1f ms, over %g ms)" % (node.ping_ms, warn_ms),
                          "Put Redis close to the Aragora hosts (same zone), and look for a saturated Redis "
                          "(INFO stats, SLOWLOG).", **evidence)
        return passed("Redis connection works (PING %.1f ms%s)" % (
            node.ping_ms, ", Redis " + node.info["redis_version"] if node.info.get("redis_version") else ""),
            **evidence)

    outcome = judge_nodes(seen, judge)
    outcome.evidence.update(mode=seen.target.mode, source=seen.target.source, **topology)
    if seen.target.mode == CLUSTER and topology.get("cluster_state") != "ok":
        return failed("Redis cluster state is %s, not ok: some hash slots are not served" %
                      topology.get("cluster_state"), **outcome.evidence)
    return outcome


def _bypasses_high_availability(ctx: TargetContext, what: str, evidence: dict) -> Outcome | None:
    mode, _problem = configured_mode(ctx)
    if mode == STANDALONE:
        return None
    return warned("%s connects to %s directly, not through %s (ARAGORA_REDIS_MODE=%s is ignored by it): after a "
                  "failover it keeps using the old address" % (what, URL_VARIABLE, mode.capitalize(), mode),
                  "Point %s at an address that follows the master (a Sentinel-aware proxy or the provider's "
                  "primary endpoint)." % URL_VARIABLE, **evidence)


@check("redis.rate_limit_backend", SECTION, "Rate limit uses Redis",
       "Set ARAGORA_REDIS_URL (the variable Aragora 2.11's rate limiter reads) so that all instances share their "
       "limits, and ARAGORA_RATE_LIMIT_BACKEND=redis so that `aragora deploy validate` agrees.",
       proves="The 2.11 limiter reads `ARAGORA_REDIS_URL` only.",
       cannot_see="`ARAGORA_RATE_LIMIT_BACKEND`: read only by `aragora deploy validate`.")
def rate_limit_backend(ctx: TargetContext):
    """Aragora 2.11 has no /api/rate-limits/config: judged on what its limiter reads (security.rate_limiting judges
    whether limiting is on at all)."""
    disabled = ctx.config.get("ARAGORA_DISABLE_RATE_LIMIT")
    url = ctx.config.get(URL_VARIABLE)
    declared = ctx.config.get("ARAGORA_RATE_LIMIT_BACKEND")
    evidence = {URL_VARIABLE: mask_url(url) if url else None, "ARAGORA_RATE_LIMIT_BACKEND": declared,
                "ARAGORA_RATE_LIMIT_STRICT": ctx.config.get("ARAGORA_RATE_LIMIT_STRICT"),
                "ARAGORA_RATE_LIMIT_FAIL_OPEN": ctx.config.get("ARAGORA_RATE_LIMIT_FAIL_OPEN")}
    if disabled:  # read only by `aragora deploy validate`: the 2.11.1 server limits all the same
        evidence["ARAGORA_DISABLE_RATE_LIMIT"] = "%s (not read by the server)" % disabled
    if not url:
        if ctx.config.get(LEGACY_URL_VARIABLE):
            return failed("Rate limiting does not use Redis: only the legacy REDIS_URL is set, and Aragora 2.11's "
                          "limiter reads %s alone, so each instance counts in memory" % URL_VARIABLE, **evidence)
        return failed("Rate limiting does not use Redis (%s unset): each instance counts in memory" % URL_VARIABLE,
                      **evidence)
    bypass = _bypasses_high_availability(ctx, "The rate limiter", evidence)
    if bypass:
        return bypass
    if declared and declared.lower() != "redis":
        return warned("Rate limiting uses Redis, but ARAGORA_RATE_LIMIT_BACKEND=%s says otherwise (only "
                      "`aragora deploy validate` reads it, and reports it)" % declared,
                      "Set ARAGORA_RATE_LIMIT_BACKEND=redis.", **evidence)
    return passed("Rate limiting uses Redis (%s)" % URL_VARIABLE, **evidence)


@check("redis.token_blacklist", SECTION, "Token blacklist uses Redis",
       "Set ARAGORA_BLACKLIST_BACKEND=redis together with ARAGORA_REDIS_URL, so that a revoked token is refused by "
       "every instance.",
       proves="`ARAGORA_BLACKLIST_BACKEND=redis` really reaches Redis.")
def token_blacklist(ctx: TargetContext):
    """What is Redis-specific about the blacklist; whether its backend is sound at all is security.token_blacklist."""
    backend, why = effective_blacklist_backend(ctx)
    url = ctx.config.get(URL_VARIABLE)
    replicas = int(ctx.options.app_replicas or 1)
    evidence = {"backend": backend, "decided_by": why, URL_VARIABLE: mask_url(url) if url else None,
                "key_prefix": BLACKLIST_KEY_PREFIX, "app_replicas": replicas}
    if backend != "redis":
        if backend in ("memory", "sqlite") and replicas > 1:
            return warned("Token blacklist uses %s, not Redis: a token revoked on one of the %d instances stays "
                          "valid on the others" % (backend, replicas), **evidence)
        return skipped("Token blacklist uses %s, not Redis (see security.token_blacklist)" % backend, **evidence)
    if not url:
        legacy = " (the legacy REDIS_URL is not read by it)" if ctx.config.get(LEGACY_URL_VARIABLE) else ""
        return failed("ARAGORA_BLACKLIST_BACKEND=redis but %s is unset%s: the blacklist tries redis://localhost:6379/0 "
                      "and falls back to a local SQLite file" % (URL_VARIABLE, legacy), **evidence)
    bypass = _bypasses_high_availability(ctx, "The token blacklist", evidence)
    if bypass:
        return bypass
    return passed("Token blacklist uses Redis (%s, keys %s*)" % (URL_VARIABLE, BLACKLIST_KEY_PREFIX), **evidence)


def persistence_settings(node: NodeObservation) -> tuple[bool | None, bool, str | None]:
    """(RDB snapshots on, or None when unknown; AOF on; the save schedule) from CONFIG, else from INFO."""
    if node.config is not None:
        save = node.config.get("save", "").strip()
        return bool(save), node.config.get("appendonly", "no").lower() == "yes", save or None
    return None, str(_info_of(node).get("aof_enabled", "0")) == "1", None


@check("redis.persistence", SECTION, "Redis persistence enabled",
       "Turn on AOF (appendonly yes, appendfsync everysec) and/or RDB snapshots (save 3600 1 300 100 60 10000), "
       "so that revoked tokens and rate-limit state survive a restart; on managed Redis, enable its persistence.",
       proves="`save` or `appendonly yes` (from `INFO` when `CONFIG` is disabled).")
def persistence(ctx: TargetContext):
    def judge(node: NodeObservation) -> Outcome:
        rdb, aof, schedule = persistence_settings(node)
        evidence = {"appendonly": aof, "save": schedule, **_config_note(node)}
        kinds = [name for name, on in (("AOF", aof), ("RDB snapshots (save %s)" % schedule, rdb)) if on]
        if kinds:
            return passed("Redis persistence enabled: %s" % ", ".join(kinds), **evidence)
        if rdb is None:
            return warned("Redis AOF is off and the RDB snapshot schedule cannot be read (%s)" % node.config_error,
                          "Check that the provider snapshots this Redis (or turn on AOF), and note it here.",
                          rdb_last_save_time=_epoch(node.info.get("rdb_last_save_time")), **evidence)
        return failed("Redis persistence is off (save \"\" and appendonly no): a restart loses every key", **evidence)

    return judge_nodes(observation(ctx), judge)


@check("redis.persistence_status", SECTION, "Redis last save and AOF rewrite succeeded",
       "Read the Redis log for the failed save or rewrite; usually the disk of its dir is full or not writable. "
       "Fix it, then run BGSAVE (or BGREWRITEAOF) and check that INFO persistence reports ok.",
       proves="The last save and AOF rewrite succeeded.")
def persistence_status(ctx: TargetContext):
    def judge(node: NodeObservation) -> Outcome:
        info = _info_of(node)
        rdb, aof, _schedule = persistence_settings(node)
        statuses = {"rdb_last_bgsave_status": info.get("rdb_last_bgsave_status")}
        if aof:
            statuses.update(aof_last_bgrewrite_status=info.get("aof_last_bgrewrite_status"),
                            aof_last_write_status=info.get("aof_last_write_status"))
        evidence = {**statuses, "rdb_last_save_time": _epoch(info.get("rdb_last_save_time")),
                    "rdb_changes_since_last_save": info.get("rdb_changes_since_last_save")}
        if rdb is False and not aof:
            return skipped("Redis persistence is off: nothing is saved (see redis.persistence)", **evidence)
        errors = ["%s=%s" % (name, value) for name, value in statuses.items() if value not in (None, "ok")]
        if errors:
            return failed("Redis could not save its data: %s" % ", ".join(errors), **evidence)
        return passed("Redis last save%s succeeded" % (" and AOF rewrite/write" if aof else ""), **evidence)

    return judge_nodes(observation(ctx), judge)


def _memory(node: NodeObservation) -> tuple[int, int, dict[str, t.Any]]:
    """(maxmemory, used_memory, evidence) from INFO memory, which managed Redis always serves."""
    info = _info_of(node)
    maxmemory, used = int(info.get("maxmemory") or 0), int(info.get("used_memory") or 0)
    evidence = {"maxmemory": info.get("maxmemory_human", maxmemory), "used_memory": info.get("used_memory_human", used),
                "maxmemory_policy": info.get("maxmemory_policy")}
    if maxmemory:
        evidence["used_ratio"] = round(used / maxmemory, 3)
    return maxmemory, used, evidence


@check("redis.maxmemory", SECTION, "Redis memory limit set",
       "Set maxmemory to about three quarters of the memory Redis may use (for example maxmemory 256mb), so that "
       "Redis, not the kernel's OOM killer, decides what happens when it is full.",
       proves="`maxmemory` is set.")
def maxmemory(ctx: TargetContext):
    def judge(node: NodeObservation) -> Outcome:
        limit, used, evidence = _memory(node)
        if not limit:
            return failed("Redis has no memory limit (maxmemory 0): it grows until the host runs out of memory",
                          **evidence)
        if used / limit >= MEMORY_WARN_RATIO:
            return warned("Redis uses %d%% of its memory limit (%s of %s)" % (
                round(100 * used / limit), evidence["used_memory"], evidence["maxmemory"]),
                "Raise maxmemory (and the memory behind it), or find what fills Redis (redis-cli --bigkeys).",
                **evidence)
        return passed("Redis memory limit set (maxmemory %s)" % evidence["maxmemory"], **evidence)

    return judge_nodes(observation(ctx), judge)


def blacklist_in_redis(ctx: TargetContext) -> bool | None:
    """Whether revoked tokens live in this Redis; None when no configuration says."""
    if not ctx.config.given:
        return None
    return effective_blacklist_backend(ctx)[0] == "redis"


def _contents(node: NodeObservation) -> tuple[list[str], int | None, dict[str, t.Any]]:
    """(stream keys, keys without expiry, evidence): what this Redis holds that eviction must not drop."""
    streams = node.streams or []
    persistent = node.persistent_keys()
    evidence: dict[str, t.Any] = {"streams": streams if node.streams is not None else None,
                                  "keys_without_expiry": persistent}
    if node.streams_error:
        evidence["streams_unknown"] = node.streams_error
    elif not node.streams_complete:
        evidence["streams_scan"] = "bounded: part of the keyspace scanned"
    return streams, persistent, evidence


def _holdings(streams: list[str], persistent: int | None, revocations: bool | None) -> list[str]:
    held = []
    if streams:
        held.append("queues (%d stream%s: %s)" % (
            len(streams), "" if len(streams) == 1 else "s", ", ".join(streams[:5])))
    if persistent:
        held.append("%d key%s without expiry" % (persistent, "" if persistent == 1 else "s"))
    if revocations:
        held.append("the token blacklist")
    return held


@check("redis.eviction_policy", SECTION, "Redis eviction policy suits what Redis holds",
       "Use maxmemory-policy noeviction where Redis holds queues (Aragora's control-plane and notification streams), "
       "keys without expiry or the token blacklist, and alert before it is full; an evicting policy only for a "
       "Redis that holds nothing but rate limits and caches.",
       proves="A policy that suits what Redis holds (a bounded `SCAN ... TYPE stream`, keys without expiry, the "
              "blacklist): never eviction where queues live.")
def eviction_policy(ctx: TargetContext):
    """Decided from what Redis holds (a bounded SCAN ... TYPE stream and INFO keyspace) and the configuration:
    Aragora 2.11.1 keeps control-plane streams (aragora:cp:stream:*) and aragora:notifications:pending without
    expiry, and revoked tokens as keys with a TTL (docs/aragora-2.11.1.md, "Redis"). Any evicting policy may drop
    a revocation (the token becomes valid again); allkeys-* may drop queued work. Refused writes are loud, lost
    work and forgotten revocations are silent: eviction is advised only where none of these live."""
    holds_revocations = blacklist_in_redis(ctx)

    def judge(node: NodeObservation) -> Outcome:
        limit, _used, evidence = _memory(node)
        policy = str(evidence["maxmemory_policy"] or "")
        streams, persistent, held_evidence = _contents(node)
        evidence.update(token_blacklist_in_redis=holds_revocations, **held_evidence, **_config_note(node))
        held = _holdings(streams, persistent, holds_revocations)
        if not limit:
            return skipped("No memory limit, so the eviction policy never applies (see redis.maxmemory)", **evidence)
        if policy == NO_EVICTION:
            if held:
                return passed("Redis never evicts (noeviction), and it holds %s" % "; ".join(held), **evidence)
            if holds_revocations is False and node.streams is not None and persistent == 0:
                return warned("Redis refuses writes when full (noeviction), though it holds only keys that expire "
                              "(rate limits, caches): rate limiting then fails instead of forgetting old counters",
                              "Set maxmemory-policy allkeys-lru (or allkeys-lfu).", **evidence)
            return passed("Redis never evicts (noeviction): nothing is dropped when it is full", **evidence)
        evicts_everything = policy.startswith("allkeys-")
        at_risk = [item for item in held if evicts_everything or item == "the token blacklist"]
        if holds_revocations is None and not evicts_everything:
            at_risk.append("the token blacklist, if it is in Redis")
        if at_risk:
            return warned("Redis evicts keys when full (%s) but holds %s: eviction can drop queued work or a "
                          "revocation (the token becomes valid again)" % (policy, "; ".join(at_risk)),
                          "Set maxmemory-policy noeviction and alert before Redis is full.", **evidence)
        if policy in RANDOM_POLICIES:
            return warned("Redis evicts random keys when full (%s), busy rate-limit counters included" % policy,
                          "Set maxmemory-policy allkeys-lru (or allkeys-lfu).", **evidence)
        if policy in CACHE_POLICIES:
            kept = "; its %s are never evicted" % "; ".join(held) if held else ", and holds only keys that expire"
            return passed("Redis evicts the least useful keys when full (%s)%s" % (policy, kept), **evidence)
        return warned("Unknown maxmemory-policy %r" % policy, **evidence)

    return judge_nodes(observation(ctx), judge)


# Key families Aragora 2.11.1 writes under fixed prefixes, whatever ARAGORA_REDIS_KEY_PREFIX says (observed on a
# live server with the prefix set, and in its source: docs/aragora-2.11.1.md, "Redis"). Only the rate-limit
# registry's default limiter takes the prefix.
FIXED_KEY_FAMILIES = ("aragora:ratelimit:ep:* (per-endpoint limits)", "aragora:ratelimit:metrics:*",
                      BLACKLIST_KEY_PREFIX + "* (revoked tokens)", "aragora:cp:stream:* (control-plane queues)",
                      "aragora:notifications:pending")


@check("redis.key_prefix", SECTION, "Redis key prefix set for production",
       "Set ARAGORA_REDIS_KEY_PREFIX per environment (for example aragora:prod:), and give each environment its own "
       "Redis database number (or Redis) too: these key families do not take the prefix: %s." % ", ".join(
           FIXED_KEY_FAMILIES),
       proves="`ARAGORA_REDIS_KEY_PREFIX` is set.")
def key_prefix(ctx: TargetContext):
    prefix = ctx.config.get("ARAGORA_REDIS_KEY_PREFIX")
    environment = ctx.config.get("ARAGORA_ENV")
    mode, _problem = configured_mode(ctx)
    configured = mode != STANDALONE or ctx.config.first(URL_VARIABLE, LEGACY_URL_VARIABLE)[1] is not None
    evidence = {"ARAGORA_REDIS_KEY_PREFIX": prefix, "ARAGORA_ENV": environment,
                "families_ignoring_the_prefix": list(FIXED_KEY_FAMILIES)}
    if not configured:
        return skipped("Redis is not configured (see redis.url_configured)", **evidence)
    if prefix:
        return passed("Redis key prefix set (%s); %d key families ignore it (see evidence): a separate Redis "
                      "database per environment keeps them apart" % (prefix, len(FIXED_KEY_FAMILIES)), **evidence)
    if environment != "production":
        return skipped("Not production (ARAGORA_ENV=%s): a key prefix is required for production only" % environment,
                       **evidence)
    return warned("Redis key prefix not set (ARAGORA_REDIS_KEY_PREFIX unset): rate-limit keys use the default %s, "
                  "shared with any other environment on the same Redis database" % DEFAULT_RATE_LIMIT_KEY_PREFIX,
                  **evidence)
