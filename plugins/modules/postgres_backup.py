#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: postgres_backup
short_description: Back up Aragora's PostgreSQL database with pg_dump -Fc and a manifest, and apply retention
version_added: 0.1.0
description:
  - Dumps O(database) with C(pg_dump --format=custom) into O(backup_dir) as C(<database>-<UTC time>.dump), written
    as C(.partial) and renamed once complete, with a manifest C(<database>-<UTC time>.manifest.json) beside it
    (database, server version, size, sha256, exact per-table row counts, time), which the restore verifies against.
  - The row counts are read in the snapshot pg_dump dumps (C(pg_export_snapshot)), so they match the archive exactly
    even while the application writes.
  - Then deletes archives older than O(keep_days), never the newest good one (complete, its size as its manifest says).
  - The same code runs on hosts from the schedule the aragora.ops.db_backup role installs.
  - With O(pre_release), the backup is the one go-live takes just before a release goes live - its manifest labelled
    with the release running now and the one about to go live (what a coordinated rollback restores), checked right
    after it is written (sha256 against its manifest, C(pg_restore --list)), and reported as the check
    C(golive.pre_release_backup) for the go-live report.
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - aragora.ops.python
  - aragora.ops.postgres
  - aragora.ops.pre_release
options:
  backup_dir:
    description: Directory of the archives; created (mode 0700) when missing.
    type: path
    required: true
  keep_days:
    description: Archives older than this many days are deleted, except the newest good archive. V(0) keeps all.
    type: float
    default: 30
  backup:
    description: Take a backup. V(false) only applies retention.
    type: bool
    default: true
  timeout:
    description: Seconds pg_dump may take; no limit when omitted.
    type: float
attributes:
  check_mode:
    support: full
    details: >-
      Takes no backup and deletes nothing; says which archives retention would delete, and C(changed) is true
      when it would take a backup or delete one.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Back up the aragora database and keep 30 days
  aragora.ops.postgres_backup:
    host: 127.0.0.1
    user: aragora
    password: "{{ vault_aragora_db_password }}"
    backup_dir: /var/backups/aragora
"""

RETURN = r"""
archive:
  description: Path of the archive written; null when no backup was taken.
  returned: always
  type: str
  sample: /var/backups/aragora/aragora-20261127T020000Z.dump
manifest:
  description: The manifest written beside the archive.
  returned: when a backup was taken
  type: dict
  sample: {database: aragora, server_version: "15.18", size_bytes: 6545, sha256: afcd79..., tables: {public.users: 7}}
retention:
  description: Archives deleted (or, in check mode, that would be) and kept, and the newest good archive.
  returned: always
  type: dict
verified:
  description: For a pre-release backup - sha256 checked against the manifest and C(pg_restore --list) entries.
  returned: when O(pre_release) is given and a backup was taken
  type: dict
  sample: {sha256: afcd79..., sha256_verified: true, toc_entries: 57}
check:
  description:
    - For a pre-release backup - the check C(golive.pre_release_backup) in the collection's result schema (PASS with
      the archive, or FAIL with why), which the go-live report carries.
  returned: when O(pre_release) is given
  type: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aragora.ops.plugins.module_utils._checks import pre_release as pre_release_check
from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive, pre_release
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_archive import ArchiveError
from ansible_collections.aragora.ops.plugins.module_utils._ansible.pg_module_args import CONNECTION_ARGS, server_from


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **CONNECTION_ARGS,
            "backup_dir": {"type": "path", "required": True},
            "keep_days": {"type": "float", "default": pg_archive.DEFAULT_KEEP_DAYS},
            "backup": {"type": "bool", "default": True},
            "timeout": {"type": "float"},
            **pre_release.ARGUMENT_SPEC,
        },
        supports_check_mode=True,
    )
    params = module.params
    labels = {k: v for k, v in (params["pre_release"] or {}).items() if v is not None} or None
    result = {"changed": False, "archive": None}
    began = time.monotonic()
    try:
        if params["backup"] and module.check_mode:
            result["changed"] = True  # the archive it would write
        elif params["backup"]:
            manifest = pg_archive.take_backup(server_from(params), params["backup_dir"], timeout=params["timeout"],
                                              prefix="%s-pre-release" % params["database"] if labels else None,
                                              pre_release=labels)
            result.update(changed=True, archive=manifest.pop("archive_path"), manifest=manifest)
            if labels:
                result["verified"] = pre_release.verify_archive(result["archive"], manifest)
        if params["keep_days"] > 0:
            result["retention"] = pg_archive.apply_retention(params["backup_dir"], params["keep_days"],
                                                             dry_run=module.check_mode,
                                                             keep_releases=params["keep_releases"])
            result["changed"] = result["changed"] or bool(result["retention"]["deleted"])
        else:
            result["retention"] = {"deleted": [], "kept": pg_archive.list_archives(params["backup_dir"])}
    except (ArchiveError, OSError) as exc:
        message = "backup of %s failed: %s" % (server_from(params).where(), exc)
        if labels:
            result["check"] = pre_release_check.backup_check(labels, None, message, began)
        module.fail_json(msg=message, **result)
    if labels:
        result["check"] = pre_release_check.backup_check(
            labels, pre_release.postgres_taken(result) if result["archive"] else None, None, began)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
