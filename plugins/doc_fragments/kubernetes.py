# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """kubernetes.core's connection options, as every module of the collection that talks to Kubernetes takes them
    (module_utils/_ansible/k8s_args.K8S_CONNECTION_SPEC, the piece ``kubernetes`` of the probe modules).

    Prefixed with k8s_ because these modules also have HTTP and PostgreSQL options of the bare names; each falls
    back on the K8S_AUTH_* variable that kubernetes.core reads and AWX's OpenShift/Kubernetes credential sets.
    """

    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Kubeconfig file of the cluster, on the host the module runs on.
    type: path
  k8s_context:
    description:
      - Kubeconfig context to use; the current context when omitted. Alone, it reads the default kubeconfig
        (C(KUBECONFIG), C(~/.kube/config)).
    type: str
    aliases: [kube_context]
  k8s_in_cluster:
    description:
      - Reach the cluster with the pod's service account (the module runs in the cluster, for example in AWX).
      - Mutually exclusive with O(kubeconfig) and O(k8s_host).
    type: bool
    default: false
  k8s_host:
    description:
      - URL of the Kubernetes API server, for example V(https://k8s.example.com:6443). Alone (with O(k8s_api_key)
        or a client certificate) it is the whole connection, no kubeconfig read; with a kubeconfig it overrides the
        server the kubeconfig names. Turns the Kubernetes checks on, as a kubeconfig does.
      - Falls back on E(K8S_AUTH_HOST), which AWX's OpenShift/Kubernetes API Bearer Token credential sets.
    type: str
  k8s_api_key:
    description:
      - Bearer token for the API server. Falls back on E(K8S_AUTH_API_KEY).
    type: str
  k8s_ca_cert:
    description:
      - CA bundle the API server's certificate must chain to. Falls back on E(K8S_AUTH_SSL_CA_CERT).
    type: path
  k8s_client_cert:
    description:
      - Client certificate to authenticate with; needs O(k8s_client_key). Falls back on E(K8S_AUTH_CERT_FILE).
    type: path
  k8s_client_key:
    description:
      - Key of O(k8s_client_cert). Falls back on E(K8S_AUTH_KEY_FILE).
    type: path
  k8s_validate_certs:
    description:
      - Whether to verify the API server's certificate; the kubeconfig's setting when omitted (verified by
        default). Falls back on E(K8S_AUTH_VERIFY_SSL).
    type: bool
  k8s_proxy:
    description:
      - HTTP(S) proxy URL to reach the API server through. Falls back on E(K8S_AUTH_PROXY).
    type: str
notes:
  - O(kubeconfig) falls back on E(K8S_AUTH_KUBECONFIG) and the context on E(K8S_AUTH_CONTEXT), as in
    kubernetes.core. C(module_defaults) can set all of them at once for the group C(group/aragora.ops.kubernetes).
"""
