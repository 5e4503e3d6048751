# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The options of a pre-release backup, PostgreSQL's or SQLite's (module_utils/pre_release.ARGUMENT_SPEC)."""

    DOCUMENTATION = r"""
options:
  pre_release:
    description:
      - Labels of a pre-release backup, the one go-live takes just before a release goes live (what a coordinated
        rollback restores); its name carries C(pre-release).
    type: dict
    suboptions:
      running_release:
        description: The release serving now (the one a rollback would go back to).
        type: str
        required: true
      next_release:
        description: The release about to go live.
        type: str
        required: true
      taken_by:
        description: Who or what took it (the go-live target), recorded in the manifest.
        type: str
  keep_releases:
    description:
      - Retention keeps the newest pre-release backup of each of the last this many releases, whatever its age.
    type: int
    default: 3
"""
