# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes through the official client: one API client per target, and one snapshot of what the checks read.

Reads go straight to the REST path of each kind we know (``Kind.path``), through the official client's connection
pool and credentials: no API discovery, and none of the typed API classes, whose first use costs about a second of
CPU in every fresh module process (kubernetes 37 builds CoreV1Api alone in ~0.5 s). A kind is one ``Kind`` line; a
read is one call of ``Cluster.read``/``list_items``/``listing``. The typed APIs (``core``, ``apps``, ...) remain, built
only when a caller asks for one.

The snapshot reads the Deployment first (everything else is found from it: its pods and ReplicaSets by its selector
and owner references, the HPA by what it targets, the PDBs by what they select), then every other listing
concurrently. Objects are kept as the API's own JSON (camelCase, as ``kubectl get -o json`` shows them), so that the
checks read manifests and unit-test on plain dicts.

Every call is bounded at the transport (``BoundedTransport``, under the client's own calls, whichever API they use):
a total deadline per call (a server trickling its answer ends at the timeout, as in http_client), optionally one
deadline shared by every call of a target's checks, and a body cap; calls are never retried. Every answer is checked
to be the Kubernetes object or list asked for before anything judges it. An API error is kept per listing (401, 403
naming the verb and resource refused, 404, 5xx, timeouts) and raised to the checks that need that listing only; a
custom resource whose API is not served (its CRD is not installed) is recorded as missing, not raised.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import errno
import functools
import importlib.util
import json
import time
import types
import typing as t
import urllib.parse

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import kubeconfig
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import (
    BodyTooLarge,
    DeadlineExceeded,
    read_bounded,
)

try:
    import urllib3  # requests' transport too: already loaded by the HTTP probes
except ImportError:  # reported by the module through missing_required_lib
    urllib3 = None  # type: ignore[assignment]

# The official client is imported when a cluster is first reached, not with this module: a target without a cluster
# (the API-only checks, the health gate of a rollback) never pays its ~0.3 s of imports.
HAS_KUBERNETES = importlib.util.find_spec("kubernetes") is not None


@functools.lru_cache(maxsize=None)
def _kubernetes() -> types.SimpleNamespace:
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel

    return types.SimpleNamespace(client=client, config=config)


USER_AGENT = "aragora.ops"
HOSTNAME_KEY = "kubernetes.io/hostname"
ZONE_KEYS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")


@dataclasses.dataclass(frozen=True)
class Kind:
    """A resource by its REST path, as the API server serves it: no discovery is needed for the kinds we know."""

    group: str  # "" for the core API (/api/v1)
    version: str
    plural: str
    namespaced: bool = True

    @property
    def resource(self) -> str:
        """The name RBAC rules and kubectl use: ``deployments.apps``, ``pods``."""
        return "%s.%s" % (self.plural, self.group) if self.group else self.plural

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """``/apis/apps/v1/namespaces/NS/deployments/NAME``; without a namespace, the cluster-wide list."""
        parts = ["api", self.version] if not self.group else ["apis", self.group, self.version]
        if self.namespaced and namespace:
            parts += ["namespaces", namespace]
        parts.append(self.plural)
        parts += [part for part in (name, subresource) if part]
        return "/" + "/".join(urllib.parse.quote(part, safe="") for part in parts)


PODS = Kind("", "v1", "pods")
NODES = Kind("", "v1", "nodes", namespaced=False)
SERVICES = Kind("", "v1", "services")
SECRETS = Kind("", "v1", "secrets")
CONFIG_MAPS = Kind("", "v1", "configmaps")
NAMESPACES = Kind("", "v1", "namespaces", namespaced=False)
PVCS = Kind("", "v1", "persistentvolumeclaims")
DEPLOYMENTS = Kind("apps", "v1", "deployments")
REPLICA_SETS = Kind("apps", "v1", "replicasets")
DAEMON_SETS = Kind("apps", "v1", "daemonsets")
HPAS = Kind("autoscaling", "v2", "horizontalpodautoscalers")
PDBS = Kind("policy", "v1", "poddisruptionbudgets")
JOBS = Kind("batch", "v1", "jobs")
CRON_JOBS = Kind("batch", "v1", "cronjobs")
INGRESSES = Kind("networking.k8s.io", "v1", "ingresses")
NETWORK_POLICIES = Kind("networking.k8s.io", "v1", "networkpolicies")
# Custom resources: served only where their CRD is installed.
CERTIFICATES = Kind("cert-manager.io", "v1", "certificates")
ISSUERS = Kind("cert-manager.io", "v1", "issuers")
CLUSTER_ISSUERS = Kind("cert-manager.io", "v1", "clusterissuers", namespaced=False)
SERVICE_MONITORS = Kind("monitoring.coreos.com", "v1", "servicemonitors")
PROMETHEUS_RULES = Kind("monitoring.coreos.com", "v1", "prometheusrules")
CUSTOM_KINDS = (CERTIFICATES, ISSUERS, CLUSTER_ISSUERS, SERVICE_MONITORS, PROMETHEUS_RULES)

# The largest answer read from the API server: a listing of thousands of pods or nodes fits well within it.
MAX_BODY_BYTES = 64 * 1024 * 1024

# The kind a get of each resource answers (a list answers the same kind + "List").
KINDS = {"deployments.apps": "Deployment", "replicasets.apps": "ReplicaSet", "pods": "Pod", "secrets": "Secret",
         "configmaps": "ConfigMap", "nodes": "Node", "services": "Service", "jobs.batch": "Job",
         "cronjobs.batch": "CronJob", "daemonsets.apps": "DaemonSet",
         "horizontalpodautoscalers.autoscaling": "HorizontalPodAutoscaler",
         "poddisruptionbudgets.policy": "PodDisruptionBudget", "ingresses.networking.k8s.io": "Ingress",
         "certificates.cert-manager.io": "Certificate", "issuers.cert-manager.io": "Issuer",
         "clusterissuers.cert-manager.io": "ClusterIssuer", "servicemonitors.monitoring.coreos.com": "ServiceMonitor",
         "prometheusrules.monitoring.coreos.com": "PrometheusRule", "rollouts.argoproj.io": "Rollout"}

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
            422: "Unprocessable", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}


class K8sError(Exception):
    """An API call that did not answer what was asked; ``str()`` is a sentence naming the call and what to fix."""

    def __init__(self, message: str, status: int | None = None, wrong_answer: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.wrong_answer = wrong_answer  # an answer came, but not the object or list asked for


@dataclasses.dataclass(frozen=True)
class ClusterTarget:
    """How to reach the cluster, in kubernetes.core's terms: a kubeconfig (and context), the pod's service account,
    or an API server URL with a token or client certificate (what AWX's Kubernetes credential injects as
    K8S_AUTH_*); the explicit fields override what the kubeconfig says."""

    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False
    timeout: float = 10.0  # seconds for each call, from connecting to the last byte of the answer
    total_timeout: float | None = None  # seconds for every call of this client together (None: no such bound)
    max_body_bytes: int = MAX_BODY_BYTES
    host: str | None = None
    api_key: str | None = dataclasses.field(default=None, repr=False)
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    validate_certs: bool | None = None
    proxy: str | None = None

    @classmethod
    def from_options(cls, options: t.Mapping[str, t.Any], timeout: float | None = None,
                     total_timeout: float | None = None) -> "ClusterTarget | None":
        """The cluster the modules' connection options (k8s_args.K8S_CONNECTION_SPEC) name; None for none."""
        if not any(options.get(name) for name in ("kubeconfig", "k8s_context", "k8s_in_cluster", "k8s_host")):
            return None
        return cls(kubeconfig=options.get("kubeconfig") or None, context=options.get("k8s_context") or None,
                   in_cluster=bool(options.get("k8s_in_cluster")),
                   timeout=float(timeout or options.get("timeout") or 10.0), total_timeout=total_timeout,
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

    def override(self, credentials: kubeconfig.Credentials) -> kubeconfig.Credentials:
        """The explicit connection fields over what the kubeconfig or service account gave."""
        changes: dict[str, t.Any] = {field: getattr(self, name) for name, field in (
            ("ca_cert", "ca_file"), ("client_cert", "cert_file"), ("client_key", "key_file"), ("proxy", "proxy"))
            if getattr(self, name)}
        if self.host:
            changes["server"] = self.host.rstrip("/")
        if self.api_key:
            changes["authorization"] = kubeconfig.fixed_authorization("Bearer " + self.api_key)
        if self.validate_certs is not None:
            changes["verify"] = bool(self.validate_certs)
        return dataclasses.replace(credentials, **changes)

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


def _status_message(exc: Exception) -> str:
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


def _where(namespace: str | None) -> str:
    return " in namespace %s" % namespace if namespace else " (cluster-wide)"


def shape_problem(verb: str, resource: str, answer: t.Any) -> str | None:
    """Why ``answer`` is not what ``verb resource`` answers on a Kubernetes API server (None when it is): a get
    answers the resource's object with its kind, apiVersion and metadata; a list answers kind ...List with items."""
    def seen() -> str:
        return "the answer is %s" % (json.dumps(answer)[:80] if not isinstance(answer, dict)
                                     else "an object with kind %r" % answer.get("kind"))

    if not isinstance(answer, dict):
        return "expected a Kubernetes object, %s" % seen()
    kind = KINDS.get(resource)
    if verb == "list":
        items = answer.get("items")
        expected = kind + "List" if kind else "a ...List"
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items) \
                or not str(answer.get("kind") or "").endswith("List") or not answer.get("apiVersion"):
            return "expected %s with an items list, %s" % (expected, seen())
        if kind and answer["kind"] != expected:
            return "expected %s, %s" % (expected, seen())
        return None
    if verb == "get":
        if not answer.get("apiVersion") or not isinstance(answer.get("metadata"), dict) \
                or (kind and answer.get("kind") != kind) or not answer.get("kind"):
            return "expected %s, %s" % (kind or "a Kubernetes object", seen())
    return None


def api_error(exc: Exception, verb: str, resource: str, namespace: str | None) -> K8sError:
    """A K8sError saying which call failed and why, from an ApiException or a transport error."""
    where = _where(namespace)
    # An answer of the API server (the client's ApiException, or HttpStatus from a REST read) carries its status.
    if isinstance(getattr(exc, "status", None), int) and exc.status:
        status = int(exc.status)
        detail = _status_message(exc)
        phrase = "%d %s" % (status, _REASONS.get(status, exc.reason or "error"))
        if status == 401:
            return K8sError("%s %s%s: %s: the cluster rejected the credentials (expired token or certificate?): %s"
                            % (verb, resource, where, phrase, detail), status)
        if status == 429:
            return K8sError("%s %s%s: %s: throttled by the API server's rate limiter (API priority and fairness): %s"
                            % (verb, resource, where, phrase, detail), status)
        if status == 403:
            return K8sError("%s %s%s: %s: the identity in use may not %s %s; grant it with a Role/ClusterRole "
                            "rule (verbs [%s], resources [%s]): %s"
                            % (verb, resource, where, phrase, verb, resource, verb, resource.split(".")[0], detail),
                            status)
        return K8sError("%s %s%s: %s: %s" % (verb, resource, where, phrase, detail), status)
    if isinstance(exc, TotalDeadlineExceeded):
        return K8sError("%s %s%s: %s" % (verb, resource, where, exc))
    if isinstance(exc, DeadlineExceeded):
        return K8sError("%s %s%s: %s" % (verb, resource, where, exc))
    if isinstance(exc, BodyTooLarge):
        return K8sError("%s %s%s: the API server's answer is larger than %s bytes: not an answer this client reads"
                        % (verb, resource, where, exc))
    if urllib3 is not None and isinstance(exc, urllib3.exceptions.HTTPError):
        return K8sError("%s %s%s: %s" % (verb, resource, where, transport_problem(exc)))
    return K8sError("%s %s%s: %s: %s" % (verb, resource, where, type(exc).__name__, exc))


def transport_problem(exc: Exception) -> str:
    """A urllib3 error as what happened on the way to the API server, most specific first: a refused connection is
    not a timeout (urllib3's NewConnectionError is a ConnectTimeoutError)."""
    reason = getattr(exc, "reason", None) or exc  # MaxRetryError wraps the error that happened
    text = str(reason)
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        return "the API server's host name does not resolve (check the kubeconfig's server)"
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        cause = reason.__cause__ or reason.__context__
        if getattr(cause, "errno", None) == errno.ECONNREFUSED or "Connection refused" in text:
            return "connection to the API server refused (nothing listens there, or a firewall rejects it): " \
                   "check the kubeconfig's server"
        return "cannot connect to the API server: %s" % text.rsplit(": ", 1)[-1]
    if isinstance(reason, urllib3.exceptions.SSLError):
        return "TLS with the API server failed: %s" % text.rsplit(": ", 1)[-1][:200]
    if isinstance(reason, (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError)):
        return "no answer from the API server in time (timeout)"
    if isinstance(reason, urllib3.exceptions.ProtocolError):
        return "the API server closed the connection without a valid HTTP answer"
    return "cannot reach the API server: %s" % text[:200]


class TotalDeadlineExceeded(Exception):
    """The calls of one client have used up its total_timeout."""


class BoundedTransport:
    """The ApiClient's urllib3 pool manager, each answer read whole under a deadline and a size cap before the client
    sees it (http_client.read_bounded), so no API, typed or raw, can hang on a trickle or read 200 MB."""

    def __init__(self, pool: t.Any, target: ClusterTarget) -> None:
        self.pool = pool
        self.target = target
        self._end: float | None = None  # when total_timeout runs out, set at the first call

    def _budget(self) -> float:
        """Seconds this call may take: the timeout, or what is left of the total."""
        if self.target.total_timeout is None:
            return self.target.timeout
        now = time.monotonic()
        if self._end is None:
            self._end = now + self.target.total_timeout
        left = self._end - now
        if left <= 0:
            raise TotalDeadlineExceeded("not asked: the Kubernetes calls of this target took their %g s in all "
                                        "(timeout) and the API server had not answered them all"
                                        % self.target.total_timeout)
        return min(self.target.timeout, left)

    def request(self, method: str, url: str, **kwargs: t.Any) -> t.Any:
        budget = self._budget()
        started = time.monotonic()
        kwargs.update(preload_content=False, timeout=urllib3.Timeout(connect=budget, read=budget))
        try:
            response = self.pool.request(method, url, **kwargs)
        except urllib3.exceptions.NewConnectionError:
            raise  # refused or unreachable: not a timeout, though urllib3 derives it from one
        except (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError):
            raise DeadlineExceeded("no answer from the API server in time (within %g s, timeout)"
                                   % self.target.timeout) from None
        try:
            body = read_bounded(response, started, budget, self.target.max_body_bytes)
        except (BodyTooLarge, DeadlineExceeded, urllib3.exceptions.ReadTimeoutError) as exc:
            response.close()  # the rest of the answer is not wanted: the connection must not be reused
            if isinstance(exc, BodyTooLarge):
                raise BodyTooLarge(self.target.max_body_bytes) from None
            raise DeadlineExceeded("no complete answer from the API server within %g s (timeout)"
                                   % self.target.timeout) from None
        response.release_conn()
        return urllib3.HTTPResponse(body=body, headers=response.headers, status=response.status,
                                    reason=response.reason, preload_content=True, request_method=method,
                                    request_url=url)

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self.pool, name)


def credentials_for(target: ClusterTarget) -> kubeconfig.Credentials:
    """The target's credentials by this collection's own loader, the explicit fields over what the kubeconfig or
    service account say; K8sError when none can be had, NeedsOfficialLoader for a legacy auth-provider."""
    try:
        if target.in_cluster:
            credentials = kubeconfig.load_in_cluster()
        elif target.kubeconfig or target.context or not target.host:
            credentials = kubeconfig.load_kubeconfig(target.kubeconfig, target.context, target.timeout)
        else:
            credentials = kubeconfig.Credentials(server=target.host.rstrip("/"))
    except kubeconfig.NeedsOfficialLoader:
        raise
    except kubeconfig.KubeconfigError as exc:
        raise K8sError("cannot use %s: %s" % (target.describe(), exc)) from None
    return target.override(credentials)


def http_pool(credentials: kubeconfig.Credentials, target: ClusterTarget) -> BoundedTransport:
    """A urllib3 pool for the API server with the credentials' TLS (CA, client certificate, server name) and proxy,
    bounded as every call of this module is (BoundedTransport); connections are kept and reused by every read."""
    tls: dict[str, t.Any] = {"cert_reqs": "CERT_REQUIRED" if credentials.verify else "CERT_NONE",
                             "ca_certs": credentials.ca_file, "cert_file": credentials.cert_file,
                             "key_file": credentials.key_file}
    if credentials.tls_server_name:
        tls["server_hostname"] = credentials.tls_server_name
    # The snapshot's listings run at once: one connection each, kept for the reads that follow.
    sizes = {"num_pools": 4, "maxsize": 32}
    proxy = credentials.proxy
    if proxy and proxy.startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager  # pylint: disable=import-outside-toplevel

        pool = SOCKSProxyManager(proxy, **sizes, **tls)
    elif proxy:
        pool = urllib3.ProxyManager(proxy, **sizes, **tls)
    else:
        pool = urllib3.PoolManager(**sizes, **tls)
    return BoundedTransport(pool, target)


def connect(target: ClusterTarget, credentials: kubeconfig.Credentials | None = None) -> t.Any:
    """An official ApiClient (for the typed APIs) with the target's credentials; K8sError when none can be made.

    The credentials are this collection's loader's (the same as the REST reads use); only a kubeconfig whose user
    has a legacy auth-provider is read by the official client's loader."""
    if not HAS_KUBERNETES:
        raise K8sError("the kubernetes Python client is needed on the host (pip install kubernetes)")
    k8s, k8s_config = _kubernetes().client, _kubernetes().config
    configuration = k8s.Configuration()
    try:
        credentials = credentials or credentials_for(target)
    except kubeconfig.NeedsOfficialLoader:
        try:
            k8s_config.load_kube_config(config_file=target.kubeconfig, context=target.context,
                                        client_configuration=configuration, persist_config=False)
            target.apply(configuration)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # ConfigException, OSError, YAML errors
            raise K8sError("cannot use %s: %s" % (target.describe(), exc)) from None
    else:
        configure(configuration, credentials)
    configuration.retries = False  # one timeout per call, never four
    configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize or 0, 32)  # the snapshot's
    api_client = k8s.ApiClient(configuration)
    api_client.rest_client.pool_manager = BoundedTransport(api_client.rest_client.pool_manager, target)
    return api_client


def configure(configuration: t.Any, credentials: kubeconfig.Credentials) -> None:
    """The official client's Configuration from ``credentials``: its header asked again before each call (an exec
    plugin's or a rotated service-account token)."""
    configuration.host = credentials.server
    configuration.verify_ssl = credentials.verify
    for attribute, value in (("ssl_ca_cert", credentials.ca_file), ("cert_file", credentials.cert_file),
                             ("key_file", credentials.key_file), ("proxy", credentials.proxy),
                             ("tls_server_name", credentials.tls_server_name)):
        if value:
            setattr(configuration, attribute, value)
    header = credentials.authorization()
    if header:
        configuration.api_key = {"BearerToken": header}
        configuration.refresh_api_key_hook = lambda conf: conf.api_key.update(
            BearerToken=credentials.authorization() or header)


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
    error: K8sError | None = None
    missing: str | None = None  # the custom resource's API is not served: its CRD is not installed
    note: str | None = None  # what the listing could not cover (a namespace it was not allowed to list)

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
    # False when the objects are rendered manifests: no status, no pods, nothing a controller writes.
    live: bool = True

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
        except K8sError:
            replicasets = []
        uid = (self.deployment.get("metadata") or {}).get("uid")
        owned_rs = {(rs.get("metadata") or {}).get("uid") for rs in replicasets
                    if uid and any(ref.get("uid") == uid for ref in (rs.get("metadata") or {}).get("ownerReferences") or [])}
        owned_rs.discard(None)
        if not owned_rs:
            return pods
        return [pod for pod in pods
                if any(ref.get("uid") in owned_rs for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])]


class HttpStatus(Exception):
    """A REST answer that is not 2xx: what api_error needs of it (the same fields as the client's ApiException)."""

    def __init__(self, status: int, reason: str, body: bytes) -> None:
        super().__init__("%d %s" % (status, reason))
        self.status, self.reason, self.body = status, reason, body


# The options that name a Deployment in the readiness checks and the operations that share their vocabulary.
CHECK_DEPLOYMENT_OPTIONS = "k8s_namespace, k8s_deployment"


def read_deployment(cluster: t.Any, namespace: str, name: str, options: str = CHECK_DEPLOYMENT_OPTIONS) -> dict:
    """The one reader of a Deployment, for any client with ``read`` (a Cluster, or a test's stand-in): its JSON, or
    a K8sError; a 404 becomes the sentence that says which Deployment is missing where, the ``options`` that
    named it, and the API server's own answer."""
    try:
        return cluster.read(DEPLOYMENTS, namespace, name)
    except K8sError as exc:
        if exc.status == 404:
            raise K8sError("Deployment %s not found in namespace %s (%s): %s" % (name, namespace, options, exc),
                           404) from None
        raise


class Cluster:
    """One target's API client: REST reads by path for the kinds we know; the typed APIs on demand."""

    def __init__(self, target: ClusterTarget, api_client: t.Any = None) -> None:
        self.target = target
        self.credentials: kubeconfig.Credentials | None = None
        if api_client is None:
            try:
                self.credentials = credentials_for(target)
            except kubeconfig.NeedsOfficialLoader:
                api_client = connect(target)
        if api_client is not None:
            # The official client's pool and credentials: its TLS, client certificate, proxy and token refresh.
            self.__dict__["api_client"] = api_client
            self._pool = api_client.rest_client.pool_manager
            self.server = str(api_client.configuration.host).rstrip("/")
            self._user_agent = api_client.user_agent
        else:
            self._pool = http_pool(self.credentials, target)
            self.server = self.credentials.server
            self._user_agent = USER_AGENT

    @functools.cached_property
    def api_client(self) -> t.Any:
        """The official ApiClient, for the typed APIs only (its import and set-up cost ~0.5 s of CPU)."""
        return connect(self.target, self.credentials)

    # The typed APIs, built on first use only (each costs tens to hundreds of ms of CPU to construct).
    core = functools.cached_property(lambda self: _kubernetes().client.CoreV1Api(self.api_client))
    apps = functools.cached_property(lambda self: _kubernetes().client.AppsV1Api(self.api_client))
    batch = functools.cached_property(lambda self: _kubernetes().client.BatchV1Api(self.api_client))
    autoscaling = functools.cached_property(lambda self: _kubernetes().client.AutoscalingV2Api(self.api_client))
    policy = functools.cached_property(lambda self: _kubernetes().client.PolicyV1Api(self.api_client))
    networking = functools.cached_property(lambda self: _kubernetes().client.NetworkingV1Api(self.api_client))
    custom = functools.cached_property(lambda self: _kubernetes().client.CustomObjectsApi(self.api_client))

    def _authorization(self) -> dict[str, str]:
        """The credentials' header, asked for each call (a token file or exec plugin may give a new one)."""
        if self.credentials is not None:
            try:
                header = self.credentials.authorization()
            except kubeconfig.KubeconfigError as exc:
                raise K8sError("cannot use %s: %s" % (self.target.describe(), exc)) from None
            return {"authorization": header} if header else {}
        # The official client's auth settings (a bearer token, refreshed by the client when it expires).
        return {setting["key"]: setting["value"] for setting in self.api_client.configuration.auth_settings().values()
                if setting.get("in") == "header" and setting.get("value")}

    @property
    def _timeout(self) -> tuple[float, float]:
        return (self.target.timeout, self.target.timeout)

    def _headers(self, content_type: str | None, raw: bool) -> dict[str, str]:
        # Logs are text: the API server serves them as text/plain whatever JSON is asked for.
        headers = {"Accept": "text/plain, */*" if raw else "application/json", "User-Agent": self._user_agent}
        if content_type:
            headers["Content-Type"] = content_type
        headers.update(self._authorization())
        return headers

    def request(self, verb: str, kind: Kind, namespace: str | None = None, name: str | None = None, *,
                query: t.Mapping[str, t.Any] | None = None, body: t.Any = None, content_type: str | None = None,
                subresource: str | None = None, raw: bool = False) -> t.Any:
        """One REST call (verb: get, list, patch...) on ``kind``; its JSON answer (or text when ``raw``); K8sError
        naming the call otherwise. Never retried: one timeout per call."""
        resource = kind.resource + ("/" + subresource if subresource else "")
        method = {"get": "GET", "list": "GET", "patch": "PATCH", "update": "PUT", "create": "POST",
                  "delete": "DELETE"}[verb]
        url = self.server + kind.path(namespace, name, subresource)
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v not in (None, "")})
        headers = self._headers(content_type, raw)
        try:
            response = self._pool.request(method, url, headers=headers,
                                          body=None if body is None else json.dumps(body),
                                          timeout=urllib3.Timeout(connect=self.target.timeout,
                                                                  read=self.target.timeout),
                                          retries=False, preload_content=True)
            if not 200 <= response.status <= 299:
                raise HttpStatus(response.status, response.reason or "", response.data)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # every failure becomes a K8sError
            raise api_error(exc, verb, resource, namespace) from None
        if raw:
            return response.data.decode("utf-8", "replace")
        return self._answer(verb, resource, namespace, response.data)

    def read(self, kind: Kind, namespace: str | None, name: str) -> dict:
        """One object, as the API's JSON."""
        return self.request("get", kind, namespace, name)

    def list_items(self, kind: Kind, namespace: str | None = None, label_selector: str | None = None) -> list[dict]:
        """The objects of a kind in a namespace (None: cluster-wide), optionally by label selector."""
        return (self.request("list", kind, namespace, query={"labelSelector": label_selector}) or {}).get("items") or []

    def call(self, verb: str, resource: str, namespace: str | None, method: t.Callable, *args: t.Any,
             **kwargs: t.Any) -> t.Any:
        """A typed API call's JSON answer (raw, as the API sent it); K8sError naming the call otherwise."""
        try:
            response = method(*args, _request_timeout=self._timeout, _preload_content=False, **kwargs)
            data = response.data
        except Exception as exc:  # pylint: disable=broad-exception-caught  # every failure becomes a K8sError
            raise api_error(exc, verb, resource, namespace) from None
        return self._answer(verb, resource, namespace, data)

    def _answer(self, verb: str, resource: str, namespace: str | None, data: bytes) -> t.Any:
        """The JSON answer, checked to be the object or list asked for; K8sError (wrong_answer) otherwise."""
        try:
            answer = json.loads(data)
        except ValueError:
            raise K8sError("%s %s%s at %s: the API server's answer is not JSON: %r"
                           % (verb, resource, _where(namespace), self.server, data[:100]), wrong_answer=True) from None
        problem = shape_problem(verb, resource, answer)
        if problem:
            raise K8sError("%s %s%s at %s: %s: is the kubeconfig's server a Kubernetes API server?"
                           % (verb, resource, _where(namespace), self.server, problem), wrong_answer=True)
        return answer

    def listing(self, kind: Kind, namespace: str | None = None, label_selector: str | None = None) -> Listing:
        """The kind's items, or the error that stopped the list; a custom resource whose API is not served (its
        CRD is not installed) is recorded as missing."""
        try:
            return Listing(self.list_items(kind, namespace, label_selector))
        except K8sError as exc:
            if kind in CUSTOM_KINDS and exc.status == 404:
                return Listing(missing="the API %s/%s %s is not served: its CRD is not installed"
                               % (kind.group, kind.version, kind.plural))
            return Listing(error=exc)

    def custom_listing(self, crd: Kind, namespace: str | None) -> Listing:
        """The custom objects of ``namespace`` (every namespace when None, or a cluster-scoped kind)."""
        return self.listing(crd, namespace if crd.namespaced else None)

    def read_deployment(self, namespace: str, name: str) -> dict:
        """The Deployment (`read_deployment`, the one reader)."""
        return read_deployment(self, namespace, name)

    def _read_or_none(self, kind: Kind, namespace: str, name: str) -> dict | None:
        try:
            return self.read(kind, namespace, name)
        except K8sError as exc:
            if exc.status == 404:
                return None
            raise

    def read_secret(self, namespace: str, name: str) -> dict | None:
        """The Secret, or None when it does not exist."""
        return self._read_or_none(SECRETS, namespace, name)

    def read_config_map(self, namespace: str, name: str) -> dict | None:
        """The ConfigMap, or None when it does not exist."""
        return self._read_or_none(CONFIG_MAPS, namespace, name)

    def pod_log_tail(self, namespace: str, pod: str, lines: int) -> str:
        return self.request("get", PODS, namespace, pod, subresource="log", query={"tailLines": lines}, raw=True)

    def monitoring_listing(self, crd: Kind, namespaces: t.Sequence[str],
                           own_namespace: str) -> Listing:
        """The Prometheus Operator's objects where Prometheus looks (kube-prometheus-stack keeps them in its own
        namespace): the given namespaces, else every namespace, else (that refused) the application's own."""
        if namespaces:
            found = Listing()
            for namespace in namespaces:
                part = self.custom_listing(crd, namespace)
                if part.missing or part.error:
                    return part
                found.items.extend(part.items)
            return found
        everywhere = self.custom_listing(crd, None)
        if everywhere.error is None or everywhere.error.status != 403:
            return everywhere
        own = self.custom_listing(crd, own_namespace)
        own.note = ("only namespace %s was read: listing %s in every namespace was refused (give "
                    "monitoring_namespaces, or grant list cluster-wide)" % (own_namespace, crd.plural))
        return own

    def read_namespace(self, name: str) -> Listing:
        """The Namespace (its Pod Security labels) as a one-item listing; its error kept, not raised."""
        try:
            return Listing([self.read(NAMESPACES, None, name)])
        except K8sError as exc:
            return Listing(error=exc)

    def snapshot(self, namespace: str, deployment_name: str, cert_manager_namespace: str,
                 monitoring_namespaces: t.Sequence[str] = ()) -> Snapshot:
        """The Deployment (K8sError when it cannot be read), then every other listing concurrently."""
        started = time.monotonic()
        deployment = self.read_deployment(namespace, deployment_name)
        selector = selector_string((deployment.get("spec") or {}).get("selector"))
        ns = namespace
        # Listing name -> (kind, namespace or None for cluster-wide, label selector).
        reads: dict[str, tuple[Kind, str | None, str | None]] = {
            "pods": (PODS, ns, selector),
            "replicasets": (REPLICA_SETS, ns, selector),
            "nodes": (NODES, None, None),
            "hpas": (HPAS, ns, None),
            "pdbs": (PDBS, ns, None),
            "services": (SERVICES, ns, None),
            "jobs": (JOBS, ns, None),
            "cronjobs": (CRON_JOBS, ns, None),
            "ingresses": (INGRESSES, ns, None),
            "daemonsets": (DAEMON_SETS, None, None),
            "cert_manager_pods": (PODS, cert_manager_namespace, None),
            "certificates": (CERTIFICATES, ns, None),
            "issuers": (ISSUERS, ns, None),
            "cluster_issuers": (CLUSTER_ISSUERS, None, None),
            "namespaces": (NAMESPACES, None, None),
            "network_policies": (NETWORK_POLICIES, ns, None),
            "pvcs": (PVCS, ns, None),
        }
        jobs: dict[str, t.Callable[[], Listing]] = {name: functools.partial(self.listing, *read)
                                                    for name, read in reads.items()}
        jobs.update({
            "service_monitors": lambda: self.monitoring_listing(SERVICE_MONITORS, monitoring_namespaces, ns),
            "prometheus_rules": lambda: self.monitoring_listing(PROMETHEUS_RULES, monitoring_namespaces, ns),
            "namespace": lambda: self.read_namespace(ns),
        })
        # All at once: under a total_timeout a second round of listings would find it spent.
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = {name: pool.submit(job) for name, job in jobs.items()}
            listings = {name: future.result() for name, future in futures.items()}
        return Snapshot(namespace, self.target.describe(), deployment, listings,
                        round((time.monotonic() - started) * 1000, 1))
