"""The db_restore role's decisions: outcome, step report, incident record fields and fail message from observations."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._operations import restore_outcome as ro

PLAN = {"changed": False, "target": "aragora on db:5432 (12 tables, 340 rows)", "archive": "/b/aragora-1.dump",
        "message": "Would replace aragora with /b/aragora-1.dump."}
VALIDATE = {"changed": False, "message": "Archive valid: sha256 matches, 12 tables."}
SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False", "false_condition": False}
SAFETY = {"changed": True, "message": "Safety dump off.", "path": None}
STOP = {"changed": True, "message": "Scaled deployment/aragora to 0."}
RESTORE = {"changed": True, "message": "Restored into aragora_restore_1."}
VERIFY = {"changed": True, "message": "340 rows verified; swapped in.", "counts_verified": True, "tables": 12,
          "rows": 340}
START = {"changed": True, "message": "Scaled deployment/aragora back to 2."}
FINISH = {"changed": True, "steps": {"plan": "done", "restore": "done"},
          "where_things_stand": "aragora is the restored data; the writers run."}
GO = {"verdict": "GO", "checks": []}
STANDS = "The live database aragora is the previous data (untouched); the writers are stopped."
DONE = dict(plan=PLAN, validate=VALIDATE, safety=SAFETY, stop=STOP, restore=RESTORE, verify=VERIFY, start=START,
            finish=FINISH, health=GO)


def postgres(**observed):
    base = {"host": "db", "database": "aragora", "archive": "", "check_mode": False,
            "started": "2026-12-01T15:00:00+00:00", "actor": "", "safety_dump": False, "writers": "kubernetes",
            "jobs": 2, "checks": []}
    return ro.postgres_restore({**base, **observed})


def failed(task, msg, where=None):
    result = {"failed": True, "msg": msg}
    if where is not None:
        result["where_things_stand"] = where
    return ro.step_failure(result, task)


def test_step_failure_is_the_task_and_its_msg_even_with_checks():
    result = {"failed": True, "msg": "2 check(s) failed", "checks": [{"status": "FAIL", "message": "rows differ"}],
              "where_things_stand": STANDS}
    assert ro.step_failure(result, "Step 6") == {"reason": "Step 6: 2 check(s) failed", "where_things_stand": STANDS}
    assert ro.step_failure(None, "Step 1") == {"reason": "Step 1: failed", "where_things_stand": ""}


def test_postgres_succeeded_reports_each_step_and_records_the_verification():
    result = postgres(**DONE)
    assert result["outcome"] == "succeeded" and result["error"] == "" and result["reason"] == ""
    assert result["report"] == {
        "outcome": "succeeded", "1 plan": PLAN["message"], "2 validate": VALIDATE["message"],
        "3 safety dump": "Safety dump off.", "4 stop writers": STOP["message"], "5 restore": RESTORE["message"],
        "6 verify and swap": VERIFY["message"], "7 writers back": START["message"], "7 health": "GO",
        "where_things_stand": FINISH["where_things_stand"]}
    assert list(result["report"]) == ["outcome", "1 plan", "2 validate", "3 safety dump", "4 stop writers",
                                      "5 restore", "6 verify and swap", "7 writers back", "7 health",
                                      "where_things_stand"]
    assert result["summary"] == "Restored aragora from /b/aragora-1.dump " + FINISH["where_things_stand"]
    assert result["from"] == PLAN["target"] and result["to"] == "/b/aragora-1.dump"
    assert result["verification"] == {"row_counts_verified": True, "tables": 12, "rows": 340, "health": "GO",
                                      "safety_dump": None}
    assert result["events"] == [{"step": "plan", "detail": "done"}, {"step": "restore", "detail": "done"}]
    assert result["bring_writers_back"] is True


def test_postgres_without_api_url_says_health_not_checked():
    result = postgres(**{**DONE, "health": None})
    assert result["report"]["7 health"] == "not checked (no aragora_api_url)"
    assert result["verification"]["health"] is None and result["outcome"] == "succeeded"


def test_postgres_failed_at_plan_changed_nothing_and_brings_no_writer_back():
    failure = failed("Step 1 - say what will be replaced", "Refusing to restore without confirmation")
    result = postgres(plan={"failed": True, "msg": "Refusing to restore without confirmation"}, failure=failure)
    assert result["outcome"] == "failed" and result["bring_writers_back"] is False
    assert result["report"]["1 plan"] == "Refusing to restore without confirmation"
    assert result["report"]["2 validate"] == "not run" and result["report"]["7 health"] == "not checked (no " \
        "aragora_api_url)"
    assert result["error"] == ("DATABASE RESTORE FAILED on db (Step 1 - say what will be replaced: Refusing to "
                               "restore without confirmation). This run changed nothing.")
    assert result["from"] is None and result["to"] == "" and result["events"] == []
    assert result["summary"] == "Restore of aragora FAILED: %s " % failure["reason"]
    assert result["verification"] == {"row_counts_verified": False, "tables": None, "rows": None, "health": None,
                                      "safety_dump": None}


def test_postgres_failed_at_validate_names_the_archive_asked_for():
    failure = failed("Step 2 - validate the archive", "sha256 mismatch", "Nothing was changed.")
    result = postgres(archive="/b/x.dump", plan=PLAN, validate={"failed": True, "msg": "sha256 mismatch"},
                      failure=failure)
    assert result["outcome"] == "failed" and result["bring_writers_back"] is True
    assert result["report"]["2 validate"] == "sha256 mismatch" and result["where_things_stand"] == \
        "Nothing was changed."
    assert result["error"] == ("DATABASE RESTORE FAILED on db (Step 2 - validate the archive: sha256 mismatch). "
                               "Nothing was changed.")
    assert result["to"] == "/b/aragora-1.dump"  # the plan's archive, once the plan named it
    assert postgres(archive="/b/x.dump")["to"] == "/b/x.dump"


def test_postgres_failed_at_restore_the_writers_back_and_the_state_closed():
    failure = failed("Step 5 - restore into a new database", "pg_restore failed", STANDS)
    finish = {**FINISH, "where_things_stand": "The live database aragora is the previous data (untouched); the "
                                              "writers run."}
    result = postgres(**{**DONE, "restore": {"failed": True, "msg": "pg_restore failed"}, "verify": SKIPPED,
                         "finish": finish}, failure=failure)
    assert result["outcome"] == "failed" and result["report"]["outcome"] == "failed"
    assert result["report"]["6 verify and swap"] == "not run"  # a skipped step said nothing
    assert result["where_things_stand"] == finish["where_things_stand"]  # the later observation wins
    assert result["error"] == "DATABASE RESTORE FAILED on db (%s). %s" % (failure["reason"],
                                                                          finish["where_things_stand"])
    assert result["verification"]["row_counts_verified"] is False


def test_postgres_writers_not_back_appends_the_reason_and_keeps_the_latest_observation():
    failure = failed("Step 5 - restore into a new database", "pg_restore failed", STANDS)
    writers = failed("Step 7 - bring the writers back as they were", "timed out scaling up",
                     "THE WRITERS ARE STOPPED: scale deployment/aragora to 2.")
    result = postgres(**{**DONE, "restore": {"failed": True, "msg": "pg_restore failed"}, "verify": SKIPPED,
                         "start": {"failed": True, "msg": "timed out scaling up"}, "finish": None,
                         "health": None}, failure=failure, writers_failure=writers)
    assert result["reason"] == ("Step 5 - restore into a new database: pg_restore failed; Step 7 - bring the "
                                "writers back as they were: timed out scaling up")
    assert result["where_things_stand"] == "THE WRITERS ARE STOPPED: scale deployment/aragora to 2."
    assert result["report"]["7 writers back"] == "timed out scaling up"
    assert result["error"].endswith("). THE WRITERS ARE STOPPED: scale deployment/aragora to 2.")
    # A failure bringing them back that observed nothing keeps what the failed step saw.
    quiet = failed("Step 7 - health of the application", "NO-GO")
    assert postgres(failure=failure, writers_failure=quiet)["where_things_stand"] == STANDS


def test_postgres_writers_not_back_after_a_restore_that_succeeded_is_a_failure():
    writers = failed("Wait until the server passes the health gate", "NO-GO after 30 s")
    result = postgres(**{**DONE, "health": {"failed": True, "verdict": "NO-GO"}, "finish": None},
                      writers_failure=writers)
    assert result["outcome"] == "failed" and result["verification"]["row_counts_verified"] is True
    assert result["summary"] == "Restore of aragora FAILED: Wait until the server passes the health gate: NO-GO " \
        "after 30 s "
    assert result["error"] == ("DATABASE RESTORE FAILED on db (Wait until the server passes the health gate: NO-GO "
                               "after 30 s). This run changed nothing.")


def test_postgres_check_mode_planned_says_what_it_would_then_do():
    result = postgres(check_mode=True, plan=PLAN, validate=VALIDATE, safety=SKIPPED, stop=SKIPPED,
                      restore=SKIPPED, verify=SKIPPED, start=SKIPPED, finish=SKIPPED)
    assert result["outcome"] == "planned" and result["report"]["outcome"] == "planned" and result["error"] == ""
    assert result["bring_writers_back"] is False and result["report"]["3 safety dump"] == "not run"
    assert result["report"]["where_things_stand"] == ""
    assert result["plan_report"] == [PLAN["message"], VALIDATE["message"], (
        "Would then: stop the writers (kubernetes), restore into a new database with --exit-on-error --jobs 2, "
        "verify row counts, swap it in by rename, and bring the writers back.")]
    with_all = postgres(check_mode=True, plan=PLAN, validate=VALIDATE, safety_dump=True, writers="systemd", jobs=4,
                        checks=[{"sql": "SELECT true"}, {"sql": "SELECT 1 = 1"}])
    assert with_all["plan_report"][2] == (
        "Would then: take a safety dump, stop the writers (systemd), restore into a new database with "
        "--exit-on-error --jobs 4, verify row counts and 2 SQL check(s), swap it in by rename, and bring the "
        "writers back.")


def test_postgres_check_mode_plan_refusal_fails_the_check_run():
    failure = failed("Step 2 - validate the archive before touching anything", "not a pg_dump archive")
    result = postgres(check_mode=True, plan=PLAN, validate={"failed": True, "msg": "not a pg_dump archive"},
                      failure=failure)
    assert result["outcome"] == "failed" and result["report"]["outcome"] == "failed"
    assert result["error"] == ("DATABASE RESTORE FAILED on db (Step 2 - validate the archive before touching "
                               "anything: not a pg_dump archive). This run changed nothing.")


# ---- SQLite ------------------------------------------------------------------------------------------------------

SET = "/b/aragora-sqlite-20261201T150000"
SQLITE_PLAN = {"changed": True, "path": SET, "msg": "would replace 25 files of /data from %s" % SET}
UNIT = {"changed": False, "status": {"ActiveState": "active"}}
SQLITE_DONE = {"changed": True, "msg": "restored 25 files", "files": ["a.db", "b.db"], "rows": 13,
               "safety_copy": "/b/aragora-sqlite-pre-restore-1"}


def sqlite(**observed):
    base = {"host": "db", "data_dir": "/data", "archive": "", "unit": "aragora.service", "check_mode": False,
            "started": "2026-12-01T15:00:00+00:00", "actor": "alice"}
    return ro.sqlite_restore({**base, **observed})


def test_sqlite_succeeded_records_files_rows_and_each_step():
    result = sqlite(plan=SQLITE_PLAN, unit_state=UNIT, stop={"changed": True}, restore=SQLITE_DONE,
                    start={"changed": True}, health=GO)
    assert result["outcome"] == "succeeded" and result["error"] == "" and result["unit_was_active"] is True
    assert result["summary"] == "Restored the SQLite files of /data from %s" % SET
    assert result["from"] == "/data" and result["to"] == SET and result["actor"] == "alice"
    assert result["report"] == ["restored 25 files", "Health: GO"]
    assert result["verification"] == {"files_verified": True, "files": 2, "rows": 13, "health": "GO",
                                      "safety_copy": "/b/aragora-sqlite-pre-restore-1"}
    assert result["events"] == [
        {"step": "validate", "detail": SQLITE_PLAN["msg"]}, {"step": "stop unit", "detail": "aragora.service stopped"},
        {"step": "restore", "detail": "restored 25 files"},
        {"step": "start unit", "detail": "aragora.service started"}, {"step": "health", "detail": "GO"}]


def test_sqlite_refused_without_confirmation_writes_a_record_that_says_not_run():
    failure = failed("Step 1 - refuse without confirmation", "Refusing to restore without confirmation: ...")
    result = sqlite(plan=SQLITE_PLAN, start=SKIPPED, failure=failure)  # step 7 skipped: registered as skipped
    assert result["not_confirmed"] == ("Refusing to restore without confirmation: the restore %s. Rerun with -e "
                                       "aragora_restore_confirm=true once you are sure." % SQLITE_PLAN["msg"])
    assert result["outcome"] == "failed" and result["bring_unit_back"] is False
    assert result["verification"]["files_verified"] is False and result["verification"]["files"] is None
    assert [event["detail"] for event in result["events"]][1:4] == [
        "aragora.service: not run", "not run", "aragora.service: not run"]
    assert result["error"] == "DATABASE RESTORE FAILED on db (%s)." % failure["reason"]
    assert result["report"][0] == failure["reason"]


def test_sqlite_unit_that_would_not_stop_is_started_again_when_it_ran():
    failure = failed("Step 4 - stop the unit", "Unable to stop service")
    result = sqlite(plan=SQLITE_PLAN, unit_state=UNIT, stop={"failed": True, "msg": "Unable to stop service"},
                    start={"changed": False}, failure=failure)
    assert result["bring_unit_back"] is True and result["unit_was_active"] is True
    assert result["events"][1]["detail"] == "aragora.service not stopped"
    assert result["events"][2]["detail"] == "not run" and result["events"][3]["detail"] == "aragora.service started"
    assert result["report"][0] == failure["reason"]


def test_sqlite_unit_that_did_not_run_is_left_stopped():
    result = sqlite(plan=SQLITE_PLAN, unit_state={"status": {"ActiveState": "inactive"}}, stop={"changed": False},
                    restore=SQLITE_DONE, start=SKIPPED)
    assert result["unit_was_active"] is False
    assert result["events"][3]["detail"] == "aragora.service left stopped (it was not running)"
    assert sqlite(unit_state={"failed": True, "msg": "no such unit"})["unit_was_active"] is False


def test_sqlite_restore_failed_names_no_safety_copy_it_did_not_make():
    failure = failed("Steps 3, 5, 6 - safety copy, restore by rename", "sha256 mismatch in store_03.db")
    result = sqlite(plan=SQLITE_PLAN, unit_state=UNIT, stop={"changed": True},
                    restore={"failed": True, "msg": "sha256 mismatch in store_03.db"}, start={"changed": True},
                    health=GO, failure=failure)
    assert result["verification"]["files_verified"] is False and result["verification"]["files"] is None
    assert result["summary"] == "Restore of the SQLite files of /data FAILED: %s" % failure["reason"]
    assert result["error"] == "DATABASE RESTORE FAILED on db (%s)." % failure["reason"]


def test_sqlite_health_gate_failing_after_the_restore_says_where_the_old_files_are():
    gate = failed("Wait until the server passes the health gate", "NO-GO")
    result = sqlite(plan=SQLITE_PLAN, unit_state=UNIT, stop={"changed": True}, restore=SQLITE_DONE,
                    start={"failed": True, "msg": "unit failed to start"}, health={"failed": True, "verdict": "NO-GO"},
                    unit_failure=gate)
    assert result["outcome"] == "failed" and result["verification"]["files_verified"] is True
    assert result["verification"]["health"] == "NO-GO" and result["events"][3]["detail"] == \
        "aragora.service NOT started"
    assert result["error"] == ("DATABASE RESTORE FAILED on db (Wait until the server passes the health gate: NO-GO)."
                               " The files of /data were restored; the previous files are kept in "
                               "/b/aragora-sqlite-pre-restore-1.")


def test_sqlite_check_mode_planned_and_a_plan_that_failed():
    planned = sqlite(check_mode=True, plan=SQLITE_PLAN, unit_state=SKIPPED, stop=SKIPPED, restore=SKIPPED)
    assert planned["outcome"] == "planned" and planned["error"] == "" and planned["bring_unit_back"] is False
    assert planned["report"] == ["restore not done: see the failed task above",
                                 "Health: not checked (no aragora_api_url)"]
    failure = failed("Step 1-2 - validate the backup set", "no backup set in /b: nothing was touched")
    refused = sqlite(check_mode=True, plan={"failed": True, "msg": "no backup set in /b: nothing was touched",
                                            "path": None}, failure=failure)
    assert refused["outcome"] == "failed" and refused["to"] is None
    assert refused["error"] == "DATABASE RESTORE FAILED on db (%s)." % failure["reason"]
    assert sqlite(archive="/b/set")["to"] == "/b/set" and sqlite()["to"] is None


# ---- db_backup ---------------------------------------------------------------------------------------------------

def backup(**observed):
    base = {"scheduler": "systemd", "unit_name": "aragora-db-backup", "on_calendar": "*-*-* 02:00:00",
            "cron": {"minute": "0", "hour": "2"}, "env_file": "/etc/aragora-ops/db-backup.env",
            "python": "/usr/bin/python3", "lib_dir": "/usr/local/lib/aragora-ops", "backup_dir": "/var/backups/aragora",
            "keep_days": 14, "timeout": 3600, "run_now": True}
    return ro.db_backup({**base, **observed})


def test_backup_on_systemd_names_the_timer_and_the_service_started():
    result = backup(service_run={"changed": True}, backup=SKIPPED)
    assert result["schedule"] == "aragora-db-backup.timer (OnCalendar=*-*-* 02:00:00)" and result["cron"] is None
    assert result["backup_now"] == "aragora-db-backup.service started: it writes the archive"
    assert result["archive"] is None
    assert backup()["backup_now"] == "aragora-db-backup.service not started"
    assert backup(run_now=False, service_run=SKIPPED)["backup_now"] == "not run (aragora_backup_run_now is false)"


def test_backup_on_cron_fills_the_fields_and_builds_the_job_line():
    result = backup(scheduler="cron", cron={"minute": "30", "weekday": "1"}, service_run=SKIPPED,
                    backup={"changed": True, "archive": "/var/backups/aragora/aragora-1.dump"})
    assert result["cron"] == {
        "minute": "30", "hour": "2", "day": "*", "weekday": "1",
        "job": "set -a && . /etc/aragora-ops/db-backup.env && /usr/bin/python3 /usr/local/lib/aragora-ops/"
               "aragora-db-backup --dir /var/backups/aragora --keep-days 14 --timeout 3600"}
    assert result["schedule"] == "cron file aragora-db-backup: 30 2 * 1"
    assert result["backup_now"] == "written: /var/backups/aragora/aragora-1.dump"
    assert result["archive"] == "/var/backups/aragora/aragora-1.dump"
    assert backup(scheduler="cron", cron=None)["cron"]["minute"] == "0"
    assert backup(scheduler="cron", backup={"failed": True, "msg": "pg_dump failed"})["backup_now"] == "not written"
