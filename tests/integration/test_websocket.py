"""Go-Live WebSocket against real listeners: the sandbox's Aragora 2.11.1 (healthy, a refused Origin, a wrong
subprotocol) and WebSocket/TCP servers of the test's own for what Aragora cannot be made to do (stay silent, speak
wss:// with a private CA, say something else first, drop the subprotocol, never finish the handshake)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import ssl
import sys
import threading
import time
import typing as t

import pytest
from websockets.sync.server import ServerConnection, serve

from ansible_collections.aragora.ops.plugins.module_utils._clients import websocket_probe as probe
from ansible_collections.aragora.ops.plugins.module_utils._ansible.module_args import target_argument_spec
from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import run_target
from tests.support.playbook import ROOT, run_playbook, write_inventory

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import sandbox  # noqa: E402  pylint: disable=wrong-import-position

LOOPBACK = "127.0.0.1"
# A loopback address the test certificate (localhost, 127.0.0.1) does not name.
OTHER_LOOPBACK = "127.0.0.2"
REFUSED_ORIGIN = "https://evil.example"
FAULT_TIMEOUT = 1.0
# The API client is what carries the timeout to the probe. On another host than the listeners here: a silent
# listener whose own host's API is silent too is the API's outage (ERROR naming it), not this probe's finding.
UNUSED_API_URL = "http://127.0.0.9:9"


def run_websocket_checks(ws_url: str, api_url: str = UNUSED_API_URL, timeout: float = FAULT_TIMEOUT,
                         **params: t.Any) -> dict[str, dict]:
    """The websocket group for one target, in-process as the module runs it; results by check id."""
    defaults = {name: spec.get("default") for name, spec in target_argument_spec().items()}
    result = run_target({**defaults, "groups": ["websocket"], "api_url": api_url, "timeout": timeout,
                         "ws_url": ws_url, **params})
    return {check["id"]: check for check in result["checks"]}


def connectivity(ws_url: str, **params: t.Any) -> dict:
    return run_websocket_checks(ws_url, **params)["websocket.connectivity"]


# --- the real Aragora 2.11.1 listener --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def aragora(sandbox_state, sandbox_env) -> dict[str, t.Any]:
    return {"ws_url": sandbox_state["urls"]["ws"], "api_url": sandbox_state["urls"]["api"],
            "ca_path": sandbox_state["paths"]["ca"], "env_file": sandbox_state["paths"]["env_file"],
            "allowed_origin": sandbox_env["ARAGORA_ALLOWED_ORIGINS"].split(",")[0].strip()}


@pytest.mark.timed
def test_real_listener_greets_the_front_ends_origin(aragora):
    started = time.monotonic()
    checks = run_websocket_checks(aragora["ws_url"], aragora["api_url"], timeout=10, ca_path=aragora["ca_path"],
                                  env_file=aragora["env_file"])
    elapsed = time.monotonic() - started

    result = checks["websocket.connectivity"]
    assert result["status"] == "PASS", result["message"]
    evidence = result["evidence"]
    # The Origin defaults to the first of the server's own ARAGORA_ALLOWED_ORIGINS.
    assert evidence["origin"] == aragora["allowed_origin"]
    assert evidence["subprotocol"] == "aragora-v1" and evidence["first_message_type"] == "connection_info"
    assert "answered with connection_info" in result["message"]
    # The sandbox leaves the tuning variables unset: the server's defaults apply.
    assert checks["websocket.max_message_size"]["status"] == "PASS"
    assert checks["websocket.heartbeat"]["status"] == "PASS"
    assert elapsed < 2, "the websocket group of one target took %.2f s" % elapsed


def test_real_listener_refuses_an_origin_it_does_not_allow(aragora):
    result = connectivity(aragora["ws_url"], ws_origin=REFUSED_ORIGIN, env_file=aragora["env_file"])

    assert result["status"] == "FAIL"
    # What Aragora 2.11.1 really does: it completes the handshake, then closes with 4003.
    assert result["evidence"]["close_code"] == 4003
    assert result["evidence"]["close_reason"] == "Origin not allowed"
    assert "refused the Origin %s: closed with code 4003" % REFUSED_ORIGIN in result["message"]
    assert "ARAGORA_ALLOWED_ORIGINS" in result["remediation"]


def test_real_listener_rejects_another_subprotocol(aragora, monkeypatch):
    rejected = probe.probe_websocket(aragora["ws_url"], aragora["allowed_origin"], 5.0, subprotocol="aragora-v0")
    assert rejected.problem == probe.PROBLEM_REJECTED
    assert rejected.http_status == 400
    assert "invalid subprotocol; expected one of aragora-v1" in rejected.error

    # Through the check, as a proxy that rewrites the subprotocol would make it fail.
    monkeypatch.setattr(probe, "probe_websocket", functools.partial(probe.probe_websocket, subprotocol="chat"))
    result = connectivity(aragora["ws_url"])
    assert result["status"] == "FAIL"
    assert "the handshake was rejected with HTTP 400" in result["message"]
    assert "aragora-v1" in result["remediation"]


# --- listeners of the test's own ---------------------------------------------------------------------------------

Greeting = t.Callable[[ServerConnection], None]


def greet(connection: ServerConnection) -> None:
    connection.send(json.dumps({"type": "connection_info", "data": {"authenticated": False}}))


def greet_with_heartbeat(connection: ServerConnection) -> None:
    connection.send(json.dumps({"type": "heartbeat", "data": {}}))


def stay_silent(connection: ServerConnection) -> None:
    del connection


@contextlib.contextmanager
def websocket_server(greeting: Greeting, ssl_context: ssl.SSLContext | None = None, host: str = LOOPBACK,
                     subprotocols: t.Sequence[str] | None = (probe.SUBPROTOCOL,)) -> t.Iterator[str]:
    """A WebSocket listener that runs ``greeting`` on each connection, then holds it open until the test ends."""
    stopping = threading.Event()

    def handler(connection: ServerConnection) -> None:
        greeting(connection)
        stopping.wait(10)

    server = serve(handler, host, 0, ssl=ssl_context, subprotocols=list(subprotocols) if subprotocols else None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "%s://%s:%d" % ("wss" if ssl_context else "ws", host, server.socket.getsockname()[1])
    finally:
        stopping.set()
        server.shutdown()
        thread.join(5)


@contextlib.contextmanager
def tcp_listener_that_never_answers() -> t.Iterator[str]:
    """Accepts TCP connections (the kernel does, from the backlog) and never says a word."""
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(8)
        yield "ws://%s:%d" % (LOOPBACK, listener.getsockname()[1])


def free_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind((LOOPBACK, 0))
        return probe_socket.getsockname()[1]


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory) -> sandbox.Layout:
    """A private CA and a server certificate for localhost and 127.0.0.1, as the sandbox makes them."""
    layout = sandbox.Layout(tmp_path_factory.mktemp("websocket-tls"))
    sandbox.create_tls(layout)
    return layout


@pytest.fixture(scope="module")
def server_tls(test_ca) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(test_ca.cert, test_ca.key)
    return context


@pytest.mark.timed
def test_silent_server_fails_at_the_timeout():
    with websocket_server(stay_silent) as url:
        started = time.monotonic()
        result = connectivity(url)
        elapsed = time.monotonic() - started

    assert result["status"] == "FAIL"
    assert "accepted the connection but sent no message within 1 s" in result["message"]
    assert "handshake_ms" in result["evidence"]
    assert FAULT_TIMEOUT <= elapsed < FAULT_TIMEOUT + 1.5


@pytest.mark.timed
def test_handshake_that_never_completes_fails_at_the_timeout():
    with tcp_listener_that_never_answers() as url:
        started = time.monotonic()
        result = connectivity(url)
        elapsed = time.monotonic() - started

    assert result["status"] == "FAIL"
    assert "no WebSocket handshake within 1 s" in result["message"]
    assert elapsed < FAULT_TIMEOUT + 1.5


def test_nothing_listening_is_connection_refused():
    result = connectivity("ws://%s:%d" % (LOOPBACK, free_port()))
    assert result["status"] == "FAIL"
    assert "connection refused" in result["message"]
    assert "Start the WebSocket listener" in result["remediation"]


def test_another_first_message_fails_naming_it():
    with websocket_server(greet_with_heartbeat) as url:
        result = connectivity(url)
    assert result["status"] == "FAIL"
    assert "the first message is of type 'heartbeat', not connection_info" in result["message"]


def test_handshake_without_the_subprotocol_agreed_fails():
    with websocket_server(greet, subprotocols=None) as url:
        result = connectivity(url)
    assert result["status"] == "FAIL"
    assert "without agreeing to the subprotocol aragora-v1" in result["message"]
    assert "subprotocol" not in result["evidence"]


def test_wss_verified_against_the_given_ca(test_ca, server_tls):
    with websocket_server(greet, server_tls) as url:
        trusted = connectivity(url, ca_path=str(test_ca.ca))
        untrusted = connectivity(url)  # the system's CAs do not know the test CA
        unverified = connectivity(url, validate_certs=False)

    assert trusted["status"] == "PASS", trusted["message"]
    assert trusted["evidence"]["tls"] is True
    assert untrusted["status"] == "FAIL"
    assert "TLS certificate verification failed" in untrusted["message"]
    assert "ca_path" in untrusted["remediation"]
    assert unverified["status"] == "PASS", unverified["message"]


def test_wss_certificate_for_another_host_fails(test_ca, server_tls):
    with websocket_server(greet, server_tls, host=OTHER_LOOPBACK) as url:
        result = connectivity(url, ca_path=str(test_ca.ca))
    assert result["status"] == "FAIL"
    assert "TLS certificate verification failed" in result["message"]
    assert "127.0.0.2" in result["message"]


def test_wss_to_a_plain_listener_says_the_port_does_not_speak_tls():
    with websocket_server(greet) as url:
        result = connectivity(url.replace("ws://", "wss://"))
    assert result["status"] == "FAIL"
    assert "TLS handshake failed" in result["message"] and "ws://" in result["message"]


# --- the granular module, through the real ansible-playbook ---------------------------------------------------------

def test_websocket_check_module_in_a_playbook(tmp_path, aragora):
    playbook = tmp_path / "websocket.yml"
    playbook.write_text("""
- name: Check the WebSocket listener
  hosts: aragora
  gather_facts: false
  tasks:
    - name: Run the websocket group
      aragora.ops.websocket_check:
        ws_url: "{{ aragora_ws_url }}"
        env_file: "{{ aragora_env_file }}"
        config: {ARAGORA_WS_HEARTBEAT: "2"}
      register: websocket
    - name: Save the results
      ansible.builtin.copy:
        content: "{{ websocket | to_json }}"
        dest: "%s"
        mode: "0600"
      delegate_to: localhost
""" % (tmp_path / "result.json"))
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {
        "sandbox": {"aragora_ws_url": aragora["ws_url"], "aragora_env_file": aragora["env_file"]}})

    completed = run_playbook(str(playbook), inventory)

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    returned = json.loads((tmp_path / "result.json").read_text())
    checks = {check["id"]: check for check in returned["checks"]}
    assert set(checks) == {"websocket.connectivity", "websocket.max_message_size", "websocket.heartbeat"}
    assert checks["websocket.connectivity"]["status"] == "PASS", checks["websocket.connectivity"]["message"]
    assert checks["websocket.connectivity"]["evidence"]["origin"] == aragora["allowed_origin"]
    assert checks["websocket.heartbeat"]["status"] == "FAIL"
    assert "ARAGORA_WS_HEARTBEAT=2 is outside the valid range 5-300" in checks["websocket.heartbeat"]["message"]
    assert returned["verdict"] == "NO-GO" and returned["changed"] is False
