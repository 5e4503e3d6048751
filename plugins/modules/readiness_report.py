#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: readiness_report
short_description: Write the go/no-go readiness report of one or more Aragora targets
version_added: 0.1.0
description:
  - Combines the check results of every target into one verdict and writes C(readiness-report.json),
    C(readiness-report.md) (the checklist's sections filled in, with a blank sign-off table),
    C(readiness-report.html) (the same as one self-contained page - inline style, no script, nothing fetched - with
    a grid of the sections by status) and C(readiness-report.xml) (JUnit, one test case per check) into O(dest).
  - With several targets, also writes one JSON, Markdown and HTML report per target beside the combined ones.
  - A target without any result, and a report without targets, are V(NO-GO) with the reason; nothing judged is
    never a V(GO).
  - Returns the console summary in the checklist's own style (V([PASS] Environment mode is production)).
  - In check mode nothing is written and RV(files) lists what would be; the P(aragora.ops.readiness_report#role)
    role runs this module with C(check_mode=false), as the report is the output of a run under C(--check) too.
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - aragora.ops.python
  - aragora.ops.target.check_results
options:
  results:
    description:
      - Check results by target name, as returned in RV(aragora.ops.readiness_check#module:checks).
      - A target whose value is a string instead of a list produced no results; the string says why (for example
        an unreachable host), and the report counts it as a V(FAIL).
    type: dict
    required: true
  dest:
    description:
      - Directory for the report files; created when missing.
    type: path
    required: true
  basename:
    description:
      - File name of the reports, without extension.
    type: str
    default: readiness-report
  strict:
    description:
      - Whether a V(WARN) makes the verdict V(NO-GO), as a V(FAIL) always does.
    type: bool
    default: false
  scopes:
    description:
      - What each target's run left out, by target name, as returned in
        RV(aragora.ops.readiness_check#module:scope).
      - A target whose run left groups of checks out (C(--tags), O(aragora.ops.readiness_check#module:groups)) is
        reported as a partial run, in the summary, the Markdown, HTML and JSON reports and RV(partial); its verdict
        covers only the checks that ran.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    details: Computes the verdict and the report and writes no file; RV(files) lists the files it would write.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Write the report for every target checked in this play
  aragora.ops.readiness_report:
    results: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'aragora_checks'))) }}"
    dest: build/reports
  delegate_to: localhost
  run_once: true
  register: report
"""

RETURN = r"""
verdict:
  description: V(GO) or V(NO-GO) for all targets together.
  returned: always
  type: str
  sample: GO
counts:
  description: How many checks ended in each status, all targets together.
  returned: always
  type: dict
  sample: {PASS: 40, WARN: 4, FAIL: 0, ERROR: 0, SKIP: 6}
partial:
  description: Whether the run of some target left groups of checks out (O(scopes)), so the verdict covers only part
    of the checklist.
  returned: always
  type: bool
  sample: false
targets:
  description: Verdict and counts of each target.
  returned: always
  type: dict
  sample: {production: {verdict: GO, counts: {PASS: 20, WARN: 2, FAIL: 0, ERROR: 0, SKIP: 3}}}
summary:
  description: The console summary, one line per check, grouped by checklist section.
  returned: always
  type: str
files:
  description: Paths of the files written (in check mode, of the files it would write).
  returned: always
  type: list
  elements: str
  sample: [build/reports/readiness-report.json, build/reports/readiness-report.md, build/reports/readiness-report.xml]
message:
  description:
    - The verdict in one sentence with where the report is; on V(NO-GO), how many checks failed, could not be judged
      and (with O(strict)) warned - the message the P(aragora.ops.readiness_report#role) role stops the run with.
  returned: always
  type: str
  sample: "NO-GO: 2 check(s) failed, 1 could not judge. The report is in build/reports/readiness-report.json."
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aragora.ops.plugins.module_utils._reporting.report import REPORT_ARGUMENT_SPEC, write_report


def main() -> None:
    # The action plugin of the same name renders the report in the controller's process when the task runs there
    # (the readiness_report role's case); this module runs wherever else the task is sent.
    module = AnsibleModule(argument_spec=REPORT_ARGUMENT_SPEC, supports_check_mode=True)
    try:
        module.exit_json(**write_report(module.params, module.check_mode))
    except OSError as exc:
        module.fail_json(msg="cannot write the report into %s: %s" % (module.params["dest"], exc))


if __name__ == "__main__":
    main()
