"""The inventory guard's refusal names each pattern by its variable, the inventory and the limit."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aragora.ops.plugins.filter.inventory import inventory_guard_refusal


def test_two_patterns_with_a_limit():
    assert inventory_guard_refusal({"aragora_systemd_targets": "aragora_systemd",
                                    "aragora_kubernetes_targets": "aragora_kubernetes"}, "roll back",
                                   ["/i/a.yml", "/i/b.yml"], "web-9") == (
        "Nothing to roll back: aragora_systemd (set by aragora_systemd_targets) and aragora_kubernetes (set by "
        "aragora_kubernetes_targets) match no host in the inventory /i/a.yml, /i/b.yml within --limit web-9. Check "
        "-i, the group names, or set aragora_systemd_targets / aragora_kubernetes_targets.")


def test_one_pattern_matches_without_a_limit():
    assert inventory_guard_refusal({"aragora_db_targets": "aragora_db"}, "restore", ["/i/a.yml"]) == (
        "Nothing to restore: aragora_db (set by aragora_db_targets) matches no host in the inventory /i/a.yml. "
        "Check -i, the group names, or set aragora_db_targets.")


def test_patterns_must_be_a_dict():
    with pytest.raises(AnsibleFilterError, match="patterns by variable name"):
        inventory_guard_refusal(["aragora"], "restore")
