"""The one archive judgment (pg_archive.validate_archive) where pg_restore misbehaves: a stand-in pg_restore of our
own injects the fault (a hang, an archive format it cannot read); the real pg_restore cases are in
tests/integration/test_database.py and test_db_restore.py."""

from __future__ import annotations

import json
import os
import time

import pytest
from tests.unit.plugins.module_utils.ops_fakes import make_ctx, run

from ansible_collections.aragora.ops.plugins.module_utils._checks import database
from ansible_collections.aragora.ops.plugins.module_utils._clients import pg_tools
from ansible_collections.aragora.ops.plugins.module_utils._operations import pg_archive


@pytest.fixture()
def stand_in(tmp_path, monkeypatch):
    """stand_in(script) -> path: a pg_restore that runs ``script`` (sh), found by the judgment as the real one is."""
    def make(script: str) -> str:
        path = tmp_path / "pg_restore"
        path.write_text("#!/bin/sh\n" + script + "\n", encoding="utf-8")
        path.chmod(0o755)
        monkeypatch.setattr(pg_tools, "find_tool", lambda name: str(path) if name == "pg_restore" else None)
        return str(path)
    return make


def archive(directory, name: str = "aragora-1.dump", body: bytes = b"PGDMP-not-a-real-one") -> str:
    path = os.path.join(directory, name)
    with open(path, "wb") as handle:
        handle.write(body)
    return path


def test_a_hung_pg_restore_is_bounded_and_could_not_judge(tmp_path, stand_in, monkeypatch):
    stand_in("exec sleep 30")
    path = archive(tmp_path)
    started = time.monotonic()
    with pytest.raises(pg_archive.ArchiveError, match=r"pg_restore --list of .* did not finish within 0.5 s") as hung:
        pg_archive.validate_archive(path, list_timeout=0.5)
    assert not isinstance(hung.value, pg_archive.ArchiveDefect)  # nothing is claimed about the archive
    monkeypatch.setattr(database, "PG_RESTORE_TIMEOUT_S", 0.5)
    result = run("database.backup", make_ctx(options={"backup_dir": str(tmp_path)}))
    assert time.monotonic() - started < 10
    assert result["status"] == "FAIL"
    assert "did not finish within 0.5 s: the archive could not be judged" in result["message"]
    assert "not a readable pg_dump archive" not in result["message"]


def test_an_archive_of_a_newer_pg_dump_asks_for_the_matching_pg_restore(tmp_path, stand_in):
    pg_restore = stand_in('echo "pg_restore: error: unsupported version (1.16) in file header" >&2; exit 1')
    path = archive(tmp_path)
    with pytest.raises(pg_archive.ArchiveDefect) as too_new:
        pg_archive.validate_archive(path)
    assert too_new.value.defect == pg_archive.TOO_NEW
    result = run("database.backup", make_ctx(options={"backup_dir": str(tmp_path)}))
    assert result["status"] == "FAIL"
    expected = ("%s cannot read %s, written by a newer pg_dump (pg_restore: error: unsupported version (1.16) in file "
                "header): install the pg_restore of the server's version on this host" % (pg_restore, path))
    assert result["message"].endswith(expected)


def test_the_readiness_check_keeps_pg_restore_s_first_line(tmp_path, stand_in):
    stand_in('echo "pg_restore: error: could not read from input file: end of file" >&2; '
             'echo "pg_restore: error: second line" >&2; exit 1')
    path = archive(tmp_path)
    result = run("database.backup", make_ctx(options={"backup_dir": str(tmp_path)}))
    assert result["message"] == ("Newest backup %s is not a readable pg_dump archive: pg_restore: error: could not "
                                 "read from input file: end of file" % path)
    with pytest.raises(pg_archive.ArchiveDefect, match=r"\(pg_restore: error: could not read from input file: end "
                                                       r"of file \| pg_restore: error: second line\)") as listing:
        pg_archive.validate_archive(path)  # the restore's message: its error lines
    assert listing.value.defect == "listing"


def test_the_data_is_read_only_when_asked(tmp_path, stand_in):
    calls = tmp_path / "calls"
    stand_in('echo "$@" >> %s; echo "; Dumped from database version: 15.18"; echo "1; 2 3 TABLE DATA public t o"'
             % calls)
    path = archive(tmp_path)
    with open(pg_archive.manifest_path(path), "w", encoding="utf-8") as handle:
        json.dump({"sha256": pg_archive.sha256_of(path)}, handle)
    vouched = pg_archive.validate_archive(path)  # the manifest vouches for the bytes: the listing only
    assert (vouched["sha256_verified"], vouched["data_read"], vouched["dumped_from_major"]) == (True, False, 15)
    assert vouched["tables"] == {"public.t"} and vouched["toc_entries"] == 1
    assert pg_archive.validate_archive(path, read_data=True)["data_read"] is True
    assert calls.read_text(encoding="utf-8").splitlines() == ["--list %s" % path, "--list %s" % path,
                                                              "--file /dev/null %s" % path]


def test_empty_and_missing_archives(tmp_path, stand_in):
    stand_in("exit 0")
    with pytest.raises(pg_archive.ArchiveDefect, match="is empty") as empty:
        pg_archive.validate_archive(archive(tmp_path, body=b""))
    assert empty.value.defect == "empty"
    not_an_archive = tmp_path / "a-directory"
    not_an_archive.mkdir()  # no toc.dat: not pg_dump's directory format
    with pytest.raises(pg_archive.ArchiveDefect, match="does not exist") as missing:
        pg_archive.validate_archive(str(not_an_archive))
    assert missing.value.defect == "missing"


def test_a_directory_archive_with_a_manifest_is_not_the_file_it_describes(tmp_path, stand_in):
    stand_in("exit 0")
    directory_archive = tmp_path / "aragora-1"
    directory_archive.mkdir()
    (directory_archive / "toc.dat").write_bytes(b"PGDMP")
    with pytest.raises(pg_archive.ArchiveDefect, match="is not the one its manifest describes") as mismatch:
        pg_archive.validate_archive(str(directory_archive), manifest={"sha256": "ab" * 32})
    assert mismatch.value.defect == "sha256"
    assert pg_archive.archive_size(str(directory_archive)) == 5
