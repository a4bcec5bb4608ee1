"""The plain-PyTorch helpers written by ``--to torch``, run against TensorFlow itself.

A grid of every dtype, axis form, keepdims, exclusive and reverse: the helper's result must have
TF's dtype and shape, TF's integer values (wrap-around included) and float values within the
native error bound; where TF raises, the helper raises too (TypeError for bool input).
"""

from __future__ import annotations

import functools
from typing import Any

import ml_dtypes
import numpy as np
import pytest

from tests.migrate._harness import assert_same, describe, migrate_source, to_tensorflow, to_torch

_PROGRAM = """\
import tensorflow as tf


def reduce_sum(*args, **kwargs):
    return tf.reduce_sum(*args, **kwargs)


def cumsum(*args, **kwargs):
    return tf.math.cumsum(*args, **kwargs)
"""

DTYPES = [
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
]


@functools.cache
def migrated() -> dict[str, Any]:
    result = migrate_source(_PROGRAM, to="torch")
    namespace: dict[str, Any] = {}
    exec(compile(result.code, "<migrated helpers>", "exec"), namespace)
    assert "tensorflow" not in result.code
    return namespace


def tf_functions() -> dict[str, Any]:
    import tensorflow as tf

    return {"reduce_sum": tf.reduce_sum, "cumsum": tf.math.cumsum}


def data(dtype: str, shape: tuple[int, ...] = (3, 4)) -> np.ndarray:
    """Values that make every integer sum wrap; moderate random values for floats."""
    rng = np.random.default_rng(abs(hash((dtype, shape))) % 2**32)
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype in ("float16", "bfloat16", "float32", "float64"):
        np_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
        return rng.uniform(-2, 2, size=shape).astype(np.float32).astype(np_dtype)
    if dtype.startswith("complex"):
        return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)
    info = np.iinfo(dtype)
    low = info.max // 2 if info.min == 0 else info.min // 2
    return rng.integers(low, info.max, size=shape, dtype=dtype, endpoint=True)


def axis_value(form: str, backend: str) -> Any:
    """An axis in the form a TF program passes it; tensors in the program's framework."""
    values: dict[str, Any] = {
        "None": None,
        "0": 0,
        "1": 1,
        "-1": -1,
        "[]": [],
        "()": (),
        "[0, 1]": [0, 1],
        "(1, 0)": (1, 0),
        "[-2]": [-2],
        "np.int64(1)": np.int64(1),
    }
    if form in values:
        return values[form]
    array = np.array([1] if form == "tensor [1]" else 1, dtype=np.int32)
    return to_tensorflow(array) if backend == "tensorflow" else to_torch(array)


def compare(
    function: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    axis_form: str | None,
    terms: int | None = None,
) -> None:
    """Run TF and the migrated helper on the same data; assert identical behaviour."""
    tf_args = to_tensorflow(args)
    torch_args = to_torch(args)
    tf_kwargs, torch_kwargs = dict(kwargs), dict(kwargs)
    if axis_form is not None:
        tf_kwargs["axis"] = axis_value(axis_form, "tensorflow")
        torch_kwargs["axis"] = axis_value(axis_form, "torch")
    try:
        expected, tf_error = describe(tf_functions()[function](*tf_args, **tf_kwargs)), None
    except Exception as exc:
        expected, tf_error = None, exc
    helper = migrated()[function]
    if tf_error is not None:
        kind = TypeError if np.asarray(args[0]).dtype == bool else Exception
        with pytest.raises(kind):
            helper(*torch_args, **torch_kwargs)
        return
    actual = describe(helper(*torch_args, **torch_kwargs))
    assert_same(actual, expected, args, {"terms": terms}, f"{function} {kwargs} axis={axis_form}")


AXES = [
    "None",
    "0",
    "1",
    "-1",
    "[]",
    "()",
    "[0, 1]",
    "(1, 0)",
    "[-2]",
    "np.int64(1)",
    "tensor [1]",
    "tensor 1",
]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_reduce_sum_matches_tensorflow(dtype, axis, keepdims):
    compare("reduce_sum", (data(dtype),), {"keepdims": keepdims}, axis)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("axis", ["0", "1", "-1", "[-2]", "np.int64(1)", "tensor 1", "omitted"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cumsum_matches_tensorflow(dtype, axis, exclusive, reverse):
    form = None if axis == "omitted" else axis
    kwargs = {"exclusive": exclusive, "reverse": reverse}
    compare("cumsum", (data(dtype),), kwargs, form, terms=4)


@pytest.mark.parametrize(
    ("shape", "axis"),
    [
        ((), "None"),
        ((), "[]"),
        ((), "0"),
        ((), "-1"),
        ((0,), "None"),
        ((0, 3), "0"),
        ((0, 3), "1"),
        ((3, 0), "None"),
        ((3, 0), "[]"),
    ],
)
@pytest.mark.parametrize("dtype", ["int32", "uint32", "float32"])
def test_reduce_sum_edge_shapes(dtype, shape, axis):
    compare("reduce_sum", (data(dtype, shape),), {}, axis)


@pytest.mark.parametrize(
    ("shape", "axis", "exclusive", "reverse"),
    [
        ((), "0", False, False),
        ((0,), "0", True, True),
        ((2, 0), "1", True, False),
        ((0, 3), "0", False, True),
        ((1, 3), "0", True, False),
    ],
)
@pytest.mark.parametrize("dtype", ["int32", "uint16", "float64"])
def test_cumsum_edge_shapes(dtype, shape, axis, exclusive, reverse):
    compare("cumsum", (data(dtype, shape),), {"exclusive": exclusive, "reverse": reverse}, axis)


@pytest.mark.parametrize(
    "value",
    [[1, 2, 3], [[1, 2], [3, 4]], [1.5, 2.0], [2**40, 1], [], (7, -8)],
    ids=["ints", "nested ints", "floats", "big ints", "empty", "tuple"],
)
@pytest.mark.parametrize("function", ["reduce_sum", "cumsum"])
def test_python_sequences_convert_as_tensorflow_does(function, value):
    """TF makes int32 from Python ints that fit (torch.as_tensor: int64) and float32 from
    floats; the helpers must give TF's dtype."""
    compare(function, (value,), {}, None)


def test_a_list_of_tensors_is_stacked_and_keeps_gradients():
    """tf.reduce_sum([a, b]) packs the tensors; torch.as_tensor would copy the values and cut
    the autograd graph, so the helper stacks them."""
    import torch

    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(5.0, requires_grad=True)
    total = migrated()["reduce_sum"]([a * 3.0, b])
    total.backward()
    assert total.item() == 11.0
    assert (a.grad.item(), b.grad.item()) == (3.0, 1.0)


def test_numpy_input_keeps_its_dtype():
    import tensorflow as tf

    x = np.array([2**31 - 1, 1], dtype=np.int64)
    expected = describe(tf.reduce_sum(x))
    actual = describe(migrated()["reduce_sum"](x))
    assert (actual.dtype, actual.values.item()) == (expected.dtype, expected.values.item())
    assert actual.values.item() == 2**31  # int64 does not wrap here


@pytest.mark.parametrize(
    ("dtype", "values", "expected"),
    [
        ("int8", [100, 100], -56),
        ("uint8", [200, 100], 44),
        ("int16", [32767, 1], -32768),
        ("int32", [2**31 - 1, 1], -(2**31)),
        ("uint16", [65535, 2], 1),
        ("uint32", [2**32 - 1, 1], 0),
        ("uint64", [2**64 - 1, 2], 1),
        ("int64", [2**63 - 1, 1], -(2**63)),
    ],
)
def test_integer_sums_wrap_to_the_input_dtype(dtype, values, expected):
    """Expected values written by hand: (sum) mod 2**bits, in two's complement when signed."""
    import torch

    x = to_torch(np.array(values, dtype=dtype))
    out = migrated()["reduce_sum"](x)
    assert out.dtype == getattr(torch, dtype)
    assert int(out) == expected


def test_bool_input_raises_type_error_naming_the_fix():
    import torch

    with pytest.raises(TypeError, match=r"refuses bool.*x\.to\(torch\.int32\)"):
        migrated()["reduce_sum"](torch.tensor([True, False]))
    with pytest.raises(TypeError, match="refuses bool"):
        migrated()["cumsum"](torch.tensor([True, False]))


def test_empty_axis_result_does_not_alias_the_input():
    """TF tensors are immutable; in torch an aliased result would change with the input."""
    import torch

    x = torch.ones(2, 3)
    out = migrated()["reduce_sum"](x, axis=[])
    x += 1
    assert torch.equal(out, torch.ones(2, 3))


def test_float16_accumulation_is_the_one_divergence_left_and_it_is_marked():
    """TF sums float16 in float16, torch in float32: [65504, 65504, -65504] overflows to inf in
    TF only. No torch op reproduces TF's order, so the migration marks such calls instead."""
    import tensorflow as tf
    import torch

    values = np.array([65504, 65504, -65504], dtype=np.float16)
    assert np.isinf(tf.reduce_sum(values).numpy())
    assert float(migrated()["reduce_sum"](torch.from_numpy(values))) == 65504.0
    result = migrate_source("import tensorflow as tf\n\ny = tf.reduce_sum(h)  # float16\n")
    assert "# unireduce-migrate: float16 input?" in result.code
    assert "half-precision" in [e.kind for e in result.entries]
