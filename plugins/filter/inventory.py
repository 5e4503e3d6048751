# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory guard's refusal: which patterns match no host, said by the variable that sets each (a filter: it
only shapes data the role already has)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError


def refusal(patterns: t.Mapping[str, str], action: str, sources: t.Sequence[str] = (), limit: str | None = None) -> str:
    """Why the run stops: every pattern, the variable that sets it, the inventory and the --limit."""
    named = " and ".join("%s (set by %s)" % (pattern, name) for name, pattern in patterns.items())
    return ("Nothing to %s: %s match%s no host in the inventory %s%s. Check -i, the group names, or set %s."
            % (action, named, "es" if len(patterns) == 1 else "", ", ".join(sources),
               (" within --limit %s" % limit) if limit is not None else "", " / ".join(patterns)))


def inventory_guard_refusal(patterns: t.Any, action: t.Any, sources: t.Any = None, limit: t.Any = None) -> str:
    if not isinstance(patterns, t.Mapping):
        raise AnsibleFilterError("aragora.ops.inventory_guard_refusal expects the patterns by variable name (a dict), "
                                 "not %s" % type(patterns).__name__)
    return refusal(patterns, str(action), [str(source) for source in sources or []], limit)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"inventory_guard_refusal": inventory_guard_refusal}
