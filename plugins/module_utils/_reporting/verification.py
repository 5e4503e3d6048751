# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verifications of a restore (and of its drill) as results of the common schema (_engine/result.py), so that
``checks`` means one thing everywhere: results with id, section, title, status, message, evidence, remediation and
duration_ms. The restore's own report (pg_restore_run.verify_database) keeps the SQL checks' raw answers under
``sql_checks``."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._engine.result import Outcome, make_result

# Checklist section 3 (Database & Persistence), where database.restore_tested judges the drill's evidence.
SECTION = "3"
ROW_COUNTS_REMEDIATION = ("Do not swap in or count on this copy: find why the archive and its manifest disagree "
                          "(a backup cut short, a manifest from another archive), then restore another archive.")
SQL_CHECK_REMEDIATION = "Look at the restored data this SQL check reads before anything relies on it."


def restore_results(verified: t.Mapping[str, t.Any], duration_ms: float = 0.0) -> list[dict]:
    """``verified``: verify_database's report (counts_verified, problems, tables, rows, mismatched, sql_checks)."""
    sql_checks = list(verified.get("sql_checks") or ())
    sql_problems = {"check %r returned %r, not true" % (c["name"], c["value"]) for c in sql_checks if not c["passed"]}
    count_problems = [problem for problem in verified.get("problems") or () if problem not in sql_problems]
    evidence = {"tables": verified.get("tables"), "rows": verified.get("rows"),
                "mismatched": verified.get("mismatched") or {}}
    if verified.get("counts_verified"):
        counts = Outcome("PASS", "Row counts of all %s tables match the archive's manifest (%s rows)"
                         % (verified.get("tables"), verified.get("rows")), evidence)
    elif count_problems:
        counts = Outcome("FAIL", "Row counts NOT verified: %s" % "; ".join(count_problems), evidence)
    else:
        counts = Outcome("SKIP", "No manifest to compare row counts with (%s tables, %s rows restored)"
                         % (verified.get("tables"), verified.get("rows")), evidence, "")
    results = [make_result("restore.row_counts", SECTION, "Restored row counts match the backup", counts,
                           ROW_COUNTS_REMEDIATION, duration_ms)]
    for number, check in enumerate(sql_checks, 1):
        outcome = Outcome("PASS" if check["passed"] else "FAIL", "SQL check %r returned %r%s" % (
            check["name"], check["value"], "" if check["passed"] else ", not true"), {"value": check["value"]})
        results.append(make_result("restore.sql_check_%d" % number, SECTION, "SQL check: %s" % check["name"],
                                   outcome, SQL_CHECK_REMEDIATION))
    return results
