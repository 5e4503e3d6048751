#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_check
short_description: Check Aragora's PostgreSQL database, its backups and restore tests
version_added: 0.1.0
description:
  - Runs the V(database) group (section 3, Database & Persistence, of the Production Readiness Checklist) for one
    target.
  - The database is the one the application uses, O(database_url), else C(DATABASE_URL), else the legacy
    C(ARAGORA_POSTGRES_DSN), else Supabase's Postgres (C(SUPABASE_POSTGRES_DSN), or the DSN Aragora derives from
    C(SUPABASE_URL) and C(SUPABASE_DB_PASSWORD)). With C(SUPABASE_URL) alone (the REST API), the live checks are
    V(SKIP), since the Supabase REST API is not probed. Without any DSN they are V(SKIP) too.
  - All live facts come from one session per target, bounded by O(timeout) for the connection and for each query
    (the server also gets that C(statement_timeout)). Messages name host, port and database, never the password.
  - V(database.connection) connects; a stopped server, a wrong password, a missing database or role, a missing
    C(pg_hba.conf) rule, TLS refused and a timeout are distinct V(FAIL)s. V(WARN) when C(ARAGORA_DB_BACKEND=sqlite)
    keeps Aragora off this database, when C(DATABASE_URL) and C(ARAGORA_POSTGRES_DSN) name different databases
    (Aragora 2.11's stores read the latter, its health checks the former), or when the role is a superuser.
  - V(database.server_version) reports the version; V(WARN) once the major release is past its end of life.
  - V(database.latency) times a trivial query (median of three); V(WARN) above C(thresholds.db_latency_warn_ms).
  - V(database.tls) requires an encrypted session when the DSN asks for one (C(sslmode) V(require), V(verify-ca),
    V(verify-full)); V(WARN) when a remote database is reached without C(sslmode) requiring TLS; V(SKIP) on loopback
    or a Unix socket.
  - V(database.pool_sizing) checks that (C(ARAGORA_DB_POOL_SIZE), default 20, + C(ARAGORA_DB_POOL_OVERFLOW), default
    15) x O(app_replicas) fits under C(max_connections) - C(superuser_reserved_connections) (and the role's and
    database's connection limits), V(FAIL) when it cannot, V(WARN) above C(thresholds.db_pool_warn_ratio). The
    checklist's C(ARAGORA_DB_MAX_OVERFLOW) is read by nothing on Aragora 2.11; the evidence says so when it is set.
  - V(database.timeouts) checks C(ARAGORA_DB_TIMEOUT) (1 to 300 s, default 30) and V(WARN)s when the role's own
    C(statement_timeout) is under a second.
  - V(database.migrations) requires the 18 tables Aragora 2.11.1 creates in PostgreSQL at start-up (a missing table is
    a V(FAIL) naming it) and, when the migration ledger C(_aragora_migrations) exists, all 11 migrations of 2.11.1
    (C(python -m aragora.migrations upgrade)).
  - V(database.backup) reads the newest C(pg_dump) archive (C(*.dump), C(*.pgdump), C(*.backup), C(*.tar), or a
    directory archive) in O(backup_dir) on the host the module runs on. It must be younger than
    C(thresholds.backup_max_age_hours) and readable by C(pg_restore) - C(--list), then, up to 1 GiB, a full read
    into C(/dev/null), since a truncated archive keeps a readable table of contents. A stale archive and a corrupt
    one are distinct V(FAIL)s. V(SKIP) without O(backup_dir).
  - V(database.restore_tested) reads the restore drill's evidence file O(restore_evidence_file); it must say
    C(success) and be younger than C(thresholds.restore_test_max_age_days). V(SKIP) ("no restore drill evidence
    yet") without the option or the file.
  - Read-only; runs the same under C(--check).
notes:
  - "The restore drill's evidence file is a JSON object with C(finished_at) (ISO-8601 with a UTC offset, for example
    V(2026-11-20T03:12:09Z)), C(result) (V(success) or V(failure)), C(archive) (the archive restored) and
    C(duration_s) (seconds, a number); optionally C(started_at), C(target), C(tables_restored) and C(error). Other
    keys are ignored."
deprecated:
  removed_in: 1.0.0
  why: It runs a preset of M(aragora.ops.readiness_check)'s groups, with the same checks and results.
  alternative: M(aragora.ops.readiness_check) with O(aragora.ops.readiness_check#module:groups=[database]).
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment: [ansible.builtin.action_common_attributes, aragora.ops.python, aragora.ops.read_only,
                                aragora.ops.target.check_results, aragora.ops.target, aragora.ops.kubernetes,
                                aragora.ops.target.thresholds, aragora.ops.target.pool_sizing,
                                aragora.ops.target.configuration, aragora.ops.target.k8s_workload,
                                aragora.ops.target.database]
requirements:
  - psycopg2 (or psycopg2-binary)
  - pg_restore (the PostgreSQL client, of the server's major version or newer) for O(backup_dir)
"""

EXAMPLES = r"""
- name: Check the database the application uses, its backups and the last restore drill
  aragora.ops.database_check:
    env_file: /opt/aragora/.env
    backup_dir: /var/backups/aragora
    restore_evidence_file: /var/lib/aragora-ops/restore-drill.json
    app_replicas: 3
  register: database

- name: Check a database given explicitly (vault), warning when the pools take over 70 % of the connections
  aragora.ops.database_check:
    database_url: "{{ vault_aragora_database_url }}"
    config:
      ARAGORA_DB_POOL_SIZE: 20
      ARAGORA_DB_POOL_OVERFLOW: 10
    app_replicas: 4
    thresholds:
      db_pool_warn_ratio: 0.7
  delegate_to: localhost

- name: Stop when the database is not ready
  ansible.builtin.assert:
    that: database.verdict == 'GO'
    fail_msg: "{{ database.checks | selectattr('status', 'equalto', 'FAIL') | map(attribute='message') | list }}"
"""

RETURN = r"""
# As readiness_check returns them (its RETURN describes each in full), for the database group.
checks: {description: "One result per check of the V(database) group, as
                       RV(aragora.ops.readiness_check#module:checks).",
         returned: always, type: list, elements: dict,
         sample: [{id: database.pool_sizing, status: FAIL,
                   message: "Connection pools need up to 105 connections ((20 + 15) x 3 replicas) but PostgreSQL
                             allows 17 (max_connections - reserved)"}]}
counts: {description: How many checks ended in each status., returned: always, type: dict,
         sample: {PASS: 6, WARN: 0, FAIL: 1, SKIP: 2}}
verdict: {description: "V(GO) when no check failed (and, with O(strict), none warned); V(NO-GO) otherwise.",
          returned: always, type: str}
config_sources: {description: Where the configuration came from., returned: always, type: list, elements: str}
"""

from ansible_collections.aragora.ops.plugins.module_utils._ansible.check_module import run_check_module


def main() -> None:
    run_check_module(["database"])


if __name__ == "__main__":
    main()
