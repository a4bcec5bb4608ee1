"""Exact mode (issue 5): the engine ``unireduce._exact`` against the exact oracle.

Every float result must equal, bit for bit, the exact sum rounded half to even as computed by
``unireduce._exactmath`` (Python ints and integer bit operations, no shared arithmetic). Integer
results must equal Python's sum, or raise ``IntegerOverflowError`` when it does not fit.
Parametrized by framework id and path (``host``: the Numba kernel on a zero-copy view; ``portable``:
the framework's own integer ops), so a failure names both.
"""

from __future__ import annotations

import importlib.util
import os
import re
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from typing import Any

import numpy as np
import pytest

from tests._frameworks import Framework, np_dtype
from unireduce import _exact
from unireduce._backend import ProgramCache
from unireduce._errors import IntegerOverflowError
from unireduce._exactmath import exact_cumsum_along, exact_sum_along
from unireduce._registry import backend_of

FWS = ("numpy", "torch", "tensorflow", "jax", "jax_x64")
FLOATS = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128")
CASES = ("random", "cancel", "range", "subnormal", "ties", "runs", "overflow", "special")
SHAPE = (1, 4, 50)  # per case; the cases are stacked along axis 0
SUM_AXES: tuple[tuple[tuple[int, ...] | None, bool], ...] = (
    (None, False),
    (None, True),
    ((0,), False),
    ((1,), True),
    ((2,), False),
    ((0, 2), False),
)


def _fmt_bits(dt: str) -> tuple[int, int, int]:
    """(precision, exponent bits, storage bits) of a real float dtype."""
    return {"float16": (11, 5, 16), "bfloat16": (8, 8, 16), "float32": (24, 8, 32)}.get(
        dt, (53, 11, 64)
    )


def _from_bits(u: np.ndarray, dt: str) -> np.ndarray:
    nbits = _fmt_bits(dt)[2]
    return u.astype(f"uint{nbits}").view(np_dtype(dt))


def _real_data(case: str, dt: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Adversarial data of the real float dtype ``dt``, built from bit patterns where it matters."""
    p, eb, nbits = _fmt_bits(dt)
    n = int(np.prod(shape))
    emax_biased = (1 << eb) - 2
    sign = rng.integers(0, 2, n, dtype=np.uint64) << np.uint64(nbits - 1)
    mant = rng.integers(0, 1 << (p - 1), n, dtype=np.uint64)
    fdt = np_dtype(dt)
    if case == "random":
        x = (rng.standard_normal(n) * 2.0 ** rng.integers(-3, 4, n)).astype(fdt)
    elif case == "range":  # every exponent, random significands and signs
        e = rng.integers(0, emax_biased + 1, n, dtype=np.uint64)
        x = _from_bits(sign | (e << np.uint64(p - 1)) | mant, dt)
    elif case == "subnormal":
        e = np.where(rng.random(n) < 0.8, 0, 1).astype(np.uint64)
        x = _from_bits(sign | (e << np.uint64(p - 1)) | mant, dt)
    elif case == "cancel":  # ±huge pairs with small remainders
        big = _from_bits(np.full(n, (emax_biased << (p - 1)) - 1 - (1 << (p - 2)), np.uint64), dt)
        small = (rng.standard_normal(n) * 1e-3).astype(fdt)
        x = np.where(np.arange(n) % 2 == 0, big, -big).astype(fdt)
        x = np.where(rng.random(n) < 0.25, small, x).astype(fdt)
    elif case == "ties":  # 1, half-ulp pieces: sums land exactly on or next to midpoints
        half_ulp = np.array(2.0**-p, dtype=np.float64)
        choices = np.array([1.0, half_ulp, half_ulp / 2, -half_ulp / 2, 3 * half_ulp, 0.0])
        x = choices[rng.integers(0, len(choices), n)].astype(fdt)
    elif case == "runs":  # long runs of one value (a native cumsum stalls)
        x = np.full(n, 0.1, dtype=np.float64).astype(fdt)
        x[n // 2 :] = np.array(1.0 / 3.0).astype(fdt)
    elif case == "overflow":  # max, max, -max: overflows only in a left-to-right order
        mx = _from_bits(np.full(n, (emax_biased << (p - 1)) | ((1 << (p - 1)) - 1), np.uint64), dt)
        x = np.where(np.arange(n) % 3 == 2, -mx, mx).astype(fdt)
    else:  # special
        x = (rng.standard_normal(n)).astype(fdt)
        pick = rng.random(n)
        x = np.where(pick < 0.02, np.nan, x)
        x = np.where((pick >= 0.02) & (pick < 0.04), np.inf, x)
        x = np.where((pick >= 0.04) & (pick < 0.05), -np.inf, x)
        x = np.where(pick >= 0.7, -0.0, x).astype(fdt)
        x = x.reshape(shape)
        x[0, 0] = -0.0  # one all -0.0 row along the last axis
        return np.ascontiguousarray(x)
    return np.ascontiguousarray(np.asarray(x, dtype=fdt).reshape(shape))


def _data(case: str, dt: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    # crc32, not hash(): the data must not change with PYTHONHASHSEED (reproducible failures).
    rng = np.random.default_rng(zlib.crc32(f"{case}/{dt}/{seed}".encode()))
    if dt.startswith("complex"):
        comp = "float32" if dt == "complex64" else "float64"
        out = np.empty(shape, dtype=dt)
        out.real = _real_data(case, comp, shape, rng)
        out.imag = _real_data("random" if case == "special" else case, comp, shape, rng)
        return out
    return _real_data(case, dt, shape, rng)


def _bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    if a.dtype.kind == "c":
        a = a.view(a.real.dtype)
    return a.view(f"uint{a.dtype.itemsize * 8}")


def _assert_bits(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    bad = np.flatnonzero(_bits(got) != _bits(want))
    assert bad.size == 0, (
        f"{what}: {bad.size} elements differ, first at {bad[0]}: "
        f"got {got.reshape(-1)[bad[0]]!r}, want {want.reshape(-1)[bad[0]]!r}"
    )


def _grid() -> list[Any]:
    out = []
    for fid in FWS:
        for path in ("host", "portable"):
            for dt in FLOATS:
                if fid == "jax" and dt in ("float64", "complex128"):
                    continue  # JAX with x64 off has no 64-bit dtypes
                out.append(pytest.param(fid, path, dt, id=f"{fid}-{path}-{dt}"))
    return out


GRID = _grid()


def _run_sum(fw: Framework, path: str, x: np.ndarray, dt: str, axes: Any, keep: bool) -> Any:
    t = fw.make(x, dt)
    return fw.to_numpy(_exact.sum(backend_of(t), t, axes, keep, dt, path=path))


def _all_cases(dt: str) -> np.ndarray:
    """Every adversarial case, one per index of axis 0: shape (8, 4, 50)."""
    return np.concatenate([_data(case, dt, SHAPE) for case in CASES], axis=0)


@pytest.mark.parametrize(("fwk", "path", "dt"), GRID, indirect=["fwk"])
def test_sum_bits(fwk: Framework, path: str, dt: str) -> None:
    x = _all_cases(dt)
    for axes, keep in SUM_AXES:
        got = _run_sum(fwk, path, x, dt, axes, keep)
        want = exact_sum_along(x, axes if axes is not None else (0, 1, 2), keep, dt)
        if axes == (2,):  # name the failing case
            for i, case in enumerate(CASES):
                _assert_bits(got[i], want[i], f"sum axes=(2,) case={case}")
        _assert_bits(got, want, f"sum axes={axes} keepdims={keep}")


@pytest.mark.parametrize(("fwk", "path", "dt"), GRID, indirect=["fwk"])
def test_cumsum_bits(fwk: Framework, path: str, dt: str) -> None:
    x = _all_cases(dt)
    t = fwk.make(x, dt)
    be = backend_of(t)
    for axis in (0, 1, 2):
        got = fwk.to_numpy(_exact.cumsum(be, t, axis, dt, path=path))
        _assert_bits(got, exact_cumsum_along(x, axis, dt), f"cumsum axis={axis}")


@pytest.mark.parametrize(
    ("fwk", "path"),
    [pytest.param(f, p, id=f"{f}-{p}") for f in FWS for p in ("host", "portable")],
    indirect=["fwk"],
)
def test_concurrent_calls_from_threads(fwk: Framework, path: str) -> None:
    # Exact calls from four threads at once on the adversarial cases (the host kernels' worker
    # pool and flush-mode checks, eager JAX's cache of compiled programs, TF and torch eagerly):
    # every thread gets the oracle's bits.
    import threading

    x = _all_cases("float32")
    t = fwk.make(x, "float32")
    be = backend_of(t)
    start = threading.Barrier(4)
    results: list[Any] = [None] * 4
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            start.wait()
            s = _exact.sum(be, t, (2,), False, "float32", path=path)
            c = _exact.cumsum(be, t, 2, "float32", path=path)
            results[i] = (fwk.to_numpy(s), fwk.to_numpy(c))
        except BaseException as e:  # reported below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    for i, (s, c) in enumerate(results):
        _assert_bits(s, exact_sum_along(x, (2,), False, "float32"), f"thread {i}: sum")
        _assert_bits(c, exact_cumsum_along(x, 2, "float32"), f"thread {i}: cumsum")


@pytest.mark.parametrize("path", ["host", "portable"])
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_large_row_matches_oracle(path: str, dt: str) -> None:
    # One larger case: 2**21 elements in one row, mixed magnitudes; the host kernel splits the
    # row between threads and merges the superaccumulators.
    rng = np.random.default_rng(5)
    n = 1 << 21
    x = (rng.standard_normal(n) * 2.0 ** rng.integers(-40, 40, n)).astype(dt)
    x[::1000] = 1e30 if dt == "float32" else 1e300
    x[1::1000] = -x[::1000]
    got = _exact.sum(backend_of(x), x, None, False, dt, path=path)
    _assert_bits(np.asarray(got), exact_sum_along(x, (0,), False, dt), f"sum of {n}")


@pytest.mark.parametrize("dt", ["float16", "bfloat16", "float32", "float64"])
def test_host_equals_portable_and_order_free(dt: str) -> None:
    x = _data("range", dt, (7, 3000), seed=3)
    be = backend_of(x)
    host = _exact.sum(be, x, (1,), False, dt, path="host")
    port = _exact.sum(be, x, (1,), False, dt, path="portable")
    _assert_bits(np.asarray(host), np.asarray(port), "host vs portable")
    perm = np.random.default_rng(1).permutation(x.shape[1])
    shuffled = _exact.sum(be, np.ascontiguousarray(x[:, perm]), (1,), False, dt, path="host")
    _assert_bits(np.asarray(shuffled), np.asarray(host), "input order")
    # Chunking: the exact sum of chunk sums' exact parts is the same value.
    c1 = _exact.cumsum(be, x, 1, dt, path="host")
    c2 = _exact.cumsum(be, x, 1, dt, path="portable")
    _assert_bits(np.asarray(c1), np.asarray(c2), "cumsum host vs portable")


def test_cumsum_runs_do_not_stall() -> None:
    # float32 cumsum of 2**24 + 8 ones: every prefix is exact (a float32 loop stalls at 2**24).
    x = np.ones(2**24 + 8, dtype=np.float32)
    got = np.asarray(_exact.cumsum(backend_of(x), x, 0, "float32"))
    assert got[-1] == np.float32(2**24 + 8)
    assert np.array_equal(got[2**24 - 2 :], np.arange(2**24 - 1, 2**24 + 9, dtype=np.float32))


# ------------------------------------------------------------------------------ traced values
@pytest.mark.parametrize("fwk", ["jax", "jax_x64"], indirect=True)
def test_inside_jax_jit(fwk: Framework) -> None:
    import jax

    dts = ["float16", "float32"] + (["float64"] if fwk.id == "jax_x64" else [])
    for dt in dts:
        x = _data("subnormal", dt, (3, 40))
        t = fwk.make(x, dt)
        be = backend_of(t)
        f = jax.jit(lambda a, dt=dt: _exact.sum(be, a, (1,), False, dt))
        _assert_bits(np.asarray(f(t)), exact_sum_along(x, (1,), False, dt), f"jit sum {dt}")
        g = jax.jit(lambda a, dt=dt: _exact.cumsum(be, a, 1, dt))
        _assert_bits(np.asarray(g(t)), exact_cumsum_along(x, 1, dt), f"jit cumsum {dt}")


# Under jax.jit on CPU the host kernels run as XLA FFI calls (unireduce._exact._xla_ffi), in XLA's
# threads, which flush subnormals; path="host" forces that route (no portable fallback traced).
JIT_GRID = [
    pytest.param(fid, dt, id=f"{fid}-{dt}")
    for fid in ("jax", "jax_x64")
    for dt in FLOATS
    if fid == "jax_x64" or dt not in ("float64", "complex128")
]


def _ffi_jit(f: Any, t: Any, target: str) -> Any:
    import jax

    pytest.importorskip("numba", reason="the host kernels need Numba")
    g = jax.jit(f)
    assert target in g.lower(t).as_text(), f"no FFI call {target} in the lowered program"
    return g


@pytest.mark.parametrize(("fwk", "dt"), JIT_GRID, indirect=["fwk"])
def test_jit_host_sum_bits(fwk: Framework, dt: str) -> None:
    x = _all_cases(dt)
    t = fwk.make(x, dt)
    be = backend_of(t)
    for axes, keep in SUM_AXES:
        # Axis 0 leads: the column kernel; the others: the row kernel (axes=(1,): a transpose).
        op = "sum_cols" if axes == (0,) else "sum_rows"
        f = _ffi_jit(lambda a, ax=axes, k=keep: _exact.sum(be, a, ax, k, dt, path="host"), t, op)
        got = np.asarray(f(t))
        want = exact_sum_along(x, axes if axes is not None else (0, 1, 2), keep, dt)
        if axes == (2,):  # name the failing case
            for i, case in enumerate(CASES):
                _assert_bits(got[i], want[i], f"jit host sum axes=(2,) case={case}")
        _assert_bits(got, want, f"jit host sum axes={axes} keepdims={keep}")


@pytest.mark.parametrize(("fwk", "dt"), JIT_GRID, indirect=["fwk"])
def test_jit_host_cumsum_bits(fwk: Framework, dt: str) -> None:
    x = _all_cases(dt)
    t = fwk.make(x, dt)
    be = backend_of(t)
    for axis in (0, 1, 2):
        f = _ffi_jit(lambda a, ax=axis: _exact.cumsum(be, a, ax, dt, path="host"), t, "cumsum_rows")
        _assert_bits(np.asarray(f(t)), exact_cumsum_along(x, axis, dt), f"jit cumsum axis={axis}")


@pytest.mark.parametrize("fwk", ["jax"], indirect=True)
def test_jit_picks_host_kernels_on_cpu_only(fwk: Framework) -> None:
    # The default path under jax.jit: the FFI call when lowered for the CPU, the portable path for
    # other platforms (jax.export can lower for CUDA on this CPU-only machine).
    import jax

    pytest.importorskip("numba", reason="the host kernels need Numba")
    x = _data("cancel", "float32", (3, 40))
    t = fwk.make(x, "float32")
    be = backend_of(t)
    f = jax.jit(lambda a: _exact.sum(be, a, (1,), False, "float32"))
    assert "unireduce_sum_rows_float32" in f.lower(t).as_text()
    _assert_bits(np.asarray(f(t)), exact_sum_along(x, (1,), False, "float32"), "jit sum")
    cuda = jax.export.export(f, platforms=["cuda"])(t).mlir_module()
    assert "custom_call" not in cuda and "stablehlo.reduce" in cuda


@pytest.mark.parametrize("fwk", ["jax", "jax_x64"], indirect=True)
def test_eager_jax_runs_the_portable_path_as_one_cached_program(
    fwk: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Op by op, eager JAX compiled each of the portable path's ~140 ops for every new shape and
    # dispatched them one at a time; JaxBackend.run_compiled runs it as one jax.jit program,
    # cached per (spec, shape, dtype), least recently used evicted.
    from unireduce.backends import jax as jb

    monkeypatch.setattr(jb, "_COMPILED", ProgramCache(size=2))
    x = _all_cases("float32")
    t = fwk.make(x, "float32")
    be = backend_of(t)
    for _ in range(2):
        got = fwk.to_numpy(_exact.sum(be, t, (2,), False, "float32", path="portable"))
        _assert_bits(got, exact_sum_along(x, (2,), False, "float32"), "eager sum")
    assert len(jb._COMPILED) == 1
    (program,) = jb._COMPILED.values()
    assert program._cache_size() == 1  # one jax.jit program, compiled once
    got = fwk.to_numpy(_exact.cumsum(be, t, 1, "float32", path="portable"))
    _assert_bits(got, exact_cumsum_along(x, 1, "float32"), "eager cumsum")
    t2 = fwk.make(x[:3], "float32")
    _exact.sum(be, t2, (2,), False, "float32", path="portable")
    assert len(jb._COMPILED) == 2 and program not in jb._COMPILED.values()


_WIDE_TYPE = re.compile(r"tensor<(?:[0-9?]+x)*(?:f64|i64|ui64|complex<f64>)>")
_DENSE_ATTR = re.compile(r"dense<[^>]*>\s*:\s*tensor<[^>]*>")


def _wide_value(module: str) -> str | None:
    """A 64-bit tensor type of a value in the StableHLO text ``module``, else ``None`` (the i64
    of attributes such as a reduce window's padding do not count; a 64-bit constant is used by
    an op whose types show it)."""
    m = _WIDE_TYPE.search(_DENSE_ATTR.sub("", module))
    return None if m is None else m.group(0)


NARROW_FLOATS = ("float16", "bfloat16", "float32", "complex64")


def _jit_sum_cumsum(be: Any, dt: str, path: Any) -> list[tuple[str, Any]]:
    import jax

    return [
        ("sum", jax.jit(lambda a: _exact.sum(be, a, (2,), False, dt, path=path))),
        ("cumsum", jax.jit(lambda a: _exact.cumsum(be, a, 1, dt, path=path))),
    ]


@pytest.mark.parametrize("fwk", ["jax"], indirect=True)
@pytest.mark.parametrize("dt", NARROW_FLOATS)
def test_jax_portable_path_works_in_float64_with_x64_off(fwk: Framework, dt: str) -> None:
    # The work format follows the device, not jax_enable_x64: off TPUs the portable path runs
    # with 64-bit types on inside (float64 work, int64 lanes; 2-3x faster than float32 work on
    # this CPU), while the caller's arrays and results stay 32-bit.
    x = _all_cases(dt)
    t = fwk.make(x, dt)
    for op, f in _jit_sum_cumsum(backend_of(t), dt, "portable"):
        assert _wide_value(f.lower(t).as_text()), f"{op}: no float64 work"
        want = (
            exact_cumsum_along(x, 1, dt) if op == "cumsum" else exact_sum_along(x, (2,), False, dt)
        )
        _assert_bits(fwk.to_numpy(f(t)), want, f"jit {op} {dt}, x64 off")
    got = _exact.sum(backend_of(t), t, (2,), False, dt, path="portable")  # eagerly: one program
    _assert_bits(fwk.to_numpy(got), exact_sum_along(x, (2,), False, dt), f"eager sum {dt}")


@pytest.mark.parametrize(
    ("fwk", "dt"),
    # The program is traced with x64 off whatever the flag (_work): with x64 on, float32 only
    # (each case compiles five programs; nine took 45-96 s in CI).
    [*(("jax", dt) for dt in NARROW_FLOATS), ("jax_x64", "float32")],
    indirect=["fwk"],
)
def test_jax_portable_path_for_tpus_works_in_float32(
    fwk: Framework, dt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TPUs have no float64 (XLA emulates it without bitcasts, jax-ml/jax#21108): the program
    # traced for a TPU holds no 64-bit type even with x64 on, and gives the reference's bits on
    # every adversarial case, sums and cumsums (run here on the CPU, declared without float64 as
    # TPUs are: the lowering rule picks the work format by the platform's entry in the table).
    # Since the portable path works in float64 off TPUs, x64 off too, this is what keeps
    # float32 work (blocks of 32, int32 lanes) checked end to end.
    import jax

    x = _all_cases(dt)
    t = fwk.make(x, dt)
    be = backend_of(t)
    _cpu_without_float64(monkeypatch, be)
    calls: list[tuple[str, Any, np.ndarray]] = []
    # Rows of one case each (axis 2), of all cases (axis 0) and all values; every axis form is
    # checked in float64 work by test_sum_bits (nine programs took 38-83 s a case in CI).
    for axes, keep in ((None, False), ((0,), True), ((2,), False)):
        f = jax.jit(lambda a, ax=axes, k=keep: _exact.sum(be, a, ax, k, dt, path="portable"))
        want = exact_sum_along(x, axes if axes is not None else (0, 1, 2), keep, dt)
        calls.append((f"sum axes={axes} keepdims={keep}", f, want))
    for axis in (0, 2):
        f = jax.jit(lambda a, ax=axis: _exact.cumsum(be, a, ax, dt, path="portable"))
        calls.append((f"cumsum axis={axis}", f, exact_cumsum_along(x, axis, dt)))
    for what, f, want in calls:
        wide = _wide_value(f.lower(t).as_text())
        assert wide is None, f"{what}: {wide}"
        _assert_bits(fwk.to_numpy(f(t)), want, f"jit {what} {dt} for a TPU")


@pytest.mark.parametrize("fwk", ["jax", "jax_x64"], indirect=True)
def test_jax_jit_lowers_float32_work_for_tpus_and_float64_work_for_gpus(fwk: Framework) -> None:
    # Under jax.jit the platform is known when the program is lowered: the host route's
    # primitive lowers the FFI call for the CPU, the float32-work path for TPUs, the float64-work
    # path for the rest (jax.export lowers for either on this CPU-only machine).
    import jax

    pytest.importorskip("numba", reason="the host route needs Numba")
    x = _data("cancel", "float32", (3, 4, 40))
    t = fwk.make(x, "float32")
    for op, f in _jit_sum_cumsum(backend_of(t), "float32", "auto"):
        tpu = jax.export.export(f, platforms=["tpu"])(t).mlir_module()
        cuda = jax.export.export(f, platforms=["cuda"])(t).mlir_module()
        assert "custom_call" not in tpu and _wide_value(tpu) is None, (op, _wide_value(tpu))
        assert "custom_call" not in cuda and _wide_value(cuda), op


@pytest.mark.parametrize("fwk", ["jax_x64"], indirect=True)
@pytest.mark.parametrize(("op", "dt"), [("sum", "float64"), ("cumsum", "complex128")])
def test_jax_exact_refuses_64_bit_data_on_tpus(
    fwk: Framework, op: str, dt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # XLA rewrites 64-bit types into 32-bit pairs on a TPU and cannot rewrite bitcasts
    # (jax-ml/jax#21108): a clear refusal naming the function and dtype, not XLA's UNIMPLEMENTED,
    # whether lowered through the host route (jax.export for a TPU) or the portable path alone
    # (path="portable", here on the CPU declared without float64 as TPUs are).
    import jax

    from unireduce import UnireduceValueError

    x = _data("random", dt, (1, 3, 40))
    t = fwk.make(x, dt)
    want = exact_cumsum_along(x, 1, dt) if op == "cumsum" else exact_sum_along(x, (2,), False, dt)
    f = dict(_jit_sum_cumsum(backend_of(t), dt, "portable"))[op]
    _assert_bits(fwk.to_numpy(f(t)), want, f"{op} {dt} off TPUs")
    refusal = rf"^{op}: precision='exact' on a device without float64 .*float32.* got {dt}\b"
    if importlib.util.find_spec("numba") is not None:  # the host route
        f = dict(_jit_sum_cumsum(backend_of(t), dt, "auto"))[op]
        jax.export.export(f, platforms=["cuda"])(t)
        with pytest.raises(UnireduceValueError, match=refusal):
            jax.export.export(f, platforms=["tpu"])(t)
    _cpu_without_float64(monkeypatch, backend_of(t))
    f = dict(_jit_sum_cumsum(backend_of(t), dt, "portable"))[op]
    with pytest.raises(UnireduceValueError, match=refusal):
        f.lower(t)


@pytest.mark.parametrize("fwk", ["jax", "jax_x64"], indirect=True)
def test_jax_portable_path_takes_the_work_format_of_the_platform_lowered_for(
    fwk: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Traced without the host kernels (path="portable", as without Numba) the work format is
    # chosen when the program is lowered, not from jax.default_backend() while tracing: a CPU
    # program exported for a TPU holds no 64-bit value, for a GPU float64 work; one exported for
    # the CPU and a TPU runs its CPU branch here with the reference's bits; and on a TPU host
    # (default backend faked) a program lowered for its CPU still works in float64 (it used to
    # work in float32 there and refuse float64 data).
    import jax

    x = _data("cancel", "float32", (3, 4, 40))
    t = fwk.make(x, "float32")
    want = {
        "sum": exact_sum_along(x, (2,), False, "float32"),
        "cumsum": exact_cumsum_along(x, 1, "float32"),
    }
    for op, f in _jit_sum_cumsum(backend_of(t), "float32", "portable"):
        tpu = jax.export.export(f, platforms=["tpu"])(t).mlir_module()
        cuda = jax.export.export(f, platforms=["cuda"])(t).mlir_module()
        assert _wide_value(tpu) is None, (op, _wide_value(tpu))
        assert _wide_value(cuda), op
        both = jax.export.export(f, platforms=["cpu", "tpu"])(t)
        _assert_bits(fwk.to_numpy(both.call(t)), want[op], f"{op} exported for cpu and tpu")
    monkeypatch.setattr(jax, "default_backend", lambda: "tpu")
    for op, f in _jit_sum_cumsum(backend_of(t), "float32", "portable"):
        assert _wide_value(f.lower(t).as_text()), f"{op}: float32 work on the CPU"
        _assert_bits(fwk.to_numpy(f(t)), want[op], f"{op} on the CPU of a TPU host")


@pytest.mark.parametrize("fwk", ["jax_x64"], indirect=True)
def test_jax_vmap_outside_jit_takes_the_work_format_of_the_arrays_devices(
    fwk: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    # jax.vmap outside jit runs the primitive eagerly (its impl), which picks the work format
    # by the array's devices: float64 work on the CPU (reference bits), float32 work where the
    # CPU is declared without float64, which refuses float64 data as a TPU program does.
    import jax

    from unireduce import UnireduceValueError

    x = _data("cancel", "float64", (3, 4, 40))
    t = fwk.make(x, "float64")
    be = backend_of(t)
    f = jax.vmap(lambda a: _exact.sum(be, a, (1,), False, "float64", path="portable"))
    _assert_bits(fwk.to_numpy(f(t)), exact_sum_along(x, (2,), False, "float64"), "vmap sum")
    _cpu_without_float64(monkeypatch, be)
    with pytest.raises(UnireduceValueError, match=r"^sum: .*without float64.*got float64\b"):
        f(t)


def _cpu_without_float64(monkeypatch: pytest.MonkeyPatch, be: Any) -> None:
    """Declare JAX's CPU without float64, as TPUs are (``capabilities.no_float64``), so that
    programs for the CPU run the TPU's float32 work here."""
    import dataclasses

    caps = type(be).capabilities
    narrow = dataclasses.replace(caps, no_float64=(*caps.no_float64, "cpu"))
    monkeypatch.setattr(type(be), "capabilities", narrow)


def test_torch_mps_work_dtypes_leave_out_float64() -> None:
    # MPS has no float64 (pytorch#79019, pytorch#122602): the portable path must work in float32
    # on an MPS tensor (no MPS device here: an object with its device type stands in).
    from types import SimpleNamespace as NS

    torch = pytest.importorskip("torch")
    be = backend_of(torch.zeros(1))
    mps = be.work_dtypes(NS(device=torch.device("mps")))
    assert "float64" not in mps and "complex128" not in mps and "int64" in mps
    assert "float64" in be.work_dtypes(torch.zeros(1))


@pytest.mark.parametrize("fwk", ["torch"], indirect=True)
@pytest.mark.parametrize("dt", NARROW_FLOATS)
def test_torch_portable_path_without_float64_works_in_float32(
    fwk: Framework, dt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What an MPS tensor runs (work_dtypes without float64), here on CPU tensors: no op makes a
    # float64 or complex128 tensor, and every adversarial case and axis form gives the
    # reference's bits.
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class Dtypes(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.seen: set[Any] = set()

        def __torch_dispatch__(
            self, func: Any, types: Any, args: Any = (), kwargs: Any = None
        ) -> Any:
            out = func(*args, **(kwargs or {}))
            self.seen.update(v.dtype for v in tree_leaves(out) if isinstance(v, torch.Tensor))
            return out

    x = _all_cases(dt)
    t = fwk.make(x, dt)
    be = backend_of(t)
    _narrow_work(monkeypatch, be)
    for axes, keep in SUM_AXES:
        with Dtypes() as mode:
            got = _exact.sum(be, t, axes, keep, dt, path="portable")
        assert not mode.seen & {torch.float64, torch.complex128}, (axes, mode.seen)
        want = exact_sum_along(x, axes if axes is not None else (0, 1, 2), keep, dt)
        _assert_bits(fwk.to_numpy(got), want, f"sum axes={axes} keepdims={keep} {dt}")
    for axis in (0, 1, 2):
        with Dtypes() as mode:
            got = _exact.cumsum(be, t, axis, dt, path="portable")
        assert not mode.seen & {torch.float64, torch.complex128}, (axis, mode.seen)
        _assert_bits(fwk.to_numpy(got), exact_cumsum_along(x, axis, dt), f"cumsum axis={axis} {dt}")


def test_tf_work_dtypes_leave_out_float64_on_tpus() -> None:
    # TPUs have no float64 (jax-ml/jax#21108): a tensor placed on a TPU, or made inside a TPU
    # computation (TF's TPUReplicateContext, entered here on the CPU as tpu.rewrite does; its
    # tensors carry no device yet), gets float32 work; CPU tensors and plain graphs float64.
    from types import SimpleNamespace as NS

    tf = pytest.importorskip("tensorflow")
    from tensorflow.python.tpu.tpu_replication import TPUReplicateContext

    be = backend_of(tf.zeros(1))
    tpu = NS(device="/job:localhost/replica:0/task:0/device:TPU:0")
    assert "float64" not in be.work_dtypes(tpu) and "int64" in be.work_dtypes(tpu)
    assert "float64" in be.work_dtypes(tf.zeros(1))
    with tf.Graph().as_default():
        assert "float64" in be.work_dtypes(tf.zeros([3]))
        ctx = TPUReplicateContext(b"cluster", 1, pivot=tf.no_op())
        ctx.Enter()
        try:
            t = tf.zeros([3])
            assert t.device == "" and "float64" not in be.work_dtypes(t)
        finally:
            ctx.Exit()


def _narrow_work(monkeypatch: pytest.MonkeyPatch, be: Any) -> None:
    """Place ``be``'s arrays, as exact mode sees them, on the first device kind its adapter
    declares without float64 (torch: MPS, TF: TPU), so the rule itself decides."""
    kind = type(be).capabilities.no_float64[0]
    monkeypatch.setattr(type(be), "device_kind_of", lambda self, a: kind)
    assert "float64" not in be.work_dtypes(None)


@pytest.mark.parametrize("fwk", ["tensorflow"], indirect=True)
@pytest.mark.parametrize("dt", NARROW_FLOATS)
def test_tf_portable_path_without_float64_works_in_float32(
    fwk: Framework, dt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a TPU runs (work dtypes without float64, under XLA), here on CPU tensors: no float64
    # or complex128 anywhere in the XLA function's graph (its branches included), and the
    # reference's bits on every adversarial case, for every axis form eagerly and under XLA.
    import tensorflow as tf

    x = _all_cases(dt)
    t = fwk.make(x, dt)
    be = backend_of(t)
    xla = lambda fn: tf.function(fn, jit_compile=True, autograph=False)  # noqa: E731
    sanity = xla(lambda a: _exact.sum(be, a, (2,), False, dt, path="portable"))
    assert "DT_DOUBLE" in str(sanity.get_concrete_function(t).graph.as_graph_def())
    _narrow_work(monkeypatch, be)
    calls: list[tuple[str, Any, np.ndarray]] = []
    for axes, keep in SUM_AXES:
        fn = lambda a, ax=axes, k=keep: _exact.sum(be, a, ax, k, dt, path="portable")  # noqa: E731
        want = exact_sum_along(x, axes if axes is not None else (0, 1, 2), keep, dt)
        calls.append((f"sum axes={axes} keepdims={keep}", fn, want))
    for axis in (0, 1, 2):
        fn = lambda a, ax=axis: _exact.cumsum(be, a, ax, dt, path="portable")  # noqa: E731
        calls.append((f"cumsum axis={axis}", fn, exact_cumsum_along(x, axis, dt)))
    for what, fn, want in calls:
        _assert_bits(fwk.to_numpy(fn(t)), want, f"eager {what} {dt}, float32 work")
        if what in ("sum axes=(2,) keepdims=False", "cumsum axis=1"):
            f = xla(fn)
            graph = str(f.get_concrete_function(t).graph.as_graph_def())
            assert "DT_DOUBLE" not in graph and "DT_COMPLEX128" not in graph, what
            _assert_bits(fwk.to_numpy(f(t)), want, f"XLA {what} {dt}, float32 work")


@pytest.mark.parametrize("fwk", ["torch", "tensorflow"], indirect=True)
@pytest.mark.parametrize(("op", "dt"), [("sum", "float64"), ("cumsum", "complex128")])
def test_exact_refuses_64_bit_data_where_the_device_has_no_float64(
    fwk: Framework, op: str, dt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Float32 work cannot hold float64 data: a clear refusal naming the function and dtype
    # (MPS and TPUs hold no such tensors; the check keeps a wrong answer out if one shows up).
    from unireduce import UnireduceValueError

    t = fwk.make(_data("random", dt, (3, 40)), dt)
    be = backend_of(t)
    _narrow_work(monkeypatch, be)
    fn = getattr(_exact, op)
    args = (1, dt) if op == "cumsum" else ((1,), False, dt)
    refusal = rf"^{op}: precision='exact' on a device without float64 .*float32.* got {dt}$"
    with pytest.raises(UnireduceValueError, match=refusal):
        fn(be, t, *args, path="portable")


def _xla_calls(f: Any, *args: Any) -> int:
    """Calls in the graph of the ``tf.function`` ``f`` that XLA must compile."""
    nodes = f.get_concrete_function(*args).graph.as_graph_def().node
    return sum(1 for n in nodes if n.attr["_XlaMustCompile"].b)


TF_GRAPH_OPS = ["sum", "sum_axis1", "cumsum"]


def _tf_graph_op(op: str) -> Any:
    import tensorflow as tf

    import unireduce as ur

    if op == "cumsum":
        fn = lambda a: ur.cumsum(a, axis=2, precision="exact")  # noqa: E731
    else:
        fn = lambda a: ur.sum(a, axis=1 if op == "sum_axis1" else None, precision="exact")  # noqa: E731
    return tf.function(fn, autograph=False)


def _tf_graph_want(op: str, x: np.ndarray, dt: str) -> np.ndarray:
    if op == "cumsum":
        return exact_cumsum_along(x, 2, dt)
    return exact_sum_along(x, (1,) if op == "sum_axis1" else (0, 1, 2), False, dt)


TF_GRAPH_CASES = [
    *(
        pytest.param(dt, True, id=f"{dt}-xla")
        for dt in ("float16", "float32", "float64", "complex64")
    ),
    # On a pluggable device (no XLA kernels registered) the graph keeps the ops themselves.
    pytest.param("float32", False, id="float32-pluggable"),
]


@pytest.mark.parametrize("fwk", ["tensorflow"], indirect=True)
@pytest.mark.parametrize(("dt", "xla"), TF_GRAPH_CASES)
@pytest.mark.parametrize("op", TF_GRAPH_OPS)
def test_tf_function_compiles_the_portable_path_with_xla(
    fwk: Framework, dt: str, xla: bool, op: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain tf.function runs its graph op by op: the portable path's ~140 ops each wrote
    # their result out (float32 sum of 10**7: 34 ms against 11 ms compiled). The adapter runs it
    # as a nested tf.function(jit_compile=True) (TensorFlowBackend.run_compiled).
    from unireduce.backends import tensorflow as tb

    if not xla:
        monkeypatch.setattr(tb, "_xla_everywhere", lambda tf: False)
    x = _all_cases(dt)
    t = fwk.make(x, dt)
    f = _tf_graph_op(op)
    assert _xla_calls(f, t) == int(xla)
    _assert_bits(fwk.to_numpy(f(t)), _tf_graph_want(op, x, dt), f"tf.function {op}, xla={xla}")


@pytest.mark.parametrize("fwk", ["tensorflow"], indirect=True)
def test_tf_exact_integer_sums_stay_out_of_xla(fwk: Framework) -> None:
    # XLA compiles the overflow check's Assert to nothing (tensorflow#11275): integer sums keep
    # plain graph ops, and an overflow still fails the graph's assertion.
    import tensorflow as tf

    import unireduce as ur

    f = tf.function(lambda a: ur.sum(a, dtype="int8", precision="exact"), autograph=False)
    t = fwk.make(np.array([100, 28], dtype=np.int8), "int8")
    assert _xla_calls(f, t) == 0
    with pytest.raises(tf.errors.InvalidArgumentError, match="IntegerOverflowError"):
        f(t)


@pytest.mark.parametrize("fwk", ["tensorflow"], indirect=True)
def test_tf_eager_and_xla_calls_nest_no_function(fwk: Framework) -> None:
    # Eagerly each new shape would pay an XLA compilation (1-5 s) for one call; under
    # jit_compile=True the whole function is compiled already.
    import tensorflow as tf

    from unireduce.backends import tensorflow as tb

    x = _all_cases("float32")
    t = fwk.make(x, "float32")
    be = backend_of(t)
    before = len(tb._COMPILED)
    got = fwk.to_numpy(_exact.sum(be, t, (2,), False, "float32", path="portable"))
    _assert_bits(got, exact_sum_along(x, (2,), False, "float32"), "eager sum")
    f = tf.function(lambda a: _exact.sum(be, a, (2,), False, "float32"), jit_compile=True)
    assert _xla_calls(f, t) == 0
    _assert_bits(fwk.to_numpy(f(t)), exact_sum_along(x, (2,), False, "float32"), "xla sum")
    assert len(tb._COMPILED) == before


@pytest.mark.parametrize("fwk", ["tensorflow"], indirect=True)
def test_tf_nested_xla_functions_are_cached(
    fwk: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One nested function per (spec, shape, dtype), shared by the tf.functions that call it
    # (traced once); the cache evicts as ProgramCache's doctest shows.
    import tensorflow as tf

    from unireduce.backends import tensorflow as tb

    monkeypatch.setattr(tb, "_COMPILED", ProgramCache())
    x = _all_cases("float32")
    t = fwk.make(x, "float32")
    be = backend_of(t)
    for pre in (tf.identity, tf.negative):  # two tf.functions, one nested function
        f = tf.function(lambda a, pre=pre: _exact.sum(be, pre(a), (2,), False, "float32"))
        got = fwk.to_numpy(f(t))
        want = exact_sum_along(x if pre is tf.identity else -x, (2,), False, "float32")
        _assert_bits(got, want, f"{pre.__name__}")
    assert len(tb._COMPILED) == 1
    (nested,) = tb._COMPILED.values()
    assert nested.experimental_get_tracing_count() == 1
    tf.function(lambda a: _exact.cumsum(be, a, 1, "float32"))(t)
    assert len(tb._COMPILED) == 2


def test_tf_xla_everywhere_only_for_cpus_and_gpus_of_gpu_builds() -> None:
    from types import SimpleNamespace as NS

    from unireduce.backends.tensorflow import _xla_everywhere

    def fake(kinds: tuple[str, ...], gpu_build: bool) -> Any:
        devs = [NS(device_type=k) for k in kinds]
        return NS(
            config=NS(list_physical_devices=lambda: devs),
            test=NS(is_built_with_gpu_support=lambda: gpu_build),
        )

    check = _xla_everywhere.__wrapped__  # the cached function keeps its first answer
    assert check(fake(("CPU",), False))
    assert check(fake(("CPU", "GPU"), True))
    assert not check(fake(("CPU", "GPU"), False))  # e.g. tensorflow-metal
    assert not check(fake(("CPU", "XPU"), True))  # another pluggable device type


@pytest.mark.parametrize("fwk", ["tensorflow"], indirect=True)
def test_tf_saved_model_keeps_the_exact_sum(fwk: Framework, tmp_path: Any) -> None:
    # The nested XLA function is part of the graph's function library: a SavedModel loads
    # and runs it without unireduce's Python code.
    import tensorflow as tf

    import unireduce as ur

    x = _all_cases("float32")
    spec = tf.TensorSpec(x.shape, tf.float32)
    module = tf.Module()
    module.f = tf.function(
        lambda a: (ur.sum(a, axis=2, precision="exact"), ur.cumsum(a, axis=1, precision="exact")),
        input_signature=[spec],
        autograph=False,
    )
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    s, c = loaded.f(fwk.make(x, "float32"))
    _assert_bits(fwk.to_numpy(s), exact_sum_along(x, (2,), False, "float32"), "loaded sum")
    _assert_bits(fwk.to_numpy(c), exact_cumsum_along(x, 1, "float32"), "loaded cumsum")


ROLLED = [("jax_x64", "jax.jit"), ("tensorflow", "tf.function"), ("tensorflow", "xla")]


@pytest.mark.parametrize(("fwk", "compiler"), ROLLED, indirect=["fwk"])
@pytest.mark.parametrize("case", ["range", "random"])
@pytest.mark.parametrize("cumulative", [False, True], ids=["sum", "cumsum"])
def test_compiled_integer_route_traces_one_window(
    fwk: Framework, compiler: str, case: str, cumulative: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Unrolled, the integer route's loops over its 66 digit windows (float64 in int64 lanes)
    # made programs that took 21.7 s (jax.jit) and 26 s (tf.function(jit_compile=True)) to
    # compile for a float64 cumsum of (8, 200); Backend.scan traces the window once
    # (lax.scan, tf.while_loop), and the rolled loop skips the windows no row reaches ("random"
    # needs a few, "range" all of them). Loops shorter than SCAN_ROLL_MIN (the 2 to 18 windows of
    # float32 and narrower formats) stay unrolled.
    from unireduce._exact import _portable
    from unireduce._exact._formats import FORMATS

    dt = "float64"
    x = _data(case, dt, (3, 300))
    t = fwk.make(x, dt)
    be = backend_of(t)
    calls = []
    window_sums = _portable._window_sums

    def counted(*a: Any, **kw: Any) -> Any:
        calls.append(1)
        return window_sums(*a, **kw)

    monkeypatch.setattr(_portable, "_window_sums", counted)
    monkeypatch.setattr(be, "fused_reductions", lambda: False)  # the sums' loop too

    def rows(a: Any) -> Any:
        return _portable._float_rows_exact(be, a, FORMATS[dt], cumulative)

    if compiler == "jax.jit":
        import jax

        f = jax.jit(rows)
    else:
        import tensorflow as tf

        rows = tf.autograph.experimental.do_not_convert(rows)  # as the public functions
        f = tf.function(rows, jit_compile=compiler == "xla")
    got = fwk.to_numpy(f(t))
    # tf.while_loop: once for the outputs' dtypes and shapes, once as the loop body.
    assert len(calls) == (1 if compiler == "jax.jit" else 2), f"traced {len(calls)} times"
    want = exact_cumsum_along(x, 1, dt) if cumulative else exact_sum_along(x, (1,), False, dt)
    _assert_bits(got, want, f"{compiler} integer route, {case}")


@pytest.mark.parametrize("fwk", ["jax", "jax_x64"], indirect=True)
@pytest.mark.parametrize("op", ["sum", "cumsum", "vmap"])
def test_jax_export_for_cpu_takes_the_portable_path(fwk: Framework, op: str) -> None:
    # jax.export refuses custom calls without compatibility guarantees (our FFI targets), so an
    # export lowers the portable path for the CPU too; jax.jit keeps the FFI call. The artifact
    # round-trips through serialize/deserialize with the same bits.
    import jax

    pytest.importorskip("numba", reason="the host kernels need Numba")
    x = _data("cancel", "float32", (2, 3, 40))
    t = fwk.make(x, "float32")
    be = backend_of(t)
    if op == "sum":
        f = jax.jit(lambda a: _exact.sum(be, a, (2,), False, "float32"))
        want, target = exact_sum_along(x, (2,), False, "float32"), "sum_rows"
    elif op == "cumsum":
        f = jax.jit(lambda a: _exact.cumsum(be, a, 2, "float32"))
        want, target = exact_cumsum_along(x, 2, "float32"), "cumsum_rows"
    else:  # vmap over the leading axis of a sum over the last
        f = jax.jit(jax.vmap(lambda a: _exact.sum(be, a, (1,), False, "float32")))
        want, target = exact_sum_along(x, (2,), False, "float32"), "sum_rows"
    assert f"unireduce_{target}_float32" in f.lower(t).as_text()
    for platforms in (["cpu"], ["cpu", "cuda"]):
        exported = jax.export.export(f, platforms=platforms)(t)
        module = exported.mlir_module()
        assert "custom_call" not in module and "stablehlo.reduce" in module, platforms
        again = jax.export.deserialize(exported.serialize())
        _assert_bits(np.asarray(again.call(t)), want, f"export {op} {platforms}")


@pytest.mark.parametrize("fwk", ["jax_x64"], indirect=True)
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_jit_host_under_vmap_and_grad(fwk: Framework, dt: str) -> None:
    # A batch of inputs reaches the handler as leading dimensions (vmap_method="broadcast_all").
    import jax

    pytest.importorskip("numba", reason="the host kernels need Numba")
    x = np.stack([_data(case, dt, (5, 40), seed=i) for i, case in enumerate(CASES)])
    t = fwk.make(x, dt)
    be = backend_of(t)
    for axis in (0, 1):
        f = jax.jit(jax.vmap(lambda a, ax=axis: _exact.sum(be, a, (ax,), False, dt, path="host")))
        want = exact_sum_along(x, (axis + 1,), False, dt)
        _assert_bits(np.asarray(f(t)), want, f"vmap sum axis={axis}")
        g = jax.jit(jax.vmap(lambda a, ax=axis: _exact.cumsum(be, a, ax, dt, path="host")))
        _assert_bits(np.asarray(g(t)), exact_cumsum_along(x, axis + 1, dt), f"vmap cumsum {axis}")
    grad = jax.jit(jax.grad(lambda a: _exact.sum(be, a, None, False, dt, path="host")))
    assert np.array_equal(np.asarray(grad(t)), np.ones(x.shape, dt))


@pytest.mark.parametrize("fwk", ["jax"], indirect=True)
def test_jit_avoids_ffi_with_numba_workqueue_layer(fwk: Framework, monkeypatch: Any) -> None:
    # Numba's workqueue layer aborts the process when two threads launch kernels at once (XLA
    # runs several CPU devices' programs at once): the portable path is compiled instead.
    import jax

    numba = pytest.importorskip("numba", reason="the host kernels need Numba")
    monkeypatch.setattr(numba, "threading_layer", lambda: "workqueue")
    x = _data("ties", "float32", (3, 40))
    t = fwk.make(x, "float32")
    be = backend_of(t)
    f = jax.jit(lambda a: _exact.sum(be, a, (1,), False, "float32"))
    assert "unireduce_" not in f.lower(t).as_text()
    _assert_bits(np.asarray(f(t)), exact_sum_along(x, (1,), False, "float32"), "portable sum")


@pytest.mark.parametrize("fwk", ["jax"], indirect=True)
def test_ffi_handler_refuses_unexpected_calls(fwk: Framework) -> None:
    # A result dtype the target does not produce: the handler returns an XLA error (made by the
    # FFI API's Error_Create), and XLA raises it.
    import jax

    pytest.importorskip("numba", reason="the host kernels need Numba")
    from unireduce._exact import _xla_ffi

    t = fwk.make(np.ones((2, 3), np.float32), "float32")
    res = jax.ShapeDtypeStruct((2,), np.float16)
    f = jax.jit(lambda a: jax.ffi.ffi_call(_xla_ffi.target("sum_rows", "float32"), res)(a))
    with pytest.raises(jax.errors.JaxRuntimeError, match="INVALID_ARGUMENT: unireduce: an XLA FFI"):
        f(t)


@pytest.mark.parametrize("fwk", ["jax"], indirect=True)
def test_ffi_call_restores_xla_flush_mode(fwk: Framework) -> None:
    # The handler clears DAZ/FTZ for the kernels and restores them: XLA still flushes a
    # subnormal product computed after the call in the same program (as it does without it).
    import jax

    pytest.importorskip("numba", reason="the host kernels need Numba")
    x = fwk.make(np.ones((4, 6), np.float32), "float32")
    tiny = fwk.make(np.full(8, 1e-45, np.float32), "float32")
    two = fwk.make(np.float32(2.0), "float32")
    be = backend_of(x)
    plain = np.asarray(jax.jit(lambda s, c: s * c)(tiny, two))
    both = jax.jit(lambda a, s, c: (_exact.sum(be, a, (1,), False, "float32", path="host"), s * c))
    total, after = both(x, tiny, two)
    assert np.asarray(total).tolist() == [6.0] * 4
    assert np.array_equal(np.asarray(after), plain)


@pytest.mark.parametrize("fwk", ["jax"], indirect=True)
def test_ffi_kernels_run_without_flushing(fwk: Framework) -> None:
    # XLA's CPU threads flush subnormals; the handler clears DAZ/FTZ so the kernels take their
    # fast route (they stay exact either way, only slower, so the handler reports what it saw).
    import platform

    import jax

    pytest.importorskip("numba", reason="the host kernels need Numba")
    if platform.machine().lower() not in ("x86_64", "amd64", "aarch64", "arm64"):
        pytest.skip("the flush mode is cleared on x86-64 and AArch64 only")
    from unireduce._exact import _xla_ffi

    x = fwk.make(np.full((2, 8), 2.0**-149, np.float32), "float32")  # the least subnormal
    be = backend_of(x)
    _xla_ffi.LAST_FLUSHED.value = -1
    f = jax.jit(lambda a: _exact.sum(be, a, (1,), False, "float32", path="host"))
    assert np.asarray(f(x)).tolist() == [2.0**-146] * 2
    assert _xla_ffi.LAST_FLUSHED.value == 0


@pytest.mark.parametrize("fwk", ["tensorflow"], indirect=True)
def test_inside_tf_function(fwk: Framework) -> None:
    import tensorflow as tf

    for dt in ("bfloat16", "float32", "float64"):
        x = _data("subnormal", dt, (3, 40))
        t = fwk.make(x, dt)
        be = backend_of(t)
        f = tf.function(lambda a, dt=dt: _exact.sum(be, a, (1,), False, dt))
        _assert_bits(f(t).numpy(), exact_sum_along(x, (1,), False, dt), f"tf.function sum {dt}")
        g = tf.function(lambda a, dt=dt: _exact.cumsum(be, a, 1, dt))
        _assert_bits(g(t).numpy(), exact_cumsum_along(x, 1, dt), f"tf.function cumsum {dt}")


@pytest.mark.parametrize("fwk", ["torch"], indirect=True)
def test_inside_torch_compile(fwk: Framework) -> None:
    import torch

    x = _data("cancel", "float32", (3, 40))
    t = fwk.make(x, "float32")
    be = backend_of(t)
    f = torch.compile(lambda a: _exact.sum(be, a, (1,), False, "float32"), backend="aot_eager")
    _assert_bits(fwk.to_numpy(f(t)), exact_sum_along(x, (1,), False, "float32"), "compiled sum")


# ------------------------------------------------------------------------------ integers
INT_FWS = [pytest.param(f, id=f) for f in FWS]


INT_CASES = [
    ("int8", "int8", [100, 27, -3], True),
    ("int8", "int8", [100, 28, -3], True),  # 125: intermediate 128 does not count
    ("int8", "int8", [100, 28, 3], False),
    ("int8", "int8", [-100, -29], False),
    ("int8", "int8", [-100, -28], True),  # -128 fits
    ("uint8", "uint8", [200, 55], True),
    ("uint8", "uint8", [200, 56], False),
    ("int32", "int32", [2**31 - 1, 1], False),
    ("int32", "int32", [2**31 - 1, 1, -5], True),
    ("uint32", "uint32", [2**32 - 1, 0], True),
    ("uint32", "uint32", [2**32 - 1, 1], False),
    ("bool", "int8", [1] * 127, True),
    ("bool", "int8", [1] * 128, False),
    ("int64", "int64", [2**62, 2**62], False),
    ("int64", "int64", [2**62, 2**62 - 1, -(2**62)], True),
    ("uint64", "uint64", [2**64 - 1, 1], False),
    ("uint64", "uint64", [2**63, 2**63 - 1], True),
    ("int16", "int64", [30000] * 50, True),
]
INT_GRID = [
    pytest.param(f, *c, id=f"{f}-{c[0]}-{c[1]}-{i}")
    for f in FWS
    for i, c in enumerate(INT_CASES)
    # JAX with x64 off has no 64-bit integers at all.
    if not (f == "jax" and ("64" in c[0] or "64" in c[1]))
]


@pytest.mark.parametrize(("fwk", "in_dt", "out_dt", "values", "fits"), INT_GRID, indirect=["fwk"])
def test_integer_sum_checked(
    fwk: Framework, in_dt: str, out_dt: str, values: list[int], fits: bool
) -> None:
    t = fwk.make(np.array(values, dtype=np_dtype(in_dt)), in_dt)
    be = backend_of(t)
    exact = sum(int(v) for v in values)
    prefixes = [sum(int(v) for v in values[: i + 1]) for i in range(len(values))]
    info = np.iinfo(np_dtype(out_dt))
    prefix_fits = all(info.min <= v <= info.max for v in prefixes)
    if fits:
        got = fwk.to_numpy(_exact.sum(be, t, None, False, out_dt))
        assert int(got) == exact
    else:
        with pytest.raises(IntegerOverflowError, match=out_dt):
            _exact.sum(be, t, None, False, out_dt)
    if prefix_fits:
        cum = fwk.to_numpy(_exact.cumsum(be, t, 0, out_dt))
        assert [int(v) for v in cum] == prefixes
    else:
        with pytest.raises(IntegerOverflowError):
            _exact.cumsum(be, t, 0, out_dt)


@pytest.mark.parametrize("fwk", INT_FWS, indirect=True)
def test_integer_cumsum_prefix_overflow_raises(fwk: Framework) -> None:
    # The total (27) fits int8, but the prefix 100 + 100 does not.
    t = fwk.make(np.array([100, 100, -128, -45], dtype=np.int8), "int8")
    be = backend_of(t)
    assert int(fwk.to_numpy(_exact.sum(be, t, None, False, "int8"))) == 27
    with pytest.raises(IntegerOverflowError):
        _exact.cumsum(be, t, 0, "int8")


@pytest.mark.parametrize("fwk", INT_FWS, indirect=True)
def test_integer_axes(fwk: Framework) -> None:
    x = np.array([[100, 27], [100, 28], [1, 2]], dtype=np.int8)
    t = fwk.make(x, "int8")
    be = backend_of(t)
    with pytest.raises(IntegerOverflowError):
        _exact.sum(be, t, (1,), False, "int8")  # row 1 sums to 128
    assert fwk.to_numpy(_exact.sum(be, t, (1,), False, "int16")).tolist() == [127, 128, 3]
    with pytest.raises(IntegerOverflowError):
        _exact.sum(be, t, (0,), False, "int8")  # column 0 sums to 201


@pytest.mark.parametrize("fwk", INT_FWS, indirect=True)
@pytest.mark.parametrize("dt", ["float32", "int32"])
def test_empty(fwk: Framework, dt: str) -> None:
    t = fwk.make(np.zeros((3, 0), dtype=dt), dt)
    be = backend_of(t)
    assert fwk.to_numpy(_exact.sum(be, t, (1,), False, dt)).tolist() == [0, 0, 0]
    assert fwk.to_numpy(_exact.cumsum(be, t, 1, dt)).shape == (3, 0)


def _unknown_length_call(kind: str, fn: str) -> Any:
    """``fn`` with ``precision='exact'`` on an array whose first dimension is known only when the
    program runs: a tf.function input signature with None, a jax.export symbolic dimension, a
    dask array of unknown chunk sizes (a boolean mask)."""
    import unireduce as ur

    call = getattr(ur, fn)
    kw: dict[str, Any] = {"axis": 1, "precision": "exact"}
    if kind == "tensorflow":
        tf = pytest.importorskip("tensorflow")
        spec = tf.TensorSpec([None, 40], tf.float32)
        f = tf.function(lambda a: call(a, **kw), input_signature=[spec], autograph=False)
        return lambda: f(tf.ones((3, 40)))
    if kind == "jax":
        jax = pytest.importorskip("jax")
        shape = jax.export.symbolic_shape("n, 40")
        f = jax.jit(lambda a: call(a, **kw))
        return lambda: jax.export.export(f)(jax.ShapeDtypeStruct(shape, np.float32))
    da = pytest.importorskip("dask.array")
    x = da.ones((10, 40), chunks=5)
    masked = x[x[:, 0] > 0]
    return lambda: call(masked, **kw)


@pytest.mark.parametrize("fn", ["sum", "reduce_sum", "cumsum"])
@pytest.mark.parametrize("kind", ["tensorflow", "jax", "dask"])
def test_exact_refuses_lengths_unknown_when_the_program_is_built(kind: str, fn: str) -> None:
    # Exact programs cut rows into blocks of static lengths; before the check these calls raised
    # the builtins' TypeError / ValueError (int(None), int(nan)) or JAX's
    # InconclusiveDimensionOperation from deep inside.
    import unireduce as ur

    run = _unknown_length_call(kind, fn)
    with pytest.raises(ur.UnireduceValueError, match=rf"^{fn}: precision='exact' needs every "):
        run()


@pytest.mark.parametrize("fn", ["sum", "cumulative_sum"])
def test_exact_refuses_an_unknown_rank(fn: str) -> None:
    # A tf.function input signature without a shape: iterating the shape raised the builtin
    # ValueError ("Cannot iterate over a shape with unknown rank") before the rank check.
    tf = pytest.importorskip("tensorflow")
    import unireduce as ur

    kw: dict[str, Any] = (
        {"precision": "exact"} if fn == "sum" else {"axis": 0, "precision": "exact"}
    )
    call = getattr(ur, fn)
    spec = [tf.TensorSpec(None, tf.float32)]
    f = tf.function(lambda a: call(a, **kw), input_signature=spec, autograph=False)
    with pytest.raises(ur.AxisError, match=rf"^{fn}: the rank of the input is unknown"):
        f(tf.ones((3, 4)))
