#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sqlite_backup
short_description: Back up or restore Aragora's SQLite storage (its data directory) safely
version_added: 0.1.0
description:
  - V(state=backup) copies every SQLite file under O(data_dir) with SQLite's online backup API (consistent while the
    server writes), checks each copy with C(PRAGMA integrity_check), and writes a set directory with a manifest
    (sha256, size, per-table row counts), as C(.partial) renamed once complete.
  - V(state=restore) checks the set first (manifest, sha256, integrity) before anything is touched, refuses while
    O(unit) runs, backs up the current files the same way (the safety copy, kept), then replaces each file by a
    rename (its stale C(-wal)/C(-shm) removed) and checks the result against the manifest.
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - aragora.ops.python
options:
  state:
    description: Take a backup, or restore one.
    type: str
    choices: [backup, restore]
    default: backup
  data_dir:
    description: Aragora's C(ARAGORA_DATA_DIR).
    type: path
    required: true
  backup_dir:
    description: Directory of the backup sets.
    type: path
    required: true
  backup_set:
    description: For V(state=restore) - the set directory; the newest set in O(backup_dir) when omitted.
    type: path
  safety_dir:
    description: For V(state=restore) - where the safety copy of the current files goes; O(backup_dir) when omitted.
    type: path
  unit:
    description: For V(state=restore) - the systemd unit that must not be running.
    type: str
attributes:
  check_mode:
    support: full
    details: >-
      Nothing is written; V(backup) lists the files it would copy, V(restore) validates the set and says what it
      would replace, and C(changed) says whether the run would change anything.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Back up Aragora's SQLite files
  aragora.ops.sqlite_backup:
    data_dir: /opt/aragora/data
    backup_dir: /var/backups/aragora-sqlite
"""

RETURN = r"""
path:
  description: The set directory written (V(backup)) or restored (V(restore)).
  returned: always
  type: str
files:
  description: Per file - sha256, size, integrity and row counts (V(backup)); the files replaced (V(restore)).
  returned: success
  type: raw
safety_copy:
  description: The set holding the files as they were before the restore.
  returned: when O(state=restore)
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aragora.ops.plugins.module_utils import sqlite_archive
from ansible_collections.aragora.ops.plugins.module_utils.sqlite_archive import SqliteArchiveError


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["backup", "restore"], "default": "backup"},
            "data_dir": {"type": "path", "required": True},
            "backup_dir": {"type": "path", "required": True},
            "backup_set": {"type": "path"},
            "safety_dir": {"type": "path"},
            "unit": {"type": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        if params["state"] == "backup":
            if module.check_mode:
                files = sqlite_archive.database_files(params["data_dir"])
                module.exit_json(changed=bool(files), path=None, files=files,
                                 msg="would back up %d SQLite files into %s" % (len(files), params["backup_dir"]))
            manifest = sqlite_archive.backup(params["data_dir"], params["backup_dir"])
            module.exit_json(changed=True, path=manifest["path"], files=manifest["files"],
                             msg="backed up %d SQLite files into %s" % (len(manifest["files"]), manifest["path"]))
        backup_set = params["backup_set"] or sqlite_archive.newest_set(params["backup_dir"])
        if not backup_set:
            module.fail_json(msg="no backup set in %s: nothing was touched" % params["backup_dir"], path=None)
        if module.check_mode:
            manifest = sqlite_archive.validate(backup_set)
            module.exit_json(changed=True, path=backup_set, files=sorted(manifest["files"]),
                             msg="would replace %d files in %s with %s"
                             % (len(manifest["files"]), params["data_dir"], backup_set))
        result = sqlite_archive.restore(backup_set, params["data_dir"],
                                        params["safety_dir"] or params["backup_dir"], params["unit"])
        module.exit_json(changed=True, path=backup_set, files=result["restored"], safety_copy=result["safety_copy"],
                         msg="restored %d SQLite files (%d rows) from %s; the previous files are kept in %s"
                             % (len(result["restored"]), result["rows"], os.path.basename(backup_set),
                                result["safety_copy"]))
    except (SqliteArchiveError, OSError) as exc:
        module.fail_json(msg=str(exc), path=params.get("backup_set"))


if __name__ == "__main__":
    main()
