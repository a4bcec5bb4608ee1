"""The ``unireduce`` command line: ``unireduce demo`` (and ``python -m unireduce``).

Each subcommand lives in its own module, imported only when that subcommand runs, so
``unireduce --help`` imports no framework.

>>> from unireduce.cli import build_parser
>>> build_parser().parse_args(["demo"]).command
'demo'
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

#: subcommand -> (module, help); the module defines ``add_arguments(parser)`` and ``run(args)``.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "unireduce._demo",
        "run the same calls on every installed framework and show native vs unireduce results",
    ),
    "matrix": ("unireduce._matrix", "run the frameworks natively and show where they disagree"),
    "check": (
        "unireduce._check",
        "run the conformance suite on the installed backends and print a pass/fail matrix",
    ),
    "migrate": (
        "unireduce.migrate.cli",
        "rewrite TensorFlow reductions for PyTorch or unireduce, keeping TF's results",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="unireduce",
        description="One precise meaning for sum, cumsum and reduce_sum on every framework.",
    )
    parser.add_argument("--version", action="version", version=f"unireduce {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``unireduce`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    status: int = importlib.import_module(args._module).run(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
