"""Where the sandbox puts PostgreSQL: somewhere the postgres user can reach from any checkout, one per checkout."""

from __future__ import annotations

import stat
from pathlib import Path

import sandbox


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
