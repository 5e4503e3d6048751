# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How to reach a cluster, read from a kubeconfig or the pod's service account, without the official client.

Importing the ``kubernetes`` package costs ~0.5 s of CPU in every module process (its config loader pulls in
oauthlib, google-auth hooks and pydantic), more than every check of a target together; reading a kubeconfig is a YAML
file and a few rules. What this loader reads, as kubectl does:

- files: the ``path`` given, else every file of ``KUBECONFIG`` (merged: the first file to name a cluster, user or
  context wins; the first current-context wins), else ``~/.kube/config``; relative paths inside a file are relative
  to that file's directory;
- a context (the one given, else current-context), its cluster (server, certificate-authority[-data],
  insecure-skip-tls-verify, tls-server-name, proxy-url) and its user: token, tokenFile, client-certificate[-data] and
  client-key[-data], username/password, or an exec credential plugin (client.authentication.k8s.io: its token or
  client certificate, run again when its expirationTimestamp passes);
- in the pod: KUBERNETES_SERVICE_HOST/PORT, the service account's token (read again as the kubelet rotates it) and CA.

A user with a legacy ``auth-provider`` (gcp, oidc, azure: removed from kubectl 1.26) raises ``NeedsOfficialLoader``:
the caller then uses the official client's loader, which still implements them.

API: ``load_kubeconfig(path, context, timeout)`` and ``load_in_cluster()`` return ``Credentials``;
``KubeconfigError`` says what is wrong in which file. Inline certificate data is written to files of mode 0600
(urllib3 and ssl read certificates from files), removed when the process exits.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import dataclasses
import datetime
import json
import os
import subprocess
import tempfile
import threading
import time
import typing as t

try:
    import yaml
except ImportError:  # ansible-core requires PyYAML: always there where a module runs
    yaml = None  # type: ignore[assignment]

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_KUBECONFIG = os.path.join("~", ".kube", "config")
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")


class KubeconfigError(Exception):
    """The kubeconfig (or service account) cannot give credentials; ``str()`` says what to fix."""


class NeedsOfficialLoader(KubeconfigError):
    """The user authenticates with something this loader does not implement (a legacy auth-provider)."""


def fixed_authorization(header: str | None) -> t.Callable[[], str | None]:
    """An ``authorization`` that always gives the same header (a token or password written in the kubeconfig)."""
    def authorization() -> str | None:
        return header

    return authorization


@dataclasses.dataclass(frozen=True)
class Credentials:
    """A cluster's API server and how to authenticate to it: what an HTTP client needs, nothing more."""

    server: str
    ca_file: str | None = None  # None: the system's trust store
    verify: bool = True
    tls_server_name: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    proxy: str | None = None
    namespace: str | None = None  # the context's (or the service account's) namespace
    # The Authorization header's value when asked (a token file or exec plugin may give a new one over time).
    authorization: t.Callable[[], str | None] = dataclasses.field(
        default=fixed_authorization(None), repr=False, compare=False)


def _token_header(token: str | None) -> str | None:
    return "Bearer " + token if token else None


class _TokenFile:
    """A token read from its file when asked (the kubelet rotates bound service-account tokens), cached a minute."""

    def __init__(self, path: str, max_age: float = 60.0) -> None:
        self.path, self.max_age = path, max_age
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._token: str | None = None

    def __call__(self) -> str | None:
        with self._lock:
            now = time.monotonic()
            if self._read_at is None or now - self._read_at > self.max_age:
                try:
                    with open(self.path, encoding="utf-8") as handle:
                        self._token = handle.read().strip()
                except OSError as exc:
                    raise KubeconfigError("cannot read the token file %s: %s" % (self.path, exc.strerror)) from None
                self._read_at = now
            return _token_header(self._token)


_WRITTEN: list[str] = []


def _remove_written() -> None:
    for path in _WRITTEN:
        try:
            os.unlink(path)
        except OSError:
            pass


atexit.register(_remove_written)


def _data_file(data: str, what: str, source: str) -> str:
    """Base64 ``data`` of a kubeconfig field written to a private file; its path."""
    try:
        content = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        raise KubeconfigError("%s: %s is not base64" % (source, what)) from None
    return _private_file(content, what)


def _private_file(content: bytes, what: str) -> str:
    handle, path = tempfile.mkstemp(prefix="aragora-ops-", suffix="-" + what.split("-", 1)[0])
    try:
        os.write(handle, content)
    finally:
        os.close(handle)
    _WRITTEN.append(path)
    return path


def _file_or_data(section: t.Mapping[str, t.Any], field: str, base_dir: str, source: str) -> str | None:
    """``field`` (a path, relative to the kubeconfig's directory) or ``field-data`` (base64) as a file path."""
    data = section.get(field + "-data")
    if data:
        return _data_file(str(data), field, source)
    path = section.get(field)
    if not path:
        return None
    path = os.path.join(base_dir, os.path.expanduser(str(path)))
    if not os.path.isfile(path):
        raise KubeconfigError("%s: %s %s does not exist" % (source, field, path))
    return path


@dataclasses.dataclass
class _Merged:
    """The kubeconfig files merged as kubectl merges them; each entry keeps the directory of the file it came from."""

    files: list[str]
    clusters: dict[str, tuple[dict, str]] = dataclasses.field(default_factory=dict)
    users: dict[str, tuple[dict, str]] = dataclasses.field(default_factory=dict)
    contexts: dict[str, dict] = dataclasses.field(default_factory=dict)
    current_context: str | None = None

    @property
    def source(self) -> str:
        return "kubeconfig %s" % os.pathsep.join(self.files)


def kubeconfig_files(path: str | None = None) -> list[str]:
    """The files to read: ``path``, else KUBECONFIG's (those that exist), else ~/.kube/config."""
    if path:
        return [os.path.expanduser(path)]
    listed = [entry for entry in os.environ.get("KUBECONFIG", "").split(os.pathsep) if entry]
    if listed:
        existing = [os.path.expanduser(entry) for entry in listed if os.path.exists(os.path.expanduser(entry))]
        if not existing:
            raise KubeconfigError("none of the KUBECONFIG files exists: %s" % os.pathsep.join(listed))
        return existing
    return [os.path.expanduser(DEFAULT_KUBECONFIG)]


def _read_file(path: str) -> dict:
    if yaml is None:
        raise KubeconfigError("PyYAML is needed to read %s" % path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as exc:
        raise KubeconfigError("cannot read %s: %s" % (path, exc.strerror)) from None
    except yaml.YAMLError as exc:
        raise KubeconfigError("%s is not valid YAML: %s" % (path, str(exc).splitlines()[0])) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KubeconfigError("%s is not a kubeconfig (a mapping with clusters, users and contexts)" % path)
    return data


def _named(data: dict, key: str, path: str) -> list[tuple[str, dict]]:
    entries = data.get(key) or []
    if not isinstance(entries, list):
        raise KubeconfigError("%s: %s is not a list" % (path, key))
    named = []
    for entry in entries:
        inner = entry.get(key[:-1]) if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not entry.get("name") or not isinstance(inner, (dict, type(None))):
            raise KubeconfigError("%s: an entry of %s has no name or no %s mapping" % (path, key, key[:-1]))
        named.append((str(entry["name"]), inner or {}))
    return named


def merge(files: t.Sequence[str]) -> _Merged:
    merged = _Merged(list(files))
    for path in files:
        data = _read_file(path)
        base_dir = os.path.dirname(os.path.abspath(path))
        for name, cluster in _named(data, "clusters", path):
            merged.clusters.setdefault(name, (cluster, base_dir))
        for name, user in _named(data, "users", path):
            merged.users.setdefault(name, (user, base_dir))
        for name, context in _named(data, "contexts", path):
            merged.contexts.setdefault(name, context)
        merged.current_context = merged.current_context or data.get("current-context") or None
    return merged


def load_kubeconfig(path: str | None = None, context: str | None = None, timeout: float = 10.0) -> Credentials:
    """The credentials of ``context`` (default: current-context) of the kubeconfig ``path`` (default: KUBECONFIG,
    else ~/.kube/config). ``timeout``: seconds an exec credential plugin may take."""
    merged = merge(kubeconfig_files(path))
    name = context or merged.current_context
    if not name:
        raise KubeconfigError("%s names no current-context and no context was given (kube_context)" % merged.source)
    if name not in merged.contexts:
        raise KubeconfigError("%s has no context %r (it has: %s)"
                              % (merged.source, name, ", ".join(sorted(merged.contexts)) or "none"))
    chosen = merged.contexts[name]
    cluster_name, user_name = chosen.get("cluster"), chosen.get("user")
    if cluster_name not in merged.clusters:
        raise KubeconfigError("%s: context %r names cluster %r, which is not defined"
                              % (merged.source, name, cluster_name))
    cluster, cluster_dir = merged.clusters[cluster_name]
    server = str(cluster.get("server") or "").rstrip("/")
    if not server:
        raise KubeconfigError("%s: cluster %r has no server" % (merged.source, cluster_name))
    source = "%s, cluster %s" % (merged.source, cluster_name)
    credentials = Credentials(
        server=server,
        ca_file=_file_or_data(cluster, "certificate-authority", cluster_dir, source),
        verify=not cluster.get("insecure-skip-tls-verify", False),
        tls_server_name=cluster.get("tls-server-name") or None,
        proxy=cluster.get("proxy-url") or None,
        namespace=chosen.get("namespace") or None,
    )
    if user_name in (None, ""):
        return credentials
    if user_name not in merged.users:
        raise KubeconfigError("%s: context %r names user %r, which is not defined" % (merged.source, name, user_name))
    user, user_dir = merged.users[user_name]
    return _with_user(credentials, user, user_dir, cluster, "%s, user %s" % (merged.source, user_name), timeout)


def _with_user(credentials: Credentials, user: dict, base_dir: str, cluster: dict, source: str,
               timeout: float) -> Credentials:
    if user.get("auth-provider"):
        name = (user["auth-provider"] or {}).get("name", "?") if isinstance(user["auth-provider"], dict) else "?"
        raise NeedsOfficialLoader("%s: auth-provider %s" % (source, name))
    cert_file = _file_or_data(user, "client-certificate", base_dir, source)
    key_file = _file_or_data(user, "client-key", base_dir, source)
    if bool(cert_file) != bool(key_file):
        raise KubeconfigError("%s: a client certificate needs its key and a key its certificate" % source)
    authorization: t.Callable[[], str | None] = fixed_authorization(None)
    if user.get("token"):
        authorization = fixed_authorization(_token_header(str(user["token"])))
    elif user.get("tokenFile"):
        authorization = _TokenFile(os.path.join(base_dir, os.path.expanduser(str(user["tokenFile"]))))
    elif user.get("username") and user.get("password") is not None:
        basic = base64.b64encode(("%s:%s" % (user["username"], user["password"])).encode()).decode()
        authorization = fixed_authorization("Basic " + basic)
    elif user.get("exec"):
        plugin = ExecPlugin(user["exec"], base_dir, cluster, source, timeout)
        first = plugin.credential()
        if first.get("clientCertificateData") and not cert_file:
            if not first.get("clientKeyData"):
                raise KubeconfigError("%s: the exec plugin gave a client certificate without its key" % source)
            cert_file = _private_file(first["clientCertificateData"].encode(), "client-certificate")
            key_file = _private_file(first["clientKeyData"].encode(), "client-key")
        authorization = plugin.authorization
    return dataclasses.replace(credentials, cert_file=cert_file, key_file=key_file, authorization=authorization)


class ExecPlugin:
    """A client-go credential plugin (``users[].user.exec``): run once, and again when its credential expires."""

    def __init__(self, spec: t.Any, base_dir: str, cluster: dict, source: str, timeout: float) -> None:
        if not isinstance(spec, dict) or not spec.get("command"):
            raise KubeconfigError("%s: exec has no command" % source)
        self.api_version = spec.get("apiVersion") or EXEC_API_VERSIONS[0]
        if self.api_version not in EXEC_API_VERSIONS:
            raise KubeconfigError("%s: exec apiVersion %s is not one of %s"
                                  % (source, self.api_version, ", ".join(EXEC_API_VERSIONS)))
        command = os.path.expanduser(str(spec["command"]))
        # As client-go: a command with a path separator is relative to the kubeconfig; a bare name is looked up on PATH.
        if os.sep in command and not os.path.isabs(command):
            command = os.path.join(base_dir, command)
        self.argv = [command] + [str(arg) for arg in spec.get("args") or []]
        self.env = {str(item.get("name")): str(item.get("value", "")) for item in spec.get("env") or []
                    if isinstance(item, dict) and item.get("name")}
        info: dict[str, t.Any] = {"interactive": False}
        if spec.get("provideClusterInfo"):
            info["cluster"] = {"server": cluster.get("server"),
                               "certificate-authority-data": cluster.get("certificate-authority-data"),
                               "insecure-skip-tls-verify": cluster.get("insecure-skip-tls-verify", False)}
        self.exec_info = json.dumps({"apiVersion": self.api_version, "kind": "ExecCredential", "spec": info})
        self.source, self.timeout = source, timeout
        self._lock = threading.Lock()
        self._status: dict | None = None
        self._expires: datetime.datetime | None = None

    def _run(self) -> dict:
        environment = {**os.environ, **self.env, "KUBERNETES_EXEC_INFO": self.exec_info}
        try:
            proc = subprocess.run(self.argv, env=environment, capture_output=True, timeout=self.timeout, check=False,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise KubeconfigError("%s: the exec plugin %s is not installed (not found)"
                                  % (self.source, self.argv[0])) from None
        except subprocess.TimeoutExpired:
            raise KubeconfigError("%s: the exec plugin %s gave no credential within %g s"
                                  % (self.source, self.argv[0], self.timeout)) from None
        except OSError as exc:
            raise KubeconfigError("%s: cannot run the exec plugin %s: %s"
                                  % (self.source, self.argv[0], exc.strerror)) from None
        if proc.returncode != 0:
            said = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            last = said[-1][:200] if said else "(nothing on stderr)"
            raise KubeconfigError("%s: the exec plugin %s exited %d: %s"
                                  % (self.source, self.argv[0], proc.returncode, last))
        try:
            answer = json.loads(proc.stdout)
        except ValueError:
            raise KubeconfigError("%s: the exec plugin %s did not print an ExecCredential (JSON)"
                                  % (self.source, self.argv[0])) from None
        status = answer.get("status") if isinstance(answer, dict) else None
        if not isinstance(status, dict) or answer.get("kind") != "ExecCredential":
            raise KubeconfigError("%s: the exec plugin %s printed no ExecCredential with a status"
                                  % (self.source, self.argv[0]))
        if not status.get("token") and not status.get("clientCertificateData"):
            raise KubeconfigError("%s: the exec plugin %s gave neither a token nor a client certificate"
                                  % (self.source, self.argv[0]))
        return status

    def credential(self) -> dict:
        """The plugin's status (token or client certificate), run again once its expirationTimestamp has passed."""
        with self._lock:
            now = datetime.datetime.now(datetime.timezone.utc)
            if self._status is None or (self._expires is not None and now >= self._expires):
                self._status = self._run()
                self._expires = _timestamp(self._status.get("expirationTimestamp"))
            return self._status

    def authorization(self) -> str | None:
        return _token_header(self.credential().get("token"))


def _timestamp(value: t.Any) -> datetime.datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def load_in_cluster(directory: str = SERVICE_ACCOUNT_DIR) -> Credentials:
    """The pod's service account: the API server from KUBERNETES_SERVICE_HOST/PORT, its token and CA."""
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise KubeconfigError("not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")
    token_path, ca_path = os.path.join(directory, "token"), os.path.join(directory, "ca.crt")
    for path in (token_path, ca_path):
        if not os.path.isfile(path):
            raise KubeconfigError("no service account mounted: %s does not exist (automountServiceAccountToken?)"
                                  % path)
    namespace = None
    try:
        with open(os.path.join(directory, "namespace"), encoding="utf-8") as handle:
            namespace = handle.read().strip() or None
    except OSError:
        pass
    token = _TokenFile(token_path)
    token()  # unreadable now: say so now, not at the first call
    return Credentials(server="https://%s:%s" % ("[%s]" % host if ":" in host else host, port), ca_file=ca_path,
                       namespace=namespace, authorization=token)
