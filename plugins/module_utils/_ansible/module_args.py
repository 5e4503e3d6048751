# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe modules' options, in pieces: each piece is an argument spec and the doc fragment that documents exactly
its options (tests/unit/plugins/module_utils/_ansible/test_module_pieces.py holds the two equal). A module takes the
pieces its checks read (``GROUP_PIECES``), as kubernetes.core composes its modules' specs from auth, wait, name,
resource; ``params_problem`` is the one judgment of their values beyond their types.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.aragora.ops.plugins.module_utils._clients import http_client
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import k8s_client
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY
from ansible_collections.aragora.ops.plugins.module_utils._ansible.k8s_args import K8S_CONNECTION_SPEC, invalid_k8s_connection
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import DEFAULT_ENDPOINTS, DEFAULT_THRESHOLDS

Params = t.Mapping[str, t.Any]
Spec = t.Dict[str, t.Dict[str, t.Any]]  # typing's: module_utils run on Python 3.9


@dataclasses.dataclass(frozen=True)
class Piece:
    """Options that go together, documented by ``fragment`` (the name extends_documentation_fragment gives)."""

    fragment: str
    spec: Spec


# Every piece a probe module may take, by name; readiness_check takes them all.
PIECES: dict[str, Piece] = {
    "kubernetes": Piece("aragora.ops.kubernetes", dict(K8S_CONNECTION_SPEC)),
    "grafana": Piece("aragora.ops.target.grafana", {
        "grafana_url": {"type": "str"},
        "grafana_token": {"type": "str", "no_log": True},
    }),
    "thresholds": Piece("aragora.ops.target.thresholds", {
        "thresholds": {"type": "dict", "default": {}},
    }),
    "api": Piece("aragora.ops.target.api", {
        "api_url": {"type": "str"},
        "tls_server_name": {"type": "str"},
        "max_body_bytes": {"type": "int", "default": http_client.DEFAULT_MAX_BODY_BYTES},
        "endpoints": {"type": "dict", "default": {}},
    }),
    # Every probe module: how long each call may take, and what the run reports.
    "checks": Piece("aragora.ops.target", {
        "timeout": {"type": "float", "default": http_client.DEFAULT_TIMEOUT},
        "skip_checks": {"type": "list", "elements": "str", "default": []},
        "strict": {"type": "bool", "default": False},
    }),
    "pool_sizing": Piece("aragora.ops.target.pool_sizing", {
        "app_replicas": {"type": "int", "default": 1},
    }),
    "websocket": Piece("aragora.ops.target.websocket", {
        "ws_url": {"type": "str"},
        "ws_origin": {"type": "str"},
    }),
    "tls_trust": Piece("aragora.ops.target.tls_trust", {
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path"},
    }),
    "configuration": Piece("aragora.ops.target.configuration", {
        "env_file": {"type": "path"},
        "config": {"type": "dict", "default": {}},
    }),
    "k8s_workload": Piece("aragora.ops.target.k8s_workload", {
        "k8s_namespace": {"type": "str", "default": "aragora"},
        "k8s_deployment": {"type": "str", "default": "aragora"},
        "k8s_container": {"type": "str"},
        "k8s_manifests": {"type": "path"},
    }),
    "k8s_objects": Piece("aragora.ops.target.k8s_objects", {
        "migration_job": {"type": "str", "default": "aragora-migrate"},
        "backup_cronjob": {"type": "str"},
        "certificate_name": {"type": "str"},
        "cert_manager_namespace": {"type": "str", "default": "cert-manager"},
        "monitoring_namespaces": {"type": "list", "elements": "str", "default": []},
    }),
    "health": Piece("aragora.ops.target.health", {
        "expected_version": {"type": "str"},
    }),
    "security": Piece("aragora.ops.target.security", {
        "service_user": {"type": "str"},
        "systemd_unit_file": {"type": "path"},
        "rate_limit_burst": {"type": "bool", "default": False},
    }),
    "https_redirect": Piece("aragora.ops.target.https_redirect", {
        "http_url": {"type": "str"},
    }),
    "api_token": Piece("aragora.ops.target.api_token", {
        "api_token": {"type": "str", "no_log": True},
    }),
    "metrics_token": Piece("aragora.ops.target.metrics_token", {
        "metrics_token": {"type": "str", "no_log": True},
    }),
    # Not no_log: the URLs are evidence ("Redis at redis://cache:6379/0"), their passwords alone are masked
    # (MaskedModule).
    "database": Piece("aragora.ops.target.database", {
        "database_url": {"type": "str"},
        "backup_dir": {"type": "path"},
        "restore_evidence_file": {"type": "path"},
        "running_release": {"type": "str"},
    }),
    "redis": Piece("aragora.ops.target.redis", {
        "redis_url": {"type": "str"},
    }),
    "providers": Piece("aragora.ops.target.providers", {
        "provider_probe": {"type": "bool", "default": False},
        "provider_api_urls": {"type": "dict", "default": {}},
    }),
}

# The configuration is read from the env file or `config`, else from the Deployment's container (kube.cluster_config).
_CONFIGURATION = ("configuration", "kubernetes", "k8s_workload")
_CLUSTER = ("kubernetes", "k8s_workload", "k8s_objects")
_API = ("api", "tls_trust")
# The pieces each group of checks reads (beyond "checks", which every module takes).
GROUP_PIECES: dict[str, tuple[str, ...]] = {
    "health": (*_API, "thresholds", "health"),
    "websocket": (*_API, "websocket", *_CONFIGURATION),
    "security": (*_API, *_CONFIGURATION, "security", "https_redirect", "api_token", "thresholds"),
    "ha": (*_CLUSTER, "thresholds"),
    "database": (*_CONFIGURATION, "database", "pool_sizing", "thresholds"),
    "migrations": _CLUSTER,
    "redis": (*_CONFIGURATION, "redis", "pool_sizing", "tls_trust", "thresholds"),
    "monitoring": (*_API, "metrics_token", *_CONFIGURATION),
    # The dashboards check calls Grafana with the API's TLS settings.
    "observability": (*_CLUSTER, "grafana", "tls_trust"),
    "certificates": (*_CLUSTER, "thresholds"),
    "tls": (*_API, "https_redirect", "thresholds"),
    "oauth": (*_CONFIGURATION, "thresholds"),
    "providers": (*_API, *_CONFIGURATION, "providers", "api_token"),
    "limits": _CONFIGURATION,
    "resources": _CLUSTER,
    "backups": (*_CLUSTER, "thresholds"),
}
# The smoke test: the API, the WebSocket stream, /metrics, and the JWT secret from the configuration.
SMOKE_PIECES: tuple[str, ...] = (*_API, "websocket", "metrics_token", *_CONFIGURATION)


def pieces_of(groups: t.Iterable[str] | None) -> list[str]:
    """The pieces a module running ``groups`` (None: every group) takes, in PIECES order."""
    wanted = {"checks"}
    for group in GROUP_PIECES if groups is None else groups:
        wanted.update(GROUP_PIECES[group])
    return [name for name in PIECES if name in wanted]


def compose(pieces: t.Iterable[str], **extra: dict[str, t.Any]) -> Spec:
    """The argument spec of ``pieces`` (always with "checks") and the module's own ``extra`` options."""
    spec: Spec = {}
    for name in ["checks", *pieces]:
        spec.update(PIECES[name].spec)
    return {**spec, **extra}


# readiness_check's (every piece).
TARGET_ARGUMENT_SPEC: Spec = compose(PIECES)


def target_argument_spec(**extra: dict[str, t.Any]) -> Spec:
    """readiness_check's argument spec (every piece) with ``extra``."""
    return {**TARGET_ARGUMENT_SPEC, **extra}


def missing_library(params: Params) -> str | None:
    """The PyPI name of a library the given options need and the host lacks."""
    if params.get("api_url") and http_client.requests is None:
        return "requests"
    if k8s_client.ClusterTarget.from_options(params) is not None and not k8s_client.HAS_KUBERNETES:
        return "kubernetes"
    return None


def _url_problem(params: Params, option: str, schemes: tuple[str, ...]) -> str | None:
    value = params.get(option)
    if value and not value.lower().startswith(tuple(scheme + "://" for scheme in schemes)):
        return "%s must start with %s, got %r" % (option, " or ".join(s + "://" for s in schemes), value)
    return None


def invalid_params(params: Params, registry: t.Mapping[str, t.Any] | None = None) -> str | None:
    """Why the options cannot be used, naming the option to fix; None when they can. The one place the probe
    modules' options are judged beyond their types: an option a module does not take is absent from its
    parameters, so each test below passes. ``skip_checks`` names checks of ``registry`` (the readiness checks by
    default)."""
    registry = REGISTRY if registry is None else registry
    problem = invalid_k8s_connection(params) or _url_problem(params, "grafana_url", ("http", "https"))
    if problem:
        return problem
    for option, known in (("endpoints", DEFAULT_ENDPOINTS), ("thresholds", DEFAULT_THRESHOLDS)):
        unknown = sorted(set(params.get(option) or {}) - set(known))
        if unknown:
            return "%s: unknown key(s) %s; valid keys: %s" % (option, ", ".join(unknown), ", ".join(sorted(known)))
    for name, value in (params.get("thresholds") or {}).items():
        try:
            float(value)
        except (TypeError, ValueError):
            return "thresholds.%s must be a number, got %r" % (name, value)
    unknown_checks = sorted(set(params.get("skip_checks") or ()) - set(registry))
    if unknown_checks:
        return "skip_checks: unknown check id(s) %s; known ids: %s" % (", ".join(unknown_checks),
                                                                       ", ".join(sorted(registry)))
    problem = _url_problem(params, "api_url", ("http", "https"))
    if problem:
        return problem
    if params.get("timeout", 1) <= 0:
        return "timeout must be a positive number of seconds"
    if params.get("app_replicas", 1) < 1:
        return "app_replicas must be 1 or more (the number of Aragora instances sharing the database)"
    return _url_problem(params, "ws_url", ("ws", "wss"))


def params_problem(params: Params, registry: t.Mapping[str, t.Any] | None = None) -> str | None:
    """Why validated parameters cannot be run (a library missing on the host, an option to fix); None if they can."""
    library = missing_library(params)
    if library:
        return missing_required_lib(library)
    return invalid_params(params, registry)
