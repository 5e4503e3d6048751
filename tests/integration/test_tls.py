# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 6 against real TLS endpoints: the sandbox's Aragora 2.11.1 (healthy), three more real Aragora servers
with ARAGORA_SSL_ENABLED and certificates made here (a leaf expiring in 3 days under an intermediate expiring in 20,
an expired leaf, a self-signed one), Python ssl servers for what Aragora cannot be made to do (speak TLS 1.1), and a
TCP listener that never answers the ClientHello.

In-process through runner.run_target (what the modules call), and end to end through ansible-playbook.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import ssl
import sys
import threading
import time
import types
import typing as t
import warnings

import pytest
import yaml

from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import run_target
from tests.support import aragora_servers
from tests.support.playbook import ROOT, run_playbook, write_inventory
from tests.support.tls_certs import CertificateAuthority, ServerCertificate, self_signed

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import sandbox  # noqa: E402  pylint: disable=wrong-import-position

TIMEOUT = 2.0
TLS_CHECKS = ("tls.certificate_trusted", "tls.hostname", "tls.expiry", "tls.chain_expiry", "tls.protocol", "tls.hsts")


def check_tls(api_url: str | None, ca_path: str | None = None, **params: t.Any) -> dict[str, dict]:
    """The tls group against one endpoint, as the modules run it; results by id."""
    result = run_target({"api_url": api_url, "ca_path": ca_path, "groups": ["tls"], "timeout": TIMEOUT,
                         "validate_certs": True, "max_body_bytes": 1024 * 1024, **params})
    return {check["id"]: check for check in result["checks"]}


def statuses(checks: t.Mapping[str, dict]) -> dict[str, str]:
    return {check_id: check["status"] for check_id, check in checks.items()}


# --- real Aragora servers with the tests' certificates ------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> types.SimpleNamespace:
    directory = tmp_path_factory.mktemp("tls-certs")
    root = CertificateAuthority(directory, "aragora.ops Test Root CA")
    intermediate = root.intermediate("aragora.ops Test Intermediate CA", days=20)
    return types.SimpleNamespace(
        root=root,
        intermediate=intermediate,
        expiring=intermediate.issue("expiring", days=3),
        expired=root.issue("expired", days=-2),
        self_signed=self_signed(directory, "self-signed"),
    )


def production_env(layout: sandbox.Layout, ports: dict[str, int], served: ServerCertificate) -> dict[str, str]:
    """The sandbox's production configuration with direct TLS on ``served``, on one instance (no Redis, SQLite)."""
    env = sandbox.build_env(layout, ports, redis_password="unused", db_password="unused", db_backend="sqlite")
    for name in ("ARAGORA_REDIS_URL", "ARAGORA_REDIS_KEY_PREFIX", "ARAGORA_RATE_LIMIT_BACKEND", "DATABASE_URL"):
        del env[name]
    env.update(ARAGORA_SINGLE_INSTANCE="true", ARAGORA_BLACKLIST_BACKEND="sqlite",
               ARAGORA_SSL_CERT=served.cert, ARAGORA_SSL_KEY=served.key)
    return env


@pytest.fixture(scope="module")
def aragoras(tmp_path_factory, certs) -> t.Iterator[dict[str, str]]:
    """Three real Aragora 2.11.1 servers, started together, one per certificate: name -> api_url."""
    names = ("expiring", "expired", "self_signed")
    directories = {name: tmp_path_factory.mktemp("aragora-" + name) for name in names}
    with aragora_servers.running(directories, lambda name, layout, ports: production_env(
            layout, ports, getattr(certs, name))) as servers:
        yield {name: server.api_url for name, server in servers.items()}


# --- the sandbox: healthy ---------------------------------------------------------------------------------------


def test_sandbox_passes_every_tls_check(sandbox_state):
    checks = check_tls(sandbox_state["urls"]["api"], sandbox_state["paths"]["ca"])

    assert statuses(checks) == dict.fromkeys(TLS_CHECKS, "PASS"), checks
    assert checks["tls.expiry"]["evidence"]["days_left"] > 80  # the sandbox's 90-day certificate
    assert checks["tls.chain_expiry"]["evidence"]["earliest"]["subject"] == "CN=Aragora Sandbox CA"
    assert checks["tls.protocol"]["evidence"]["negotiated"] in ("TLSv1.2", "TLSv1.3")
    assert checks["tls.protocol"]["evidence"]["legacy_protocols"] == "refused"
    assert "security.https_enforced" in checks["tls.hsts"]["evidence"]["http_redirect"]


# --- real Aragora servers with broken certificates ---------------------------------------------------------------


def test_leaf_expiring_in_3_days_fails_and_the_chain_is_judged_apart(aragoras, certs):
    checks = check_tls(aragoras["expiring"], certs.root.path)

    assert statuses(checks) == {**dict.fromkeys(TLS_CHECKS, "PASS"), "tls.expiry": "FAIL",
                                "tls.chain_expiry": "WARN"}, checks
    expiry = checks["tls.expiry"]
    assert "expires in 3 days" in expiry["message"] and "7-day CertificateExpiring" in expiry["message"]
    assert 2.9 <= expiry["evidence"]["days_left"] <= 3.0
    assert "Renew the certificate" in expiry["remediation"]
    chain = checks["tls.chain_expiry"]
    assert chain["message"].startswith("CA certificate CN=aragora.ops Test Intermediate CA (the first to expire")
    assert "expires in 20 days" in chain["message"]
    assert chain["evidence"]["earliest_in_chain"] == "CN=localhost"  # the leaf: reported by tls.expiry, not here
    assert [c["subject"] for c in chain["evidence"]["chain"]] == [
        "CN=localhost", "CN=aragora.ops Test Intermediate CA", "CN=aragora.ops Test Root CA"]


def test_expired_leaf_fails_as_expired_and_nothing_else(aragoras, certs):
    checks = check_tls(aragoras["expired"], certs.root.path)

    # HSTS cannot be read over HTTPS with an expired certificate: could not judge, for the cause tls.expiry owns.
    assert statuses(checks) == {**dict.fromkeys(TLS_CHECKS, "PASS"), "tls.expiry": "FAIL", "tls.hsts": "ERROR"}, checks
    assert checks["tls.hsts"]["cause"]["check"] == "tls.expiry"
    assert "expired on" in checks["tls.expiry"]["message"] and "days ago" in checks["tls.expiry"]["message"]
    assert checks["tls.expiry"]["evidence"]["days_left"] < -1.9
    # No client gets the HSTS header from a server with an expired certificate; the HTTPS request says why.
    assert "(certificate has expired)" in checks["tls.hsts"]["message"]


def test_self_signed_certificate_is_an_untrusted_fail_that_says_self_signed(aragoras):
    checks = check_tls(aragoras["self_signed"])

    # HSTS cannot be read over HTTPS the client does not trust: could not judge, for the cause trust judges.
    assert statuses(checks) == {**dict.fromkeys(TLS_CHECKS, "PASS"), "tls.certificate_trusted": "FAIL",
                                "tls.chain_expiry": "SKIP", "tls.hsts": "ERROR"}, checks
    assert checks["tls.hsts"]["cause"]["check"] == "tls.certificate_trusted"
    trusted = checks["tls.certificate_trusted"]
    assert trusted["message"].endswith("is not trusted: self-signed certificate")
    assert "CA clients trust" in trusted["remediation"]
    assert "self-signed" in checks["tls.chain_expiry"]["message"]


def test_private_ca_not_given_is_an_unknown_ca(aragoras):
    checks = check_tls(aragoras["expiring"])  # the system CAs do not know the tests' root

    trusted = checks["tls.certificate_trusted"]
    assert trusted["status"] == "FAIL"
    assert "issued by a CA that is not trusted (system CAs)" in trusted["message"]
    assert trusted["evidence"]["chain_source"] == "presented"
    # Trust is judged apart: the expiry and the host name are still reported for what they are.
    assert checks["tls.expiry"]["status"] == "FAIL" and checks["tls.hostname"]["status"] == "PASS"


def test_wrong_host_fails_naming_both_names(aragoras, certs):
    checks = check_tls(aragoras["expired"], certs.root.path, tls_server_name="api.example.com")

    hostname = checks["tls.hostname"]
    assert hostname["status"] == "FAIL"
    assert "is for another host: localhost, 127.0.0.1, not api.example.com" in hostname["message"]
    assert "tls_server_name" in hostname["remediation"]
    assert checks["tls.certificate_trusted"]["status"] == "PASS"


# --- endpoints that are not a working TLS server -----------------------------------------------------------------


@contextlib.contextmanager
def listener(serve: t.Callable[[socket.socket], None]) -> t.Iterator[int]:
    """A loopback TCP listener whose connections ``serve`` handles on their own threads; closed on exit."""
    server = socket.create_server((sandbox.LOOPBACK, 0))
    connections: list[socket.socket] = []

    def accept_loop() -> None:
        while True:
            try:
                connection, _address = server.accept()
            except OSError:
                return  # the listener was closed
            connections.append(connection)
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
        for connection in connections:
            connection.close()


def never_answer(connection: socket.socket) -> None:
    """Accept the TCP connection and say nothing: the ClientHello is never answered."""
    with contextlib.suppress(OSError):
        connection.recv(65536)


def tls_server(served: ServerCertificate, minimum: ssl.TLSVersion, maximum: ssl.TLSVersion) -> t.Callable:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(served.cert, served.key)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 refuses TLS 1.0/1.1 above security level 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version, context.maximum_version = minimum, maximum

    def serve(connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            context.wrap_socket(connection, server_side=True).close()

    return serve


@pytest.mark.timed
def test_server_that_never_answers_the_client_hello_fails_at_the_timeout():
    with listener(never_answer) as port:
        began = time.monotonic()
        checks = check_tls("https://127.0.0.1:%d" % port)
        elapsed = time.monotonic() - began

    assert elapsed < TIMEOUT + 1.0, "the run took %.1f s: the timeout did not end it" % elapsed
    # The HTTPS request for HSTS timed out: could not judge, the API being unreachable (health.liveness's cause).
    assert statuses(checks) == {**dict.fromkeys(TLS_CHECKS, "FAIL"), "tls.hsts": "ERROR"}
    for check_id in TLS_CHECKS[:-1]:
        assert "accepted the TCP connection but completed no TLS handshake within 2 s" in checks[check_id]["message"]
    assert "no answer within 2 s" in checks["tls.hsts"]["message"]  # the HTTPS request, with the same timeout


def test_refused_and_plain_http_endpoints_say_which():
    with listener(lambda connection: None) as port:
        free_port = port  # closed on exit: nothing listens there any more
    refused = check_tls("https://127.0.0.1:%d" % free_port)
    plain = http.server.ThreadingHTTPServer((sandbox.LOOPBACK, 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    try:
        not_tls = check_tls("https://127.0.0.1:%d" % plain.server_address[1])
    finally:
        plain.shutdown()
        plain.server_close()

    assert "connection to 127.0.0.1:%d refused" % free_port in refused["tls.expiry"]["message"]
    assert "does not speak TLS" in not_tls["tls.expiry"]["message"]
    # Refused: the API is down, a cause health.liveness owns; every TLS check says it could not judge.
    assert statuses(refused) == dict.fromkeys(TLS_CHECKS, "ERROR")
    assert {check["cause"]["check"] for check_id, check in refused.items() if check_id != "tls.hsts"} == {
        "health.liveness"}, {check_id: check["message"] for check_id, check in refused.items()}
    # Not TLS: the TLS checks judge it; HSTS could not be read, for the cause tls.protocol owns.
    assert statuses(not_tls) == {**dict.fromkeys(TLS_CHECKS, "FAIL"), "tls.hsts": "ERROR"}
    assert not_tls["tls.hsts"]["cause"]["check"] == "tls.protocol"


def test_no_tls_endpoint_is_a_skip_that_says_so():
    over_http = check_tls("http://127.0.0.1:8080")
    no_api = check_tls(None)

    assert statuses(over_http) == statuses(no_api) == dict.fromkeys(TLS_CHECKS, "SKIP")
    assert "the API is not served over TLS (api_url http://127.0.0.1:8080)" in over_http["tls.expiry"]["message"]
    assert "no API URL given" in no_api["tls.expiry"]["message"]


def test_legacy_protocols_fail_whether_negotiated_or_merely_accepted(certs):
    legacy_only = tls_server(certs.expiring, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1)
    also_legacy = tls_server(certs.expiring, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_3)
    with listener(legacy_only) as old, listener(also_legacy) as mixed:
        old_checks = check_tls("https://127.0.0.1:%d" % old, certs.root.path)
        mixed_checks = check_tls("https://127.0.0.1:%d" % mixed, certs.root.path)

    assert old_checks["tls.protocol"]["status"] == "FAIL"
    assert "negotiates TLSv1.1, older than TLS 1.2" in old_checks["tls.protocol"]["message"]
    assert "no TLS 1.2+ handshake" in old_checks["tls.certificate_trusted"]["message"]
    assert mixed_checks["tls.protocol"]["status"] == "FAIL"
    assert "negotiates TLSv1.3 but still accepts TLSv1.1" in mixed_checks["tls.protocol"]["message"]
    assert mixed_checks["tls.certificate_trusted"]["status"] == "PASS"


# --- end to end ----------------------------------------------------------------------------------------------------


def test_tls_check_module_under_check_mode(tmp_path, sandbox_state, aragoras, certs):
    """The granular module through the real ansible-playbook, under --check: sandbox GO, the Aragora with the
    3-day certificate NO-GO."""
    hosts = {
        "sandbox": {"aragora_api_url": sandbox_state["urls"]["api"], "aragora_ca_path": sandbox_state["paths"]["ca"]},
        "expiring": {"aragora_api_url": aragoras["expiring"], "aragora_ca_path": certs.root.path},
    }
    inventory = write_inventory(str(tmp_path / "inventory.yml"), hosts)
    playbook = tmp_path / "tls.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "TLS of each target", "hosts": "aragora", "gather_facts": False,
        "tasks": [
            {"name": "Check TLS", "register": "tls", "aragora.ops.tls_check": {
                "api_url": "{{ aragora_api_url }}", "ca_path": "{{ aragora_ca_path }}", "timeout": TIMEOUT}},
            {"name": "Show the verdict", "ansible.builtin.debug": {
                "msg": "VERDICT {{ tls.verdict }} FAIL={{ tls.counts.FAIL }} WARN={{ tls.counts.WARN }} "
                       "PASS={{ tls.counts.PASS }} {{ tls.checks | map(attribute='section') | unique | list }}"}},
        ],
    }]))

    result = run_playbook(str(playbook), inventory, None, "--check")

    assert result.returncode == 0, result.stdout[-3000:]
    assert "VERDICT GO FAIL=0 WARN=0 PASS=6 ['6. SSL/TLS Certificates']" in result.stdout
    assert "VERDICT NO-GO FAIL=1 WARN=1 PASS=4 ['6. SSL/TLS Certificates']" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
