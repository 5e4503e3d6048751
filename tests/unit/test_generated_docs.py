"""docs/checklist-coverage.md and docs/checks.md are what scripts/gen_docs.py makes from the check registry."""

from __future__ import annotations

import dataclasses

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._checks import catalog, smoke
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY, CheckSpec
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import passed
from scripts import gen_docs

GENERATED_FILES = [gen_docs.COVERAGE_DOC, gen_docs.CHECKS_DOC]


def test_generated_docs_are_what_make_docs_writes():
    differ = gen_docs.stale(gen_docs.documents())
    assert not differ, "%s differ from the check registry and scripts/checklist_coverage.yml: run `make docs`" % (
        ", ".join(differ))


def test_a_changed_proves_text_makes_both_docs_stale(monkeypatch):
    spec = REGISTRY["tls.expiry"]
    monkeypatch.setitem(REGISTRY, spec.id, dataclasses.replace(spec, proves="Something else entirely."))
    documents = gen_docs.documents()
    assert gen_docs.stale(documents) == GENERATED_FILES
    assert "Something else entirely." in documents[gen_docs.CHECKS_DOC]


def test_every_check_says_what_its_pass_rests_on():
    specs = [*REGISTRY.values(), *smoke.SMOKE_CHECKS.values()]
    assert [spec.id for spec in specs if not spec.proves.strip()] == []
    reference = gen_docs.documents()[gen_docs.CHECKS_DOC]
    for spec in specs:
        assert "### `%s`" % spec.id in reference
        assert gen_docs._cell(spec.proves) in reference  # pylint: disable=protected-access
        assert gen_docs._cell(spec.remediation) in reference  # pylint: disable=protected-access


def test_a_check_the_data_does_not_map_gets_a_row_of_its_own(monkeypatch):
    monkeypatch.setitem(REGISTRY, "limits.example", CheckSpec(
        "limits.example", "9", "Example limit", "Set it.", lambda ctx: passed("ok"), len(REGISTRY),
        proves="`ARAGORA_EXAMPLE` is set."))
    documents = gen_docs.documents()
    section_9 = documents[gen_docs.COVERAGE_DOC].split("## 9. ", 1)[1].split("\n## ", 1)[0]
    assert "| (Example limit) | `limits.example` | `ARAGORA_EXAMPLE` is set. |" in section_9
    assert "### `limits.example`" in documents[gen_docs.CHECKS_DOC]


def test_coverage_data_naming_an_unregistered_check_is_refused():
    data = {"intro": "", "sections": [{"number": "9", "rows": [{"item": "x", "checks": ["limits.no_such_check"]}]}]}
    with pytest.raises(gen_docs.DocsError, match="limits.no_such_check, which no @check registers"):
        gen_docs.coverage(data)


def test_every_registered_check_is_in_the_coverage_doc():
    coverage = gen_docs.documents()[gen_docs.COVERAGE_DOC]
    assert [spec.id for spec in [*REGISTRY.values(), *smoke.SMOKE_CHECKS.values()]
            if "`%s`" % spec.id not in coverage] == []


def test_the_preset_modules_are_read_from_their_source():
    presets = gen_docs.preset_modules()
    assert presets == {"database_check": ("database",), "kubernetes_check": catalog.KUBERNETES_GROUPS,
                       "redis_check": ("redis",), "tls_check": ("tls",), "websocket_check": ("websocket",)}
