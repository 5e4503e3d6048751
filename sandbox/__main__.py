"""The sandbox's command line: ``python -m sandbox up|down|status`` (``python scripts/sandbox.py`` runs this)."""

from __future__ import annotations

import argparse
import sys

from sandbox import DB_BACKENDS, DEFAULT_ARAGORA_PYTHON, DEFAULT_DIR, SandboxError, down, status, up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sandbox", description="Local sandbox of an Aragora production deployment.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("up", "start the sandbox (no-op when it is already up)"),
                       ("down", "stop everything the sandbox started"),
                       ("status", "show what runs; exit 0 when up")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--dir", default=str(DEFAULT_DIR), help=f"sandbox directory (default: {DEFAULT_DIR})")
        if name == "up":
            sub.add_argument("--aragora-python", default=str(DEFAULT_ARAGORA_PYTHON),
                             help=f"Python of a venv with aragora==2.11.1 (default: {DEFAULT_ARAGORA_PYTHON})")
            sub.add_argument("--db-backend", choices=DB_BACKENDS, default="postgres",
                             help="Aragora's database (default: postgres; sqlite when register/login are needed)")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            up(args.dir, args.aragora_python, args.db_backend)
        elif args.command == "down":
            down(args.dir)
        else:
            result = status(args.dir)
            for name, alive in result["running"].items():
                pid = result["state"]["processes"].get(name, {}).get("pid")
                print(f"  {name:<9} {'running' if alive else 'stopped'} (pid {pid})")
            if "state" in result:
                print(f"  api       {result['state']['urls']['api']}  ready: {result['ready']} ({result['detail']})")
            print("sandbox is up" if result["up"] else f"sandbox is not up ({result['detail']})")
            return 0 if result["up"] else 1
    except SandboxError as exc:
        print(f"sandbox {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
