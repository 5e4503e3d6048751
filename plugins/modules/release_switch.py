#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release_switch
short_description: List Aragora releases on a systemd host and switch the current symlink atomically
version_added: 0.1.0
description:
  - Lists the release directories under O(root)/O(releases_dir) and the one the O(link) symlink points at.
  - With O(release), points the link at another release, the previous one or a named version. The new link is
    created under a temporary name in the same directory and renamed over the old one, then the directory is
    fsynced, so the link always points at either the old or the new release, even if the run is interrupted.
  - Releases are ordered by version (a natural sort of their directory names, a leading V(v) ignored, digit runs
    compared as numbers). V(previous) is the release just before the current one in that order.
  - Before anything is touched the target must exist, hold every path of O(required_paths) (its Python
    environment) and the filesystem must have O(min_free_mb) free; otherwise the module fails and says what to fix.
  - It does not restart anything; the aragora.ops.systemd_rollback role does that and checks health.
author:
  - aragora.ops contributors (@aragora-ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - aragora.ops.python
options:
  root:
    description: Directory of the deployment, holding the releases directory and the link.
    type: path
    default: /opt/aragora
  releases_dir:
    description: Directory of the releases, one directory per release, relative to O(root).
    type: str
    default: releases
  link:
    description: Name of the symlink, in O(root), that selects the running release.
    type: str
    default: current
  release:
    description:
      - The release to point the link at - a directory name under O(releases_dir), or V(previous).
      - Omit it to only list the releases.
    type: str
  required_paths:
    description: Paths, relative to a release directory, that a complete release has.
    type: list
    elements: str
    default: [venv/bin/python]
  version_file:
    description:
      - File, relative to a release directory, whose first line is the version that release serves
        (returned as RV(expected_version) for the health gate). Empty to not read one.
    type: str
    default: VERSION
  min_free_mb:
    description: Free space, in MB, the filesystem of O(root) must have before the switch.
    type: float
    default: 100
attributes:
  check_mode:
    support: full
    details: Runs every pre-flight check and says which release the link would point at.
  diff_mode:
    support: full
    details: The link's target before and after.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: List the releases and the current one
  aragora.ops.release_switch:
  register: aragora_releases

- name: Point current at the release before the running one
  aragora.ops.release_switch:
    release: previous

- name: Point current at a named release, elsewhere than /opt/aragora
  aragora.ops.release_switch:
    root: /srv/aragora
    release: "2.11.0"
"""

RETURN = r"""
releases:
  description: The releases, oldest first, after the change.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: 2.10.0, path: /opt/aragora/releases/2.10.0, current: false, complete: true, missing: [],
       expected_version: 2.10.0}
current:
  description: The release the link points at after the change (before it, in check mode); null when none.
  returned: always
  type: str
  sample: 2.10.0
from:
  description: The release the link pointed at before; null when it pointed at none.
  returned: when O(release) is given
  type: str
  sample: 2.11.1
to:
  description: The release the link points at now (or would, in check mode).
  returned: when O(release) is given
  type: str
  sample: 2.10.0
link_before:
  description: The link's text before the change; null when there was no link.
  returned: when O(release) is given
  type: str
  sample: releases/2.11.1
link_after:
  description: The link's text after the change.
  returned: when O(release) is given
  type: str
  sample: releases/2.10.0
expected_version:
  description: Version read from the target release's O(version_file); null when it has none.
  returned: when O(release) is given
  type: str
  sample: 2.10.0
from_expected_version:
  description: Version read from the previously current release's O(version_file); null when it has none.
  returned: when O(release) is given
  type: str
  sample: 2.11.1
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aragora.ops.plugins.module_utils._operations import releases
from ansible_collections.aragora.ops.plugins.module_utils._operations.releases import ReleaseError, ReleaseTree, plan_switch


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "default": "/opt/aragora"},
            "releases_dir": {"type": "str", "default": releases.DEFAULT_RELEASES_DIR},
            "link": {"type": "str", "default": releases.DEFAULT_LINK},
            "release": {"type": "str"},
            "required_paths": {"type": "list", "elements": "str", "default": list(releases.DEFAULT_REQUIRED_PATHS)},
            "version_file": {"type": "str", "default": releases.DEFAULT_VERSION_FILE},
            "min_free_mb": {"type": "float", "default": releases.DEFAULT_MIN_FREE_MB},
        },
        supports_check_mode=True,
    )
    params = module.params
    tree = ReleaseTree(params["root"], params["releases_dir"], params["link"], params["required_paths"],
                       params["version_file"] or None)
    result = {"changed": False}
    try:
        if params["release"]:
            plan = plan_switch(tree, params["release"], params["min_free_mb"])
            result.update(plan)
            if plan["changed"]:
                result["diff"] = {"before": "%s -> %s\n" % (tree.link, plan["link_before"]),
                                  "after": "%s -> %s\n" % (tree.link, plan["link_after"])}
                if not module.check_mode:
                    tree.switch(plan["to"])
        result.update(tree.describe())
    except ReleaseError as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
