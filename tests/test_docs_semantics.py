"""docs/semantics.md is generated from the rule data; these tests fail when it is stale."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import unireduce as ur

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "gen_semantics.py"
PAGE = ROOT / "docs" / "semantics.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_semantics", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_page_is_up_to_date() -> None:
    assert PAGE.read_text(encoding="utf-8") == _generator().render(), (
        "docs/semantics.md is stale: run `python docs/gen_semantics.py`"
    )


def test_check_flag_passes_on_the_committed_page() -> None:
    result = _run("--check")
    assert result.returncode == 0, result.stderr


def test_check_flag_fails_on_a_stale_page(tmp_path: Path) -> None:
    stale = tmp_path / "semantics.md"
    stale.write_text(PAGE.read_text(encoding="utf-8").replace("int32", "int16", 1))
    result = _run("--check", "--output", str(stale))
    assert result.returncode == 1
    assert "stale" in result.stderr


def test_writing_reproduces_the_page(tmp_path: Path) -> None:
    out = tmp_path / "semantics.md"
    assert _run("--output", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")


def test_page_has_one_table_per_function_and_every_profile() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for fn in ("sum", "reduce_sum", "cumulative_sum", "cumsum"):
        assert f"## `{fn}`: output dtype by input dtype" in text
    header = "| input | " + " | ".join(f"`{p}`" for p in ur.profiles()) + " |"
    assert text.count(header) == 4


def _cell(text: str, fn: str, dtype: str, profile: str) -> str:
    section = text.split(f"## `{fn}`: output dtype by input dtype", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in section.splitlines() if r.startswith(f"| `{dtype}` |")]
    assert len(rows) == 1, rows
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    return cells[1 + ur.profiles().index(profile)]


@pytest.mark.parametrize(
    ("fn", "dtype", "profile", "expected"),
    [
        # Facts from semantics-matrix.md, written out by hand.
        ("sum", "int8", "jax", "int32"),
        ("cumsum", "int8", "jax", "int8"),
        ("cumulative_sum", "int8", "jax", "int32"),
        ("sum", "uint8", "torch", "int64"),
        ("sum", "uint8", "numpy", "uint64"),
        ("reduce_sum", "int8", "tensorflow", "int8"),
        ("sum", "bool", "tensorflow", "refused"),
        ("sum", "int64", "jax", "refused ²"),
        ("sum", "float16", "tensorflow", "float16"),
        ("sum", "bfloat16", "tensorflow", "bfloat16 (adds in float32)"),
        ("sum", "float16", "numpy", "float16 (adds in float32)"),
        ("sum", "bfloat16", "numpy", "bfloat16"),
        ("cumsum", "float16", "jax", "float16"),
        ("cumsum", "float16", "torch", "float16 (adds in float32)"),
        ("sum", "int8", "array_api", "int64 ¹"),
    ],
)
def test_page_cells_state_the_measured_facts(
    fn: str, dtype: str, profile: str, expected: str
) -> None:
    assert _cell(PAGE.read_text(encoding="utf-8"), fn, dtype, profile) == expected


def test_page_calls_out_torch_empty_axis_and_lists_quirks_with_issues() -> None:
    text = PAGE.read_text(encoding="utf-8")
    callout = text.split("## `sum`", 1)[0]
    assert "`torch`" in callout and "pytorch#29137" in callout and "dim=()" in callout
    for issue in ("tensorflow#19498", "jax#18385", "jax#18399", "numpy#15785", "ml_dtypes#63"):
        assert issue in text
    assert "reduces every axis (pytorch#29137)" in text
