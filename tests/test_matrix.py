"""``unireduce matrix``: the native behaviour it reports, its formats and ``--expect``.

The expected cells are copied by hand from ``shared/reference/semantics-matrix.md`` (measured on
numpy 2.4.6, torch 2.13.0+cpu, tensorflow 2.21.0, jax 0.10.2; the section of that document is
named next to each group). They are not computed by unireduce. The matrix runs once per module on
the subset of cases these facts need, with ``JAX_ENABLE_X64=1`` in the environment to prove that
the ``jax`` column still runs with x64 off.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from unireduce import cli
from unireduce._matrix import FRAMEWORKS, MODULES, SCHEMA, compare, render
from unireduce._matrix_cases import CASES

NP, TORCH, TF, JAX, JAX64 = FRAMEWORKS
M23 = [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def ok(dtype: str, shape: tuple[int, ...] | None = None, value: Any = None, **extra: Any) -> dict:
    want: dict[str, Any] = {"status": "ok", "dtype": dtype}
    if shape is not None:
        want["shape"] = list(shape)
    if value is not None:
        want["value"] = value
    return {**want, **extra}


def err(exception: str, **extra: Any) -> dict:
    return {"status": "error", "exception": exception, **extra}


def acc(dtype: str, n: int, last: float, first_mismatch: int | None) -> dict:
    return ok(dtype, (n,), {"last": last, "first_mismatch": first_mismatch})


NA = {"status": "n/a"}

# (case id, framework, expected cell fields), from semantics-matrix.md.
FACTS: list[tuple[str, str, dict]] = [
    # §1 full sum, output dtype per input dtype
    ("sum.dtype.uint8", NP, ok("uint64", (), 2)),
    ("sum.dtype.uint8", TORCH, ok("int64", (), 2)),
    ("sum.dtype.uint8", TF, ok("uint8", (), 2)),
    ("sum.dtype.uint8", JAX, ok("uint32", (), 2)),
    ("sum.dtype.uint8", JAX64, ok("uint64", (), 2)),
    ("sum.dtype.int8", NP, ok("int64")),
    ("sum.dtype.int8", TORCH, ok("int64")),
    ("sum.dtype.int8", TF, ok("int8")),
    ("sum.dtype.int8", JAX, ok("int32")),
    ("sum.dtype.int8", JAX64, ok("int64")),
    ("sum.dtype.bool", TORCH, ok("int64")),
    ("sum.dtype.bool", TF, err("InvalidArgumentError")),
    ("sum.dtype.bool", JAX, ok("int32")),
    ("sum.dtype.uint64", TORCH, ok("int64")),
    ("sum.dtype.uint64", JAX, ok("uint32", input_dtype="uint32")),
    ("sum.dtype.int64", JAX, ok("int32", input_dtype="int32")),
    ("sum.dtype.float64", JAX, ok("float32", input_dtype="float32")),
    ("sum.dtype.float64", JAX64, ok("float64", input_dtype="float64")),
    ("sum.dtype.bfloat16", NP, ok("bfloat16")),
    ("sum.dtype.bfloat16", TF, ok("bfloat16")),
    # §1b dtype= argument
    ("sum.dtype_arg.int8_to_int8", NP, ok("int8", (), -56)),
    ("sum.dtype_arg.int8_to_int8", TORCH, ok("int8", (), -56)),
    ("sum.dtype_arg.int8_to_int8", TF, err("TypeError")),
    ("sum.dtype_arg.int8_to_int8", JAX, ok("int8", (), -56)),
    ("sum.dtype_arg.int32_to_int64", NP, ok("int64", (), 2147483648)),
    ("sum.dtype_arg.int32_to_int64", JAX, ok("int32", (), -2147483648)),
    ("sum.dtype_arg.int32_to_int64", JAX64, ok("int64", (), 2147483648)),
    ("sum.dtype_arg.float32_to_float64", TORCH, ok("float64", (), 0.30000000447034836)),
    ("sum.dtype_arg.float32_to_float64", JAX, ok("float32", (), 0.30000001192092896)),
    ("sum.dtype_arg.bool_to_int8", TORCH, ok("int8", (), 2)),
    # §2 integer overflow
    ("sum.overflow.int32", NP, ok("int64", (), 2147483648)),
    ("sum.overflow.int32", TORCH, ok("int64", (), 2147483648)),
    ("sum.overflow.int32", TF, ok("int32", (), -2147483648)),
    ("sum.overflow.int32", JAX, ok("int32", (), -2147483648)),
    ("sum.overflow.int32", JAX64, ok("int64", (), 2147483648)),
    ("sum.overflow.uint8", TORCH, ok("int64", (), 300)),
    ("sum.overflow.uint8", TF, ok("uint8", (), 44)),
    ("sum.overflow.uint8", JAX, ok("uint32", (), 300)),
    ("sum.overflow.int8", TF, ok("int8", (), -56)),
    ("sum.overflow.int16", TF, ok("int16", (), -32768)),
    ("sum.overflow.uint32", NP, ok("uint64", (), 4294967296)),
    ("sum.overflow.uint32", TF, ok("uint32", (), 0)),
    ("sum.overflow.uint32", JAX, ok("uint32", (), 0)),
    # §2 / divergence 17: JAX with x64 off truncates int64 input, silently
    ("sum.overflow.int64", NP, ok("int64", (), -9223372036854775808)),
    ("sum.overflow.int64", JAX, ok("int32", (), 0, input_dtype="int32", warning=None)),
    ("sum.overflow.int64", JAX64, ok("int64", (), -9223372036854775808)),
    ("sum.overflow.bool_300", TORCH, ok("int64", (), 300)),
    ("sum.overflow.bool_300", TF, err("InvalidArgumentError")),
    # §3 axis handling on float32 [[0,1,2],[3,4,5]]
    ("sum.axis.0", NP, ok("float32", (3,), [3.0, 5.0, 7.0])),
    ("sum.axis.0", TF, ok("float32", (3,), [3.0, 5.0, 7.0])),
    ("sum.axis.empty_tuple", NP, ok("float32", (2, 3), M23)),
    ("sum.axis.empty_tuple", TORCH, ok("float32", (), 15.0)),
    ("sum.axis.empty_tuple", TF, ok("float32", (2, 3), M23)),
    ("sum.axis.empty_tuple", JAX, ok("float32", (2, 3), M23)),
    ("sum.axis.empty_list", NP, err("TypeError")),
    ("sum.axis.empty_list", TORCH, ok("float32", (), 15.0)),
    ("sum.axis.empty_list", TF, ok("float32", (2, 3), M23)),
    ("sum.axis.list_0_1", NP, err("TypeError")),
    ("sum.axis.list_0_1", TORCH, ok("float32", (), 15.0)),
    ("sum.axis.list_0_1", JAX, ok("float32", (), 15.0)),
    ("sum.axis.duplicate_0_0", NP, err("ValueError")),
    ("sum.axis.duplicate_0_0", TORCH, err("RuntimeError")),
    ("sum.axis.duplicate_0_0", TF, err("InvalidArgumentError")),
    ("sum.axis.duplicate_0_0", JAX, err("ValueError")),
    ("sum.axis.out_of_range_2", NP, err("AxisError")),
    ("sum.axis.out_of_range_2", TORCH, err("IndexError")),
    ("sum.axis.out_of_range_2", TF, err("InvalidArgumentError")),
    ("sum.axis.out_of_range_2", JAX, err("ValueError")),
    ("sum.axis.keepdims_omitted_axis", NP, ok("float32", (1, 1), [[15.0]])),
    ("sum.axis.keepdims_omitted_axis", TORCH, err("TypeError")),
    ("sum.axis.keepdims_none", TORCH, ok("float32", (1, 1), [[15.0]])),
    ("sum.axis.keepdims_empty_tuple", TORCH, ok("float32", (1, 1), [[15.0]])),
    ("sum.axis.keepdims_empty_tuple", NP, ok("float32", (2, 3), M23)),
    ("sum.axis.tensor_1d", NP, err("TypeError")),
    ("sum.axis.tensor_1d", TORCH, err("TypeError")),
    ("sum.axis.tensor_1d", TF, ok("float32", (), 15.0)),
    ("sum.axis.tensor_1d", JAX, ok("float32", (), 15.0)),
    ("sum.axis.numpy_int", TORCH, ok("float32", (2,), [3.0, 12.0])),
    ("sum.axis.float", TF, err("TypeError")),
    ("sum.axis.float", JAX, err("TypeError")),
    # §3b axis on a 0-d input
    ("sum.axis_0d.0", NP, ok("float32", (), 5.0)),
    ("sum.axis_0d.0", TORCH, ok("float32", (), 5.0)),
    ("sum.axis_0d.0", TF, err("InvalidArgumentError")),
    ("sum.axis_0d.0", JAX, err("ValueError")),
    ("sum.axis_0d.tuple_0", NP, err("AxisError")),
    ("sum.axis_0d.tuple_0", TORCH, ok("float32", (), 5.0)),
    ("sum.axis_0d.keepdims", TORCH, err("TypeError")),
    # §4 empty input
    ("sum.empty.int8", NP, ok("int64", (), 0)),
    ("sum.empty.int8", TF, ok("int8", (), 0)),
    ("sum.empty.int8", JAX, ok("int32", (), 0)),
    ("sum.empty.bool", TF, err("InvalidArgumentError")),
    ("sum.empty.0x3_axis0", TORCH, ok("float32", (3,), [0.0, 0.0, 0.0])),
    # §5 special floats, signed zero, half-precision accumulation
    ("sum.special.f64_neg_zero", NP, ok("float64", (), 0.0)),
    ("sum.special.f64_neg_zero", TORCH, ok("float64", (), 0.0)),
    ("sum.special.f64_neg_zero", TF, ok("float64", (), -0.0)),
    ("sum.special.f64_neg_zero", JAX, ok("float32", (), -0.0, input_dtype="float32")),
    ("sum.special.f64_neg_zero", JAX64, ok("float64", (), -0.0)),
    ("sum.special.f64_inf_minus_inf", TORCH, ok("float64", (), "nan")),
    ("sum.special.f16_intermediate_overflow", NP, ok("float16", (), 65504.0)),
    ("sum.special.f16_intermediate_overflow", TORCH, ok("float16", (), 65504.0)),
    ("sum.special.f16_intermediate_overflow", TF, ok("float16", (), "inf")),
    ("sum.special.f16_intermediate_overflow", JAX, ok("float16", (), 65504.0)),
    ("sum.special.bf16_1000_ones", NP, ok("bfloat16", (), 256.0)),
    ("sum.special.bf16_1000_ones", TORCH, ok("bfloat16", (), 1000.0)),
    ("sum.special.bf16_1000_ones", TF, ok("bfloat16", (), 1000.0)),
    ("sum.special.bf16_1000_ones", JAX, ok("bfloat16", (), 1000.0)),
    # §8a Python list input
    ("sum.input.python_list", NP, ok("float64", (), 3.0)),
    ("sum.input.python_list", TORCH, err("TypeError")),
    ("sum.input.python_list", TF, ok("float32", (), 3.0)),
    ("sum.input.python_list", JAX, err("TypeError")),
    # §6 cumulative sum, output dtype (jnp.cumsum keeps int8, jnp.cumulative_sum promotes)
    ("cumsum.dtype.int8", NP, ok("int64")),
    ("cumsum.dtype.int8", TORCH, ok("int64")),
    ("cumsum.dtype.int8", TF, ok("int8")),
    ("cumsum.dtype.int8", JAX, ok("int8")),
    ("cumsum.dtype.int8", JAX64, ok("int8")),
    ("cumulative_sum.dtype.int8", NP, ok("int64")),
    ("cumulative_sum.dtype.int8", JAX, ok("int32")),
    ("cumulative_sum.dtype.int8", JAX64, ok("int64")),
    ("cumulative_sum.dtype.int8", TORCH, NA),
    ("cumulative_sum.dtype.int8", TF, NA),
    ("cumsum.dtype.uint8", NP, ok("uint64")),
    ("cumsum.dtype.uint8", TORCH, ok("int64")),
    ("cumsum.dtype.uint8", JAX, ok("uint8")),
    ("cumulative_sum.dtype.uint8", JAX, ok("uint32")),
    # §6b cumsum default axis and 0-d input
    ("cumsum.axis.2d_omitted", NP, ok("float32", (6,), [1.0, 3.0, 6.0, 10.0, 15.0, 21.0])),
    ("cumsum.axis.2d_omitted", TORCH, err("TypeError")),
    ("cumsum.axis.2d_omitted", TF, ok("float32", (2, 3), [[1.0, 2.0, 3.0], [5.0, 7.0, 9.0]])),
    ("cumsum.axis.2d_omitted", JAX, ok("float32", (6,), [1.0, 3.0, 6.0, 10.0, 15.0, 21.0])),
    ("cumulative_sum.axis.2d_omitted", NP, err("ValueError")),
    ("cumulative_sum.axis.2d_omitted", JAX, err("ValueError")),
    ("cumsum.axis.2d_none", TORCH, err("TypeError")),
    ("cumsum.axis.2d_none", TF, err("ValueError")),
    ("cumsum.axis.2d_tuple_1", TF, err("InvalidArgumentError")),
    ("cumulative_sum.axis.2d_tuple_1", NP, ok("float32", (2, 3))),
    ("cumsum.axis.2d_tensor_0d", JAX, err("ValueError")),
    ("cumsum.axis.0d_0", NP, ok("float32", (1,), [5.0])),
    ("cumsum.axis.0d_0", TORCH, ok("float32", (), 5.0)),
    ("cumsum.axis.0d_0", TF, err("InvalidArgumentError")),
    ("cumsum.axis.0d_0", JAX, err("ValueError")),
    ("cumulative_sum.axis.0d_0", NP, ok("float32", (1,), [5.0])),
    ("cumulative_sum.axis.0d_0", JAX, err("ValueError")),
    # §6c cumsum dtype=, overflow, bool
    ("cumsum.dtype_arg.int8", NP, ok("int64", (2,), [100, 200])),
    ("cumsum.dtype_arg.int8", TORCH, ok("int64", (2,), [100, 200])),
    ("cumsum.dtype_arg.int8", TF, ok("int8", (2,), [100, -56])),
    ("cumsum.dtype_arg.int8", JAX, ok("int8", (2,), [100, -56])),
    ("cumsum.dtype_arg.uint8", TORCH, ok("int64", (2,), [200, 300])),
    ("cumsum.dtype_arg.uint8", TF, ok("uint8", (2,), [200, 44])),
    ("cumsum.dtype_arg.int32", JAX64, ok("int32", (2,), [2147483647, -2147483648])),
    ("cumsum.dtype_arg.bool", TF, err("InvalidArgumentError")),
    ("cumsum.dtype_arg.bool", JAX, ok("int32", (3,), [1, 2, 2])),
    ("cumsum.dtype_arg.int8_to_int16", TF, err("TypeError")),
    # §6d include_initial / exclusive / reverse
    ("cumulative_sum.flags.include_initial", NP, ok("float32", (4,), [0.0, 1.0, 3.0, 6.0])),
    ("cumulative_sum.flags.include_initial", JAX, ok("float32", (4,), [0.0, 1.0, 3.0, 6.0])),
    ("cumulative_sum.flags.include_initial", TORCH, NA),
    ("cumsum.flags.exclusive", TF, ok("float32", (3,), [0.0, 1.0, 3.0])),
    ("cumsum.flags.exclusive", TORCH, err("TypeError")),
    ("cumsum.flags.exclusive", NP, err("TypeError")),
    ("cumsum.flags.reverse", TF, ok("float32", (3,), [6.0, 5.0, 3.0])),
    ("cumsum.flags.reverse", JAX, err("TypeError")),
    ("cumsum.flags.exclusive_reverse", TF, ok("float32", (3,), [5.0, 3.0, 0.0])),
    # §6e empty
    ("cumsum.empty.2x0_omitted", NP, ok("float32", (0,), [])),
    ("cumsum.empty.2x0_omitted", TF, ok("float32", (2, 0), [[], []])),
    ("cumsum.empty.2x0_omitted", TORCH, err("TypeError")),
    ("cumulative_sum.flags.include_initial_empty", NP, ok("float32", (1,), [0.0])),
    # §6f special floats in cumsum
    ("cumsum.special.f64_neg_zero", NP, ok("float64", (1,), [-0.0])),
    ("cumsum.special.f64_neg_zero", TORCH, ok("float64", (1,), [0.0])),
    ("cumsum.special.f64_neg_zero", TF, ok("float64", (1,), [0.0])),
    ("cumsum.special.f64_neg_zero", JAX64, ok("float64", (1,), [-0.0])),
    ("cumsum.special.f16_intermediate_overflow", NP, ok("float16", (3,), [65504.0, "inf", "inf"])),
    (
        "cumsum.special.f16_intermediate_overflow",
        TORCH,
        ok("float16", (3,), [65504.0, "inf", 65504.0]),
    ),
    ("cumsum.special.f16_intermediate_overflow", TF, ok("float16", (3,), [65504.0, "inf", "inf"])),
    ("cumsum.special.f32_cancellation", NP, ok("float32", (3,), [1e8, 1e8, 0.0])),
    ("cumsum.special.f32_cancellation", TORCH, ok("float32", (3,), [1e8, 1e8, 1.0])),
    # §6g float32 / half-precision cumsum accuracy (first index where a prefix is not the
    # correctly rounded exact prefix sum)
    ("cumsum.accuracy.f32_1e6_x_0.1", NP, acc("float32", 10**6, 100958.34375, 6)),
    ("cumsum.accuracy.f32_1e6_x_0.1", TORCH, acc("float32", 10**6, 100000.0, None)),
    ("cumsum.accuracy.f32_1e6_x_0.1", TF, acc("float32", 10**6, 100958.34375, 6)),
    ("cumsum.accuracy.f32_1e6_x_0.1", JAX, acc("float32", 10**6, 100000.015625, 6)),
    ("cumsum.accuracy.f16_4096_ones", NP, acc("float16", 4096, 2048.0, 2049)),
    ("cumsum.accuracy.f16_4096_ones", TORCH, acc("float16", 4096, 4096.0, None)),
    ("cumsum.accuracy.f16_4096_ones", TF, acc("float16", 4096, 2048.0, 2049)),
    ("cumsum.accuracy.f16_4096_ones", JAX, acc("float16", 4096, 4096.0, None)),
    ("cumsum.accuracy.bf16_1000_ones", NP, acc("bfloat16", 1000, 256.0, 257)),
    ("cumsum.accuracy.bf16_1000_ones", TORCH, acc("bfloat16", 1000, 1000.0, None)),
    ("cumsum.accuracy.bf16_1000_ones", TF, acc("bfloat16", 1000, 256.0, 257)),
    ("cumsum.accuracy.bf16_1000_ones", JAX64, acc("bfloat16", 1000, 1000.0, None)),
]

FACT_CASES = sorted({case for case, _, _ in FACTS})


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The matrix on the facts' cases, through the CLI's JSON output."""
    out = tmp_path_factory.mktemp("matrix") / "matrix.json"
    argv = ["matrix", "--format", "json", "--output", str(out)]
    for case in FACT_CASES:
        argv += ["--case", case]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JAX_ENABLE_X64", "1")  # the jax column must still run with x64 off
        mp.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
        assert cli.main(argv) == 0
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def cell_of(report: dict[str, Any], case_id: str, fw: str) -> dict[str, Any]:
    info = report["frameworks"].get(fw)
    if info is None or info["status"] == "not installed":
        pytest.skip(f"{MODULES[fw]} is not installed")
    assert info["status"] == "ok", info
    (case,) = [c for c in report["cases"] if c["id"] == case_id]
    cell: dict[str, Any] = case["cells"][fw]
    return cell


def same(got: Any, want: Any) -> bool:
    """Equal, with the sign of a zero significant (the matrix's -0.0 facts)."""
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(same, got, want))
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(same(got[k], want[k]) for k in want)
        )
    if isinstance(want, float) and isinstance(got, float) and want == 0.0:
        return got == 0.0 and math.copysign(1.0, got) == math.copysign(1.0, want)
    return type(got) is type(want) and got == want


@pytest.mark.parametrize(("case_id", "fw", "want"), FACTS, ids=[f"{c}-{f}" for c, f, _ in FACTS])
def test_cell_reproduces_semantics_matrix(
    report: dict[str, Any], case_id: str, fw: str, want: dict[str, Any]
) -> None:
    cell = cell_of(report, case_id, fw)
    for key, value in want.items():
        assert key in cell, (key, cell)
        assert same(cell[key], value), f"{case_id} [{fw}] {key}: got {cell[key]!r}, want {value!r}"


def test_jax_x64_off_warns_on_a_64_bit_dtype_argument(report: dict[str, Any]) -> None:
    # §1b: jnp.sum(int32, dtype=int64) with x64 off gives int32 -2**31 with a UserWarning.
    cell = cell_of(report, "sum.dtype_arg.int32_to_int64", JAX)
    assert cell["warning"].startswith("UserWarning: Explicitly requested dtype int64")


def test_jax_columns_report_their_x64_flag(report: dict[str, Any]) -> None:
    assert report["frameworks"][JAX]["config"] == {"jax_enable_x64": False}
    assert report["frameworks"][JAX64]["config"] == {"jax_enable_x64": True}


def test_native_calls_are_recorded(report: dict[str, Any]) -> None:
    assert cell_of(report, "sum.axis.empty_tuple", TORCH)["call"] == "torch.sum(x, dim=())"
    assert cell_of(report, "sum.axis.empty_list", TF)["call"] == "tf.reduce_sum(x, axis=[])"
    assert cell_of(report, "cumsum.flags.exclusive", TF)["call"] == (
        "tf.math.cumsum(x, axis=0, exclusive=True)"
    )


def _outcomes(case: dict[str, Any]) -> set[tuple[Any, ...]]:
    out = set()
    for cell in case["cells"].values():
        if cell["status"] == "ok":
            out.add(("ok", cell["dtype"], tuple(cell["shape"]), json.dumps(cell["value"])))
        elif cell["status"] == "error":
            out.add(("error", cell["exception"]))
    return out


def test_disagreement_marks_and_summary(report: dict[str, Any]) -> None:
    by_id = {c["id"]: c for c in report["cases"]}
    assert by_id["sum.axis.0"]["agree"] is True  # (3,) [3, 5, 7] everywhere (§3)
    assert by_id["sum.dtype.uint8"]["agree"] is False  # uint64 / int64 / uint8 / uint32 (§1)
    assert by_id["sum.dtype.uint8"]["outcomes"] == 4
    # n/a cells (torch and TF have no cumulative_sum) do not count: numpy, jax and jax_x64 all
    # give float32 [0, 1, 3, 6] (§6d).
    assert by_id["cumulative_sum.flags.include_initial"]["agree"] is True
    disagreeing = sum(1 for c in report["cases"] if len(_outcomes(c)) > 1)
    assert report["summary"] == {"cases": len(FACT_CASES), "disagreeing": disagreeing}
    assert 0 < disagreeing < len(FACT_CASES)


def test_json_layout(report: dict[str, Any]) -> None:
    assert report["schema"] == SCHEMA
    assert report["columns"] == [fw for fw in FRAMEWORKS if fw in report["frameworks"]]
    assert [c["id"] for c in report["cases"]] == [c.id for c in CASES if c.id in FACT_CASES]
    case = report["cases"][0]
    assert set(case) == {"id", "title", "op", "input", "input_dtype", "agree", "outcomes", "cells"}
    for cell in case["cells"].values():
        assert cell["status"] in ("ok", "error", "n/a")
    # Strict JSON: no NaN/Infinity literals anywhere.
    json.dumps(report, allow_nan=False)


# --- formats --------------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tables = 0
        self.diff_rows: list[str] = []
        self.titles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag not in ("meta", "br"):
            self.stack.append(tag)
        if tag == "table":
            self.tables += 1
        if tag == "tr" and a.get("class") == "diff":
            self.diff_rows.append(a.get("id") or "")
        if tag == "td" and a.get("title"):
            self.titles.append(a["title"] or "")

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (self.stack[-3:], tag)
        self.stack.pop()


def test_text_format(report: dict[str, Any]) -> None:
    text = render(report, "text")
    lines = text.splitlines()
    assert (
        "≠ sum.axis.empty_tuple: sum of float32 [[0,1,2],[3,4,5]], axis=() (empty tuple)" in lines
    )
    (torch_line,) = [
        line for line in lines if line.strip().startswith("torch") and "dim=())" in line
    ]
    assert "float32 () 15.0" in torch_line
    assert "= sum.axis.0: sum of float32 [[0,1,2],[3,4,5]], axis=0" in lines
    assert (
        lines[-1] == f"{report['summary']['disagreeing']} of {len(FACT_CASES)} cases disagree "
        f"across {', '.join(report['columns'])}"
    )
    assert "[in→int32]" in text  # JAX x64 off created the int64 input as int32


def test_markdown_format(report: dict[str, Any]) -> None:
    md = render(report, "markdown")
    header = "| case | | " + " | ".join(report["columns"]) + " |"
    assert header in md
    ncols = len(report["columns"]) + 2
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    for row in rows:  # every row has as many cells as the header: pipes in cells are escaped
        assert row.replace("\\|", "").count("|") == ncols + 1, row
    (row,) = [r for r in rows if r.startswith("| `out_of_range_2`")]
    assert "≠" in row and "**AxisError**" in row and "**IndexError**" in row
    assert "## sum.axis" in md and "## cumsum.accuracy" in md


def test_html_format(report: dict[str, Any]) -> None:
    doc = render(report, "html")
    parser = _Tags()
    parser.feed(doc)
    parser.close()
    assert parser.stack == []
    groups = {case["id"].rsplit(".", 1)[0] for case in report["cases"]}
    assert parser.tables == len(groups)
    assert "sum.axis.empty_tuple" in parser.diff_rows
    assert "sum.axis.0" not in parser.diff_rows
    assert "torch.sum(x, dim=())" in parser.titles


def test_json_format_round_trips(report: dict[str, Any]) -> None:
    assert json.loads(render(report, "json")) == report


def test_cli_prints_text_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["matrix", "--framework", "numpy", "--case", "sum.overflow.uint8"]) == 0
    out = capsys.readouterr().out
    assert "= sum.overflow.uint8: sum of uint8 [200, 100]: overflow" in out
    assert "uint64 () 300" in out  # §2, numpy column
    assert out.rstrip().endswith("0 of 1 cases disagree across numpy")


def test_list_cases_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["matrix", "--list-cases", "--case", "sum.axis_0d.*"]) == 0
    ids = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert ids == [
        "sum.axis_0d.omitted",
        "sum.axis_0d.0",
        "sum.axis_0d.minus1",
        "sum.axis_0d.empty_tuple",
        "sum.axis_0d.tuple_0",
        "sum.axis_0d.1",
        "sum.axis_0d.keepdims",
    ]


def test_unknown_case_pattern_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["matrix", "--framework", "numpy", "--case", "no.such.case"]) == 2
    assert "no case id matches" in capsys.readouterr().err


def test_case_ids_are_unique_and_cover_every_dtype() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    dtypes = (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    )
    for op in ("sum", "cumsum", "cumulative_sum"):
        assert {f"{op}.dtype.{d}" for d in dtypes} <= set(ids)


# --- --expect -------------------------------------------------------------------------------

SMALL = ["--framework", "numpy", "--case", "sum.overflow.*", "--case", "sum.axis.out_of_range_2"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("expect") / "numpy.json"
    assert cli.main(["matrix", *SMALL, "--format", "json", "--output", str(path)]) == 0
    return path


def _tampered(saved: Path, tmp_path: Path, edit: Any) -> Path:
    data = json.loads(saved.read_text(encoding="utf-8"))
    edit(data)
    out = tmp_path / "tampered.json"
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


def _case(data: dict[str, Any], case_id: str) -> dict[str, Any]:
    (case,) = [c for c in data["cases"] if c["id"] == case_id]
    return case


def test_expect_unchanged_exits_0(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["matrix", *SMALL, "--expect", str(saved), "--output", os.devnull]) == 0
    assert "no change" in capsys.readouterr().err


def test_expect_detects_a_changed_dtype(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        # As if NumPy started summing uint8 into int64 like torch.
        _case(data, "sum.overflow.uint8")["cells"]["numpy"]["dtype"] = "int64"

    expect = _tampered(saved, tmp_path, edit)
    assert cli.main(["matrix", *SMALL, "--expect", str(expect), "--output", os.devnull]) == 1
    err = capsys.readouterr().err
    assert "1 change(s)" in err
    assert "sum.overflow.uint8 [numpy]: expected int64 () 300; got uint64 () 300" in err


def test_expect_detects_a_changed_exception_class(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        _case(data, "sum.axis.out_of_range_2")["cells"]["numpy"]["exception"] = "IndexError"

    expect = _tampered(saved, tmp_path, edit)
    assert cli.main(["matrix", *SMALL, "--expect", str(expect), "--output", os.devnull]) == 1
    assert "sum.axis.out_of_range_2 [numpy]" in capsys.readouterr().err


def test_expect_ignores_message_wording(saved: Path, tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        _case(data, "sum.axis.out_of_range_2")["cells"]["numpy"]["message"] = "reworded"

    expect = _tampered(saved, tmp_path, edit)
    assert cli.main(["matrix", *SMALL, "--expect", str(expect), "--output", os.devnull]) == 0


def test_expect_detects_a_missing_cell(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["cases"] = [c for c in data["cases"] if c["id"] != "sum.overflow.int8"]

    expect = _tampered(saved, tmp_path, edit)
    assert cli.main(["matrix", *SMALL, "--expect", str(expect), "--output", os.devnull]) == 1
    assert "sum.overflow.int8 [numpy]: expected (no result); got int64 () 200" in (
        capsys.readouterr().err
    )


def test_expect_rejects_a_file_that_is_not_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}', encoding="utf-8")
    assert cli.main(["matrix", *SMALL, "--expect", str(bad)]) == 2
    assert "not a unireduce matrix JSON report" in capsys.readouterr().err


def test_compare_limits_to_the_selected_frameworks(report: dict[str, Any]) -> None:
    changed = json.loads(json.dumps(report))
    _case(changed, "sum.overflow.uint8")["cells"]["tensorflow"]["value"] = 300
    assert compare(report, changed) == [
        "sum.overflow.uint8 [tensorflow]: expected uint8 () 44; got uint8 () 300"
    ]
    assert compare(report, changed, frameworks=["numpy", "torch"]) == []
    assert compare(report, changed, patterns=["sum.axis.*"]) == []


def test_collect_without_frameworks_installed_is_not_needed_for_rendering() -> None:
    # A report with no framework at all still renders (a fresh install without extras).
    empty = {
        "schema": SCHEMA,
        "unireduce": "0",
        "python": "3",
        "platform": "x",
        "frameworks": {"torch": {"status": "not installed", "error": "torch is not installed"}},
        "columns": [],
        "cases": [],
        "summary": {"cases": 0, "disagreeing": 0},
    }
    for fmt in ("text", "markdown", "html", "json"):
        assert render(empty, fmt)
    assert "torch: not installed" in render(empty, "text")


def test_matrix_modules_import_no_framework() -> None:
    code = (
        "import sys, unireduce._matrix, unireduce._matrix_worker, unireduce._matrix_cases; "
        "print(sorted(m for m in ('torch', 'tensorflow', 'jax') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
