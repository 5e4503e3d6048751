# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster's jobs around the database: the migration Job (section 3, "Migration scripts applied": the
checklist reads ``kubectl logs job/aragora-migrate``) and the backup CronJob (section 10, "Backup schedule
configured", which also decides section 3's "Automated backups scheduled" on Kubernetes)."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils.checks.kube import (
    app_container,
    cluster,
    condition,
    condition_true,
    listing,
    name_of,
    now,
    parse_time,
    snapshot,
)
from ansible_collections.aragora.ops.plugins.module_utils.engine import check
from ansible_collections.aragora.ops.plugins.module_utils.k8s_client import KubeError, Snapshot
from ansible_collections.aragora.ops.plugins.module_utils.result import failed, passed, warned
from ansible_collections.aragora.ops.plugins.module_utils.target import TargetContext

LOG_LINES = 20


def _images(pod_spec: t.Mapping[str, t.Any]) -> list[str]:
    return [c.get("image", "") for c in (pod_spec.get("containers") or []) + (pod_spec.get("initContainers") or [])]


def migration_jobs(snap: Snapshot, name: str) -> list[dict]:
    """The Job named ``name``, else those whose name starts with it (Helm hooks and CI add a suffix), newest first."""
    jobs = listing(snap, "jobs")
    exact = [job for job in jobs if name_of(job) == name]
    found = exact or [job for job in jobs if name_of(job).startswith(name + "-")]
    return sorted(found, key=lambda job: (job.get("metadata") or {}).get("creationTimestamp") or "", reverse=True)


def job_log_tail(ctx: TargetContext, snap: Snapshot, job: dict) -> str:
    """The last lines of the Job's newest pod's log, or why they could not be read (never raises)."""
    try:
        api = cluster(ctx)
        uid = (job.get("metadata") or {}).get("uid")
        pods = api.call("list", "pods", snap.namespace, api.core.list_namespaced_pod, snap.namespace,
                        label_selector="job-name=%s" % name_of(job)).get("items") or []
        pods = [pod for pod in pods if not uid or any(
            ref.get("uid") == uid for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])] or pods
        if not pods:
            return "(no pod of the Job is left to read a log from)"
        newest = max(pods, key=lambda pod: (pod.get("metadata") or {}).get("creationTimestamp") or "")
        return api.pod_log_tail(snap.namespace, name_of(newest), LOG_LINES).strip() or "(the log is empty)"
    except KubeError as exc:
        return "(log not read: %s)" % exc


@check("migrations.job", "3", "Migration Job completed",
       "Run the migration Job for the release being deployed (python -m aragora.migrations upgrade, as "
       "aragora-migrate does) and read its log: kubectl logs job/aragora-migrate.")
def migration_job(ctx: TargetContext):
    snap = snapshot(ctx)
    wanted = ctx.option("migration_job")
    jobs = migration_jobs(snap, wanted)
    running_image = app_container(snap, ctx.option("k8s_container")).get("image", "")
    if not jobs:
        return failed("No migration Job %s in namespace %s: migrations have not run there (or the Job was deleted "
                      "after it finished, by ttlSecondsAfterFinished)" % (wanted, snap.namespace),
                      job=wanted, running_image=running_image)
    job = jobs[0]
    status = job.get("status") or {}
    images = _images(((job.get("spec") or {}).get("template") or {}).get("spec") or {})
    evidence: dict[str, t.Any] = {"job": name_of(job), "succeeded": status.get("succeeded") or 0,
                                  "failed": status.get("failed") or 0, "active": status.get("active") or 0,
                                  "completionTime": status.get("completionTime"), "job_images": images,
                                  "running_image": running_image}
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
    if running_image and running_image not in images:
        return failed("Migration Job %s completed, but for image %s, not the running %s: this release's migrations "
                      "have not run" % (name_of(job), ", ".join(images), running_image),
                      "Run the migration Job with the image the Deployment runs, before (or as part of) the rollout.",
                      **evidence)
    return passed("Migration Job %s completed at %s for the running image %s"
                  % (name_of(job), status.get("completionTime"), running_image), **evidence)


def _runs_backup(cronjob: dict) -> bool:
    template = (((cronjob.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    text = " ".join(" ".join(str(part) for part in (c.get("command") or []) + (c.get("args") or []))
                    for c in (template.get("spec") or {}).get("containers") or [])
    return "pg_dump" in text or "backup" in name_of(cronjob).lower()


@check("backups.cronjob", "10", "Backup schedule configured",
       "Create the backup CronJob (pg_dump -Fc daily), unsuspend it, and find why its last runs failed: "
       "kubectl get jobs and kubectl logs for its recent Jobs.")
def backup_cronjob(ctx: TargetContext):
    snap = snapshot(ctx)
    wanted = ctx.option("backup_cronjob")
    cronjobs = listing(snap, "cronjobs")
    found = [item for item in cronjobs if name_of(item) == wanted] if wanted else \
        [item for item in cronjobs if _runs_backup(item)]
    if not found:
        return failed("No backup CronJob in namespace %s (%s)" % (
            snap.namespace, "named %s" % wanted if wanted else "none runs pg_dump or is named *backup*"),
            cronjobs=[name_of(item) for item in cronjobs])
    item = found[0]
    spec, status = item.get("spec") or {}, item.get("status") or {}
    max_age = ctx.threshold("backup_max_age_hours")
    last = parse_time(status.get("lastSuccessfulTime"))
    age_h = None if last is None else round((now() - last).total_seconds() / 3600, 2)
    evidence = {"cronjob": name_of(item), "schedule": spec.get("schedule"), "suspend": bool(spec.get("suspend")),
                "lastScheduleTime": status.get("lastScheduleTime"),
                "lastSuccessfulTime": status.get("lastSuccessfulTime"), "age_hours": age_h, "max_age_hours": max_age}
    if spec.get("suspend"):
        return failed("Backup CronJob %s is suspended: no backups are taken" % name_of(item), **evidence)
    if last is None:
        return failed("Backup CronJob %s (%s) has never completed a run" % (name_of(item), spec.get("schedule")),
                      **evidence)
    if age_h is not None and age_h > max_age:
        return failed("Backup CronJob %s last succeeded %.1f h ago (limit %g h)" % (name_of(item), age_h, max_age),
                      **evidence)
    return passed("Backup CronJob %s (%s) last succeeded %.1f h ago" % (name_of(item), spec.get("schedule"), age_h),
                  **evidence)
