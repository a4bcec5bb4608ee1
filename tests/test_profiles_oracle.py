"""Differential tests of the semantics profiles: the frameworks themselves are the oracle.

For every backend B that holds the data (NumPy, PyTorch, TensorFlow, JAX with x64 off and on,
array_api_strict) and every profile P, ``ur.<function>(x_B, ..., semantics=P)`` is checked against
framework P run natively on the same data: the same output dtype and shape, the same integer values,
float values within the native error bound of the exact result, and a unireduce error exactly where
P raises. The oracle for ``"array_api"`` is array_api_strict, the standard's reference namespace.

The native calls are written here, independently of unireduce's adapters; arrays of B are built
and read back through ``tests/_frameworks.py``. Where a profile deliberately refuses what the
framework does with a warning (JAX narrowing 64-bit data, jax#18385; a complex input cast to a real
``dtype=``), the warning counts as the framework refusing. Where the framework has no kernel
(torch cannot sum *into* uint16/32/64, pytorch#58734), unireduce must compute the result anyway.

Float bounds: a result is accepted when it is within ``(n-1)·u_acc·Σ|x| + ulp terms`` of the exact,
correctly rounded result (:func:`unireduce._exactmath.sum_error_bound`). unireduce's result is
held to the bound of the accumulator its profile declares; the framework's result to the bound of
its output dtype. ``test_declared_accumulators_match_the_framework`` checks each declared
accumulator against the framework on inputs that reveal it.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import unireduce as ur
from tests._frameworks import FRAMEWORKS, Framework, installed, np_dtype
from unireduce import _exactmath as xm
from unireduce._rules import PROFILES

ALL = (
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
INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
FLOATS = ("float16", "bfloat16", "float32", "float64")
COMPLEX = ("complex64", "complex128")
WIDE = frozenset({"int64", "uint64", "float64", "complex128"})
COMPONENT = {"complex64": "float32", "complex128": "float64"}

BACKENDS = ("numpy", "torch", "tensorflow", "jax", "jax_x64", "array_api_strict")
PROFILE_NAMES = ("array_api", "numpy", "torch", "tensorflow", "jax", "jax_x64")
#: Frameworks that flush subnormals to zero on CPU (their results get the flush terms).
FLUSHING = frozenset({"tensorflow", "jax", "jax_x64"})


# ----------------------------------------------------------------------------------- the cases
class Omit:
    """No axis argument at all (the framework's own default)."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT = Omit()


@dataclass(frozen=True)
class AxisArray:
    """An axis given as an integer array of the framework (0-d or 1-D)."""

    values: tuple[int, ...]
    zero_d: bool = False

    def __repr__(self) -> str:
        return f"array({self.values[0] if self.zero_d else list(self.values)})"


@dataclass(frozen=True)
class Case:
    """One call: ``fn`` on ``values`` cast to ``dtype``, with these arguments."""

    fn: str  # "sum", "reduce_sum", "cumsum", "cumulative_sum"
    values: Any  # nested lists, or a zero-argument callable returning an ndarray
    dtype: str
    axis: Any = None  # None: unireduce's default, and no axis argument for the framework
    keepdims: bool = False
    dtype_arg: str | None = None
    exclusive: bool = False
    reverse: bool = False
    include_initial: bool = False
    label: str = ""

    def data(self) -> np.ndarray:
        raw = self.values() if callable(self.values) else self.values
        if isinstance(raw, list) and (self.dtype in INTS or self.dtype == "bool"):
            return np.array(raw, dtype=np_dtype(self.dtype))  # exact: no float64 detour
        return np.asarray(raw).astype(np_dtype(self.dtype))

    @property
    def id(self) -> str:
        parts = [self.fn, f"{self.label}:{self.dtype}" if self.label else self.dtype]
        if self.axis is not None:
            parts.append(f"axis={self.axis!r}")
        for flag in ("keepdims", "exclusive", "reverse", "include_initial"):
            if getattr(self, flag):
                parts.append(flag)
        if self.dtype_arg:
            parts.append(f"dtype={self.dtype_arg}")
        return "-".join(parts).replace(" ", "")


def _ones(n: int) -> Callable[[], np.ndarray]:
    return lambda: np.ones(n)


def _uniform(n: int, seed: int, low: float = 0.0, high: float = 1.0) -> Callable[[], np.ndarray]:
    return lambda: np.random.default_rng(seed).uniform(low, high, n)


SUMS = ("sum", "reduce_sum")
CUMS = ("cumsum", "cumulative_sum")
M23 = [[0, 1, 2], [3, 4, 5]]
M23_1 = [[1, 2, 3], [4, 5, 6]]


def _curated() -> list[Case]:
    c: list[Case] = []
    # semantics-matrix.md §1 and §6: output dtype for every input dtype, sum and cumsum.
    for d in ALL:
        for fn in ("sum", "cumsum", "cumulative_sum"):
            c.append(Case(fn, [1, 0, 1], d))
    c.append(Case("reduce_sum", [1, 0, 1], "int8"))
    c.append(Case("reduce_sum", [1, 0, 1], "bool"))
    # §2 and §6c: integer overflow without dtype=.
    for fn in ("sum", "reduce_sum", "cumsum", "cumulative_sum"):
        c += [
            Case(fn, [2**31 - 1, 1], "int32", label="int32max+1"),
            Case(fn, [200, 100], "uint8", label="uint8-300"),
            Case(fn, [100, 100], "int8", label="int8-200"),
            Case(fn, [32767, 1], "int16", label="int16max+1"),
            Case(fn, [2**32 - 1, 1], "uint32", label="uint32max+1"),
            Case(fn, [2**63 - 1, 1], "int64", label="int64max+1"),
            Case(fn, [2**64 - 1, 1], "uint64", label="uint64max+1"),
            Case(fn, [True] * 300, "bool", label="bool300"),
        ]
    # §1b and §6c: the dtype= argument (dtype=bool is not reproduced; see the profiles' docs).
    for fn in ("sum", "cumsum", "cumulative_sum"):
        c += [
            Case(fn, [100, 100], "int8", dtype_arg="int8"),
            Case(fn, [100, 100], "int8", dtype_arg="int16"),
            Case(fn, [200, 100], "uint8", dtype_arg="uint8"),
            Case(fn, [200, 100], "uint8", dtype_arg="uint16"),
            Case(fn, [2**31 - 1, 1], "int32", dtype_arg="int32"),
            Case(fn, [2**31 - 1, 1], "int32", dtype_arg="int64"),
            Case(fn, [1, 2], "int32", dtype_arg="float32"),
            Case(fn, [1.5, 2.5], "float32", dtype_arg="int32"),
            Case(fn, [0.1] * 3, "float32", dtype_arg="float64"),
            Case(fn, [0.1] * 3, "float64", dtype_arg="float32"),
            Case(fn, [0.1, 0.2, 0.3], "float32", dtype_arg="float16"),
            Case(fn, [65504, 65504, -65504], "float16", dtype_arg="float32"),
            Case(fn, [True, True, False], "bool", dtype_arg="int8"),
            Case(fn, [1 + 1j], "complex64", dtype_arg="float32"),
            Case(fn, [1 + 1j], "complex64", dtype_arg="complex128"),
        ]
    # §3: axis forms on a 2-D float32 array.
    for fn in ("sum",):
        for axis in (
            None,
            0,
            1,
            -1,
            -2,
            (0, 1),
            [0, 1],
            (1,),
            [1],
            (-1, 0),
            (),
            [],
            (0, 0),
            (0, -2),
            2,
            -3,
            np.int64(1),
            1.0,
            AxisArray((1,), zero_d=True),
            AxisArray((0, 1)),
            AxisArray(()),
        ):
            c.append(Case(fn, M23, "float32", axis=axis, label="2x3"))
    for axis in ([], (), [0, 1], AxisArray((0, 1)), AxisArray((1,), zero_d=True), -1, (0, 0)):
        c.append(Case("reduce_sum", M23, "float32", axis=axis, label="2x3"))
    for fn in SUMS:
        for axis in (None, 1, (), [], (0, 1)):
            c.append(Case(fn, M23, "float32", axis=axis, keepdims=True, label="2x3"))
        c.append(Case(fn, M23, "int8", axis=(), label="2x3int8"))
        c.append(Case(fn, M23, "int8", axis=[], label="2x3int8"))
        c.append(Case(fn, np.ones((2, 3, 4)), "float32", axis=(0, 2), label="2x3x4"))
        c.append(Case(fn, np.ones((2, 3, 4)), "int16", axis=[2, 0], keepdims=True, label="2x3x4"))
    # §3b: axis on a 0-d input.
    for fn in ("sum",):
        for axis in (None, 0, -1, (), [], (0,), [0], (-1,), (0, -1), 1, (1,), np.int64(0)):
            c.append(Case(fn, 5.0, "float32", axis=axis, label="0d"))
        c.append(Case(fn, 5.0, "float32", keepdims=True, label="0d"))
        c.append(Case(fn, 5, "int8", axis=0, label="0dint8"))
        c.append(Case(fn, 5.0, "float32", axis=AxisArray((0,), zero_d=True), label="0d"))
    for axis in (0, (), [], (0,)):
        c.append(Case("reduce_sum", 5.0, "float32", axis=axis, label="0d"))
    # §4: empty input.
    for fn in SUMS:
        c += [
            Case(fn, np.zeros(0), "float32", label="empty"),
            Case(fn, np.zeros(0), "int8", label="empty"),
            Case(fn, np.zeros(0), "bool", label="empty"),
            Case(fn, np.zeros(0), "uint16", label="empty"),
        ]
        for shape in ((0, 3), (3, 0)):
            for axis in (None, 0, 1):
                c.append(Case(fn, np.zeros(shape), "float32", axis=axis, label=f"{shape}"))
        c.append(Case(fn, np.zeros((0, 3)), "float32", axis=0, keepdims=True, label="(0,3)"))
    # §5 and §6f: special values, and half-precision accumulation (§6g).
    for fn in ("sum", "cumsum", "cumulative_sum"):
        c += [
            Case(fn, [-0.0], "float64", label="negzero"),
            Case(fn, [np.inf, -np.inf, 1.0], "float64", label="inf-inf"),
            Case(fn, [np.nan, 1.0], "float64", label="nan"),
            Case(fn, [1e308, 1e308], "float64", label="overflow64"),
            Case(fn, [65504, 65504], "float16", label="overflow16"),
            Case(fn, [65504, 65504, -65504], "float16", label="acc16"),
            Case(fn, [3e38, 3e38, -3e38], "float32", label="acc32"),
            Case(fn, [1e8, 1, -1e8], "float32", label="cancel32"),
            Case(fn, [complex(1, np.inf), complex(np.nan, 2)], "complex64", label="cspecial"),
            Case(fn, [1e-40, 1e-40, 1.0], "float32", label="subnormal32"),
            Case(fn, _ones(4096), "float16", label="4096ones"),
            Case(fn, _ones(1000), "bfloat16", label="1000ones"),
            Case(fn, _ones(10000), "float16", label="10000ones"),
            Case(fn, _uniform(1000, 1), "float16", label="uniform16"),
            Case(fn, _uniform(1000, 2), "bfloat16", label="uniform_bf16"),
            Case(fn, _uniform(100_000, 3), "float32", label="uniform32"),
            Case(fn, _uniform(1000, 4, -1e4, 1e4), "float64", label="uniform64"),
            Case(
                fn, lambda: _uniform(500, 5)() + 1j * _uniform(500, 6)(), "complex64", label="uc64"
            ),
        ]
    c.append(Case("sum", [40000.0] * 512 + [-40000.0] * 512, "float16", label="ovf16x1024"))
    c.append(Case("sum", [0.1] * 10**5, "float32", label="0.1x1e5"))
    # §6b: cumsum's default axis and axis forms.
    for fn in CUMS:
        for axis in (None, 0, 1, -1, -2, 2, -3, (1,), [1], np.int64(1), 1.0, AxisArray((1,), True)):
            c.append(Case(fn, M23_1, "float32", axis=axis, label="2x3"))
        c.append(Case(fn, [1, 2, 3], "float32", label="1d"))
        for axis in (None, 0, -1, 1, (0,)):
            c.append(Case(fn, 5.0, "float32", axis=axis, label="0d"))
        c.append(Case(fn, 5, "int8", axis=0, label="0dint8"))
        c.append(Case(fn, 5, "int8", label="0dint8"))
        c.append(Case(fn, np.ones((2, 3, 4)), "int32", axis=1, label="2x3x4"))
        c.append(Case(fn, np.ones((2, 3, 4)), "int32", label="2x3x4"))
        # §6e: empty.
        c.append(Case(fn, np.zeros(0), "float32", label="empty"))
        c.append(Case(fn, np.zeros(0), "float32", axis=0, label="empty"))
        for axis in (None, 0, 1, -1):
            c.append(Case(fn, np.zeros((2, 0)), "float32", axis=axis, label="(2,0)"))
    # §6d: include_initial, exclusive, reverse (unireduce keywords: the oracle spells them out
    # with the framework's own ops where it lacks them).
    for fn, flags in (
        ("cumulative_sum", {"include_initial": True}),
        ("cumsum", {"include_initial": True}),
        ("cumsum", {"exclusive": True}),
        ("cumsum", {"reverse": True}),
        ("cumsum", {"exclusive": True, "reverse": True}),
        ("cumsum", {"reverse": True, "include_initial": True}),
    ):
        c.append(Case(fn, [1, 2, 3], "float32", label="1d", **flags))
        c.append(Case(fn, [100, 100, 100], "int8", label="1d", **flags))
        c.append(Case(fn, M23_1, "int32", axis=1, label="2x3", **flags))
        c.append(Case(fn, M23_1, "float32", axis=0, label="2x3", **flags))
        c.append(Case(fn, np.zeros(0), "float32", axis=0, label="empty", **flags))
    c.append(Case("cumsum", 5.0, "float32", axis=0, exclusive=True, label="0d"))
    c.append(Case("cumsum", 5.0, "float32", axis=0, reverse=True, label="0d"))
    for fn in CUMS:
        c.append(Case(fn, 5.0, "float32", axis=0, include_initial=True, label="0d"))
    ids = [x.id for x in c]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, f"duplicate case ids: {sorted(dup)}"
    return c


CASES = _curated()


# ----------------------------------------------------------------------------------- outcomes
class Refused(Exception):
    """The framework raised, or warned that it narrowed or dropped data."""


@dataclass
class Outcome:
    dtype: str
    shape: tuple[int, ...]
    values: np.ndarray


#: Warnings that mean the framework changed the data behind the user's back (treated as refusals).
_LOSSY = re.compile(r"truncated|discards the imaginary|Casting complex values to real")


@contextlib.contextmanager
def _lossy_warnings_refuse() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if _LOSSY.search(str(w.message)):
            raise Refused(f"{w.category.__name__}: {w.message}")


@contextlib.contextmanager
def _framework_fp_warnings_allowed() -> Iterator[None]:
    # NumPy (and unireduce's NumPy adapter, which calls np.add.reduce like np.sum does) warn on
    # float overflow and inf - inf; the values are what we compare.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".*encountered in", RuntimeWarning)
        yield


# ----------------------------------------------------------------------------------- natives
class Native:
    """One framework, called directly: the oracle for one profile."""

    profile: str = ""
    module: str = ""
    #: Input dtypes this oracle cannot even create (cases with them are not generated for it).
    unavailable: ClassVar[frozenset[str]] = frozenset()
    #: Flags the framework's cumulative functions take themselves (others are spelled out).
    native_flags: ClassVar[dict[str, frozenset[str]]] = {}

    def active(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def array(self, a: np.ndarray, d: str) -> Any:
        raise NotImplementedError

    def axis_array(self, ax: AxisArray) -> Any:
        return self.array(_axis_values(ax), "int32")

    def outcome(self, r: Any) -> Outcome:
        raise NotImplementedError

    def sum(self, x: Any, axis: Any, keepdims: bool, dtype: str | None) -> Any:
        raise NotImplementedError

    def cum(self, fn: str, x: Any, axis: Any, dtype: str | None, flags: dict[str, bool]) -> Any:
        raise NotImplementedError


class NumpyNative(Native):
    profile, module = "numpy", "numpy"
    native_flags: ClassVar[dict[str, frozenset[str]]] = {
        "cumulative_sum": frozenset({"include_initial"})
    }

    def array(self, a: np.ndarray, d: str) -> Any:
        return a.astype(np_dtype(d))

    def outcome(self, r: Any) -> Outcome:
        r = np.asarray(r)
        return Outcome(_np_name(r.dtype), r.shape, r)

    def sum(self, x: Any, axis: Any, keepdims: bool, dtype: str | None) -> Any:
        kw = {} if dtype is None else {"dtype": np_dtype(dtype)}
        return np.sum(x, axis=axis, keepdims=keepdims, **kw)

    def cum(self, fn: str, x: Any, axis: Any, dtype: str | None, flags: dict[str, bool]) -> Any:
        kw: dict[str, Any] = {} if dtype is None else {"dtype": np_dtype(dtype)}
        if fn == "cumsum":
            return np.cumsum(x, axis=axis, **kw)
        return np.cumulative_sum(x, axis=axis, **kw, **flags)


class TorchNative(Native):
    profile, module = "torch", "torch"

    def array(self, a: np.ndarray, d: str) -> Any:
        return FRAMEWORKS["torch"]().array(a, d)

    def outcome(self, r: Any) -> Outcome:
        fw = FRAMEWORKS["torch"]()
        return Outcome(fw.dtype_of(r), tuple(r.shape), fw.to_numpy(r))

    def _dt(self, dtype: str | None) -> Any:
        import torch

        return None if dtype is None else getattr(torch, dtype)

    def _gap(self, dtype: str | None) -> bool:
        # torch has no sum/cumsum kernels that accumulate in uint16/32/64 (pytorch#58734): the
        # oracle spells them out with torch's own ops, in int64 then cast (the same modular sum).
        return dtype in ("uint16", "uint32", "uint64")

    def sum(self, x: Any, axis: Any, keepdims: bool, dtype: str | None) -> Any:
        import torch

        # dim=None reduces everything, keepdim=True included (without dim torch refuses keepdim).
        if dtype is None:
            return torch.sum(x, dim=axis, keepdim=keepdims)
        if self._gap(dtype):
            r = torch.sum(x.to(self._dt(dtype)), dim=axis, keepdim=keepdims, dtype=torch.int64)
            return r.to(self._dt(dtype))
        return torch.sum(x, dim=axis, keepdim=keepdims, dtype=self._dt(dtype))

    def cum(self, fn: str, x: Any, axis: Any, dtype: str | None, flags: dict[str, bool]) -> Any:
        import torch

        if axis is None:
            return torch.cumsum(x)  # type: ignore[call-overload]  # raises: dim is required
        if self._gap(dtype):
            r = torch.cumsum(x.to(self._dt(dtype)), axis, dtype=torch.int64)
            return r.to(self._dt(dtype))
        return torch.cumsum(x, axis, dtype=self._dt(dtype))


class TensorFlowNative(Native):
    profile, module = "tensorflow", "tensorflow"
    native_flags: ClassVar[dict[str, frozenset[str]]] = {
        "cumsum": frozenset({"exclusive", "reverse"})
    }

    def array(self, a: np.ndarray, d: str) -> Any:
        import tensorflow as tf

        return tf.constant(a, dtype=getattr(tf, d))

    def outcome(self, r: Any) -> Outcome:
        return Outcome(r.dtype.name, tuple(r.shape), np.asarray(r.numpy()))

    def sum(self, x: Any, axis: Any, keepdims: bool, dtype: str | None) -> Any:
        import tensorflow as tf

        kw = {} if dtype is None else {"dtype": dtype}  # TF has none: this raises TypeError
        return tf.math.reduce_sum(x, axis=axis, keepdims=keepdims, **kw)

    def cum(self, fn: str, x: Any, axis: Any, dtype: str | None, flags: dict[str, bool]) -> Any:
        import tensorflow as tf

        kw: dict[str, Any] = dict(flags)
        if axis is not None:
            kw["axis"] = axis
        if dtype is not None:
            kw["dtype"] = dtype  # raises TypeError, as tf.math.cumsum has no dtype
        return tf.math.cumsum(x, **kw)


class JaxNative(Native):
    native_flags: ClassVar[dict[str, frozenset[str]]] = {
        "cumulative_sum": frozenset({"include_initial"})
    }

    def __init__(self, x64: bool) -> None:
        self.x64 = x64
        self.profile = "jax_x64" if x64 else "jax"
        self.module = "jax"

    def active(self) -> contextlib.AbstractContextManager[None]:
        import jax

        return jax.enable_x64(self.x64)  # type: ignore[no-any-return]

    def array(self, a: np.ndarray, d: str) -> Any:
        import jax.numpy as jnp

        if not self.x64 and d in WIDE:
            # JAX with x64 off silently narrows 64-bit data to 32 bits (jax#18385); the "jax"
            # profile refuses instead, so this counts as the framework refusing.
            raise Refused(f"JAX with x64 off narrows {d} input to 32 bits (jax#18385)")
        return jnp.asarray(a)

    def outcome(self, r: Any) -> Outcome:
        return Outcome(str(r.dtype), tuple(r.shape), np.asarray(r))

    def _dt(self, dtype: str | None) -> Any:
        return None if dtype is None else np_dtype(dtype)

    def sum(self, x: Any, axis: Any, keepdims: bool, dtype: str | None) -> Any:
        import jax.numpy as jnp

        return jnp.sum(x, axis=axis, keepdims=keepdims, dtype=self._dt(dtype))

    def cum(self, fn: str, x: Any, axis: Any, dtype: str | None, flags: dict[str, bool]) -> Any:
        import jax
        import jax.numpy as jnp

        if fn == "cumsum":
            if isinstance(axis, jax.Array) and axis.ndim == 0:
                # Not reproduced: jnp.cumsum refuses a 0-d array axis ("Non-hashable static
                # arguments"); unireduce takes it as the int it holds (see the profile's docs).
                axis = int(axis)
            return jnp.cumsum(x, axis=axis, dtype=self._dt(dtype))
        return jnp.cumulative_sum(x, axis=axis, dtype=self._dt(dtype), **flags)


class StrictNative(Native):
    profile, module = "array_api", "array_api_strict"
    # array_api_strict has no float16/bfloat16, and refuses bool, which the array API leaves
    # unspecified and unireduce's canonical rules count as the default integer (issue 2).
    unavailable: ClassVar[frozenset[str]] = frozenset({"float16", "bfloat16", "bool"})
    native_flags: ClassVar[dict[str, frozenset[str]]] = {
        "cumulative_sum": frozenset({"include_initial"}),
        "cumsum": frozenset({"include_initial"}),
    }

    def array(self, a: np.ndarray, d: str) -> Any:
        return FRAMEWORKS["array_api_strict"]().array(a, d)

    def outcome(self, r: Any) -> Outcome:
        fw = FRAMEWORKS["array_api_strict"]()
        return Outcome(fw.dtype_of(r), tuple(r.shape), fw.to_numpy(r))

    def _dt(self, dtype: str | None) -> Any:
        import array_api_strict as xp

        return None if dtype is None else getattr(xp, dtype)

    def sum(self, x: Any, axis: Any, keepdims: bool, dtype: str | None) -> Any:
        import array_api_strict as xp

        if isinstance(axis, list):  # the canonical rules (issue 2) take a list as a tuple
            axis = tuple(axis)
        if x.ndim == 0 and axis is not None and len(_plain_axis(axis)):
            # The standard: "A valid axis must be an integer on the interval [-N, N)" and "If
            # provided an invalid axis, the function must raise"; array_api_strict accepts 0 here.
            raise Refused("no valid axis on a 0-d array (array API 2025.12, sum)")
        return xp.sum(x, axis=axis, keepdims=keepdims, dtype=self._dt(dtype))

    def cum(self, fn: str, x: Any, axis: Any, dtype: str | None, flags: dict[str, bool]) -> Any:
        import array_api_strict as xp

        if x.ndim == 0:
            # The standard leaves a 0-d input unspecified; the canonical rules raise (issue 2).
            raise Refused("cumulative_sum of a 0-d array (unspecified by the standard)")
        return xp.cumulative_sum(x, axis=axis, dtype=self._dt(dtype), **flags)


NATIVES: dict[str, Callable[[], Native]] = {
    "array_api": StrictNative,
    "numpy": NumpyNative,
    "torch": TorchNative,
    "tensorflow": TensorFlowNative,
    "jax": lambda: JaxNative(False),
    "jax_x64": lambda: JaxNative(True),
}


def _plain_axis(axis: Any) -> tuple[Any, ...]:
    """An axis argument as a tuple of its entries (for the oracle's own bookkeeping)."""
    if isinstance(axis, AxisArray):
        return axis.values
    if isinstance(axis, (tuple, list)):
        return tuple(axis)
    if hasattr(axis, "shape") and len(axis.shape) == 1:
        return tuple(np.asarray(axis).tolist())
    return (axis,)


def _axis_values(ax: AxisArray) -> np.ndarray:
    return np.asarray(ax.values[0] if ax.zero_d else ax.values, dtype=np.int32)


def _np_name(dt: np.dtype[Any]) -> str:
    return "bfloat16" if dt == np_dtype("bfloat16") else dt.name


def _native_axis(nat: Native, axis: Any) -> Any:
    if isinstance(axis, AxisArray):
        return nat.axis_array(axis)
    return axis


def _flip(a: np.ndarray, ax: int) -> np.ndarray:
    return np.flip(a, ax) if a.ndim else a


def _prepend_zero(a: np.ndarray, ax: int) -> np.ndarray:
    shape = list(a.shape)
    shape[ax] = 1
    return np.concatenate([np.zeros(shape, a.dtype), a], axis=ax)


def _cum_axis(case: Case, ndim: int) -> int:
    """The axis along which the oracle spells out flags (cases with flags use 1-D or an axis)."""
    if case.axis is None or ndim == 0:
        return 0
    return int(_plain_axis(case.axis)[0]) % ndim


def run_native(nat: Native, case: Case) -> Outcome:
    """``case`` run by framework ``nat``; raises :class:`Refused` where it raises."""
    data = case.data()
    with nat.active(), _lossy_warnings_refuse():
        try:
            if case.fn in SUMS:
                x = nat.array(data, case.dtype)
                r = nat.sum(x, _native_axis(nat, case.axis), case.keepdims, case.dtype_arg)
                return nat.outcome(r)
            flags = {
                k: True for k in ("exclusive", "reverse", "include_initial") if getattr(case, k)
            }
            own = nat.native_flags.get(case.fn, frozenset())
            if not set(flags) <= own:  # spell every flag out, in unireduce's documented order
                own = frozenset()
            spelled = {k for k in flags if k not in own}
            ax = _cum_axis(case, data.ndim)
            if "reverse" in spelled:
                data = _flip(data, ax).copy()
            x = nat.array(data, case.dtype)
            r = nat.cum(
                case.fn,
                x,
                _native_axis(nat, case.axis),
                case.dtype_arg,
                {k: v for k, v in flags.items() if k in own},
            )
            out = nat.outcome(r)
        except Refused:
            raise
        except Exception as exc:  # the framework refuses: any exception class
            raise Refused(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    v = out.values
    if spelled:
        zero_d = v.ndim == 0  # torch: a 0-d cumsum is 0-d, accumulated along a length-1 axis
        if zero_d and "include_initial" in spelled:
            raise Refused(f"{nat.module}: a 0-d cumsum stays 0-d; no axis to prepend the zero to")
        v = v.reshape(1) if zero_d else v
        if "exclusive" in spelled:
            v = _prepend_zero(v, ax)[(slice(None),) * ax + (slice(0, -1),)]
        if "include_initial" in spelled:
            v = _prepend_zero(v, ax)
        if "reverse" in spelled:
            v = _flip(v, ax)
        v = v.reshape(()) if zero_d else v
    return Outcome(out.dtype, tuple(v.shape), v)


# ----------------------------------------------------------------------------------- unireduce
def _backend_axis(fw: Framework, axis: Any) -> Any:
    if isinstance(axis, AxisArray):
        return fw.array(_axis_values(axis), "int32")
    return axis


def run_ur(fw: Framework, case: Case, semantics: str) -> Outcome:
    """``case`` through unireduce on backend ``fw`` (inside ``fw.active()``)."""
    x = fw.array(case.data(), case.dtype)
    axis = _backend_axis(fw, case.axis)
    with _framework_fp_warnings_allowed():
        if case.fn == "sum":
            r = ur.sum(
                x, axis=axis, keepdims=case.keepdims, dtype=case.dtype_arg, semantics=semantics
            )
        elif case.fn == "reduce_sum":
            assert case.dtype_arg is None
            r = ur.reduce_sum(x, axis, case.keepdims, semantics=semantics)
        elif case.fn == "cumulative_sum":
            assert not (case.exclusive or case.reverse)
            r = ur.cumulative_sum(
                x,
                axis=axis,
                dtype=case.dtype_arg,
                include_initial=case.include_initial,
                semantics=semantics,
            )
        else:
            r = ur.cumsum(
                x,
                axis,
                dtype=case.dtype_arg,
                exclusive=case.exclusive,
                reverse=case.reverse,
                include_initial=case.include_initial,
                semantics=semantics,
            )
    assert ur.backend_name(r) == fw.backend, f"result left the {fw.backend} backend: {type(r)}"
    return Outcome(fw.dtype_of(r), tuple(r.shape), fw.to_numpy(r))


# ----------------------------------------------------------------------------------- reference
def _lanes_sum(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    keep = [a for a in range(x.ndim) if a not in axes]
    m = int(np.prod([x.shape[a] for a in keep], dtype=np.int64))
    k = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    return np.transpose(x, keep + list(axes)).reshape(m, k)


def _bound_of(lane: np.ndarray, acc: str, out: str, flush: bool, cumulative: bool) -> np.ndarray:
    if out in COMPONENT:
        comp, acomp = COMPONENT[out], COMPONENT.get(acc, acc)
        re_ = _bound_of(np.ascontiguousarray(lane.real), acomp, comp, flush, cumulative)
        im_ = _bound_of(np.ascontiguousarray(lane.imag), acomp, comp, flush, cumulative)
        return np.maximum(re_, im_)
    if cumulative:
        return xm.cumsum_error_bounds(lane, acc, out, flush)
    return np.asarray(xm.sum_error_bound(lane, acc, out, flush))


@dataclass
class Reference:
    exact: np.ndarray
    values: np.ndarray  # the addends, cast to the output dtype
    compute: Callable[[str, bool], np.ndarray]  # (acc, flush) -> bound, shaped as exact
    _memo: dict[tuple[str, bool], np.ndarray] = field(default_factory=dict)

    def lanes(self, acc: str, flush: bool) -> np.ndarray:
        key = (acc, flush)
        if key not in self._memo:
            self._memo[key] = self.compute(acc, flush)
        return self._memo[key]


#: Curated cases are checked on six backends: their oracle results and references are reused.
_NATIVE_MEMO: dict[tuple[str, str], Outcome | Refused] = {}
_REFERENCE_MEMO: dict[tuple[str, str, tuple[int, ...]], Reference] = {}


def native_result(nat: Native, case: Case, memo: bool) -> Outcome:
    key = (nat.profile, case.id)
    hit = _NATIVE_MEMO.get(key) if memo else None
    if hit is None:
        try:
            hit = run_native(nat, case)
        except Refused as exc:
            hit = exc
        if memo:
            _NATIVE_MEMO[key] = hit
    if isinstance(hit, Refused):
        raise hit
    return hit


def reference_for(case: Case, out: str, shape: tuple[int, ...], memo: bool) -> Reference:
    key = (case.id, out, shape)
    hit = _REFERENCE_MEMO.get(key) if memo else None
    if hit is None:
        hit = reference(case, out, shape)
        if memo:
            _REFERENCE_MEMO[key] = hit
    return hit


def reference(case: Case, out: str, native_shape: tuple[int, ...]) -> Reference:
    """Exact result and error bounds of ``case`` in dtype ``out``.

    The reduced axes are read from the call and, where a profile decides them (an empty axis, a
    missing cumsum axis), from the oracle's own output shape.
    """
    vals = case.data().astype(np_dtype(out))
    if case.fn in SUMS:
        if vals.ndim == 0:
            axes: tuple[int, ...] = ()
        elif case.axis is None:
            axes = tuple(range(vals.ndim))
        else:
            axes = tuple(sorted({int(a) % vals.ndim for a in _plain_axis(case.axis)}))
            if not axes and native_shape != vals.shape:  # torch: dim=() reduces everything
                axes = tuple(range(vals.ndim))
        exact = xm.exact_sum_along(vals, axes, case.keepdims, out).reshape(native_shape)
        lanes = _lanes_sum(vals, axes) if vals.ndim else vals.reshape(1, 1)

        def sum_bounds(acc: str, flush: bool) -> np.ndarray:
            b = [_bound_of(lane, acc, out, flush, False) for lane in lanes]
            return np.asarray(b, dtype=np.float64).reshape(native_shape)

        return Reference(exact, vals, sum_bounds)
    # cumulative: the 1-D view the framework scanned along ``ax``
    if vals.ndim == 0:
        x, ax = vals.reshape(1), 0
    elif case.axis is None and len(native_shape) == 1 and vals.ndim != 1:
        x, ax = vals.reshape(-1), 0  # flattened (NumPy, JAX)
    else:
        x, ax = vals, _cum_axis(case, vals.ndim)
    if case.reverse:
        x = _flip(x, ax)
    exact = xm.exact_cumsum_along(x, ax, out) if x.size else x.copy()
    moved = np.moveaxis(x, ax, -1)

    def cum_bounds(acc: str, flush: bool) -> np.ndarray:
        b = np.zeros(moved.shape, dtype=np.float64)
        for idx in np.ndindex(moved.shape[:-1]):
            if moved.shape[-1]:
                b[idx] = _bound_of(np.ascontiguousarray(moved[idx]), acc, out, flush, True)
        return _finish(np.moveaxis(b, -1, ax), np.float64(0))

    def _finish(a: np.ndarray, zero: Any) -> np.ndarray:
        if case.exclusive:
            a = _prepend_zero(a, ax)[(slice(None),) * ax + (slice(0, -1),)]
        elif case.include_initial:
            a = _prepend_zero(a, ax)
        if case.reverse:
            a = _flip(a, ax)
        return a.reshape(native_shape)

    return Reference(_finish(exact, 0), vals, cum_bounds)


def _accumulator(profile: str, fn: str, out: str, fw: Framework) -> str:
    acc = PROFILES[profile].accumulator(fn).get(out, out)
    return acc if acc in fw.dtypes else out  # e.g. no float64 on JAX with x64 off


def _int_kind(dtype: str) -> bool:
    return dtype == "bool" or dtype in INTS


# ----------------------------------------------------------------------------------- the check
def _framework(fid: str) -> Framework:
    fw = FRAMEWORKS[fid]()
    if not installed(fw.module):
        pytest.skip(f"{fw.module} is not installed (install unireduce[all] to test {fid})")
    return fw


def _native(profile: str) -> Native:
    nat = NATIVES[profile]()
    if not installed(nat.module):
        pytest.skip(f"{nat.module} is not installed: no oracle for semantics={profile!r}")
    return nat


def _expected_on_backend(profile: str, fw: Framework, case: Case, exp: Outcome) -> Outcome:
    """The oracle's result as the profile defines it on ``fw``.

    Only ``array_api`` depends on the backend: its default integer is the backend's, int32 on JAX
    with x64 off, where array_api_strict's int64 results wrap to 32 bits.
    """
    if profile != "array_api" or case.dtype_arg is not None or "int64" in fw.dtypes:
        return exp
    narrow = {"int64": "int32", "uint64": "uint32"}.get(exp.dtype)
    if narrow is None:
        return exp
    return Outcome(narrow, exp.shape, exp.values.astype(np_dtype(narrow)))


def check(backend: str, profile: str, case: Case, memo: bool = True) -> None:
    fw = _framework(backend)
    nat = _native(profile)
    try:
        expected: Outcome | None = native_result(nat, case, memo)
        refusal = ""
    except Refused as exc:
        expected, refusal = None, str(exc)
    with fw.active():
        try:
            got: Outcome | None = run_ur(fw, case, profile)
            error: ur.UnireduceError | None = None
        except ur.UnireduceError as exc:
            got, error = None, exc
    where = f"{case.id} on backend {backend} with semantics={profile!r}"
    if expected is None:
        assert error is not None, f"{where}: {nat.module} refuses ({refusal}); unireduce gave {got}"
        return
    expected = _expected_on_backend(profile, fw, case, expected)
    if expected.dtype not in fw.dtypes:
        assert isinstance(error, ur.DTypeError), (
            f"{where}: {expected.dtype} cannot live on {backend}; expected DTypeError, got "
            f"{error!r} / {got}"
        )
        assert backend.split("_")[0] in str(error) and expected.dtype in str(error), str(error)
        return
    assert error is None, f"{where}: {nat.module} gives {expected.dtype}{expected.shape}; {error!r}"
    assert got is not None
    assert got.dtype == expected.dtype, f"{where}: dtype {got.dtype} != {expected.dtype}"
    assert got.shape == expected.shape, f"{where}: shape {got.shape} != {expected.shape}"
    if _int_kind(expected.dtype):
        np.testing.assert_array_equal(got.values, expected.values, err_msg=where)
        return
    ref = reference_for(case, expected.dtype, expected.shape, memo)
    acc_ur = _accumulator(profile, case.fn, expected.dtype, fw)
    b_ur = ref.lanes(acc_ur, backend in FLUSHING)
    b_nat = ref.lanes(expected.dtype, profile in FLUSHING)
    ok_nat = xm.within_bound_mask(expected.values, ref.exact, b_nat)
    assert ok_nat.all(), f"{where}: the oracle itself is off its bound (test bug?)"
    ok = xm.within_bound_mask(got.values, ref.exact, b_ur)
    bad = np.argwhere(~np.asarray(ok))[:3].tolist()
    assert ok.all(), (
        f"{where}: unireduce is off the exact result by more than the bound of accumulator "
        f"{acc_ur} at {bad}: got {np.asarray(got.values)[tuple(np.array(bad).T)] if bad else ''}"
    )


def _applicable(backend: str, profile: str, case: Case) -> bool:
    fw_dtypes = FRAMEWORKS[backend]().dtypes
    if case.dtype not in fw_dtypes:
        return False  # the backend cannot hold the input at all
    nat = NATIVES[profile]()
    return case.dtype not in nat.unavailable and (case.dtype_arg or "") not in nat.unavailable


PARAMS = [
    pytest.param(b, p, case, id=f"{b}-{p}-{case.id}")
    for b in BACKENDS
    for p in PROFILE_NAMES
    for case in CASES
    if _applicable(b, p, case)
]


@pytest.mark.parametrize(("backend", "profile", "case"), PARAMS)
def test_profile_agrees_with_its_framework(backend: str, profile: str, case: Case) -> None:
    check(backend, profile, case)


# ----------------------------------------------------------------------------------- hypothesis
_INT_EDGES = {d: (np.iinfo(np_dtype(d)).min, np.iinfo(np_dtype(d)).max) for d in INTS}


@st.composite
def _random_case(draw: st.DrawFn, backend: str, profile: str) -> Case:
    nat = NATIVES[profile]()
    dtypes = [
        d
        for d in FRAMEWORKS[backend]().dtypes
        if d not in nat.unavailable and d not in ("complex64", "complex128")
    ]
    dtype = draw(st.sampled_from(dtypes))
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    size = int(np.prod(shape, dtype=np.int64))
    if dtype == "bool":
        elems: st.SearchStrategy[Any] = st.booleans()
    elif dtype in INTS:
        lo, hi = _INT_EDGES[dtype]
        elems = st.one_of(
            st.sampled_from([lo, hi, 0, 1, -1 if lo < 0 else 2, hi - 1]),
            st.integers(int(lo), int(hi)),
        )
    else:
        top = float(xm.float_format(dtype).max_finite)
        elems = st.one_of(
            st.floats(-1e3, 1e3, allow_nan=False, width=32),
            st.sampled_from([top, -top, top / 2, 0.0, -0.0, 1.0]),
        )
    flat = draw(st.lists(elems, min_size=size, max_size=size))
    if dtype in INTS or dtype == "bool":
        values = np.array(flat, dtype=np_dtype(dtype)).reshape(shape)
    else:
        values = np.array(flat, dtype=np.float64).reshape(shape)
    fn = draw(st.sampled_from(("sum", "reduce_sum", "cumsum", "cumulative_sum")))
    axis: Any
    if fn in SUMS:
        axis = draw(
            st.one_of(
                st.none(),
                st.integers(-ndim - 1, ndim),
                st.lists(st.integers(-ndim, max(ndim - 1, 0)), max_size=ndim).map(tuple),
                st.lists(st.integers(-ndim, max(ndim - 1, 0)), max_size=ndim),
            )
        )
        keepdims = draw(st.booleans())
        return Case(fn, values, dtype, axis=axis, keepdims=keepdims, label=f"hyp{shape}")
    axis = draw(st.one_of(st.none(), st.integers(-ndim - 1, ndim)))
    flags: dict[str, bool] = {}
    if ndim >= 1 and (axis is not None or ndim == 1):
        flags["include_initial"] = draw(st.booleans())
        if fn == "cumsum":
            flags["reverse"] = draw(st.booleans())
            flags["exclusive"] = not flags["include_initial"] and draw(st.booleans())
    return Case(fn, values, dtype, axis=axis, label=f"hyp{shape}", **flags)


HYP_PARAMS = [pytest.param(b, p, id=f"{b}-{p}") for b in BACKENDS for p in PROFILE_NAMES]


@pytest.mark.parametrize(("backend", "profile"), HYP_PARAMS)
def test_profile_agrees_with_its_framework_on_random_input(backend: str, profile: str) -> None:
    _framework(backend)
    _native(profile)

    # A fixed seed per pair: reproducible in CI, yet every pair sees different examples.
    @seed(zlib.crc32(f"{backend}-{profile}".encode()))
    @settings(
        max_examples=20,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=_random_case(backend, profile))
    def run(case: Case) -> None:
        check(backend, profile, case, memo=False)

    run()


# ----------------------------------------------------------------------------------- accumulators
#: Inputs that reveal the accumulator: a narrow one overflows on the first (f16/f32), or strays
#: beyond the bound of the next wider accumulator on the second.
_REVEAL = {
    "float16": ([40000.0] * 256 + [-40000.0] * 256, _uniform(1000, 7)),
    "bfloat16": (_uniform(1000, 8), _uniform(3000, 9, 0.0, 4.0)),
    "float32": ([3e38] * 256 + [-3e38] * 256, _uniform(100_000, 10)),
    "complex64": (
        lambda: np.array([3e38] * 256 + [-3e38] * 256) * (1 + 1j),
        lambda: _uniform(100_000, 11)() + 1j * _uniform(100_000, 12)(),
    ),
}
_WIDER = {"float16": "float32", "bfloat16": "float32", "float32": "float64"}
_WIDER["complex64"] = "complex128"


@pytest.mark.parametrize("dtype", tuple(_REVEAL))
@pytest.mark.parametrize("fn", ("sum", "cumsum", "cumulative_sum"))
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_declared_accumulators_match_the_framework(profile: str, fn: str, dtype: str) -> None:
    """A declared wide accumulator keeps the framework within its bound; a narrow one does not."""
    nat = _native(profile)
    if dtype in nat.unavailable:
        # The array API leaves the accumulator to the implementation; unireduce's "array_api"
        # profile declares none, and array_api_strict has no float16/bfloat16 to compare with.
        assert PROFILES[profile].accumulator(fn).get(dtype, dtype) == dtype
        return
    declared = PROFILES[profile].accumulator(fn).get(dtype, dtype)
    wider = declared if declared != dtype else _WIDER[dtype]
    within_declared, within_wider = [], []
    for values in _REVEAL[dtype]:
        case = Case(fn, values, dtype, axis=None if fn == "sum" else 0)
        out = run_native(nat, case)
        assert out.dtype == dtype
        ref = reference(case, dtype, out.shape)
        flush = profile in FLUSHING
        within_declared.append(
            bool(xm.within_bound_mask(out.values, ref.exact, ref.lanes(declared, flush)).all())
        )
        within_wider.append(
            bool(xm.within_bound_mask(out.values, ref.exact, ref.lanes(wider, flush)).all())
        )
    if declared != dtype:
        assert all(within_declared), (
            f"{profile} declares a {declared} accumulator for {fn} of {dtype}, but "
            f"{nat.module} strays beyond its bound: {within_declared}"
        )
    else:
        assert not all(within_wider), (
            f"{profile} declares no wider accumulator for {fn} of {dtype}, but {nat.module} stays "
            f"within the bound of a {wider} accumulator on every revealing input"
        )


# ----------------------------------------------------------------------------------- dtypes only
@pytest.mark.parametrize("dtype", ALL)
@pytest.mark.parametrize("fn", ("sum", "reduce_sum", "cumsum", "cumulative_sum"))
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_result_dtype_answers_what_the_framework_gives(profile: str, fn: str, dtype: str) -> None:
    nat = _native(profile)
    if dtype in nat.unavailable:
        # No oracle (array_api_strict has no float16/bfloat16 and refuses bool): the canonical
        # rules of issue 2 say floats keep their dtype and bool counts as the default integer.
        assert ur.result_dtype(fn, dtype, semantics=profile) == (
            "int64" if dtype == "bool" else dtype
        )
        return
    case = Case(fn, [1, 0, 1], dtype, axis=None if fn in SUMS else 0)
    try:
        expected: str | None = run_native(nat, case).dtype
    except Refused:
        expected = None
    if expected is None:
        with pytest.raises(ur.DTypeError):
            ur.result_dtype(fn, dtype, semantics=profile)
    else:
        assert ur.result_dtype(fn, dtype, semantics=profile) == expected


def test_profiles_lists_every_profile() -> None:
    assert ur.profiles() == list(PROFILE_NAMES)


@pytest.mark.parametrize(
    ("x64", "expected"), [(False, ("int32", "uint32")), (True, ("int64", "uint64"))]
)
def test_result_dtype_follows_the_jax_x64_flag(x64: bool, expected: tuple[str, str]) -> None:
    _framework("jax")
    import jax

    with jax.enable_x64(x64):
        got = tuple(ur.result_dtype("sum", d, backend="jax") for d in ("int8", "uint8"))
    assert got == expected
    assert (ur.result_dtype("sum", "int8"), ur.result_dtype("sum", "uint8")) == ("int64", "uint64")


def test_result_dtype_accepts_framework_dtype_objects_and_dtype_argument() -> None:
    assert ur.result_dtype("sum", np.dtype("int8"), semantics="torch") == "int64"
    assert ur.result_dtype("cumsum", np.int8, "jax", dtype=np.int16) == "int16"
    with pytest.raises(ur.DTypeError, match="TensorFlow"):
        ur.result_dtype("sum", "int8", semantics="tensorflow", dtype="int16")
    with pytest.raises(ur.UnireduceError, match="reduce_sum"):
        ur.result_dtype("reduce_sum", "int8", dtype="int16")
    with pytest.raises(ur.UnireduceValueError, match="'prod'"):
        ur.result_dtype("prod", "int8")
    with pytest.raises(ur.UnireduceValueError, match="'keras'"):
        ur.result_dtype("sum", "int8", semantics="keras")


# ----------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("fn", ("sum", "cumsum", "cumulative_sum"))
@pytest.mark.parametrize("profile", ("numpy", "torch", "jax_x64"))
def test_profile_needing_64_bits_raises_on_jax_without_x64(profile: str, fn: str) -> None:
    fw = _framework("jax")
    with fw.active():
        x = fw.array([1, 2], "int8")
        if fn == "cumsum" and profile == "jax_x64":  # jnp.cumsum keeps int8: nothing to refuse
            assert fw.dtype_of(ur.cumsum(x, 0, semantics=profile)) == "int8"
            return
        with pytest.raises(ur.DTypeError, match=r"int64.*jax backend.*jax_enable_x64"):
            getattr(ur, fn)(x, axis=0, semantics=profile)


def test_explicit_64_bit_dtype_raises_on_jax_without_x64() -> None:
    fw = _framework("jax")
    with fw.active():
        x = fw.array([1, 2], "int8")
        with pytest.raises(ur.DTypeError, match=r"dtype=int64.*jax backend"):
            ur.sum(x, dtype="int64")


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "jax"])
@pytest.mark.parametrize("dtype", sorted(WIDE))
def test_jax_profile_refuses_64_bit_data_and_points_to_jax_x64(backend: str, dtype: str) -> None:
    fw = _framework(backend)
    with fw.active():
        x = fw.array([1, 2], dtype)
        for call in (
            lambda: ur.sum(x, semantics="jax"),
            lambda: ur.cumsum(x, semantics="jax"),
            lambda: ur.sum(fw.array([1, 2], "int32"), dtype=dtype, semantics="jax"),
        ):
            with pytest.raises(ur.DTypeError, match="jax_x64"):
                call()


@pytest.mark.parametrize("backend", BACKENDS)
def test_tensorflow_refusal_of_bool_names_the_framework_and_the_fix(backend: str) -> None:
    fw = _framework(backend)
    with fw.active():
        x = fw.array([True, False], "bool")
        for fn in ("sum", "reduce_sum", "cumsum"):
            with pytest.raises(ur.DTypeError, match=r"TensorFlow.*refuses bool.*cast"):
                getattr(ur, fn)(x, semantics="tensorflow")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", ("sum", "cumsum"))
def test_torch_kernel_gaps_are_filled(backend: str, fn: str) -> None:
    """torch has no sum into uint16/32/64 (pytorch#58734); the torch profile computes it anyway."""
    fw = _framework(backend)
    with fw.active():
        for d in ("uint16", "uint32"):
            x = fw.array([2**16 - 1, 2], "uint16")
            r = getattr(ur, fn)(x, axis=0, dtype=d, semantics="torch")
            assert fw.dtype_of(r) == d
            last = int(np.asarray(fw.to_numpy(r)).reshape(-1)[-1])
            assert last == (2**16 + 1) % 2 ** int(d[4:])


# ----------------------------------------------------------------------------------- examples
def test_issue_examples() -> None:
    torch = pytest.importorskip("torch")
    tf = pytest.importorskip("tensorflow")
    r = ur.sum(torch.tensor([2**31 - 1, 1], dtype=torch.int32), semantics="tensorflow")
    assert r.dtype == torch.int32 and int(r) == -(2**31)
    r = ur.sum(tf.constant([200, 100], dtype=tf.uint8), semantics="torch")
    assert r.dtype == tf.int64 and int(r) == 300
    x = torch.arange(6.0).reshape(2, 3)
    assert ur.sum(x, axis=(), semantics="torch").shape == ()  # pytorch#29137, reproduced
    assert ur.sum(x, axis=(), semantics="array_api").shape == (2, 3)
    c = ur.cumsum(np.ones((2, 3)), semantics="numpy")
    assert c.shape == (6,) and c.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert ur.cumsum(np.ones((2, 3)), semantics="tensorflow").tolist() == [[1.0] * 3, [2.0] * 3]
    assert ur.cumsum(np.array(5.0), axis=0, semantics="numpy").shape == (1,)
    assert ur.cumsum(torch.tensor(5.0), axis=0, semantics="torch").shape == ()


def test_oracle_covers_every_backend_and_profile() -> None:
    """Every (backend, profile) pair has curated cases, so no pair is tested only by hypothesis."""
    pairs = {(p.values[0], p.values[1]) for p in PARAMS}
    assert pairs == {(b, p) for b in BACKENDS for p in PROFILE_NAMES}
    assert len(CASES) > 300
