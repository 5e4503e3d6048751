"""`ansible-galaxy collection build` gives a tarball that installs and runs, apart from this checkout."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import tarfile

from tests.support.playbook import BIN, ROOT, read_report, write_inventory


def run_outside(command: list[str], cwd: str, collections: str) -> subprocess.CompletedProcess:
    """Run from ``cwd`` with no ansible.cfg, so that only the collections under ``collections`` are found."""
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": collections, "PATH": BIN + os.pathsep + os.environ["PATH"]}
    env.pop("ANSIBLE_CONFIG", None)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_built_collection_installs_and_its_playbook_runs(tmp_path, sandbox_state):
    collections = str(tmp_path / "collections")
    galaxy = os.path.join(BIN, "ansible-galaxy")
    built = run_outside([galaxy, "collection", "build", "--output-path", str(tmp_path / "dist"), ROOT],
                        str(tmp_path), collections)
    assert built.returncode == 0, built.stderr
    (tarball,) = glob.glob(str(tmp_path / "dist" / "aragora-ops-*.tar.gz"))
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "plugins/modules/readiness_check.py" in names
    assert not [name for name in names if name.startswith(("build/", ".venv/", ".git/", "scripts/"))]

    installed = run_outside([galaxy, "collection", "install", "--offline", "-p", collections, tarball],
                            str(tmp_path), collections)
    assert installed.returncode == 0, installed.stderr

    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"sandbox": {
        "aragora_api_url": sandbox_state["urls"]["api"], "aragora_ca_path": sandbox_state["paths"]["ca"],
        "aragora_check_groups": ["health"]}})
    result = run_outside([os.path.join(BIN, "ansible-playbook"), "-i", inventory, "aragora.ops.prelaunch",
                          "-e", "aragora_report_dir=%s" % (tmp_path / "reports")], str(tmp_path), collections)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    report = read_report(str(tmp_path / "reports"))
    assert report["verdict"] == "GO" and report["counts"]["PASS"] == 5
    assert os.path.isfile(os.path.join(collections, "ansible_collections", "aragora", "ops", "MANIFEST.json"))


def test_the_tarball_ships_neither_the_sandbox_nor_its_emulator(tmp_path):
    """sandbox/ (the sandbox and the emulated Kubernetes API) is development tooling: galaxy.yml's build_ignore keeps
    it out, and no plugin needs it (the modules run without it wherever the collection is installed)."""
    built = run_outside([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path",
                         str(tmp_path / "dist"), ROOT], str(tmp_path), str(tmp_path / "collections"))
    assert built.returncode == 0, built.stderr
    (tarball,) = glob.glob(str(tmp_path / "dist" / "aragora-ops-*.tar.gz"))
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
        plugins = {name: archive.extractfile(name).read().decode() for name in names
                   if name.startswith("plugins/") and name.endswith(".py")}
    assert "plugins/modules/readiness_check.py" in names
    assert [name for name in names if name.split("/")[0] in ("sandbox", "scripts")] == []
    assert [name for name, text in plugins.items() if re.search(r"^\s*(from|import) (sandbox|tests)\b", text, re.M)] == []


def test_the_tarball_ships_no_test_that_needs_the_checkout(tmp_path):
    """The suite imports sandbox/ and scripts/, which are not shipped: shipped, it could only fail. Only
    tests/config.yml (ansible-test's) goes into the tarball."""
    built = run_outside([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path",
                         str(tmp_path / "dist"), ROOT], str(tmp_path), str(tmp_path / "collections"))
    assert built.returncode == 0, built.stderr
    (tarball,) = glob.glob(str(tmp_path / "dist" / "aragora-ops-*.tar.gz"))
    with tarfile.open(tarball) as archive:
        shipped_tests = [member.name for member in archive.getmembers()
                         if member.name.startswith("tests/") and member.isfile()]
    assert shipped_tests == ["tests/config.yml"]
