# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness report: check results of one or more targets rendered as a console summary, JSON, Markdown
(the checklist's sections filled in, with a blank sign-off table) and JUnit XML."""

from __future__ import annotations

import datetime
import json
import os
import re
import tempfile
import typing as t
import xml.etree.ElementTree as ET

from ansible_collections.aragora.ops.plugins.module_utils.result import (
    ERROR,
    FAIL,
    SECTIONS,
    SKIP,
    WARN,
    causes,
    counts,
    section_label,
    verdict,
)

SIGN_OFF_ROLES = ("Engineering Lead", "Security Review", "Operations", "Product Owner")
UNREACHABLE_CHECK_ID = "target.results"


# The options of readiness_report, shared by its module and its action plugin.
REPORT_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "results": {"type": "dict", "required": True},
    "dest": {"type": "path", "required": True},
    "basename": {"type": "str", "default": "readiness-report"},
    "strict": {"type": "bool", "default": False},
}


def write_report(params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Write the report files the (validated) readiness_report options ask for; what the task returns.
    OSError when the files cannot be written."""
    results = {}
    for target, checks in params["results"].items():
        if isinstance(checks, list) and all(isinstance(check, dict) for check in checks):
            results[target] = checks
        else:
            results[target] = [missing_target_result(target, str(checks or "no results"))]
    report = Report(results, strict=params["strict"])
    files = report.write(params["dest"], params["basename"])
    return {"changed": True, "verdict": report.verdict, "counts": report.counts,
            "targets": report.as_json()["targets"], "summary": report.summary(), "files": files}


def missing_target_result(target: str, reason: str) -> dict:
    """A FAIL standing for a target whose checks produced nothing (unreachable host, failed task)."""
    return {"id": UNREACHABLE_CHECK_ID, "section": section_label("0"), "title": "Target checked",
            "status": FAIL, "message": "No check results from %s: %s" % (target, reason), "evidence": {},
            "remediation": "Make the target reachable (inventory, connection, credentials) and run again.",
            "duration_ms": 0.0}


class Report:
    """All targets' results, each check tagged with its target."""

    def __init__(self, results: t.Mapping[str, t.Sequence[dict]], strict: bool = False,
                 generated_at: datetime.datetime | None = None) -> None:
        self.strict = strict
        self.generated_at = (generated_at or datetime.datetime.now(datetime.timezone.utc)).isoformat(
            timespec="seconds")
        self.targets = {target: [dict(check, target=target) for check in checks] for target, checks in results.items()}

    @property
    def checks(self) -> list[dict]:
        return [check for checks in self.targets.values() for check in checks]

    @property
    def verdict(self) -> str:
        return verdict(self.checks, self.strict)

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.checks)

    def sub_report(self, target: str) -> Report:
        report = Report({target: self.targets[target]}, self.strict)
        report.generated_at = self.generated_at
        return report

    # --- renderings ---------------------------------------------------------------------------------------------

    def as_json(self) -> dict[str, t.Any]:
        return {
            "verdict": self.verdict,
            "strict": self.strict,
            "generated_at": self.generated_at,
            "counts": self.counts,
            "causes": causes(self.checks),
            "targets": {target: {"verdict": verdict(checks, self.strict), "counts": counts(checks)}
                        for target, checks in self.targets.items()},
            "checks": self.checks,
        }

    def summary(self) -> str:
        """The console summary, in the style of the checklist's own validator: '[PASS] ...' grouped by section."""
        lines = []
        for target, checks in self.targets.items():
            lines.append("=== Aragora production readiness: %s ===" % target)
            for section, section_checks in _by_section(checks):
                lines.append(section)
                lines.extend("  [%s] %s" % (check["status"], check["message"]) for check in section_checks)
            lines.extend(_cause_lines(causes(checks)))
            lines.append("Verdict for %s: %s (%s)" % (target, verdict(checks, self.strict), _tally(counts(checks))))
        if len(self.targets) > 1:
            lines.append("Overall verdict: %s (%s)" % (self.verdict, _tally(self.counts)))
        return "\n".join(lines)

    def markdown(self) -> str:
        out = ["# Production Readiness Report", "",
               "| | |", "|---|---|",
               "| **Verdict** | **%s**%s |" % (self.verdict, " (strict: WARN counts as NO-GO)" if self.strict else ""),
               "| Generated | %s |" % self.generated_at,
               "| Targets | %s |" % ", ".join(self.targets),
               "| Checks | %s |" % _tally(self.counts), ""]
        for target, checks in self.targets.items():
            out += ["## Target: %s — %s" % (_md(target), verdict(checks, self.strict)), ""]
            grouped = causes(checks)
            if grouped:
                out += ["### Checks that could not judge", "", _md(_causes_headline(grouped)), "",
                        "| Cause | Owning check | Checks that could not run | Remediation |",
                        "|-------|--------------|---------------------------|-------------|"]
                out += ["| %s: %s | %s | %s | %s |" % (_md(c["dependency"]), _md(c["reason"]), c["check"],
                                                     ", ".join(c["checks"]), _md(c["remediation"])) for c in grouped]
                out.append("")
            for section, section_checks in _by_section(checks):
                out += ["### %s" % section, "", "| Item | Status | Evidence | Remediation |",
                        "|------|--------|----------|-------------|"]
                out += ["| **%s** | %s | %s | %s |" % (
                    _md(check["title"]), _status_cell(check["status"]),
                    _md(check["message"] + _evidence_suffix(check["evidence"])), _md(check["remediation"]))
                    for check in section_checks]
                out.append("")
        out += ["## Sign-Off", "", "| Role | Name | Date | Signature |", "|------|------|------|-----------|"]
        out += ["| %s | | | |" % role for role in SIGN_OFF_ROLES]
        return "\n".join(out) + "\n"

    def junit(self) -> str:
        suites = ET.Element("testsuites", name="aragora-readiness", tests=str(len(self.checks)),
                            failures=str(self._junit_failures(self.checks)), errors=str(counts(self.checks)[ERROR]))
        for target, checks in self.targets.items():
            suite = ET.SubElement(suites, "testsuite", name=_xml(target), tests=str(len(checks)),
                                  failures=str(self._junit_failures(checks)), errors=str(counts(checks)[ERROR]),
                                  skipped=str(counts(checks)[SKIP]), timestamp=self.generated_at,
                                  time="%.3f" % (sum(c["duration_ms"] for c in checks) / 1000))
            for check in checks:
                case = ET.SubElement(suite, "testcase", classname=_xml("%s.%s" % (target, check["id"].split(".")[0])),
                                     name=_xml("%s: %s" % (check["id"], check["title"])),
                                     time="%.3f" % (check["duration_ms"] / 1000))
                message = _xml(check["message"])
                detail = _xml(check["message"] + _evidence_suffix(check["evidence"]))
                if check["status"] == ERROR:  # could not judge: JUnit's error beside failure
                    ET.SubElement(case, "error", message=message, type=ERROR).text = (
                        detail + "\nRemediation: " + _xml(check["remediation"]))
                elif check["status"] == FAIL or (self.strict and check["status"] == WARN):
                    ET.SubElement(case, "failure", message=message, type=check["status"]).text = (
                        detail + "\nRemediation: " + _xml(check["remediation"]))
                elif check["status"] == SKIP:
                    ET.SubElement(case, "skipped", message=message)
                else:
                    ET.SubElement(case, "system-out").text = "[%s] %s" % (check["status"], detail)
        ET.indent(suites)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"

    def _junit_failures(self, checks: t.Sequence[dict]) -> int:
        return sum(1 for c in checks if c["status"] == FAIL or (self.strict and c["status"] == WARN))

    # --- files --------------------------------------------------------------------------------------------------

    def write(self, directory: str, basename: str = "readiness-report") -> list[str]:
        """Write the report files (and one JSON and Markdown per target when there are several); their paths."""
        os.makedirs(directory, exist_ok=True)
        files = self._write_set(directory, basename, with_junit=True)
        if len(self.targets) > 1:
            used: set[str] = set()
            for target in self.targets:
                name = _slug(target)
                while name in used:  # 'web 1' and 'web_1' must not overwrite each other
                    name += "_"
                used.add(name)
                files += self.sub_report(target)._write_set(directory, "%s-%s" % (basename, name))
        return files

    def _write_set(self, directory: str, basename: str, with_junit: bool = False) -> list[str]:
        renderings = {".json": json.dumps(self.as_json(), indent=2, sort_keys=False) + "\n", ".md": self.markdown()}
        if with_junit:
            renderings[".xml"] = self.junit()
        return [_write_atomically(os.path.join(directory, basename + suffix), text)
                for suffix, text in renderings.items()]


def _write_atomically(path: str, text: str) -> str:
    """Readers never see half a report: write beside it, then rename over it."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def _by_section(checks: t.Sequence[dict]) -> list[tuple[str, list[dict]]]:
    order = [section_label(number) for number in SECTIONS]
    grouped: dict[str, list[dict]] = {}
    for check in checks:
        grouped.setdefault(check["section"], []).append(check)
    return sorted(grouped.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))


def _tally(tally: t.Mapping[str, int]) -> str:
    """'3 PASS, 0 WARN, 1 FAIL, 0 SKIP', with 'N ERROR' only when some checks could not judge."""
    return ", ".join("%d %s" % (number, status) for status, number in tally.items() if number or status != ERROR)


def _causes_headline(grouped: t.Sequence[dict]) -> str:
    """'1 cause: API unreachable; 16 checks could not run'."""
    total = sum(len(c["checks"]) for c in grouped)
    return "%d cause%s: %s; %d check%s could not run" % (
        len(grouped), "" if len(grouped) == 1 else "s", ", ".join("%s unavailable" % c["dependency"] for c in grouped),
        total, "" if total == 1 else "s")


def _cause_lines(grouped: t.Sequence[dict]) -> list[str]:
    if not grouped:
        return []
    lines = ["Could not judge: " + _causes_headline(grouped)]
    lines += ["  - %s (%s): %s -> %s. Remediation: %s" % (c["dependency"], c["check"], c["reason"],
                                                          ", ".join(c["checks"]), c["remediation"]) for c in grouped]
    return lines


def _evidence_suffix(evidence: t.Mapping[str, t.Any]) -> str:
    if not evidence:
        return ""
    parts = ["%s=%s" % (key, value if isinstance(value, (str, int, float)) or value is None else json.dumps(value))
             for key, value in evidence.items()]
    return " (" + "; ".join(parts) + ")"


def _status_cell(status: str) -> str:
    return {"PASS": "[x] PASS", "WARN": "[~] WARN", "FAIL": "[ ] **FAIL**", "SKIP": "[-] SKIP",
            "ERROR": "[?] **ERROR** (could not judge)"}[status]


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    """Text XML 1.0 can carry: control characters (say, in a server's degraded reason) are dropped."""
    return _NOT_XML.sub("", str(text))


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "target"
