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
  - Groups V(health) (Go-Live health check), V(security) (section 1), V(monitoring) (section 5), V(oauth)
    (section 7), V(providers) (section 8) and V(limits) (section 9).
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - aragora.ops.target
  - aragora.ops.target.check_results
options:
  http_url:
    description:
      - A plain C(http://) URL of the same site; when given, the HTTPS check requires it to redirect to C(https://).
    type: str
  groups:
    description:
      - Which groups of checks to run; all by default.
    type: list
    elements: str
    choices: [health, security, monitoring, oauth, providers, limits]
  skip_checks:
    description:
      - Ids of checks to report as V(SKIP) without running them, for example V(providers.fallback).
    type: list
    elements: str
    default: []
  expected_version:
    description:
      - The release the server must report (C(X-API-Release) header, C(/health/build)); any version when omitted.
    type: str
  strict:
    description:
      - Whether a V(WARN) makes the target's RV(verdict) V(NO-GO), as a V(FAIL) always does.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
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
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.aragora.ops.plugins.module_utils.checks.catalog import GROUPS
from ansible_collections.aragora.ops.plugins.module_utils.module_args import (
    invalid_params,
    missing_library,
    target_argument_spec,
)
from ansible_collections.aragora.ops.plugins.module_utils.runner import build_context, run_target


def main() -> None:
    module = AnsibleModule(
        argument_spec=target_argument_spec(
            http_url={"type": "str"},
            groups={"type": "list", "elements": "str", "choices": list(GROUPS)},
            skip_checks={"type": "list", "elements": "str", "default": []},
            expected_version={"type": "str"},
            strict={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    library = missing_library(module.params)
    if library:
        module.fail_json(msg=missing_required_lib(library))
    problem = invalid_params(module.params)
    if problem:
        module.fail_json(msg=problem)
    context = build_context(module.params)
    # Secrets read from the env file or given in config are masked in everything the module returns.
    module.no_log_values.update(context.config.secrets())
    module.exit_json(changed=False, **run_target(module.params, context))


if __name__ == "__main__":
    main()
