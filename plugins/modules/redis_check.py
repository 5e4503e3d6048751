#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_check
short_description: Check the Redis of one Aragora target (checklist section 4, Redis Configuration)
version_added: 0.1.0
description:
  - Runs the checks of the checklist's section 4 against the Redis the application uses and its configuration,
    and returns one result per item with a status, evidence and remediation.
  - The Redis probed is O(redis_url) when given, else the one the configuration names (C(ARAGORA_REDIS_URL), legacy
    C(REDIS_URL)); with C(ARAGORA_REDIS_MODE=sentinel) the master that the Sentinels in
    C(ARAGORA_REDIS_SENTINEL_HOSTS) name (C(ARAGORA_REDIS_SENTINEL_MASTER), default V(mymaster)); with
    C(ARAGORA_REDIS_MODE=cluster) every primary of the cluster reached through C(ARAGORA_REDIS_CLUSTER_NODES),
    each judged alone (the worst one decides) and the cluster's state.
  - C(redis.url_configured) - the URL (or Sentinel/cluster settings) is set and usable; C(redis.connection) -
    PING works, with a latency under the V(redis_latency_warn_ms) threshold; C(redis.rate_limit_backend) and
    C(redis.token_blacklist) - the rate limiter and the token blacklist really use Redis (Aragora 2.11 reads
    C(ARAGORA_REDIS_URL) for both, never the legacy name, and never through Sentinel); C(redis.persistence) and
    C(redis.persistence_status) - RDB or AOF is on and the last save, AOF rewrite and AOF write succeeded;
    C(redis.maxmemory) and C(redis.eviction_policy) - a memory limit, and a policy that does not silently forget
    revoked tokens; C(redis.key_prefix) - C(ARAGORA_REDIS_KEY_PREFIX) is set in production.
  - Where C(CONFIG) is disabled or renamed (managed Redis), the checks read C(INFO) instead and say so in the
    evidence.
  - C(rediss://) URLs are verified against O(ca_path) when given, else the system's CAs; O(validate_certs=false)
    turns verification off. Every connect and read waits at most O(timeout) seconds, and nothing is retried.
  - Read-only; runs the same under C(--check).
deprecated:
  removed_in: 1.0.0
  why: It runs a preset of M(aragora.ops.readiness_check)'s groups, with the same checks and results.
  alternative: M(aragora.ops.readiness_check) with O(aragora.ops.readiness_check#module:groups=[redis]).
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment: [ansible.builtin.action_common_attributes, aragora.ops.python, aragora.ops.read_only,
                                aragora.ops.target.check_results, aragora.ops.target, aragora.ops.kubernetes,
                                aragora.ops.target.thresholds, aragora.ops.target.pool_sizing,
                                aragora.ops.target.tls_trust, aragora.ops.target.configuration,
                                aragora.ops.target.k8s_workload, aragora.ops.target.redis]
requirements:
  - redis (redis-py)
"""

EXAMPLES = r"""
- name: Check the Redis the server's env file names
  aragora.ops.redis_check:
    env_file: /opt/aragora/.env
  register: redis_readiness

- name: Check a managed Redis over TLS, with the configuration held in vault
  aragora.ops.redis_check:
    config: "{{ vault_aragora_environment }}"
    redis_url: "{{ vault_redis_url }}"
    ca_path: /etc/ssl/certs/provider-ca.pem
    thresholds:
      redis_latency_warn_ms: 20
  delegate_to: localhost
"""

RETURN = r"""
# As readiness_check returns them (its RETURN describes each in full), for the redis group.
checks: {description: "One result per check of the V(redis) group, as
                       RV(aragora.ops.readiness_check#module:checks).",
         returned: always, type: list, elements: dict,
         sample: [{id: redis.maxmemory, status: PASS, message: "Redis memory limit set (maxmemory 256.00M)"}]}
counts: {description: How many checks ended in each status., returned: always, type: dict,
         sample: {PASS: 8, WARN: 1, FAIL: 0, SKIP: 0}}
verdict: {description: "V(GO) when no check failed (and, with O(strict), none warned); V(NO-GO) otherwise.",
          returned: always, type: str}
config_sources: {description: Where the configuration came from., returned: always, type: list, elements: str}
"""

from ansible_collections.aragora.ops.plugins.module_utils._ansible.check_module import run_check_module


def main() -> None:
    run_check_module(["redis"])


if __name__ == "__main__":
    main()
