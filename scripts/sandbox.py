#!/usr/bin/env python
"""``python scripts/sandbox.py up|down|status [...]``: the documented command for the sandbox package at the
repository root (sandbox/, the same as ``python -m sandbox``). Only a command: the code lives in sandbox/."""

import os
import runpy
import sys

if __name__ != "__main__":
    # Imported as `sandbox` because scripts/ came first on sys.path: it would hide the package.
    raise ImportError("scripts/sandbox.py is only the command line; import the sandbox package with the repository "
                      "root, not scripts/, on sys.path")
# sys.path[0] is scripts/, where this file would shadow the package of the same name: the repository root instead.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
runpy.run_module("sandbox", run_name="__main__", alter_sys=True)
