"""The one atomic writer: readers see the old file or the new one, a failure leaves the old one and no leftover."""

import json
import os

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._clients import files


def test_write_replaces_the_file_with_the_mode_asked_and_leaves_nothing_beside_it(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("old")
    assert files.write_json_atomically(str(path), {"b": 1, "a": [2]}, 0o600) == str(path)
    assert path.read_text() == '{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n'
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert os.listdir(tmp_path) == ["state.json"]


def test_default_mode_is_readable_by_others(tmp_path):
    files.write_atomically(str(tmp_path / "report.md"), "# x\n")
    assert oct(os.stat(tmp_path / "report.md").st_mode & 0o777) == "0o644"


def test_a_failure_half_way_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    path = tmp_path / "record.json"
    path.write_text('{"kept": true}')
    with pytest.raises(RuntimeError):
        with files.replaced_atomically(str(path)) as temporary:
            with open(temporary, "w", encoding="utf-8") as handle:
                handle.write('{"half')
            raise RuntimeError("interrupted")
    assert json.loads(path.read_text()) == {"kept": True}
    assert os.listdir(tmp_path) == ["record.json"]


def test_the_temporary_file_is_hidden_and_not_taken_for_a_database_or_an_archive(tmp_path):
    with files.replaced_atomically(str(tmp_path / "aragora.db")) as temporary:
        name = os.path.basename(temporary)
        assert os.path.dirname(temporary) == str(tmp_path)
        assert name.startswith(".") and not name.endswith((".db", ".json", ".dump"))
