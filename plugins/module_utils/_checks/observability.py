# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 5, Monitoring & Observability, around the server: the Prometheus Operator objects that scrape it and
alert on it, the log shipper that collects its logs, and the Grafana dashboards (what the server itself exposes is
the ``monitoring`` group)."""

from __future__ import annotations

import ast
import math
import operator
import re
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._checks.common import answered, json_object
from ansible_collections.aragora.ops.plugins.module_utils._checks.k8s_cluster import (
    aragora_services,
    listing,
    live_state,
    name_of,
    snapshot,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import HttpClient
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import selector_matches
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    CheckInputError,
    CheckSkipped,
    failed,
    passed,
    warned,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "5"
# The checklist's alerts (section "Alerting Rules").
REQUIRED_ALERTS = ("AragoraDown", "HighErrorRate", "DatabaseDown", "CertificateExpiring", "HighMemory",
                   "CircuitBreakerOpen", "HighLatency", "RateLimitSpike")
# The checklist's thresholds, as the right-hand side of each alert's last comparison (files/prometheus ships rules
# with exactly these; a test keeps the two in step). Alerts not listed have no numeric threshold to compare.
CHECKLIST_ALERT_THRESHOLDS: dict[str, float] = {
    "HighErrorRate": 0.05,  # > 5 % errors
    "CertificateExpiring": 7 * 24 * 3600.0,  # < 7 days until expiry
    "HighMemory": 0.8,  # > 80 % memory
    "HighLatency": 0.5,  # p95 > 500 ms
    "RateLimitSpike": 1000.0,  # > 1000 429s in 5 min
}
_LAST_COMPARISON = re.compile(r"(?:>=|<=|==|!=|>|<)\s*([0-9.eE+\-*/() \t]+)$")
# What a log shipper DaemonSet is called or runs.
LOG_SHIPPERS = ("fluent-bit", "fluentbit", "fluentd", "vector", "promtail", "filebeat", "grafana-agent", "alloy",
                "otel-collector", "opentelemetry-collector", "datadog", "logstash")
DASHBOARD_QUERY = "aragora"


def _crd_or_skip(snap: t.Any, name: str) -> None:
    missing = snap.missing(name)
    if missing:
        raise CheckSkipped("Prometheus Operator not installed: %s" % missing)


# What each checklist alert watches, to recognise it under another name (the same metric, the same condition).
ALERT_SIGNATURES: dict[str, str] = {
    "AragoraDown": r"\bup\{[^}]*aragora",
    "HighErrorRate": r"aragora_http_requests_total\{[^}]*5(\.\.|xx)",
    "DatabaseDown": r"aragora_db_errors_total|aragora_database_up",
    "CertificateExpiring": r"certmanager_certificate_expiration_timestamp_seconds|probe_ssl_earliest_cert_expiry",
    "HighMemory": r"container_memory_working_set_bytes",
    "CircuitBreakerOpen": r"aragora_agent_circuit_breaker_state",
    "HighLatency": r"aragora_http_request_duration_seconds_bucket",
    "RateLimitSpike": r"aragora_http_requests_total\{[^}]*429",
}


def _where(obj: dict) -> str:
    return "%s/%s" % ((obj.get("metadata") or {}).get("namespace") or "?", name_of(obj))


def _watches_namespace(monitor: dict, namespace: str) -> bool:
    """Whether the ServiceMonitor's namespaceSelector covers ``namespace`` (none: its own namespace only)."""
    selector = (monitor.get("spec") or {}).get("namespaceSelector") or {}
    if selector.get("any"):
        return True
    if selector.get("matchNames"):
        return namespace in selector["matchNames"]
    return (monitor.get("metadata") or {}).get("namespace") in (None, namespace)


def _listing_note(snap: t.Any, name: str) -> dict:
    note = snap.listings[name].note if name in snap.listings else None
    return {"coverage": note} if note else {}


@check("observability.service_monitor", SECTION, "ServiceMonitor scrapes the service",
       "Create one ServiceMonitor (monitoring.coreos.com/v1) where Prometheus looks (its own namespace with a "
       "namespaceSelector naming the Aragora namespace, or the Aragora namespace) whose selector matches exactly one "
       "Aragora Service's labels and whose endpoint names that Service's port, path /metrics.",
       proves="A ServiceMonitor selecting the Service that routes to the pods, naming one of its ports.",
       cannot_see="Clusters without the Prometheus Operator's CRD (SKIP).")
def service_monitor(ctx: TargetContext):
    snap = snapshot(ctx)
    _crd_or_skip(snap, "service_monitors")
    services = aragora_services(snap)
    if not services:
        return failed("No Service in namespace %s routes to the pods of Deployment %s" % (snap.namespace, snap.name))
    matches: list[str] = []
    scraped: dict[str, list[str]] = {}
    unmatched_ports: list[str] = []
    elsewhere: list[str] = []
    monitors = listing(snap, "service_monitors")
    for monitor in monitors:
        spec = monitor.get("spec") or {}
        selected = [svc for svc in services
                    if selector_matches(spec.get("selector") or {}, (svc.get("metadata") or {}).get("labels"))]
        if not _watches_namespace(monitor, snap.namespace):
            if selected:
                elsewhere.append("%s (its namespaceSelector does not cover %s)" % (_where(monitor), snap.namespace))
            continue
        for svc in selected:
            ports = {port.get("name") for port in (svc.get("spec") or {}).get("ports") or []}
            wanted = [endpoint.get("port") for endpoint in spec.get("endpoints") or [] if endpoint.get("port")]
            if wanted and not set(wanted) & ports:
                unmatched_ports.append("%s wants port %s, Service %s has %s" % (
                    _where(monitor), ", ".join(wanted), name_of(svc), ", ".join(sorted(p for p in ports if p))))
                continue
            matches.append("%s -> Service %s" % (_where(monitor), name_of(svc)))
            scraped.setdefault(name_of(svc), []).append(_where(monitor))
    evidence = {"service_monitors": [_where(m) for m in monitors], "services": [name_of(s) for s in services],
                "matches": matches, "port_mismatches": unmatched_ports, "not_covering_namespace": elsewhere,
                **_listing_note(snap, "service_monitors")}
    if not matches:
        detail = "; ".join(unmatched_ports + elsewhere) if unmatched_ports or elsewhere else \
            "none of %s selects Service(s) %s" % (", ".join(evidence["service_monitors"]) or "(none found)",
                                                  ", ".join(evidence["services"]))
        return failed("No ServiceMonitor scrapes the Aragora Service: %s" % detail, **evidence)
    if len(scraped) > 1 or any(len(by) > 1 for by in scraped.values()):
        return warned("The Aragora pods are scraped %d times (%s): every pod's series are duplicated, and sums over "
                      "them (error rate, request rate) count twice" % (len(matches), ", ".join(matches)),
                      "Scrape one Service: give the metrics Service a label of its own (for example "
                      "app.kubernetes.io/component: metrics) and select only it.", **evidence)
    return passed("ServiceMonitor scrapes the Aragora Service: %s" % ", ".join(matches), **evidence)


def renamed_alerts(missing: t.Sequence[str], expressions: t.Mapping[str, str]) -> dict[str, str]:
    """Checklist alert -> the alert of another name that watches the same metric and condition."""
    found = {}
    for wanted in missing:
        pattern = re.compile(ALERT_SIGNATURES[wanted])
        for name, expr in expressions.items():
            if name not in REQUIRED_ALERTS and pattern.search(" ".join(expr.split())):
                found[wanted] = name
                break
    return found


@check("observability.prometheus_rule", SECTION, "Alert rules configured",
       "Add the checklist's alerts, under the checklist's names, to a PrometheusRule where Prometheus loads rules "
       "(the collection ships them: files/prometheus/aragora-prometheusrule.yaml): %s." % ", ".join(REQUIRED_ALERTS),
       proves="PrometheusRules in every namespace the identity may list (or in `monitoring_namespaces`) carry the "
              "checklist's eight alerts; WARN when one compares with another threshold than the checklist's "
              "(`files/prometheus`).",
       cannot_see="Clusters without the Prometheus Operator's CRD (SKIP).")
def prometheus_rule(ctx: TargetContext):
    snap = snapshot(ctx)
    _crd_or_skip(snap, "prometheus_rules")
    alerts: dict[str, str] = {}
    expressions: dict[str, str] = {}
    rules = listing(snap, "prometheus_rules")
    for rule in rules:
        for group in (rule.get("spec") or {}).get("groups") or []:
            for item in group.get("rules") or []:
                if item.get("alert"):
                    alerts.setdefault(item["alert"], _where(rule))
                    expressions.setdefault(item["alert"], str(item.get("expr") or ""))
    missing = [name for name in REQUIRED_ALERTS if name not in alerts]
    renamed = renamed_alerts(missing, expressions)
    absent = [name for name in missing if name not in renamed]
    differ = threshold_differences(expressions)
    evidence = {"prometheus_rules": [_where(r) for r in rules], "alerts": sorted(alerts), "missing": absent,
                "under_other_names": renamed, "thresholds_differ": differ, **_listing_note(snap, "prometheus_rules")}
    if not rules:
        looked = evidence.get("coverage") or ", ".join(ctx.options.monitoring_namespaces or []) or \
            "every namespace"
        return failed("No PrometheusRule where the checks looked (%s)" % looked, **evidence)
    other_names = "; ".join("%s is defined as %s (same metric)" % kv for kv in renamed.items())
    if absent:
        return failed("PrometheusRule(s) lack %d of the checklist's alerts: %s%s" % (
            len(absent), ", ".join(absent), " (%s)" % other_names if other_names else ""), **evidence)
    where = ", ".join(sorted(set(alerts.get(name) or alerts[renamed[name]] for name in REQUIRED_ALERTS)))
    if renamed:
        return warned("All %d checklist alerts are defined (%s), %d under other names: %s; runbooks, silences and "
                      "routes that use the checklist's names will not match them"
                      % (len(REQUIRED_ALERTS), where, len(renamed), other_names),
                      "Rename the alerts to the checklist's names, or record the mapping in your runbooks.",
                      **evidence)
    if differ:
        return warned("All %d checklist alerts are defined (%s), but %d use other thresholds than the checklist's: %s"
                      % (len(REQUIRED_ALERTS), where, len(differ), "; ".join("%s %s" % kv for kv in differ.items())),
                      "Use the checklist's thresholds (the collection ships them: files/prometheus/"
                      "aragora-prometheusrule.yaml), or record why yours differ.", **evidence)
    return passed("All %d checklist alerts are defined (%s)" % (len(REQUIRED_ALERTS), where), **evidence)


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _arithmetic(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_arithmetic(node.left), _arithmetic(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_arithmetic(node.operand)
    raise ValueError("not plain arithmetic")


def alert_threshold(expr: str) -> float | None:
    """The number an alert's expression compares with last (``... > 7 * 24 * 3600`` -> 604800.0); None if none."""
    match = _LAST_COMPARISON.search(" ".join(str(expr or "").split()))
    if not match:
        return None
    try:
        return _arithmetic(ast.parse(match.group(1).strip(), mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError):
        return None


def threshold_differences(expressions: t.Mapping[str, str]) -> dict[str, str]:
    """Alert -> 'its threshold (checklist's)' for the checklist alerts whose expression compares with another
    number than the checklist's."""
    found = {}
    for name, wanted in CHECKLIST_ALERT_THRESHOLDS.items():
        if name not in expressions:
            continue
        seen = alert_threshold(expressions[name])
        if seen is None or not math.isclose(seen, wanted, rel_tol=1e-9):
            found[name] = "%s (checklist %g)" % ("no numeric threshold" if seen is None else "%g" % seen, wanted)
    return found


def _is_log_shipper(daemonset: dict) -> bool:
    metadata = daemonset.get("metadata") or {}
    containers = ((((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or [])
    text = " ".join([metadata.get("name", "")] + list((metadata.get("labels") or {}).values())
                    + [c.get("image", "") for c in containers]).lower()
    return any(word in text for word in LOG_SHIPPERS)


@check("observability.log_shipper", SECTION, "Log aggregation working",
       "Deploy a log shipper DaemonSet (upstream uses Fluent Bit) and find why its pods are not ready on every node: "
       "kubectl -n logging describe daemonset.",
       proves="A log shipper DaemonSet (Fluent Bit, Fluentd, Vector, Promtail, Filebeat, Alloy, ...) in any "
              "namespace, ready on every node it is scheduled to.")
def log_shipper(ctx: TargetContext):
    snap = snapshot(ctx)
    live_state(snap, "whether a log shipper DaemonSet runs on every node")
    shippers = [item for item in listing(snap, "daemonsets") if _is_log_shipper(item)]
    states = {"%s/%s" % ((item.get("metadata") or {}).get("namespace"), name_of(item)):
              "%s/%s ready" % ((item.get("status") or {}).get("numberReady") or 0,
                               (item.get("status") or {}).get("desiredNumberScheduled") or 0) for item in shippers}
    evidence = {"log_shippers": states}
    if not shippers:
        return failed("No log shipper DaemonSet (%s) runs in the cluster" % ", ".join(LOG_SHIPPERS[:6]), **evidence)
    healthy = [item for item in shippers
               if 0 < int((item.get("status") or {}).get("desiredNumberScheduled") or 0)
               <= int((item.get("status") or {}).get("numberReady") or 0)]
    if not healthy:
        return failed("Log shipper DaemonSet(s) not ready on their nodes: %s"
                      % ", ".join("%s (%s)" % kv for kv in states.items()), **evidence)
    return passed("Log shipper running: %s" % ", ".join("%s (%s)" % kv for kv in states.items()), **evidence)


@check("observability.grafana_dashboards", SECTION, "Grafana dashboards imported",
       "Import the Aragora dashboards into Grafana (deploy/grafana upstream) and check the token may search them.",
       proves="Grafana's search API (`/api/search?type=dash-db&query=aragora`) with `grafana_url` and `grafana_token` "
              "finds the dashboards.",
       cannot_see="Grafana without `grafana_url` and `grafana_token` (SKIP).")
def grafana_dashboards(ctx: TargetContext):
    url, token = ctx.options.grafana_url, ctx.options.grafana_token
    if not url or not token:
        raise CheckSkipped("no grafana_url and grafana_token given: Grafana was not asked for its dashboards")

    def produce():
        client = HttpClient(url, timeout=ctx.timeout, validate_certs=bool(ctx.options.validate_certs),
                            ca_path=ctx.options.ca_path)
        return client.get("/api/search?type=dash-db&query=%s" % DASHBOARD_QUERY,
                          headers={"Authorization": "Bearer " + token})

    observation = answered(ctx.fact("grafana.search", produce))
    if observation.status != 200:
        json_object(observation)  # 401/403 become a FAIL that says so
        raise CheckInputError("%s: Grafana's search API did not answer 200" % observation.describe())
    try:
        found = observation.json()
    except ValueError as exc:
        raise CheckInputError(str(exc)) from None
    titles = sorted(item.get("title", "?") for item in found if isinstance(item, dict)) if isinstance(found, list) else []
    evidence = {"grafana": url, "query": DASHBOARD_QUERY, "dashboards": titles}
    if not titles:
        return failed("Grafana has no dashboard matching %r" % DASHBOARD_QUERY, **evidence)
    return passed("Grafana has %d Aragora dashboards: %s" % (len(titles), ", ".join(titles)), **evidence)
