"""Installed from the tarball, read-only, run by a user who is not root (an execution environment's situation):
prelaunch writes its report outside the collection and publishes its verdict, `ansible-galaxy collection verify`
still passes, and a Kubernetes rollback that works ends successful even when its incident record cannot be
written."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

import pytest

from tests.support.playbook import BIN, ROOT, write_inventory

USER = "nobody"
IMAGE = "ghcr.io/aragora/aragora:%s"
# This venv's Python lives under /root (mode 700); the same minor version from Debian runs its packages.
SYSTEM_PYTHON = "/usr/bin/python3"
SITE_PACKAGES = os.path.join(os.path.dirname(BIN), "lib", "python%d.%d" % sys.version_info[:2], "site-packages")

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(SYSTEM_PYTHON),
                                reason="needs root (to run as another user) and Debian's python3")


@pytest.fixture(scope="module")
def installed():
    """The built tarball installed under a directory the user can read, then made read-only."""
    base = tempfile.mkdtemp(prefix="aragora-installed-", dir="/var/tmp")
    os.chmod(base, 0o755)
    collections = os.path.join(base, "collections")
    galaxy = os.path.join(BIN, "ansible-galaxy")
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": collections}
    env.pop("ANSIBLE_CONFIG", None)
    subprocess.run([galaxy, "collection", "build", "--output-path", os.path.join(base, "dist"), ROOT], cwd=base,
                   env=env, check=True, capture_output=True, timeout=120)
    (tarball,) = glob.glob(os.path.join(base, "dist", "aragora-ops-*.tar.gz"))
    subprocess.run([galaxy, "collection", "install", "--offline", "-p", collections, tarball], cwd=base, env=env,
                   check=True, capture_output=True, timeout=120)
    subprocess.run(["chmod", "-R", "a-w", collections], check=True)
    try:
        yield base, collections
    finally:
        subprocess.run(["chmod", "-R", "u+w", collections], check=False)
        shutil.rmtree(base, ignore_errors=True)


def as_user(base: str, collections: str, command: list[str], home: str, **env: str) -> subprocess.CompletedProcess:
    """Run `python3 -m <command...>` as USER from a directory it cannot write, with only the installed collection."""
    work = os.path.join(base, "work")
    os.makedirs(work, exist_ok=True)
    environment = {"PATH": "/usr/bin:/bin", "HOME": home, "PYTHONPATH": SITE_PACKAGES, "LANG": "C.UTF-8",
                   "ANSIBLE_COLLECTIONS_PATH": collections, "ANSIBLE_NOCOLOR": "1",
                   "ANSIBLE_LOCAL_TEMP": os.path.join(base, "tmp-" + os.path.basename(home)),
                   # Ansible takes ~ of the local connection from the passwd entry (/nonexistent for nobody).
                   "ANSIBLE_REMOTE_TMP": os.path.join(base, "tmp-" + os.path.basename(home)), **env}
    return subprocess.run(["runuser", "-u", USER, "--", "env", "-i", *("%s=%s" % item for item in environment.items()),
                           SYSTEM_PYTHON, "-m", *command], cwd=work, capture_output=True, text=True, timeout=300,
                          check=False)


def user_dir(base: str, name: str, writable: bool = True) -> str:
    path = os.path.join(base, name)
    os.makedirs(path, exist_ok=True)
    user = pwd.getpwnam(USER)
    os.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(path, 0o755 if writable else 0o555)
    scratch = os.path.join(base, "tmp-" + name)
    os.makedirs(scratch, exist_ok=True)
    os.chown(scratch, user.pw_uid, user.pw_gid)
    return path


def readable_copy(base: str, path: str) -> str:
    copy = os.path.join(base, os.path.basename(path))
    shutil.copyfile(path, copy)
    os.chmod(copy, 0o644)
    return copy


def test_prelaunch_writes_its_report_outside_the_collection_and_publishes_the_verdict(installed, sandbox_state):
    base, collections = installed
    home = user_dir(base, "home")
    inventory = write_inventory(os.path.join(base, "prelaunch.yml"), {"sandbox": {
        "ansible_python_interpreter": SYSTEM_PYTHON, "aragora_api_url": sandbox_state["urls"]["api"],
        "aragora_ca_path": readable_copy(base, sandbox_state["paths"]["ca"]), "aragora_check_groups": ["health"]}})
    os.chmod(inventory, 0o644)
    run = as_user(base, collections, ["ansible.cli.playbook", "-i", inventory, "aragora.ops.prelaunch"], home,
                  ANSIBLE_SHOW_CUSTOM_STATS="1")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    report_dir = os.path.join(home, ".ansible", "aragora-ops", "reports")
    with open(os.path.join(report_dir, "readiness-report.json"), encoding="utf-8") as handle:
        assert json.load(handle)["verdict"] == "GO"
    assert "aragora_readiness_verdict" in run.stdout and "GO" in run.stdout
    # Nothing was written inside the installed collection.
    verify = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "verify", "--offline", "-p",
                             collections, "aragora.ops"], capture_output=True, text=True, timeout=120, check=False,
                            env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": collections})
    assert verify.returncode == 0 and "Successfully verified" in verify.stdout, verify.stdout + verify.stderr


def test_a_rollback_that_works_is_successful_when_the_incident_record_cannot_be_written(
        installed, k8s_cluster, sandbox_state):
    base, collections = installed
    cluster = k8s_cluster("bad_release")
    home = user_dir(base, "home-read-only", writable=False)  # where the record would go by default
    inventory = write_inventory(os.path.join(base, "rollback.yml"), {"prod-k8s": {
        "ansible_python_interpreter": SYSTEM_PYTHON, "aragora_kubeconfig": readable_copy(base, cluster.kubeconfig),
        "aragora_api_url": sandbox_state["urls"]["api"],
        "aragora_ca_path": readable_copy(base, sandbox_state["paths"]["ca"]),
        "aragora_rollback_poll_interval": 0.2, "aragora_rollback_health_interval": 1}}, "aragora_kubernetes")
    os.chmod(inventory, 0o644)
    run = as_user(base, collections, ["ansible.cli.playbook", "-i", inventory, "aragora.ops.rollback"], home,
                  ANSIBLE_SHOW_CUSTOM_STATS="1")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "SUCCEEDED" in run.stdout and "incident record could not be written" in run.stdout + run.stderr
    assert "aragora_rollback_results" in run.stdout and "'outcome': 'succeeded'" in run.stdout.replace('"', "'")
