"""Inputs: one :class:`Case` is an array (with its memory layout) and the keywords of one call.

Cases come from two places: hypothesis strategies (:func:`cases`), which explore dtypes, shapes
(0-d, empty, 1-D to 4-D, long 1-D), layouts (transposed, strided), values (special values
included) and every keyword form, valid or not; and curated lists (:data:`CURATED`), which pin
the edge cases every backend must get right.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from unireduce._dtypes import ALL_DTYPES, KIND
from unireduce.reference import numpy_dtype

from ._functions import FUNCTIONS

__all__ = ["CURATED", "AxisArray", "Case", "cases", "curated"]

LAYOUTS = ("contiguous", "transposed", "strided")


class AxisArray(tuple):  # type: ignore[type-arg]
    """An ``axis`` given as a 1-D integer array of the backend (NumPy's for the reference)."""

    def __repr__(self) -> str:
        return f"<1-D int array {list(self)}>"


@dataclass
class Case:
    """``function(x, **kwargs)`` where ``x`` is ``base`` seen through ``layout``."""

    function: str
    base: np.ndarray  # C-contiguous
    layout: str = "contiguous"
    kwargs: dict[str, Any] = field(default_factory=dict)
    native_dtype_arg: bool = False  # pass dtype= as the framework's dtype object
    label: str = ""  # a curated case's name

    def __repr__(self) -> str:
        kw = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return (
            f"Case({self.function}(x{', ' + kw if kw else ''}), x: {self.dtype} "
            f"{self.x.shape} {self.layout})"
        )

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # hypothesis' "Falsifying example"
        p.text(repr(self))

    @property
    def x(self) -> np.ndarray:
        if self.layout == "transposed":
            return self.base.T
        if self.layout == "strided":
            return self.base[::2]
        return self.base

    @property
    def dtype(self) -> str:
        return str(self.base.dtype.name)


# ------------------------------------------------------------------------------------------
# values


def _finfo(dtype: str) -> Any:
    import ml_dtypes

    return ml_dtypes.finfo(numpy_dtype(dtype))


def special_values(dtype: str) -> list[Any]:
    """Edge values of ``dtype``: extremes, signed zeros, subnormals, infinities and NaN."""
    kind = KIND[dtype]
    if kind == "b":
        return [True, False]
    if kind in "iu":
        info = np.iinfo(np.dtype(dtype))
        edges = [int(info.min), int(info.max), 0, 1, int(info.max) - 1]
        return edges + ([-1] if kind == "i" else [])
    comp = {"complex64": "float32", "complex128": "float64"}.get(dtype, dtype)
    fi = _finfo(comp)
    big, tiny, sub = float(fi.max), float(fi.smallest_normal), float(fi.smallest_subnormal)
    reals = [0.0, -0.0, 1.0, -1.0, big, -big, tiny, -tiny, sub, -sub, float("inf"), float("-inf")]
    reals.append(float("nan"))
    if kind == "c":
        return [complex(a, b) for a, b in zip(reals, reversed(reals))]
    return reals


def _real_strategy(comp: str, scale: str) -> st.SearchStrategy[float]:
    if scale == "ints":
        return st.integers(-64, 64).map(float)
    if scale == "unit":
        width = {"float16": 16, "float32": 32}.get(comp, 64)
        return st.floats(-1, 1, width=width)
    width = {"float16": 16, "bfloat16": 32, "float32": 32}.get(comp, 64)
    return st.floats(width=width, allow_nan=scale == "special", allow_infinity=scale == "special")


def elements(dtype: str, scale: str) -> st.SearchStrategy[Any]:
    """Values of ``dtype``; ``scale`` is "ints", "unit", "finite" or "special"."""
    kind = KIND[dtype]
    if kind == "b":
        return st.booleans()
    if kind in "iu":
        info = np.iinfo(np.dtype(dtype))
        if scale in ("ints", "unit"):
            lo = max(int(info.min), -100)
            return st.integers(lo, min(int(info.max), 100))
        return st.integers(int(info.min), int(info.max))
    comp = {"complex64": "float32", "complex128": "float64"}.get(dtype, dtype)
    real = _real_strategy(comp, scale)
    if scale == "special":
        real = st.one_of(real, st.sampled_from(special_values(comp)))
    if kind == "c":
        return st.builds(complex, real, real)
    return real


def _array(values: list[Any], dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    dt = numpy_dtype(dtype)
    with np.errstate(over="ignore"):
        if dtype == "bfloat16":
            return np.array(values, dtype=np.float64).astype(dt).reshape(shape)
        return np.array(values, dtype=dt).reshape(shape)


def _shapes(max_long: int) -> st.SearchStrategy[tuple[int, ...]]:
    small = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)
    one_d = st.integers(0, max_long).map(lambda n: (n,))
    return st.one_of(small, one_d)


def _base_shape(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    if layout == "transposed":
        return shape[::-1]
    if layout == "strided":
        return (2 * shape[0], *shape[1:])
    return shape


# ------------------------------------------------------------------------------------------
# keywords

_REDUCE_AXIS_FORMS = (
    ["none"] * 3
    + ["int"] * 3
    + ["tuple"] * 3
    + ["list", "empty_tuple", "empty_list", "array"]
    + ["out_of_range", "duplicate", "bool", "float"]
)
_CUM_AXIS_FORMS = ["none"] * 3 + ["int"] * 5 + ["one_tuple", "pair", "out_of_range", "bool", "list"]


def _reduce_axis(draw: Any, ndim: int, arrays_ok: bool) -> Any:
    form = draw(st.sampled_from(_REDUCE_AXIS_FORMS))
    if form == "none":
        return None
    if form in ("empty_tuple", "empty_list"):
        return () if form == "empty_tuple" else []
    if form == "bool":
        return True
    if form == "float":
        return 1.0
    if form == "out_of_range":
        return draw(st.sampled_from([ndim, -ndim - 1]))
    if ndim == 0:
        return draw(st.sampled_from([0, -1, (0,), (-1,)]))
    if form == "int":
        return draw(st.integers(-ndim, ndim - 1))
    if form == "duplicate":
        a = draw(st.integers(0, ndim - 1))
        return (a, a - ndim)
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    axes = [a - ndim if draw(st.booleans()) else a for a in axes]
    if form == "list":
        return axes
    if form == "array" and arrays_ok:
        return AxisArray(axes)
    return tuple(axes)


def _cum_axis(draw: Any, ndim: int) -> Any:
    form = draw(st.sampled_from(_CUM_AXIS_FORMS))
    n = max(ndim, 1)
    if form == "none":
        return None
    if form == "bool":
        return False
    if form == "out_of_range":
        return draw(st.sampled_from([n, -n - 1]))
    a = draw(st.integers(-n, n - 1))
    if form == "one_tuple":
        return (a,)
    if form == "pair":
        return (0, -1)
    if form == "list":
        return [a]
    return a


@st.composite
def cases(
    draw: Any,
    function: str,
    dtypes: list[str],
    semantics: str,
    *,
    arrays_ok: bool,
    native_dtypes_ok: bool,
    max_long: int = 300,
    precision_every: int = 3,
) -> Case:
    """A random :class:`Case` for ``function`` with an input dtype from ``dtypes``; one in
    ``precision_every`` passes ``precision=`` (mostly ``"exact"``)."""
    fn = FUNCTIONS[function]
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(_shapes(max_long))
    layout = draw(st.sampled_from(LAYOUTS)) if shape else "contiguous"
    if layout == "transposed" and len(shape) < 2:
        layout = "contiguous"
    base_shape = _base_shape(shape, layout)
    scale = draw(st.sampled_from(["ints", "unit", "finite", "special"]))
    size = int(np.prod(base_shape, dtype=np.int64))
    values = draw(st.lists(elements(dtype, scale), min_size=size, max_size=size))
    base = _array(values, dtype, base_shape)
    ndim = len(shape)
    kw: dict[str, Any] = {}
    if fn.kind == "reduce":
        axis = _reduce_axis(draw, ndim, arrays_ok)
    else:
        axis = _cum_axis(draw, ndim)
    if axis is not None or draw(st.booleans()):
        kw["axis"] = axis
    native = False
    if "dtype" in fn.keywords and draw(st.integers(0, 3)) == 0:
        target = draw(st.sampled_from(ALL_DTYPES))
        kw["dtype"] = target
        native = native_dtypes_ok and draw(st.booleans())
        if KIND[dtype] == "f" and KIND[target] in "iu":
            _assume_int_castable(base, target)
    if "keepdims" in fn.keywords and draw(st.booleans()):
        kw["keepdims"] = draw(st.sampled_from([False, True, False, True, 1]))
    for flag in ("exclusive", "reverse", "include_initial"):
        if flag in fn.keywords and draw(st.booleans()):
            kw[flag] = draw(st.booleans())
    if semantics != fn.default_semantics or draw(st.booleans()):
        kw["semantics"] = semantics
    if "precision" in fn.keywords and draw(st.integers(1, precision_every)) == 1:
        kw["precision"] = draw(st.sampled_from(["exact"] * 6 + ["native", "fast"]))
    return Case(function, base, layout, kw, native)


def _assume_int_castable(base: np.ndarray, target: str) -> None:
    """Float-to-integer casts are defined only for finite values in range (truncated)."""
    v = base.astype(np.float64)
    assume(bool(np.isfinite(v).all()))
    info = np.iinfo(np.dtype(target))
    t = np.trunc(v)
    assume(bool(((t >= int(info.min)) & (t <= int(info.max))).all()))


# ------------------------------------------------------------------------------------------
# curated cases


def _full(dtype: str, shape: tuple[int, ...], value: Any) -> np.ndarray:
    return _array([value] * int(np.prod(shape, dtype=np.int64)), dtype, shape)


def _arange(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    n = int(np.prod(shape, dtype=np.int64))
    vals: list[Any] = [bool(i % 2) for i in range(n)] if dtype == "bool" else list(range(1, n + 1))
    if KIND[dtype] == "u" or dtype == "bool":
        return _array(vals, dtype, shape)
    return _array([v if i % 3 else -v for i, v in enumerate(vals)], dtype, shape)


def _axis_kwargs(function: str, ndim: int) -> list[dict[str, Any]]:
    """Every valid axis form for ``ndim``, and the invalid ones."""
    kind = FUNCTIONS[function].kind
    if kind == "reduce":
        forms: list[Any] = [None, (), []]
        forms += list(range(-ndim, ndim))
        forms += [(0, ndim - 1), [ndim - 1, 0], (-1,), tuple(range(ndim))] if ndim else [(0,)]
        forms += [ndim, (0, 0), True, 1.0]
    else:
        forms = [None, 0, -1, (0,), (0, 1), ndim, True, [0]]
        forms += list(range(-ndim, ndim))
    return [{"axis": a} for a in dict.fromkeys(map(_HashKey, forms))]


class _HashKey:
    """Deduplicate axis forms while telling ``0``, ``(0,)``, ``[0]`` and ``False`` apart."""

    def __init__(self, v: Any) -> None:
        self.v = v

    def __hash__(self) -> int:
        return hash((type(self.v), repr(self.v)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _HashKey) and (type(self.v), repr(self.v)) == (
            type(other.v),
            repr(other.v),
        )


def _with_keys(kwargs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (v.v if isinstance(v, _HashKey) else v) for k, v in kw.items()} for kw in kwargs]


def _c_zero_d(function: str, dtypes: list[str]) -> list[Case]:
    out = []
    for d in dtypes:
        for kw in _with_keys(_axis_kwargs(function, 0))[:6]:
            out.append(Case(function, _full(d, (), 1), kwargs=kw))
    return out


def _c_empty(function: str, dtypes: list[str]) -> list[Case]:
    out = []
    for d in dtypes:
        for shape, axis in (((0,), None), ((0,), 0), ((2, 0), -1), ((0, 3), 0)):
            out.append(Case(function, _full(d, shape, 1), kwargs={"axis": axis}))
        if FUNCTIONS[function].kind == "cumulate":  # NumPy's rules flatten a 2-D empty input
            for shape in ((2, 0), (0, 3)):
                kw = {"semantics": "numpy"}
                out.append(Case(function, _full(d, shape, 1), kwargs=kw))
    return out


def _c_special(function: str, dtypes: list[str]) -> list[Case]:
    out = []
    for d in dtypes:
        if KIND[d] not in "fc":
            continue
        s = special_values(d)
        zero, neg0, one, big, nbig, tiny, sub, inf, ninf, nan = (
            s[0],
            s[1],
            s[2],
            s[4],
            s[5],
            s[6],
            s[8],
            s[10],
            s[11],
            s[12],
        )
        rows = [
            [nan, one],
            [inf, ninf],
            [inf, one, inf],
            [ninf, one],
            [neg0, neg0],
            [neg0],
            [zero, neg0],
            [big, big],  # overflows to inf
            [big, big, nbig],  # an order may overflow: the bound accepts anything
            [big, nbig, one],
            [sub, sub, sub, sub],  # subnormals: exact unless flushed
            [tiny, -sub if KIND[d] == "f" else sub],
            [one, sub, -one],
        ]
        for r in rows:
            out.append(Case(function, _array(r, d, (len(r),)), kwargs={"axis": 0}))
    return out


def _c_int_edge(function: str, dtypes: list[str]) -> list[Case]:
    out = []
    for d in dtypes:
        if KIND[d] not in "iub":
            continue
        if d == "bool":
            out.append(Case(function, _full(d, (300,), True), kwargs={"axis": 0}))
            continue
        info = np.iinfo(np.dtype(d))
        lo, hi = int(info.min), int(info.max)
        rows = [[hi, 1], [hi, hi], [hi, hi, hi, 3], [lo, 1], [lo, lo]]
        if KIND[d] == "i":
            rows += [[lo, -1], [hi, -1, 2]]
        for r in rows:
            out.append(Case(function, _array(r, d, (len(r),)), kwargs={"axis": 0}))
            if FUNCTIONS[function].keywords.count("dtype"):
                wide = "uint64" if KIND[d] == "u" else "int64"
                out.append(Case(function, _array(r, d, (len(r),)), kwargs={"dtype": wide}))
    return out


def _c_layouts(function: str, dtypes: list[str]) -> list[Case]:
    out = []
    for d in dtypes:
        out.append(Case(function, _arange(d, (4, 3)), "transposed", {"axis": 0}))
        out.append(Case(function, _arange(d, (4, 3)), "transposed", {"axis": -1}))
        out.append(Case(function, _arange(d, (6, 2)), "strided", {"axis": 0}))
        out.append(Case(function, _arange(d, (2, 3, 4, 2)), "transposed", {"axis": 1}))
    return out


def _c_high_rank(function: str, dtypes: list[str]) -> list[Case]:
    out = []
    for d in dtypes:
        if d not in ("int8", "uint16", "float32", "float16", "complex64", "bool"):
            continue
        base = _arange(d, (2, 3, 2, 3))
        kind = FUNCTIONS[function].kind
        axes: list[Any] = (
            [None, (0, 2), (1, 3), (0, 1, 2), (3,), (-1, -4)] if kind == "reduce" else [0, 1, 2, 3]
        )
        for a in axes:
            kw: dict[str, Any] = {"axis": a}
            if "keepdims" in FUNCTIONS[function].keywords:
                kw["keepdims"] = True
            out.append(Case(function, base, kwargs=kw))
    return out


def _c_axis_forms(function: str, dtypes: list[str]) -> list[Case]:
    d = "int16" if "int16" in dtypes else dtypes[0]
    out = []
    for ndim in (1, 3):
        base = _arange(d, (2, 3, 2)[:ndim])
        for kw in _with_keys(_axis_kwargs(function, ndim)):
            out.append(Case(function, base, kwargs=kw))
    if FUNCTIONS[function].kind == "reduce":
        out.append(Case(function, _arange(d, (2, 3)), kwargs={"axis": AxisArray([1])}))
    return out


def _c_accumulation(function: str, dtypes: list[str]) -> list[Case]:
    out = []
    for d in ("float16", "bfloat16", "float32"):
        if d in dtypes:
            n = {"float16": 4100, "bfloat16": 1000, "float32": 3000}[d]
            out.append(Case(function, _full(d, (n,), 1.0), kwargs={"axis": 0}))
            out.append(Case(function, _full(d, (n,), 0.1), kwargs={"axis": 0}, label="tenths"))
    if "float32" in dtypes:
        r = [2.0**24, 1.0, 1.0, 1.0, 1.0, -(2.0**24)]
        out.append(Case(function, _array(r, "float32", (6,)), kwargs={"axis": 0}))
    return out


def _c_dtype_arg(function: str, dtypes: list[str]) -> list[Case]:
    if "dtype" not in FUNCTIONS[function].keywords:
        return []
    out = []
    for d in ("int8", "uint8", "bool", "float16", "complex64"):
        if d not in dtypes:
            continue
        base = _arange(d, (3, 2))
        for target in ALL_DTYPES:
            # Negative floats have no unsigned value (C leaves the cast undefined; frameworks
            # differ): cast their magnitudes.
            b = np.abs(base) if KIND[d] == "f" and KIND[target] == "u" else base
            out.append(Case(function, b, kwargs={"axis": 0, "dtype": target}))
    return out


def _ulp(fi: Any, v: float) -> float:
    """The spacing of the format ``fi`` at the normal value ``v > 0``."""
    return float(2.0 ** (math.frexp(v)[1] - 1 - int(fi.nmant)))


def _exact_rows(d: str) -> dict[str, list[float]]:
    """Adversarial rows for exact mode in the real float format ``d`` (issue 5): cancellation,
    the whole exponent range, subnormals, exact ties at half an ulp (and just off them), long
    runs of one value, sums that overflow only in an intermediate order."""
    fi = _finfo(d)
    big, tiny, sub = float(fi.max), float(fi.smallest_normal), float(fi.smallest_subnormal)
    eps = float(fi.eps)
    p = int(fi.nmant) + 1
    half, quarter = big / 2, big / 4
    lo_e, hi_e = int(fi.minexp) - int(fi.nmant), int(fi.maxexp) - 1
    exps = [int(e) for e in np.linspace(lo_e, hi_e, 40)]
    span = [2.0**e * (-1) ** i for i, e in enumerate(exps)]
    top = _ulp(fi, big) / 2  # half an ulp of the largest value: big + top is a tie, to inf
    return {
        "cancel": [half, 1.5, -half, 2.0**-10, quarter, -quarter],
        "cancel_small": [half, sub, -half, -sub, sub],
        "cancel_mixed": [quarter, 3.0, -quarter, half, -1.0, -half, eps],
        "span": span,
        "span_reversed": span[::-1],
        "subnormals": [sub] * 7 + [tiny - 3 * sub, -sub],
        "to_normal": [tiny / 2, tiny / 2, -sub],
        "tie_even": [1.0, eps / 2],
        "tie_up": [1.0 + eps, eps / 2],
        "above_tie": [1.0, eps / 2, sub],
        "below_tie": [1.0, eps / 2, -sub],
        "tie_far": [half, _ulp(fi, half) / 2, -sub, sub],
        "run_ones": [1.0] * (2**p + 1 if p <= 11 else 300),  # 2**p + 1: a tie at the end
        "run_tenths": [0.1] * 1000,
        "run_thirds": [1 / 3, -1 / 3, 1 / 3] * 200,
        "overflow_mid": [big, big, -big],
        "overflow_back": [big, big, -big, -big, big, 1.0],
        "overflow_neg": [-big, -big, big, 2.0],
        "overflow_tie": [big, top],  # the exact sum rounds (to even) up to inf
        "below_overflow": [big, top, -sub],
    }


def _c_exact(function: str, dtypes: list[str]) -> list[Case]:
    """``precision="exact"`` on adversarial data, every real and complex float dtype, 1-D and
    2-D (both layouts), and the integer edges (checked: overflow raises)."""
    kind = FUNCTIONS[function].kind
    out: list[Case] = []
    exact = {"precision": "exact"}
    for d in dtypes:
        if KIND[d] in "iu":
            for c in _c_int_edge(function, [d]):
                out.append(Case(function, c.base, c.layout, {**c.kwargs, **exact}))
            continue
        if KIND[d] != "f" and KIND[d] != "c":
            continue
        comp = {"complex64": "float32", "complex128": "float64"}.get(d, d)
        rows = _exact_rows(comp)
        if KIND[d] == "c":  # each real row with the reversed row of the next kind
            names = list(rows)
            pairs = [(rows[a], rows[b][::-1]) for a, b in zip(names, names[1:] + names[:1])]
            rows = {
                f"{a}+i": [complex(u, v) for u, v in zip(ra, rb + [0.0] * len(ra))]
                for a, (ra, rb) in zip(names, pairs)
            }
        for name, r in rows.items():
            out.append(
                Case(function, _array(r, d, (len(r),)), kwargs={"axis": 0, **exact}, label=name)
            )
        for name in ("cancel_mixed", "tie_up", "overflow_back"):  # as columns and as rows
            key = name if KIND[d] == "f" else f"{name}+i"
            r = rows[key]
            grid = _array(r + r[::-1] + [-v for v in r], d, (3, len(r)))
            out.append(Case(function, grid, kwargs={"axis": -1, **exact}, label=name))
            out.append(Case(function, grid, "transposed", {"axis": 0, **exact}, label=name))
            if kind == "reduce":
                out.append(Case(function, grid, kwargs={"axis": None, **exact}, label=name))
            else:
                flags = {"reverse": True, "exclusive": True} if function == "cumsum" else {}
                out.append(Case(function, grid, kwargs={"axis": 1, **flags, **exact}, label=name))
    if "dtype" in FUNCTIONS[function].keywords and "float64" in dtypes:
        for target in ("float32", "bfloat16", "float16", "complex64"):
            if target in dtypes:  # the cast rounds once (twice: 1.0 in bfloat16), then the sum
                r = [1 + 2.0**-8 + 2.0**-40, 3.0, -3.0, 2.0**-20, 2.0**-149 * 3]
                kw = {"axis": 0, "dtype": target, **exact}
                out.append(Case(function, _array(r, "float64", (len(r),)), kwargs=kw))
    return out


def _c_exact_smoke(function: str, dtypes: list[str]) -> list[Case]:
    """A few exact-mode cases for compilers (each call a new program)."""
    exact = {"axis": 0, "precision": "exact"}
    out = []
    for d, row in (
        ("float32", "cancel"),
        ("float32", "tie_up"),
        ("bfloat16", "span"),
        ("float16", "run_ones"),
    ):
        r = _exact_rows(d)[row]
        out.append(Case(function, _array(r, d, (len(r),)), kwargs=dict(exact), label=row))
    info = np.iinfo(np.int8)
    for r in ([int(info.max), 1], [int(info.max), 1, -2]):  # raises; fits (intermediate only)
        kw = {**exact, "dtype": "int8"} if "dtype" in FUNCTIONS[function].keywords else exact
        out.append(Case(function, _array(r, "int8", (len(r),)), kwargs=dict(kw)))
    return [c for c in out if c.dtype in dtypes]


def _c_smoke(function: str, dtypes: list[str]) -> list[Case]:
    """Two calls that exercise integer promotion and a float accumulation (compilers)."""
    out = [Case(function, _array([100, 100, 100], "int8", (3,)), kwargs={"axis": 0})]
    out.append(Case(function, _arange("float32", (2, 3)), kwargs={"axis": -1}))
    return [c for c in out if c.dtype in dtypes]


#: Curated case lists by name: (builder(function, dtypes) -> cases).
CURATED: dict[str, Callable[[str, list[str]], list[Case]]] = {
    "zero_d": _c_zero_d,
    "empty": _c_empty,
    "special_values": _c_special,
    "int_edge": _c_int_edge,
    "layouts": _c_layouts,
    "high_rank": _c_high_rank,
    "axis_forms": _c_axis_forms,
    "accumulation": _c_accumulation,
    "dtype_arg": _c_dtype_arg,
    "exact": _c_exact,
    "smoke": _c_smoke,
    "exact_smoke": _c_exact_smoke,
}


def curated(name: str, function: str, dtypes: list[str]) -> list[Case]:
    """The curated cases ``name`` for ``function`` on a backend holding ``dtypes``."""
    return CURATED[name](function, dtypes)
