# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendered manifests as a source of objects for the Kubernetes checks ("check deployment manifest", before apply).

A file or a directory of YAML, or a kustomization (a directory holding kustomization.yaml) rendered by
``kubectl kustomize`` exactly as ``kubectl apply -k`` would render it. The objects land in a Snapshot like the live
cluster's, with ``live=False``: no pods, no nodes and no status, so the checks that judge what controllers report
say that they cannot judge it from manifests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._kubernetes.k8s_client import K8sError, Listing, Snapshot

try:
    import yaml
except ImportError:  # pragma: no cover  # PyYAML comes with ansible-core
    yaml = None  # type: ignore[assignment]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
YAML_SUFFIXES = (".yaml", ".yml", ".json")
CLUSTER_SCOPED = frozenset({"Namespace", "Node", "ClusterRole", "ClusterRoleBinding", "ClusterIssuer",
                            "CustomResourceDefinition", "PersistentVolume", "StorageClass", "IngressClass",
                            "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"})
# Snapshot listing -> (kind, apiVersion group, in the application's namespace only).
LISTINGS: dict[str, tuple[str, str, bool]] = {
    "replicasets": ("ReplicaSet", "apps", True),
    "hpas": ("HorizontalPodAutoscaler", "autoscaling", True),
    "pdbs": ("PodDisruptionBudget", "policy", True),
    "services": ("Service", "", True),
    "jobs": ("Job", "batch", True),
    "cronjobs": ("CronJob", "batch", True),
    "ingresses": ("Ingress", "networking.k8s.io", True),
    "daemonsets": ("DaemonSet", "apps", False),
    "certificates": ("Certificate", "cert-manager.io", True),
    "issuers": ("Issuer", "cert-manager.io", True),
    "cluster_issuers": ("ClusterIssuer", "cert-manager.io", False),
    "service_monitors": ("ServiceMonitor", "monitoring.coreos.com", False),
    "prometheus_rules": ("PrometheusRule", "monitoring.coreos.com", False),
    "namespaces": ("Namespace", "", False),
    "network_policies": ("NetworkPolicy", "networking.k8s.io", True),
    "pvcs": ("PersistentVolumeClaim", "", True),
}
# Live state only a cluster has: empty listings, and the checks reading them SKIP on ``Snapshot.live``.
LIVE_ONLY = ("pods", "nodes", "cert_manager_pods")


def _group(obj: t.Mapping[str, t.Any]) -> str:
    return str(obj.get("apiVersion") or "").rpartition("/")[0]


def render_kustomization(directory: str, timeout: float) -> str:
    """``kubectl kustomize DIR`` (or ``kustomize build DIR``); K8sError quoting kustomize when it does not build."""
    kubectl, kustomize = shutil.which("kubectl"), shutil.which("kustomize")
    if kubectl:
        command = [kubectl, "kustomize", directory]
    elif kustomize:
        command = [kustomize, "build", directory]
    else:
        raise K8sError("rendering the kustomization %s needs kubectl (or kustomize) on the host running the checks"
                       % directory)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=max(timeout, 5.0), check=False)
    except subprocess.TimeoutExpired:
        raise K8sError("%s did not finish within %.0f s" % (" ".join(command[-2:]), max(timeout, 5.0))) from None
    except OSError as exc:
        raise K8sError("cannot run %s: %s" % (command[0], exc)) from None
    if done.returncode != 0:
        raise K8sError("the kustomization %s does not build (%s): %s" % (
            directory, " ".join(os.path.basename(part) for part in command[:-1]),
            (done.stderr or done.stdout).strip()[-800:]))
    return done.stdout


def _documents(text: str, where: str) -> list[dict]:
    if yaml is None:
        raise K8sError("reading manifests needs PyYAML")
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc]
    except yaml.YAMLError as exc:
        raise K8sError("%s is not valid YAML: %s" % (where, exc)) from None
    objects: list[dict] = []
    for doc in documents:
        if not isinstance(doc, dict):
            raise K8sError("%s holds a document that is not a mapping" % where)
        items = doc.get("items") if str(doc.get("kind") or "").endswith("List") else None
        for item in items if isinstance(items, list) else [doc]:
            if isinstance(item, dict) and item.get("kind") and isinstance(item.get("metadata"), dict):
                objects.append(item)
    return objects


def load_objects(path: str, timeout: float) -> tuple[list[dict], str]:
    """(the objects, how they were read) of a YAML file, a directory of YAML files, or a kustomization."""
    path = os.path.expanduser(path)
    if os.path.isdir(path):
        if any(os.path.isfile(os.path.join(path, name)) for name in KUSTOMIZATION_FILES):
            return _documents(render_kustomization(path, timeout), path), "kustomization %s" % path
        objects: list[dict] = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(YAML_SUFFIXES):
                    objects.extend(_read_file(os.path.join(root, name)))
        return objects, "manifests in %s" % path
    if os.path.isfile(path):
        return _read_file(path), "manifest file %s" % path
    raise K8sError("k8s_manifests %s is neither a file nor a directory" % path)


def _read_file(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            return _documents(handle.read(), path)
    except OSError as exc:
        raise K8sError("cannot read %s: %s" % (path, exc)) from None


class ManifestCluster:
    """What the checks ask of a cluster (snapshot, Secrets, ConfigMaps), answered from rendered manifests."""

    def __init__(self, path: str, namespace: str, timeout: float = 10.0) -> None:
        started = time.monotonic()
        objects, self.source = load_objects(path, timeout)
        self.namespace = namespace
        for obj in objects:
            if obj["kind"] in CLUSTER_SCOPED:
                obj["metadata"].pop("namespace", None)
            else:
                obj["metadata"].setdefault("namespace", namespace)  # where kubectl apply -n would put it
        self.objects = objects
        self.load_ms = round((time.monotonic() - started) * 1000, 1)

    def of_kind(self, kind: str, group: str, namespace: str | None) -> list[dict]:
        return [obj for obj in self.objects if obj["kind"] == kind and _group(obj) == group
                and (namespace is None or obj["metadata"].get("namespace") == namespace)]

    def _named(self, kind: str, namespace: str, name: str) -> dict | None:
        return next((obj for obj in self.of_kind(kind, "", namespace) if obj["metadata"].get("name") == name), None)

    def read_secret(self, namespace: str, name: str) -> dict | None:
        return self._named("Secret", namespace, name)

    def read_config_map(self, namespace: str, name: str) -> dict | None:
        return self._named("ConfigMap", namespace, name)

    def snapshot(self, namespace: str, deployment_name: str, cert_manager_namespace: str,
                 monitoring_namespaces: t.Sequence[str] = ()) -> Snapshot:
        del cert_manager_namespace  # its pods are live state
        deployments = self.of_kind("Deployment", "apps", None)
        deployment = next((item for item in deployments if item["metadata"].get("name") == deployment_name
                           and item["metadata"].get("namespace") == namespace), None)
        if deployment is None:
            raise K8sError("Deployment %s not found in namespace %s of the %s (k8s_namespace, k8s_deployment); it "
                           "holds %s" % (deployment_name, namespace, self.source, ", ".join(
                               "%s/%s" % (d["metadata"].get("namespace"), d["metadata"].get("name"))
                               for d in deployments) or "no Deployment"), 404)
        listings = {name: Listing([]) for name in LIVE_ONLY}
        for name, (kind, group, own_namespace) in LISTINGS.items():
            items = self.of_kind(kind, group, namespace if own_namespace else None)
            if name in ("service_monitors", "prometheus_rules") and monitoring_namespaces:
                items = [item for item in items if item["metadata"].get("namespace") in monitoring_namespaces]
            listings[name] = Listing(items)
        own = [item for item in listings["namespaces"].items if item["metadata"].get("name") == namespace]
        listings["namespace"] = Listing(own) if own else Listing(
            missing="the manifests do not define Namespace %s" % namespace)
        return Snapshot(namespace, self.source, deployment, listings, self.load_ms, live=False)
