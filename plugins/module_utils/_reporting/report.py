# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness report: check results of one or more targets rendered as a console summary, JSON, Markdown
(the checklist's sections filled in, with a blank sign-off table), a self-contained HTML page (the same content
for people who open a file, no network and no script needed) and JUnit XML.

Markdown and HTML are two renderings of one page (`Report.document`, built from `Report.view`, rendered by
_reporting/document.py as the incident record is): the same header, sections, rows and sign-off, so they cannot
say different things."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import typing as t
import xml.etree.ElementTree as ET

from ansible_collections.aragora.ops.plugins.module_utils._clients.files import write_atomically
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    ERROR,
    FAIL,
    SECTIONS,
    SKIP,
    STATUSES,
    WARN,
    causes,
    counts,
    section_label,
    verdict,
)
from ansible_collections.aragora.ops.plugins.module_utils._reporting import document as doc
from ansible_collections.aragora.ops.plugins.module_utils._reporting import markdown as md

SIGN_OFF_ROLES = ("Engineering Lead", "Security Review", "Operations", "Product Owner")
UNREACHABLE_CHECK_ID = "target.results"
NO_TARGET = "(no target)"
NO_CHECKS_REASON = ("no check ran (--tags, aragora_check_groups or aragora_skip_checks selected none), so nothing "
                    "was judged")


# The options of readiness_report, shared by its module and its action plugin.
REPORT_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "results": {"type": "dict", "required": True},
    "dest": {"type": "path", "required": True},
    "basename": {"type": "str", "default": "readiness-report"},
    "strict": {"type": "bool", "default": False},
    "scopes": {"type": "dict", "default": {}},
}


def write_report(params: t.Mapping[str, t.Any], check_mode: bool = False) -> dict[str, t.Any]:
    """Write the report files the (validated) readiness_report options ask for (in check mode, only name them);
    what the task returns. OSError when the files cannot be written."""
    results = {}
    for target, checks in params["results"].items():
        if isinstance(checks, list) and all(isinstance(check, dict) for check in checks):
            results[target] = checks
        else:
            results[target] = [missing_target_result(target, str(checks or "no results"))]
    report = Report(results, strict=params["strict"], scopes=params["scopes"])
    if check_mode:
        files = list(report.files(params["dest"], params["basename"]))
    else:
        files = report.write(params["dest"], params["basename"])
    return {"changed": True, "verdict": report.verdict, "counts": report.counts, "partial": bool(report.not_run),
            "targets": report.as_json()["targets"], "summary": report.summary(), "files": files,
            "message": verdict_message(report.verdict, report.counts, params["strict"], files)}


def verdict_message(verdict_of_run: str, tally: t.Mapping[str, int], strict: bool, files: t.Sequence[str]) -> str:
    """The verdict in one sentence, with where the report is: on NO-GO, the message the run stops with."""
    where = "The report is in %s." % ", ".join(files)
    if verdict_of_run == "GO":
        return "GO. %s" % where
    return "NO-GO: %s check(s) failed%s%s. %s" % (
        tally.get(FAIL, 0), ", %s could not judge" % tally[ERROR] if tally.get(ERROR) else "",
        " and %s warned (strict)" % tally[WARN] if strict and tally.get(WARN) else "", where)


def report_targets(given: t.Sequence[str], matched: t.Sequence[str]) -> list[str]:
    """The targets a report covers: those given by name (aragora_report_hosts), else the hosts the targets' pattern
    matches in the inventory."""
    return list(given) if given else list(matched)


def no_target_left(pattern: str, matched: t.Sequence[str], limit: str | None) -> str:
    """Why a run (its --limit, AWX's Limit) has no Aragora target left to check, and what to do."""
    if not matched:
        why = "No inventory host matches '%s'" % pattern
    else:
        why = "'%s' matches %s%s" % (pattern, ", ".join(matched),
                                     (" and --limit %s leaves none of them" % limit) if limit is not None else "")
    return ("NO-GO: no Aragora target is left to check. %s: give an inventory with that group (-i inventory.yml), set "
            "aragora_targets to your targets' group or host pattern, or widen the limit." % why)


def missing_target_result(target: str, reason: str) -> dict:
    """A FAIL standing for a target whose checks produced nothing (unreachable host, failed task)."""
    return {"id": UNREACHABLE_CHECK_ID, "section": section_label("0"), "title": "Target checked",
            "status": FAIL, "message": "No check results from %s: %s" % (target, reason), "evidence": {},
            "remediation": "Make the target reachable (inventory, connection, credentials) and run again.",
            "duration_ms": 0.0}


@dataclasses.dataclass
class Row:
    """One check as people read it: the item, its status, what was seen (message and evidence), what to do."""

    title: str
    status: str
    detail: str
    remediation: str


@dataclasses.dataclass
class TargetView:
    name: str
    verdict: str
    sections: list[tuple[str, list[Row]]]
    causes: list[dict] = dataclasses.field(default_factory=list)  # why checks could not judge, one per cause
    not_run: str = ""  # the groups of checks this run left out, in words; empty when every group ran


@dataclasses.dataclass
class View:
    """What the Markdown and HTML reports show, in order."""

    verdict: str
    strict: bool
    generated_at: str
    targets: list[TargetView]
    tally: str
    statuses: list[str]  # every status present, the schema's first, then any other in order of appearance
    grid: list[tuple[str, dict[str, int]]]  # checklist section -> checks by status, all targets together
    scope: str = "every check of the checklist"
    sign_off_roles: tuple[str, ...] = SIGN_OFF_ROLES


class Report:
    """All targets' results, each check tagged with its target."""

    def __init__(self, results: t.Mapping[str, t.Sequence[dict]], strict: bool = False,
                 generated_at: datetime.datetime | None = None,
                 scopes: t.Mapping[str, t.Mapping[str, t.Any]] | None = None) -> None:
        self.strict = strict
        # The targets whose run left groups of checks out (readiness_check's `scope`): their verdict covers the rest.
        self.not_run = {target: dict(scope) for target, scope in (scopes or {}).items()
                        if target in results and isinstance(scope, t.Mapping) and scope.get("groups_not_run")}
        self.generated_at = (generated_at or datetime.datetime.now(datetime.timezone.utc)).isoformat(
            timespec="seconds")
        # A report in which nothing was judged must not read GO: a target without results (every group left out by
        # --tags or aragora_check_groups, every check skipped by name) and a report without targets are NO-GO.
        results = dict(results) or {NO_TARGET: []}
        self.targets = {target: [dict(check, target=target) for check in checks or [missing_target_result(
            target, NO_CHECKS_REASON if target != NO_TARGET else "no target was checked (the host pattern, "
            "--limit or the inventory left none)")]] for target, checks in results.items()}

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
        report = Report({target: self.targets[target]}, self.strict, scopes=self.not_run)
        report.generated_at = self.generated_at
        return report

    # --- renderings ---------------------------------------------------------------------------------------------

    def as_json(self) -> dict[str, t.Any]:
        return {
            "verdict": self.verdict,
            "strict": self.strict,
            "generated_at": self.generated_at,
            "counts": self.counts,
            "partial": bool(self.not_run),
            "not_run": self.not_run,
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
            if target in self.not_run:
                lines.append("Partial run: %s; this verdict covers only the checks above." % self._not_run(target))
        if len(self.targets) > 1:
            lines.append("Overall verdict: %s (%s)" % (self.verdict, _tally(self.counts)))
        return "\n".join(lines)

    def view(self) -> View:
        """The one model the Markdown and HTML renderings format."""
        statuses = list(STATUSES) + [c["status"] for c in self.checks if c["status"] not in STATUSES]
        statuses = list(dict.fromkeys(statuses))
        grid = [(section, {status: sum(1 for c in checks if c["status"] == status) for status in statuses})
                for section, checks in _by_section(self.checks)]
        targets = [TargetView(target, verdict(checks, self.strict), [
            (section, [Row(check["title"], check["status"], check["message"] + _evidence_suffix(check["evidence"]),
                           check["remediation"]) for check in section_checks])
            for section, section_checks in _by_section(checks)], causes(checks))
            for target, checks in self.targets.items()]
        for target in targets:
            target.not_run = self._not_run(target.name) if target.name in self.not_run else ""
        scope = "; ".join("%s: %s" % (target.name, target.not_run) for target in targets if target.not_run)
        return View(self.verdict, self.strict, self.generated_at, targets, _tally(self.counts), statuses, grid,
                    scope="partial run, " + scope if scope else View.scope)

    def _not_run(self, target: str) -> str:
        """'not checked: database, redis (12 checks)'."""
        scope = self.not_run[target]
        number = scope.get("checks_not_run")
        return "not checked: %s%s" % (", ".join(scope["groups_not_run"]),
                                      " (%s checks)" % number if number else "")

    def document(self) -> doc.Document:
        """The view as a page: what `markdown` and `html` render."""
        view = self.view()
        scope = view.scope if view.scope == View.scope else doc.Strong(view.scope)
        names = ", ".join(target.name for target in view.targets)
        facts = [("Generated", view.generated_at), ("Targets", names),
                 ("Checks", doc.Verbatim(view.tally)), ("Scope", scope)]
        grid = doc.Table([(section, *(doc.Cell(str(number), doc.status_class(status) if number else "none")
                                      for status, number in tally.items())) for section, tally in view.grid],
                         ("Section", *view.statuses), "grid", row_headers=True)
        sections = [doc.Section("Sections by status", [grid], html_only=True)]
        sections += [doc.Section(("Target: ", target.name), self._target_blocks(target),
                                 doc.Verdict(target.verdict, target.verdict == "GO")) for target in view.targets]
        sign_off = doc.Table([(role, None, None, None) for role in view.sign_off_roles],
                             ("Role", "Name", "Date", "Signature"), "sign-off", row_headers=True)
        sections.append(doc.Section("Sign-Off", [sign_off]))
        strict_note = " (strict: WARN counts as NO-GO)" if view.strict else ""
        overall = doc.Verdict(view.verdict, view.verdict == "GO", strict_note)
        return doc.Document("Production Readiness Report", facts, sections, verdict=overall)

    @staticmethod
    def _target_blocks(target: TargetView) -> list[t.Any]:
        blocks: list[t.Any] = []
        if target.not_run:
            blocks.append(doc.Paragraph("Partial run: %s; this verdict covers only the checks below." % target.not_run))
        if target.causes:
            causes_table = doc.Table(
                [("%s: %s" % (c["dependency"], c["reason"]), c["check"], ", ".join(c["checks"]), c["remediation"]) for c in target.causes],
                ("Cause", "Owning check", "Checks that could not run", "Remediation"), "causes")
            blocks.append(doc.Section("Checks that could not judge",
                                      [doc.Paragraph(_causes_headline(target.causes)), causes_table]))
        for section, rows in target.sections:
            checks_table = doc.Table([(doc.Strong(row.title), doc.Status(row.status), row.detail, row.remediation)
                                      for row in rows], ("Item", "Status", "Evidence", "Remediation"), "checks",
                                     row_headers=True)
            blocks.append(doc.Section(section, [checks_table]))
        return blocks

    def markdown(self) -> str:
        return doc.to_markdown(self.document())

    def html(self) -> str:
        """One self-contained page: inline CSS, no script, no network; readable printed or without styles."""
        return doc.to_html(self.document())

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
        planned = self.files(directory, basename)
        os.makedirs(directory, exist_ok=True)
        return [write_atomically(path, text) for path, text in planned.items()]

    def files(self, directory: str, basename: str = "readiness-report") -> dict[str, str]:
        """The files `write` writes, by path, with their contents (check mode says these without writing)."""
        planned = self._renderings(directory, basename, with_junit=True)
        if len(self.targets) > 1:
            used: set[str] = set()
            for target in self.targets:
                name = _slug(target)
                while name in used:  # 'web 1' and 'web_1' must not overwrite each other
                    name += "_"
                used.add(name)
                planned.update(self.sub_report(target)._renderings(directory, "%s-%s" % (basename, name)))
        return planned

    def _renderings(self, directory: str, basename: str, with_junit: bool = False) -> dict[str, str]:
        page = self.document()  # built once for both formats
        renderings = {".json": json.dumps(self.as_json(), indent=2, sort_keys=False) + "\n",
                      ".md": doc.to_markdown(page), ".html": doc.to_html(page)}
        if with_junit:
            renderings[".xml"] = self.junit()
        return {os.path.join(directory, basename + suffix): text for suffix, text in renderings.items()}


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


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    """Text XML 1.0 can carry: control characters (say, in a server's degraded reason) are dropped."""
    return _NOT_XML.sub("", str(text))


def _slug(name: str) -> str:
    return md.file_name_part(name).strip("_") or "target"
