# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 6, SSL/TLS Certificates: the live TLS endpoint of the API (the checklist's "Certificate valid", with
`openssl s_client` replaced by a real handshake; cert-manager's objects are judged with the Kubernetes checks).

The endpoint is the host and port of an https:// api_url; ``tls_server_name`` overrides the name sent as SNI and
matched against the certificate (for an api_url that names an address or an internal host). One handshake serves
every check of the target (a second one only when the chain is untrusted; see tls_probe). The certificate is
verified against ``ca_path`` when given, else the system CAs, whatever ``validate_certs`` says: judging the
certificate as clients will is the point of these checks.

The redirect of plain HTTP to HTTPS is judged by security.https_enforced (``http_url``); tls.hsts judges the header.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse

from ansible_collections.aragora.ops.plugins.module_utils._clients import tls_probe
from ansible_collections.aragora.ops.plugins.module_utils._engine.causes import UNREACHABLE, CouldNotJudge
from ansible_collections.aragora.ops.plugins.module_utils._checks.common import API_UNREACHABLE, answered
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import mask_url
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    FAIL,
    PASS,
    WARN,
    CheckInputError,
    CheckSkipped,
    Outcome,
    failed,
    passed,
    skipped,
    warned,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "6"

# SSL Labs' bar for an A+: HSTS with a max-age of at least 180 days. (Candidate for DEFAULT_THRESHOLDS.)
HSTS_MIN_MAX_AGE_DAYS = 180
_MAX_AGE = re.compile(r"(?:^|;)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:;|$)", re.I)

_RENEW = ("Renew the certificate: with cert-manager, `kubectl describe certificate aragora-tls -n aragora` and the "
          "ClusterIssuer's events say why it was not renewed; otherwise re-issue it and reload the listener "
          "(ARAGORA_SSL_CERT, the ingress or the load balancer).")


# --- the endpoint and its observation, once per target ---------------------------------------------------------------


def tls_endpoint(ctx: TargetContext) -> tuple[str, int, str]:
    """(host, port, server name) of the API's TLS endpoint; SKIP when the API is not served over TLS."""
    if ctx.client is None:
        raise CheckSkipped("no API URL given (api_url): the TLS endpoint was not probed")
    parts = urllib.parse.urlsplit(ctx.client.base_url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise CheckSkipped("the API is not served over TLS (api_url %s): there is no certificate to check; give the "
                           "https:// URL clients use (security.https_enforced judges plain HTTP)"
                           % mask_url(ctx.client.base_url))
    try:
        port = parts.port or tls_probe.DEFAULT_PORT
    except ValueError:
        raise CheckInputError("api_url %s has an invalid port" % mask_url(ctx.client.base_url)) from None
    return parts.hostname, port, ctx.options.tls_server_name or parts.hostname


def observation(ctx: TargetContext) -> tls_probe.TlsObservation:
    host, port, server_name = tls_endpoint(ctx)
    ca_path = ctx.options.ca_path

    def observe() -> tls_probe.TlsObservation:
        if tls_probe.x509 is None:
            raise CheckInputError("the Python package cryptography is missing on the host the module runs on: "
                                  "pip install cryptography")
        try:
            return tls_probe.observe_tls(host, port, server_name, ca_path, ctx.timeout)
        except tls_probe.TlsProbeError as exc:  # no handshake completed: nothing about the certificate was seen
            raise CouldNotJudge(str(exc), UNREACHABLE, "Make api_url's host and port a TLS listener reachable from "
                                "here (and tls_server_name a name it serves), then re-run.",
                                cause=API_UNREACHABLE if exc.unreachable else None) from None

    return ctx.fact(("tls", host, port, server_name, ca_path), observe)


def _evidence(seen: tls_probe.TlsObservation) -> dict:
    return {"endpoint": seen.endpoint, "server_name": seen.server_name}


def _judge_validity(cert: tls_probe.CertificateInfo, what: str, ctx: TargetContext,
                    now: datetime.datetime) -> tuple[str, str]:
    """(status, sentence) for the validity dates of ``cert``, called ``what`` in the sentence."""
    fail_days, warn_days = ctx.threshold("tls_expiry_fail_days"), ctx.threshold("tls_expiry_warn_days")
    days = cert.days_left(now)
    until = cert.not_after.strftime("%Y-%m-%d %H:%M UTC")
    if now < cert.not_before:
        return FAIL, "%s is not valid before %s (check the issuer's and this host's clocks)" % (
            what, cert.not_before.strftime("%Y-%m-%d %H:%M UTC"))
    if days < 0:
        return FAIL, "%s expired on %s (%g days ago)" % (what, until, -days)
    if days < fail_days:
        return FAIL, "%s expires in %g days (%s), under the %g-day CertificateExpiring threshold" % (
            what, days, until, fail_days)
    if days < warn_days:
        return WARN, "%s expires in %g days (%s), under %g days: renewal is overdue (cert-manager renews a " \
                     "90-day certificate 30 days before it expires)" % (what, days, until, warn_days)
    return PASS, "%s is valid for %g more days (until %s)" % (what, days, until)


# --- the checks ---------------------------------------------------------------------------------------------------


@check("tls.certificate_trusted", SECTION, "Certificate valid: trusted chain",
       "Serve a certificate from a CA clients trust (cert-manager with the letsencrypt-prod ClusterIssuer) with its "
       "full chain (leaf and intermediates); for a private CA that clients are set up to trust, give its bundle as "
       "ca_path.",
       proves="A live handshake with SNI; the chain verifies against `ca_path` or the system CAs.")
def certificate_trusted(ctx: TargetContext):
    seen = observation(ctx)
    evidence = {**_evidence(seen), "verified_against": seen.ca_source, "chain_source": seen.chain_source,
                "chain": [cert.subject for cert in seen.chain], "issuer": seen.leaf.issuer}
    if seen.trusted:
        return passed("Certificate chain of %s is trusted (%s, issued by %s)"
                      % (seen.endpoint, seen.ca_source, seen.leaf.issuer), **evidence)
    evidence.update(verify_code=seen.verify_code, verify_message=seen.verify_message)
    if seen.trusted is None:
        return failed("Certificate chain of %s was not verified: the server completed no TLS 1.2+ handshake "
                      "(see tls.protocol)" % seen.endpoint, **evidence)
    return failed("Certificate of %s is not trusted: %s" % (seen.endpoint, seen.trust_problem), **evidence)


@check("tls.hostname", SECTION, "Certificate valid: issued for the host name",
       "Issue the certificate for the host name clients use (it must be in its subjectAltName); when api_url names "
       "an address or an internal host, set tls_server_name to the public name.",
       proves="The certificate is issued for the host name (subjectAltName).")
def hostname(ctx: TargetContext):
    seen = observation(ctx)
    leaf = seen.leaf
    names = list(leaf.dns_names) + list(leaf.ip_addresses)
    evidence = {**_evidence(seen), "subject": leaf.subject, "subject_alt_names": names}
    if tls_probe.hostname_matches(leaf, seen.server_name):
        return passed("Certificate of %s covers %s" % (seen.endpoint, seen.server_name), **evidence)
    return failed("Certificate of %s is for another host: %s, not %s"
                  % (seen.endpoint, ", ".join(names) or "no subjectAltName (%s)" % leaf.subject, seen.server_name),
                  **evidence)


@check("tls.expiry", SECTION, "Certificate valid: days until expiry (CertificateExpiring)", _RENEW,
       proves="The leaf's days left in a live handshake: FAIL under 7, WARN under 30 (a certificate under 30 days is "
              "a renewal that has not happened).")
def expiry(ctx: TargetContext):
    seen = observation(ctx)
    now = datetime.datetime.now(datetime.timezone.utc)
    status, sentence = _judge_validity(seen.leaf, "Certificate of %s" % seen.endpoint, ctx, now)
    evidence = {**_evidence(seen), **seen.leaf.summary(now), "fail_under_days": ctx.threshold("tls_expiry_fail_days"),
                "warn_under_days": ctx.threshold("tls_expiry_warn_days")}
    return Outcome(status, sentence, evidence)


@check("tls.chain_expiry", SECTION, "Certificate chain: earliest expiry",
       "Replace the expiring CA certificate: serve the issuer's current intermediate chain (re-issuing the leaf "
       "usually brings it); when it is the trust anchor, update the CA bundle (ca_path, the system CAs).",
       proves="The earliest expiry among the chain's CA certificates, separately from the leaf's.",
       cannot_see="The chain on Python older than 3.10 (SKIP).")
def chain_expiry(ctx: TargetContext):
    """The issuers only: the leaf's own expiry is tls.expiry's, so that one cause does not FAIL twice."""
    seen = observation(ctx)
    now = datetime.datetime.now(datetime.timezone.utc)
    evidence = {**_evidence(seen), "chain_source": seen.chain_source,
                "chain": [cert.summary(now) for cert in seen.chain]}
    issuers = seen.chain[1:]
    if not issuers:
        if seen.chain_source == "leaf only":
            return skipped("This Python cannot read the certificate chain (needs 3.10+): only the leaf's expiry "
                           "was judged (tls.expiry)", **evidence)
        return skipped("%s presented no issuing certificate (%s): only the leaf's expiry applies (tls.expiry)"
                       % (seen.endpoint, "self-signed" if seen.leaf.self_issued else "chain not sent"), **evidence)
    earliest = min(issuers, key=lambda cert: cert.not_after)
    evidence["earliest"] = earliest.summary(now)
    evidence["earliest_in_chain"] = min(seen.chain, key=lambda cert: cert.not_after).subject
    status, sentence = _judge_validity(earliest, "CA certificate %s (the first to expire in the chain of %s)" % (
        earliest.subject, seen.endpoint), ctx, now)
    return Outcome(status, sentence, evidence)


@check("tls.protocol", SECTION, "TLS 1.2 or newer",
       "Allow only TLS 1.2 and 1.3 on the listener (nginx: ssl_protocols TLSv1.2 TLSv1.3; a cloud load balancer: "
       "its TLS 1.2+ security policy).",
       proves="TLS 1.2+ negotiated, and 1.0/1.1 refused.")
def protocol(ctx: TargetContext):
    seen = observation(ctx)
    evidence = {**_evidence(seen), "negotiated": seen.protocol, "cipher": seen.cipher}
    if seen.protocol in tls_probe.LEGACY_PROTOCOLS:
        return failed("%s negotiates %s, older than TLS 1.2" % (seen.endpoint, seen.protocol), **evidence)
    host, port, server_name = tls_endpoint(ctx)

    def probe_legacy() -> str | None:
        return tls_probe.accepted_legacy_protocol(host, port, server_name, ctx.timeout)

    try:
        legacy = ctx.fact(("tls-legacy", host, port, server_name), probe_legacy)
    except tls_probe.TlsProbeError as exc:
        evidence["legacy_protocols"] = "unknown: %s" % exc
        return passed("%s negotiates %s (whether it still accepts TLS 1.0/1.1 is unknown: %s)"
                      % (seen.endpoint, seen.protocol, exc), **evidence)
    evidence["legacy_protocols"] = "accepted: %s" % legacy if legacy else "refused"
    if legacy:
        return failed("%s negotiates %s but still accepts %s, older than TLS 1.2" % (
            seen.endpoint, seen.protocol, legacy), **evidence)
    return passed("%s negotiates %s and refuses TLS 1.0/1.1" % (seen.endpoint, seen.protocol), **evidence)


@check("tls.hsts", SECTION, "HSTS sent over HTTPS",
       "Send Strict-Transport-Security: max-age=31536000; includeSubDomains on every HTTPS answer (Aragora 2.11 does "
       "by itself; a proxy in front must not strip it).",
       proves="HSTS over HTTPS with max-age >= 180 days.",
       cannot_see="HSTS on plain HTTP, which browsers ignore.")
def hsts(ctx: TargetContext):
    """Over HTTPS only: Aragora sends the header on plain HTTP too, where browsers ignore it."""
    tls_endpoint(ctx)
    answer = answered(ctx.api("health"))
    header = answer.headers.get("Strict-Transport-Security")
    evidence = {"url": answer.url, "hsts": header,
                # The redirect of port 80 is judged once, by security.https_enforced, when http_url is given.
                "http_redirect": "judged by security.https_enforced (http_url %s)" % (
                    ctx.http_url if ctx.http_url else "not given: the redirect is not checked")}
    if not header:
        return failed("No Strict-Transport-Security header on %s: browsers may still try plain HTTP" % answer.url,
                      **evidence)
    match = _MAX_AGE.search(header)
    if not match:
        return failed("Strict-Transport-Security header without a valid max-age: %r" % header, **evidence)
    max_age_days = round(int(match.group(1)) / 86400, 1)
    evidence.update(max_age_days=max_age_days, include_subdomains="includesubdomains" in header.lower())
    if max_age_days == 0:
        return failed("Strict-Transport-Security max-age=0 switches HSTS off", **evidence)
    if max_age_days < HSTS_MIN_MAX_AGE_DAYS:
        return warned("HSTS max-age is %g days, under %d days" % (max_age_days, HSTS_MIN_MAX_AGE_DAYS), **evidence)
    return passed("HSTS sent (max-age %g days%s)" % (
        max_age_days, ", includeSubDomains" if evidence["include_subdomains"] else ""), **evidence)
