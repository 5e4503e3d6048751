# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Go-Live: the WebSocket listener the front end connects to (the smoke test's WebSocket step), and the
checklist's WebSocket Production Tuning variables."""

from __future__ import annotations

import ssl

from ansible_collections.aragora.ops.plugins.module_utils._clients import websocket_probe as probe
from ansible_collections.aragora.ops.plugins.module_utils._engine.causes import UNREACHABLE, CouldNotJudge
from ansible_collections.aragora.ops.plugins.module_utils._checks.common import cause_of, host_of
from ansible_collections.aragora.ops.plugins.module_utils._checks.limits import judge_int_setting
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import IntSetting
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    WARN,
    Cause,
    CheckInputError,
    CheckSkipped,
    Outcome,
    failed,
    passed,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "0"

# Defaults and valid ranges of Aragora 2.11.1 (ARAGORA_CONTRACT.md; aragora/config/settings.py).
MAX_MESSAGE_SIZE = IntSetting("ARAGORA_WS_MAX_MESSAGE_SIZE", 64 * 1024, 1024, 10 * 1024 * 1024)
HEARTBEAT = IntSetting("ARAGORA_WS_HEARTBEAT", 30, 5, 300)

_TLS_ADVICE = "Give the CA that signed the listener's certificate (ca_path), or fix the certificate or ws_url."
# What to do about each way the connection can fail; the check's standing remediation covers the rest.
_REMEDIATION: dict[str, str] = {
    probe.PROBLEM_LIBRARY: "Install the websockets Python library where the check runs (pip install websockets).",
    probe.PROBLEM_URL: "Correct ws_url: ws://host:port or wss://host[:port][/path].",
    probe.PROBLEM_UNREACHABLE: "Start the WebSocket listener (aragora server --port, 8765 by default) or correct "
                               "ws_url; open the port in the firewall, load balancer or proxy.",
    probe.PROBLEM_TIMEOUT: "Find what holds the handshake up (firewall dropping packets, a proxy that does not pass "
                           "Upgrade requests, an overloaded server) or raise timeout.",
    probe.PROBLEM_TLS: _TLS_ADVICE,
    probe.PROBLEM_NOT_WEBSOCKET: "Point ws_url at the WebSocket listener (Aragora 2.11: its own port, --port), not "
                                 "the HTTP API, and use wss:// only where TLS is served.",
    probe.PROBLEM_REJECTED: "Aragora 2.11 answers 400 when the handshake lacks the subprotocol %s: a proxy in front "
                            "must pass Upgrade, Connection and Sec-WebSocket-Protocol through; a 404 means ws_url "
                            "names a path or port without a WebSocket listener." % probe.SUBPROTOCOL,
    probe.PROBLEM_REDIRECTED: "Point ws_url at where the WebSocket listener really is (the redirect's target, in "
                              "ws:// or wss://), or make the proxy pass the upgrade through instead of redirecting.",
    probe.PROBLEM_SUBPROTOCOL: "Make the proxy in front of the listener pass the Sec-WebSocket-Protocol header both "
                               "ways, or point ws_url at the Aragora listener itself.",
    probe.PROBLEM_ORIGIN: "Add the front end's origin to ARAGORA_ALLOWED_ORIGINS and restart the server, or set "
                          "ws_origin to the origin the front end is really served from.",
    probe.PROBLEM_RATE_LIMITED: "Wait a minute and re-run, or raise ARAGORA_WS_CONN_RATE (connections per IP per "
                                "minute, default 30) if the front end's clients share an address behind a NAT.",
    probe.PROBLEM_CLOSED: "Look at the server log for why it closed the connection.",
    probe.PROBLEM_SILENT: "Look at the server log: the stream server accepted the connection but never sent "
                          "connection_info (blocked event loop, or another service on that port).",
    probe.PROBLEM_UNEXPECTED: "Point ws_url at Aragora's stream listener: what answered is another WebSocket "
                              "service.",
}


def websocket_origin(ctx: TargetContext) -> str | None:
    """ws_origin, else the front end's origin: the first of ARAGORA_ALLOWED_ORIGINS; None (no header) otherwise."""
    if ctx.options.ws_origin:
        return ctx.options.ws_origin
    # No configuration (or an unreadable one) leaves the handshake without Origin, which Aragora accepts:
    # the connection is still worth probing.
    if not ctx.config.sources or ctx.config.error:
        return None
    origins = [origin.strip() for origin in (ctx.config.get("ARAGORA_ALLOWED_ORIGINS") or "").split(",")]
    return next((origin for origin in origins if origin), None)


def websocket_connection(ctx: TargetContext) -> probe.WebSocketObservation:
    """The target's one WebSocket connection attempt, shared by every check that asks."""
    url = ctx.options.ws_url
    if not url:
        raise CheckSkipped("no WebSocket URL given (ws_url): set it to the listener (ws://host:8765 on Aragora 2.11) "
                           "or to the URL the front end uses (NEXT_PUBLIC_WS_URL)")
    origin = websocket_origin(ctx)
    timeout = ctx.timeout
    ssl_context = _tls_context(ctx) if url.lower().startswith("wss://") else None
    server_name = ctx.options.tls_server_name  # the name the certificate is for, when ws_url names an address
    return ctx.fact(("websocket", url, origin), lambda: probe.probe_websocket(url, origin, timeout, ssl_context,
                                                                              server_name=server_name))


def _tls_context(ctx: TargetContext) -> ssl.SSLContext:
    try:
        return probe.tls_context(ctx.options.validate_certs, ctx.options.ca_path)
    except OSError as exc:  # ssl.SSLError included: a file that is not PEM
        raise CheckInputError("cannot load the CA bundle %s (ca_path): %s"
                              % (ctx.options.ca_path, exc.strerror or exc)) from None


# The listener gave no answer at all: with the API of the same host silent too, that is the server's outage.
_NO_ANSWER = (probe.PROBLEM_UNREACHABLE, probe.PROBLEM_TIMEOUT, probe.PROBLEM_TLS)


def shared_outage(ctx: TargetContext, observation: probe.WebSocketObservation) -> Cause | None:
    """The cause that kept the API on the same host from answering too (the server down, its certificate), when
    the listener did not answer either: Aragora serves both from one process, so one outage is one cause, owned by
    the check that judges it (health.liveness, tls.*). None when the API answered, was not given or is elsewhere:
    the listener's silence is then this check's own finding."""
    if observation.problem not in _NO_ANSWER or ctx.client is None:
        return None
    if host_of(observation.url) != host_of(ctx.client.base_url):
        return None
    try:
        api = ctx.api("healthz")  # the liveness probe's own request, made once for both
    except CheckInputError:  # throttled: the API did answer
        return None
    return cause_of(api.error) if api.error else None


@check("websocket.connectivity", SECTION, "WebSocket connectivity",
       "Make the WebSocket listener reachable from where the front end connects, with the subprotocol %s and the "
       "front end's Origin allowed (ARAGORA_ALLOWED_ORIGINS)." % probe.SUBPROTOCOL,
       proves="A handshake with subprotocol `aragora-v1` and the front end's Origin, and the first message "
              "`connection_info`; close 4003, HTTP 400 and silence are distinct FAILs.")
def connectivity(ctx: TargetContext):
    observation = websocket_connection(ctx)
    evidence = observation.evidence()
    if not observation.ok:
        cause = shared_outage(ctx, observation)
        if cause is not None:
            raise CouldNotJudge("WebSocket %s: %s" % (observation.url, observation.error), UNREACHABLE, cause=cause)
        return failed("WebSocket %s: %s" % (observation.url, observation.error),
                      _REMEDIATION.get(observation.problem), **evidence)
    return passed("WebSocket %s answered with %s in %d ms (subprotocol %s, Origin %s)"
                  % (observation.url, probe.FIRST_MESSAGE_TYPE, observation.first_message_ms, observation.subprotocol,
                     observation.origin or "not sent"), **evidence)


def judge_tuning_setting(ctx: TargetContext, setting: IntSetting, what: str, unit: str) -> Outcome:
    """As judge_int_setting, but unset PASSes: the server's default is a safe production value, and the checklist
    lists these variables only as tuning."""
    outcome = judge_int_setting(ctx, setting, what, unit)
    if outcome.status == WARN and outcome.evidence[setting.name] is None:
        return passed("%s not set: the server default %d%s applies (valid %d-%d)"
                      % (what, setting.default, unit, setting.minimum, setting.maximum), **outcome.evidence)
    return outcome


@check("websocket.max_message_size", SECTION, "WebSocket max message size (ARAGORA_WS_MAX_MESSAGE_SIZE)",
       "Set ARAGORA_WS_MAX_MESSAGE_SIZE to a number of bytes from 1024 to 10485760 (the checklist suggests 131072), "
       "or unset it for the default 65536.",
       proves="`ARAGORA_WS_MAX_MESSAGE_SIZE` within 1024-10485760 bytes; unset: the server's default (65536).")
def max_message_size(ctx: TargetContext):
    return judge_tuning_setting(ctx, MAX_MESSAGE_SIZE, "WebSocket max message size", " bytes")


@check("websocket.heartbeat", SECTION, "WebSocket heartbeat (ARAGORA_WS_HEARTBEAT)",
       "Set ARAGORA_WS_HEARTBEAT to a number of seconds from 5 to 300, or unset it for the default 30.",
       proves="`ARAGORA_WS_HEARTBEAT` within 5-300 s; unset: the server's default (30 s).")
def heartbeat(ctx: TargetContext):
    return judge_tuning_setting(ctx, HEARTBEAT, "WebSocket heartbeat interval", " s")
