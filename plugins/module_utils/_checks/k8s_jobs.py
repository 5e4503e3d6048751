# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster's jobs around the database: the migration Job (section 3, "Migration scripts applied": the
checklist reads ``kubectl logs job/aragora-migrate``) and the backup CronJob (section 10, "Backup schedule
configured", which also decides section 3's "Automated backups scheduled" on Kubernetes)."""

from __future__ import annotations

import re
import typing as t
import urllib.parse

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import pod_security
from ansible_collections.aragora.ops.plugins.module_utils._checks import database
from ansible_collections.aragora.ops.plugins.module_utils._checks.k8s_cluster import (
    app_container,
    cluster,
    condition,
    condition_true,
    image_release,
    listing,
    live_state,
    name_of,
    now,
    parse_time,
    resolve_env,
    snapshot,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import PODS, K8sError, Snapshot
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    CheckInputError,
    CheckSkipped,
    failed,
    passed,
    warned,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

LOG_LINES = 20
# What the migration Job runs (aragora/migrations/__main__.py): `python -m aragora.migrations upgrade`; `status`,
# `downgrade` and `upgrade --dry-run` change nothing, or go the other way.
_UPGRADE = re.compile(r"aragora\.migrations['\"]?,?\s+['\"]?upgrade\b(?![^;&|]*--dry-run)")
# The release whose migrations database.MIGRATION_VERSIONS lists.
KNOWN_RELEASE = "2.11.1"


def _pod_spec(template_owner: t.Mapping[str, t.Any]) -> dict:
    return ((template_owner.get("spec") or {}).get("template") or {}).get("spec") or {}


def command_line(container: t.Mapping[str, t.Any]) -> str:
    return " ".join(str(part) for part in (container.get("command") or []) + (container.get("args") or []))


def upgrade_container(job: t.Mapping[str, t.Any]) -> dict | None:
    """The Job's (not init) container that runs the Aragora migrations upgrade, or None."""
    return next((c for c in _pod_spec(job).get("containers") or [] if _UPGRADE.search(command_line(c))), None)


def migration_jobs(snap: Snapshot, preferred: str | None) -> tuple[list[dict], list[str]]:
    """(the Jobs that run the upgrade, preferred name first then newest first; the other Jobs with what they run)."""
    jobs = listing(snap, "jobs")
    upgrades = [job for job in jobs if upgrade_container(job) is not None]
    others = ["%s (runs %s)" % (name_of(job), " ; ".join(
        command_line(c) or c.get("image", "?") for c in _pod_spec(job).get("containers") or []) or "nothing")
        for job in jobs if upgrade_container(job) is None]
    upgrades.sort(key=lambda job: (name_of(job) == preferred, (job.get("metadata") or {}).get("creationTimestamp")
                                   or ""), reverse=True)
    return upgrades, others


def job_log_tail(ctx: TargetContext, snap: Snapshot, job: dict) -> str:
    """The last lines of the Job's newest pod's log, or why they could not be read (never raises)."""
    if not snap.live:
        return "(rendered manifests: no log)"
    try:
        api = cluster(ctx)
        uid = (job.get("metadata") or {}).get("uid")
        pods = api.list_items(PODS, snap.namespace, label_selector="job-name=%s" % name_of(job))
        pods = [pod for pod in pods if not uid or any(
            ref.get("uid") == uid for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])] or pods
        if not pods:
            return "(no pod of the Job is left to read a log from)"
        newest = max(pods, key=lambda pod: (pod.get("metadata") or {}).get("creationTimestamp") or "")
        return api.pod_log_tail(snap.namespace, name_of(newest), LOG_LINES).strip() or "(the log is empty)"
    except K8sError as exc:
        return "(log not read: %s)" % exc


def _schema_proof(ctx: TargetContext, release: str | None) -> tuple[bool, str]:
    """(the database's migration ledger holds every migration of the running release, what was seen)."""
    if release != KNOWN_RELEASE:
        return False, "the migrations of release %s are not known to this collection (it knows %s)" % (
            release, KNOWN_RELEASE)
    try:
        facts = database.database_facts(ctx)
    except (CheckSkipped, CheckInputError) as exc:
        return False, "the schema was not read (%s)" % exc
    if facts.applied_migrations is None:
        return False, "the database %s has no migration ledger" % facts.where
    pending = [v for v in database.MIGRATION_VERSIONS if v not in set(facts.applied_migrations)]
    if pending:
        return False, "the database %s lacks %d migration(s) of %s" % (facts.where, len(pending), release)
    return True, "the database %s holds all %d migrations of %s" % (facts.where, len(database.MIGRATION_VERSIONS),
                                                                    release)


@check("migrations.job", "3", "Migration Job completed",
       "Run the migration Job for the release being deployed (python -m aragora.migrations upgrade, as "
       "aragora-migrate does) and read its log: kubectl logs job/aragora-migrate.",
       proves="The Job `migration_job` (or `NAME-*`, newest) that runs the migrations completed, for the image the "
              "Deployment runs; failed: FAIL with the last 20 log lines of its pod; absent: FAIL; still running: "
              "WARN.")
def migration_job(ctx: TargetContext):
    snap = snapshot(ctx)
    upgrades, others = migration_jobs(snap, ctx.options.migration_job)
    running_image = app_container(snap, ctx.options.k8s_container).get("image", "")
    running = image_release(running_image)
    ours = [job for job in upgrades if image_release(upgrade_container(job).get("image", "")) == running]
    evidence: dict[str, t.Any] = {"running_image": running_image, "running_release": running,
                                  "upgrade_jobs": {name_of(job): upgrade_container(job).get("image")
                                                   for job in upgrades},
                                  "not_migrations": others}
    if not ours:
        seen = ("; Jobs that are not the migration: %s" % ", ".join(others)) if others else ""
        if upgrades:
            return failed("No migration Job ran for the running release %s (image %s): the upgrade Job(s) ran "
                          "other releases: %s%s" % (running, running_image, ", ".join(
                              "%s (%s)" % kv for kv in evidence["upgrade_jobs"].items()), seen),
                          "Run the migration Job with the release the Deployment runs, before (or as part of) the "
                          "rollout.", **evidence)
        if not snap.live:
            return failed("The %s hold no Job that runs python -m aragora.migrations upgrade%s" % (snap.target, seen),
                          **evidence)
        proven, why = _schema_proof(ctx, running)
        evidence["schema"] = why
        if proven:
            return passed("No migration Job is left in namespace %s (deleted after success, e.g. by "
                          "ttlSecondsAfterFinished), but %s" % (snap.namespace, why), **evidence)
        return failed("No Job in namespace %s runs python -m aragora.migrations upgrade for release %s%s, and %s: "
                      "migrations have not been shown to run" % (snap.namespace, running, seen, why), **evidence)
    job = ours[0]
    status = job.get("status") or {}
    evidence.update(job=name_of(job), job_image=upgrade_container(job).get("image"))
    live_state(snap, "whether Job %s (release %s) completed" % (name_of(job), running))
    evidence.update(succeeded=status.get("succeeded") or 0, failed=status.get("failed") or 0,
                    active=status.get("active") or 0, completionTime=status.get("completionTime"))
    gave_up = bool(status.get("failed")) and not status.get("active") and not condition_true(job, "Complete")
    if condition_true(job, "Failed") or gave_up:
        reason = condition(job, "Failed") or {}
        evidence["log_tail"] = job_log_tail(ctx, snap, job)
        return failed("Migration Job %s failed (%s); last log lines: %s" % (
            name_of(job), reason.get("reason") or "%s failed pod(s)" % status.get("failed"),
            evidence["log_tail"][-600:]), **evidence)
    if not (condition_true(job, "Complete") or (status.get("succeeded") or 0) >= 1):
        evidence["log_tail"] = job_log_tail(ctx, snap, job)
        return warned("Migration Job %s has not completed yet (%s active pod(s)); last log lines: %s"
                      % (name_of(job), status.get("active") or 0, evidence["log_tail"][-600:]),
                      "Wait for the migration Job to finish before rolling out, and read its log.", **evidence)
    return passed("Migration Job %s ran python -m aragora.migrations upgrade for release %s and completed at %s"
                  % (name_of(job), running, status.get("completionTime")), **evidence)


# --- the backup CronJob -------------------------------------------------------------------------------------------

_POSTGRES_DUMP = re.compile(r"\b(pg_dump|pg_dumpall|pg_basebackup|pgbackrest|wal-g|barman)\b")
_SQLITE_DUMP = re.compile(r"\bsqlite3\b|\.db\b|\.sqlite3?\b")


def dumps(cronjob: t.Mapping[str, t.Any]) -> str | None:
    """Which database the CronJob's containers dump: 'postgres', 'sqlite', or None (neither can be seen)."""
    pod_spec = ((((cronjob.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
                ).get("spec") or {}
    text = " ".join(command_line(c) for c in pod_spec.get("containers") or [])
    if _POSTGRES_DUMP.search(text):
        return "postgres"
    if _SQLITE_DUMP.search(text):
        return "sqlite"
    return None


def _job_pod_spec(cronjob: t.Mapping[str, t.Any]) -> dict:
    return ((((cronjob.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
            ).get("spec") or {}


def _database_of(values: t.Mapping[str, str] | None) -> tuple[str, str | None]:
    """(backend, 'host/dbname' of the DSN) as Aragora picks them: ARAGORA_DB_BACKEND, auto = postgres with a DSN;
    ('unknown', why) when the environment could not be read."""
    if values is None:
        return "unknown", None
    dsn = next((values[name] for name in database.DSN_VARIABLES if values.get(name)), None)
    backend = (values.get("ARAGORA_DB_BACKEND") or "auto").lower()
    if backend == "auto":
        backend = "postgres" if dsn else "sqlite"
    where = None
    if dsn:
        parts = urllib.parse.urlsplit(dsn)
        where = "%s/%s" % (parts.hostname or "?", parts.path.lstrip("/") or "?")
    return backend, where


def _env_values(ctx: TargetContext, snap: Snapshot, container: t.Mapping[str, t.Any]) -> dict[str, str] | None:
    """The container's environment; None when a Secret or ConfigMap it reads may not be read."""
    try:
        return resolve_env(cluster(ctx), snap.namespace, container)[0]
    except K8sError:
        return None


def _namespace_level(snap: Snapshot) -> tuple[str | None, str]:
    """(the namespace's enforced Pod Security level, how it is known)."""
    try:
        found = snap.items("namespace")
    except K8sError as exc:
        return None, "the Namespace was not read (%s)" % exc
    if snap.missing("namespace") or not found:
        return None, snap.missing("namespace") or "no Namespace object"
    level = pod_security.enforced_level(found[0])
    return level, "Namespace %s enforces %s" % (snap.namespace, level or "no Pod Security level (label absent)")


def _judge_backup(ctx: TargetContext, snap: Snapshot, cronjob: dict, app_db: tuple[str, str | None],
                  level: str | None) -> list[str]:
    """Why this CronJob does not back up the Deployment's database, or would not run at all."""
    problems: list[str] = []
    kind = dumps(cronjob)
    backend, where = app_db
    if kind is None:
        problems.append("it runs no database dump (%s)" % (" ; ".join(
            command_line(c) for c in _job_pod_spec(cronjob).get("containers") or []) or "no command")[:200])
    elif backend == "unknown":
        pass  # judged below: the Deployment's database could not be read
    elif kind != backend:
        problems.append("it backs up %s, but the Deployment uses %s%s" % (
            "SQLite files" if kind == "sqlite" else "PostgreSQL", "PostgreSQL" if backend == "postgres" else backend,
            " (%s)" % where if where and backend == "postgres" else ""))
    elif kind == "postgres" and where:
        container = next(c for c in _job_pod_spec(cronjob).get("containers") or []
                         if _POSTGRES_DUMP.search(command_line(c)))
        target = _database_of(_env_values(ctx, snap, container))[1]
        if target and target != where:
            problems.append("it dumps %s, but the Deployment uses %s" % (target, where))
    refused = pod_security.violations(_job_pod_spec(cronjob), level)
    if refused:
        problems.append("its pods would be refused by the namespace's Pod Security level %s: %s"
                        % (level, "; ".join(refused[:4])))
    return problems


@check("backups.cronjob", "10", "Backup schedule configured",
       "Give the namespace one CronJob that dumps the database the Deployment uses (pg_dump -Fc \"$DATABASE_URL\" "
       "daily for PostgreSQL), with a pod template the namespace's Pod Security level admits (runAsNonRoot, "
       "allowPrivilegeEscalation: false, capabilities drop ALL, seccompProfile RuntimeDefault), unsuspended; find "
       "why its last runs failed: kubectl get jobs and kubectl logs for its recent Jobs.",
       proves="The CronJob `backup_cronjob` (default: the one that runs `pg_dump` or is named `*backup*`) exists, is "
              "not suspended, and its `lastSuccessfulTime` is within `backup_max_age_hours` (26 h).")
def backup_cronjob(ctx: TargetContext):
    snap = snapshot(ctx)
    wanted = ctx.options.backup_cronjob
    cronjobs = listing(snap, "cronjobs")
    found = [item for item in cronjobs if name_of(item) == wanted] if wanted else \
        [item for item in cronjobs if dumps(item) or "backup" in name_of(item).lower()]
    if not found:
        return failed("No backup CronJob in namespace %s (%s)" % (
            snap.namespace, "named %s" % wanted if wanted else "none runs a database dump or is named *backup*"),
            cronjobs=[name_of(item) for item in cronjobs])
    app_db = _database_of(_env_values(ctx, snap, app_container(snap, ctx.options.k8s_container)))
    level, level_seen = _namespace_level(snap)
    judged = {name_of(item): _judge_backup(ctx, snap, item, app_db, level) for item in found}
    good = [item for item in found if not judged[name_of(item)]]
    evidence: dict[str, t.Any] = {"deployment_database": "%s%s" % (app_db[0], " (%s)" % app_db[1] if app_db[1] else ""),
                                  "pod_security": level_seen, "cronjobs": {k: v or "ok" for k, v in judged.items()}}
    if not good:
        return failed("No CronJob backs up the Deployment's database: %s" % "; ".join(
            "%s: %s" % (name, ", ".join(why)) for name, why in judged.items()), **evidence)
    item = good[0]
    spec, status = item.get("spec") or {}, item.get("status") or {}
    evidence.update(cronjob=name_of(item), schedule=spec.get("schedule"), suspend=bool(spec.get("suspend")))
    if spec.get("suspend"):
        return failed("Backup CronJob %s is suspended: no backups are taken" % name_of(item), **evidence)
    if app_db[0] == "unknown":
        return warned("Backup CronJob %s dumps %s, but the Deployment's environment could not be read (a Secret or "
                      "ConfigMap it uses is not readable by this identity): whether it backs up the database the "
                      "Deployment uses is not known" % (name_of(item), dumps(item) or "a database"),
                      "Let the checker get the Deployment's Secrets and ConfigMaps, or give database_url.",
                      **evidence)
    if not snap.live:
        return passed("Backup CronJob %s (%s) backs up %s and its pods are admissible (in the %s; when it last "
                      "succeeded is live state, judged against the cluster)"
                      % (name_of(item), spec.get("schedule"), evidence["deployment_database"], snap.target),
                      **evidence)
    max_age = ctx.threshold("backup_max_age_hours")
    last = parse_time(status.get("lastSuccessfulTime"))
    age_h = None if last is None else round((now() - last).total_seconds() / 3600, 2)
    evidence.update(lastScheduleTime=status.get("lastScheduleTime"), lastSuccessfulTime=status.get("lastSuccessfulTime"),
                    age_hours=age_h, max_age_hours=max_age)
    if last is None:
        return failed("Backup CronJob %s (%s) has never completed a run" % (name_of(item), spec.get("schedule")),
                      **evidence)
    if age_h is not None and age_h > max_age:
        return failed("Backup CronJob %s last succeeded %.1f h ago (limit %g h)" % (name_of(item), age_h, max_age),
                      **evidence)
    return passed("Backup CronJob %s (%s) backs up %s and last succeeded %.1f h ago"
                  % (name_of(item), spec.get("schedule"), evidence["deployment_database"], age_h), **evidence)
