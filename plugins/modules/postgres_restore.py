#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: postgres_restore
short_description: One step of a PostgreSQL restore that cannot lose data, or a restore drill
version_added: 0.1.0
description:
  - Runs one O(step) of the restore the aragora.ops.db_restore role sequences, in this order - V(plan) (what will
    be replaced by what; refuses without O(confirm)), V(validate) (the archive, before anything is touched - it
    exists, its sha256 matches its manifest, C(pg_restore --list) reads it, the server's major version can take it),
    V(safety_dump) (a kept pg_dump of the current database), V(stop_writers) (the Deployment scaled to 0 and its
    pods gone within O(writers_timeout), or the systemd unit stopped; the previous replica count saved first;
    remaining sessions ended), V(restore) (into a new database with C(--exit-on-error --jobs N); the live database
    is not touched), V(verify) (row counts against the manifest and the O(checks), then the swap by rename in one
    transaction, the old database kept under another name), V(start_writers) (back to the saved replica count or
    unit state) and V(finish) (closes the state file).
  - Every step reads and writes the state file in O(state_dir) first, so a rerun after an interruption resumes
    where the run stopped; steps already done are reported and skipped.
  - V(drill) restores the newest archive of O(backup_dir) (or O(archive)) into a scratch database, verifies it,
    drops it and writes the evidence JSON the C(database.restore_tested) check reads.
  - Unlike community.postgresql's C(postgresql_db state=restore), the tool is never chosen by file extension
    (archives are C(pg_dump -Fc), checked with C(pg_restore --list)), C(--exit-on-error) is always on, and check
    mode validates and reports the plan.
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - aragora.ops.python
  - aragora.ops.postgres
  - aragora.ops.kubernetes
options:
  step:
    description: The step to run.
    type: str
    required: true
    choices: [plan, validate, safety_dump, stop_writers, restore, verify, switch_release, start_writers, finish, drill]
  application:
    description:
      - Makes the restore a coordinated rollback (the aragora.ops.coordinated_rollback role) - the archive is the
        pre-release backup in O(backup_dir) labelled C(to -> from) (refused, listing the pre-release backups there,
        when there is none), V(plan) and V(verify) count the rows written since the backup and compare the schemas,
        and V(switch_release) (after the swap, before V(start_writers)) switches the application to C(to).
      - Keys - C(kind) (V(systemd) or V(kubernetes)), C(from) and C(to) (release names; the pre-release backup's
        labels), C(expected_version); systemd - C(root), C(releases_dir), C(link); Kubernetes - C(to_revision),
        C(images_after). Recorded in the state file at the start, and read back from it by every step and rerun.
    type: dict
  archive:
    description:
      - The C(pg_dump -Fc) archive to restore. Omitted, the newest complete archive in O(backup_dir).
      - When a restore is unfinished, it must be that restore's archive (or omitted).
    type: path
  backup_dir:
    description: Directory of the archives (and, unless O(safety_dump_dir), of the safety dump).
    type: path
  state_dir:
    description: Directory of the restore state file (C(restore-<database>.json)) and its history.
    type: path
    default: /var/lib/aragora-ops/restore
  confirm:
    description: For V(plan) - the operator's explicit go; without it the restore is refused (except in check mode).
    type: bool
    default: false
  require_manifest:
    description: Refuse archives without a manifest (no sha256 to check, no row counts to verify).
    type: bool
    default: false
  safety_dump:
    description:
      - Take a safety dump of the current database before anything changes.
      - Off by default, the restore loses nothing without it; the previous database is kept whole by the swap
        (renamed C(<database>_pre_restore_<run id>), never dropped by the restore). The dump adds a file copy
        outside the database server, for when that database will be dropped or the server is at risk.
    type: bool
    default: false
  safety_dump_dir:
    description: Directory of the safety dump; O(backup_dir) when omitted.
    type: path
  jobs:
    description: C(pg_restore --jobs), parallel jobs of the restore into the new database.
    type: int
    default: 2
  no_owner:
    description: C(pg_restore --no-owner), for a restore by a role that cannot take the archive's owners.
    type: bool
    default: false
  restore_timeout:
    description: Seconds the safety dump and pg_restore may each take; no limit when omitted.
    type: float
  checks:
    description: SQL checks of the restored database; each C(sql) must return true in its first column.
    type: list
    elements: dict
    default: []
  writers:
    description: What writes to the database and is stopped during the restore.
    type: str
    choices: [none, kubernetes, systemd]
    default: none
  writers_timeout:
    description: Seconds to wait for the pods to be gone, and for them to be available again.
    type: float
    default: 300
  namespace:
    description: Namespace of the Deployment (O(writers=kubernetes)).
    type: str
    default: aragora
  deployment:
    description: Name of the Deployment (O(writers=kubernetes)).
    type: str
    default: aragora
  kubeconfig:
    description: Kubeconfig file; the client's default when omitted. Falls back on E(K8S_AUTH_KUBECONFIG).
    type: path
  k8s_context:
    aliases: [kube_context, context]
  k8s_in_cluster:
    aliases: [in_cluster]
  api_timeout:
    description: Seconds for each Kubernetes API call.
    type: float
    default: 10
  unit:
    description: The systemd unit (O(writers=systemd)).
    type: str
    default: aragora.service
  run_token:
    description:
      - Names the run (the role makes one per play). Every step of a restore must come from the run that drives it;
        a new run takes an unfinished restore over, at V(plan), only when the run that left it is gone (its
        ansible-playbook process on this host has ended, or - driven from elsewhere - it has been quiet for
        10 seconds). Two runs at once - the second is refused. Omitted, steps are not tied to a run.
      - Whatever the token, each step holds the state file's lock and a PostgreSQL advisory lock of the database
        while it runs, and ends itself (and its pg_dump or pg_restore) when its ansible-playbook is killed.
    type: str
  outcome:
    description: For V(finish) - how the restore ended, kept in the state history.
    type: str
    choices: [succeeded, failed]
    default: succeeded
  scratch_database:
    description: For V(drill) - the scratch database (dropped and made again); C(<database>_restore_drill) when omitted.
    type: str
  evidence_file:
    description: For V(drill) - where the evidence JSON is written.
    type: path
attributes:
  check_mode:
    support: partial
    details: V(plan) and V(validate) run (no confirmation needed) and report the plan; other steps do nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Step 2 - validate the archive before anything is touched
  aragora.ops.postgres_restore:
    step: validate
    archive: /var/backups/aragora/aragora-20261127T020000Z.dump
    host: 127.0.0.1
    user: aragora
    password: "{{ vault_aragora_db_password }}"

- name: Restore drill of the newest backup
  aragora.ops.postgres_restore:
    step: drill
    backup_dir: /var/backups/aragora
    evidence_file: /var/lib/aragora-ops/restore-drill.json
"""

RETURN = r"""
step:
  description: The step run.
  returned: always
  type: str
message:
  description: What the step did or found, in one sentence.
  returned: always
  type: str
archive:
  description: The archive of this restore.
  returned: when known
  type: str
path:
  description: The safety dump kept (V(safety_dump)).
  returned: when O(step=safety_dump)
  type: str
writers:
  description: The writers as they were before the restore (kind, replicas or unit state), from the state file.
  returned: when O(step) is V(stop_writers) or V(start_writers)
  type: dict
row_counts:
  description: Rows per table of the restored database (V(verify)).
  returned: when O(step=verify)
  type: dict
checks:
  description:
    - The verification as results of the collection's check schema (id, section, title, status, message, evidence,
      remediation, duration_ms) - C(restore.row_counts) (PASS when every table matches the archive's manifest, FAIL
      naming what differs, SKIP without a manifest) and one C(restore.sql_check_<n>) per SQL check of O(checks).
  returned: when O(step) is V(verify) or V(drill) and the restored database was verified
  type: list
  elements: dict
sql_checks:
  description: The SQL checks of O(checks) as run - C(name), C(passed) and the C(value) the SQL returned.
  returned: when O(step) is V(verify) or V(drill) and the restored database was verified
  type: list
  elements: dict
schema:
  description:
    - At V(plan) - how the live database's schema differs from the archive's (its manifest's C(schema)) - C(compared),
      C(differs), C(tables_added), C(tables_dropped), C(columns_added), C(columns_dropped) and a C(message), so that
      nobody rolls the application back alone onto a schema a newer release migrated.
  returned: when O(step=plan)
  type: dict
impact:
  description:
    - With O(application), at V(plan) - C(discarded) (rows written since the backup, per table and Aragora's users
      and debates) and C(schema) (tables and columns added or dropped since the backup).
  returned: when O(step=plan) with O(application)
  type: dict
discarded:
  description: With O(application), at V(verify) - the final count of discarded rows and the commands exporting them.
  returned: when O(step=verify) with O(application)
  type: dict
application:
  description: With O(application) - the application plan recorded in the state file (what a rerun carries on with).
  returned: when O(application) is given
  type: dict
where_things_stand:
  description: On failure and at V(finish) - as observed at that moment, which databases exist and which holds
    what, whether new connections are still refused, whether the safety dump is on disk, the writers' replicas or
    unit state, whether the state file is still open (then a rerun resumes), and how to finish by hand.
  returned: on failure of a restore in progress (not when refused because another run holds it), and at V(finish)
  type: str
state_open:
  description: Whether the restore state is still open (a rerun resumes it) when RV(where_things_stand) was written.
  returned: with RV(where_things_stand)
  type: bool
evidence:
  description: The evidence written by V(drill).
  returned: when O(step=drill)
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_restore_run
from ansible_collections.aragora.ops.plugins.module_utils._ansible.k8s_args import (
    K8S_REQUIRED_TOGETHER,
    invalid_k8s_connection,
    k8s_connection_spec,
)
from ansible_collections.aragora.ops.plugins.module_utils._operations.coordinated_rollback import CoordinatedRollback
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_archive import ArchiveError
from ansible_collections.aragora.ops.plugins.module_utils._ansible.pg_module_args import CONNECTION_ARGS, server_from
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_restore_run import Restore, RestoreBusy, RestoreError
from ansible_collections.aragora.ops.plugins.module_utils._operations.restore_writers import WRITER_KINDS, writers_for
from ansible_collections.aragora.ops.plugins.module_utils._reporting.verification import restore_results

READ_ONLY_STEPS = ("plan", "validate")


def run_step(module: AnsibleModule, restore: Restore) -> dict:
    params, step = module.params, module.params["step"]
    if step == "plan":
        return restore.plan(params["confirm"], module.check_mode)
    if step == "validate":
        return restore.validate()
    if step == "safety_dump":
        return restore.safety_dump()
    if step == "stop_writers":
        return restore.stop_writers(writers_for(params))
    if step == "restore":
        return restore.restore()
    if step == "verify":
        report = restore.verify(params["checks"])
        return {**report, "checks": restore_results(report)}
    if step == "switch_release":
        if not isinstance(restore, CoordinatedRollback):
            raise RestoreError("step switch_release belongs to a coordinated rollback: give application")
        return restore.switch_release()
    if step == "start_writers":
        return restore.start_writers(writers_for(params))
    return restore.finish(params["outcome"], writers_for(params))


def invalid_numbers(params: dict) -> str | None:
    """Numbers no step can use, named (the role's pre-flight refuses them earlier; this guards direct use)."""
    refused = ["%s must be above 0, got %r" % (name, params[name])
               for name in ("writers_timeout", "api_timeout", "restore_timeout", "connect_timeout")
               if params.get(name) is not None and params[name] <= 0]
    if params["jobs"] < 1:
        refused.append("jobs must be 1 or more, got %r" % params["jobs"])
    return "; ".join(refused) or None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **CONNECTION_ARGS,
            "step": {"type": "str", "required": True,
                     "choices": list(pg_restore_run.STEPS) + ["switch_release", "drill"]},
            "application": {"type": "dict"},
            "archive": {"type": "path"},
            "backup_dir": {"type": "path"},
            "state_dir": {"type": "path", "default": "/var/lib/aragora-ops/restore"},
            "confirm": {"type": "bool", "default": False},
            "require_manifest": {"type": "bool", "default": False},
            "safety_dump": {"type": "bool", "default": False},
            "safety_dump_dir": {"type": "path"},
            "jobs": {"type": "int", "default": 2},
            "no_owner": {"type": "bool", "default": False},
            "restore_timeout": {"type": "float"},
            "checks": {"type": "list", "elements": "dict", "default": []},
            "writers": {"type": "str", "choices": list(WRITER_KINDS), "default": "none"},
            "writers_timeout": {"type": "float", "default": 300},
            "namespace": {"type": "str", "default": "aragora"},
            "deployment": {"type": "str", "default": "aragora"},
            **k8s_connection_spec({"k8s_context": ["context"], "k8s_in_cluster": ["in_cluster"]}),
            "api_timeout": {"type": "float", "default": 10},
            "unit": {"type": "str", "default": "aragora.service"},
            "run_token": {"type": "str", "no_log": False},  # names a run, grants nothing
            "outcome": {"type": "str", "choices": ["succeeded", "failed"], "default": "succeeded"},
            "scratch_database": {"type": "str"},
            "evidence_file": {"type": "path"},
        },
        supports_check_mode=True,
        required_together=K8S_REQUIRED_TOGETHER,
    )
    params, step = module.params, module.params["step"]
    problem = invalid_k8s_connection(params)
    if problem:
        module.fail_json(msg=problem)
    problem = invalid_numbers(params)
    if problem:
        module.fail_json(msg="step %s: %s; nothing was touched" % (step, problem), step=step)
    server = server_from(params)
    if step == "drill":
        if module.check_mode:
            module.exit_json(changed=False, step=step, message=(
                "check mode: the drill would restore into a scratch database and write %s" % params["evidence_file"]))
        report = pg_restore_run.drill(server, params)
        if report.get("verification"):
            report["checks"] = restore_results(report.pop("verification"))
        if report["error"]:
            module.fail_json(msg="restore drill failed: %s" % report["error"], changed=True, step=step, **report)
        module.exit_json(changed=True, step=step, message="restore drill of %s succeeded in %g s: %s tables, %s rows"
                         % (report["archive"], report["evidence"]["duration_s"], report["tables_restored"],
                            report["rows_restored"]), **report)
    if module.check_mode and step not in READ_ONLY_STEPS:
        module.exit_json(changed=False, step=step, skipped_in_check_mode=True,
                         message="check mode: step %s not run" % step)
    restore = None
    try:
        restore = CoordinatedRollback(server, params) if params["application"] else Restore(server, params)
        with restore.exclusive(step, module.check_mode):
            report = run_step(module, restore)
    except (RestoreError, ArchiveError, OSError) as exc:
        extra = {}
        # Refused because another run holds the restore: its message says it all, the state is that run's.
        if restore is not None and restore.state.open and not isinstance(exc, RestoreBusy):
            try:
                extra = restore.where_things_stand(writers_for(params))
            except (RestoreError, ArchiveError, OSError) as observing:
                extra = {"where_things_stand": "could not be observed: %s" % observing}
        module.fail_json(msg="step %s: %s" % (step, server.scrub(str(exc))), step=step,
                         archive=getattr(restore, "archive", None), **extra)
    report.setdefault("changed", False)
    report.setdefault("archive", restore.archive)
    if isinstance(restore, CoordinatedRollback):
        report.setdefault("application", restore.application)
    module.exit_json(**report)


if __name__ == "__main__":
    main()
