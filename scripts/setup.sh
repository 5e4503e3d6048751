#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian 12 machine (root or passwordless sudo):
# Debian packages (Redis 7, PostgreSQL 15, systemd-nspawn, Chromium for the HTML report's test), awx.awx, the
# collection's venv (.venv: ansible-core 2.19 and the modules' libraries), ansible-core 2.18 (build/core218-venv),
# the real Aragora 2.11.1 in its own venv (build/aragora-venv) and the release before it, 2.11.0
# (build/aragora-venv-2.11.0), and the collection link Ansible loads.
# Idempotent: each step is skipped when its result is already there and up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
ARAGORA_VERSION=2.11.1
PREVIOUS_ARAGORA_VERSION=2.11.0

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing_packages=()
command -v redis-server >/dev/null || missing_packages+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/pg_ctl ] || missing_packages+=(postgresql-15 postgresql-client-15)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || missing_packages+=(python3-venv)
command -v git >/dev/null || missing_packages+=(git)
# systemd-nspawn: the rollback's end-to-end test boots real systemd in a container over an overlay of /.
command -v systemd-nspawn >/dev/null || missing_packages+=(systemd-container)
# chromium: the HTML report's test renders it in a real headless browser.
command -v chromium >/dev/null || missing_packages+=(chromium)
# The Debian packages (about 90 s on a fresh machine, Chromium most of it) install in the background while the
# venvs are made; setup waits for them before it says ready, and fails if they failed.
wait_for_packages() {
  [ -n "$apt_pid" ] || return 0
  if ! wait "$apt_pid"; then
    echo "setup: installing ${missing_packages[*]} failed (build/setup-apt.log):" >&2
    tail -n 20 build/setup-apt.log >&2
    exit 1
  fi
  apt_pid=
}
# python3-venv is needed at once (uv's own venv), so without it everything is installed first.
apt_pid=
if [ ${#missing_packages[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing_packages[*]}"
  mkdir -p build
  ( as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}"
  ) >build/setup-apt.log 2>&1 &
  apt_pid=$!
  if [[ " ${missing_packages[*]} " == *" python3-venv "* ]]; then wait_for_packages; fi
fi

# The pip arguments and the contents of the requirement files among them, hashed.
requirements_digest() {
  local arg
  for arg in "$@"; do
    printf '%s\n' "$arg"
    if [ -f "$arg" ]; then cat "$arg"; fi
  done | sha256sum | cut -d' ' -f1
}

# Rebuild a venv only when its requirements changed: the stamp holds their digest.
ensure_venv() {  # dir, then pip install arguments
  local dir=$1; shift
  local want; want=$(requirements_digest "$@")
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.requirements.sha256" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "setup: preparing $dir"
  local started=$SECONDS
  rm -rf "$dir"
  # --seed: pip in the venv too (scripts/sanity.sh and the benchmarks install a tool with it).
  "$UV" venv -q --seed --python "$PYTHON_PATH" "$dir"
  "$UV" pip install -q --python "$dir/bin/python" "$@"
  echo "$want" > "$dir/.requirements.sha256"
  echo "setup: $dir ready in $((SECONDS - started)) s"
}

# uv makes the venvs: about 3 s each from an empty cache where pip took 30-60 s (one download for the two Aragora
# releases, whose libraries are the same). It comes from PyPI, into a venv of its own; Python is never downloaded.
PYTHON_PATH=$("$PYTHON" -c 'import sys; print(sys.executable)')
export UV_PYTHON_DOWNLOADS=never
UV_REQUIREMENT="uv==0.13.9"
UV=build/uv-venv/bin/uv
if [ ! -x "$UV" ] || [ "$(cat build/uv-venv/.requirement 2>/dev/null)" != "$UV_REQUIREMENT" ]; then
  echo "setup: installing $UV_REQUIREMENT"
  rm -rf build/uv-venv
  "$PYTHON" -m venv build/uv-venv
  build/uv-venv/bin/python -m pip install -q --disable-pip-version-check "$UV_REQUIREMENT"
  echo "$UV_REQUIREMENT" > build/uv-venv/.requirement
fi

ensure_venv .venv -r requirements.txt -r tests/requirements.txt
# bcrypt: register/login; redis: its Redis health checks; asyncpg: the PostgreSQL backend; prometheus-client: its
# metrics server (without it the server logs an error at every start).
# ansible-core 2.18, the oldest meta/runtime.yml admits: tests/integration/test_ansible_core_218.py runs with it.
ensure_venv build/core218-venv "ansible-core>=2.18,<2.19" -r requirements.txt
ensure_venv build/aragora-venv "aragora==$ARAGORA_VERSION" bcrypt redis asyncpg prometheus-client
# The release before it, for the rollbacks between two real releases (tests/integration/test_real_releases.py,
# test_coordinated_rollback.py): the emulated Deployment's image tag 2.11.0 runs this venv.
ensure_venv build/aragora-venv-$PREVIOUS_ARAGORA_VERSION "aragora==$PREVIOUS_ARAGORA_VERSION" bcrypt redis asyncpg \
  prometheus-client

# Ansible finds the collection as ansible_collections/aragora/ops under build/collections (ansible.cfg).
link=build/collections/ansible_collections/aragora/ops
if [ ! -L "$link" ]; then
  mkdir -p "$(dirname "$link")"
  ln -s ../../../.. "$link"
fi
# awx.awx, for controller/configure.yml (the AWX/AAP configuration as code) and its lint: Galaxy cannot be reached
# here, so it is taken from the `ansible` community package's wheel on PyPI (only that collection is unpacked).
AWX_RELEASE=12.3.0
awx_collection=build/collections/ansible_collections/awx/awx
if [ ! -f "$awx_collection/MANIFEST.json" ]; then
  echo "setup: unpacking awx.awx from ansible==$AWX_RELEASE"
  awx_started=$SECONDS
  wheel_dir=$(mktemp -d)
  "$ROOT/build/uv-venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps --dest "$wheel_dir" "ansible==$AWX_RELEASE"
  "$ROOT/.venv/bin/python" - "$wheel_dir"/ansible-*.whl build/collections <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    wheel.extractall(sys.argv[2], [n for n in wheel.namelist() if n.startswith("ansible_collections/awx/awx/")])
PY
  rm -rf "$wheel_dir"
  echo "setup: awx.awx ready in $((SECONDS - awx_started)) s"
fi
wait_for_packages
echo "setup: ready in $SECONDS s (ansible-core $("$ROOT/.venv/bin/python" -c 'import ansible.release as r; print(r.__version__)'), aragora $ARAGORA_VERSION)"
