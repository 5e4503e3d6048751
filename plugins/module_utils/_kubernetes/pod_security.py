# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pod Security Standards (baseline, restricted) as the Pod Security admission controller applies them to a pod
template: would a namespace labelled ``pod-security.kubernetes.io/enforce: LEVEL`` admit its pods? Pure functions over
API JSON; the messages follow the admission controller's ("allowPrivilegeEscalation != false (container ...)").

Covered: privileged, host namespaces, hostPath and host ports, capabilities, seccomp, runAsNonRoot/runAsUser,
allowPrivilegeEscalation, volume types. Not covered (rare in application pods): AppArmor, SELinux options, procMount,
sysctls, Windows options.
"""

from __future__ import annotations

import typing as t

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")
BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                                "projected", "secret"})
_VOLUME_KEYS = ("name",)


def enforced_level(namespace: t.Mapping[str, t.Any] | None) -> str | None:
    """The namespace's enforced level (None when the label is absent or unknown: the cluster default applies)."""
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    level = labels.get(ENFORCE_LABEL)
    return level if level in LEVELS else None


def _containers(pod_spec: t.Mapping[str, t.Any]) -> list[dict]:
    return list(pod_spec.get("initContainers") or []) + list(pod_spec.get("containers") or []) + \
        list(pod_spec.get("ephemeralContainers") or [])


def _baseline(pod_spec: t.Mapping[str, t.Any]) -> list[str]:
    found: list[str] = []
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(key):
            found.append("host namespaces (%s=true)" % key)
    host_paths = [v.get("name", "?") for v in pod_spec.get("volumes") or [] if "hostPath" in v]
    if host_paths:
        found.append("hostPath volumes (%s)" % ", ".join(host_paths))
    pod_seccomp = ((pod_spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
    if pod_seccomp == "Unconfined":
        found.append("seccompProfile (pod must not set securityContext.seccompProfile.type to \"Unconfined\")")
    for container in _containers(pod_spec):
        name = container.get("name", "?")
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            found.append("privileged (container \"%s\" must not set securityContext.privileged=true)" % name)
        added = set((context.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if added:
            found.append("non-default capabilities (container \"%s\" must not include %s in "
                         "securityContext.capabilities.add)" % (name, ", ".join(sorted(added))))
        ports = [str(p.get("hostPort")) for p in container.get("ports") or [] if p.get("hostPort")]
        if ports:
            found.append("hostPort (container \"%s\" uses hostPort %s)" % (name, ", ".join(ports)))
        if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
            found.append("seccompProfile (container \"%s\" must not set it to \"Unconfined\")" % name)
    return found


def _restricted(pod_spec: t.Mapping[str, t.Any]) -> list[str]:
    found: list[str] = []
    pod_context = pod_spec.get("securityContext") or {}
    odd = sorted({key for volume in pod_spec.get("volumes") or [] for key in volume
                  if key not in _VOLUME_KEYS and key not in RESTRICTED_VOLUMES} - {"hostPath"})
    if odd:
        found.append("restricted volume types (%s)" % ", ".join(odd))
    for container in _containers(pod_spec):
        name = container.get("name", "?")
        context = container.get("securityContext") or {}
        if context.get("allowPrivilegeEscalation") is not False:
            found.append("allowPrivilegeEscalation != false (container \"%s\" must set "
                         "securityContext.allowPrivilegeEscalation=false)" % name)
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            found.append("unrestricted capabilities (container \"%s\" must set securityContext.capabilities.drop="
                         "[\"ALL\"])" % name)
        extra = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
        if extra:
            found.append("unrestricted capabilities (container \"%s\" must not add %s)" % (name, ", ".join(sorted(extra))))
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        if non_root is not True:
            found.append("runAsNonRoot != true (container \"%s\" or the pod must set securityContext.runAsNonRoot="
                         "true)" % name)
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            found.append("runAsUser=0 (container \"%s\" must not run as root)" % name)
        seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append("seccompProfile (container \"%s\" or the pod must set securityContext.seccompProfile.type to "
                         "\"RuntimeDefault\" or \"Localhost\")" % name)
    return found


def violations(pod_spec: t.Mapping[str, t.Any], level: str | None) -> list[str]:
    """What the admission controller would refuse in ``pod_spec`` at ``level`` (none for privileged or None)."""
    if level not in ("baseline", "restricted"):
        return []
    found = _baseline(pod_spec)
    if level == "restricted":
        found += _restricted(pod_spec)
    return found
