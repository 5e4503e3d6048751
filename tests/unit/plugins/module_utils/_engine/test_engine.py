"""The check registry and runner, and the result schema/verdict."""

from __future__ import annotations

import re

import pytest
from tests.unit.plugins.module_utils.ops_fakes import make_ctx

from ansible_collections.aragora.ops.plugins.module_utils._engine import engine, result
from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import GROUPS
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY, run_checks, run_one, select
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    CheckInputError,
    CheckSkipped,
    failed,
    passed,
    skipped,
    warned,
)

SCHEMA_KEYS = {"id", "section", "title", "status", "message", "evidence", "remediation", "duration_ms"}


@pytest.fixture
def registry(monkeypatch):
    """An empty registry for made-up checks; the real one is restored afterwards."""
    fresh: dict = {}
    monkeypatch.setattr(engine, "REGISTRY", fresh)
    return fresh


def declare(check_id, section, func, remediation="Fix it."):
    engine.check(check_id, section, "Title of " + check_id, remediation)(func)
    return engine.REGISTRY[check_id]


# --- the real registry --------------------------------------------------------------------------------------


def test_every_registered_check_is_well_formed():
    assert len(REGISTRY) >= 27
    for check_id, spec in REGISTRY.items():
        assert spec.id == check_id
        assert re.fullmatch(r"[a-z]+\.[a-z_]+", check_id), check_id
        assert spec.section in result.SECTIONS, check_id
        assert spec.title.strip(), check_id
        assert spec.remediation.strip(), check_id
        assert spec.group in GROUPS


def test_check_ids_and_titles_are_unique():
    ids = [spec.id for spec in REGISTRY.values()]
    assert len(ids) == len(set(ids))
    titles = [spec.title for spec in REGISTRY.values()]
    assert len(titles) == len(set(titles))


def test_groups_match_the_module_choices():
    assert GROUPS == ("health", "websocket", "security", "ha", "database", "migrations", "redis", "monitoring",
                      "observability", "certificates", "tls", "oauth", "providers", "limits", "resources", "backups")


def test_registering_an_id_twice_raises(registry):
    declare("demo.one", "1", lambda ctx: passed("ok"))
    with pytest.raises(ValueError, match="registered twice: demo.one"):
        declare("demo.one", "1", lambda ctx: passed("ok"))


def test_full_run_without_any_source_skips_everything_in_checklist_order():
    results = run_checks(list(REGISTRY.values()), make_ctx())
    assert [r["id"] for r in results] == [s.id for s in engine.in_checklist_order(REGISTRY.values())]
    assert {r["status"] for r in results} == {"SKIP"}
    sections = [int(r["section"].split(".")[0]) for r in results]
    assert sections == sorted(sections)
    for r in results:
        assert set(r) == SCHEMA_KEYS
        assert r["remediation"] == ""
        assert r["message"]


# --- run_one ------------------------------------------------------------------------------------------------


def test_unexpected_exception_fails_naming_it_without_traceback(registry):
    def boom(ctx):
        raise KeyError("missing_field")

    out = run_one(declare("demo.boom", "5", boom), None)
    assert out["status"] == "FAIL"
    assert out["message"] == "check demo.boom could not complete: KeyError: 'missing_field'"
    assert "Traceback" not in out["message"] and "File \"" not in out["message"]
    assert "defect in aragora.ops" in out["remediation"]


def test_check_skipped_becomes_skip(registry):
    def skip(ctx):
        raise CheckSkipped("not applicable here")

    out = run_one(declare("demo.skip", "5", skip), None)
    assert (out["status"], out["message"], out["remediation"]) == ("SKIP", "not applicable here", "")


def test_check_input_error_fails_with_title(registry):
    def broken(ctx):
        raise CheckInputError("cannot read it")

    out = run_one(declare("demo.input", "5", broken), None)
    assert (out["status"], out["message"]) == ("FAIL", "Title of demo.input: cannot read it")
    assert out["remediation"] == "Fix it."


@pytest.mark.parametrize("outcome, status, remediation", [
    (passed("fine", a=1), "PASS", ""),
    (warned("meh"), "WARN", "Fix it."),
    (warned("meh", "Do this instead."), "WARN", "Do this instead."),
    (failed("bad"), "FAIL", "Fix it."),
    (failed("bad", "Specific fix."), "FAIL", "Specific fix."),
    (skipped("n/a"), "SKIP", ""),
])
def test_result_dict_schema_and_remediation(registry, outcome, status, remediation):
    out = run_one(declare("demo.x", "9", lambda ctx: outcome), None)
    assert set(out) == SCHEMA_KEYS
    assert out["id"] == "demo.x"
    assert out["section"] == "9. Resource Limits"
    assert out["title"] == "Title of demo.x"
    assert out["status"] == status
    assert out["remediation"] == remediation
    assert isinstance(out["duration_ms"], float) and out["duration_ms"] >= 0


def test_check_returning_none_becomes_fail_not_crash(registry):
    declare("demo.none", "1", lambda ctx: None)
    declare("demo.ok", "1", lambda ctx: passed("ok"))
    results = run_checks(list(registry.values()), None)
    assert [r["status"] for r in results] == ["FAIL", "PASS"]


# --- run_checks / select ------------------------------------------------------------------------------------


def test_run_checks_orders_by_section_then_declaration(registry):
    declare("z.late", "9", lambda ctx: passed("9"))
    declare("a.first_in_5", "5", lambda ctx: passed("5a"))
    declare("b.second_in_5", "5", lambda ctx: passed("5b"))
    declare("m.zero", "0", lambda ctx: passed("0"))
    declare("c.ten", "10", lambda ctx: passed("10"))
    specs = list(registry.values())
    results = run_checks(list(reversed(specs)), None)
    assert [r["id"] for r in results] == ["m.zero", "a.first_in_5", "b.second_in_5", "z.late", "c.ten"]


def test_skip_checks_are_reported_skip_with_reason(registry):
    calls = []
    declare("g.run", "1", lambda ctx: calls.append("run") or passed("ran"))
    declare("g.skip", "1", lambda ctx: calls.append("skip") or passed("ran"))
    to_run, to_skip = select(None, ["g.skip"])
    results = run_checks(to_run, None, to_skip)
    assert calls == ["run"]
    assert [(r["id"], r["status"]) for r in results] == [("g.run", "PASS"), ("g.skip", "SKIP")]
    assert results[1]["message"] == "skipped by configuration (listed in skip_checks)"
    assert results[1]["duration_ms"] == 0.0


def test_select_by_group(registry):
    declare("alpha.one", "1", lambda ctx: passed("x"))
    declare("beta.one", "1", lambda ctx: passed("x"))
    declare("alpha.two", "1", lambda ctx: passed("x"))
    to_run, to_skip = select(["alpha"], ["alpha.two", "beta.one"])
    assert [s.id for s in to_run] == ["alpha.one"]
    assert [s.id for s in to_skip] == ["alpha.two"]  # a skipped check of an unselected group is not reported


def test_one_failing_check_does_not_hide_the_others(registry):
    declare("x.a", "1", lambda ctx: passed("a"))
    declare("x.b", "1", lambda ctx: 1 / 0)
    declare("x.c", "1", lambda ctx: warned("c"))
    results = run_checks(list(registry.values()), None, max_workers=3)
    assert [(r["id"], r["status"]) for r in results] == [("x.a", "PASS"), ("x.b", "FAIL"), ("x.c", "WARN")]
    assert "ZeroDivisionError" in results[1]["message"]


def test_run_checks_with_nothing_returns_nothing():
    assert run_checks([], None) == []


# --- result.verdict / counts --------------------------------------------------------------------------------


def rs(*statuses):
    return [{"status": s} for s in statuses]


@pytest.mark.parametrize("statuses, strict, expected", [
    ((), False, "GO"),
    (("PASS", "SKIP"), False, "GO"),
    (("PASS", "WARN"), False, "GO"),
    (("PASS", "WARN"), True, "NO-GO"),
    (("PASS", "SKIP"), True, "GO"),
    (("PASS", "FAIL"), False, "NO-GO"),
    (("FAIL",), True, "NO-GO"),
])
def test_verdict(statuses, strict, expected):
    assert result.verdict(rs(*statuses), strict) == expected


def test_counts_has_every_status():
    assert result.counts(rs("PASS", "PASS", "SKIP")) == {"PASS": 2, "WARN": 0, "FAIL": 0, "ERROR": 0, "SKIP": 1}


def test_section_label():
    assert result.section_label("0") == "0. Go-Live Health"
    assert result.section_label("10") == "10. Disaster Recovery"


# --- could not judge: the cause's owner FAILs, every other check is ERROR naming it ----------------------------


@pytest.mark.parametrize("error, owner", [
    ("connection refused (nothing listens there, or a firewall rejects it)", "health.liveness"),
    ("no answer within 2 s (timeout)", "health.liveness"),
    ("TLS certificate verification failed (IP address mismatch, certificate is not valid for '10.0.0.5'.); give "
     "the CA bundle (ca_path) or fix the certificate", "tls.hostname"),
    ("TLS certificate verification failed (certificate has expired); give the CA bundle", "tls.expiry"),
    ("TLS certificate verification failed (self-signed certificate); give the CA bundle", "tls.certificate_trusted"),
    ("TLS handshake failed: the port does not speak TLS (use http:// or the TLS port)", "tls.protocol"),
])
def test_the_cause_of_an_unanswered_request_is_owned_by_the_check_that_judges_it(error, owner):
    from ansible_collections.aragora.ops.plugins.module_utils._checks.common import cause_of
    assert cause_of(error).owner == owner


def test_owner_fails_and_dependants_are_error(registry):
    cause = result.Cause("dep.owner", "Thing", "Start the thing.")

    def broken(_ctx):
        raise CheckInputError("thing refused", cause)

    owner, dependant = declare("dep.owner", "1", broken), declare("dep.user", "1", broken)
    owned, depending = run_one(owner, None), run_one(dependant, None)
    assert owned["status"] == "FAIL" and "cause" not in owned and owned["remediation"] == "Start the thing."
    assert depending["status"] == "ERROR" and depending["remediation"] == "Start the thing."
    assert depending["cause"] == {"check": "dep.owner", "dependency": "Thing", "reason": "thing refused"}
    assert depending["message"] == "Could not judge: Thing unavailable (see dep.owner): thing refused"
    assert result.verdict([depending]) == "NO-GO"


def test_groups_for_tags_keeps_the_order_given_and_drops_duplicates_and_skipped():
    assert engine.groups_for_tags(["tls", "environment", "tls"], ["all"], []) == ["tls", "environment"]
    assert engine.groups_for_tags(GROUPS, ["all"], []) == list(GROUPS)
    assert engine.groups_for_tags(GROUPS, [GROUPS[-1], GROUPS[0]], [GROUPS[0]]) == [GROUPS[-1]]
    assert engine.groups_for_tags(GROUPS, ["all"], GROUPS) == []
