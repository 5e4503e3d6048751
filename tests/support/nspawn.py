"""Real systemd, booted with systemd-nspawn over an overlay of ``/`` whose upper layer is a tmpfs.

Never boot systemd on the machine's real filesystem: its boot clean-up deletes what is in the real /tmp. Here the
container's root is an overlay mounted inside a private mount namespace (``unshare -m``): everything the container
writes lands in a tmpfs that disappears with it, and the host's mounts are untouched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

BOOT_TIMEOUT = 60.0


def unavailable() -> str | None:
    """Why real systemd cannot be booted here (None when it can)."""
    if os.geteuid() != 0:
        return "systemd-nspawn needs root (uid %d)" % os.geteuid()
    for tool in ("systemd-nspawn", "unshare", "nsenter"):
        if not shutil.which(tool):
            return "%s is not installed (make setup installs systemd-container)" % tool
    if not os.path.exists("/usr/lib/systemd/systemd") and not os.path.exists("/lib/systemd/systemd"):
        return "no systemd binary to boot (/usr/lib/systemd/systemd)"
    return None


class Container:
    """``with Container(scratch) as box: box.run([...])`` - a booted systemd whose root is an overlay of /."""

    def __init__(self, scratch: str, name: str = "aragora-e2e") -> None:
        self.scratch = scratch  # an empty directory on the host; holds the tmpfs and the merged root
        self.name = name
        self.process: subprocess.Popen | None = None
        self.leader: int | None = None
        self.log = os.path.join(scratch, "boot.log")

    def __enter__(self) -> "Container":
        layers, merged = os.path.join(self.scratch, "layers"), os.path.join(self.scratch, "root")
        os.makedirs(layers)
        os.makedirs(merged)
        script = (
            "set -e; mount -t tmpfs tmpfs {layers}; mkdir {layers}/upper {layers}/work; "
            "mount -t overlay overlay -o lowerdir=/,upperdir={layers}/upper,workdir={layers}/work {merged}; "
            "exec systemd-nspawn -D {merged} -b --private-network --register=no --keep-unit --link-journal=no "
            "-M {name} --console=pipe"
        ).format(layers=layers, merged=merged, name=self.name)
        with open(self.log, "wb") as log:
            # unshare -m: the tmpfs and the overlay exist only in this private mount namespace.
            self.process = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        try:
            self._wait_booted()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_booted(self) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT
        state = "no container yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("systemd-nspawn exited (%s): %s" % (self.process.returncode, self._log_tail()))
            children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True,
                                      check=False).stdout.split()
            if children:
                self.leader = int(children[0])  # the container's PID 1: systemd
                state = self.run(["systemctl", "is-system-running"], check=False).stdout.strip()
                if state in ("running", "degraded"):
                    return
            time.sleep(0.5)
        raise RuntimeError("systemd in the container did not finish booting in %.0f s (state: %s): %s"
                           % (BOOT_TIMEOUT, state, self._log_tail()))

    def _log_tail(self) -> str:
        with open(self.log, encoding="utf-8", errors="replace") as handle:
            return handle.read()[-2000:]

    def run(self, command: list[str], check: bool = True, timeout: float = 60, input_text: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run ``command`` inside the container (all its namespaces), with a clean environment."""
        environment = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                       "HOME": "/root", **(env or {})}
        return subprocess.run(["nsenter", "-t", str(self.leader), "-a", "env", "-i"]
                              + ["%s=%s" % item for item in environment.items()] + command,
                              capture_output=True, text=True, timeout=timeout, check=check, input=input_text)

    def __exit__(self, *exc_info) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGTERM to systemd-nspawn (by its PID) halts the container cleanly; SIGKILL when it does not.
        for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
