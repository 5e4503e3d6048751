"""``python -m sandbox.k8s serve --kubeconfig PATH [--port-file PATH] [--scenario NAME]``: the emulated API as a
process of its own (the sandbox starts it so; `down` stops it by PID)."""

from __future__ import annotations

import sys

from sandbox.k8s.emulator import main

sys.exit(main())
