# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 5, Monitoring & Observability: what the server itself exposes and is configured with."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._engine.causes import CREDENTIALS, NOT_THE_OBJECT, CouldNotJudge
from ansible_collections.aragora.ops.plugins.module_utils._checks import secret_shape
from ansible_collections.aragora.ops.plugins.module_utils._checks.common import answered, url_parts
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._clients.metrics import parse_samples, with_prefix
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import Cause, failed, passed, warned
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "5"
METRIC_PREFIX = "aragora_"
METRICS_UNAVAILABLE = Cause("monitoring.prometheus_metrics", "/metrics",
                            "Make /metrics answer a valid Prometheus scrape (and give metrics_token when "
                            "ARAGORA_METRICS_TOKEN is set); then run the checks again.")


def scrape(ctx: TargetContext):
    """The /metrics samples, scraped as Prometheus would; CouldNotJudge (a FAIL naming the cause) when they cannot
    be had."""
    observation = answered(ctx.api("metrics", token=ctx.metrics_token))
    if observation.status in (401, 403):
        raise CouldNotJudge("%s: set metrics_token to ARAGORA_METRICS_TOKEN so the scrape is authorised"
                            % observation.describe(), CREDENTIALS,
                            "Set metrics_token to the server's ARAGORA_METRICS_TOKEN, then re-run.",
                            cause=METRICS_UNAVAILABLE)
    if observation.status != 200:
        raise CouldNotJudge("%s: the metrics endpoint did not answer 200" % observation.describe(), NOT_THE_OBJECT,
                            "Make /metrics answer 200 with Prometheus text (look at the server log), then re-run.",
                            cause=METRICS_UNAVAILABLE)
    try:
        return observation, parse_samples(observation.text)
    except ValueError as exc:
        # Prometheus rejects such a scrape whole. Aragora 2.11 renders a fallback text (suffixes such as _count after
        # the labels) when prometheus-client is missing from its own environment.
        raise CouldNotJudge("%s: %s; Prometheus would reject this scrape (install prometheus-client in the "
                            "server's Python environment)" % (observation.describe(), exc), NOT_THE_OBJECT,
                            "Make /metrics serve valid Prometheus text: install prometheus-client in the server's "
                            "Python environment and restart it.", cause=METRICS_UNAVAILABLE) from None


@check("monitoring.prometheus_metrics", SECTION, "Prometheus scraping",
       "Make /metrics reachable by Prometheus (and the token, when ARAGORA_METRICS_TOKEN is set) and check that "
       "the server exports aragora_ series.",
       proves="`/metrics` answers 200, parses with prometheus_client's parser and has `aragora_` series (with "
              "`metrics_token` when `ARAGORA_METRICS_TOKEN` is set).")
def prometheus_metrics(ctx: TargetContext):
    observation, samples = scrape(ctx)
    ours = with_prefix(samples, METRIC_PREFIX)
    evidence = {"url": observation.url, "samples": len(samples), "aragora_samples": len(ours),
                "aragora_metrics": sorted({sample.name for sample in ours})[:10]}
    if not ours:
        return failed("Metrics endpoint answers but exposes no %s series" % METRIC_PREFIX, **evidence)
    return passed("Metrics endpoint exposes %d %s samples" % (len(ours), METRIC_PREFIX), **evidence)


@check("monitoring.sentry_dsn", SECTION, "Sentry DSN configured",
       "Set SENTRY_DSN to the project's DSN (https://KEY@HOST/PROJECT) so errors reach Sentry.",
       proves="`SENTRY_DSN` is set and of the form `https://KEY@HOST/PROJECT`; WARN when unset.")
def sentry_dsn(ctx: TargetContext):
    dsn = ctx.config.get("SENTRY_DSN")
    if dsn is None:
        return warned("Sentry DSN not configured (SENTRY_DSN unset): errors are only in the logs", configured=False)
    parts = url_parts(dsn)
    if parts is None or parts.scheme not in ("https", "http") or not parts.username or not parts.path.strip("/"):
        return failed("SENTRY_DSN is set but is not a DSN of the form https://KEY@HOST/PROJECT", configured=True)
    reason = secret_shape.placeholder(parts.username)
    if reason:
        return failed("SENTRY_DSN is a placeholder: its key %s" % reason, configured=True)
    if secret_shape.reserved_example_host(parts.hostname or ""):
        return failed("SENTRY_DSN is a placeholder: its host %s is a reserved example domain (RFC 2606)"
                      % parts.hostname, configured=True)
    return passed("Sentry DSN configured (host %s)" % parts.hostname, configured=True, host=parts.hostname)


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@check("monitoring.log_level", SECTION, "Log level",
       "Set ARAGORA_LOG_LEVEL=INFO (or WARNING) in production.",
       proves="`ARAGORA_LOG_LEVEL` is valid; DEBUG WARNs.")
def log_level(ctx: TargetContext):
    value = ctx.config.get("ARAGORA_LOG_LEVEL")
    level = (value or "INFO").upper()
    if level == "WARN":
        level = "WARNING"
    evidence = {"ARAGORA_LOG_LEVEL": value, "effective": level}
    if level not in _LOG_LEVELS:
        return failed("Log level %r is not one of %s" % (value, ", ".join(_LOG_LEVELS)), **evidence)
    if level == "DEBUG":
        return warned("Log level is DEBUG: verbose, costly, and may log request data", **evidence)
    return passed("Log level is %s%s" % (level, "" if value else " (default)"), **evidence)
