#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kubernetes_check
short_description: Check an Aragora deployment on Kubernetes (checklist sections 2, 6, 9 and the cluster items of 3, 5, 10)
version_added: 0.1.0
description:
  - Reads the cluster once (the Deployment, its ReplicaSets and pods, its Namespace, the nodes, HPAs, PDBs,
    Services, Ingresses, NetworkPolicies, PersistentVolumeClaims, Jobs, CronJobs, DaemonSets, cert-manager's
    Certificates and issuers, the Prometheus Operator's ServiceMonitors and PrometheusRules in every namespace the
    identity may list or in O(monitoring_namespaces)) and returns one result per checklist item with a status,
    evidence and remediation.
  - With O(k8s_manifests), the same checks read rendered manifests instead (before apply); the checks of live state
    (pod placement, cert-manager's pods and issuers, the Certificate's and the migration Job's status, the log
    shipper) are V(SKIP) and say so.
  - Objects are found by what they select, target or run, never by name alone (upstream manifests name the HPA and
    PDB inconsistently, and ship a C(aragora-migrate-status) Job that migrates nothing).
  - Section 2 - C(ha.replicas) (at least V(min_replicas) desired, and that many ready and available);
    C(ha.rolling_update) (RollingUpdate with C(maxUnavailable) 0); C(ha.hpa) (an HPA targeting this Deployment with
    C(minReplicas) >= 2 whose ScalingActive and AbleToScale conditions are not False); C(ha.pdb) (one PDB selecting
    the pods that allows a voluntary disruption, by policy and by its live C(disruptionsAllowed); none allowed, or
    one replica, is a V(WARN), two PDBs a V(FAIL)); C(ha.anti_affinity) (anti-affinity or topology spread on host
    or zone that constrains, with C(maxSkew) below the replicas; preferred-only without a zone spread is a V(WARN));
    C(ha.pod_distribution_nodes) and C(ha.pod_distribution_zones) (where the ready pods actually run);
    C(ha.volume_access) (no ReadWriteOnce claim under several replicas); C(ha.network_policies) (the policies
    selecting the pods let them reach DNS, PostgreSQL, Redis and the AI providers on 443, and be reached by the
    Ingress controller and Prometheus; a peer known only in part is a V(WARN)); C(ha.websocket_route) (the WebSocket
    port, C(--port) or 8765, exposed by a Service and routed by the Ingress).
  - Section 9 - C(resources.requests_limits), C(resources.probes), C(resources.image_tag).
  - Section 6 - C(certificates.cert_manager), C(certificates.cluster_issuer), C(certificates.certificate)
    (Ready, C(notAfter) against the C(tls_expiry_*) thresholds, C(renewalTime), its Secret exists when the identity
    may read it), for the Ingresses that route to the Aragora Service only (none is a V(FAIL) saying so).
  - Section 3 - C(migrations.job) (a Job running C(python -m aragora.migrations upgrade) completed for the running
    release - tag or digest of the application container; its log's last lines when it failed; none left passes
    when the database's migration ledger holds every migration of the release). Section 10 - C(backups.cronjob)
    (dumps the database the Deployment uses, admissible under the namespace's Pod Security level, not suspended,
    C(lastSuccessfulTime) within V(backup_max_age_hours)).
  - Section 5 - C(observability.service_monitor) (one ServiceMonitor covering the namespace selects one Aragora
    Service; two is a V(WARN)), C(observability.prometheus_rule) (the checklist's eight alerts; one under another
    name is a V(WARN) naming it; both V(SKIP) when the Prometheus Operator's CRDs are not installed),
    C(observability.log_shipper) (a log shipper DaemonSet ready), C(observability.grafana_dashboards) (with
    O(grafana_url) and O(grafana_token)).
  - API errors (401, 403 naming the verb and resource refused, 404, 5xx, timeouts) make the checks that needed the
    answer V(FAIL) with that message. Every call waits at most O(timeout) seconds, and nothing is retried.
  - Read-only (get, list, and pods/log for a failed migration Job; C(kubectl kustomize) for a kustomization); runs
    the same under C(--check).
deprecated:
  removed_in: 1.0.0
  why: It runs a preset of M(aragora.ops.readiness_check)'s groups, with the same checks and results.
  alternative: >-
    M(aragora.ops.readiness_check) with
    O(aragora.ops.readiness_check#module:groups=[ha, migrations, observability, certificates, resources, backups]).
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment: [ansible.builtin.action_common_attributes, aragora.ops.python, aragora.ops.read_only,
                                aragora.ops.target.check_results, aragora.ops.target, aragora.ops.kubernetes,
                                aragora.ops.target.grafana, aragora.ops.target.thresholds,
                                aragora.ops.target.tls_trust, aragora.ops.target.k8s_workload,
                                aragora.ops.target.k8s_objects]
requirements:
  - kubernetes (the official Python client)
  - kubectl (or kustomize) on the host, for O(k8s_manifests) naming a kustomization
"""

EXAMPLES = r"""
- name: Check the Aragora deployment in the production cluster
  aragora.ops.kubernetes_check:
    kubeconfig: ~/.kube/config
    k8s_context: production
  delegate_to: localhost
  register: k8s_readiness

- name: From a pod in the cluster (AWX), with Grafana, another namespace and a named Certificate
  aragora.ops.kubernetes_check:
    k8s_in_cluster: true
    k8s_namespace: aragora-staging
    certificate_name: aragora-tls
    grafana_url: https://grafana.example.com
    grafana_token: "{{ vault_grafana_token }}"
    skip_checks: [ha.pod_distribution_zones]

- name: Check the kustomization before it is applied
  aragora.ops.kubernetes_check:
    k8s_manifests: deploy/kubernetes
  delegate_to: localhost
"""

RETURN = r"""
# As readiness_check returns them (its RETURN describes each in full), for its groups.
checks: {description: "One result per check of its groups, as
                       RV(aragora.ops.readiness_check#module:checks).",
         returned: always, type: list, elements: dict,
         sample: [{id: ha.pod_distribution_nodes, status: FAIL,
                   message: "The 3 ready pod(s) of Deployment aragora run on node worker-1: losing that node takes
                             the service down"}]}
counts: {description: How many checks ended in each status., returned: always, type: dict,
         sample: {PASS: 17, WARN: 1, FAIL: 1, SKIP: 1}}
verdict: {description: "V(GO) when no check failed (and, with O(strict), none warned); V(NO-GO) otherwise.",
          returned: always, type: str}
config_sources: {description: Where the configuration came from., returned: always, type: list, elements: str}
"""

from ansible_collections.aragora.ops.plugins.module_utils._ansible.check_module import run_check_module
from ansible_collections.aragora.ops.plugins.module_utils._checks.catalog import KUBERNETES_GROUPS


def main() -> None:
    run_check_module(list(KUBERNETES_GROUPS))


if __name__ == "__main__":
    main()
