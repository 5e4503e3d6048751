"""Go-Live WebSocket: which Origin and timeout the probe uses, how each failure reads, and the tuning variables.

No network here: the probe's connection is replaced by a recorder, and its failures are the exceptions the
websockets library raises. Real listeners are in tests/integration/test_websocket.py.
"""

from __future__ import annotations

import socket
import ssl

import pytest
from tests.unit.plugins.module_utils.ops_fakes import NEUTRAL, make_ctx, obs, run
from websockets import exceptions as ws_errors
from websockets.datastructures import Headers
from websockets.frames import Close
from websockets.http11 import Response

from ansible_collections.aragora.ops.plugins.module_utils._clients import websocket_probe as probe
from ansible_collections.aragora.ops.plugins.module_utils._checks import websocket as checks

URL = "ws://aragora.internal:8765"
FRONT_END = "https://app.example.com"


@pytest.fixture()
def probe_calls(monkeypatch):
    """Replaces the network probe: records its arguments and answers a healthy connection_info."""
    calls = []

    def fake_probe(url, origin=None, timeout=10.0, ssl_context=None, subprotocol=probe.SUBPROTOCOL, server_name=None):
        calls.append({"url": url, "origin": origin, "timeout": timeout, "ssl_context": ssl_context,
                      "server_name": server_name})
        observation = probe.WebSocketObservation(url, origin, subprotocol, url.startswith("wss"), timeout)
        observation.subprotocol, observation.first_message_type = subprotocol, probe.FIRST_MESSAGE_TYPE
        observation.handshake_ms = observation.first_message_ms = 3.0
        return observation

    monkeypatch.setattr(probe, "probe_websocket", fake_probe)
    return calls


def observation(**fields) -> probe.WebSocketObservation:
    return probe.WebSocketObservation(URL, FRONT_END, probe.SUBPROTOCOL, False, 10.0, **fields)


# --- when the check applies, and with what it connects --------------------------------------------------------------

def test_no_ws_url_skips_naming_the_option(probe_calls):
    result = run("websocket.connectivity", make_ctx(NEUTRAL))
    assert result["status"] == "SKIP"
    assert "ws_url" in result["message"] and "NEXT_PUBLIC_WS_URL" in result["message"]
    assert not probe_calls


@pytest.mark.parametrize("variables, ws_origin, expected", [
    ({"ARAGORA_ALLOWED_ORIGINS": " https://app.example.com , https://admin.example.com"}, None, FRONT_END),
    ({"ARAGORA_ALLOWED_ORIGINS": ",https://app.example.com"}, None, FRONT_END),
    ({"ARAGORA_ALLOWED_ORIGINS": "https://app.example.com"}, "https://other.example", "https://other.example"),
    (NEUTRAL, None, None),  # unset: no Origin header, which Aragora accepts
    (None, None, None),  # no configuration at all: the connection is still probed
])
def test_origin_is_the_option_else_the_first_allowed_origin(probe_calls, variables, ws_origin, expected):
    result = run("websocket.connectivity", make_ctx(variables, options={"ws_url": URL, "ws_origin": ws_origin}))
    assert result["status"] == "PASS", result["message"]
    assert probe_calls[0]["origin"] == expected
    assert result["evidence"].get("origin") == expected


def test_unreadable_env_file_still_probes_without_origin(probe_calls, tmp_path):
    ctx = make_ctx(env_file=str(tmp_path / "missing.env"), options={"ws_url": URL})
    assert run("websocket.connectivity", ctx)["status"] == "PASS"
    assert probe_calls[0]["origin"] is None


def test_timeout_is_the_targets_else_ten_seconds(probe_calls):
    run("websocket.connectivity", make_ctx(NEUTRAL, options={"ws_url": URL, "timeout": 2.5}))
    run("websocket.connectivity", make_ctx(NEUTRAL, options={"ws_url": URL}))
    assert [call["timeout"] for call in probe_calls] == [2.5, 10.0]


def test_one_connection_per_target_whoever_asks(probe_calls):
    ctx = make_ctx(NEUTRAL, options={"ws_url": URL})
    first = checks.websocket_connection(ctx)
    assert checks.websocket_connection(ctx) is first
    assert len(probe_calls) == 1


def test_tls_settings_only_for_wss(probe_calls, tmp_path):
    run("websocket.connectivity", make_ctx(NEUTRAL, options={"ws_url": URL}))
    run("websocket.connectivity", make_ctx(NEUTRAL, options={"ws_url": "wss://api.example.com/ws"}))
    run("websocket.connectivity", make_ctx(NEUTRAL, options={"ws_url": "wss://api.example.com/ws",
                                                             "validate_certs": False}))
    plain, verified, unverified = (call["ssl_context"] for call in probe_calls)
    assert plain is None
    assert verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname
    assert unverified.verify_mode == ssl.CERT_NONE and not unverified.check_hostname


def test_tls_server_name_reaches_the_websocket_probe(probe_calls):
    run("websocket.connectivity", make_ctx(NEUTRAL, options={"ws_url": "wss://10.0.0.5:8765",
                                                             "tls_server_name": "api.example.com"}))
    assert probe_calls[0]["server_name"] == "api.example.com"


def test_unreadable_ca_bundle_fails_naming_ca_path(probe_calls, tmp_path):
    ca_path = str(tmp_path / "no-such-ca.pem")
    result = run("websocket.connectivity", make_ctx(NEUTRAL, options={"ws_url": "wss://api.example.com",
                                                                      "ca_path": ca_path}))
    assert result["status"] == "FAIL"
    assert "cannot load the CA bundle %s (ca_path)" % ca_path in result["message"]
    assert not probe_calls


# --- how each way of failing reads --------------------------------------------------------------------------------

def describe(exc: Exception, **fields) -> probe.WebSocketObservation:
    return probe._describe_failure(observation(**fields), exc)  # pylint: disable=protected-access


def closed(code: int, reason: str = "") -> ws_errors.ConnectionClosedError:
    return ws_errors.ConnectionClosedError(Close(code, reason), Close(code, reason), True)


@pytest.mark.parametrize("exc, fields, problem, words", [
    (ConnectionRefusedError(111, "Connection refused"), {}, probe.PROBLEM_UNREACHABLE, "connection refused"),
    (socket.gaierror(-2, "Name or service not known"), {}, probe.PROBLEM_UNREACHABLE, "does not resolve"),
    (ConnectionResetError(104, "Connection reset by peer"), {}, probe.PROBLEM_UNREACHABLE, "Connection reset"),
    (TimeoutError("timed out"), {}, probe.PROBLEM_TIMEOUT, "no WebSocket handshake within 10 s"),
    (TimeoutError(), {"handshake_ms": 4.0}, probe.PROBLEM_SILENT, "sent no message within 10 s"),
    (ws_errors.InvalidStatus(Response(400, "Bad Request", Headers(), b"invalid subprotocol; expected one of "
                                                                     b"aragora-v1.\n")), {},
     probe.PROBLEM_REJECTED, "rejected with HTTP 400: invalid subprotocol; expected one of aragora-v1."),
    (ws_errors.InvalidStatus(Response(404, "Not Found", Headers())), {}, probe.PROBLEM_REJECTED,
     "rejected with HTTP 404"),
    (closed(4003, "Origin not allowed"), {"handshake_ms": 2.0}, probe.PROBLEM_ORIGIN,
     "refused the Origin https://app.example.com: closed with code 4003 (Origin not allowed)"),
    (closed(4029, "Connection rate limit exceeded (30/min)"), {}, probe.PROBLEM_RATE_LIMITED,
     "too many WebSocket connections"),
    (closed(1011), {}, probe.PROBLEM_CLOSED, "closed the connection with code 1011 before"),
    (ws_errors.ConnectionClosedError(None, None), {}, probe.PROBLEM_CLOSED, "dropped the connection"),
    (ws_errors.InvalidURI("http://x", "scheme isn't ws or wss"), {}, probe.PROBLEM_URL, "invalid WebSocket URL"),
    (ssl.SSLCertVerificationError(1, "certificate verify failed"), {}, probe.PROBLEM_TLS,
     "TLS certificate verification failed"),
])
def test_each_failure_is_its_own_plain_sentence(exc, fields, problem, words):
    described = describe(exc, **fields)
    assert described.problem == problem
    assert words in described.error
    assert not described.ok


def test_no_http_answer_names_its_innermost_cause():
    exc = ws_errors.InvalidMessage("did not receive a valid HTTP response")
    exc.__cause__ = EOFError("connection closed while reading HTTP status line")
    described = describe(exc)
    assert described.problem == probe.PROBLEM_NOT_WEBSOCKET
    assert "connection closed while reading HTTP status line" in described.error
    assert "use wss://" in described.error


def test_close_code_and_reason_are_evidence():
    evidence = describe(closed(4003, "Origin not allowed"), handshake_ms=2.0).evidence()
    assert evidence["close_code"] == 4003 and evidence["close_reason"] == "Origin not allowed"
    assert "problem" not in evidence and "error" not in evidence


@pytest.mark.parametrize("message, words", [
    (b"\x00\x01", "binary (2 bytes)"),
    ("hello", "not JSON"),
    ("[1, 2]", "a JSON list"),
    ('{"data": {}}', "without a type"),
    ('{"type": "heartbeat"}', "of type 'heartbeat', not connection_info"),
])
def test_a_first_message_other_than_connection_info_fails(message, words):
    judged = probe._judge_first_message(observation(), message)  # pylint: disable=protected-access
    assert judged.problem == probe.PROBLEM_UNEXPECTED
    assert words in judged.error


def test_connection_info_is_ok():
    judged = probe._judge_first_message(  # pylint: disable=protected-access
        observation(), '{"type": "connection_info", "data": {"authenticated": false}}')
    assert judged.ok and judged.first_message_type == "connection_info"


def test_missing_library_is_a_plain_failure(monkeypatch):
    monkeypatch.setattr(probe, "connect", None)
    described = probe.probe_websocket(URL)
    assert described.problem == probe.PROBLEM_LIBRARY
    assert "pip install websockets" in described.error


@pytest.mark.parametrize("problem", [name for name in vars(probe) if name.startswith("PROBLEM_")])
def test_every_failure_has_its_own_remediation(monkeypatch, problem):
    kind = getattr(probe, problem)
    monkeypatch.setattr(probe, "probe_websocket",
                        lambda *args, **kwargs: observation().fail(kind, "something went wrong"))
    result = run("websocket.connectivity", make_ctx(NEUTRAL, options={"ws_url": URL}))
    assert result["status"] == "FAIL"
    assert result["message"] == "WebSocket %s: something went wrong" % URL
    assert result["remediation"] == checks._REMEDIATION[kind]  # pylint: disable=protected-access


# --- one outage, one cause: the listener and the API of one server ----------------------------------------------

REFUSED = "connection refused (nothing listens there, or a firewall rejects it)"


@pytest.mark.parametrize("api, ws_host, status, owner", [
    (obs(error=REFUSED), "api.example.com", "ERROR", "health.liveness"),  # the server is down: the API's cause
    (obs(200, {"status": "ok"}), "api.example.com", "FAIL", None),  # the API answers: the listener alone is down
    (obs(error=REFUSED), "ws.elsewhere.example", "FAIL", None),  # another host: its silence is its own
    (None, "api.example.com", "FAIL", None),  # no api_url: nothing says the server is down
])
def test_listener_silent_with_the_api_of_its_host_is_the_apis_cause(monkeypatch, api, ws_host, status, owner):
    url = "ws://%s:8765" % ws_host
    monkeypatch.setattr(probe, "probe_websocket", lambda *args, **kwargs: probe.WebSocketObservation(
        url, None, probe.SUBPROTOCOL, False, 10.0).fail(probe.PROBLEM_UNREACHABLE, REFUSED))
    ctx = make_ctx(NEUTRAL, answers=None if api is None else {"/healthz": api}, options={"ws_url": url})
    result = run("websocket.connectivity", ctx)
    assert result["status"] == status, result
    assert REFUSED in result["message"]
    if owner:
        assert result["cause"] == {"check": owner, "dependency": "API", "reason": "WebSocket %s: %s" % (url, REFUSED)}
        assert result["message"].startswith("Could not judge: API unavailable (see health.liveness)")
    else:
        assert "cause" not in result and result["remediation"] == checks._REMEDIATION[probe.PROBLEM_UNREACHABLE]  # pylint: disable=protected-access


def test_a_refused_origin_is_judged_even_with_the_api_down(monkeypatch):
    """An answer came (4003): the listener is up and judged, whatever the API does."""
    monkeypatch.setattr(probe, "probe_websocket", lambda *args, **kwargs: observation().fail(
        probe.PROBLEM_ORIGIN, "origin refused (close 4003)"))
    ctx = make_ctx(NEUTRAL, answers={"/healthz": obs(error=REFUSED)}, options={"ws_url": URL})
    assert run("websocket.connectivity", ctx)["status"] == "FAIL"


def test_url_password_is_masked(monkeypatch):
    monkeypatch.setattr(probe, "connect", None)
    described = probe.probe_websocket("wss://probe:s3cret@api.example.com/ws")
    assert described.url == "wss://probe:********@api.example.com/ws"
    assert "s3cret" not in str(described.evidence()) + described.error


# --- the tuning variables -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("check_id, name, value, status", [
    ("websocket.max_message_size", "ARAGORA_WS_MAX_MESSAGE_SIZE", "1023", "FAIL"),
    ("websocket.max_message_size", "ARAGORA_WS_MAX_MESSAGE_SIZE", "1024", "PASS"),
    ("websocket.max_message_size", "ARAGORA_WS_MAX_MESSAGE_SIZE", "131072", "PASS"),
    ("websocket.max_message_size", "ARAGORA_WS_MAX_MESSAGE_SIZE", "10485760", "PASS"),
    ("websocket.max_message_size", "ARAGORA_WS_MAX_MESSAGE_SIZE", "10485761", "FAIL"),
    ("websocket.max_message_size", "ARAGORA_WS_MAX_MESSAGE_SIZE", "128KB", "FAIL"),
    ("websocket.heartbeat", "ARAGORA_WS_HEARTBEAT", "4", "FAIL"),
    ("websocket.heartbeat", "ARAGORA_WS_HEARTBEAT", "5", "PASS"),
    ("websocket.heartbeat", "ARAGORA_WS_HEARTBEAT", "300", "PASS"),
    ("websocket.heartbeat", "ARAGORA_WS_HEARTBEAT", "301", "FAIL"),
    ("websocket.heartbeat", "ARAGORA_WS_HEARTBEAT", "30s", "FAIL"),
])
def test_tuning_variables_within_range(check_id, name, value, status):
    result = run(check_id, make_ctx({name: value}))
    assert result["status"] == status, result["message"]
    if status == "FAIL":
        assert name in result["message"] and name in result["remediation"]


@pytest.mark.parametrize("check_id, words", [
    ("websocket.max_message_size", "not set: the server default 65536 bytes applies (valid 1024-10485760)"),
    ("websocket.heartbeat", "not set: the server default 30 s applies (valid 5-300)"),
])
def test_unset_tuning_variable_passes_with_the_server_default(check_id, words):
    result = run(check_id, make_ctx(NEUTRAL))
    assert result["status"] == "PASS"
    assert words in result["message"]


@pytest.mark.parametrize("check_id", ["websocket.max_message_size", "websocket.heartbeat"])
def test_tuning_without_configuration_skips(check_id):
    assert run(check_id, make_ctx())["status"] == "SKIP"
