# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import time

from ansible_collections.aragora.ops.plugins.module_utils._checks import pre_release
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import SECTIONS
from ansible_collections.aragora.ops.plugins.module_utils._reporting.report import Report


def test_the_backup_check_is_filed_under_disaster_recovery_in_the_report():
    check = pre_release.backup_check({"running_release": "2.11.0", "next_release": "2.11.1"}, None, "disk full",
                                     time.monotonic())
    assert check["section"] == "10. Disaster Recovery" and "10" in SECTIONS
    markdown = Report({"a": [check]}).markdown()
    assert "### 10. Disaster Recovery" in markdown and "### 10\n" not in markdown
