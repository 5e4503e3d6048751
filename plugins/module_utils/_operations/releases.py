# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release directories and the ``current`` symlink of a systemd deployment (no Ansible here).

Layout (the checklist's "Manual Rollback (Docker/Systemd)"; every name configurable)::

    /opt/aragora/releases/<version>/      one directory per release (its own Python environment in venv/)
    /opt/aragora/current -> releases/<version>

Order: releases are ordered by **version**, a natural sort of their directory names (a leading ``v`` ignored, runs of
digits compared as numbers: ``2.9.0 < 2.10.0 < v2.11.1``; the name itself breaks ties). That is the order they were
installed in when versions only go up, and unlike a directory's mtime it does not change when someone copies,
restores or touches a release. "previous" is the release just before the one ``current`` points at.

The switch is atomic: the new link is made under a temporary name in the same directory and renamed over
``current`` (``os.replace``, one ``rename(2)``), then the directory is fsynced. At every instant ``current`` points
at either the old or the new release; an interruption leaves at most a stray temporary link, removed by the next
switch.
"""

from __future__ import annotations

import os
import re
import shutil
import typing as t

PREVIOUS = "previous"
DEFAULT_RELEASES_DIR = "releases"
DEFAULT_LINK = "current"
DEFAULT_REQUIRED_PATHS = ("venv/bin/python",)
DEFAULT_VERSION_FILE = "VERSION"
DEFAULT_MIN_FREE_MB = 100
_TMP_PREFIX = ".aragora-switch-"
_CHUNKS = re.compile(r"(\d+)")


class ReleaseError(Exception):
    """An expected problem with the release tree; the message says what to fix. Nothing was changed."""


def version_key(name: str) -> tuple:
    """Natural sort key of a release directory name: ``v2.10.0`` after ``2.9.1``."""
    stripped = name[1:] if name[:1] in ("v", "V") and name[1:2].isdigit() else name
    parts = tuple((0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk) for chunk in _CHUNKS.split(stripped)
                  if chunk)
    return parts, name


class ReleaseTree:
    """The releases under ``root`` and the link that selects one of them."""

    def __init__(self, root: str, releases_dir: str = DEFAULT_RELEASES_DIR, link: str = DEFAULT_LINK,
                 required_paths: t.Sequence[str] = DEFAULT_REQUIRED_PATHS,
                 version_file: str | None = DEFAULT_VERSION_FILE) -> None:
        self.root = os.path.abspath(root)
        self.releases_dir = os.path.join(self.root, releases_dir)
        self.link = os.path.join(self.root, link)
        self.required_paths = tuple(required_paths)
        self.version_file = version_file

    # ------------------------------------------------------------------ reading

    def names(self) -> list[str]:
        """Release directory names in version order (oldest first)."""
        if not os.path.isdir(self.releases_dir):
            raise ReleaseError("releases directory %s does not exist: set releases_dir (relative to root %s) to the "
                               "directory holding one directory per release" % (self.releases_dir, self.root))
        try:
            entries = os.listdir(self.releases_dir)
        except OSError as exc:
            raise ReleaseError("cannot list %s: %s" % (self.releases_dir, exc.strerror)) from None
        names = [name for name in entries
                 if not name.startswith(".") and os.path.isdir(os.path.join(self.releases_dir, name))]
        return sorted(names, key=version_key)

    def path(self, name: str) -> str:
        return os.path.join(self.releases_dir, name)

    def link_target(self) -> str | None:
        """What ``current`` says (the raw link text), or None when there is no link."""
        try:
            return os.readlink(self.link)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if os.path.exists(self.link):
                raise ReleaseError("%s exists but is not a symlink: move it away (it is not managed by release "
                                   "switching) and link it to a release" % self.link) from None
            raise ReleaseError("cannot read %s: %s" % (self.link, exc.strerror)) from None

    def current(self) -> str | None:
        """The release ``current`` points at, or None when it points nowhere known."""
        target = self.link_target()
        if target is None:
            return None
        resolved = os.path.realpath(os.path.join(os.path.dirname(self.link), target))
        for name in self.names():
            if os.path.realpath(self.path(name)) == resolved:
                return name
        return None

    def missing_paths(self, name: str) -> list[str]:
        """The required paths (the release's Python environment, ...) that the release lacks."""
        return [rel for rel in self.required_paths if not os.path.exists(os.path.join(self.path(name), rel))]

    def expected_version(self, name: str) -> str | None:
        """The version the release says it serves (first line of its version file), None without one."""
        if not self.version_file:
            return None
        try:
            with open(os.path.join(self.path(name), self.version_file), encoding="utf-8") as handle:
                return handle.readline().strip() or None
        except OSError:
            return None

    def describe(self) -> dict[str, t.Any]:
        """Everything a caller shows: the releases in order (each complete or not), and the current one."""
        current = self.current()
        releases = [{"name": name, "path": self.path(name), "current": name == current,
                     "complete": not self.missing_paths(name), "missing": self.missing_paths(name),
                     "expected_version": self.expected_version(name)} for name in self.names()]
        return {"releases": releases, "current": current, "link": self.link, "link_target": self.link_target()}

    # ------------------------------------------------------------------ planning

    def resolve(self, wanted: str) -> str:
        """The release name ``wanted`` (a name or ``previous``) designates; a clear error when there is none."""
        names = self.names()
        current = self.current()
        if wanted == PREVIOUS:
            if current is None:
                raise ReleaseError("%s does not point at any release under %s (it says %r): give the release to switch "
                                   "to by name" % (self.link, self.releases_dir, self.link_target()))
            index = names.index(current)
            if index == 0:
                raise ReleaseError("no release before %s under %s (releases, oldest first: %s): nothing to roll back "
                                   "to" % (current, self.releases_dir, ", ".join(names)))
            return names[index - 1]
        if wanted not in names:
            raise ReleaseError("release %r not found under %s; releases there (oldest first): %s"
                               % (wanted, self.releases_dir, ", ".join(names) or "none"))
        return wanted

    def preflight(self, name: str, min_free_mb: float = DEFAULT_MIN_FREE_MB) -> None:
        """Raise ReleaseError when switching to ``name`` must not happen: incomplete release, disk full."""
        missing = self.missing_paths(name)
        if missing:
            raise ReleaseError("release %s is incomplete: %s missing under %s (its Python environment and files must "
                               "be installed before switching to it)" % (name, ", ".join(missing), self.path(name)))
        free_mb = shutil.disk_usage(self.root).free / (1024 * 1024)
        if free_mb < min_free_mb:
            raise ReleaseError("only %.0f MB free on the filesystem of %s (at least %s MB wanted): free space before "
                               "switching, or lower min_free_mb" % (free_mb, self.root, min_free_mb))

    def link_text_for(self, name: str) -> str:
        """The link text for release ``name``: relative to the link's directory, as the checklist's ``ln -s``."""
        return os.path.relpath(self.path(name), os.path.dirname(self.link))

    # ------------------------------------------------------------------ changing

    def switch(self, name: str) -> None:
        """Point the link at release ``name`` atomically (temporary link, rename over, fsync the directory)."""
        directory = os.path.dirname(self.link)
        self._remove_stray_links(directory)
        tmp = os.path.join(directory, "%s%s.%d" % (_TMP_PREFIX, os.path.basename(self.link), os.getpid()))
        try:
            os.symlink(self.link_text_for(name), tmp)
            os.replace(tmp, self.link)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise ReleaseError("cannot switch %s to %s: %s (the link is unchanged)" % (self.link, name, exc)) from None
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _remove_stray_links(self, directory: str) -> None:
        """Temporary links an interrupted switch left behind (never anything else)."""
        prefix = _TMP_PREFIX + os.path.basename(self.link) + "."
        for entry in os.listdir(directory):
            path = os.path.join(directory, entry)
            if entry.startswith(prefix) and os.path.islink(path):
                os.unlink(path)


def plan_switch(tree: ReleaseTree, wanted: str, min_free_mb: float = DEFAULT_MIN_FREE_MB) -> dict[str, t.Any]:
    """What switching to ``wanted`` would do, after every pre-flight check; raises ReleaseError before any change."""
    before = tree.link_target()
    from_release = tree.current()
    to_release = tree.resolve(wanted)
    tree.preflight(to_release, min_free_mb)
    after = tree.link_text_for(to_release)
    return {
        "from": from_release,
        "to": to_release,
        "changed": from_release != to_release,
        "link": tree.link,
        "link_before": before,
        "link_after": after if from_release != to_release else before,
        "expected_version": tree.expected_version(to_release),
        "from_expected_version": tree.expected_version(from_release) if from_release else None,
    }
