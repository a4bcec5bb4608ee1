"""``migrate_source`` and ``migrate_paths``: the Python API of ``unireduce migrate``."""

from __future__ import annotations

import difflib
import io
import sys
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

import libcst as cst

from unireduce._errors import UnireduceValueError

from ._codemod import migrate_module_source
from ._report import TARGETS, MigrationResult, ReportEntry, build_report, write_report

__all__ = ["iter_python_files", "migrate_paths", "migrate_source"]

# Folders never searched for .py files (a PATH given explicitly is always migrated).
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})


def migrate_source(code: str, *, to: str = "torch", filename: str = "<string>") -> MigrationResult:
    """Migrate the TensorFlow reductions in ``code`` to ``to`` ("torch" or "unireduce").

    Never raises for bad input code: a source that does not parse comes back unchanged with a
    ``parse-error`` entry (``result.ok`` is False).

    >>> r = migrate_source("import tensorflow as tf\\ny = tf.math.cumsum(x, reverse=True)\\n",
    ...                    to="unireduce")
    >>> print(r.code, end="")
    import unireduce as ur
    <BLANKLINE>
    y = ur.cumsum(x, 0, reverse=True, semantics="tensorflow")
    >>> [e.kind for e in r.entries]
    ['input-dtype', 'default-axis', 'exclusive-reverse']
    >>> migrate_source("def f(:\\n").entries[0].kind
    'parse-error'
    """
    if to not in TARGETS:
        raise UnireduceValueError(
            f"migrate_source: to={to!r} is not a target; allowed: {', '.join(TARGETS)}"
        )
    try:
        new, entries = migrate_module_source(code, to=to, filename=filename)
    except cst.ParserSyntaxError as exc:
        line, column, message = exc.raw_line, exc.raw_column, exc.message
        try:  # Python's own message and line are the ones users know
            compile(code, filename, "exec", dont_inherit=True)
        except SyntaxError as py:
            line, column, message = py.lineno or line, (py.offset or 1) - 1, py.msg
        except (ValueError, OverflowError):
            pass
        entry = ReportEntry(
            filename,
            line,
            "parse-error",
            f"does not parse (line {line}, column {column}): {message}",
            "file left untouched",
        )
        return MigrationResult(code, code, [entry], filename, to)
    except Exception as exc:  # a libcst limitation must not lose the user's file
        entry = ReportEntry(
            filename,
            1,
            "internal-error",
            f"migration failed: {type(exc).__name__}: {exc}",
            "file left untouched; please report this with the file",
        )
        return MigrationResult(code, code, [entry], filename, to)
    return MigrationResult(code, new, entries, filename, to)


def iter_python_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, bool]]:
    """``(path, exists)`` for each file to migrate: files as given, folders searched for ``.py``
    files (hidden folders, ``__pycache__``, ``node_modules`` and ``site-packages`` skipped)."""
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*.py")):
                rel = f.relative_to(p).parts[:-1]
                if any(part.startswith(".") or part in _SKIP_DIRS for part in rel):
                    continue
                if f.is_file():
                    yield f, True
        else:
            yield p, p.is_file()


def _read(path: Path) -> tuple[str, str]:
    """The text of ``path`` and its encoding (PEP 263), newlines untouched."""
    raw = path.read_bytes()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    return raw.decode(encoding), encoding


def migrate_paths(
    paths: Iterable[str | Path],
    *,
    to: str = "torch",
    write: bool = False,
    diff: bool = False,
    report: str | Path | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Migrate every file under ``paths``; return the exit status (0: everything migrated).

    ``write`` rewrites the files in place; ``diff`` prints a unified diff and changes nothing;
    with neither, nothing is written and a summary says what would change. ``report`` writes
    the JSON report there. Hazards go to ``stderr`` as ``file:line: kind: message -> action``.
    The status is 1 when a file could not be (fully) migrated, 2 when a PATH does not exist.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "m.py").write_text("import tensorflow as tf\\ns = tf.reduce_sum(x, [])\\n")
    >>> import io
    >>> migrate_paths([d], write=True, stderr=io.StringIO())
    0
    >>> "_tf_reduce_sum(x, [])" in (d / "m.py").read_text()
    True
    """
    if to not in TARGETS:
        raise UnireduceValueError(
            f"migrate_paths: to={to!r} is not a target; allowed: {', '.join(TARGETS)}"
        )
    if write and diff:
        raise UnireduceValueError("migrate_paths: write=True and diff=True exclude each other")
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    results: list[MigrationResult] = []
    status = 0
    for path, exists in iter_python_files(paths):
        name = str(path)
        if not exists:
            print(f"unireduce migrate: error: {name}: no such file or folder", file=err)
            status = 2
            continue
        try:
            text, encoding = _read(path)
        except (OSError, UnicodeDecodeError, SyntaxError) as exc:
            entry = ReportEntry(name, 1, "io-error", f"cannot read: {exc}", "file left untouched")
            results.append(MigrationResult("", "", [entry], name, to))
            continue
        result = migrate_source(text, to=to, filename=name)
        if write and result.changed and not any(e.kind == "parse-error" for e in result.entries):
            try:
                path.write_bytes(result.code.encode(encoding))
            except OSError as exc:
                result.entries.append(
                    ReportEntry(name, 1, "io-error", f"cannot write: {exc}", "file left as it was")
                )
        if diff and result.changed:
            out.writelines(
                difflib.unified_diff(
                    text.splitlines(keepends=True),
                    result.code.splitlines(keepends=True),
                    fromfile=name if path.is_absolute() else f"a/{name}",
                    tofile=name if path.is_absolute() else f"b/{name}",
                )
            )
        results.append(result)

    quiet = ("input-dtype", "out-of-scope")  # one per call: counted below, listed in --report
    for r in results:
        for e in r.entries:
            if e.kind not in quiet:
                print(e.format(), file=err)
    if any(not r.ok for r in results):
        status = max(status, 1)
    changed = sum(1 for r in results if r.changed)
    failed = sum(1 for r in results if not r.ok)
    other = sum(1 for r in results for e in r.entries if e.kind == "out-of-scope")
    guarded = sum(1 for r in results for e in r.entries if e.kind == "input-dtype")
    hazards = sum(1 for r in results for e in r.entries if e.severity == "hazard")
    verb = "changed" if write else "would change"
    summary = (
        f"unireduce migrate --to {to}: {len(results)} file(s), {verb} {changed}, "
        f"{failed} could not be fully migrated, {hazards} hazard(s) reported"
    )
    if guarded:
        summary += f" ({guarded} of them input-dtype, one per call, not listed: see --report)"
    if other:
        summary += f", {other} other TensorFlow/Keras reference(s) left as they are"
    if not write and not diff and changed:
        summary += " (use --diff to see the changes, --write to apply them)"
    print(summary, file=err)
    if report is not None:
        mode = "write" if write else ("diff" if diff else "check")
        write_report(report, build_report(results, target=to, mode=mode, exit_status=status))
    return status
