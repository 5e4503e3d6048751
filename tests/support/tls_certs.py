# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificates for the TLS tests, made with ``cryptography``: a private CA, intermediates, and server certificates
valid for N days, expired (notAfter in the past: OpenSSL 3.0's command line cannot make one), for another host,
or self-signed. Files are PEM; a server certificate's file holds its chain (leaf, then intermediates)::

    root = CertificateAuthority(tmp_path, "Test Root CA")
    expiring = root.issue("expiring", days=3)           # .cert, .key: for Aragora's ARAGORA_SSL_CERT/KEY
    expired = root.issue("expired", days=-1)            # notAfter one day ago
    other_host = root.issue("other", hosts=("api.example.com",))
    alone = self_signed(tmp_path, "alone")
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import os
import typing as t

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOCAL_HOSTS = ("localhost", "127.0.0.1")
# Certificates start a little in the past, so that small clock differences do not make them "not yet valid".
_BACKDATE = datetime.timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class ServerCertificate:
    cert: str  # PEM: the leaf, then the intermediates that issued it
    key: str  # PEM private key (0600)
    not_after: datetime.datetime


class CertificateAuthority:
    """A CA (root, or intermediate when ``parent`` is given) that issues server certificates into ``directory``."""

    def __init__(self, directory: str | os.PathLike[str], name: str, days: float = 365,
                 parent: CertificateAuthority | None = None) -> None:
        self.directory = str(directory)
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.parent = parent
        self.certificate = _build(self.name, self.key.public_key(), parent or self, days, ca=True)
        # Intermediates travel with the leaf; the root is what clients trust (ca_path).
        self.chain: list[x509.Certificate] = ([self.certificate] + parent.chain) if parent else []
        slug = _slug(name)
        self.path = _write(self.directory, slug + "-ca.pem", _pem(self.certificate))

    def intermediate(self, name: str, days: float = 365) -> CertificateAuthority:
        return CertificateAuthority(self.directory, name, days, parent=self)

    def issue(self, name: str, hosts: t.Sequence[str] = LOCAL_HOSTS, days: float = 90,
              client: bool = False) -> ServerCertificate:
        """A server certificate for ``hosts`` valid ``days`` from now; a negative ``days`` makes it already expired.
        ``client``: a client certificate (TLS client authentication) instead."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else name)])
        cert = _build(subject, key.public_key(), self, days, ca=False, hosts=hosts,
                      usage=ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH)
        return _write_server(self.directory, name, cert, key, self.chain)


def self_signed(directory: str | os.PathLike[str], name: str, hosts: t.Sequence[str] = LOCAL_HOSTS,
                days: float = 90) -> ServerCertificate:
    """A server certificate that signs itself, as `openssl req -x509` makes them."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else name)])
    issuer = _SelfIssuer(subject, key)
    cert = _build(subject, key.public_key(), issuer, days, ca=False, hosts=hosts)
    return _write_server(str(directory), name, cert, key, [])


@dataclasses.dataclass(frozen=True)
class _SelfIssuer:
    name: x509.Name
    key: ec.EllipticCurvePrivateKey


def _build(subject: x509.Name, public_key: t.Any, issuer: t.Any, days: float, ca: bool,
           hosts: t.Sequence[str] = (), usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    not_after = now + datetime.timedelta(days=days)
    # An expired certificate was valid once: its notBefore lies well before its notAfter.
    not_before = min(now - _BACKDATE, not_after - datetime.timedelta(days=30))
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer.name).public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    if issuer.name != subject:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
    if not ca:
        builder = (builder
                   .add_extension(x509.SubjectAlternativeName([_general_name(host) for host in hosts]),
                                  critical=False)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    return builder.sign(issuer.key, hashes.SHA256())


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_server(directory: str, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey,
                  chain: t.Sequence[x509.Certificate]) -> ServerCertificate:
    slug = _slug(name)
    cert_path = _write(directory, slug + ".pem", "".join(_pem(c) for c in [cert, *chain]))
    key_path = _write(directory, slug + "-key.pem", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode(), 0o600)
    return ServerCertificate(cert_path, key_path, cert.not_valid_after_utc)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def _write(directory: str, filename: str, text: str, mode: int = 0o644) -> str:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, filename)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path
