# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the collection writes its reports and incident records when the user says nothing: a writable place that
fits the way it is run, never inside an installed collection (``ansible-galaxy collection verify`` would fail, and
an execution environment's collections are read-only)."""

from __future__ import annotations

import os
import typing as t

# ansible-runner (and so AWX/AAP) sets this to the job's artifacts directory, which it keeps with the job.
RUNNER_ARTIFACTS_ENV = "AWX_ISOLATED_DATA_DIR"
HOME_SUBDIR = os.path.join(".ansible", "aragora-ops")


def default_output_dir(playbook_dir: str | None, environ: t.Mapping[str, str] | None = None,
                       home: str | None = None, subdir: str = "reports") -> tuple[str, str]:
    """The directory, and which way of running chose it:

    - ``runner``: under ansible-runner or AWX/AAP, ``<artifacts>/aragora-<subdir>``, kept with the job;
    - ``checkout``: a source checkout of the collection (``galaxy.yml`` beside ``playbooks/``, no
      ``MANIFEST.json``) that can be written, ``<checkout>/build/<subdir>``;
    - ``home``: anything else (an installed collection, a read-only checkout, a project of one's own),
      ``~/.ansible/aragora-ops/<subdir>``.
    """
    environ = os.environ if environ is None else environ
    artifacts = environ.get(RUNNER_ARTIFACTS_ENV)
    if artifacts:
        return os.path.join(artifacts, "aragora-" + subdir), "runner"
    if playbook_dir:
        root = os.path.dirname(os.path.abspath(playbook_dir))
        is_checkout = (os.path.isfile(os.path.join(root, "galaxy.yml"))
                       and not os.path.exists(os.path.join(root, "MANIFEST.json")))
        if is_checkout and _writable(os.path.join(root, "build")):
            return os.path.join(root, "build", subdir), "checkout"
    home = home or environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, HOME_SUBDIR, subdir), "home"


def _writable(directory: str) -> bool:
    """Whether `directory` can be written, or created in its nearest existing parent."""
    while not os.path.exists(directory):
        parent = os.path.dirname(directory)
        if parent == directory:
            return False
        directory = parent
    return os.path.isdir(directory) and os.access(directory, os.W_OK | os.X_OK)
