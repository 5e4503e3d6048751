# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a rollback ended, decided from what its role observed: the outcome, the operator's message, the events and
verification of the incident record, and what is published for AWX/AAP.

The rollback roles only sequence and register (the plan, the switch, the health gate, the failed task and its
result, how far a revert got); these functions turn those observations into the role's one result fact
(``systemd_rollback_result``, ``kubernetes_rollback_result``, ``coordinated_rollback_result``) and the go-live watch
window's record. They are pure: the same observations give the same result, so a role may ask again after each step
(its block ``vars`` call the filters of plugins/filter/rollback.py lazily) and the decisions are unit-tested here
rather than spread over Jinja.

An observation a role never made (a task not reached) is ``None`` or missing; a result registered by Ansible is the
dict Ansible registered (``failed``, ``changed``, ``skipped`` and the module's fields).
"""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._operations.watch import iso_utc

Observed = t.Mapping[str, t.Any]

# The outcomes of the incident record (module_utils/_reporting/incident.py OUTCOMES) a role starts from: a role that
# stops before saying otherwise has failed.
INITIAL_OUTCOME = "failed"

# The extra vars AWX/AAP set to the user who launched the job (tower_user_name is the name older releases use).
LAUNCHED_BY = ("awx_user_name", "tower_user_name")


def given(observed: Observed, key: str) -> dict[str, t.Any]:
    """A registered result, or {} when the task was not reached."""
    value = observed.get(key)
    return dict(value) if isinstance(value, t.Mapping) else {}


def ran(result: t.Mapping[str, t.Any]) -> bool:
    """The task ran to its end without failing (a skipped or unreached task did not)."""
    return bool(result) and not result.get("failed") and not result.get("skipped")


def actor(variables: t.Mapping[str, t.Any], given: t.Iterable[t.Any] = ()) -> str:
    """Who runs the action, for the result facts and the incident record.

    The first non-empty name in ``given``; else the AWX/AAP user who launched the job: the first variable of
    LAUNCHED_BY that is set, as it is set (set but empty stays empty); else ''. An empty actor makes the incident
    record name the local user.
    """
    for name in given:
        if name:
            return str(name)
    for variable in LAUNCHED_BY:
        if variable in variables:
            value = variables[variable]
            return "" if value is None else str(value)
    return ""


def failure(result: t.Mapping[str, t.Any] | None, task_name: str) -> dict[str, t.Any]:
    """Why a task failed, from its name and its result: the messages of its FAIL checks, else its msg.

    ``verification`` is the result itself when it carries checks (a health gate that failed), else {}.
    """
    result = dict(result or {})
    checks = result.get("checks")
    failed = "; ".join(str(check.get("message")) for check in checks or []
                       if isinstance(check, t.Mapping) and check.get("status") == "FAIL")
    return {"reason": "%s: %s" % (task_name, failed or result.get("msg", "failed")),
            "verification": result if "checks" in result else {}}


def _health_summary(verification: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The health gate's verdict and each check's message, by check id, for the incident record."""
    return {"health_verdict": verification.get("verdict"),
            "health_checks": {check.get("id"): check.get("message") for check in verification.get("checks") or []}}


def _published(result: t.Mapping[str, t.Any], *keys: str) -> dict[str, t.Any]:
    """The entry of ``aragora_rollback_results`` (set_stats) for this host."""
    return {key: result.get(key) for key in keys}


def shown(value: t.Any) -> t.Any:
    """A value as a Jinja template shows it inside text: none as nothing."""
    return "" if value is None else value


def _summary_or_stopped(message: str, what: str, reason: str | None) -> str:
    return message or "Rollback of %s stopped before any change: %s" % (what, reason or "see the run log")


# ---- systemd: release symlink, unit restart, health gate, revert ------------------------------------------------

def systemd_rollback(observed: Observed) -> dict[str, t.Any]:
    """The result of the systemd rollback from its observations.

    Observed: host, unit, link_path (root/link), releases_path (root/releases_dir), release (the requested one),
    expected_version, min_free_mb, check_mode, started, actor; registered results before (release_switch read before
    anything), unit (systemctl show LoadState), plan (release_switch in check mode), switch, health
    (health_gate_result), after (release_switch read after a failed revert), revert_switch, revert_restart, incident;
    failure and revert_failure (from :func:`failure`).
    """
    host, unit, link_path = observed["host"], observed["unit"], observed["link_path"]
    check_mode = bool(observed.get("check_mode"))
    plan, switch, health = given(observed, "plan"), given(observed, "switch"), given(observed, "health")
    failed = observed.get("failure") or None
    planned = ran(plan)
    from_, to = (plan.get("from"), plan.get("to")) if planned else (None, None)
    to_version = (observed.get("expected_version") or (plan.get("expected_version") if planned else "") or "")
    events: list[dict[str, t.Any]] = []
    if planned:
        events = [{"step": "%s -> %s (%s)" % (plan.get("link"), plan.get("link_before"), from_)},
                  {"step": "pre-flight passed",
                   "detail": "unit %s %s; release %s complete; %s MB free"
                             % (unit, str(given(observed, "unit_state").get("stdout", "")).strip(), to,
                                observed.get("min_free_mb"))}]
    outcome, message, verification, error = INITIAL_OUTCOME, "", {}, ""
    reason = failed["reason"] if failed else None
    revert_health_verdict = None
    if failed:
        verification = failed.get("verification") or {}
        if not switch.get("changed"):
            error = ("Rollback of %s stopped before any change (%s). %s and %s are as they were."
                     % (host, reason, link_path, unit))
        else:
            events += [{"step": "switched to %s and restarted %s" % (to, unit)}, {"step": "FAILED", "detail": reason}]
            revert_failed = observed.get("revert_failure") or None
            if not revert_failed:
                outcome = "reverted"
                revert_health_verdict = health.get("verdict")
                events.append({"step": "switched back to %s, restarted, health gate passed" % from_})
                message = ("ROLLBACK FAILED on %s: %s did not pass (%s). REVERTED: %s points at %s again and %s "
                           "passed the health gate on it." % (host, to, reason, link_path, from_, unit))
            else:
                done = _revert_done(observed, link_path, from_, unit)
                events.append({"step": "revert to %s%s FAILED" % (from_, (": %s, then" % done) if done else ""),
                               "detail": revert_failed["reason"]})
                if done:
                    how_far = 'REVERT INCOMPLETE: %s, but "%s".' % (done, revert_failed["reason"])
                else:
                    how_far = 'THE REVERT FAILED before anything was reverted: "%s".' % revert_failed["reason"]
                now = given(observed, "after").get("current")
                message = ("ROLLBACK FAILED on %s: %s did not pass (%s). %s Now %s %s. Check %s now (systemctl "
                           "status %s, readlink %s)." % (host, to, reason, how_far, link_path,
                                                         ("points at %s" % now) if now else "cannot be read",
                                                         unit, unit, link_path))
            error = message
    elif planned and to == from_:
        outcome, message = "unchanged", "%s already runs %s: nothing changed." % (host, to)
    elif planned and (check_mode or (ran(switch) and health.get("verdict") == "GO")):
        outcome = "planned" if check_mode else "succeeded"
        verification = {} if check_mode else health
        events.append({"step": "switched to %s, restarted %s, health gate passed" % (to, unit)})
        if check_mode:
            message = "Would roll %s back from %s to %s." % (host, from_, to)
        else:
            message = "Rolled %s back from %s to %s: health gate passed%s." % (
                host, from_, to, (" (version %s)" % to_version) if to_version else "")
    result = {
        "kind": "systemd", "outcome": outcome, "from": from_, "to": to, "expected_version": to_version or None,
        "message": message, "reason": reason, "error": error, "events": events,
        "stopped_before_change": bool(failed) and not switch.get("changed"),
        "started": observed.get("started"), "actor": observed.get("actor") or "",
        "summary": _summary_or_stopped(message, host, reason),
        "record_to": to if planned else observed.get("release"),
        "verification": {"health_verdict": verification.get("verdict"), "health_counts": verification.get("counts"),
                         "health_checks": _health_summary(verification)["health_checks"],
                         "expected_version": to_version or None, "revert_health_verdict": revert_health_verdict},
        "incident_files": list(given(observed, "incident").get("files") or []),
    }
    result["published"] = _published(result, "kind", "outcome", "from", "to", "message", "incident_files")
    result["not_confirmed"] = systemd_not_confirmed(result, host)
    result["no_running_release"] = systemd_no_running_release(given(observed, "before"), observed.get("releases_path"))
    return result


def _revert_done(observed: Observed, link_path: str, from_: t.Any, unit: str) -> str:
    """What the revert did before it failed, observed step by step (only what was done)."""
    if not ran(given(observed, "revert_switch")):
        return ""
    done = "%s points at %s again" % (link_path, from_)
    if ran(given(observed, "revert_restart")):
        done += " and %s was restarted on it" % unit
    return done


def systemd_not_confirmed(result: t.Mapping[str, t.Any], host: str) -> str:
    """The refusal of a rollback that changes something without the operator's go."""
    return ("Not confirmed (aragora_rollback_confirm is false): it would roll %s back from %s to %s. Launch again "
            "with aragora_rollback_confirm=true." % (host, result.get("from"), result.get("to")))


def systemd_no_running_release(before: t.Mapping[str, t.Any], releases_path: t.Any) -> str:
    """The pre-flight's refusal when the link points at no release: there would be nothing to revert to."""
    said = before.get("link_target") or "nothing"
    return ("%s does not point at a release under %s (it says %s): there is no running release to come back to. "
            "Point it at the running release by hand first." % (shown(before.get("link")), releases_path, said))


# ---- Kubernetes: rollout undo, wait, health gate; never rolled forward --------------------------------------------

def kubernetes_rollback(observed: Observed) -> dict[str, t.Any]:
    """The result of the Kubernetes rollback from its observations.

    Observed: kube_context and kubeconfig (the cluster is named by the context, else the kubeconfig, else "default
    kubeconfig"; or cluster, naming it directly), namespace, deployment, revision (asked, 0 = previous),
    expected_version, api_url, confirm, check_mode, started, actor; registered results undo (k8s_rollout_undo,
    which answers with the plan also when it fails or only plans), health (health_gate_result), after (the
    Deployment read after a failure), incident; failure (from :func:`failure`).
    """
    namespace, deployment = observed["namespace"], observed["deployment"]
    cluster = (observed.get("cluster") or observed.get("kube_context") or observed.get("kubeconfig")
               or "default kubeconfig")
    where = "%s %s/deployment/%s" % (cluster, namespace, deployment)
    check_mode, confirmed = bool(observed.get("check_mode")), bool(observed.get("confirm"))
    undo, health, after = given(observed, "undo"), given(observed, "health"), given(observed, "after")
    failed = observed.get("failure") or None
    from_ = _revision(undo, "from_revision", "images_before")
    to = _revision(undo, "to_revision", "images_after")
    version = observed.get("expected_version") or undo.get("version_after") or ""
    events = [{"step": "before: %s" % undo.get("state_before")},
              {"step": "history: %s" % ", ".join(str(entry.get("revision")) for entry in undo["history"]),
               "detail": "; ".join(", ".join(entry.get("images") or []) for entry in undo["history"])}
              ] if "history" in undo else []
    outcome, message, verification, error = INITIAL_OUTCOME, "", {}, ""
    reason = failed["reason"] if failed else None
    # Without the go the undo only planned (check mode); a failed undo that patched nothing changed nothing.
    changed_nothing = bool(failed) and (not undo or not confirmed or (
        bool(undo.get("failed")) and not undo.get("changed") and undo.get("rollout", "skipped") == "skipped"))
    if failed:
        verification = failed.get("verification") or {}
        if changed_nothing:
            error = "Rollback of %s stopped before any change: %s" % (where, reason)
        else:
            state = after.get("state", "unknown (cannot read the Deployment)") if after else \
                "unknown (cannot read the Deployment)"
            events += [{"step": "rolled back to %s" % to}, {"step": "FAILED", "detail": reason},
                       {"step": "after: %s" % state}]
            message = error = (
                "ROLLBACK FAILED for %s: %s. THE DEPLOYMENT IS NOW AT %s. Nothing was rolled forward: decide by hand "
                "(kubectl rollout history deployment/%s -n %s; kubectl describe deployment/%s -n %s)."
                % (where, reason, after.get("state", "an unknown state (cannot read it)") if after
                   else "an unknown state (cannot read it)", deployment, namespace, deployment, namespace))
    elif ran(undo) and (confirmed or check_mode) and (check_mode or health.get("verdict") == "GO"):
        outcome = "planned" if check_mode else "succeeded" if undo.get("changed") else "unchanged"
        verification = {} if check_mode else health
        events += [{"step": undo.get("message")},
                   {"step": "verified: %s" % ("skipped (check mode)" if check_mode else health.get("verdict")),
                    "detail": "expected release %s" % (version or "not compared")}]
        message = "%s%s" % (undo.get("message"), "" if check_mode else " Verified at %s: health GO%s." % (
            observed.get("api_url"), (", release %s" % version) if version else ""))
    revision = _whole(observed.get("revision"))
    result = {
        "kind": "kubernetes", "outcome": outcome, "from": from_, "to": to, "expected_version": version or None,
        "namespace": namespace, "deployment": deployment, "where": where, "cluster": cluster,
        "message": message, "reason": reason, "error": error, "events": events,
        "stopped_before_change": changed_nothing,
        # Without the operator's go, or under --check, the undo only plans.
        "only_plans": check_mode or not confirmed,
        # The release the health gate compares ('' compares none).
        "health_gate_version": version,
        "started": observed.get("started"), "actor": observed.get("actor") or "",
        "summary": _summary_or_stopped(message, where, reason),
        "record_to": to if to is not None else ("revision %d" % revision if revision else "previous revision"),
        "verification": {**_health_summary(verification), "expected_version": version or None,
                         "api_url": observed.get("api_url"), "rollout": undo.get("rollout"),
                         "timings": undo.get("timings"), "deployment_state": (after or undo).get("state")},
        "incident_files": list(given(observed, "incident").get("files") or []),
    }
    result["published"] = _published(result, "kind", "outcome", "namespace", "deployment", "from", "to", "message",
                                     "incident_files")
    result["said"] = "%s: %s Incident record: %s" % (outcome.upper(), message or reason or "",
                                                     ", ".join(result["incident_files"]))
    result["not_confirmed"] = kubernetes_not_confirmed(result)
    return result


def _whole(value: t.Any) -> int:
    """A number as Jinja's int filter reads it: 0 when it is none (preflight has refused it by then)."""
    try:
        return int(float(value or 0))
    except (TypeError, ValueError):
        return 0


def _revision(undo: t.Mapping[str, t.Any], revision: str, images: str) -> str | None:
    """``revision N (image, ...)`` as the undo's answer names it; None when the undo did not answer."""
    if revision not in undo or images not in undo:
        return None
    return "revision %s (%s)" % (undo[revision], ", ".join(undo[images] or []))


def kubernetes_not_confirmed(result: t.Mapping[str, t.Any]) -> str:
    """The refusal of a rollout undo without the operator's go (the undo only planned)."""
    return ("Not confirmed (aragora_rollback_confirm is false): it would roll %s back to %s. Launch again with "
            "aragora_rollback_confirm=true to do it." % (result.get("from"), result.get("to")))


# ---- the go-live watch window: breach, automatic rollback, its record -----------------------------------------

# What an operator does when the automatic rollback did not run or did not succeed.
ROLL_BACK_BY_HAND = "roll back by hand (playbooks/rollback.yml)"


def golive_watch(observed: Observed) -> dict[str, t.Any]:
    """The record of a watch window that breached, and what the automatic rollback did.

    Observed: host, kind (systemd or kubernetes), check_mode, watch (the watch_window result), rollback_started_at
    (controller epoch seconds, None when no automatic rollback ran), rollback (that kind's rollback result fact, None
    when it did not run), rollback_error (the message of a rollback that failed), actor, incident.
    """
    watch = dict(observed["watch"])
    breach = dict(watch.get("breach") or {})
    started_at = observed.get("rollback_started_at")
    rollback = dict(observed.get("rollback") or {})
    rolled = started_at is not None
    rollback_outcome = rollback.get("outcome", "not run") if rolled else "not run"
    outcome = "planned" if observed.get("check_mode") else (
        "succeeded" if rollback_outcome in ("succeeded", "unchanged") else "failed")
    reasons = "; ".join(breach.get("reasons") or [])
    delay = round(float(started_at) - float(breach.get("detected_at") or 0), 3) if rolled else None
    started_iso = iso_utc(float(started_at)) if rolled else None
    if rolled:
        error = observed.get("rollback_error")
        after = "Rollback started %s s after the breach was seen: %s.%s" % (delay, outcome,
                                                                            (" %s" % error) if error else "")
    else:
        after = "Automatic rollback is off (aragora_golive_auto_rollback): %s." % ROLL_BACK_BY_HAND
    files = list(given(observed, "incident").get("files") or [])
    return {
        "breached": bool(watch.get("breached")), "outcome": outcome, "rollback_outcome": rollback_outcome,
        "from": rollback.get("from") or None, "to": rollback.get("to") or None,
        "summary": "Watch window breached %s s after go-live (%s). %s" % (breach.get("after_s"), reasons, after),
        "verification": {"breach_reasons": breach.get("reasons"), "breach_sample": breach.get("sample"),
                         "breach_detected_at": breach.get("detected_at_iso"), "rollback_started_at": started_iso,
                         "breach_to_rollback_started_s": delay, "rollback_kind": observed.get("kind"),
                         "rollback_outcome": rollback_outcome, "watch_source": watch.get("source"),
                         "thresholds": watch.get("thresholds")},
        "events": [{"step": "watch started %s (%s)" % (watch.get("started_at"), watch.get("source"))},
                   {"step": "breach seen %s" % breach.get("detected_at_iso"), "detail": reasons},
                   {"step": ("rollback started %s (+%s s)" % (started_iso, delay)) if rolled
                    else "no automatic rollback"},
                   {"step": "rollback %s" % rollback_outcome}],
        "started": watch.get("started_at"), "actor": observed.get("actor") or "",
        "incident_files": files, "said": watch_said(watch),
        "error": _golive_stop_message(observed, rolled, outcome, rollback_outcome, reasons, files),
    }


def _golive_stop_message(observed: Observed, rolled: bool, outcome: str, rollback_outcome: str, reasons: str,
                         files: list[str]) -> str:
    """Why the go-live stops, saying what became of the release: rolled back only when the rollback succeeded."""
    host, record = observed.get("host"), "Incident record: %s." % ", ".join(files)
    if outcome == "succeeded":
        return "GO-LIVE ROLLED BACK on %s: %s. %s" % (host, reasons, record)
    if observed.get("check_mode"):
        return "GO-LIVE WATCH BREACHED on %s: %s. Check mode: the rollback was planned, not done. %s" % (
            host, reasons, record)
    if not rolled:
        return ("GO-LIVE WATCH BREACHED on %s: %s. The release is still live: automatic rollback is off "
                "(aragora_golive_auto_rollback); %s. %s" % (host, reasons, ROLL_BACK_BY_HAND, record))
    error = " (%s)" % observed["rollback_error"] if observed.get("rollback_error") else ""
    return "GO-LIVE ROLLBACK FAILED on %s: %s. The automatic rollback ended %s%s: %s. %s" % (
        host, reasons, rollback_outcome, error, ROLL_BACK_BY_HAND, record)


def watch_said(watch: t.Mapping[str, t.Any]) -> str:
    """One line saying what the watch window saw."""
    if watch.get("breached"):
        breach = watch.get("breach") or {}
        return "BREACH after %s s: %s" % (breach.get("after_s"), "; ".join(breach.get("reasons") or []))
    return "No threshold crossed in %s s (%s samples of %s)" % (
        watch.get("watched_s"), watch.get("samples_taken"), watch.get("source"))


# ---- coordinated: application and database back together ----------------------------------------------------

def coordinated_application(observed: Observed) -> dict[str, t.Any]:
    """The application plan of a coordinated rollback: the recorded one on a rerun, else from this run's plan.

    Observed: recorded (the plan in the state file, {} when none), kind, expected_version, root, releases_dir,
    link; systemd_plan (release_switch in check mode) or k8s_plan (k8s_rollout_undo in check mode).
    """
    if observed.get("recorded"):
        return dict(observed["recorded"])
    if observed["kind"] == "systemd":
        plan = given(observed, "systemd_plan")
        return {"kind": "systemd", "from": plan.get("from"), "to": plan.get("to"),
                "expected_version": observed.get("expected_version") or plan.get("expected_version") or "",
                "root": observed.get("root"), "releases_dir": observed.get("releases_dir"), "link": observed.get("link")}
    plan = given(observed, "k8s_plan")
    images = plan.get("images_before") or []
    return {"kind": "kubernetes",
            "from": images[0].rsplit(":", 1)[-1] if images else None,  # the running image's tag
            "to": plan.get("version_after"),
            "expected_version": observed.get("expected_version") or plan.get("version_after"),
            "to_revision": plan.get("to_revision"), "images_after": plan.get("images_after")}


# The steps whose answers are the record's events, in order.
COORDINATED_STEPS = ("plan", "validate", "safety", "stop", "restore", "verify", "switch", "start")


def coordinated_rollback(observed: Observed) -> dict[str, t.Any]:
    """The result of the coordinated rollback from its observations.

    Observed: host, kind, database, state_path, check_mode, started, actor, application (None before it is known);
    the step answers (COORDINATED_STEPS and finish), health (health_gate_result), after (the state file read after
    a failure, {} when there is none), where (the failed step's where_things_stand), incident; failure.
    """
    host, database, state_path = observed["host"], observed["database"], observed["state_path"]
    application = dict(observed.get("application") or {})
    steps = {name: given(observed, name) for name in COORDINATED_STEPS}
    failed = observed.get("failure") or None
    check_mode = bool(observed.get("check_mode"))
    outcome, message = INITIAL_OUTCOME, None
    if failed:
        message = "COORDINATED ROLLBACK FAILED on %s (%s). %s %s" % (
            host, failed["reason"], _coordinated_where(observed, application, steps["start"], state_path),
            observed.get("where") or "")
    elif ran(given(observed, "finish")):
        outcome = "succeeded"
    plan, verify = steps["plan"], steps["verify"]
    impact = plan.get("impact") or {}
    said = "planned" if check_mode else outcome
    files = list(given(observed, "incident").get("files") or [])
    result = {
        "kind": observed["kind"], "database": database, "outcome": said, "from": application.get("from"),
        "to": application.get("to"), "expected_version": application.get("expected_version"),
        "application": application or None, "message": message, "reason": failed["reason"] if failed else "",
        "error": "" if outcome == "succeeded" or check_mode else (
            message or "COORDINATED ROLLBACK FAILED on %s: it stopped before its end (see the run log)." % host),
        "summary": message if message is not None else "Rolled %s and database %s back to %s: %s" % (
            host, database, application.get("to", "?"), verify.get("message", "")),
        "verification": {
            "archive": plan.get("archive"),
            "discarded": verify["discarded"] if "discarded" in verify else impact.get("discarded"),
            "schema": impact.get("schema"), "kept_database": verify.get("old_database"),
            "row_counts_verified": verify.get("counts_verified", False),
            "safety_dump": steps["safety"].get("path"), "health": given(observed, "health").get("verdict"),
            "expected_version": application.get("expected_version")},
        "events": [{key: value for key, value in steps[name].items() if key in ("step", "message")}
                   for name in COORDINATED_STEPS if "step" in steps[name]],
        "started": observed.get("started"), "actor": observed.get("actor") or "", "incident_files": files,
    }
    result["published"] = _published(result, "kind", "database", "outcome", "from", "to", "incident_files")
    result["plan_report"] = [plan.get("message"), steps["validate"].get("message"),
                             _coordinated_would_then(observed["kind"], application, check_mode)]
    return result


def _coordinated_would_then(kind: str, application: t.Mapping[str, t.Any], check_mode: bool) -> str:
    """What the steps after the plan and the validation do (the run prints it with the plan)."""
    return ("%s: stop the writers (%s), restore into a new database, verify it, swap it in (the current one kept), "
            "switch the application to %s, start it and wait for the health gate (release %s)."
            % ("Would then" if check_mode else "Now", kind, shown(application.get("to")),
               application.get("expected_version") or "not compared"))


def _coordinated_where(observed: Observed, application: t.Mapping[str, t.Any], start: t.Mapping[str, t.Any],
                       state_path: str) -> str:
    """Where a failed coordinated rollback left the database, the writers and the application."""
    after = given(observed, "after")
    if not after:
        return "Nothing was changed."
    if not after.get("swapped"):
        writers = ("; the writers run again" if not start.get("failed")
                   else "; THE WRITERS ARE NOT RUNNING: %s" % start.get("msg", ""))
        return "The live database and %s are as they were%s." % (application.get("from", "the running release"),
                                                                 writers)
    if ((after.get("steps") or {}).get("switch_release") or {}).get("status", "") != "done":
        return ("The restored database is LIVE and the writers are STOPPED: do not start %s on it. Rerun the same "
                "command to finish (it resumes from %s)." % (application.get("from"), state_path))
    return ("Database and application are rolled back to %s; what failed is after the switch. Rerun the same "
            "command to finish (it resumes from %s)." % (application.get("to"), state_path))
