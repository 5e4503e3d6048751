#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: incident_record
short_description: Write the incident record of a rollback or restore, as JSON and Markdown
version_added: 0.1.0
description:
  - Writes one record of an action taken during an incident - who ran it, when, against what, from what to what,
    the outcome and how it was verified - as C(<stem>.json) for machines and C(<stem>.md) for the postmortem.
  - The file stem is C(incident-<UTC start time>-<kind>-<target values>).
  - The same record serves every kind of action (systemd and Kubernetes rollbacks, database restores).
  - Usually run on the controller (with C(delegate_to) V(localhost)), so the records land beside the run's reports
    (see P(aragora.ops.output_dir#lookup)).
  - The record documents an action that has already happened, so a record that cannot be written (a read-only or
    full directory) is a warning with the whole record in the result and the log, never a failure of the action.
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - aragora.ops.python
options:
  dest:
    description: Directory of the record files; created when missing.
    type: path
    required: true
  kind:
    description: What was done, for example V(systemd-rollback) or V(kubernetes-rollback).
    type: str
    required: true
  target:
    description: Where it was done, for example a host and unit, or a cluster and namespace (names to values).
    type: dict
    required: true
  from:
    description: What ran before (a release, a revision).
    type: raw
  to:
    description: What was meant to run after.
    type: raw
  outcome:
    description:
      - V(succeeded), V(unchanged) (it was already there), V(reverted) (it failed and the old state was restored),
        V(failed) (and not restored) or V(planned) (check mode).
    type: str
    required: true
    choices: [succeeded, unchanged, reverted, failed, planned]
  summary:
    description: One or two sentences saying what happened.
    type: str
    required: true
  verification:
    description: How the result was verified (health verdict, versions seen, counts).
    type: dict
    default: {}
  events:
    description: The steps taken, in order, each a dict with C(step) and optionally C(detail).
    type: list
    elements: dict
    default: []
  actor:
    description:
      - Who ran it. Pass the AWX/AAP user (C(awx_user_name) or C(tower_user_name)) when there is one; otherwise
        the local user running the module is recorded.
    type: str
  started:
    description: When the action started (ISO 8601); now when omitted.
    type: str
attributes:
  check_mode:
    support: full
    details: Builds the record and returns it without writing any file; C(changed) says that it would write one.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Record the rollback
  aragora.ops.incident_record:
    dest: "{{ lookup('aragora.ops.output_dir') }}"
    kind: systemd-rollback
    target: {host: "{{ inventory_hostname }}"}
    from: "2.11.1"
    to: "2.10.0"
    outcome: succeeded
    summary: Rolled back from 2.11.1 to 2.10.0; health gate passed.
    actor: "{{ lookup('aragora.ops.actor') }}"
  delegate_to: localhost
"""

RETURN = r"""
record:
  description: The record as written to the JSON file.
  returned: always
  type: dict
files:
  description: Paths of the JSON and Markdown files; empty in check mode and when they could not be written.
  returned: always
  type: list
  elements: str
  sample: [build/reports/incident-20250101T120000-systemd-rollback-web-1.json]
write_error:
  description: Why the record could not be written (also given as a warning); absent when it was.
  returned: when the files could not be written
  type: str
  sample: "[Errno 13] Permission denied: '/usr/share/ansible/collections/reports'"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aragora.ops.plugins.module_utils._reporting.incident import OUTCOMES, build_record, write_record


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "dest": {"type": "path", "required": True},
            "kind": {"type": "str", "required": True},
            "target": {"type": "dict", "required": True},
            "from": {"type": "raw"},
            "to": {"type": "raw"},
            "outcome": {"type": "str", "required": True, "choices": list(OUTCOMES)},
            "summary": {"type": "str", "required": True},
            "verification": {"type": "dict", "default": {}},
            "events": {"type": "list", "elements": "dict", "default": []},
            "actor": {"type": "str"},
            "started": {"type": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params
    record = build_record(params["kind"], params["target"], params["from"], params["to"], params["outcome"],
                          params["summary"], params["verification"], params["events"], params["actor"] or None,
                          params["started"] or None)
    if module.check_mode:
        module.exit_json(changed=True, record=record, files=[])
    try:
        files = write_record(record, params["dest"])
    except OSError as exc:
        # The action is over whatever happens here: its outcome is the record's, not this write's.
        module.warn("the incident record could not be written under %s (%s); set aragora_report_dir to a "
                    "writable directory. The record is in this task's result." % (params["dest"], exc))
        module.exit_json(changed=False, record=record, files=[], write_error=str(exc))
    module.exit_json(changed=True, record=record, files=files)


if __name__ == "__main__":
    main()
