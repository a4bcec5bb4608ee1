"""``unireduce check``: run the conformance suite and print a pass/fail matrix.

The suite (``unireduce.conformance_tests``) runs in this process through ``pytest.main`` with a
small collector plugin, isolated from any pytest configuration in the current directory. Rows of
the matrix are function × profile, columns backend/device (eager and compiled runs together),
cells ``passed/failed``. The report is text, Markdown, JSON or HTML; the exit status is 1 when any
test failed, 0 otherwise.

>>> from unireduce._check import Result, render
>>> r = Result(backends={"numpy": "2.4"}, options={})
>>> r.add("sum", "array_api", "numpy/cpu", "passed", "")
>>> "numpy/cpu" in render(r, "markdown")
True
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = ["Result", "add_arguments", "render", "run"]

FORMATS = ("text", "markdown", "json", "html")
_OUTCOMES = ("passed", "failed", "skipped", "xfailed")


@dataclass
class Result:
    """Outcome counts per (function, profile, column) and the failure messages."""

    backends: dict[str, str]
    options: dict[str, Any]
    counts: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, function: str, semantics: str, column: str, outcome: str, text: str) -> None:
        cell = self.counts.setdefault((function, semantics, column), dict.fromkeys(_OUTCOMES, 0))
        cell[outcome] += 1

    @property
    def columns(self) -> list[str]:
        return sorted({c for _, _, c in self.counts})

    @property
    def rows(self) -> list[tuple[str, str]]:
        return sorted({(f, s) for f, s, _ in self.counts})

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.counts.values())

    @property
    def ok(self) -> bool:
        return self.total("failed") == 0 and not self.errors and bool(self.counts)

    def cell(self, row: tuple[str, str], column: str) -> str:
        c = self.counts.get((*row, column))
        if c is None:
            return "-"
        text = f"{c['passed']}/{c['failed']}"
        if c["xfailed"]:
            text += f" ({c['xfailed']} xfail)"
        return text


# ------------------------------------------------------------------------------------------
# rendering


def _table(result: Result) -> tuple[list[str], list[list[str]]]:
    header = ["function", "semantics", *result.columns]
    body = [[f, s, *(result.cell((f, s), c) for c in result.columns)] for f, s in result.rows]
    return header, body


def _summary(result: Result) -> str:
    return (
        f"{result.total('passed')} passed, {result.total('failed')} failed, "
        f"{result.total('xfailed')} xfailed, {len(result.skipped)} skipped "
        f"in {result.seconds:.1f}s"
    )


def _text(result: Result) -> str:
    header, body = _table(result)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    line = "  ".join
    out = [
        "unireduce conformance: " + ", ".join(f"{b} {v}" for b, v in result.backends.items()),
        "cells: passed/failed",
        "",
        line(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
        line("-" * w for w in widths),
    ]
    out += [line(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    out += ["", _summary(result)]
    for s in result.skipped:
        out.append(f"skipped: {s['id']}: {s['reason']}")
    for e in result.errors:
        out.append(f"error: {e}")
    for f in result.failures:
        out += ["", f"FAILED {f['id']}", f["message"]]
    return "\n".join(out) + "\n"


def _markdown(result: Result) -> str:
    header, body = _table(result)
    out = [
        "# unireduce conformance",
        "",
        "Backends: " + ", ".join(f"`{b}` {v}" for b, v in result.backends.items()) + ".",
        "Cells: passed/failed.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    out += ["| " + " | ".join(r) + " |" for r in body]
    out += ["", _summary(result) + "."]
    if result.skipped:
        out += ["", "## Skipped", ""] + [f"- `{s['id']}`: {s['reason']}" for s in result.skipped]
    if result.errors:
        out += ["", "## Errors", ""] + [f"- {e}" for e in result.errors]
    if result.failures:
        out += ["", "## Failures", ""]
        for f in result.failures:
            out += [f"### `{f['id']}`", "", "```", f["message"], "```", ""]
    return "\n".join(out).rstrip() + "\n"


def _json(result: Result) -> str:
    doc = {
        "unireduce": _version(),
        "backends": result.backends,
        "options": result.options,
        "ok": result.ok,
        "seconds": round(result.seconds, 3),
        "totals": {o: result.total(o) for o in _OUTCOMES} | {"skipped": len(result.skipped)},
        "matrix": [
            {"function": f, "semantics": s, "column": c, **counts}
            for (f, s, c), counts in sorted(result.counts.items())
        ],
        "failures": result.failures,
        "skipped": result.skipped,
        "errors": result.errors,
    }
    return json.dumps(doc, indent=2) + "\n"


def _html(result: Result) -> str:
    header, body = _table(result)
    esc = html.escape

    def cell(text: str, tag: str = "td") -> str:
        failed = "/" in text and text.split("/")[1].split(" ")[0] not in ("0", "")
        style = ' class="fail"' if tag == "td" and failed else ""
        return f"<{tag}{style}>{esc(text)}</{tag}>"

    rows = "\n".join("<tr>" + "".join(cell(c) for c in r) + "</tr>" for r in body)
    fails = "\n".join(
        f"<h3>{esc(f['id'])}</h3>\n<pre>{esc(f['message'])}</pre>" for f in result.failures
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>unireduce conformance"
        "</title>\n<style>td.fail{background:#fdd} td,th{padding:2px 8px} "
        "table{border-collapse:collapse}</style></head><body>\n"
        "<h1>unireduce conformance</h1>\n"
        f"<p>{esc(', '.join(f'{b} {v}' for b, v in result.backends.items()))}</p>\n"
        "<p>cells: passed/failed</p>\n"
        "<table border='1'>\n<tr>" + "".join(cell(h, "th") for h in header) + "</tr>\n"
        f"{rows}\n</table>\n<p>{esc(_summary(result))}</p>\n{fails}\n</body></html>\n"
    )


def render(result: Result, fmt: str) -> str:
    """The report in ``fmt`` (one of :data:`FORMATS`)."""
    return {"text": _text, "markdown": _markdown, "json": _json, "html": _html}[fmt](result)


# ------------------------------------------------------------------------------------------
# running the suite


def _version() -> str:
    from . import __version__

    return __version__


class _Collector:
    """A pytest plugin that records each test's outcome under its matrix row and column."""

    def __init__(self, result: Result, stream: TextIO) -> None:
        self.result = result
        self.stream = stream
        self.where: dict[str, tuple[str, str, str]] = {}
        self.total = 0
        self.done = 0
        self.tty = stream.isatty()
        self.last = 0.0

    def pytest_collection_finish(self, session: Any) -> None:
        from ._capabilities import device_kind

        items = session.items
        for item in items:
            params = getattr(getattr(item, "callspec", None), "params", {})
            target = params.get("target")
            if target is None:
                continue
            column = f"{target.label}/{device_kind(target.device)}"
            self.where[item.nodeid] = (params["function"], params["semantics"], column)
        self.total = len(items)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.result.errors.append(f"collecting {report.nodeid}: {report.longreprtext}")

    def pytest_runtest_logreport(self, report: Any) -> None:
        outcome = None
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "passed"
            elif report.skipped:
                reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
                self.result.skipped.append({"id": report.nodeid, "reason": str(reason)})
            else:
                outcome = report.outcome
        elif report.when == "teardown" and report.failed:
            self.result.errors.append(f"teardown of {report.nodeid}: {report.longreprtext}")
        if report.when == "teardown":
            self.done += 1
            self._progress()
        if outcome is None:
            return
        where = self.where.get(report.nodeid)
        if where is None:
            if outcome == "failed":
                self.result.errors.append(f"{report.nodeid}: {report.longreprtext}")
            return
        self.result.add(*where, outcome, "")
        if outcome == "failed":
            self.result.failures.append(
                {"id": report.nodeid.rpartition("::")[2], "message": _message(report)}
            )

    def _progress(self) -> None:
        n, total = self.done, max(self.total, 1)
        now = time.monotonic()
        if not self.tty and n != total and now - self.last < 10:
            return
        self.last = now
        width = 30
        filled = width * n // total
        failed = self.result.total("failed")
        text = f"[{'#' * filled}{'.' * (width - filled)}] {n}/{total} tests, {failed} failed"
        self.stream.write(("\r" + text) if self.tty else text + "\n")
        if self.tty and n == total:
            self.stream.write("\n")
        self.stream.flush()


def _message(report: Any) -> str:
    """The uniform failure message (from 'AssertionError: ' on), else the whole report."""
    text = str(report.longreprtext)
    marker = "AssertionError: "
    i = text.find(marker)
    if i < 0:
        return text[-3000:]
    lines = []
    for line in text[i + len(marker) :].splitlines():
        if line.startswith("E   "):
            line = line[4:]
        if line.startswith(("Falsifying example", "Failing test case", "Explanation")):
            break
        lines.append(line)
    return "\n".join(lines).strip()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        action="append",
        metavar="B",
        help="backend to check (repeatable; default: every installed one; 'jax' covers "
        "jax_enable_x64 off and on)",
    )
    parser.add_argument(
        "--semantics", action="append", metavar="P", help="only these profiles (repeatable)"
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=20,
        metavar="N",
        help="hypothesis examples per randomized test (default 20; 100+ for a thorough run)",
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format")
    parser.add_argument("--output", metavar="FILE", help="write the report here (else stdout)")
    parser.add_argument(
        "--xfails", metavar="FILE", help="expected failures, 'test-id-glob  # reason' per line"
    )
    parser.add_argument(
        "-k", dest="keyword", metavar="EXPR", help="only tests matching this pytest -k expression"
    )


def _default_backends() -> list[str]:
    from ._registry import available_backends

    return [b for b in available_backends() if b != "cupy" or _has_cuda()]


def _has_cuda() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no CuPy, or no driver
        return False


def _pytest_args(args: argparse.Namespace, backends: Iterable[str], ini: Path) -> list[str]:
    argv = [
        "--pyargs",
        "unireduce.conformance_tests",
        "-c",
        str(ini),
        "--rootdir",
        str(ini.parent),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",  # the collector prints the progress and the report
        f"--unireduce-max-examples={args.max_examples}",
    ]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        argv += ["-p", "unireduce.conformance_plugin"]
    for b in backends:
        argv += ["--unireduce-backend", b]
    for s in args.semantics or []:
        argv += ["--unireduce-semantics", s]
    if args.xfails:
        argv += ["--unireduce-xfails", str(Path(args.xfails).resolve())]
    if args.keyword:
        argv += ["-k", args.keyword]
    return argv


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import importlib.util

    missing = [m for m in ("pytest", "hypothesis") if importlib.util.find_spec(m) is None]
    if missing:
        sys.stderr.write(
            f"unireduce check: the conformance suite needs {' and '.join(missing)}; "
            "install them with: pip install 'unireduce[test]'\n"
        )
        return 2
    import pytest

    backends = args.backend or _default_backends()
    from ._registry import get_backend

    versions = {}
    for b in backends:
        try:
            versions[b] = get_backend("jax" if b == "jax_x64" else b).version()
        except Exception as exc:  # reported, and the check fails
            versions[b] = f"unavailable ({type(exc).__name__}: {exc})"
    result = Result(
        backends=versions,
        options={
            "backends": backends,
            "semantics": args.semantics or "all",
            "max_examples": args.max_examples,
            "xfails": args.xfails,
        },
    )
    collector = _Collector(result, sys.stderr)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="unireduce-check-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        status = pytest.main(_pytest_args(args, backends, ini), plugins=[collector])
    result.seconds = time.monotonic() - start
    if status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        result.errors.append(f"pytest exited with status {int(status)}")
    report = render(result, args.format)
    if args.output:
        Path(args.output).write_text(report, encoding="utf-8")
        if args.format != "text":
            sys.stdout.write(render(result, "text"))
        else:
            sys.stdout.write(report)
        sys.stdout.write(f"report written to {args.output}\n")
    else:
        sys.stdout.write(report)
    return 0 if result.ok else 1
