# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An AnsibleModule that masks the secrets inside its parameters, not only its no_log options, from its very first
output: the JWT secret in ``config``, the password in a URL.

AnsibleModule validates the argument spec inside its constructor and may fail there, returning the invocation
(every parameter) under -vvv and into ANSIBLE_LOG_PATH; it also logs the invocation on the host. Registering the
secrets after the constructor is too late for both, so they are registered on each of those paths.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aragora.ops.plugins.module_utils._engine.config import parameter_secrets


class MaskedModule(AnsibleModule):
    """AnsibleModule(**kwargs), with every secret of its parameters (``config.parameter_secrets``) in no_log_values
    before anything is returned or logged."""

    def register_secrets(self, values: t.Iterable[str]) -> None:
        self.no_log_values.update(value for value in values if value)

    def _register_parameter_secrets(self) -> None:
        params = getattr(self, "params", None)
        if isinstance(params, dict):
            self.register_secrets(parameter_secrets(params))

    def _log_invocation(self) -> None:
        self._register_parameter_secrets()
        super()._log_invocation()

    def fail_json(self, msg: str, **kwargs: t.Any) -> t.NoReturn:
        self._register_parameter_secrets()
        super().fail_json(msg, **kwargs)

    def exit_json(self, **kwargs: t.Any) -> t.NoReturn:
        self._register_parameter_secrets()
        super().exit_json(**kwargs)
