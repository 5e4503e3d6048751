"""kubernetes.core's connection options onto the official client's Configuration."""

from __future__ import annotations

import kubernetes

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import k8s_client
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import ClusterTarget


def test_no_option_names_no_cluster():
    assert ClusterTarget.from_options({"k8s_validate_certs": False, "k8s_api_key": "t"}) is None


def test_host_and_token_need_no_kubeconfig(monkeypatch):
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")
    target = ClusterTarget.from_options({"k8s_host": "https://k8s.example:6443/", "k8s_api_key": "s3cret",
                                         "k8s_ca_cert": "/ca.pem", "k8s_validate_certs": False,
                                         "k8s_proxy": "http://proxy:3128", "timeout": 4})
    assert target.describe() == "API server https://k8s.example:6443/" and "s3cret" not in repr(target)
    configuration = k8s_client.connect(target).configuration
    assert configuration.host == "https://k8s.example:6443"
    assert configuration.auth_settings()["BearerToken"]["value"] == "Bearer s3cret"
    assert (configuration.ssl_ca_cert, configuration.verify_ssl, configuration.proxy) == (
        "/ca.pem", False, "http://proxy:3128")


def test_explicit_options_override_the_kubeconfig(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("""apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://from-kubeconfig:6443"}}]
users: [{name: u, user: {token: kubeconfig-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
""")
    kept = k8s_client.connect(ClusterTarget(kubeconfig=str(kubeconfig))).configuration
    assert kept.host == "https://from-kubeconfig:6443"
    assert kept.auth_settings()["BearerToken"]["value"] == "Bearer kubeconfig-token"
    overridden = k8s_client.connect(ClusterTarget(kubeconfig=str(kubeconfig), host="https://other:6443",
                                                  client_cert="/c.pem", client_key="/k.pem")).configuration
    assert (overridden.host, overridden.cert_file, overridden.key_file) == ("https://other:6443", "/c.pem", "/k.pem")
    assert isinstance(overridden, kubernetes.client.Configuration)
