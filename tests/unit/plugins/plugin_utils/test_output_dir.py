"""plugin_utils/output_dir: the writable default for reports and incident records, chosen by the way of running and
never inside an installed collection."""

from __future__ import annotations

import os

from ansible_collections.aragora.ops.plugins.plugin_utils.output_dir import default_output_dir


def _checkout(root, installed: bool = False) -> str:
    (root / "playbooks").mkdir(parents=True)
    (root / "galaxy.yml").write_text("namespace: aragora\n", encoding="utf-8")
    if installed:
        (root / "MANIFEST.json").write_text("{}", encoding="utf-8")
    return str(root / "playbooks")


def test_under_ansible_runner_the_job_artifacts_win(tmp_path):
    playbooks = _checkout(tmp_path / "checkout")
    environ = {"AWX_ISOLATED_DATA_DIR": str(tmp_path / "artifacts"), "HOME": str(tmp_path / "home")}
    assert default_output_dir(playbooks, environ) == (str(tmp_path / "artifacts" / "aragora-reports"), "runner")
    assert default_output_dir(None, environ, subdir="incidents")[0] == str(tmp_path / "artifacts" / "aragora-incidents")


def test_a_writable_checkout_writes_under_its_build_directory(tmp_path):
    playbooks = _checkout(tmp_path / "checkout")
    assert default_output_dir(playbooks, {"HOME": str(tmp_path / "home")}) == (
        str(tmp_path / "checkout" / "build" / "reports"), "checkout")


def test_an_installed_collection_is_never_written(tmp_path):
    playbooks = _checkout(tmp_path / "ansible_collections" / "aragora" / "ops", installed=True)
    directory, way = default_output_dir(playbooks, {"HOME": str(tmp_path / "home")})
    assert way == "home" and directory == os.path.join(str(tmp_path / "home"), ".ansible", "aragora-ops", "reports")


def test_a_checkout_where_build_cannot_be_made_falls_back_to_home(tmp_path):
    """Not writable (a file named build: root ignores permission bits, so a mode cannot make the case here)."""
    playbooks = _checkout(tmp_path / "checkout")
    (tmp_path / "checkout" / "build").write_text("", encoding="utf-8")
    assert default_output_dir(playbooks, {}, home=str(tmp_path / "home")) == (
        os.path.join(str(tmp_path / "home"), ".ansible", "aragora-ops", "reports"), "home")


def test_a_playbook_outside_a_checkout_writes_under_home(tmp_path):
    (tmp_path / "project" / "playbooks").mkdir(parents=True)
    assert default_output_dir(str(tmp_path / "project" / "playbooks"), {"HOME": str(tmp_path / "home")})[1] == "home"
