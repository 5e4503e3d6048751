#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_rollout_undo
short_description: Roll a Kubernetes Deployment back to an earlier revision, like kubectl rollout undo, and wait
version_added: 0.1.0
description:
  - Reads the Deployment's revision history from the ReplicaSets it B(owns) (ownerReferences); a ReplicaSet that
    only matches its labels is never used.
  - Rolls back to the previous revision (the newest owned revision other than the current one, whatever gaps earlier
    rollbacks left in the numbers) or to O(revision). An unknown revision, or no history at all, fails with the list
    of revisions that exist; nothing is changed.
  - Replaces the pod template with the target's (without its C(pod-template-hash) label) in one JSON patch that
    carries the Deployment's C(resourceVersion) as a precondition; the Deployment's own annotations are kept, only
    C(kubernetes.io/change-cause) follows the target as C(kubectl rollout undo) does. A 409 conflict re-reads the
    Deployment and tries again (at most five times), for the revision it planned first.
  - When the Deployment already runs the target's template it reports C(changed=false) and does nothing.
  - A paused Deployment is refused unless O(resume_paused=true).
  - With O(wait), waits until the rollout completes (observed generation, updated, ready and available replicas)
    and fails at once when the Deployment reports C(ProgressDeadlineExceeded) or a new pod is in C(CrashLoopBackOff),
    C(ImagePullBackOff) or C(ErrImagePull), instead of waiting out O(wait_timeout). It never rolls forward again.
  - An Argo Rollouts C(Rollout) of the same name is reported as not handled, with the command to use.
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - aragora.ops.python
  - aragora.ops.kubernetes
options:
  kubeconfig:
    description:
      - Kubeconfig file; C(KUBECONFIG) or C(~/.kube/config) when omitted. Falls back on E(K8S_AUTH_KUBECONFIG).
    type: path
  kube_context:
    description:
      - Kubeconfig context; the current context when omitted. Falls back on E(K8S_AUTH_CONTEXT).
    type: str
    aliases: [context]
  k8s_in_cluster:
    description:
      - Use the pod's service account; mutually exclusive with O(kubeconfig) and O(k8s_host).
    type: bool
    default: false
    aliases: [in_cluster]
  k8s_host:
    aliases: [host]
  k8s_api_key:
    aliases: [api_key]
  k8s_ca_cert:
    aliases: [ca_cert]
  k8s_client_cert:
    aliases: [client_cert]
  k8s_client_key:
    aliases: [client_key]
  k8s_validate_certs:
    aliases: [validate_certs]
  k8s_proxy:
    aliases: [proxy]
  namespace:
    description:
      - Namespace of the Deployment.
    type: str
    default: aragora
  name:
    description:
      - Name of the Deployment.
    type: str
    default: aragora
  revision:
    description:
      - Revision to roll back to, as C(kubectl rollout history) lists it; V(0) means the previous revision.
    type: int
    default: 0
  wait:
    description:
      - Wait for the rollout to complete.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the rollout to complete.
    type: int
    default: 300
  poll_interval:
    description:
      - Seconds between two reads of the Deployment while waiting. A failed rollout is seen within two of them.
    type: float
    default: 2
  resume_paused:
    description:
      - Roll back a paused Deployment too, resuming it (C(spec.paused=false)). A paused Deployment is refused otherwise.
    type: bool
    default: false
  timeout:
    description:
      - Seconds each API call may take.
    type: float
    default: 10
attributes:
  check_mode:
    support: full
    details: Reads the history and says from and to which revision and images it would roll back; changes nothing.
  diff_mode:
    support: full
    details: The pod template before and after.
  platform:
    platforms: posix
requirements:
  - kubernetes (the official Python client)
notes:
  - RBAC it needs in the namespace - get and patch on C(deployments), list on C(replicasets) and C(pods); get on
    C(rollouts.argoproj.io) is optional.
seealso:
  - name: kubectl rollout undo
    description: What this module does, with ownership checks, a wait that fails fast, and check and diff modes.
    link: https://kubernetes.io/docs/reference/kubectl/generated/kubectl_rollout/kubectl_rollout_undo/
"""

EXAMPLES = r"""
- name: Roll the Deployment back to the previous revision and wait for it
  aragora.ops.k8s_rollout_undo:
    kubeconfig: ~/.kube/prod
    namespace: aragora
    name: aragora
  register: rollback

- name: Say what rolling back to revision 7 would do
  aragora.ops.k8s_rollout_undo:
    namespace: aragora
    name: aragora
    revision: 7
  check_mode: true
  diff: true
"""

RETURN = r"""
from_revision:
  description: Revision running before.
  returned: when the Deployment and its history could be read
  type: int
  sample: 3
to_revision:
  description: Revision rolled back to (the Deployment controller gives it a new number once applied).
  returned: when the Deployment and its history could be read
  type: int
  sample: 2
new_revision:
  description: The Deployment's revision number after the rollback.
  returned: when changed and not in check mode
  type: int
  sample: 4
images_before:
  description: Container images before.
  returned: when the Deployment and its history could be read
  type: list
  elements: str
  sample: [ghcr.io/aragora/aragora:2.12.0]
images_after:
  description: Container images of the target revision.
  returned: when the Deployment and its history could be read
  type: list
  elements: str
  sample: [ghcr.io/aragora/aragora:2.11.1]
version_after:
  description: The tag of the first image of the target revision, the release version it should serve.
  returned: when the Deployment and its history could be read
  type: str
  sample: 2.11.1
history:
  description: The owned revisions, oldest first.
  returned: when the Deployment and its history could be read
  type: list
  elements: dict
  sample:
    - {revision: 2, replicaset: aragora-5f7c9, images: [ghcr.io/aragora/aragora:2.11.1], change_cause: upgrade,
       created: "2025-01-01T00:00:00Z", age: 3d, replicas: 0, ready_replicas: 0}
rollout:
  description: How the wait ended - V(done), V(failed), V(timeout), V(skipped) (no wait, check mode, unchanged).
  returned: always
  type: str
  sample: done
state:
  description: The Deployment's state at the end, in one sentence.
  returned: when the Deployment could be read
  type: str
  sample: "revision 4 (ghcr.io/aragora/aragora:2.11.1): 3 desired, 3 updated, 3 ready, 3 available, 0 old"
state_before:
  description:
    - The Deployment's state as read before the rollback, in one sentence (what an incident record starts from).
    - The same as RV(state) when nothing was changed.
  returned: when the Deployment could be read
  type: str
  sample: "revision 3 (ghcr.io/aragora/aragora:2.12.0): 3 desired, 3 updated, 0 ready, 0 available, 0 old"
conflicts_retried:
  description: How many 409 conflicts were answered by re-reading and patching again.
  returned: always
  type: int
  sample: 0
timings:
  description: Seconds spent planning, patching, waiting, and in all.
  returned: always
  type: dict
  sample: {plan: 0.02, patch: 0.01, wait: 4.1, total: 4.2, polls: 3}
message:
  description: What was done, or why not.
  returned: always
  type: str
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aragora.ops.plugins.module_utils import rollout
from ansible_collections.aragora.ops.plugins.module_utils.k8s_args import (
    K8S_REQUIRED_TOGETHER,
    KUBERNETES_CORE_ALIASES,
    invalid_k8s_connection,
    k8s_connection_spec,
)
from ansible_collections.aragora.ops.plugins.module_utils.k8s_client import Cluster, ClusterTarget, KubeError


def _plan_result(result: rollout.ApplyResult) -> dict:
    the_plan = result.plan
    tags = rollout.image_tags(the_plan.images_after)
    return {
        "from_revision": the_plan.from_revision, "to_revision": the_plan.to_revision,
        "images_before": the_plan.images_before, "images_after": the_plan.images_after,
        "version_after": tags[0] if tags else "", "history": [r.summary() for r in the_plan.history],
        "conflicts_retried": result.conflicts,
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **k8s_connection_spec(KUBERNETES_CORE_ALIASES),
            "namespace": {"type": "str", "default": "aragora"},
            "name": {"type": "str", "default": "aragora"},
            "revision": {"type": "int", "default": 0},
            "wait": {"type": "bool", "default": True},
            "wait_timeout": {"type": "int", "default": 300},
            "poll_interval": {"type": "float", "default": 2},
            "resume_paused": {"type": "bool", "default": False},
            "timeout": {"type": "float", "default": 10},
        },
        supports_check_mode=True,
        required_together=K8S_REQUIRED_TOGETHER,
    )
    p = module.params
    problem = invalid_k8s_connection(p)
    if problem:
        module.fail_json(msg=problem)
    refused = [("revision must be 0 or more, got %r" % p["revision"]) if p["revision"] < 0 else "",
               ("wait_timeout must be 0 or more seconds, got %r" % p["wait_timeout"]) if p["wait_timeout"] < 0 else "",
               ("poll_interval must be above 0 seconds, got %r" % p["poll_interval"]) if p["poll_interval"] <= 0 else "",
               ("timeout must be above 0 seconds, got %r" % p["timeout"]) if p["timeout"] <= 0 else ""]
    if any(refused):
        module.fail_json(msg="; ".join(problem for problem in refused if problem))
    started = time.monotonic()
    timings = {"plan": 0.0, "patch": 0.0, "wait": 0.0, "total": 0.0, "polls": 0}
    fail = {"rollout": "skipped", "conflicts_retried": 0, "timings": timings, "changed": False}
    try:
        # No option at all: the default kubeconfig, as kubectl does.
        cluster = Cluster(ClusterTarget.from_options(p) or ClusterTarget(timeout=p["timeout"]))
        result = rollout.apply(cluster, p["namespace"], p["name"], p["revision"] or None, p["resume_paused"],
                               module.check_mode)
    except KubeError as exc:
        timings["total"] = round(time.monotonic() - started, 3)
        if getattr(exc, "deployment", None):
            fail["state"] = fail["state_before"] = rollout.describe_state(exc.deployment)
        module.fail_json(msg="Rollback of deployment %s/%s not done: %s" % (p["namespace"], p["name"], exc), **fail)
    timings["plan" if not result.changed or module.check_mode else "patch"] = round(time.monotonic() - started, 3)
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
    elif module.check_mode:
        out["message"] = "Would roll back %s%s." % (the_plan.describe(), ", resuming it" if the_plan.paused else "")
    else:
        annotations = (result.deployment.get("metadata") or {}).get("annotations") or {}
        out["new_revision"] = rollout.to_int(annotations.get(rollout.REVISION))
        retried = " after %d conflict(s)" % result.conflicts if result.conflicts else ""
        out["message"] = "Rolled back %s%s." % (the_plan.describe(), retried)
    if p["wait"] and result.changed and not module.check_mode:
        try:
            waited = rollout.wait(cluster, p["namespace"], p["name"], the_plan.target.pod_template_hash,
                                  p["wait_timeout"], p["poll_interval"])
        except KubeError as exc:
            timings["total"] = round(time.monotonic() - started, 3)
            module.fail_json(msg="%s Then reading its progress failed: %s" % (out["message"], exc),
                             **{**out, "rollout": "unknown"})
        timings.update(wait=round(waited.elapsed, 3), polls=waited.polls)
        out.update(rollout=waited.outcome, state=rollout.describe_state(waited.deployment))
        timings["total"] = round(time.monotonic() - started, 3)
        if waited.outcome != "done":
            module.fail_json(msg="%s The rollout to revision %d %s: %s. Deployment now: %s. Nothing was rolled "
                                 "forward; look at the new pods (kubectl describe deployment/%s -n %s) and decide."
                             % (out["message"], the_plan.to_revision,
                                "FAILED" if waited.outcome == "failed" else "did NOT COMPLETE", waited.message,
                                out["state"], the_plan.name, the_plan.namespace), **out)
        out["message"] += " Rollout complete in %.1fs." % waited.elapsed
    timings["total"] = round(time.monotonic() - started, 3)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
