# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guarded watch window after go-live: sample the error rate, latency and circuit breakers until a threshold is
crossed (return at once, with the evidence) or the window ends.

Two sources:
- the server's own /metrics, as deltas between two scrapes: the 5xx share of ``aragora_http_requests_total`` and the
  latency of ``aragora_http_request_duration_seconds`` (p95 from histogram buckets when the server exposes them;
  Aragora 2.11.1 exposes only _sum and _count, so the interval's mean, which is below the p95: a mean over the p95
  threshold is a breach for certain, a p95 breach under a low mean goes unseen), and the agents' breaker gauges;
- a Prometheus server, when its URL is given: one instant query per measure, each over the whole fleet.

The loop lives in one module call so that a breach is acted on within one sampling interval, not one task's
overhead plus a poll.
"""

from __future__ import annotations

import dataclasses
import math
import time
import typing as t
import urllib.parse

from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import HttpClient
from ansible_collections.aragora.ops.plugins.module_utils._clients.metrics import Sample, parse_samples_lenient

DEFAULT_THRESHOLDS: dict[str, float] = {
    "error_rate_percent": 5.0,  # the checklist's HighErrorRate: > 5 % errors
    "latency_p95_ms": 500.0,  # HighLatency: p95 > 500 ms
    "open_breakers": 0.0,  # CircuitBreakerOpen: any agent circuit open (more than this many)
    "min_requests": 20.0,  # requests an interval must carry before its error share is judged
}
DEFAULT_METRICS: dict[str, str] = {
    "requests": "aragora_http_requests_total",
    "duration": "aragora_http_request_duration_seconds",
    "breaker": "aragora_agent_circuit_breaker_state",
}
DEFAULT_PROMETHEUS_QUERIES: dict[str, str] = {
    "error_rate": 'sum(rate(aragora_http_requests_total{status=~"5.."}[1m])) '
                  '/ sum(rate(aragora_http_requests_total[1m]))',
    "latency_p95_seconds": "histogram_quantile(0.95, sum by (le) "
                           "(rate(aragora_http_request_duration_seconds_bucket[1m])))",
    "open_breakers": "count(aragora_agent_circuit_breaker_state == 1) or vector(0)",
}
BREAKER_OPEN = 1.0  # the gauge's scale: 0 closed, 1 open, 2 half-open
MAX_KEPT_SAMPLES = 60


@dataclasses.dataclass
class Scrape:
    """The cumulative counters of one /metrics scrape."""

    at: float
    requests: float = 0.0
    errors: float = 0.0
    duration_sum: float = 0.0
    duration_count: float = 0.0
    buckets: dict[float, float] = dataclasses.field(default_factory=dict)
    p95_quantile_s: float | None = None  # a summary's own 0.95 quantile, when the server exposes one
    breakers: dict[str, float] = dataclasses.field(default_factory=dict)
    unreadable_lines: int = 0


def read_scrape(samples: t.Iterable[Sample], at: float, metrics: t.Mapping[str, str],
                exclude_endpoints: t.Collection[str] = ()) -> Scrape:
    scrape = Scrape(at)
    requests, duration, breaker = metrics["requests"], metrics["duration"], metrics["breaker"]
    for sample in samples:
        if sample.labels.get("endpoint") in exclude_endpoints:
            continue
        if sample.name == requests:
            scrape.requests += sample.value
            if str(sample.labels.get("status", "")).startswith("5"):
                scrape.errors += sample.value
        elif sample.name == duration + "_sum":
            scrape.duration_sum += sample.value
        elif sample.name == duration + "_count":
            scrape.duration_count += sample.value
        elif sample.name == duration + "_bucket" and "le" in sample.labels:
            bound = float(sample.labels["le"])
            scrape.buckets[bound] = scrape.buckets.get(bound, 0.0) + sample.value
        elif sample.name == duration and sample.labels.get("quantile") == "0.95" and not math.isnan(sample.value):
            scrape.p95_quantile_s = max(scrape.p95_quantile_s or 0.0, sample.value)
        elif sample.name == breaker:
            scrape.breakers[sample.labels.get("agent_type") or sample.labels.get("name") or "?"] = sample.value
    return scrape


def _delta(now: float, before: float) -> float:
    """A counter's increase; a counter that went down was reset (the server restarted): count from zero."""
    return now - before if now >= before else now


def quantile_from_buckets(buckets: t.Mapping[float, float], quantile: float) -> float | None:
    """Prometheus' histogram_quantile over cumulative bucket counts (linear within the bucket)."""
    bounds = sorted(buckets)
    if not bounds or bounds[-1] != math.inf or buckets[math.inf] <= 0:
        return None
    rank = quantile * buckets[math.inf]
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == math.inf:
                return lower_bound  # beyond the last finite bucket: its bound is all that is known
            width = count - lower_count
            return lower_bound + (bound - lower_bound) * ((rank - lower_count) / width if width else 1.0)
        lower_bound, lower_count = bound, count
    return None


def assess(before: Scrape, now: Scrape) -> dict[str, t.Any]:
    """One interval's measures."""
    requests = _delta(now.requests, before.requests)
    errors = min(_delta(now.errors, before.errors), requests)
    measures: dict[str, t.Any] = {"at": now.at, "interval_s": round(now.at - before.at, 2),
                                  "requests": requests, "errors_5xx": errors}
    measures["error_rate_percent"] = round(100.0 * errors / requests, 2) if requests else None
    latency_ms, kind = None, None
    if now.buckets:
        delta = {bound: _delta(count, before.buckets.get(bound, 0.0)) for bound, count in now.buckets.items()}
        p95 = quantile_from_buckets(delta, 0.95)
        latency_ms, kind = (None if p95 is None else round(p95 * 1000, 1)), "p95 (histogram buckets)"
    elif now.p95_quantile_s is not None:
        latency_ms, kind = round(now.p95_quantile_s * 1000, 1), "p95 (summary quantile)"
    else:
        count = _delta(now.duration_count, before.duration_count)
        if count:
            latency_ms = round(1000 * _delta(now.duration_sum, before.duration_sum) / count, 1)
        kind = "mean (no buckets exposed; mean <= p95)"
    measures.update(latency_ms=latency_ms, latency_kind=kind)
    open_breakers = sorted(name for name, value in now.breakers.items() if value == BREAKER_OPEN)
    measures["open_breakers"] = open_breakers
    return measures


def breaches(measures: t.Mapping[str, t.Any], thresholds: t.Mapping[str, float]) -> list[str]:
    found = []
    rate, requests = measures.get("error_rate_percent"), measures.get("requests")
    if rate is not None and (requests is None or requests >= thresholds["min_requests"]) \
            and rate > thresholds["error_rate_percent"]:
        counted = "" if requests is None else " (%s of %s requests were 5xx)" % (
            _num(measures.get("errors_5xx")), _num(requests))
        found.append("error rate %.1f %% > %g %%%s" % (rate, thresholds["error_rate_percent"], counted))
    latency = measures.get("latency_ms")
    if latency is not None and latency > thresholds["latency_p95_ms"]:
        found.append("latency %s %g ms > %g ms" % (measures.get("latency_kind", "p95"), latency,
                                                   thresholds["latency_p95_ms"]))
    open_breakers = measures.get("open_breakers") or []
    count = open_breakers if isinstance(open_breakers, (int, float)) else len(open_breakers)
    if count > thresholds["open_breakers"]:
        names = ", ".join(open_breakers) if isinstance(open_breakers, list) else _num(count)
        found.append("circuit breakers open: %s" % names)
    return found


def _num(value: t.Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class MetricsSource:
    """The server's /metrics, one scrape per sample."""

    def __init__(self, client: HttpClient, path: str, token: str | None, metrics: t.Mapping[str, str],
                 exclude_endpoints: t.Collection[str]) -> None:
        self.client, self.path, self.token = client, path, token
        self.metrics, self.exclude = {**DEFAULT_METRICS, **metrics}, exclude_endpoints
        self.previous: Scrape | None = None
        self.describe = "%s (deltas between scrapes)" % client.url(path)

    def sample(self) -> dict[str, t.Any] | None:
        """The measures since the previous scrape (None for the first); raises OSError when the scrape fails."""
        headers = {"Authorization": "Bearer " + self.token} if self.token else {}
        observation = self.client.get(self.path, headers=headers)
        if observation.error or observation.status != 200:
            raise OSError(observation.describe())
        samples, rejected = parse_samples_lenient(observation.text)
        scrape = read_scrape(samples, time.time(), self.metrics, self.exclude)
        scrape.unreadable_lines = len(rejected)
        previous, self.previous = self.previous, scrape
        if previous is None:
            return None
        measures = assess(previous, scrape)
        measures["unreadable_lines"] = scrape.unreadable_lines
        return measures


class PrometheusSource:
    """A Prometheus server's instant queries, one round per sample."""

    def __init__(self, client: HttpClient, queries: t.Mapping[str, str], token: str | None = None) -> None:
        self.client, self.queries, self.token = client, {**DEFAULT_PROMETHEUS_QUERIES, **queries}, token
        self.describe = "%s (PromQL)" % client.base_url

    def _query(self, expression: str) -> float | None:
        headers = {"Authorization": "Bearer " + self.token} if self.token else {}
        observation = self.client.get("/api/v1/query?query=%s" % urllib.parse.quote(expression, safe=""),
                                      headers=headers)
        if observation.error or observation.status != 200:
            raise OSError(observation.describe())
        try:
            body = observation.json()
        except ValueError as exc:
            raise OSError(str(exc)) from None
        if body.get("status") != "success":
            raise OSError("Prometheus refused %r: %s" % (expression, body.get("error")))
        result = (body.get("data") or {}).get("result") or []
        values = [float(item["value"][1]) for item in result if isinstance(item, dict) and item.get("value")]
        values = [value for value in values if not math.isnan(value)]
        return max(values) if values else None  # no series: nothing to judge, not zero

    def sample(self) -> dict[str, t.Any]:
        error_rate = self._query(self.queries["error_rate"])
        latency = self._query(self.queries["latency_p95_seconds"])
        open_breakers = self._query(self.queries["open_breakers"])
        return {"at": time.time(), "requests": None,
                "error_rate_percent": None if error_rate is None else round(100 * error_rate, 2),
                "latency_ms": None if latency is None else round(latency * 1000, 1),
                "latency_kind": "p95 (PromQL)", "open_breakers": int(open_breakers or 0)}


def watch(source: t.Any, thresholds: t.Mapping[str, float], window_s: float, interval_s: float,
          breach_samples: int = 1, max_scrape_failures: int = 3,
          clock: t.Callable[[], float] = time.monotonic, sleep: t.Callable[[float], None] = time.sleep) -> dict:
    """Sample every ``interval_s`` for ``window_s``; return at the first breach (``breach_samples`` in a row) or
    when the window ends. A source that cannot be read ``max_scrape_failures`` times in a row is a breach too: a
    server that stops answering after go-live is the worst kind."""
    thresholds = {**DEFAULT_THRESHOLDS, **{k: float(v) for k, v in thresholds.items()}}
    started_wall, started = time.time(), clock()
    kept: list[dict[str, t.Any]] = []
    in_a_row, failures, taken = 0, 0, 0
    breach: dict[str, t.Any] | None = None
    next_at = started
    while True:
        try:
            measures = source.sample()
            failures = 0
        except OSError as exc:
            failures += 1
            measures = {"at": time.time(), "error": str(exc),
                        "breaches": (["metrics unreadable %d times in a row: %s" % (failures, exc)]
                                     if failures >= max_scrape_failures else [])}
        if measures is not None:
            taken += 1
            if "error" not in measures:
                measures["breaches"] = breaches(measures, thresholds)
            kept.append(measures)
            del kept[:-MAX_KEPT_SAMPLES]
            in_a_row = in_a_row + 1 if measures["breaches"] else 0
            if measures["breaches"] and (in_a_row >= breach_samples or "error" in measures):
                breach = {"detected_at": measures["at"], "detected_at_iso": iso_utc(measures["at"]),
                          "reasons": measures["breaches"], "sample": measures,
                          "after_s": round(clock() - started, 2)}
                break
        next_at += interval_s
        if next_at - started > window_s:
            break
        sleep(max(0.0, next_at - clock()))
    ended = time.time()
    return {"breached": breach is not None, "breach": breach, "samples": kept, "samples_taken": taken,
            "source": source.describe, "thresholds": thresholds, "window_s": window_s, "interval_s": interval_s,
            "started_at": iso_utc(started_wall), "ended_at": iso_utc(ended), "watched_s": round(clock() - started, 2)}


def iso_utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + (".%03dZ" % int((epoch % 1) * 1000))
