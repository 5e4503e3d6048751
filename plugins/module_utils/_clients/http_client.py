# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP observations of a live endpoint: bounded in time and size, errors turned into plain sentences.

Every request has a deadline (connect and read, and a total one while the body streams in) and a body cap, so a
server that accepts and never answers, trickles, or sends 50 MB ends in a clear error instead of a hang.
"""

from __future__ import annotations

import dataclasses
import json
import time
import typing as t

try:
    import requests
    import requests.adapters
    import requests.exceptions
    from requests.structures import CaseInsensitiveDict
except ImportError:  # reported by the module through missing_required_lib
    requests = None  # type: ignore[assignment]
    CaseInsensitiveDict = dict  # type: ignore[misc,assignment]

from ansible_collections.aragora.ops.plugins.module_utils._clients.masking import mask_url

_Adapter = requests.adapters.HTTPAdapter if requests is not None else object


class ServerNameAdapter(_Adapter):  # type: ignore[misc,valid-type]
    """HTTPS to an address (or another host) as if to ``server_name``: sent as SNI and verified in the certificate,
    as a browser reaching the public name through that address would (urllib3's server_hostname/assert_hostname)."""

    def __init__(self, server_name: str) -> None:
        self.server_name = server_name
        super().__init__()

    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        kwargs.update(server_hostname=self.server_name, assert_hostname=self.server_name)
        super().init_poolmanager(*args, **kwargs)


DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
_CHUNK = 64 * 1024


@dataclasses.dataclass
class HttpObservation:
    """One request and what came back; ``error`` is set instead of ``status`` when nothing usable came back."""

    method: str
    url: str
    status: int | None = None
    headers: t.Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""
    elapsed_ms: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> t.Any:
        """The body as JSON; raises ValueError with a short reason when it is not."""
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ValueError("%s %s answered %s with a body that is not JSON (%s): %r"
                             % (self.method, self.url, self.status, exc, self.text[:80])) from None

    def describe(self) -> str:
        """'GET https://host/readyz -> 503 in 12 ms' or '... -> connection refused'."""
        if self.error:
            return "%s %s -> %s" % (self.method, self.url, self.error)
        return "%s %s -> %s in %d ms" % (self.method, self.url, self.status, self.elapsed_ms)


class HttpClient:
    """A requests session with the target's TLS settings and bounds, shared by one target's checks."""

    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT, validate_certs: bool = True,
                 ca_path: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 headers: t.Mapping[str, str] | None = None, server_name: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.server_name = server_name or None  # tls_server_name: SNI and certificate name of every https request
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self.verify: bool | str = (ca_path or True) if validate_certs else False
        self.headers = dict(headers or {})

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + "/" + path.lstrip("/")

    def request(self, method: str, path: str, headers: t.Mapping[str, str] | None = None,
                allow_redirects: bool = True, json_body: t.Any = None) -> HttpObservation:
        url = self.url(path)
        observation = HttpObservation(method, mask_url(url))  # the URL is evidence; a password in it is not
        started = time.monotonic()
        try:
            with requests.Session() as session:
                if self.server_name:
                    session.mount("https://", ServerNameAdapter(self.server_name))
                with session.request(method, url, headers={**self.headers, **(headers or {})}, json=json_body,
                                     timeout=(self.timeout, self.timeout), verify=self.verify, stream=True,
                                     allow_redirects=allow_redirects) as response:
                    observation.status = response.status_code
                    observation.headers = CaseInsensitiveDict(response.headers)
                    observation.body = read_bounded(response.raw, started, self.timeout, self.max_body_bytes)
        except BodyTooLarge:
            observation.error = "answered %s with a body larger than %d bytes (limit: max_body_bytes)" % (
                observation.status, self.max_body_bytes)
        except DeadlineExceeded:
            observation.error = "no complete answer within %g s (timeout)" % self.timeout
        except requests.exceptions.RequestException as exc:
            observation.error = describe_request_error(exc, self.timeout)
        observation.elapsed_ms = (time.monotonic() - started) * 1000
        return observation

    def get(self, path: str, **kwargs: t.Any) -> HttpObservation:
        return self.request("GET", path, **kwargs)


class BodyTooLarge(Exception):
    pass


class DeadlineExceeded(Exception):
    pass


def read_bounded(raw: t.Any, started: float, timeout: float, max_body_bytes: int) -> bytes:
    """The body of a urllib3 response, read by at most ``max_body_bytes`` (BodyTooLarge past them) and within
    ``timeout`` seconds of ``started`` (DeadlineExceeded after): what every HTTP client here reads bodies with."""
    declared = raw.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_body_bytes:
        raise BodyTooLarge()
    chunks, size = [], 0
    while True:
        # read1: at most one socket read, so a server trickling a byte a second still meets the deadline
        # (iter_content would wait for a whole chunk).
        chunk = raw.read1(_CHUNK, decode_content=True)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_body_bytes:
            raise BodyTooLarge()
        if time.monotonic() - started > timeout:
            raise DeadlineExceeded()
        chunks.append(chunk)


def describe_request_error(exc: Exception, timeout: float) -> str:
    """A requests exception as one sentence an operator can act on."""
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        if "CERTIFICATE_VERIFY_FAILED" in text:
            detail = text.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip(" )'\"")
            return "TLS certificate verification failed (%s); give the CA bundle (ca_path) or fix the certificate" % (
                detail or "untrusted")
        if "doesn't match" in text:  # urllib3's CertificateError for an assert_hostname (tls_server_name) mismatch
            return "TLS certificate is not valid for the name asked for (%s); set tls_server_name to a name it " \
                   "serves" % text.split("CertificateError(", 1)[-1].split("))", 1)[0].strip("\"'")[:200]
        if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text:
            return "TLS handshake failed: the port does not speak TLS (use http:// or the TLS port)"
        return "TLS handshake failed: %s" % _last_reason(text)
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return "redirected again and again (%s): a redirect loop; point the URL at the server itself" % text
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout)):
        return "no answer within %g s (timeout)" % timeout
    if isinstance(exc, requests.exceptions.ConnectionError):
        if "Connection refused" in text:
            return "connection refused (nothing listens there, or a firewall rejects it)"
        if "Name or service not known" in text or "nodename nor servname" in text or "NameResolutionError" in text:
            return "host name does not resolve"
        if "RemoteDisconnected" in text or "Connection aborted" in text or "BadStatusLine" in text:
            return "connection closed by the server before a valid HTTP answer"
        return "connection failed: %s" % _last_reason(text)
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return "invalid URL: %s" % text
    return "request failed: %s: %s" % (type(exc).__name__, _last_reason(text))


def _last_reason(text: str) -> str:
    """The innermost reason of a nested urllib3 message, shortened."""
    return text.rsplit(": ", 1)[-1].strip("()'\" ")[:200]
