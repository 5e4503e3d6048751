# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The Python every module of the collection needs where it runs (a test checks the code against it)."""

    # tests/unit/test_release_hygiene.py runs vermin over plugins/ against this version.
    DOCUMENTATION = r"""
options: {}
requirements:
  - Python 3.9 or newer on the host the module runs on (the managed host, or the controller for targets reached
    over the network with C(ansible_connection=local)), with the libraries of the collection's C(requirements.txt)
    that the module uses.
"""
