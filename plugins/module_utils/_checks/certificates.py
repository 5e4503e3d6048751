# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 6, SSL/TLS Certificates, in the cluster: cert-manager runs, the issuers the Aragora Ingress and
Certificates use are Ready, and the Certificate (named, or the one cert-manager makes from the Ingress annotation) is
Ready with its expiry and renewal time, and its Secret exists. The live handshake is the ``tls`` group."""

from __future__ import annotations

import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._checks.k8s_cluster import (
    aragora_services,
    cluster,
    condition,
    condition_true,
    could_not_read,
    listing,
    live_state,
    name_of,
    now,
    parse_time,
    snapshot,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import check
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import K8sError, Snapshot
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import (
    CheckInputError,
    CheckSkipped,
    failed,
    passed,
    warned,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

SECTION = "6"
CLUSTER_ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer"
ISSUER_ANNOTATION = "cert-manager.io/issuer"


def _services(snap: Snapshot) -> set[str]:
    """Names of the Services that route to the Deployment's pods."""
    try:
        return {name_of(svc) for svc in aragora_services(snap)}
    except CheckInputError:
        return set()


def _backends(ingress: dict) -> set[str]:
    spec = ingress.get("spec") or {}
    names = set()
    default = ((spec.get("defaultBackend") or {}).get("service") or {}).get("name")
    if default:
        names.add(default)
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            name = ((path.get("backend") or {}).get("service") or {}).get("name")
            if name:
                names.add(name)
    return names


def aragora_ingresses(snap: Snapshot) -> list[dict]:
    """The Ingresses routing to the Deployment's Services (an Ingress serving other workloads is never judged)."""
    services = _services(snap)
    return [item for item in listing(snap, "ingresses") if _backends(item) & services]


def no_route_message(snap: Snapshot) -> str:
    """Why no certificate is judged: no Ingress routes to the Aragora Service(s), and what the others route to."""
    others = ["%s (routes to %s)" % (name_of(item), ", ".join(sorted(_backends(item))) or "nothing")
              for item in listing(snap, "ingresses")]
    return "No Ingress in namespace %s routes to the Aragora Service(s) %s%s: no certificate serves Aragora" % (
        snap.namespace, ", ".join(sorted(_services(snap))) or "(none selects its pods)",
        "; the namespace's Ingresses serve other Services: %s" % ", ".join(others) if others else "")


def wanted_certificates(ctx: TargetContext, snap: Snapshot) -> tuple[list[dict], list[str]]:
    """(the Certificates to judge, the names that were expected but not found)."""
    missing_crd = snap.missing("certificates")
    if missing_crd:
        raise CheckInputError("cert-manager is not installed: %s" % missing_crd)
    certificates = listing(snap, "certificates")
    explicit = ctx.options.certificate_name
    if explicit:
        found = [item for item in certificates if name_of(item) == explicit]
        return found, [] if found else [explicit]
    if not aragora_ingresses(snap):
        raise CheckInputError(no_route_message(snap))
    secrets = [tls.get("secretName") for ingress in aragora_ingresses(snap)
               for tls in (ingress.get("spec") or {}).get("tls") or [] if tls.get("secretName")]
    if not secrets:
        return [], []  # the Aragora Ingress has no tls: no certificate of another Ingress is judged instead
    found = [item for item in certificates if (item.get("spec") or {}).get("secretName") in secrets]
    missing = [name for name in secrets if name not in {(item.get("spec") or {}).get("secretName") for item in found}]
    return found, missing


@check("certificates.cert_manager", SECTION, "cert-manager installed",
       "Install cert-manager (its controller, cainjector and webhook pods in the cert_manager_namespace) and find why "
       "a pod is not ready: kubectl -n cert-manager describe pods.",
       proves="The pods in `cert_manager_namespace` run and are ready, and the Certificate CRD is served.")
def cert_manager(ctx: TargetContext):
    snap = snapshot(ctx)
    live_state(snap, "whether cert-manager's pods run")
    namespace = ctx.options.cert_manager_namespace
    pods = listing(snap, "cert_manager_pods")
    states = {name_of(pod): "%s%s" % ((pod.get("status") or {}).get("phase"),
                                      "" if condition_true(pod, "Ready") else ", not ready") for pod in pods}
    evidence = {"namespace": namespace, "pods": states, "crds": "missing" if snap.missing("certificates") else "present"}
    if not pods:
        return failed("No cert-manager pods in namespace %s" % namespace, **evidence)
    unhealthy = [name for name, state in states.items() if state != "Running"]
    if unhealthy:
        return failed("cert-manager pods not running and ready: %s" % ", ".join(unhealthy), **evidence)
    if snap.missing("certificates"):
        return failed("cert-manager pods run in %s but the Certificate CRD is not installed" % namespace, **evidence)
    return passed("%d cert-manager pod(s) running and ready in %s" % (len(pods), namespace), **evidence)


@check("certificates.cluster_issuer", SECTION, "ClusterIssuer configured",
       "Create the ClusterIssuer the Ingress annotation names (for example letsencrypt-prod) and find why it is not "
       "Ready: kubectl describe clusterissuer (ACME account registration, DNS/HTTP solver).",
       proves="Each (Cluster)Issuer the Ingress annotation or the Certificates name exists and is Ready.")
def cluster_issuer(ctx: TargetContext):
    snap = snapshot(ctx)
    live_state(snap, "whether the issuers are Ready")
    used: dict[tuple[str, str], str] = {}
    for ingress in aragora_ingresses(snap):
        annotations = (ingress.get("metadata") or {}).get("annotations") or {}
        if annotations.get(CLUSTER_ISSUER_ANNOTATION):
            used[("ClusterIssuer", annotations[CLUSTER_ISSUER_ANNOTATION])] = "Ingress %s" % name_of(ingress)
        if annotations.get(ISSUER_ANNOTATION):
            used[("Issuer", annotations[ISSUER_ANNOTATION])] = "Ingress %s" % name_of(ingress)
    certificates, _missing = wanted_certificates(ctx, snap)
    for certificate in certificates:
        ref = (certificate.get("spec") or {}).get("issuerRef") or {}
        if ref.get("name"):
            used.setdefault((ref.get("kind") or "Issuer", ref["name"]), "Certificate %s" % name_of(certificate))
    if not used:
        return failed("Neither the Ingress (annotation %s) nor a Certificate names an issuer"
                      % CLUSTER_ISSUER_ANNOTATION, ingresses=[name_of(i) for i in aragora_ingresses(snap)])
    states: dict[str, str] = {}
    for (kind, name), user in sorted(used.items()):
        pool = "cluster_issuers" if kind == "ClusterIssuer" else "issuers"
        if snap.missing(pool):
            states["%s %s" % (kind, name)] = "CRD not installed"
            continue
        found = [item for item in listing(snap, pool) if name_of(item) == name]
        if not found:
            states["%s %s" % (kind, name)] = "missing (used by %s)" % user
        elif not condition_true(found[0], "Ready"):
            reason = condition(found[0], "Ready") or {}
            why = reason.get("message") or reason.get("reason") or "no Ready condition"
            states["%s %s" % (kind, name)] = "not Ready: %s" % why
        else:
            states["%s %s" % (kind, name)] = "Ready"
    bad = {key: value for key, value in states.items() if value != "Ready"}
    if bad:
        return failed("Issuer(s) not usable: %s" % "; ".join("%s %s" % item for item in bad.items()), issuers=states)
    return passed("Issuer(s) Ready: %s" % ", ".join(states), issuers=states)


def _secret_exists(ctx: TargetContext, namespace: str, name: str) -> bool | str:
    """Whether the Secret exists; the reason, as a string, when it may not be read (least privilege: cert-manager's
    Ready condition already says the Secret holds the issued certificate)."""
    def produce() -> bool | str:
        try:
            return cluster(ctx).read_secret(namespace, name) is not None
        except K8sError as exc:
            if exc.status in (401, 403):
                return "not read (%s)" % exc
            raise could_not_read(exc) from None

    return ctx.fact(("k8s.secret_exists", namespace, name), produce)


@check("certificates.certificate", SECTION, "Certificate issued",
       "Find why cert-manager has not issued or renewed the certificate: kubectl describe certificate, "
       "certificaterequest and order/challenge in the namespace.",
       proves="The Certificate `certificate_name`, or those whose `secretName` the Ingress's TLS uses: Ready, "
              "`notAfter` (FAIL < 7 days, WARN < 30), `renewalTime` set and not overdue, its Secret exists.")
def certificate(ctx: TargetContext):
    snap = snapshot(ctx)
    certificates, missing = wanted_certificates(ctx, snap)
    if not missing:
        live_state(snap, "whether cert-manager issued Certificate(s) %s" % ", ".join(name_of(c) for c in certificates))
    if missing:
        return failed("No Certificate for %s: %s" % (
            "certificate_name" if ctx.options.certificate_name else "the Ingress TLS secret(s)",
            ", ".join(missing)), missing=missing, certificates=[name_of(item) for item in certificates])
    if not certificates:
        raise CheckSkipped("the Ingress(es) routing to Aragora (%s) have no tls entry and no certificate_name was "
                           "given: nothing for cert-manager to issue" % ", ".join(
                               name_of(item) for item in aragora_ingresses(snap)))
    fail_days, warn_days = ctx.threshold("tls_expiry_fail_days"), ctx.threshold("tls_expiry_warn_days")
    moment = now()
    problems: list[str] = []
    warnings: list[str] = []
    seen: dict[str, dict[str, t.Any]] = {}
    for item in certificates:
        name = name_of(item)
        status = item.get("status") or {}
        secret = (item.get("spec") or {}).get("secretName")
        not_after, renewal = parse_time(status.get("notAfter")), parse_time(status.get("renewalTime"))
        days_left = None if not_after is None else round((not_after - moment).total_seconds() / 86400, 1)
        secret_ok = _secret_exists(ctx, snap.namespace, secret) if secret else False
        seen[name] = {"ready": condition_true(item, "Ready"), "notAfter": status.get("notAfter"),
                      "renewalTime": status.get("renewalTime"), "days_left": days_left, "secret": secret,
                      "secret_exists": secret_ok}
        if not condition_true(item, "Ready"):
            reason = condition(item, "Ready") or {}
            problems.append("%s not Ready (%s)" % (name, reason.get("message") or reason.get("reason") or
                                                   "no Ready condition"))
        if not_after is None:
            problems.append("%s has no notAfter" % name)
        elif days_left is not None and days_left < fail_days:
            problems.append("%s expires in %.1f days" % (name, days_left))
        elif days_left is not None and days_left < warn_days:
            warnings.append("%s expires in %.1f days" % (name, days_left))
        if renewal is None:
            problems.append("%s has no renewalTime: cert-manager has not scheduled its renewal" % name)
        elif renewal < moment:
            warnings.append("%s renewal was due %s and has not happened" % (name, status.get("renewalTime")))
        if secret_ok is False:
            problems.append("%s: its Secret %s does not exist" % (name, secret))
    evidence = {"certificates": seen, "fail_under_days": fail_days, "warn_under_days": warn_days}
    if problems:
        return failed("; ".join(problems), **evidence)
    if warnings:
        return warned("; ".join(warnings), **evidence)
    unread = [info["secret"] for info in seen.values() if isinstance(info["secret_exists"], str)]
    return passed("Certificate(s) Ready, renewal scheduled, %s: %s" % (
        "Secret present" if not unread else "judged from cert-manager's status (Secret %s not readable by this "
        "identity)" % ", ".join(unread),
        ", ".join("%s (%.0f days left)" % (name, info["days_left"]) for name, info in seen.items())), **evidence)
