"""Tests of the exact arithmetic core of the reference (``unireduce._exactmath``).

Expected values come from hand-worked cases, ``math.fsum`` (float64, correctly rounded), a slow
oracle written here (exact ``Fraction`` sums rounded half to even by comparing the neighbours that
``np.nextafter`` gives) and Python ints modulo ``2**bits``; never from the module itself.
"""

from __future__ import annotations

import math
from collections import defaultdict
from fractions import Fraction
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from unireduce import _exactmath as em
from unireduce._errors import AxisError, DTypeError, UnireduceValueError

NP = {
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
    "float32": np.dtype(np.float32),
    "float64": np.dtype(np.float64),
}
UINT = {16: np.uint16, 32: np.uint32, 64: np.uint64}
INTS = {
    "int8": (8, True),
    "int16": (16, True),
    "int32": (32, True),
    "int64": (64, True),
    "uint8": (8, False),
    "uint16": (16, False),
    "uint32": (32, False),
    "uint64": (64, False),
}
FLOATS = list(NP)
SETTINGS = settings(
    deadline=None,
    max_examples=150,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# ---------------------------------------------------------------------------------------------
# independent oracles


def finfo_max(name: str) -> float:
    info = ml_dtypes.finfo(NP[name]) if name == "bfloat16" else np.finfo(NP[name])
    return float(info.max)


def lsb(v: Any, name: str) -> int:
    return int(np.array(v, dtype=NP[name]).view(UINT[NP[name].itemsize * 8])) & 1


def step(v: Any, name: str, toward: float) -> Any:
    arr = np.array(v, dtype=NP[name])
    with np.errstate(over="ignore"):  # the step above the largest finite is inf
        return np.nextafter(arr, np.array(toward, dtype=NP[name]))[()]


def oracle_round(s: Fraction, name: str) -> float:
    """``s`` rounded to nearest, ties to even, in dtype ``name`` (as a Python float)."""
    mx = finfo_max(name)
    below = float(step(mx, name, 0.0))
    threshold = Fraction(mx) + (Fraction(mx) - Fraction(below)) / 2
    if s >= threshold:
        return math.inf
    if s <= -threshold:
        return -math.inf
    if s == 0:
        return 0.0
    with np.errstate(over="ignore"):
        c = np.array(float(s)).astype(NP[name])[()]  # within one ulp of the answer
    if math.isinf(float(c)):
        c = np.array(math.copysign(mx, float(c))).astype(NP[name])[()]
    cands = [step(c, name, -math.inf), c, step(c, name, math.inf)]
    cands = [v for v in cands if math.isfinite(float(v))]
    best = min(cands, key=lambda v: (abs(Fraction(float(v)) - s), lsb(v, name)))
    return float(best)


def oracle_sum(xs: list[float], name: str) -> float:
    """IEEE 754 sum of the floats ``xs`` (already values of dtype ``name``), by the spec."""
    if any(math.isnan(v) for v in xs):
        return math.nan
    pos, neg = math.inf in xs, -math.inf in xs
    if pos and neg:
        return math.nan
    if pos or neg:
        return math.inf if pos else -math.inf
    s = sum((Fraction(v) for v in xs), Fraction(0))
    if s == 0:
        all_neg_zero = bool(xs) and all(v == 0 and math.copysign(1, v) < 0 for v in xs)
        return -0.0 if all_neg_zero else 0.0
    return oracle_round(s, name)


def ref_wrap(n: int, name: str) -> int:
    bits, signed = INTS[name]
    n %= 2**bits
    if signed and n >= 2 ** (bits - 1):
        n -= 2**bits
    return n


def same_float(got: Any, expected: float) -> bool:
    g = float(got)
    if math.isnan(expected):
        return math.isnan(g)
    return g == expected and math.copysign(1, g) == math.copysign(1, expected)


def cast(v: float, name: str) -> float:
    with np.errstate(over="ignore"):
        return float(np.array(v).astype(NP[name])[()])


def floats_of(name: str) -> st.SearchStrategy[float]:
    """Finite values of dtype ``name``: uniform bit patterns (every exponent) and small integers
    times powers of two (cancellations and rounding ties)."""
    bits = NP[name].itemsize * 8
    patterns = st.integers(0, 2**bits - 1).map(
        lambda b: float(np.array(b, dtype=UINT[bits]).view(NP[name])[()])
    )
    scaled = st.builds(
        lambda m, e: cast(m * 2.0**e, name),
        st.integers(-(2**12), 2**12),
        st.integers(-30, 30),
    )
    return st.one_of(patterns, scaled).filter(math.isfinite)


def float_lists(name: str, max_size: int = 30) -> st.SearchStrategy[list[float]]:
    return st.lists(floats_of(name), max_size=max_size)


# ---------------------------------------------------------------------------------------------
# float_format, wrap_int, int_fits


@pytest.mark.parametrize(
    ("name", "p", "emin", "emax", "bias", "bits", "qmin"),
    [
        ("float16", 11, -14, 15, 15, 16, -24),
        ("bfloat16", 8, -126, 127, 127, 16, -133),
        ("float32", 24, -126, 127, 127, 32, -149),
        ("float64", 53, -1022, 1023, 1023, 64, -1074),
    ],
)
def test_float_format(
    name: str, p: int, emin: int, emax: int, bias: int, bits: int, qmin: int
) -> None:
    f = em.float_format(name)
    assert (f.precision, f.emin, f.emax, f.bias, f.bits, f.min_subnormal_exp) == (
        p,
        emin,
        emax,
        bias,
        bits,
        qmin,
    )
    assert f.max_finite == Fraction(finfo_max(name))
    assert f.unit_roundoff == Fraction(1, 2**p)
    assert f.smallest_subnormal == Fraction(float(step(0.0, name, 1.0)))


def test_float_format_rejects_non_float() -> None:
    with pytest.raises(DTypeError, match="int32"):
        em.float_format("int32")


@pytest.mark.parametrize(
    ("n", "name", "expected"),
    [
        (128, "int8", -128),
        (-129, "int8", 127),
        (255, "int8", -1),
        (2**63, "int64", -(2**63)),
        (-1, "uint64", 2**64 - 1),
        (2**64 + 7, "uint64", 7),
        (65536 + 3, "uint16", 3),
        (2**31, "int32", -(2**31)),
        (2, "bool", 1),
        (0, "bool", 0),
    ],
)
def test_wrap_int_by_hand(n: int, name: str, expected: int) -> None:
    assert em.wrap_int(n, name) == expected


@given(st.integers(-(2**200), 2**200), st.sampled_from(list(INTS)))
@SETTINGS
def test_wrap_int_matches_modulo(n: int, name: str) -> None:
    assert em.wrap_int(n, name) == ref_wrap(n, name)
    assert em.int_fits(n, name) == (ref_wrap(n, name) == n)


@pytest.mark.parametrize(
    ("n", "name", "expected"),
    [
        (127, "int8", True),
        (128, "int8", False),
        (-128, "int8", True),
        (-129, "int8", False),
        (255, "uint8", True),
        (256, "uint8", False),
        (-1, "uint8", False),
        (2**64 - 1, "uint64", True),
        (1, "bool", True),
        (2, "bool", False),
    ],
)
def test_int_fits_by_hand(n: int, name: str, expected: bool) -> None:
    assert em.int_fits(n, name) is expected


def test_wrap_int_rejects_float_dtype() -> None:
    with pytest.raises(DTypeError, match="float32"):
        em.wrap_int(1, "float32")


# ---------------------------------------------------------------------------------------------
# round_exact


@pytest.mark.parametrize(
    ("num", "exp", "name", "expected"),
    [
        (2**24 + 1, 0, "float32", 2.0**24),  # tie, the even neighbour is 2**24
        (2**24 + 3, 0, "float32", 2.0**24 + 4),  # tie, the even neighbour is 2**24 + 4
        (2**24 + 2, 0, "float32", 2.0**24 + 2),  # exact
        (2049, 0, "float16", 2048.0),
        (2051, 0, "float16", 2052.0),
        (2053, 0, "float16", 2052.0),
        (65519, 0, "float16", 65504.0),
        (65520, 0, "float16", math.inf),  # tie between 65504 and 2**16: even is 2**16, overflow
        (-65520, 0, "float16", -math.inf),
        (257, 0, "bfloat16", 256.0),
        (259, 0, "bfloat16", 260.0),
        (1, -150, "float32", 0.0),  # half the smallest subnormal: tie to 0
        (3, -151, "float32", 2.0**-149),  # 0.75 of the smallest subnormal
        (3, -150, "float32", 2.0**-148),  # 1.5 -> 2 (even)
        (5, -150, "float32", 2.0**-148),  # 2.5 -> 2 (even)
        (2**23 - 1, -149, "float32", (2**23 - 1) * 2.0**-149),  # largest subnormal, exact
        (2**24 - 1, -150, "float32", 2.0**-126),  # rounds up into the normal range
        (1, -1075, "float64", 0.0),
        (3, -1076, "float64", 5e-324),
        (2**53 - 1, 971, "float64", 1.7976931348623157e308),
        (2**54 - 1, 970, "float64", math.inf),  # max + half ulp: tie, even is 2**1024
        (2**54 - 3, 970, "float64", 1.7976931348623155e308),  # tie below max: even is max - ulp
        (2**55 - 3, 969, "float64", 1.7976931348623157e308),  # 0.25 ulp below max + half ulp
        (2**60 + 1, -60, "float64", 1.0),
        (0, 10, "float32", 0.0),
        (-(2**24) - 1, 0, "float32", -(2.0**24)),
    ],
)
def test_round_exact_by_hand(num: int, exp: int, name: str, expected: float) -> None:
    got = em.round_exact(num, exp, name)
    assert got.dtype == NP[name]
    assert same_float(got, expected)


@given(
    st.integers(-(2**200), 2**200),
    st.integers(-1300, 1100),
    st.sampled_from(FLOATS),
)
@SETTINGS
def test_round_exact_matches_oracle(num: int, exp: int, name: str) -> None:
    got = em.round_exact(num, exp, name)
    expected = oracle_round(Fraction(num) * Fraction(2) ** exp, name)
    assert float(got) == expected
    if num != 0:  # IEEE: a result rounded to zero keeps the sign of the exact value
        assert math.copysign(1, float(got)) == (-1 if num < 0 else 1)


# ---------------------------------------------------------------------------------------------
# exact_sum: hand-worked cases

BIG = 1.7976931348623157e308
HAND_SUMS = [
    ("float32", [2.0**24, 1.0], 2.0**24),  # tie to even
    ("float32", [2.0**24, 1.0, 1.0], 2.0**24 + 2),  # exact; recursive float32 gives 2**24
    ("float32", [2.0**24, 3.0], 2.0**24 + 4),  # tie to even upward
    ("float32", [1.0, 2.0**-24], 1.0),  # half an ulp above 1: tie to 1
    ("float32", [1.0, 2.0**-24, 2.0**-47], 1.0 + 2.0**-23),  # just above the tie
    ("float32", [2.0**-149] * 5, 5 * 2.0**-149),  # subnormal sum, exact
    ("float32", [2.0**-126, -(2.0**-149)], (2**23 - 1) * 2.0**-149),  # largest subnormal
    ("float32", [3.0e38, 3.0e38, -3.0e38], float(np.float32(3.0e38))),  # no intermediate overflow
    ("float32", [3.0e38, 3.0e38], math.inf),
    ("float16", [2048.0, 1.0], 2048.0),
    ("float16", [2048.0, 1.0, 2.0], 2052.0),  # 2051: tie, even neighbour 2052
    ("float16", [65504.0, 16.0], math.inf),  # 65520: tie, even neighbour is 2**16 -> inf
    ("float16", [65504.0, 15.0], 65504.0),  # 65519 is below the tie
    ("float16", [65504.0, 8.0, 8.0], math.inf),  # exact 65520 overflows whatever the order
    ("float16", [65504.0, 65504.0, -65504.0], 65504.0),
    ("float16", [-65504.0, -16.0], -math.inf),
    ("float16", [2.0**-24] * 3, 3 * 2.0**-24),
    ("float16", [2.0**-24] * 1024, 2.0**-14),  # subnormals add up to the smallest normal
    ("float16", [2.0**-24, -(2.0**-24)], 0.0),
    ("float16", [0.1] * 10, 1.0),  # float16(0.1) = 1638/16384; 16380/16384 -> 1.0 (ulp 2**-11)
    ("bfloat16", [256.0, 1.0], 256.0),
    ("bfloat16", [256.0, 1.0, 1.0], 258.0),
    ("bfloat16", [1.0] * 1000, 1000.0),  # numpy's own bfloat16 sum stalls at 256
    ("float64", [0.1] * 10, 1.0),
    ("float64", [1e308, 1e308, -1e308], 1e308),
    ("float64", [1e308, 1e308], math.inf),
    ("float64", [BIG, 2.0**970], math.inf),  # tie at max + half ulp -> inf
    ("float64", [BIG, 2.0**969], BIG),
    ("float64", [BIG, 2.0**970, -(2.0**-1074)], BIG),  # just below the tie
    ("float64", [-0.0, -0.0], -0.0),
    ("float64", [-0.0], -0.0),
    ("float64", [-0.0, 0.0], 0.0),
    ("float64", [0.0, -0.0], 0.0),
    ("float64", [1.0, -1.0], 0.0),
    ("float64", [-1.0, 1.0, -0.0], 0.0),  # exact zero with nonzero addends is +0
    ("float64", [], 0.0),
    ("float64", [math.inf, -math.inf], math.nan),
    ("float64", [math.nan, 1.0], math.nan),
    ("float64", [math.inf, math.nan], math.nan),
    ("float64", [math.inf, 1e308, 1e308], math.inf),
    ("float64", [-math.inf, 1e308, 1e308], -math.inf),
    ("float64", [5e-324, 5e-324, -5e-324], 5e-324),
    ("float64", [1.0, 1e100, 1.0, -1e100], 2.0),
    ("float64", [2.0**53, 1.0, 1.0, 1.0, 1.0], 2.0**53 + 4),
]


@pytest.mark.parametrize(("name", "values", "expected"), HAND_SUMS)
def test_exact_sum_by_hand(name: str, values: list[float], expected: float) -> None:
    x = np.array(values, dtype=np.float64).astype(NP[name])
    got = em.exact_sum(x, name)
    assert got.dtype == NP[name]
    assert same_float(got, expected)


@pytest.mark.parametrize(("name", "values", "expected"), HAND_SUMS)
def test_exact_sum_along_by_hand(name: str, values: list[float], expected: float) -> None:
    x = np.array(values, dtype=np.float64).astype(NP[name])
    got = em.exact_sum_along(x, (0,), False, name)
    assert type(got) is np.ndarray and got.shape == () and got.dtype == NP[name]
    assert same_float(got[()], expected)


@pytest.mark.parametrize(("name", "values", "expected"), HAND_SUMS)
def test_exact_cumsum_last_by_hand(name: str, values: list[float], expected: float) -> None:
    x = np.array(values, dtype=np.float64).astype(NP[name])
    got = em.exact_cumsum(x, name)
    assert got.shape == x.shape and got.dtype == NP[name]
    if values:
        assert same_float(got[-1], expected)


@pytest.mark.parametrize("name", ["float32", "float64"])
@pytest.mark.parametrize("lead", [0, 5, 19, 31, 44])
def test_far_sticky_bit_breaks_the_tie(name: str, lead: int) -> None:
    # 2**lead plus half its ulp is a tie (to even: down); a tiny third addend anywhere below
    # decides it, up if positive and down if negative. Every distance is tried, so the tiny bit
    # falls in each position relative to the 32-bit limbs of the exact sum.
    p = {"float32": 24, "float64": 53}[name]
    one, half_ulp = 2.0**lead, 2.0 ** (lead - p)
    for k in range(p + 1, p + 100):
        for sign, expected in ((1.0, one + 2 * half_ulp), (-1.0, one)):
            x = np.array([one, half_ulp, sign * 2.0 ** (lead - k)], dtype=name)
            assert float(em.exact_sum(x, name)) == expected, (k, sign)
            assert float(em.exact_sum_along(x, (0,), False, name)) == expected, (k, sign)
            assert float(em.exact_cumsum(x, name)[-1]) == expected, (k, sign)


def test_fsum_differs_where_exact_sum_must_not() -> None:
    # math.fsum is not enough (issue 4): it raises on intermediate overflow, rounds [-0.0, -0.0]
    # to +0.0, and rounding its float64 result to float32 double-rounds.
    assert same_float(em.exact_sum(np.array([1e308, 1e308, -1e308]), "float64"), 1e308)
    x32 = np.array([1.0, 2.0**-24, 2.0**-60], dtype=np.float32)
    assert float(np.float32(math.fsum(x32.tolist()))) == 1.0  # double rounding: the tie is lost
    assert float(em.exact_sum(x32, "float32")) == 1.0 + 2.0**-23


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([-0.0, -0.0, 0.0, -0.0], [-0.0, -0.0, 0.0, 0.0]),
        ([1.0, math.nan, 1.0], [1.0, math.nan, math.nan]),
        ([math.inf, 1.0, -math.inf, 1.0], [math.inf, math.inf, math.nan, math.nan]),
        ([-math.inf, -1e308], [-math.inf, -math.inf]),
        ([1e308, 1e308, -1e308], [1e308, math.inf, 1e308]),  # an infinite prefix does not stick
        ([1.0, -1.0, -0.0], [1.0, 0.0, 0.0]),
        ([0.1] * 3, [0.1, 0.2, 0.30000000000000004]),
    ],
)
def test_exact_cumsum_by_hand(values: list[float], expected: list[float]) -> None:
    got = em.exact_cumsum(np.array(values), "float64")
    assert all(same_float(g, e) for g, e in zip(got.tolist(), expected, strict=True))


def test_exact_cumsum_float32_ties() -> None:
    x = np.array([2.0**24, 1.0, 1.0, 1.0], dtype=np.float32)
    got = em.exact_cumsum(x, "float32")
    # prefixes 2**24, 2**24+1 (tie -> 2**24), 2**24+2 (exact), 2**24+3 (tie -> 2**24+4)
    assert got.tolist() == [2.0**24, 2.0**24, 2.0**24 + 2, 2.0**24 + 4]


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("complex64", [1 + 2j, 3 - 4j], (4.0, -2.0)),
        ("complex64", [2.0**24 + 0j, 1 + 1j], (2.0**24, 1.0)),  # per component, tie to even
        ("complex128", [complex(-0.0, -0.0), complex(-0.0, -0.0)], (-0.0, -0.0)),
        ("complex128", [complex(-0.0, 1.0), complex(0.0, -1.0)], (0.0, 0.0)),
        ("complex128", [complex(math.inf, 1.0), complex(-math.inf, 2.0)], (math.nan, 3.0)),
        ("complex128", [complex(1e308, 0), complex(1e308, 0), complex(-1e308, 0)], (1e308, 0.0)),
    ],
)
def test_exact_sum_complex(name: str, values: list[complex], expected: tuple[float, float]) -> None:
    x = np.array(values, dtype=name)
    got = em.exact_sum(x, name)
    assert got.dtype == np.dtype(name)
    assert same_float(got.real, expected[0]) and same_float(got.imag, expected[1])
    along = em.exact_sum_along(x, (0,), False, name)
    assert same_float(along.real, expected[0]) and same_float(along.imag, expected[1])
    cum = em.exact_cumsum(x, name)
    assert same_float(cum[-1].real, expected[0]) and same_float(cum[-1].imag, expected[1])


# ---------------------------------------------------------------------------------------------
# exact_sum / exact_cumsum: properties against independent oracles


@given(st.lists(st.floats(-1e300, 1e300), max_size=40))
@SETTINGS
def test_float64_matches_fsum(xs: list[float]) -> None:
    x = np.array(xs, dtype=np.float64)
    assert float(em.exact_sum(x, "float64")) == math.fsum(xs)
    cum = em.exact_cumsum(x, "float64")
    assert cum.tolist() == [math.fsum(xs[: i + 1]) for i in range(len(xs))]


@pytest.mark.parametrize("name", FLOATS)
@given(st.data())
@SETTINGS
def test_exact_sum_matches_fraction_oracle(name: str, data: st.DataObject) -> None:
    xs = data.draw(float_lists(name))
    x = np.array(xs, dtype=np.float64).astype(NP[name])
    assert same_float(em.exact_sum(x, name), oracle_sum(xs, name))
    assert same_float(em.exact_sum_along(x, (0,), False, name)[()], oracle_sum(xs, name))


@pytest.mark.parametrize("name", FLOATS)
@given(st.data())
@SETTINGS
def test_exact_cumsum_matches_fraction_oracle(name: str, data: st.DataObject) -> None:
    specials = st.sampled_from([math.inf, -math.inf, math.nan, -0.0])
    xs = data.draw(st.lists(st.one_of(floats_of(name), specials), max_size=12))
    x = np.array(xs, dtype=np.float64).astype(NP[name])
    got = em.exact_cumsum(x, name)
    assert got.dtype == NP[name]
    for i in range(len(xs)):
        assert same_float(got[i], oracle_sum(xs[: i + 1], name)), i


def grouped(x: np.ndarray, axes: tuple[int, ...]) -> dict[tuple[int, ...], list[Any]]:
    """Elements of ``x`` grouped by their index on the axes that are kept."""
    groups: dict[tuple[int, ...], list[Any]] = defaultdict(list)
    kept = [a for a in range(x.ndim) if a not in axes]
    for idx in np.ndindex(*x.shape):
        groups[tuple(idx[a] for a in kept)].append(x[idx].item())
    return groups


@st.composite
def array_and_axes(draw: st.DrawFn, dtype: Any, elements: st.SearchStrategy[Any]) -> Any:
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3))
    x = draw(hnp.arrays(dtype, shape, elements=elements))
    axes = tuple(draw(st.permutations(range(x.ndim)))[: draw(st.integers(0, x.ndim))])
    neg = draw(st.booleans())
    axes_given = tuple(a - x.ndim if neg else a for a in axes)
    return x, axes, axes_given, draw(st.booleans())


def expected_along(
    x: np.ndarray, axes: tuple[int, ...], keepdims: bool, fn: Any, dtype: Any
) -> np.ndarray:
    kept = [a for a in range(x.ndim) if a not in axes]
    groups = grouped(x, axes)
    out = np.empty(tuple(x.shape[a] for a in kept), dtype=dtype)
    for idx in np.ndindex(*out.shape):
        out[idx] = fn(groups.get(idx, []))
    if keepdims:
        out = out.reshape(tuple(1 if a in axes else x.shape[a] for a in range(x.ndim)))
    return out


@given(
    array_and_axes(np.float32, st.floats(width=32) | st.sampled_from([2.0**24, 1.0, 3e38, -0.0]))
)
@SETTINGS
def test_exact_sum_along_float32_matches_oracle(case: Any) -> None:
    x, axes, axes_given, keepdims = case
    got = em.exact_sum_along(x, axes_given, keepdims, "float32")
    exp = expected_along(x, axes, keepdims, lambda v: oracle_sum(v, "float32"), np.float32)
    assert type(got) is np.ndarray and got.dtype == np.float32 and got.shape == exp.shape
    assert all(same_float(g, e) for g, e in zip(got.ravel(), exp.ravel().tolist(), strict=True))


@given(array_and_axes(np.int16, st.integers(-(2**15), 2**15 - 1)), st.sampled_from(list(INTS)))
@SETTINGS
def test_exact_sum_along_int_matches_python_ints(case: Any, out: str) -> None:
    x, axes, axes_given, keepdims = case
    got = em.exact_sum_along(x, axes_given, keepdims, out)
    exp = expected_along(x, axes, keepdims, lambda v: ref_wrap(sum(v), out), object)
    assert type(got) is np.ndarray and got.dtype == np.dtype(out) and got.shape == exp.shape
    assert [int(v) for v in got.ravel()] == exp.ravel().tolist()


@given(st.data())
@SETTINGS
def test_exact_cumsum_along_matches_oracle(data: st.DataObject) -> None:
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
    x = data.draw(hnp.arrays(np.float16, shape, elements=st.floats(width=16)))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    got = em.exact_cumsum_along(x, axis, "float16")
    assert got.shape == x.shape and got.dtype == np.float16
    ax = axis % x.ndim
    for idx in np.ndindex(*x.shape):
        line = x[(*idx[:ax], slice(0, idx[ax] + 1), *idx[ax + 1 :])].tolist()
        assert same_float(got[idx], oracle_sum(line, "float16")), idx


@given(st.lists(floats_of("float64"), max_size=40))
@SETTINGS
def test_two_engines_agree_float64(xs: list[float]) -> None:
    # exact_sum (bincount + Python int) and exact_sum_along (int64 limbs) are independent.
    x = np.array(xs, dtype=np.float64)
    a = em.exact_sum(x, "float64")
    b = em.exact_sum_along(x, (0,), False, "float64")[()]
    c = em.exact_cumsum(x, "float64")[-1] if xs else b
    assert same_float(a, float(b)) and same_float(a, float(c))


def test_large_wide_range_blocks_and_carries() -> None:
    # 300k float64 values over the whole exponent range: the limb engine needs ~70 limbs, so it
    # works in blocks and carries prefix sums from block to block.
    rng = np.random.default_rng(1)
    n = 300_000
    x = rng.standard_normal(n) * np.exp2(rng.integers(-1070, 1000, n).astype(np.float64))
    x[::1000] = rng.standard_normal(n // 1000) * 1e-320  # subnormals too
    expected = math.fsum(x.tolist())
    assert float(em.exact_sum(x, "float64")) == expected
    assert float(em.exact_sum_along(x, (0,), False, "float64")) == expected
    cum = em.exact_cumsum(x, "float64")
    assert float(cum[-1]) == expected
    for i in (0, 1, 999, 60_000, 123_456, 250_001):
        assert float(cum[i]) == math.fsum(x[: i + 1].tolist())


def test_many_rows_wide_range() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((60_000, 3)) * np.exp2(rng.integers(-1070, 1000, (60_000, 3)) * 1.0)
    got = em.exact_sum_along(x, (1,), False, "float64")
    assert got.tolist() == [math.fsum(r) for r in x.tolist()]
    cum = em.exact_cumsum_along(x, 1, "float64")
    assert cum[:, 1].tolist() == [math.fsum(r[:2]) for r in x.tolist()]


def test_non_contiguous_input() -> None:
    base = np.arange(24, dtype=np.float32).reshape(4, 6) * np.float32(0.1)
    x = base[::2, ::-1].T  # shape (6, 2), strided and transposed
    got = em.exact_sum_along(x, (0,), True, "float32")
    exp = [oracle_sum(x[:, j].tolist(), "float32") for j in range(2)]
    assert got.shape == (1, 2) and got.ravel().tolist() == exp


# ---------------------------------------------------------------------------------------------
# shapes, dtypes, empties, errors


def test_bfloat16_output_is_an_ndarray_of_bfloat16() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.5]], dtype=ml_dtypes.bfloat16)
    got = em.exact_sum_along(x, (0, 1), False, "bfloat16")
    assert type(got) is np.ndarray and got.shape == () and got.dtype == NP["bfloat16"]
    assert float(got) == 10.5


@pytest.mark.parametrize(
    ("shape", "axes", "keepdims", "out_shape"),
    [
        ((2, 0, 3), (1,), False, (2, 3)),
        ((2, 0, 3), (1,), True, (2, 1, 3)),
        ((0,), (0,), False, ()),
        ((0, 4), (0, 1), True, (1, 1)),
        ((0, 4), (1,), False, (0,)),
        ((), (), False, ()),
    ],
)
@pytest.mark.parametrize("name", ["float32", "bfloat16", "int8", "uint64", "bool", "complex64"])
def test_empty_and_zero_d(
    shape: tuple[int, ...], axes: Any, keepdims: bool, out_shape: Any, name: str
) -> None:
    dtype = NP.get(name, np.dtype(name))
    x = np.zeros(shape, dtype=dtype) if shape else np.array(0, dtype=dtype)
    got = em.exact_sum_along(x, axes, keepdims, name)
    assert type(got) is np.ndarray and got.shape == out_shape and got.dtype == dtype
    assert not (got != 0).any()


def test_empty_float_sum_is_positive_zero() -> None:
    got = em.exact_sum_along(np.zeros((3, 0), np.float64), (1,), False, "float64")
    assert [math.copysign(1, v) for v in got.tolist()] == [1.0, 1.0, 1.0]


def test_zero_d_passes_value_through() -> None:
    got = em.exact_sum_along(np.array(-0.0, dtype=np.float16), (), False, "float16")
    assert same_float(got[()], -0.0)
    got = em.exact_sum_along(np.array(200, dtype=np.uint8), (), False, "int8")
    assert int(got) == -56


@pytest.mark.parametrize(
    ("values", "in_dtype", "out", "expected"),
    [
        ([100, 100], "int8", "int8", -56),
        ([255, 1], "uint8", "uint8", 0),
        ([255, 1], "uint8", "int64", 256),
        ([2**62] * 4, "int64", "int64", 0),
        ([2**63] * 2, "uint64", "uint64", 0),
        ([-1, -1], "int32", "uint32", 2**32 - 2),
        ([True, True, True], "bool", "int64", 3),
        ([True, True], "bool", "bool", 1),  # adding bools is logical or
        ([1, -1], "int8", "bool", 1),  # each element is cast to bool first
        ([0, 0], "int8", "bool", 0),
        ([], "int16", "int16", 0),
    ],
)
def test_int_sums_by_hand(values: list[int], in_dtype: str, out: str, expected: int) -> None:
    x = np.array(values, dtype=in_dtype)
    got = em.exact_sum(x, out)
    assert got.dtype == np.dtype(out) and int(got) == expected


def test_int_cumsum_by_hand() -> None:
    got = em.exact_cumsum(np.array([100, 100, -100, 127], dtype=np.int8), "int8")
    assert got.dtype == np.int8 and got.tolist() == [100, -56, 100, -29]
    got = em.exact_cumsum(np.array([0, 3, 0, -1], dtype=np.int64), "bool")
    assert got.tolist() == [False, True, True, True]


@given(
    st.sampled_from(list(INTS)).flatmap(
        lambda d: st.tuples(st.just(d), hnp.arrays(d, st.integers(0, 30)))
    ),
    st.sampled_from(list(INTS)),
)
@SETTINGS
def test_int_sum_and_cumsum_match_python_ints(case: Any, out: str) -> None:
    _, x = case
    ints = [int(v) for v in x.tolist()]
    assert int(em.exact_sum(x, out)) == ref_wrap(sum(ints), out)
    cum = em.exact_cumsum(x, out)
    assert cum.dtype == np.dtype(out)
    assert [int(v) for v in cum] == [ref_wrap(sum(ints[: i + 1]), out) for i in range(len(ints))]


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: em.exact_sum(np.ones(3, np.float64), "float32"), DTypeError, "float32"),
        (lambda: em.exact_sum(np.ones(3, np.float32), "int32"), DTypeError, "int32"),
        (lambda: em.exact_sum(np.ones(3, np.int32), "float32"), DTypeError, "float32"),
        (lambda: em.exact_sum(np.ones(3), "float8"), DTypeError, "float8"),
        (lambda: em.exact_sum_along(np.ones((2, 2)), (2,), False, "float64"), AxisError, "2"),
        (lambda: em.exact_sum_along(np.ones((2, 2)), (0, -2), False, "float64"), AxisError, "dup"),
        (lambda: em.exact_cumsum_along(np.ones((2, 2)), -3, "float64"), AxisError, "-3"),
        (lambda: em.exact_cumsum_along(np.array(1.0), 0, "float64"), AxisError, "0-d"),
        (lambda: em.exact_cumsum(np.ones((2, 2)), "float64"), UnireduceValueError, "1-D"),
        (
            lambda: em.sum_error_bound(np.ones(2, np.int32), "float32", "float32", False),
            DTypeError,
            "int32",
        ),
    ],
)
def test_errors(call: Any, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------------------------------------
# error bounds


def up(x: Fraction) -> float:
    f = float(x)
    return f if Fraction(f) >= x else math.nextafter(f, math.inf)


@pytest.mark.parametrize(
    ("values", "in_dtype", "acc", "out", "flush", "expected"),
    [
        # (n-1)·u·A = 2**-24·(1 + 2**-24); half an ulp of float32 at [1, 2) = 2**-24
        (
            [1.0, 2.0**-24],
            "float32",
            "float32",
            "float32",
            False,
            Fraction(2) ** -23 + Fraction(2) ** -48,
        ),
        # float16 data, float32 accumulator, float16 output: two half ulps of float16 (2**-10)
        (
            [1.0, 2.0**-11],
            "float16",
            "float32",
            "float16",
            False,
            Fraction(2) ** -24 * (1 + Fraction(2) ** -11) + Fraction(2) ** -10,
        ),
        # flushing: the subnormal input, one smallest normal of acc per addition, one for the output
        (
            [2.0**-149, 1.0],
            "float32",
            "float32",
            "float32",
            True,
            Fraction(2) ** -24 * (1 + Fraction(2) ** -149)
            + Fraction(2) ** -24
            + Fraction(2) ** -149
            + 2 * Fraction(2) ** -126,
        ),
        ([65504.0], "float16", "float16", "float16", False, Fraction(16)),  # half an ulp at 65504
        (
            [3.0, 0.0, -0.0],
            "float64",
            "float64",
            "float64",
            False,
            Fraction(2) ** -52,
        ),  # zeros are exact
        ([0.0, -0.0], "float64", "float64", "float64", True, Fraction(0)),
        ([], "float32", "float32", "float32", False, Fraction(0)),
        ([60000.0, 10000.0], "float16", "float16", "float16", False, math.inf),  # acc overflow
        # float32 accumulator: 70000 is surely beyond float16's 65520, the result must be inf and
        # the bound stays finite: N = 2**-24·70000 plus two half ulps of float16 at 70000 (64)
        ([60000.0, 10000.0], "float16", "float32", "float16", False, Fraction(70000, 2**24) + 64),
        # float32 accumulator, 65504 + 16 is exactly float16's overflow threshold: straddles
        ([65504.0, 16.0], "float16", "float32", "float16", False, math.inf),
    ],
)
def test_sum_error_bound_by_hand(
    values: list[float], in_dtype: str, acc: str, out: str, flush: bool, expected: Any
) -> None:
    x = np.array(values, dtype=np.float64).astype(NP[in_dtype])
    got = em.sum_error_bound(x, acc, out, flush)
    assert got == (expected if expected == math.inf else up(Fraction(expected)))


def test_bound_stays_finite_when_overflow_is_certain() -> None:
    # float32 data summed in float64: 6e38 is far beyond float32's threshold, so the native
    # result must be +inf like the reference, and a finite answer fails.
    x = np.array([3e38, 3e38], dtype=np.float32)
    bound = em.sum_error_bound(x, "float64", "float32", False)
    ref = em.exact_sum(x, "float32")
    assert math.isfinite(bound) and float(ref) == math.inf
    assert em.within_bound(np.float32(np.inf), ref, bound)
    assert not em.within_bound(np.float32(3.4028235e38), ref, bound)


def native_recursive(x: np.ndarray, acc: Any, order: np.ndarray, ftz: bool = False) -> Any:
    tiny = float(ml_dtypes.finfo(acc).tiny) if acc == ml_dtypes.bfloat16 else np.finfo(acc).tiny

    def flush(v: Any) -> Any:
        return acc(0) if ftz and abs(float(v)) < tiny else v

    total = acc(0)
    with np.errstate(over="ignore", invalid="ignore"):
        for i in order:
            total = flush(acc(flush(total) + flush(acc(x[i]))))
    return total


@given(st.lists(st.floats(-1e6, 1e6, width=32), min_size=1, max_size=100), st.randoms())
@SETTINGS
def test_legitimate_float32_orders_pass(xs: list[float], rnd: Any) -> None:
    x = np.array(xs, dtype=np.float32)
    ref = em.exact_sum(x, "float32")
    bound = em.sum_error_bound(x, "float32", "float32", False)
    perm = np.array(rnd.sample(range(len(xs)), len(xs)))
    natives = [
        np.sum(x),  # pairwise
        native_recursive(x, np.float32, np.arange(len(xs))),
        native_recursive(x, np.float32, perm),
        native_recursive(x, np.float32, np.argsort(-np.abs(x))),
    ]
    for r in natives:
        assert em.within_bound(r, ref, bound), (r, ref, bound)
    wide = em.sum_error_bound(x, "float64", "float32", False)
    assert em.within_bound(np.float32(np.sum(x, dtype=np.float64)), ref, wide)


@given(st.lists(st.floats(-100, 100, width=16), min_size=1, max_size=100))
@SETTINGS
def test_legitimate_float16_accumulators_pass(xs: list[float]) -> None:
    x = np.array(xs, dtype=np.float16)
    ref = em.exact_sum(x, "float16")
    torch_like = np.float16(native_recursive(x, np.float32, np.arange(len(xs))))
    assert em.within_bound(torch_like, ref, em.sum_error_bound(x, "float32", "float16", False))
    tf_like = native_recursive(x, np.float16, np.arange(len(xs)))
    assert em.within_bound(tf_like, ref, em.sum_error_bound(x, "float16", "float16", False))


@given(st.lists(st.floats(-(2.0**-120), 2.0**-120, width=32), min_size=1, max_size=60))
@SETTINGS
def test_flush_to_zero_native_passes_with_flush_allowance(xs: list[float]) -> None:
    x = np.array(xs, dtype=np.float32)
    ref = em.exact_sum(x, "float32")
    ftz = native_recursive(x, np.float32, np.arange(len(xs)), ftz=True)
    assert em.within_bound(ftz, ref, em.sum_error_bound(x, "float32", "float32", True))


def test_flushed_subnormals_fail_without_allowance() -> None:
    x = np.array([2.0**-149] * 10, dtype=np.float32)
    ref = em.exact_sum(x, "float32")
    assert float(ref) == 10 * 2.0**-149
    assert not em.within_bound(
        np.float32(0), ref, em.sum_error_bound(x, "float32", "float32", False)
    )
    assert em.within_bound(np.float32(0), ref, em.sum_error_bound(x, "float32", "float32", True))


def test_flushed_float16_inputs_into_float32_accumulator() -> None:
    # 2**-15 is subnormal in float16 (normal in float32): a backend flushing its float16 inputs
    # returns 0 for this sum, which only the input part of the flush allowance accepts.
    x16 = np.full(100, 2.0**-15, dtype=np.float16)
    ref = em.exact_sum(x16.astype(np.float32), "float32")
    assert float(ref) == 100 * 2.0**-15
    with_flush = em.sum_error_bound(x16, "float32", "float32", True)
    assert with_flush >= 100 * 2.0**-15
    assert em.within_bound(np.float32(0), ref, with_flush)
    assert not em.within_bound(
        np.float32(0), ref, em.sum_error_bound(x16, "float32", "float32", False)
    )
    cum = em.cumsum_error_bounds(x16, "float32", "float32", True)
    assert em.within_bound(
        np.zeros(100, np.float32), em.exact_cumsum(x16.astype(np.float32), "float32"), cum
    )


def test_lost_element_fails() -> None:
    x = np.full(100, 1.0, dtype=np.float32)
    bound = em.sum_error_bound(x, "float32", "float32", False)
    assert em.within_bound(np.float32(100), em.exact_sum(x, "float32"), bound)
    assert not em.within_bound(np.float32(99), em.exact_sum(x, "float32"), bound)


def test_too_narrow_accumulator_fails() -> None:
    # 4096 ones in float16: a float16 accumulator stalls at 2048 (2048 + 1 ties to 2048).
    x = np.ones(4096, dtype=np.float16)
    stalled = native_recursive(x, np.float16, np.arange(4096))
    assert float(stalled) == 2048.0
    ref = em.exact_sum(x, "float16")
    assert not em.within_bound(stalled, ref, em.sum_error_bound(x, "float32", "float16", False))
    assert em.within_bound(stalled, ref, em.sum_error_bound(x, "float16", "float16", False))


@given(
    st.lists(st.floats(-(2.0**100), 2.0**100, width=32), min_size=1, max_size=25),
    st.sampled_from([("float32", "float32"), ("float64", "float32"), ("float32", "float64")]),
    st.booleans(),
)
@SETTINGS
def test_cumsum_bounds_agree_with_prefix_sum_bounds(
    xs: list[float], acc_out: Any, flush: bool
) -> None:
    acc, out = acc_out
    x = np.array(xs, dtype=np.float32)
    got = em.cumsum_error_bounds(x, acc, out, flush)
    assert got.dtype == np.float64 and got.shape == x.shape
    for i in range(len(xs)):
        scalar = em.sum_error_bound(x[: i + 1], acc, out, flush)
        assert scalar <= got[i] <= scalar * (1 + 2.0**-40), (i, scalar, got[i])


def test_cumsum_bounds_by_hand_and_native_cumsum_passes() -> None:
    x = np.array([1.0, 2.0**-24, 2.0**-24, -1.0], dtype=np.float32)
    bounds = em.cumsum_error_bounds(x, "float32", "float32", False)
    # prefix 1: exact (n-1 = 0), half ulp at 1 -> 2**-24; prefix 2: 2**-23 + 2**-48
    assert up(Fraction(2) ** -24) <= bounds[0] <= 2.0**-24 * (1 + 2.0**-40)
    assert 2.0**-23 + 2.0**-48 <= bounds[1] <= (2.0**-23 + 2.0**-48) * (1 + 2.0**-40)
    ref = em.exact_cumsum(x, "float32")
    assert em.within_bound(np.cumsum(x), ref, bounds)
    assert em.cumsum_error_bounds(np.zeros(0, np.float32), "float32", "float32", True).shape == (0,)


def test_cumsum_bounds_overflow_prefixes() -> None:
    x = np.array([60000.0, 10000.0, 1.0], dtype=np.float16)
    got = em.cumsum_error_bounds(x, "float16", "float16", False)
    assert math.isfinite(got[0]) and got[1] == math.inf and got[2] == math.inf


# ---------------------------------------------------------------------------------------------
# within_bound


@pytest.mark.parametrize(
    ("actual", "exact", "bound", "expected"),
    [
        (math.nan, math.nan, 0.0, True),
        (1.0, math.nan, 0.0, False),
        (1.0, math.nan, math.inf, False),  # a NaN reference needs NaN whatever the bound
        (math.nan, 1.0, 0.5, False),
        (math.nan, 1.0, math.inf, True),
        (math.inf, math.inf, 0.0, True),
        (-math.inf, math.inf, 1e300, False),
        (1.7976931348623157e308, math.inf, 1e300, False),
        (math.inf, 1.0, 1e300, False),
        (math.inf, 1.0, math.inf, True),
        (1.0 + 2.0**-52, 1.0, 2.0**-52, True),  # on the bound
        (1.0 + 2.0**-52, 1.0, math.nextafter(2.0**-52, 0), False),  # just inside is not enough
        (1e308, -1e308, 1.7976931348623157e308, False),  # the difference overflows float64
        (3.0, 1.0, 2.0, True),
        (5e-324, 0.0, 5e-324, True),
        (1e-323, 0.0, 5e-324, False),
        (0.0, -0.0, 0.0, True),
    ],
)
def test_within_bound_by_hand(actual: float, exact: float, bound: float, expected: bool) -> None:
    assert em.within_bound(np.array([actual]), np.array([exact]), bound) is expected


def test_within_bound_decides_exactly_near_the_bound() -> None:
    # |a - e| = 2**53 + 2 + 2**-60 exactly; the float64 subtraction rounds it to 2**53 + 2.
    a, e = np.array([2.0**53 + 2]), np.array([-(2.0**-60)])
    assert float(np.abs(a - e)[0]) == 2.0**53 + 2
    assert not em.within_bound(a, e, 2.0**53 + 2)
    assert em.within_bound(a, e, 2.0**53 + 4)


def test_within_bound_arrays_zero_sign_and_complex() -> None:
    a = np.array([0.0, 1.0, 2.5], dtype=np.float32)
    e = np.array([-0.0, 1.0, 2.0], dtype=np.float32)
    assert em.within_bound_mask(a, e, np.array([0.0, 0.0, 0.5])).tolist() == [True, True, True]
    assert em.within_bound_mask(a, e, 0.25).tolist() == [True, True, False]
    assert not em.within_bound(a[:1], e[:1], 0.0, match_zero_sign=True)
    c_a = np.array([1 + 2j, 1 + 3j], dtype=np.complex64)
    c_e = np.array([1 + 2j, 1 + 2j], dtype=np.complex64)
    assert em.within_bound_mask(c_a, c_e, 0.5).tolist() == [True, False]
    assert em.within_bound(np.array(0.5, ml_dtypes.bfloat16), np.array(0.5, ml_dtypes.bfloat16), 0)
