"""What the generators under scripts/ share: the files they make compared with the committed ones, and written."""

from __future__ import annotations

import os
import typing as t

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stale(expected: t.Mapping[str, str]) -> list[str]:
    """The generated files (relative to the repository root) whose committed text differs from the expected one."""
    differ = []
    for path, text in expected.items():
        try:
            with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
                if handle.read() == text:
                    continue
        except FileNotFoundError:
            pass
        differ.append(path)
    return differ


def write(expected: t.Mapping[str, str], generator: str) -> None:
    """Writes every file whose text changed (an unchanged file keeps its modification time)."""
    for path in stale(expected):
        with open(os.path.join(ROOT, path), "w", encoding="utf-8") as handle:
            handle.write(expected[path])
        print("%s: wrote %s" % (generator, path))
