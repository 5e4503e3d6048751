# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """How the backup and restore modules reach PostgreSQL (with the PostgreSQL client tools, on the managed host)."""

    DOCUMENTATION = r"""
options:
  host:
    description:
      - Host name, address or socket directory of the PostgreSQL server. Omitted, libpq's C(PGHOST) or its default.
    type: str
  port:
    description: Port of the server. Omitted, libpq's C(PGPORT) or 5432.
    type: int
  user:
    description: Role to connect as. Omitted, libpq's C(PGUSER) or the OS user.
    type: str
  password:
    description:
      - Password of O(user). It is passed to the client tools in C(PGPASSWORD), never on a command line, and is
        masked in every message.
    type: str
  database:
    description: The application's database.
    type: str
    default: aragora
  maintenance_database:
    description: Database to connect to for CREATE, DROP and RENAME of databases.
    type: str
    default: postgres
  connect_timeout:
    description: Seconds to wait for each connection.
    type: int
    default: 10
  ssl_mode:
    description:
      - Whether and how TLS is required to the server, as community.postgresql's C(ssl_mode) and libpq's
        C(sslmode). Omitted, libpq's C(PGSSLMODE) or V(prefer).
    type: str
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - CA certificate(s) the server's certificate must chain to (with O(ssl_mode=verify-ca) or
        V(verify-full)), as community.postgresql's C(ca_cert) and libpq's C(sslrootcert).
    type: path
    aliases: [ssl_rootcert]
requirements:
  - The PostgreSQL client tools (C(psql), C(pg_dump), C(pg_restore)) on the host the module runs on, of the
    server's major version or newer.
"""
