"""An emulated Kubernetes API server for the tests, built on kmock's stateful emulator.

kubectl, the official `kubernetes` client (and its DynamicClient) and kubernetes.core talk to it through a real
kubeconfig. What kmock 0.8 lacks is filled in here (see /work/shared/TEST_INFRA.md): typed list responses, core
discovery as `v1`, label and field selectors, object metadata (uid, resourceVersion, generation,
creationTimestamp), PUT and the three PATCH strategies, the `scale` and `status` subresources, watches as JSON
lines from a resourceVersion, garbage collection by ownerReferences, controllers (controllers.py), fault
injection, and discovery that can run without some CRD groups.

What `kubectl create/get/apply` (validation on) and `kubectl apply -k` need: Namespaces at /api/v1/namespaces[/NAME]
(kmock reads that path as a namespace prefix), kubectl's protobuf bodies (protobuf.py), the OpenAPI v3 documents
and an empty v2 one (openapi.py), RBAC, ResourceQuota, LimitRange, NetworkPolicy and PVC kinds; a status sent with
a create, PUT or PATCH of the main resource is dropped. The scheduler (scheduler.py) honours nodeSelector, required
anti-affinity, DoNotSchedule topology spread and claims, with kube-scheduler's reason on Pending pods.

Not emulated: the Job, CronJob, HPA and disruption controllers and cert-manager. Their status comes from the
scenario (EmulatedCluster.apply keeps a manifest's status) or from EmulatedCluster.set_status, as those
controllers would write it; an object created over HTTP has no status until then.

    with EmulatedCluster("healthy_ha") as cluster:
        subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, "get", "pods", "-o", "wide"])

Run as a process (the sandbox does): python -m sandbox.k8s serve --kubeconfig PATH --port-file PATH
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import dataclasses
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import aiohttp.web
import attrs
import kmock
import yaml

from sandbox.k8s import objects as ko
from sandbox.k8s import openapi
from sandbox.k8s import protobuf
from sandbox.k8s import tables
from sandbox.k8s.controllers import Controllers

from kmock._internal import parsing as kmock_parsing  # pylint: disable=wrong-import-position,wrong-import-order

T = TypeVar("T")
Obj = ko.Obj
CONTEXT = "emulated"
CRD_GROUPS = ("cert-manager.io", "monitoring.coreos.com")
# CRD groups installed only when a cluster asks for them (EmulatedCluster(crd_groups=...)).
OPTIONAL_CRD_GROUPS = ("argoproj.io",)
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclasses.dataclass(frozen=True)
class Kind:
    """One served resource: what discovery announces and how objects of it are stored."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ("status",)
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def name(self) -> str:
        """'deployments.apps', 'pods': how RBAC messages and the controllers name a resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def resource(self) -> kmock.resource:
        return kmock.resource(group=self.group, version=self.version, plural=self.plural)


ALL = ("all",)
KINDS: tuple[Kind, ...] = (
    Kind("", "v1", "namespaces", "Namespace", False, ("ns",)),
    Kind("", "v1", "nodes", "Node", False, ("no",)),
    Kind("", "v1", "pods", "Pod", True, ("po",), categories=ALL),
    Kind("", "v1", "services", "Service", True, ("svc",), categories=ALL),
    Kind("", "v1", "endpoints", "Endpoints", True, ("ep",), ()),
    Kind("", "v1", "configmaps", "ConfigMap", True, ("cm",), ()),
    Kind("", "v1", "secrets", "Secret", True, (), ()),
    Kind("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",), ()),
    Kind("", "v1", "events", "Event", True, ("ev",), ()),
    Kind("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",)),
    Kind("", "v1", "resourcequotas", "ResourceQuota", True, ("quota",)),
    Kind("", "v1", "limitranges", "LimitRange", True, ("limits",), ()),
    Kind("rbac.authorization.k8s.io", "v1", "roles", "Role", True, (), ()),
    Kind("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, (), ()),
    Kind("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, (), ()),
    Kind("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, (), ()),
    Kind("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("status", "scale"), ALL),
    Kind("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("status", "scale"), ALL),
    Kind("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), ("status", "scale"), ALL),
    Kind("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), ("status",), ALL),
    # autoscaling/v2 first: the preferred version, and where HPAs are stored (no conversion to v1 is emulated).
    Kind("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ("hpa",), categories=ALL),
    Kind("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ("hpa",), categories=ALL),
    Kind("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",)),
    Kind("batch", "v1", "jobs", "Job", True, (), categories=ALL),
    Kind("batch", "v1", "cronjobs", "CronJob", True, ("cj",), categories=ALL),
    Kind("networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",)),
    Kind("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ("netpol",), ()),
    Kind("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False, (), ()),
    Kind("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False, ("crd", "crds")),
    Kind("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, (), ()),
    Kind("cert-manager.io", "v1", "certificates", "Certificate", True, ("cert", "certs")),
    Kind("cert-manager.io", "v1", "certificaterequests", "CertificateRequest", True, ("cr", "crs")),
    Kind("cert-manager.io", "v1", "issuers", "Issuer", True, ()),
    Kind("cert-manager.io", "v1", "clusterissuers", "ClusterIssuer", False, ()),
    Kind("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor", True, ("smon",), ()),
    Kind("monitoring.coreos.com", "v1", "podmonitors", "PodMonitor", True, ("pmon",), ()),
    Kind("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule", True, ("promrule",), ()),
    Kind("argoproj.io", "v1alpha1", "rollouts", "Rollout", True, ("ro",), ("status", "scale")),
)


_KMOCK_PARSE_PATH = kmock_parsing.parse_path
NAMESPACE_SUBRESOURCES = ("status", "finalize")


def parse_path(path: str) -> kmock_parsing.ParsedPath:
    """kmock's path parser, except for the Namespace resource itself: it reads /api/v1/namespaces[/NAME] as the
    namespace prefix of another resource (a 500 on kubectl create/get ns)."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and (
            len(parts) <= 4 or (len(parts) == 5 and parts[4] in NAMESPACE_SUBRESOURCES)):
        return kmock_parsing.ParsedPath("", "v1", "namespaces", None, parts[3] if len(parts) > 3 else None,
                                        parts[4] if len(parts) > 4 else None)
    return _KMOCK_PARSE_PATH(path)


kmock_parsing.parse_path = parse_path  # kmock's request renderer looks it up on the module at each request


class ApiError(Exception):
    """An error answered as a metav1.Status."""

    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.body = ko.status_body(code, reason, message, details)
        self.code = code

    def response(self) -> aiohttp.web.Response:
        return aiohttp.web.json_response(self.body, status=self.code)


@dataclasses.dataclass(frozen=True)
class Fault:
    """Answer matching requests with an error (or hold them) instead of serving them.

    verb: RBAC verb (get, list, watch, create, update, patch, delete, deletecollection) or "*".
    resource: "pods", "deployments", "deployments.apps", "deployments/scale", or "*" (every request, discovery too).
    """

    verb: str
    resource: str
    status: int = 403
    namespace: str | None = None
    hang: float | None = None  # seconds to hold the request before answering 504
    times: int | None = None  # answer only this many matching requests, then serve them again (None: always)

    def matches(self, verb: str, kind: Kind | None, namespace: str | None, subresource: str | None) -> bool:
        if self.verb not in ("*", verb) or (self.namespace and self.namespace != namespace):
            return False
        if self.resource == "*":
            return True
        if kind is None:
            return False
        suffix = f"/{subresource}" if subresource else ""
        return self.resource in (kind.plural + suffix, kind.name + suffix)

    def error(self, verb: str, kind: Kind | None, namespace: str | None, name: str | None) -> ApiError:
        plural, group = (kind.plural, kind.group) if kind else ("", "")
        if self.status == 401:
            return ApiError(401, "Unauthorized", "Unauthorized")
        if self.status == 403:
            where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            subject = f'{kind.name if kind else "resource"}{f" {json.dumps(name)}" if name else ""}'
            return ApiError(403, "Forbidden",
                            f'{subject} is forbidden: User "system:serviceaccount:aragora:readiness-checker" '
                            f'cannot {verb} resource "{plural}" in API group "{group}" {where}',
                            {"name": name or "", "group": group, "kind": plural})
        if self.status == 409:
            return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {kind.name if kind else "resource"} '
                            f'"{name or ""}": the object has been modified; please apply your changes to the latest '
                            "version and try again", {"name": name or "", "group": group, "kind": plural})
        if self.status == 404:
            return ApiError(404, "NotFound", f'{kind.name if kind else "resource"} "{name or ""}" not found',
                            {"name": name or "", "group": group, "kind": plural})
        return ApiError(self.status, "InternalError", "Internal error occurred: fault injected by the emulator")


def request_body(request: kmock.Request) -> Any:
    """The request's object: its JSON, or its protobuf decoded (kubectl's typed commands send built-in kinds so)."""
    if request.headers.get("Content-Type", "").startswith(protobuf.CONTENT_TYPE):
        try:
            return protobuf.decode(request.body or b"")
        except (ValueError, IndexError) as error:
            raise ApiError(415, "UnsupportedMediaType", f"the protobuf body could not be decoded: {error}") from error
    return request.data


def rbac_verb(method: str, name: str | None, params: dict[str, str]) -> str:
    if method == "GET":
        return "watch" if params.get("watch") in ("true", "1") else ("get" if name else "list")
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, "delete" if name else "deletecollection")


@attrs.define(kw_only=True)
class KubernetesApiEmulator(kmock.KubernetesEmulator):  # pylint: disable=too-many-public-methods
    """kmock's emulator with the semantics the checks and kubectl depend on. Objects live in kmock's
    ObjectsArray (`.objects`, with their history) under their preferred version; all state changes happen on the
    server's event loop."""

    missing_groups: set[str] = attrs.field(factory=set, converter=set)
    faults: list[Fault] = attrs.field(factory=list)
    # When set, a request without "Authorization: Bearer <this token>" gets the real API server's 401 (authn).
    required_token: str | None = None
    controllers: Controllers = attrs.field(init=False)
    _revision: int = attrs.field(default=0, init=False)
    _events: list[tuple[int, Kind, str, Obj]] = attrs.field(factory=list, init=False)
    _tick: asyncio.Future[None] | None = attrs.field(default=None, init=False)
    _closing: bool = attrs.field(default=False, init=False)
    _fault_hits: dict[int, int] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.controllers = Controllers(self)
        for kind in KINDS:
            self.resources[kind.resource] = kmock.ResourceInfo(
                kind=kind.kind, namespaced=kind.namespaced, singular=kind.kind.lower(), verbs=ALL_VERBS,
                shortnames=kind.short_names, categories=kind.categories, subresources=kind.subresources)
        for group in CRD_GROUPS + OPTIONAL_CRD_GROUPS:
            if group not in self.missing_groups:
                self._save_crds(group)

    # ---- the registry ---------------------------------------------------------------------------------------------

    def served(self) -> list[Kind]:
        return [kind for kind in KINDS if kind.group not in self.missing_groups]

    def kind_of(self, group: str | None, version: str | None, plural: str | None) -> Kind | None:
        return next((k for k in self.served() if (k.group, k.version, k.plural) == (group, version, plural)), None)

    def storage(self, name: str) -> Kind:
        """The stored (preferred) version of a resource named like 'deployments.apps' or 'pods'."""
        kind = next((k for k in self.served() if name in (k.name, k.plural)), None)
        if kind is None:
            raise ApiError(404, "NotFound", f"the server doesn't have a resource type {name!r}")
        return kind

    def kind_by_manifest(self, api_version: str, kind_name: str) -> Kind:
        group = api_version.rpartition("/")[0]
        kind = next((k for k in self.served() if (k.group, k.kind) == (group, kind_name)), None)
        if kind is None:
            raise ApiError(404, "NotFound", f'no matches for kind "{kind_name}" in version "{api_version}"')
        return self.storage(kind.name)

    def _save_crds(self, group: str) -> None:
        for kind in KINDS:
            if kind.group == group:
                self.save("customresourcedefinitions.apiextensions.k8s.io", {
                    "metadata": {"name": f"{kind.plural}.{group}"},
                    "spec": {"group": group, "scope": "Namespaced" if kind.namespaced else "Cluster",
                             "names": {"plural": kind.plural, "kind": kind.kind, "singular": kind.kind.lower(),
                                       "shortNames": list(kind.short_names)},
                             "versions": [{"name": kind.version, "served": True, "storage": True}]},
                    "status": {"conditions": [{"type": "Established", "status": "True"}]},
                })

    def delete_group(self, group: str) -> None:
        """Uninstall a CRD group: its CRDs, its objects, its discovery."""
        for crd in self.live("customresourcedefinitions.apiextensions.k8s.io"):
            if crd["spec"]["group"] == group:
                self.remove("customresourcedefinitions.apiextensions.k8s.io", None, crd["metadata"]["name"])
        for kind in self.served():
            if kind.group == group:
                for obj in self.live(kind.name):
                    self.remove(kind.name, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        self.missing_groups.add(group)

    # ---- the store (also the controllers' Store) ------------------------------------------------------------------

    def live(self, resource: str, namespace: str | None = None) -> list[Obj]:
        kind = self.storage(resource)
        return [
            copy.deepcopy(obj.raw) for (res, ns, _name), obj in self.objects.items()
            if res == kind.resource and not obj.deleted and (namespace is None or ns == namespace)
        ]

    def find(self, resource: str, namespace: str | None, name: str) -> Obj | None:
        kind = self.storage(resource)
        key = (kind.resource, namespace if kind.namespaced else None, name)
        if key not in self.objects or self.objects[key].deleted:
            return None
        return copy.deepcopy(self.objects[key].raw)

    def save(self, resource: str, obj: Obj) -> Obj:
        """Create or replace, as the API server does it: metadata kept or assigned, generation bumped on a change
        outside metadata and status, a new resourceVersion, a watch event."""
        kind = self.storage(resource)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
        if not kind.namespaced:
            meta.pop("namespace", None)
        old = self.find(resource, meta.get("namespace"), meta["name"])
        self._revision += 1
        if old is None:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", ko.timestamp())
            if "spec" in obj:
                meta["generation"] = 1
        else:
            meta["uid"], meta["creationTimestamp"] = old["metadata"]["uid"], old["metadata"]["creationTimestamp"]
            generation = old["metadata"].get("generation", 1)
            changed = {k: v for k, v in obj.items() if k not in ("metadata", "status")} != {
                k: v for k, v in old.items() if k not in ("metadata", "status")}
            if "spec" in obj:
                meta["generation"] = generation + 1 if changed else generation
        meta["resourceVersion"] = str(self._revision)
        key = (kind.resource, meta.get("namespace"), meta["name"])
        if key in self.objects:
            self.objects[key].create(obj)  # a new version in kmock's history of the object
        else:
            self.objects[key] = obj
        self._event(kind, "ADDED" if old is None else "MODIFIED", obj)
        return copy.deepcopy(obj)

    def remove(self, resource: str, namespace: str | None, name: str) -> None:
        """Delete, and garbage-collect what the object owned (background propagation)."""
        kind = self.storage(resource)
        obj = self.find(resource, namespace, name)
        if obj is None:
            return
        self.objects[kind.resource, namespace if kind.namespaced else None, name].delete()
        if kind.name == "pods" and self.controllers.runtime is not None:
            self.controllers.runtime.stop(obj, remove_when_gone=False)  # its process stops too
        self._revision += 1
        obj["metadata"]["resourceVersion"] = str(self._revision)
        self._event(kind, "DELETED", obj)
        uid = obj["metadata"]["uid"]
        for (res, ns, dependent_name), dependent in list(self.objects.items()):
            if not dependent.deleted and any(ref.get("uid") == uid
                                             for ref in dependent.raw["metadata"].get("ownerReferences") or []):
                self.remove(self.storage_of(res).name, ns, dependent_name)

    def storage_of(self, resource: kmock.resource) -> Kind:
        return next(k for k in KINDS if k.resource == resource)

    def settle(self) -> None:
        """Let the controllers react to a change (synchronously: no rollout takes time here)."""
        self.controllers.reconcile()

    def _event(self, kind: Kind, kind_of_event: str, obj: Obj) -> None:
        self._events.append((self._revision, kind, kind_of_event, copy.deepcopy(obj)))
        del self._events[:-20000]  # a long-running demo must not grow without bound
        if self._tick is not None and not self._tick.done():
            self._tick.set_result(None)
        self._tick = None

    async def close(self) -> None:
        """Release the watches and held requests so that the server stops at once."""
        self._closing = True
        if self._tick is not None and not self._tick.done():
            self._tick.set_result(None)

    async def _changed(self, timeout: float) -> None:
        if self._tick is None:
            self._tick = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._tick), timeout)
        except asyncio.TimeoutError:
            pass

    # ---- HTTP -----------------------------------------------------------------------------------------------------

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        resource = request.resource
        group, version, plural = (resource.group, resource.version, resource.plural) if resource else (None,) * 3
        kind = self.kind_of(group, version, plural)
        verb = rbac_verb(str(request.method.value).upper(), request.name, dict(request.params))
        try:
            if self.required_token and request.headers.get("Authorization") != "Bearer " + self.required_token:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            for fault in list(self.faults):
                if fault.matches(verb, kind, request.namespace, request.subresource):
                    if fault.times is not None:
                        self._fault_hits[id(fault)] = self._fault_hits.get(id(fault), 0) + 1
                        if self._fault_hits[id(fault)] >= fault.times:
                            self.faults.remove(fault)
                    if fault.hang:
                        await self._hold(fault.hang)
                        raise ApiError(504, "Timeout", "the emulator held this request (fault injected)")
                    raise fault.error(verb, kind, request.namespace, request.name)
            if request.url.path == "/openapi/v2":  # kubectl validates a kind: List on the client side, with it
                return aiohttp.web.Response(body=openapi.V2_DOCUMENT, content_type=openapi.V2_CONTENT_TYPE)
            if request.url.path.startswith("/openapi/v3"):  # what kubectl apply reads to validate
                document = openapi.serve(request.url.path, self.served())
                if document is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                return aiohttp.web.json_response(document)
            if request.url.path in ("/api/", "/apis/"):  # served by the real server too, unknown to kmock
                return aiohttp.web.json_response(await (self._serve_api if request.url.path == "/api/"
                                                        else self._serve_apis)(request))
            if plural is None:
                return await super()._handle(request)  # discovery, /version: kmock's scaffold and the overrides below
            if kind is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            if request.subresource and request.subresource not in kind.subresources:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            if verb == "watch":
                return await self._watch(kind, request)
            body, status = self._serve(verb, kind, request)
            if tables.wants_table(request.headers.get("Accept", "")) and verb in ("get", "list"):
                rows = body["items"] if verb == "list" else [body]
                body = tables.table(kind.plural, rows, str(self._revision)) or body
            return aiohttp.web.json_response(body, status=status)
        except ApiError as error:
            return error.response()

    async def _hold(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._closing and time.monotonic() < deadline:
            await self._changed(min(0.5, deadline - time.monotonic()))

    def _serve(self, verb: str, kind: Kind, request: kmock.Request) -> tuple[Obj, int]:
        namespace, name, subresource = request.namespace, request.name, request.subresource
        if kind.plural == "selfsubjectaccessreviews":
            return self._access_review(request.data or {}), 201
        if verb == "list":
            return self._list(kind, request), 200
        if verb == "create":
            return self._create(kind, request), 201
        if verb == "deletecollection":
            listed = self._list(kind, request)
            for item in listed["items"]:
                self.remove(kind.name, item["metadata"].get("namespace"), item["metadata"]["name"])
            self.settle()
            return listed, 200
        assert name is not None
        current = self.find(kind.name, namespace, name)
        if current is None:
            raise ApiError(404, "NotFound", f'{kind.name} "{name}" not found',
                           {"name": name, "group": kind.group, "kind": kind.plural})
        if verb == "get":
            return (self._scale(current) if subresource == "scale" else self._view(kind, current)), 200
        if verb == "delete":
            self.remove(kind.name, namespace, name)
            self.settle()
            return self._view(kind, current), 200
        stored = self._update(kind, request, current)
        return (self._scale(stored) if subresource == "scale" else self._view(kind, stored)), 200

    def _view(self, kind: Kind, obj: Obj) -> Obj:
        """The object as the requested version shows it (only apiVersion differs; conversion is not emulated)."""
        return {**obj, "apiVersion": kind.api_version}

    def _matcher(self, request: kmock.Request) -> Callable[[Obj], bool]:
        params = dict(request.params)
        try:
            labels = ko.parse_label_selector(params.get("labelSelector", ""))
            fields = ko.parse_field_selector(params.get("fieldSelector", ""))
        except ValueError as error:
            raise ApiError(400, "BadRequest", str(error)) from error

        def matches(obj: Obj) -> bool:
            in_namespace = request.namespace is None or obj["metadata"].get("namespace") == request.namespace
            return in_namespace and ko.labels_match(labels, obj["metadata"].get("labels")) and ko.fields_match(
                fields, obj)
        return matches

    def _list(self, kind: Kind, request: kmock.Request) -> Obj:
        matches = self._matcher(request)
        items = sorted((o for o in self.live(kind.name) if matches(o)),
                       key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return {"kind": f"{kind.kind}List", "apiVersion": kind.api_version,
                "metadata": {"resourceVersion": str(self._revision)},
                "items": [self._view(kind, item) for item in items]}

    def _create(self, kind: Kind, request: kmock.Request) -> Obj:
        body = request_body(request)
        if isinstance(body, dict) and "status" in kind.subresources:
            body.pop("status", None)  # as the API server does: only the status subresource writes status
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body is not a JSON object")
        meta = body.setdefault("metadata", {})
        if kind.namespaced:
            meta["namespace"] = request.namespace or meta.get("namespace") or "default"
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if not meta.get("name"):
            raise ApiError(422, "Invalid", f"{kind.kind} is invalid: metadata.name: Required value")
        if self.find(kind.name, meta.get("namespace"), meta["name"]) is not None:
            raise ApiError(409, "AlreadyExists", f'{kind.name} "{meta["name"]}" already exists',
                           {"name": meta["name"], "group": kind.group, "kind": kind.plural})
        if "dryRun" in dict(request.params):
            return body
        stored = self.save(kind.name, body)
        self.settle()
        return self._view(kind, self.find(kind.name, meta.get("namespace"), meta["name"]) or stored)

    def _update(self, kind: Kind, request: kmock.Request, current: Obj) -> Obj:
        """PUT or PATCH of an object or of its status or scale subresource."""
        body = request.data
        if request.subresource == "scale":
            scale = self._scale(current)
            scale = body if request.method.value.upper() == "PUT" else ko.apply_patch(
                scale, body, request.headers.get("Content-Type", ""))
            new = copy.deepcopy(current)
            new["spec"]["replicas"] = int(scale["spec"]["replicas"])
        else:
            if request.method.value.upper() == "PUT":
                wanted = (body.get("metadata") or {}).get("resourceVersion")
                if wanted and wanted != current["metadata"]["resourceVersion"]:
                    raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {kind.name} '
                                   f'"{current["metadata"]["name"]}": the object has been modified; please apply '
                                   "your changes to the latest version and try again")
                new = copy.deepcopy(body)
            else:
                try:
                    new = ko.apply_patch(current, body, request.headers.get("Content-Type", ""))
                except Exception as error:  # jsonpatch raises several kinds; all are the client's mistake
                    raise ApiError(422, "Invalid", f"the patch could not be applied: {error}") from error
                # A patch that sets metadata.resourceVersion is a precondition, as on the real API server.
                if (new.get("metadata") or {}).get("resourceVersion") != current["metadata"]["resourceVersion"]:
                    raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {kind.name} '
                                   f'"{current["metadata"]["name"]}": the object has been modified; please apply '
                                   "your changes to the latest version and try again")
            if request.subresource == "status":
                new = {**current, "status": new.get("status")}
            elif "status" in kind.subresources:  # only the status subresource writes status
                if "status" in current:
                    new["status"] = current["status"]
                else:
                    new.pop("status", None)
            new.setdefault("metadata", {}).update(name=current["metadata"]["name"])
            if kind.namespaced:
                new["metadata"]["namespace"] = current["metadata"]["namespace"]
        if "dryRun" in dict(request.params):
            return new
        self.save(kind.name, new)
        self.settle()
        return self.find(kind.name, current["metadata"].get("namespace"), current["metadata"]["name"]) or new

    @staticmethod
    def _scale(obj: Obj) -> Obj:
        meta = obj["metadata"]
        return {
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": obj["spec"].get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": ko.selector_string(obj["spec"].get("selector"))},
        }

    def _access_review(self, review: Obj) -> Obj:
        """SelfSubjectAccessReview (kubectl auth can-i): allowed unless a 401/403 fault covers the request."""
        attributes = (review.get("spec") or {}).get("resourceAttributes") or {}
        kind = next((k for k in self.served() if k.plural == attributes.get("resource")
                     and k.group == attributes.get("group", "")), None)
        denied = any(f.status in (401, 403) and f.matches(attributes.get("verb", ""), kind, attributes.get(
            "namespace"), attributes.get("subresource") or None) for f in self.faults)
        return {**review, "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "status": {"allowed": not denied, **({"reason": "denied by a fault of the emulator"} if denied else {})}}

    async def _watch(self, kind: Kind, request: kmock.Request) -> aiohttp.web.StreamResponse:
        """A watch: JSON lines (application/json, chunked), from the given resourceVersion or from a synthetic
        ADDED of every object; ends after timeoutSeconds, as the real server does."""
        params = dict(request.params)
        matches = self._matcher(request)
        raw_request = request._raw_request  # pylint: disable=protected-access  # kmock keeps it private
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(raw_request)
        since = params.get("resourceVersion", "")
        deadline = time.monotonic() + float(params.get("timeoutSeconds") or 1800)
        if since in ("", "0"):
            lines = [{"type": "ADDED", "object": self._view(kind, o)} for o in self.live(kind.name) if matches(o)]
            cursor = self._revision
        else:
            lines, cursor = [], int(since)
        try:
            while True:
                lines += [{"type": kind_of_event, "object": self._view(kind, obj)}
                          for revision, event_kind, kind_of_event, obj in self._events
                          if revision > cursor and event_kind.name == kind.name and matches(obj)]
                cursor = self._revision
                for line in lines:
                    await response.write(json.dumps(line).encode() + b"\n")
                lines = []
                if self._closing or time.monotonic() >= deadline:
                    break
                await self._changed(min(5.0, deadline - time.monotonic()))
            await response.write_eof()
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass  # the client went away
        return response

    # ---- discovery (kmock's picks a random preferred version and says "/v1" for the core group) ----------------------

    def _get_resources(self) -> list[kmock.resource]:
        return [kind.resource for kind in self.served()]

    def _group_versions(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for kind in self.served():
            if kind.group and kind.version not in groups.setdefault(kind.group, []):
                groups[kind.group].append(kind.version)
        return groups

    def _group(self, group: str, versions: list[str]) -> Obj:
        listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": listed, "preferredVersion": listed[0]}

    async def _serve_apis(self, request: kmock.Request) -> Obj:
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [self._group(g, v) for g, v in self._group_versions().items()]}

    async def _serve_group(self, request: kmock.Request) -> Obj:
        group = request.resource.group if request.resource else ""
        versions = self._group_versions().get(group)
        if not versions:
            raise kmock.KubernetesResourceNotFoundError()
        return {"kind": "APIGroup", "apiVersion": "v1", **self._group(group, versions)}

    async def _serve_version(self, request: kmock.Request) -> Obj:
        group, version = (request.resource.group, request.resource.version) if request.resource else ("", "")
        kinds = [k for k in self.served() if (k.group, k.version) == (group, version)]
        if not kinds:
            raise kmock.KubernetesResourceNotFoundError()
        resources = []
        for kind in kinds:
            verbs = ["create"] if kind.plural == "selfsubjectaccessreviews" else ALL_VERBS
            resources.append({"name": kind.plural, "singularName": kind.kind.lower(), "namespaced": kind.namespaced,
                              "kind": kind.kind, "verbs": verbs, "shortNames": list(kind.short_names),
                              "categories": list(kind.categories)})
            for sub in kind.subresources:
                scale = {"group": "autoscaling", "version": "v1", "kind": "Scale"} if sub == "scale" else {}
                resources.append({"name": f"{kind.plural}/{sub}", "singularName": "", "namespaced": kind.namespaced,
                                  "kind": kind.kind, "verbs": ["get", "patch", "update"], **scale})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": resources}

    async def _serve_server_version(self, request: kmock.Request) -> Obj:
        return {"major": "1", "minor": "32", "gitVersion": "v1.32.4-emulated", "gitTreeState": "clean",
                "goVersion": "go1.23.8", "compiler": "gc", "platform": "linux/amd64",
                "buildDate": "2025-04-22T00:00:00Z", "gitCommit": "0" * 40}


class EmulatedCluster:  # pylint: disable=too-many-instance-attributes
    """The emulated API server on loopback, in a thread of its own, with a kubeconfig (context `emulated`).

    Every change goes through the server's event loop, so tests may call these methods while clients run.
    """

    def __init__(
        self,
        scenario: str | None = "healthy_ha",
        *,
        missing_crd_groups: Iterable[str] = (),
        crd_groups: Iterable[str] = (),
        faults: Iterable[Fault] = (),
        broken_images: Iterable[str] = (),
        port: int = 0,
        kubeconfig: str | None = None,
        namespace: str = "aragora",
    ) -> None:
        self.scenario = scenario
        self.namespace = namespace
        missing = set(missing_crd_groups) | (set(OPTIONAL_CRD_GROUPS) - set(crd_groups))
        self.handler = KubernetesApiEmulator(missing_groups=missing, faults=list(faults))
        self.handler.controllers.broken_images.update(broken_images)
        self._port = port
        self._own_dir = None if kubeconfig else tempfile.mkdtemp(prefix="k8s-emulator-")
        self.kubeconfig = kubeconfig or os.path.join(self._own_dir or "", "kubeconfig")
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EmulatedCluster:
        self._thread = threading.Thread(target=self._run, name="k8s-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._failure is not None or not self.port:
            self.stop()
            raise RuntimeError(f"the emulated API server did not start: {self._failure!r}")
        self._write_kubeconfig()
        if self.scenario:
            self.load_scenario(self.scenario)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
        if self._own_dir:
            shutil.rmtree(self._own_dir, ignore_errors=True)

    def __enter__(self) -> EmulatedCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as error:  # pylint: disable=broad-exception-caught  # reported by start()
            self._failure = error
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with self.handler, kmock.Server(self.handler, port=self._port or None) as server:
            self.port = server.port
            self._ready.set()
            await self._stop.wait()
            await self.handler.close()

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT, "preferences": {},
            "clusters": [{"name": CONTEXT, "cluster": {"server": self.url}}],
            "users": [{"name": CONTEXT, "user": {"token": "emulated-token"}}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT,
                                                       "namespace": self.namespace}}],
        }
        os.makedirs(os.path.dirname(os.path.abspath(self.kubeconfig)), exist_ok=True)
        with open(self.kubeconfig, "w", encoding="utf-8") as handle:
            yaml.safe_dump(config, handle)
        os.chmod(self.kubeconfig, 0o600)

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run function(*args) on the server's loop (where the state lives) and return its result."""
        if self._loop is None:
            raise RuntimeError("the emulated cluster is not started")

        async def run() -> T:
            return function(*args)
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    # ---- what tests change ----------------------------------------------------------------------------------------

    def apply(self, manifests: list[Obj] | str | os.PathLike[str]) -> list[Obj]:
        """Create or replace objects, status included (no real controller would set it here); then reconcile."""
        if not isinstance(manifests, list):
            from sandbox.k8s import scenarios  # pylint: disable=import-outside-toplevel  # it imports this module
            manifests = scenarios.read_manifests(manifests)
        return self.call(self._apply, manifests)

    def _apply(self, manifests: list[Obj]) -> list[Obj]:
        stored = []
        for manifest in manifests:
            kind = self.handler.kind_by_manifest(manifest["apiVersion"], manifest["kind"])
            manifest = copy.deepcopy(manifest)
            if kind.namespaced:
                manifest["metadata"].setdefault("namespace", self.namespace)
            stored.append(self.handler.save(kind.name, manifest))
        self.handler.settle()
        return stored

    def load_scenario(self, name: str) -> None:
        from sandbox.k8s import scenarios  # pylint: disable=import-outside-toplevel  # it imports this module
        scenarios.load(self, name)

    def deny(self, verb: str, resource: str, namespace: str | None = None) -> Fault:
        """RBAC denial: 403 with the Status the API server writes (naming verb, resource, group, namespace)."""
        return self.fail(verb, resource, 403, namespace)

    def fail(self, verb: str, resource: str, status: int = 500, namespace: str | None = None,
             times: int | None = None) -> Fault:
        """Answer matching requests with this status (409 as a conflict); ``times``: only the first N of them."""
        fault = Fault(verb, resource, status, namespace, times=times)
        self.call(self.handler.faults.append, fault)
        return fault

    def hang(self, verb: str, resource: str, seconds: float = 60.0, namespace: str | None = None) -> Fault:
        fault = Fault(verb, resource, 504, namespace, hang=seconds)
        self.call(self.handler.faults.append, fault)
        return fault

    def require_token(self, token: str | None) -> None:
        """Authenticate bearer tokens as a real API server does: any other token (the kubeconfig's included) is 401."""
        def set_token() -> None:
            self.handler.required_token = token
        self.call(set_token)

    def clear_faults(self) -> None:
        self.call(self.handler.faults.clear)

    def delete_crd_group(self, group: str) -> None:
        self.call(self.handler.delete_group, group)

    def break_image(self, image: str) -> None:
        """Pods of this image never become ready: a rollout to it stalls (ProgressDeadlineExceeded)."""
        def mark() -> None:
            self.handler.controllers.broken_images.add(image)
            self.handler.settle()
        self.call(mark)

    def keep_terminating_pods(self, namespace: str | None = None) -> None:
        """Pods of this namespace that are deleted (scale-down) stay Terminating for ever, as with a finalizer."""
        self.call(self.handler.controllers.undying_namespaces.add, namespace or self.namespace)

    def pin(self, namespace: str, workload: str, nodes: list[str]) -> None:
        """Place the pods this Deployment creates from now on onto these nodes only."""
        self.call(self.handler.controllers.pins.__setitem__, (namespace, workload), list(nodes))

    def set_status(self, resource: str, name: str, status: Obj, namespace: str | None = None) -> Obj:
        """Write an object's status as its controller would (the Job, CronJob and HPA controllers, cert-manager and
        the disruption controller are not emulated: tests and scenarios set what they would report)."""
        def write() -> Obj:
            kind = self.handler.storage(resource)
            current = self.handler.find(resource, (namespace or self.namespace) if kind.namespaced else None, name)
            if current is None:
                raise KeyError(f"{resource} {name} not found")
            current["status"] = status
            stored = self.handler.save(resource, current)
            self.handler.settle()
            return stored
        return self.call(write)

    def get(self, resource: str, name: str, namespace: str | None = None) -> Obj | None:
        return self.call(self.handler.find, resource, namespace or self.namespace, name)

    def list(self, resource: str, namespace: str | None = None) -> list[Obj]:
        return self.call(self.handler.live, resource, namespace)


def main(argv: list[str] | None = None) -> int:
    """`serve`: run until SIGTERM/SIGINT; the port goes to --port-file once the scenario is loaded."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.k8s")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--scenario", default="healthy_ha")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--missing-crd-group", action="append", default=[])
    parser.add_argument("--broken-image", action="append", default=[])
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with EmulatedCluster(args.scenario, missing_crd_groups=args.missing_crd_group, port=args.port,
                         broken_images=args.broken_image, kubeconfig=args.kubeconfig) as cluster:
        if args.port_file:
            with open(args.port_file + ".tmp", "w", encoding="utf-8") as handle:
                handle.write(str(cluster.port))
            os.replace(args.port_file + ".tmp", args.port_file)
        print(f"emulated Kubernetes API at {cluster.url}, kubeconfig {cluster.kubeconfig}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
