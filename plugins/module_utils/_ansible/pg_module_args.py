# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options the backup and restore modules share (documented once, in doc_fragments/postgres.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_archive import Server

CONNECTION_ARGS: dict[str, dict[str, t.Any]] = {
    "host": {"type": "str"},
    "port": {"type": "int"},
    "user": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "database": {"type": "str", "default": "aragora"},
    "maintenance_database": {"type": "str", "default": "postgres"},
    "connect_timeout": {"type": "int", "default": 10},
    # community.postgresql's names; omitted, libpq's PGSSLMODE/PGSSLROOTCERT or its default (prefer).
    "ssl_mode": {"type": "str", "choices": ["allow", "disable", "prefer", "require", "verify-ca", "verify-full"]},
    "ca_cert": {"type": "path", "aliases": ["ssl_rootcert"]},
}


def server_from(params: t.Mapping[str, t.Any]) -> Server:
    return Server(host=params.get("host"), port=params.get("port"), user=params.get("user"),
                  password=params.get("password"), database=params["database"],
                  maintenance_database=params["maintenance_database"], connect_timeout=params["connect_timeout"],
                  ssl_mode=params.get("ssl_mode"), ca_cert=params.get("ca_cert"))
