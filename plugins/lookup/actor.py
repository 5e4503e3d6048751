# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: actor
short_description: Who runs a rollback or restore, for its result and its incident record
version_added: 0.1.0
description:
  - Returns the first non-empty term; else the AWX/AAP user who launched the job - the extra var C(awx_user_name),
    or C(tower_user_name) as older releases name it, the first one that is set, as it is set; else an empty string.
  - An empty actor makes the aragora.ops.incident_record module record the local user (C(actor_source=local user)).
  - The one place the collection's roles decide it (the rule is
    C(plugins/module_utils/_operations/rollback_outcome.py)'s C(actor), unit-tested there).
author:
  - aragora.ops contributors (@aragora-ops)
options:
  _terms:
    description: Names given by the caller, tried in order before the AWX/AAP user (an empty one is skipped).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Say who runs the rollback
  ansible.builtin.debug:
    msg: "{{ lookup('aragora.ops.actor') }}"

- name: The given actor, else the AWX/AAP user
  ansible.builtin.debug:
    msg: "{{ lookup('aragora.ops.actor', incident_record_actor) }}"
"""

RETURN = r"""
_raw:
  description: One name, empty when none is known.
  type: list
  elements: str
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.aragora.ops.plugins.module_utils._operations.rollback_outcome import LAUNCHED_BY, actor


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        # Only the variables the rule reads, rendered (a variable may itself be a template).
        launched_by = {name: self._templar.template(variables[name]) for name in LAUNCHED_BY if name in variables}
        return [actor(launched_by, terms or ())]
