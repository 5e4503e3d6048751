# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The probe modules' options, one attribute per piece of module_utils/_ansible/module_args.PIECES
    (extends_documentation_fragment ``aragora.ops.target`` for the piece every probe module takes,
    ``aragora.ops.target.<piece>`` for the others); tests/unit/.../test_module_args.py keeps each equal to its spec.
    """

    # Every probe module: how long each network call may take, and what the run reports.
    DOCUMENTATION = r"""
options:
  timeout:
    description:
      - Seconds to wait for each network call (connect, and the whole answer). The Kubernetes reads of one target
        share one such timeout in all, and a Redis probe's commands too; a C(429) whose C(Retry-After) fits in it is
        waited out once.
    type: float
    default: 10
  skip_checks:
    description:
      - Ids of checks to report as V(SKIP) without running them, for example V(providers.fallback).
      - An id that names no check is an error.
    type: list
    elements: str
    default: []
  strict:
    description:
      - Whether a V(WARN) makes the target's verdict V(NO-GO), as a V(FAIL) always does.
    type: bool
    default: false
"""

    # Where the Aragora HTTP API is (piece ``api``).
    API = r"""
options:
  api_url:
    description:
      - Base URL of the Aragora HTTP API, for example V(https://api.example.com) or V(http://127.0.0.1:8080).
      - When omitted, checks that need the live server are V(SKIP) with that reason.
    type: str
  tls_server_name:
    description:
      - Host name to send (SNI) and verify in the TLS certificate, when O(api_url) names an address or another host.
      - Used by every HTTPS and WSS request of the checks (the API, the WebSocket, the TLS probe).
    type: str
  max_body_bytes:
    description:
      - Largest answer body read from any endpoint; a larger one is an error for the check that asked.
    type: int
    default: 5242880
  endpoints:
    description:
      - Paths of the server's endpoints, to override the Aragora 2.11.1 defaults for other versions.
      - Keys V(healthz) (V(/healthz)), V(readyz) (V(/readyz)), V(health) (V(/api/health)), V(build)
        (V(/health/build)), V(metrics) (V(/metrics)), V(circuit_breakers)
        (V(/api/admin/system-health/circuit-breakers)), V(rate_limits_config) (V(/api/rate-limits/config), the
        checklist's endpoint, absent from Aragora 2.11).
    type: dict
    default: {}
requirements:
  - requests
  - prometheus-client (for the metrics checks)
"""

    # How the TLS clients of the checks verify the servers they reach (piece ``tls_trust``).
    TLS_TRUST = r"""
options:
  validate_certs:
    description:
      - Verify the server's TLS certificate. Leave on in production; use O(ca_path) for a private CA.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of CA certificates to verify the server against, instead of the system's.
    type: path
"""

    # The limits the checks judge against (piece ``thresholds``).
    THRESHOLDS = r"""
options:
  thresholds:
    description:
      - Limits the checks judge against, to override the defaults.
      - Keys V(jwt_secret_min_length) (32), V(jwt_secret_min_entropy_bits) (3.0 bits per character),
        V(jwt_expiry_max_hours) (168), V(response_time_warn_ms) (500), V(response_time_fail_ms) (2000),
        V(db_latency_warn_ms) (100), V(db_pool_warn_ratio) (0.8), V(redis_latency_warn_ms) (50),
        V(backup_max_age_hours) (26), V(restore_test_max_age_days) (30), V(tls_expiry_fail_days) (7),
        V(tls_expiry_warn_days) (30), V(min_replicas) (2; desired and ready replicas, and the HPA's floor).
    type: dict
    default: {}
"""

    # The configuration the server reads (piece ``configuration``).
    CONFIGURATION = r"""
options:
  env_file:
    description:
      - Path, on the host the module runs on, of the environment file the server reads (systemd
        C(EnvironmentFile), C(.env)), for example V(/opt/aragora/.env).
      - It is read where it lies; only check results leave the host, never its values.
      - A file that cannot be read makes every configuration check V(FAIL) with the reason.
    type: path
  config:
    description:
      - Configuration variables as the deployment sets them (name to value), for example from inventory, vault or
        an AWX survey. They take precedence over O(env_file).
      - Values of secret-looking names (C(*SECRET*), C(*TOKEN*), C(*PASSWORD*), C(*_KEY), C(*_DSN)) and passwords
        inside URLs are masked in every output.
      - When neither O(env_file) nor O(config) is given, configuration checks are V(SKIP).
    type: dict
    default: {}
requirements:
  - python-dotenv (for O(env_file))
notes:
  - With a cluster given (O(kubeconfig), O(k8s_context), O(k8s_in_cluster), O(k8s_host) or O(k8s_manifests)) and
    neither O(env_file) nor O(config), the configuration checks read the Deployment's container environment
    (C(env) values, C(configMapKeyRef), C(secretKeyRef), C(envFrom)); values read from Secrets are masked in every
    output.
"""

    # Where Aragora runs in the cluster (piece ``k8s_workload``).
    K8S_WORKLOAD = r"""
options:
  k8s_namespace:
    description:
      - Namespace of the Aragora Deployment, its HPA, PDB, Ingress, Certificate, Jobs and monitoring objects.
    type: str
    default: aragora
  k8s_deployment:
    description:
      - Name of the Aragora Deployment; its pods, HPA and PDB are found by what selects or targets it.
    type: str
    default: aragora
  k8s_container:
    description:
      - The Aragora container of the Deployment; by default the one named as the Deployment, else the first.
    type: str
  k8s_manifests:
    description:
      - Rendered manifests to check instead of the live cluster (before apply) - a YAML file, a directory of YAML
        files, or a kustomization directory, rendered with C(kubectl kustomize) as C(kubectl apply -k) would.
      - The same checks run on these objects; those that judge live state (pods, nodes, ready replicas, Job and
        Certificate status, cert-manager's pods) are V(SKIP) and say so. A kustomization that does not build is a
        V(FAIL) quoting kustomize. Objects without a namespace are taken to be in O(k8s_namespace).
      - When given, it is used instead of O(kubeconfig), O(k8s_context) and O(k8s_in_cluster).
    type: path
requirements:
  - kubernetes (for the Kubernetes checks)
notes:
  - O(kubeconfig), O(k8s_context), O(k8s_in_cluster) or O(k8s_host) turn the Kubernetes checks on; without any of
    them (and without O(k8s_manifests)) they are V(SKIP).
"""

    # The objects the Kubernetes checks judge beside the Deployment (piece ``k8s_objects``).
    K8S_OBJECTS = r"""
options:
  migration_job:
    description:
      - Name of the migration Job, preferred when several Jobs run the upgrade. A Job counts as the migration only by
        what it runs (C(aragora.migrations upgrade)); one that runs C(migrations status) or anything else never does,
        whatever its name. Among the Jobs of the running release, the newest is judged.
    type: str
    default: aragora-migrate
  backup_cronjob:
    description:
      - Name of the backup CronJob; by default the CronJobs of the namespace that run a database dump (C(pg_dump),
        C(pg_basebackup), C(sqlite3 .backup)) or are named C(*backup*). Each is judged by the database the
        Deployment uses (its C(DATABASE_URL) and C(ARAGORA_DB_BACKEND)), its last successful run, and whether the
        namespace's Pod Security level would admit its pods.
    type: str
  certificate_name:
    description:
      - cert-manager Certificate to judge; by default those whose C(secretName) the Ingress's C(tls) entries use.
    type: str
  cert_manager_namespace:
    description:
      - Namespace cert-manager's pods run in.
    type: str
    default: cert-manager
  monitoring_namespaces:
    description:
      - Namespaces holding the ServiceMonitors and PrometheusRules (kube-prometheus-stack keeps them in
        C(monitoring)). Empty reads every namespace the identity may list, and only O(k8s_namespace) when listing
        every namespace is refused (said in the evidence).
    type: list
    elements: str
    default: []
"""

    # Grafana, for the dashboards check (piece ``grafana``).
    GRAFANA = r"""
options:
  grafana_url:
    description:
      - Base URL of Grafana; with O(grafana_token), the dashboards check searches it for the Aragora dashboards.
    type: str
  grafana_token:
    description:
      - Grafana service account token (Bearer) allowed to search dashboards.
    type: str
"""

    # The WebSocket listener (piece ``websocket``).
    WEBSOCKET = r"""
options:
  ws_url:
    description:
      - URL of the server's WebSocket listener (V(ws://host:8765) or V(wss://...)); the WebSocket checks are
        V(SKIP) without it.
    type: str
  ws_origin:
    description:
      - C(Origin) header the WebSocket handshake sends, as the front end would (for example
        V(https://app.example.com)).
    type: str
"""

    # The database and its backups (piece ``database``).
    DATABASE = r"""
options:
  database_url:
    description:
      - PostgreSQL DSN to probe; by default the one the application uses (C(DATABASE_URL), legacy
        C(ARAGORA_POSTGRES_DSN)) from the configuration. Its password is masked in every output; the rest of
        the URL is shown as evidence.
    type: str
  backup_dir:
    description:
      - Directory, on the host the module runs on, holding the C(pg_dump) archives of the database.
    type: path
  restore_evidence_file:
    description:
      - JSON evidence file written by the restore drill; the restore-tested check reads it.
    type: path
  running_release:
    description:
      - The release serving now, as go-live labelled it (a release directory name, or the image tag); the
        C(backups.pre_release) check looks in O(backup_dir) for the pre-release backup taken when it went live.
    type: str
"""

    # Redis (piece ``redis``).
    REDIS = r"""
options:
  redis_url:
    description:
      - Redis URL to probe; by default the one the application uses (C(ARAGORA_REDIS_URL), legacy C(REDIS_URL)) from
        the configuration. Its password is masked in every output; the rest of the URL is shown as evidence.
    type: str
"""

    # How many instances share the database and Redis, for the pool sizing checks (piece ``pool_sizing``).
    POOL_SIZING = r"""
options:
  app_replicas:
    description:
      - Number of Aragora instances sharing the database, for the connection pool sizing check.
    type: int
    default: 1
"""

    # The release the server must report (piece ``health``).
    HEALTH = r"""
options:
  expected_version:
    description:
      - The release the server must report (C(X-API-Release) header, C(/health/build)); any version when omitted.
    type: str
"""

    # What the security checks read beside the configuration (piece ``security``).
    SECURITY = r"""
options:
  service_user:
    description:
      - The user the Aragora unit runs as (its systemd C(User=)), a name or a numeric uid. An O(env_file) holding
        secrets must be owned by root or by this user; any other owner is a V(WARN) of C(security.api_keys_storage).
      - When neither this nor O(systemd_unit_file) is given, a file owned by another account than root is a V(WARN)
        saying its owner could not be judged.
    type: str
  systemd_unit_file:
    description:
      - Path, on the host the module runs on, of the Aragora systemd unit file, for example
        V(/etc/systemd/system/aragora.service). Its C(User=) (after the drop-ins in C(<unit file>.d/*.conf); root
        when unset) is the user the O(env_file) may belong to. With C(DynamicUser=yes) only root may own it.
      - O(service_user) takes precedence.
    type: path
  rate_limit_burst:
    description:
      - Prove the rate limiter on the live server with a short burst of GETs on the C(rate_limited) endpoint with a
        member token of its own (signed with C(ARAGORA_JWT_SECRET) from the configuration, else O(api_token)), up to
        the C(rate_limit_burst_max) threshold (60) or the first 429. Off, one request is made.
    type: bool
    default: false
"""

    # The plain HTTP URL whose redirect is judged (piece ``https_redirect``).
    HTTPS_REDIRECT = r"""
options:
  http_url:
    description:
      - A plain C(http://) URL of the same site; when given, the HTTPS check requires it to redirect to C(https://).
    type: str
"""

    # The admin token of the API (piece ``api_token``).
    API_TOKEN = r"""
options:
  api_token:
    description:
      - Bearer token (a JWT) for endpoints that need one, such as the admin circuit-breaker endpoint.
      - Without it, circuit breakers are read from C(/metrics).
    type: str
"""

    # The token of /metrics (piece ``metrics_token``).
    METRICS_TOKEN = r"""
options:
  metrics_token:
    description:
      - Bearer token for C(/metrics) when the server sets C(ARAGORA_METRICS_TOKEN).
    type: str
"""

    # The live probe of the AI providers (piece ``providers``).
    PROVIDERS = r"""
options:
  provider_probe:
    description:
      - Ask each configured AI provider (Anthropic, OpenAI, OpenRouter, Mistral, Gemini, xAI) whether it accepts its
        key, with one authenticated read of its models (OpenRouter, key) endpoint bounded by O(timeout).
      - A refused key (401/403) makes the provider check V(FAIL); no answer makes it V(WARN). Off, the keys are
        judged by their shape only (a placeholder such as C(sk-ant-xxx) V(FAIL)s, a key of the wrong shape V(WARN)s).
      - The probe leaves the host that runs the checks, which may reach the providers differently from the servers.
    type: bool
    default: false
  provider_api_urls:
    description:
      - Base URLs of the providers' APIs for O(provider_probe), by provider (C(anthropic), C(openai), C(openrouter),
        C(mistral), C(gemini), C(xai)), when a proxy or gateway stands in front of them.
    type: dict
    default: {}
"""

    # The schema of one check result, shared by every module that returns checks.
    # `options: {}` because ansible-core requires every fragment to have options or attributes.
    CHECK_RESULTS = r"""
options: {}
notes:
  - Each check result is a dictionary with C(id) (stable, for example C(security.jwt_secret)), C(section) (the
    checklist's section number and name), C(title) (the checklist item), C(status) (C(PASS), C(WARN), C(FAIL),
    C(ERROR) or C(SKIP)), C(message) (one sentence on the outcome), C(evidence) (what was observed; secrets masked),
    C(remediation) (what to do, for C(WARN), C(FAIL) and C(ERROR)) and C(duration_ms).
  - C(ERROR) means the check could not judge (a dependency it needs is down, refused or timed out). Such a result
    also has C(cause) with C(check) (the check that judges that dependency and V(FAIL)s), C(dependency) and
    C(reason), and carries the cause's remediation. It counts as V(NO-GO), like V(FAIL).
"""
