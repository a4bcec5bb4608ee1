"""``unireduce matrix``: what NumPy, PyTorch, TensorFlow and JAX natively do, side by side.

Runs the built-in battery (:mod:`unireduce._matrix_cases`) on every installed framework through
the frameworks' own functions, each framework in its own subprocess
(:mod:`unireduce._matrix_worker`; JAX twice, with ``jax_enable_x64`` off and on), and prints per
case what each gives (dtype, shape, value, or exception class and message) and whether they
disagree. ``--expect FILE`` compares the run with a saved ``--format json`` report and exits 1 on
any change, so a CI job catches a framework upgrade that changes behaviour. The JSON layout is
documented in ``docs/matrix.md``.

>>> from unireduce._matrix import outcome
>>> outcome({"status": "ok", "dtype": "int64", "shape": [], "value": 2, "warning": None})
'ok int64 () 2'
"""

from __future__ import annotations

import argparse
import concurrent.futures
import fnmatch
import html
import importlib.util
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ._matrix_cases import CASES, Case, select

__all__ = [
    "COMPARED_FIELDS",
    "FRAMEWORKS",
    "SCHEMA",
    "add_arguments",
    "collect",
    "compare",
    "outcome",
    "render",
    "run",
]

#: Identifies the JSON layout; bumped only on an incompatible change.
SCHEMA: Final = "unireduce-matrix/1"

#: Column ids, in report order, and the module each needs.
FRAMEWORKS: Final = ("numpy", "torch", "tensorflow", "jax", "jax_x64")
MODULES: Final = {
    "numpy": "numpy",
    "torch": "torch",
    "tensorflow": "tensorflow",
    "jax": "jax",
    "jax_x64": "jax",
}
FORMATS: Final = ("text", "markdown", "json", "html")

#: The cell fields ``--expect`` compares (the warning by its class only): messages are not
#: compared, so rewording an error message is not reported as a change of behaviour.
COMPARED_FIELDS: Final = ("status", "dtype", "shape", "value", "input_dtype", "exception")

WORKER_TIMEOUT: Final = 900.0

Report = dict[str, Any]
Cell = dict[str, Any]


class MatrixError(Exception):
    """A usage problem (unknown case pattern, unreadable --expect file, ...): exit status 2."""


# --- running --------------------------------------------------------------------------------------


def _installed(framework: str) -> bool:
    return importlib.util.find_spec(MODULES[framework]) is not None


def _run_worker(framework: str, patterns: Sequence[str] | None, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "unireduce._matrix_worker", framework]
    for p in patterns or ():
        cmd += ["--case", p]
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["JAX_ENABLE_X64"] = "1" if framework == "jax_x64" else "0"
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"worker exited with status {proc.returncode}: {tail}")
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def outcome(cell: Cell) -> str:
    """What two cells must share to count as agreeing: dtype, shape, value or exception class.

    Messages, warnings, the input dtype and the call expression are not part of it.
    """
    if cell["status"] == "ok":
        value = json.dumps(cell["value"], sort_keys=True)
        return f"ok {cell['dtype']} {_shape(cell['shape'])} {value}"
    if cell["status"] == "error":
        return f"error {cell['exception']}"
    return "n/a"


def _agreement(cells: Mapping[str, Cell]) -> tuple[bool, int]:
    outs = {outcome(c) for c in cells.values() if c["status"] != "n/a"}
    return len(outs) <= 1, len(outs)


def collect(
    frameworks: Sequence[str] | None = None,
    patterns: Sequence[str] | None = None,
    *,
    timeout: float = WORKER_TIMEOUT,
    jobs: int | None = None,
) -> Report:
    """Run the battery natively and return the report (the ``--format json`` document).

    ``frameworks`` defaults to every installed one; ``patterns`` selects cases by id (shell-style).
    """
    from . import __version__

    cases = select(patterns)
    if not cases:
        raise MatrixError(f"matrix: no case id matches {list(patterns or [])}")
    wanted = list(frameworks) if frameworks else [f for f in FRAMEWORKS if _installed(f)]
    info: dict[str, dict[str, Any]] = {}
    docs: dict[str, dict[str, Any]] = {}
    runnable = []
    for fw in wanted:
        if _installed(fw):
            runnable.append(fw)
        else:
            info[fw] = {"status": "not installed", "error": f"{MODULES[fw]} is not installed"}
    workers = max(1, min(len(runnable), jobs or os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {fw: pool.submit(_run_worker, fw, patterns, timeout) for fw in runnable}
        for fw, fut in futures.items():
            try:
                docs[fw] = fut.result()
                info[fw] = {
                    "status": "ok",
                    "versions": docs[fw]["versions"],
                    "config": docs[fw]["config"],
                }
            except Exception as exc:  # a crashed worker is reported, not fatal
                info[fw] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    columns: list[str] = [fw for fw in FRAMEWORKS if fw in docs]
    out_cases = []
    for case in cases:
        cells = {fw: docs[fw]["cells"][case.id] for fw in columns}
        agree, n = _agreement(cells)
        out_cases.append(
            {
                "id": case.id,
                "title": case.title,
                "op": case.op,
                "input": case.x.describe(),
                "input_dtype": None if case.x.python else case.x.dtype,
                "agree": agree,
                "outcomes": n,
                "cells": cells,
            }
        )
    return {
        "schema": SCHEMA,
        "unireduce": __version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "frameworks": {fw: info[fw] for fw in FRAMEWORKS if fw in info},
        "columns": columns,
        "cases": out_cases,
        "summary": {
            "cases": len(out_cases),
            "disagreeing": sum(1 for c in out_cases if not c["agree"]),
        },
    }


# --- comparing --------------------------------------------------------------------------------


def _key(cell: Cell) -> dict[str, Any]:
    key = {f: cell.get(f) for f in COMPARED_FIELDS}
    warning = cell.get("warning")
    key["warning"] = warning.split(":", 1)[0] if warning else None
    return key


def _brief(cell: Cell | None, input_dtype: str | None = None) -> str:
    if cell is None:
        return "(no result)"
    return _cell_text(cell, input_dtype, warning="class")


def compare(
    expected: Report,
    actual: Report,
    frameworks: Iterable[str] | None = None,
    patterns: Sequence[str] | None = None,
) -> list[str]:
    """The changes from ``expected`` to ``actual``, one line each (empty: no change).

    Only cells of ``frameworks`` (default: all) and of case ids matching ``patterns`` (default:
    all) are compared. A cell present on one side only is a change.
    """
    if expected.get("schema") != SCHEMA:
        raise MatrixError(
            f"matrix: --expect file is not a unireduce matrix report (schema "
            f"{expected.get('schema')!r}, expected {SCHEMA!r}); save one with --format json"
        )
    fws = set(frameworks) if frameworks is not None else set(FRAMEWORKS)
    pats = list(patterns) if patterns else None

    def in_scope(case_id: str, fw: str) -> bool:
        if fw not in fws:
            return False
        return pats is None or any(fnmatch.fnmatchcase(case_id, p) for p in pats)

    def cells(report: Report) -> dict[tuple[str, str], tuple[Cell, str | None]]:
        out = {}
        for case in report.get("cases", []):
            for fw, cell in case.get("cells", {}).items():
                if in_scope(case["id"], fw):
                    out[case["id"], fw] = (cell, case.get("input_dtype"))
        return out

    old, new = cells(expected), cells(actual)
    order = {c.id: i for i, c in enumerate(CASES)}
    keys = sorted(
        set(old) | set(new),
        key=lambda k: (
            order.get(k[0], len(order)),
            k[0],
            FRAMEWORKS.index(k[1]) if k[1] in FRAMEWORKS else len(FRAMEWORKS),
        ),
    )
    changes = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if a is not None and b is not None and _key(a[0]) == _key(b[0]):
            continue
        dt = (a or b or (None, None))[1]
        was = _brief(a[0] if a else None, dt)
        now = _brief(b[0] if b else None, dt)
        changes.append(f"{key[0]} [{key[1]}]: expected {was}; got {now}")
    return changes


def _version_changes(expected: Report, actual: Report) -> list[str]:
    lines = []
    for fw, info in actual.get("frameworks", {}).items():
        before = expected.get("frameworks", {}).get(fw, {}).get("versions", {})
        for lib, ver in info.get("versions", {}).items():
            if lib in before and before[lib] != ver:
                lines.append(f"{fw}: {lib} {before[lib]} -> {ver}")
    return sorted(set(lines))


# --- rendering --------------------------------------------------------------------------------


def _shape(shape: Sequence[int]) -> str:
    return "(" + ",".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_value(e) for e in v) + "]"
    if isinstance(v, dict):  # a scan_accuracy summary
        where = v["first_mismatch"]
        tail = (
            "all prefixes correctly rounded"
            if where is None
            else (f"first inexact prefix at index {where}")
        )
        return f"last={_value(v['last'])}; {tail}"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _cell_text(cell: Cell, input_dtype: str | None, warning: str = "full") -> str:
    """One cell as text; ``warning`` is ``"full"``, ``"class"`` or ``"none"``."""
    status = cell["status"]
    if status == "ok":
        text = f"{cell['dtype']} {_shape(cell['shape'])} {_value(cell['value'])}"
        got_in = cell.get("input_dtype")
        if input_dtype is not None and got_in is not None and got_in != input_dtype:
            text += f" [in→{got_in}]"
    elif status == "error":
        text = f"{cell['exception']}: {cell['message']}"
    else:
        text = f"n/a ({cell.get('reason', '')})"
    w = cell.get("warning")
    if w and warning != "none":
        text += f" ⚠ {w if warning == 'full' else w.split(':', 1)[0]}"
    return text


def _letters(case: dict[str, Any], columns: Sequence[str]) -> dict[str, str]:
    """Outcome labels A, B, ... in column order (blank for n/a), for a disagreeing case."""
    seen: dict[str, str] = {}
    out = {}
    for fw in columns:
        cell = case["cells"].get(fw)
        if cell is None or cell["status"] == "n/a":
            out[fw] = ""
            continue
        o = outcome(cell)
        seen.setdefault(o, chr(ord("A") + len(seen)))
        out[fw] = seen[o]
    return out


def _framework_line(report: Report) -> str:
    parts = []
    for fw, info in report["frameworks"].items():
        if info["status"] != "ok":
            parts.append(f"{fw} ({info['status']})")
            continue
        ver = info["versions"].get(MODULES[fw], "?")
        extra = ""
        if "jax_enable_x64" in info.get("config", {}):
            extra = " x64 on" if info["config"]["jax_enable_x64"] else " x64 off"
        parts.append(f"{fw} {ver}{extra}")
    return ", ".join(parts)


def _summary_line(report: Report) -> str:
    s = report["summary"]
    return (
        f"{s['disagreeing']} of {s['cases']} cases disagree across "
        f"{', '.join(report['columns']) or 'no framework'}"
    )


def _render_text(report: Report) -> str:
    cols = report["columns"]
    width = max([len(c) for c in cols] + [6])
    lines = [
        "unireduce matrix: native sum and cumsum behaviour",
        f"frameworks: {_framework_line(report)}",
        "'≠' marks a case where the frameworks disagree (letters group equal outcomes); '='",
        "a case where they all agree. [in→X]: the framework created the input as X.",
        "",
    ]
    for case in report["cases"]:
        mark = "=" if case["agree"] else "≠"
        lines.append(f"{mark} {case['id']}: {case['title']}")
        present = [fw for fw in cols if case["cells"][fw]["status"] != "n/a"]
        if case["agree"] and present:
            first = case["cells"][present[0]]
            label = "all" if len(present) == len(cols) else "others"
            lines.append(f"    {label:<{width}}    {_cell_text(first, case['input_dtype'])}")
            for fw in cols:
                if fw not in present:
                    cell = case["cells"][fw]
                    lines.append(f"    {fw:<{width}}    {_cell_text(cell, case['input_dtype'])}")
            continue
        letters = _letters(case, cols)
        texts = {fw: _cell_text(case["cells"][fw], case["input_dtype"]) for fw in cols}
        pad = min(max((len(t) for t in texts.values()), default=0), 56)
        for fw in cols:
            cell = case["cells"][fw]
            call = f"  <- {cell['call']}" if "call" in cell else ""
            lines.append(f"    {fw:<{width}} {letters[fw] or ' ':>2} {texts[fw]:<{pad}}{call}")
    lines += ["", _summary_line(report)]
    for fw, info in report["frameworks"].items():
        if info["status"] != "ok":
            lines.append(f"{fw}: {info['status']}: {info.get('error', '')}")
    return "\n".join(lines) + "\n"


def _groups(report: Report) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for case in report["cases"]:
        groups.setdefault(case["id"].rsplit(".", 1)[0], []).append(case)
    return list(groups.items())


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _render_markdown(report: Report) -> str:
    cols = report["columns"]
    out = [
        "# unireduce matrix: native sum and cumsum behaviour",
        "",
        f"Frameworks: {_framework_line(report)}.",
        "",
        f"**{_summary_line(report)}.** ≠ marks a disagreeing case; the letters group equal "
        "outcomes (dtype, shape, value, or exception class). `[in→X]`: the framework created the "
        "input as X; ⚠ names the first warning.",
    ]
    for group, cases in _groups(report):
        out += ["", f"## {group}", ""]
        out.append("| case | | " + " | ".join(cols) + " |")
        out.append("|---|---|" + "---|" * len(cols))
        for case in cases:
            letters = _letters(case, cols) if not case["agree"] else dict.fromkeys(cols, "")
            row = [
                f"`{case['id'].rsplit('.', 1)[1]}` {_md(case['title'])}",
                "=" if case["agree"] else "≠",
            ]
            for fw in cols:
                cell = case["cells"][fw]
                text = _md(_cell_text(cell, case["input_dtype"], warning="class"))
                if cell["status"] == "error":
                    exc, _, msg = text.partition(": ")
                    text = f"**{exc}**: {msg}"
                tag = f"({letters[fw]}) " if letters[fw] else ""
                row.append(tag + text)
            out.append("| " + " | ".join(row) + " |")
    return "\n".join(out) + "\n"


_CSS: Final = """
body { font-family: system-ui, sans-serif; margin: 1.5em; }
table { border-collapse: collapse; margin-bottom: 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; vertical-align: top; text-align: left; }
tr.diff td.case { background: #fde8e8; }
td.o0 { background: #ffffff; } td.o1 { background: #fff3c4; } td.o2 { background: #d9ecff; }
td.o3 { background: #e3f7df; } td.o4 { background: #f1e3ff; }
td.error { color: #8a1c1c; } td.na { color: #888; }
code { font-size: 0.95em; }
"""


def _render_html(report: Report) -> str:
    cols = report["columns"]
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>unireduce matrix</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>unireduce matrix: native sum and cumsum behaviour</h1>",
        f"<p>Frameworks: {e(_framework_line(report))}.</p>",
        f"<p><strong>{e(_summary_line(report))}.</strong> Rows marked ≠ disagree; cell colours "
        "group equal outcomes (dtype, shape, value, or exception class). Hover a cell for the "
        "native call.</p>",
    ]
    for group, cases in _groups(report):
        out.append(f'<h2 id="{e(group)}">{e(group)}</h2>')
        out.append(
            "<table><thead><tr><th>case</th><th></th>"
            + "".join(f"<th>{e(fw)}</th>" for fw in cols)
            + "</tr></thead><tbody>"
        )
        for case in cases:
            letters = _letters(case, cols)
            cls = "same" if case["agree"] else "diff"
            row = [
                f'<tr class="{cls}" id="{e(case["id"])}">',
                f'<td class="case"><code>{e(case["id"])}</code><br>{e(case["title"])}</td>',
                f"<td>{'=' if case['agree'] else '≠'}</td>",
            ]
            for fw in cols:
                cell = case["cells"][fw]
                kinds = []
                if letters[fw] and not case["agree"]:
                    kinds.append(f"o{(ord(letters[fw]) - ord('A')) % 5}")
                if cell["status"] == "error":
                    kinds.append("error")
                elif cell["status"] == "n/a":
                    kinds.append("na")
                title = e(cell.get("call", ""), quote=True)
                text = e(_cell_text(cell, case["input_dtype"]))
                row.append(f'<td class="{" ".join(kinds)}" title="{title}">{text}</td>')
            row.append("</tr>")
            out.append("".join(row))
        out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render(report: Report, fmt: str) -> str:
    """The report as ``text``, ``markdown``, ``json`` or ``html``."""
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    renderers = {"text": _render_text, "markdown": _render_markdown, "html": _render_html}
    if fmt not in renderers:
        raise MatrixError(f"matrix: --format {fmt!r} is not one of {', '.join(FORMATS)}")
    return renderers[fmt](report)


# --- command line -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``unireduce matrix``."""
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format")
    parser.add_argument("--output", metavar="FILE", help="write the report here (default: stdout)")
    parser.add_argument(
        "--framework",
        action="append",
        choices=FRAMEWORKS,
        metavar="NAME",
        help=f"run only these frameworks (repeatable; {', '.join(FRAMEWORKS)}; "
        "default: every installed one)",
    )
    parser.add_argument(
        "--case",
        action="append",
        metavar="GLOB",
        help="run only the cases whose id matches (repeatable, shell-style, e.g. 'sum.axis.*')",
    )
    parser.add_argument(
        "--expect",
        metavar="FILE",
        help="compare with a report saved with --format json; exit 1 on any change",
    )
    parser.add_argument(
        "--list-cases", action="store_true", help="print the case ids and titles, run nothing"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``unireduce matrix``; 0 = done (and unchanged), 1 = changed or a worker failed."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        return _run(args)
    except MatrixError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2


def _run(args: argparse.Namespace) -> int:
    patterns = args.case
    if args.list_cases:
        chosen: list[Case] = select(patterns)
        sys.stdout.write("".join(f"{c.id}\t{c.title}\n" for c in chosen))
        return 0
    expected = None
    if args.expect:
        try:
            with open(args.expect, encoding="utf-8") as f:
                expected = json.load(f)
        except (OSError, ValueError) as exc:
            raise MatrixError(f"matrix: cannot read --expect {args.expect}: {exc}") from exc
        if not isinstance(expected, dict) or expected.get("schema") != SCHEMA:
            raise MatrixError(
                f"matrix: --expect {args.expect} is not a unireduce matrix JSON report "
                f"(schema {SCHEMA!r}); save one with --format json"
            )
    if args.framework:
        missing = [fw for fw in args.framework if not _installed(fw)]
        if missing:
            raise MatrixError(
                f"matrix: --framework {', '.join(missing)}: "
                f"{', '.join(sorted({MODULES[m] for m in missing}))} is not installed"
            )
    report = collect(args.framework, patterns)
    text = render(report, args.format)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
        sys.stderr.write(f"matrix: wrote {args.output} ({_summary_line(report)})\n")
    else:
        sys.stdout.write(text)
    status = 0
    failed = [fw for fw, i in report["frameworks"].items() if i["status"] == "failed"]
    if failed:
        sys.stderr.write(f"matrix: the worker failed for {', '.join(failed)}\n")
        status = 1
    if expected is not None:
        scope = args.framework or list(FRAMEWORKS)
        changes = compare(expected, report, scope, patterns)
        for line in _version_changes(expected, report):
            sys.stderr.write(f"matrix: version changed: {line}\n")
        if changes:
            sys.stderr.write(f"matrix: {len(changes)} change(s) against {args.expect}:\n")
            sys.stderr.write("".join(f"  {c}\n" for c in changes))
            status = 1
        else:
            sys.stderr.write(f"matrix: no change against {args.expect}\n")
    return status
