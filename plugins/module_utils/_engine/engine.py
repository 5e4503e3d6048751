# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check registry and runner: checks are plain functions of a context, run concurrently.

A check is declared once with ``@check(id, section, title, remediation, proves=...)`` next to its logic (docs/checks.md
is generated from these declarations: ``make docs``). The runner calls every
selected check in a thread pool, so that the network waits of one target's checks overlap inside one module call,
and turns each outcome (or exception) into a result dict of the common schema.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    ERROR,
    FAIL,
    SKIP,
    CheckInputError,
    CheckSkipped,
    Outcome,
    make_result,
)


@dataclasses.dataclass(frozen=True)
class CheckSpec:
    id: str
    section: str  # the checklist's section number, a key of result.SECTIONS
    title: str  # the checklist item, in the checklist's words
    remediation: str  # what to do when the check does not pass
    func: t.Callable[[t.Any], Outcome]
    order: int = 0  # declaration order within its registry: the order of the checks of one section
    proves: str = ""  # the positive evidence a PASS rests on (Markdown, for docs/checks.md)
    cannot_see: str = ""  # what the check cannot observe, so a PASS does not claim it

    @property
    def group(self) -> str:
        """The id's prefix: 'security' for 'security.jwt_secret'."""
        return self.id.split(".", 1)[0]


REGISTRY: dict[str, CheckSpec] = {}


def check(check_id: str, section: str, title: str, remediation: str,
          registry: dict[str, CheckSpec] | None = None, proves: str = "", cannot_see: str = "") -> t.Callable:
    """Register the decorated function as the check ``check_id`` (in ``registry``; the readiness checks' by default).

    Checks that change something (the go-live smoke test creates a debate) live in a registry of their own, so that
    no readiness run ever selects them."""
    registry = REGISTRY if registry is None else registry

    def register(func: t.Callable[[t.Any], Outcome]) -> t.Callable[[t.Any], Outcome]:
        if check_id in registry:
            raise ValueError("check id registered twice: %s" % check_id)
        registry[check_id] = CheckSpec(check_id, section, title, remediation, func, len(registry), proves, cannot_see)
        return func

    return register


def select(groups: t.Iterable[str] | None = None, skip: t.Iterable[str] = (), ids: t.Iterable[str] | None = None,
           registry: dict[str, CheckSpec] | None = None) -> tuple[list[CheckSpec], list[CheckSpec]]:
    """The registered checks of the given groups (all when None) or with the given ids, split into (to run, skipped
    by the caller)."""
    wanted = set(groups) if groups is not None else None
    wanted_ids = set(ids) if ids is not None else None
    skip = set(skip)
    specs = [spec for spec in (REGISTRY if registry is None else registry).values()
             if (wanted is None or spec.group in wanted) and (wanted_ids is None or spec.id in wanted_ids)]
    return [s for s in specs if s.id not in skip], [s for s in specs if s.id in skip]


def groups_for_tags(groups: t.Iterable[str], run_tags: t.Iterable[str], skip_tags: t.Iterable[str]) -> list[str]:
    """The check groups a run under ``--tags`` / ``--skip-tags`` selects from ``groups`` (one tag per group): all of
    them under the default tag ``all``, else those tagged; never a skipped one. In the order of ``groups``."""
    run_tags, skip_tags = set(run_tags), set(skip_tags)
    return [group for group in dict.fromkeys(groups)
            if ("all" in run_tags or group in run_tags) and group not in skip_tags]


def _result(spec: CheckSpec, outcome: Outcome, duration_ms: float, cause: dict | None = None) -> dict:
    return make_result(spec.id, spec.section, spec.title, outcome, spec.remediation, duration_ms, cause)


def _could_not_judge(spec: CheckSpec, exc: CheckInputError) -> tuple[Outcome, dict | None]:
    """The owner of the cause judges it (FAIL); every other check says it could not judge, and why (ERROR).

    A named reason (causes.CouldNotJudge) is kept in the evidence and brings its own remediation: the check's own is
    about the defect it looks for, which it could not see."""
    kind = getattr(exc, "kind", None)
    evidence = {"could_not_judge": kind} if kind else {}
    remediation = getattr(exc, "remediation", None)
    if exc.cause is None:
        return Outcome(FAIL, "%s: %s" % (spec.title, exc), evidence, remediation), None
    if exc.cause.owner == spec.id:
        return Outcome(FAIL, "%s: %s" % (spec.title, exc), evidence, remediation or exc.cause.remediation), None
    message = "Could not judge: %s unavailable (see %s): %s" % (exc.cause.dependency, exc.cause.owner, exc)
    return Outcome(ERROR, message, evidence, exc.cause.remediation), exc.cause.as_dict(str(exc))


def run_one(spec: CheckSpec, context: t.Any) -> dict:
    """Run one check; whatever goes wrong becomes a FAIL that says what, never a traceback."""
    started = time.monotonic()
    cause = None
    try:
        outcome = spec.func(context)
        if not isinstance(outcome, Outcome):
            raise TypeError("returned %s instead of an Outcome" % type(outcome).__name__)
    except CheckSkipped as exc:
        outcome = Outcome(SKIP, str(exc))
    except CheckInputError as exc:
        outcome, cause = _could_not_judge(spec, exc)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # a bug in one check must not hide the others
        outcome = Outcome(FAIL, "check %s could not complete: %s: %s" % (spec.id, type(exc).__name__, exc),
                          remediation="This is a defect in aragora.ops; please report it with this message.")
    return _result(spec, outcome, (time.monotonic() - started) * 1000, cause)


# Every check of a target starts at once: most wait on a fact another check is fetching (each is fetched once), so
# fewer threads than checks queue a slow chain (PostgreSQL's connect and queries, a TLS handshake) behind waiting
# ones. The bound is for a registry grown far beyond today's ~80 checks.
MAX_WORKERS = 128


def run_checks(specs: t.Sequence[CheckSpec], context: t.Any, skipped: t.Sequence[CheckSpec] = (),
               max_workers: int = MAX_WORKERS) -> list[dict]:
    """Run ``specs`` concurrently against ``context``; results come back in checklist order."""
    results: dict[str, dict] = {}
    if specs:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(specs)))) as pool:
            futures = {pool.submit(run_one, spec, context): spec.id for spec in specs}
            for future in concurrent.futures.as_completed(futures):
                results[futures[future]] = future.result()
    for spec in skipped:
        results[spec.id] = _result(spec, Outcome(SKIP, "skipped by configuration (listed in skip_checks)"), 0.0)
    return [results[spec.id] for spec in in_checklist_order([*specs, *skipped])]


def in_checklist_order(specs: t.Iterable[CheckSpec]) -> list[CheckSpec]:
    """By section number, then in the order the checks were declared."""
    return sorted(specs, key=lambda spec: (int(spec.section), spec.order))
