#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: websocket_check
short_description: Check that the front end can open Aragora's WebSocket stream
version_added: 0.1.0
description:
  - Runs the V(websocket) group of the Production Readiness Checklist for one target, the smoke test's WebSocket
    step and the WebSocket Production Tuning variables.
  - V(websocket.connectivity) opens one connection to O(ws_url) the way the front end does, offering the
    subprotocol C(aragora-v1) (Aragora 2.11 answers HTTP 400 without it) and sending the C(Origin) O(ws_origin)
    (by default the first of C(ARAGORA_ALLOWED_ORIGINS); none when that is unset), and waits for the server's first
    message, C(connection_info), within O(timeout). Connection refused, a rejected handshake (with its HTTP status),
    a refused Origin (close code 4003), a server that sends nothing, and a first message that is not
    C(connection_info) are distinct V(FAIL)s. V(SKIP) without O(ws_url).
  - For C(wss://), the certificate is verified against O(ca_path) (or the system's CAs) and the host name, unless
    O(validate_certs=false).
  - V(websocket.max_message_size) and V(websocket.heartbeat) check C(ARAGORA_WS_MAX_MESSAGE_SIZE) (1024 to
    10485760 bytes) and C(ARAGORA_WS_HEARTBEAT) (5 to 300 seconds) in the configuration; unset passes, since the
    server's defaults (65536 bytes, 30 s) are safe production values.
  - Read-only; runs the same under C(--check).
deprecated:
  removed_in: 1.0.0
  why: It runs a preset of M(aragora.ops.readiness_check)'s groups, with the same checks and results.
  alternative: M(aragora.ops.readiness_check) with O(aragora.ops.readiness_check#module:groups=[websocket]).
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment: [ansible.builtin.action_common_attributes, aragora.ops.python, aragora.ops.read_only,
                                aragora.ops.target.check_results, aragora.ops.target, aragora.ops.kubernetes,
                                aragora.ops.target.api, aragora.ops.target.websocket, aragora.ops.target.tls_trust,
                                aragora.ops.target.configuration, aragora.ops.target.k8s_workload]
requirements:
  - websockets >= 14.0 (the C(ssl) argument of its sync client)
"""

EXAMPLES = r"""
- name: Check the WebSocket listener with the origin the front end is served from
  aragora.ops.websocket_check:
    ws_url: ws://aragora.internal:8765
    ws_origin: https://app.example.com
    env_file: /opt/aragora/.env
  register: websocket

- name: Check the public wss:// endpoint behind the proxy, with a private CA
  aragora.ops.websocket_check:
    ws_url: wss://api.example.com/ws
    ca_path: /etc/pki/aragora/ca.pem
    config: "{{ vault_aragora_environment }}"
    timeout: 5
  delegate_to: localhost

- name: Stop when the front end could not open its stream
  ansible.builtin.assert:
    that: websocket.verdict == 'GO'
    fail_msg: "{{ websocket.checks | selectattr('status', 'equalto', 'FAIL') | map(attribute='message') | list }}"
"""

RETURN = r"""
# As readiness_check returns them (its RETURN describes each in full), for the websocket group.
checks: {description: "One result per check of the V(websocket) group, as
                       RV(aragora.ops.readiness_check#module:checks).",
         returned: always, type: list, elements: dict,
         sample: [{id: websocket.connectivity, status: FAIL,
                   message: "WebSocket ws://aragora.internal:8765: the server refused the Origin
                             https://app.example.com: closed with code 4003 (Origin not allowed)"}]}
counts: {description: How many checks ended in each status., returned: always, type: dict,
         sample: {PASS: 2, WARN: 0, FAIL: 1, SKIP: 0}}
verdict: {description: "V(GO) when no check failed (and, with O(strict), none warned); V(NO-GO) otherwise.",
          returned: always, type: str}
config_sources: {description: Where the configuration came from., returned: always, type: list, elements: str}
"""

from ansible_collections.aragora.ops.plugins.module_utils._ansible.check_module import run_check_module


def main() -> None:
    run_check_module(["websocket"])


if __name__ == "__main__":
    main()
