"""Just enough of Kubernetes' protobuf encoding for the emulator to take the bodies kubectl sends that way.

kubectl's typed commands (`kubectl create namespace`, `create configmap`, ...) POST built-in kinds as
``application/vnd.kubernetes.protobuf``: the magic ``k8s\\0``, then a runtime.Unknown (1 typeMeta {1 apiVersion,
2 kind}, 2 raw, ...), whose raw is the object: 1 metadata (ObjectMeta: 1 name, 2 generateName, 3 namespace,
11 labels, 12 annotations as map entries {1 key, 2 value}), then spec, status or data. Only metadata (and a
ConfigMap's or Secret's data) is decoded: what `kubectl create` of those kinds carries.
"""

from __future__ import annotations

import base64
from typing import Any

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: varints as int, length-delimited as bytes."""
    found: list[tuple[int, int | bytes]] = []
    position = 0

    def varint() -> int:
        nonlocal position
        value, shift = 0, 0
        while True:
            byte = data[position]
            position += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    while position < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            found.append((number, varint()))
        elif wire == 2:
            size = varint()
            found.append((number, data[position:position + size]))
            position += size
        elif wire == 1:
            position += 8
        elif wire == 5:
            position += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return found


def _text(value: int | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _map(entries: list[bytes]) -> dict[str, str]:
    pairs = {}
    for entry in entries:
        fields = dict(_fields(entry))
        pairs[_text(fields.get(1, b""))] = _text(fields.get(2, b""))
    return pairs


def _metadata(data: bytes) -> dict[str, Any]:
    fields = _fields(data)
    meta: dict[str, Any] = {}
    for number, key in ((1, "name"), (2, "generateName"), (3, "namespace")):
        value = next((v for n, v in fields if n == number), None)
        if value:
            meta[key] = _text(value)
    for number, key in ((11, "labels"), (12, "annotations")):
        entries = [v for n, v in fields if n == number and isinstance(v, bytes)]
        if entries:
            meta[key] = _map(entries)
    return meta


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object (metadata, and the data of ConfigMaps and Secrets)."""
    if not body.startswith(MAGIC):
        raise ValueError("not a Kubernetes protobuf body (no k8s\\0 magic)")
    unknown = dict(_fields(body[len(MAGIC):]))
    type_meta = dict(_fields(unknown.get(1, b"")))  # type: ignore[arg-type]
    obj: dict[str, Any] = {"apiVersion": _text(type_meta.get(1, b"v1")), "kind": _text(type_meta.get(2, b""))}
    raw = _fields(unknown.get(2, b""))  # type: ignore[arg-type]
    for number, value in raw:
        if number == 1 and isinstance(value, bytes):
            obj["metadata"] = _metadata(value)
    if obj["kind"] in ("ConfigMap", "Secret"):
        # ConfigMap: 2 data (map string->string); Secret: 2 data (map string->bytes), 3 type, 4 stringData.
        entries = [v for n, v in raw if n == 2 and isinstance(v, bytes)]
        if entries:
            data = _map(entries)
            obj["data"] = data if obj["kind"] == "ConfigMap" else {
                k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        secret_type = next((v for n, v in raw if n == 3 and obj["kind"] == "Secret"), None)
        if secret_type:
            obj["type"] = _text(secret_type)
    obj.setdefault("metadata", {})
    return obj
