# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: output_dir
short_description: The writable default directory for the collection's reports and incident records
version_added: 0.1.0
description:
  - Returns the directory the roles write their reports and incident records to when C(aragora_report_dir) is not
    set, chosen for the way the playbook runs, and never inside an installed collection.
  - Under ansible-runner, and so in AWX/AAP jobs, C(<artifacts>/aragora-reports), in the job's artifacts directory
    (the E(AWX_ISOLATED_DATA_DIR) that ansible-runner sets).
  - From a source checkout of the collection that can be written (C(galaxy.yml) beside the playbooks' directory),
    C(<checkout>/build/reports).
  - Otherwise (an installed collection, a read-only checkout, a project of one's own),
    C(~/.ansible/aragora-ops/reports) of the user running the controller.
author:
  - aragora.ops contributors (@aragora-ops)
options:
  _terms:
    description: The kind of output, the last part of the directory's name.
    type: list
    elements: str
    default: [reports]
"""

EXAMPLES = r"""
- name: Say where the report goes
  ansible.builtin.debug:
    msg: "{{ lookup('aragora.ops.output_dir') }}"
"""

RETURN = r"""
_raw:
  description: One directory path per term.
  type: list
  elements: path
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.aragora.ops.plugins.plugin_utils.output_dir import default_output_dir


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        playbook_dir = (variables or {}).get("playbook_dir")
        return [default_output_dir(playbook_dir, subdir=term)[0] for term in (terms or ["reports"])]
