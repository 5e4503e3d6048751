"""Release hygiene: versions agree, the license is shipped, the changelog is generated from its fragments, and the
modules run on the Python their documentation states."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
GALAXY = yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8"))


def test_every_plugin_was_added_in_a_released_or_the_current_version():
    version = tuple(int(part) for part in GALAXY["version"].split("."))
    for path in glob.glob(os.path.join(ROOT, "plugins", "*", "*.py")):
        for added in re.findall(r"^version_added: ([\d.]+)$", open(path, encoding="utf-8").read(), re.M):
            assert tuple(int(part) for part in added.split(".")) <= version, (path, added)


def test_the_license_galaxy_names_is_shipped():
    assert GALAXY["license"] == ["GPL-3.0-or-later"]
    with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as handle:
        assert "GNU GENERAL PUBLIC LICENSE" in handle.read(200)


def test_the_modules_need_no_newer_python_than_documented():
    documented = open(os.path.join(ROOT, "plugins", "doc_fragments", "python.py"), encoding="utf-8").read()
    (minimum,) = re.findall(r"Python (3\.\d+) or newer", documented)
    result = subprocess.run([os.path.join(BIN, "vermin"), "--no-tips", "--violations", "-t=%s-" % minimum,
                             os.path.join(ROOT, "plugins", "modules"), os.path.join(ROOT, "plugins", "module_utils")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")):
        assert "aragora.ops.python" in open(path, encoding="utf-8").read(), path


def test_every_requirement_is_imported_somewhere():
    imports = {"requests": "requests", "python-dotenv": "dotenv", "prometheus-client": "prometheus_client",
               "redis": "redis", "psycopg2-binary": "psycopg2", "kubernetes": "kubernetes",
               "cryptography": "cryptography", "websockets": "websockets"}
    source = "\n".join(open(path, encoding="utf-8").read()
                       for path in glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True))
    for line in open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8"):
        name = re.split(r"[<>=!~ ]", line.strip())[0]
        if name and not name.startswith("#"):
            module = imports[name]  # a new requirement must be named here, with what imports it
            assert re.search(r"^\s*(from|import) %s\b" % module, source, re.M), name
