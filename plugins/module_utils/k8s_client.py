# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes through the official client: one API client per target, and one snapshot of what the checks read.

The snapshot reads the Deployment first (everything else is found from it: its pods and ReplicaSets by its selector
and owner references, the HPA by what it targets, the PDBs by what they select), then every other listing
concurrently. Objects are kept as the API's own JSON (camelCase, as ``kubectl get -o json`` shows them), so that the
checks read manifests and unit-test on plain dicts.

Every call carries ``_request_timeout`` and is never retried. An API error is kept per listing (401, 403 naming the
verb and resource refused, 404, 5xx, timeouts) and raised to the checks that need that listing only; a custom
resource whose API is not served (its CRD is not installed) is recorded as missing, not raised.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import time
import typing as t

try:
    import urllib3
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
except ImportError:  # reported by the module through missing_required_lib
    k8s = None  # type: ignore[assignment]
    k8s_config = None  # type: ignore[assignment]
    urllib3 = None  # type: ignore[assignment]

    class ApiException(Exception):  # type: ignore[no-redef]
        status = None

HOSTNAME_KEY = "kubernetes.io/hostname"
ZONE_KEYS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")

# Custom resources: (group, version, plural, namespaced).
CERTIFICATES = ("cert-manager.io", "v1", "certificates", True)
ISSUERS = ("cert-manager.io", "v1", "issuers", True)
CLUSTER_ISSUERS = ("cert-manager.io", "v1", "clusterissuers", False)
SERVICE_MONITORS = ("monitoring.coreos.com", "v1", "servicemonitors", True)
PROMETHEUS_RULES = ("monitoring.coreos.com", "v1", "prometheusrules", True)

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
            422: "Unprocessable", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}


class KubeError(Exception):
    """An API call that did not answer what was asked; ``str()`` is a sentence naming the call and what to fix."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(frozen=True)
class ClusterTarget:
    """How to reach the cluster, in kubernetes.core's terms: a kubeconfig (and context), the pod's service account,
    or an API server URL with a token or client certificate (what AWX's Kubernetes credential injects as
    K8S_AUTH_*); the explicit fields override what the kubeconfig says."""

    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False
    timeout: float = 10.0
    host: str | None = None
    api_key: str | None = dataclasses.field(default=None, repr=False)
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    validate_certs: bool | None = None
    proxy: str | None = None

    @classmethod
    def from_options(cls, options: t.Mapping[str, t.Any], timeout: float | None = None) -> "ClusterTarget | None":
        """The cluster the modules' connection options (module_args.K8S_CONNECTION_SPEC) name; None for none."""
        if not any(options.get(name) for name in ("kubeconfig", "kube_context", "k8s_in_cluster", "k8s_host")):
            return None
        return cls(kubeconfig=options.get("kubeconfig") or None, context=options.get("kube_context") or None,
                   in_cluster=bool(options.get("k8s_in_cluster")),
                   timeout=float(timeout or options.get("timeout") or 10.0),
                   host=options.get("k8s_host") or None, api_key=options.get("k8s_api_key") or None,
                   ca_cert=options.get("k8s_ca_cert") or None, client_cert=options.get("k8s_client_cert") or None,
                   client_key=options.get("k8s_client_key") or None,
                   validate_certs=options.get("k8s_validate_certs"), proxy=options.get("k8s_proxy") or None)

    def describe(self) -> str:
        if self.in_cluster:
            return "in-cluster service account"
        if self.host and not (self.kubeconfig or self.context):
            return "API server %s" % self.host
        return "kubeconfig %s%s%s" % (self.kubeconfig or "(default)", ", context %s" % self.context if self.context
                                      else "", ", server %s" % self.host if self.host else "")

    def apply(self, configuration: t.Any) -> None:
        """Put the explicit connection fields over what the kubeconfig or service account set."""
        if self.host:
            configuration.host = self.host.rstrip("/")
        if self.api_key:
            # BearerToken: the key the client's auth settings read (kubernetes >= 12); authorization: older ones.
            configuration.api_key = {"BearerToken": "Bearer " + self.api_key, "authorization": "Bearer " + self.api_key}
        for field, attribute in (("ca_cert", "ssl_ca_cert"), ("client_cert", "cert_file"),
                                 ("client_key", "key_file"), ("proxy", "proxy")):
            if getattr(self, field):
                setattr(configuration, attribute, getattr(self, field))
        if self.validate_certs is not None:
            configuration.verify_ssl = self.validate_certs


def _status_message(exc: ApiException) -> str:
    """The ``message`` of the API's Status body, else the raw body's start, else the reason phrase."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body:
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get("message"):
                return str(data["message"])
        except ValueError:
            pass
        return body.strip()[:200]
    return str(getattr(exc, "reason", "") or "")


def api_error(exc: Exception, verb: str, resource: str, namespace: str | None) -> KubeError:
    """A KubeError saying which call failed and why, from an ApiException or a transport error."""
    where = " in namespace %s" % namespace if namespace else " (cluster-wide)"
    if isinstance(exc, ApiException) and getattr(exc, "status", None):
        status = int(exc.status)
        detail = _status_message(exc)
        phrase = "%d %s" % (status, _REASONS.get(status, exc.reason or "error"))
        if status == 401:
            return KubeError("%s %s%s: %s: the cluster rejected the credentials (expired token or certificate?): %s"
                             % (verb, resource, where, phrase, detail), status)
        if status == 403:
            return KubeError("%s %s%s: %s: the identity in use may not %s %s; grant it with a Role/ClusterRole "
                             "rule (verbs [%s], resources [%s]): %s"
                             % (verb, resource, where, phrase, verb, resource, verb, resource.split(".")[0], detail),
                             status)
        return KubeError("%s %s%s: %s: %s" % (verb, resource, where, phrase, detail), status)
    if urllib3 is not None and isinstance(exc, (urllib3.exceptions.TimeoutError,)):
        return KubeError("%s %s%s: no answer from the API server in time (%s)" % (verb, resource, where, exc))
    if urllib3 is not None and isinstance(exc, urllib3.exceptions.HTTPError):
        return KubeError("%s %s%s: cannot reach the API server: %s" % (verb, resource, where, exc))
    return KubeError("%s %s%s: %s: %s" % (verb, resource, where, type(exc).__name__, exc))


def connect(target: ClusterTarget) -> "k8s.ApiClient":
    """An ApiClient for the kubeconfig/context or the in-cluster service account; KubeError when none can be made."""
    if k8s is None:
        raise KubeError("the kubernetes Python client is needed on the host (pip install kubernetes)")
    configuration = k8s.Configuration()
    try:
        if target.in_cluster:
            k8s_config.load_incluster_config(client_configuration=configuration)
        elif target.kubeconfig or target.context or not target.host:
            k8s_config.load_kube_config(config_file=target.kubeconfig, context=target.context,
                                        client_configuration=configuration, persist_config=False)
        target.apply(configuration)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # ConfigException, OSError, YAML errors
        raise KubeError("cannot use %s: %s" % (target.describe(), exc)) from None
    configuration.retries = False  # one timeout per call, never four
    return k8s.ApiClient(configuration)


def selector_string(selector: t.Mapping[str, t.Any] | None) -> str:
    """A LabelSelector as the API's label_selector query string."""
    parts = ["%s=%s" % (k, v) for k, v in sorted(((selector or {}).get("matchLabels") or {}).items())]
    for expression in (selector or {}).get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In":
            parts.append("%s in (%s)" % (key, ",".join(values)))
        elif operator == "NotIn":
            parts.append("%s notin (%s)" % (key, ",".join(values)))
        elif operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append("!" + key)
    return ",".join(parts)


def selector_matches(selector: t.Mapping[str, t.Any] | None, labels: t.Mapping[str, str] | None) -> bool:
    """Whether a LabelSelector selects an object with ``labels``: null selects nothing, {} selects everything."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


@dataclasses.dataclass
class Listing:
    """One listing of the snapshot: its items, or why there are none (an API error, or an API not served)."""

    items: list[dict] = dataclasses.field(default_factory=list)
    error: KubeError | None = None
    missing: str | None = None  # the custom resource's API is not served: its CRD is not installed

    def get(self) -> list[dict]:
        if self.error is not None:
            raise self.error
        return self.items


@dataclasses.dataclass
class Snapshot:
    """What the Kubernetes checks of one target read, fetched once."""

    namespace: str
    target: str  # how the cluster was reached, for evidence
    deployment: dict
    listings: dict[str, Listing]
    fetch_ms: float = 0.0

    def items(self, name: str) -> list[dict]:
        return self.listings[name].get()

    def missing(self, name: str) -> str | None:
        return self.listings[name].missing

    @property
    def template(self) -> dict:
        return (self.deployment.get("spec") or {}).get("template") or {}

    @property
    def pod_labels(self) -> dict[str, str]:
        return (self.template.get("metadata") or {}).get("labels") or {}

    @property
    def containers(self) -> list[dict]:
        return (self.template.get("spec") or {}).get("containers") or []

    @property
    def name(self) -> str:
        return (self.deployment.get("metadata") or {}).get("name", "")

    def owned_pods(self) -> list[dict]:
        """The Deployment's pods: owned by its ReplicaSets when owner references are there, else selected by it."""
        pods = self.items("pods")
        try:
            replicasets = self.items("replicasets")
        except KubeError:
            replicasets = []
        uid = (self.deployment.get("metadata") or {}).get("uid")
        owned_rs = {(rs.get("metadata") or {}).get("uid") for rs in replicasets
                    if uid and any(ref.get("uid") == uid for ref in (rs.get("metadata") or {}).get("ownerReferences") or [])}
        owned_rs.discard(None)
        if not owned_rs:
            return pods
        return [pod for pod in pods
                if any(ref.get("uid") in owned_rs for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])]


class Cluster:
    """One target's API client: typed calls for built-in kinds, the custom objects API for CRDs."""

    def __init__(self, target: ClusterTarget, api_client: t.Any = None) -> None:
        self.target = target
        self.api_client = api_client if api_client is not None else connect(target)
        self.core = k8s.CoreV1Api(self.api_client)
        self.apps = k8s.AppsV1Api(self.api_client)
        self.batch = k8s.BatchV1Api(self.api_client)
        self.autoscaling = k8s.AutoscalingV2Api(self.api_client)
        self.policy = k8s.PolicyV1Api(self.api_client)
        self.networking = k8s.NetworkingV1Api(self.api_client)
        self.custom = k8s.CustomObjectsApi(self.api_client)

    @property
    def _timeout(self) -> tuple[float, float]:
        return (self.target.timeout, self.target.timeout)

    def call(self, verb: str, resource: str, namespace: str | None, method: t.Callable, *args: t.Any,
             **kwargs: t.Any) -> t.Any:
        """The call's JSON answer (raw, as the API sent it); KubeError naming the call otherwise."""
        try:
            response = method(*args, _request_timeout=self._timeout, _preload_content=False, **kwargs)
            data = response.data
        except Exception as exc:  # pylint: disable=broad-exception-caught  # every failure becomes a KubeError
            raise api_error(exc, verb, resource, namespace) from None
        try:
            return json.loads(data)
        except ValueError:
            raise KubeError("%s %s: the API server's answer is not JSON: %r" % (verb, resource, data[:100])) from None

    def listing(self, verb: str, resource: str, namespace: str | None, method: t.Callable, *args: t.Any,
                **kwargs: t.Any) -> Listing:
        try:
            return Listing((self.call(verb, resource, namespace, method, *args, **kwargs) or {}).get("items") or [])
        except KubeError as exc:
            return Listing(error=exc)

    def custom_listing(self, crd: tuple[str, str, str, bool], namespace: str) -> Listing:
        group, version, plural, namespaced = crd
        resource = "%s.%s" % (plural, group)
        if namespaced:
            listing = self.listing("list", resource, namespace, self.custom.list_namespaced_custom_object,
                                   group, version, namespace, plural)
        else:
            listing = self.listing("list", resource, None, self.custom.list_cluster_custom_object,
                                   group, version, plural)
        if listing.error is not None and listing.error.status == 404:
            return Listing(missing="the API %s/%s %s is not served: its CRD is not installed" % (group, version, plural))
        return listing

    def read_deployment(self, namespace: str, name: str) -> dict:
        try:
            return self.call("get", "deployments.apps", namespace, self.apps.read_namespaced_deployment, name, namespace)
        except KubeError as exc:
            if exc.status == 404:
                raise KubeError("Deployment %s not found in namespace %s (k8s_namespace, k8s_deployment): %s"
                                % (name, namespace, exc), 404) from None
            raise

    def _read_or_none(self, resource: str, method: t.Callable, namespace: str, name: str) -> dict | None:
        try:
            return self.call("get", resource, namespace, method, name, namespace)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def read_secret(self, namespace: str, name: str) -> dict | None:
        """The Secret, or None when it does not exist."""
        return self._read_or_none("secrets", self.core.read_namespaced_secret, namespace, name)

    def read_config_map(self, namespace: str, name: str) -> dict | None:
        """The ConfigMap, or None when it does not exist."""
        return self._read_or_none("configmaps", self.core.read_namespaced_config_map, namespace, name)

    def pod_log_tail(self, namespace: str, pod: str, lines: int) -> str:
        try:
            response = self.core.read_namespaced_pod_log(pod, namespace, tail_lines=lines,
                                                         _request_timeout=self._timeout, _preload_content=False)
            return response.data.decode("utf-8", "replace")
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise api_error(exc, "get", "pods/log", namespace) from None

    def snapshot(self, namespace: str, deployment_name: str, cert_manager_namespace: str) -> Snapshot:
        """The Deployment (KubeError when it cannot be read), then every other listing concurrently."""
        started = time.monotonic()
        deployment = self.read_deployment(namespace, deployment_name)
        selector = selector_string((deployment.get("spec") or {}).get("selector"))
        ns = namespace
        jobs: dict[str, t.Callable[[], Listing]] = {
            "pods": lambda: self.listing("list", "pods", ns, self.core.list_namespaced_pod, ns, label_selector=selector),
            "replicasets": lambda: self.listing("list", "replicasets.apps", ns, self.apps.list_namespaced_replica_set,
                                                ns, label_selector=selector),
            "nodes": lambda: self.listing("list", "nodes", None, self.core.list_node),
            "hpas": lambda: self.listing("list", "horizontalpodautoscalers.autoscaling", ns,
                                         self.autoscaling.list_namespaced_horizontal_pod_autoscaler, ns),
            "pdbs": lambda: self.listing("list", "poddisruptionbudgets.policy", ns,
                                         self.policy.list_namespaced_pod_disruption_budget, ns),
            "services": lambda: self.listing("list", "services", ns, self.core.list_namespaced_service, ns),
            "jobs": lambda: self.listing("list", "jobs.batch", ns, self.batch.list_namespaced_job, ns),
            "cronjobs": lambda: self.listing("list", "cronjobs.batch", ns, self.batch.list_namespaced_cron_job, ns),
            "ingresses": lambda: self.listing("list", "ingresses.networking.k8s.io", ns,
                                              self.networking.list_namespaced_ingress, ns),
            "daemonsets": lambda: self.listing("list", "daemonsets.apps", None,
                                               self.apps.list_daemon_set_for_all_namespaces),
            "cert_manager_pods": lambda: self.listing("list", "pods", cert_manager_namespace,
                                                      self.core.list_namespaced_pod, cert_manager_namespace),
            "certificates": lambda: self.custom_listing(CERTIFICATES, ns),
            "issuers": lambda: self.custom_listing(ISSUERS, ns),
            "cluster_issuers": lambda: self.custom_listing(CLUSTER_ISSUERS, ns),
            "service_monitors": lambda: self.custom_listing(SERVICE_MONITORS, ns),
            "prometheus_rules": lambda: self.custom_listing(PROMETHEUS_RULES, ns),
        }
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            futures = {name: pool.submit(job) for name, job in jobs.items()}
            listings = {name: future.result() for name, future in futures.items()}
        return Snapshot(namespace, self.target.describe(), deployment, listings,
                        round((time.monotonic() - started) * 1000, 1))
