# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The go-live report's ``golive.pre_release_backup`` check: the pre-release backup that postgres_backup or
sqlite_backup has just taken (_operations/pre_release.py says what it proves), as a result of the common schema."""

from __future__ import annotations

import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._engine.result import section_label

# Checklist section 10 (Disaster Recovery), as every check module names its section.
SECTION = "10"


def backup_check(labels: t.Mapping[str, str], taken: tuple[dict[str, t.Any], str] | None, error: str | None,
                 began: float, skipped: str | None = None) -> dict[str, t.Any]:
    """The go-live report's ``golive.pre_release_backup`` check, in the collection's result schema.

    ``taken``: (evidence, proof) from :func:`postgres_taken` or :func:`sqlite_taken`; ``skipped``: why no backup was
    taken (check mode, or nothing this host could back up)."""
    pair = "%s -> %s" % (labels.get("running_release") or "?", labels.get("next_release") or "?")
    evidence: dict[str, t.Any] = {"running_release": labels.get("running_release"),
                                  "next_release": labels.get("next_release")}
    remediation = ""
    if error:
        status, message = "FAIL", "Pre-release backup before %s failed: %s. Do not switch releases" % (pair, error)
        remediation = "Fix the backup (space, permissions, connection) and run go-live again before the switch."
    elif taken is None:
        status, message = "SKIP", "Pre-release backup before %s: not taken (%s)" % (pair, skipped or "check mode")
        if skipped:
            remediation = "Name the database this deployment uses (see the message) so that go-live backs it up."
    else:
        evidence.update(taken[0])
        status, message = "PASS", "Pre-release backup before %s: %s" % (pair, taken[1])
    return {"id": "golive.pre_release_backup", "section": section_label(SECTION), "title": "Pre-release database backup",
            "status": status, "message": message, "evidence": evidence, "remediation": remediation,
            "duration_ms": int((time.monotonic() - began) * 1000)}
