"""The layers of plugins/module_utils, each knowing only the ones below it (README "Layers").

Read from the source's imports, so a new import against the grain fails here, not in a review."""

from __future__ import annotations

import ast
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
PACKAGE = "ansible_collections.aragora.ops.plugins.module_utils"

# What each layer may import (besides itself). The order, bottom up: the clients (and the filesystem, the masking),
# Kubernetes, the operations that change production, the check engine, the checks, the reports, the Ansible glue.
MAY_IMPORT = {
    "_clients": set(),
    "_kubernetes": {"_clients"},
    "_operations": {"_clients", "_kubernetes"},
    "_engine": {"_clients"},
    "_checks": {"_engine", "_clients", "_kubernetes", "_operations"},
    "_reporting": {"_engine", "_clients"},  # _clients.files: the one atomic writer of reports and records
    "_ansible": {"_engine", "_checks", "_clients", "_kubernetes", "_operations", "_reporting"},
}


def _imported_layers(path: str) -> set[str]:
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    layers = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            rest = node.module[len(PACKAGE):].strip(".")
            names = [rest.split(".")[0]] if rest else [alias.name for alias in node.names]
            layers.update(names)
    return layers


def _layer_imports() -> dict[str, dict[str, set[str]]]:
    found: dict[str, dict[str, set[str]]] = {}
    for directory, _dirs, files in os.walk(MODULE_UTILS):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                layer = os.path.relpath(path, MODULE_UTILS).split(os.sep)[0]
                found.setdefault(layer, {})[os.path.relpath(path, MODULE_UTILS)] = _imported_layers(path) - {layer}
    return found


def test_module_utils_holds_only_the_layer_packages():
    assert set(_layer_imports()) == set(MAY_IMPORT)
    for layer in MAY_IMPORT:
        assert os.path.isfile(os.path.join(MODULE_UTILS, layer, "__init__.py")), layer


def test_each_layer_imports_only_the_layers_below_it():
    against_the_grain = {
        path: sorted(imported - MAY_IMPORT[layer])
        for layer, files in _layer_imports().items()
        for path, imported in files.items()
        if imported - MAY_IMPORT[layer]
    }
    assert not against_the_grain
