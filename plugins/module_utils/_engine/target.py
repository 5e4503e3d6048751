# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the checks of one target read: its configuration, its live API and dependencies (each fact fetched once,
whichever check asks first, while the others wait for it), and the thresholds, paths and options in force.

The defaults here are the real Aragora 2.11.1's (docs/aragora-2.11.1.md); every one can be overridden.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._engine.causes import retry_after_seconds, throttled

from ansible_collections.aragora.ops.plugins.module_utils._engine.config import Config
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import HttpClient, HttpObservation
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import CheckSkipped

DEFAULT_ENDPOINTS: dict[str, str] = {
    "healthz": "/healthz",
    "readyz": "/readyz",
    "health": "/api/health",
    "build": "/health/build",
    "metrics": "/metrics",
    "circuit_breakers": "/api/admin/system-health/circuit-breakers",
    # The checklist's endpoint; Aragora 2.11 has none, so its absence is evidence, not an error.
    "rate_limits_config": "/api/rate-limits/config",
    # An endpoint Aragora 2.11.1 limits per token (30 a minute), for the rate-limiting check's live probe.
    "rate_limited": "/api/debates?limit=1",
}

DEFAULT_THRESHOLDS: dict[str, float] = {
    "jwt_secret_min_length": 32,
    "jwt_secret_min_entropy_bits": 3.0,  # Shannon entropy per character; random base64 scores about 4.5-5
    "jwt_expiry_max_hours": 168,
    "response_time_warn_ms": 500,  # the checklist's HighLatency alert: p95 > 500 ms
    "response_time_fail_ms": 2000,
    "db_latency_warn_ms": 100,
    "db_pool_warn_ratio": 0.8,  # share of the usable connections the pools may take before WARN
    "redis_latency_warn_ms": 50,
    "backup_max_age_hours": 26,  # the backup CronJob runs daily at 02:00; 26 h leaves two hours of slack
    "restore_test_max_age_days": 30,
    "tls_expiry_fail_days": 7,  # the checklist's CertificateExpiring alert
    "tls_expiry_warn_days": 30,
    "min_replicas": 2,  # the checklist's "Minimum 2 replicas": desired, ready, and the HPA's floor
    "rate_limit_burst_max": 60,  # requests of the optional burst (rate_limit_burst) before "the server does not limit"
}


@dataclasses.dataclass(frozen=True)
class TargetOptions:
    """The options the checks of one target read, as attributes (None: not given), built once from the module's
    validated parameters; each has the name of the module option it comes from (module_args.PIECES)."""

    # Who the Aragora unit runs as, for the env file's owner (service_user, else the User= of systemd_unit_file).
    service_user: str | None = None
    systemd_unit_file: str | None = None
    ws_url: str | None = None
    ws_origin: str | None = None
    database_url: str | None = None
    redis_url: str | None = None
    backup_dir: str | None = None
    restore_evidence_file: str | None = None
    running_release: str | None = None
    app_replicas: int = 1
    tls_server_name: str | None = None
    # Ask each configured AI provider whether it accepts its key (off: the keys are judged by their shape only).
    provider_probe: bool = False
    # Prove the limiter with a short burst on the rate_limited endpoint (up to rate_limit_burst_max requests).
    rate_limit_burst: bool = False
    provider_api_urls: t.Mapping[str, str] | None = None  # {provider: base URL}, e.g. {"anthropic": "https://proxy"}
    # The TLS settings of the API, for the other TLS clients of the target (rediss://, wss://, the TLS probe).
    ca_path: str | None = None
    validate_certs: bool = True
    timeout: float = 10.0  # seconds for each network call of every probe
    # Kubernetes: the cluster (none given: the Kubernetes checks SKIP), and where Aragora runs in it.
    kubeconfig: str | None = None
    k8s_context: str | None = None
    k8s_in_cluster: bool = False
    # kubernetes.core's connection options (k8s_args.K8S_CONNECTION_SPEC; K8S_AUTH_* in the environment).
    k8s_host: str | None = None
    k8s_api_key: str | None = None
    k8s_ca_cert: str | None = None
    k8s_client_cert: str | None = None
    k8s_client_key: str | None = None
    k8s_validate_certs: bool | None = None
    k8s_proxy: str | None = None
    k8s_namespace: str = "aragora"
    k8s_deployment: str = "aragora"
    k8s_container: str | None = None  # default: the container named as the Deployment, else the first
    migration_job: str = "aragora-migrate"
    backup_cronjob: str | None = None  # default: the CronJob that runs pg_dump or is named *backup*
    certificate_name: str | None = None  # default: the Certificates behind the Ingress's TLS secrets
    cert_manager_namespace: str = "cert-manager"
    k8s_manifests: str | None = None  # rendered manifests (file, directory, kustomization) instead of the live cluster
    monitoring_namespaces: t.Sequence[str] | None = None  # where Prometheus looks; default: every namespace
    grafana_url: str | None = None
    grafana_token: str | None = None

    @classmethod
    def from_params(cls, params: t.Mapping[str, t.Any]) -> TargetOptions:
        """The options among ``params`` (a module's parameters, or any mapping); a value None keeps the default,
        as an option the module does not take."""
        return cls(**{name: params[name] for name in OPTION_NAMES if params.get(name) is not None})


OPTION_NAMES: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(TargetOptions))


class TargetContext:
    """One target: the facts its checks read. Thread-safe: checks run concurrently."""

    def __init__(self, config: Config, client: HttpClient | None = None,
                 endpoints: t.Mapping[str, str] | None = None, thresholds: t.Mapping[str, float] | None = None,
                 expected_version: str | None = None, api_token: str | None = None,
                 metrics_token: str | None = None, http_url: str | None = None,
                 options: TargetOptions | t.Mapping[str, t.Any] | None = None) -> None:
        self.config = config
        self.client = client
        self.endpoints = {**DEFAULT_ENDPOINTS, **(endpoints or {})}
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        self.expected_version = expected_version
        self.api_token = api_token
        self.metrics_token = metrics_token
        self.http_url = http_url
        if not isinstance(options, TargetOptions):
            unknown = set(options or ()) - set(OPTION_NAMES)
            if unknown:  # a misspelt option would otherwise be its default, silently
                raise TypeError("unknown target option(s): %s" % ", ".join(sorted(unknown)))
            options = TargetOptions.from_params(options or {})
        self.options = options
        # The smoke test's own options (smoke.SmokeOptions), set by the smoke_test module: no readiness check reads them.
        self.smoke: t.Any = None
        self._lock = threading.Lock()
        self._key_locks: dict[t.Hashable, threading.Lock] = {}
        self._cache: dict[t.Hashable, tuple[bool, t.Any]] = {}

    def threshold(self, name: str) -> float:
        return float(self.thresholds[name])

    @property
    def timeout(self) -> float:
        """Seconds for each network call of every probe of this target (HTTP, PostgreSQL, Redis, TLS, WebSocket)."""
        return float(self.options.timeout)

    def fact(self, key: t.Hashable, produce: t.Callable[[], t.Any]) -> t.Any:
        """``produce()`` once per key for all checks; an exception is kept and raised again to every asker, so a
        dependency that times out costs one timeout, not one per check."""
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if key not in self._cache:
                try:
                    self._cache[key] = (True, produce())
                except Exception as exc:  # pylint: disable=broad-exception-caught  # re-raised below, to each asker
                    self._cache[key] = (False, exc)
        succeeded, value = self._cache[key]
        if not succeeded:
            raise value
        return value

    def api(self, endpoint: str, token: str | None = None, headers: t.Mapping[str, str] | None = None,
            allow_redirects: bool = True) -> HttpObservation:
        """GET the named endpoint once per distinct request; SKIP the check when no API URL was given."""
        if self.client is None:
            raise CheckSkipped("no API URL given (api_url): the live server was not probed")
        request_headers = dict(headers or {})
        if token:
            request_headers["Authorization"] = "Bearer " + token
        path = self.endpoints.get(endpoint, endpoint)
        key = ("http", path, tuple(sorted(request_headers.items())), allow_redirects)
        return self.fact(key, lambda: self._get_unthrottled(path, request_headers, allow_redirects))

    def _get_unthrottled(self, path: str, headers: t.Mapping[str, str], allow_redirects: bool) -> HttpObservation:
        """GET, waiting out one 429 whose Retry-After fits in the timeout; a 429 that persists is a throttled probe
        (causes.THROTTLED), not an answer of the endpoint."""
        observation = self.client.get(path, headers=headers, allow_redirects=allow_redirects)
        if observation.status != 429:
            return observation
        wait = retry_after_seconds(observation.headers)
        if wait is not None and wait <= self.timeout:
            time.sleep(wait)
            observation = self.client.get(path, headers=headers, allow_redirects=allow_redirects)
            if observation.status != 429:
                return observation
            wait = retry_after_seconds(observation.headers)
        raise throttled(observation.describe(), wait)
