# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Kubernetes checks share: the cluster to reach, its one snapshot per target, the application's
container, and the Deployment's environment as a configuration source for the configuration checks."""

from __future__ import annotations

import base64
import datetime
import re
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._engine.causes import (
    CREDENTIALS,
    NOT_THE_OBJECT,
    THROTTLED,
    UNREACHABLE,
    CouldNotJudge,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import Loaded, secret_like
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import (
    Cluster,
    ClusterTarget,
    K8sError,
    Snapshot,
    selector_matches,
)
from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_manifests import ManifestCluster
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import Cause, CheckInputError, CheckSkipped
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext, TargetOptions

NOT_GIVEN = ("no Kubernetes cluster given (kubeconfig, kube_context, k8s_in_cluster or k8s_host/K8S_AUTH_HOST) and "
             "no k8s_manifests: the "
             "cluster was not inspected")
_VAR_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")


def cluster_target(options: TargetOptions) -> ClusterTarget | None:
    """The cluster the options name, or None when they name none."""
    # The checks' reads share one timeout in all, as the HTTP checks' concurrent requests do: a trickling API
    # server costs the run one timeout, not one per round of calls.
    return ClusterTarget.from_options(vars(options), options.timeout, total_timeout=options.timeout)


# The check that judges the Kubernetes API itself: it reads the Deployment every Kubernetes check starts from.
KUBERNETES_API_OWNER = "ha.replicas"
# What to do about each reason a read can fail.
_READ_REMEDIATION: dict[str, str] = {
    CREDENTIALS: "Give the Kubernetes identity in use (the kubeconfig's user or the service account) get and list on "
                 "what the message names, or renew its credentials.",
    THROTTLED: "The API server throttled the reads: re-run later, or give the identity in use a FlowSchema with more "
               "concurrency.",
    NOT_THE_OBJECT: "Point the kubeconfig's server at the Kubernetes API server itself, not at a proxy or another "
                    "service.",
    UNREACHABLE: "Make the Kubernetes API server reachable and answering (the kubeconfig's server, its certificate, "
                 "the network), then re-run.",
}
KUBERNETES_API = "Kubernetes API"


def _read_failure_kind(exc: K8sError) -> str:
    if exc.status in (401, 403):
        return CREDENTIALS
    if exc.status == 429:
        return THROTTLED
    if exc.wrong_answer:
        return NOT_THE_OBJECT
    return UNREACHABLE


def could_not_read(exc: K8sError, whole_api: bool = False) -> CouldNotJudge:
    """A Kubernetes read that failed, as a check that could not judge, with the remediation of its cause (not the
    check's own: "set spec.replicas" is no advice when the Deployment could not be read).

    ``whole_api``: the read every Kubernetes check needs (the Deployment). Its failure is then one cause, the
    Kubernetes API, owned by KUBERNETES_API_OWNER (FAIL) and named by every other Kubernetes check (ERROR); a
    Deployment that does not exist is a finding, not a cause, and FAILs every check that needs it."""
    if exc.status == 404:
        return CouldNotJudge(str(exc), NOT_THE_OBJECT, "Point k8s_namespace and k8s_deployment at Aragora's "
                             "Deployment.")
    kind = _read_failure_kind(exc)
    remediation = _READ_REMEDIATION[kind]
    cause = Cause(KUBERNETES_API_OWNER, KUBERNETES_API, remediation) if whole_api else None
    return CouldNotJudge(str(exc), kind, remediation, cause=cause)


def k8s_given(options: TargetOptions) -> bool:
    """Whether the Kubernetes checks have objects to read: a cluster, or rendered manifests."""
    return bool(options.k8s_manifests) or cluster_target(options) is not None


def cluster(ctx: TargetContext) -> Cluster | ManifestCluster:
    """The target's source of objects (one per target): the rendered manifests when k8s_manifests is given, else
    the API client; SKIP when neither was given, FAIL when it cannot be used (a kustomization that does not build)."""
    manifests = ctx.options.k8s_manifests
    target = cluster_target(ctx.options)
    if not manifests and target is None:
        raise CheckSkipped(NOT_GIVEN)

    def produce() -> Cluster | ManifestCluster:
        if manifests:
            try:
                return ManifestCluster(manifests, ctx.options.k8s_namespace, ctx.timeout)
            except K8sError as exc:
                raise CheckInputError(str(exc)) from None
        try:
            return Cluster(target)
        except K8sError as exc:  # no client library, or a kubeconfig that cannot be used: no check can read
            raise CouldNotJudge(str(exc), UNREACHABLE, cause=Cause(
                KUBERNETES_API_OWNER, KUBERNETES_API,
                "Install the kubernetes Python library where the checks run and give a kubeconfig (or k8s_host "
                "and a token) that names a reachable API server; then re-run.")) from None

    return ctx.fact("k8s.cluster", produce)


def snapshot(ctx: TargetContext) -> Snapshot:
    """Everything the checks read from the cluster, read once for all of them."""
    api = cluster(ctx)

    def produce() -> Snapshot:
        try:
            return api.snapshot(ctx.options.k8s_namespace, ctx.options.k8s_deployment,
                                ctx.options.cert_manager_namespace, ctx.options.monitoring_namespaces or ())
        except K8sError as exc:
            raise could_not_read(exc, whole_api=True) from None

    return ctx.fact("k8s.snapshot", produce)


def live_state(snap: Snapshot, what: str) -> None:
    """SKIP, saying so, when the objects are rendered manifests: ``what`` is reported by a running cluster only."""
    if not snap.live:
        raise CheckSkipped("judged from %s: %s is live cluster state, which manifests do not hold; run the check "
                           "against the cluster after apply" % (snap.target, what))


def listing(snap: Snapshot, name: str) -> list[dict]:
    """A listing's items; its API error becomes this check's FAIL."""
    try:
        return snap.items(name)
    except K8sError as exc:
        raise could_not_read(exc) from None


def aragora_services(snap: Snapshot) -> list[dict]:
    """The Services whose selector routes to the Deployment's pods."""
    return [svc for svc in listing(snap, "services")
            if (svc.get("spec") or {}).get("selector")
            and selector_matches({"matchLabels": svc["spec"]["selector"]}, snap.pod_labels)]


def app_container(snap: Snapshot, wanted: str | None) -> dict:
    """The Aragora container: the one named ``wanted`` (k8s_container), else the one named as the Deployment,
    else the first."""
    containers = snap.containers
    if not containers:
        raise CheckInputError("Deployment %s has no containers" % snap.name)
    for name in (wanted, snap.name):
        for container in containers:
            if name and container.get("name") == name:
                return container
    if wanted:
        raise CheckInputError("Deployment %s has no container %s (k8s_container); it has %s"
                              % (snap.name, wanted, ", ".join(c.get("name", "?") for c in containers)))
    return containers[0]


def image_tag(image: str) -> tuple[str | None, bool]:
    """(tag, pinned by digest) of an image reference: 'repo:2.11.1' -> ('2.11.1', False); 'repo' -> (None, False)."""
    name, digest = image.partition("@")[::2]
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    return tag, bool(digest)


def image_release(image: str) -> str | None:
    """The release an image reference names: its digest when pinned by one, else its tag ('ghcr.io/a/aragora:2.11.1'
    and 'aragora/backend:2.11.1' are both '2.11.1'); None for an untagged image."""
    tag, pinned = image_tag(image)
    return image.partition("@")[2] if pinned else tag


def name_of(obj: t.Mapping[str, t.Any]) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def condition(obj: t.Mapping[str, t.Any], kind: str) -> dict | None:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return item
    return None


def condition_true(obj: t.Mapping[str, t.Any], kind: str) -> bool:
    found = condition(obj, kind)
    return bool(found and str(found.get("status")) == "True")


def parse_time(value: t.Any) -> datetime.datetime | None:
    """An RFC 3339 time of the API, aware; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


# --- the Deployment's environment, as a configuration source ------------------------------------------------------

def _decode(value: str) -> str:
    return base64.b64decode(value).decode("utf-8", "replace")


class Resolved(t.NamedTuple):
    values: dict[str, str]
    from_secrets: set[str]  # names whose values came from Secrets
    notes: list[str]
    # every ConfigMap the container consumes -> its entries that hold a secret, as (key, the variable it becomes),
    # overridden by a later source or not: whoever may read the ConfigMap sees them
    config_map_secrets: dict[str, list[tuple[str, str]]]


def resolve_env(api: Cluster, namespace: str, container: t.Mapping[str, t.Any]) -> Resolved:
    """The container's env and envFrom as the kubelet builds them (envFrom first, then env in order, with $(VAR)
    references expanded), with where each value came from."""
    values: dict[str, str] = {}
    from_secrets: set[str] = set()
    config_map_secrets: dict[str, list[tuple[str, str]]] = {}
    notes: list[str] = []
    cache: dict[tuple[str, str], dict | None] = {}

    def source(kind: str, name: str) -> dict[str, str] | None:
        if (kind, name) not in cache:
            obj = api.read_secret(namespace, name) if kind == "Secret" else api.read_config_map(namespace, name)
            if obj is None:
                cache[(kind, name)] = None
            elif kind == "Secret":
                cache[(kind, name)] = {k: _decode(v) for k, v in (obj.get("data") or {}).items()}
                cache[(kind, name)].update(obj.get("stringData") or {})
            else:
                cache[(kind, name)] = dict(obj.get("data") or {})
        return cache[(kind, name)]

    def consumed(config_map: str, key: str, variable: str, value: str) -> None:
        entries = config_map_secrets.setdefault(config_map, [])
        if secret_like(variable, value) and (key, variable) not in entries:
            entries.append((key, variable))

    for item in container.get("envFrom") or []:
        for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = item.get(key)
            if not ref:
                continue
            data = source(kind, ref.get("name", ""))
            if data is None:
                if not ref.get("optional"):
                    notes.append("%s %s (envFrom) does not exist" % (kind, ref.get("name")))
                continue
            for name, value in data.items():
                variable = (item.get("prefix") or "") + name
                values[variable] = value
                if kind == "Secret":
                    from_secrets.add(variable)
                else:
                    from_secrets.discard(variable)
                    consumed(ref.get("name", ""), name, variable, value)
    for item in container.get("env") or []:
        name = item.get("name")
        if not name:
            continue
        if "valueFrom" not in item:
            values[name] = _VAR_REFERENCE.sub(
                lambda m: "$" if m.group(0) == "$$" else values.get(m.group(1), m.group(0)), item.get("value") or "")
            from_secrets.discard(name)
            continue
        value_from = item["valueFrom"] or {}
        for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            ref = value_from.get(key)
            if not ref:
                continue
            data = source(kind, ref.get("name", ""))
            if data is None or ref.get("key") not in data:
                if not ref.get("optional"):
                    notes.append("%s: %s %s key %s does not exist" % (name, kind, ref.get("name"), ref.get("key")))
                break
            values[name] = data[ref["key"]]
            if kind == "Secret":
                from_secrets.add(name)
            else:
                from_secrets.discard(name)
                consumed(ref.get("name", ""), ref["key"], name, data[ref["key"]])
            break
        else:
            notes.append("%s: set at run time (%s), not read" % (name, ", ".join(sorted(value_from)) or "valueFrom"))
    return Resolved(values, from_secrets, notes, config_map_secrets)


def cluster_config(ctx: TargetContext) -> Loaded:
    """The configuration source 'the Deployment's environment' for Config.attach."""
    snap = snapshot(ctx)
    container = app_container(snap, ctx.options.k8s_container)
    try:
        values, from_secrets, notes, config_map_secrets = resolve_env(cluster(ctx), snap.namespace, container)
    except K8sError as exc:
        raise CheckInputError("reading the environment of Deployment %s: %s" % (snap.name, exc)) from None
    label = "Deployment %s/%s container %s" % (snap.namespace, snap.name, container.get("name"))
    if notes:
        label += " (%s)" % "; ".join(notes[:5])
    return values, from_secrets, label, config_map_secrets
