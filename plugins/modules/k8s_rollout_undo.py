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
  k8s_context:
    aliases: [kube_context, context]
  k8s_in_cluster:
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
  - On a local connection (C(ansible_connection=local), as the aragora.ops.kubernetes_rollback role runs it) with
    C(ansible_python_interpreter) naming the controller's own Python, and no become, delegation, task C(environment)
    or C(async), it runs in the controller's process (its action plugin), which spares a module process before the
    first API call. Anywhere else it runs as a module. The result is the same.
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aragora.ops.plugins.module_utils._ansible import rollout_task


def main() -> None:
    module = AnsibleModule(argument_spec=rollout_task.argument_spec(), supports_check_mode=True,
                           required_together=rollout_task.REQUIRED_TOGETHER)
    result = rollout_task.run(module.params, module.check_mode)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
