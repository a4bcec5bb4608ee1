"""``array_api_compat.torch`` with unireduce's ``sum`` and ``cumulative_sum``.

A complete array API namespace: every name ``array_api_compat.torch`` exports is re-exported
unchanged, ``__array_api_version__`` (the revision it supports) and ``__array_namespace_info__``
included; only ``sum`` and ``cumulative_sum`` are replaced, by :func:`unireduce.array_api.sum`
and :func:`unireduce.array_api.cumulative_sum` (the array API standard's rules through
unireduce).
Importing this module imports PyTorch.

torch sums unsigned integers into int64 and array-api-compat passes that through
(array-api-compat#242); here they sum into the unsigned integer of the default integer's width:

>>> from unireduce.array_api import torch as xp
>>> xp.sum(xp.asarray([200, 100], dtype=xp.uint8))
tensor(300, dtype=torch.uint64)
"""

from __future__ import annotations

from typing import Any as _Any

import array_api_compat.torch as _base

from . import _populate

__all__, _lookup = _populate(globals(), _base)


def __getattr__(name: str) -> _Any:
    """A name ``array_api_compat.torch`` resolves on demand."""
    return _lookup(name)


def __dir__() -> list[str]:
    """The exported names (those resolved on demand included) and the module's dunders."""
    return sorted(set(__all__) | {n for n in globals() if n.startswith("__")})
