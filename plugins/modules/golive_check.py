#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: golive_check
short_description: The checklist's Pre-Launch Health Check, printed as its script prints it
version_added: 0.1.0
description:
  - Runs the seven steps of the checklist's C(pre_launch_check.sh) as readiness checks of one target, concurrently,
    and returns their results (the common schema) and the script's lines.
  - The steps and the checks answering them are V(health.api_health) (C(Health endpoint)), V(database.connection)
    (C(Database)), V(redis.connection) (C(Redis)), V(tls.expiry) (C(TLS Certificate), C(OK (>7 days)) or
    C(EXPIRING SOON)), V(ha.replicas) (C(Replicas), ready/desired), V(ha.pod_distribution_nodes)
    (C(Pod distribution), one line per pod and node) and V(providers.circuit_breakers) (C(Circuit breakers open)).
  - Read-only; runs the same under C(--check).
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment: [ansible.builtin.action_common_attributes, aragora.ops.python, aragora.ops.read_only,
                                aragora.ops.target.check_results, aragora.ops.target, aragora.ops.kubernetes,
                                aragora.ops.target.grafana, aragora.ops.target.thresholds, aragora.ops.target.api,
                                aragora.ops.target.pool_sizing, aragora.ops.target.websocket,
                                aragora.ops.target.tls_trust, aragora.ops.target.configuration,
                                aragora.ops.target.k8s_workload, aragora.ops.target.k8s_objects,
                                aragora.ops.target.health, aragora.ops.target.security,
                                aragora.ops.target.https_redirect, aragora.ops.target.api_token,
                                aragora.ops.target.metrics_token, aragora.ops.target.database,
                                aragora.ops.target.redis, aragora.ops.target.providers]
options:
  check_ids:
    description:
      - The readiness checks to run, by id; the seven steps by default. Ids beyond the seven are printed with their
        title after them.
    type: list
    elements: str
    default: [health.api_health, database.connection, redis.connection, tls.expiry, ha.replicas,
              ha.pod_distribution_nodes, providers.circuit_breakers]
"""

EXAMPLES = r"""
- name: Pre-launch health check of the production API
  aragora.ops.golive_check:
    api_url: https://api.example.com
    env_file: /opt/aragora/.env
    kubeconfig: ~/.kube/config
  register: prelaunch

- name: Print it as the checklist's script does
  ansible.builtin.debug:
    msg: "{{ prelaunch.lines }}"
"""

RETURN = r"""
lines:
  description: The script's output, one line per step (C(Pod distribution) adds one line per pod).
  returned: always
  type: list
  elements: str
  sample: ["=== Pre-Launch Health Check ===", "Health endpoint: healthy", "Database: ok", "Redis: ok",
           "TLS Certificate: OK (>7 days), 89 days left", "Replicas: 3/3", "Pod distribution:",
           "aragora-7d9f-a node-1", "Circuit breakers open: 0", "=== Check Complete ==="]
checks:
  description: One result per check, in the common schema.
  returned: always
  type: list
  elements: dict
counts:
  description: How many checks ended in each status.
  returned: always
  type: dict
verdict:
  description: V(GO) when no check failed (and, with O(strict), none warned); V(NO-GO) otherwise.
  returned: always
  type: str
config_sources:
  description: Where the configuration came from.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.aragora.ops.plugins.module_utils._ansible.check_module import finish, masked_context, target_module
from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import run_prelaunch
from ansible_collections.aragora.ops.plugins.module_utils._reporting.golive import PRELAUNCH_CHECK_IDS


def main() -> None:
    module, params = target_module({"check_ids": {"type": "list", "elements": "str",
                                                  "default": list(PRELAUNCH_CHECK_IDS)}})
    context = masked_context(module, params)
    try:
        result = run_prelaunch(context, params["check_ids"], params["strict"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    finish(module, context, changed=False, **result)


if __name__ == "__main__":
    main()
