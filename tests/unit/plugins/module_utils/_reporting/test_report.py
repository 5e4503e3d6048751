"""The readiness report (report.py): verdict, JSON, Markdown, JUnit XML and the files."""

from __future__ import annotations

import datetime
import html
import json
import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._reporting.report import (
    SIGN_OFF_ROLES,
    Report,
    missing_target_result,
)

WHEN = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)


def check(check_id, status, section="1. Security Configuration", message=None, remediation="Do X.", evidence=None):
    return {"id": check_id, "section": section, "title": "Title %s" % check_id, "status": status,
            "message": message or "%s is %s" % (check_id, status), "evidence": evidence or {},
            "remediation": remediation if status in ("FAIL", "WARN") else "", "duration_ms": 12.5}


MIXED = [
    check("health.liveness", "PASS", "0. Go-Live Health"),
    check("security.jwt_secret", "FAIL", evidence={"length": 12, "min_length": 32}),
    check("security.cors_origins", "WARN", message="origins a|b"),
    check("monitoring.sentry_dsn", "SKIP", "5. Monitoring & Observability"),
]


def report(results=None, strict=False):
    return Report(results if results is not None else {"prod": MIXED}, strict=strict, generated_at=WHEN)


# --- verdict ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("statuses, strict, verdict", [
    (("PASS", "SKIP"), False, "GO"),
    (("PASS", "WARN"), False, "GO"),
    (("PASS", "WARN"), True, "NO-GO"),
    (("PASS", "FAIL"), False, "NO-GO"),
    # Nothing judged is not a GO (issue 13: --tags/--limit gave green runs without a verdict).
    ((), False, "NO-GO"),
])
def test_verdict(statuses, strict, verdict):
    r = report({"t": [check("x.%d" % i, s) for i, s in enumerate(statuses)]}, strict)
    assert r.verdict == verdict
    assert r.as_json()["verdict"] == verdict


def test_a_target_without_checks_and_a_report_without_targets_say_why_they_are_no_go():
    empty = report({"prod": [], "staging": [check("x.a", "PASS")]})
    assert empty.verdict == "NO-GO" and empty.as_json()["targets"]["staging"]["verdict"] == "GO"
    (why,) = empty.targets["prod"]
    assert why["status"] == "FAIL" and "no check ran" in why["message"] and "--tags" in why["message"]
    nothing = report({})
    assert nothing.verdict == "NO-GO" and "no target was checked" in nothing.checks[0]["message"]


def test_files_lists_what_write_writes(tmp_path):
    r = report({"a": MIXED, "b": MIXED})
    planned = r.files(str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    assert sorted(r.write(str(tmp_path / "out"))) == sorted(planned)
    for path, text in planned.items():
        assert open(path, encoding="utf-8").read() == text


def test_one_failing_target_makes_overall_no_go():
    r = report({"a": [check("x.a", "PASS")], "b": [check("x.b", "FAIL")]})
    data = r.as_json()
    assert data["verdict"] == "NO-GO"
    go = {"PASS": 1, "WARN": 0, "FAIL": 0, "ERROR": 0, "SKIP": 0}
    no_go = {"PASS": 0, "WARN": 0, "FAIL": 1, "ERROR": 0, "SKIP": 0}
    assert data["targets"] == {"a": {"verdict": "GO", "counts": go}, "b": {"verdict": "NO-GO", "counts": no_go}}


def test_missing_target_result_is_a_fail():
    r = report({"web1": [missing_target_result("web1", "unreachable")]})
    assert r.verdict == "NO-GO"
    assert r.checks[0]["message"] == "No check results from web1: unreachable"


# --- JSON ---------------------------------------------------------------------------------------------------


def test_json_shape():
    data = json.loads(json.dumps(report().as_json()))
    assert {"verdict", "counts", "checks"} <= set(data)
    assert data["counts"] == {"PASS": 1, "WARN": 1, "FAIL": 1, "ERROR": 0, "SKIP": 1}
    assert data["generated_at"] == "2025-01-02T03:04:05+00:00"
    assert len(data["checks"]) == 4
    assert all(c["target"] == "prod" for c in data["checks"])
    assert data["strict"] is False


def test_input_results_are_not_mutated():
    results = [check("x.a", "PASS")]
    report({"t": results})
    assert "target" not in results[0]


# --- Markdown -----------------------------------------------------------------------------------------------


def test_markdown_sections_status_cells_and_sign_off():
    md = report().markdown()
    assert md.startswith("# Production Readiness Report\n")
    assert "| **Verdict** | **NO-GO** |" in md
    assert "## Target: prod — NO-GO" in md
    for heading in ("### 0. Go-Live Health", "### 1. Security Configuration", "### 5. Monitoring & Observability"):
        assert heading in md
    assert "### 7." not in md  # sections with no results are not rendered
    assert md.index("### 0.") < md.index("### 1.") < md.index("### 5.")
    assert "| [x] PASS |" in md and "| [ ] **FAIL** |" in md and "| [~] WARN |" in md and "| [-] SKIP |" in md
    assert "## Sign-Off" in md
    for role in SIGN_OFF_ROLES:
        assert "| %s | | | |" % role in md
    assert "length=12; min_length=32" in md


def test_markdown_escapes_pipes_and_newlines():
    results = [check("x.a", "FAIL", message="a|b\nc", remediation="use | carefully", evidence={"k": "v|w"})]
    md = report({"t|1": results}).markdown()
    row = [line for line in md.splitlines() if line.startswith("| **Title x.a**")][0]
    assert "a\\|b c" in row and "use \\| carefully" in row and "k=v\\|w" in row
    assert row.replace("\\|", "").count("|") == 5  # exactly four cells
    assert "## Target: t\\|1" in md


def test_markdown_strict_note():
    assert "(strict: WARN counts as NO-GO)" in report(strict=True).markdown()


# --- JUnit --------------------------------------------------------------------------------------------------


def junit_cases(r):
    root = ET.fromstring(r.junit())
    return root, root.findall("./testsuite/testcase")


def test_junit_parses_one_testcase_per_check():
    root, cases = junit_cases(report())
    assert root.tag == "testsuites"
    assert root.get("tests") == "4" and root.get("failures") == "1"
    assert len(cases) == 4
    by_name = {c.get("name").split(":")[0]: c for c in cases}
    assert by_name["security.jwt_secret"].find("failure") is not None
    assert "Remediation: Do X." in by_name["security.jwt_secret"].find("failure").text
    assert by_name["monitoring.sentry_dsn"].find("skipped") is not None
    assert by_name["security.cors_origins"].find("failure") is None
    assert by_name["health.liveness"].find("system-out").text.startswith("[PASS]")
    suite = root.find("testsuite")
    assert suite.get("name") == "prod" and suite.get("skipped") == "1"


def test_junit_strict_warn_is_a_failure():
    root, cases = junit_cases(report(strict=True))
    assert root.get("failures") == "2"
    warn = [c for c in cases if c.get("name").startswith("security.cors_origins")][0]
    assert warn.find("failure").get("type") == "WARN"


def test_junit_one_suite_per_target():
    root, cases = junit_cases(report({"a": MIXED, "b": MIXED[:1]}))
    assert [s.get("name") for s in root.findall("testsuite")] == ["a", "b"]
    assert len(cases) == 5


def test_junit_survives_control_characters_in_messages():
    results = [check("health.liveness", "WARN", message="degraded: \x1b[31mredis\x1b[0m down\x00")]
    ET.fromstring(report({"t": results}).junit())


# --- files --------------------------------------------------------------------------------------------------


def test_write_single_target(tmp_path):
    files = report().write(str(tmp_path))
    names = sorted(os.path.basename(f) for f in files)
    assert names == ["readiness-report.html", "readiness-report.json", "readiness-report.md", "readiness-report.xml"]
    assert sorted(os.listdir(tmp_path)) == names  # no .tmp- leftovers
    assert json.loads((tmp_path / "readiness-report.json").read_text())["verdict"] == "NO-GO"
    ET.parse(str(tmp_path / "readiness-report.xml"))
    assert oct(os.stat(files[0]).st_mode & 0o777) == "0o644"


def test_write_several_targets_per_target_files(tmp_path):
    r = report({"web-1": MIXED, "https://api.example.com": [check("x.a", "PASS")]})
    files = r.write(str(tmp_path / "out"), basename="rr")
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == sorted(["rr.json", "rr.md", "rr.html", "rr.xml", "rr-web-1.json", "rr-web-1.md", "rr-web-1.html",
                            "rr-https_api.example.com.json", "rr-https_api.example.com.md",
                            "rr-https_api.example.com.html"])
    assert len(files) == 10
    assert not any(n.startswith(".tmp-") for n in names)
    sub = json.loads((tmp_path / "out" / "rr-https_api.example.com.json").read_text())
    assert sub["verdict"] == "GO" and len(sub["checks"]) == 1 and sub["checks"][0]["target"] == "https://api.example.com"
    assert sub["generated_at"] == "2025-01-02T03:04:05+00:00"


def test_write_overwrites_previous_report(tmp_path):
    report({"t": [check("x.a", "FAIL")]}).write(str(tmp_path))
    report({"t": [check("x.a", "PASS")]}).write(str(tmp_path))
    assert json.loads((tmp_path / "readiness-report.json").read_text())["verdict"] == "GO"
    assert len(os.listdir(tmp_path)) == 4


def test_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        report().write(str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_distinct_targets_get_distinct_files(tmp_path):
    files = report({"web 1": [check("x.a", "FAIL")], "web_1": [check("x.a", "PASS")]}).write(str(tmp_path))
    assert len(set(files)) == len(files)


# --- console summary ----------------------------------------------------------------------------------------


def test_summary():
    text = report({"a": MIXED, "b": [check("x.a", "PASS")]}).summary()
    assert "=== Aragora production readiness: a ===" in text
    assert "  [FAIL] security.jwt_secret is FAIL" in text
    assert "Verdict for a: NO-GO (1 PASS, 1 WARN, 1 FAIL, 1 SKIP)" in text
    assert "Verdict for b: GO" in text
    assert text.endswith("Overall verdict: NO-GO (2 PASS, 1 WARN, 1 FAIL, 1 SKIP)")


# --- checks that could not judge: one cause, many checks --------------------------------------------------


def _outage_results():
    cause = {"check": "health.liveness", "dependency": "API", "reason": "GET https://a/healthz -> connection refused"}
    owner = {"id": "health.liveness", "section": "0. Go-Live Health", "title": "Liveness", "status": "FAIL",
             "message": "Liveness: connection refused", "evidence": {}, "remediation": "Start the Aragora server.",
             "duration_ms": 1.0}
    dependants = [{"id": check_id, "section": "6. SSL/TLS Certificates", "title": check_id, "status": "ERROR",
                   "message": "Could not judge: API unavailable (see health.liveness): connection refused",
                   "evidence": {}, "remediation": "Start the Aragora server.", "duration_ms": 1.0, "cause": cause}
                  for check_id in ("tls.expiry", "tls.hostname", "providers.circuit_breakers")]
    return [owner, *dependants]


def test_could_not_judge_is_no_go_and_grouped_by_cause():
    report = Report({"a": _outage_results()})
    assert report.verdict == "NO-GO"
    assert report.counts["ERROR"] == 3 and report.counts["FAIL"] == 1
    grouped = report.as_json()["causes"]
    assert [(c["check"], c["dependency"], c["checks"]) for c in grouped] == [
        ("health.liveness", "API", ["tls.expiry", "tls.hostname", "providers.circuit_breakers"])]
    summary = report.summary()
    assert "Could not judge: 1 cause: API unavailable; 3 checks could not run" in summary
    markdown = report.markdown()
    assert "1 cause: API unavailable; 3 checks could not run" in markdown
    assert "Renew" not in markdown and "[?] **ERROR** (could not judge)" in markdown


def test_junit_reports_could_not_judge_as_error_not_failure():
    suites = ET.fromstring(Report({"a": _outage_results()}).junit().split("\n", 1)[1])
    assert suites.get("errors") == "3" and suites.get("failures") == "1"
    errors = [case.get("name").split(":")[0] for case in suites.iter("testcase") if case.find("error") is not None]
    assert errors == ["tls.expiry", "tls.hostname", "providers.circuit_breakers"]


# --- HTML ---------------------------------------------------------------------------------------------------------


def test_html_is_the_markdown_view_self_contained_and_escaped():
    r = report({"prod <1>": MIXED + [check("x.new", "UNKNOWABLE", message="a <b>status</b> & more")]})
    page = r.html()
    view = r.view()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page.lower()
    assert not [word for word in ("http://", "https://", "src=", "@import", "url(") if word in page.replace(
        "https://www.w3.org", "")]  # nothing fetched
    assert "Verdict: <strong>NO-GO</strong>" in page and "prod &lt;1&gt;" in page
    assert "a &lt;b&gt;status&lt;/b&gt; &amp; more" in page and "<b>status</b>" not in page
    # every status present is a grid column, a status the schema does not know included
    assert view.statuses == ["PASS", "WARN", "FAIL", "ERROR", "SKIP", "UNKNOWABLE"] and "status-unknowable" in page
    for role in SIGN_OFF_ROLES:
        assert role in page and role in r.markdown()
    for target in view.targets:
        for _section, rows in target.sections:
            for row in rows:
                assert html.escape(row.detail) in page


def test_html_shows_what_could_not_judge_and_why():
    page = Report({"a": _outage_results()}).html()
    assert "Checks that could not judge" in page and "1 cause: API unavailable; 3 checks could not run" in page
    assert '<span class="status status-error">ERROR</span>' in page and "<th scope=\"col\">ERROR</th>" in page


# --- scope: a run that left groups of checks out -----------------------------------------------------------------


def test_a_run_that_left_groups_out_says_its_verdict_covers_only_the_checks_that_ran():
    scopes = {"prod": {"groups_not_run": ["database", "redis"], "checks_not_run": 12}}
    partial = Report({"prod": [check("health.liveness", "PASS", "0. Go-Live Health")]}, generated_at=WHEN,
                     scopes=scopes)
    assert partial.verdict == "GO"  # the checks that ran are judged as ever: the scope is said, not hidden
    data = partial.as_json()
    assert data["partial"] is True and data["not_run"] == scopes
    assert ("Partial run: not checked: database, redis (12 checks); this verdict covers only the checks above."
            in partial.summary().splitlines())
    assert "| Scope | **partial run, prod: not checked: database, redis (12 checks)** |" in partial.markdown()
    assert "<strong>partial run, prod: not checked: database, redis (12 checks)</strong>" in partial.html()
    assert partial.sub_report("prod").as_json()["partial"] is True  # the per-target files say it too


def test_a_scope_that_left_nothing_out_or_names_no_target_of_the_report_is_a_full_run():
    full = Report({"prod": MIXED}, generated_at=WHEN, scopes={
        "prod": {"groups_not_run": [], "checks_not_run": 0}, "other": {"groups_not_run": ["tls"]}})
    assert full.as_json()["partial"] is False and full.as_json()["not_run"] == {}
    assert "Partial run" not in full.summary()
    assert "| Scope | every check of the checklist |" in full.markdown()


# --- the pages, byte for byte (rendered by _reporting/document.py) -----------------------------------------------

PAGE_RESULTS = {"web|1": [
    {"id": "health.api", "section": "0. Go-Live Health", "title": "API <up>", "status": "PASS", "message": "200 | ok",
     "evidence": {"code": 200}, "remediation": "", "duration_ms": 1.0},
    {"id": "tls.expiry", "section": "2. TLS", "title": "Expiry", "status": "ERROR", "message": "no answer\nat all",
     "evidence": {}, "remediation": "Start & retry", "duration_ms": 1.0,
     "cause": {"check": "health.api", "dependency": "API", "reason": "refused"}},
    {"id": "x.odd", "section": "2. TLS", "title": "Odd", "status": "ODD", "message": "m", "evidence": {},
     "remediation": "r", "duration_ms": 1.0}]}
PAGE_SCOPES = {"web|1": {"groups_not_run": ["redis"], "checks_not_run": 3}}


def test_markdown_page_byte_for_byte():
    page = Report(PAGE_RESULTS, strict=True, generated_at=WHEN, scopes=PAGE_SCOPES).markdown()
    assert page == """\
# Production Readiness Report

| | |
|---|---|
| **Verdict** | **NO-GO** (strict: WARN counts as NO-GO) |
| Generated | 2025-01-02T03:04:05+00:00 |
| Targets | web\\|1 |
| Checks | 1 PASS, 0 WARN, 0 FAIL, 1 ERROR, 0 SKIP, 1 ODD |
| Scope | **partial run, web\\|1: not checked: redis (3 checks)** |

## Target: web\\|1 — NO-GO

Partial run: not checked: redis (3 checks); this verdict covers only the checks below.

### Checks that could not judge

1 cause: API unavailable; 1 check could not run

| Cause | Owning check | Checks that could not run | Remediation |
|-------|--------------|---------------------------|-------------|
| API: refused | health.api | tls.expiry | Start & retry |

### 0. Go-Live Health

| Item | Status | Evidence | Remediation |
|------|--------|----------|-------------|
| **API <up>** | [x] PASS | 200 \\| ok (code=200) |  |

### 2. TLS

| Item | Status | Evidence | Remediation |
|------|--------|----------|-------------|
| **Expiry** | [?] **ERROR** (could not judge) | no answer at all | Start & retry |
| **Odd** | ODD | m | r |

## Sign-Off

| Role | Name | Date | Signature |
|------|------|------|-----------|
| Engineering Lead | | | |
| Security Review | | | |
| Operations | | | |
| Product Owner | | | |
"""


def test_html_page_byte_for_byte():
    page = Report(PAGE_RESULTS, strict=True, generated_at=WHEN, scopes=PAGE_SCOPES).html()
    head, body = page.split("</head>\n")
    assert head.startswith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                           '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                           '<title>Production Readiness Report: NO-GO</title>\n<style>body{')
    assert head.endswith("tr{break-inside:avoid}}</style>\n")
    columns = "".join('<th scope="col">%s</th>' % title for title in ("Item", "Status", "Evidence", "Remediation"))
    assert body.splitlines() == [
        '<body>',
        '<h1>Production Readiness Report</h1>',
        '<p class="verdict no-go">Verdict: <strong>NO-GO</strong> (strict: WARN counts as NO-GO)</p>',
        '<table class="facts"><tbody>',
        '<tr><th scope="row">Generated</th><td>2025-01-02T03:04:05+00:00</td></tr>',
        '<tr><th scope="row">Targets</th><td>web|1</td></tr>',
        '<tr><th scope="row">Checks</th><td>1 PASS, 0 WARN, 0 FAIL, 1 ERROR, 0 SKIP, 1 ODD</td></tr>',
        '<tr><th scope="row">Scope</th><td><strong>partial run, web|1: not checked: redis (3 checks)</strong></td>'
        '</tr>',
        '</tbody></table>',
        '<h2>Sections by status</h2>',
        '<table class="grid"><thead><tr><th scope="col">Section</th><th scope="col">PASS</th><th scope="col">WARN</th>'
        '<th scope="col">FAIL</th><th scope="col">ERROR</th><th scope="col">SKIP</th><th scope="col">ODD</th></tr>'
        '</thead><tbody>',
        '<tr><th scope="row">0. Go-Live Health</th><td class="status-pass">1</td><td class="none">0</td>'
        '<td class="none">0</td><td class="none">0</td><td class="none">0</td><td class="none">0</td></tr>',
        '<tr><th scope="row">2. TLS</th><td class="none">0</td><td class="none">0</td><td class="none">0</td>'
        '<td class="status-error">1</td><td class="none">0</td><td class="status-odd">1</td></tr>',
        '</tbody></table>',
        '<h2>Target: web|1 <span class="status no-go">NO-GO</span></h2>',
        '<p>Partial run: not checked: redis (3 checks); this verdict covers only the checks below.</p>',
        '<h3>Checks that could not judge</h3>',
        '<p>1 cause: API unavailable; 1 check could not run</p>',
        '<table class="causes"><thead><tr><th scope="col">Cause</th><th scope="col">Owning check</th>'
        '<th scope="col">Checks that could not run</th><th scope="col">Remediation</th></tr></thead><tbody>',
        '<tr><td>API: refused</td><td>health.api</td><td>tls.expiry</td><td>Start &amp; retry</td></tr>',
        '</tbody></table>',
        '<h3>0. Go-Live Health</h3>',
        '<table class="checks"><thead><tr>%s</tr></thead><tbody>' % columns,
        '<tr><th scope="row">API &lt;up&gt;</th><td><span class="status status-pass">PASS</span></td>'
        '<td>200 | ok (code=200)</td><td></td></tr>',
        '</tbody></table>',
        '<h3>2. TLS</h3>',
        '<table class="checks"><thead><tr>%s</tr></thead><tbody>' % columns,
        '<tr><th scope="row">Expiry</th><td><span class="status status-error">ERROR</span></td><td>no answer',
        'at all</td><td>Start &amp; retry</td></tr>',
        '<tr><th scope="row">Odd</th><td><span class="status status-odd">ODD</span></td><td>m</td><td>r</td></tr>',
        '</tbody></table>',
        '<h2>Sign-Off</h2>',
        '<table class="sign-off"><thead><tr><th scope="col">Role</th><th scope="col">Name</th><th scope="col">Date</th>'
        '<th scope="col">Signature</th></tr></thead><tbody>',
        *('<tr><th scope="row">%s</th><td></td><td></td><td></td></tr>' % role for role in SIGN_OFF_ROLES),
        '</tbody></table>',
        '</body>',
        '</html>']


def test_a_bar_in_a_target_name_or_an_unknown_status_stays_in_its_cell():
    check = {"id": "x.y", "section": "1. Security Configuration", "title": "T", "status": "OD|D", "message": "m",
             "evidence": {}, "remediation": "", "duration_ms": 0}
    page = Report({"web|1": [check]}, generated_at=WHEN).markdown()
    assert "| Targets | web\\|1 |" in page
    assert "| **T** | OD\\|D | m |  |" in page
