# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a check could not judge, in one place: each cause has a stable name (for the report's "could not judge"
notion) and its own remediation, so that a check that could not read its facts never hands out the remediation of
the defect it was looking for ("a circuit breaker is open" when the token was refused)."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._engine.result import Cause, CheckInputError

THROTTLED = "throttled"  # the server's rate limiter refused our probe
UNREACHABLE = "unreachable"  # no usable answer came back (refused, timeout, TLS, not HTTP)
CREDENTIALS = "credentials"  # the server refused the credentials we were given
NOT_THE_OBJECT = "not_the_object"  # an answer came back, but not the one asked for

REMEDIATION = {
    THROTTLED: "The server's rate limiter refused the probe (Aragora 2.11.1 limits unauthenticated requests to 30 a "
               "minute per client address, burst 60, /healthz and /metrics included: docs/aragora-2.11.1.md): wait "
               "for the limit to pass and re-run, or run the probes from an address the limiter exempts.",
    UNREACHABLE: "Make the endpoint reachable from where the checks run (address, port, firewall, TLS), then re-run.",
    CREDENTIALS: "Give a valid token for this endpoint (api_token for the admin API, metrics_token for /metrics).",
    NOT_THE_OBJECT: "Check that the URL points at the service itself, not at a proxy or another service.",
}


class CouldNotJudge(CheckInputError):
    """The facts a check needs could not be read, for a named reason (``kind``): the check FAILs with this message
    and the reason's remediation instead of its own.

    With a ``cause`` (a dependency another check owns, result.Cause), the engine's rule for causes applies instead:
    the owner FAILs and every other check is ERROR naming it, so one outage is one cause in the report."""

    def __init__(self, message: str, kind: str, remediation: str | None = None, cause: Cause | None = None) -> None:
        super().__init__(message, cause)
        self.kind = kind
        self.remediation = remediation or (cause.remediation if cause else REMEDIATION[kind])


def retry_after_seconds(headers: t.Mapping[str, str] | None) -> float | None:
    """A Retry-After header in seconds (its delta-seconds form), or None when absent or unreadable."""
    value = (headers or {}).get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def throttled(description: str, retry_after: float | None) -> CouldNotJudge:
    return CouldNotJudge("%s: throttled by the server's rate limiter%s" % (
        description, " (Retry-After: %g s)" % retry_after if retry_after is not None else ""), THROTTLED)
