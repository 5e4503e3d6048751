#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: readiness_check
short_description: Check one Aragora target against the Production Readiness Checklist
version_added: 0.1.0
description:
  - Runs the checklist's checks for one target concurrently, against its live API and its configuration, and
    returns one result per checklist item with a status, evidence and remediation.
  - Read-only; runs the same under C(--check).
  - Where the module would run on the controller with the controller's own Python (C(ansible_connection=local),
    C(ansible_python_interpreter) set to C({{ ansible_playbook_python }}), no become, async, delegation or task
    environment), its action plugin runs the same checks in the controller's worker process instead, with the same
    validation and masking; anywhere else the module runs on the host.
  - Groups V(health) and V(websocket) (Go-Live health check), V(security) (section 1), V(database) (section 3,
    PostgreSQL, backups, restore tests), V(redis) (section 4), V(monitoring) (section 5), V(tls) (section 6, the live
    certificate), V(oauth) (section 7), V(providers) (section 8) and V(limits) (section 9).
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
  groups:
    description:
      - Which groups of checks to run; all when omitted, none when empty (the report then says nothing was judged).
    type: list
    elements: str
    choices: [health, websocket, security, ha, database, migrations, redis, monitoring, observability, certificates,
              tls, oauth, providers, limits, resources, backups]
"""

EXAMPLES = r"""
- name: Check the production API and the env file on the host
  aragora.ops.readiness_check:
    api_url: https://api.example.com
    env_file: /opt/aragora/.env
  register: readiness

- name: Check configuration held in vault, and the live API's health only
  aragora.ops.readiness_check:
    api_url: https://api.example.com
    config: "{{ vault_aragora_environment }}"
    groups: [health, security]
    thresholds:
      response_time_warn_ms: 300
  delegate_to: localhost
"""

RETURN = r"""
checks:
  description: One result per check, in the schema described in the notes.
  returned: always
  type: list
  elements: dict
  sample:
    - id: security.jwt_secret
      section: 1. Security Configuration
      title: JWT Secret (32+ chars)
      status: PASS
      message: JWT secret configured (64 chars)
      evidence: {length: 64, min_length: 32, entropy_bits_per_char: 5.4, distinct_characters: 52}
      remediation: ""
      duration_ms: 0.1
counts:
  description: How many checks ended in each status.
  returned: always
  type: dict
  sample: {PASS: 20, WARN: 2, FAIL: 1, SKIP: 3}
verdict:
  description: V(GO) when no check failed (and, with O(strict), none warned); V(NO-GO) otherwise.
  returned: always
  type: str
  sample: NO-GO
config_sources:
  description: Where the configuration came from.
  returned: always
  type: list
  elements: str
  sample: [env file /opt/aragora/.env]
scope:
  description:
    - The check groups this run left out (O(groups)), and how many checks they hold. A report of a run that left
      groups out says that its verdict covers only the checks that ran.
  returned: always
  type: dict
  contains:
    groups_not_run:
      description: The groups not run, in checklist order; empty when every group ran.
      type: list
      elements: str
      sample: [database, redis]
    checks_not_run:
      description: How many registered checks those groups hold.
      type: int
      sample: 12
"""

from ansible_collections.aragora.ops.plugins.module_utils._ansible.check_module import run_check_module


def main() -> None:
    run_check_module()


if __name__ == "__main__":
    main()
