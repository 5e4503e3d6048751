"""Section 3 checks on facts made in the test (no server); the real PostgreSQL cases are in tests/integration."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import time

import pytest
from tests.unit.plugins.module_utils.ops_fakes import make_ctx, run

from ansible_collections.aragora.ops.plugins.module_utils._clients import pg_tools, postgres_client
from ansible_collections.aragora.ops.plugins.module_utils._checks import database
from ansible_collections.aragora.ops.plugins.module_utils._checks.database import ArchiveCheck
from ansible_collections.aragora.ops.plugins.module_utils._clients.postgres_client import (
    DatabaseFacts,
    PostgresError,
)

PASSWORD = "s3cr3t-Pa55word"
DSN = "postgresql://aragora:%s@db.internal:5432/aragora" % PASSWORD
NOW = datetime.datetime.now(datetime.timezone.utc)


def facts(**changes) -> DatabaseFacts:
    """A healthy database as the session would see it."""
    base = DatabaseFacts(
        where="db.internal:5432/aragora", host="db.internal", user="aragora", sslmode="verify-full",
        connect_ms=4.2, latency_ms=0.8, server_version="15.18", server_version_num=150018, max_connections=200,
        superuser_reserved_connections=3, reserved_connections=0, role_connection_limit=-1,
        database_connection_limit=-1, is_superuser=False, connections_in_use=7, statement_timeout="0",
        ssl_in_use=True, ssl_version="TLSv1.3", ssl_cipher="TLS_AES_256_GCM_SHA384",
        tables=sorted(database.EXPECTED_TABLES), applied_migrations=None, schema_versions={"workflow_store": 1})
    return dataclasses.replace(base, **changes)


@pytest.fixture()
def live(monkeypatch):
    """gather_facts answers what the test puts in ``live.facts`` (or raises ``live.error``); calls are counted."""

    class Live:
        def __init__(self) -> None:
            self.facts = facts()
            self.error: Exception | None = None
            self.calls: list[tuple[str, float]] = []

    state = Live()

    def gather(dsn, timeout):
        state.calls.append((dsn, timeout))
        if state.error is not None:
            raise state.error
        return state.facts

    monkeypatch.setattr(postgres_client, "gather_facts", gather)
    return state


def ctx_with(variables=None, **options):
    return make_ctx({"DATABASE_URL": DSN, **(variables or {})}, options=options)


def serialized(result: dict) -> str:
    return json.dumps(result, default=str)


# --- which DSN -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variables, options, source", [
    ({"DATABASE_URL": DSN, "ARAGORA_POSTGRES_DSN": "postgresql://other@h/db"}, {}, "DATABASE_URL"),
    ({"ARAGORA_POSTGRES_DSN": DSN}, {}, "ARAGORA_POSTGRES_DSN"),
    ({"SUPABASE_POSTGRES_DSN": DSN}, {}, "SUPABASE_POSTGRES_DSN"),
    ({"DATABASE_URL": "postgresql://x@elsewhere/db"}, {"database_url": DSN}, "database_url option"),
    (None, {"database_url": DSN}, "database_url option"),
])
def test_application_dsn_order(variables, options, source):
    ctx = make_ctx(variables, options=options)
    assert database.application_dsn(ctx) == (source, DSN)


def test_supabase_dsn_is_derived_as_aragora_does():
    ctx = make_ctx({"SUPABASE_URL": "https://abcd1234.supabase.co", "SUPABASE_DB_PASSWORD": PASSWORD})
    source, dsn = database.application_dsn(ctx)
    assert source == "SUPABASE_URL + SUPABASE_DB_PASSWORD"
    assert dsn == "postgresql://postgres:%s@db.abcd1234.supabase.co:5432/postgres" % PASSWORD


def test_supabase_rest_only_is_skipped_with_the_reason(live):
    ctx = make_ctx({"SUPABASE_URL": "https://abcd1234.supabase.co", "SUPABASE_KEY": "service-role"})
    result = run("database.connection", ctx)
    assert result["status"] == "SKIP"
    assert "Supabase REST API is not probed" in result["message"]
    assert not live.calls


@pytest.mark.parametrize("variables", [None, {"UNRELATED": "1"}])
def test_no_dsn_skips_every_live_check_saying_what_to_set(variables, live):
    ctx = make_ctx(variables)
    for check_id in ("database.connection", "database.pool_sizing", "database.migrations", "database.tls"):
        result = run(check_id, ctx)
        assert result["status"] == "SKIP", result
        assert "DATABASE_URL" in result["message"] and "database_url" in result["message"]
    assert not live.calls


def test_unreadable_env_file_could_not_judge_naming_it(tmp_path, live):
    result = run("database.connection", make_ctx(env_file=str(tmp_path / "missing.env")))
    assert result["status"] == "ERROR"
    assert "cannot read env file" in result["message"]
    assert result["cause"]["check"] == "security.environment_mode"


# --- one session for all checks, and failures ---------------------------------------------------------------


def test_all_checks_share_one_session(live):
    ctx = ctx_with()
    for check_id in ("database.connection", "database.server_version", "database.latency", "database.tls",
                     "database.pool_sizing", "database.timeouts", "database.migrations"):
        run(check_id, ctx)
    assert len(live.calls) == 1
    assert live.calls[0][1] == 10.0  # the collection's default timeout


def test_timeout_option_reaches_the_session(live):
    run("database.connection", ctx_with(timeout=2.5))
    assert live.calls[0][1] == 2.5


@pytest.mark.parametrize("kind, words", [
    ("refused", "Start PostgreSQL"),
    ("auth", "same password"),
    ("database_missing", "Create the database"),
    ("timeout", "network path"),
])
def test_connection_failure_remediation_follows_the_kind(live, kind, words):
    live.error = PostgresError("something at db.internal:5432/aragora", kind)
    ctx = ctx_with()
    result = run("database.connection", ctx)
    assert result["status"] == "FAIL"
    assert result["message"] == "Database connection failed: something at db.internal:5432/aragora"
    assert words in result["remediation"]
    assert result["evidence"]["error_kind"] == kind
    # The other live checks could not judge, for the same reason, from the same (cached) attempt.
    pool = run("database.pool_sizing", ctx)
    assert pool["status"] == "ERROR" and "something at db.internal" in pool["message"]
    assert pool["cause"] == {"check": "database.connection", "dependency": "PostgreSQL",
                             "reason": "something at db.internal:5432/aragora"}
    assert len(live.calls) == 1


def test_connection_pass_names_server_and_never_the_password(live):
    result = run("database.connection", ctx_with())
    assert result["status"] == "PASS"
    assert "PostgreSQL 15.18 at db.internal:5432/aragora as aragora" in result["message"]
    assert result["evidence"]["dsn_source"] == "DATABASE_URL"
    assert PASSWORD not in serialized(result)


@pytest.mark.parametrize("variables, change, words", [
    ({"ARAGORA_DB_BACKEND": "sqlite"}, {}, "ARAGORA_DB_BACKEND=sqlite"),
    ({"ARAGORA_POSTGRES_DSN": "postgresql://aragora:x@other:5432/aragora"}, {}, "differ"),
    ({}, {"is_superuser": True}, "superuser"),
])
def test_connection_warnings(live, variables, change, words):
    live.facts = facts(**change)
    result = run("database.connection", ctx_with(variables))
    assert result["status"] == "WARN"
    assert words in result["message"]


def test_same_dsn_under_both_names_is_fine(live):
    assert run("database.connection", ctx_with({"ARAGORA_POSTGRES_DSN": DSN}))["status"] == "PASS"


# --- DSN parsing and libpq errors ------------------------------------------------------------------------------


def test_driver_suffix_in_scheme_is_refused_plainly():
    with pytest.raises(PostgresError, match="postgresql\\+asyncpg"):
        postgres_client.parse_dsn("postgresql+asyncpg://aragora:%s@db/aragora" % PASSWORD)


def test_unparsable_dsn_message_hides_the_password():
    with pytest.raises(PostgresError) as caught:
        postgres_client.parse_dsn("host=db password=%s nonsense" % PASSWORD)
    assert caught.value.kind == "dsn"
    assert PASSWORD not in str(caught.value)


def test_dsn_info_of_url_and_keywords():
    info, _params = postgres_client.parse_dsn(DSN + "?sslmode=require")
    assert (info.where, info.user, info.sslmode) == ("db.internal:5432/aragora", "aragora", "require")
    info, _params = postgres_client.parse_dsn("host=/run/postgresql dbname=app user=svc password=%s" % PASSWORD)
    assert info.where == "socket /run/postgresql:5432/app"


def test_dsn_secrets_cover_url_encoded_and_keyword_passwords():
    assert postgres_client.dsn_secrets("postgresql://u:p%40ss@h/db") == {"p%40ss", "p@ss"}
    assert postgres_client.dsn_secrets("host=h password='a b' user=u") == {"a b"}


@pytest.mark.parametrize("libpq_text, kind, words", [
    ('connection to server at "10.0.0.5", port 5432 failed: Connection refused\n\tIs the server running',
     "refused", "nothing accepts connections at db.internal:5432"),
    ('connection to server at "10.0.0.5", port 5432 failed: FATAL:  password authentication failed for user '
     '"aragora"', "auth", "refused the password of user aragora"),
    ('connection to server failed: FATAL:  database "aragora" does not exist', "database_missing",
     "database aragora does not exist on db.internal:5432"),
    ("timeout expired", "timeout", "within 3 s"),
    ("could not translate host name \"db.internal\" to address: Name or service not known", "dns",
     "does not resolve"),
    ("server does not support SSL, but SSL was required", "ssl", "does not offer it"),
    ("FATAL:  no pg_hba.conf entry for host \"10.0.0.9\", user \"aragora\"", "hba", "pg_hba.conf"),
    ("FATAL:  sorry, too many clients already; too many connections", "full", "all slots are taken"),
    ("something nobody expected %s" % PASSWORD, "error", "cannot connect to PostgreSQL at db.internal:5432/aragora"),
])
def test_libpq_errors_become_sentences(libpq_text, kind, words):
    info, _params = postgres_client.parse_dsn(DSN)
    error = postgres_client.describe_connect_error(Exception(libpq_text), info, 3.0, {PASSWORD})
    assert error.kind == kind
    assert words in str(error)
    assert PASSWORD not in str(error)


# --- version, latency, TLS ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version_num, status", [(150018, "PASS"), (120020, "WARN"), (90624, "WARN"),
                                                 (990001, "PASS")])
def test_server_version_end_of_life(live, version_num, status):
    live.facts = facts(server_version_num=version_num, server_version="x")
    assert run("database.server_version", ctx_with())["status"] == status


def test_latency_warns_over_the_threshold(live):
    live.facts = facts(latency_ms=250.0)
    result = run("database.latency", ctx_with())
    assert result["status"] == "WARN"
    assert "250.0 ms" in result["message"] and "100 ms" in result["message"]
    ctx = make_ctx({"DATABASE_URL": DSN}, thresholds={"db_latency_warn_ms": 500})
    assert run("database.latency", ctx)["status"] == "PASS"


@pytest.mark.parametrize("change, status, words", [
    ({"sslmode": "require"}, "PASS", "encrypted (TLSv1.3"),
    ({"sslmode": "verify-full"}, "PASS", "certificate verified"),
    ({"sslmode": "require", "ssl_in_use": False}, "FAIL", "not encrypted"),
    ({"sslmode": None, "ssl_in_use": False}, "WARN", "in clear"),
    ({"sslmode": "prefer"}, "WARN", "downgrade"),
    ({"sslmode": None, "host": "127.0.0.1", "where": "127.0.0.1:5432/aragora"}, "SKIP", "on this host"),
    ({"sslmode": "disable", "host": "/run/postgresql"}, "SKIP", "on this host"),
])
def test_tls(live, change, status, words):
    live.facts = facts(**change)
    result = run("database.tls", ctx_with())
    assert result["status"] == status, result
    assert words in result["message"]


# --- pool sizing ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variables, replicas, change, status, words", [
    ({}, 1, {}, "PASS", "35 connections ((20 + 15) x 1 replica): 18% of the 197"),
    ({}, 3, {"max_connections": 20}, "FAIL", "105 connections ((20 + 15) x 3 replicas) but PostgreSQL allows 17"),
    ({"ARAGORA_DB_POOL_SIZE": "45", "ARAGORA_DB_POOL_OVERFLOW": "10"}, 3, {}, "WARN",
     "84% of the 197 PostgreSQL allows (WARN above 80%)"),
    ({"ARAGORA_DB_POOL_SIZE": "40", "ARAGORA_DB_POOL_OVERFLOW": "10"}, 3, {}, "PASS", "76% of the 197"),
    ({}, 2, {"role_connection_limit": 50}, "FAIL", "allows 50 (role connection limit)"),
    ({}, 2, {"database_connection_limit": 80}, "WARN", "88% of the 80"),
    ({}, 1, {"max_connections": 40, "is_superuser": True}, "WARN", "88% of the 40"),
    ({}, 1, {"max_connections": 40, "reserved_connections": 5}, "FAIL", "allows 32"),
])
def test_pool_sizing(live, variables, replicas, change, status, words):
    live.facts = facts(**change)
    result = run("database.pool_sizing", ctx_with(variables, app_replicas=replicas))
    assert result["status"] == status, result["message"]
    assert words in result["message"]


def test_pool_sizing_warn_ratio_is_a_threshold(live):
    ctx = make_ctx({"DATABASE_URL": DSN}, thresholds={"db_pool_warn_ratio": 0.1}, options={"app_replicas": 1})
    assert run("database.pool_sizing", ctx)["status"] == "WARN"


def test_pool_sizing_notes_the_checklists_ignored_variable(live):
    # The checklist's name alone is the same mistake as ARAGORA_AGENT_TIMEOUT_SECONDS alone: WARN, rename it.
    result = run("database.pool_sizing", ctx_with({"ARAGORA_DB_MAX_OVERFLOW": "10"}))
    assert result["status"] == "WARN"
    assert "Rename ARAGORA_DB_MAX_OVERFLOW to ARAGORA_DB_POOL_OVERFLOW" in result["remediation"]
    assert result["evidence"]["note"] == ("ARAGORA_DB_MAX_OVERFLOW=10 is read by nothing on Aragora 2.11; the "
                                          "overflow in force is the default 15 (ARAGORA_DB_POOL_OVERFLOW unset)")
    assert result["evidence"]["note"] in result["message"]


def test_pool_sizing_ignored_variable_beside_the_real_one_is_a_note(live):
    result = run("database.pool_sizing", ctx_with({"ARAGORA_DB_MAX_OVERFLOW": "10", "ARAGORA_DB_POOL_OVERFLOW": "15"}))
    assert result["status"] == "PASS"
    assert "the overflow in force is ARAGORA_DB_POOL_OVERFLOW=15" in result["message"]


@pytest.mark.parametrize("variables, words", [
    ({"ARAGORA_DB_POOL_SIZE": "0"}, "ARAGORA_DB_POOL_SIZE=0 is outside the valid range 1-100"),
    ({"ARAGORA_DB_POOL_OVERFLOW": "lots"}, "ARAGORA_DB_POOL_OVERFLOW='lots' is not a whole number"),
])
def test_pool_settings_out_of_range_fail(live, variables, words):
    result = run("database.pool_sizing", ctx_with(variables))
    assert result["status"] == "FAIL"
    assert words in result["message"]


def test_pool_sizing_without_configuration_assumes_defaults(live):
    result = run("database.pool_sizing", make_ctx(options={"database_url": DSN}))
    assert result["status"] == "PASS"
    assert result["evidence"]["configuration"] == "not given: Aragora's defaults assumed"


# --- timeouts -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, milliseconds", [
    ("0", 0), ("250ms", 250), ("30s", 30000), ("5min", 300000), ("1h", 3600000), ("soon", None)])
def test_duration_ms(value, milliseconds):
    assert database.duration_ms(value) == milliseconds


@pytest.mark.parametrize("variables, role_timeout, status, words", [
    ({}, "0", "PASS", "ARAGORA_DB_TIMEOUT is 30 s (default); the role's statement_timeout is unlimited"),
    ({"ARAGORA_DB_TIMEOUT": "60.0"}, "2min", "PASS", "60 s; the role's statement_timeout is 2min"),
    ({"ARAGORA_DB_TIMEOUT": "0"}, "0", "FAIL", "outside the valid range 1-300"),
    ({"ARAGORA_DB_TIMEOUT": "301"}, "0", "FAIL", "outside the valid range"),
    ({"ARAGORA_DB_TIMEOUT": "soon"}, "0", "FAIL", "not a number"),
    ({}, "200ms", "WARN", "statement_timeout is 200ms"),
])
def test_timeouts(live, variables, role_timeout, status, words):
    live.facts = facts(statement_timeout=role_timeout)
    result = run("database.timeouts", ctx_with(variables))
    assert result["status"] == status, result["message"]
    assert words in result["message"]


# --- migrations -----------------------------------------------------------------------------------------------


def test_migrations_pass_without_ledger(live):
    result = run("database.migrations", ctx_with())
    assert result["status"] == "PASS"
    assert "no migration ledger" in result["message"]


def test_missing_table_is_named(live):
    live.facts = facts(tables=[name for name in database.EXPECTED_TABLES if name != "users"])
    result = run("database.migrations", ctx_with())
    assert result["status"] == "FAIL"
    assert "lacks 1 table(s) Aragora 2.11.1 creates: users (made by storage/user_store/postgres_store.py)" in \
        result["message"]
    assert result["evidence"]["missing_tables"] == ["users"]


def test_empty_schema_says_the_server_never_started_there(live):
    live.facts = facts(tables=["unrelated"])
    result = run("database.migrations", ctx_with())
    assert result["status"] == "FAIL"
    assert "none of the 18 tables" in result["message"]


def test_many_missing_tables_are_listed_briefly(live):
    live.facts = facts(tables=["users"])
    result = run("database.migrations", ctx_with())
    assert "and 9 more" in result["message"]
    assert len(result["evidence"]["missing_tables"]) == 17


@pytest.mark.parametrize("applied, status, words", [
    (list(database.MIGRATION_VERSIONS), "PASS", "all 11 of its migrations"),
    (list(database.MIGRATION_VERSIONS[:-2]), "FAIL", "2 migration(s) of Aragora 2.11.1 not applied: "
                                                     "20260202000000, 20260424000000"),
    (list(database.MIGRATION_VERSIONS) + [20270101000000], "WARN", "does not know (20270101000000)"),
])
def test_migration_ledger(live, applied, status, words):
    live.facts = facts(applied_migrations=applied)
    result = run("database.migrations", ctx_with())
    assert result["status"] == status
    assert words in result["message"]


def test_migrations_skip_when_aragora_uses_sqlite(live):
    result = run("database.migrations", ctx_with({"ARAGORA_DB_BACKEND": "sqlite"}))
    assert result["status"] == "SKIP"


# --- backups (pg_restore stood in for; the real one runs in the integration tests) -----------------------------


@pytest.fixture()
def archive_verdict(monkeypatch):
    verdicts = {}

    def check_archive(path, timeout, full_read_max_bytes):
        verdicts.setdefault("paths", []).append(path)
        return verdicts.get("verdict", ArchiveCheck(True, toc_entries=151, dumped_database="aragora",
                                                    data_read=True, pg_restore="/usr/bin/pg_restore"))

    monkeypatch.setattr(database, "judge_archive", check_archive)
    return verdicts


def touch(path, hours_ago: float = 0.0, text: str = "PGDMP") -> str:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    moment = time.time() - hours_ago * 3600
    os.utime(path, (moment, moment))
    return str(path)


def test_backup_skips_without_backup_dir():
    result = run("database.backup", make_ctx())
    assert result["status"] == "SKIP"
    assert "backup_dir" in result["message"]


def test_backup_dir_missing_fails(tmp_path):
    result = run("database.backup", make_ctx(options={"backup_dir": str(tmp_path / "nowhere")}))
    assert result["status"] == "FAIL"
    assert "cannot be read" in result["message"]


def test_backup_dir_without_archives_lists_what_it_holds(tmp_path):
    touch(tmp_path / "backup.log")
    touch(tmp_path / "aragora.sql.gz")
    result = run("database.backup", make_ctx(options={"backup_dir": str(tmp_path)}))
    assert result["status"] == "FAIL"
    assert "No pg_dump archive" in result["message"] and "aragora.sql.gz, backup.log" in result["message"]


def test_newest_complete_archive_is_judged(tmp_path, archive_verdict):
    touch(tmp_path / "aragora-old.dump", hours_ago=50)
    newest = touch(tmp_path / "aragora-new.dump", hours_ago=2)
    touch(tmp_path / "aragora-now.dump.partial")  # still being written
    touch(tmp_path / ".aragora-hidden.dump")
    touch(tmp_path / "backup.log")  # newer than every archive, and not one
    result = run("database.backup", make_ctx(options={"backup_dir": str(tmp_path)}))
    assert result["status"] == "PASS", result
    assert archive_verdict["paths"] == [newest]
    assert result["evidence"]["archives_found"] == 2
    assert "aragora-new.dump is 2.0 h old and a readable pg_dump archive (151 entries)" in result["message"]


def test_stale_and_corrupt_are_distinct_failures(tmp_path, archive_verdict):
    touch(tmp_path / "aragora.dump", hours_ago=30)
    ctx = make_ctx(options={"backup_dir": str(tmp_path)})
    stale = run("database.backup", ctx)
    assert stale["status"] == "FAIL" and "30.0 h old (limit 26 h)" in stale["message"]
    archive_verdict["verdict"] = ArchiveCheck(False, "could not read from input file: end of file")
    corrupt = run("database.backup", make_ctx(options={"backup_dir": str(tmp_path)}))
    assert corrupt["status"] == "FAIL" and "not a readable pg_dump archive" in corrupt["message"]
    assert corrupt["remediation"] != stale["remediation"]


def test_backup_max_age_is_a_threshold(tmp_path, archive_verdict):
    touch(tmp_path / "aragora.dump", hours_ago=30)
    ctx = make_ctx(options={"backup_dir": str(tmp_path)}, thresholds={"backup_max_age_hours": 48})
    assert run("database.backup", ctx)["status"] == "PASS"


def test_pg_restore_missing_is_a_plain_failure(tmp_path, monkeypatch):
    touch(tmp_path / "aragora.dump")
    monkeypatch.setattr(pg_tools, "find_tool", lambda _name: None)
    result = run("database.backup", make_ctx(options={"backup_dir": str(tmp_path)}))
    assert result["status"] == "FAIL"
    assert "pg_restore not found" in result["message"]


# --- restore tested -------------------------------------------------------------------------------------------


def drill(tmp_path, **fields) -> str:
    evidence = {"finished_at": (NOW - datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "result": "success", "archive": "/var/backups/aragora/aragora-20261120T020000Z.dump",
                "duration_s": 412.5, **fields}
    path = tmp_path / "restore-drill.json"
    path.write_text(json.dumps({k: v for k, v in evidence.items() if v is not None}), encoding="utf-8")
    return str(path)


def restore(path: str, **thresholds) -> dict:
    return run("database.restore_tested", make_ctx(options={"restore_evidence_file": path}, thresholds=thresholds))


def test_restore_skips_until_evidence_exists(tmp_path):
    for ctx in (make_ctx(), make_ctx(options={"restore_evidence_file": str(tmp_path / "none.json")})):
        result = run("database.restore_tested", ctx)
        assert result["status"] == "SKIP"
        assert result["message"].startswith("No restore drill evidence yet")


def test_recent_successful_drill_passes(tmp_path):
    result = restore(drill(tmp_path))
    assert result["status"] == "PASS", result
    assert "aragora-20261120T020000Z.dump restored in 412.5s" in result["message"]


@pytest.mark.parametrize("fields, words", [
    ({"result": "failure", "error": "pg_restore: error: out of disk"}, "failed: pg_restore: error: out of disk"),
    ({"finished_at": (NOW - datetime.timedelta(days=45)).isoformat()}, "45 days old (limit 30 days)"),
    ({"finished_at": (NOW + datetime.timedelta(days=1)).isoformat()}, "in the future"),
    ({"finished_at": "2026-11-20T03:12:09"}, "no UTC offset"),
    ({"finished_at": "last tuesday"}, "not an ISO-8601 time"),
    ({"result": "ok"}, "result must be success or failure"),
    ({"archive": None}, "archive must name"),
    ({"duration_s": "7 min"}, "duration_s must be a number"),
])
def test_failed_stale_or_malformed_drill_fails(tmp_path, fields, words):
    result = restore(drill(tmp_path, **fields))
    assert result["status"] == "FAIL"
    assert words in result["message"]


def test_restore_max_age_is_a_threshold(tmp_path):
    path = drill(tmp_path, finished_at=(NOW - datetime.timedelta(days=45)).isoformat())
    assert restore(path, restore_test_max_age_days=60)["status"] == "PASS"


@pytest.mark.parametrize("content, words", [("not json", "is not JSON"), ("[1]", "holds a JSON list")])
def test_unreadable_evidence_fails(tmp_path, content, words):
    path = tmp_path / "restore-drill.json"
    path.write_text(content, encoding="utf-8")
    result = restore(str(path))
    assert result["status"] == "FAIL"
    assert words in result["message"]
