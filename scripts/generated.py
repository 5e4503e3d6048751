"""What the generators under scripts/ share: the files they make compared with the committed ones, and written."""

from __future__ import annotations

import argparse
import os
import sys
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


def main(description: str, documents: t.Callable[[], t.Mapping[str, str]], error: type[Exception], script: str,
         make_target: str) -> int:
    """The command line of a generator: write the files, or with --check only say which are stale (exit 1). An
    error of the data it reads (`error`) is exit 2, with the message."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="write nothing; fail when a generated file is stale")
    args = parser.parse_args()
    name = os.path.splitext(script)[0]
    try:
        expected = documents()
    except error as exc:
        print("%s: %s" % (name, exc), file=sys.stderr)
        return 2
    if args.check:
        differ = stale(expected)
        for path in differ:
            print("%s: %s is not what scripts/%s makes: run `make %s`" % (name, path, script, make_target),
                  file=sys.stderr)
        return 1 if differ else 0
    write(expected, name)
    return 0
