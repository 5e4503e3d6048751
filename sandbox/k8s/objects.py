"""Plain-data helpers of the emulated Kubernetes API: selectors, patches, template hashes, Status bodies.

No server here, so each rule can be read (and unit-tested) on its own.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import hashlib
import json
import re
from typing import Any

import jsonpatch

Obj = dict[str, Any]

# Fields whose lists the strategic merge patch merges by a key instead of replacing (the subset of the
# Kubernetes schema that pod templates, kubectl set image/env and rollout restart touch).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "conditions": "type",
}

_SELECTOR_TERM = re.compile(
    r"^\s*(?:(?P<not>!)\s*(?P<absent>[\w./-]+)"
    r"|(?P<key>[\w./-]+)\s*(?:(?P<op>==|=|!=)\s*(?P<value>[\w./-]*)|\s+(?P<set>in|notin)\s*\((?P<values>[^)]*)\))?)\s*$"
)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def timestamp(moment: datetime.datetime | None = None) -> str:
    return (moment or now()).strftime("%Y-%m-%dT%H:%M:%SZ")


def dig(obj: Any, path: str, default: Any = None) -> Any:
    """obj['a']['b'] for path 'a.b', default when any step is missing."""
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return default
        obj = obj[part]
    return obj


# ---- selectors ----------------------------------------------------------------------------------------------------

Requirement = tuple[str, str, frozenset[str]]  # key, operator (=, !=, in, notin, exists, !exists), values


def _split_terms(text: str) -> list[str]:
    """Split a selector on the commas that are not inside `in (a,b)` value sets."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    return [term for term in terms + [current] if term.strip()]


def parse_label_selector(text: str) -> list[Requirement]:
    """Equality- and set-based label selector (`a=b,c!=d,e in (f,g),!h`) -> requirements; ValueError if bad."""
    requirements: list[Requirement] = []
    for term in _split_terms(text or ""):
        match = _SELECTOR_TERM.match(term)
        if not match:
            raise ValueError(f"unable to parse requirement: {term!r}")
        if match["absent"]:
            requirements.append((match["absent"], "!exists", frozenset()))
        elif match["op"]:
            requirements.append((match["key"], "!=" if match["op"] == "!=" else "=", frozenset([match["value"]])))
        elif match["set"]:
            values = frozenset(v.strip() for v in match["values"].split(",") if v.strip())
            requirements.append((match["key"], match["set"], values))
        else:
            requirements.append((match["key"], "exists", frozenset()))
    return requirements


def selector_requirements(selector: Obj | None) -> list[Requirement]:
    """A LabelSelector object (matchLabels, matchExpressions) -> requirements."""
    selector = selector or {}
    requirements: list[Requirement] = [
        (key, "=", frozenset([value])) for key, value in (selector.get("matchLabels") or {}).items()
    ]
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expression in selector.get("matchExpressions") or []:
        requirements.append(
            (expression["key"], operators[expression["operator"]], frozenset(expression.get("values") or []))
        )
    return requirements


def selector_string(selector: Obj | None) -> str:
    """The text form kubectl and Scale.status.selector use."""
    parts = []
    for key, operator, values in selector_requirements(selector):
        if operator in ("=", "!="):
            parts.append(f"{key}{operator}{next(iter(values))}")
        elif operator in ("in", "notin"):
            parts.append(f"{key} {operator} ({','.join(sorted(values))})")
        else:
            parts.append(key if operator == "exists" else f"!{key}")
    return ",".join(parts)


def labels_match(requirements: list[Requirement], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    for key, operator, values in requirements:
        present, value = key in labels, labels.get(key)
        ok = {
            "=": present and value in values,
            "in": present and value in values,
            "!=": not present or value not in values,
            "notin": not present or value not in values,
            "exists": present,
            "!exists": not present,
        }[operator]
        if not ok:
            return False
    return True


def parse_field_selector(text: str) -> list[tuple[str, bool, str]]:
    """`spec.nodeName=n1,status.phase!=Running` -> (path, equal, value) triples; ValueError if bad."""
    terms = []
    for term in _split_terms(text or ""):
        match = re.match(r"^\s*([\w./-]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not match:
            raise ValueError(f"invalid field selector: {term!r}")
        terms.append((match[1], match[2] != "!=", match[3]))
    return terms


def fields_match(terms: list[tuple[str, bool, str]], obj: Obj) -> bool:
    # Any field path works here; the real server only allows a few per kind (metadata.name, spec.nodeName, ...).
    return all((str(dig(obj, path, "")) == value) == equal for path, equal, value in terms)


# ---- patches ------------------------------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (application/merge-patch+json): dicts merge, null removes, lists replace."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_list(field: str, target: list[Any], patch: list[Any]) -> list[Any]:
    key = MERGE_KEYS[field]
    result = copy.deepcopy(target)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            continue
        index = next((i for i, old in enumerate(result) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(strategic_merge_patch({}, item))
        else:
            result[index] = strategic_merge_patch(result[index], item)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """The strategic merge patch kubectl sends (set image, rollout restart, apply), for the pod-template fields.

    Lists named in MERGE_KEYS merge by key, `$patch: delete|replace` is honoured, ordering directives are ignored.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue  # $setElementOrder/..., $retainKeys: ordering and pruning hints
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(result.get(key), list):
            result[key] = _merge_list(key, result[key], value)
        elif isinstance(value, list):
            result[key] = [strategic_merge_patch({}, v) if isinstance(v, dict) else v for v in value]
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def apply_patch(target: Obj, body: Any, content_type: str) -> Obj:
    """Apply a PATCH body by its Content-Type, the way the API server picks the patch strategy."""
    if content_type.startswith("application/json-patch+json"):
        return jsonpatch.apply_patch(copy.deepcopy(target), body)
    if content_type.startswith("application/merge-patch+json"):
        return merge_patch(target, body)
    # strategic-merge-patch+json, and apply-patch+yaml approximated by it (no field managers here)
    return strategic_merge_patch(target, body)


# ---- pod templates ------------------------------------------------------------------------------------------------

_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_SUFFIXES = {
    "": 1, "m": decimal.Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of Kubernetes' rand.SafeEncodeString


def quantity(value: Any) -> decimal.Decimal | None:
    """'500m' -> 0.5, '2Gi' -> 2147483648; None when it is not a quantity."""
    match = _QUANTITY.match(str(value))
    if not match or match[2] not in _SUFFIXES:
        return None
    return decimal.Decimal(match[1]) * _SUFFIXES[match[2]]


def _canonical(value: Any, parent: str = "") -> Any:
    """Drop empty values and write quantities as numbers: kubectl's typed round trip (rollout undo sends the
    ReplicaSet's template back) adds `creationTimestamp: null`, `resources: {}` and rewrites 2000m as 2."""
    if isinstance(value, dict):
        pairs = ((k, _canonical(v, k)) for k, v in value.items())
        return {k: v for k, v in pairs if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if parent in ("requests", "limits") or (isinstance(value, str) and parent in ("cpu", "memory")):
        number = quantity(value)
        return str(number.normalize()) if number is not None else value
    return value


def template_hash(template: Obj) -> str:
    """The pod-template-hash of a Deployment's template (pod-template-hash label itself excluded)."""
    template = copy.deepcopy(template)
    (template.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
    digest = hashlib.sha256(json.dumps(_canonical(template), sort_keys=True).encode()).digest()
    return "".join(_HASH_ALPHABET[b % len(_HASH_ALPHABET)] for b in digest[:10])


def int_or_percent(value: Any, total: int, round_up: bool) -> int:
    """maxSurge / maxUnavailable: an int, or a percentage of the replicas (surge rounds up, unavailable down)."""
    if isinstance(value, str) and value.endswith("%"):
        share = decimal.Decimal(value[:-1]) * total / 100
        return int(share.to_integral_value(decimal.ROUND_CEILING if round_up else decimal.ROUND_FLOOR))
    return int(value)


# ---- Status bodies ------------------------------------------------------------------------------------------------


def status_body(code: int, reason: str, message: str, details: Obj | None = None) -> Obj:
    """A metav1.Status, as every Kubernetes error is answered."""
    body: Obj = {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    }
    if details:
        body["details"] = details
    return body
