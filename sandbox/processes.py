"""The sandbox's processes: who they are (a PID checked by working directory and start time), how they are stopped
(by PID, never by name), how commands are run, and which loopback ports are free."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

from sandbox.layout import SandboxError

LOOPBACK = "127.0.0.1"
SERVICE_TIMEOUT = 20.0  # Redis / PostgreSQL start-up and shutdown.
# Ports the sandbox needs, by the name they carry in state.json.
PORT_NAMES = ("redis", "postgres", "http", "ws", "control_plane_ws", "nomic_loop_ws", "canvas_ws")


# A PID alone is not an identity: after a reboot or a long pause it may belong to someone
# else. Before signalling, we check the process's working directory (each service runs in
# a directory of its own inside the sandbox) and, when recorded, its start time.


def proc_start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):  # A zombie has finished: it counts as gone.
        return None
    return int(fields[19])  # Field 22 of /proc/PID/stat: start time in clock ticks.


def _proc_cwd(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


def owned(pid: int | None, cwd: Path, start_time: int | None = None) -> bool:
    """True when `pid` runs, is not a zombie, and is the process we started."""
    if not pid:
        return False
    started = proc_start_time(pid)
    if started is None or (start_time is not None and started != start_time):
        return False
    return _proc_cwd(pid) == str(cwd)


def gone(pid: int) -> bool:
    try:  # Reap it if it is our own child (when `up` and `down` run in one process).
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return proc_start_time(pid) is None


def session_of(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def signal_and_wait(pid: int, name: str, grace: float) -> None:
    """SIGTERM, wait `grace` seconds, then SIGKILL; raise if the process survives."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait_until(lambda: gone(pid), wait):
            if sig == signal.SIGKILL:
                print(f"  {name} (pid {pid}) ignored SIGTERM for {grace:.0f} s: killed")
            return
    raise SandboxError(f"{name} (pid {pid}) survived SIGKILL; inspect it with: ps -o pid,stat,cmd -p {pid}")


def run_command(cmd: list[str], what: str, *, timeout: float = SERVICE_TIMEOUT, input: str | None = None,
                env: dict[str, str] | None = None) -> str:
    """Run a command to completion; turn every failure into a SandboxError naming `what`."""
    try:
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                              env=env, cwd="/", check=False)  # cwd "/": the postgres user cannot enter ours.
    except FileNotFoundError:
        raise SandboxError(f"{what}: {cmd[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise SandboxError(f"{what}: no answer within {timeout:.0f} s ({' '.join(cmd[:3])} ...)") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-1500:]
        raise SandboxError(f"{what} failed (exit {proc.returncode}): {detail}")
    return proc.stdout


def _ephemeral_low(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> int:
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _bind_free(sock: socket.socket, low: int, high: int) -> None:
    """Bind ``sock`` on loopback to a random free port in [low, high); the kernel's own choice if the range is empty."""
    for _attempt in range(200 if high - low >= 1000 else 0):
        try:
            sock.bind((LOOPBACK, low + secrets.randbelow(high - low)))
            return
        except OSError:
            continue
    sock.bind((LOOPBACK, 0))


def pick_free_ports(names: tuple[str, ...] = PORT_NAMES) -> dict[str, int]:
    """Distinct free loopback ports (all sockets held until every port is known).

    Drawn at random below the kernel's ephemeral range (where connections take their source ports), not asked of
    the kernel: the servers bind these ports seconds later (Aragora initialises for ~7 s first), and in that time a
    kernel-chosen port can become some connection's source port, or be handed to another test process that asks
    the kernel too (pytest-xdist workers start servers at the same moment)."""
    low = min(_ephemeral_low(), 65536)
    sockets = []
    try:
        for _dummy in names:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            _bind_free(sock, 10000, low)
        return {name: sock.getsockname()[1] for name, sock in zip(names, sockets)}
    finally:
        for sock in sockets:
            sock.close()
