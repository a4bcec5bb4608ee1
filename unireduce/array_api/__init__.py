"""Complete array-API namespaces whose ``sum`` and ``cumulative_sum`` are unireduce's.

Each submodule wraps one library's own array-API namespace and re-exports every name it has,
``__array_api_version__`` (the revision that namespace supports) and ``__array_namespace_info__``
included, replacing only ``sum`` and ``cumulative_sum`` by :func:`sum` and
:func:`cumulative_sum` below, which apply the array API standard's rules through unireduce on any
backend. Any array-API consumer handed one of these namespaces gets the canonical reductions,
for instance torch's unsigned sums in ``uint64`` (array-api-compat gives ``int64``,
array-api-compat#242).

========================================  ===========================================
``unireduce.array_api.numpy``             ``array_api_compat.numpy``
``unireduce.array_api.torch``             ``array_api_compat.torch``
``unireduce.array_api.jax``               ``jax.numpy`` (JAX has no array-api-compat wrapper)
``unireduce.array_api.array_api_strict``  ``array_api_strict``
========================================  ===========================================

Importing this package imports no framework; importing a submodule imports its library.

>>> import numpy as np
>>> from unireduce.array_api import numpy as xp
>>> xp.sum(xp.asarray([200, 100], dtype=xp.uint8))
array(300, dtype=uint64)
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from types import ModuleType
from typing import Any

import unireduce as _ur

__all__ = ["cumulative_sum", "sum"]

Array = Any

#: The dunder names of the array API standard a namespace must carry over.
_STANDARD_DUNDERS = ("__array_api_version__", "__array_namespace_info__")


def sum(
    x: Array,
    /,
    *,
    axis: int | tuple[int, ...] | None = None,
    dtype: Any = None,
    keepdims: bool = False,
) -> Array:
    """The array API's ``sum``, computed by :func:`unireduce.sum` (``semantics="array_api"``).

    >>> import numpy as np
    >>> sum(np.asarray([100, 100], dtype=np.int8), dtype=np.int8)
    array(-56, dtype=int8)
    """
    return _ur.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)


def cumulative_sum(
    x: Array,
    /,
    *,
    axis: int | None = None,
    dtype: Any = None,
    include_initial: bool = False,
) -> Array:
    """The array API's ``cumulative_sum``, computed by :func:`unireduce.cumulative_sum`.

    >>> import numpy as np
    >>> cumulative_sum(np.asarray([1, 2, 3], dtype=np.uint8), include_initial=True)
    array([0, 1, 3, 6], dtype=uint64)
    """
    return _ur.cumulative_sum(x, axis=axis, dtype=dtype, include_initial=include_initial)


def _public_names(base: ModuleType) -> list[str]:
    """The names ``base`` exports: its ``__all__`` (else its public attributes) and the dunders."""
    declared = getattr(base, "__all__", None)
    if declared is None:
        declared = [n for n in dir(base) if not n.startswith("_")]
    names = {n for n in declared if not n.startswith("_")}
    names.update(n for n in _STANDARD_DUNDERS if hasattr(base, n))
    return sorted(names)


def _breaks_introspection(value: Any) -> bool:
    """Whether ``inspect.unwrap(value)`` raises.

    ``torch.classes`` raises RuntimeError for ``__wrapped__.__wrapped__``; doctest's finder calls
    ``inspect.unwrap`` on every module global and crashes on it (python/cpython#70186), so such
    objects are kept out of the module's globals and served by its ``__getattr__``.
    """
    import inspect

    try:
        inspect.unwrap(value)
    except Exception:
        return True
    return False


def _populate(
    namespace: MutableMapping[str, Any], base: ModuleType
) -> tuple[list[str], Callable[[str], Any]]:
    """Fill a namespace module's globals from ``base``, with unireduce's ``sum`` and
    ``cumulative_sum``; returns the exported names and the module-level ``__getattr__`` that
    serves the names ``base`` resolves lazily (array_api_strict's extensions, for one)."""
    names = _public_names(base)
    for name in names:
        try:
            value = getattr(base, name)
        except AttributeError:  # resolved on demand by the base (see the returned __getattr__)
            continue
        if _breaks_introspection(value):
            continue  # served by the returned __getattr__ instead
        namespace[name] = value
    namespace["sum"] = sum
    namespace["cumulative_sum"] = cumulative_sum
    module_name = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name not in _STANDARD_DUNDERS:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        try:
            return getattr(base, name)
        except AttributeError:
            raise AttributeError(
                f"module {module_name!r} has no attribute {name!r} (nor has {base.__name__})"
            ) from None

    return names, __getattr__
