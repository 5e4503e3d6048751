# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The k8s_rollout_undo task, for its module and for its action plugin (which runs it in the controller's process
on a local connection): the options, and one call from validated options to the task's result."""

from __future__ import annotations

import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import rollout
from ansible_collections.aragora.ops.plugins.module_utils._ansible.k8s_args import (
    K8S_REQUIRED_TOGETHER,
    KUBERNETES_CORE_ALIASES,
    invalid_k8s_connection,
    k8s_connection_spec,
)
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import Cluster, ClusterTarget, K8sError

REQUIRED_TOGETHER = K8S_REQUIRED_TOGETHER


def argument_spec() -> dict[str, dict[str, t.Any]]:
    return {
        **k8s_connection_spec(KUBERNETES_CORE_ALIASES),
        "namespace": {"type": "str", "default": "aragora"},
        "name": {"type": "str", "default": "aragora"},
        "revision": {"type": "int", "default": 0},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 300},
        "poll_interval": {"type": "float", "default": 2},
        "resume_paused": {"type": "bool", "default": False},
        "timeout": {"type": "float", "default": 10},
    }


def _plan_result(result: rollout.ApplyResult) -> dict:
    the_plan = result.plan
    tags = rollout.image_tags(the_plan.images_after)
    return {
        "from_revision": the_plan.from_revision, "to_revision": the_plan.to_revision,
        "images_before": the_plan.images_before, "images_after": the_plan.images_after,
        "version_after": tags[0] if tags else "", "history": [r.summary() for r in the_plan.history],
        "conflicts_retried": result.conflicts,
    }


def _failed(msg: str, **fields: t.Any) -> dict:
    return {**fields, "failed": True, "msg": msg}


def run(p: t.Mapping[str, t.Any], check_mode: bool) -> dict:
    """The task's result from its validated options (``failed`` and ``msg`` when it failed)."""
    problem = invalid_k8s_connection(p)
    if problem:
        return _failed(problem, changed=False)
    refused = [("revision must be 0 or more, got %r" % p["revision"]) if p["revision"] < 0 else "",
               ("wait_timeout must be 0 or more seconds, got %r" % p["wait_timeout"]) if p["wait_timeout"] < 0 else "",
               ("poll_interval must be above 0 seconds, got %r" % p["poll_interval"]) if p["poll_interval"] <= 0 else "",
               ("timeout must be above 0 seconds, got %r" % p["timeout"]) if p["timeout"] <= 0 else ""]
    if any(refused):
        return _failed("; ".join(problem for problem in refused if problem), changed=False)
    started = time.monotonic()
    timings = {"plan": 0.0, "patch": 0.0, "wait": 0.0, "total": 0.0, "polls": 0}
    fail = {"rollout": "skipped", "conflicts_retried": 0, "timings": timings, "changed": False}
    try:
        # No option at all: the default kubeconfig, as kubectl does.
        cluster = Cluster(ClusterTarget.from_options(p) or ClusterTarget(timeout=p["timeout"]))
        result = rollout.apply(cluster, p["namespace"], p["name"], p["revision"] or None, p["resume_paused"],
                               check_mode)
    except K8sError as exc:
        timings["total"] = round(time.monotonic() - started, 3)
        if getattr(exc, "deployment", None):
            fail["state"] = fail["state_before"] = rollout.describe_state(exc.deployment)
        return _failed("Rollback of deployment %s/%s not done: %s" % (p["namespace"], p["name"], exc), **fail)
    timings["plan" if not result.changed or check_mode else "patch"] = round(time.monotonic() - started, 3)
    out = _plan_result(result)
    the_plan = result.plan
    out.update(changed=result.changed, rollout="skipped", state=rollout.describe_state(result.deployment),
               state_before=rollout.describe_state(result.before), timings=timings)
    if result.changed:
        out["diff"] = {"before_header": "deployment/%s revision %s template" % (the_plan.name, the_plan.from_revision),
                       "after_header": "deployment/%s revision %s template" % (the_plan.name, the_plan.to_revision),
                       "before": the_plan.template_before, "after": the_plan.template_after}
    if not result.changed:
        out["message"] = ("Deployment %s/%s already runs revision %d's template (%s): nothing changed."
                          % (the_plan.namespace, the_plan.name, the_plan.to_revision, ", ".join(the_plan.images_after)))
    elif check_mode:
        out["message"] = "Would roll back %s%s." % (the_plan.describe(), ", resuming it" if the_plan.paused else "")
    else:
        annotations = (result.deployment.get("metadata") or {}).get("annotations") or {}
        out["new_revision"] = rollout.to_int(annotations.get(rollout.REVISION))
        retried = " after %d conflict(s)" % result.conflicts if result.conflicts else ""
        out["message"] = "Rolled back %s%s." % (the_plan.describe(), retried)
    if p["wait"] and result.changed and not check_mode:
        try:
            waited = rollout.wait(cluster, p["namespace"], p["name"], the_plan.target.pod_template_hash,
                                  p["wait_timeout"], p["poll_interval"])
        except K8sError as exc:
            timings["total"] = round(time.monotonic() - started, 3)
            return _failed("%s Then reading its progress failed: %s" % (out["message"], exc),
                           **{**out, "rollout": "unknown"})
        timings.update(wait=round(waited.elapsed, 3), polls=waited.polls)
        out.update(rollout=waited.outcome, state=rollout.describe_state(waited.deployment))
        timings["total"] = round(time.monotonic() - started, 3)
        if waited.outcome != "done":
            return _failed("%s The rollout to revision %d %s: %s. Deployment now: %s. Nothing was rolled forward; "
                           "look at the new pods (kubectl describe deployment/%s -n %s) and decide."
                           % (out["message"], the_plan.to_revision,
                              "FAILED" if waited.outcome == "failed" else "did NOT COMPLETE", waited.message,
                              out["state"], the_plan.name, the_plan.namespace), **out)
        out["message"] += " Rollout complete in %.1fs." % waited.elapsed
    timings["total"] = round(time.monotonic() - started, 3)
    return out
