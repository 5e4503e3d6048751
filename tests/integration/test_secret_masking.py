"""Secrets never shown when a module rejects its parameters: every probe module's early failures (a parameter of
the wrong type, an unknown option, a negative timeout, an unknown skip_checks id, a URL without a scheme), run by
the real ansible-playbook with -vvv and an ANSIBLE_LOG_PATH, with the secrets in ``config`` and in URLs; the
output and the log are searched for every secret value. One playbook run for every case."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess

import pytest
import yaml

from tests.support.playbook import BIN, ROOT, run_playbook, write_inventory

JWT_SECRET = "jwt-Secret-q8Zr4mK1vT7pX2nW9bC5dF3hJ6kL0sA"
API_TOKEN = "api-Token-u3Yw8eR1tQ6iO9pZ"
DB_PASSWORD = "db-Passw0rd-x7Kc2Vn5Bm8"
REDIS_PASSWORD = "redis-Passw0rd-h4Gf6Ds9"
URL_PASSWORD = "url-Passw0rd-a1Ss3Dd5"
SECRETS = (JWT_SECRET, API_TOKEN, DB_PASSWORD, REDIS_PASSWORD, URL_PASSWORD)

CONFIG = {
    "ARAGORA_ENV": "production",
    "ARAGORA_JWT_SECRET": JWT_SECRET,
    "ARAGORA_API_TOKEN": API_TOKEN,
    "DATABASE_URL": "postgresql://aragora:%s@127.0.0.1:1/aragora" % DB_PASSWORD,
    "ARAGORA_REDIS_URL": "redis://:%s@127.0.0.1:1/0" % REDIS_PASSWORD,
}
# Parameters that each fail a module before it has judged anything.
BAD = {
    "timeout not a number": {"timeout": "soon"},
    "unknown option": {"no_such_option": True},
    "negative timeout": {"timeout": -1},
    "unknown skip_checks id": {"skip_checks": ["no.such_check"]},
    "api_url without a scheme": {"api_url": "aragora:%s@example.invalid" % URL_PASSWORD},
}
TARGET_MODULES = ("readiness_check", "tls_check", "websocket_check", "database_check", "redis_check",
                  "kubernetes_check", "golive_check", "smoke_test")


@functools.lru_cache(maxsize=None)
def accepted_options(module: str) -> frozenset[str]:
    """The options the module takes, as ansible-doc documents them: each module is given the secrets it accepts, so
    that it rejects each case for the case's reason (the preset modules refuse what their checks never read)."""
    out = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json", "-t", "module", "aragora.ops." + module],
                         capture_output=True, text=True, check=True, timeout=120, cwd=ROOT,
                         env={**os.environ, "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg")})
    return frozenset(json.loads(out.stdout)["aragora.ops." + module]["doc"]["options"])


def tasks() -> list[dict]:
    every = []
    for module in TARGET_MODULES:
        for case, bad in BAD.items():
            secrets = {"api_url": "http://aragora:%s@127.0.0.1:1" % URL_PASSWORD, "config": CONFIG,
                       "api_token": API_TOKEN, "database_url": CONFIG["DATABASE_URL"]}
            args = {**{k: v for k, v in secrets.items() if k in accepted_options(module)}, **bad}
            every.append({"name": "%s: %s" % (module, case), "aragora.ops.%s" % module: args,
                          "ignore_errors": True})
    for case, bad in BAD.items():
        if "skip_checks" in bad:
            continue
        args = {"api_url": "http://aragora:%s@127.0.0.1:1" % URL_PASSWORD, "metrics_token": API_TOKEN,
                "window": 0, **bad}
        every.append({"name": "watch_window: %s" % case, "aragora.ops.watch_window": args, "ignore_errors": True})
    return every


@pytest.mark.timed  # one -vvv playbook of many module tasks within 300 s: CPU-bound, so it runs alone
def test_no_secret_in_verbose_output_or_log_when_a_module_rejects_its_parameters(tmp_path):
    playbook = tmp_path / "reject.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "aragora", "gather_facts": False, "tasks": tasks()}]))
    inventory = write_inventory(str(tmp_path / "inventory.yml"), {"probe": {}})
    log = tmp_path / "ansible.log"
    run = run_playbook(str(playbook), inventory, None, "-vvv", timeout=300, env={"ANSIBLE_LOG_PATH": str(log)})
    output = run.stdout + run.stderr
    assert "Traceback" not in output, output[-3000:]
    # Every task ran and failed (ignored): each case is a rejection, not a pass.
    failed = re.search(r"probe\s*:.*failed=0.*ignored=(\d+)", output)
    assert failed and int(failed.group(1)) == len(tasks()), output[-3000:]
    logged = log.read_text()
    assert "aragora.ops.readiness_check" in logged and "fatal:" in logged  # the log holds the failures themselves
    for secret in SECRETS:
        assert secret not in output, "%s... shown in -vvv output" % secret[:8]
        assert secret not in logged, "%s... written to ANSIBLE_LOG_PATH" % secret[:8]
    # The messages still name what to fix.
    for words in ("timeout must be a positive number", "skip_checks: unknown check id",
                  "api_url must start with http:// or https://", "Unsupported parameters"):
        assert words in output, words
    assert os.path.getsize(log) > 0


def test_a_url_without_password_is_shown_and_a_password_in_it_is_masked():
    """redis_url and database_url are evidence: only their password is masked, not the whole URL."""
    from tests.support.fault_server import closed_port  # pylint: disable=import-outside-toplevel
    from tests.support.module_runner import run_module  # pylint: disable=import-outside-toplevel

    port = closed_port()
    plain = run_module("redis_check", {"redis_url": "redis://127.0.0.1:%d/0" % port, "timeout": 2})
    connection = next(check for check in plain["checks"] if check["id"] == "redis.connection")
    assert "redis://127.0.0.1:%d/0" % port in connection["message"], connection["message"]
    secret = run_module("redis_check", {"redis_url": "redis://:%s@127.0.0.1:%d/0" % (REDIS_PASSWORD, port),
                                        "timeout": 2})
    text = json.dumps(secret)
    assert REDIS_PASSWORD not in text and "127.0.0.1:%d/0" % port in text
