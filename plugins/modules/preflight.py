#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: preflight
short_description: Validate the inputs of a rollback, restore or go-live before anything is changed
version_added: 0.1.0
description:
  - The first task of the roles that change production (aragora.ops.systemd_rollback, aragora.ops.kubernetes_rollback,
    aragora.ops.db_restore, aragora.ops.golive). Checks every role variable given in O(inputs) against the rule of
    its O(role) - URLs with an C(http://) or C(https://) scheme and a host, timeouts and intervals above 0, counts,
    ports, database names, choices - and fails naming every variable that is wrong, so that a bad input is refused
    before a release is switched, a Deployment rolled back or a database touched.
  - A variable set to null is left to the role's default. A variable that the role's rules do not know is refused
    (a wiring mistake).
  - Reads nothing but its own arguments; never pass secrets in O(inputs).
  - Runs in the controller's own process (its action plugin), wherever the task is delegated, because it reads nothing of
    the host, and a module process would only delay a rollback's first change.
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - aragora.ops.python
options:
  role:
    description: The role whose inputs these are.
    type: str
    required: true
    choices: [systemd_rollback, kubernetes_rollback, db_restore, golive]
  inputs:
    description: Role variable names and their values.
    type: dict
    required: true
attributes:
  check_mode:
    support: full
    details: Only validates; the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Pre-flight - every input is usable before anything changes
  aragora.ops.preflight:
    role: systemd_rollback
    inputs:
      aragora_api_url: "{{ aragora_api_url }}"
      aragora_rollback_health_timeout: "{{ aragora_rollback_health_timeout }}"
"""

RETURN = r"""
inputs:
  description: The inputs as validated (numbers as numbers, booleans as booleans).
  returned: success
  type: dict
problems:
  description: One sentence per refused input, naming the variable.
  returned: failure
  type: list
  elements: str
started:
  description: When the pre-flight ran, the acting role's start (UTC, ISO 8601 to the second).
  returned: always
  type: str
  sample: "2026-12-01T15:00:00+00:00"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aragora.ops.plugins.module_utils._operations import preflight


def main() -> None:
    module = AnsibleModule(argument_spec=preflight.ARGUMENT_SPEC, supports_check_mode=True)
    outcome = preflight.answer(module.params["role"], module.params["inputs"])
    if outcome.pop("failed", False):
        module.fail_json(**outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
