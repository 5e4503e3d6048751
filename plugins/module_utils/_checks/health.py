# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Go-Live health: the checklist's Pre-Launch Health Check against the live API."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._engine.causes import NOT_THE_OBJECT, CouldNotJudge
from ansible_collections.aragora.ops.plugins.module_utils._checks.common import json_object
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import CheckInputError, failed, passed, warned
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "0"
_UNSET_VERSIONS = ("dev", "unknown", "none")
_REASON_KEYS = ("degraded_reason", "reason", "message", "error", "issues")


def _reason(body: dict) -> str | None:
    for key in _REASON_KEYS:
        if body.get(key):
            return str(body[key])[:300]
    return None


def _probe(ctx: TargetContext, endpoint: str) -> tuple[dict, dict]:
    """(body, evidence) of a health endpoint's JSON answer, whatever its status."""
    observation = ctx.api(endpoint)
    body = json_object(observation)
    return body, {"url": observation.url, "http_status": observation.status, "status": body.get("status")}


@check("health.liveness", SECTION, "Liveness endpoint (/healthz)",
       "Look at the server log: /healthz must answer 200 {\"status\": \"ok\"} while the process is alive.",
       proves="`/healthz` answers 200 `{\"status\": \"ok\"}`.")
def liveness(ctx: TargetContext):
    body, evidence = _probe(ctx, "healthz")
    if evidence["http_status"] != 200 or body.get("status") != "ok":
        return failed("Liveness endpoint is not ok: %s, status %r" % (evidence["http_status"], body.get("status")),
                      **evidence)
    if body.get("degraded"):
        return warned("Liveness endpoint is ok but degraded: %s" % _reason(body),
                      "Fix the degraded component named in the reason.", degraded_reason=_reason(body), **evidence)
    return passed("Liveness endpoint is ok", **evidence)


@check("health.readiness", SECTION, "Readiness endpoint (/readyz)",
       "The server is up but not ready: fix the reason it gives, then re-run.",
       proves="`/readyz` answers `ready`.")
def readiness(ctx: TargetContext):
    body, evidence = _probe(ctx, "readyz")
    if evidence["http_status"] == 200 and body.get("status") == "ready":
        return passed("Server is ready to take traffic", **evidence)
    return failed("Server is not ready (%s): %s" % (evidence["http_status"], _reason(body) or body.get("status")),
                  reason=_reason(body), **evidence)


@check("health.api_health", SECTION, "Health endpoint (/api/health)",
       "The server reports itself degraded: fix the reason it gives (Redis reachable, data directory writable, "
       "circuit breakers closed, encryption key set), then re-run.",
       proves="`/api/health` answers healthy; `degraded` FAILs with the server's reason.")
def api_health(ctx: TargetContext):
    body, evidence = _probe(ctx, "health")
    if evidence["http_status"] == 200 and evidence["status"] == "healthy":
        return passed("Health endpoint reports healthy", **evidence)
    reason = _reason(body)
    return failed("Health endpoint reports %s (%s)%s" % (evidence["status"], evidence["http_status"],
                                                         ": " + reason if reason else ""), reason=reason, **evidence)


@check("health.release_version", SECTION, "Release version",
       "Deploy the expected release, or correct expected_version.",
       proves="The `X-API-Release` header of any JSON answer of Aragora's, a degraded 503 included, matches "
              "`expected_version`.",
       cannot_see="`/health/build` (2.11.1 says `dev` there, ignored).")
def release_version(ctx: TargetContext):
    """Aragora 2.11.1 puts X-API-Release on every /api/* answer, a degraded 503 included (docs/aragora-2.11.1.md):
    the release is read from any answer of Aragora's own (JSON), whatever its status."""
    health = ctx.api("health")
    json_object(health)  # a version on an answer that is not Aragora's health answer proves nothing
    header = health.headers.get("X-API-Release")
    if not health.ok and not header:
        raise CheckInputError("%s: the release cannot be read from an error answer without X-API-Release"
                              % health.describe())
    build = ctx.api("build")
    build_version = None
    if not build.error and build.status == 200:
        try:
            build_version = build.json().get("version")
            build_version = None if build_version is None else str(build_version)
        except (ValueError, AttributeError):
            build_version = None
    evidence = {"x_api_release": header, "build_version": build_version, "expected": ctx.expected_version,
                "health_status": health.status}
    # Aragora 2.11.1's /health/build says "dev" unless the image was built with a version: not a release.
    versions = {v for v in (header, build_version) if v and v.lower() not in _UNSET_VERSIONS}
    if not versions:
        return warned("Release version not reported (no X-API-Release header, no %s version)" % ctx.endpoints["build"],
                      "Check that requests reach Aragora itself and not a proxy that strips its headers.", **evidence)
    if len(versions) > 1:
        return warned("Release version reported inconsistently: header %s, build %s" % (header, build_version),
                      "Some replicas may run another release: finish or roll back the rollout.", **evidence)
    version = versions.pop()
    if ctx.expected_version and version != ctx.expected_version:
        return failed("Release version is %s, expected %s" % (version, ctx.expected_version), **evidence)
    if not health.ok:  # the release is known all the same: the degraded answer is Aragora's and carries it
        return passed("Release version is %s (X-API-Release of its %s answer to %s: the server is up but degraded, "
                      "see health.api_health)" % (version, health.status, ctx.endpoints["health"]), **evidence)
    return passed("Release version is %s" % version, **evidence)


@check("health.response_time", SECTION, "Health endpoint response time",
       "Find what slows the server down (CPU limits, database, Redis latency) before going live.",
       proves="The time of Aragora's own `/api/health` answer: WARN over 500 ms (the HighLatency alert), FAIL over "
              "2000 ms.")
def response_time(ctx: TargetContext):
    observation = ctx.api("health")
    # The time of an error page or a cut answer is not the health answer's: only Aragora's own health answer
    # (healthy, or degraded with its 503) is timed.
    if "status" not in json_object(observation):
        raise CouldNotJudge("%s: not Aragora's health answer (no status), so its time is not the health endpoint's "
                            "response time" % observation.describe(), NOT_THE_OBJECT,
                            "Make /api/health answer (see health.api_health), then re-run.")
    elapsed = round(observation.elapsed_ms)
    warn_ms, fail_ms = ctx.threshold("response_time_warn_ms"), ctx.threshold("response_time_fail_ms")
    evidence = {"elapsed_ms": elapsed, "warn_ms": warn_ms, "fail_ms": fail_ms}
    if elapsed > fail_ms:
        return failed("Health endpoint answered in %d ms (limit %d ms)" % (elapsed, fail_ms), **evidence)
    if elapsed > warn_ms:
        return warned("Health endpoint answered in %d ms (over %d ms)" % (elapsed, warn_ms), **evidence)
    return passed("Health endpoint answered in %d ms" % elapsed, **evidence)
