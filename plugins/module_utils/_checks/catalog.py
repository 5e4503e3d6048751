# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Imports every check module so that all checks are registered, and names the groups they form."""

from __future__ import annotations

# Imported for their @check registrations.
from ansible_collections.aragora.ops.plugins.module_utils._checks import (  # noqa: F401  pylint: disable=unused-import
    certificates,
    database,
    ha,
    health,
    k8s_jobs,
    k8s_network,
    limits,
    monitoring,
    observability,
    oauth,
    providers,
    redis,
    resources,
    security,
    tls,
    websocket,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.engine import REGISTRY, in_checklist_order

# In checklist order (health, websocket, security, ha, database, ...), by each group's first check.
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(spec.group for spec in in_checklist_order(REGISTRY.values())))
# The groups that read a Kubernetes cluster (kubernetes_check).
KUBERNETES_GROUPS: tuple[str, ...] = ("ha", "migrations", "observability", "certificates", "resources", "backups")
