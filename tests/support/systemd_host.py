"""A systemd-style Aragora deployment in a directory, for the rollback tests.

    <root>/releases/<version>/venv       -> the real Aragora 2.11.1 venv (build/aragora-venv)
    <root>/releases/<version>/release.env   what makes this release differ (an allowed origin, or a broken config)
    <root>/releases/<version>/VERSION       when the release says which version it serves
    <root>/current -> releases/<version>
    <root>/.env                             the host's own settings (ports, data directory)
    <units dir>/<unit>                      the unit, running <root>/current/venv/bin/python -m aragora.server

The same unit file runs under the ``systemctl`` stand-in and under real systemd.
"""

from __future__ import annotations

import json
import os
import time
import typing as t
import urllib.error
import urllib.request

import sandbox
from tests.support.playbook import ROOT

ARAGORA_VENV = os.path.join(ROOT, "build", "aragora-venv")
# Production mode without its required secrets: Aragora 2.11.1 refuses to start (a release that cannot serve).
BROKEN_ENV = {"ARAGORA_ENV": "production"}
LOOPBACK = "127.0.0.1"

UNIT_TEMPLATE = """[Unit]
Description=Aragora test deployment {root}
After=network.target

[Service]
Type=simple
WorkingDirectory={root}/current
EnvironmentFile=-{root}/.env
EnvironmentFile=-{root}/current/release.env
ExecStart={root}/current/venv/bin/python -m aragora.server --host 127.0.0.1 --http-port {http} --port {ws}
TimeoutStopSec=15

[Install]
WantedBy=multi-user.target
"""


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports, chosen as the sandbox chooses its own (sandbox.pick_free_ports)."""
    return list(sandbox.pick_free_ports(tuple("port%d" % index for index in range(count))).values())


def origin(release: str) -> str:
    """The CORS origin a good test release allows: what tells two good releases apart over HTTP."""
    return "https://release-%s.test" % release.replace(".", "-")


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def make_host(root: str, units_dir: str, unit: str, releases: t.Mapping[str, t.Mapping[str, t.Any]],
              current: str, venv: str = ARAGORA_VENV) -> dict[str, t.Any]:
    """Lay out a deployment; ``releases``: name -> {"broken": bool, "version": str | None, "venv": path (default
    ``venv``: another real Aragora release, e.g. build/aragora-venv-2.11.0)}. Returns its facts."""
    http, ws, cp_ws, nomic_ws, canvas_ws = free_ports(5)
    for name, spec in releases.items():
        directory = os.path.join(root, "releases", name)
        os.makedirs(directory)
        os.symlink(spec.get("venv") or venv, os.path.join(directory, "venv"))
        env = dict(BROKEN_ENV) if spec.get("broken") else {"ARAGORA_ALLOWED_ORIGINS": origin(name)}
        _write(os.path.join(directory, "release.env"), "".join("%s=%s\n" % item for item in env.items()))
        if spec.get("version"):
            _write(os.path.join(directory, "VERSION"), spec["version"] + "\n")
    os.symlink(os.path.join("releases", current), os.path.join(root, "current"))
    data = os.path.join(root, "data")
    os.makedirs(os.path.join(data, "home"))
    _write(os.path.join(root, ".env"), "".join("%s=%s\n" % item for item in {
        "ARAGORA_ENV": "development", "ARAGORA_DATA_DIR": data, "HOME": os.path.join(data, "home"),
        "ARAGORA_CONTROL_PLANE_WS_PORT": cp_ws, "ARAGORA_NOMIC_LOOP_WS_PORT": nomic_ws,
        "ARAGORA_CANVAS_WS_PORT": canvas_ws}.items()))
    _write(os.path.join(units_dir, unit), UNIT_TEMPLATE.format(root=root, http=http, ws=ws))
    return {"root": root, "unit": unit, "api_url": "http://%s:%d" % (LOOPBACK, http), "http_port": http}


def link(host: t.Mapping[str, t.Any]) -> str:
    return os.readlink(os.path.join(host["root"], "current"))


def get(url: str, headers: t.Mapping[str, str] | None = None, timeout: float = 3.0) -> tuple[int, dict, dict]:
    """(status, headers, JSON body) of a GET; status 0 when nothing answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), {}
    except (OSError, ValueError):
        return 0, {}, {}


def wait_ready(api_url: str, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if get(api_url + "/readyz")[0] == 200:
            return True
        time.sleep(0.5)
    return False


def allowed_origin(api_url: str, release: str) -> str | None:
    """The Access-Control-Allow-Origin the server answers for the given release's origin (None: not allowed)."""
    _status, headers, _body = get(api_url + "/api/health", {"Origin": origin(release)})
    return headers.get("Access-Control-Allow-Origin")
