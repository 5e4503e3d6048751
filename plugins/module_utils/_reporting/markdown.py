# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Markdown and file-name helpers shared by everything that writes a Markdown file (the readiness report, the
incident record, the generated docs), so a table cell or a file name is made one way. No Ansible here."""

from __future__ import annotations

import re
import typing as t

# What may stand in a file name on every platform we write to; the rest becomes "_".
_NOT_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")

# The head of a two-column table of facts (label, value) that needs no titles.
FACTS_HEADER = ("| | |", "|---|---|")


def cell(text: t.Any) -> str:
    """``text`` as one Markdown table cell: a "|" would end the cell and a newline the row."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def row(*cells: str | None) -> str:
    """One table row of cells already rendered (escape text with `cell`); None is a blank left to fill in by hand
    ("| |", where an empty string gives "|  |")."""
    return "|" + "|".join(" " if text is None else " %s " % text for text in cells) + "|"


def header(*titles: str) -> list[str]:
    """The header row and the delimiter row of a table, each delimiter as wide as its title."""
    return [row(*titles), "|" + "|".join("-" * max(3, len(title) + 2) for title in titles) + "|"]


def file_name_part(text: str) -> str:
    """``text`` with every run of characters a file name should not carry replaced by one "_"."""
    return _NOT_IN_FILE_NAME.sub("_", text)
