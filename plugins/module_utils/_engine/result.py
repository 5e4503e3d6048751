# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one result schema every check produces, and the verdict derived from a list of results.

A check result is a plain dict so that it crosses the module/JSON boundary unchanged:
``id``, ``section``, ``title``, ``status``, ``message``, ``evidence``, ``remediation``, ``duration_ms``
and, once aggregated across targets, ``target``.

``ERROR`` is a check that could not judge (its dependency is down, refused it or timed out): not a failed judgment,
but no evidence either, so it means NO-GO like ``FAIL``. Its result carries ``cause`` (the dependency, the check that
owns it and why it could not be used) and the cause's remediation, so that one outage is one cause in the report.
"""

from __future__ import annotations

import dataclasses
import typing as t

PASS = "PASS"
WARN = "WARN"
FAIL = "FAIL"
SKIP = "SKIP"
ERROR = "ERROR"  # could not judge: see the result's cause
STATUSES = (PASS, WARN, FAIL, ERROR, SKIP)

GO = "GO"
NO_GO = "NO-GO"

# The checklist's own section numbers and names; "0" holds the Go-Live health checks, which precede them.
SECTIONS: dict[str, str] = {
    "0": "Go-Live Health",
    "1": "Security Configuration",
    "2": "High Availability",
    "3": "Database & Persistence",
    "4": "Redis Configuration",
    "5": "Monitoring & Observability",
    "6": "SSL/TLS Certificates",
    "7": "OAuth & Authentication",
    "8": "API Provider Configuration",
    "9": "Resource Limits",
    "10": "Disaster Recovery",
    # The Go-Live Verification's post-launch smoke test (aragora.ops.smoke_test): after the checklist proper.
    "11": "Post-Launch Smoke Test",
}


def section_label(number: str) -> str:
    """'1' -> '1. Security Configuration'."""
    return "%s. %s" % (number, SECTIONS[number])


@dataclasses.dataclass
class Outcome:
    """What a check function decides: a status, one sentence saying why, and what it observed."""

    status: str
    message: str
    evidence: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    remediation: str | None = None  # None: use the check's standing remediation


def passed(message: str, **evidence: t.Any) -> Outcome:
    return Outcome(PASS, message, evidence)


def warned(message: str, remediation: str | None = None, **evidence: t.Any) -> Outcome:
    return Outcome(WARN, message, evidence, remediation)


def failed(message: str, remediation: str | None = None, **evidence: t.Any) -> Outcome:
    return Outcome(FAIL, message, evidence, remediation)


def skipped(message: str, **evidence: t.Any) -> Outcome:
    return Outcome(SKIP, message, evidence, "")


class CheckSkipped(Exception):
    """Raised by a check (or the facts it reads) when the check does not apply to this target."""


@dataclasses.dataclass(frozen=True)
class Cause:
    """Why checks could not judge: a dependency (``API``, ``Redis``...) that the check ``owner`` judges itself.

    The owner FAILs with the reason; every other check that needed the dependency is ERROR with this cause."""

    owner: str  # the check id that judges the dependency itself, e.g. health.liveness for the API
    dependency: str  # what could not be used, in a few words: "API", "Redis", "PostgreSQL", "/metrics"
    remediation: str  # what to do about the dependency

    def as_dict(self, reason: str) -> dict[str, str]:
        return {"check": self.owner, "dependency": self.dependency, "reason": reason}


class CheckInputError(Exception):
    """Raised when the facts a check needs could not be obtained.

    With a ``cause``, the check is ERROR (could not judge) naming it, unless it is the cause's owner, which FAILs;
    without one, the check FAILs with this message."""

    def __init__(self, message: str, cause: Cause | None = None) -> None:
        super().__init__(message)
        self.cause = cause


def make_result(check_id: str, section: str, title: str, outcome: Outcome, remediation: str = "",
                duration_ms: float = 0.0, cause: dict | None = None) -> dict:
    """One result of the schema above, from what was decided (``outcome``) about the item ``check_id`` of checklist
    section ``section`` (its number). The remediation is kept only where there is something to do (FAIL, WARN,
    ERROR); the outcome's own remediation wins over the item's standing one."""
    remediation = remediation if outcome.remediation is None else outcome.remediation
    result = {
        "id": check_id,
        "section": section_label(section),
        "title": title,
        "status": outcome.status,
        "message": outcome.message,
        "evidence": outcome.evidence,
        "remediation": remediation if outcome.status in (FAIL, WARN, ERROR) else "",
        "duration_ms": round(duration_ms, 1),
    }
    if cause:
        result["cause"] = cause
    return result


def counts(results: t.Iterable[dict]) -> dict[str, int]:
    tally = dict.fromkeys(STATUSES, 0)
    for result in results:  # a status outside STATUSES is counted too, never a KeyError in a report
        tally[result["status"]] = tally.get(result["status"], 0) + 1
    return tally


def verdict(results: t.Iterable[dict], strict: bool = False) -> str:
    """NO-GO when anything FAILs or could not be judged (ERROR), or WARNs in strict mode; GO otherwise."""
    tally = counts(results)
    if tally[FAIL] or tally[ERROR] or (strict and tally[WARN]):
        return NO_GO
    return GO


def causes(results: t.Iterable[dict]) -> list[dict[str, t.Any]]:
    """The checks that could not judge, grouped by cause: [{check, dependency, reason, remediation, checks: [ids]}],
    in the order the causes first appear."""
    grouped: dict[tuple[str, str], dict[str, t.Any]] = {}
    for result in results:
        cause = result.get("cause")
        if result["status"] != ERROR or not cause:
            continue
        key = (result.get("target", ""), cause["check"])
        entry = grouped.setdefault(key, {**cause, "remediation": result["remediation"], "checks": []})
        entry["checks"].append(result["id"])
    return list(grouped.values())
