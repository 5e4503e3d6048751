"""Counts the structure issue 16 wants to shrink, so that its before and after are measured the same way.

  .venv/bin/python scripts/structure_counts.py          (ANSIBLE_CONFIG=ansible.cfg, after scripts/setup.sh)

Prints: the options of each module's argument spec as the user meets them (ansible-doc, which sanity keeps equal to
the spec), the option declarations written in the source (argument-spec entries, doc-fragment and module DOCUMENTATION
options), the role variables (meta/argument_specs.yml and defaults), the Jinja lines and set_facts of the roles,
the functions that write outcome files atomically (os.replace), and the sandbox/tests import cycle.
"""

from __future__ import annotations

import ast
import collections
import glob
import json
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC_ENTRY = re.compile(r'^\s*"[a-z0-9_]+": \{"type"', re.M)
JINJA = re.compile(r"\{\{|\{%")
# A Jinja line that decides rather than passes a value on: a branch, a test, a comparison, string building, a
# second fallback, or data reshaped in the template.
DECIDING = re.compile(r"\b(if|else|is|and|or|not)\b|~|==|!=|\b(combine|dict2items|items2dict|selectattr|rejectattr|"
                      r"ternary|length)\b|\bmap\(|\bjoin\(|default\([^)]*\)[^}]*default\(")


def documented_options() -> dict[str, int]:
    modules = sorted(os.path.basename(path)[:-3] for path in glob.glob(os.path.join(ROOT, "plugins/modules/*.py")))
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "--json", "-t", "module",
                          *("aragora.ops." + name for name in modules)], capture_output=True, text=True, check=True,
                         timeout=300, cwd=ROOT)
    return {name.split(".")[-1]: len(doc["doc"].get("options") or {}) for name, doc in json.loads(out.stdout).items()}


def _doc_options(path: str) -> int:
    """Top-level options of every YAML documentation string in the file (DOCUMENTATION, fragment attributes)."""
    count = 0
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            names = [getattr(target, "id", "") for target in node.targets]
            if any(name.isupper() and name not in ("EXAMPLES", "RETURN") for name in names):
                doc = yaml.safe_load(node.value.value) or {}
                count += len(doc.get("options") or {}) if isinstance(doc, dict) else 0
    return count


def role_variables() -> tuple[collections.Counter, collections.Counter]:
    specs: collections.Counter = collections.Counter()
    defaults: collections.Counter = collections.Counter()
    for path in glob.glob(os.path.join(ROOT, "roles/*/meta/argument_specs.yml")):
        for entry in (yaml.safe_load(open(path, encoding="utf-8"))["argument_specs"] or {}).values():
            specs.update(list(entry.get("options") or {}))
    for path in glob.glob(os.path.join(ROOT, "roles/*/defaults/main.yml")):
        defaults.update(list(yaml.safe_load(open(path, encoding="utf-8")) or {}))
    return specs, defaults


def vocabulary_counts(path: str) -> dict[str, int]:
    """What the role vocabulary declares: each shared variable once, each role's own variables, and the keys a role
    says differently from the shared declaration (the generated argument specs and defaults repeat all of them)."""
    vocabulary = yaml.safe_load(open(path, encoding="utf-8"))
    shared = vocabulary.get("shared") or {}
    counts = {"shared": len(shared), "role_own": 0, "role_takes_shared": 0}
    for role in vocabulary["roles"].values():
        for name, own in (role.get("variables") or {}).items():
            if name not in shared:
                counts["role_own"] += 1
                continue
            counts["role_takes_shared"] += 1
            for key in own or {}:
                if key != "comment":
                    counts["role_%s_over_shared" % key] = counts.get("role_%s_over_shared" % key, 0) + 1
    counts["declarations"] = counts["shared"] + counts["role_own"]
    return counts


def _python_files(skip: tuple[str, ...] = ("build", ".venv", ".git")) -> list[str]:
    """The repository's own Python files (relative paths), without build/ and the venvs."""
    found = []
    for directory, subdirs, files in os.walk(ROOT):
        if directory == ROOT:
            subdirs[:] = [name for name in subdirs if name not in skip]
        found += [os.path.relpath(os.path.join(directory, name), ROOT) for name in files if name.endswith(".py")]
    return sorted(found)


def sandbox_tests_cycle() -> dict[str, int]:
    """How the sandbox and the tests reach each other: code outside tests/ that uses tests' modules (an import or a
    `python -m tests....` command), and sys.path changes that put scripts/ on the path to import the sandbox."""
    texts = {path: open(os.path.join(ROOT, path), encoding="utf-8").read() for path in _python_files()}
    uses_tests = re.compile(r"^\s*(from|import) tests\b|[\"']tests\.support\.", re.M)
    scripts_on_path = re.compile(r"sys\.path.*[\"']scripts[\"']")
    return {
        "files outside tests/ using tests' modules": sum(
            1 for path, text in texts.items() if not path.startswith("tests" + os.sep) and uses_tests.search(text)),
        "sys.path changes putting scripts/ on the path": sum(len(scripts_on_path.findall(text)) for text in texts.values()),
    }


def main() -> None:
    documented = documented_options()
    print("module options (ansible-doc): total %d; %s" % (sum(documented.values()), json.dumps(documented)))
    sources = glob.glob(os.path.join(ROOT, "plugins/module_utils/**/*.py"), recursive=True) + glob.glob(
        os.path.join(ROOT, "plugins/modules/*.py"))
    print("argument-spec entries written in plugins/ (\"name\": {\"type\" ...): %d"
          % sum(len(SPEC_ENTRY.findall(open(p, encoding="utf-8").read())) for p in sources))
    fragments = {os.path.basename(p): _doc_options(p) for p in glob.glob(os.path.join(ROOT, "plugins/doc_fragments/*.py"))}
    own = sum(_doc_options(p) for p in glob.glob(os.path.join(ROOT, "plugins/modules/*.py")))
    print("documented options written: doc fragments %d %s, modules' own DOCUMENTATION %d"
          % (sum(fragments.values()), json.dumps(fragments), own))
    specs, defaults = role_variables()
    print("role variables in argument_specs.yml: %d declarations of %d names (%d in more than one entry point)"
          % (sum(specs.values()), len(specs), sum(1 for n in specs.values() if n > 1)))
    print("role defaults/main.yml: %d declarations of %d names (%d in more than one role)"
          % (sum(defaults.values()), len(defaults), sum(1 for n in defaults.values() if n > 1)))
    vocabulary_path = os.path.join(ROOT, "scripts", "role_vocabulary.yml")
    if os.path.exists(vocabulary_path):
        print("role variables written by hand (%s): %s" % (os.path.relpath(vocabulary_path, ROOT),
                                                           json.dumps(vocabulary_counts(vocabulary_path))))
    jinja: dict[str, int] = {}
    deciding: dict[str, int] = {}
    set_facts: dict[str, int] = {}
    tasks_jinja = 0
    for role in sorted(glob.glob(os.path.join(ROOT, "roles/*"))):
        lines = [line for p in glob.glob(os.path.join(role, "**/*.yml"), recursive=True)
                 for line in open(p, encoding="utf-8")]
        jinja[os.path.basename(role)] = sum(1 for line in lines if JINJA.search(line))
        deciding[os.path.basename(role)] = sum(
            1 for p in glob.glob(os.path.join(role, "tasks", "*.yml")) for line in open(p, encoding="utf-8")
            if JINJA.search(line) and DECIDING.search(line.split("{", 1)[1]))
        tasks_jinja += sum(1 for p in glob.glob(os.path.join(role, "tasks", "*.yml"))
                           for line in open(p, encoding="utf-8") if JINJA.search(line))
        set_facts[os.path.basename(role)] = sum(1 for line in lines if re.search(r"\bset_fact:", line))
    print("Jinja lines in roles (any .yml): total %d (in tasks/ %d); %s"
          % (sum(jinja.values()), tasks_jinja, json.dumps(jinja)))
    print("Jinja lines in roles' tasks that decide (branch, test, comparison, string building, second fallback, "
          "reshaping): total %d; %s" % (sum(deciding.values()), json.dumps(deciding)))
    print("set_fact tasks in roles: total %d; %s" % (sum(set_facts.values()), json.dumps(set_facts)))
    writers = []
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins/**/*.py"), recursive=True)):
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, ast.FunctionDef) and "os.replace(" in ast.unparse(node):
                writers.append("%s:%s" % (os.path.relpath(path, ROOT), node.name))
    print("functions writing files atomically (os.replace): %d; %s" % (len(writers), ", ".join(writers)))
    print("sandbox/tests cycle: %s" % json.dumps(sandbox_tests_cycle()))


if __name__ == "__main__":
    main()
