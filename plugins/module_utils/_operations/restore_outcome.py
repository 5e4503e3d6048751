# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a database restore ended, decided from what the db_restore role observed: the outcome, the report of each
step, the incident record's fields and the message the run fails with.

The role only sequences and registers (each step's answer, the failed task and its result, the health gate); these
functions turn those observations into its one result fact, ``db_restore_result``. They are pure, as
rollback_outcome's: the role's block ``vars`` call them lazily through the filters of plugins/filter/database.py, so
each use sees what has been observed so far, and the decisions are unit-tested here rather than spread over Jinja.

An observation the role never made (a task not reached) is ``None`` or missing; a registered result is the dict
Ansible registered (``failed``, ``changed``, ``skipped`` and the module's fields).
"""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._operations.rollback_outcome import (
    INITIAL_OUTCOME, Observed, given, ran)

NOT_RUN = "not run"
NO_HEALTH_CHECK = "not checked (no aragora_api_url)"


def step_failure(result: t.Mapping[str, t.Any] | None, task_name: str) -> dict[str, t.Any]:
    """Why a restore step failed: its task's name and its ``msg``, and where things stood when it failed.

    Not rollback_outcome.failure: a restore step's reason is its ``msg`` even when it carries checks (the verify step,
    the health gate), as the restore has always reported it.
    """
    result = dict(result or {})
    return {"reason": "%s: %s" % (task_name, result["msg"] if "msg" in result else "failed"),
            "where_things_stand": result.get("where_things_stand", "")}


def _reason(*failures: t.Mapping[str, t.Any] | None) -> str:
    """The failures in the order they happened: the step's, then the one bringing the service back."""
    return "; ".join(failure["reason"] for failure in failures if failure)


def _said(result: t.Mapping[str, t.Any]) -> t.Any:
    """What a step said: its message, else its error, else that it did not run."""
    if "message" in result:
        return result["message"]
    return result.get("msg", NOT_RUN)


def _outcome(check_mode: bool, done: bool, reason: str) -> str:
    """``planned`` for a --check that found nothing wrong; ``succeeded`` once the last step is done and nothing
    failed; else ``failed``."""
    if check_mode and not reason:
        return "planned"
    return "succeeded" if done and not check_mode and not reason else INITIAL_OUTCOME


def _health_verdict(observed: Observed, default: t.Any) -> t.Any:
    return given(observed, "health").get("verdict", default)


# ---- PostgreSQL: seven steps, the writers always brought back ---------------------------------------------------

# The report's keys (as the run prints them) and the step answer each reads.
POSTGRES_STEPS = (("1 plan", "plan"), ("2 validate", "validate"), ("3 safety dump", "safety"),
                  ("4 stop writers", "stop"), ("5 restore", "restore"), ("6 verify and swap", "verify"),
                  ("7 writers back", "start"))


def postgres_restore(observed: Observed) -> dict[str, t.Any]:
    """The result of the PostgreSQL restore from its observations.

    Observed: host, database, archive (the one asked for, '' for the newest), api_url, check_mode, started, actor,
    and for the check-mode plan safety_dump (bool), writers, jobs, checks; the step answers plan, validate, safety,
    stop, restore, verify, start, finish; health (health_gate_result); failure (the failed step's :func:`step_failure`)
    and writers_failure (that of the step bringing the writers back, or of the health gate, or of finish).
    """
    host, database = observed["host"], observed["database"]
    check_mode = bool(observed.get("check_mode"))
    steps = {name: given(observed, name) for _key, name in POSTGRES_STEPS}
    finish = given(observed, "finish")
    failure, writers_failure = observed.get("failure") or None, observed.get("writers_failure") or None
    reason = _reason(failure, writers_failure)
    # The step that failed observed it at that moment; a failure bringing the writers back saw it later.
    where = failure["where_things_stand"] if failure else ""
    if writers_failure:
        where = writers_failure["where_things_stand"] or where
    stands = finish.get("where_things_stand") or where
    outcome = _outcome(check_mode, ran(steps["verify"]), reason)
    plan, verify = steps["plan"], steps["verify"]
    summary = ("Restored %s from %s" % (database, plan.get("archive", "?")) if outcome == "succeeded"
               else "Restore of %s FAILED: %s" % (database, reason))
    report: dict[str, t.Any] = {"outcome": outcome}
    report.update((key, _said(steps[name])) for key, name in POSTGRES_STEPS)
    report["7 health"] = _health_verdict(observed, NO_HEALTH_CHECK)
    report["where_things_stand"] = stands
    fails = outcome != "succeeded" and (not check_mode or bool(reason))
    return {
        "kind": "postgres", "outcome": outcome, "host": host, "database": database, "api_url": observed.get("api_url"),
        "from": plan.get("target"), "to": plan["archive"] if "archive" in plan else observed.get("archive"),
        "reason": reason, "where_things_stand": stands, "report": report,
        "plan_report": [plan.get("message"), steps["validate"].get("message"), _would_then(observed)],
        # Once the plan passed, a run may have stopped the writers: step 7 brings them back whatever failed after.
        "bring_writers_back": not check_mode and ran(plan),
        "summary": "%s %s" % (summary, stands),
        "verification": {"row_counts_verified": verify.get("counts_verified", False),
                         "tables": verify.get("tables"), "rows": verify.get("rows"),
                         "health": _health_verdict(observed, None), "safety_dump": steps["safety"].get("path")},
        # The verify step's own results of the common check schema (restore.row_counts, restore.sql_check_<n>).
        "verify_checks": list(verify.get("checks") or []),
        "events": [{"step": step, "detail": detail} for step, detail in (finish.get("steps") or {}).items()],
        "started": observed.get("started"), "actor": observed.get("actor") or "",
        "error": ("DATABASE RESTORE FAILED on %s (%s). %s" % (host, reason, stands or "This run changed nothing.")
                  if fails else ""),
        "incident_files": list(given(observed, "incident").get("files") or []),
    }


def _would_then(observed: Observed) -> str:
    """What a confirmed run would do after the plan and the validation (the check-mode report)."""
    checks = observed.get("checks") or []
    return ("Would then: %sstop the writers (%s), restore into a new database with --exit-on-error --jobs %s, verify "
            "row counts%s, swap it in by rename, and bring the writers back."
            % ("take a safety dump, " if observed.get("safety_dump") else "", observed.get("writers"),
               observed.get("jobs"), (" and %d SQL check(s)" % len(checks)) if checks else ""))


# ---- SQLite: the files of ARAGORA_DATA_DIR, the unit stopped and started again ----------------------------------

def sqlite_restore(observed: Observed) -> dict[str, t.Any]:
    """The result of the SQLite restore from its observations.

    Observed: host, data_dir, archive (the set asked for, '' for the newest), api_url, unit, check_mode, started,
    actor; the registered results plan (sqlite_backup state=restore in check mode), unit_state (systemd_service,
    read only), stop, restore, start; health (health_gate_result); failure (the failed step's :func:`step_failure`) and
    unit_failure (that of starting the unit again or of the health gate).
    """
    host, data_dir, unit = observed["host"], observed["data_dir"], observed["unit"]
    check_mode = bool(observed.get("check_mode"))
    plan, restore, unit_state = given(observed, "plan"), given(observed, "restore"), given(observed, "unit_state")
    reason = _reason(observed.get("failure") or None, observed.get("unit_failure") or None)
    outcome = _outcome(check_mode, ran(restore), reason)
    # A restore that ran without failing (a skipped one counts, as Ansible's `succeeded` test counts it).
    restored = bool(restore) and not restore.get("failed")
    safety_copy = restore.get("safety_copy")
    summary = ("Restored the SQLite files of %s from %s" % (data_dir, plan.get("path", "?")) if outcome == "succeeded"
               else "Restore of the SQLite files of %s FAILED: %s" % (data_dir, reason))
    fails = bool(reason) or (outcome != "succeeded" and not check_mode)
    return {
        "kind": "sqlite", "outcome": outcome, "host": host, "data_dir": data_dir, "api_url": observed.get("api_url"),
        "from": data_dir, "to": plan["path"] if "path" in plan else (observed.get("archive") or None),
        "reason": reason,
        "not_confirmed": ("Refusing to restore without confirmation: the restore %s. Rerun with -e "
                          "aragora_restore_confirm=true once you are sure." % plan.get("msg")),
        # Once the unit's state was read, the unit may be stopped: step 7 starts it again whatever failed after.
        "bring_unit_back": not check_mode and bool(unit_state),
        "unit_was_active": (unit_state.get("status") or {}).get("ActiveState", "inactive") == "active",
        "report": [restore["msg"] if "msg" in restore else (reason or "restore not done: see the failed task above"),
                   "Health: %s" % _health_verdict(observed, NO_HEALTH_CHECK)],
        "summary": summary,
        "verification": {"files_verified": restored,
                         "files": len(restore.get("files") or []) if restored else None,
                         "rows": restore.get("rows"), "health": _health_verdict(observed, None),
                         "safety_copy": safety_copy},
        "events": [{"step": "validate", "detail": plan.get("msg", NOT_RUN)},
                   {"step": "stop unit", "detail": unit + _unit_stopped(given(observed, "stop"))},
                   {"step": "restore", "detail": restore.get("msg", NOT_RUN)},
                   {"step": "start unit", "detail": unit + _unit_started(given(observed, "start"), bool(unit_state))},
                   {"step": "health", "detail": _health_verdict(observed, "not checked")}],
        "started": observed.get("started"), "actor": observed.get("actor") or "",
        "error": ("DATABASE RESTORE FAILED on %s (%s).%s" % (host, reason, (
            " The files of %s were restored; the previous files are kept in %s." % (data_dir, safety_copy))
            if safety_copy else "") if fails else ""),
        "incident_files": list(given(observed, "incident").get("files") or []),
    }


def _unit_stopped(stop: t.Mapping[str, t.Any]) -> str:
    if not stop:
        return ": not run"
    return " not stopped" if stop.get("failed") else " stopped"


def _unit_started(start: t.Mapping[str, t.Any], unit_read: bool) -> str:
    # Ansible registers a skipped result also when the whole step 7 is skipped: without the unit's state read first,
    # the unit was never stopped, so nothing was left stopped either.
    if not start or not unit_read:
        return ": not run"
    if start.get("skipped"):
        return " left stopped (it was not running)"
    return " NOT started" if start.get("failed") else " started"


# ---- the restore drill: the newest archive into a scratch database, verified, dropped -----------------------------

def drill_restore(observed: Observed) -> dict[str, t.Any]:
    """The result of the restore drill (tasks_from drill.yml) from its one registered step.

    Observed: host, database, evidence_file, check_mode, actor; drill (postgres_restore step=drill, registered also
    when it fails: its evidence is evidence too). No incident record: a drill changes nothing the application sees.
    """
    host, database = observed["host"], observed["database"]
    check_mode = bool(observed.get("check_mode"))
    drill = given(observed, "drill")
    evidence = dict(drill.get("evidence") or {})
    # The message the failed drill fails with is the module's own.
    reason = "" if ran(drill) else str(drill.get("msg") or "the restore drill did not run")
    outcome = _outcome(check_mode, ran(drill), reason)
    said = ("%s Evidence: %s" % (drill["message"], observed.get("evidence_file"))) if "message" in drill else reason
    return {
        "kind": "postgres", "outcome": outcome, "host": host, "database": database,
        "from": drill.get("archive"), "to": drill.get("scratch_database"), "reason": reason,
        "report": said,
        "summary": said if outcome != INITIAL_OUTCOME else "Restore drill of %s FAILED: %s" % (database, reason),
        "verification": {"row_counts_verified": drill.get("counts_verified", False),
                         "tables": drill.get("tables_restored"), "rows": drill.get("rows_restored"),
                         "evidence_file": drill.get("evidence_file") or observed.get("evidence_file")},
        # The drill's own results of the common check schema, as the verify step's (restore.row_counts, ...).
        "verify_checks": list(drill.get("checks") or []),
        "evidence": evidence or None, "events": [], "incident_files": [],
        "started": evidence.get("started_at"), "actor": observed.get("actor") or "",
        "error": reason,
    }


# ---- db_backup: the schedule installed, one backup now ------------------------------------------------------------

CRON_DEFAULTS = {"minute": "0", "hour": "2", "day": "*", "weekday": "*"}


def db_backup(observed: Observed) -> dict[str, t.Any]:
    """The result of the db_backup role: the schedule it installs and the backup it ran now.

    Observed: scheduler (systemd or cron), unit_name, on_calendar, cron (the user's cron fields), env_file, python,
    lib_dir, backup_dir, keep_days, timeout, run_now; the registered results service_run (the service started once,
    systemd) and backup (aragora.ops.postgres_backup, cron); none when not reached. The result holds no secret: the
    password is only in the env file the job reads.
    """
    scheduler, unit_name = observed["scheduler"], observed["unit_name"]
    fields = dict(observed.get("cron") or {})
    cron = {field: fields.get(field, default) for field, default in CRON_DEFAULTS.items()}
    # The job reads libpq's settings from the env file (set -a exports them to the script).
    cron["job"] = ("set -a && . %s && %s %s/aragora-db-backup --dir %s --keep-days %s --timeout %s"
                   % (observed["env_file"], observed["python"], observed["lib_dir"], observed["backup_dir"],
                      observed["keep_days"], observed["timeout"]))
    service_run, backup = given(observed, "service_run"), given(observed, "backup")
    if not observed.get("run_now"):
        backup_now = "not run (aragora_backup_run_now is false)"
    elif scheduler == "systemd":
        backup_now = ("%s.service started: it writes the archive" % unit_name if ran(service_run)
                      else "%s.service not started" % unit_name)
    else:
        backup_now = "written: %s" % backup.get("archive") if ran(backup) else "not written"
    return {
        "scheduler": scheduler,
        "schedule": ("%s.timer (OnCalendar=%s)" % (unit_name, observed.get("on_calendar")) if scheduler == "systemd"
                     else "cron file %s: %s" % (unit_name, " ".join(cron[field] for field in CRON_DEFAULTS))),
        "cron": cron if scheduler == "cron" else None,
        "backup_now": backup_now,
        "archive": backup.get("archive") if ran(backup) else None,
    }
