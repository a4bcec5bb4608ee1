"""Resolution of one call against one profile: dtypes and axes, decided once, in the frontend.

The result of dtype resolution is a :class:`Plan`, cached per (backend, backend mode, function,
profile, input dtype, ``dtype=`` argument), so a repeated call costs one dict lookup. Axis
normalisation returns a sorted tuple of non-negative ints.

>>> from unireduce._resolve import normalize_axes
>>> from unireduce._rules import PROFILES
>>> normalize_axes("sum", (-1, 0), 3, PROFILES["array_api"], None)
(0, 2)
"""

from __future__ import annotations

import operator
import sys
from typing import Any, NamedTuple

from ._backend import Backend
from ._dtypes import ALL_DTYPES, BITS, KIND
from ._errors import AxisError, DTypeError, UnireduceTypeError, UnireduceValueError
from ._rules import PROFILES, REFUSE, Profile

__all__ = [
    "Plan",
    "canonical_dtype",
    "cumsum_axis",
    "normalize_axes",
    "plan",
    "profile",
    "resolve_dtypes",
]


class Plan(NamedTuple):
    """How to compute one call: canonical names and the backend's native dtype objects."""

    in_dtype: str
    out: str
    work: str
    out_native: Any
    work_native: Any


def profile(fn: str, semantics: object) -> Profile:
    """The :class:`Profile` named ``semantics``."""
    try:
        return PROFILES[semantics]  # type: ignore[index]
    except (KeyError, TypeError):
        raise UnireduceValueError(
            f"{fn}: unknown semantics={semantics!r}; allowed: {', '.join(map(repr, PROFILES))}"
        ) from None


def canonical_dtype(fn: str, dtype: object, be: Backend | None) -> str:
    """The canonical name of a ``dtype=`` argument: a name, or any loaded framework's dtype.

    >>> canonical_dtype("sum", "int8", None)
    'int8'
    """
    if isinstance(dtype, str):
        if dtype in KIND:
            return dtype
        raise DTypeError(f"{fn}: unknown dtype {dtype!r}; allowed names: {', '.join(ALL_DTYPES)}")
    if be is not None:
        name = be.dtype_name(dtype)
        if name is not None:
            return name
    # Another framework's dtype object (np.int8 for a torch tensor, say).
    from ._registry import _INSTANCES, get_backend, registered_backends

    for other in registered_backends():
        inst = _INSTANCES.get(other)
        if inst is None:
            from ._registry import _CLASSES

            cls = _CLASSES[other]
            if not all(m in sys.modules for m in cls.modules):
                continue
            inst = get_backend(other)
        name = inst.dtype_name(dtype)
        if name is not None:
            return name
    raise DTypeError(
        f"{fn}: dtype={dtype!r} is not a dtype unireduce knows; allowed: the names "
        f"{', '.join(ALL_DTYPES)} or a framework dtype object with one of those names"
    )


def _token_dtype(token: str, in_name: str, prof: Profile, be: Backend) -> str:
    if token == "same":
        return in_name
    if token in KIND:
        return token
    default_int = prof.default_int or be.default_int()
    if token == "default_int":
        return default_int
    if token == "default_uint":
        return "u" + default_int
    raise AssertionError(f"unknown dtype token {token!r}")  # pragma: no cover


def resolve_dtypes(
    fn: str, prof: Profile, in_name: str, dtype: object, be: Backend
) -> tuple[str, str]:
    """(output dtype, working dtype) for ``fn`` on input ``in_name`` under ``prof``.

    Raises :class:`DTypeError` for refused inputs and for dtypes the backend cannot hold.
    """
    cum = fn in ("cumsum", "cumulative_sum")
    if prof.refuse_64bit and BITS[in_name] == 64 and KIND[in_name] != "c":
        raise DTypeError(
            f"{fn}: {prof.framework} would silently truncate the 64-bit input ({in_name}) to 32 "
            "bits (JAX with jax_enable_x64 off); use semantics='jax_x64' or a 32-bit input"
        )
    if dtype is not None:
        if not prof.dtype_arg:
            raise DTypeError(
                f"{fn}: {prof.framework} takes no dtype= argument (got dtype={dtype!r}); cast the "
                "input first, or use semantics='array_api'"
            )
        out = canonical_dtype(fn, dtype, be)
        if out == "bool":
            raise DTypeError(
                f"{fn}: dtype='bool' is not allowed: a sum needs a numeric dtype; allowed: "
                "integer, floating and complex dtypes"
            )
        if KIND[in_name] == "c" and KIND[out] != "c":
            raise DTypeError(
                f"{fn}: cannot sum complex input ({in_name}) as {out}: the cast would discard "
                "the imaginary parts (the array API forbids it); take the real part first"
            )
    else:
        token = (prof.cumsum_dtype if cum else prof.sum_dtype)[in_name]
        if token == REFUSE:
            raise DTypeError(
                f"{fn}: {prof.framework} refuses {in_name} input; cast it to an integer dtype "
                "first (for example int32), or use semantics='array_api', which counts bool as "
                "the default integer"
            )
        out = _token_dtype(token, in_name, prof, be)
    supported = be.supported_dtypes()
    if out not in supported:
        hint = (
            "; enable 64-bit types with jax.config.update('jax_enable_x64', True)"
            if be.name == "jax" and BITS[out] == 64
            else ""
        )
        raise DTypeError(
            f"{fn}: the result dtype {out} (rules of {prof.framework}) cannot be held by the "
            f"{be.name} backend, which has {', '.join(d for d in ALL_DTYPES if d in supported)}"
            f"{hint}"
        )
    acc = (prof.cumsum_accumulator if cum else prof.sum_accumulator).get(out, out)
    if acc not in supported:
        acc = out
    return out, be.work_dtype(acc)


_PLANS: dict[tuple[Any, ...], Plan] = {}


def plan(fn: str, prof: Profile, be: Backend, native_in: object, dtype: object) -> Plan:
    """The cached :class:`Plan` for one call signature."""
    try:
        key = (be, be.mode(), fn, prof.name, native_in, dtype)
        hit = _PLANS.get(key)
    except TypeError:  # an unhashable dtype argument: resolve without caching
        key, hit = None, None
    if hit is not None:
        return hit
    in_name = be.dtype_name(native_in)
    if in_name is None:
        raise DTypeError(
            f"{fn}: the input dtype {native_in!r} is not supported; allowed: "
            f"{', '.join(ALL_DTYPES)}"
        )
    out, work = resolve_dtypes(fn, prof, in_name, dtype, be)
    result = Plan(in_name, out, work, be.native_dtype(out), be.native_dtype(work))
    if key is not None:
        _PLANS[key] = result
    return result


def _as_int(fn: str, value: object, axis: object) -> int:
    if isinstance(value, bool):
        raise UnireduceTypeError(
            f"{fn}: axis={axis!r} contains a bool; allowed: None, an int or a tuple of ints"
        )
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise UnireduceTypeError(
            f"{fn}: axis={axis!r} is not an integer or a tuple of integers "
            f"(got {type(value).__name__}); allowed: None, an int, or a tuple or list of ints"
        ) from None


def _check_range(fn: str, a: int, ndim: int) -> int:
    if not -ndim <= a < ndim:
        if ndim == 0:
            raise AxisError(
                f"{fn}: axis {a} is out of bounds for a 0-d array; allowed: axis=None or ()"
            )
        raise AxisError(
            f"{fn}: axis {a} is out of bounds for an array of dimension {ndim}; allowed: "
            f"integers in [{-ndim}, {ndim})"
        )
    return a + ndim if a < 0 else a


def normalize_axes(
    fn: str, axis: object, ndim: int, prof: Profile, be: Backend | None
) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of distinct non-negative ints (``None`` means every axis)."""
    if axis is None:
        return tuple(range(ndim))
    scalar = False
    if isinstance(axis, tuple):
        items: tuple[object, ...] = axis
    elif isinstance(axis, list):
        if not prof.list_axis:
            raise UnireduceTypeError(
                f"{fn}: {prof.framework} does not accept a list as axis (got {axis!r}); use a tuple"
            )
        items = tuple(axis)
    elif isinstance(axis, int) and not isinstance(axis, bool):
        items, scalar = (axis,), True
    else:
        values = be.axis_values(axis) if (be is not None and prof.array_axis) else None
        if values is not None:
            items = values
        else:
            items, scalar = (axis,), True
    ints = tuple(_as_int(fn, a, axis) for a in items)
    if not ints:
        return tuple(range(ndim)) if prof.empty_axis == "all" else ()
    if ndim == 0:
        allowed = "int" if scalar else "tuple"
        if allowed in prof.zero_d_axis and all(a in (0, -1) for a in ints):
            return ()
        _check_range(fn, ints[0], 0)
    out = tuple(_check_range(fn, a, ndim) for a in ints)
    if len(set(out)) != len(out):
        raise AxisError(
            f"{fn}: axis={axis!r} names the same axis twice (for an array of dimension {ndim}); "
            "allowed: distinct axes"
        )
    return tuple(sorted(out))


def cumsum_axis(fn: str, axis: object, ndim: int, prof: Profile) -> int | None:
    """The one axis of a cumulative sum, or ``None`` to flatten first (NumPy's default)."""
    if axis is None:
        policy = prof.cumsum_default_axis
        if policy == "flatten":
            return None
        if policy == "zero" or (policy == "required_if_ndim_gt_1" and ndim == 1):
            return 0
        if policy == "required":
            raise AxisError(f"{fn}: {prof.framework} requires an axis; pass axis=0 for example")
        raise AxisError(
            f"{fn}: axis is required for a {ndim}-D input (it may be omitted only for 1-D "
            f"input); pass an int in [{-ndim}, {ndim}), or reshape to 1-D to accumulate over "
            "every element"
        )
    if isinstance(axis, (tuple, list)):
        raise UnireduceTypeError(
            f"{fn}: axis={axis!r} must be a single int, not a {type(axis).__name__}; a "
            "cumulative sum runs along one axis"
        )
    return _check_range(fn, _as_int(fn, axis, axis), ndim)
