#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tls_check
short_description: Check the live TLS endpoint of an Aragora API (checklist section 6)
version_added: 0.1.0
description:
  - Runs the checks of the checklist's section 6, SSL/TLS Certificates, against the live TLS endpoint of
    O(api_url) (its host and port) with one real handshake, with SNI, as a client would make it.
  - C(tls.certificate_trusted) verifies the chain against O(ca_path), or the system CAs when it is not given, and
    says whether a failure is a self-signed certificate, an unknown CA or a missing intermediate.
    O(validate_certs) does not turn this off.
  - C(tls.hostname) matches the certificate's subjectAltName against the host of O(api_url), or O(tls_server_name).
  - C(tls.expiry) judges the days until the leaf certificate expires (V(FAIL) under C(tls_expiry_fail_days) in
    O(thresholds), 7 by default as the checklist's CertificateExpiring alert; V(WARN) under
    C(tls_expiry_warn_days), 30 by default); C(tls.chain_expiry) judges the earliest expiry among the CA
    certificates of the chain, separately.
  - C(tls.protocol) requires TLS 1.2 or newer and fails when the server still accepts TLS 1.0 or 1.1.
  - C(tls.hsts) requires a C(Strict-Transport-Security) header with a max-age of 180 days or more on the HTTPS
    answer. The redirect of plain HTTP to HTTPS is judged by C(security.https_enforced) in
    M(aragora.ops.readiness_check), from O(http_url).
  - Every check is V(SKIP) when O(api_url) is not given or is an C(http://) URL (the API is then not served over
    TLS). An endpoint that refuses, does not answer the handshake within O(timeout), or does not speak TLS makes
    every check V(FAIL) with that reason.
  - Read-only; runs the same under C(--check).
deprecated:
  removed_in: 1.0.0
  why: It runs a preset of M(aragora.ops.readiness_check)'s groups, with the same checks and results.
  alternative: M(aragora.ops.readiness_check) with O(aragora.ops.readiness_check#module:groups=[tls]).
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment: [ansible.builtin.action_common_attributes, aragora.ops.python, aragora.ops.read_only,
                                aragora.ops.target.check_results, aragora.ops.target, aragora.ops.target.thresholds,
                                aragora.ops.target.api, aragora.ops.target.tls_trust,
                                aragora.ops.target.https_redirect]
requirements:
  - cryptography
notes:
  - The certificate chain is read with Python 3.10 or newer; on an older Python only the leaf is read and
    C(tls.chain_expiry) is V(SKIP).
"""

EXAMPLES = r"""
- name: Check the certificate of the production API
  aragora.ops.tls_check:
    api_url: https://api.example.com
  register: tls

- name: Check a server by address, with the name clients use and a private CA
  aragora.ops.tls_check:
    api_url: https://10.0.0.12:8443
    tls_server_name: api.internal.example.com
    ca_path: /etc/aragora/ca.pem
    thresholds:
      tls_expiry_warn_days: 21
  delegate_to: localhost

- name: Stop when the certificate expires within a week
  ansible.builtin.assert:
    that: tls.verdict == 'GO'
    fail_msg: "{{ tls.checks | selectattr('status', 'eq', 'FAIL') | map(attribute='message') | list }}"
"""

RETURN = r"""
# As readiness_check returns them (its RETURN describes each in full), for the tls group.
checks: {description: "One result per check of the V(tls) group, as
                       RV(aragora.ops.readiness_check#module:checks).",
         returned: always, type: list, elements: dict,
         sample: [{id: tls.expiry, status: FAIL,
                   message: "Certificate of api.example.com:443 expires in 3 days (2026-12-01 09:00 UTC), under the
                             7-day CertificateExpiring threshold"}]}
counts: {description: How many checks ended in each status., returned: always, type: dict,
         sample: {PASS: 5, WARN: 0, FAIL: 1, SKIP: 0}}
verdict: {description: "V(GO) when no check failed (and, with O(strict), none warned); V(NO-GO) otherwise.",
          returned: always, type: str}
config_sources: {description: Where the configuration came from., returned: always, type: list, elements: str}
"""

from ansible_collections.aragora.ops.plugins.module_utils._ansible.check_module import run_check_module


def main() -> None:
    run_check_module(["tls"])


if __name__ == "__main__":
    main()
