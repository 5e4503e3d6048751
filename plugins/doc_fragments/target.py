# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options that say where one Aragora target is and how to reach it, shared by the probe modules."""

    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Base URL of the Aragora HTTP API, for example V(https://api.example.com) or V(http://127.0.0.1:8080).
      - When omitted, checks that need the live server are V(SKIP) with that reason.
    type: str
  env_file:
    description:
      - Path, on the host the module runs on, of the environment file the server reads (systemd
        C(EnvironmentFile), C(.env)), for example V(/opt/aragora/.env).
      - It is read where it lies; only check results leave the host, never its values.
      - A file that cannot be read makes every configuration check V(FAIL) with the reason.
    type: path
  config:
    description:
      - Configuration variables as the deployment sets them (name to value), for example from inventory, vault or
        an AWX survey. They take precedence over O(env_file).
      - Values of secret-looking names (C(*SECRET*), C(*TOKEN*), C(*PASSWORD*), C(*_KEY), C(*_DSN)) and passwords
        inside URLs are masked in every output.
      - When neither O(env_file) nor O(config) is given, configuration checks are V(SKIP).
    type: dict
    default: {}
  api_token:
    description:
      - Bearer token (a JWT) for endpoints that need one, such as the admin circuit-breaker endpoint.
      - Without it, circuit breakers are read from C(/metrics).
    type: str
  metrics_token:
    description:
      - Bearer token for C(/metrics) when the server sets C(ARAGORA_METRICS_TOKEN).
    type: str
  timeout:
    description:
      - Seconds to wait for each network call (connect, and the whole answer).
    type: float
    default: 10
  validate_certs:
    description:
      - Verify the server's TLS certificate. Leave on in production; use O(ca_path) for a private CA.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of CA certificates to verify the server against, instead of the system's.
    type: path
  max_body_bytes:
    description:
      - Largest answer body read from any endpoint; a larger one is an error for the check that asked.
    type: int
    default: 5242880
  endpoints:
    description:
      - Paths of the server's endpoints, to override the Aragora 2.11.1 defaults for other versions.
      - Keys V(healthz) (V(/healthz)), V(readyz) (V(/readyz)), V(health) (V(/api/health)), V(build)
        (V(/health/build)), V(metrics) (V(/metrics)), V(circuit_breakers)
        (V(/api/admin/system-health/circuit-breakers)), V(rate_limits_config) (V(/api/rate-limits/config), the
        checklist's endpoint, absent from Aragora 2.11).
    type: dict
    default: {}
  thresholds:
    description:
      - Limits the checks judge against, to override the defaults.
      - Keys V(jwt_secret_min_length) (32), V(jwt_secret_min_entropy_bits) (3.0 bits per character),
        V(jwt_expiry_max_hours) (168), V(response_time_warn_ms) (500), V(response_time_fail_ms) (2000).
    type: dict
    default: {}
requirements:
  - requests
  - python-dotenv (for O(env_file))
  - prometheus-client (for the metrics checks)
"""

    # The schema of one check result, shared by every module that returns checks.
    # `options: {}` because ansible-core requires every fragment to have options or attributes.
    CHECK_RESULTS = r"""
options: {}
notes:
  - Each check result is a dictionary with C(id) (stable, for example C(security.jwt_secret)), C(section) (the
    checklist's section number and name), C(title) (the checklist item), C(status) (C(PASS), C(WARN), C(FAIL) or
    C(SKIP)), C(message) (one sentence on the outcome), C(evidence) (what was observed; secrets masked),
    C(remediation) (what to do, for C(WARN) and C(FAIL)) and C(duration_ms).
"""
