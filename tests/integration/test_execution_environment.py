"""The execution environment: `ansible-builder create` (v3) gives a build context with everything the restore needs
- the collection's tarball, its Python libraries, the PostgreSQL client of a supported major - and
ansible-builder's own introspection finds the same in the installed collection (meta/execution-environment.yml).
No image is built (no container engine here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import yaml

from tests.support.playbook import BIN, ROOT

SUPPORTED_PG_MAJORS = range(14, 19)  # PostgreSQL majors with community support at the end of 2026


def read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def test_ansible_builder_create_gives_a_context_that_can_restore(tmp_path):
    version = yaml.safe_load(read(os.path.join(ROOT, "galaxy.yml")))["version"]
    for name in ("execution-environment.yml", "requirements.txt", "bindep.txt"):
        shutil.copy(os.path.join(ROOT, name), tmp_path / name)
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path",
                    str(tmp_path / "build" / "dist"), ROOT], check=True, capture_output=True, timeout=120)
    created = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "-c", "context",
                              "--output-filename", "Containerfile"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=120, check=False)
    assert created.returncode == 0, created.stdout + created.stderr
    context = tmp_path / "context"
    containerfile = read(str(context / "Containerfile"))
    assert "ansible-core>=2.18,<2.20" in containerfile and "ansible-runner" in containerfile
    assert "module enable -y postgresql:16" in containerfile and "USER 1000" in containerfile
    # The collection itself, at galaxy.yml's version, installed from the tarball in the context.
    (requirement,) = yaml.safe_load(read(str(context / "_build" / "requirements.yml")))["collections"]
    assert requirement["type"] == "file" and requirement["name"].endswith("aragora-ops-%s.tar.gz" % version)
    assert (context / "_build" / requirement["name"]).is_file()
    assert read(str(context / "_build" / "requirements.txt")) == read(os.path.join(ROOT, "requirements.txt"))
    bindep = read(str(context / "_build" / "bindep.txt"))
    assert "postgresql [platform:rpm]" in bindep
    (debian_major,) = re.findall(r"^postgresql-client-(\d+) \[platform:dpkg\]", bindep, re.M)
    assert int(debian_major) in SUPPORTED_PG_MAJORS

    # The builder's introspection, run as the build runs it, over the collection installed from that tarball
    # (--force: this checkout's own link would otherwise count as installed already).
    installed = tmp_path / "collections"
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--force", "-p", str(installed),
                    str(context / "_build" / requirement["name"])], check=True, capture_output=True, timeout=120)
    introspected = subprocess.run([os.path.join(BIN, "python"), str(context / "_build" / "scripts" / "introspect.py"),
                                   "introspect", str(installed)], capture_output=True, text=True, timeout=60,
                                  check=True)
    found = yaml.safe_load(introspected.stdout)
    assert any(line.startswith("postgresql [platform:rpm]") for line in found["system"])
    assert any(line.startswith("psycopg2-binary") for line in found["python"])
    assert any(line.startswith("kubernetes") for line in found["python"])


def test_bindep_finds_the_postgresql_client_installed_on_this_debian_host():
    bindep = os.path.join(BIN, "bindep")
    result = subprocess.run([bindep, "-b", "-f", os.path.join(ROOT, "bindep.txt")], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr
    pg_restore = subprocess.run(["pg_restore", "--version"], capture_output=True, text=True, check=True)
    assert int(re.search(r"(\d+)\.\d+", pg_restore.stdout).group(1)) in SUPPORTED_PG_MAJORS
