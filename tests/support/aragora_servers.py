"""Extra real Aragora 2.11.1 servers for a test module, beside the sandbox's: started together, each with its own
layout, ports and configuration, ready when /readyz answers 200 (read unverified: some serve a certificate a client
must not trust), and stopped by PID at the end."""

from __future__ import annotations

import concurrent.futures
import contextlib
import pathlib
import socket
import ssl
import time
import typing as t
import urllib.error
import urllib.request

import sandbox
from tests.support.playbook import ROOT

ARAGORA_PYTHON = pathlib.Path(ROOT, "build", "aragora-venv", "bin", "python")
READY_TIMEOUT = 60.0
POLL_TIMEOUT = 2.0


class Server(t.NamedTuple):
    layout: sandbox.Layout
    ports: dict[str, int]
    info: dict[str, t.Any]

    @property
    def api_url(self) -> str:
        return "https://%s:%d" % (sandbox.LOOPBACK, self.ports["http"])

    @property
    def ws_url(self) -> str:
        return "ws://%s:%d" % (sandbox.LOOPBACK, self.ports["ws"])


def wait_ready(server: Server, path: str = "/readyz", statuses: t.Container[int] = (200,)) -> None:
    """``path`` read unverified until it answers one of ``statuses`` (sandbox.wait_aragora_ready verifies the
    certificate): /readyz 200 by default; a server meant to come up degraded is up when /healthz answers."""
    unverified = ssl.create_default_context()
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=unverified))
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if not sandbox.owned(server.info["pid"], server.layout.root,
                             server.info["start_time"]):
            raise AssertionError("Aragora exited during start-up: see %s" % server.layout.aragora_log)
        if _http_answers(opener, server.api_url + path, statuses) and _listens(server.ports["ws"]):
            return
        time.sleep(0.3)
    raise AssertionError("Aragora not answering %s %s (and accepting WebSocket connections on port %d) after %g s: "
                         "see %s" % (path, "/".join(map(str, statuses)), server.ports["ws"], READY_TIMEOUT,
                                     server.layout.aragora_log))


def _http_answers(opener: urllib.request.OpenerDirector, url: str, statuses: t.Container[int]) -> bool:
    try:
        with opener.open(url, timeout=POLL_TIMEOUT) as answer:
            return answer.status in statuses
    except urllib.error.HTTPError as answer:  # a 503 is an answer too
        return answer.code in statuses
    except OSError:
        return False


def _listens(port: int) -> bool:
    """The server's WebSocket listener accepts connections: it binds after the HTTP one (seconds later under load),
    and a check run in between meets "connection refused"."""
    try:
        with socket.create_connection((sandbox.LOOPBACK, port), timeout=POLL_TIMEOUT):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def running(directories: t.Mapping[str, pathlib.Path],
            configure: t.Callable[[str, sandbox.Layout, dict[str, int]], dict[str, str]],
            wait: t.Callable[[Server], None] = wait_ready) -> t.Iterator[dict[str, Server]]:
    """One server per name, in ``directories[name]``, with the environment ``configure(name, layout, ports)``
    returns; all started before any is waited for (``wait``); all stopped on exit."""
    started: dict[str, Server] = {}
    try:
        for name, directory in directories.items():
            layout = sandbox.Layout(directory)
            layout.logs.mkdir()
            ports = sandbox.pick_free_ports()
            env = configure(name, layout, ports)
            started[name] = Server(layout, ports, sandbox.start_aragora(layout, ARAGORA_PYTHON, ports, env))
        with concurrent.futures.ThreadPoolExecutor(max(1, len(started))) as pool:
            list(pool.map(wait, started.values()))
        yield started
    finally:
        with concurrent.futures.ThreadPoolExecutor(max(1, len(started))) as pool:
            list(pool.map(lambda server: sandbox.stop_aragora(server.layout, server.info), started.values()))
