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
  - With O(pre_release) (go-live, before the switch) the set is a pre-release backup - its manifest carries the two
    releases (both must be non-empty where a backup is taken), it is read back and checked (sha256 of every file,
    C(PRAGMA integrity_check)), and the result has the go-live report's check C(golive.pre_release_backup). The data directory is then the one the server reads
    (C(ARAGORA_DATA_DIR), or C(ARAGORA_NOMIC_DIR), in O(env_file)) unless O(data_dir) names it; a server on
    PostgreSQL (C(ARAGORA_DB_BACKEND=postgres)) is a SKIP that says so.
  - V(state=restore) checks the set first (manifest, sha256, integrity) before anything is touched, refuses while
    O(unit) runs, backs up the current files the same way (the safety copy, kept), then replaces each file by a
    rename (its stale C(-wal)/C(-shm) removed) and checks the result against the manifest.
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - aragora.ops.python
  - aragora.ops.pre_release
options:
  state:
    description: Take a backup, or restore one.
    type: str
    choices: [backup, restore]
    default: backup
  data_dir:
    description:
      - Aragora's C(ARAGORA_DATA_DIR). Required with V(state=restore).
      - For V(state=backup), read from O(env_file) when omitted.
    type: path
  env_file:
    description:
      - The server's environment file (its systemd C(EnvironmentFile)), from which C(ARAGORA_DATA_DIR) and
        C(ARAGORA_DB_BACKEND) are read when O(data_dir) is omitted.
    type: path
  keep_days:
    description:
      - For V(state=backup) - delete sets older than this many days afterwards, never the newest set nor the
        pre-release backups O(keep_releases) protects; V(0) keeps everything.
    type: float
    default: 0
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

- name: Pre-release backup of the files the server uses (its env file names ARAGORA_DATA_DIR)
  aragora.ops.sqlite_backup:
    env_file: /opt/aragora/.env
    backup_dir: /var/backups/aragora-sqlite
    pre_release: {running_release: "2.11.0", next_release: "2.11.1"}
    keep_days: 30
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
data_dir:
  description: The data directory backed up, and where it was found (O(data_dir) or the env file's variable).
  returned: when O(state=backup)
  type: str
retention:
  description: Sets deleted (or, in check mode, that would be) and kept.
  returned: when O(state=backup) and O(keep_days) > 0
  type: dict
check:
  description:
    - For a pre-release backup - the check C(golive.pre_release_backup) in the collection's result schema (PASS with
      the set, SKIP when the server is on PostgreSQL or in check mode, FAIL with why), which the go-live report carries.
  returned: when O(pre_release) is given
  type: dict
safety_copy:
  description: The set holding the files as they were before the restore.
  returned: when O(state=restore)
  type: str
rows:
  description: Rows in the restored files, as their manifest counts them (checked against the files after the restore).
  returned: when O(state=restore), not in check mode
  type: int
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aragora.ops.plugins.module_utils._checks import pre_release as pre_release_check
from ansible_collections.aragora.ops.plugins.module_utils._operations import pre_release, sqlite_archive
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import read_env_file
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import CheckInputError
from ansible_collections.aragora.ops.plugins.module_utils._operations.sqlite_archive import SqliteArchiveError


def locate(params: dict) -> dict:
    """The data directory to back up: the one given, or the one the server reads from its env file."""
    if params["data_dir"]:
        return {"backend": "sqlite", "data_dir": params["data_dir"], "problem": None, "from": "data_dir"}
    env, _info = read_env_file(params["env_file"])
    return sqlite_archive.server_storage(env, params["env_file"])


def backup(module: AnsibleModule) -> None:
    params = module.params
    labels = {k: v for k, v in (params["pre_release"] or {}).items() if v is not None} or None
    began = time.monotonic()
    result: dict = {"changed": False, "path": None}
    try:
        storage = locate(params)
        result["data_dir"] = storage["data_dir"]
        if storage["problem"] and storage["backend"] == "postgres" and labels:
            result["check"] = pre_release_check.backup_check(labels, None, None, began, skipped=storage["problem"])
            module.exit_json(msg=result["check"]["message"], **result)
        if storage["problem"]:
            raise SqliteArchiveError(storage["problem"])
        if labels and not (labels.get("running_release") and labels.get("next_release")):
            raise SqliteArchiveError("a pre-release backup names the release running now (%s) and the one about to "
                                     "go live (%s)" % (labels.get("running_release") or "unknown",
                                                       labels.get("next_release") or "unknown"))
        if module.check_mode:
            files = sqlite_archive.database_files(storage["data_dir"])
            result.update(changed=bool(files), files=files,
                          msg="would back up %d SQLite files of %s into %s"
                              % (len(files), storage["data_dir"], params["backup_dir"]))
            if labels:
                result["check"] = pre_release_check.backup_check(labels, None, None, began)
            module.exit_json(**result)
        prefix = sqlite_archive.PRE_RELEASE_PREFIX if labels else sqlite_archive.PREFIX
        manifest = sqlite_archive.backup(storage["data_dir"], params["backup_dir"], prefix=prefix, pre_release=labels)
        if labels:
            sqlite_archive.validate(manifest["path"])  # read back: every file's sha256 and integrity_check
        result.update(changed=True, path=manifest["path"], files=manifest["files"],
                      msg="backed up %d SQLite files of %s (%s) into %s" % (
                          len(manifest["files"]), storage["data_dir"], storage["from"], manifest["path"]))
        if params["keep_days"] > 0:
            result["retention"] = sqlite_archive.apply_retention(params["backup_dir"], params["keep_days"],
                                                                 params["keep_releases"])
        if labels:
            result["check"] = pre_release_check.backup_check(labels, pre_release.sqlite_taken(manifest), None, began)
    except (SqliteArchiveError, CheckInputError, OSError) as exc:
        message = "SQLite backup failed: %s" % exc
        if labels:
            result["check"] = pre_release_check.backup_check(labels, None, message, began)
        module.fail_json(msg=message, **result)
    module.exit_json(**result)


def restore(module: AnsibleModule) -> None:
    params = module.params
    try:
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
                         rows=result["rows"],
                         msg="restored %d SQLite files (%d rows) from %s; the previous files are kept in %s"
                             % (len(result["restored"]), result["rows"], os.path.basename(backup_set),
                                result["safety_copy"]))
    except (SqliteArchiveError, OSError) as exc:
        module.fail_json(msg=str(exc), path=params.get("backup_set"))


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["backup", "restore"], "default": "backup"},
            "data_dir": {"type": "path"},
            "env_file": {"type": "path"},
            "backup_dir": {"type": "path", "required": True},
            "backup_set": {"type": "path"},
            "safety_dir": {"type": "path"},
            "unit": {"type": "str"},
            "keep_days": {"type": "float", "default": 0},
            **pre_release.ARGUMENT_SPEC,
        },
        required_if=[("state", "restore", ("data_dir",))],
        required_one_of=[("data_dir", "env_file")],
        supports_check_mode=True,
    )
    if module.params["state"] == "backup":
        backup(module)
    restore(module)


if __name__ == "__main__":
    main()
