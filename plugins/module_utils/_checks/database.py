# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 3, Database & Persistence: PostgreSQL as the application uses it, its backups and restore tests.

The database probed is the one the application uses: option ``database_url``, else ``DATABASE_URL``, else the legacy
``ARAGORA_POSTGRES_DSN``, else Supabase's Postgres (``SUPABASE_POSTGRES_DSN``, or the one Aragora derives from
``SUPABASE_URL`` and ``SUPABASE_DB_PASSWORD``). All live facts come from one bounded session per target
(postgres_client.gather_facts); a database that cannot be reached fails every check that needs it, with the reason.

Restore drill evidence (option ``restore_evidence_file``): a JSON object written by the restore drill when it ends::

    {
      "finished_at": "2026-11-20T03:12:09Z",   # required: ISO-8601 with a UTC offset (Z or +00:00), when it ended
      "result": "success",                      # required: "success" or "failure"
      "archive": "/var/backups/aragora/aragora-20261120T020000Z.dump",  # required: the archive restored
      "duration_s": 412.5,                      # required: seconds the restore took (number >= 0)
      "started_at": "2026-11-20T03:05:17Z",     # optional
      "target": "aragora_restore_test@db-scratch:5432",  # optional: where it was restored (no password)
      "tables_restored": 18,                    # optional
      "error": "pg_restore: error: ..."         # optional: why it failed, when result is "failure"
    }

Other keys are allowed and ignored.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive
from ansible_collections.aragora.ops.plugins.module_utils._clients import postgres_client
from ansible_collections.aragora.ops.plugins.module_utils._checks.common import is_local_host
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import IntSetting, parse_int_setting
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._clients.postgres_client import DatabaseFacts, PostgresError
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    Cause,
    CheckInputError,
    CheckSkipped,
    Outcome,
    failed,
    passed,
    skipped,
    warned,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "3"

# Where the application finds its database, in the order this check looks (docs/aragora-2.11.1.md).
DSN_VARIABLES = ("DATABASE_URL", "ARAGORA_POSTGRES_DSN", "SUPABASE_POSTGRES_DSN")

# The tables Aragora 2.11.1 creates in PostgreSQL at start-up (ARAGORA_DB_BACKEND=postgres), with the store that
# creates each: observed on a fresh sandbox database and matched to the CREATE TABLE statements of its source.
EXPECTED_TABLES: dict[str, str] = {
    "_schema_versions": "storage/postgres_store.py",
    "audit_log": "storage/user_store/postgres_store.py",
    "governance_approvals": "storage/governance/postgres_store.py",
    "governance_decisions": "storage/governance/postgres_store.py",
    "governance_verifications": "storage/governance/postgres_store.py",
    "job_queue": "storage/job_queue_store.py",
    "oauth_providers": "storage/user_store/postgres_store.py",
    "org_invitations": "storage/user_store/postgres_store.py",
    "organizations": "storage/user_store/postgres_store.py",
    "unified_inbox_accounts": "storage/unified_inbox/postgres.py",
    "unified_inbox_messages": "storage/unified_inbox/postgres.py",
    "unified_inbox_triage_results": "storage/unified_inbox/postgres.py",
    "usage_events": "storage/user_store/postgres_store.py",
    "users": "storage/user_store/postgres_store.py",
    "workflow_executions": "workflow/postgres_workflow_store.py",
    "workflow_templates": "workflow/postgres_workflow_store.py",
    "workflow_versions": "workflow/postgres_workflow_store.py",
    "workflows": "workflow/postgres_workflow_store.py",
}
# The migrations 2.11.1 ships (aragora/migrations/versions), which `python -m aragora.migrations upgrade` (the
# aragora-migrate Job) records in the _aragora_migrations ledger. Their tables are not read by the 2.11.1 server,
# so a database where the Job never ran (no ledger) still serves; a ledger with pending versions is a failed Job.
MIGRATION_VERSIONS: tuple[int, ...] = (
    20240101000000, 20260119000000, 20260120000000, 20260120100000, 20260201000000, 20260201000100,
    20260201000200, 20260201000300, 20260201000400, 20260202000000, 20260424000000,
)

MAX_LISTED = 8  # names listed in a message; evidence holds them all

# Connection pool settings (aragora/config/settings.py DatabaseSettings): each replica's pool opens up to
# pool size + overflow connections.
POOL_SIZE = IntSetting("ARAGORA_DB_POOL_SIZE", 20, 1, 100)
POOL_OVERFLOW = IntSetting("ARAGORA_DB_POOL_OVERFLOW", 15, 0, 100)
IGNORED_OVERFLOW_VARIABLE = "ARAGORA_DB_MAX_OVERFLOW"  # the checklist's name; nothing in Aragora 2.11 reads it
# Seconds Aragora waits on the database (config/settings.py: float, 1-300, default 30).
DB_TIMEOUT_VARIABLE = "ARAGORA_DB_TIMEOUT"
DB_TIMEOUT_DEFAULT_S = 30.0
DB_TIMEOUT_RANGE_S = (1.0, 300.0)
# A role default below this cancels ordinary statements of clients that set none of their own (the migration Job).
MIN_ROLE_STATEMENT_TIMEOUT_MS = 1000

PG_RESTORE_TIMEOUT_S = 120.0
# Up to this size an archive is read whole (a truncated archive keeps a readable table of contents); above it only
# its table of contents is read, and the restore drill is what proves its data.
FULL_READ_MAX_BYTES = 1024 ** 3
RESTORE_EVIDENCE_MAX_BYTES = 1024 * 1024
RESTORE_RESULTS = ("success", "failure")
CLOCK_SKEW = datetime.timedelta(minutes=5)

# End of community support of each PostgreSQL major (https://www.postgresql.org/support/versioning/).
POSTGRES_END_OF_LIFE: dict[int, datetime.date] = {
    11: datetime.date(2023, 11, 9), 12: datetime.date(2024, 11, 21), 13: datetime.date(2025, 11, 13),
    14: datetime.date(2026, 11, 12), 15: datetime.date(2027, 11, 11), 16: datetime.date(2028, 11, 9),
    17: datetime.date(2029, 11, 8), 18: datetime.date(2030, 11, 14),
}

# What to do about each way a connection fails (postgres_client's error kinds).
_CONNECT_REMEDIATION = {
    "refused": "Start PostgreSQL (or its pod/service), or correct host and port in DATABASE_URL.",
    "auth": "Give the role and DATABASE_URL the same password (ALTER ROLE ... PASSWORD), from your secret manager.",
    "database_missing": "Create the database (createdb -O <role> <name>) or correct the database name in "
                        "DATABASE_URL; then run the migration job.",
    "role_missing": "Create the role (CREATE ROLE ... LOGIN PASSWORD ...) or correct the user in DATABASE_URL.",
    "timeout": "Check the network path to the database (firewall, security group, DNS) and that the server is not "
               "overloaded, or raise timeout.",
    "ssl": "Enable ssl on the PostgreSQL server with a certificate its clients trust, or correct sslmode and "
           "sslrootcert in DATABASE_URL.",
    "full": "Lower the pools (ARAGORA_DB_POOL_SIZE, ARAGORA_DB_POOL_OVERFLOW) or raise max_connections; find who "
            "holds the connections in pg_stat_activity.",
    "library": "Install the missing tool or library on the host that runs the checks.",
}


DATABASE_UNAVAILABLE = Cause("database.connection", "PostgreSQL",
                             "Make DATABASE_URL name a reachable PostgreSQL database the application's role can log "
                             "in to; then run the checks again.")

# ------------------------------------------------------------------ facts


def _configured(ctx: TargetContext, name: str) -> str | None:
    """The configuration's value of ``name``; None when unset or when no configuration was given."""
    return ctx.config.get(name) if ctx.config.given else None


def _supabase_dsn(ctx: TargetContext) -> str | None:
    """The DSN Aragora derives from SUPABASE_URL + SUPABASE_DB_PASSWORD (storage/connection_factory.py)."""
    url, password = _configured(ctx, "SUPABASE_URL"), _configured(ctx, "SUPABASE_DB_PASSWORD")
    if not url or not password:
        return None
    project = re.sub(r"^https?://", "", url).split("/", 1)[0].replace(".supabase.co", "")
    return "postgresql://postgres:%s@db.%s.supabase.co:5432/postgres" % (password, project)


def application_dsn(ctx: TargetContext) -> tuple[str, str]:
    """(where it came from, DSN) of the database the application uses; CheckSkipped when it uses none."""
    if ctx.options.database_url:
        return "database_url option", ctx.options.database_url
    if ctx.config.given:
        name, value = ctx.config.first(*DSN_VARIABLES)
        if value:
            return name, value
        derived = _supabase_dsn(ctx)
        if derived:
            return "SUPABASE_URL + SUPABASE_DB_PASSWORD", derived
        if _configured(ctx, "SUPABASE_URL"):
            raise CheckSkipped("Supabase-only deployment (SUPABASE_URL without a Postgres DSN): the Supabase REST API "
                               "is not probed; give database_url (the project's Postgres connection string) to check "
                               "the database itself")
    raise CheckSkipped("no PostgreSQL DSN to probe: set DATABASE_URL in the configuration (env_file or config) or "
                       "give the database_url option")


def _gather(ctx: TargetContext, dsn: str) -> DatabaseFacts:
    """The live facts of ``dsn``, gathered once per target whichever check asks first; PostgresError when not."""
    timeout = ctx.timeout
    return ctx.fact(("postgres", dsn), lambda: postgres_client.gather_facts(dsn, timeout))


def database_facts(ctx: TargetContext) -> DatabaseFacts:
    """The application database's live facts; CheckInputError (a FAIL with the reason) when it cannot be reached."""
    try:
        return _gather(ctx, application_dsn(ctx)[1])
    except PostgresError as exc:
        raise CheckInputError(str(exc), DATABASE_UNAVAILABLE) from None


def _backend(ctx: TargetContext) -> str | None:
    value = _configured(ctx, "ARAGORA_DB_BACKEND")
    return value.lower() if value else None


# ------------------------------------------------------------------ checks


@check("database.connection", SECTION, "Database connection works",
       "Make DATABASE_URL name a reachable PostgreSQL database the application's role can log in to.",
       proves="A psycopg2 session with the application's DSN (`database_url`, `DATABASE_URL`, `ARAGORA_POSTGRES_DSN` "
              "or Supabase's); refused, wrong password, missing database, timeout are distinct FAILs.",
       cannot_see="The Supabase REST API (`SUPABASE_URL` alone: SKIP).")
def connection(ctx: TargetContext) -> Outcome:
    source, dsn = application_dsn(ctx)
    evidence: dict[str, t.Any] = {"dsn_source": source, "ARAGORA_DB_BACKEND": _backend(ctx)}
    try:
        info, _params = postgres_client.parse_dsn(dsn)
        evidence.update(database=info.where, user=info.user)
        facts = _gather(ctx, dsn)
    except PostgresError as exc:
        return failed("Database connection failed: %s" % exc, _CONNECT_REMEDIATION.get(exc.kind),
                      error_kind=exc.kind, **evidence)
    evidence.update(server_version=facts.server_version, connect_ms=facts.connect_ms, superuser=facts.is_superuser)
    summary = "PostgreSQL %s at %s as %s (connected in %d ms)" % (
        facts.server_version, facts.where, facts.user, facts.connect_ms)
    if evidence["ARAGORA_DB_BACKEND"] == "sqlite":
        return warned("Database answers (%s), but ARAGORA_DB_BACKEND=sqlite keeps Aragora on SQLite files" % summary,
                      "Set ARAGORA_DB_BACKEND=postgres so that every instance shares this database.", **evidence)
    legacy = _configured(ctx, "ARAGORA_POSTGRES_DSN")
    if source == "DATABASE_URL" and legacy and legacy != dsn:
        return warned("Database answers (%s), but DATABASE_URL and ARAGORA_POSTGRES_DSN differ: Aragora 2.11's stores "
                      "use ARAGORA_POSTGRES_DSN, its health checks DATABASE_URL" % summary,
                      "Remove ARAGORA_POSTGRES_DSN, or give it the same value as DATABASE_URL.", **evidence)
    if facts.is_superuser:
        return warned("Database answers (%s), but the application logs in as a superuser" % summary,
                      "Give Aragora a role of its own that owns its database and is not a superuser.", **evidence)
    return passed("Database connection works: %s" % summary, **evidence)


@check("database.server_version", SECTION, "Database server version",
       "Plan an upgrade to a PostgreSQL major version that still receives security fixes.",
       proves="The server's version; WARN once its major release is past its end of life.")
def server_version(ctx: TargetContext) -> Outcome:
    facts = database_facts(ctx)
    major = facts.server_version_num // 10000
    end_of_life = POSTGRES_END_OF_LIFE.get(major)
    if end_of_life is None and major < min(POSTGRES_END_OF_LIFE):
        end_of_life = min(POSTGRES_END_OF_LIFE.values())
    evidence = {"server_version": facts.server_version, "major": major,
                "end_of_life": end_of_life.isoformat() if end_of_life else None}
    if end_of_life is None:
        return passed("PostgreSQL %s (a major release newer than this check's support table)" % facts.server_version,
                      **evidence)
    if datetime.datetime.now(datetime.timezone.utc).date() >= end_of_life:
        return warned("PostgreSQL %s is past its end of life (%s): no more security fixes"
                      % (facts.server_version, end_of_life.isoformat()), **evidence)
    return passed("PostgreSQL %s, supported until %s" % (facts.server_version, end_of_life.isoformat()), **evidence)


@check("database.latency", SECTION, "Database latency",
       "Run the application next to its database (same region/zone), or find what slows the server down "
       "(pg_stat_activity, CPU, disk).",
       proves="A trivial query's time (median of three); WARN above `db_latency_warn_ms`.")
def latency(ctx: TargetContext) -> Outcome:
    facts = database_facts(ctx)
    limit = ctx.threshold("db_latency_warn_ms")
    evidence = {"latency_ms": facts.latency_ms, "warn_above_ms": limit, "connect_ms": facts.connect_ms,
                "samples": postgres_client.LATENCY_SAMPLES}
    if facts.latency_ms > limit:
        return warned("Database round trip takes %.1f ms (WARN above %g ms)" % (facts.latency_ms, limit), **evidence)
    return passed("Database round trip takes %.1f ms" % facts.latency_ms, **evidence)


@check("database.tls", SECTION, "TLS to the database",
       "Enable ssl on the PostgreSQL server and set sslmode=verify-full (with sslrootcert) in DATABASE_URL.",
       proves="An encrypted session when `sslmode` asks for one; WARN when a remote database is reached without "
              "`sslmode` requiring TLS.",
       cannot_see="Loopback and Unix sockets (SKIP).")
def tls(ctx: TargetContext) -> Outcome:
    facts = database_facts(ctx)
    evidence = {"sslmode": facts.sslmode, "ssl_in_use": facts.ssl_in_use, "ssl_version": facts.ssl_version,
                "ssl_cipher": facts.ssl_cipher, "database": facts.where}
    if facts.sslmode in postgres_client.SSL_MODES_REQUIRING_TLS:
        if not facts.ssl_in_use:
            return failed("The DSN asks for TLS (sslmode=%s) but the session to %s is not encrypted"
                          % (facts.sslmode, facts.where), **evidence)
        verified = " with the server certificate verified" if facts.sslmode.startswith("verify") else ""
        return passed("Database session is encrypted (%s, %s)%s" % (facts.ssl_version, facts.ssl_cipher, verified),
                      **evidence)
    mode = facts.sslmode or "unset, libpq's default prefer"
    if facts.host.startswith("/") or is_local_host(facts.host):
        return skipped("The DSN does not ask for TLS (sslmode %s) and the database is on this host (%s)"
                       % (mode, facts.where), **evidence)
    return warned("The DSN does not require TLS to %s (sslmode %s): %s" % (
        facts.where, mode, "the session happens to be encrypted, but a downgrade would go unnoticed"
        if facts.ssl_in_use else "credentials and data cross the network in clear"), **evidence)


@check("database.pool_sizing", SECTION, "Connection pool configured",
       "Make (ARAGORA_DB_POOL_SIZE + ARAGORA_DB_POOL_OVERFLOW) x replicas fit under max_connections - "
       "superuser_reserved_connections: lower the pools, raise max_connections, or put PgBouncer in front.",
       proves="(`ARAGORA_DB_POOL_SIZE` + `ARAGORA_DB_POOL_OVERFLOW`) x `app_replicas` within `max_connections` - "
              "`superuser_reserved_connections` (WARN over 80 %).",
       cannot_see="The checklist's `ARAGORA_DB_MAX_OVERFLOW`: read by nothing, and the evidence says so.")
def pool_sizing(ctx: TargetContext) -> Outcome:
    facts = database_facts(ctx)
    settings = {}
    for setting in (POOL_SIZE, POOL_OVERFLOW):
        value, problem = parse_int_setting(ctx.config, setting) if ctx.config.given else (None, None)
        if problem:
            return failed("Connection pool setting unusable: %s (Aragora refuses to load its settings)" % problem,
                          "Set %s to a whole number from %d to %d." % (setting.name, setting.minimum, setting.maximum),
                          **{setting.name: _configured(ctx, setting.name)})
        settings[setting.name] = setting.default if value is None else value
    pool_size, overflow = settings[POOL_SIZE.name], settings[POOL_OVERFLOW.name]
    replicas = int(ctx.options.app_replicas or 1)
    demand = (pool_size + overflow) * replicas
    # Superusers may use the reserved slots and are not held to role or database connection limits.
    reserved = 0 if facts.is_superuser else facts.superuser_reserved_connections + facts.reserved_connections
    limits = {"max_connections - reserved": facts.max_connections - reserved}
    if not facts.is_superuser:
        limits.update({"role connection limit": facts.role_connection_limit,
                       "database connection limit": facts.database_connection_limit})
    binding, usable = min(((name, value) for name, value in limits.items() if value >= 0), key=lambda item: item[1])
    ratio = demand / usable if usable > 0 else float("inf")
    warn_ratio = ctx.threshold("db_pool_warn_ratio")
    evidence: dict[str, t.Any] = {
        **settings, "app_replicas": replicas, "pool_demand": demand, "max_connections": facts.max_connections,
        "superuser_reserved_connections": facts.superuser_reserved_connections,
        "reserved_connections": facts.reserved_connections, "role_connection_limit": facts.role_connection_limit,
        "database_connection_limit": facts.database_connection_limit, "usable_connections": usable,
        "limited_by": binding, "share": round(ratio, 3), "warn_share": warn_ratio,
        "connections_in_use": facts.connections_in_use,
        "configuration": "given" if ctx.config.given else "not given: Aragora's defaults assumed",
    }
    ignored = _configured(ctx, IGNORED_OVERFLOW_VARIABLE)
    note = ""
    overflow_unset = _configured(ctx, POOL_OVERFLOW.name) is None
    if ignored is not None:
        evidence[IGNORED_OVERFLOW_VARIABLE] = ignored
        in_force = ("the default %d (%s unset)" % (overflow, POOL_OVERFLOW.name) if overflow_unset
                    else "%s=%d" % (POOL_OVERFLOW.name, overflow))
        evidence["note"] = "%s=%s is read by nothing on Aragora 2.11; the overflow in force is %s" % (
            IGNORED_OVERFLOW_VARIABLE, ignored, in_force)
        note = "; %s" % evidence["note"]
    need = "Connection pools need up to %d connections ((%d + %d) x %d replica%s)" % (
        demand, pool_size, overflow, replicas, "" if replicas == 1 else "s")
    if demand > usable:
        return failed("%s but PostgreSQL allows %d (%s)%s" % (need, usable, binding, note), **evidence)
    if ratio > warn_ratio:
        return warned("%s: %d%% of the %d PostgreSQL allows (WARN above %d%%)%s"
                      % (need, round(ratio * 100), usable, round(warn_ratio * 100), note), **evidence)
    if ignored is not None and overflow_unset:
        # The checklist's name alone: the same verdict as ARAGORA_AGENT_TIMEOUT_SECONDS alone (providers.agent_timeout).
        return warned("%s: %d%% of the %d PostgreSQL allows%s" % (need, round(ratio * 100), usable, note),
                      "Rename %s to %s, the variable Aragora 2.11 reads." % (
                          IGNORED_OVERFLOW_VARIABLE, POOL_OVERFLOW.name), **evidence)
    return passed("%s: %d%% of the %d PostgreSQL allows%s" % (need, round(ratio * 100), usable, note), **evidence)


_DURATION_UNITS_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60000, "h": 3600000, "d": 86400000}


def duration_ms(value: str) -> float | None:
    """A PostgreSQL time setting as SHOW prints it ('0', '250ms', '30s', '5min') in milliseconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", value or "")
    if not match or match.group(2) not in ("", *_DURATION_UNITS_MS):
        return None
    return float(match.group(1)) * _DURATION_UNITS_MS.get(match.group(2) or "ms", 1)


@check("database.timeouts", SECTION, "Database timeouts sane",
       "Set ARAGORA_DB_TIMEOUT to seconds from 1 to 300 (default 30), and leave the role's statement_timeout unset "
       "(ALTER ROLE ... RESET statement_timeout) or at several seconds.",
       proves="`ARAGORA_DB_TIMEOUT` within 1-300 s; WARN when the role's `statement_timeout` is under a second.")
def timeouts(ctx: TargetContext) -> Outcome:
    facts = database_facts(ctx)
    raw = _configured(ctx, DB_TIMEOUT_VARIABLE)
    low, high = DB_TIMEOUT_RANGE_S
    evidence: dict[str, t.Any] = {DB_TIMEOUT_VARIABLE: raw, "role_statement_timeout": facts.statement_timeout}
    try:
        seconds = DB_TIMEOUT_DEFAULT_S if raw is None else float(raw)
    except ValueError:
        return failed("%s=%r is not a number of seconds (Aragora refuses to load its settings)"
                      % (DB_TIMEOUT_VARIABLE, raw), **evidence)
    evidence["db_timeout_s"] = seconds
    if not low <= seconds <= high:
        return failed("%s=%g is outside the valid range %g-%g s (Aragora refuses to load its settings)"
                      % (DB_TIMEOUT_VARIABLE, seconds, low, high), **evidence)
    role_ms = duration_ms(facts.statement_timeout)
    if role_ms is not None and 0 < role_ms < MIN_ROLE_STATEMENT_TIMEOUT_MS:
        return warned("The role's statement_timeout is %s: statements of clients that set none of their own (the "
                      "migration job) are cancelled after under a second" % facts.statement_timeout, **evidence)
    role = "unlimited (Aragora's pool sets its own per session)" if role_ms == 0 else facts.statement_timeout
    default = " (default)" if raw is None else ""
    return passed("%s is %g s%s; the role's statement_timeout is %s" % (DB_TIMEOUT_VARIABLE, seconds, default, role),
                  **evidence)


@check("database.migrations", SECTION, "Migration scripts applied",
       "Start Aragora once against this database with ARAGORA_DB_BACKEND=postgres (its stores create their tables "
       "at start-up) and read its log for errors; run `python -m aragora.migrations upgrade` (the aragora-migrate "
       "job) for pending migrations.",
       proves="The 18 tables 2.11.1 creates, and the migration ledger when there is one.")
def migrations(ctx: TargetContext) -> Outcome:
    facts = database_facts(ctx)
    if _backend(ctx) == "sqlite":
        return skipped("ARAGORA_DB_BACKEND=sqlite: Aragora keeps its tables in SQLite files, not in %s" % facts.where)
    present = set(facts.tables)
    missing = [name for name in EXPECTED_TABLES if name not in present]
    applied = None if facts.applied_migrations is None else set(facts.applied_migrations)
    evidence: dict[str, t.Any] = {
        "database": facts.where, "expected_tables": len(EXPECTED_TABLES), "tables_found": len(present),
        "missing_tables": missing, "schema_versions": facts.schema_versions,
        "migration_ledger": "absent" if applied is None else "%d applied" % len(applied),
    }
    if len(missing) == len(EXPECTED_TABLES):
        return failed("Schema has none of the %d tables Aragora 2.11.1 creates: the server has not started against %s "
                      "with ARAGORA_DB_BACKEND=postgres, or the DSN names another database"
                      % (len(EXPECTED_TABLES), facts.where), **evidence)
    if missing:
        stores = sorted({EXPECTED_TABLES[name] for name in missing})
        listed = ", ".join(missing[:MAX_LISTED]) + (" and %d more" % (len(missing) - MAX_LISTED)
                                                    if len(missing) > MAX_LISTED else "")
        return failed("Schema lacks %d table(s) Aragora 2.11.1 creates: %s (made by %s)"
                      % (len(missing), listed, ", ".join(stores)), **evidence)
    if applied is None:
        return passed("Schema has the %d tables Aragora 2.11.1 creates (no migration ledger: the migration job has "
                      "not run here; 2.11.1 reads none of its tables)" % len(EXPECTED_TABLES), **evidence)
    pending = [version for version in MIGRATION_VERSIONS if version not in applied]
    unknown = sorted(applied - set(MIGRATION_VERSIONS))
    evidence.update(pending_migrations=pending, unknown_migrations=unknown)
    if pending:
        return failed("%d migration(s) of Aragora 2.11.1 not applied: %s"
                      % (len(pending), ", ".join(str(v) for v in pending)), **evidence)
    if unknown:
        return warned("Database carries migrations Aragora 2.11.1 does not know (%s): a newer release migrated it"
                      % ", ".join(str(v) for v in unknown),
                      "Run the release that migrated this database, or restore a backup taken before it.", **evidence)
    return passed("Schema has the %d tables Aragora 2.11.1 creates and all %d of its migrations"
                  % (len(EXPECTED_TABLES), len(MIGRATION_VERSIONS)), **evidence)


@dataclasses.dataclass
class ArchiveCheck:
    """The one judgment of an archive (pg_archive.validate_archive) as database.backup reports it: ``readable``
    False with ``problem`` saying why; for an archive that is not the one its manifest describes (``defect``
    "sha256"), ``readable`` is None: pg_restore is not asked about bytes already known to be wrong."""

    readable: bool | None
    problem: str | None = None
    toc_entries: int | None = None  # as pg_dump counted them (the listing's header)
    dumped_database: str | None = None
    created: str | None = None
    dumped_from: str | None = None  # the server version pg_dump read
    data_read: bool = False  # every data block was read, not only the table of contents
    pg_restore: str | None = None
    sha256_verified: bool = False  # the sha256 its manifest (written by postgres_backup) records matches
    defect: str | None = None  # pg_archive.ArchiveDefect's kind, when it is not readable


def judge_archive(path: str, timeout: float, full_read_max_bytes: int) -> ArchiveCheck:
    """pg_archive.validate_archive of ``path``, every pg_restore bounded by ``timeout``, the data read in full only
    up to ``full_read_max_bytes``; CheckInputError when it cannot be judged here (no pg_restore, one too old for
    the archive, one that hangs, an unreadable manifest)."""
    try:
        facts = pg_archive.validate_archive(path, read_data=pg_archive.archive_size(path) <= full_read_max_bytes,
                                            list_timeout=timeout, data_timeout=timeout)
    except pg_archive.ArchiveDefect as exc:
        if exc.defect == pg_archive.TOO_NEW:
            raise CheckInputError(str(exc)) from None
        if exc.defect == "sha256":
            return ArchiveCheck(None, exc.detail, defect=exc.defect)
        problem = exc.detail or str(exc)
        if exc.defect == "data":
            problem = "its table of contents reads but its data does not (truncated or damaged): %s" % exc.detail
        return ArchiveCheck(False, problem, defect=exc.defect)
    except (pg_archive.ArchiveError, OSError) as exc:
        raise CheckInputError(str(exc)) from None
    header = facts["header"]
    return ArchiveCheck(True, toc_entries=header["toc_entries"], dumped_database=header["dumped_database"],
                        created=header["created"], dumped_from=header["dumped_from"], data_read=facts["data_read"],
                        pg_restore=facts["pg_restore"], sha256_verified=facts["sha256_verified"])


@check("database.backup", SECTION, "Automated backups scheduled",
       "Check the backup job (CronJob, cron, systemd timer): its last runs, its log and the space left where it "
       "writes; then take a backup now with pg_dump -Fc.",
       proves="The newest archive in `backup_dir` is younger than 26 h, matches the sha256 of its manifest when it "
              "has one, and is readable by `pg_restore`; stale, altered and corrupt are distinct FAILs.",
       cannot_see="The schedule itself (on Kubernetes: `backups.cronjob`); archives on another host.")
def backup(ctx: TargetContext) -> Outcome:
    directory = ctx.options.backup_dir
    if not directory:
        return skipped("No backup_dir given: set backup_dir (aragora_backup_dir) to the directory the backup job "
                       "writes its pg_dump archives to")
    max_age_h = ctx.threshold("backup_max_age_hours")
    evidence: dict[str, t.Any] = {"backup_dir": directory, "max_age_hours": max_age_h}
    try:
        archives, others = pg_archive.scan_backups(directory)  # the restore's own choice of the newest backup
    except OSError as exc:
        return failed("Backup directory %s cannot be read: %s" % (directory, exc.strerror or exc), **evidence)
    evidence["archives_found"] = len(archives)
    if not archives:
        found = " (it holds %s)" % ", ".join(others[:5]) if others else " (it is empty)"
        return failed("No pg_dump archive (%s, or a directory archive) in %s%s"
                      % (", ".join("*" + s for s in pg_archive.BACKUP_SUFFIXES), directory, found), **evidence)
    newest = archives[-1]
    age_h = (time.time() - os.path.getmtime(newest)) / 3600
    evidence.update(newest=newest, age_hours=round(age_h, 2))
    verdict = judge_archive(newest, PG_RESTORE_TIMEOUT_S, FULL_READ_MAX_BYTES)
    evidence.update(readable=verdict.readable, data_verified=verdict.data_read, toc_entries=verdict.toc_entries,
                    dumped_database=verdict.dumped_database, archive_created=verdict.created,
                    dumped_from_version=verdict.dumped_from, pg_restore=verdict.pg_restore,
                    sha256_verified=verdict.sha256_verified)
    if verdict.defect == "sha256":
        return failed("Newest backup %s is not the archive its manifest %s describes (%s): altered or replaced "
                      "since the backup wrote it, and a restore refuses it"
                      % (newest, pg_archive.manifest_path(newest), verdict.problem),
                      "Do not count on this archive: take a new backup now (aragora.ops.postgres_backup), then find "
                      "what changed it after it was written (a copy cut short, a damaged disk, a file put in its "
                      "place).", **evidence)
    if not verdict.readable:
        return failed("Newest backup %s is not a readable pg_dump archive: %s" % (newest, verdict.problem),
                      "Do not count on this archive: take a new backup now (pg_dump -Fc), then find why the job "
                      "wrote a damaged one (disk full, killed mid-dump, a copy cut short).", **evidence)
    if age_h > max_age_h:
        return failed("Newest backup %s is %.1f h old (limit %g h): the backup job has stopped producing archives"
                      % (newest, age_h, max_age_h), **evidence)
    scope = "" if verdict.data_read else " (table of contents only: larger than %d MiB)" % (FULL_READ_MAX_BYTES >> 20)
    return passed("Newest backup %s is %.1f h old and a readable pg_dump archive (%s entries)%s"
                  % (os.path.basename(newest), age_h, verdict.toc_entries, scope), **evidence)


def parse_utc(value: t.Any) -> datetime.datetime:
    """An ISO-8601 time with a UTC offset; ValueError saying what is wrong otherwise."""
    if not isinstance(value, str):
        raise ValueError("is not a string")
    try:
        moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError("%r is not an ISO-8601 time" % value) from None
    if moment.tzinfo is None:
        raise ValueError("%r has no UTC offset (end it with Z)" % value)
    return moment


def read_restore_evidence(path: str) -> dict[str, t.Any]:
    """The drill's evidence, validated against the schema in this module's docstring; CheckInputError otherwise."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(RESTORE_EVIDENCE_MAX_BYTES + 1)
    except OSError as exc:
        raise CheckInputError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    if len(raw) > RESTORE_EVIDENCE_MAX_BYTES:
        raise CheckInputError("%s is larger than %d bytes: not a restore evidence file" % (path, len(raw) - 1))
    try:
        evidence = json.loads(raw)
    except ValueError as exc:
        raise CheckInputError("%s is not JSON: %s" % (path, exc)) from None
    if not isinstance(evidence, dict):
        raise CheckInputError("%s holds a JSON %s, not an object" % (path, type(evidence).__name__))
    problems = []
    try:
        evidence["finished_at"] = parse_utc(evidence.get("finished_at"))
    except ValueError as exc:
        problems.append("finished_at %s" % exc)
    if evidence.get("result") not in RESTORE_RESULTS:
        problems.append("result must be %s, not %r" % (" or ".join(RESTORE_RESULTS), evidence.get("result")))
    if not isinstance(evidence.get("archive"), str) or not evidence["archive"]:
        problems.append("archive must name the archive restored")
    duration = evidence.get("duration_s")
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration < 0:
        problems.append("duration_s must be a number of seconds, not %r" % (duration,))
    if problems:
        raise CheckInputError("%s does not follow the restore evidence schema: %s" % (path, "; ".join(problems)))
    return evidence


@check("database.restore_tested", SECTION, "Backup restore tested",
       "Run the restore drill (restore the newest archive into a scratch database and check it); it writes the "
       "evidence file this check reads.",
       proves="The restore drill's evidence file is younger than 30 days and says success.",
       cannot_see="A drill that left no evidence file (SKIP).")
def restore_tested(ctx: TargetContext) -> Outcome:
    path = ctx.options.restore_evidence_file
    if not path:
        return skipped("No restore drill evidence yet: set restore_evidence_file to the JSON file the restore drill "
                       "writes")
    if not os.path.exists(path):
        return skipped("No restore drill evidence yet: %s does not exist (run the restore drill)" % path,
                       restore_evidence_file=path)
    drill = read_restore_evidence(path)
    finished = drill["finished_at"]
    now = datetime.datetime.now(datetime.timezone.utc)
    age_days = (now - finished).total_seconds() / 86400
    max_age_days = ctx.threshold("restore_test_max_age_days")
    evidence = {"restore_evidence_file": path, "finished_at": finished.isoformat(), "result": drill["result"],
                "archive": drill["archive"], "duration_s": drill["duration_s"], "age_days": round(age_days, 2),
                "max_age_days": max_age_days, "error": str(drill["error"])[:300] if drill.get("error") else None}
    if finished - now > CLOCK_SKEW:
        return failed("The restore drill evidence says it finished in the future (%s): the file or this host's clock "
                      "is wrong" % finished.isoformat(), **evidence)
    if drill["result"] != "success":
        return failed("The last restore drill (%s, archive %s) failed%s" % (
            finished.date().isoformat(), drill["archive"], ": %s" % evidence["error"] if evidence["error"] else ""),
            **evidence)
    if age_days > max_age_days:
        return failed("The last successful restore drill is %.0f days old (limit %g days)" % (age_days, max_age_days),
                      **evidence)
    return passed("Restore tested %.1f days ago: %s restored in %gs" % (
        age_days, os.path.basename(drill["archive"]), drill["duration_s"]), **evidence)


@check("database.pre_release_backup", "10", "Rollback readiness: pre-release backup of the running release",
       "Run go-live's pre_release_backup phase before the next switch (golive.yml -e aragora_golive_release=...); "
       "for the release already live, a backup labelled with it is taken with aragora.ops.postgres_backup "
       "pre_release.",
       proves="A pre-release backup in `backup_dir` whose manifest names the running release as the one it was taken "
              "before, so a rollback of it can bring its database back.",
       cannot_see="Without `backup_dir` or `running_release` (SKIP).")
def pre_release_backup(ctx: TargetContext) -> Outcome:
    """A coordinated rollback of the running release restores the backup taken when it went live: is it there?"""
    directory = ctx.options.backup_dir
    running = ctx.options.running_release
    if not directory:
        return skipped("No backup_dir given: the pre-release backups cannot be looked for (set aragora_backup_dir)")
    try:
        found = pg_archive.pre_release_archives(directory)
    except OSError as exc:
        return failed("Backup directory %s cannot be read: %s" % (directory, exc.strerror or exc),
                      backup_dir=directory)
    listed = ["%s (%s -> %s)" % (os.path.basename(archive), manifest[pg_archive.PRE_RELEASE].get("running_release"),
                                 manifest[pg_archive.PRE_RELEASE].get("next_release")) for archive, manifest in found]
    evidence: dict[str, t.Any] = {"backup_dir": directory, "running_release": running, "pre_release_backups": listed}
    if not running:
        return skipped("The running release is not known (set aragora_running_release): cannot tell whether one of "
                       "the %d pre-release backup(s) in %s belongs to it" % (len(found), directory), **evidence)
    mine = [(archive, manifest) for archive, manifest in found
            if manifest[pg_archive.PRE_RELEASE].get("next_release") == running]
    if not mine:
        return failed("No pre-release backup for the running release %s in %s (there: %s): a rollback of %s cannot "
                      "bring its database back" % (running, directory, ", ".join(listed) or "none", running),
                      **evidence)
    archive, manifest = mine[-1]
    evidence.update(archive=archive, taken=manifest.get("finished_at"),
                    previous_release=manifest[pg_archive.PRE_RELEASE].get("running_release"))
    return passed("Pre-release backup of %s: %s, taken %s before %s replaced %s (complete, %d bytes as its manifest "
                  "says)" % (running, os.path.basename(archive), manifest.get("finished_at"), running,
                             evidence["previous_release"], manifest.get("size_bytes", 0)), **evidence)
