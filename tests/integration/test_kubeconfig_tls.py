"""The collection's kubeconfig loader against the emulated API server behind real TLS: a private CA, a client
certificate the server requires, an exec credential plugin's token, and the failures an operator meets (an
unknown CA, no client certificate). The relay terminates TLS with the stdlib's ssl and records what the client sent.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import sys
import textwrap
import threading

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import KUBERNETES_GROUPS
from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import run_target
from tests.integration.test_kubernetes_checks import EXPECTED, GRAFANA, K8S_IDS, statuses
from tests.support.tls_certs import CertificateAuthority


class TlsRelay:
    """TLS in front of the emulator (client certificate required), forwarding bytes both ways; keeps what the
    clients sent, decrypted, to assert on the credentials they presented."""

    def __init__(self, upstream_port: int, cert: str, key: str, client_ca: str) -> None:
        self.upstream_port = upstream_port
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.context.load_verify_locations(client_ca)
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sent = bytearray()
        self.refused: list[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                raw, _address = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            client = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.refused.append(str(exc))
            raw.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
        threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()
        self._pump(client, upstream, True)

    def _pump(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if record:
                    with self._lock:
                        self.sent += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(name="tls_cluster")
def fixture_tls_cluster(k8s_cluster, tmp_path):
    cluster = k8s_cluster("healthy_ha")
    server_ca = CertificateAuthority(tmp_path / "server", "API Server CA")
    client_ca = CertificateAuthority(tmp_path / "client", "Client CA")
    server = server_ca.issue("apiserver")
    relay = TlsRelay(cluster.port, server.cert, server.key, client_ca.path)
    yield relay, server_ca, client_ca.issue("sre", hosts=("sre",), client=True), tmp_path
    relay.close()


def b64(path: str) -> str:
    with open(path, "rb") as handle:
        return base64.b64encode(handle.read()).decode()


def kubeconfig(directory, port: int, ca: str, user: dict) -> str:
    path = os.path.join(str(directory), "kubeconfig")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "tls",
                   "clusters": [{"name": "tls", "cluster": {"server": "https://127.0.0.1:%d" % port,
                                                            "certificate-authority-data": b64(ca)}}],
                   "users": [{"name": "sre", "user": user}],
                   "contexts": [{"name": "tls", "context": {"cluster": "tls", "user": "sre"}}]}, handle)
    return path


def healthy_statuses() -> dict[str, str]:
    expected = {check_id: "PASS" for check_id in K8S_IDS}
    expected.update(GRAFANA)
    expected.update(EXPECTED["healthy_ha"][1])
    return expected


def run(path: str) -> dict:
    return run_target({"kubeconfig": path, "timeout": 5.0, "groups": list(KUBERNETES_GROUPS)})


def test_client_certificate_data_and_an_exec_token_over_tls_judge_as_plain_http(tls_cluster):
    relay, server_ca, client, directory = tls_cluster
    plugin = directory / "token-plugin.py"
    plugin.write_text(textwrap.dedent("""\
        import json
        print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                          "status": {"token": "exec-issued-token"}}))
        """))
    path = kubeconfig(directory, relay.port, server_ca.path, {
        "client-certificate-data": b64(client.cert), "client-key-data": b64(client.key),
        "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [str(plugin)]}})
    result = run(path)
    not_passing = {c["id"]: c["message"] for c in result["checks"] if c["status"] != "PASS"}
    assert statuses(result) == healthy_statuses(), not_passing
    assert b"authorization: Bearer exec-issued-token" in bytes(relay.sent)
    assert not relay.refused


def test_an_unknown_server_ca_fails_with_a_tls_message(tls_cluster):
    relay, _server_ca, client, directory = tls_cluster
    other = CertificateAuthority(directory / "other", "Other CA")
    user = {"client-certificate-data": b64(client.cert), "client-key-data": b64(client.key)}
    result = run(kubeconfig(directory, relay.port, other.path, user))
    replicas = next(c for c in result["checks"] if c["id"] == "ha.replicas")
    assert replicas["status"] == "FAIL" and "TLS with the API server failed" in replicas["message"], replicas
    assert "unable to get local issuer certificate" in replicas["message"]


def test_without_the_client_certificate_the_server_refuses_the_handshake(tls_cluster):
    relay, server_ca, _client, directory = tls_cluster
    result = run(kubeconfig(directory, relay.port, server_ca.path, {"token": "no-certificate"}))
    replicas = next(c for c in result["checks"] if c["id"] == "ha.replicas")
    assert replicas["status"] == "FAIL" and "API server" in replicas["message"], replicas
    assert relay.refused and not relay.sent
