# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fault-injecting HTTP server that stands in for Aragora in tests.

One ``FaultServer`` answers every request the way its ``mode`` says: like a healthy Aragora 2.11.1, or with one
fault (500s, a degraded server, broken JSON, 401/403, a 50 MB body, an answer that never comes, a body that
trickles in, or nothing listening at all)::

    with FaultServer("hang") as server:
        run_target({"api_url": server.url, ...})

A mode is a function of the request handler, registered in ``MODES`` with ``@mode(name)``; adding a fault is
adding one such function. Handlers run on daemon threads; ``stop()`` wakes every handler that waits or trickles
(``server.stopping``), cuts every open connection, and returns within its ``grace`` whatever the clients do.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import typing as t

RELEASE = "2.11.1"
MiB = 1024 * 1024

# Options every mode may read (``FaultServer(mode, **options)`` overrides them).
DEFAULT_OPTIONS: dict[str, t.Any] = {
    "release": RELEASE,  # X-API-Release header on /api/*
    "build_version": "dev",  # /health/build's version: 2.11.1 from PyPI says "dev"
    "degraded_reason": "redis unreachable",
    "body_bytes": 50 * MiB,  # size of the huge_body modes' body
    "chunk_bytes": 64 * 1024,  # huge_body writes the body in chunks of this size
    "trickle_interval": 1.0,  # seconds between two bytes in trickle mode
    "delay": 0.1,  # seconds the slow mode waits before each healthy answer (a distant server's round trip)
    # The debate modes (POST /api/debates, GET /api/debates/{id}, as Aragora 2.11.1 answers them).
    "debate_seconds": 0.5,  # from created to completed ("running" in between)
    "rate_limited_creates": 2,  # rate_limited: the first creates answered 429
    "retry_after": 1,  # ... with this Retry-After
    # metrics_turn_bad: healthy traffic in /metrics for bad_after seconds after start, then bad_kind.
    "bad_after": 2.0,
    "bad_kind": "errors",  # errors (5xx share climbs), latency (slow requests), breaker (an agent's circuit opens)
    "accepted_key": None,  # provider_api: the one API key answered 200
    # Path -> JSON body answered 200 whatever the mode: a healthy first call (a Deployment) before faulty ones.
    "fixed_answers": {},
    "throttled_answers": 1,  # throttled_once: how many answers of each path are 429 before it answers healthy
}

ModeHandler = t.Callable[["FaultRequestHandler"], None]
MODES: dict[str, ModeHandler] = {}

# A client that gave up (closed, timed out, hit a size limit) shows as BrokenPipe, ConnectionReset, TimeoutError:
# all OSError, all expected here, none a failure of the server.
CLIENT_GONE = OSError


def mode(name: str) -> t.Callable[[ModeHandler], ModeHandler]:
    """Register the decorated function as the behaviour of mode ``name``."""

    def register(func: ModeHandler) -> ModeHandler:
        if name in MODES:
            raise ValueError("fault mode registered twice: %s" % name)
        MODES[name] = func
        return func

    return register


# --- what a healthy Aragora 2.11.1 answers (ARAGORA_CONTRACT.md) ---------------------------------------------------

METRICS_TEXT = "\n".join([
    'aragora_http_requests_total{endpoint="/healthz",method="GET",status="200"} 42.0',
    'aragora_http_requests_total{endpoint="/api/health",method="GET",status="200"} 17.0',
    'aragora_agent_circuit_breaker_state{agent_type="demo"} 0.0',
    'aragora_active_debates 0.0',
    'process_resident_memory_bytes 1.23456789e+08',
]) + "\n"

# The security headers Aragora puts on every /api/* answer.
API_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}

Answer = t.Tuple[int, t.Any, t.Dict[str, str]]  # (status, JSON-able body or str for text/plain, extra headers)


def healthy_routes(options: t.Mapping[str, t.Any]) -> dict[str, Answer]:
    """Path -> answer of a healthy server; the base the HTTP-level fault modes override."""
    api = {**API_HEADERS, "X-API-Release": options["release"]}
    health = (200, {"status": "healthy", "timestamp": time.time()}, api)
    return {
        "/healthz": (200, {"status": "ok"}, {}),
        "/readyz": (200, {"status": "ready"}, {}),
        "/api/health": health,
        "/api/v1/health": health,
        "/health/build": (200, {"sha": "0123456789abcdef0123456789abcdef01234567", "sha_short": "0123456",
                                "build_time": "2026-01-01T00:00:00Z", "version": options["build_version"]}, {}),
        "/metrics": (200, METRICS_TEXT, {}),
    }


def degraded_routes(options: t.Mapping[str, t.Any]) -> dict[str, Answer]:
    """A server that is alive but degraded, as 2.11.1 reports it when Redis is configured and failing."""
    reason = options["degraded_reason"]
    routes = healthy_routes(options)
    api_headers = routes["/api/health"][2]
    degraded = (503, {"status": "degraded", "degraded": True, "degraded_reason": reason,
                      "timestamp": time.time()}, api_headers)
    routes.update({
        "/healthz": (200, {"status": "ok", "degraded": True, "degraded_reason": reason}, {}),
        "/readyz": (503, {"status": "not_ready", "reason": reason}, {}),
        "/api/health": degraded,
        "/api/v1/health": degraded,
    })
    return routes


def answer_from(routes: dict[str, Answer], handler: FaultRequestHandler) -> None:
    """Answer from a route table; unknown paths get Aragora's 404 (with the /api/* headers under /api/)."""
    path = handler.path.split("?", 1)[0]
    if path in routes:
        status, body, headers = routes[path]
    else:
        status, body = 404, {"error": "Not found", "path": path}
        headers = dict(routes["/api/health"][2]) if path.startswith("/api/") else {}
    if isinstance(body, str):
        handler.send_bytes(status, body.encode(), "text/plain; version=0.0.4; charset=utf-8", headers)
    else:
        handler.send_json(status, body, headers)


# --- the modes -----------------------------------------------------------------------------------------------------

@mode("healthy")
def _healthy(handler: FaultRequestHandler) -> None:
    answer_from(healthy_routes(handler.options), handler)


@mode("slow")
def _slow(handler: FaultRequestHandler) -> None:
    if not handler.stopping.wait(handler.options["delay"]):
        answer_from(healthy_routes(handler.options), handler)


@mode("degraded")
def _degraded(handler: FaultRequestHandler) -> None:
    answer_from(degraded_routes(handler.options), handler)


@mode("http_500")
def _http_500(handler: FaultRequestHandler) -> None:
    handler.send_bytes(500, b"Internal Server Error", "text/plain")


@mode("malformed_json")
def _malformed_json(handler: FaultRequestHandler) -> None:
    handler.send_bytes(200, b'{"status": "ok", "checks": [1, 2', "application/json")


@mode("unauthorized")
def _unauthorized(handler: FaultRequestHandler) -> None:
    handler.send_json(401, {"error": "Authentication required"}, {"WWW-Authenticate": "Bearer"})


@mode("forbidden")
def _forbidden(handler: FaultRequestHandler) -> None:
    handler.send_json(403, {"error": "Permission denied"})


@mode("huge_body")
def _huge_body(handler: FaultRequestHandler) -> None:
    """A 200 whose body streams in chunks, with no Content-Length: only counting tells the client it is too big."""
    handler.send_head(200, "application/json", {"Transfer-Encoding": "chunked"})
    chunk = b" " * handler.options["chunk_bytes"]
    for _dummy in range(0, handler.options["body_bytes"], len(chunk)):
        if handler.stopping.is_set():
            return
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    handler.wfile.write(b"0\r\n\r\n")


@mode("huge_body_content_length")
def _huge_body_content_length(handler: FaultRequestHandler) -> None:
    """The same body, announced by its Content-Length: a client can refuse it before reading."""
    size = handler.options["body_bytes"]
    handler.send_head(200, "application/json", {"Content-Length": str(size)})
    chunk = b" " * handler.options["chunk_bytes"]
    for offset in range(0, size, len(chunk)):
        if handler.stopping.is_set():
            return
        handler.wfile.write(chunk[:size - offset])


@mode("hang")
def _hang(handler: FaultRequestHandler) -> None:
    """Accept, read the request, and say nothing until the server stops."""
    handler.stopping.wait()


@mode("trickle")
def _trickle(handler: FaultRequestHandler) -> None:
    """Headers at once, then the body one byte per ``trickle_interval``, endlessly, until the server stops."""
    handler.send_head(200, "application/json", {})  # no length: the body ends when the connection closes
    body = b'{"status": "ok"}'
    sent = 0
    while not handler.stopping.wait(handler.options["trickle_interval"]):
        handler.wfile.write(body[sent:sent + 1] if sent < len(body) else b" ")
        handler.wfile.flush()
        sent += 1


@mode("garbage")
def _garbage(handler: FaultRequestHandler) -> None:
    """Bytes that are no HTTP answer at all, then the connection closes."""
    handler.wfile.write(b"\x00\xffSSH-2.0-not-http \x1b[31m garbage\r\n\r\n")


@mode("redirect_loop")
def _redirect_loop(handler: FaultRequestHandler) -> None:
    """Every request redirected to the same path again."""
    handler.send_bytes(302, b"", "text/plain", {"Location": handler.path})


@mode("empty_object")
def _empty_object(handler: FaultRequestHandler) -> None:
    handler.send_json(200, {})


@mode("json_string")
def _json_string(handler: FaultRequestHandler) -> None:
    handler.send_json(200, "upstream connect error or disconnect/reset before headers")


def _throttle(handler: FaultRequestHandler) -> None:
    handler.send_json(429, {"error": "Rate limit exceeded. Please try again later."},
                      {"Retry-After": str(handler.options["retry_after"]), "X-RateLimit-Limit": "200"})


@mode("throttled")
def _throttled(handler: FaultRequestHandler) -> None:
    """Aragora's per-IP limiter tripped for good: every answer 429 with Retry-After."""
    _throttle(handler)


@mode("throttled_once")
def _throttled_once(handler: FaultRequestHandler) -> None:
    """The limiter tripped briefly: each path's first ``throttled_answers`` answers are 429, then healthy ones."""
    fault = handler.server.fault
    with fault.lock:
        seen = fault.state.setdefault("throttled", {})
        seen[handler.path] = seen.get(handler.path, 0) + 1
        limited = seen[handler.path] <= handler.options["throttled_answers"]
    if limited:
        _throttle(handler)
    else:
        answer_from(healthy_routes(handler.options), handler)


# --- debates: the smoke test's contract ------------------------------------------------------------------------------

KNOWN_AGENTS = ("demo",)
LOGIN_PASSWORD = "correct horse battery staple"  # the one password POST /api/auth/login accepts
LOGIN_TOKEN = "eyJ.login-issued-token.sig"


def _read_json(handler: FaultRequestHandler) -> t.Any:
    length = int(handler.headers.get("Content-Length") or 0)
    try:
        return json.loads(handler.rfile.read(length) or b"null")
    except ValueError:
        return None


def _debates(handler: FaultRequestHandler, finishes: bool = True) -> None:
    """Healthy routes plus debates: the body checked as 2.11.1 does (422 without a question, 400 for an agent it
    does not know), created -> running -> completed after ``debate_seconds`` (or running forever)."""
    fault = handler.server.fault
    path = handler.path.split("?", 1)[0]
    if path.startswith("/api/debates"):
        fault.state.setdefault("authorization", []).append(handler.headers.get("Authorization"))
    if handler.command == "POST" and path == "/api/auth/login":
        body = _read_json(handler) or {}
        if body.get("password") != LOGIN_PASSWORD:
            handler.send_json(401, {"error": "Invalid email or password"})
            return
        handler.send_json(200, {"user": {"email": body.get("email")}, "tokens": {"access_token": LOGIN_TOKEN}})
        return
    if handler.command == "POST" and path == "/api/debates":
        body = _read_json(handler)
        if not isinstance(body, dict) or not isinstance(body.get("question"), str):
            handler.send_json(422, {"error": "Validation failed", "detail": "field 'question' is required"})
            return
        unknown = [agent for agent in body.get("agents") or [] if agent not in KNOWN_AGENTS]
        if unknown:
            handler.send_json(400, {"error": "Unknown agent type(s): %s" % ", ".join(unknown)})
            return
        with fault.lock:
            debate_id = "adhoc_%04d" % len(fault.state.setdefault("debates", {}))
            fault.state["debates"][debate_id] = time.monotonic()
        handler.send_json(200, {"success": True, "debate_id": debate_id, "status": "created"})
        return
    if handler.command == "GET" and path.startswith("/api/debates/"):
        debate_id = path.rsplit("/", 1)[1]
        created = fault.state.get("debates", {}).get(debate_id)
        if created is None:
            handler.send_json(404, {"error": "Debate not found"})
            return
        age = time.monotonic() - created
        status = "completed" if finishes and age >= handler.options["debate_seconds"] else (
            "running" if age > 0.1 else "created")
        handler.send_json(200, {"debate_id": debate_id, "status": status})
        return
    answer_from(healthy_routes(handler.options), handler)


@mode("debates")
def _debates_mode(handler: FaultRequestHandler) -> None:
    _debates(handler)


@mode("debate_never_finishes")
def _debate_never_finishes(handler: FaultRequestHandler) -> None:
    _debates(handler, finishes=False)


@mode("rate_limited")
def _rate_limited(handler: FaultRequestHandler) -> None:
    """The first ``rate_limited_creates`` creates get 429 with Retry-After, as the debates_create limiter answers."""
    fault = handler.server.fault
    if handler.command == "POST" and handler.path.split("?", 1)[0] == "/api/debates":
        with fault.lock:
            fault.state["creates"] = fault.state.get("creates", 0) + 1
            limited = fault.state["creates"] <= handler.options["rate_limited_creates"]
        if limited:
            _read_json(handler)
            handler.send_json(429, {"error": "Rate limit exceeded. Please try again later."},
                              {"Retry-After": str(handler.options["retry_after"]), "X-RateLimit-Limit": "10"})
            return
    _debates(handler)


# --- an AI provider's API, for the provider key probe ---------------------------------------------------------------

@mode("provider_api")
def _provider_api(handler: FaultRequestHandler) -> None:
    """A provider's models (OpenRouter: key) endpoint: 200 to the key ``accepted_key`` however it is sent (Bearer,
    x-api-key, x-goog-api-key), 401 to any other, as the providers answer."""
    headers = handler.headers
    bearer = (headers.get("Authorization") or "").removeprefix("Bearer ")
    key = headers.get("x-api-key") or headers.get("x-goog-api-key") or bearer
    if key and key == handler.options.get("accepted_key"):
        handler.send_json(200, {"data": [{"id": "model-1"}]})
    else:
        handler.send_json(401, {"error": {"type": "authentication_error", "message": "invalid x-api-key"}})


# --- metrics that turn bad mid-window (the watch window's rollback) ------------------------------------------------

def _traffic_metrics(fault: FaultServer) -> str:
    """Counters that grow at every scrape: 100 requests (all 200, 20 ms each) while healthy; once bad_after has
    passed, per bad_kind: 30 of them 500s, or 900 ms each, or the demo agent's circuit open."""
    with fault.lock:
        state = fault.state
        now = time.monotonic()
        bad = now - state.setdefault("started", now) >= fault.options["bad_after"] or state.get("bad_since")
        if bad and not state.get("bad_since"):
            state["bad_since"] = now
            state["bad_since_wall"] = time.time()
        kind = fault.options["bad_kind"] if bad else None
        ok, errors = (70, 30) if kind == "errors" else (100, 0)
        seconds = 0.9 if kind == "latency" else 0.02
        state["ok"] = state.get("ok", 0) + ok
        state["errors"] = state.get("errors", 0) + errors
        state["count"] = state.get("count", 0) + ok + errors
        state["sum"] = state.get("sum", 0.0) + (ok + errors) * seconds
        scrapes = state["scrapes"] = state.get("scrapes", 0) + 1
        breaker = 1 if kind == "breaker" else 0
        labels = 'endpoint="/api/debates",method="GET"'
        # Aragora 2.11.1's own shape: the duration suffix after the labels, no HELP/TYPE lines.
        return "\n".join([
            'aragora_http_requests_total{%s,status="200"} %d' % (labels, state["ok"]),
            'aragora_http_requests_total{%s,status="500"} %d' % (labels, state["errors"]),
            'aragora_http_requests_total{endpoint="/metrics",method="GET",status="200"} %d' % scrapes,
            'aragora_http_request_duration_seconds{%s,status="200"}_count %d' % (labels, state["count"]),
            'aragora_http_request_duration_seconds{%s,status="200"}_sum %.3f' % (labels, state["sum"]),
            'aragora_agent_circuit_breaker_state{agent_type="demo"} %d' % breaker,
        ]) + "\n"


@mode("metrics_turn_bad")
def _metrics_turn_bad(handler: FaultRequestHandler) -> None:
    if handler.path.split("?", 1)[0] == "/metrics":
        handler.send_bytes(200, _traffic_metrics(handler.server.fault).encode(),
                           "text/plain; version=0.0.4; charset=utf-8")
        return
    answer_from(healthy_routes(handler.options), handler)


@mode("metrics_stay_healthy")
def _metrics_stay_healthy(handler: FaultRequestHandler) -> None:
    """As metrics_turn_bad, but it never does."""
    fault = handler.server.fault
    with fault.lock:
        fault.state.setdefault("started", time.monotonic() + 10 ** 9)
    _metrics_turn_bad(handler)


# ``refused`` has no handler: FaultServer("refused") serves nothing and its url points at a closed port.
REFUSED = "refused"


# --- the server ----------------------------------------------------------------------------------------------------

class FaultRequestHandler(http.server.BaseHTTPRequestHandler):
    """Hands every request to the server's mode, and keeps the test output quiet when a client gives up."""

    protocol_version = "HTTP/1.1"
    server: _FaultHTTPServer
    timeout = 30  # no connection outlives a stuck client for long, even if stop() was never called

    @property
    def options(self) -> t.Mapping[str, t.Any]:
        return self.server.fault.options

    @property
    def stopping(self) -> threading.Event:
        return self.server.fault.stopping

    def _dispatch(self) -> None:
        self.server.fault.seen.append((self.command, self.path))
        self.close_connection = True  # one request per connection: simpler, and what the probes do anyway
        fixed = self.options["fixed_answers"].get(self.path.split("?", 1)[0])
        try:
            if fixed is not None:
                self.send_json(200, fixed)
            else:
                self.server.fault.handler(self)
            self.wfile.flush()
        except CLIENT_GONE:
            pass

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = _dispatch

    def send_head(self, status: int, content_type: str, headers: t.Mapping[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()

    def send_bytes(self, status: int, body: bytes, content_type: str,
                   headers: t.Mapping[str, str] | None = None) -> None:
        self.send_head(status, content_type, {**(headers or {}), "Content-Length": str(len(body))})
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, body: t.Any, headers: t.Mapping[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(body).encode(), "application/json", headers)

    def log_message(self, format: str, *args: t.Any) -> None:  # pylint: disable=redefined-builtin
        pass


class _FaultHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # FaultServer.stop() joins the handler threads itself, with a deadline

    def __init__(self, fault: FaultServer) -> None:
        self.fault = fault
        self.active: dict[socket.socket, threading.Thread] = {}  # open connection -> the thread handling it
        self.active_lock = threading.Lock()
        super().__init__((fault.host, 0), FaultRequestHandler)

    def process_request(self, request: t.Any, client_address: t.Any) -> None:
        thread = threading.Thread(target=self._handle, args=(request, client_address), daemon=True,
                                  name="fault-%s-handler" % self.fault.mode)
        with self.active_lock:
            self.active[request] = thread
        thread.start()

    def _handle(self, request: t.Any, client_address: t.Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self.active_lock:
                self.active.pop(request, None)

    def handle_error(self, request: t.Any, client_address: t.Any) -> None:
        pass  # a client that hung up mid-answer is what these tests are about, not an error

    def cut_connections(self, grace: float) -> None:
        """Shut every open connection down, so that no handler stays blocked on a socket, and join the handlers."""
        with self.active_lock:
            active = list(self.active.items())
        for connection, _thread in active:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + grace
        for _connection, thread in active:
            thread.join(max(0.0, deadline - time.monotonic()))


class FaultServer:
    """An HTTP server on ``host`` (an ephemeral port) that answers as ``mode`` says; a context manager."""

    def __init__(self, mode: str, host: str = "127.0.0.1", **options: t.Any) -> None:
        if mode != REFUSED and mode not in MODES:
            raise ValueError("unknown fault mode %r; known: %s" % (mode, ", ".join(sorted(MODES) + [REFUSED])))
        unknown = set(options) - set(DEFAULT_OPTIONS)
        if unknown:
            raise ValueError("unknown fault server option(s): %s" % ", ".join(sorted(unknown)))
        self.mode = mode
        self.host = host
        self.options = {**DEFAULT_OPTIONS, **options}
        self.handler = MODES.get(mode)
        self.stopping = threading.Event()
        self.seen: list[tuple[str, str]] = []  # (method, path) of every request, for assertions
        self.state: dict[str, t.Any] = {}  # what stateful modes remember (debates, counters), under ``lock``
        self.lock = threading.Lock()
        self.port: int | None = None
        self._httpd: _FaultHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the fault server is not started")
        return "http://%s:%d" % (self.host, self.port)

    def start(self) -> FaultServer:
        if self.port is not None:
            raise RuntimeError("the fault server is already started")
        if self.mode == REFUSED:
            self.port = closed_port(self.host)
            return self
        self._httpd = _FaultHTTPServer(self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fault-server-%s-%d" % (self.mode, self.port), daemon=True)
        self._thread.start()
        return self

    def stop(self, grace: float = 2.0) -> None:
        """Wake waiting and trickling handlers, stop accepting, cut open connections; idempotent."""
        self.stopping.set()
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.cut_connections(grace)
        if self._thread is not None:
            self._thread.join(grace)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc_info: t.Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return "FaultServer(%r, port=%s)" % (self.mode, self.port)


def closed_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on: bound, noted, and closed again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# --- below HTTP: a TCP server for the dependencies that speak their own protocol (PostgreSQL, Redis, TLS) ----------

RAW_MODES = ("refused", "hang", "trickle", "garbage", "close", "huge_body")


class RawFaultServer:
    """A TCP server whose every connection gets one fault, whatever the client's protocol: ``hang`` (accept, read,
    say nothing), ``trickle`` (a byte a second, endlessly), ``garbage`` (bytes no protocol knows, then close),
    ``close`` (accept and hang up at once), ``huge_body`` (an endless stream, as fast as it goes), or ``refused``
    (nothing listens). ``stop()`` ends every connection within its grace."""

    def __init__(self, mode: str, host: str = "127.0.0.1", trickle_interval: float = 1.0) -> None:
        if mode not in RAW_MODES:
            raise ValueError("unknown raw fault mode %r; known: %s" % (mode, ", ".join(RAW_MODES)))
        self.mode = mode
        self.host = host
        self.trickle_interval = trickle_interval
        self.stopping = threading.Event()
        self.port: int | None = None
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return "tcp://%s:%d" % (self.host, self.port)

    def start(self) -> RawFaultServer:
        if self.mode == REFUSED:
            self.port = closed_port(self.host)
            return self
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((self.host, 0))
        self._listener.listen(32)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept)
        return self

    def _spawn(self, target: t.Callable, *args: t.Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="raw-fault-%s" % self.mode)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _address = self._listener.accept()
            except OSError:
                continue
            with self._lock:
                self._connections.append(connection)
            self._spawn(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        try:
            connection.settimeout(0.1)
            if self.mode == "close":
                return
            if self.mode == "garbage":
                connection.sendall(b"\x00\xffSSH-2.0-not-this-protocol \x1b[31m garbage\r\n")
                return
            while not self.stopping.is_set():
                try:
                    connection.recv(65536)  # whatever the client says is read and ignored
                except socket.timeout:
                    pass
                if self.mode == "trickle":
                    connection.sendall(b"0")
                    self.stopping.wait(self.trickle_interval)
                elif self.mode == "huge_body":
                    connection.sendall(b"*" * 65536)
        except OSError:
            pass  # the client gave up: what these faults are for
        finally:
            connection.close()

    def stop(self, grace: float = 2.0) -> None:
        self.stopping.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> RawFaultServer:
        return self.start()

    def __exit__(self, *exc_info: t.Any) -> None:
        self.stop()
