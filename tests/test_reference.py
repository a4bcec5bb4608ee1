"""unireduce.reference: exact results (derived by hand here), the frontend's errors, the bounds."""

from __future__ import annotations

from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import unireduce as ur
from unireduce import reference as ref
from unireduce._capabilities import Capabilities
from unireduce.reference import Reference

F32 = np.float32
BF16 = ml_dtypes.bfloat16
NO_64 = frozenset(ur._dtypes.ALL_DTYPES) - {"int64", "uint64", "float64", "complex128"}


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


# ------------------------------------------------------------------------------------------
# values, by hand


@pytest.mark.parametrize(
    "values, dtype, expected",
    [
        ([2.0**24, 1.0, 1.0], F32, 2.0**24 + 2),  # a float32 loop would stay at 2**24
        ([2048.0, 1.0], np.float16, 2048.0),  # 2049 is a tie: to even
        ([2048.0, 1.0, 1.0], np.float16, 2050.0),
        ([65504.0, 65504.0, -65504.0], np.float16, 65504.0),  # no intermediate overflow
        ([65504.0, 65504.0], np.float16, np.inf),
        ([65504.0, 15.0], np.float16, 65504.0),  # below max + half an ulp (65520)
        ([65504.0, 16.0], np.float16, np.inf),  # the tie at 65520 rounds to even: 2**16, inf
        ([256.0, 1.0], BF16, 256.0),  # 257 is a tie in bfloat16
        ([0.1] * 10, np.float64, 1.0),  # exact sum 1.0000000000000000555 rounds to 1.0
    ],
)
def test_float_sums_are_correctly_rounded(
    values: list[float], dtype: object, expected: float
) -> None:
    out = ref.sum(np.array(values, dtype=dtype))
    assert out.dtype == np.dtype(dtype) and out.shape == ()
    assert float(out) == expected


def test_sum_of_tenths_is_the_exact_sum_rounded_once() -> None:
    x = np.array([0.1] * 3, dtype=F32)
    exact = 3 * Fraction(float(F32(0.1)))
    # The float32 nearest to the exact sum, found by comparing neighbours exactly.
    cands = [
        F32(float(exact)),
        np.nextafter(F32(float(exact)), F32(1)),
        np.nextafter(F32(float(exact)), F32(0)),
    ]
    best = min(cands, key=lambda c: abs(Fraction(float(c)) - exact))
    assert float(ref.sum(x)) == float(best)


@pytest.mark.parametrize(
    "values, expected_bits",
    [
        ([-0.0, -0.0], np.float64(-0.0)),
        ([-0.0], np.float64(-0.0)),
        ([-0.0, 0.0], np.float64(0.0)),
        ([], np.float64(0.0)),
        ([1.0, -1.0], np.float64(0.0)),
    ],
)
def test_signed_zeros_follow_ieee_addition(values: list[float], expected_bits: np.float64) -> None:
    assert _bits(ref.sum(np.array(values, dtype=np.float64))) == _bits(np.asarray(expected_bits))


@pytest.mark.parametrize(
    "values, expected",
    [
        ([np.inf, -np.inf], "nan"),
        ([np.nan, 1.0], "nan"),
        ([np.inf, 1.0], "inf"),
        ([-np.inf], "-inf"),
    ],
)
def test_special_values(values: list[float], expected: str) -> None:
    out = float(ref.sum(np.array(values, dtype=F32)))
    assert repr(out) == expected


def test_integers_wrap_or_promote_by_profile() -> None:
    x = np.array([100, 100], dtype=np.int8)
    assert ref.reduce_sum(x).item() == -56 and ref.reduce_sum(x).dtype == np.int8
    assert ref.sum(x).item() == 200 and ref.sum(x).dtype == np.int64
    u = np.array([200, 100], dtype=np.uint8)
    assert ref.sum(u).dtype == np.uint64 and ref.sum(u).item() == 300
    assert ref.sum(u, semantics="torch").dtype == np.int64
    big = np.array([2**63 - 1, 1], dtype=np.int64)
    assert ref.sum(big).item() == -(2**63)  # two's complement wrap


def test_the_default_integer_follows_the_backend_under_test() -> None:
    jax32 = Reference(NO_64, default_int="int32")
    x = np.array([2**31 - 1, 1], dtype=np.int32)
    out = jax32.sum(x)
    assert out.dtype == np.int32 and out.item() == -(2**31)
    with pytest.raises(ur.DTypeError):
        jax32.sum(x, semantics="torch")  # int64 result, not held by the backend
    with pytest.raises(ur.DTypeError):
        jax32.sum(x, dtype="float64")


def test_reference_like_a_backend() -> None:
    r = Reference.like(ur.get_backend("numpy"))
    assert r.default_int == "int64" and "bfloat16" in r.dtypes


@pytest.mark.parametrize(
    "value, dtype, expected",
    [
        (2**53 + 1, "float32", 2.0**53),
        (257, "bfloat16", 256.0),  # tie, to even
        (259, "bfloat16", 260.0),  # tie, to even (upwards)
        (65519, "float16", 65504.0),
        (65520, "float16", np.inf),
        (-(2**63), "float16", -np.inf),
    ],
)
def test_dtype_casts_round_once(value: int, dtype: str, expected: float) -> None:
    out = ref.sum(np.array([value], dtype=np.int64), dtype=dtype)
    assert out.dtype.name == dtype and float(out) == expected


def test_float_to_float_cast_is_exact_then_rounded() -> None:
    x = np.array([1.0 + 2.0**-24], dtype=np.float64)  # a tie between 1 and 1 + 2**-23 in float32
    assert float(ref.sum(x, dtype="float32")) == 1.0
    x = np.array([1.0 + 2.0**-24 + 2.0**-40], dtype=np.float64)
    assert float(ref.sum(x, dtype="float32")) == 1.0 + 2.0**-23


def test_axes_and_keepdims() -> None:
    x = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    out = ref.sum(x, axis=(0, 2), keepdims=True)
    assert out.shape == (1, 3, 1)
    assert out.reshape(-1).tolist() == [
        sum(x[i, j, k] for i in range(2) for k in range(4)) for j in range(3)
    ]
    assert ref.sum(x, axis=()).dtype == np.int64 and ref.sum(x, axis=()).shape == x.shape
    assert ref.sum(x, axis=(), semantics="torch").shape == ()  # torch: () means every axis


def test_cumulative_sums() -> None:
    x = np.array([1, 2, 3], dtype=np.int32)
    assert ref.cumsum(x, exclusive=True).tolist() == [0, 1, 3]
    assert ref.cumsum(x, reverse=True).tolist() == [6, 5, 3]
    assert ref.cumsum(x, exclusive=True, reverse=True).tolist() == [5, 3, 0]
    assert ref.cumulative_sum(x, include_initial=True).tolist() == [0, 1, 3, 6]
    m = np.array([[1, 2], [3, 4]], dtype=np.int8)
    assert ref.cumsum(m, semantics="numpy").tolist() == [1, 3, 6, 10]  # flattens
    assert ref.cumsum(m, 1).tolist() == [[1, 3], [3, 7]]
    assert ref.cumsum(np.array(5, dtype=np.int8), 0, semantics="torch").shape == ()
    assert ref.cumsum(np.array(5, dtype=np.int8), semantics="numpy").shape == (1,)
    f16 = np.ones(4096, dtype=np.float16)
    assert float(ref.cumsum(f16)[-1]) == 4096.0  # exact prefixes: no stall at 2048


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.sum(x, axis=3),
        lambda m, x: m.sum(x, axis=(0, 0)),
        lambda m, x: m.sum(x, axis=1.0),
        lambda m, x: m.sum(x, axis=True),
        lambda m, x: m.sum(x, keepdims=1),
        lambda m, x: m.sum(x, dtype="bool"),
        lambda m, x: m.sum(x, dtype="float8"),
        lambda m, x: m.sum(x, semantics="nope"),
        lambda m, x: m.sum(x, axis=[0], semantics="numpy"),
        lambda m, x: m.sum(x, dtype="int8", semantics="tensorflow"),
        lambda m, x: m.reduce_sum(x.astype(bool)),
        lambda m, x: m.reduce_sum(x, name=3),
        lambda m, x: m.cumsum(x),
        lambda m, x: m.cumsum(x, (0, 1)),
        lambda m, x: m.cumsum(x, 0, exclusive=True, include_initial=True),
        lambda m, x: m.cumsum(x, 0, reverse=1),
        lambda m, x: m.cumulative_sum(x, axis=2),
        lambda m, x: m.cumulative_sum(x[0, 0], semantics="tensorflow"),
        lambda m, x: m.cumsum(x[0, 0], 0, include_initial=True, semantics="torch"),
        lambda m, x: m.sum(x, semantics="jax"),  # int64 input, which JAX x64-off would narrow
        lambda m, x: m.sum(x, precision="fast"),
        lambda m, x: m.sum(x, axis=(), precision=None),
        lambda m, x: m.reduce_sum(x, precision="Exact"),
        lambda m, x: m.cumsum(x, 0, precision=1),
        lambda m, x: m.cumulative_sum(x, axis=1, precision=""),
        lambda m, x: m.sum(x, axis=3, precision="fast"),  # the axis is refused first
        lambda m, x: m.cumsum(x, 0, exclusive=True, include_initial=True, precision="fast"),
        lambda m, x: m.sum(x * 40, dtype="int8", precision="exact", semantics="torch"),
        lambda m, x: m.sum(x * 40, axis=(), dtype="int8", precision="exact"),
        lambda m, x: m.cumsum(x * 20, 1, dtype="int8", precision="exact"),
    ],
)
def test_errors_are_the_frontends(call: object) -> None:
    x = np.arange(6, dtype=np.int64).reshape(2, 3)
    with pytest.raises(ur.UnireduceError) as theirs:
        call(ur, x)  # type: ignore[operator]
    with pytest.raises(ur.UnireduceError) as ours:
        call(ref, x)  # type: ignore[operator]
    assert type(ours.value) is type(theirs.value)


def test_exact_precision_checks_integers_and_keeps_floats() -> None:
    # precision="exact": the same values; an integer output whose exact value does not fit
    # raises instead of wrapping (intermediate values do not count).
    i8 = np.array([100, 27, -3], dtype=np.int8)
    assert ref.sum(i8, dtype="int8", precision="exact").tolist() == 124
    assert ref.sum(np.array([100, 28, -3], dtype=np.int8), dtype="int8", precision="exact") == 125
    with pytest.raises(ur.IntegerOverflowError, match="130 does not fit the output dtype int8"):
        ref.sum(np.array([100, 30], dtype=np.int8), dtype="int8", precision="exact")
    assert ref.sum(np.array([100, 30], dtype=np.int8), dtype="int8").tolist() == -126  # native
    with pytest.raises(ur.IntegerOverflowError, match="128 does not fit"):
        ref.reduce_sum(np.array([127, 1], dtype=np.int8), precision="exact")
    with pytest.raises(ur.IntegerOverflowError, match="-1 does not fit the output dtype uint8"):
        ref.sum(np.array([[-1, 2]], dtype=np.int16), axis=(), dtype="uint8", precision="exact")
    # cumsum: every output's prefix, not the dropped total of exclusive=True
    c = np.array([100, 27, 50], dtype=np.int8)
    with pytest.raises(ur.IntegerOverflowError, match="177"):
        ref.cumsum(c, dtype="int8", precision="exact")
    assert ref.cumsum(c, dtype="int8", exclusive=True, precision="exact").tolist() == [0, 100, 127]
    with pytest.raises(ur.IntegerOverflowError, match="177"):  # suffix sums 177, 77, 27
        ref.cumsum(
            np.array([100, 50, 27], dtype=np.int8), dtype="int8", reverse=True, precision="exact"
        )
    r = np.array([120, 20, 7], dtype=np.int8)  # reverse exclusive: 27, 7, 0 (147 dropped)
    assert ref.cumsum(
        r, dtype="int8", reverse=True, exclusive=True, precision="exact"
    ).tolist() == [27, 7, 0]
    f = np.array([2.0**24, 1.0, 1.0], dtype=np.float32)
    assert ref.sum(f, precision="exact").item() == ref.sum(f).item() == 2.0**24 + 2


def test_non_numpy_input_is_refused() -> None:
    with pytest.raises(ur.BackendError, match="NumPy"):
        ref.sum([1, 2])  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=6),
    dtype=st.sampled_from(["int8", "int16", "int32", "int64", "uint8", "uint32", "bool"]),
    profile=st.sampled_from(ur.profiles()),
    fn=st.sampled_from(["sum", "reduce_sum", "cumsum"]),
)
def test_integer_results_match_python_int_sums(
    values: list[int], dtype: str, profile: str, fn: str
) -> None:
    x = np.array(values, dtype=np.int64).astype(dtype)  # wraps into dtype
    try:
        out = (
            getattr(ref, fn)(x, semantics=profile)
            if fn != "cumsum"
            else ref.cumsum(x, 0, semantics=profile)
        )
    except ur.UnireduceError:
        return
    ints = [int(v) for v in x.tolist()]
    bits = out.dtype.itemsize * 8
    signed = out.dtype.kind == "i"

    def wrap(n: int) -> int:
        n &= (1 << bits) - 1
        return n - (1 << bits) if signed and n >= 1 << (bits - 1) else n

    if fn == "cumsum":
        sums, acc = [], 0
        for v in ints:
            acc += v
            sums.append(wrap(acc))
        assert out.tolist() == sums
    else:
        assert out.item() == wrap(sum(ints))


# ------------------------------------------------------------------------------------------
# error bounds


def test_bound_accepts_any_order_and_rejects_a_lost_element() -> None:
    x = np.array([1.0, 2.0**-24, 2.0**-24], dtype=F32)
    exact = float(ref.sum(x))
    assert exact == 1.0 + 2.0**-23
    bound = float(ref.error_bound("sum", x))
    left_to_right = float((F32(1.0) + F32(2.0**-24)) + F32(2.0**-24))  # 1.0: two ties to even
    assert abs(left_to_right - exact) <= bound
    # (n-1)·u·Σ|x| + half an ulp: 2·2**-24·(1 + 2**-23) + 2**-24, a little above 3·2**-24.
    assert Fraction(bound) >= 2 * Fraction(1, 2**24) * (1 + Fraction(1, 2**23)) + Fraction(1, 2**24)
    assert bound < 4 * 2.0**-24
    assert abs(float(F32(1.0)) + 2.0**-20 - exact) > bound


def test_bound_uses_the_profiles_accumulator() -> None:
    x = np.full(1000, 0.1, dtype=np.float16)
    narrow = float(ref.error_bound("sum", x, semantics="array_api"))  # adds in float16
    wide = float(ref.error_bound("sum", x, semantics="numpy"))  # adds in float32
    assert wide < narrow
    u16, u32 = 2.0**-11, 2.0**-24
    total = float(np.abs(x.astype(np.float64)).sum())
    assert narrow >= 999 * u16 * total
    assert wide < 999 * u32 * total * 1.01 + 2 * 2.0**-11 * 64  # plus two half-ulps at ~100


def test_bound_covers_flushed_subnormals_only_when_declared() -> None:
    x = np.full(4, 1e-40, dtype=F32)  # subnormal in float32
    flushing = Capabilities(flushes_subnormals=("cpu",))
    strict = float(ref.error_bound("sum", x))
    loose = float(ref.error_bound("sum", x, capabilities=flushing, device="cpu:0"))
    assert strict < 1e-45  # subnormal sums are exact
    assert loose >= float(ref.sum(x))  # a result of 0 passes
    assert float(ref.error_bound("sum", x, capabilities=flushing, device="cuda:0")) == strict


def test_bounds_have_the_results_shape() -> None:
    x = np.ones((2, 3, 4), dtype=F32)
    assert ref.error_bound("sum", x, axis=(0, 2), keepdims=True).shape == (1, 3, 1)
    assert ref.error_bound("cumsum", x, axis=1, include_initial=True).shape == (2, 4, 4)
    b = ref.error_bound("cumsum", x, axis=2, exclusive=True, reverse=True)
    assert b.shape == x.shape and (b[..., -1] == 0).all()  # the padded zero is exact
    assert ref.error_bound("sum", x.astype(np.int8)).tolist() == 0.0
    c = ref.error_bound("sum", np.array([1 + 1j, 2e10 + 0j], dtype=np.complex64))
    assert c.dtype == np.complex128 and c.real > c.imag  # one bound per component


def test_bound_is_infinite_where_an_intermediate_may_overflow() -> None:
    x = np.array([65504.0, 65504.0, -65504.0], dtype=np.float16)
    assert float(ref.error_bound("sum", x)) == np.inf
