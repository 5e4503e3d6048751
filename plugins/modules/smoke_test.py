#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: smoke_test
short_description: The checklist's Post-Launch Smoke Test against Aragora's real API contract
version_added: 0.1.0
description:
  - Obtains a token, creates a debate, follows it until it completes, opens the WebSocket stream and reads
    C(/metrics); each step is a check of the common schema (V(smoke.token), V(smoke.create_debate),
    V(smoke.debate_completes), V(smoke.websocket), V(smoke.metrics)), so the report shows it.
  - B(Not read-only) - it creates one debate on the server. Under C(--check) it obtains no login token, creates
    nothing and says what it would do (the WebSocket and metrics steps, which change nothing, still run).
  - The token comes from O(smoke_token), else a login with O(login_email) and O(login_password) (from vault or an
    AWX credential), else it is signed on the host with C(ARAGORA_JWT_SECRET) read from O(env_file) or O(config)
    (a short-lived token of role O(jwt_role)); it is never returned. Aragora 2.11.1 with PostgreSQL answers 500 to
    every login, so a signed or provided token is the way there.
  - The debate body is Aragora 2.11's C({"question", "agents", "rounds"}). The checklist's C({"topic",
    "max_rounds"}) is rejected with 422, and the result says so. A 429 is retried after its C(Retry-After), within
    O(max_retry_after) seconds in all. The debate passes when its status reaches one of O(debate_done_statuses) and
    fails on one of O(debate_failed_statuses) or after O(debate_timeout) seconds.
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment: [ansible.builtin.action_common_attributes, aragora.ops.python, aragora.ops.read_only,
                                aragora.ops.target.check_results, aragora.ops.target, aragora.ops.kubernetes,
                                aragora.ops.target.api, aragora.ops.target.websocket, aragora.ops.target.tls_trust,
                                aragora.ops.target.configuration, aragora.ops.target.k8s_workload,
                                aragora.ops.target.metrics_token]
options:
  token_source:
    description: How to obtain the token; V(auto) tries them in the order given in the description.
    type: str
    choices: [auto, provided, login, sign]
    default: auto
  smoke_token:
    description: A Bearer token to use as it is.
    type: str
  login_email:
    description: E-mail of a test user to log in as.
    type: str
  login_password:
    description: Password of that user.
    type: str
  login_path:
    description: The login endpoint; it answers the token at C(tokens.access_token).
    type: str
    default: /api/auth/login
  jwt_role:
    description: Role of a signed token; C(member) may create and read debates.
    type: str
    default: member
  jwt_ttl_seconds:
    description: Lifetime of a signed token.
    type: int
    default: 900
  debate_body:
    description: The JSON body of the debate to create.
    type: dict
    default: {question: "aragora.ops post-launch smoke test: is the service answering?", agents: [demo, demo],
              rounds: 1}
  debate_path:
    description: Where debates are created.
    type: str
    default: /api/debates
  debate_status_path:
    description: Where a debate is read; C({id}) is replaced by its id.
    type: str
    default: /api/debates/{id}
  debate_done_statuses:
    description: Statuses that mean the debate completed.
    type: list
    elements: str
    default: [completed]
  debate_failed_statuses:
    description: Statuses that mean it ended without completing.
    type: list
    elements: str
    default: [failed, error, cancelled, timeout]
  debate_timeout:
    description: Seconds the debate may take to complete.
    type: float
    default: 120
  poll_interval:
    description: Seconds between two reads of the debate.
    type: float
    default: 1
  max_retry_after:
    description: Seconds the create step may wait, in all, on 429 answers' C(Retry-After).
    type: float
    default: 30
  max_retries:
    description: How many times a rate-limited create is tried again.
    type: int
    default: 3
attributes:
  check_mode:
    support: full
    details: Creates nothing and logs in nowhere; says what it would do, and C(changed) that it would create a debate.
"""

EXAMPLES = r"""
- name: Smoke test with a token signed on the host from the server's env file
  aragora.ops.smoke_test:
    api_url: https://api.example.com
    ws_url: wss://api.example.com/ws
    env_file: /opt/aragora/.env
  register: smoke

- name: Smoke test as a test user whose credentials AWX injects
  aragora.ops.smoke_test:
    api_url: https://api.example.com
    login_email: "{{ smoke_user }}"
    login_password: "{{ smoke_password }}"
  no_log: true
"""

RETURN = r"""
lines:
  description: One line per step, as C([STATUS] message).
  returned: always
  type: list
  elements: str
checks:
  description: One result per step, in the common schema.
  returned: always
  type: list
  elements: dict
counts:
  description: How many steps ended in each status.
  returned: always
  type: dict
verdict:
  description: V(GO) when no step failed; V(NO-GO) otherwise.
  returned: always
  type: str
config_sources:
  description: Where the configuration (the JWT secret) came from.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.aragora.ops.plugins.module_utils._ansible.check_module import finish, masked_context, target_module
from ansible_collections.aragora.ops.plugins.module_utils._ansible.module_args import SMOKE_PIECES
from ansible_collections.aragora.ops.plugins.module_utils._checks.smoke import (
    DEFAULT_DEBATE_BODY,
    SMOKE_CHECKS,
    SmokeOptions,
)
from ansible_collections.aragora.ops.plugins.module_utils._ansible.runner import run_smoke

SMOKE_OPTIONS = {
    "token_source": {"type": "str", "choices": ["auto", "provided", "login", "sign"], "default": "auto"},
    "smoke_token": {"type": "str", "no_log": True},
    "login_email": {"type": "str"},
    "login_password": {"type": "str", "no_log": True},
    "login_path": {"type": "str", "default": "/api/auth/login"},
    "jwt_role": {"type": "str", "default": "member"},
    "jwt_ttl_seconds": {"type": "int", "default": 900},
    "debate_body": {"type": "dict", "default": DEFAULT_DEBATE_BODY},
    "debate_path": {"type": "str", "default": "/api/debates"},
    "debate_status_path": {"type": "str", "default": "/api/debates/{id}"},
    "debate_done_statuses": {"type": "list", "elements": "str", "default": ["completed"]},
    "debate_failed_statuses": {"type": "list", "elements": "str",
                               "default": ["failed", "error", "cancelled", "timeout"]},
    "debate_timeout": {"type": "float", "default": 120.0},
    "poll_interval": {"type": "float", "default": 1.0},
    "max_retry_after": {"type": "float", "default": 30.0},
    "max_retries": {"type": "int", "default": 3},
}


def main() -> None:
    module, params = target_module(SMOKE_OPTIONS, SMOKE_CHECKS, SMOKE_PIECES)
    context = masked_context(module, params)
    context.smoke = SmokeOptions.from_params(params, module.check_mode)
    try:
        result = run_smoke(context, params["skip_checks"], params["strict"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        token = context.fact("smoke.token", lambda: (None, {}))[0]
    except Exception:  # pylint: disable=broad-exception-caught  # the token step already reported why
        token = None
    module.register_secrets([token] if token else [])
    created = any(check["id"] == "smoke.create_debate" and check["evidence"].get("debate_id")
                  for check in result["checks"])
    if module.check_mode:  # the debate it would create, unless that step is left out
        created = "smoke.create_debate" not in (params["skip_checks"] or ())
    finish(module, context, changed=created, **result)


if __name__ == "__main__":
    main()
