"""Where the sandbox puts PostgreSQL: somewhere the postgres user can reach from any checkout, one per checkout.
And where the sandbox itself lives: one package at the repository root (sandbox/, its emulated Kubernetes API in
sandbox/k8s) that imports nothing from tests/, run by `python scripts/sandbox.py`, reached without sys.path tricks."""

from __future__ import annotations

import ast
import importlib.util
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import sandbox

ROOT = Path(sandbox.REPO_ROOT)


def _traversable_by_others(path: Path) -> bool:
    """Every existing directory from / down to `path`'s parent lets another user through (o+x); the sandbox makes
    the rest (its PostgreSQL directory 0755, then pgdata/pgsock owned by postgres)."""
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents if parent.exists())


def test_pg_dirs_are_outside_a_mode_700_checkout(tmp_path):
    home = tmp_path / "root-home"
    home.mkdir(mode=0o700)
    layout = sandbox.Layout(home / "aragora.ops" / "build" / "sandbox")
    for path in (layout.pg_data, layout.pg_sock, layout.postgres_log):
        assert home not in path.parents
        assert _traversable_by_others(path), path
    # the socket's path must fit a sockaddr_un (107 bytes) with the .s.PGSQL.<port> name in it
    assert len(str(layout.pg_sock / ".s.PGSQL.65535")) < 107


def test_two_checkouts_and_two_sandboxes_get_two_clusters(tmp_path):
    dirs = {sandbox.Layout(tmp_path / name / "build" / sub).pg_runtime
            for name in ("a", "b") for sub in ("sandbox", "test-sandbox")}
    assert len(dirs) == 4


def test_the_same_sandbox_dir_finds_its_cluster_again(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert sandbox.Layout(tmp_path / "real").pg_runtime == sandbox.Layout(tmp_path / "link" / ".").pg_runtime


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def _is_sys_path(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys"


def _sys_path_changes(path: Path) -> list[str]:
    """The statements that change sys.path (sys.path.insert(...), sys.path[0] = ..., sys.path[:0] = ...)."""
    changes = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_sys_path(node.func.value):
            changes.append(ast.unparse(node))
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_is_sys_path(getattr(target, "value", target)) for target in targets):
                changes.append(ast.unparse(node))
    return changes


def test_nothing_under_sandbox_imports_tests_or_scripts():
    sources = sorted((ROOT / "sandbox").rglob("*.py"))
    assert ROOT / "sandbox" / "k8s" / "emulator.py" in sources  # the emulator lives here, not under tests/
    offending = {str(path.relative_to(ROOT)): sorted(m for m in _imported_modules(path)
                                                     if m.split(".")[0] in ("tests", "scripts"))
                 for path in sources}
    assert {path: modules for path, modules in offending.items() if modules} == {}
    assert [str(p.relative_to(ROOT)) for p in sources if _sys_path_changes(p)] == []


def test_tests_and_scripts_reach_the_sandbox_without_sys_path_tricks():
    """Only the standalone entry points (scripts/sandbox.py, the benchmarks, gen_docs) touch sys.path, and none of
    them puts scripts/ on it (where scripts/sandbox.py would hide the package of the same name)."""
    touching = {str(path.relative_to(ROOT)): _sys_path_changes(path)
                for path in sorted([*ROOT.joinpath("tests").rglob("*.py"), *ROOT.joinpath("scripts").glob("*.py")])}
    touching = {path: changes for path, changes in touching.items() if changes}
    assert [line for lines in touching.values() for line in lines if "scripts" in line] == []
    assert set(touching) <= {"tests/conftest.py", "scripts/sandbox.py", "scripts/gen_docs.py",
                             "tests/bench/bench_prelaunch.py", "tests/bench/bench_k8s_rollback.py",
                             "tests/bench/bench_db_restore.py", "tests/bench/bench_coordinated_rollback.py"}, touching


@pytest.mark.parametrize("command, pythonpath", [([str(ROOT / "scripts" / "sandbox.py")], None),
                                                 (["-m", "sandbox"], str(ROOT))], ids=["scripts/sandbox.py", "-m"])
def test_the_documented_command_runs_the_package(tmp_path, command, pythonpath):
    """`python scripts/sandbox.py` (README, Makefile) and `python -m sandbox` are one command, from any directory;
    the script needs no PYTHONPATH."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    for cwd in (ROOT, tmp_path):
        result = subprocess.run([sys.executable, *command, "status", "--dir", str(tmp_path / "none")], cwd=cwd,
                                env=env, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 1, result.stderr
        assert result.stdout.strip() == "sandbox is not up (no sandbox state in %s)" % (tmp_path / "none")


def test_scripts_sandbox_py_refuses_to_stand_in_for_the_package():
    spec = importlib.util.spec_from_file_location("sandbox", ROOT / "scripts" / "sandbox.py")
    with pytest.raises(ImportError, match="import the sandbox package with the repository root"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
