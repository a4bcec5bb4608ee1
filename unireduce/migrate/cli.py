"""The ``migrate`` subcommand of the ``unireduce`` command line.

The main CLI wires it either way; importing this module imports neither libcst nor a framework:

    from unireduce.migrate.cli import add_parser
    add_parser(subparsers)            # subparsers = parser.add_subparsers(...)
    args = parser.parse_args()
    sys.exit(args.func(args))

or, in a registry of subcommand modules, ``add_arguments(subparser)`` then ``run(args)``.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="unireduce")
>>> sub = add_parser(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["migrate", "src", "--to", "unireduce", "--diff"])
>>> args.func is run, args.paths, args.to, args.diff, args.write
(True, ['src'], 'unireduce', True, False)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._report import TARGETS

__all__ = ["add_arguments", "add_parser", "run"]

_DESCRIPTION = """\
Rewrite TensorFlow reductions (tf.math.reduce_sum, tf.math.cumsum, the Keras Sum metric) for
PyTorch or unireduce, keeping TensorFlow's results: output dtypes, integer wrap-around, bool
refused, axis=[] reducing nothing, exclusive and reverse scans. Formatting and comments survive.
Without --diff or --write nothing is changed: hazards and a summary are printed.
Exit status: 0 everything migrated (hazards reported or not), 1 a file could not be (fully)
migrated, 2 a PATH does not exist or libcst is missing. Guide: docs/migration.md."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``migrate`` to an argparse subparsers object; its ``func`` default is :func:`run`.

    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> _ = add_parser(p.add_subparsers())
    >>> p.parse_args(["migrate", "a.py"]).to
    'torch'
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "migrate",
        help="rewrite TensorFlow reductions for PyTorch or unireduce, keeping TF's results",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``migrate`` arguments to an existing (sub)parser and ``func=run``.

    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> p.parse_args(["a.py", "--to", "unireduce", "--write"]).write
    True
    """
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="a .py file, or a folder searched for .py files"
    )
    parser.add_argument(
        "--to",
        choices=TARGETS,
        default="torch",
        help="torch: plain PyTorch (default); unireduce: ur.* calls with semantics='tensorflow'",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--diff", action="store_true", help="print a unified diff; change no file")
    mode.add_argument("--write", action="store_true", help="rewrite the files in place")
    parser.add_argument(
        "--report", metavar="FILE", default=None, help="write the JSON report to FILE"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``unireduce migrate`` with parsed arguments; return the exit status.

    >>> import argparse, io, contextlib
    >>> with contextlib.redirect_stderr(io.StringIO()):
    ...     run(argparse.Namespace(paths=["no/such/file.py"], to="torch", diff=False,
    ...                            write=False, report=None))
    2
    """
    try:  # libcst is only needed here, so the rest of the CLI works without it
        from ._api import migrate_paths
    except ImportError as exc:
        print(
            f"unireduce migrate: error: {exc}; it needs libcst: pip install libcst",
            file=sys.stderr,
        )
        return 2
    return migrate_paths(
        args.paths,
        to=args.to,
        write=bool(args.write),
        diff=bool(args.diff),
        report=args.report,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m unireduce.migrate PATH ...``: the subcommand on its own."""
    parser = argparse.ArgumentParser(prog="unireduce")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["migrate", *(sys.argv[1:] if argv is None else argv)])
    status: int = args.func(args)
    return status
