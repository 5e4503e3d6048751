# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One WebSocket connection to Aragora's stream listener, as the front end makes it, bounded in time.

The probe opens the handshake with Aragora's subprotocol and the front end's Origin, waits for the server's first
message, and reports what it saw as a ``WebSocketObservation``: either the first message, or a ``problem`` (one of
the PROBLEM_* kinds) with one sentence saying what went wrong. It never raises for a network outcome and never
waits longer than its timeout (plus a short close).
"""

from __future__ import annotations

import dataclasses
import json
import socket
import ssl
import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._clients.masking import mask_url

try:
    from websockets import exceptions as ws_errors
    from websockets.sync.client import connect
except ImportError:  # reported by the check as a FAIL naming the library
    connect = None  # type: ignore[assignment]
    ws_errors = None  # type: ignore[assignment]

# Aragora 2.11's stream server refuses (HTTP 400) a handshake that does not offer this subprotocol.
SUBPROTOCOL = "aragora-v1"
# The first message Aragora sends on a new connection.
FIRST_MESSAGE_TYPE = "connection_info"
# Closing is a courtesy once the probe has its answer; it must not add a full timeout.
CLOSE_TIMEOUT = 1.0
_BODY_EXCERPT = 200

# Close codes Aragora 2.11.1 uses when it turns a connection away after the handshake.
CLOSE_ORIGIN_REFUSED = 4003
CLOSE_RATE_LIMITED = 4029

# What went wrong, for the check to pick its remediation.
PROBLEM_LIBRARY = "library_missing"
PROBLEM_URL = "invalid_url"
PROBLEM_UNREACHABLE = "unreachable"  # refused, unresolvable, reset before any HTTP answer
PROBLEM_TIMEOUT = "handshake_timeout"
PROBLEM_TLS = "tls"
PROBLEM_NOT_WEBSOCKET = "not_websocket"  # something answered, but not a WebSocket handshake
PROBLEM_REJECTED = "handshake_rejected"  # an HTTP status instead of 101
PROBLEM_REDIRECTED = "redirected"  # a 3xx instead of 101: to an http(s) URL, in a loop, or downgrading TLS
PROBLEM_SUBPROTOCOL = "subprotocol_not_agreed"
PROBLEM_ORIGIN = "origin_refused"
PROBLEM_RATE_LIMITED = "rate_limited"
PROBLEM_CLOSED = "closed"
PROBLEM_SILENT = "silent"
PROBLEM_UNEXPECTED = "unexpected_message"


@dataclasses.dataclass
class WebSocketObservation:
    """One connection attempt; ``problem`` and ``error`` are set when no ``connection_info`` came first."""

    url: str  # password masked
    origin: str | None
    subprotocol_offered: str
    tls: bool
    timeout: float
    subprotocol: str | None = None  # the one the server agreed to
    http_status: int | None = None
    close_code: int | None = None
    close_reason: str | None = None
    first_message_type: str | None = None
    handshake_ms: float | None = None
    first_message_ms: float | None = None
    problem: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def fail(self, problem: str, error: str) -> WebSocketObservation:
        self.problem, self.error = problem, error
        return self

    def evidence(self) -> dict[str, t.Any]:
        """What the check reports: everything observed, nothing unset."""
        return {name: value for name, value in dataclasses.asdict(self).items()
                if value is not None and name not in ("problem", "error")}


def tls_context(validate_certs: bool = True, ca_path: str | None = None) -> ssl.SSLContext:
    """The client TLS settings of the target: the system's CAs or ``ca_path``, host name checked; or none."""
    if not validate_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_path)


def probe_websocket(url: str, origin: str | None = None, timeout: float = 10.0,
                    ssl_context: ssl.SSLContext | None = None,
                    subprotocol: str = SUBPROTOCOL, server_name: str | None = None) -> WebSocketObservation:
    """Connect to ``url`` offering ``subprotocol`` with ``origin``; wait for the first message, all within
    ``timeout`` seconds. ``server_name``: the TLS name (SNI and certificate) of a wss:// URL naming an address."""
    secure = url.lower().startswith("wss://")
    observation = WebSocketObservation(mask_url(url), origin, subprotocol, secure, timeout)
    if connect is None:
        return observation.fail(PROBLEM_LIBRARY, "the websockets Python library is missing on the host that runs "
                                                 "the check (pip install websockets)")
    started = time.monotonic()
    try:
        tls_name = {"server_hostname": server_name} if secure and server_name else {}
        with connect(url, origin=origin, subprotocols=[subprotocol], ssl=ssl_context if secure else None,
                     open_timeout=timeout, close_timeout=CLOSE_TIMEOUT, **tls_name) as connection:
            observation.handshake_ms = _ms_since(started)
            observation.subprotocol = connection.subprotocol
            if observation.subprotocol != subprotocol:
                # Browsers drop a connection whose handshake answer does not confirm the offered subprotocol.
                return observation.fail(PROBLEM_SUBPROTOCOL, "the server accepted the handshake without agreeing "
                                        "to the subprotocol %s (a browser drops such a connection)" % subprotocol)
            remaining = max(timeout - (time.monotonic() - started), 0.0)
            message = connection.recv(timeout=remaining)
            observation.first_message_ms = _ms_since(started)
            return _judge_first_message(observation, message)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # each kind is described below
        return _describe_failure(observation, exc)


def _judge_first_message(observation: WebSocketObservation, message: str | bytes) -> WebSocketObservation:
    if isinstance(message, bytes):
        return observation.fail(PROBLEM_UNEXPECTED, "the first message is binary (%d bytes), not Aragora's JSON %s"
                                % (len(message), FIRST_MESSAGE_TYPE))
    try:
        data = json.loads(message)
    except ValueError:
        return observation.fail(PROBLEM_UNEXPECTED, "the first message is not JSON: %r" % message[:80])
    observation.first_message_type = data.get("type") if isinstance(data, dict) else None
    if observation.first_message_type != FIRST_MESSAGE_TYPE:
        return observation.fail(PROBLEM_UNEXPECTED, "the first message is %s, not %s"
                                % (_message_kind(data), FIRST_MESSAGE_TYPE))
    return observation


def _message_kind(data: t.Any) -> str:
    if isinstance(data, dict):
        return "of type %r" % data.get("type") if "type" in data else "a JSON object without a type"
    return "a JSON %s" % type(data).__name__


def _describe_failure(observation: WebSocketObservation, exc: Exception) -> WebSocketObservation:
    """Turn what the connection raised into one of the PROBLEM_* kinds and a sentence an operator can act on."""
    timeout = observation.timeout
    redirect = _redirect(exc)
    if redirect is not None:
        return observation.fail(PROBLEM_REDIRECTED, "the handshake was answered with a redirect, not 101 (%s)"
                                % redirect)
    if isinstance(exc, ws_errors.ConnectionClosed):
        return _describe_close(observation, exc.rcvd)
    if isinstance(exc, TimeoutError):  # before ``handshake_ms`` the handshake timed out, after it the first message
        if observation.handshake_ms is None:
            return observation.fail(PROBLEM_TIMEOUT, "no WebSocket handshake within %g s (timeout)" % timeout)
        return observation.fail(PROBLEM_SILENT, "the server accepted the connection but sent no message within "
                                "%g s (timeout)" % timeout)
    if isinstance(exc, ws_errors.InvalidStatus):
        return _describe_rejection(observation, exc.response)
    if isinstance(exc, ws_errors.InvalidURI):
        return observation.fail(PROBLEM_URL, "invalid WebSocket URL: %s" % exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return observation.fail(PROBLEM_TLS, "TLS certificate verification failed (%s); give the CA bundle (ca_path) "
                                "or fix the certificate" % (getattr(exc, "verify_message", None) or "untrusted"))
    if isinstance(exc, ssl.SSLError):
        if exc.reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE"):
            return observation.fail(PROBLEM_TLS, "TLS handshake failed: the port does not speak TLS (use ws://)")
        if exc.reason == "UNEXPECTED_EOF_WHILE_READING":  # Aragora 2.11.1's plain listener drops a TLS hello
            return observation.fail(PROBLEM_TLS, "TLS handshake failed: the server closed the connection (does the "
                                                 "port speak TLS? use ws:// if not)")
        return observation.fail(PROBLEM_TLS, "TLS handshake failed: %s" % (exc.reason or exc))
    if isinstance(exc, ws_errors.InvalidHandshake):
        # InvalidMessage (no HTTP answer), InvalidHeader, NegotiationError...: what answered is not a WebSocket server.
        return observation.fail(PROBLEM_NOT_WEBSOCKET, "no valid WebSocket handshake answer (%s)%s"
                                % (_innermost(exc), "; is the port a TLS one (use wss://)?" if not observation.tls
                                   else ""))
    if isinstance(exc, ConnectionRefusedError):
        return observation.fail(PROBLEM_UNREACHABLE, "connection refused (nothing listens there, or a firewall "
                                                     "rejects it)")
    if isinstance(exc, socket.gaierror):
        return observation.fail(PROBLEM_UNREACHABLE, "host name does not resolve")
    if isinstance(exc, OSError):
        return observation.fail(PROBLEM_UNREACHABLE, "connection failed: %s" % (exc.strerror or exc))
    if isinstance(exc, ValueError):  # the library's own check of the URL or options
        return observation.fail(PROBLEM_URL, "invalid WebSocket URL or option: %s" % exc)
    raise exc


def _redirect(exc: BaseException) -> str | None:
    """What a redirect the library could not follow was, or None when ``exc`` comes from no redirect: the library
    follows ws(s) redirects itself and raises InvalidURI for a Location in http(s), SecurityError for a loop or a TLS
    downgrade, with the 3xx answer as the exception's context."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, ws_errors.InvalidStatus) and 300 <= current.response.status_code < 400:
            location = current.response.headers.get("Location", "no Location")
            return "HTTP %d to %s%s" % (current.response.status_code, location,
                                        "; %s" % exc if current is not exc else "")
        current = current.__context__
    if isinstance(exc, ws_errors.SecurityError) and "redirect" in str(exc):
        return str(exc)
    return None


def _describe_rejection(observation: WebSocketObservation, response: t.Any) -> WebSocketObservation:
    observation.http_status = response.status_code
    body = bytes(response.body or b"").decode("utf-8", errors="replace").strip()[:_BODY_EXCERPT]
    return observation.fail(PROBLEM_REJECTED, "the handshake was rejected with HTTP %d%s"
                            % (response.status_code, ": " + body if body else ""))


def _describe_close(observation: WebSocketObservation, close: t.Any) -> WebSocketObservation:
    """The server closed before its first message: why, as far as its close frame says."""
    if close is None:
        return observation.fail(PROBLEM_CLOSED, "the server dropped the connection before sending any message")
    observation.close_code, observation.close_reason = close.code, close.reason or None
    said = " (%s)" % close.reason if close.reason else ""
    if close.code == CLOSE_ORIGIN_REFUSED:
        return observation.fail(PROBLEM_ORIGIN, "the server refused the Origin %s: closed with code %d%s"
                                % (observation.origin, close.code, said))
    if close.code == CLOSE_RATE_LIMITED:
        return observation.fail(PROBLEM_RATE_LIMITED, "the server turned the connection away with code %d%s: too "
                                "many WebSocket connections from this address" % (close.code, said))
    return observation.fail(PROBLEM_CLOSED, "the server closed the connection with code %d%s before sending any "
                            "message" % (close.code, said))


def _innermost(exc: BaseException) -> str:
    """The deepest cause's text: 'connection closed while reading HTTP status line', not the wrapper's."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc) or type(exc).__name__


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
