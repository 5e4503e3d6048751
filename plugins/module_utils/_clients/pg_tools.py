# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the PostgreSQL client tools (pg_dump, pg_restore, psql) are: one finder for the checks, the backup and the
restore, so they all run the same binary. Standard library only: the backup role copies this file onto hosts beside
pg_archive.py."""

from __future__ import annotations

import glob
import os
import re
import shutil

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def find_tool(name: str) -> str | None:
    """``name`` on PATH (Debian's wrapper picks the newest), else the newest installed PostgreSQL's own; None when
    there is none."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(os.path.join(PG_BIN_GLOB, name)),
                        key=lambda p: int(re.sub(r"\D", "", p.split("/")[-3]) or 0))
    return candidates[-1] if candidates else None
