# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument spec of the target options (doc fragment aragora.ops.target) and their validation."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._clients import http_client
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import k8s_client
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY
from ansible_collections.aragora.ops.plugins.module_utils._ansible.k8s_args import K8S_CONNECTION_SPEC, invalid_k8s_connection
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import DEFAULT_ENDPOINTS, DEFAULT_THRESHOLDS

TARGET_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "api_url": {"type": "str"},
    "env_file": {"type": "path"},
    "service_user": {"type": "str"},
    "systemd_unit_file": {"type": "path"},
    "config": {"type": "dict", "default": {}},
    "api_token": {"type": "str", "no_log": True},
    "metrics_token": {"type": "str", "no_log": True},
    "timeout": {"type": "float", "default": http_client.DEFAULT_TIMEOUT},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "max_body_bytes": {"type": "int", "default": http_client.DEFAULT_MAX_BODY_BYTES},
    "endpoints": {"type": "dict", "default": {}},
    "thresholds": {"type": "dict", "default": {}},
    "http_url": {"type": "str"},
    "expected_version": {"type": "str"},
    "skip_checks": {"type": "list", "elements": "str", "default": []},
    "strict": {"type": "bool", "default": False},
    # The dependency probes' options (target.DEFAULT_OPTIONS).
    "ws_url": {"type": "str"},
    "ws_origin": {"type": "str"},
    # Not no_log: the URL is evidence ("Redis at redis://cache:6379/0"), its password alone is masked (MaskedModule).
    "database_url": {"type": "str"},
    "redis_url": {"type": "str"},
    "backup_dir": {"type": "path"},
    "restore_evidence_file": {"type": "path"},
    "running_release": {"type": "str"},
    "app_replicas": {"type": "int", "default": 1},
    "tls_server_name": {"type": "str"},
    "provider_probe": {"type": "bool", "default": False},
    "rate_limit_burst": {"type": "bool", "default": False},
    "provider_api_urls": {"type": "dict", "default": {}},
    # Kubernetes (target.DEFAULT_OPTIONS).
    **K8S_CONNECTION_SPEC,
    "k8s_namespace": {"type": "str", "default": "aragora"},
    "k8s_deployment": {"type": "str", "default": "aragora"},
    "k8s_container": {"type": "str"},
    "migration_job": {"type": "str", "default": "aragora-migrate"},
    "backup_cronjob": {"type": "str"},
    "certificate_name": {"type": "str"},
    "cert_manager_namespace": {"type": "str", "default": "cert-manager"},
    "k8s_manifests": {"type": "path"},
    "monitoring_namespaces": {"type": "list", "elements": "str", "default": []},
    "grafana_url": {"type": "str"},
    "grafana_token": {"type": "str", "no_log": True},
}


def target_argument_spec(**extra: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {**TARGET_ARGUMENT_SPEC, **extra}


def missing_library(params: t.Mapping[str, t.Any]) -> str | None:
    """The PyPI name of a library the given options need and the host lacks."""
    if params.get("api_url") and http_client.requests is None:
        return "requests"
    if k8s_client.ClusterTarget.from_options(params) is not None and not k8s_client.HAS_KUBERNETES:
        return "kubernetes"
    return None


def invalid_params(params: t.Mapping[str, t.Any], registry: t.Mapping[str, t.Any] | None = None) -> str | None:
    """Why the target options cannot be used, naming the option to fix; None when they can. ``skip_checks`` names
    checks of ``registry`` (the readiness checks by default)."""
    registry = REGISTRY if registry is None else registry
    problem = invalid_k8s_connection(params)
    if problem:
        return problem
    grafana = params.get("grafana_url")
    if grafana and not grafana.lower().startswith(("http://", "https://")):
        return "grafana_url must start with http:// or https://, got %r" % grafana
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
    url = params.get("api_url")
    if url and not url.lower().startswith(("http://", "https://")):
        return "api_url must start with http:// or https://, got %r" % url
    if params.get("timeout", 1) <= 0:
        return "timeout must be a positive number of seconds"
    if params.get("app_replicas", 1) < 1:
        return "app_replicas must be 1 or more (the number of Aragora instances sharing the database)"
    ws_url = params.get("ws_url")
    if ws_url and not ws_url.lower().startswith(("ws://", "wss://")):
        return "ws_url must start with ws:// or wss://, got %r" % ws_url
    return None
