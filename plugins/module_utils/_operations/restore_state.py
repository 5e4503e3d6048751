# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state of a restore, in a file: one JSON file per database, written atomically after every change and kept as
history once the restore is closed; and the errors a restore step raises. Every step of the step machine
(pg_restore_run.Restore) reads it first, so a rerun after an interruption carries on where it stopped."""

from __future__ import annotations

import json
import os
import re
import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._clients.files import write_json_atomically
from ansible_collections.aragora.ops.plugins.module_utils._operations.pg_archive import utc_now

STATE_FORMAT = "aragora.ops/pg-restore-state/1"


class RestoreError(Exception):
    """A step that failed; the message says what happened and what state things are in."""


class RestoreBusy(RestoreError):
    """Another run drives this restore, or another step of it runs now: this run is refused and changed nothing."""


class RunInterrupted(RestoreError):
    """The run this step belongs to was killed or interrupted: the step stops, ending its child processes."""


class StateFile:
    """The restore's state: one JSON file per database, written atomically after every change."""

    def __init__(self, directory: str, database: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, "restore-%s.json" % re.sub(r"[^A-Za-z0-9_.-]", "_", database))
        self.lock_path = self.path[:-len(".json")] + ".lock"
        self.data: dict[str, t.Any] = {}
        self.load()

    def load(self) -> None:
        """(Re)read the file: once this step holds the lock, what another run wrote before it counts."""
        self.data = {}
        if os.path.exists(self.path):
            try:
                with open(self.path, encoding="utf-8") as handle:
                    self.data = json.load(handle)
            except (OSError, ValueError) as exc:
                raise RestoreError("the restore state file %s cannot be read (%s): look at it, and move it away "
                                   "only once you know the writers run and which database is live" % (self.path, exc))

    @property
    def open(self) -> bool:
        return bool(self.data) and not self.data.get("finished_at")

    def step(self, name: str) -> dict[str, t.Any]:
        return self.data.setdefault("steps", {}).get(name) or {}

    def done(self, name: str) -> bool:
        return self.step(name).get("status") == "done"

    def mark(self, name: str, status: str, detail: str, **values: t.Any) -> None:
        self.data.setdefault("steps", {})[name] = {"status": status, "at": utc_now(), "detail": detail}
        self.data.update(values)
        self.save()

    def save(self) -> None:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        write_json_atomically(self.path, self.data, 0o600)

    def close(self, outcome: str) -> str:
        """Mark finished and keep it as history beside the others; the path it was moved to."""
        self.data.update(finished_at=utc_now(), outcome=outcome)
        self.save()
        history = self.path[:-len(".json")] + "-%s.json" % self.data.get("run_id", "unknown")
        os.replace(self.path, history)
        self.history_path = history
        return history

    @property
    def age_s(self) -> float:
        """Seconds since the file was last written (a long time when there is none)."""
        try:
            return time.time() - os.path.getmtime(self.path)
        except OSError:
            return float("inf")
