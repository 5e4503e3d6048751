# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The coordinated rollback: the application back to the release before the current one and the database back to
that release's pre-release backup, on the restore's own step machine (pg_restore_run.Restore) and state file.

The only safe order, each step recorded in the one state file and skipped when a rerun finds it done:

    plan -> validate -> safety_dump -> stop_writers -> restore -> verify (discarded rows counted, then the swap)
         -> switch_release (systemd: ``current``; Kubernetes: the rollout undo, at 0 replicas) -> start_writers
         -> (the health gate with the expected version, in the role) -> finish

The application plan (from, to, what the switch does) is recorded when the run begins and read back by every step
and every rerun, so a rerun after the switch never takes "the release before the current one" again.
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive, pre_release
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_restore_run import Restore, RestoreError
from ansible_collections.aragora.ops.plugins.module_utils._operations.restore_writers import KubernetesWriters, Writers
from ansible_collections.aragora.ops.plugins.module_utils._operations.releases import ReleaseError, ReleaseTree

APPLICATION_KINDS = ("systemd", "kubernetes")


class CoordinatedRollback(Restore):
    """A restore whose archive is the pre-release backup of the target release, and which switches the release."""

    def __init__(self, server: pg_archive.Server, params: t.Mapping[str, t.Any]) -> None:
        self.given_application = dict(params.get("application") or {})
        super().__init__(server, params)

    # ---- which archive, which application plan -----------------------------------------------------------------

    @property
    def application(self) -> dict[str, t.Any]:
        """The recorded plan while a run is open (a rerun's own view of "previous" is not the run's), else the given."""
        recorded = self.state.data.get("application") if self.state.open else None
        return dict(recorded or self.given_application)

    def _archive(self) -> str:
        if self.state.open and self.state.data.get("archive"):
            recorded = self.state.data.get("application") or {}
            given = self.given_application
            if given and recorded and (given.get("from"), given.get("to")) != (recorded.get("from"), recorded.get("to")):
                raise RestoreError(
                    "an unfinished coordinated rollback of %s from %s to %s (run %s) is recorded in %s: rerun "
                    "without naming another release to finish it"
                    % (self.database, recorded.get("from"), recorded.get("to"), self.state.data.get("run_id"),
                       self.state.path))
            return self.state.data["archive"]
        application = self.given_application
        if application.get("kind") not in APPLICATION_KINDS or not application.get("from") or not application.get("to"):
            raise RestoreError("application must give kind (%s), from and to" % "/".join(APPLICATION_KINDS))
        directory = self.params.get("backup_dir")
        if not directory:
            raise RestoreError("backup_dir is not set: the pre-release backups are looked for there")
        try:
            archive, _manifest = pre_release.find_backup(directory, application["from"], application["to"])
        except pre_release.PreReleaseError as exc:
            raise RestoreError(str(exc)) from None
        return archive

    def _begin(self) -> None:
        opened = not self.state.open
        super()._begin()
        if self.locked and (opened or "application" not in self.state.data):
            self.state.data["application"] = self.given_application
            self.state.save()

    # ---- what would be lost, and the schema ---------------------------------------------------------------------

    def _manifest(self) -> dict[str, t.Any]:
        manifest = pg_archive.read_manifest(self.archive)
        if manifest is None:
            raise RestoreError("archive %s has no manifest: a pre-release backup always has one" % self.archive)
        return manifest

    def impact(self) -> dict[str, t.Any]:
        """Rows the live database holds that the backup does not (the schema difference is the restore plan's)."""
        manifest = self._manifest()
        return {"discarded": pre_release.discarded_rows(self.server, self.database, manifest),
                "backup_of": manifest.get(pg_archive.PRE_RELEASE), "backup_taken": manifest.get("finished_at")}

    def plan(self, confirm: bool, check_mode: bool) -> dict[str, t.Any]:
        application = self.application
        if self.state.data.get("swapped"):
            impact = {"discarded": self.state.data.get("discarded") or {}}
        elif confirm and not check_mode:
            # Confirmed: nobody reads a count now. The one that counts is taken at verify, with the writers stopped
            # (counting here too read every table twice, the largest cost after the restore itself).
            impact = {"discarded": {"message": "the rows written since the backup are counted with the writers "
                                               "stopped, before the swap, and recorded in the incident record"}}
        else:
            impact = self.impact()
        what = ("Coordinated rollback: the application from %s to %s (%s) and database %s to the pre-release backup "
                "%s taken before %s went live. %s" % (
                    application.get("from"), application.get("to"), application.get("kind"), self.database,
                    os.path.basename(self.archive), application.get("from"),
                    impact["discarded"].get("message", "discarded rows already counted")))
        try:
            report = super().plan(confirm, check_mode)
        except RestoreError as exc:
            raise RestoreError("%s. %s" % (what, exc)) from None
        impact["schema"] = report["schema"]
        report.update(application=application, impact=impact, message="%s. %s" % (what, report["message"]))
        return report

    def verify(self, checks: t.Sequence[t.Mapping[str, str]]) -> dict[str, t.Any]:
        """Count what the kept database holds that the restored one does not (writers stopped: the final count),
        record it with the commands that export it, then verify and swap as the restore does."""
        self._begin()
        if not self.state.data.get("swapped") and "discarded" not in self.state.data and self.locked:
            discarded = self.impact()["discarded"]
            discarded["export_commands"] = pre_release.export_commands(self.old_database, discarded)
            self.state.data["discarded"] = discarded
            self.state.save()
        report = super().verify(checks)
        discarded = self.state.data["discarded"]
        report["discarded"] = discarded
        if discarded.get("total"):
            report["message"] += ("; %s - kept in database %s, exported with: %s" % (
                discarded["message"], self.old_database, " ; ".join(discarded.get("export_commands") or [])))
        return report

    def where_things_stand(self, writers: Writers | None = None) -> dict[str, t.Any]:
        """The restore's account, with the release switch, and this playbook as the way to finish."""
        summary = super().where_things_stand(writers)
        application = self.application
        switched = self.state.done("switch_release")
        text = summary["where_things_stand"].replace(
            "rerunning db_restore.yml with the same archive resumes it",
            "rerunning rollback.yml -e aragora_rollback_database=true resumes it")
        summary["where_things_stand"] = "%s The application is %s." % (text, (
            "switched to %s" % application.get("to")) if switched else "still on %s" % application.get("from"))
        summary["steps"]["switch_release"] = self.state.step("switch_release").get("status", "not run")
        return summary

    # ---- the application ----------------------------------------------------------------------------------------

    def switch_release(self) -> dict[str, t.Any]:
        """After the swap, before the writers start: the release the restored database belongs to."""
        self._begin()
        application = self.application
        if self.state.done("switch_release"):
            return {"step": "switch_release", "changed": False, "application": application,
                    "message": "already done in this run: %s" % self.state.step("switch_release").get("detail")}
        if not self.state.data.get("swapped"):
            raise RestoreError("the release is switched only after the restored database is swapped in (run %s has "
                               "not swapped yet)" % self.run_id)
        try:
            detail = (self._switch_systemd(application) if application["kind"] == "systemd"
                      else self._switch_kubernetes(application))
        except (ReleaseError, RestoreError) as exc:
            self.state.mark("switch_release", "failed", str(exc))
            raise RestoreError("switching the release to %s failed: %s. The restored database is live and the "
                               "writers are stopped: do not start %s on it; rerun to finish"
                               % (application.get("to"), exc, application.get("from"))) from None
        self.state.mark("switch_release", "done", detail)
        return {"step": "switch_release", "changed": True, "application": application, "message": detail}

    def _switch_systemd(self, application: t.Mapping[str, t.Any]) -> str:
        tree = ReleaseTree(application["root"], application.get("releases_dir") or "releases",
                           application.get("link") or "current")
        if tree.current() == application["to"]:  # a rerun after the switch, or killed just after it
            return "%s already points at %s" % (tree.link, application["to"])
        tree.preflight(application["to"], 0)
        tree.switch(application["to"])
        return "%s switched from %s to %s" % (tree.link, application["from"], application["to"])

    def _switch_kubernetes(self, application: t.Mapping[str, t.Any]) -> str:
        from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import rollout  # pylint: disable=import-outside-toplevel
        writers = KubernetesWriters(self.params)
        cluster = writers.cluster()
        namespace, name = self.params["namespace"], self.params["deployment"]
        deployment = writers.call(cluster.read_deployment, namespace, name)
        wanted = list(application.get("images_after") or [])
        if wanted and rollout.images((deployment.get("spec") or {}).get("template")) == wanted:
            return "Deployment %s/%s already runs %s" % (namespace, name, ", ".join(wanted))
        result = writers.call(rollout.apply, cluster, namespace, name,
                              int(application["to_revision"]) or None)
        return "Deployment %s/%s rolled back to revision %s (%s) at 0 replicas" % (
            namespace, name, application["to_revision"], ", ".join(result.plan.images_after))
