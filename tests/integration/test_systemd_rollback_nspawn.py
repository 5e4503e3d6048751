"""End to end against real systemd: rollback.yml inside a container booted with systemd-nspawn over an overlay of /.

The release tree is laid out on the host (under build/, which the overlay shows to the container); the unit is
installed into the container's /etc/systemd/system (its tmpfs layer), and ansible-playbook runs inside the container
with a local connection, so ansible.builtin.systemd_service talks to the container's systemd.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

from tests.support import nspawn
from tests.support.playbook import BIN, ROOT, write_inventory
from tests.support.systemd_host import make_host, origin

UNIT = "aragora-e2e.service"
REASON = nspawn.unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason="real systemd cannot be booted here: %s" % REASON)


@pytest.fixture()
def container_host():
    # Under build/ on the real filesystem, not /tmp: the container mounts its own /tmp, and the overlay shows
    # the host's files as they were when it was mounted.
    base = os.path.join(ROOT, "build", "nspawn-e2e")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    units = os.path.join(base, "units")
    host = make_host(os.path.join(base, "host"), units, UNIT,
                     {"2.9.0": {"broken": True}, "2.10.0": {"version": "2.11.1"}, "2.11.1": {}}, "2.11.1")
    inventory = write_inventory(os.path.join(base, "inventory.yml"), {"e2e": {
        "aragora_release_root": host["root"], "aragora_systemd_unit": UNIT, "aragora_api_url": host["api_url"],
        "aragora_report_dir": os.path.join(base, "reports"), "aragora_rollback_health_interval": 1,
        "aragora_rollback_health_timeout": 60}}, "aragora_systemd")
    with open(os.path.join(units, UNIT), encoding="utf-8") as handle:
        unit_text = handle.read()
    with nspawn.Container(os.path.join(base, "scratch")) as box:
        box.run(["sh", "-c", "cat > /etc/systemd/system/%s" % UNIT], input_text=unit_text)
        box.run(["systemctl", "daemon-reload"])
        box.run(["systemctl", "start", UNIT])
        yield box, host, inventory
        box.run(["systemctl", "stop", UNIT], check=False)


def api_get(box, url: str, origin_header: str) -> dict:
    code = ("import json, urllib.request as u; r = u.Request(%r, headers={'Origin': %r}); "
            "o = u.build_opener(u.ProxyHandler({})).open(r, timeout=3); "
            "print(json.dumps({'status': o.status, 'acao': o.headers.get('Access-Control-Allow-Origin')}))"
            % (url, origin_header))
    result = box.run([sys.executable, "-c", code], check=False)
    return json.loads(result.stdout) if result.returncode == 0 else {"status": 0, "error": result.stderr[-300:]}


def playbook(box, inventory: str, *extra: str):
    return box.run([os.path.join(BIN, "ansible-playbook"), "-i", inventory,
                    os.path.join(ROOT, "playbooks", "rollback.yml"), *extra], check=False, timeout=300,
                   env={"ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"})


def test_rollback_then_broken_release_reverted_under_real_systemd(container_host):
    box, host, inventory = container_host
    show = ["systemctl", "show", "--property=MainPID", "--value", UNIT]
    first_pid = box.run(show).stdout.strip()

    result = playbook(box, inventory)
    assert result.returncode == 0, result.stdout + result.stderr
    assert box.run(["readlink", os.path.join(host["root"], "current")]).stdout.strip() == "releases/2.10.0"
    assert box.run(show).stdout.strip() not in ("0", first_pid)
    answer = api_get(box, host["api_url"] + "/api/health", origin("2.10.0"))
    assert answer == {"status": 200, "acao": origin("2.10.0")}, answer

    result = playbook(box, inventory, "-e", "aragora_rollback_release=2.9.0", "-e",
                      "aragora_rollback_health_timeout=10")
    assert result.returncode != 0
    assert "REVERTED" in result.stdout and "points at 2.10.0 again" in result.stdout, result.stdout[-3000:]
    assert box.run(["systemctl", "is-active", UNIT]).stdout.strip() == "active"
    assert api_get(box, host["api_url"] + "/api/health", origin("2.10.0"))["acao"] == origin("2.10.0")
