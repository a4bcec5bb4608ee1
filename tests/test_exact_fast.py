"""Exact mode's certified fast path for sums (issue 5): bit-identical to the exact oracle.

``unireduce._exact._portable`` first tries error-free extraction in the framework's float
arithmetic (a float-only try, then one with bit-level checks and exact ties) and keeps the result
only when a certificate proves it is the exactly rounded sum; otherwise the integer algorithm runs.
Results are compared bit for bit with ``unireduce._exactmath`` (Python ints), eagerly and under each
framework's JIT, on benign data (where the fast path must be taken) and on data that defeats the
certificate (where it must not be).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests._frameworks import Framework, np_dtype
from unireduce import _exact
from unireduce._exact import _portable
from unireduce._exactmath import exact_cumsum_along, exact_sum_along
from unireduce._registry import backend_of

FWS = ("numpy", "torch", "tensorflow", "jax", "jax_x64")
JITS = {
    "torch": "torch.compile",
    "tensorflow": "tf.function",
    "jax": "jax.jit",
    "jax_x64": "jax.jit",
}


def _jit(fw: Framework, f: Callable[..., Any]) -> Callable[..., Any]:
    if fw.id in ("jax", "jax_x64"):
        import jax

        return jax.jit(f)
    if fw.id == "tensorflow":
        import tensorflow as tf

        return tf.function(f, jit_compile=True)
    import torch

    # fullgraph=True: the whole exact path must compile as one graph, with no silent fallback to
    # eager Python (a graph break, or the recompile limit hit when the same inner function's
    # code object meets many shapes, hence a fresh cache per compiled function).
    torch._dynamo.reset()
    return torch.compile(f, backend="aot_eager", fullgraph=True)


def _modes() -> list[Any]:
    out = []
    for fid in FWS:
        out.append(pytest.param(fid, "eager", id=f"{fid}-eager"))
        if fid in JITS:
            out.append(pytest.param(fid, "jit", id=f"{fid}-{JITS[fid]}"))
    return out


MODES = _modes()


def _dtypes(fw: Framework) -> list[str]:
    return [d for d in ("float16", "float32", "float64") if d in fw.dtypes]


def _bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    return a.view(f"uint{a.dtype.itemsize * 8}")


def _row_sums(fw: Framework, mode: str, dt: str) -> Callable[[Any], Any]:
    """Exact row sums of ``fw``'s (M, K) arrays of ``dt`` through the portable path, eagerly or
    compiled (``mode``)."""
    be = backend_of(fw.make(np.zeros((1, 1)), dt))

    def f(a: Any) -> Any:
        return _exact.sum(be, a, (1,), False, dt, path="portable")

    return _jit(fw, f) if mode == "jit" else f


def _check(
    fw: Framework,
    mode: str,
    x: np.ndarray,
    dt: str,
    what: str,
    run: Callable[[Any], Any] | None = None,
) -> None:
    """Exact row sums of ``x`` (M, K) through the portable path (``run``: one compiled for
    several calls, from :func:`_row_sums`) equal the oracle bit for bit."""
    t = fw.make(np.ascontiguousarray(x), dt)
    got = fw.to_numpy((run or _row_sums(fw, mode, dt))(t))
    want = exact_sum_along(x, (1,), False, dt)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    bad = np.flatnonzero(_bits(got) != _bits(want))
    assert bad.size == 0, f"{what}: row {bad[0]}: got {got[bad[0]]!r}, want {want[bad[0]]!r}"


def _from_bits(u: np.ndarray, dt: str) -> np.ndarray:
    nbits = np.dtype(np_dtype(dt)).itemsize * 8
    return u.astype(f"uint{nbits}").view(np_dtype(dt))


def _adversarial(dt: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Rows the certificate cannot certify (or must check bit by bit), as (M, K) arrays."""
    p = {"float16": 11, "float32": 24, "float64": 53}[dt]
    ebits = {"float16": 5, "float32": 8, "float64": 11}[dt]
    emax_b = (1 << ebits) - 2
    fdt = np_dtype(dt)
    big = float(np.finfo(fdt).max) / 4
    ties = np.array([[1.0, 2.0**-p], [1.0, 3 * 2.0**-p], [1.0 + 2.0 ** (1 - p), 2.0**-p]])
    cancel = np.array([[big, 1.0, -big, 0.5], [-big, 0.25, big, 3.0]])
    n = 64
    sign = rng.integers(0, 2, (2, n), dtype=np.uint64) << np.uint64(ebits + p - 1)
    mant = rng.integers(0, 1 << (p - 1), (2, n), dtype=np.uint64)
    expo = rng.integers(0, emax_b + 1, (2, n), dtype=np.uint64)
    spread = _from_bits(sign | (expo << np.uint64(p - 1)) | mant, dt)
    subnormal = _from_bits(sign | mant, dt)
    special = rng.standard_normal((3, 8))
    special[0, 3], special[1, 5], special[2, 0], special[2, 1] = np.nan, np.inf, np.inf, -np.inf
    mx = float(np.finfo(fdt).max)
    overflow = np.array([[mx, mx, -mx], [mx, -mx * 0.5, mx * 0.75]])
    zeros = np.array([[0.0, -0.0, 0.0], [-0.0, -0.0, -0.0]])
    return {
        "ties": ties.astype(fdt),
        "cancel": cancel.astype(fdt),
        "spread": spread,
        "subnormal": subnormal,
        "special": special.astype(fdt),
        "overflow": overflow.astype(fdt),
        "zeros": zeros.astype(fdt),
    }


# ------------------------------------------------------------------------------ bits
@pytest.mark.parametrize(("fwk", "mode"), MODES, indirect=["fwk"])
def test_random_rows_bitwise(fwk: Framework, mode: str) -> None:
    # K < B, K not a multiple of any block size (1025, 5000: several levels), and a long row.
    # Eagerly every shape with every dtype; under a JIT compiler, where each pair is one more
    # compilation (torch.compile: about 33 s each, 296 s for the nine in CI), each shape with one
    # dtype, every dtype with one shape (the eager pairs check the same code on the same data).
    shapes = [(3, 7), (2, 1025), (3, 5000)] + ([(1, 300_000)] if mode == "eager" else [])
    dts = _dtypes(fwk)
    for i, shape in enumerate(shapes):
        rng = np.random.default_rng(shape[1])
        for dt in dts if mode == "eager" else dts[i % len(dts) :][:1]:
            scale = 2.0 ** rng.integers(-8, 8, shape)
            x = (rng.standard_normal(shape) * scale).astype(np_dtype(dt))
            _check(fwk, mode, x, dt, f"random {dt} {shape}")


@pytest.mark.parametrize(("fwk", "mode"), MODES, indirect=["fwk"])
def test_adversarial_rows_bitwise(fwk: Framework, mode: str) -> None:
    # Every case in one array (one compilation per dtype), rows padded with -0.0, which leaves
    # every sum (and the sign of an all -0 row) unchanged.
    rng = np.random.default_rng(7)
    for dt in _dtypes(fwk):
        with np.errstate(over="ignore", invalid="ignore"):
            cases = _adversarial(dt, rng)
        k = max(x.shape[1] for x in cases.values())
        rows = [
            np.pad(x, ((0, 0), (0, k - x.shape[1])), constant_values=-0.0) for x in cases.values()
        ]
        names = [c for c, x in cases.items() for _ in range(x.shape[0])]
        _check(fwk, mode, np.concatenate(rows).astype(np_dtype(dt)), dt, f"{dt} rows {names}")


# ------------------------------------------------------------------------------ which path
def _ok(fn: Callable[[Any, Any, str], Any], x: np.ndarray, dt: str) -> bool:
    return bool(fn(backend_of(x), x, dt))


@pytest.mark.parametrize("dt", ["float16", "float32", "float64"])
def test_fast_path_taken_on_benign_rows(dt: str) -> None:
    x = np.random.default_rng(1).standard_normal((8, 3000)).astype(dt)
    # float16: a flushing cast could drop subnormals up to 2**-14, too much to bound.
    assert _ok(_portable.quick_ok, x, dt) is (dt != "float16")
    assert _ok(_portable.fast_ok, x, dt)


# Which tries certify (NumPy backend: float64 work). The float-only try refuses them all; the
# bit-checking try certifies what float64 work holds exactly (float16/float32 data).
REFUSED = [
    ("ties", {"float16", "float32"}),  # exactly half-way: rounds to even only when known exact
    ("cancel", {"float16"}),  # +-huge with small remainders: exact in float64 only for float16
    ("subnormal", {"float16", "float32"}),  # rebuilt from their bits when normal in float64
    ("special", set()),  # NaN and infinities
    ("overflow", set()),  # the exact sum rounds to inf
    ("zeros", {"float16", "float32", "float64"}),  # signed zeros follow the input bits
]


@pytest.mark.parametrize("dt", ["float16", "float32", "float64"])
@pytest.mark.parametrize(("case", "careful"), REFUSED)
def test_certificate_refuses_adversarial_rows(dt: str, case: str, careful: set[str]) -> None:
    with np.errstate(over="ignore", invalid="ignore"):
        x = _adversarial(dt, np.random.default_rng(3))[case]
    assert _ok(_portable.quick_ok, x, dt) is False
    assert _ok(_portable.fast_ok, x, dt) is (dt in careful)


@pytest.mark.parametrize("case", ["special", "overflow", "cancel"])
@pytest.mark.parametrize("fwk", ["torch", "tensorflow", "jax", "jax_x64"], indirect=True)
def test_float_only_try_refuses_without_sanitizing(fwk: Framework, case: str) -> None:
    # These backends skip the pass that zeroes NaN/inf/huge rows (float_errors_silent): NaN,
    # inf and overflow must reach the certificate and fail it, eagerly and under the JIT.
    dt = "float32"
    be_cls = type(backend_of(fwk.make(np.zeros(1, np.float32), dt)))
    assert be_cls.float_errors_silent is True
    with np.errstate(over="ignore", invalid="ignore"):
        x = _adversarial(dt, np.random.default_rng(3))[case]
    t = fwk.make(x, dt)
    be = backend_of(t)

    def ok(a: Any) -> Any:
        return _portable.quick_ok(be, a, dt)

    assert not bool(np.asarray(fwk.to_numpy(ok(t)))), f"{case} eager"
    assert not bool(np.asarray(fwk.to_numpy(_jit(fwk, ok)(t)))), f"{case} jit"


@pytest.mark.parametrize("fwk", ["jax", "jax_x64", "tensorflow"], indirect=True)
def test_fast_path_taken_under_jit(fwk: Framework) -> None:
    dt = "float32"
    x = np.random.default_rng(2).standard_normal((4, 3000)).astype(dt)
    t = fwk.make(x, dt)
    be = backend_of(t)
    ok = _jit(fwk, lambda a: _portable.quick_ok(be, a, dt))(t)
    assert bool(np.asarray(fwk.to_numpy(ok)))
    ties = fwk.make(_adversarial(dt, np.random.default_rng(0))["ties"], dt)
    assert not bool(
        np.asarray(fwk.to_numpy(_jit(fwk, lambda a: _portable.quick_ok(be, a, dt))(ties)))
    )


@pytest.mark.parametrize(("fwk", "mode"), MODES, indirect=["fwk"])
def test_float_only_try_certifies_long_spread_rows(fwk: Framework, mode: str) -> None:
    # Rows of 300_000 values spanning 2**-20 .. 2**20: in float64 work one sigma per row needs two
    # extractions for float64 data and one for float32 (R's bound, 2**(2 lg K + 2 - 2p) sigma_d,
    # must fall 2**(p_out + 4) below the maximum); in float32 work (JAX x64 off) blocks of 32
    # and recursion. The first tail is not zero, so its bound is used, and the try must certify
    # these rows with the oracle's bits. Row 1 is all negative. Each row alone too: a single
    # row is summed in two levels under XLA (_split_sums), with a tighter bound.
    rng = np.random.default_rng(5)
    for dt, rows in [(d, r) for d in ("float32", "float64") if d in fwk.dtypes for r in (0, 1, 2)]:
        x = rng.standard_normal((2, 300_000)) * 2.0 ** rng.integers(-20, 21, (2, 300_000))
        x[1] = -np.abs(x[1])  # max|x| is then -min(x): sigma must come from the minimum
        x = x.astype(np_dtype(dt))[[0, 1] if rows == 2 else [rows]]
        t = fwk.make(x, dt)
        be = backend_of(t)

        def f(a: Any) -> Any:
            return _portable._quick_rows(be, a, _portable.FORMATS[dt])

        yo, ok = (np.asarray(fwk.to_numpy(v)) for v in (_jit(fwk, f) if mode == "jit" else f)(t))
        assert ok.tolist() == [True] * len(x), f"{dt}: not certified"
        want = exact_sum_along(x, (1,), False, dt)
        assert _bits(yo).tolist() == _bits(want).tolist(), f"{dt}: {yo} != {want}"


# ------------------------------------------------------------------------------ compiler
@pytest.mark.parametrize("fwk", ["jax_x64", "tensorflow"], indirect=True)
def test_compiler_keeps_extraction_and_two_sum(fwk: Framework) -> None:
    # (x + sigma) - sigma and TwoSum's error term must survive XLA: no reassociation.
    x = np.array([1.0 + 2.0**-30, -3.0 - 2.0**-40])
    t = fwk.make(x, "float64")
    sig = fwk.make(np.array([2.0**40, 2.0**40]), "float64")

    def f(a: Any, s: Any) -> Any:
        q = (a + s) - s
        y, e = _portable._two_sum(a, s)
        return q, y, e

    q, y, e = (fwk.to_numpy(v) for v in _jit(fwk, f)(t, sig))
    assert q.tolist() == [1.0, -3.0]  # the bits below ulp(sigma) / 2 are cut off
    assert (y - 2.0**40).tolist() == [1.0, -3.0]
    assert e.tolist() == [2.0**-30, -(2.0**-40)]


@pytest.mark.parametrize(("fwk", "mode"), MODES, indirect=["fwk"])
def test_fused_sums_and_max_min(fwk: Framework, mode: str) -> None:
    # Backend.sums / max_min (one variadic reduction under jax.jit and TF's XLA) give what
    # separate reductions give: integer-valued data, so every order of addition is exact.
    dt = "float64" if "float64" in fwk.dtypes else "float32"
    x = np.random.default_rng(4).integers(-1000, 1000, (3, 257)).astype(np.float64)
    t, u = fwk.make(x, dt), fwk.make(x[:, ::-1] * 3, dt)
    be = backend_of(t)
    wdt = be.native_dtype(dt)

    def f(a: Any, b: Any) -> Any:
        return (*be.sums([a, b, a - b], (1,), wdt), *be.max_min(a, (1,), True))

    got = [np.asarray(fwk.to_numpy(v)) for v in (_jit(fwk, f) if mode == "jit" else f)(t, u)]
    want = [x.sum(1), (x * 3).sum(1), (x - x[:, ::-1] * 3).sum(1)]
    assert [g.tolist() for g in got[:3]] == [w.tolist() for w in want]
    assert got[3].tolist() == x.max(1, keepdims=True).tolist()
    assert got[4].tolist() == x.min(1, keepdims=True).tolist()


@pytest.mark.parametrize("fwk", ["tensorflow"], indirect=True)
def test_tensorflow_fuses_sums_only_under_xla(fwk: Framework) -> None:
    # tf2xla's variadic reduce has no kernel outside XLA: eager and plain tf.function must not
    # use it, jit_compile=True (and a tf.function traced inside one) must.
    import tensorflow as tf

    t = fwk.make(np.ones(4), "float64")
    be = backend_of(t)
    seen: list[bool] = []

    def f(a: Any) -> Any:
        seen.append(be.fused_reductions())
        return be.sums([a, a * 2.0], (0,), a.dtype)

    assert [float(v) for v in f(t)] == [4.0, 8.0]
    assert [float(v) for v in tf.function(f)(t)] == [4.0, 8.0]
    assert [float(v) for v in tf.function(f, jit_compile=True)(t)] == [4.0, 8.0]
    assert [float(v) for v in tf.function(lambda a: tf.function(f)(a), jit_compile=True)(t)] == [
        4.0,
        8.0,
    ]
    assert seen == [False, False, True, True]


def _split_fwk(fid: str) -> list[Any]:
    return [pytest.param(fid, m, id=f"{fid}-{m}") for m in ("eager", "jit")]


SPLIT_MODES = [*_split_fwk("jax"), *_split_fwk("jax_x64"), pytest.param("tensorflow", "jit")]


@pytest.mark.parametrize(("fwk", "mode"), SPLIT_MODES, indirect=["fwk"])
@pytest.mark.parametrize("k", [4096, 4096 + 1023, 300_001])
def test_split_sums_add_every_value(fwk: Framework, mode: str, k: int) -> None:
    # A single long row under XLA is summed in two levels (blocks of L, then the block sums, the
    # last K mod L values apart): integer-valued data, so any order is exact and every value
    # must be counted once. K = 4096 is the shortest row split (L = 1024, no remainder).
    dt = "float64" if "float64" in fwk.dtypes else "float32"
    top = 2**20 if dt == "float64" else 15  # float32: every partial sum below 2**24
    x = np.random.default_rng(11).integers(-top, top, (1, k)).astype(np.float64)
    t, u = fwk.make(x, dt), fwk.make(x * 2, dt)
    be = backend_of(t)
    wdt = be.native_dtype(dt)
    seen: list[int] = []

    def f(a: Any, b: Any) -> Any:
        seen.append(_portable._split_len(be, 1, k))
        return _portable._split_sums(be, [a, b], wdt)

    got = [np.asarray(fwk.to_numpy(v)) for v in (_jit(fwk, f) if mode == "jit" else f)(t, u)]
    assert seen and min(seen) >= 1024  # the split is taken
    assert [g.tolist() for g in got] == [x.sum(1).tolist(), (x * 2).sum(1).tolist()]


@pytest.mark.parametrize("fwk", ["numpy", "torch"], indirect=True)
def test_split_only_under_fused_reductions(fwk: Framework) -> None:
    # Elsewhere (separate reductions per pass, Inductor) rows keep one reduction, and the bound
    # of _row_terms its K additions; under XLA, so do two rows or more.
    be = backend_of(fwk.make(np.ones(1), "float32"))
    assert _portable._split_len(be, 1, 10**7) == 0


@pytest.mark.parametrize("fwk", ["jax_x64"], indirect=True)
def test_split_only_for_one_row(fwk: Framework) -> None:
    be = backend_of(fwk.make(np.ones(1), "float64"))
    assert [_portable._split_len(be, m, 10**7) for m in (1, 2)] == [4096, 0]
    assert [_portable._split_len(be, 1, k) for k in (4095, 4096, 10**8)] == [0, 1024, 16384]


@pytest.mark.parametrize("fwk", ["jax_x64", "tensorflow"], indirect=True)
def test_compiler_keeps_both_split_levels(fwk: Framework) -> None:
    # The bound of the tail's sum counts L + K/L + 1 additions: the optimized program must
    # still reduce in two steps (a merged reduction of K values would not be covered). Counted
    # in XLA's optimized HLO: one reduction over the blocks and one over the block sums. (XLA of
    # jaxlib 0.10 and TF 2.21 keeps them apart without _split_sums' barrier too, measured: the
    # test guards the property the bound needs, not the barrier.)
    k = 20_000
    t = fwk.make(np.ones((1, k)), "float64")
    be = backend_of(t)
    wdt = be.native_dtype("float64")
    big = 1024  # _split_len for K = 20_000

    def f(a: Any) -> Any:
        assert _portable._split_len(be, 1, k) == big
        return _portable._split_sums(be, [a, a * 3.0], wdt)

    if fwk.id == "tensorflow":
        import tensorflow as tf

        hlo = tf.function(f, jit_compile=True).experimental_get_compiler_ir(t)(
            stage="optimized_hlo"
        )
    else:
        import jax

        hlo = jax.jit(f).lower(t).compile().as_text()
    shapes = {f"f64[1,{k // big}]", f"f64[{k // big}]"}  # the block sums: (1, K // L)
    lines = [ln for ln in hlo.splitlines() if " reduce(" in ln]
    assert any(any(s in ln.split("reduce(")[0] for s in shapes) for ln in lines), "\n".join(lines)
    assert len(lines) >= 3, "\n".join(lines)  # blocks, block sums, the K mod L remainder


@pytest.mark.parametrize(("fwk", "mode"), SPLIT_MODES[2:], indirect=["fwk"])
def test_split_tail_bound_covers_its_error(fwk: Framework, mode: str) -> None:
    # _row_terms' bound on R (the tail of the extraction, summed in two levels) against R's
    # exact value, sum(x) - T_1 - .. - T_d (the T are exact), on rows whose tails are not zero.
    # (JAX with x64 off works in float32 blocks of 32, _block_terms: no rows to split.)
    from fractions import Fraction

    rng = np.random.default_rng(12)
    k = 200_003
    dt = "float64"
    x = rng.standard_normal((1, k)) * 2.0 ** rng.integers(-30, 31, (1, k))
    x = x.astype(np_dtype(dt))
    t = fwk.make(x, dt)
    be = backend_of(t)

    def f(a: Any) -> Any:
        assert _portable._split_len(be, 1, k)
        vals, terms, _ = _portable._row_terms(be, a, _portable.FORMATS[dt])
        return (*vals, terms[0])

    out = [np.asarray(fwk.to_numpy(v)) for v in (_jit(fwk, f) if mode == "jit" else f)(t)]
    *ts, r, bound = out
    exact_r = sum(map(Fraction, x[0].astype(np.float64).tolist()), Fraction(0))
    exact_r -= sum((Fraction(float(v[0])) for v in ts), Fraction(0))
    err = abs(Fraction(float(r[0])) - exact_r)
    assert err <= Fraction(float(bound[0])), f"error {float(err)} > {bound[0]}"
    assert err, "the tail summed exactly: the bound was not exercised"


@pytest.mark.parametrize("fwk", ["jax", "jax_x64", "tensorflow"], indirect=True)
def test_integer_route_long_rows_under_jit(fwk: Framework) -> None:
    # The integer route sums every window's digits in one variadic reduction under XLA; rows
    # longer than an int32 lane block (2**14: JAX x64 off) are padded once to whole blocks.
    # Values spanning the exponent range, NaN-free, with exact cancellation, bit for bit.
    k = 40_000
    for dt in [d for d in ("float32", "float64") if d in fwk.dtypes]:
        rng = np.random.default_rng(8)
        fdt = np_dtype(dt)
        emax = int(np.log2(float(np.finfo(fdt).max))) - 16
        x = rng.standard_normal((3, k)) * 2.0 ** rng.integers(-emax, emax, (3, k))
        x = x.astype(fdt)
        x[1, k // 2 :] = -x[1, : k - k // 2]  # the second row cancels to (nearly) nothing
        t = fwk.make(x, dt)
        be = backend_of(t)

        def f(a: Any) -> Any:
            return _portable._float_rows_exact(be, a, _portable.FORMATS[dt], False)

        got = np.asarray(fwk.to_numpy(_jit(fwk, f)(t)))
        want = exact_sum_along(x, (1,), False, dt)
        assert _bits(got).tolist() == _bits(want).tolist(), f"{dt}: {got} != {want}"


@pytest.mark.parametrize("fwk", ["jax_x64"], indirect=True)
def test_integer_route_temporaries_stay_small(fwk: Framework) -> None:
    # XLA's temporaries for the integer route of one float64 row of 10**6 values: 528 MB when
    # every window's digits were computed before any sum (66 int64 arrays); one variadic
    # reduction needs none of them. Measured from the compiled program, not by running it.
    import jax

    t = fwk.make(np.ones((1, 10**6)), "float64")
    be = backend_of(t)

    def f(a: Any) -> Any:
        return _portable._float_rows_exact(be, a, _portable.FORMATS["float64"], False)

    temp = jax.jit(f).lower(t).compile().memory_analysis().temp_size_in_bytes
    assert temp < 10**8, f"{temp / 1e6:.0f} MB of temporaries"


@pytest.mark.parametrize("fwk", ["jax", "jax_x64"], indirect=True)
@pytest.mark.parametrize(("op", "limit"), [("sum", 2**27), ("cumsum", 2**26)])
def test_int32_lanes_refuse_rows_past_their_limit(fwk: Framework, op: str, limit: int) -> None:
    # A TPU has int32 lanes only (its float32 work, with x64 on or off): blocks of 2**14 digits,
    # and at most 2**13 block sums (sum) or 2**14 blocks of 2**12 (cumsum) before a lane could
    # overflow. Past that the call must refuse clearly, naming the caller's length (not a padded
    # one), not wrap. Lowered on abstract shapes (no memory) for a TPU, at the limit and one past
    # it; a GPU works in int64 lanes even with x64 off and takes the longer row.
    import jax

    import unireduce as ur
    from unireduce import UnireduceValueError

    fn = getattr(ur, op)
    f = jax.jit(lambda a: fn(a, precision="exact"))
    jax.export.export(f, platforms=["tpu"])(jax.ShapeDtypeStruct((limit,), "float32"))
    past = jax.ShapeDtypeStruct((limit + 1,), "float32")
    with pytest.raises(
        UnireduceValueError, match=rf"^{op}: exact mode in int32 lanes .*, got {limit + 1}\b"
    ):
        jax.export.export(f, platforms=["tpu"])(past)
    jax.export.export(f, platforms=["cuda"])(past)


# ------------------------------------------------------------------------------ row patching
def _tie_rows(m: int, k: int, rows: list[int]) -> np.ndarray:
    """Benign float32 rows, with exact ties (1 + 2**-24: the float-only try refuses them) at
    ``rows``."""
    x = np.random.default_rng(11).standard_normal((m, k)).astype(np.float32)
    for r in rows:
        x[r] = 0.0
        x[r, 0], x[r, k - 1] = 1.0, 2.0**-24
    return x


def _spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """The row counts handed to the careful route ``name`` of ``_portable`` (eagerly a concrete
    branch runs alone, so the list shows which route ran). Eager JAX compiles the portable path
    as one program, whose conditionals trace both branches (``JaxBackend.run_compiled``): here
    it runs op by op instead, so its branches are concrete too."""
    from unireduce.backends.jax import JaxBackend

    monkeypatch.setattr(JaxBackend, "run_compiled", lambda self, fn, x, *_: fn(x))
    seen: list[int] = []
    real = getattr(_portable, name)

    def spy(be: Any, x2: Any, fmt: Any) -> Any:
        seen.append(int(x2.shape[0]))
        return real(be, x2, fmt)

    monkeypatch.setattr(_portable, name, spy)
    return seen


@pytest.mark.parametrize("fwk", ["numpy", "jax"], indirect=True)
def test_later_routes_build_their_rows_in_their_branch(fwk: Framework) -> None:
    # sum_rows(..., rows) hands the later routes rows() instead of x2, so a compiler keeps no
    # copy of x2 (e.g. a transpose) for a branch that does not run: rows() is called only when
    # the float-only try leaves a row uncertified (eagerly a concrete branch runs alone).
    calls: list[int] = []
    easy = np.random.default_rng(2).integers(-100, 100, (40, 100)).astype(np.float32) / 2
    tie = easy.copy()
    tie[3] = 0.0
    tie[3, 0], tie[3, -1] = 1.0, 2.0**-24  # an exact tie: the float-only try refuses it
    for x, want_calls in ((easy, 0), (tie, 1)):
        t = fwk.make(x, "float32")
        be = backend_of(t)

        def rows(t: Any = t) -> Any:
            calls.append(1)
            return t

        got = np.asarray(fwk.to_numpy(_portable.sum_rows(be, t, "float32", False, rows)))
        assert _bits(got).tolist() == _bits(exact_sum_along(x, (1,), False, "float32")).tolist()
        assert len(calls) == want_calls


@pytest.mark.parametrize("fwk", ["numpy", "torch", "jax", "array_api_strict"], indirect=True)
@pytest.mark.parametrize("nbad", [1, _portable.PATCH_ROWS, _portable.PATCH_ROWS + 1])
@pytest.mark.parametrize("op", ["sum", "cumsum"])
def test_uncertified_rows_are_patched_one_by_one(
    fwk: Framework, nbad: int, op: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Up to PATCH_ROWS rows the float-only try leaves uncertified are gathered and redone by the
    # careful routes alone; beyond that the whole call takes them. Eagerly (a concrete branch)
    # the rows handed to the careful route show which ran. Sums: exact ties; cumsums (which
    # certify ties): NaN prefixes.
    m, k = 100, 64
    bad = [0, m - 1, *range(7, 7 + nbad - 2)][:nbad]
    if op == "sum":
        x, route, check = _tie_rows(m, k, bad), "_careful_rows", _check
    else:  # rows of two float64-work blocks (carries)
        x = np.random.default_rng(12).standard_normal((m, 1100)).astype(np.float32)
        x[bad, 5] = np.nan
        route, check = "_careful_cum_rows", _check_cum
    seen = _spy(monkeypatch, route)
    check(fwk, "eager", x, "float32", f"{nbad} bad rows, {op}")
    assert seen == [_portable.PATCH_ROWS if nbad <= _portable.PATCH_ROWS else m]


@pytest.mark.parametrize("fwk", ["numpy", "jax"], indirect=True)
@pytest.mark.parametrize("extra", [0, 1])
def test_many_rows_patch_one_in_1024(
    fwk: Framework, extra: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Of 40,000 rows up to 39 (one in 1024) are patched one by one (10**5 normal float32 columns
    # of 1000 values left 27 uncertified, and the whole call took the careful route at 15-69x
    # native); one more sends the whole call. The failing rows include the first and the last
    # (the ends of the binary search that finds them).
    m, k = 40_000, 8
    cap = m // 1024
    assert _portable.patch_capacity(m) == cap
    bad = [0, m - 1, *range(100, 100 + 1000 * (cap - 2), 1000)][: cap + extra]
    if extra:
        bad.append(m // 2 + 1)
    # Halves of small positive integers: nonzero sums, exact in float32, which the float-only
    # try certifies (it leaves exact zeros, whose sign it does not track, to the next route);
    # ties at the bad rows.
    x = np.random.default_rng(3).integers(1, 100, (m, k)).astype(np.float32) / 2
    x[bad] = 0.0
    x[bad, 0], x[bad, k - 1] = 1.0, 2.0**-24
    seen = _spy(monkeypatch, "_careful_rows")
    _check(fwk, "eager", x, "float32", f"{len(bad)} tie rows of {m}")
    assert seen == [cap if not extra else m]
    if fwk.id == "jax":  # traced: one compiled program, both outcomes
        _check(fwk, "jit", x, "float32", f"{len(bad)} tie rows of {m}, jax.jit")


@pytest.mark.parametrize(
    ("fwk", "mode"), [m for m in MODES if m.values[1] == "jit"], indirect=["fwk"]
)
def test_patched_rows_bitwise_under_jit(fwk: Framework, mode: str) -> None:
    # One compiled program for all three outcomes (torch.compile: three took 132 s in a full
    # local run, -n 2).
    run = _row_sums(fwk, mode, "float32")
    for nbad in (1, 3, _portable.PATCH_ROWS + 1):
        x = _tie_rows(64, 100, [0, 63, 20][:nbad] if nbad <= 3 else list(range(nbad)))
        _check(fwk, mode, x, "float32", f"{nbad} tie rows", run)


@pytest.mark.parametrize("precision", ["exact", "native"])
def test_dask_zero_dim_integer_to_half(precision: str) -> None:
    # Exact mode casts integers to a float output by their bits (Backend.bitcast): dask's
    # Array.view raised IndexError on a 0-d array (CI's conformance suite at 50 examples drew
    # sum(x, dtype='float16', semantics='jax_x64', precision='exact') of a 0-d int16 0).
    import unireduce as ur

    da = pytest.importorskip("dask.array", reason="dask is not installed")
    for v in (0, -3, 2049):  # 2049 rounds to 2048 in float16
        x = da.from_array(np.array(v, np.int16), chunks=())
        got = ur.sum(x, dtype="float16", semantics="jax_x64", precision=precision).compute()
        assert got.shape == () and got.dtype == np.float16
        assert float(got) == float(np.float16(v)), (v, got)
    bits = backend_of(x).bitcast(da.from_array(np.array(-2.0, np.float16)), np.int16)
    assert bits.shape == () and int(bits.compute()) == 0xC000 - 0x10000


def test_patched_rows_bitwise_on_lazy_dask() -> None:
    # Dask is lazy: the routes are built as graphs and the adapter's cond computes the later
    # ones only when needed; the gathered rows and the scatter by rank must give the oracle's
    # bits, chunks across rows.
    da = pytest.importorskip("dask.array", reason="dask is not installed")
    x = _tie_rows(100, 64, [0, 50, 99])
    t = da.from_array(x, chunks=(30, 20))
    got = np.asarray(_exact.sum(backend_of(t), t, (1,), False, "float32", path="portable"))
    want = exact_sum_along(x, (1,), False, "float32")
    assert np.array_equal(_bits(got), _bits(want))


# ------------------------------------------------------------------------------ cond
def test_torch_compile_cond_is_a_conditional() -> None:
    # Under torch.compile the adapter's cond is torch.cond (one branch runs), not both branches
    # and a where: the captured graph holds a cond node, and both outcomes are right.
    torch = pytest.importorskip("torch", reason="torch is not installed")
    graphs: list[str] = []

    def record(gm: Any, inputs: Any) -> Any:
        graphs.append(str(gm.graph))
        return gm.forward

    be = backend_of(torch.zeros(1))

    def f(a: Any) -> Any:
        return be.cond(a.sum() > 0, lambda: a * 2, lambda: a * 3)

    torch._dynamo.reset()
    g = torch.compile(f, backend=record, fullgraph=True)
    assert g(torch.tensor([1.0, 2.0])).tolist() == [2.0, 4.0]
    assert g(torch.tensor([-1.0, -2.0])).tolist() == [-3.0, -6.0]
    assert len(graphs) == 1
    assert "torch.ops.higher_order.cond" in graphs[0]
    assert "torch.where" not in graphs[0]


@pytest.mark.parametrize("fwk", ["numpy", "torch", "tensorflow", "jax"], indirect=True)
def test_cond_runs_one_branch_eagerly(fwk: Framework) -> None:
    t = fwk.make(np.array([1.0, 2.0], dtype=np.float32), "float32")
    be = backend_of(t)
    ran: list[str] = []

    def branch(name: str, value: Any) -> Callable[[], Any]:
        def run() -> Any:
            ran.append(name)
            return value

        return run

    for pred, want in ((True, "true"), (False, "false")):
        p = be.max(t, None, False) > (0 if pred else 5)
        ran.clear()
        out = be.cond(p, branch("true", t), branch("false", t * 3))
        assert ran == [want]
        assert fwk.to_numpy(out).tolist() == ([1.0, 2.0] if pred else [3.0, 6.0])


def test_dask_cond_computes_one_branch_lazily() -> None:
    # Dask's cond computes nothing until the caller computes, and then only the branch pred
    # names: a false branch whose blocks raise is never run when pred holds (the default, both
    # branches and a where, computed the integer route on every exact call: 16 GB for the cumsum
    # of 2**24 float32 ones).
    da = pytest.importorskip("dask.array", reason="dask is not installed")
    x = da.from_array(np.array([1.0, 2.0, 3.0, 4.0]), chunks=2)
    be = backend_of(x)
    computed: list[str] = []

    def track(name: str, fail: bool = False) -> Callable[[Any], Any]:
        def block(b: Any) -> Any:
            computed.append(name)
            if fail:
                raise AssertionError(f"the {name} branch ran")
            return b * (2.0 if name == "true" else 3.0)

        return block

    for holds in (True, False):
        pred = be.max(x, None, False) < (5.0 if holds else 0.0)
        meta = np.empty((0,), x.dtype)  # no trial call of the block functions for dask's meta
        t = da.map_blocks(track("true"), x, dtype=x.dtype, meta=meta)
        f = da.map_blocks(track("false", fail=holds), x, dtype=x.dtype, meta=meta)
        computed.clear()
        built: list[str] = []

        def false_fn() -> Any:
            built.append("false")
            return f

        out = be.cond(pred, lambda: t, false_fn)
        # The false branch's graph is built only when computing finds pred false (exact mode's
        # integer route took 4 s to build for the exact float64 sum of three values).
        assert computed == [] and built == [] and isinstance(out, da.Array)
        got = out.compute().tolist()
        assert got == ([2.0, 4.0, 6.0, 8.0] if holds else [3.0, 6.0, 9.0, 12.0])
        assert "false" not in computed if holds else "false" in computed
        assert built == ([] if holds else ["false"])


def test_dask_row_patch_does_not_warn() -> None:
    # All-zero rows do not certify, so the patch gathers them by computed indices (dask.take);
    # dask's PerformanceWarning about the chunk count was an error under filterwarnings=error
    # (found by the conformance suite in CI: float16 (3, 3, 4, 3), chunks of a third).
    da = pytest.importorskip("dask.array")
    import unireduce as ur

    x_np = np.zeros((3, 3, 4, 3), dtype="float16")
    x = da.from_array(x_np, chunks=(1, 1, 2, 1))
    out = ur.reduce_sum(x, axis=0, semantics="array_api", precision="exact")
    assert (
        np.asarray(out.compute()).view(np.uint16).tolist()
        == np.zeros((3, 4, 3), np.uint16).tolist()
    )


def test_dask_cond_names_branches_that_differ() -> None:
    da = pytest.importorskip("dask.array", reason="dask is not installed")
    x = da.from_array(np.array([1.0, 2.0, 3.0, 4.0]), chunks=2)
    be = backend_of(x)
    out = be.cond(be.max(x, None, False) < 0.0, lambda: x, lambda: x[:3])
    with pytest.raises(
        AssertionError, match=r"cond: the branches differ: \(4,\) float64 against \(3,\)"
    ):
        out.compute()


@pytest.mark.parametrize("fwk", ["jax", "tensorflow"], indirect=True)
def test_cond_under_jit_selects(fwk: Framework) -> None:
    t = fwk.make(np.array([1.0, 2.0], dtype=np.float32), "float32")
    be = backend_of(t)

    def f(a: Any) -> Any:
        return be.cond(be.max(a, None, False) > 1.5, lambda: a * 2, lambda: a * 3)

    assert fwk.to_numpy(_jit(fwk, f)(t)).tolist() == [2.0, 4.0]
    small = fwk.make(np.array([1.0, 0.5], dtype=np.float32), "float32")
    assert fwk.to_numpy(_jit(fwk, f)(small)).tolist() == [3.0, 1.5]


# ------------------------------------------------------------------------------ cumsum
# Cumulative sums try a certified float-only route too (blocked extraction, exact in-block prefix
# sums of each level, carries from the blocks' totals), tracking exactness so that exact ties
# round to even; a row with any uncertified prefix takes the integer route.
def _check_cum(fw: Framework, mode: str, x: np.ndarray, dt: str, what: str) -> None:
    """Exact prefix sums of ``x`` (M, K) along axis 1 (portable path) equal the oracle's bits."""
    t = fw.make(np.ascontiguousarray(x), dt)
    be = backend_of(t)

    def f(a: Any) -> Any:
        return _exact.cumsum(be, a, 1, dt, path="portable")

    got = fw.to_numpy((_jit(fw, f) if mode == "jit" else f)(t))
    want = exact_cumsum_along(x, 1, dt)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    bad = np.argwhere(_bits(got) != _bits(want))
    assert bad.size == 0, (
        f"{what}: prefix {tuple(bad[0])}: got {got[tuple(bad[0])]!r}, want {want[tuple(bad[0])]!r}"
    )


def _benign_cum(dt: str, shape: tuple[int, int], seed: int) -> np.ndarray:
    """Random rows over 2**16 of magnitudes (early prefixes are often exact ties in float32),
    a row of ones from 2**(p + 1), where the spacing is 4 (every fourth prefix an exact tie),
    and a row with leading zeros (exact +0 prefixes)."""
    p = {"float16": 11, "float32": 24, "float64": 53}[dt]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2.0 ** rng.integers(-8, 8, shape)
    x[-1] = 1.0
    x[-1, 0] = 2.0 ** (p + 1)  # 4096 for float16: below its largest finite value
    if shape[0] > 2:
        x[1, : shape[1] // 3] = 0.0
    return x.astype(np_dtype(dt))


def _cum_cases(dt: str, k: int) -> tuple[np.ndarray, list[str]]:
    """Benign rows (certified) and every adversarial case (padded with -0.0), one (M, k) array:
    one compilation per dtype under a JIT."""
    with np.errstate(over="ignore", invalid="ignore"):
        cases = {"benign": _benign_cum(dt, (3, k), k), **_adversarial(dt, np.random.default_rng(8))}
    rows = [np.pad(x, ((0, 0), (0, k - x.shape[1])), constant_values=-0.0) for x in cases.values()]
    names = [c for c, x in cases.items() for _ in range(x.shape[0])]
    return np.concatenate(rows).astype(np_dtype(dt)), names


@pytest.mark.parametrize(("fwk", "mode"), MODES, indirect=["fwk"])
def test_cumsum_rows_bitwise(fwk: Framework, mode: str) -> None:
    # k = 1100: two blocks of float64 work, many of float32 work (carries through two levels).
    for dt in _dtypes(fwk):
        x, names = _cum_cases(dt, 1100)
        _check_cum(fwk, mode, x, dt, f"{dt} rows {names}")
        if mode == "eager":
            _check_cum(fwk, mode, _benign_cum(dt, (3, 40_000), 3), dt, f"long {dt} rows")


@pytest.mark.parametrize("fwk", FWS, indirect=True)
def test_cumsum_fast_route_certifies_benign_rows(
    fwk: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ties, exact zeros and random rows with 2**16 of spread are all certified (exactness is
    # tracked), on backends that flush subnormals too: the integer route never runs.
    seen = _spy(monkeypatch, "_careful_cum_rows")
    for dt in _dtypes(fwk):
        _check_cum(fwk, "eager", _benign_cum(dt, (4, 3000), 5), dt, f"benign {dt}")
    assert seen == []


@pytest.mark.parametrize("fwk", ["jax", "jax_x64", "tensorflow"], indirect=True)
def test_cumsum_fast_route_certifies_under_jit(fwk: Framework) -> None:
    dt = "float32"
    t = fwk.make(_benign_cum(dt, (4, 3000), 6), dt)
    be = backend_of(t)
    ok = _jit(fwk, lambda a: _portable._quick_cum_rows(be, a, _portable.FORMATS[dt])[1])(t)
    assert np.asarray(fwk.to_numpy(ok)).tolist() == [True] * 4


def _spy_tries(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """The rows and ``sparse`` flag of each float-only cumsum try that runs (the tail bounded,
    or its prefix sums), eager JAX run op by op (see :func:`_spy`)."""
    _spy(monkeypatch, "_careful_cum_rows")
    seen: list[tuple[int, bool]] = []
    real = _portable._quick_cum_rows

    def spy(be: Any, x2: Any, fmt: Any, sparse: bool = False) -> Any:
        seen.append((int(x2.shape[0]), sparse))
        return real(be, x2, fmt, sparse)

    monkeypatch.setattr(_portable, "_quick_cum_rows", spy)
    return seen


def _ordinary_rows(k: int) -> np.ndarray:
    """float32 rows of normal and uniform values and one with leading zeros, three tiny values
    each (2**-30: tails of their blocks in float64 work, of 1024 values, and in float32 work,
    of 32)."""
    rng = np.random.default_rng(21)
    x = np.concatenate(
        [rng.standard_normal((2, k)), rng.random((1, k)), rng.standard_normal((1, k))]
    )
    x[3, :3000] = 0.0
    x[:, [1500, 51300, 99000]] = 1e-9 * rng.standard_normal((4, 3))
    return x.astype(np.float32)


@pytest.mark.parametrize("fwk", FWS, indirect=True)
def test_cumsum_sparse_tail_certifies_ordinary_rows(
    fwk: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    # float32 data: the tail (values below about 2**-17 of their block's maximum in float64
    # work, 2**-25 in float32 work, JAX with x64 off) gets a bound, not prefix sums of its own
    # (a cumsum of the data less). On ordinary
    # rows with tails in a few blocks that certifies every prefix: the route with the tail's
    # prefix sums never runs.
    x = _ordinary_rows(100_000)
    be = backend_of(fwk.make(x, "float32"))
    fmt = _portable.FORMATS["float32"]
    assert _portable._sparse_cum(be, fwk.make(x, "float32"), fmt)
    assert bool(fwk.to_numpy(_portable._few_tails(be, fwk.make(x, "float32"), fmt)))
    tries = _spy_tries(monkeypatch)
    _check_cum(fwk, "eager", x, "float32", "ordinary rows")
    assert tries == [(4, True)]


@pytest.mark.parametrize("fwk", FWS, indirect=True)
def test_cumsum_of_wide_data_takes_the_tail_prefix_route_at_once(
    fwk: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Data over 2**+-40 holds a tail in every block, where the bound would fail to certify
    # prefixes (193 of 10**6 lognormal values over 2**+-13, float64 work): it skips the bounded
    # try, and the integer route never runs either.
    rng = np.random.default_rng(22)
    x = rng.standard_normal((2, 20_000)) * 2.0 ** rng.uniform(-40, 40, (2, 20_000))
    x = x.astype(np.float32)
    be = backend_of(fwk.make(x, "float32"))
    assert not bool(
        fwk.to_numpy(_portable._few_tails(be, fwk.make(x, "float32"), _portable.FORMATS["float32"]))
    )
    tries, integer = _spy_tries(monkeypatch), _spy(monkeypatch, "_careful_cum_rows")
    _check_cum(fwk, "eager", x, "float32", "wide rows")
    assert (tries, integer) == ([(2, False)], [])


def _tail_tie_rows(k: int) -> np.ndarray:
    """float32 rows whose float32 ties (1 + 2**-24) are broken by values only the tail of a
    float64-work block holds (2**-60, below 2**-41 of the block's maximum), in the first block
    and in the second (after the boundary at 1024), and a benign row. The bound covers every
    prefix of a block with a tail, the tie before the tiny value too."""
    t, s = 2.0**-24, 2.0**-60
    x = np.zeros((5, k))
    x[0, :4] = [1.0, t, s, -s]  # prefixes 1, tie (1), just above it (up), tie again (1)
    x[1, :4] = [-1.0, -t, -s, s]
    # The carry 1 + 2**-24 into the second block, whose maximum 0.5 leaves 2**-60 in its tail.
    x[2, 1020:1030] = [1.0, t, 0, 0, 0.5, -0.5, s, 0, 0, -s]
    x[3, :3] = [3.0, 2 * t, -s]  # just below a tie (3 + 2**-23): rounds down
    rng = np.random.default_rng(4)
    x[2, 2048:] = rng.standard_normal(k - 2048) if k > 2048 else 0.0  # certified later prefixes
    x[4] = rng.standard_normal(k)
    return x.astype(np.float32)


@pytest.mark.parametrize("fwk", FWS, indirect=True)
def test_cumsum_tie_broken_in_the_tail_takes_the_tail_prefix_route(
    fwk: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bound cannot tell which side of a tie such a prefix lies: after the bounded try those
    # rows take the try with the tail's prefix sums, which certifies them in float64 work; the
    # integer route never runs there. Ignoring the bound would
    # certify row 2 rounded to even (1), not up.
    # Rows of 9000: one sampled block in 64 holds a tail, so the bounded try runs.
    rng = np.random.default_rng(5)
    x = np.concatenate([_tail_tie_rows(9000), rng.standard_normal((35, 9000)).astype(np.float32)])
    t = fwk.make(x, "float32")
    be = backend_of(t)
    tries, integer = _spy_tries(monkeypatch), _spy(monkeypatch, "_careful_cum_rows")
    got = fwk.to_numpy(_portable._float_rows(be, t, _portable.FORMATS["float32"], True))
    bad = np.argwhere(_bits(np.asarray(got)) != _bits(exact_cumsum_along(x, 1, "float32")))
    assert bad.size == 0, f"prefixes {bad[:4].tolist()} wrong"
    assert tries == [(40, True), (40, False)]
    # float32 work (JAX with x64 off) does not certify these ties either: the integer route.
    assert integer == ([] if fwk.id != "jax" else [_portable.patch_capacity(40)])
    _check_cum(fwk, "eager", x, "float32", "ties broken in the tail")
    if fwk.id in ("jax", "jax_x64", "tensorflow"):
        _check_cum(fwk, "jit", x, "float32", "ties broken in the tail, compiled")


@pytest.mark.parametrize("fwk", ["numpy", "jax", "jax_x64", "tensorflow"], indirect=True)
def test_cumsum_tail_bound_refuses_only_rows_it_cannot_bound(fwk: Framework) -> None:
    x = _tail_tie_rows(1100)
    t = fwk.make(x, "float32")
    be = backend_of(t)

    def quick(a: Any) -> Any:
        return _portable._quick_cum_rows(be, a, _portable.FORMATS["float32"], True)

    for run in (quick, _jit(fwk, quick)) if fwk.id != "numpy" else (quick,):
        yo, ok = (np.asarray(fwk.to_numpy(v)) for v in run(t))
        assert ok.tolist() == [False, False, False, False, True]
        want = exact_cumsum_along(x, 1, "float32")
        assert (_bits(yo[ok]) == _bits(want[ok])).all()


def _three_word_rows(rng: np.random.Generator) -> tuple[np.ndarray, list[bool]]:
    """float32 rows of 100 whose exact prefixes need three float32 words (bits 2**-24 and
    2**-60 below the leading one) next to float32 rounding boundaries, and whether each row's
    float32 cascade rounds every prefix right (those must be certified in float32 work)."""
    k = 100
    t, s = 2.0**-24, 2.0**-60
    fixed = [
        ([1.0, t, -s], True),  # 1 + 2**-24 - 2**-60: just below the tie, rounds to 1
        ([-1.0, -t, s], True),
        ([1.0, -t / 2, s], True),  # below a power of two: the boundary is a quarter ulp away
        ([3.0, t * 2, -s, 1.0], True),  # into a new binade
        ([1.0, t, s, -s], False),  # 1 + 2**-24 + 2**-60 rounds up; the cascade holds 1
    ]
    rows, right = [], []
    for head, ok in fixed:
        rows.append(np.pad(head, (0, k - len(head))))
        right.append(ok)
    mags = 2.0 ** np.array([0, -23, -24, -25, -47, -48, -49, -60, -61])
    for _ in range(12):
        x = rng.choice(mags, k) * rng.choice([-3.0, -1.0, 1.0, 3.0], k)
        rows.append(x)
        right.append(False)  # unknown: only soundness is checked
    return np.array(rows, np.float32), right


@pytest.mark.parametrize("fwk", ["numpy", "jax"], indirect=True)
def test_cumsum_float32_work_certifies_three_word_prefixes(
    fwk: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Float32 work (JAX with x64 off, TPUs; forced on NumPy by hiding float64) holds a prefix
    # as y + e + f. Where that sum is exact it is compared with the rounding boundary exactly:
    # counting f as error refused every long row of normal float32 data (the 10**7-element row
    # of benchmarks/exact.py took the integer route, 49x jnp.cumsum).
    x, right = _three_word_rows(np.random.default_rng(11))
    t = fwk.make(x, "float32")
    be = backend_of(t)
    if fwk.id == "numpy":
        held = be.supported_dtypes() - {"float64"}
        monkeypatch.setattr(be, "supported_dtypes", lambda: held)
    fmt = _portable.FORMATS["float32"]
    assert _portable._cum_work(be, t, fmt).comps == 3
    run = _jit(fwk, lambda a: _portable._quick_cum_rows(be, a, fmt)) if fwk.id == "jax" else None
    yo, ok = (
        fwk.to_numpy(v) for v in (run or (lambda a: _portable._quick_cum_rows(be, a, fmt)))(t)
    )
    want = exact_cumsum_along(x, 1, "float32")
    same = (_bits(np.asarray(yo)) == _bits(want)).all(axis=1)
    assert not (ok & ~same).any(), f"rows {np.flatnonzero(ok & ~same)} certified but wrong"
    assert ok[np.array(right)].all(), f"rows {np.flatnonzero(np.array(right) & ~ok)} refused"


@pytest.mark.parametrize("nwords", [2, 3])
@pytest.mark.parametrize("fwk", ["numpy", "jax"], indirect=True)
def test_certificate_of_three_exact_words(fwk: Framework, nwords: int) -> None:
    # V = y + e + f exactly (float32 words; f = 0 and not passed for two words): certified
    # exactly when y is V correctly rounded, ties to even included, also next to powers of two,
    # where the boundary below is a quarter ulp away.
    rng = np.random.default_rng(12)
    n = 4000
    y = (rng.integers(1 << 23, 1 << 24, n) * 2.0 ** rng.integers(-40, 40, n)).astype(np.float32)
    y[::4] = 2.0 ** rng.integers(-40, 40, n // 4 + (n % 4 > 0))  # powers of two
    y[1::2] *= -1
    ulp = np.spacing(np.abs(y)).astype(np.float64)
    frac = rng.choice([0.5, -0.5, 0.25, -0.25, 0.5 - 2**-20, -0.25 + 2**-20, 0.0], n)
    e = (frac * ulp).astype(np.float32)
    f = (rng.choice([0.0, 1.0, -1.0], n) * ulp * 2.0 ** -rng.integers(20, 40, n)).astype(np.float32)
    if nwords == 2:
        f[:] = 0.0
    words = np.stack([y, e, f], 1)
    want = exact_sum_along(words, (1,), False, "float32")
    assert (want != y).any() and (want == y).any()
    be = backend_of(fwk.make(y, "float32"))
    fmt = _portable.FORMATS["float32"]
    ty, te, tf_ = (fwk.make(v, "float32") for v in (y, e, f))

    def cert(a: Any, b: Any, c: Any) -> Any:
        third = None if nwords == 2 else c
        return _portable._certify(be, a, b, abs(c), fmt, fmt, exact=a == a, third=third)

    run = _jit(fwk, cert) if fwk.id == "jax" else cert
    yo, ok = (np.asarray(fwk.to_numpy(v)) for v in run(ty, te, tf_))
    right = _bits(yo) == _bits(want)
    assert not (ok & ~right).any(), f"certified wrong: {words[ok & ~right][:3]!r}"
    assert ok[right].all(), f"refused though right: {words[right & ~ok][:3]!r}"


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dt", ["float16", "float32", "float64"])
@pytest.mark.parametrize("case", [c for c, _ in REFUSED])
def test_cumsum_certificate_on_adversarial_rows(dt: str, case: str, sparse: bool) -> None:
    # A certified row is right whatever the data. NaN or inf, an exact result that overflows or
    # is subnormal, and all -0 prefixes are never certified; ties and cancellation may be (the
    # route tracks exactness), and must then be right.
    with np.errstate(over="ignore", invalid="ignore"):
        x = _adversarial(dt, np.random.default_rng(3))[case]
    be = backend_of(x)
    quick = _portable._quick_cum_rows(be, x, _portable.FORMATS[dt], sparse)
    yo, ok = (np.asarray(v) for v in quick)
    want = exact_cumsum_along(x, 1, dt)
    same = (_bits(yo) == _bits(want)).all(axis=1)
    assert not (ok & ~same).any(), f"{case}: a wrong row was certified"
    if case in ("special", "overflow", "zeros", "subnormal"):
        assert not ok.any(), f"{case}: rows {np.flatnonzero(ok)} certified"
