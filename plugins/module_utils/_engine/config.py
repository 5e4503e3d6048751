# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deployment's configuration as the checks see it: environment variables from an env file on the host
and/or a dict given by the caller (inventory, vault, AWX survey), or, when neither is given, read lazily from where
the application runs (a Kubernetes Deployment's env), with secret values kept out of every output.
"""

from __future__ import annotations

import dataclasses
import glob
import io
import os
import pwd
import re
import stat
import threading
import typing as t

# MASK and mask_url are imported from here too: the configuration is where the checks meet secrets.
from ansible_collections.aragora.ops.plugins.module_utils._clients.masking import (  # pylint: disable=unused-import
    MASK,  # noqa: F401
    mask_url,  # noqa: F401
    password_spellings,
    url_password,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import Cause, CheckInputError, CheckSkipped

try:
    from dotenv import dotenv_values
except ImportError:  # reported by the module through missing_required_lib
    dotenv_values = None  # type: ignore[assignment]

# Names whose values are secrets. ARAGORA_REDIS_KEY_PREFIX holds no secret, hence the anchored _KEY$.
_SECRET_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|_KEY$|^KEY$|_DSN$|^DSN$)", re.I)
# security.environment_mode, the first configuration check, judges a configuration source that cannot be read.
CONFIG_UNREADABLE = Cause("security.environment_mode", "configuration",
                          "Make the configuration readable (env_file path, permissions, syntax, or the cluster's "
                          "Deployment); then run the checks again.")


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def secret_values(values: t.Mapping[str, str]) -> set[str]:
    """Every secret string in ``values``: whole values of secret names, and passwords embedded in URLs."""
    found = set()
    for name, value in values.items():
        if not value:
            continue
        if is_secret_name(name):
            found.add(value)
        found |= password_spellings(url_password(value) if "://" in value or "password" in value else None)
    return found


# The module options that hold a URL, which may carry a password (https://user:pw@host, redis://:pw@host).
URL_OPTIONS = ("api_url", "http_url", "ws_url", "grafana_url", "database_url", "redis_url", "prometheus_url")


def parameter_secrets(params: t.Mapping[str, t.Any]) -> set[str]:
    """The secrets inside a module's parameters beyond its no_log options: the secret values of ``config`` and the
    passwords of URL options. Tolerant of parameters not yet validated (any shape)."""
    config = params.get("config")
    found = set()
    if isinstance(config, dict):
        found = secret_values({str(k): "" if v is None else str(v) for k, v in config.items()})
    for name in URL_OPTIONS:
        value = params.get(name)
        if not isinstance(value, str) or ("@" not in value and "password" not in value):
            continue
        # A URL given without its scheme (rejected, and echoed in the message) may still carry a password.
        found |= password_spellings(url_password(value if "://" in value else "//" + value))
    return found


@dataclasses.dataclass
class EnvFileInfo:
    path: str
    mode: int
    uid: int

    @property
    def readable_by_others(self) -> bool:
        return bool(self.mode & (stat.S_IRGRP | stat.S_IROTH))


def read_env_file(path: str) -> tuple[dict[str, str], EnvFileInfo]:
    """Parse a systemd EnvironmentFile / .env file; raise CheckInputError naming the problem."""
    if dotenv_values is None:
        raise CheckInputError("python-dotenv is needed on the host to read %s (pip install python-dotenv)" % path)
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with open(descriptor, encoding="utf-8", closefd=True) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise CheckInputError("env file %s is not a regular file (it is a %s): give the path of the "
                                      "EnvironmentFile itself" % (path, _file_type(info.st_mode)))
            content = handle.read()
    except OSError as exc:
        raise CheckInputError("cannot read env file %s: %s" % (path, exc.strerror or exc)) from None
    except UnicodeDecodeError:
        raise CheckInputError("env file %s is not UTF-8 text" % path) from None
    values = {name: value for name, value in dotenv_values(stream=io.StringIO(content)).items() if name}
    return {name: "" if value is None else value for name, value in values.items()}, EnvFileInfo(
        path, stat.S_IMODE(info.st_mode), info.st_uid)


@dataclasses.dataclass(frozen=True)
class ServiceUser:
    """Who the Aragora unit runs as, and how we know: ``uid`` None when it cannot be known (``unknown`` says why)."""

    source: str  # "service_user", "User= in /etc/systemd/system/aragora.service"
    name: str | None = None
    uid: int | None = None
    unknown: str | None = None


def _unit_assignments(path: str) -> list[tuple[str, str]]:
    """(key, value) of the [Service] section of one unit file or drop-in, in order."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckInputError("cannot read the unit file %s (systemd_unit_file): %s"
                              % (path, getattr(exc, "strerror", None) or exc)) from None
    section, found = "", []
    for line in lines:
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Service" and "=" in line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            found.append((key.strip(), value.strip()))
    return found


def unit_service_user(unit_file: str) -> ServiceUser:
    """The user a systemd unit runs as: its User= and DynamicUser= after its drop-ins (<unit>.d/*.conf, read in
    name order after the unit, the last assignment winning, as systemd does); root without User=."""
    files = [unit_file, *sorted(glob.glob(os.path.join(unit_file + ".d", "*.conf")))]
    user, dynamic = "", False
    for path in files:
        for key, value in _unit_assignments(path):
            if key == "User":
                user = value  # an empty assignment resets it to root
            elif key == "DynamicUser":
                dynamic = value.lower() in ("1", "yes", "true", "on")
    source = "User= in %s" % " + ".join(files)
    if dynamic:
        # systemd allocates the user at each start: no file on disk can belong to it, only root's are right.
        return ServiceUser(source, user or None, None, "the unit has DynamicUser=yes")
    return resolve_user(user or "root", source)


def resolve_user(name: str, source: str) -> ServiceUser:
    """A user name (or numeric uid) as this host knows it."""
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except (KeyError, ValueError):
        if name.isdigit():
            return ServiceUser(source, name, int(name))
        return ServiceUser(source, name, None, "user %s does not exist on this host" % name)
    return ServiceUser(source, entry.pw_name, entry.pw_uid)


def service_user(name: str | None, unit_file: str | None) -> ServiceUser:
    """Who the unit runs as, from service_user else the unit file; unknown (naming both options) without either."""
    if name:
        return resolve_user(name, "service_user")
    if unit_file:
        return unit_service_user(unit_file)
    return ServiceUser("none given", unknown="neither service_user nor systemd_unit_file was given")


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def secret_like(name: str, value: str) -> bool:
    """Whether a setting holds a secret: by its name (JWT secret, API keys, tokens, passwords, the encryption key) or
    a password inside its URL or DSN. The one test behind every "this holds a secret" verdict."""
    value = value.strip()
    return bool(value) and (is_secret_name(name) or bool(("://" in value or "password" in value)
                                                         and url_password(value)))


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISDIR, "directory"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


# What a lazily read configuration source gives (Config.attach).
Loaded = t.Tuple[t.Dict[str, str], t.Set[str], str, t.Dict[str, t.List[t.Tuple[str, str]]]]


class Config:
    """Merged configuration: the env file first, the caller's dict on top (it is what will be deployed)."""

    def __init__(self, env_file: str | None = None, variables: t.Mapping[str, t.Any] | None = None) -> None:
        self.env_file: EnvFileInfo | None = None
        self.error: str | None = None
        self.error_cause: Cause | None = None  # the dependency that kept the source from being read, if known
        self.values: dict[str, str] = {}
        self.sources: list[str] = []
        self.file_values: dict[str, str] = {}  # what the file on disk holds, for the storage check
        self.secret_names: set[str] = set()  # names whose values came from a secret store, whatever they are called
        # The ConfigMaps the application consumes -> their secret-like entries (key, variable), where none belongs;
        # None unless the configuration was read from the cluster.
        self.config_map_secrets: dict[str, list[tuple[str, str]]] | None = None
        self._loader: t.Callable[[], Loaded] | None = None
        self._load_lock = threading.Lock()
        if env_file:
            try:
                self.file_values, self.env_file = read_env_file(env_file)
                self.values.update(self.file_values)
                self.sources.append("env file %s" % env_file)
            except CheckInputError as exc:
                self.error = str(exc)
        if variables:
            self.values.update({str(k): "" if v is None else str(v) for k, v in variables.items()})
            self.sources.append("variables")

    def attach(self, loader: t.Callable[[], Loaded]) -> None:
        """A source read on first use, when neither env file nor variables were given: ``loader()`` returns
        (values, names whose values are secrets, a label for ``sources``, the ConfigMaps read -> their secret-like
        entries) or raises CheckInputError."""
        if not self.sources and self.error is None:
            self._loader = loader

    def _load(self) -> None:
        if self._loader is None:
            return
        with self._load_lock:  # the other checks wait here until the source is read
            if self._loader is None:
                return
            try:
                values, secret_names, label, config_map_secrets = self._loader()
            except (CheckInputError, CheckSkipped) as exc:
                self.error = "configuration from the cluster: %s" % exc
                # The Kubernetes API down is one cause for the Kubernetes and the configuration checks alike.
                self.error_cause = getattr(exc, "cause", None)
            else:
                self.values.update(values)
                self.secret_names.update(secret_names)
                self.config_map_secrets = dict(config_map_secrets)
                self.sources.append(label)
            self._loader = None

    @property
    def given(self) -> bool:
        return bool(self.sources) or self.error is not None or self._loader is not None

    def require(self) -> None:
        """Called by every configuration check: SKIP when no source was given, FAIL when the given one broke."""
        self._load()
        if self.error:
            raise CheckInputError(self.error, self.error_cause or CONFIG_UNREADABLE)
        if not self.sources:
            raise CheckSkipped("no configuration to inspect: give env_file (read on the host) or config variables")

    def get(self, name: str) -> str | None:
        """The value of ``name``, stripped; None when unset or empty."""
        self.require()
        value = self.values.get(name, "").strip()
        return value or None

    def first(self, *names: str) -> tuple[str | None, str | None]:
        """(name, value) of the first of ``names`` that is set; (None, None) when none is."""
        for name in names:
            value = self.get(name)
            if value is not None:
                return name, value
        return None, None

    def secrets(self) -> set[str]:
        found = secret_values(self.values)
        found.update(value for name, value in self.values.items() if name in self.secret_names and value)
        return found


@dataclasses.dataclass
class IntSetting:
    """An integer setting with the range the server accepts and the default it applies when unset."""

    name: str
    default: int
    minimum: int
    maximum: int


def parse_int_setting(config: Config, setting: IntSetting) -> tuple[int | None, str | None]:
    """(value, problem): value None when unset; problem says why a set value is unusable."""
    raw = config.get(setting.name)
    if raw is None:
        return None, None
    try:
        value = int(raw)
    except ValueError:
        return None, "%s=%r is not a whole number" % (setting.name, raw)
    if not setting.minimum <= value <= setting.maximum:
        return value, "%s=%d is outside the valid range %d-%d" % (setting.name, value, setting.minimum, setting.maximum)
    return value, None
