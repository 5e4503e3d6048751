"""Release listing, ordering, pre-flight and the atomic switch, on real directories and symlinks."""

from __future__ import annotations

import os

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._operations import releases
from ansible_collections.aragora.ops.plugins.module_utils._operations.releases import ReleaseError, ReleaseTree, plan_switch


def make_tree(root, names=("2.9.0", "v2.10.0", "2.11.1"), current="2.11.1", incomplete=()):
    for name in names:
        os.makedirs(root / "releases" / name / "venv" / "bin")
        if name not in incomplete:
            (root / "releases" / name / "venv" / "bin" / "python").write_text("")
    if current:
        os.symlink(os.path.join("releases", current), root / "current")
    return ReleaseTree(str(root))


def test_version_order_is_natural_and_ignores_a_leading_v(tmp_path):
    tree = make_tree(tmp_path, names=("2.10.0", "2.9.1", "v2.11.1", "2.9.0", "2.10.0-rc1"))
    assert tree.names() == ["2.9.0", "2.9.1", "2.10.0", "2.10.0-rc1", "v2.11.1"]


def test_describe_lists_releases_with_the_current_one(tmp_path):
    tree = make_tree(tmp_path, incomplete=("2.9.0",))
    (tmp_path / "releases" / "v2.10.0" / "VERSION").write_text("2.10.0\n")
    described = tree.describe()
    assert described["current"] == "2.11.1"
    assert [(r["name"], r["current"], r["complete"]) for r in described["releases"]] == [
        ("2.9.0", False, False), ("v2.10.0", False, True), ("2.11.1", True, True)]
    assert described["releases"][0]["missing"] == ["venv/bin/python"]
    assert described["releases"][1]["expected_version"] == "2.10.0"


def test_previous_is_the_release_before_the_current_one(tmp_path):
    tree = make_tree(tmp_path)
    plan = plan_switch(tree, "previous")
    assert (plan["from"], plan["to"], plan["changed"]) == ("2.11.1", "v2.10.0", True)
    assert (plan["link_before"], plan["link_after"]) == ("releases/2.11.1", "releases/v2.10.0")
    assert os.readlink(tmp_path / "current") == "releases/2.11.1"  # planning changes nothing


def test_switch_replaces_the_link_atomically_and_leaves_no_temporary_link(tmp_path, monkeypatch):
    tree = make_tree(tmp_path)
    calls = []
    real_replace = os.replace
    monkeypatch.setattr(releases.os, "replace", lambda src, dst: calls.append((src, dst)) or real_replace(src, dst))
    monkeypatch.setattr(releases.os, "unlink", lambda path: pytest.fail("the link must never be removed: %s" % path))
    tree.switch("v2.10.0")
    assert os.readlink(tmp_path / "current") == "releases/v2.10.0"
    assert len(calls) == 1 and calls[0][1] == str(tmp_path / "current")
    assert sorted(os.listdir(tmp_path)) == ["current", "releases"]


def test_a_stray_temporary_link_from_an_interrupted_switch_is_cleaned(tmp_path):
    tree = make_tree(tmp_path)
    os.symlink("releases/2.9.0", tmp_path / ".aragora-switch-current.999")
    tree.switch("v2.10.0")
    assert sorted(os.listdir(tmp_path)) == ["current", "releases"]


def test_already_current_is_no_change(tmp_path):
    plan = plan_switch(make_tree(tmp_path), "2.11.1")
    assert plan["changed"] is False and plan["link_after"] == plan["link_before"]


@pytest.mark.parametrize("wanted, current, incomplete, message", [
    ("3.0.0", "2.11.1", (), "release '3.0.0' not found under"),
    ("2.9.0", "2.11.1", ("2.9.0",), "release 2.9.0 is incomplete: venv/bin/python missing"),
    ("previous", "2.9.0", (), "no release before 2.9.0"),
    ("previous", None, (), "does not point at any release"),
])
def test_clear_errors_before_anything_is_touched(tmp_path, wanted, current, incomplete, message):
    tree = make_tree(tmp_path, current=current, incomplete=incomplete)
    before = os.readlink(tmp_path / "current") if current else None
    with pytest.raises(ReleaseError, match=message):
        plan_switch(tree, wanted)
    assert (os.readlink(tmp_path / "current") if current else None) == before


def test_disk_space_is_checked(tmp_path):
    with pytest.raises(ReleaseError, match="MB free on the filesystem"):
        plan_switch(make_tree(tmp_path), "previous", min_free_mb=10 ** 12)


def test_missing_releases_directory_and_a_non_link_current_are_clear_errors(tmp_path):
    with pytest.raises(ReleaseError, match="releases directory .* does not exist"):
        ReleaseTree(str(tmp_path)).names()
    tree = make_tree(tmp_path, current=None)
    (tmp_path / "current").mkdir()
    with pytest.raises(ReleaseError, match="exists but is not a symlink"):
        tree.current()
