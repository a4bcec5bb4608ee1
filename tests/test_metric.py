"""``ur.Sum`` (issue 6): Keras semantics, exactness, merge, serialisation, atomicity, threads, jit.

Expected values come from outside the code under test: ``keras.metrics.Sum`` itself (TensorFlow
backend) on the cases where Keras is exact, and otherwise the exact weighted total computed with
Python ``Fraction``\\ s and rounded by ``unireduce._exactmath.round_exact`` (Python-int rounding
that shares no arithmetic with the metric). Parametrized by framework id, so a failure names it.
"""

from __future__ import annotations

import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pickle
import threading
import weakref
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import unireduce as ur
from tests._frameworks import FRAMEWORKS, Framework, installed, np_dtype
from unireduce._exactmath import round_exact

FWS = ("numpy", "torch", "tensorflow", "jax", "jax_x64")
FLOATS = ("float16", "bfloat16", "float32", "float64")


@pytest.fixture(params=FWS)
def fwk(request: pytest.FixtureRequest) -> Iterator[Framework]:
    fw = FRAMEWORKS[request.param]()
    if not installed(fw.module):
        pytest.skip(f"{fw.module} is not installed (install unireduce[all] to test {fw.id})")
    with fw.active():
        yield fw


def arr(fw: Framework, values: Any, dtype: str) -> Any:
    return fw.array(values, dtype)


def out_np(fw: Framework, r: Any) -> np.ndarray:
    return np.asarray(fw.to_numpy(r))


def has64(fw: Framework) -> bool:
    return "float64" in fw.dtypes


# ------------------------------------------------------------------------------ the oracle
def _frac(v: Any) -> Fraction | float:
    if isinstance(v, (bool, np.bool_)):
        return Fraction(int(v))
    if isinstance(v, (int, np.integer)):
        return Fraction(int(v))
    f = float(v)  # float16/bfloat16/float32/float64: exact in a Python float
    return Fraction(f) if np.isfinite(f) else f


def exact_total(values: np.ndarray, weights: np.ndarray | None, out: str) -> Any:
    """Σ v·w exactly (IEEE specials for the products), rounded to ``out`` (float) or an int."""
    w = np.ones((), np.int8) if weights is None else weights
    vb, wb = np.broadcast_arrays(values, w)
    total = Fraction(0)
    nan = pinf = ninf = False
    for a, b in zip(vb.reshape(-1).tolist(), wb.reshape(-1).tolist(), strict=True):
        fa, fb = _frac(a), _frac(b)
        if isinstance(fa, float) or isinstance(fb, float):
            p = float(fa) * float(fb)
            nan |= p != p
            pinf |= p == np.inf
            ninf |= p == -np.inf
            continue
        total += fa * fb
    if out not in FLOATS:
        return int(total)
    if nan or (pinf and ninf):
        return np.array(np.nan, np_dtype(out))
    if pinf or ninf:
        return np.array(np.inf if pinf else -np.inf, np_dtype(out))
    den = total.denominator
    e = den.bit_length() - 1
    assert den == 1 << e
    return np.asarray(round_exact(total.numerator, -e, out))


def same_bits(got: np.ndarray, want: Any) -> bool:
    want = np.asarray(want)
    if got.dtype != want.dtype or got.shape != want.shape:
        return False
    if want.dtype.kind == "f" or want.dtype == np_dtype("bfloat16"):
        if np.isnan(want.astype(np.float64)):
            return bool(np.isnan(got.astype(np.float64)))
        u = f"uint{want.dtype.itemsize * 8}"
        return bool(got.view(u) == want.view(u))
    return bool(got == want)


# ------------------------------------------------------------------------------ Keras
@pytest.fixture(scope="module")
def keras_sum() -> Any:
    pytest.importorskip("keras")
    import keras  # type: ignore[import-untyped]

    if keras.backend.backend() != "tensorflow":  # pragma: no cover - the default here
        pytest.skip("keras is not on its TensorFlow backend")

    def run(updates: list[tuple[Any, Any]], dtype: str | None = None) -> np.ndarray:
        m = keras.metrics.Sum(dtype=dtype)
        for v, w in updates:
            m.update_state(v, sample_weight=w)
        return np.asarray(m.result())

    return run


f32 = np.float32
# (id, updates [(values, weights)]) where Keras's float32 arithmetic is exact.
KERAS_CASES: list[tuple[str, list[tuple[Any, Any]]]] = [
    ("values", [(np.array([1, 3, 5, 7], f32), None)]),
    ("weights", [(np.array([1, 3, 5, 7], f32), np.array([1, 1, 0, 0], f32))]),
    ("w_4x1_vs_4", [(np.array([1, 3, 5, 7], f32), np.ones((4, 1), f32) * [[1], [1], [0], [0]])]),
    ("v_4x1_vs_w_4", [(np.array([[1], [3], [5], [7]], f32), np.array([1, 1, 0, 0], f32))]),
    ("per_row", [(np.array([[1, 2], [3, 4]], f32), np.array([1, 0], f32))]),
    ("scalar_w", [(np.array([1, 3, 5, 7], f32), np.array(2.0, f32))]),
    ("len1_w", [(np.array([1, 3, 5, 7], f32), np.array([2.0], f32))]),
    ("w_1x1", [(np.array([1, 3, 5, 7], f32), np.array([[2.0]], f32))]),
    ("v_2x3x1_w_2x3", [(np.ones((2, 3, 1), f32), np.ones((2, 3), f32))]),
    ("int32_half_w", [(np.array([1, 3, 5, 7], np.int32), np.full(4, 0.5, f32))]),
    ("bool", [(np.array([True, False, True]), None)]),
    ("float16_big", [(np.array([65504, 65504], np.float16), None)]),
    ("nan", [(np.array([1, np.nan, 3], f32), None)]),
    ("inf", [(np.array([1, np.inf, 3], f32), None)]),
    ("nan_weight", [(np.array([1, 3, 5, 7], f32), np.array([np.nan, 1, 1, 1], f32))]),
    ("inf_times_0", [(np.array([np.inf, 1], f32), np.array([0, 1], f32))]),
    ("two_updates", [(np.array([1, 2], f32), None), (np.array([3], f32), None)]),
    ("empty", [(np.zeros((0,), f32), None)]),
    ("negative_zero", [(np.array([-0.0], f32), None)]),
]


@pytest.mark.parametrize("case", [c[0] for c in KERAS_CASES])
def test_equals_keras_where_keras_is_exact(fwk: Framework, keras_sum: Any, case: str) -> None:
    updates = dict(KERAS_CASES)[case]
    want = keras_sum(updates)
    m = ur.Sum()
    for v, w in updates:
        dn = "bfloat16" if v.dtype == np_dtype("bfloat16") else v.dtype.name
        wv = None if w is None else arr(fwk, w, w.dtype.name)
        m.update_state(arr(fwk, v, dn), sample_weight=wv)
    r = m.result()
    assert ur.backend_name(r) == fwk.backend
    assert fwk.dtype_of(r) == "float32"
    assert same_bits(out_np(fwk, r), want), (out_np(fwk, r), want)


def test_keras_python_inputs(keras_sum: Any) -> None:
    m = ur.Sum()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    m.update_state(2.0)
    assert same_bits(np.asarray(m.result()), keras_sum([([1, 3, 5, 7], [1, 1, 0, 0]), (2.0, None)]))


def test_keras_doc_examples(fwk: Framework) -> None:
    m = ur.Sum()
    assert float(out_np(fwk, ur.Sum(backend=fwk.backend).result())) == 0.0
    m.update_state(arr(fwk, [1, 3, 5, 7], "float32"))
    assert float(out_np(fwk, m.result())) == 16.0
    m.reset_state()
    r = m.result()
    assert ur.backend_name(r) == fwk.backend and float(out_np(fwk, r)) == 0.0
    got = m(arr(fwk, [1, 3, 5, 7], "int32"), sample_weight=arr(fwk, [1, 1, 0, 0], "int32"))
    assert float(out_np(fwk, got)) == 4.0
    m.reset_states()
    assert float(out_np(fwk, m.result())) == 0.0


def test_fresh_metric_without_backend_is_numpy_zero() -> None:
    r = ur.Sum().result()
    assert isinstance(r, np.ndarray) and r.dtype == np.float32 and r.shape == () and r == 0


# ------------------------------------------------------------------------------ exactness
def test_ten_million_tenths(fwk: Framework, keras_sum: Any) -> None:
    """10^7 × float32(0.1) in 1,000 updates: exact 1000000.0149... rounds to 1000000.0."""
    x = np.full(10_000, 0.1, f32)
    want = Fraction(float(f32(0.1))) * 10**7
    assert abs(float(want) - 1000000.0149011612) < 1e-6
    m = ur.Sum()
    xa = arr(fwk, x, "float32")
    for _ in range(1000):
        m.update_state(xa)
    assert same_bits(out_np(fwk, m.result()), np.array(1000000.0, f32))
    if fwk.id == "numpy":  # Keras drifts (once is enough: it runs on TensorFlow whatever fwk is)
        assert float(keras_sum([(x, None)] * 1000)) == 1000000.0625


def _case_data(rng: np.random.Generator, kind: str, dtype: str, n: int) -> np.ndarray:
    dt = np_dtype(dtype)
    if dtype == "bool":
        return rng.integers(0, 2, n).astype(bool)
    if dtype not in FLOATS:
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
    import ml_dtypes

    fi = ml_dtypes.finfo(dt)
    tiny, big = float(fi.smallest_subnormal), float(fi.max)
    with np.errstate(all="ignore"):
        if kind == "normal":
            v = rng.standard_normal(n)
        elif kind == "range":
            lo, hi = int(np.log2(tiny)), int(np.log2(big))
            v = rng.standard_normal(n) * np.exp2(rng.integers(lo, hi, n).astype(float))
        elif kind == "cancel":
            base = rng.choice([big, big / 3, 1e4, -1e4], n // 2)
            v = np.concatenate([base, -base, rng.standard_normal(n - 2 * (n // 2)) * tiny * 8])
            rng.shuffle(v)
        else:  # "edge": subnormals, extremes, signed zeros
            v = rng.choice([tiny, -tiny, big, -big, 0.0, -0.0, 1.0, tiny * 3], n)
        return v.astype(dt)


def _spec_dtypes(fw: Framework, out: str) -> list[str]:
    ints: list[str] = [
        d
        for d in ("bool", "int8", "uint8", "int16", "int32", "uint32", "int64", "uint64")
        if d in fw.dtypes
    ]
    if out not in FLOATS:
        return ints
    return [d for d in FLOATS if d in fw.dtypes] + ints


@pytest.mark.parametrize("out", ["float32", "float64", "float16", "bfloat16"])
def test_exact_reference_floats(fwk: Framework, out: str) -> None:
    """Random, wide-range, cancelling and edge data, every value and weight dtype mixed."""
    if out not in fwk.dtypes:  # JAX with x64 off: no float64, refused up front
        with pytest.raises(ur.DTypeError, match="cannot hold"):
            ur.Sum(dtype=out, backend=fwk.backend)
        return
    rng = np.random.default_rng([FWS.index(fwk.id), FLOATS.index(out)])
    m = ur.Sum(dtype=out)
    seen: list[tuple[np.ndarray, np.ndarray | None]] = []
    choices = _spec_dtypes(fwk, out)
    for step, kind in enumerate(["normal", "range", "cancel", "edge"] * 2):
        dv = str(rng.choice(choices))
        dw = None if step == 0 else str(rng.choice(choices))
        n = int(rng.integers(0, 40))
        v = _case_data(rng, kind, dv, n)
        w = None if dw is None else _case_data(rng, kind, dw, n)
        m.update_state(arr(fwk, v, dv), None if w is None or dw is None else arr(fwk, w, dw))
        # Keras casts floats to the metric dtype first; exact for every float `out` can hold.
        seen.append((_keras_cast(v, out), None if w is None else _keras_cast(w, out)))
    total = None
    for v, w in seen:
        part = exact_fraction(v, w)
        total = part if total is None else _add_parts(total, part)
    want = _round_parts(total, out)
    assert same_bits(out_np(fwk, m.result()), want)


def _keras_cast(a: np.ndarray, out: str) -> np.ndarray:
    if a.dtype.kind != "f" and a.dtype != np_dtype("bfloat16"):
        return a
    with np.errstate(over="ignore"):
        return a.astype(np_dtype(out))


def exact_fraction(v: np.ndarray, w: np.ndarray | None) -> tuple[Fraction, bool, bool, bool]:
    wb = np.ones((), np.int8) if w is None else w
    vb, wbb = np.broadcast_arrays(v, wb)
    total = Fraction(0)
    nan = pinf = ninf = False
    for a, b in zip(vb.reshape(-1).tolist(), wbb.reshape(-1).tolist(), strict=True):
        fa, fb = _frac(a), _frac(b)
        if isinstance(fa, float) or isinstance(fb, float):
            p = float(fa) * float(fb)
            nan, pinf, ninf = nan or p != p, pinf or p == np.inf, ninf or p == -np.inf
        else:
            total += fa * fb
    return total, nan, pinf, ninf


def _add_parts(a: Any, b: Any) -> tuple[Fraction, bool, bool, bool]:
    return a[0] + b[0], a[1] or b[1], a[2] or b[2], a[3] or b[3]


def _round_parts(parts: Any, out: str) -> np.ndarray:
    total, nan, pinf, ninf = parts
    if nan or (pinf and ninf):
        return np.array(np.nan, np_dtype(out))
    if pinf or ninf:
        return np.array(np.inf if pinf else -np.inf, np_dtype(out))
    e = total.denominator.bit_length() - 1
    return np.asarray(round_exact(total.numerator, -e, out))


@pytest.mark.parametrize("fid", ["numpy", "torch", "tensorflow"])
def test_many_chunks_cancel_exactly(fid: str) -> None:
    """An update larger than one eager chunk (about 2**17 digits): x and -x cancel exactly."""
    fw = FRAMEWORKS[fid]()
    pytest.importorskip(fw.module)
    rng = np.random.default_rng(8)
    x = (rng.standard_normal(150_000) * np.exp2(rng.integers(-100, 100, 150_000))).astype(f32)
    small = np.array([1e-45, 3e-39, 0.1], f32)
    v = np.concatenate([x, -x, small])
    rng.shuffle(v)
    w = np.ones_like(v)
    w[v == small[2]] = 3.0
    m = ur.Sum()
    m.update_state(arr(fw, v, "float32"), arr(fw, w, "float32"))
    want = exact_total(small, np.array([1, 1, 3], f32), "float32")
    assert same_bits(out_np(fw, m.result()), want)


def test_exact_huge_cancellation(fwk: Framework) -> None:
    """Products far outside float32's range cancel exactly; an intermediate inf never appears."""
    big = np.array([3e38, 3e38, -3e38, 1e-45], f32)
    w = np.array([3e38, -3e38, 3e38, 1e-45], f32)
    m = ur.Sum()
    m.update_state(arr(fwk, big, "float32"), arr(fwk, w, "float32"))
    m.update_state(arr(fwk, [1.5e-45], "float32"))
    # 9e76 - 9e76 - 9e76 + ~2e-90 + 1.4e-45 -> -9e76 overflows float32: -inf, as rounding says.
    assert same_bits(
        out_np(fwk, m.result()),
        exact_total(
            np.concatenate([big, [f32(1.5e-45)]]), np.concatenate([w, [f32(1)]]), "float32"
        ),
    )
    m2 = ur.Sum()
    m2.update_state(arr(fwk, big[:2], "float32"), arr(fwk, w[:2], "float32"))
    m2.update_state(arr(fwk, [1e-45, 1e-45], "float32"), arr(fwk, [3.0, 1e-45], "float32"))
    want = exact_total(np.array([1e-45, 1e-45], f32), np.array([3.0, 1e-45], f32), "float32")
    assert same_bits(out_np(fwk, m2.result()), want)  # 3 subnormal ulps: exactly 4.2e-45
    assert float(out_np(fwk, m2.result())) == float(f32(1e-45)) * 3


def test_integer_result_exact_and_checked(fwk: Framework) -> None:
    m = ur.Sum(dtype="int32")
    m.update_state(arr(fwk, [2**31 - 1, 2**31 - 1], "int32"))  # the running total passes int32
    with pytest.raises(ur.IntegerOverflowError, match="does not fit"):
        m.result()
    m.update_state(arr(fwk, [-(2**31) + 5], "int32"), arr(fwk, [2], "int32"))
    r = m.result()  # 2**32 - 2 - 2**32 + 10
    assert fwk.dtype_of(r) == "int32"
    assert int(out_np(fwk, r)) == 8
    m.update_state(arr(fwk, [2**30, 2**30], "int32"))
    with pytest.raises(ur.IntegerOverflowError):
        m.result()
    m.update_state(arr(fwk, [-(2**30)], "int32"), arr(fwk, [True], "bool"))
    assert int(out_np(fwk, m.result())) == 2**30 + 8


@pytest.mark.parametrize("wshape", [(6,), (6, 1)])
@pytest.mark.parametrize(
    ("dv", "dw"), [("int32", "float16"), ("int8", "float32"), ("float32", "int32")]
)
def test_weights_broadcast_against_integer_rows(
    fwk: Framework, dv: str, dw: str, wshape: tuple[int, ...]
) -> None:
    # Integer values (6, 3) with float weights (6,) or (6, 1): the integers' exponent is a
    # constant and the weights' an array of the weights' shape; both must spread to the
    # products' (6, 3) (an IndexError before: "size of axis is 12 but ... 36").
    rng = np.random.default_rng(11)
    v = (rng.integers(-9, 9, (6, 3)) + rng.random((6, 3)) * (dv == "float32")).astype(dv)
    w = rng.standard_normal(wshape) * 3 if dw != "int32" else rng.integers(-5, 5, wshape)
    w = w.astype(np_dtype(dw))
    m = ur.Sum()
    m.update_state(arr(fwk, v, dv), arr(fwk, w, dw))
    m.update_state(arr(fwk, v[:2], dv), arr(fwk, w[:2], dw))
    want = _round_parts(
        _add_parts(exact_fraction(v, w.reshape(6, 1)), exact_fraction(v[:2], w[:2].reshape(2, 1))),
        "float32",
    )
    assert same_bits(out_np(fwk, m.result()), want)


def test_integer_min_and_unsigned(fwk: Framework) -> None:
    m = ur.Sum(dtype="int8")
    m.update_state(arr(fwk, [-100, -28], "int8"))
    assert int(out_np(fwk, m.result())) == -128
    m.update_state(arr(fwk, [-1], "int8"))
    with pytest.raises(ur.IntegerOverflowError):
        m.result()
    u = ur.Sum(dtype="uint8")
    u.update_state(arr(fwk, [200, 100], "uint8"), arr(fwk, [1, -1], "int8"))
    assert int(out_np(fwk, u.result())) == 100
    u.update_state(arr(fwk, [101], "int16"), arr(fwk, [-1], "int16"))
    with pytest.raises(ur.IntegerOverflowError):
        u.result()


def test_integer_64bit_products() -> None:
    m = ur.Sum(dtype="int64")
    v = np.array([2**63 - 1, -(2**63)], np.int64)
    w = np.array([2**62, 2**62], np.int64)
    m.update_state(v, w)  # (2**63-1)·2**62 - 2**63·2**62 = -2**62
    assert int(m.result()) == -(2**62)
    u = ur.Sum(dtype="uint64")
    u.update_state(np.array([2**64 - 1], np.uint64), np.array([1], np.uint64))
    assert int(u.result()) == 2**64 - 1
    assert u.result().dtype == np.uint64


# ------------------------------------------------------------------------------ NaN policy
def test_nan_strategies(fwk: Framework) -> None:
    v = arr(fwk, [1, np.nan, 3, np.inf], "float32")
    w = arr(fwk, [1, 5, 1, 0], "float32")  # inf·0 is NaN too
    prop = ur.Sum()
    prop.update_state(v, w)
    assert np.isnan(out_np(fwk, prop.result()))
    ign = ur.Sum(nan_strategy="ignore")
    ign.update_state(v, w)  # drops the NaN value with its weight 5, and inf·0
    ign.update_state(arr(fwk, [2, 2], "float32"), arr(fwk, [np.nan, 1], "float32"))
    assert float(out_np(fwk, ign.result())) == 6.0
    ign.update_state(arr(fwk, [np.inf], "float32"))
    assert float(out_np(fwk, ign.result())) == np.inf
    err = ur.Sum(nan_strategy="error")
    err.update_state(arr(fwk, [1, 2], "float32"))
    before = err.state_dict()
    with pytest.raises(ur.UnireduceValueError, match="NaN"):
        err.update_state(v, w)
    assert err.state_dict() == before
    assert float(out_np(fwk, err.result())) == 3.0


def test_nan_strategies_native(fwk: Framework) -> None:
    ign = ur.Sum(nan_strategy="ignore", precision="native")
    ign.update_state(arr(fwk, [1, np.nan, 3], "float32"), arr(fwk, [1, 9, 1], "float32"))
    assert float(out_np(fwk, ign.result())) == 4.0
    err = ur.Sum(nan_strategy="error", precision="native", backend=fwk.backend)
    with pytest.raises(ur.UnireduceValueError):
        err.update_state(arr(fwk, [1, np.nan], "float32"))
    assert err.state is None and float(out_np(fwk, err.result())) == 0.0


# ------------------------------------------------------------------------------ native mode
def test_native_precision(fwk: Framework) -> None:
    big = arr(fwk, [2.0**24], "float32")
    one = arr(fwk, [1.0], "float32")
    native, exact = ur.Sum(precision="native"), ur.Sum()
    for m in (native, exact):
        m.update_state(big)
        m.update_state(one)
        m.update_state(one)
    # float32 accumulation loses each +1 (a tie, to even); the exact total is 2**24 + 2.
    assert float(out_np(fwk, native.result())) == 2.0**24
    assert float(out_np(fwk, exact.result())) == 2.0**24 + 2
    i8 = ur.Sum(dtype="int8", precision="native")
    i8.update_state(arr(fwk, [100, 100], "int8"))
    assert int(out_np(fwk, i8.result())) == -56  # wraps as Keras's int8 variable does


# ------------------------------------------------------------------------------ merge
def test_merge_is_exact_and_order_free(fwk: Framework) -> None:
    rng = np.random.default_rng(7)
    parts = [
        (
            rng.standard_normal(50).astype(f32) * np.exp2(rng.integers(-40, 40, 50)).astype(f32),
            rng.standard_normal(50).astype(f32),
        )
        for _ in range(4)
    ]
    metrics = []
    whole = ur.Sum()
    for v, w in parts:
        m = ur.Sum()
        m.update_state(arr(fwk, v, "float32"), arr(fwk, w, "float32"))
        whole.update_state(arr(fwk, v, "float32"), arr(fwk, w, "float32"))
        metrics.append(m)
    a = ur.Sum()
    a.merge_state(metrics)
    b = ur.Sum()
    b.merge_state(metrics[::-1][:2])
    c = ur.Sum()
    c.merge_state(metrics[::-1][2:])
    b.merge_state([c])
    want = _round_parts(
        _add_parts(
            _add_parts(exact_fraction(*parts[0]), exact_fraction(*parts[1])),
            _add_parts(exact_fraction(*parts[2]), exact_fraction(*parts[3])),
        ),
        "float32",
    )
    for got in (a, b, whole):
        assert same_bits(out_np(fwk, got.result()), want)
    # functional merge
    s = ur.Sum.merge(metrics[0].state, metrics[1].state)
    s = ur.Sum.merge(s, ur.Sum.merge(metrics[3].state, metrics[2].state))
    assert same_bits(out_np(fwk, ur.Sum.result(s)), want)


def test_merge_rejects_mismatches(fwk: Framework) -> None:
    a = ur.Sum()
    a.update_state(arr(fwk, [1.0], "float32"))
    with pytest.raises(ur.UnireduceValueError):
        a.merge_state([ur.Sum(dtype="int32")])
    with pytest.raises(ur.UnireduceValueError):
        a.merge_state([ur.Sum(precision="native")])
    other = ur.Sum()
    other.update_state(_other_backend_array(fwk))
    before = a.state_dict()
    with pytest.raises(ur.BackendError):
        a.merge_state([other])
    assert a.state_dict() == before


# ------------------------------------------------------------------------------ serialisation
def test_state_dict_round_trip(fwk: Framework) -> None:
    m = ur.Sum(name="loss_sum", nan_strategy="ignore")
    m.update_state(arr(fwk, [1e-30, 3.0, -2.5, np.nan], "float32"), arr(fwk, [3, 1, 1, 1], "int8"))
    d = m.state_dict()
    assert d["total"] * Fraction(2) ** d["exponent"] == (
        Fraction(float(f32(1e-30))) * 3 + Fraction(1, 2)
    )
    n = ur.Sum.from_config(m.get_config())
    assert n.get_config() == m.get_config() and n.name == "loss_sum"
    n.load_state_dict(d)
    assert n.state_dict() == d
    assert same_bits(out_np(fwk, m.result()), out_np(fwk, n.result()))
    # a snapshot loads onto another backend (exact value, not lanes)
    k = ur.Sum(nan_strategy="ignore")
    k.load_state_dict(d)
    assert same_bits(
        np.asarray(k.result()) if k.backend == "numpy" else out_np(fwk, k.result()),
        out_np(fwk, m.result()),
    )
    pm = pickle.loads(pickle.dumps(m)) if fwk.id in ("numpy", "torch", "jax", "jax_x64") else m
    assert same_bits(out_np(fwk, pm.result()), out_np(fwk, m.result()))


def test_state_dict_native_and_bad(fwk: Framework) -> None:
    m = ur.Sum(precision="native", dtype="float16" if "float16" in fwk.dtypes else None)
    m.update_state(arr(fwk, [1.5, 2.25], "float32"))
    d = m.state_dict()
    assert d["total"] == 3.75
    n = ur.Sum(precision="native", dtype=m.dtype, backend=fwk.backend)
    n.load_state_dict(d)
    assert float(out_np(fwk, n.result())) == 3.75
    with pytest.raises(ur.UnireduceValueError):
        ur.Sum().load_state_dict(d)  # precision differs
    with pytest.raises(ur.UnireduceValueError):
        ur.Sum().load_state_dict({"format": "other"})
    with pytest.raises(ur.UnireduceValueError):
        ur.Sum.from_config({"dtype": "float32", "unknown": 1})


# ------------------------------------------------------------------------------ atomicity
def _other_backend_array(fw: Framework) -> Any:
    if fw.id != "numpy":
        return np.array([1.0], f32)
    torch = pytest.importorskip("torch")
    return torch.tensor([1.0])


def _bad_inputs(fw: Framework) -> dict[str, tuple[type[Exception], Any, Any]]:
    other = _other_backend_array(fw)
    cases: dict[str, tuple[type[Exception], Any, Any]] = {
        "weights_do_not_broadcast": (
            ur.UnireduceValueError,
            arr(fw, [1, 2, 3, 4], "float32"),
            arr(fw, [1, 1, 0], "float32"),
        ),
        "weights_rank_too_high": (
            ur.UnireduceValueError,
            arr(fw, [1, 2], "float32"),
            arr(fw, np.ones((2, 1, 1)), "float32"),
        ),
        "weights_enlarge_values": (
            ur.UnireduceValueError,
            arr(fw, [1.0], "float32"),
            arr(fw, [1, 2, 3], "float32"),
        ),
        "strings": (ur.DTypeError, ["a", "b"], None),
        "complex": (ur.DTypeError, arr(fw, [1 + 2j], "complex64"), None),
        "none": (ur.UnireduceTypeError, None, None),
        "dict": (ur.UnireduceTypeError, {"a": 1}, None),
        "object": (ur.BackendError, object(), None),
    }
    cases["other_backend_values"] = (ur.BackendError, other, None)
    cases["other_backend_weights"] = (ur.BackendError, arr(fw, [1.0], "float32"), other)
    return cases


@pytest.mark.parametrize(
    "case",
    [
        "weights_do_not_broadcast",
        "weights_rank_too_high",
        "weights_enlarge_values",
        "strings",
        "complex",
        "none",
        "dict",
        "object",
        "other_backend_values",
        "other_backend_weights",
    ],
)
def test_bad_input_leaves_state_unchanged(fwk: Framework, case: str) -> None:
    exc, values, weights = _bad_inputs(fwk)[case]
    m = ur.Sum()
    m.update_state(arr(fwk, [0.5, 0.25], "float32"), arr(fwk, [2, 4], "int32"))
    before = m.state_dict()
    with pytest.raises(exc):
        m.update_state(values, weights)
    assert m.state_dict() == before
    assert float(out_np(fwk, m.result())) == 2.0
    fresh = ur.Sum(backend=fwk.backend)
    with pytest.raises(exc):
        fresh.update_state(values, weights)
    assert fresh.state is None and fresh.state_dict()["total"] == 0


def test_float_into_integer_metric_is_refused(fwk: Framework) -> None:
    m = ur.Sum(dtype="int32")
    m.update_state(arr(fwk, [1, 2], "int32"))
    with pytest.raises(ur.DTypeError, match="integer Sum"):
        m.update_state(arr(fwk, [1.5, 2.5], "float32"))
    with pytest.raises(ur.DTypeError):
        m.update_state(arr(fwk, [1, 2], "int32"), arr(fwk, [0.5, 0.5], "float32"))
    assert int(out_np(fwk, m.result())) == 3


def test_wrong_device_torch() -> None:
    torch = pytest.importorskip("torch")
    m = ur.Sum()
    m.update_state(torch.tensor([1.0, 2.0]))
    before = m.state_dict()
    with pytest.raises(ur.BackendError, match="device"):
        m.update_state(torch.ones(2, device="meta"))
    with pytest.raises(ur.BackendError, match="device"):
        m.update_state(torch.ones(2), torch.ones(2, device="meta"))
    assert m.state_dict() == before


def test_backend_fixed_by_argument() -> None:
    torch = pytest.importorskip("torch")
    m = ur.Sum(backend="torch")
    assert isinstance(m.result(), torch.Tensor)
    with pytest.raises(ur.BackendError):
        m.update_state(np.array([1.0]))
    m.update_state([1.0, 2.0])  # Python data joins the metric's backend
    assert isinstance(m.result(), torch.Tensor) and float(m.result()) == 3.0
    with pytest.raises(ur.BackendError):
        ur.Sum(backend="no_such_backend")


def test_arguments_are_validated() -> None:
    with pytest.raises(ur.UnireduceValueError, match="nan_strategy"):
        ur.Sum(nan_strategy="warn")
    with pytest.raises(ur.UnireduceValueError, match="precision"):
        ur.Sum(precision="double")
    with pytest.raises(ur.DTypeError):
        ur.Sum(dtype="complex64")
    with pytest.raises(ur.DTypeError):
        ur.Sum(dtype="bool")
    with pytest.raises(ur.UnireduceTypeError):
        ur.Sum(name=3)  # type: ignore[arg-type]
    assert ur.Sum(dtype=np.float64).dtype == "float64"


def test_dtype_objects_of_frameworks(fwk: Framework) -> None:
    native = {"numpy": np.float16, "torch": "torch.float16", "tensorflow": "tf.float16"}
    if fwk.module == "torch":
        import torch

        d: Any = torch.float16
    elif fwk.module == "tensorflow":
        import tensorflow as tf

        d = tf.float16
    elif fwk.module == "jax":
        import jax.numpy as jnp

        d = jnp.float16
    else:
        d = native["numpy"]
    m = ur.Sum(dtype=d)
    assert m.dtype == "float16"
    m.update_state(arr(fwk, [65504, 65504], "float16"), arr(fwk, [1, -1], "float16"))
    assert fwk.dtype_of(m.result()) == "float16" and float(out_np(fwk, m.result())) == 0.0


def test_jax_without_x64_has_no_float64() -> None:
    jax = pytest.importorskip("jax")
    with FRAMEWORKS["jax"]().active():
        assert not jax.config.jax_enable_x64
        with pytest.raises(ur.DTypeError, match="x64"):
            ur.Sum(dtype="float64", backend="jax")


# ------------------------------------------------------------------------------ threads
def test_threads_lose_nothing(fwk: Framework) -> None:
    m = ur.Sum(dtype="int64" if "int64" in fwk.dtypes else "int32")
    x = arr(fwk, np.arange(1, 101, dtype=np.int32), "int32")
    m.update_state(x)  # fixes backend and device before the race

    def work() -> None:
        for _ in range(20):
            m.update_state(x)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert int(out_np(fwk, m.result())) == 5050 * (1 + 6 * 20)


# ------------------------------------------------------------------------------ jit and compile
@pytest.mark.parametrize("fid", ["jax", "jax_x64"])
def test_jax_jit_functional(fid: str) -> None:
    pytest.importorskip("jax")
    with FRAMEWORKS[fid]().active():
        _jax_jit_functional()


def _jax_jit_functional() -> None:
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(3)
    v = rng.standard_normal((8, 32)).astype(f32) * 1e3
    w = rng.standard_normal(8).astype(f32)

    @jax.jit
    def run(v: Any, w: Any) -> Any:
        s = ur.Sum.init(backend="jax", nan_strategy="ignore")
        for i in range(4):
            s = ur.Sum.update(s, v[2 * i : 2 * i + 2], w[2 * i : 2 * i + 2])
        half = ur.Sum.update(ur.Sum.init(backend="jax"), v[:0], None)
        return ur.Sum.result(ur.Sum.merge(s, half))

    got = np.asarray(run(jnp.asarray(v), jnp.asarray(w)))
    want = _round_parts(exact_fraction(v, w[:, None]), "float32")
    assert same_bits(got, want)
    state = jax.jit(ur.Sum.update)(ur.Sum.init(backend="jax"), jnp.asarray(v), jnp.asarray(w))
    assert isinstance(state, ur._metric.SumState)
    assert same_bits(np.asarray(jax.jit(ur.Sum.result)(state)), want)


def test_tf_function_functional() -> None:
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(4)
    v = rng.standard_normal((6, 5)).astype(f32) * 1e5
    w = rng.standard_normal(6).astype(f32)

    @tf.function
    def step(state: Any, v: Any, w: Any) -> Any:
        return ur.Sum.update(state, v, w)

    s = ur.Sum.init(backend="tensorflow")
    for i in range(3):
        s = step(s, tf.constant(v[2 * i : 2 * i + 2]), tf.constant(w[2 * i : 2 * i + 2]))
    assert step.experimental_get_tracing_count() == 1
    got = tf.function(ur.Sum.result)(s).numpy()
    assert same_bits(np.asarray(got), _round_parts(exact_fraction(v, w[:, None]), "float32"))
    merged = tf.function(ur.Sum.merge)(s, s)
    assert float(ur.Sum.result(merged)) == 2 * float(got)


@pytest.mark.parametrize("fid", ["jax", "tensorflow"])
@pytest.mark.parametrize("where", ["values", "sample_weight"])
def test_object_form_refuses_traced_input_and_keeps_its_state(fid: str, where: str) -> None:
    # Under jax.jit and tf.function a traced state stored on the object escapes its trace: the
    # metric was broken from then on (jax: UnexpectedTracerError at the next result()).
    pytest.importorskip(fid)
    m = ur.Sum()
    v = np.array([1.5, 2.5, 4.0], dtype=f32)
    w = np.array([1.0, 1.0, 2.0], dtype=f32)

    def step(a: Any, b: Any) -> Any:
        if where == "values":
            m.update_state(a)
        else:  # the values a NumPy constant, only the weights traced
            m.update_state(v, b)
        return m.result()

    if fid == "jax":
        import jax
        import jax.numpy as jnp

        mk: Any = jnp.asarray
        jit: Any = jax.jit
    else:
        import tensorflow as tf

        mk = tf.constant
        jit = lambda f: tf.function(f, autograph=False)  # noqa: E731
    compiled = jit(step)
    m.update_state(mk(v))
    with pytest.raises(ur.UnireduceTypeError, match=r"^Sum.update_state: got a .* traced by "):
        compiled(mk(v), mk(w))
    assert float(np.asarray(m.result())) == 8.0  # the eager update only, and still usable
    m.update_state(mk(v), mk(w))
    assert float(np.asarray(m.result())) == 20.0
    # A traced state merged into the object escapes the same way.
    merge = jit(lambda a: m.merge_state(ur.Sum.update(ur.Sum.init(backend=fid), a)))
    with pytest.raises(ur.UnireduceTypeError, match=r"^Sum.merge_state: got a .* traced by "):
        merge(mk(v))
    assert float(np.asarray(m.result())) == 20.0

    def local(a: Any, b: Any) -> Any:  # a metric made inside the trace stays inside it
        inner = ur.Sum()
        inner.update_state(a, b)
        inner.merge_state(ur.Sum.update(ur.Sum.init(backend=fid), a))
        return inner.result()

    assert float(np.asarray(jit(local)(mk(v), mk(w)))) == 20.0


@pytest.mark.parametrize("transform", ["vmap", "grad"])
def test_object_form_refuses_torch_func_input_and_keeps_its_state(transform: str) -> None:
    # A tensor wrapped by a torch.func transform, stored on the metric, outlived the transform:
    # after vmap the next result() raised "your tensor may have escaped from inside a function
    # being vmapped". Under grad the wrapper was stored too (the update's gradient silently
    # zero); refused the same way, as jax.grad's tracers are.
    torch = pytest.importorskip("torch")
    tf_ = getattr(torch.func, transform)
    m = ur.Sum()
    m.update_state(torch.tensor([1.5, 2.5]))

    def step(a: Any) -> Any:
        m.update_state(a)
        return m.result()

    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(
        ur.UnireduceTypeError, match=r"^Sum.update_state: got a torch .* torch.func"
    ):
        tf_(step)(x if transform == "vmap" else x[0])
    merge = tf_(lambda a: m.merge_state([ur.Sum.update(ur.Sum.init(backend="torch"), a)]))
    with pytest.raises(ur.UnireduceTypeError, match=r"^Sum.merge_state: got a torch .* torch.func"):
        merge(x if transform == "vmap" else x[0])
    assert float(m.result()) == 4.0  # the eager update only, and still usable
    m.update_state(x)
    assert float(m.result()) == 14.0

    def local(a: Any) -> Any:  # a metric made inside the transform stays inside it
        inner = ur.Sum(precision="native")
        inner.update_state(a)
        inner.merge_state([ur.Sum.update(ur.Sum.init(backend="torch", precision="native"), a)])
        return inner.result()

    if transform == "vmap":
        assert torch.equal(torch.func.vmap(local)(x), torch.tensor([6.0, 14.0]))
    else:  # the object form is a constant to autodiff (test_object_form_holds_no_autodiff_graph)
        grad, value = torch.func.grad_and_value(local)(x[0])
        assert float(value) == 6.0 and torch.equal(grad, torch.zeros(2))


def _grad_of(fid: str, f: Callable[[Any], Any], x: np.ndarray) -> np.ndarray | None:
    """The gradient of the 0-d ``f`` at ``x`` by ``fid``'s autodiff (``None``: not connected)."""
    if fid == "torch":
        import torch

        t = torch.tensor(x, requires_grad=True)
        out = f(t)
        if not out.requires_grad:
            return None
        out.backward()
        return None if t.grad is None else t.grad.numpy()
    if fid == "tensorflow":
        import tensorflow as tf

        v = tf.Variable(x)
        with tf.GradientTape() as tape:
            out = f(v.read_value())
        g = tape.gradient(out, v)
        return None if g is None else g.numpy()
    import jax

    g = np.asarray(jax.grad(f)(jax.numpy.asarray(x)))
    return None if not g.any() else g  # JAX's gradient of a constant is zeros


@pytest.mark.parametrize("precision", ["native", "exact"])
@pytest.mark.parametrize("fid", ["torch", "tensorflow", "jax"])
def test_object_form_holds_no_autodiff_graph(fid: str, precision: str) -> None:
    # The object form stops gradients, as torchmetrics (updates under
    # torch.set_grad_enabled(False)) and Keras (state in variables) do. A native-mode torch
    # metric held every update's autograd graph: the whole model's tensors stayed alive.
    pytest.importorskip(fid)
    x = np.array([1.0, 2.0, 3.0], dtype=f32)

    def f(t: Any) -> Any:
        m = ur.Sum(precision=precision)
        m.update_state(t * t)
        return m.result()

    assert _grad_of(fid, f, x) is None
    if fid == "torch":
        import torch

        m = ur.Sum(precision=precision)
        alive = []
        for _ in range(3):
            w = torch.ones(4, requires_grad=True)
            alive.append(weakref.ref(w))
            m.update_state((w * w).sum())
            del w
        gc.collect()
        assert [r() for r in alive] == [None] * 3
        assert float(m.result()) == 12.0


@pytest.mark.parametrize("fid", ["torch", "tensorflow", "jax"])
def test_functional_form_gradient(fid: str) -> None:
    # Native mode: the state is the running total, differentiable as the framework's own sum
    # (d/dx of sum(w * x) is w). Exact mode: integer limbs, a constant to autodiff.
    pytest.importorskip(fid)
    x = np.array([1.0, 2.0, 3.0], dtype=f32)
    w = np.array([0.5, 2.0, 0.0], dtype=f32)

    def f(precision: str) -> Callable[[Any], Any]:
        def g(t: Any) -> Any:
            state = ur.Sum.init(backend=fid, precision=precision)
            return ur.Sum.result(ur.Sum.update(state, t, w.tolist()))

        return g

    got = _grad_of(fid, f("native"), x)
    assert got is not None and np.array_equal(got, w)
    assert _grad_of(fid, f("exact"), x) is None


def test_torch_compile_object_form_fullgraph() -> None:
    torch = pytest.importorskip("torch")
    m = ur.Sum(nan_strategy="ignore")
    m.update_state(torch.zeros(1))  # backend and device fixed eagerly

    # aot_eager: Dynamo's full-graph capture and AOTAutograd, without Inductor's C++ build time.
    @torch.compile(fullgraph=True, backend="aot_eager")
    def step(v: Any, w: Any) -> Any:
        m.update_state(v, w)
        return m.result()

    rng = np.random.default_rng(5)
    vs = rng.standard_normal((3, 16)).astype(f32) * 1e6
    ws = rng.standard_normal((3, 16)).astype(f32)
    for i in range(3):
        got = step(torch.from_numpy(vs[i]), torch.from_numpy(ws[i]))
    assert same_bits(got.numpy(), _round_parts(exact_fraction(vs, ws), "float32"))


@pytest.mark.parametrize("fid", ["jax", "tensorflow", "torch"])
def test_traced_int_result_overflow_is_checked(fid: str) -> None:
    # Sum.result inside a compiled function: the exact int8 total 100 + 28 = 128 does not fit,
    # 100 + 27 = 127 does. The check is attached to the graph (Backend.guard) and raises when it
    # runs: jax.jit re-raises it as JaxRuntimeError, tf.function as InvalidArgumentError, both
    # naming IntegerOverflowError; torch.compile raises the class itself.
    pytest.importorskip(fid)
    if fid == "jax":
        import jax
        import jax.numpy as jnp

        read = jax.jit(ur.Sum.result)
        mk = jnp.asarray
        err: Any = jax.errors.JaxRuntimeError
    elif fid == "tensorflow":
        import tensorflow as tf

        read = tf.function(ur.Sum.result)
        mk = tf.constant
        err = tf.errors.InvalidArgumentError
    else:
        import torch

        read = torch.compile(ur.Sum.result, fullgraph=True, backend="aot_eager")
        mk = torch.tensor
        err = ur.IntegerOverflowError

    def state(last: int) -> Any:
        s = ur.Sum.init(backend=fid, dtype="int8")
        return ur.Sum.update(s, mk(np.array([100, last], dtype=np.int8)))

    def value(r: Any) -> int:  # forces the (asynchronous) computation
        return int(np.asarray(r) if fid == "jax" else r.numpy())

    assert value(read(state(27))) == 127
    with pytest.raises(err, match=r"does not fit the result dtype int8"):
        value(read(state(28)))


# ------------------------------------------------------------------------------ dask (local)
def test_dask_array_update_is_chunking_independent() -> None:
    da = pytest.importorskip("dask.array")
    import dask

    rng = np.random.default_rng(6)
    v = rng.standard_normal((60, 3)).astype(f32) * np.exp2(rng.integers(-60, 60, (60, 3)))
    v = v.astype(f32)
    w = rng.standard_normal(60).astype(f32)
    want = _round_parts(exact_fraction(v, w[:, None]), "float32")
    with dask.config.set(scheduler="synchronous"):
        for chunks in ((7, 2), (60, 3), (1, 1)):
            m = ur.Sum()
            m.update_state(da.from_array(v, chunks=chunks), da.from_array(w, chunks=chunks[0]))
            assert same_bits(np.asarray(m.result()), want)
        bad = ur.Sum()
        with pytest.raises(ur.UnireduceValueError):
            bad.update_state(da.from_array(v, chunks=7), da.from_array(w[:10], chunks=7))
        assert bad.state is None


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_dask_update_computes_what_values_and_weights_share_once(scheduler: str) -> None:
    # Each array's blocks by their own keys, unoptimized: to_delayed() optimized the values'
    # and the weights' graphs apart, and dask's blockwise fusion then ran every block of a
    # map_blocks both share twice (dask 2026.8).
    da = pytest.importorskip("dask.array")
    import dask

    calls: list[tuple[int, ...]] = []

    def counted(b: np.ndarray) -> np.ndarray:
        calls.append(b.shape)
        return b * 1.0

    x = da.from_array(np.arange(12.0), chunks=3).map_blocks(counted, meta=np.empty(0))
    m = ur.Sum()
    with dask.config.set(scheduler=scheduler):
        m.update_state(x, x + 1.0)  # weights from the same blocks
    assert float(m.result()) == sum(i * (i + 1) for i in range(12))
    assert len(calls) == 4, calls
