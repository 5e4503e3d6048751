"""One change, one verdict: the real sandbox (Aragora 2.11.1 in production mode with TLS, Redis 7, PostgreSQL 15,
the emulated cluster) on a healthy production configuration, every check's status recorded, then ONE change at a
time and an assertion on exactly which checks change status, and on what each changed check says.

A change to the configuration the checks read, or to an option (a dependency pointed elsewhere), needs no restart:
those cases reuse the sandbox's server. A change the live server must run with (a variable it reads or, for the
proof, one it ignores; a certificate) gets a server of its own on the sandbox's Redis and PostgreSQL, started once
for the module, all of them together. The facts each case relies on are in docs/aragora-2.11.1.md.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import pathlib
import pwd
import secrets
import shutil
import socket
import sys
import typing as t

import pytest
import yaml

from ansible_collections.aragora.ops.plugins.module_utils._clients import websocket_probe
from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import KUBERNETES_GROUPS
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import DEFAULT_MAX_BODY_BYTES
from ansible_collections.aragora.ops.plugins.module_utils._reporting.report import Report
from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import build_context, run_target
from tests.support import aragora_servers
from tests.support.playbook import ROOT
from tests.support.tls_certs import CertificateAuthority

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import sandbox  # noqa: E402  pylint: disable=wrong-import-position

PUBLIC_NAME = "api.aragora-ops.test"
# What a production deployment adds to the sandbox's configuration: provider keys of the issued shapes, Sentry.
PRODUCTION_EXTRAS = {
    "ANTHROPIC_API_KEY": "sk-ant-api03-" + secrets.token_urlsafe(70),
    "OPENROUTER_API_KEY": "sk-or-v1-" + secrets.token_hex(32),
    "SENTRY_DSN": "https://%s@o1.ingest.sentry.io/42" % secrets.token_hex(16),
}
# Timing is not what this suite judges: thresholds a loaded 2-core machine never crosses.
CALM_THRESHOLDS = {"response_time_warn_ms": 5000, "response_time_fail_ms": 20000, "redis_latency_warn_ms": 1000,
                   "db_latency_warn_ms": 1000}
GOOD_OAUTH = {
    "GOOGLE_OAUTH_CLIENT_ID": "1234567890-abc.apps.googleusercontent.com",
    "GOOGLE_OAUTH_CLIENT_SECRET": "GOCSPX-" + secrets.token_urlsafe(21),
    "GOOGLE_OAUTH_REDIRECT_URI": "https://api.sandbox.test/api/auth/oauth/google/callback",
    "OAUTH_SUCCESS_URL": "https://app.sandbox.test/auth/success",
    "OAUTH_ERROR_URL": "https://app.sandbox.test/auth/error",
}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class Target:
    """Where the checks look: a server and the configuration it runs with."""

    api_url: str
    ws_url: str
    env_file: str
    ca_path: str

    def params(self, config: t.Mapping[str, str] | None = None, **options: t.Any) -> dict[str, t.Any]:
        params = {"api_url": self.api_url, "ws_url": self.ws_url, "env_file": self.env_file, "ca_path": self.ca_path,
                  "config": {**PRODUCTION_EXTRAS, **(config or {})}, "timeout": 5.0, "validate_certs": True,
                  "max_body_bytes": DEFAULT_MAX_BODY_BYTES, "expected_version": "2.11.1",
                  "thresholds": dict(CALM_THRESHOLDS), "backup_dir": None, "kubeconfig": None}
        params.update(options)
        return params


_CLIENTS = itertools.count(1)


def checks_of(params: t.Mapping[str, t.Any]) -> dict[str, dict]:
    """One run of every check, as the modules run it. Each run comes as another client: Aragora 2.11.1 limits
    unauthenticated requests to 30 a minute per client IP (burst 60, /healthz and /metrics included) and trusts
    X-Real-IP from loopback (ARAGORA_TRUSTED_PROXIES defaults to 127.0.0.1), as from a reverse proxy. Without
    this, the suite's 30 runs in a minute from one address are answered 429 (docs/aragora-2.11.1.md)."""
    context = build_context(params)
    if context.client is not None:
        context.client.headers["X-Real-IP"] = "10.77.%d.%d" % divmod(next(_CLIENTS), 250)
    return {check["id"]: check for check in run_target(params, context)["checks"]}


_WS_CLIENTS = itertools.count(1)


@pytest.fixture(scope="module", autouse=True)
def websocket_probes_as_distinct_clients() -> t.Iterator[None]:
    """As for HTTP (checks_of): Aragora 2.11.1 accepts 30 WebSocket connections a minute per client IP
    (ARAGORA_WS_CONN_RATE) and trusts X-Forwarded-For from loopback, so the suite's 30-odd runs a minute each
    connect as a client of their own, as through a reverse proxy (docs/aragora-2.11.1.md)."""
    original = websocket_probe.connect

    def connect(*args: t.Any, **kwargs: t.Any) -> t.Any:
        address = "10.78.%d.%d" % divmod(next(_WS_CLIENTS), 250)
        return original(*args, additional_headers={"X-Forwarded-For": address}, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(websocket_probe, "connect", connect)
        yield


def changed(baseline: t.Mapping[str, dict], now: t.Mapping[str, dict]) -> dict[str, str]:
    return {check_id: check["status"] for check_id, check in now.items()
            if check["status"] != baseline[check_id]["status"]}


@pytest.fixture(scope="module")
def sandbox_target(sandbox_state) -> Target:
    paths = sandbox_state["paths"]
    return Target(sandbox_state["urls"]["api"], sandbox_state["urls"]["ws"], paths["env_file"], paths["ca"])


@pytest.fixture(scope="module")
def sandbox_options(sandbox_state) -> dict[str, t.Any]:
    return {"backup_dir": sandbox_state["paths"]["backup_dir"], "kubeconfig": sandbox_state["paths"]["kubeconfig"]}


@pytest.fixture(scope="module")
def baseline(sandbox_target, sandbox_options) -> dict[str, dict]:
    checks = checks_of(sandbox_target.params(**sandbox_options))
    not_passing = {check_id: (check["status"], check["message"]) for check_id, check in checks.items()
                   if check["status"] not in ("PASS", "SKIP")}
    assert not not_passing, "the healthy production configuration is not healthy: %s" % not_passing
    return checks


# --- changes that need no restart: the configuration the checks read, or where a dependency is ------------------

@dataclasses.dataclass
class Change:
    name: str
    expect: dict[str, str]  # check id -> its new status; every other check keeps its baseline status
    says: dict[str, str] = dataclasses.field(default_factory=dict)  # check id -> words its message must hold
    config: dict[str, str] = dataclasses.field(default_factory=dict)
    options: dict[str, t.Any] = dataclasses.field(default_factory=dict)


OPENAI_SHAPED = "sk-proj-" + "Zp2Lk9Rt4Vb6Nm1Hy3Jd8Fs5Gc0XeQw7" * 2

CHANGES = [
    # 8. API providers (defect 1: a placeholder key certified GO).
    Change("checklist example Anthropic key", {"providers.primary": "FAIL"},
           {"providers.primary": "ANTHROPIC_API_KEY is a placeholder"}, {"ANTHROPIC_API_KEY": "sk-ant-xxx"}),
    Change("checklist example OpenRouter key", {"providers.fallback": "FAIL"},
           {"providers.fallback": "OPENROUTER_API_KEY is a placeholder"}, {"OPENROUTER_API_KEY": "sk-or-xxx"}),
    Change("OpenAI key in the Anthropic variable", {"providers.primary": "WARN"},
           {"providers.primary": "does not start with sk-ant-"}, {"ANTHROPIC_API_KEY": OPENAI_SHAPED}),
    Change("checklist's agent timeout name alone (defect 9)", {"providers.agent_timeout": "WARN"},
           {"providers.agent_timeout": "ARAGORA_AGENT_TIMEOUT_SECONDS=120 is set but Aragora 2.11 reads it nowhere"},
           {"ARAGORA_AGENT_TIMEOUT": "", "ARAGORA_AGENT_TIMEOUT_SECONDS": "120"}),
    # 1. Security.
    Change("JWT secret copied from an example", {"security.jwt_secret": "FAIL"},
           {"security.jwt_secret": "placeholder"},
           {"ARAGORA_JWT_SECRET": "change-me-to-a-long-random-value-" + secrets.token_hex(8)}),
    Change("API token left at an example value", {"security.secret_values": "FAIL"},
           {"security.secret_values": "ARAGORA_API_TOKEN is a placeholder"}, {"ARAGORA_API_TOKEN": "your-api-token"}),
    Change("development mode", {"security.environment_mode": "FAIL"},
           {"security.environment_mode": "Environment mode is development, not production"},
           {"ARAGORA_ENV": "development"}),
    Change("localhost among the CORS origins", {"security.cors_origins": "FAIL"},
           {"security.cors_origins": "ARAGORA_ALLOWED_ORIGINS includes http://localhost:3000"},
           {"ARAGORA_ALLOWED_ORIGINS": "https://aragora.sandbox.test,http://localhost:3000"}),
    Change("ARAGORA_DISABLE_RATE_LIMIT, which the server never reads (defect 2)", {},
           {"security.rate_limiting": "ARAGORA_DISABLE_RATE_LIMIT, ARAGORA_RATE_LIMIT_BACKEND set but not read by the server",
            "redis.rate_limit_backend": "Rate limiting uses Redis"},
           {"ARAGORA_DISABLE_RATE_LIMIT": "true"}),
    Change("token blacklist in memory (defect 6: Redis still holds queues)",
           {"security.token_blacklist": "WARN", "redis.token_blacklist": "SKIP"},
           {"security.token_blacklist": "revocations are lost on restart",
            "redis.eviction_policy": "holds queues (5 streams: aragora:cp:stream:high"},
           {"ARAGORA_BLACKLIST_BACKEND": "memory"}),
    # 3. Database.
    Change("checklist's overflow name alone (defect 9)", {"database.pool_sizing": "WARN"},
           {"database.pool_sizing": "the overflow in force is the default 15 (ARAGORA_DB_POOL_OVERFLOW unset)"},
           {"ARAGORA_DB_POOL_OVERFLOW": "", "ARAGORA_DB_MAX_OVERFLOW": "30"}),
    Change("pools larger than PostgreSQL allows", {"database.pool_sizing": "FAIL"},
           {"database.pool_sizing": "Connection pools need up to 200 connections ((100 + 100) x 1 replica)"},
           {"ARAGORA_DB_POOL_SIZE": "100", "ARAGORA_DB_POOL_OVERFLOW": "100"}),
    Change("no backups in the backup directory", {"database.backup": "FAIL"}, {}, options={"backup_dir": "EMPTY"}),
    # 4. Redis.
    Change("no Redis key prefix", {"redis.key_prefix": "WARN"},
           {"redis.key_prefix": "Redis key prefix not set"}, {"ARAGORA_REDIS_KEY_PREFIX": ""}),
    Change("Redis URL only in the legacy REDIS_URL",
           {"redis.url_configured": "WARN", "redis.rate_limit_backend": "FAIL", "redis.token_blacklist": "FAIL",
            "security.rate_limiting": "WARN"},
           {"redis.url_configured": "only in the legacy REDIS_URL",
            "security.rate_limiting": "only the legacy REDIS_URL is set"},
           {"ARAGORA_REDIS_URL": "", "REDIS_URL": "REDIS"}),
    # 5. Monitoring.
    Change("Sentry DSN left at an example", {"monitoring.sentry_dsn": "FAIL"},
           {"monitoring.sentry_dsn": "SENTRY_DSN is a placeholder"}, {"SENTRY_DSN": "https://xxx@sentry.io/123"}),
    Change("debug logging", {"monitoring.log_level": "WARN"}, {"monitoring.log_level": "DEBUG"},
           {"ARAGORA_LOG_LEVEL": "DEBUG"}),
    # 7. OAuth (defect 4): the server accepts subdomains of an allowed host, and falls back to aragora.ai.
    Change("OAuth on subdomains of the allowed host", {"oauth.redirect_urls": "PASS", "oauth.allowed_hosts": "PASS"},
           {"oauth.redirect_urls": "https and on allowed hosts"},
           {**GOOD_OAUTH, "OAUTH_ALLOWED_REDIRECT_HOSTS": "sandbox.test"}),
    Change("OAuth without allowed hosts", {"oauth.redirect_urls": "FAIL", "oauth.allowed_hosts": "FAIL"},
           {"oauth.allowed_hosts": "falls back to aragora.ai, www.aragora.ai, api.aragora.ai",
            "oauth.redirect_urls": "server's production fallback"}, dict(GOOD_OAUTH)),
    Change("session of 30 days", {"oauth.session_timeout": "FAIL"}, {"oauth.session_timeout": "720"},
           {"ARAGORA_JWT_EXPIRY_HOURS": "720"}),
    # 9. Limits (defect 10).
    Change("rate limit 0", {"limits.rate_limit": "FAIL"},
           {"limits.rate_limit": "refuses every request made with a token"}, {"ARAGORA_RATE_LIMIT": "0"}),
    Change("500 concurrent debates", {"limits.max_concurrent_debates": "FAIL"},
           {"limits.max_concurrent_debates": "outside the valid range 1-100"}, {"ARAGORA_MAX_CONCURRENT_DEBATES": "500"}),
    # 0. Go-live health and WebSocket.
    Change("another release expected", {"health.release_version": "FAIL"},
           {"health.release_version": "Release version is 2.11.1, expected 2.12.0"},
           options={"expected_version": "2.12.0"}),
    Change("a WebSocket origin the server refuses", {"websocket.connectivity": "FAIL"},
           {"websocket.connectivity": "4003"}, options={"ws_origin": "https://evil.example"}),
    # The API answers, the listener does not: a finding about the listener, not a cause (defect 8).
    Change("the WebSocket listener down, the API up", {"websocket.connectivity": "FAIL"},
           {"websocket.connectivity": "refused"}, options={"ws_url": "CLOSED_WS"}),
    # The dependencies: one outage, one cause (defect 8).
    Change("Redis unreachable",
           {"redis.connection": "FAIL", "redis.persistence": "ERROR", "redis.persistence_status": "ERROR",
            "redis.maxmemory": "ERROR", "redis.eviction_policy": "ERROR"},
           {"redis.connection": "refused", "redis.maxmemory": "Could not judge: Redis unavailable (see redis.connection)"},
           options={"redis_url": "CLOSED_REDIS"}),
    Change("PostgreSQL refuses the password",
           {"database.connection": "FAIL", "database.server_version": "ERROR", "database.latency": "ERROR",
            "database.tls": "ERROR", "database.pool_sizing": "ERROR", "database.timeouts": "ERROR",
            "database.migrations": "ERROR"},
           {"database.connection": "password", "database.latency": "PostgreSQL unavailable (see database.connection)"},
           options={"database_url": "WRONG_PASSWORD"}),
]


def resolve(value: t.Any, env: t.Mapping[str, str], tmp_path: pathlib.Path) -> t.Any:
    """The placeholders of CHANGES made concrete for this sandbox."""
    if value == "EMPTY":
        empty = tmp_path / "no-backups"
        empty.mkdir(exist_ok=True)
        return str(empty)
    if value == "REDIS":
        return env["ARAGORA_REDIS_URL"]
    if value == "CLOSED_WS":
        return "ws://127.0.0.1:%d/ws" % closed_port()
    if value == "CLOSED_REDIS":
        return "redis://127.0.0.1:%d/0" % closed_port()
    if value == "WRONG_PASSWORD":
        dsn = env["DATABASE_URL"]
        return dsn.replace(":" + dsn.split("://", 1)[1].split(":", 2)[1].split("@", 1)[0] + "@", ":wrong@", 1)
    return value


@pytest.mark.parametrize("change", CHANGES, ids=[change.name for change in CHANGES])
def test_one_change_changes_exactly_these_checks(change, baseline, sandbox_target, sandbox_options, sandbox_env,
                                                 tmp_path):
    config = {name: resolve(value, sandbox_env, tmp_path) for name, value in change.config.items()}
    options = {**sandbox_options, **{name: resolve(value, sandbox_env, tmp_path)
                                     for name, value in change.options.items()}}
    now = checks_of(sandbox_target.params(config, **options))

    assert changed(baseline, now) == change.expect, {i: now[i]["message"] for i in changed(baseline, now)}
    for check_id, words in change.says.items():
        assert words in now[check_id]["message"], (check_id, now[check_id]["message"])
    for check_id, status in change.expect.items():
        if status == "ERROR":  # could not judge: it names its cause, owned by a check that FAILs
            cause = now[check_id]["cause"]
            assert now[cause["check"]]["status"] == "FAIL" and now[check_id]["remediation"], now[check_id]


def test_world_readable_env_file_with_secrets_fails(baseline, sandbox_target, sandbox_options, tmp_path):
    """Defect 5: the same env file, mode 0644."""
    readable = tmp_path / "aragora.env"
    shutil.copyfile(sandbox_target.env_file, readable)
    os.chmod(readable, 0o644)
    now = checks_of(dataclasses.replace(sandbox_target, env_file=str(readable)).params(**sandbox_options))

    assert changed(baseline, now) == {"security.api_keys_storage": "FAIL"}
    message = now["security.api_keys_storage"]["message"]
    assert "holds secrets (" in message and "ARAGORA_JWT_SECRET" in message and "group and others can read" in message


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the env file to another account needs root")
def test_env_file_owned_by_another_account_than_the_units(baseline, sandbox_target, sandbox_options, tmp_path):
    """Defect 5, the owner: the same env file (0600) given to daemon, while the unit file says User=nobody: that
    account can read and rewrite the secrets. The unit's own user as owner changes nothing; without the unit's
    user the owner could not be judged, and the check says so instead of passing."""
    owned = tmp_path / "aragora.env"
    shutil.copyfile(sandbox_target.env_file, owned)
    os.chmod(owned, 0o600)
    os.chown(owned, pwd.getpwnam("daemon").pw_uid, -1)
    unit = tmp_path / "aragora.service"
    unit.write_text("[Unit]\nDescription=Aragora\n[Service]\nUser=nobody\nEnvironmentFile=%s\n"
                    "ExecStart=/opt/aragora/bin/python -m aragora.server\n" % owned)
    target = dataclasses.replace(sandbox_target, env_file=str(owned))

    now = checks_of(target.params(systemd_unit_file=str(unit), **sandbox_options))
    assert changed(baseline, now) == {"security.api_keys_storage": "WARN"}, now["security.api_keys_storage"]
    message = now["security.api_keys_storage"]["message"]
    assert "holds secrets and is owned by daemon (uid %d), neither root nor the unit's user nobody (User= in %s)" % (
        pwd.getpwnam("daemon").pw_uid, unit) in message, message

    unit.write_text(unit.read_text().replace("User=nobody", "User=daemon"))
    assert changed(baseline, checks_of(target.params(systemd_unit_file=str(unit), **sandbox_options))) == {}

    unknown = checks_of(target.params(**sandbox_options))
    assert changed(baseline, unknown) == {"security.api_keys_storage": "WARN"}
    assert "so the owner could not be judged" in unknown["security.api_keys_storage"]["message"]


def test_a_name_the_certificate_is_not_for(baseline, sandbox_target, sandbox_options):
    """Defect 3, the other way round: tls_server_name is the name every HTTPS request verifies, so a name the
    certificate is not for fails tls.hostname, and every check that reads the API could not judge, for that cause."""
    now = checks_of(sandbox_target.params(tls_server_name="api.example.com", **sandbox_options))

    moved = changed(baseline, now)
    assert moved.pop("tls.hostname") == "FAIL"
    assert "not api.example.com" in now["tls.hostname"]["message"]
    assert set(moved.values()) == {"ERROR"}, moved
    assert {"health.liveness", "health.readiness", "health.api_health", "monitoring.prometheus_metrics"} <= set(moved)
    assert all(now[check_id]["cause"]["check"] == "tls.hostname" for check_id in moved)
    assert "not valid for the name asked for" in now["health.liveness"]["message"]


def test_api_down_is_one_cause_in_the_report(baseline, sandbox_target, sandbox_options):
    """Defect 8: with the API unreachable, the checks that need it say they could not judge, all for one cause."""
    down = dataclasses.replace(sandbox_target, api_url="https://127.0.0.1:%d" % closed_port())
    now = checks_of(down.params(**sandbox_options))

    assert now["health.liveness"]["status"] == "FAIL"
    could_not = sorted(check_id for check_id, check in now.items() if check["status"] == "ERROR")
    assert {"health.readiness", "health.api_health", "health.release_version", "tls.expiry", "tls.hostname",
            "providers.circuit_breakers", "monitoring.prometheus_metrics", "security.cors_origins"} <= set(could_not)
    assert all(now[check_id]["cause"]["check"] == "health.liveness" for check_id in could_not)
    assert not any("Renew" in now[check_id]["remediation"] or "circuit breaker is open" in now[check_id]["remediation"]
                   for check_id in could_not)
    # Every other check keeps its verdict: the configuration, Redis, PostgreSQL and the cluster are still there.
    assert set(changed(baseline, now)) == {"health.liveness", *could_not}
    summary = Report({"sandbox": list(now.values())}).summary()
    assert "Could not judge: 1 cause: API unavailable; %d checks could not run" % len(could_not) in summary


def test_server_down_is_one_cause_for_the_websocket_too(baseline, sandbox_target, sandbox_options):
    """Defect 8, WebSocket: the API and the listener of one host both silent is the server down, one cause owned
    by health.liveness; the listener's check says it could not judge, naming it."""
    down = dataclasses.replace(sandbox_target, api_url="https://127.0.0.1:%d" % closed_port(),
                               ws_url="ws://127.0.0.1:%d/ws" % closed_port())
    now = checks_of(down.params(**sandbox_options))

    websocket = now["websocket.connectivity"]
    assert websocket["status"] == "ERROR", websocket
    assert websocket["cause"]["check"] == "health.liveness" and "refused" in websocket["cause"]["reason"]
    assert websocket["message"].startswith("Could not judge: API unavailable (see health.liveness): WebSocket ")
    could_not = {check_id for check_id, check in now.items() if check["status"] == "ERROR"}
    assert set(changed(baseline, now)) == {"health.liveness", *could_not}
    summary = Report({"sandbox": list(now.values())}).summary()
    assert "Could not judge: 1 cause: API unavailable; %d checks could not run" % len(could_not) in summary


def test_kubernetes_api_down_is_one_cause(baseline, sandbox_target, sandbox_options, tmp_path):
    """Defect 8, Kubernetes: the kubeconfig's API server gone. ha.replicas (which reads the Deployment every
    Kubernetes check starts from) FAILs naming it; every other Kubernetes check could not judge, for that one cause;
    the configuration (an env file here), the API, Redis and PostgreSQL keep their verdicts."""
    config = yaml.safe_load(pathlib.Path(sandbox_options["kubeconfig"]).read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = "http://127.0.0.1:%d" % closed_port()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    now = checks_of(sandbox_target.params(**{**sandbox_options, "kubeconfig": str(kubeconfig)}))

    kubernetes = [spec.id for spec in REGISTRY.values() if spec.group in KUBERNETES_GROUPS
                  and baseline[spec.id]["status"] != "SKIP" or spec.id == "ha.replicas"]
    expected = {check_id: "ERROR" for check_id in kubernetes}
    expected["ha.replicas"] = "FAIL"
    assert changed(baseline, now) == expected, {i: now[i]["message"][:120] for i in changed(baseline, now)}
    assert "connection to the API server refused" in now["ha.replicas"]["message"]
    assert {now[check_id]["cause"]["dependency"] for check_id in kubernetes if check_id != "ha.replicas"} == {
        "Kubernetes API"}
    summary = Report({"sandbox": list(now.values())}).summary()
    assert "Could not judge: 1 cause: Kubernetes API unavailable; %d checks could not run" % (
        len(kubernetes) - 1) in summary, summary


# --- changes the live server must run with: a server of their own ------------------------------------------------

def _server_env(sandbox_env: t.Mapping[str, str], layout: sandbox.Layout, ports: t.Mapping[str, int],
                change: t.Mapping[str, str]) -> dict[str, str]:
    env = dict(sandbox_env)
    env.update(ARAGORA_DATA_DIR=str(layout.data), ARAGORA_CONTROL_PLANE_WS_PORT=str(ports["control_plane_ws"]),
               ARAGORA_NOMIC_LOOP_WS_PORT=str(ports["nomic_loop_ws"]), ARAGORA_CANVAS_WS_PORT=str(ports["canvas_ws"]))
    env.update(change)
    return env


@pytest.fixture(scope="module")
def restarted(sandbox_env, sandbox_target, tmp_path_factory) -> t.Iterator[dict[str, Target]]:
    """Real Aragora 2.11.1 servers on the sandbox's Redis and PostgreSQL, each with one change, started together."""
    certs = tmp_path_factory.mktemp("public-cert")
    authority = CertificateAuthority(certs, "aragora.ops One-Change CA")
    public = authority.issue("public", hosts=[PUBLIC_NAME])
    changes = {
        "rate_limit_flag": ({"ARAGORA_DISABLE_RATE_LIMIT": "true"}, sandbox_target.ca_path),
        "all_limits_off": ({"ARAGORA_DISABLE_ALL_RATE_LIMITS": "true"}, sandbox_target.ca_path),
        "public_name": ({"ARAGORA_SSL_CERT": public.cert, "ARAGORA_SSL_KEY": public.key}, authority.path),
    }

    def configure(name: str, layout: sandbox.Layout, ports: dict[str, int]) -> dict[str, str]:
        env = _server_env(sandbox_env, layout, ports, changes[name][0])
        env_file = layout.root / "aragora.env"  # what the checks read: the configuration this server runs with
        env_file.write_text("".join("%s=%s\n" % item for item in env.items()))
        os.chmod(env_file, 0o600)
        return env

    directories = {name: tmp_path_factory.mktemp("aragora-" + name) for name in changes}
    with aragora_servers.running(directories, configure) as servers:
        yield {name: Target(server.api_url, server.ws_url, str(server.layout.root / "aragora.env"), changes[name][1])
               for name, server in servers.items()}


def test_server_with_disable_rate_limit_still_limits(baseline, restarted, sandbox_options):
    """Defect 2: the server runs with ARAGORA_DISABLE_RATE_LIMIT=true; a bounded burst proves it still limits."""
    now = checks_of(restarted["rate_limit_flag"].params(rate_limit_burst=True, **sandbox_options))

    assert changed(baseline, now) == {}
    message = now["security.rate_limiting"]["message"]
    assert "x 200 then 429 on /api/debates?limit=1 (X-RateLimit-Limit 30" in message, message
    assert "ARAGORA_DISABLE_RATE_LIMIT, ARAGORA_RATE_LIMIT_BACKEND set but not read by the server" in message
    assert now["redis.rate_limit_backend"]["status"] == "PASS"


def test_server_with_every_limiter_off(baseline, restarted, sandbox_options):
    """The switch 2.11.1 does read turns off the default per-client limiter; an endpoint with a limit of its own
    still limits (found by this suite: the switch's name promises more than it does)."""
    now = checks_of(restarted["all_limits_off"].params(rate_limit_burst=True, **sandbox_options))

    assert changed(baseline, now) == {"security.rate_limiting": "FAIL"}, now["security.rate_limiting"]
    message = now["security.rate_limiting"]["message"]
    assert message.startswith("Rate limiting is mostly disabled: ARAGORA_DISABLE_ALL_RATE_LIMITS=true turns off"), message
    assert "still limit: live 30 x 200 then 429 on /api/debates?limit=1" in message, message


def test_certificate_for_the_public_name_with_tls_server_name(baseline, restarted, sandbox_options):
    """Defect 3: addressed by IP, certificate for the public name: with tls_server_name every HTTPS check verifies
    that name; without it they say the certificate is not for the address."""
    target = restarted["public_name"]
    named = checks_of(target.params(tls_server_name=PUBLIC_NAME, **sandbox_options))

    assert changed(baseline, named) == {}, {i: named[i]["message"] for i in changed(baseline, named)}
    assert PUBLIC_NAME in named["tls.hostname"]["message"]

    unnamed = checks_of(target.params(**sandbox_options))
    assert unnamed["tls.hostname"]["status"] == "FAIL"
    assert unnamed["health.liveness"]["status"] == "ERROR"
    assert unnamed["health.liveness"]["cause"]["check"] == "tls.hostname"
    assert "IP address mismatch" in unnamed["health.liveness"]["message"]


# --- a really degraded 2.11.1 (defect 7) ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def degraded(sandbox_env, sandbox_target, tmp_path_factory) -> t.Iterator[Target]:
    """A real 2.11.1 that comes up degraded: the database it is told it requires (ARAGORA_REQUIRE_DATABASE=true)
    refuses its password. asyncpg's InvalidPasswordError is none of the errors upstream's pool start-up catches, so
    the start-up task fails and the connectivity gate calls set_degraded (docs/aragora-2.11.1.md, "Degraded mode")."""
    wrong = resolve("WRONG_PASSWORD", sandbox_env, tmp_path_factory.mktemp("unused"))

    def configure(_name: str, layout: sandbox.Layout, ports: dict[str, int]) -> dict[str, str]:
        env = _server_env(sandbox_env, layout, ports, {"ARAGORA_REQUIRE_DATABASE": "true", "DATABASE_URL": wrong})
        env_file = layout.root / "aragora.env"
        env_file.write_text("".join("%s=%s\n" % item for item in env.items()))
        os.chmod(env_file, 0o600)
        return env

    with aragora_servers.running({"degraded": tmp_path_factory.mktemp("aragora-degraded")}, configure,
                                 lambda server: aragora_servers.wait_ready(server, "/healthz", (200, 503))) as servers:
        server = servers["degraded"]
        yield Target(server.api_url, server.ws_url, str(server.layout.root / "aragora.env"), sandbox_target.ca_path)


def test_a_degraded_server_still_tells_its_release(baseline, degraded, sandbox_options):
    """Defect 7 on a real degraded 2.11.1: /api/health answers 503 degraded with X-API-Release, so the release is
    judged (PASS, saying so); the health checks say what the server reports, and the database checks why."""
    now = checks_of(degraded.params(**sandbox_options))

    database = ("database.server_version", "database.latency", "database.tls", "database.pool_sizing",
                "database.timeouts", "database.migrations")
    assert changed(baseline, now) == {"health.liveness": "WARN", "health.readiness": "FAIL",
                                      "health.api_health": "FAIL", "database.connection": "FAIL",
                                      **dict.fromkeys(database, "ERROR")}, {
        check_id: now[check_id]["message"] for check_id in changed(baseline, now)}
    release = now["health.release_version"]
    assert release["status"] == "PASS" and release["evidence"]["health_status"] == 503, release
    assert release["message"].startswith("Release version is 2.11.1 (X-API-Release of its 503 answer to /api/health")
    upstream_reason = 'Required backend(s) failed: postgres_pool: password authentication failed for user "aragora"'
    assert now["health.liveness"]["message"] == "Liveness endpoint is ok but degraded: " + upstream_reason
    assert now["health.readiness"]["message"] == "Server is not ready (503): " + upstream_reason
    assert now["health.api_health"]["message"] == "Health endpoint reports degraded (503)"
    assert "refused the password of user aragora" in now["database.connection"]["message"]
    assert all(now[check_id]["cause"]["check"] == "database.connection" for check_id in database)
