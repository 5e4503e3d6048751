"""Test helpers: a TargetContext whose live API answers come from HttpObservation objects built in the test.

No network: ``FakeClient.get`` looks the requested path up in a dict of canned answers.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

# Imported for its @check registrations: every check id is in REGISTRY afterwards.
from ansible_collections.aragora.ops.plugins.module_utils._checks import catalog  # noqa: F401  # pylint: disable=unused-import
from ansible_collections.aragora.ops.plugins.module_utils._engine.config import Config
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY, run_one
from ansible_collections.aragora.ops.plugins.module_utils._clients.http_client import HttpObservation
from ansible_collections.aragora.ops.plugins.module_utils._engine.target import TargetContext

BASE = "https://api.example.com"
# A configuration that is "given" but sets nothing a check reads.
NEUTRAL = {"UNRELATED_SETTING": "1"}


def obs(status: int | None = 200, body: t.Any = b"", headers: t.Mapping[str, str] | None = None,
        elapsed_ms: float = 12.0, error: str | None = None) -> HttpObservation:
    """An answer; dicts and lists become a JSON body, str becomes UTF-8. The URL is filled in by FakeClient."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    return HttpObservation("GET", "", status=None if error else status, headers=dict(headers or {}), body=body,
                           elapsed_ms=elapsed_ms, error=error)


def refused() -> HttpObservation:
    return obs(error="connection refused (nothing listens there, or a firewall rejects it)")


class FakeClient:
    """Answers GETs from ``answers`` (path -> HttpObservation, or callable(headers) -> HttpObservation)."""

    def __init__(self, answers: t.Mapping[str, t.Any], base_url: str = BASE) -> None:
        self.answers = dict(answers)
        self.base_url = base_url
        self.verify: bool | str = True  # as HttpClient: False when certificates are not verified
        self.calls: list[tuple[str, dict, bool]] = []

    def get(self, path: str, headers: t.Mapping[str, str] | None = None,
            allow_redirects: bool = True) -> HttpObservation:
        self.calls.append((path, dict(headers or {}), allow_redirects))
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        answer = self.answers.get(path)
        if answer is None:
            answer = obs(404, {"error": "not found"})
        elif callable(answer):
            answer = answer(dict(headers or {}))
        return dataclasses.replace(answer, url=url)


def make_ctx(variables: t.Mapping[str, t.Any] | None = None, answers: t.Mapping[str, t.Any] | None = None,
             env_file: str | None = None, base_url: str = BASE, **kwargs: t.Any) -> TargetContext:
    """A context: configuration from ``variables``/``env_file``; a FakeClient when ``answers`` is not None."""
    client = FakeClient(answers, base_url) if answers is not None else None
    return TargetContext(Config(env_file=env_file, variables=variables), client, **kwargs)


def run(check_id: str, ctx: TargetContext) -> dict:
    """One check through the engine, so CheckSkipped/CheckInputError become SKIP/FAIL as in production."""
    return run_one(REGISTRY[check_id], ctx)
