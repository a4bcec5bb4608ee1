"""``jax.numpy`` with unireduce's ``sum`` and ``cumulative_sum``.

A complete array API namespace: every name ``jax.numpy`` exports is re-exported unchanged,
``__array_api_version__`` (the revision it supports) and ``__array_namespace_info__`` included;
only ``sum`` and ``cumulative_sum`` are replaced, by :func:`unireduce.array_api.sum` and
:func:`unireduce.array_api.cumulative_sum` (the array API standard's rules through unireduce).
Importing this module imports JAX.

JAX has no array-api-compat wrapper: ``jax.numpy`` is itself an array API namespace. With
``jax_enable_x64`` off (JAX's default) the default integer is int32, so uint8 sums give uint32:

>>> from unireduce.array_api import jax as xp
>>> xp.sum(xp.asarray([200, 100], dtype=xp.uint8)).dtype
dtype('uint32')
"""

from __future__ import annotations

from typing import Any as _Any

import jax.numpy as _base

from . import _populate

__all__, _lookup = _populate(globals(), _base)


def __getattr__(name: str) -> _Any:
    """A name ``jax.numpy`` resolves on demand."""
    return _lookup(name)


def __dir__() -> list[str]:
    """The exported names (those resolved on demand included) and the module's dunders."""
    return sorted(set(__all__) | {n for n in globals() if n.startswith("__")})
