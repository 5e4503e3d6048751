"""The collection's own kubeconfig loader (kubeconfig.py): what kubectl reads, without importing the official client.

Over real HTTP and TLS (client certificates, an exec plugin's token) it is exercised in
tests/integration/test_kubeconfig_tls.py."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
import textwrap

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import k8s_client, kubeconfig
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import Cluster, ClusterTarget, K8sError
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.kubeconfig import (
    KubeconfigError,
    NeedsOfficialLoader,
    load_in_cluster,
    load_kubeconfig,
)


def write(path, text: str) -> str:
    path.write_text(textwrap.dedent(text))
    return str(path)


def config(tmp_path, user: str, cluster: str = 'server: "https://k8s.example:6443/"', name: str = "kubeconfig",
           extra: str = "") -> str:
    return write(tmp_path / name, """\
        apiVersion: v1
        kind: Config
        clusters: [{name: c, cluster: {%s}}]
        users: [{name: u, user: {%s}}]
        contexts: [{name: x, context: {cluster: c, user: u, namespace: team}}]
        current-context: x
        %s""" % (cluster, user, extra))


def test_token_user_server_namespace_and_system_trust(tmp_path):
    credentials = load_kubeconfig(config(tmp_path, "token: s3cret"))
    assert credentials.server == "https://k8s.example:6443" and credentials.namespace == "team"
    assert credentials.authorization() == "Bearer s3cret"
    assert credentials.verify and credentials.ca_file is None and "s3cret" not in repr(credentials)


def test_inline_certificates_become_private_files_and_relative_paths_follow_the_kubeconfig(tmp_path):
    pem = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    (tmp_path / "ca.pem").write_text("ca")
    credentials = load_kubeconfig(config(
        tmp_path, "client-certificate-data: %s, client-key-data: %s" % (pem, pem),
        'server: "https://k8s.example:6443", certificate-authority: ca.pem, tls-server-name: api.internal, '
        'proxy-url: "http://proxy:3128"'))
    assert credentials.ca_file == str(tmp_path / "ca.pem")
    assert (credentials.tls_server_name, credentials.proxy) == ("api.internal", "http://proxy:3128")
    for path in (credentials.cert_file, credentials.key_file):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path, "rb") as handle:
            assert handle.read() == b"-----BEGIN CERTIFICATE-----\n"
    assert credentials.authorization() is None


def test_insecure_skip_tls_verify_and_basic_auth(tmp_path):
    credentials = load_kubeconfig(config(tmp_path, "username: admin, password: pw",
                                         'server: "https://k8s.example", insecure-skip-tls-verify: true'))
    assert not credentials.verify
    assert credentials.authorization() == "Basic " + base64.b64encode(b"admin:pw").decode()


def test_a_token_file_is_read_again_when_rotated(tmp_path, monkeypatch):
    token = tmp_path / "token"
    token.write_text("first\n")
    credentials = load_kubeconfig(config(tmp_path, "tokenFile: token"))
    assert credentials.authorization() == "Bearer first"
    token.write_text("second")
    clock = [kubeconfig.time.monotonic() + 120]
    monkeypatch.setattr(kubeconfig.time, "monotonic", lambda: clock[0])
    assert credentials.authorization() == "Bearer second"


def exec_plugin(tmp_path, body: str) -> str:
    script = tmp_path / "plugin.py"
    script.write_text("import json, os, sys\n" + textwrap.dedent(body))
    return "exec: {apiVersion: client.authentication.k8s.io/v1, command: %s, args: [%s], env: [{name: WHO, value: sre}]}" % (
        sys.executable, script)


def test_an_exec_plugin_gives_the_token_and_is_run_again_when_it_expires(tmp_path):
    calls = tmp_path / "calls"
    user = exec_plugin(tmp_path, """
        info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
        assert info["kind"] == "ExecCredential" and info["spec"]["interactive"] is False
        with open(%r, "a") as handle:
            handle.write("x")
        count = len(open(%r).read())
        print(json.dumps({"apiVersion": info["apiVersion"], "kind": "ExecCredential", "status": {
            "token": "%%s-%%d" %% (os.environ["WHO"], count), "expirationTimestamp": "2000-01-01T00:00:00Z"}}))
        """ % (str(calls), str(calls)))
    credentials = load_kubeconfig(config(tmp_path, user))
    assert credentials.authorization() == "Bearer sre-2"  # the first run was at load; that token had expired
    assert credentials.authorization() == "Bearer sre-3"


def test_an_exec_plugin_that_fails_says_which_and_why(tmp_path):
    with pytest.raises(KubeconfigError, match=r"exec plugin .* exited 3: no SSO session"):
        load_kubeconfig(config(tmp_path, exec_plugin(tmp_path, 'print("no SSO session", file=sys.stderr); sys.exit(3)')))
    with pytest.raises(KubeconfigError, match="did not print an ExecCredential"):
        load_kubeconfig(config(tmp_path, exec_plugin(tmp_path, 'print("hello")')))
    missing = "exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws-iam-authenticator-not-here}"
    with pytest.raises(KubeconfigError, match="not installed"):
        load_kubeconfig(config(tmp_path, missing))


def test_an_exec_plugin_may_give_a_client_certificate(tmp_path):
    user = exec_plugin(tmp_path, """
        print(json.dumps({"kind": "ExecCredential", "status": {"clientCertificateData": "CERT", "clientKeyData": "KEY"}}))
        """)
    credentials = load_kubeconfig(config(tmp_path, user))
    with open(credentials.cert_file, encoding="utf-8") as cert, open(credentials.key_file, encoding="utf-8") as key:
        assert (cert.read(), key.read()) == ("CERT", "KEY")


def test_kubeconfig_files_merge_first_wins_and_a_context_can_be_chosen(tmp_path, monkeypatch):
    first = config(tmp_path, "token: one", name="first")
    second = write(tmp_path / "second", """\
        clusters: [{name: c, cluster: {server: "https://ignored"}}, {name: d, cluster: {server: "https://second"}}]
        users: [{name: v, user: {token: two}}]
        contexts: [{name: y, context: {cluster: d, user: v}}]
        current-context: y
        """)
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([first, str(tmp_path / "absent"), second]))
    assert load_kubeconfig().server == "https://k8s.example:6443"
    chosen = load_kubeconfig(context="y")
    assert chosen.server == "https://second" and chosen.authorization() == "Bearer two"


@pytest.mark.parametrize("text, says", [
    ("clusters: [unclosed", "is not valid YAML"),
    ("- a list", "is not a kubeconfig"),
    ("contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x", "names cluster 'c', which is not defined"),
    ("clusters: [{name: c, cluster: {}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x",
     "has no server"),
    ("clusters: []", "names no current-context"),
])
def test_a_broken_kubeconfig_says_what_is_wrong(tmp_path, text, says):
    with pytest.raises(KubeconfigError, match=says):
        load_kubeconfig(write(tmp_path / "kc", text))


def test_unknown_context_and_missing_files_are_named(tmp_path, monkeypatch):
    with pytest.raises(KubeconfigError, match=r"has no context 'prod' \(it has: x\)"):
        load_kubeconfig(config(tmp_path, "token: t"), context="prod")
    with pytest.raises(KubeconfigError, match="cannot read .*none.yml"):
        load_kubeconfig(str(tmp_path / "none.yml"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "gone"))
    with pytest.raises(KubeconfigError, match="none of the KUBECONFIG files exists"):
        load_kubeconfig()
    with pytest.raises(KubeconfigError, match="client-certificate .*missing.pem does not exist"):
        load_kubeconfig(config(tmp_path, "client-certificate: missing.pem, client-key: k.pem"))


def test_a_legacy_auth_provider_is_left_to_the_official_loader(tmp_path):
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    id_token = "%s.%s.sig" % (part({"alg": "RS256"}), part({"exp": 4102444800, "iss": "https://sso.example"}))
    path = config(tmp_path, "auth-provider: {name: oidc, config: {id-token: %s, idp-issuer-url: "
                            "'https://sso.example', client-id: c}}" % id_token)
    with pytest.raises(NeedsOfficialLoader):
        load_kubeconfig(path)
    cluster = Cluster(ClusterTarget(kubeconfig=path))
    assert cluster.credentials is None and cluster.server == "https://k8s.example:6443"
    assert cluster._headers(None, False)["authorization"] == "Bearer " + id_token  # pylint: disable=protected-access


def test_in_cluster_service_account(tmp_path, monkeypatch):
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_text("ca")
    (tmp_path / "namespace").write_text("aragora")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    credentials = load_in_cluster(str(tmp_path))
    assert credentials.server == "https://[fd00::1]:443" and credentials.ca_file == str(tmp_path / "ca.crt")
    assert credentials.authorization() == "Bearer sa-token" and credentials.namespace == "aragora"
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    with pytest.raises(KubeconfigError, match="not in a pod"):
        load_in_cluster(str(tmp_path))


def test_explicit_options_override_the_kubeconfig_and_need_no_official_client(tmp_path):
    path = config(tmp_path, "token: kubeconfig-token")
    cluster = Cluster(ClusterTarget(kubeconfig=path, host="https://other:6443/", api_key="explicit",
                                    validate_certs=False))
    assert cluster.server == "https://other:6443" and not cluster.credentials.verify
    assert cluster._headers(None, False)["authorization"] == "Bearer explicit"  # pylint: disable=protected-access
    assert "api_client" not in cluster.__dict__  # the official client is built for the typed APIs only


def test_the_typed_apis_get_the_same_credentials(tmp_path):
    cluster = Cluster(ClusterTarget(kubeconfig=config(tmp_path, "token: shared")))
    configuration = cluster.api_client.configuration
    assert configuration.host == "https://k8s.example:6443"
    assert configuration.auth_settings()["BearerToken"]["value"] == "Bearer shared"


def test_a_missing_kubeconfig_is_a_kube_error_naming_it(tmp_path):
    with pytest.raises(K8sError, match=r"cannot use kubeconfig .*none.yml: cannot read"):
        Cluster(ClusterTarget(kubeconfig=str(tmp_path / "none.yml")))
    assert json.dumps(k8s_client.ClusterTarget(kubeconfig="k").describe())
