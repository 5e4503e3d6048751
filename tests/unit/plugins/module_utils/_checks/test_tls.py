"""Section 6, SSL/TLS Certificates: the checks' judgement on observations built here, the host name rules, and the
certificate parsing. The real handshakes (Aragora, silent and legacy servers) are in tests/integration/test_tls.py."""

from __future__ import annotations

import dataclasses
import datetime
import ssl
import typing as t

import pytest
from tests.unit.plugins.module_utils.ops_fakes import make_ctx, obs, run

from ansible_collections.aragora.ops.plugins.module_utils._clients import tls_probe
from ansible_collections.aragora.ops.plugins.module_utils._clients.tls_probe import CertificateInfo, TlsObservation
from tests.support.tls_certs import CertificateAuthority, self_signed

NOW = datetime.datetime.now(datetime.timezone.utc)
TLS_CHECKS = ("tls.certificate_trusted", "tls.hostname", "tls.expiry", "tls.chain_expiry", "tls.protocol", "tls.hsts")
HSTS_YEAR = {"Strict-Transport-Security": "max-age=31536000; includeSubDomains"}


def cert(subject: str = "CN=api.example.com", issuer: str = "CN=R11", days: float = 60,
         dns: tuple[str, ...] = ("api.example.com",), ips: tuple[str, ...] = (),
         not_before: datetime.datetime | None = None) -> CertificateInfo:
    return CertificateInfo(subject=subject, issuer=issuer, not_before=not_before or NOW - datetime.timedelta(days=30),
                           not_after=NOW + datetime.timedelta(days=days), dns_names=dns, ip_addresses=ips,
                           sha256="ab" * 32)


INTERMEDIATE = cert("CN=R11", "CN=ISRG Root X1", days=400, dns=())
ROOT = cert("CN=ISRG Root X1", "CN=ISRG Root X1", days=3000, dns=())


def observation(leaf: CertificateInfo | None = None, issuers: t.Sequence[CertificateInfo] = (INTERMEDIATE, ROOT),
                **fields: t.Any) -> TlsObservation:
    seen = TlsObservation("api.example.com", 443, "api.example.com", "system CAs", protocol="TLSv1.3",
                          cipher="TLS_AES_256_GCM_SHA384", chain=[leaf or cert(), *issuers], trusted=True)
    return dataclasses.replace(seen, **fields)


class Probe:
    """Stands in for the network: records the calls, answers with ``seen`` (or raises it) and ``legacy``."""

    def __init__(self, seen: TlsObservation | Exception, legacy: str | None | Exception = None) -> None:
        self.seen, self.legacy = seen, legacy
        self.calls: list[tuple] = []

    def observe_tls(self, *args: t.Any) -> TlsObservation:
        self.calls.append(("observe",) + args)
        if isinstance(self.seen, Exception):
            raise self.seen
        return self.seen

    def accepted_legacy_protocol(self, *args: t.Any) -> str | None:
        self.calls.append(("legacy",) + args)
        if isinstance(self.legacy, Exception):
            raise self.legacy
        return self.legacy


@pytest.fixture
def probe(monkeypatch) -> t.Callable[..., Probe]:
    def install(seen: TlsObservation | Exception, legacy: str | None | Exception = None) -> Probe:
        fake = Probe(seen, legacy)
        monkeypatch.setattr(tls_probe, "observe_tls", fake.observe_tls)
        monkeypatch.setattr(tls_probe, "accepted_legacy_protocol", fake.accepted_legacy_protocol)
        return fake
    return install


def tls_ctx(base_url: str = "https://api.example.com", headers: t.Mapping[str, str] | None = None, **kwargs: t.Any):
    health = obs(200, {"status": "healthy"}, headers=HSTS_YEAR if headers is None else headers)
    kwargs["options"] = {"timeout": 3.0, **kwargs.get("options", {})}
    return make_ctx(answers={"/api/health": health}, base_url=base_url, **kwargs)


def run_all(ctx) -> dict[str, dict]:
    return {check_id: run(check_id, ctx) for check_id in TLS_CHECKS}


# --- which endpoint, once ------------------------------------------------------------------------------------------


def test_healthy_endpoint_passes_everything_with_one_observation(probe):
    fake = probe(observation())

    results = run_all(tls_ctx())

    assert {r["status"] for r in results.values()} == {"PASS"}, results
    assert [call[0] for call in fake.calls] == ["observe", "legacy"]
    assert fake.calls[0][1:] == ("api.example.com", 443, "api.example.com", None, 3.0)


def test_port_server_name_and_ca_bundle_come_from_the_target(probe):
    fake = probe(observation())
    ctx = tls_ctx("https://10.0.0.5:8443", options={"tls_server_name": "api.example.com", "ca_path": "/etc/ca.pem"})

    run("tls.expiry", ctx)

    assert fake.calls[0][1:] == ("10.0.0.5", 8443, "api.example.com", "/etc/ca.pem", 3.0)


def test_validate_certs_off_does_not_stop_the_tls_checks_from_verifying(probe):
    fake = probe(observation())
    run("tls.expiry", tls_ctx(options={"validate_certs": False}))
    assert fake.calls[0][1:] == ("api.example.com", 443, "api.example.com", None, 3.0)


@pytest.mark.parametrize("base_url, reason", [
    (None, "no API URL given (api_url)"),
    ("http://127.0.0.1:8080", "the API is not served over TLS (api_url http://127.0.0.1:8080)"),
    ("http://ops:s3cret-pw@api.example.com", "api_url http://ops:********@api.example.com"),
])
def test_no_tls_endpoint_skips_every_check_saying_why(probe, base_url, reason):
    fake = probe(observation())
    ctx = make_ctx() if base_url is None else tls_ctx(base_url)

    results = run_all(ctx)

    assert {r["status"] for r in results.values()} == {"SKIP"}
    assert all(reason in r["message"] for r in results.values())
    assert "s3cret-pw" not in str(results)
    assert not fake.calls


def test_unreachable_endpoint_fails_every_certificate_check_with_the_probes_sentence(probe):
    fake = probe(tls_probe.TlsProbeError("connection to api.example.com:443 refused: nothing listens there"))

    results = run_all(tls_ctx())

    for check_id in TLS_CHECKS[:-1]:
        assert results[check_id]["status"] == "FAIL"
        assert results[check_id]["message"].endswith(": connection to api.example.com:443 refused: nothing listens "
                                                     "there")
    assert len(fake.calls) == 1, "one failed handshake for the whole target"


def test_missing_cryptography_is_a_fail_that_says_what_to_install(probe, monkeypatch):
    probe(observation())
    monkeypatch.setattr(tls_probe, "x509", None)

    result = run("tls.expiry", tls_ctx())

    assert result["status"] == "FAIL" and "pip install cryptography" in result["message"]


# --- trust, host name --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fields, words", [
    ({"verify_code": 18, "verify_message": "self-signed certificate"}, "is not trusted: self-signed certificate"),
    ({"verify_code": 19}, "ends in a self-signed CA that is not trusted (system CAs)"),
    ({"verify_code": 20}, "issued by a CA that is not trusted (system CAs), or an intermediate certificate is missing"),
    ({"verify_code": 26, "verify_message": "unsuitable certificate purpose"}, "unsuitable certificate purpose"),
])
def test_untrusted_chain_says_which_way(probe, fields, words):
    probe(observation(trusted=False, chain_source="presented", **fields))

    result = run("tls.certificate_trusted", tls_ctx())

    assert result["status"] == "FAIL"
    assert words in result["message"]
    assert result["evidence"]["verify_code"] == fields["verify_code"]


def test_legacy_only_server_is_not_called_trusted(probe):
    probe(observation(trusted=None, protocol="TLSv1"))

    result = run("tls.certificate_trusted", tls_ctx())

    assert result["status"] == "FAIL" and "no TLS 1.2+ handshake (see tls.protocol)" in result["message"]


def test_wrong_host_names_the_certificates_names_and_the_expected_one(probe):
    probe(observation(cert(dns=("localhost",), ips=("127.0.0.1",))))

    result = run("tls.hostname", tls_ctx())

    assert result["status"] == "FAIL"
    assert result["message"] == ("Certificate of api.example.com:443 is for another host: localhost, 127.0.0.1, not "
                                 "api.example.com")
    assert result["evidence"]["subject_alt_names"] == ["localhost", "127.0.0.1"]


@pytest.mark.parametrize("dns, ips, name, matches", [
    (("api.example.com",), (), "api.example.com", True),
    (("API.Example.com.",), (), "api.example.com", True),
    (("api.example.com",), (), "API.EXAMPLE.COM.", True),
    (("*.example.com",), (), "api.example.com", True),
    (("*.example.com",), (), "example.com", False),  # a wildcard covers one label, not the apex
    (("*.example.com",), (), "a.b.example.com", False),  # ... nor two
    (("a*.example.com",), (), "api.example.com", False),  # partial wildcards are not honoured
    (("*.*.example.com",), (), "a.b.example.com", False),
    (("www.example.com",), (), "api.example.com", False),
    ((), ("127.0.0.1",), "127.0.0.1", True),
    (("127.0.0.1",), (), "127.0.0.1", False),  # an address must be an IP SAN
    ((), ("::1",), "[::1]", True),
    ((), ("::1",), "0:0:0:0:0:0:0:1", True),
    (("*.0.0.1",), (), "127.0.0.1", False),  # never a wildcard for an address
    ((), (), "api.example.com", False),  # no SAN: the common name is not consulted
])
def test_hostname_rules(dns, ips, name, matches):
    assert tls_probe.hostname_matches(cert(subject="CN=" + name, dns=dns, ips=ips), name) is matches


# --- expiry, of the leaf and of the chain ----------------------------------------------------------------------


@pytest.mark.parametrize("days, status, words", [
    (90, "PASS", "is valid for 90 more days"),
    (30, "PASS", "is valid for 30 more days"),
    (29.5, "WARN", "expires in 29.5 days"),
    (7, "WARN", "expires in 7 days"),
    (6.9, "FAIL", "expires in 6.9 days"),
    (3, "FAIL", "under the 7-day CertificateExpiring threshold"),
    (-2, "FAIL", "expired on"),
])
def test_leaf_expiry_against_the_thresholds(probe, days, status, words):
    probe(observation(cert(days=days)))

    result = run("tls.expiry", tls_ctx())

    assert result["status"] == status, result
    assert words in result["message"]
    assert result["evidence"]["days_left"] == days
    if status != "PASS":
        assert "Renew the certificate" in result["remediation"]


def test_thresholds_can_be_changed(probe):
    probe(observation(cert(days=12)))

    result = run("tls.expiry", tls_ctx(thresholds={"tls_expiry_fail_days": 14, "tls_expiry_warn_days": 45}))

    assert result["status"] == "FAIL" and "under the 14-day" in result["message"]


def test_certificate_not_yet_valid_fails(probe):
    probe(observation(cert(not_before=NOW + datetime.timedelta(days=1))))

    result = run("tls.expiry", tls_ctx())

    assert result["status"] == "FAIL" and "is not valid before" in result["message"]


def test_chain_expiry_judges_the_first_ca_to_expire_and_leaves_the_leaf_to_tls_expiry(probe):
    expiring_intermediate = cert("CN=Old Intermediate", "CN=ISRG Root X1", days=5, dns=())
    probe(observation(cert(days=2), issuers=(expiring_intermediate, ROOT)))

    result = run("tls.chain_expiry", tls_ctx())

    assert result["status"] == "FAIL"
    assert result["message"].startswith("CA certificate CN=Old Intermediate (the first to expire in the chain of "
                                        "api.example.com:443) expires in 5 days")
    assert result["evidence"]["earliest"]["subject"] == "CN=Old Intermediate"
    assert result["evidence"]["earliest_in_chain"] == "CN=api.example.com"
    assert "intermediate chain" in result["remediation"]


@pytest.mark.parametrize("leaf, source, words", [
    (cert(), "leaf only", "This Python cannot read the certificate chain"),
    (cert(issuer="CN=api.example.com"), "presented", "presented no issuing certificate (self-signed)"),
    (cert(), "presented", "presented no issuing certificate (chain not sent)"),
])
def test_chain_expiry_skips_without_issuers(probe, leaf, source, words):
    probe(observation(leaf, issuers=(), chain_source=source, trusted=source == "leaf only"))

    result = run("tls.chain_expiry", tls_ctx())

    assert result["status"] == "SKIP" and words in result["message"]


# --- protocol ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("negotiated, legacy, status, words", [
    ("TLSv1.3", None, "PASS", "negotiates TLSv1.3 and refuses TLS 1.0/1.1"),
    ("TLSv1.2", None, "PASS", "negotiates TLSv1.2"),
    ("TLSv1.3", "TLSv1.1", "FAIL", "negotiates TLSv1.3 but still accepts TLSv1.1"),
    ("TLSv1.1", None, "FAIL", "negotiates TLSv1.1, older than TLS 1.2"),
    ("TLSv1", None, "FAIL", "negotiates TLSv1, older than TLS 1.2"),
    ("TLSv1.3", tls_probe.TlsProbeError("this host's OpenSSL cannot offer TLS 1.0/1.1"), "PASS",
     "whether it still accepts TLS 1.0/1.1 is unknown"),
])
def test_protocol(probe, negotiated, legacy, status, words):
    probe(observation(protocol=negotiated), legacy)

    result = run("tls.protocol", tls_ctx())

    assert result["status"] == status and words in result["message"], result


# --- HSTS ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header, status, words", [
    ("max-age=31536000; includeSubDomains", "PASS", "HSTS sent (max-age 365 days, includeSubDomains)"),
    ("max-age=\"15552000\"", "PASS", "HSTS sent (max-age 180 days)"),
    ("includeSubDomains; max-age=86400", "WARN", "HSTS max-age is 1 days, under 180 days"),
    ("max-age=0", "FAIL", "max-age=0 switches HSTS off"),
    ("max-age=soon", "FAIL", "without a valid max-age"),
    ("preload", "FAIL", "without a valid max-age"),
    (None, "FAIL", "No Strict-Transport-Security header"),
])
def test_hsts(probe, header, status, words):
    probe(observation())
    ctx = tls_ctx(headers={} if header is None else {"Strict-Transport-Security": header})

    result = run("tls.hsts", ctx)

    assert result["status"] == status and words in result["message"], result
    assert "security.https_enforced" in result["evidence"]["http_redirect"]


def test_hsts_names_the_http_url_whose_redirect_security_judges(probe):
    probe(observation())

    result = run("tls.hsts", tls_ctx(http_url="http://api.example.com"))

    assert result["evidence"]["http_redirect"] == "judged by security.https_enforced (http_url http://api.example.com)"


# --- certificates parsed from DER ---------------------------------------------------------------------------------


def test_certificate_info_reads_what_the_checks_need(tmp_path):
    root = CertificateAuthority(tmp_path, "Unit Root")
    issued = root.issue("leaf", hosts=("api.example.com", "10.0.0.5"), days=10)
    alone = self_signed(tmp_path, "alone", days=-1)

    leaf = CertificateInfo.from_der(_der(issued.cert))
    lonely = CertificateInfo.from_der(_der(alone.cert))

    assert (leaf.subject, leaf.issuer) == ("CN=api.example.com", "CN=Unit Root")
    assert (leaf.dns_names, leaf.ip_addresses) == (("api.example.com",), ("10.0.0.5",))
    assert 9.9 <= leaf.days_left() <= 10 and not leaf.self_issued
    assert lonely.self_issued and lonely.days_left() < 0
    assert len(leaf.sha256) == 64


def _der(pem_path: str) -> bytes:
    """The first certificate of a PEM file, as DER."""
    with open(pem_path, encoding="ascii") as handle:
        first = handle.read().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    return ssl.PEM_cert_to_DER_cert(first)
