# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""k8s_rollout_undo runs in the controller's own process when the module would run on the controller anyway
(plugin_utils/in_controller.py: a local connection with the controller's Python, as the Kubernetes rollback runs
it): the module process it spares is most of the time from an incident's command to the rollback's PATCH. Anywhere
else it runs the module. The result is the same either way (module_utils/_ansible/rollout_task.py)."""

from __future__ import annotations

from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.aragora.ops.plugins.plugin_utils.in_controller import runs_in_controller

MODULE = "aragora.ops.k8s_rollout_undo"


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = True  # an async task runs the module

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        here = self._run_here() if runs_in_controller(self, task_vars) else None
        if here is None:
            wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
            here = self._execute_module(module_name=MODULE, task_vars=task_vars, wrap_async=wrap_async)
        result.update(here)
        return result

    def _run_here(self) -> dict | None:
        """The task's result, run in this process; None when this Python lacks the client (the module says so)."""
        # Imported only here: a task that runs the module has no use for the Kubernetes client in this process.
        # pylint: disable-next=import-outside-toplevel
        from ansible_collections.aragora.ops.plugins.module_utils._ansible import rollout_task
        # pylint: disable-next=import-outside-toplevel
        from ansible_collections.aragora.ops.plugins.module_utils._kubernetes import k8s_client

        if not k8s_client.HAS_KUBERNETES or k8s_client.urllib3 is None:
            return None
        validation, params = self.validate_argument_spec(argument_spec=rollout_task.argument_spec(),
                                                         required_together=rollout_task.REQUIRED_TOGETHER)
        # As AnsibleModule does: no value of a no_log option (the API key) in anything returned.
        no_log_values = validation._no_log_values  # pylint: disable=protected-access
        return remove_values(rollout_task.run(params, bool(self._task.check_mode)), no_log_values)
