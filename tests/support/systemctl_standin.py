"""A small ``systemctl`` for tests on machines where systemd is not PID 1: it runs real processes from unit files.

    python systemctl_standin.py --state-dir DIR [systemctl options] VERB [UNIT...]

Unit files are read from DIR/units/<unit>; what was started is kept in DIR/run/<unit>.json (PID and the process's
start time, so a PID reused by another process is never signalled), its output in DIR/logs/<unit>.log.

Supported: ``show`` (LoadState, ActiveState, SubState, MainPID, UnitFileState, Id, ... as
ansible.builtin.systemd_service reads them; ``--property``/``-p`` and ``--value``), ``is-active``, ``is-enabled``,
``start``, ``stop``, ``restart``, ``reload`` and ``try-restart`` (restart), ``enable``, ``disable``,
``daemon-reload`` (nothing to do), ``list-unit-files``. From the ``[Service]`` section: ``ExecStart`` (one command,
no shell, as systemd), ``Environment``, ``EnvironmentFile`` (``-`` prefix: optional), ``WorkingDirectory`` and
``TimeoutStopSec``. A started process that has exited is ``failed``, as with systemd's default ``Type=simple``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time

BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
DEFAULT_STOP_TIMEOUT = 15.0
IGNORED_OPTIONS = ("--no-block", "--system", "--force", "-l", "--full", "--no-pager", "--quiet", "-q")


class Unit:
    def __init__(self, state_dir: str, name: str) -> None:
        self.name = name if "." in name else name + ".service"
        self.path = os.path.join(state_dir, "units", self.name)
        self.run_file = os.path.join(state_dir, "run", self.name + ".json")
        self.enabled_file = os.path.join(state_dir, "enabled", self.name)
        self.log = os.path.join(state_dir, "logs", self.name + ".log")

    @property
    def exists(self) -> bool:
        return os.path.isfile(self.path)

    def service(self) -> dict[str, list[str]]:
        """The [Service] section, each key with all its values in order (systemd allows repeats)."""
        values: dict[str, list[str]] = {}
        section = None
        with open(self.path, encoding="utf-8") as handle:
            for raw in handle:
                line = raw.strip()
                if not line or line.startswith(("#", ";")):
                    continue
                if line.startswith("["):
                    section = line.strip("[]")
                elif section == "Service" and "=" in line:
                    key, value = line.split("=", 1)
                    values.setdefault(key.strip(), []).append(value.strip())
        return values

    def record(self) -> dict:
        try:
            with open(self.run_file, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def save(self, record: dict) -> None:
        os.makedirs(os.path.dirname(self.run_file), exist_ok=True)
        with open(self.run_file + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        os.replace(self.run_file + ".tmp", self.run_file)

    def main_pid(self) -> int:
        """The started process's PID while it runs (the same process: its start time matches), else 0."""
        record = self.record()
        pid = record.get("pid")
        if pid and process_start_time(pid) == record.get("start_time"):
            return pid
        return 0

    def states(self) -> tuple[str, str]:
        """(ActiveState, SubState)."""
        if self.main_pid():
            return "active", "running"
        if self.record().get("pid"):  # started, not stopped by us, and gone: it exited by itself
            return "failed", "failed"
        return "inactive", "dead"


def process_start_time(pid: int) -> int | None:
    """Start time of a live process (clock ticks), None when it is gone or a zombie."""
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return None if fields[0] in ("Z", "X") else int(fields[19])


def read_environment_file(path: str) -> dict[str, str]:
    env = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith(("#", ";")) and "=" in line:
                key, value = line.split("=", 1)
                env[key.strip()] = value.strip().strip('"').strip("'")
    return env


def start(unit: Unit) -> int:
    if unit.main_pid():
        return 0
    service = unit.service()
    env = dict(BASE_ENV)
    for assignment in service.get("Environment", []):
        for item in shlex.split(assignment):
            key, _sep, value = item.partition("=")
            env[key] = value
    for path in service.get("EnvironmentFile", []):
        optional = path.startswith("-")
        path = path.lstrip("-")
        if not os.path.exists(path):
            if optional:
                continue
            print("Failed to load environment file %s: no such file" % path, file=sys.stderr)
            return 1
        env.update(read_environment_file(path))
    command = shlex.split(service["ExecStart"][-1].lstrip("-@+!:"))
    cwd = service.get("WorkingDirectory", ["/"])[-1].lstrip("-")
    os.makedirs(os.path.dirname(unit.log), exist_ok=True)
    with open(unit.log, "ab") as log:
        try:
            # A session of its own, like a unit's cgroup: stop signals the whole group.
            process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            unit.save({"pid": None, "error": str(exc)})
            print("Job for %s failed: %s" % (unit.name, exc), file=sys.stderr)
            return 1
    unit.save({"pid": process.pid, "start_time": process_start_time(process.pid), "command": command})
    return 0


def stop(unit: Unit) -> int:
    pid = unit.main_pid()
    if pid:
        timeout = float(unit.service().get("TimeoutStopSec", [DEFAULT_STOP_TIMEOUT])[-1])
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)  # the group started with the unit (its leader is pid)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and unit.main_pid():
                time.sleep(0.05)
            if not unit.main_pid():
                break
    unit.save({})
    return 0


def show(unit: Unit, properties: list[str], value_only: bool) -> int:
    active, sub = unit.states() if unit.exists else ("inactive", "dead")
    values = {
        "Id": unit.name,
        "Names": unit.name,
        "LoadState": "loaded" if unit.exists else "not-found",
        "ActiveState": active,
        "SubState": sub,
        "MainPID": str(unit.main_pid()),
        "UnitFileState": ("enabled" if os.path.exists(unit.enabled_file) else "disabled") if unit.exists else "",
        "FragmentPath": unit.path if unit.exists else "",
        "Description": unit.name,
    }
    for key in properties or values:
        print(values.get(key, "") if value_only else "%s=%s" % (key, values.get(key, "")))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="systemctl")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("-p", "--property", action="append", default=[])
    parser.add_argument("--value", action="store_true")
    parser.add_argument("words", nargs="*")
    args = parser.parse_intermixed_args([arg for arg in argv if arg not in IGNORED_OPTIONS])
    properties = [name for names in args.property for name in names.split(",")]
    if not args.words:
        print("systemctl stand-in: give a verb", file=sys.stderr)
        return 1
    verb, names = args.words[0], args.words[1:]
    units = [Unit(args.state_dir, name) for name in names]
    if verb == "daemon-reload":
        return 0
    if verb == "list-unit-files":
        directory = os.path.join(args.state_dir, "units")
        pattern = (names or [""])[0].rstrip("*")
        for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
            if name.startswith(pattern):
                unit = Unit(args.state_dir, name)
                print("%s %s" % (name, "enabled" if os.path.exists(unit.enabled_file) else "disabled"))
        return 0
    if verb == "show":
        return max([show(unit, properties, args.value) for unit in units] or [0])
    missing = [unit.name for unit in units if not unit.exists]
    if missing:
        print("Unit %s not found." % missing[0], file=sys.stderr)
        return 4 if verb in ("is-active", "is-enabled") else 5
    rc = 0
    for unit in units:
        if verb == "is-active":
            state = unit.states()[0]
            print(state)
            rc = rc or (0 if state == "active" else 3)
        elif verb == "is-enabled":
            enabled = os.path.exists(unit.enabled_file)
            print("enabled" if enabled else "disabled")
            rc = rc or (0 if enabled else 1)
        elif verb == "start":
            rc = rc or start(unit)
        elif verb == "stop":
            rc = rc or stop(unit)
        elif verb in ("restart", "reload", "try-restart", "reload-or-restart"):
            if verb != "try-restart" or unit.main_pid():
                rc = rc or stop(unit) or start(unit)
        elif verb in ("enable", "disable"):
            os.makedirs(os.path.dirname(unit.enabled_file), exist_ok=True)
            if verb == "enable":
                open(unit.enabled_file, "w", encoding="utf-8").close()
            elif os.path.exists(unit.enabled_file):
                os.unlink(unit.enabled_file)
        else:
            print("systemctl stand-in: unsupported verb %r" % verb, file=sys.stderr)
            return 1
    return rc


def install(bin_dir: str, state_dir: str) -> str:
    """Write BIN_DIR/systemctl, a shell wrapper running this stand-in on STATE_DIR; put BIN_DIR first on PATH."""
    os.makedirs(bin_dir, exist_ok=True)
    os.makedirs(os.path.join(state_dir, "units"), exist_ok=True)
    path = os.path.join(bin_dir, "systemctl")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\nexec %s %s --state-dir %s \"$@\"\n" % (
            shlex.quote(sys.executable), shlex.quote(os.path.abspath(__file__)), shlex.quote(state_dir)))
    os.chmod(path, 0o755)
    return path


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
