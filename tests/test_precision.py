"""The ``precision=`` keyword of the public functions (issue 5), on every backend.

Expected values come from the exact reference arithmetic (Python ints and Fractions in
unireduce._exactmath) or are worked out by hand; the engine itself is tested in test_exact.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import unireduce as ur
from tests._frameworks import Framework, np_dtype
from unireduce import _exactmath


def need(fw: Framework, *dtypes: str) -> None:
    if any(d not in fw.dtypes for d in dtypes):
        pytest.skip(f"{fw.id} has no {', '.join(dtypes)}")


def bits(a: np.ndarray) -> list[int]:
    a = np.ascontiguousarray(a)
    return a.view(f"uint{a.dtype.itemsize * 8}").reshape(-1).tolist()  # type: ignore[no-any-return]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_exact_sum_is_correctly_rounded(fw: Framework, dtype: str) -> None:
    need(fw, dtype)
    rng = np.random.default_rng(7)
    data = (rng.standard_normal((4, 50)) * 10.0 ** rng.integers(-3, 4, (4, 50))).astype(
        np_dtype(dtype)
    )
    x = fw.array(data, dtype)
    for axis in (None, 0, 1):
        axes = (0, 1) if axis is None else (axis,)
        want = _exactmath.exact_sum_along(data, axes, False, dtype)
        got = fw.to_numpy(ur.sum(x, axis=axis, precision="exact"))
        assert bits(got) == bits(want), (dtype, axis)


def test_exact_sum_of_cancellation(fw: Framework) -> None:
    need(fw, "float64")
    out = ur.sum(fw.array([1e300, 1.0, -1e300, 2.0**-30], "float64"), precision="exact")
    assert float(fw.to_numpy(out)) == 1.0 + 2.0**-30


def test_exact_float32_sum_of_a_million_tenths(fw: Framework) -> None:
    # exact total of 10**6 float32(0.1) is 100000.00149..., whose nearest float32 is 100000.0
    x = fw.array(np.full(10**6, 0.1, dtype=np.float32), "float32")
    assert float(fw.to_numpy(ur.sum(x, precision="exact"))) == 100000.0


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, [1.0, 3.0, 6.0]),
        ({"exclusive": True}, [0.0, 1.0, 3.0]),
        ({"reverse": True}, [6.0, 5.0, 3.0]),
        ({"reverse": True, "exclusive": True}, [5.0, 3.0, 0.0]),
        ({"include_initial": True}, [0.0, 1.0, 3.0, 6.0]),
    ],
)
def test_exact_cumsum_flags(fw: Framework, kwargs: dict, expected: list) -> None:
    out = ur.cumsum(fw.array([1.0, 2.0, 3.0], "float32"), precision="exact", **kwargs)
    assert fw.to_numpy(out).tolist() == expected


def test_exact_cumsum_does_not_stall(fw: Framework) -> None:
    # float32 prefix sums of ones stall at 2**24 when accumulated in float32 (NumPy, TF).
    n = 2**24 + 4
    out = fw.to_numpy(ur.cumsum(fw.array(np.ones(n, np.float32), "float32"), precision="exact"))
    assert out[-1] == np.float32(n) and out[2**24 + 1] == np.float32(2**24 + 2)


def test_exact_integer_sum_checks_overflow(fw: Framework) -> None:
    x = fw.array([100, 100], "int8")
    with pytest.raises(ur.IntegerOverflowError, match="int8") as info:
        # TensorFlow rules keep int8: 200 does not fit. Eager arrays raise in the call, lazy ones
        # (dask) when computed.
        fw.to_numpy(ur.reduce_sum(x, precision="exact"))
    assert isinstance(info.value, OverflowError)
    assert fw.to_numpy(ur.sum(x, precision="exact")).tolist() == 200  # int64 (or int32) fits


def test_exact_integer_cumsum_checks_every_prefix(fw: Framework) -> None:
    x = fw.array([100, 100, -100], "int8")  # the total fits int8, the second prefix does not
    with pytest.raises(ur.IntegerOverflowError):
        fw.to_numpy(ur.cumsum(x, dtype="int8", precision="exact"))
    fine = fw.array([100, 20, -100], "int8")
    assert fw.to_numpy(ur.cumsum(fine, dtype="int8", precision="exact")).tolist() == [100, 120, 20]


def test_unknown_precision(fw: Framework) -> None:
    x = fw.array([1.0], "float32")
    for fn in (ur.sum, ur.cumsum, ur.cumulative_sum, ur.reduce_sum):
        with pytest.raises(ur.UnireduceValueError, match="precision='double'"):
            fn(x, precision="double")
    with pytest.raises(ur.UnireduceValueError):
        ur.sum(x, axis=(), precision="fast")


def test_dask_integer_check_is_lazy() -> None:
    # The call builds the graph and returns; the check runs (and raises) when it is computed.
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    x = da.from_array(np.array([100, 100, 27], dtype=np.int8), chunks=2)
    lazy = ur.reduce_sum(x, precision="exact")
    assert isinstance(lazy, da.Array)
    with pytest.raises(ur.IntegerOverflowError, match="does not fit the output dtype int8"):
        lazy.compute()


@pytest.mark.parametrize(
    ("data", "in_dt", "kwargs", "expected"),
    [
        # reverse: the exact suffix sums of the input, not of the input cast to the output dtype
        ([200, -100], "int16", {"dtype": "int8", "reverse": True}, [100, -100]),
        ([256, 1], "int16", {"dtype": "int8", "reverse": True}, None),  # 257 does not fit
        # exclusive: the outputs [0, x0, x0 + x1, ...] are checked, not the inclusive total
        ([100, 100], "int8", {"dtype": "int8", "exclusive": True}, [0, 100]),
        ([100, 28, 1], "int8", {"dtype": "int8", "exclusive": True}, None),  # 128
        ([100, 100], "int8", {"dtype": "int8", "exclusive": True, "reverse": True}, [100, 0]),
    ],
)
def test_exact_integer_cumsum_checks_its_outputs(
    fw: Framework, data: list, in_dt: str, kwargs: dict, expected: list | None
) -> None:
    need(fw, in_dt)
    x = fw.array(data, in_dt)
    if expected is None:
        with pytest.raises(ur.IntegerOverflowError):
            fw.to_numpy(ur.cumsum(x, precision="exact", **kwargs))
    else:
        assert fw.to_numpy(ur.cumsum(x, precision="exact", **kwargs)).tolist() == expected


def test_exact_reverse_cumsum_checks_uint64_input(fw: Framework) -> None:
    # PyTorch's rules sum uint64 into int64: the suffix sum 2**64 does not fit (it wrapped to 0
    # when the input was cast to int64 before the check).
    need(fw, "uint64", "int64")
    x = fw.array(np.array([2**64 - 1, 1], dtype=np.uint64), "uint64")
    with pytest.raises(ur.IntegerOverflowError):
        fw.to_numpy(ur.cumsum(x, 0, reverse=True, semantics="torch", precision="exact"))


@pytest.mark.parametrize("precision", ["native", "exact"])
def test_reverse_cumsum_of_wide_unsigned(fw: Framework, precision: str) -> None:
    need(fw, "uint32")
    x = fw.array([1, 2, 3], "uint32")
    assert fw.to_numpy(ur.cumsum(x, reverse=True, precision=precision)).tolist() == [6, 5, 3]


def test_exact_float_input_with_integer_dtype(fw: Framework) -> None:
    # Cast first (truncating, as the reference does), then checked integer arithmetic.
    x = fw.array([1.5, 2.25, -0.5], "float32")
    assert fw.to_numpy(ur.sum(x, dtype="int32", precision="exact")).tolist() == 3
    with pytest.raises(ur.IntegerOverflowError):
        fw.to_numpy(ur.sum(fw.array([100.7, 100.2], "float32"), dtype="int8", precision="exact"))
    y = fw.array([100.5, -90.5], "float32")
    assert fw.to_numpy(ur.cumsum(y, dtype="int8", precision="exact")).tolist() == [100, 10]


def test_exact_complex_sum_and_cumsum(fw: Framework) -> None:
    need(fw, "complex128")
    data = np.array([[1e300 + 2j, 3 - 1e300j, -1e300 + 0.5j, complex(-0.0, 1e300)]] * 3)
    x = fw.array(data, "complex128")
    want = _exactmath.exact_sum_along(data, (1,), False, "complex128").view(np.float64)
    got = np.ascontiguousarray(fw.to_numpy(ur.sum(x, axis=1, precision="exact")))
    assert bits(got.view(np.float64)) == bits(want)
    want_c = _exactmath.exact_cumsum_along(data, 1, "complex128").view(np.float64)
    got_c = np.ascontiguousarray(fw.to_numpy(ur.cumsum(x, axis=1, precision="exact")))
    assert bits(got_c.view(np.float64)) == bits(want_c)


# dtype= in exact mode: the input cast to the output dtype first, each value rounded once (half
# to even), subnormals kept. Expected values worked out by hand; the frameworks' own casts round
# float64 and int64 through float32 (twice) and TF/JAX flush subnormals, even when widening.
CASTS = [
    ([1 + 2**-8 + 2**-40], "float64", "bfloat16", 1 + 2**-7),  # twice: 1.0
    ([1 + 2**-8], "float64", "bfloat16", 1.0),  # a tie, to even
    ([1 + 3 * 2**-8], "float64", "bfloat16", 1 + 2**-6),  # a tie, to even (up)
    ([1 + 2**-11 + 2**-40], "float64", "float16", 1 + 2**-10),
    ([2**30 + 2**22 + 1], "int64", "bfloat16", 2**30 + 2**23),
    ([2049], "int32", "float16", 2048.0),  # a tie, to even
    ([65520], "int32", "float16", float("inf")),  # halfway past the largest float16: overflows
    ([2**32 - 1], "uint32", "float32", 2.0**32),
    ([2**31 + 2**7 + 1], "uint32", "float32", 2.0**31 + 2**8),
    # uint64 from 2**63 (negative in int64 lanes); torch, TF and JAX go through float32 (twice)
    ([2**63 + 2**55 + 2**23], "uint64", "bfloat16", 2.0**63 + 2**56),
    ([2**63 + 2**55 + 1], "uint64", "bfloat16", 2.0**63 + 2**56),  # the last bit decides
    ([2**63 + 2**55], "uint64", "bfloat16", 2.0**63),  # a tie, to even
    ([2**64 - 2**55], "uint64", "bfloat16", 2.0**64),  # a tie, to even (up, a carry)
    ([2**63 + 2**39 + 1], "uint64", "float32", 2.0**63 + 2**40),
    ([2**64 - 1], "uint64", "float64", 2.0**64),
    ([2**63 + 2**10 + 1], "uint64", "float64", 2.0**63 + 2**11),
    ([1.5 * 2.0**-149, 1.25 * 2.0**-140], "float64", "float32", 642 * 2.0**-149),  # subnormals
    ([1.25 * 2.0**-140, 2.0**-149], "float32", "float64", 641 * 2.0**-149),  # widening
    ([-1.25 * 2.0**-130, 2.0**-140], "float64", "bfloat16", -1.25 * 2.0**-130),  # 2**-140 -> 0
    ([3 * 2.0**-133, -(2.0**-160)], "float64", "float32", 3 * 2.0**-133),
]


@pytest.mark.parametrize(("data", "src", "out", "want"), CASTS)
def test_exact_dtype_casts_round_once(
    fw: Framework, data: list, src: str, out: str, want: float
) -> None:
    need(fw, src, out)
    x = fw.array(np.array(data, dtype=np_dtype(src)), src)
    got = fw.to_numpy(ur.sum(x, dtype=out, precision="exact"))
    assert bits(got) == bits(np.array(want, dtype=np_dtype(out))), (got, want)
    cum = fw.to_numpy(ur.cumsum(x, dtype=out, precision="exact"))
    assert bits(cum[-1:]) == bits(np.array([want], dtype=np_dtype(out)))
    if len(data) == 1:  # axis=(): each element's sum of one, the cast itself
        cast = fw.to_numpy(ur.sum(x, axis=(), dtype=out, precision="exact"))
        assert bits(cast) == bits(np.array([want], dtype=np_dtype(out)))


@pytest.mark.parametrize(
    ("data", "src", "out"),
    [([200, -3], "int16", "int8"), ([-1, 2], "int32", "uint8"), ([2**63, 0], "uint64", "int64")],
)
def test_exact_sum_over_no_axes_checks_integers(
    fw: Framework, data: list, src: str, out: str
) -> None:
    # Each element is a sum of one: checked as every other exact integer sum, not wrapped.
    need(fw, src, out)
    with pytest.raises(ur.IntegerOverflowError, match=out):
        fw.to_numpy(
            ur.sum(
                fw.array(np.array(data, dtype=np_dtype(src)), src),
                axis=(),
                dtype=out,
                precision="exact",
            )
        )
    fits = fw.array(np.array([data[1], 0], dtype=np_dtype(src)), src)
    got = fw.to_numpy(ur.sum(fits, axis=(), dtype=out, precision="exact"))
    assert got.dtype == np_dtype(out) and got.tolist() == [data[1], 0]


def test_exact_complex_cast_keeps_subnormals(fw: Framework) -> None:
    need(fw, "complex128", "complex64")
    data = np.array([3 * 2.0**-133 + 1j * (1 + 2**-24 + 2**-40)])
    got = fw.to_numpy(ur.sum(fw.array(data, "complex128"), dtype="complex64", precision="exact"))
    want = np.array([3 * 2.0**-133, 1 + 2**-23], dtype=np.float32)
    assert bits(np.ascontiguousarray(got).reshape(1).view(np.float32)) == bits(want)


@pytest.mark.parametrize(
    ("dtype", "value", "want"),
    [("bfloat16", 1 + 2**-8 + 2**-40, 1 + 2**-7), ("float16", 1 + 2**-11 + 2**-40, 1 + 2**-10)],
)
def test_exact_metric_rounds_values_once(
    fw: Framework, dtype: str, value: float, want: float
) -> None:
    need(fw, "float64", dtype)
    m = ur.Sum(dtype=dtype)
    m.update_state(fw.array(np.array([value]), "float64"))
    res = m.result()  # a NumPy array for dask (the metric computes its state)
    got = res if isinstance(res, np.ndarray) else fw.to_numpy(res)
    assert float(np.asarray(got, dtype=np.float64)) == want
