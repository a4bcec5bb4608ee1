"""The adapter interface every backend implements.

An adapter translates normalised requests into its framework's own array operations, on the array's
device; it decides nothing. By the time an adapter method runs, the frontend has resolved the output
and working dtypes (as the adapter's native dtype objects), normalised ``axis`` to a sorted tuple of
non-negative ints (or ``None`` for every axis; never an empty tuple) and validated everything else.

Contract, for every method:

* results are arrays of the same framework, on the input's device, never copied to the host;
* every method works on the framework's traced values (``jax.jit`` tracers, ``tf.function`` symbolic
  tensors, ``torch.compile`` fake tensors) and is differentiable where the framework's op is;
* ``sum(x, axes, keepdims, dtype)`` means "cast ``x`` to ``dtype``, then add": integers wrap modulo
  2**bits of ``dtype``; floats accumulate in ``dtype`` or wider.

Where a framework lacks a kernel (torch cannot sum into uint16/32/64) the adapter says so through
:meth:`Backend.work_dtype`, and the frontend computes in that dtype and casts at the end.

A third-party adapter subclasses :class:`Backend` and registers it under the entry-point group
``unireduce.backends``:

>>> from unireduce import Backend
>>> sorted(m for m in ("sum", "cumsum", "flip", "pad_zero_front") if hasattr(Backend, m))
['cumsum', 'flip', 'pad_zero_front', 'sum']
"""

from __future__ import annotations

import abc
from collections.abc import Hashable
from typing import Any, ClassVar

__all__ = ["Backend"]

Array = Any
NativeDType = Any


class Backend(abc.ABC):
    """Base class of the adapters; one instance per framework, created on first use."""

    #: Registered name, as ``ur.backend_name`` returns it.
    name: ClassVar[str]
    #: Top-level modules that must already be in ``sys.modules`` before this adapter is tried:
    #: an array of the framework can only exist once its module is imported.
    modules: ClassVar[tuple[str, ...]]

    # ------------------------------------------------------------------ identification
    @abc.abstractmethod
    def is_array(self, x: object) -> bool:
        """Whether ``x`` is an array of this framework (tracers and subclasses included)."""

    def version(self) -> str:
        """The framework's version string."""
        import importlib.metadata

        for mod in self.modules:
            try:
                return importlib.metadata.version(mod)
            except importlib.metadata.PackageNotFoundError:
                continue
        return "unknown"

    def mode(self) -> Hashable:
        """A token that changes when the framework's global dtype mode changes (JAX's x64 flag)."""
        return None

    # ------------------------------------------------------------------ dtypes
    @abc.abstractmethod
    def dtype_name(self, native: object) -> str | None:
        """The canonical name of a native dtype object, or ``None`` if it is not one of ours."""

    @abc.abstractmethod
    def native_dtype(self, name: str) -> NativeDType:
        """The native dtype object for a canonical name (only called for supported names)."""

    @abc.abstractmethod
    def supported_dtypes(self) -> frozenset[str]:
        """Canonical names of the dtypes this framework can hold now."""

    def default_int(self) -> str:
        """The framework's default integer dtype."""
        return "int64" if "int64" in self.supported_dtypes() else "int32"

    def work_dtype(self, name: str) -> str:
        """The dtype in which to compute a result of dtype ``name`` (modular arithmetic agrees)."""
        return name

    # ------------------------------------------------------------------ shape and device
    @abc.abstractmethod
    def ndim(self, x: Array) -> int | None:
        """The number of dimensions, or ``None`` if unknown while tracing."""

    def device(self, x: Array) -> object:
        """The device that holds ``x``."""
        return getattr(x, "device", "cpu")

    def devices(self) -> list[str]:
        """Devices present on this machine, by name (for the conformance suite)."""
        return ["cpu"]

    def axis_values(self, axis: object) -> tuple[int, ...] | None:
        """The ints of a 0-d or 1-D integer array given as ``axis``, else ``None``."""
        return None

    # ------------------------------------------------------------------ operations
    @abc.abstractmethod
    def astype(self, x: Array, dtype: NativeDType) -> Array:
        """``x`` cast to ``dtype`` (same-kind or not; the frontend has validated the cast)."""

    @abc.abstractmethod
    def sum(
        self,
        x: Array,
        axes: tuple[int, ...] | None,
        keepdims: bool,
        dtype: NativeDType,
        name: str | None = None,
    ) -> Array:
        """Sum over ``axes`` (``None``: all) after casting to ``dtype``; result has ``dtype``."""

    @abc.abstractmethod
    def cumsum(self, x: Array, axis: int, dtype: NativeDType) -> Array:
        """Inclusive cumulative sum along ``axis`` after casting to ``dtype``."""

    @abc.abstractmethod
    def flip(self, x: Array, axis: int) -> Array:
        """``x`` reversed along ``axis``."""

    @abc.abstractmethod
    def pad_zero_front(self, x: Array, axis: int) -> Array:
        """``x`` with one slice of zeros prepended along ``axis`` (length n -> n+1)."""

    def drop_last(self, x: Array, axis: int) -> Array:
        """``x`` without its last element along ``axis`` (length n -> n-1)."""
        return x[(slice(None),) * axis + (slice(0, -1), Ellipsis)]

    @abc.abstractmethod
    def reshape(self, x: Array, shape: tuple[int, ...]) -> Array:
        """``x`` reshaped (``-1`` allowed once)."""

    def __repr__(self) -> str:
        return f"<unireduce backend {self.name!r}>"
