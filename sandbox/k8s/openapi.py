"""The OpenAPI v3 documents of the emulated API server: just what `kubectl apply` (validation on) reads.

kubectl fetches /openapi/v3 (the index of group-versions) and, per group-version, the document whose PATCH
operations say which kind they serve (``x-kubernetes-group-version-kind``) and that they take the ``fieldValidation``
query parameter. Finding it, kubectl leaves validation to the server (``fieldValidation=Strict``) instead of
downloading the schemas for client-side validation; without it, `kubectl apply` fails ("failed to download
openapi"). No schemas are served: the emulator does not reject unknown fields (a real server would).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Protocol

VERSION = "v1.32.4"
# /openapi/v2, which kubectl reads (as protobuf only) to validate on the client side what the v3 route cannot tell
# it about (a kind: List): a Document with swagger "2.0" and no definitions, so that no object is rejected.
V2_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
V2_DOCUMENT = b"\x0a\x032.0"


class ServedKind(Protocol):
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool


def group_version_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": "string", "uniqueItems": True}}


def _operations(kind: ServedKind) -> dict[str, Any]:
    gvk = {"group": kind.group, "version": kind.version, "kind": kind.kind}
    prefix = "/" + group_version_path(kind.group, kind.version)
    scope = "/namespaces/{namespace}" if kind.namespaced else ""
    collection, item = f"{prefix}{scope}/{kind.plural}", f"{prefix}{scope}/{kind.plural}/{{name}}"
    params = [_query("fieldValidation", "Ignore, Warn or Strict: what to do with unknown or duplicate fields"),
              _query("fieldManager", "the actor making the change"), _query("dryRun", "All: persist nothing")]
    ok = {"responses": {"200": {"description": "OK"}}}
    operation = {"x-kubernetes-group-version-kind": gvk, "parameters": params, **ok}
    return {
        collection: {"get": {"x-kubernetes-action": "list", **operation},
                     "post": {"x-kubernetes-action": "post", **operation}},
        item: {"get": {"x-kubernetes-action": "get", **operation},
               "put": {"x-kubernetes-action": "put", **operation},
               "patch": {"x-kubernetes-action": "patch", **operation},
               "delete": {"x-kubernetes-action": "delete", **operation}},
    }


def document(kinds: Iterable[ServedKind]) -> dict[str, Any]:
    """The OpenAPI v3 document of one group-version's kinds."""
    paths: dict[str, Any] = {}
    for kind in kinds:
        paths.update(_operations(kind))
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": VERSION}, "paths": paths,
            "components": {"schemas": {}}}


def index(kinds: Iterable[ServedKind]) -> dict[str, Any]:
    """/openapi/v3: every group-version, with the URL of its document (a hash of it, as the real server gives)."""
    by_gv: dict[str, list[ServedKind]] = {}
    for kind in kinds:
        by_gv.setdefault(group_version_path(kind.group, kind.version), []).append(kind)
    paths = {}
    for path, members in by_gv.items():
        digest = hashlib.sha256(json.dumps(document(members), sort_keys=True).encode()).hexdigest()[:32].upper()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def serve(path: str, kinds: list[ServedKind]) -> dict[str, Any] | None:
    """The answer to GET ``path`` under /openapi/v3, or None when there is none (404)."""
    wanted = path[len("/openapi/v3"):].strip("/")
    if not wanted:
        return index(kinds)
    members = [k for k in kinds if group_version_path(k.group, k.version) == wanted]
    return document(members) if members else None
