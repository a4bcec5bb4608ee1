"""The built-in battery of ``unireduce matrix``: every case as plain data, no framework imported.

A :class:`Case` names one native call by its *operation* (``sum``, ``cumsum`` or
``cumulative_sum``), its input and its keyword arguments written in NumPy's spelling (``axis``,
``keepdims``, ``dtype``). :mod:`unireduce._matrix_worker` translates it into each framework's own
call (``torch.sum(x, dim=..., keepdim=...)``, ``tf.reduce_sum``, ``jnp.sum``, ...) and passes every
argument as given, so a keyword a framework lacks shows up as the ``TypeError`` it raises.

The cases cover the divergences listed at the end of the project's semantics matrix: the output
dtype of sum and cumsum per input dtype, ``dtype=``, integer overflow, every axis form (``()``,
``[]``, out of range, duplicates, NumPy integers, 0-d and 1-D integer tensors, floats), axes on
0-d input, ``keepdims``, empty input, special floats and signed zero, half-precision accumulation,
cumsum's default axis, 0-d input, ``exclusive``/``reverse``/``include_initial``, the accuracy of a
float32 cumsum, and the exception class each framework raises for the same mistake.

Case ids are stable (``<operation>.<group>.<name>``): saved reports are compared by id.

>>> from unireduce._matrix_cases import CASES, by_id
>>> by_id()["sum.overflow.int8"].x.values
(100, 100)
>>> len({c.id for c in CASES}) == len(CASES)
True
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from ._dtypes import ALL_DTYPES

__all__ = [
    "CASES",
    "Case",
    "Dtype",
    "Input",
    "NpInt",
    "Op",
    "Tensor",
    "by_id",
    "select",
]

#: The native function family a case calls.
Op = Literal["sum", "cumsum", "cumulative_sum"]
#: How a result is recorded: all of it, or (for long scans) the last value and the first index
#: where a prefix differs from the correctly rounded exact prefix sum.
Summary = Literal["full", "scan_accuracy"]

Scalar = bool | int | float
Nested = Scalar | tuple["Nested", ...]


@dataclass(frozen=True)
class NpInt:
    """An ``axis`` given as a NumPy integer (``np.int64(value)``)."""

    value: int


@dataclass(frozen=True)
class Tensor:
    """An ``axis`` given as the framework's own integer array (0-d for an int, 1-D for a tuple)."""

    value: int | tuple[int, ...]


@dataclass(frozen=True)
class Dtype:
    """A ``dtype=`` argument, passed as the framework's dtype object for this canonical name."""

    name: str


@dataclass(frozen=True)
class Input:
    """The array a case reduces: ``values`` (nested tuples) or ``shape`` filled with ``fill``.

    ``python=True`` passes the values as a Python list instead of an array.
    """

    dtype: str
    values: Nested | None = None
    shape: tuple[int, ...] | None = None
    fill: float = 0.0
    python: bool = False

    def describe(self) -> str:
        """A short human description, e.g. ``int8 [100, 100]``."""
        if self.python:
            return f"Python list {_show(self.values)}"
        if self.values is not None:
            return f"{self.dtype} {_show(self.values)}"
        assert self.shape is not None
        n = 1
        for s in self.shape:
            n *= s
        if n == 0:
            return f"{self.dtype} empty {_shape(self.shape)}"
        fill = int(self.fill) if float(self.fill).is_integer() else self.fill
        return f"{self.dtype} {_shape(self.shape)} filled with {fill}"


@dataclass(frozen=True)
class Case:
    """One native call, run on every framework."""

    id: str
    title: str
    op: Op
    x: Input
    kwargs: tuple[tuple[str, object], ...] = ()
    summary: Summary = "full"

    @property
    def group(self) -> str:
        """``<operation>.<group>``, the part of the id before the case's own name."""
        return self.id.rsplit(".", 1)[0]


def _show(v: object) -> str:
    if isinstance(v, tuple):
        return "[" + ", ".join(_show(e) for e in v) + "]"
    return repr(v)


def _shape(shape: Sequence[int]) -> str:
    return "(" + ",".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _kw(**kwargs: object) -> tuple[tuple[str, object], ...]:
    return tuple(kwargs.items())


M23: Final = Input("float32", ((0.0, 1.0, 2.0), (3.0, 4.0, 5.0)))
C23: Final = Input("float32", ((1.0, 2.0, 3.0), (4.0, 5.0, 6.0)))
ZERO_D: Final = Input("float32", 5.0)
V123: Final = Input("float32", (1.0, 2.0, 3.0))
ONE_ZERO_ONE: Final = (1, 0, 1)


def _sum_cases() -> list[Case]:
    cases = [
        Case(
            f"sum.dtype.{dt}",
            f"sum of {dt} [1, 0, 1]: output dtype",
            "sum",
            Input(dt, ONE_ZERO_ONE),
        )
        for dt in ALL_DTYPES
    ]
    i8 = Input("int8", (100, 100))
    i32max = Input("int32", (2**31 - 1, 1))
    for name, x, dt in [
        ("int8_to_int8", i8, "int8"),
        ("int8_to_int16", i8, "int16"),
        ("uint8_to_uint8", Input("uint8", (200, 100)), "uint8"),
        ("int32_to_int32", i32max, "int32"),
        ("int32_to_int64", i32max, "int64"),
        ("int32_to_float32", Input("int32", (1, 2)), "float32"),
        ("float32_to_int32", Input("float32", (1.5, 2.5)), "int32"),
        ("float32_to_float64", Input("float32", (0.1, 0.1, 0.1)), "float64"),
        ("float64_to_float32", Input("float64", (0.1, 0.1, 0.1)), "float32"),
        ("float16_to_float32", Input("float16", (65504.0, 65504.0, -65504.0)), "float32"),
        ("bool_to_bool", Input("bool", (True, True, False)), "bool"),
        ("bool_to_int8", Input("bool", (True, True, False)), "int8"),
    ]:
        cases.append(
            Case(
                f"sum.dtype_arg.{name}",
                f"sum of {x.describe()}, dtype={dt}",
                "sum",
                x,
                _kw(dtype=Dtype(dt)),
            )
        )
    cases.append(
        Case(
            "sum.dtype_arg.explicit_none",
            "sum of int8 [1, 2], dtype=None",
            "sum",
            Input("int8", (1, 2)),
            _kw(dtype=None),
        )
    )
    for name, x in [
        ("int8", Input("int8", (100, 100))),
        ("int16", Input("int16", (32767, 1))),
        ("int32", i32max),
        ("int64", Input("int64", (2**63 - 1, 1))),
        ("uint8", Input("uint8", (200, 100))),
        ("uint32", Input("uint32", (2**32 - 1, 1))),
        ("bool_300", Input("bool", shape=(300,), fill=1)),
    ]:
        cases.append(Case(f"sum.overflow.{name}", f"sum of {x.describe()}: overflow", "sum", x))
    axis_forms: list[tuple[str, str, tuple[tuple[str, object], ...]]] = [
        ("omitted", "no axis argument", ()),
        ("none", "axis=None", _kw(axis=None)),
        ("0", "axis=0", _kw(axis=0)),
        ("1", "axis=1", _kw(axis=1)),
        ("minus1", "axis=-1", _kw(axis=-1)),
        ("tuple_0_1", "axis=(0, 1)", _kw(axis=(0, 1))),
        ("tuple_minus1_0", "axis=(-1, 0)", _kw(axis=(-1, 0))),
        ("list_0_1", "axis=[0, 1] (a list)", _kw(axis=[0, 1])),
        ("empty_tuple", "axis=() (empty tuple)", _kw(axis=())),
        ("empty_list", "axis=[] (empty list)", _kw(axis=[])),
        ("duplicate_0_0", "axis=(0, 0) (duplicate)", _kw(axis=(0, 0))),
        ("duplicate_0_minus2", "axis=(0, -2) (duplicate after normalising)", _kw(axis=(0, -2))),
        ("out_of_range_2", "axis=2 (out of range)", _kw(axis=2)),
        ("out_of_range_minus3", "axis=-3 (out of range)", _kw(axis=-3)),
        ("keepdims_omitted_axis", "keepdims=True, no axis argument", _kw(keepdims=True)),
        ("keepdims_none", "keepdims=True, axis=None", _kw(axis=None, keepdims=True)),
        ("keepdims_1", "keepdims=True, axis=1", _kw(axis=1, keepdims=True)),
        ("keepdims_empty_tuple", "keepdims=True, axis=()", _kw(axis=(), keepdims=True)),
        ("numpy_int", "axis=np.int64(1)", _kw(axis=NpInt(1))),
        ("tensor_0d", "axis = the framework's 0-d integer array 1", _kw(axis=Tensor(1))),
        ("tensor_1d", "axis = the framework's 1-D integer array [0, 1]", _kw(axis=Tensor((0, 1)))),
        ("float", "axis=1.0 (a float)", _kw(axis=1.0)),
    ]
    for name, what, kw in axis_forms:
        cases.append(
            Case(f"sum.axis.{name}", f"sum of float32 [[0,1,2],[3,4,5]], {what}", "sum", M23, kw)
        )
    for name, what, kw in [
        ("omitted", "no axis argument", ()),
        ("0", "axis=0", _kw(axis=0)),
        ("minus1", "axis=-1", _kw(axis=-1)),
        ("empty_tuple", "axis=()", _kw(axis=())),
        ("tuple_0", "axis=(0,)", _kw(axis=(0,))),
        ("1", "axis=1", _kw(axis=1)),
        ("keepdims", "keepdims=True", _kw(keepdims=True)),
    ]:
        cases.append(
            Case(f"sum.axis_0d.{name}", f"sum of 0-d float32 5.0, {what}", "sum", ZERO_D, kw)
        )
    for name, x, kw in [
        ("float32", Input("float32", shape=(0,)), ()),
        ("int8", Input("int8", shape=(0,)), ()),
        ("bool", Input("bool", shape=(0,)), ()),
        ("0x3_none", Input("float32", shape=(0, 3)), _kw(axis=None)),
        ("0x3_axis0", Input("float32", shape=(0, 3)), _kw(axis=0)),
        ("0x3_axis1", Input("float32", shape=(0, 3)), _kw(axis=1)),
        ("3x0_axis1", Input("float32", shape=(3, 0)), _kw(axis=1)),
    ]:
        what = "".join(f", {k}={v}" for k, v in kw)
        cases.append(Case(f"sum.empty.{name}", f"sum of {x.describe()}{what}", "sum", x, kw))
    for name, x in [
        ("f64_neg_zero", Input("float64", (-0.0,))),
        ("f64_neg_zero_x2", Input("float64", (-0.0, -0.0))),
        ("f32_neg_zero_x1000", Input("float32", shape=(1000,), fill=-0.0)),
        ("f64_inf_minus_inf", Input("float64", (float("inf"), float("-inf")))),
        ("f64_nan_1", Input("float64", (float("nan"), 1.0))),
        ("f64_overflow", Input("float64", (1e308, 1e308))),
        ("f16_overflow", Input("float16", (65504.0, 65504.0))),
        ("f16_intermediate_overflow", Input("float16", (65504.0, 65504.0, -65504.0))),
        ("f32_cancellation", Input("float32", (1e8, 1.0, -1e8))),
        ("f16_10000_ones", Input("float16", shape=(10000,), fill=1)),
        ("bf16_1000_ones", Input("bfloat16", shape=(1000,), fill=1)),
    ]:
        cases.append(Case(f"sum.special.{name}", f"sum of {x.describe()}", "sum", x))
    cases.append(
        Case(
            "sum.input.python_list",
            "sum of a Python list [1.0, 2.0]",
            "sum",
            Input("float64", (1.0, 2.0), python=True),
        )
    )
    return cases


def _cumsum_cases() -> list[Case]:
    cases: list[Case] = []
    both: tuple[Op, Op] = ("cumsum", "cumulative_sum")
    for op in both:
        cases += [
            Case(
                f"{op}.dtype.{dt}",
                f"{op} of {dt} [1, 0, 1], axis=0: output dtype",
                op,
                Input(dt, ONE_ZERO_ONE),
                _kw(axis=0),
            )
            for dt in ALL_DTYPES
        ]
    i8 = Input("int8", (100, 100))
    bools = Input("bool", (True, True, False))
    for name, x, dt in [
        ("int8", i8, None),
        ("int8_to_int8", i8, "int8"),
        ("int8_to_int16", i8, "int16"),
        ("uint8", Input("uint8", (200, 100)), None),
        ("int32", Input("int32", (2**31 - 1, 1)), None),
        ("int32_to_float32", Input("int32", (1, 2)), "float32"),
        ("float32_to_float64", Input("float32", (0.1, 0.1, 0.1)), "float64"),
        ("bool", bools, None),
        ("bool_to_int8", bools, "int8"),
    ]:
        kw = _kw(axis=0) if dt is None else _kw(axis=0, dtype=Dtype(dt))
        what = "" if dt is None else f", dtype={dt}"
        cases.append(
            Case(
                f"cumsum.dtype_arg.{name}",
                f"cumsum of {x.describe()}, axis=0{what}",
                "cumsum",
                x,
                kw,
            )
        )
    one_d = Input("float32", (1.0, 2.0, 3.0))
    for name, x, what, kw in [
        ("2d_omitted", C23, "no axis argument", ()),
        ("2d_none", C23, "axis=None", _kw(axis=None)),
        ("2d_0", C23, "axis=0", _kw(axis=0)),
        ("2d_1", C23, "axis=1", _kw(axis=1)),
        ("2d_minus1", C23, "axis=-1", _kw(axis=-1)),
        ("2d_out_of_range_2", C23, "axis=2 (out of range)", _kw(axis=2)),
        ("2d_tuple_1", C23, "axis=(1,) (a tuple)", _kw(axis=(1,))),
        ("2d_numpy_int", C23, "axis=np.int64(1)", _kw(axis=NpInt(1))),
        ("2d_tensor_0d", C23, "axis = the framework's 0-d integer array 1", _kw(axis=Tensor(1))),
        ("1d_omitted", one_d, "no axis argument", ()),
        ("1d_none", one_d, "axis=None", _kw(axis=None)),
        ("0d_omitted", ZERO_D, "no axis argument", ()),
        ("0d_0", ZERO_D, "axis=0", _kw(axis=0)),
        ("0d_minus1", ZERO_D, "axis=-1", _kw(axis=-1)),
    ]:
        for op in both:
            cases.append(Case(f"{op}.axis.{name}", f"{op} of {x.describe()}, {what}", op, x, kw))
    flags: list[tuple[Op, str, Input, tuple[tuple[str, object], ...]]] = [
        ("cumulative_sum", "include_initial", V123, _kw(axis=0, include_initial=True)),
        ("cumulative_sum", "include_initial_2d_axis1", C23, _kw(axis=1, include_initial=True)),
        (
            "cumulative_sum",
            "include_initial_empty",
            Input("float32", shape=(0,)),
            _kw(axis=0, include_initial=True),
        ),
        ("cumsum", "exclusive", V123, _kw(axis=0, exclusive=True)),
        ("cumsum", "reverse", V123, _kw(axis=0, reverse=True)),
        ("cumsum", "exclusive_reverse", V123, _kw(axis=0, exclusive=True, reverse=True)),
    ]
    for op, name, x, kw in flags:
        what = ", ".join(f"{k}={v}" for k, v in kw)
        cases.append(Case(f"{op}.flags.{name}", f"{op} of {x.describe()}, {what}", op, x, kw))
    for name, x, kw in [
        ("1d_omitted", Input("float32", shape=(0,)), ()),
        ("1d_0", Input("float32", shape=(0,)), _kw(axis=0)),
        ("2x0_omitted", Input("float32", shape=(2, 0)), ()),
        ("2x0_1", Input("float32", shape=(2, 0)), _kw(axis=1)),
    ]:
        what = ", ".join(f"{k}={v}" for k, v in kw) or "no axis argument"
        cases.append(
            Case(f"cumsum.empty.{name}", f"cumsum of {x.describe()}, {what}", "cumsum", x, kw)
        )
    for name, x in [
        ("f64_neg_zero", Input("float64", (-0.0,))),
        ("f64_neg_zero_x2", Input("float64", (-0.0, -0.0))),
        ("f64_inf_minus_inf_1", Input("float64", (float("inf"), float("-inf"), 1.0))),
        ("f16_intermediate_overflow", Input("float16", (65504.0, 65504.0, -65504.0))),
        ("f32_cancellation", Input("float32", (1e8, 1.0, -1e8))),
    ]:
        cases.append(
            Case(
                f"cumsum.special.{name}",
                f"cumsum of {x.describe()}, axis=0",
                "cumsum",
                x,
                _kw(axis=0),
            )
        )
    for name, x in [
        ("f32_1e6_x_0.1", Input("float32", shape=(10**6,), fill=0.1)),
        ("f16_4096_ones", Input("float16", shape=(4096,), fill=1)),
        ("bf16_1000_ones", Input("bfloat16", shape=(1000,), fill=1)),
    ]:
        cases.append(
            Case(
                f"cumsum.accuracy.{name}",
                f"cumsum of {x.describe()}, axis=0: last value, first inexact prefix",
                "cumsum",
                x,
                _kw(axis=0),
                summary="scan_accuracy",
            )
        )
    return cases


#: Every case, in report order.
CASES: Final[tuple[Case, ...]] = tuple(_sum_cases() + _cumsum_cases())


def by_id() -> dict[str, Case]:
    """The cases keyed by id.

    >>> by_id()["sum.axis.empty_list"].kwargs
    (('axis', []),)
    """
    return {c.id: c for c in CASES}


def select(patterns: Iterable[str] | None) -> list[Case]:
    """The cases whose id matches any of the shell-style ``patterns`` (all cases for ``None``).

    >>> [c.id for c in select(["sum.overflow.int*"])]
    ['sum.overflow.int8', 'sum.overflow.int16', 'sum.overflow.int32', 'sum.overflow.int64']
    """
    if patterns is None:
        return list(CASES)
    pats = list(patterns)
    return [c for c in CASES if any(fnmatch.fnmatchcase(c.id, p) for p in pats)]
