# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""For the benchmarks only: each task's wall time, from its start to its last host's result, as JSON lines in the
file BENCH_TASK_TIMES names. Enabled by the bench (ANSIBLE_CALLBACK_PLUGINS, ANSIBLE_CALLBACKS_ENABLED)."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_task_times
type: aggregate
short_description: Task wall times for the benchmarks
description: Writes each task's name and wall time to the file in the BENCH_TASK_TIMES environment variable.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._path = os.environ.get("BENCH_TASK_TIMES")
        self._task: tuple[str, float] | None = None
        self._last = 0.0

    def _close_task(self) -> None:
        if self._task and self._path:
            name, started = self._task
            with open(self._path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"task": name, "seconds": round(self._last - started, 4)}) + "\n")
        self._task = None

    def v2_playbook_on_task_start(self, task, is_conditional):  # noqa: D102  pylint: disable=unused-argument
        self._close_task()
        self._task = (task.get_name(), time.monotonic())
        self._last = self._task[1]

    def _result(self, *_args, **_kwargs) -> None:
        self._last = time.monotonic()

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _result

    def v2_playbook_on_stats(self, stats):  # noqa: D102  pylint: disable=unused-argument
        self._close_task()
