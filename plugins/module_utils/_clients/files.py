# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filesystem as a client, for files readers never see half written: every report, incident record, manifest,
restore state and drill evidence of the collection is written through here. Not for a release symlink swap
(releases.switch renames a link) nor for a pg_dump's ``.partial`` (its name is part of what readers of a backup
directory know)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import typing as t

# Hidden, unique and ending in neither .json nor .db nor .dump: a lister of the directory (backups, reports, SQLite
# files) never takes a temporary file for a real one, and two writers of one path never share it.
TEMPORARY_PREFIX = ".tmp-"
TEMPORARY_SUFFIX = ".partial"


@contextlib.contextmanager
def replaced_atomically(path: str, mode: int = 0o644) -> t.Iterator[str]:
    """A temporary path beside ``path`` to fill; when the block ends, it is flushed to disk, given ``mode`` and
    renamed over ``path`` (one rename(2): the old file or the new one, never half of either). When the block
    raises, the temporary file is removed and ``path`` is as it was."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=TEMPORARY_PREFIX,
                                         suffix="-%s%s" % (os.path.basename(path), TEMPORARY_SUFFIX))
    os.close(handle)
    try:
        yield temporary
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_atomically(path: str, text: str, mode: int = 0o644) -> str:
    """Write ``text`` (UTF-8) to ``path`` atomically; ``path`` returned."""
    with replaced_atomically(path, mode) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
    return path


def write_json_atomically(path: str, data: t.Any, mode: int = 0o644) -> str:
    """``data`` as indented JSON with sorted keys (stable diffs), atomically."""
    return write_atomically(path, json.dumps(data, indent=2, sort_keys=True) + "\n", mode)
