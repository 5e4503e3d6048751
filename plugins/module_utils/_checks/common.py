# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small helpers the check modules share: reading a JSON answer, judging URLs and host names."""

from __future__ import annotations

import typing as t
import urllib.parse

from ansible_collections.aragora.ops.plugins.module_utils._engine.causes import (
    CREDENTIALS,
    NOT_THE_OBJECT,
    UNREACHABLE,
    CouldNotJudge,
)
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import HttpObservation
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import Cause

# The dependencies whose loss stops other checks from judging, each with the check that judges it itself.
API_UNREACHABLE = Cause("health.liveness", "API",
                        "Start the Aragora server, or fix api_url and the network path to it (and ca_path / "
                        "tls_server_name for HTTPS) so that it answers; then run the checks again.")
# HTTPS that fails on the certificate: the TLS check that judges that defect owns it (and FAILs with the detail).
TLS_NAME = Cause("tls.hostname", "TLS (certificate not for the name)",
                 "Serve a certificate for the name the API is reached by, or set tls_server_name to a name the "
                 "certificate covers; then run the checks again.")
TLS_EXPIRED = Cause("tls.expiry", "TLS (certificate expired)", "Renew the certificate; then run the checks again.")
TLS_UNTRUSTED = Cause("tls.certificate_trusted", "TLS (certificate not trusted)",
                      "Give the CA bundle that issued the certificate (ca_path), or serve one from a trusted CA; "
                      "then run the checks again.")
TLS_HANDSHAKE = Cause("tls.protocol", "TLS (no handshake)",
                      "Point api_url at the TLS port (or use http://); then run the checks again.")


def cause_of(error: str) -> Cause:
    """Which check owns the reason an HTTP request got no answer (http_client's sentences)."""
    if "not valid for the name asked for" in error or "mismatch" in error:
        return TLS_NAME
    if "certificate verification failed" in error:
        return TLS_EXPIRED if "expired" in error else TLS_UNTRUSTED
    if error.startswith("TLS handshake failed"):
        return TLS_HANDSHAKE
    return API_UNREACHABLE


LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "[::1]"})

_AUTH_HINT = {
    401: "it asks for credentials",
    403: "it refuses the credentials given",
}


def answered(observation: HttpObservation) -> HttpObservation:
    """The observation, or a FAIL that could not judge (causes.UNREACHABLE) when no HTTP answer came back at all."""
    if observation.error:
        raise CouldNotJudge(observation.describe(), UNREACHABLE, cause=cause_of(observation.error))
    return observation


def json_object(observation: HttpObservation) -> dict[str, t.Any]:
    """The answer's JSON object, whatever the status; a FAIL naming why there is none (no answer, credentials
    refused, not a JSON object)."""
    answered(observation)
    if observation.status in _AUTH_HINT:
        raise CouldNotJudge("%s: %s" % (observation.describe(), _AUTH_HINT[observation.status]), CREDENTIALS)
    try:
        data = observation.json()
    except ValueError as exc:
        raise CouldNotJudge(str(exc), NOT_THE_OBJECT) from None
    if not isinstance(data, dict):
        raise CouldNotJudge("%s: expected a JSON object, got %s" % (observation.describe(), type(data).__name__),
                            NOT_THE_OBJECT)
    return data


def is_json(observation: HttpObservation) -> bool:
    try:
        observation.json()
    except ValueError:
        return False
    return True


def is_local_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.lower().strip("[]")
    return host in LOCAL_HOSTS or host.startswith("127.") or host.endswith(".localhost")


def url_parts(value: str) -> urllib.parse.SplitResult | None:
    """The URL split, or None when it is not an absolute URL with a host."""
    try:
        parts = urllib.parse.urlsplit(value.strip())
    except ValueError:
        return None
    return parts if parts.scheme and parts.hostname else None


def host_of(value: str) -> str:
    """The host of a URL or of a bare 'host[:port]': 'https://a.example:8443/x' and 'a.example:8443' -> 'a.example'."""
    if "://" not in value and value.count(":") > 1 and not value.startswith("["):
        return value.lower()  # a bare IPv6 address such as ::1
    try:
        return urllib.parse.urlsplit(value if "://" in value else "//" + value).hostname or ""
    except ValueError:
        return ""


def split_list(value: str | None) -> list[str]:
    """'a, b,,c' -> ['a', 'b', 'c']."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]
