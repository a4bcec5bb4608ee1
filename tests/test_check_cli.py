"""``unireduce check``: the matrix in every format, parsed back; exit 1 on a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import unireduce as ur
from tests.test_conformance_plugin import toy_site  # noqa: F401 - a fixture
from unireduce._check import Result, render

FUNCTIONS = ("cumsum", "cumulative_sum", "reduce_sum", "sum")


def _check(cwd: Path, *args: str, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-m", "unireduce", "check", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


# numpy, array_api profile, the curated 0-d cases: one test per function, all passing.
SMALL = ("--backend", "numpy", "--semantics", "array_api", "--max-examples", "2", "-k", "zero_d")


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "tr":
            self.rows.append([])
        self._in_cell = tag in ("td", "th")

    def handle_endtag(self, tag: str) -> None:
        self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.rows[-1].append(data)


def _rows_text(report: str) -> list[list[str]]:
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("function"))
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        if not line.startswith("-"):
            rows.append(line.split())
    return rows


def _rows_markdown(report: str) -> list[list[str]]:
    table = [line for line in report.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in table if "---" not in line]


def _rows_html(report: str) -> list[list[str]]:
    parser = _Cells()
    parser.feed(report)
    return parser.rows


def _rows_json(report: str) -> list[list[str]]:
    doc = json.loads(report)
    assert doc["ok"] is True and doc["totals"]["failed"] == 0
    assert doc["backends"] == {"numpy": ur.get_backend("numpy").version()}
    return [["function", "semantics", "numpy/cpu"]] + [
        [m["function"], m["semantics"], f"{m['passed']}/{m['failed']}"] for m in doc["matrix"]
    ]


PARSERS = {
    "text": _rows_text,
    "markdown": _rows_markdown,
    "html": _rows_html,
    "json": _rows_json,
}


@pytest.mark.parametrize("fmt", list(PARSERS))
def test_each_format_gives_the_matrix(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"report.{fmt}"
    result = _check(tmp_path, *SMALL, "--format", fmt, "--output", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = PARSERS[fmt](out.read_text(encoding="utf-8"))
    # One curated 0-d test per function: 4 rows, each "1 passed / 0 failed" on numpy/cpu.
    assert rows[0] == ["function", "semantics", "numpy/cpu"]
    assert sorted(rows[1:]) == [[f, "array_api", "1/0"] for f in FUNCTIONS]
    # The text matrix is printed too, and the progress bar went to stderr.
    assert "numpy/cpu" in result.stdout and f"report written to {out}" in result.stdout
    assert "4/4 tests, 0 failed" in result.stderr


def test_the_report_goes_to_stdout_without_output(tmp_path: Path) -> None:
    result = _check(tmp_path, *SMALL, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["passed"] == 4


def test_a_failure_exits_1_and_is_reported(toy_site: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "report.json"
    result = _check(
        tmp_path,
        "--backend",
        "toywrong",
        "--semantics",
        "array_api",
        "-k",
        "test_curated and -sum-int_edge",
        "--format",
        "json",
        "--output",
        str(out),
        site=toy_site,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["ok"] is False
    assert doc["matrix"] == [
        {
            "function": "sum",
            "semantics": "array_api",
            "column": "toywrong/cpu",
            "passed": 0,
            "failed": 1,
            "skipped": 0,
            "xfailed": 0,
        }
    ]
    (failure,) = doc["failures"]
    assert failure["id"] == "test_curated[toywrong-cpu-eager-array_api-sum-int_edge]"
    assert ", but should be int64 [sum(x, " in failure["message"]
    assert "backend=toywrong device=cpu mode=eager" in failure["message"]
    assert "0/1" in result.stdout  # the text matrix on stdout


def test_no_test_at_all_is_not_a_success(tmp_path: Path) -> None:
    result = _check(tmp_path, *SMALL[:-1], "no_such_test_name")
    assert result.returncode == 1
    assert "0 passed, 0 failed" in result.stdout


def test_render_marks_failed_cells_in_html() -> None:
    r = Result(backends={"torch": "2.13"}, options={})
    r.add("sum", "numpy", "torch/cpu", "passed", "")
    r.add("sum", "numpy", "torch/cpu", "failed", "")
    r.failures.append({"id": "test_x", "message": "out.dtype=int32, but should be <int64>"})
    page = render(r, "html")
    assert '<td class="fail">1/1</td>' in page
    assert "but should be &lt;int64&gt;" in page  # escaped
    assert "## Failures" in render(r, "markdown") and "FAILED test_x" in render(r, "text")
    assert not r.ok


def test_check_is_a_subcommand() -> None:
    from unireduce.cli import SUBCOMMANDS, build_parser

    assert SUBCOMMANDS["check"][0] == "unireduce._check"
    args = build_parser().parse_args(
        ["check", "--backend", "numpy", "--backend", "jax", "--format", "html"]
    )
    assert args.backend == ["numpy", "jax"] and args.format == "html" and args.max_examples == 20
