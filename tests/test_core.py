"""The canonical rules of issue 2 on every backend: dtypes, overflow, axes, empty and 0-d input.

Expected values are written out by hand from the array API standard's text (2025.12) and the
issue; they are not computed by unireduce. Every test is parametrized by the ``fw`` fixture, so a
failure names the backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import unireduce as ur
from tests._frameworks import Framework

# The array API's output dtypes with dtype=None, default integer int64 ...
SUM_DTYPE_64 = {
    "bool": "int64",
    "int8": "int64",
    "int16": "int64",
    "int32": "int64",
    "int64": "int64",
    "uint8": "uint64",
    "uint16": "uint64",
    "uint32": "uint64",
    "uint64": "uint64",
    "float16": "float16",
    "bfloat16": "bfloat16",
    "float32": "float32",
    "float64": "float64",
    "complex64": "complex64",
    "complex128": "complex128",
}
# ... and default integer int32 (JAX with x64 off).
SUM_DTYPE_32 = {
    **SUM_DTYPE_64,
    "bool": "int32",
    "int8": "int32",
    "int16": "int32",
    "int32": "int32",
    "uint8": "uint32",
    "uint16": "uint32",
    "uint32": "uint32",
}
ALL_DTYPES = tuple(SUM_DTYPE_64)


def expected_dtypes(fw: Framework) -> dict[str, str]:
    return SUM_DTYPE_32 if fw.id == "jax" else SUM_DTYPE_64


def need(fw: Framework, *dtypes: str) -> None:
    missing = [d for d in dtypes if d not in fw.dtypes]
    if missing:
        pytest.skip(f"{fw.id} has no {', '.join(missing)} dtype")


def values(fw: Framework, out: Any) -> list[Any]:
    return np.asarray(fw.to_numpy(out)).tolist()  # type: ignore[no-any-return]


MATRIX = [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


# ----------------------------------------------------------------------------- dtype tables
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_sum_output_dtype_and_value(fw: Framework, dtype: str) -> None:
    need(fw, dtype)
    x = fw.array([1, 0, 1], dtype)
    out = ur.sum(x)
    assert fw.dtype_of(out) == expected_dtypes(fw)[dtype]
    assert values(fw, out) == 2


@pytest.mark.parametrize("fn", ["cumulative_sum", "cumsum"])
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_cumulative_output_dtype_and_value(fw: Framework, dtype: str, fn: str) -> None:
    need(fw, dtype)
    x = fw.array([1, 0, 1], dtype)
    out = getattr(ur, fn)(x)
    assert fw.dtype_of(out) == expected_dtypes(fw)[dtype]
    assert values(fw, out) == [1, 1, 2]


@pytest.mark.parametrize("dtype", [d for d in ALL_DTYPES if d != "bool"])
def test_reduce_sum_keeps_input_dtype(fw: Framework, dtype: str) -> None:
    need(fw, dtype)
    out = ur.reduce_sum(fw.array([1, 0, 1], dtype))
    assert fw.dtype_of(out) == dtype
    assert values(fw, out) == 2


def test_reduce_sum_refuses_bool_like_tensorflow(fw: Framework) -> None:
    with pytest.raises(ur.DTypeError, match=r"TensorFlow .* refuses bool input") as info:
        ur.reduce_sum(fw.array([True, False], "bool"))
    assert isinstance(info.value, TypeError)


# ----------------------------------------------------------------------------- overflow
def test_int32_sum_promotes_to_default_int(fw: Framework) -> None:
    out = ur.sum(fw.array([2**31 - 1, 1], "int32"))
    if fw.id == "jax":  # default integer int32: the array API result wraps
        assert (fw.dtype_of(out), values(fw, out)) == ("int32", -(2**31))
    else:
        assert (fw.dtype_of(out), values(fw, out)) == ("int64", 2**31)


def test_uint8_sum_is_unsigned_and_wide(fw: Framework) -> None:
    out = ur.sum(fw.array([200, 100], "uint8"))
    assert values(fw, out) == 300
    assert fw.dtype_of(out) == ("uint32" if fw.id == "jax" else "uint64")


@pytest.mark.parametrize(
    ("dtype", "data", "total"),
    [
        ("int8", [100, 100], -56),
        ("uint8", [200, 100], 44),
        ("int16", [32767, 1], -32768),
        ("int32", [2**31 - 1, 1], -(2**31)),
        ("uint32", [2**32 - 1, 1], 0),
        ("int64", [2**63 - 1, 1], -(2**63)),
        ("uint64", [2**64 - 1, 2], 1),
        ("uint16", [65535, 2], 1),
    ],
)
def test_reduce_sum_wraps_in_input_dtype(fw: Framework, dtype: str, data: list, total: int) -> None:
    need(fw, dtype)
    out = ur.reduce_sum(fw.array(data, dtype))
    assert (fw.dtype_of(out), values(fw, out)) == (dtype, total)


def test_sum_64bit_wraps(fw: Framework) -> None:
    need(fw, "int64", "uint64")
    assert values(fw, ur.sum(fw.array([2**63 - 1, 1], "int64"))) == -(2**63)
    assert values(fw, ur.sum(fw.array([2**64 - 1, 1], "uint64"))) == 0


@pytest.mark.parametrize(
    ("dtype", "data", "target", "total"),
    [
        ("int8", [100, 100], "int8", -56),
        ("int8", [100, 100], "int16", 200),
        ("uint8", [200, 100], "uint8", 44),
        ("int32", [1, 2], "float32", 3.0),
        ("float32", [1.5, 2.5], "int32", 3),  # cast first (1 + 2), then sum
        ("bool", [True, True, False], "int8", 2),
        ("uint16", [65535, 3], "uint16", 2),
        ("uint8", [255, 255], "uint32", 510),
    ],
)
def test_dtype_argument_casts_then_sums(
    fw: Framework, dtype: str, data: list, target: str, total: object
) -> None:
    need(fw, dtype, target)
    out = ur.sum(fw.array(data, dtype), dtype=target)
    assert (fw.dtype_of(out), values(fw, out)) == (target, total)


def test_dtype_argument_accepts_numpy_dtype_objects(fw: Framework) -> None:
    x = fw.array([100, 100], "int8")
    assert values(fw, ur.sum(x, dtype=np.int16)) == 200
    assert values(fw, ur.sum(x, dtype=np.dtype("int16"))) == 200


def test_dtype_argument_accepts_the_backends_own_dtype(fw: Framework) -> None:
    x = fw.array([100, 100], "int8")
    native = fw.array([1], "int16").dtype  # the framework's own dtype object
    out = ur.sum(x, dtype=native)
    assert (fw.dtype_of(out), values(fw, out)) == ("int16", 200)


@pytest.mark.parametrize(
    ("dtype", "match"),
    [
        ("int", "unknown dtype 'int'"),
        ("bool", "dtype='bool' is not allowed"),
        (object(), "is not a dtype unireduce knows"),
    ],
)
def test_bad_dtype_argument(fw: Framework, dtype: object, match: str) -> None:
    with pytest.raises(ur.DTypeError, match=match):
        ur.sum(fw.array([1, 2], "int32"), dtype=dtype)


def test_complex_to_real_dtype_is_refused(fw: Framework) -> None:
    with pytest.raises(ur.DTypeError, match="imaginary"):
        ur.sum(fw.array([1 + 1j], "complex64"), dtype="float32")


def test_64bit_result_on_jax_x32_is_refused(fw: Framework) -> None:
    if fw.id != "jax":
        pytest.skip("only JAX with x64 off lacks 64-bit dtypes")
    with pytest.raises(ur.DTypeError, match="jax_enable_x64"):
        ur.sum(fw.array([1, 2], "int32"), dtype="int64")


# ----------------------------------------------------------------------------- axes
@pytest.mark.parametrize(
    ("axis", "shape", "expected"),
    [
        (None, (), 15.0),
        (0, (3,), [3.0, 5.0, 7.0]),
        (1, (2,), [3.0, 12.0]),
        (-1, (2,), [3.0, 12.0]),
        (-2, (3,), [3.0, 5.0, 7.0]),
        ((0, 1), (), 15.0),
        ((-1, 0), (), 15.0),
        ([0, 1], (), 15.0),
        ([1], (2,), [3.0, 12.0]),
        ((), (2, 3), MATRIX),
        ([], (2, 3), MATRIX),
        (np.int64(1), (2,), [3.0, 12.0]),
    ],
)
def test_sum_axis_forms(fw: Framework, axis: object, shape: tuple, expected: object) -> None:
    out = ur.sum(fw.array(MATRIX, "float32"), axis=axis)
    assert tuple(fw.to_numpy(out).shape) == shape
    assert values(fw, out) == expected


@pytest.mark.parametrize(
    ("axis", "shape"),
    [(None, (1, 1)), (0, (1, 3)), (1, (2, 1)), ((0, 1), (1, 1)), ((), (2, 3))],
)
def test_sum_keepdims(fw: Framework, axis: object, shape: tuple) -> None:
    out = ur.sum(fw.array(MATRIX, "float32"), axis=axis, keepdims=True)
    assert tuple(fw.to_numpy(out).shape) == shape


def test_empty_axis_casts_without_reducing(fw: Framework) -> None:
    out = ur.sum(fw.array([[1, 2], [3, 4]], "int8"), axis=())
    assert fw.dtype_of(out) == expected_dtypes(fw)["int8"]
    assert values(fw, out) == [[1, 2], [3, 4]]


def test_axis_as_zero_d_array_of_the_backend(fw: Framework) -> None:
    axis = fw.array(1, "int32")
    if fw.id == "dask":
        pytest.skip("a lazy dask scalar has no integer value until computed")
    out = ur.sum(fw.array(MATRIX, "float32"), axis=axis)
    assert values(fw, out) == [3.0, 12.0]


@pytest.mark.parametrize("axis", [2, -3, (0, 2), [5]])
def test_axis_out_of_range(fw: Framework, axis: object) -> None:
    with pytest.raises(ur.AxisError, match="out of bounds") as info:
        ur.sum(fw.array(MATRIX, "float32"), axis=axis)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, IndexError)
    assert "sum" in str(info.value)


@pytest.mark.parametrize("axis", [(0, 0), (0, -2), [1, -1]])
def test_duplicate_axes(fw: Framework, axis: object) -> None:
    with pytest.raises(ur.AxisError, match="same axis twice"):
        ur.sum(fw.array(MATRIX, "float32"), axis=axis)


@pytest.mark.parametrize("axis", [1.0, "0", True, (0, 1.5), {0}])
def test_non_integer_axis(fw: Framework, axis: object) -> None:
    with pytest.raises(ur.UnireduceTypeError) as info:
        ur.sum(fw.array(MATRIX, "float32"), axis=axis)
    assert isinstance(info.value, TypeError)


def test_axis_error_leaves_nothing_behind(fw: Framework) -> None:
    x = fw.array(MATRIX, "float32")
    with pytest.raises(ur.AxisError):
        ur.sum(x, axis=7)
    assert values(fw, ur.sum(x, axis=0)) == [3.0, 5.0, 7.0]


# ----------------------------------------------------------------------------- 0-d and empty
def test_zero_d_sum(fw: Framework) -> None:
    x = fw.array(5, "int8")
    for axis in (None, ()):
        out = ur.sum(x, axis=axis)
        assert tuple(fw.to_numpy(out).shape) == ()
        assert values(fw, out) == 5
        assert fw.dtype_of(out) == expected_dtypes(fw)["int8"]


@pytest.mark.parametrize("axis", [0, -1, (0,)])
def test_zero_d_sum_refuses_an_axis(fw: Framework, axis: object) -> None:
    with pytest.raises(ur.AxisError, match="0-d"):
        ur.sum(fw.array(5.0, "float32"), axis=axis)


@pytest.mark.parametrize(
    ("shape", "axis", "out_shape"),
    [((0,), None, ()), ((0, 3), 0, (3,)), ((3, 0), 1, (3,)), ((3, 0), 0, (0,)), ((3, 0), None, ())],
)
def test_empty_reduction_is_zero(
    fw: Framework, shape: tuple, axis: object, out_shape: tuple
) -> None:
    x = fw.array(np.zeros(shape), "int8")
    out = ur.sum(x, axis=axis)
    assert tuple(fw.to_numpy(out).shape) == out_shape
    assert fw.dtype_of(out) == expected_dtypes(fw)["int8"]
    assert np.all(fw.to_numpy(out) == 0)


def test_keepdims_on_empty_input(fw: Framework) -> None:
    out = ur.sum(fw.array(np.zeros((0, 3)), "float32"), keepdims=True)
    assert tuple(fw.to_numpy(out).shape) == (1, 1)
    assert values(fw, out) == [[0.0]]


# ----------------------------------------------------------------------------- half precision
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_sums(fw: Framework, dtype: str) -> None:
    need(fw, dtype)
    out = ur.sum(fw.array([0.5, 0.25, 0.25, 1.0], dtype))
    assert (fw.dtype_of(out), values(fw, out)) == (dtype, 2.0)
    cs = ur.cumsum(fw.array([0.5, 0.25, 0.25, 1.0], dtype))
    assert (fw.dtype_of(cs), values(fw, cs)) == (dtype, [0.5, 0.75, 1.0, 2.0])


# ----------------------------------------------------------------------------- cumulative sums
def test_cumulative_sum_axis_required_beyond_1d(fw: Framework) -> None:
    with pytest.raises(ur.AxisError, match="axis is required for a 2-D input"):
        ur.cumulative_sum(fw.array(MATRIX, "float32"))
    with pytest.raises(ur.AxisError, match="axis is required"):
        ur.cumsum(fw.array(MATRIX, "float32"))


@pytest.mark.parametrize(
    ("axis", "expected"),
    [
        (0, [[0.0, 1.0, 2.0], [3.0, 5.0, 7.0]]),
        (1, [[0.0, 1.0, 3.0], [3.0, 7.0, 12.0]]),
        (-1, [[0.0, 1.0, 3.0], [3.0, 7.0, 12.0]]),
        (np.int32(0), [[0.0, 1.0, 2.0], [3.0, 5.0, 7.0]]),
    ],
)
def test_cumulative_sum_axes(fw: Framework, axis: object, expected: list) -> None:
    assert values(fw, ur.cumulative_sum(fw.array(MATRIX, "float32"), axis=axis)) == expected


def test_cumulative_sum_zero_d_is_refused(fw: Framework) -> None:
    for fn in (ur.cumulative_sum, ur.cumsum):
        with pytest.raises(ur.AxisError, match="0-d"):
            fn(fw.array(5.0, "float32"))


@pytest.mark.parametrize("axis", [(0,), [0], 0.0, 2, -3])
def test_cumulative_sum_bad_axis(fw: Framework, axis: object) -> None:
    with pytest.raises((ur.AxisError, ur.UnireduceTypeError)) as info:
        ur.cumulative_sum(fw.array(MATRIX, "float32"), axis=axis)
    expected = ur.AxisError if isinstance(axis, int) else ur.UnireduceTypeError
    assert isinstance(info.value, expected)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, [1, 3, 6]),
        ({"include_initial": True}, [0, 1, 3, 6]),
        ({"exclusive": True}, [0, 1, 3]),
        ({"reverse": True}, [6, 5, 3]),
        ({"reverse": True, "exclusive": True}, [5, 3, 0]),
        ({"reverse": True, "include_initial": True}, [6, 5, 3, 0]),
    ],
)
@pytest.mark.parametrize("dtype", ["int8", "uint16", "float32", "float64"])
def test_cumsum_flags(fw: Framework, kwargs: dict, expected: list, dtype: str) -> None:
    need(fw, dtype)
    out = ur.cumsum(fw.array([1, 2, 3], dtype), **kwargs)
    assert values(fw, out) == expected
    assert fw.dtype_of(out) == expected_dtypes(fw)[dtype]


def test_cumsum_flags_along_an_axis(fw: Framework) -> None:
    x = fw.array([[1, 2, 3], [4, 5, 6]], "int32")
    assert values(fw, ur.cumsum(x, 0, exclusive=True)) == [[0, 0, 0], [1, 2, 3]]
    assert values(fw, ur.cumsum(x, 1, reverse=True)) == [[6, 5, 3], [15, 11, 6]]
    assert values(fw, ur.cumsum(x, axis=1, include_initial=True)) == [[0, 1, 3, 6], [0, 4, 9, 15]]
    assert values(fw, ur.cumulative_sum(x, axis=0, include_initial=True)) == [
        [0, 0, 0],
        [1, 2, 3],
        [5, 7, 9],
    ]


def test_cumsum_exclusive_with_include_initial_is_refused(fw: Framework) -> None:
    with pytest.raises(ur.UnireduceValueError, match="overlap") as info:
        ur.cumsum(fw.array([1, 2], "int32"), exclusive=True, include_initial=True)
    assert isinstance(info.value, ValueError)


def test_cumsum_dtype_argument_wraps(fw: Framework) -> None:
    out = ur.cumsum(fw.array([100, 100], "int8"), dtype="int8")
    assert (fw.dtype_of(out), values(fw, out)) == ("int8", [100, -56])


def test_cumsum_of_empty(fw: Framework) -> None:
    out = ur.cumsum(fw.array(np.zeros((0,)), "float32"), include_initial=True)
    assert values(fw, out) == [0.0]
    out = ur.cumsum(fw.array(np.zeros((2, 0)), "int8"), axis=1)
    assert tuple(fw.to_numpy(out).shape) == (2, 0)


@pytest.mark.parametrize("flag", ["exclusive", "reverse", "include_initial"])
def test_cumsum_flags_must_be_bool(fw: Framework, flag: str) -> None:
    with pytest.raises(ur.UnireduceTypeError, match=flag):
        ur.cumsum(fw.array([1, 2], "int32"), **{flag: 1})


# ----------------------------------------------------------------------------- reduce_sum
@pytest.mark.parametrize(
    ("axis", "expected"),
    [
        (None, 15.0),
        (0, [3.0, 5.0, 7.0]),
        ([0, 1], 15.0),
        ((1,), [3.0, 12.0]),
        ([], MATRIX),
        ((), MATRIX),
        (-1, [3.0, 12.0]),
    ],
)
def test_reduce_sum_axis_forms(fw: Framework, axis: object, expected: object) -> None:
    assert values(fw, ur.reduce_sum(fw.array(MATRIX, "float32"), axis)) == expected


def test_reduce_sum_axis_as_1d_tensor(fw: Framework) -> None:
    if fw.id == "dask":
        pytest.skip("a lazy dask array has no integer value until computed")
    axis = fw.array([0, 1], "int32")
    assert values(fw, ur.reduce_sum(fw.array(MATRIX, "float32"), axis=axis)) == 15.0


def test_reduce_sum_keepdims_and_name(fw: Framework) -> None:
    out = ur.reduce_sum(fw.array(MATRIX, "float32"), None, True, "total")
    assert values(fw, out) == [[15.0]]


def test_reduce_sum_keepdims_none_means_false_as_in_tensorflow(fw: Framework) -> None:
    out = ur.reduce_sum(fw.array(MATRIX, "float32"), 0, None)
    assert tuple(fw.to_numpy(out).shape) == (3,)


def test_reduce_sum_refuses_dtype_argument(fw: Framework) -> None:
    with pytest.raises(TypeError):
        ur.reduce_sum(fw.array(MATRIX, "float32"), dtype="float64")  # type: ignore[call-arg]


# ----------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("bad", [[1, 2], 3, 2.5, "abc", None, (1, 2)])
@pytest.mark.parametrize("fn", ["sum", "cumulative_sum", "cumsum", "reduce_sum"])
def test_non_arrays_raise_backend_error(bad: object, fn: str) -> None:
    with pytest.raises(ur.BackendError, match="not an array of a registered backend") as info:
        getattr(ur, fn)(bad)
    assert isinstance(info.value, TypeError)
    assert "numpy" in str(info.value)


def test_keepdims_must_be_bool(fw: Framework) -> None:
    with pytest.raises(ur.UnireduceTypeError, match="keepdims"):
        ur.sum(fw.array([1, 2], "int32"), keepdims="yes")


def test_unknown_semantics(fw: Framework) -> None:
    with pytest.raises(ur.UnireduceValueError, match="unknown semantics='keras'"):
        ur.sum(fw.array([1, 2], "int32"), semantics="keras")


def test_backend_name(fw: Framework) -> None:
    assert ur.backend_name(fw.array([1.0], "float32")) == fw.backend
    assert fw.backend in ur.available_backends()


def test_results_stay_on_the_backend(fw: Framework) -> None:
    x = fw.array(MATRIX, "float32")
    for out in (ur.sum(x), ur.sum(x, axis=0), ur.cumsum(x, 1), ur.reduce_sum(x, [])):
        assert ur.backend_name(out) == fw.backend


def test_errors_all_subclass_unireduce_error() -> None:
    for cls in (ur.AxisError, ur.DTypeError, ur.BackendError, ur.IntegerOverflowError):
        assert issubclass(cls, ur.UnireduceError)
    assert issubclass(ur.AxisError, ValueError) and issubclass(ur.AxisError, IndexError)
    assert issubclass(ur.DTypeError, TypeError) and issubclass(ur.BackendError, TypeError)
    assert issubclass(ur.IntegerOverflowError, OverflowError)
