# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A live TLS endpoint as a client sees it: handshake with SNI, certificate chain, trust, protocol.

One deadline bounds everything (name resolution, TCP connect, the whole handshake), so a server that accepts TCP
and never answers the ClientHello, or trickles its answer, ends at the timeout.

How the chain is obtained and verified (Python's ssl has no public chain accessor before 3.13):

- First handshake: verified by OpenSSL against the system CAs or ``ca_path``, as any client would, except that
  validity dates (X509_V_FLAG_NO_CHECK_TIME) and the host name are left to the callers (the expiry and hostname
  checks), so that an expired or wrong-host certificate is reported as exactly that, and its chain is still read.
  The chain read is the *verified* one (leaf to trust anchor): ``get_verified_chain()``, public since Python 3.13,
  private on ``SSLSocket._sslobj`` in 3.10-3.12.
- Only when that verification fails (self-signed, unknown CA, missing intermediate) or no TLS 1.2+ handshake is
  possible: a second, unverified handshake reads the chain *as presented* by the server (``get_unverified_chain()``)
  and the protocol the server negotiates.
- On a Python without either accessor, only the leaf (``getpeercert(binary_form=True)``) is read.

Certificates are parsed with ``cryptography``; the host name is matched against the subjectAltName only (RFC 6125,
as browsers and Python 3.10+ do: no fallback to the common name).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import ipaddress
import os.path
import selectors
import socket
import ssl
import threading
import time
import typing as t
import warnings

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID
except ImportError:  # reported by the module through missing_required_lib
    x509 = None  # type: ignore[assignment]

DEFAULT_PORT = 443
LEGACY_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")

# X509_V_FLAG_NO_CHECK_TIME (OpenSSL 1.1.0+): validity dates are judged by the expiry checks, not by the handshake.
_NO_CHECK_TIME = 0x200000

# OpenSSL verify codes (x509_vfy.h) and what they mean to an operator.
_SELF_SIGNED_LEAF = 18
_SELF_SIGNED_IN_CHAIN = 19
_UNKNOWN_ISSUER = (2, 20, 21)  # issuer not found / not local / cannot verify the leaf's signature

# Reasons of ssl.SSLError that mean the other end does not speak TLS at all.
_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST",
            "UNKNOWN_PROTOCOL")
# Reasons that mean the server and this client share no protocol version.
_NO_COMMON_PROTOCOL = ("UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE")


class TlsProbeError(Exception):
    """The endpoint could not be observed; the message is one sentence saying what happened and what to check.
    ``unreachable``: no TCP connection at all (the server is down or cannot be reached), not a TLS problem."""

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class HandshakeClosed(TlsProbeError):
    """The server reset or closed the connection in the middle of the handshake."""


@dataclasses.dataclass(frozen=True)
class CertificateInfo:
    """What the checks read from one certificate."""

    subject: str
    issuer: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    sha256: str

    @classmethod
    def from_der(cls, der: bytes) -> CertificateInfo:
        cert = x509.load_der_x509_certificate(der)
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            dns_names = tuple(san.get_values_for_type(x509.DNSName))
            ip_addresses = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
        except x509.ExtensionNotFound:
            dns_names, ip_addresses = (), ()
        return cls(subject=_name(cert.subject), issuer=_name(cert.issuer),
                   not_before=_utc(cert, "not_valid_before"), not_after=_utc(cert, "not_valid_after"),
                   dns_names=dns_names, ip_addresses=ip_addresses,
                   sha256=cert.fingerprint(hashes.SHA256()).hex())

    @property
    def self_issued(self) -> bool:
        return self.subject == self.issuer

    def days_left(self, now: datetime.datetime | None = None) -> float:
        """Days until notAfter (negative once expired), to a tenth of a day."""
        now = now or datetime.datetime.now(datetime.timezone.utc)
        return round((self.not_after - now).total_seconds() / 86400, 1)

    def summary(self, now: datetime.datetime | None = None) -> dict[str, t.Any]:
        """The certificate as evidence."""
        return {"subject": self.subject, "issuer": self.issuer, "not_before": self.not_before.isoformat(),
                "not_after": self.not_after.isoformat(), "days_left": self.days_left(now),
                "sha256": self.sha256}


@dataclasses.dataclass
class TlsObservation:
    """One endpoint's TLS: what was negotiated, the certificates (leaf first) and whether they chain to a trusted CA."""

    host: str
    port: int
    server_name: str
    ca_source: str  # "system CAs" or "ca_path <file>"
    protocol: str | None = None
    cipher: str | None = None
    chain: list[CertificateInfo] = dataclasses.field(default_factory=list)
    chain_source: str = "verified"  # verified (leaf to trust anchor), presented (as sent), leaf only
    trusted: bool | None = None  # None: no TLS 1.2+ handshake, trust not judged
    verify_code: int | None = None
    verify_message: str | None = None
    elapsed_ms: float = 0.0

    @property
    def endpoint(self) -> str:
        return _endpoint(self.host, self.port)

    @property
    def leaf(self) -> CertificateInfo:
        return self.chain[0]

    @property
    def trust_problem(self) -> str:
        """Why the chain is not trusted, in an operator's words ('' when it is)."""
        if self.trusted:
            return ""
        if self.trusted is None:
            return "not judged: the server completed no TLS 1.2+ handshake"
        if self.verify_code == _SELF_SIGNED_LEAF:
            return "self-signed certificate"
        if self.verify_code == _SELF_SIGNED_IN_CHAIN:
            return "the chain ends in a self-signed CA that is not trusted (%s)" % self.ca_source
        if self.verify_code in _UNKNOWN_ISSUER:
            return "issued by a CA that is not trusted (%s), or an intermediate certificate is missing" % (
                self.ca_source)
        return self.verify_message or "verification failed (OpenSSL code %s)" % self.verify_code


def observe_tls(host: str, port: int = DEFAULT_PORT, server_name: str | None = None, ca_path: str | None = None,
                timeout: float = 10.0) -> TlsObservation:
    """Handshake with ``host:port`` sending ``server_name`` (default: ``host``) as SNI; see the module doc.

    Raises TlsProbeError when no handshake completes (refused, timeout, not TLS, ...) or ca_path is unusable.
    """
    server_name = server_name or host
    observation = TlsObservation(host, port, server_name, "ca_path %s" % ca_path if ca_path else "system CAs")
    started = time.monotonic()
    deadline = started + timeout
    verifying = _verifying_context(ca_path)
    try:
        with _handshake(host, port, server_name, verifying, deadline, timeout) as tls:
            _record(observation, tls, verified=True)
            observation.trusted = True
    except ssl.SSLCertVerificationError as exc:
        observation.trusted = False
        observation.verify_code, observation.verify_message = exc.verify_code, exc.verify_message
    except ssl.SSLError as exc:
        if _reason(exc) not in _NO_COMMON_PROTOCOL:
            raise TlsProbeError(_describe_ssl_error(exc, observation.endpoint)) from None
        # No TLS 1.2+ in common: a legacy-only server, observed below with every protocol allowed; trust not judged.
    if not observation.chain:
        try:
            with _handshake(host, port, server_name, _legacy_context(), deadline, timeout) as tls:
                _record(observation, tls, verified=False)
        except ssl.SSLError as exc:
            raise TlsProbeError(_describe_ssl_error(exc, observation.endpoint)) from None
    observation.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    return observation


def accepted_legacy_protocol(host: str, port: int, server_name: str, timeout: float = 10.0) -> str | None:
    """The protocol older than TLS 1.2 the server still accepts (e.g. 'TLSv1.1'), or None when it refuses them.

    Raises TlsProbeError when the question cannot be answered: no answer, or this OpenSSL cannot offer them.
    """
    context = _legacy_context(max_version=ssl.TLSVersion.TLSv1_1)
    try:
        with _handshake(host, port, server_name, context, time.monotonic() + timeout, timeout) as tls:
            return tls.version()
    except ssl.SSLError as exc:
        if _reason(exc) == "NO_PROTOCOLS_AVAILABLE":  # this client's OpenSSL, not the server, refused
            raise TlsProbeError("this host's OpenSSL cannot offer TLS 1.0/1.1, so whether %s still accepts them "
                                "is unknown" % _endpoint(host, port)) from None
        return None  # an alert (protocol version, handshake failure) or a close: the server refused them
    except HandshakeClosed:
        return None  # some servers just hang up on a protocol they do not speak


def hostname_matches(certificate: CertificateInfo, name: str) -> bool:
    """RFC 6125 matching against the subjectAltName: exact DNS names, a wildcard as the whole left-most label
    ('*.example.com' covers 'api.example.com', not 'example.com' nor 'a.b.example.com'), IP addresses exactly."""
    name = name.strip().rstrip(".").lower()
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return any(ipaddress.ip_address(ip) == address for ip in certificate.ip_addresses)
    for pattern in (n.rstrip(".").lower() for n in certificate.dns_names):
        if pattern == name:
            return True
        if pattern.startswith("*.") and "*" not in pattern[2:]:
            label, dot, rest = name.partition(".")
            if label and dot and rest == pattern[2:]:
                return True
    return False


# --- internals ----------------------------------------------------------------------------------------------------


def _name(name: t.Any) -> str:
    """'CN=api.example.com' when there is a common name, the RFC 4514 string otherwise."""
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return "CN=%s" % common[0].value if common else name.rfc4514_string()


def _utc(cert: t.Any, attribute: str) -> datetime.datetime:
    aware = getattr(cert, attribute + "_utc", None)  # cryptography 42+
    if aware is not None:
        return aware
    return getattr(cert, attribute).replace(tzinfo=datetime.timezone.utc)


def _verifying_context(ca_path: str | None) -> ssl.SSLContext:
    """A client context as a browser's (TLS 1.2+, chain verified against the CAs), dates and host name left out."""
    try:
        if ca_path:
            if os.path.isdir(ca_path):
                context = ssl.create_default_context(capath=ca_path)
            else:
                context = ssl.create_default_context(cafile=ca_path)
        else:
            context = ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise TlsProbeError("ca_path %s cannot be used as a CA bundle (%s): give a readable PEM file of CA "
                            "certificates" % (ca_path, getattr(exc, "strerror", None) or exc)) from None
    context.check_hostname = False  # matched by hostname_matches, so that a wrong host does not hide the rest
    context.verify_flags |= _NO_CHECK_TIME
    return context


def _legacy_context(max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """An unverified client context that also offers TLS 1.0/1.1 (OpenSSL 3 needs security level 0 for them)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # deliberately offering deprecated protocols, to detect servers that accept them
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        if max_version is not None:
            context.maximum_version = max_version
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


@contextlib.contextmanager
def _handshake(host: str, port: int, server_name: str, context: ssl.SSLContext, deadline: float,
               timeout: float) -> t.Iterator[ssl.SSLSocket]:
    """A completed TLS connection, closed on exit, every step within ``deadline``.

    Network failures become TlsProbeError; ssl.SSLError (verification, protocol, alerts) is left to the caller,
    which alone knows what it means there.
    """
    endpoint = _endpoint(host, port)
    try:
        sock = _connect(host, port, deadline)
    except socket.gaierror:
        raise TlsProbeError("host name %s does not resolve: check the host in api_url" % host, True) from None
    except ConnectionRefusedError:
        raise TlsProbeError("connection to %s refused: nothing listens there (check the port in api_url and that "
                            "the server runs)" % endpoint, True) from None
    except TimeoutError:
        raise TlsProbeError("no TCP connection to %s within %g s (timeout): the host is down or a firewall drops "
                            "the packets" % (endpoint, timeout), True) from None
    except OSError as exc:
        raise TlsProbeError("cannot connect to %s: %s" % (endpoint, exc.strerror or exc), True) from None
    try:
        tls = context.wrap_socket(sock, server_hostname=server_name.strip("[]"), do_handshake_on_connect=False)
    except ValueError as exc:  # a server name ssl refuses, such as '' or '.example.com'
        sock.close()
        raise TlsProbeError("tls_server_name %r cannot be sent as SNI: %s" % (server_name, exc)) from None
    with tls:
        try:
            _complete_handshake(tls, deadline)
        except ssl.SSLError:
            raise
        except TimeoutError:
            raise TlsProbeError("%s accepted the TCP connection but completed no TLS handshake within %g s "
                                "(timeout): check that this port is a TLS listener and that the server is not "
                                "overloaded" % (endpoint, timeout)) from None
        except OSError as exc:  # reset, or closed mid-handshake
            raise HandshakeClosed(_closed_during_handshake(endpoint, exc.strerror or type(exc).__name__)) from None
        yield tls


def _endpoint(host: str, port: int) -> str:
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def _closed_during_handshake(endpoint: str, detail: str) -> str:
    return ("%s closed the connection during the TLS handshake (%s): check that this port is a TLS listener and "
            "that tls_server_name is a name it serves" % (endpoint, detail))


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError()
    return left


def _resolve(host: str, port: int, deadline: float) -> list[tuple]:
    """getaddrinfo has no timeout of its own: a resolver that never answers is abandoned at the deadline."""
    outcome: dict[str, t.Any] = {}

    def lookup() -> None:
        try:
            outcome["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=lookup, name="tls-resolve-%s" % host, daemon=True)
    worker.start()
    worker.join(_remaining(deadline))
    if worker.is_alive():
        raise TimeoutError()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["addresses"]


def _connect(host: str, port: int, deadline: float) -> socket.socket:
    error: OSError = OSError("no address for %s" % host)
    for family, kind, proto, _canonical, address in _resolve(host, port, deadline):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(address)
            return sock
        except socket.timeout:
            sock.close()
            raise TimeoutError() from None
        except OSError as exc:
            sock.close()
            error = exc
    raise error


def _complete_handshake(tls: ssl.SSLSocket, deadline: float) -> None:
    """The handshake driven without blocking, so that the whole of it (not each read) is bound by ``deadline``."""
    tls.setblocking(False)
    with selectors.DefaultSelector() as selector:
        while True:
            try:
                tls.do_handshake()
                return
            except ssl.SSLWantReadError:
                events = selectors.EVENT_READ
            except ssl.SSLWantWriteError:
                events = selectors.EVENT_WRITE
            selector.register(tls, events)
            ready = selector.select(_remaining(deadline))
            selector.unregister(tls)
            if not ready:
                raise TimeoutError()


def _record(observation: TlsObservation, tls: ssl.SSLSocket, verified: bool) -> None:
    observation.protocol = tls.version()
    cipher = tls.cipher()
    observation.cipher = cipher[0] if cipher else None
    ders, source = _chain_der(tls, verified)
    observation.chain = [CertificateInfo.from_der(der) for der in ders]
    observation.chain_source = source


def _chain_der(tls: ssl.SSLSocket, verified: bool) -> tuple[list[bytes], str]:
    """The chain, leaf first, as DER: verified (leaf to trust anchor) or as presented; the leaf alone if need be."""
    accessor = "get_verified_chain" if verified else "get_unverified_chain"
    # Public on SSLSocket since Python 3.13; on SSLSocket._sslobj (private, _ssl.Certificate items) in 3.10-3.12.
    method = getattr(tls, accessor, None) or getattr(getattr(tls, "_sslobj", None), accessor, None)
    if method is not None:
        chain = [item if isinstance(item, bytes) else item.public_bytes(ssl._ssl.ENCODING_DER)  # pylint: disable=protected-access
                 for item in method() or ()]
        if chain:
            return chain, "verified" if verified else "presented"
    leaf = tls.getpeercert(binary_form=True)
    if not leaf:
        raise TlsProbeError("the server completed the handshake without presenting a certificate")
    return [leaf], "leaf only"


def _reason(exc: ssl.SSLError) -> str:
    return (getattr(exc, "reason", None) or "").upper()


def _describe_ssl_error(exc: ssl.SSLError, endpoint: str) -> str:
    reason = _reason(exc)
    if reason in _NOT_TLS:
        return "%s does not speak TLS (%s): use its TLS port, or an http:// api_url if it serves plain HTTP" % (
            endpoint, reason.lower())
    if reason in _NO_COMMON_PROTOCOL:
        return "%s and this client have no TLS protocol version in common (%s)" % (endpoint, reason.lower())
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return _closed_during_handshake(endpoint, "EOF")
    return ("TLS handshake with %s failed (%s): no cipher in common, or the server wants a client certificate"
            % (endpoint, reason.lower() or exc))
