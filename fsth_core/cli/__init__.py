"""Command line (set FSTH_DEBUG=1 for a traceback instead of the one-line error).  Each ``cmd_<name>.py``
module in this package is one sub-command.

A command module defines ``NAME`` (the sub-command, e.g. ``"convert-vgg"``), ``HELP``
(one line), ``add_arguments(parser)`` and ``run(args) -> int``.  Modules are discovered
at start-up, so adding a command never edits this file.

The commands import their stages (torch, cv2) inside ``run``, and ``add_arguments`` reads only
fsth_core/options.py and argtypes.py: ``--help`` builds every sub-parser and stays fast
(tests/test_options.py checks it imports neither torch nor cv2).  These are the package's function-level
imports besides its optional dependencies.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _commands() -> list:
    mods = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    return mods


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one ``error: ...`` line (exit status 2), like every other user-facing error."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m fsth_core",
                                     description="Few-shot talking heads (Zakharov et al. 2019).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _commands():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad argument (2, already printed)
        return int(exc.code or 0)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    from fsth_core.runtime.signals import sigterm_as_interrupt

    try:
        with sigterm_as_interrupt():  # SIGTERM cleans up like Ctrl-C: no partial output
            return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (CLIError, OSError, ValueError) as exc:  # user-facing errors (OSError: last resort, names the file)
        if os.environ.get("FSTH_DEBUG"):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
