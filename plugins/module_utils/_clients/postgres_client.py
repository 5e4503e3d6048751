# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL as the database checks see it: one bounded session that gathers every fact.

The session is a psycopg2 *asynchronous* connection driven by select() against our own deadline, so that no step
- the TCP connect, the TLS and password exchange, any query - can outlast the timeout, even on a server that accepts
and then never answers (libpq's connect_timeout alone does not cover that). The server also gets a statement_timeout.
Errors become :class:`PostgresError` with a sentence that names host:port/database and what to fix; the password is
never part of it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import select
import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._clients.masking import (
    keyword_password,
    password_spellings,
    scrub,
    url_password,
)

try:
    import psycopg2
    import psycopg2.extensions
except ImportError:  # reported by the checks as a plain sentence
    psycopg2 = None  # type: ignore[assignment]

# The migration runner's ledger (aragora/migrations/runner.py, MIGRATIONS_TABLE).
MIGRATIONS_TABLE = "_aragora_migrations"
SSL_MODES_REQUIRING_TLS = ("require", "verify-ca", "verify-full")
URL_SCHEMES = ("postgresql", "postgres")


class PostgresError(Exception):
    """A probe that could not complete; ``kind`` says which failure it was, the message what to fix."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


@dataclasses.dataclass(frozen=True)
class DsnInfo:
    """What a DSN names, without its password: for messages and evidence."""

    host: str
    port: str
    dbname: str
    user: str
    sslmode: str | None  # as written in the DSN; libpq's default (prefer) when None

    @property
    def where(self) -> str:
        """'127.0.0.1:5432/aragora', or 'socket /run/postgresql:5432/aragora'."""
        host = "socket " + self.host if self.host.startswith("/") else self.host
        return "%s:%s/%s" % (host, self.port, self.dbname)


def parse_dsn(dsn: str) -> tuple[DsnInfo, dict[str, str]]:
    """(what it names, libpq's parameters) of a URL or key=value DSN; PostgresError when libpq cannot parse it."""
    if psycopg2 is None:
        raise PostgresError("psycopg2 is needed on the host that runs the checks: pip install psycopg2-binary",
                            "library")
    if "://" in dsn:
        scheme = dsn.split("://", 1)[0].lower()
        if scheme not in URL_SCHEMES:
            raise PostgresError("the DSN's scheme is %r; PostgreSQL URLs start with postgresql:// (asyncpg, which "
                                "Aragora uses, accepts no driver suffix such as +asyncpg)" % scheme, "dsn")
    try:
        params = psycopg2.extensions.parse_dsn(dsn)
    except psycopg2.ProgrammingError as exc:
        raise PostgresError("the DSN cannot be parsed: %s" % scrub(first_line(exc), dsn_secrets(dsn)), "dsn") from None
    info = DsnInfo(host=params.get("host") or os.environ.get("PGHOST") or "localhost",
                   port=params.get("port") or "5432", dbname=params.get("dbname") or params.get("user") or "?",
                   user=params.get("user") or "?", sslmode=params.get("sslmode"))
    return info, params


def dsn_secrets(dsn: str) -> set[str]:
    """The password of a DSN in every spelling it may take in a message (raw, URL-decoded)."""
    found = password_spellings(url_password(dsn)) if "://" in dsn else set()
    return {secret for secret in found | {keyword_password(dsn)} if secret}


def first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


# libpq's error texts, most specific first: (pattern, kind, sentence); the sentence's fields are describe_connect_error's.
_CONNECT_ERRORS: tuple[tuple[str, str, str], ...] = (
    (r"password authentication failed|authentication failed for user",
     "auth", "PostgreSQL at {where} refused the password of user {user}: set the DSN's password to the role's"),
    (r"no password supplied", "auth", "PostgreSQL at {where} asks for a password and the DSN has none"),
    (r'database "[^"]*" does not exist',
     "database_missing", "database {dbname} does not exist on {server}: create it, or correct the DSN's database"),
    (r'role "[^"]*" does not exist', "role_missing", "role {user} does not exist on {server}: create it, or correct "
                                                     "the DSN's user"),
    (r"connection refused", "refused",
     "nothing accepts connections at {server} (PostgreSQL stopped, or wrong host or port): start it or correct the "
     "DSN"),
    (r"no pg_hba\.conf entry", "hba", "PostgreSQL at {where} has no pg_hba.conf rule letting user {user} in from "
                                      "this host: add one"),
    (r"server does not support SSL", "ssl", "the DSN requires TLS (sslmode={sslmode}) and PostgreSQL at {server} "
                                            "does not offer it: enable ssl on the server"),
    (r"certificate verify failed|root certificate file|server certificate for",
     "ssl", "TLS to PostgreSQL at {server} failed certificate verification (sslmode={sslmode}): {detail}"),
    (r"too many connections|remaining connection slots are reserved",
     "full", "PostgreSQL at {server} refuses new connections, all slots are taken: {detail}"),
    (r"the database system is (starting up|shutting down|in recovery mode)",
     "unavailable", "PostgreSQL at {server} is not accepting connections: {detail}"),
    (r"could not translate host name|Name or service not known|nodename nor servname",
     "dns", "host name {host} of the DSN does not resolve: correct it or the DNS"),
    (r"timeout expired", "timeout", "no answer from PostgreSQL at {where} within {timeout:g} s"),
)


def describe_connect_error(exc: BaseException, info: DsnInfo, timeout: float, secrets: t.Iterable[str]) -> PostgresError:
    detail = scrub(first_line(exc), secrets)
    values = {"where": info.where, "server": "%s:%s" % (info.host, info.port), "host": info.host,
              "user": info.user, "dbname": info.dbname, "timeout": timeout, "sslmode": info.sslmode, "detail": detail}
    for pattern, kind, sentence in _CONNECT_ERRORS:
        if re.search(pattern, str(exc), re.I):
            return PostgresError(sentence.format(**values), kind)
    return PostgresError("cannot connect to PostgreSQL at %s: %s" % (info.where, detail))


@dataclasses.dataclass
class DatabaseFacts:
    """Everything the database checks read, gathered in one session."""

    where: str
    host: str
    user: str
    sslmode: str | None
    connect_ms: float
    latency_ms: float  # median round trip of a trivial query
    server_version: str
    server_version_num: int
    max_connections: int
    superuser_reserved_connections: int
    reserved_connections: int  # PostgreSQL 16+; 0 before
    role_connection_limit: int  # -1: none
    database_connection_limit: int  # -1: none
    is_superuser: bool
    connections_in_use: int
    statement_timeout: str  # the role's default, before this session set its own
    ssl_in_use: bool
    ssl_version: str | None
    ssl_cipher: str | None
    tables: list[str]  # in the schemas on the role's search_path
    applied_migrations: list[int] | None  # None: no migration ledger in the database
    schema_versions: dict[str, int]


# Settings, limits and TLS of this session, in one round trip.
_FACTS_SQL = """
SELECT current_setting('server_version'), current_setting('server_version_num')::int,
       current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int,
       coalesce(current_setting('reserved_connections', true), '0')::int,
       (SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user),
       (SELECT datconnlimit FROM pg_database WHERE datname = current_database()),
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int,
       s.ssl, s.version, s.cipher,
       to_regclass(%(ledger)s) IS NOT NULL, to_regclass('_schema_versions') IS NOT NULL
FROM (SELECT 1) AS one LEFT JOIN pg_stat_ssl AS s ON s.pid = pg_backend_pid()
"""
_TABLES_SQL = """
SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY (current_schemas(false)) ORDER BY 1
"""
LATENCY_SAMPLES = 3


class _Session:
    """An asynchronous psycopg2 connection whose every step ends by the deadline of ``timeout`` seconds."""

    def __init__(self, dsn: str, timeout: float) -> None:
        self.info, _params = parse_dsn(dsn)
        self.secrets = dsn_secrets(dsn)
        self.timeout = timeout
        started = time.monotonic()
        try:
            # connect_timeout is libpq's own bound (whole seconds, at least 2); ours below is the one that holds.
            self.conn = psycopg2.connect(dsn, async_=True, connect_timeout=max(2, math.ceil(timeout)),
                                         application_name="aragora.ops readiness check")
            self._wait("connecting")
        except psycopg2.Error as exc:
            self.close()
            raise describe_connect_error(exc, self.info, timeout, self.secrets) from None
        except PostgresError:
            self.close()
            raise
        self.connect_ms = (time.monotonic() - started) * 1000

    def _wait(self, doing: str) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            state = self.conn.poll()
            if state == psycopg2.extensions.POLL_OK:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PostgresError("no answer from PostgreSQL at %s within %g s (%s)"
                                    % (self.info.where, self.timeout, doing), "timeout")
            if state == psycopg2.extensions.POLL_READ:
                select.select([self.conn.fileno()], [], [], remaining)
            else:
                select.select([], [self.conn.fileno()], [], remaining)

    def query(self, sql: str, params: t.Mapping[str, t.Any] | None = None, doing: str = "querying") -> list[tuple]:
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql, params)
            self._wait(doing)
            return cursor.fetchall() if cursor.description else []
        except psycopg2.Error as exc:
            raise PostgresError("PostgreSQL at %s answered an error while %s: %s"
                                % (self.info.where, doing, scrub(first_line(exc), self.secrets))) from None
        finally:
            cursor.close()

    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()


def gather_facts(dsn: str, timeout: float) -> DatabaseFacts:
    """Connect with ``dsn`` and read every fact the database checks judge; PostgresError when that fails."""
    session = _Session(dsn, timeout)
    try:
        # First the role's own default, then this session's bound (the server cancels anything slower).
        statement_timeout = session.query("SHOW statement_timeout", doing="reading statement_timeout")[0][0]
        session.query("SET statement_timeout = %(ms)s", {"ms": int(timeout * 1000)}, "setting statement_timeout")
        rounds = []
        for _sample in range(LATENCY_SAMPLES):
            began = time.monotonic()
            session.query("SELECT 1", doing="measuring latency")
            rounds.append((time.monotonic() - began) * 1000)
        row = session.query(_FACTS_SQL, {"ledger": MIGRATIONS_TABLE}, "reading server settings")[0]
        (version, version_num, max_connections, su_reserved, reserved, role_limit, db_limit, is_superuser,
         in_use, ssl_row, ssl_version, ssl_cipher, has_ledger, has_schema_versions) = row
        tables = [name for (name,) in session.query(_TABLES_SQL, doing="listing tables")]
        applied = None
        if has_ledger:
            ledger = session.query("SELECT version FROM %s ORDER BY 1" % MIGRATIONS_TABLE,
                                   doing="reading the migration ledger")
            applied = [int(number) for (number,) in ledger]
        schema_versions = {}
        if has_schema_versions:
            schema_versions = {str(module): int(v) for module, v in session.query(
                "SELECT module, version FROM _schema_versions", doing="reading _schema_versions")}
        ssl_in_use = bool(session.conn.info.ssl_in_use) or bool(ssl_row)
        return DatabaseFacts(
            where=session.info.where, host=session.info.host, user=session.info.user, sslmode=session.info.sslmode,
            connect_ms=round(session.connect_ms, 1), latency_ms=round(sorted(rounds)[len(rounds) // 2], 2),
            server_version=str(version), server_version_num=int(version_num), max_connections=max_connections,
            superuser_reserved_connections=su_reserved, reserved_connections=reserved,
            role_connection_limit=-1 if role_limit is None else role_limit,
            database_connection_limit=-1 if db_limit is None else db_limit, is_superuser=bool(is_superuser),
            connections_in_use=in_use, statement_timeout=str(statement_timeout), ssl_in_use=ssl_in_use,
            ssl_version=ssl_version or session.conn.info.ssl_attribute("protocol"),
            ssl_cipher=ssl_cipher or session.conn.info.ssl_attribute("cipher"),
            tables=tables, applied_migrations=applied, schema_versions=schema_versions)
    finally:
        session.close()
