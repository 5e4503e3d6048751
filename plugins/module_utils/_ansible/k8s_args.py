# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes connection options of every module that talks to Kubernetes (doc fragment aragora.ops.kubernetes),
apart from the target options so that the action modules import nothing else."""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import env_fallback

# How every module that talks to Kubernetes reaches it: kubernetes.core's connection options, prefixed (these modules
# also have HTTP and PostgreSQL options of the same bare names), each falling back on the K8S_AUTH_* environment
# variable that kubernetes.core reads and AWX's OpenShift/Kubernetes credential sets.
K8S_AUTH_ENV = {
    "kubeconfig": "K8S_AUTH_KUBECONFIG", "k8s_context": "K8S_AUTH_CONTEXT", "k8s_host": "K8S_AUTH_HOST",
    "k8s_api_key": "K8S_AUTH_API_KEY", "k8s_ca_cert": "K8S_AUTH_SSL_CA_CERT", "k8s_client_cert": "K8S_AUTH_CERT_FILE",
    "k8s_client_key": "K8S_AUTH_KEY_FILE", "k8s_validate_certs": "K8S_AUTH_VERIFY_SSL", "k8s_proxy": "K8S_AUTH_PROXY",
}
K8S_CONNECTION_SPEC: dict[str, dict[str, t.Any]] = {
    name: {**spec, "fallback": (env_fallback, [K8S_AUTH_ENV[name]])} for name, spec in {
        "kubeconfig": {"type": "path"},
        # k8s_ as every other; kube_context is its first name, kept.
        "k8s_context": {"type": "str", "aliases": ["kube_context"]},
        "k8s_host": {"type": "str"},
        "k8s_api_key": {"type": "str", "no_log": True},
        "k8s_ca_cert": {"type": "path"},
        "k8s_client_cert": {"type": "path"},
        "k8s_client_key": {"type": "path"},
        "k8s_validate_certs": {"type": "bool"},
        "k8s_proxy": {"type": "str"},
    }.items()}
K8S_CONNECTION_SPEC["k8s_in_cluster"] = {"type": "bool", "default": False}
# A client certificate needs its key (AnsibleModule's required_together; both have no default).
K8S_REQUIRED_TOGETHER = [["k8s_client_cert", "k8s_client_key"]]
# kubernetes.core's own names, for the modules whose other options do not take them (k8s_rollout_undo).
KUBERNETES_CORE_ALIASES = {
    "k8s_context": ["context"], "k8s_in_cluster": ["in_cluster"], "k8s_host": ["host"], "k8s_api_key": ["api_key"],
    "k8s_ca_cert": ["ca_cert"], "k8s_client_cert": ["client_cert"], "k8s_client_key": ["client_key"],
    "k8s_validate_certs": ["validate_certs"], "k8s_proxy": ["proxy"],
}


def k8s_connection_spec(aliases: t.Mapping[str, t.Sequence[str]] | None = None) -> dict[str, dict[str, t.Any]]:
    """K8S_CONNECTION_SPEC, with `aliases` (option name -> alias names) added to its own."""
    return {name: {**spec, **({"aliases": [*spec.get("aliases", ()), *aliases[name]]}
                              if aliases and name in aliases else {})}
            for name, spec in K8S_CONNECTION_SPEC.items()}


def invalid_k8s_connection(params: t.Mapping[str, t.Any]) -> str | None:
    """Why the connection options contradict each other. Not AnsibleModule's mutually_exclusive: the roles always
    pass k8s_in_cluster (false), which it would count as given."""
    if params.get("k8s_in_cluster") and (params.get("kubeconfig") or params.get("k8s_host")):
        return ("k8s_in_cluster and %s are mutually exclusive: give one way to reach the cluster"
                % ("kubeconfig" if params.get("kubeconfig") else "k8s_host (K8S_AUTH_HOST)"))
    proxy = params.get("k8s_proxy")
    if proxy and not proxy.lower().startswith(("http://", "https://")):
        return "k8s_proxy must be an http:// or https:// URL, got %r" % proxy
    return None
