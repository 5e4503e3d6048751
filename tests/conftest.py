"""Makes this repository importable as ansible_collections.aragora.ops, the way Ansible loads it, and its root
importable (the sandbox package and tests.support), whatever pytest's import mode."""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "build", "collections")


def link_collection() -> str:
    """build/collections/ansible_collections/aragora/ops -> the repository root (idempotent)."""
    link = os.path.join(COLLECTIONS, "ansible_collections", "aragora", "ops")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(ROOT, os.path.dirname(link)), link)
    return link


link_collection()
for path in (ROOT, COLLECTIONS):
    if path not in sys.path:
        sys.path.insert(0, path)
