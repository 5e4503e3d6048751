# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pre-flight validation of the inputs of the roles that change production (rollbacks, restore, go-live).

A rollback that switches the release and only then finds that ``aragora_api_url`` has no scheme, or a restore that
scales the application to 0 and then trips over a negative timeout, has changed production on an input that was
wrong from the start. Every role that acts calls :func:`validate` (through the ``preflight`` module) as its first
task, with the role variables it will use: every problem is named at once, by its variable, before anything changes.

Plain functions, no Ansible: each rule takes the value and returns the normalised value or raises
:class:`InputError` with a sentence that says what a good value looks like.
"""

from __future__ import annotations

import datetime
import math
import re
import typing as t
import urllib.parse

DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class InputError(ValueError):
    """A value a rule refuses; the message says what is wanted (the variable is named by the caller)."""


def _number(value: t.Any) -> float:
    if isinstance(value, bool):
        raise InputError("must be a number, got %r" % value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError("must be a number, got %r" % (value,)) from None
    if not math.isfinite(number):
        raise InputError("must be a finite number, got %r" % (value,))
    return number


def _integer(value: t.Any) -> int:
    number = _number(value)
    if number != int(number):
        raise InputError("must be a whole number, got %r" % (value,))
    return int(number)


def seconds(value: t.Any) -> float:
    """A duration in seconds above 0 (a timeout or an interval: 0 or less would never wait or never end)."""
    number = _number(value)
    if number <= 0:
        raise InputError("must be a number of seconds above 0, got %r" % (value,))
    return number


def positive_number(value: t.Any) -> float:
    number = _number(value)
    if number <= 0:
        raise InputError("must be a number above 0, got %r" % (value,))
    return number


def seconds_or_zero(value: t.Any) -> float:
    number = _number(value)
    if number < 0:
        raise InputError("must be a number of seconds, 0 or more, got %r" % (value,))
    return number


def positive_count(value: t.Any) -> int:
    number = _integer(value)
    if number < 1:
        raise InputError("must be a whole number, 1 or more, got %r" % (value,))
    return number


def count_or_zero(value: t.Any) -> int:
    number = _integer(value)
    if number < 0:
        raise InputError("must be a whole number, 0 or more, got %r" % (value,))
    return number


def amount_or_zero(value: t.Any) -> float:
    number = _number(value)
    if number < 0:
        raise InputError("must be 0 or more, got %r" % (value,))
    return number


def port(value: t.Any) -> int:
    number = _integer(value)
    if not 1 <= number <= 65535:
        raise InputError("must be a TCP port, 1 to 65535, got %r" % (value,))
    return number


def _url(value: t.Any, schemes: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise InputError("must be a URL such as %s://host:port, got %r" % (schemes[-1], value))
    parts = urllib.parse.urlsplit(value.strip())
    if parts.scheme.lower() not in schemes:
        raise InputError("must start with %s, got %r" % (" or ".join("%s://" % s for s in schemes), value))
    if not parts.hostname:
        raise InputError("names no host: %r (wanted %s://host[:port])" % (value, schemes[-1]))
    try:
        parts.port  # pylint: disable=pointless-statement  # raises on a port that is not a number
    except ValueError:
        raise InputError("has a port that is not a number: %r" % value) from None
    return value.strip()


def http_url(value: t.Any) -> str:
    return _url(value, ("http", "https"))


def optional_http_url(value: t.Any) -> str:
    """An http(s) URL, or empty for "not used"."""
    return "" if value in (None, "") else http_url(value)


def optional_ws_url(value: t.Any) -> str:
    return "" if value in (None, "") else _url(value, ("ws", "wss"))


def database_name(value: t.Any) -> str:
    if not isinstance(value, str) or not DATABASE_NAME.match(value):
        raise InputError("must be a database name of letters, digits and _ (not starting with a digit, 63 at "
                         "most), got %r" % (value,))
    return value


def release_name(value: t.Any) -> str:
    if not isinstance(value, str) or not value.strip() or "/" in value or value.strip() in (".", ".."):
        raise InputError("must be 'previous' or the name of a release directory, got %r" % (value,))
    return value.strip()


def one_of(*choices: str) -> t.Callable[[t.Any], str]:
    def rule(value: t.Any) -> str:
        if value not in choices:
            raise InputError("must be one of %s, got %r" % (", ".join(repr(c) for c in choices), value))
        return value
    rule.__doc__ = "one of %s" % ", ".join(choices)
    return rule


def subset_of(*choices: str) -> t.Callable[[t.Any], list]:
    def rule(value: t.Any) -> list:
        if not isinstance(value, (list, tuple)):
            raise InputError("must be a list of %s, got %r" % (", ".join(choices), value))
        unknown = [item for item in value if item not in choices]
        if unknown:
            raise InputError("unknown item(s) %s; known: %s" % (", ".join(map(repr, unknown)), ", ".join(choices)))
        return list(value)
    return rule


def boolean(value: t.Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1", "y", "t"):
        return True
    if text in ("false", "no", "off", "0", "n", "f", ""):
        return False
    raise InputError("must be true or false, got %r" % (value,))


Rules = t.Mapping[str, t.Callable[[t.Any], t.Any]]

_HEALTH_GATE: dict[str, t.Callable[[t.Any], t.Any]] = {
    "aragora_rollback_health_timeout": seconds,
    "aragora_rollback_health_interval": seconds,
    "aragora_timeout": seconds,
    "aragora_validate_certs": boolean,
}

_KUBERNETES: dict[str, t.Callable[[t.Any], t.Any]] = {
    "aragora_k8s_in_cluster": boolean,
    "aragora_k8s_namespace": str,
    "aragora_k8s_deployment": str,
    "aragora_k8s_timeout": seconds,
}

RULES: dict[str, Rules] = {
    "systemd_rollback": {
        **_HEALTH_GATE,
        "aragora_api_url": http_url,
        "aragora_rollback_release": release_name,
        "aragora_release_min_free_mb": amount_or_zero,
        "aragora_systemd_unit": str,
    },
    "kubernetes_rollback": {
        **_HEALTH_GATE,
        **_KUBERNETES,
        "aragora_api_url": http_url,
        "aragora_rollback_revision": count_or_zero,
        "aragora_rollback_wait_timeout": seconds,
        "aragora_rollback_poll_interval": seconds,
        "aragora_rollback_resume_paused": boolean,
    },
    "db_restore": {
        **_KUBERNETES,
        "aragora_db_backend": one_of("postgres", "sqlite"),
        "aragora_db_port": port,
        "aragora_db_name": database_name,
        "aragora_db_maintenance_database": database_name,
        "aragora_restore_confirm": boolean,
        "aragora_restore_writers": one_of("none", "kubernetes", "systemd"),
        "aragora_restore_writers_timeout": seconds,
        "aragora_restore_jobs": positive_count,
        "aragora_restore_timeout": seconds,
        "aragora_restore_safety_dump": boolean,
        "aragora_restore_require_manifest": boolean,
        "aragora_restore_no_owner": boolean,
        "aragora_api_url": optional_http_url,
        "aragora_restore_health_timeout": seconds,
        "aragora_restore_health_interval": seconds,
        "aragora_timeout": seconds,
        "aragora_systemd_unit": str,
    },
    "golive": {
        "aragora_golive_phases": subset_of("prelaunch", "pre_release_backup", "smoke"),
        "aragora_golive_backup_keep_releases": count_or_zero,
        "aragora_golive_backup_timeout": seconds,
        "aragora_api_url": optional_http_url,
        "aragora_ws_url": optional_ws_url,
        "aragora_timeout": seconds,
        "aragora_smoke_debate_timeout": seconds,
        "aragora_smoke_poll_interval": seconds,
        "aragora_smoke_max_retry_after": seconds_or_zero,
        "aragora_golive_watch": boolean,
        "aragora_golive_watch_minutes": positive_number,
        "aragora_golive_watch_interval": seconds,
        "aragora_golive_watch_breach_samples": positive_count,
        "aragora_golive_watch_max_scrape_failures": count_or_zero,
        "aragora_golive_metrics_url": optional_http_url,
        "aragora_golive_prometheus_url": optional_http_url,
        "aragora_golive_auto_rollback": boolean,
        "aragora_deployment_kind": one_of("", "systemd", "kubernetes"),
        # The rollback a breach would run: checked now, not after the watch window.
        "aragora_rollback_health_timeout": seconds,
        "aragora_rollback_health_interval": seconds,
        "aragora_rollback_wait_timeout": seconds,
        "aragora_rollback_poll_interval": seconds,
        "aragora_k8s_timeout": seconds,
    },
}

# The preflight module's options (and its action plugin's).
ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "role": {"type": "str", "required": True, "choices": sorted(RULES)},
    "inputs": {"type": "dict", "required": True},
}


def validate(role: str, inputs: t.Mapping[str, t.Any]) -> tuple[dict[str, t.Any], list[str]]:
    """The normalised inputs and one sentence per problem (empty when all are good). None means "not set" and is
    left to the role's default; a variable no rule knows is a wiring mistake and named too."""
    rules = RULES[role]
    values: dict[str, t.Any] = {}
    problems = []
    for name, value in inputs.items():
        rule = rules.get(name)
        if rule is None:
            problems.append("%s: not an input of %s's pre-flight (known: %s)" % (name, role, ", ".join(sorted(rules))))
            continue
        if value is None:
            continue
        if rule is str:
            if not isinstance(value, str) or not value.strip():
                problems.append("%s: must be a non-empty name, got %r" % (name, value))
            else:
                values[name] = value
            continue
        try:
            values[name] = rule(value)
        except InputError as exc:
            problems.append("%s %s" % (name, exc))
    return values, problems


def failure_message(role: str, problems: t.Sequence[str]) -> str:
    return "Pre-flight of %s refused its inputs, nothing was changed: %s" % (role, "; ".join(problems))


def answer(role: str, inputs: t.Mapping[str, t.Any],
           now: t.Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc)
           ) -> dict[str, t.Any]:
    """The preflight module's (and action's) result: the validated inputs, or failed with every problem named.

    ``started`` is when the role began (UTC, ISO 8601 to the second): the pre-flight is every acting role's first
    step, so its time is the start its incident record gives.
    """
    started = now().astimezone(datetime.timezone.utc).isoformat(timespec="seconds")
    values, problems = validate(role, inputs)
    if problems:
        return {"failed": True, "changed": False, "msg": failure_message(role, problems), "problems": problems,
                "started": started}
    return {"changed": False, "inputs": values, "message": "%d input(s) of %s are usable" % (len(values), role),
            "started": started}
