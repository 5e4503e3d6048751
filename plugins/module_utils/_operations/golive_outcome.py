# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The golive role's decisions, from what it observed: whether a pre-launch verdict handed to the run lets it go on,
the pre-release backup's releases, backend and published record, the checks of its result, and the watch window's
deployment kind and metrics source.

Pure functions, as rollback_outcome.py's: the role registers and sequences, plugins/filter/golive.py calls these
(its block ``vars`` ask again after each step), and the decisions are unit-tested here rather than spread over
Jinja. An observation the role never made (a task not reached) is ``None`` or missing.
"""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._operations.rollback_outcome import given

Observed = t.Mapping[str, t.Any]

# What the message says for a release nobody named: the variable that names it.
UNKNOWN_RUNNING = "unknown: set aragora_golive_running_release, or aragora_release_root on systemd hosts"
UNKNOWN_NEXT = "unknown: set aragora_golive_release"


def handed_verdict(observed: Observed) -> dict[str, t.Any]:
    """Whether the pre-launch verdict an AWX workflow handed to this run (none: the run checks for itself) lets
    the go-live go on, and the message that stops it otherwise.

    Observed: verdict (aragora_readiness_verdict, None when not set).
    """
    verdict = observed.get("verdict") or ""
    return {"go": verdict in ("", "GO"),
            "message": "The pre-launch verdict handed to this run is %s, not GO: fix what the prelaunch report names "
                       "and run prelaunch again before going live." % verdict}


def pre_release_backup(observed: Observed) -> dict[str, t.Any]:
    """The pre-release backup: the two releases it protects, the backend, whether its pre-flight passes, and (once
    taken) the backup, its console line and the record published for AWX/AAP.

    Observed: running_release (aragora_golive_running_release), release_tree (the release_switch result read from
    the release tree, None when not read), next_release (aragora_golive_release), db_host (aragora_db_host: set means
    PostgreSQL, else SQLite), host (the target taking it), postgres and sqlite (the backup modules' registered
    results, None when not reached).
    """
    releases = {"running_release": observed.get("running_release") or given(observed, "release_tree").get("current")
                or "",
                "next_release": observed.get("next_release")}
    backend = "postgres" if observed.get("db_host") else "sqlite"
    backup = given(observed, backend)
    check = backup.get("check") if isinstance(backup.get("check"), t.Mapping) else {}
    status = check.get("status", "FAIL")
    verified = backup.get("verified") if isinstance(backup.get("verified"), t.Mapping) else {}
    return {
        "releases": releases,
        "backend": backend,
        "releases_known": bool(releases["running_release"]) and bool(releases["next_release"]),
        "preflight_message": (
            "The pre-release backup needs the release running now (%s) and the one about to go live (%s). Or leave "
            "the phase out (aragora_golive_phases without pre_release_backup) knowing that a rollback cannot bring "
            "the database back." % (releases["running_release"] or UNKNOWN_RUNNING,
                                    releases["next_release"] or UNKNOWN_NEXT)),
        "label": dict(releases, taken_by=observed.get("host")),
        "backup": backup,
        "said": "%s: %s" % (status, check.get("message", backup.get("msg", "the backup task returned no message"))),
        "published": {
            "archive": backup["archive"] if "archive" in backup else backup.get("path"),
            "backend": backend,
            "running_release": releases["running_release"],
            "next_release": releases["next_release"],
            "status": status,
            "sha256": verified.get("sha256"),
        },
    }


def golive_checks(observed: Observed) -> dict[str, t.Any]:
    """The golive role's result: the pre-launch checks, the pre-release backup's check and the smoke test's checks,
    in the order they ran.

    Observed: prelaunch (golive_check's registered result), backup (the backup kept, None when the phase did not
    run), smoke (smoke_test's registered result); a skipped task has no checks.
    """
    backup = given(observed, "backup")
    return {"checks": list(given(observed, "prelaunch").get("checks") or [])
            + ([backup["check"]] if "check" in backup else [])
            + list(given(observed, "smoke").get("checks") or [])}


def watch_plan(observed: Observed) -> dict[str, t.Any]:
    """The watch window's deployment kind (the rollback it would run) and the URL its metrics are read from.

    Observed: deployment_kind (aragora_deployment_kind, empty: inferred), kubeconfig, kube_context, k8s_in_cluster
    (a bool): any Kubernetes access given means kubernetes, else systemd; metrics_url (aragora_golive_metrics_url)
    and api_url: the first set, empty when neither is (the module's own default applies).
    """
    kubernetes = observed.get("kubeconfig") or observed.get("kube_context") or observed.get("k8s_in_cluster")
    return {"kind": observed.get("deployment_kind") or ("kubernetes" if kubernetes else "systemd"),
            "metrics_url": observed.get("metrics_url") or observed.get("api_url") or ""}


def with_watch(observed: Observed) -> dict[str, t.Any]:
    """The golive role's result with the watch window's record added under ``watch``.

    Observed: result (golive_result so far, None when not set), watch (the golive_watch_result record).
    """
    return dict(given(observed, "result"), watch=observed["watch"])
