#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: watch_window
short_description: Watch Aragora's error rate, latency and circuit breakers after go-live; return on a breach
version_added: 0.1.0
description:
  - Samples the server every O(interval) seconds for O(window) seconds, inside this one module call, and returns as
    soon as a threshold is crossed, with the evidence and the time the breach was seen, so that the play can roll
    back at once (the checklist's alert table - C(HighErrorRate), C(HighLatency), C(CircuitBreakerOpen) - acted on
    within one interval instead of its minutes).
  - Without O(prometheus_url) it scrapes O(api_url)'s C(/metrics) and compares consecutive scrapes - the 5xx share
    of C(aragora_http_requests_total) (its own scrapes of C(/metrics) left out), the latency of
    C(aragora_http_request_duration_seconds) (the interval's p95 from histogram buckets; the mean when the server
    exposes only C(_sum) and C(_count), as Aragora 2.11.1 does - the mean is below the p95, so a mean over the
    threshold is a breach for certain) and the C(aragora_agent_circuit_breaker_state) gauges (1 is open).
  - With O(prometheus_url) it runs O(prometheus_queries) (instant queries over the whole fleet) instead.
  - A source that cannot be read O(max_scrape_failures) times in a row is a breach (the server stopped answering).
  - Read-only; runs the same under C(--check).
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - aragora.ops.python
  - aragora.ops.read_only
options:
  api_url:
    description: Base URL of the Aragora API whose C(/metrics) is scraped. Required without O(prometheus_url).
    type: str
  metrics_path:
    description: Path of the metrics endpoint.
    type: str
    default: /metrics
  metrics_token:
    description: Bearer token for C(/metrics) when C(ARAGORA_METRICS_TOKEN) is set.
    type: str
  prometheus_url:
    description: Base URL of a Prometheus server; when given, it is queried instead of scraping the server.
    type: str
  prometheus_token:
    description: Bearer token for the Prometheus server.
    type: str
  prometheus_queries:
    description:
      - PromQL per measure, overriding the defaults - C(error_rate) (a ratio, 0.05 is 5 %),
        C(latency_p95_seconds) and C(open_breakers) (a count). An empty result is no data, not zero.
    type: dict
    default: {}
  window:
    description: Seconds to watch.
    type: float
    default: 600
  interval:
    description: Seconds between two samples; the reaction time is at most one interval.
    type: float
    default: 5
  thresholds:
    description:
      - When to stop - C(error_rate_percent) (default 5), C(latency_p95_ms) (500), C(open_breakers) (more than 0)
        and C(min_requests) (20, the requests an interval must carry before its error share is judged).
    type: dict
    default: {}
  breach_samples:
    description: Consecutive samples over a threshold before it counts as a breach.
    type: int
    default: 1
  max_scrape_failures:
    description: Consecutive failed samples that count as a breach.
    type: int
    default: 3
  exclude_endpoints:
    description: Endpoints whose requests are left out of the error rate and latency (the watch's own scrapes).
    type: list
    elements: str
    default: [/metrics]
  metric_names:
    description: Metric names, overriding C(requests), C(duration) and C(breaker) (Aragora 2.11.1's by default).
    type: dict
    default: {}
  timeout:
    description: Seconds each request may take.
    type: float
    default: 5
  validate_certs:
    description: Whether to verify TLS certificates.
    type: bool
    default: true
  ca_path:
    description: CA bundle to verify them with.
    type: path
"""

EXAMPLES = r"""
- name: Watch for ten minutes after go-live
  aragora.ops.watch_window:
    api_url: https://api.example.com
    window: 600
    interval: 5
  register: watch

- name: Watch the fleet through Prometheus, stricter on latency
  aragora.ops.watch_window:
    prometheus_url: http://prometheus.monitoring:9090
    thresholds:
      latency_p95_ms: 300
"""

RETURN = r"""
breached:
  description: Whether a threshold was crossed before the window ended.
  returned: always
  type: bool
breach:
  description: The breach - C(reasons), the C(sample) that showed it, C(detected_at) (epoch seconds) and
    C(detected_at_iso), and C(after_s) into the window; null without one.
  returned: always
  type: dict
samples:
  description: The last 60 samples' measures (requests, errors_5xx, error_rate_percent, latency_ms, latency_kind,
    open_breakers, breaches).
  returned: always
  type: list
  elements: dict
samples_taken:
  description: How many samples were judged.
  returned: always
  type: int
source:
  description: What was sampled.
  returned: always
  type: str
thresholds:
  description: The thresholds in force.
  returned: always
  type: dict
started_at:
  description: When the watch began (UTC, ISO 8601).
  returned: always
  type: str
ended_at:
  description: When it returned.
  returned: always
  type: str
watched_s:
  description: Seconds watched.
  returned: always
  type: float
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.aragora.ops.plugins.module_utils._clients import http_client
from ansible_collections.aragora.ops.plugins.module_utils._operations import watch
from ansible_collections.aragora.ops.plugins.module_utils._ansible.masked_module import MaskedModule


def main() -> None:
    module = MaskedModule(argument_spec={
        "api_url": {"type": "str"},
        "metrics_path": {"type": "str", "default": "/metrics"},
        "metrics_token": {"type": "str", "no_log": True},
        "prometheus_url": {"type": "str"},
        "prometheus_token": {"type": "str", "no_log": True},
        "prometheus_queries": {"type": "dict", "default": {}},
        "window": {"type": "float", "default": 600.0},
        "interval": {"type": "float", "default": 5.0},
        "thresholds": {"type": "dict", "default": {}},
        "breach_samples": {"type": "int", "default": 1},
        "max_scrape_failures": {"type": "int", "default": 3},
        "exclude_endpoints": {"type": "list", "elements": "str", "default": ["/metrics"]},
        "metric_names": {"type": "dict", "default": {}},
        "timeout": {"type": "float", "default": 5.0},
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path"},
    }, required_one_of=[("api_url", "prometheus_url")], supports_check_mode=True)
    params = module.params
    if http_client.requests is None:
        module.fail_json(msg=missing_required_lib("requests"))
    problem = _invalid(params)
    if problem:
        module.fail_json(msg=problem)
    url = params["prometheus_url"] or params["api_url"]
    client = http_client.HttpClient(url, timeout=params["timeout"], validate_certs=params["validate_certs"],
                                    ca_path=params["ca_path"])
    if params["prometheus_url"]:
        source = watch.PrometheusSource(client, params["prometheus_queries"], params["prometheus_token"])
    else:
        source = watch.MetricsSource(client, params["metrics_path"], params["metrics_token"],
                                     params["metric_names"], params["exclude_endpoints"])
    result = watch.watch(source, params["thresholds"], params["window"], params["interval"],
                         params["breach_samples"], params["max_scrape_failures"])
    module.exit_json(changed=False, **result)


def _invalid(params: dict) -> str | None:
    for name in ("api_url", "prometheus_url"):
        if params[name] and not params[name].lower().startswith(("http://", "https://")):
            return "%s must start with http:// or https://, got %r" % (name, params[name])
    if params["interval"] <= 0 or params["window"] < 0:
        return "interval must be positive and window not negative (seconds)"
    if params["breach_samples"] < 1 or params["max_scrape_failures"] < 1:
        return "breach_samples and max_scrape_failures must be 1 or more"
    known_keys = (("thresholds", watch.DEFAULT_THRESHOLDS), ("prometheus_queries", watch.DEFAULT_PROMETHEUS_QUERIES),
                  ("metric_names", watch.DEFAULT_METRICS))
    for option, known in known_keys:
        unknown = sorted(set(params[option]) - set(known))
        if unknown:
            return "%s: unknown key(s) %s; valid keys: %s" % (option, ", ".join(unknown), ", ".join(sorted(known)))
    for name, value in params["thresholds"].items():
        try:
            float(value)
        except (TypeError, ValueError):
            return "thresholds.%s must be a number, got %r" % (name, value)
    return None


if __name__ == "__main__":
    main()
