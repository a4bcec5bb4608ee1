"""Generic adapter for any array-API library, through its standard namespace.

Used for array_api_strict, dask.array and CuPy (namespaces from array-api-compat where the library
is not itself compliant). Another library gets an adapter in three lines: subclass
:class:`ArrayAPIBackend`, set ``name``, ``modules`` and :meth:`ArrayAPIBackend.namespace`, and
declare it under the ``unireduce.backends`` entry-point group.

>>> import array_api_strict as xp, unireduce as ur
>>> ur.sum(xp.asarray([1, 2], dtype=xp.uint8)).dtype == xp.uint64
True
"""

from __future__ import annotations

import copy
import itertools
import operator
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from unireduce._backend import Backend, Capabilities
from unireduce._dtypes import ALL_DTYPES, INTEGER
from unireduce._errors import UnireduceTypeError

__all__ = ["ArrayAPIBackend", "ArrayApiStrictBackend", "CupyBackend", "DaskBackend"]


class ArrayAPIBackend(Backend):
    """Adapter over a standard array-API namespace; subclasses say which one."""

    name: ClassVar[str] = "array_api"
    modules: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.xp = self.namespace()
        self._natives: dict[str, Any] = {
            n: getattr(self.xp, n) for n in ALL_DTYPES if hasattr(self.xp, n)
        }
        self._names: dict[Any, str] = {v: k for k, v in self._natives.items()}
        # NumPy-based namespaces (dask, cupy) spell dtypes as scalar types (np.int64) while arrays
        # carry dtype instances (dtype('int64')): accept both.
        for name, v in self._natives.items():
            if isinstance(v, type) and v.__module__ == "numpy":
                import numpy as np

                self._names.setdefault(np.dtype(v), name)
        self._supported = frozenset(self._natives)
        # Look up only objects of the namespace's own dtype types: array_api_strict warns when its
        # dtypes are compared with NumPy's.
        self._key_types = frozenset(type(k) for k in self._names)
        info = self.xp.__array_namespace_info__()
        self._default_int = self._names[info.default_dtypes()["integral"]]

    def namespace(self) -> Any:
        """The array-API namespace of this library."""
        raise NotImplementedError

    def is_array(self, x: object) -> bool:
        raise NotImplementedError

    def dtype_name(self, native: object) -> str | None:
        if type(native) not in self._key_types:
            return None
        try:
            return self._names.get(native)
        except TypeError:
            return None

    def native_dtype(self, name: str) -> Any:
        return self._natives[name]

    def supported_dtypes(self) -> frozenset[str]:
        return self._supported

    def default_int(self) -> str:
        return self._default_int

    def ndim(self, x: Any) -> int:
        return int(x.ndim)

    def device(self, x: Any) -> object:
        from array_api_compat import device

        return device(x)

    def axis_values(self, axis: object) -> tuple[int, ...] | None:
        if not self.is_array(axis):
            return None
        arr: Any = axis
        if arr.ndim > 1 or self.dtype_name(arr.dtype) not in INTEGER:
            return None
        if arr.ndim == 0:
            return (operator.index(arr),)
        return tuple(operator.index(arr[i]) for i in range(arr.shape[0]))

    def astype(self, x: Any, dtype: Any) -> Any:
        return x if x.dtype == dtype else self.xp.astype(x, dtype)

    def sum(
        self,
        x: Any,
        axes: tuple[int, ...] | None,
        keepdims: bool,
        dtype: Any,
        name: str | None = None,
    ) -> Any:
        # Cast first: a strict namespace refuses bool input to sum.
        return self.xp.sum(self.astype(x, dtype), axis=axes, dtype=dtype, keepdims=keepdims)

    def cumsum(self, x: Any, axis: int, dtype: Any) -> Any:
        return self.xp.cumulative_sum(self.astype(x, dtype), axis=axis, dtype=dtype)

    def flip(self, x: Any, axis: int) -> Any:
        return self.xp.flip(x, axis=axis)

    def pad_zero_front(self, x: Any, axis: int) -> Any:
        shape = list(x.shape)
        shape[axis] = 1
        zeros = self.xp.zeros(tuple(shape), dtype=x.dtype, device=self.device(x))
        return self.xp.concat([zeros, x], axis=axis)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return self.xp.reshape(x, shape)

    # ------------------------------------------------------------------ exact mode (issue 5)
    def _arr(self, v: Any, like: Any) -> Any:
        if self.is_array(v):
            return v
        return self.xp.asarray(v, dtype=like.dtype, device=self.device(like))

    def is_traced(self, x: Any) -> bool:
        # Lazy arrays (dask): never force a compute from inside exact mode.
        return self.name == "dask"

    def to_python(self, x: Any) -> Any:
        return x.item() if hasattr(x, "item") else float(x)

    def bitcast(self, x: Any, dtype: Any) -> Any:
        if hasattr(x, "view"):  # dask, cupy
            if x.ndim == 0:  # dask's Array.view reads chunks[-1], which a 0-d array lacks
                # (IndexError, dask 2026.8.0; no upstream issue found): through shape (1,)
                return x.reshape((1,)).view(dtype).reshape(())
            return x.view(dtype)
        # The standard has no bitcast: go through DLPack with NumPy (host namespaces only).
        import numpy as np

        bits = np.from_dlpack(x).view(np.dtype(self.dtype_name(dtype) or dtype))
        return self.xp.asarray(bits, device=self.device(x))

    def bitwise_and(self, x: Any, y: Any) -> Any:
        return self.xp.bitwise_and(x, self._arr(y, x))

    def shift_left(self, x: Any, n: Any) -> Any:
        return self.xp.bitwise_left_shift(x, self._arr(n, x))

    def shift_right(self, x: Any, n: Any) -> Any:
        return self.xp.bitwise_right_shift(x, self._arr(n, x))

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        ref = a if self.is_array(a) else b
        return self.xp.where(cond, self._arr(a, ref), self._arr(b, ref))

    def clip(self, x: Any, lo: int, hi: int) -> Any:
        return self.xp.clip(x, min=lo, max=hi)

    def max(self, x: Any, axes: tuple[int, ...] | None, keepdims: bool) -> Any:
        return self.xp.max(x, axis=axes, keepdims=keepdims)

    def min(self, x: Any, axes: tuple[int, ...] | None, keepdims: bool) -> Any:
        return self.xp.min(x, axis=axes, keepdims=keepdims)

    def concat(self, xs: list[Any], axis: int) -> Any:
        return self.xp.concat(xs, axis=axis)

    def take(self, x: Any, idx: Any, axis: int) -> Any:
        return self.xp.take(x, idx, axis=axis)

    def permute_dims(self, x: Any, perm: tuple[int, ...]) -> Any:
        return self.xp.permute_dims(x, perm)

    def real(self, x: Any) -> Any:
        return self.xp.real(x)

    def imag(self, x: Any) -> Any:
        return self.xp.imag(x)

    def make_complex(self, re: Any, im: Any) -> Any:
        # The standard has no complex(re, im); re + 1j * im would make an infinite imaginary
        # part's real part NaN and a -0.0 part +0.0. Arrays NumPy can read through DLPack (host
        # memory, no copy) get their parts set there and come back through the namespace.
        import numpy as np

        try:
            parts = np.from_dlpack(re), np.from_dlpack(im)
        except (BufferError, TypeError, RuntimeError, AttributeError, ValueError) as exc:
            raise UnireduceTypeError(
                f"{self.name}: exact sums of complex data need make_complex(re, im); the "
                f"adapter has none and NumPy cannot read its arrays through DLPack ({exc}); "
                "allowed: real input, or an adapter that overrides make_complex"
            ) from exc
        return self.xp.asarray(_complex_parts(*parts), device=re.device)


class ArrayApiStrictBackend(ArrayAPIBackend):
    """array_api_strict: the standard's reference namespace (no float16 or bfloat16)."""

    name: ClassVar[str] = "array_api_strict"
    modules: ClassVar[tuple[str, ...]] = ("array_api_strict",)
    capabilities: ClassVar[Capabilities] = Capabilities(
        dtypes=frozenset(ALL_DTYPES) - {"float16", "bfloat16"},
    )

    def namespace(self) -> Any:
        import array_api_strict

        return array_api_strict

    def is_array(self, x: object) -> bool:
        from array_api_strict._array_object import Array

        return isinstance(x, Array)


class DaskBackend(ArrayAPIBackend):
    """dask.array, through array-api-compat's namespace; results stay lazy."""

    name: ClassVar[str] = "dask"
    modules: ClassVar[tuple[str, ...]] = ("dask.array",)
    capabilities: ClassVar[Capabilities] = Capabilities(
        lazy=True,
        notes=("results stay lazy; float16 and bfloat16 through NumPy dtypes",),
    )

    def namespace(self) -> Any:
        import array_api_compat.dask.array as xp

        return xp

    def take(self, x: Any, idx: Any, axis: int) -> Any:
        import warnings

        from dask.array.core import PerformanceWarning

        with warnings.catch_warnings():
            # dask warns (PerformanceWarning: "Increasing number of chunks by factor of 11")
            # when an index array's chunks multiply the result's; the exact path's row patch
            # gathers a few rows by computed indices, inside the task that needs them. Under
            # warnings-as-errors the exact sum of an all-zero float16 array raised it.
            warnings.simplefilter("ignore", PerformanceWarning)
            return self.xp.take(x, idx, axis=axis)

    def guard(self, y: Any, bad: Any, err: Exception) -> Any:
        # Checked when computed: every block of y waits for the 0-d flag and raises on it.
        import dask.array as da

        return da.map_blocks(_raise_if, y, bad, err=err, dtype=y.dtype, meta=y._meta)

    def host_call(
        self,
        x: Any,
        spec: str,
        shape: tuple[int, ...],
        dtype: str,
        portable: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Block by block (``da.map_blocks``), where every reduced axis (a cumsum's axis) of ``x``
        lies in one chunk: each output element then comes from one NumPy block, which the host
        kernels take without a copy, so the result does not depend on the chunking. Sums and
        cumsums over split axes: :meth:`_split`. Else ``None`` (the portable path: blocks of
        other libraries, e.g. CuPy). The portable path ran about 90x dask's own sum on 10**7
        normal float64 values, and over a second per 10**4 values spread over 2000 binades.

        >>> import dask.array as da, numpy as np
        >>> from unireduce._registry import backend_of
        >>> x = da.from_array(np.array([[1e300, 1.0, -1e300]] * 4), chunks=(2, 3))
        >>> backend_of(x).host_call(x, "sum:float64:1:0", (4,), "float64").compute().tolist()
        [1.0, 1.0, 1.0, 1.0]
        """
        import functools

        import dask.array as da
        import numpy as np

        from unireduce._exact import parse_spec, run_host

        if type(x._meta) is not np.ndarray:
            return None
        op, _, red, _, _ = parse_spec(spec, x.ndim)
        if any(len(x.chunks[a]) != 1 for a in red):
            return self._split(x, spec, shape, red, dtype, portable)
        nt = np.dtype(self.native_dtype(dtype))
        if op == "cumsum":
            run = functools.partial(run_host, spec)
            return da.map_blocks(run, x, dtype=nt, meta=np.empty((0,) * x.ndim, dtype=nt))
        return _map_reduced(run_host, spec, x, nt)

    def _split(
        self,
        x: Any,
        spec: str,
        shape: tuple[int, ...],
        red: tuple[int, ...],
        dtype: str,
        portable: Callable[[Any], Any] | None,
    ) -> Any:
        """A sum over axes split across blocks (:meth:`_split_sum`) or a cumsum along one
        (:meth:`_split_cumsum`), from the exact float64 expansions of block totals: exact, so
        independent of the chunking. A sum tries the blocks' certified double-doubles first
        (:meth:`_bounded_sum`) and computes the expansions only where that is uncertain.
        Where a block total or a carry passed float64's range (float64 data beyond 2**1024
        that later blocks cancel) :meth:`_overflowed` runs instead (:meth:`cond`); ``None``
        (the portable path) without ``portable`` (``path="host"``) or where ``split_plan``
        declines. Complex results: each component so, then put together. The portable path
        across chunks took 24-150x dask's own sum and 45-82x its cumsum of 10**7 values."""
        import numpy as np

        from unireduce._exact import component_spec, gather_plan, parse_spec, split_plan

        if portable is None:
            return None
        op, _, _, kept, keepdims = parse_spec(spec, x.ndim)
        regroup = gather_plan(spec, x.chunks, x.dtype.itemsize)
        nt = np.dtype(self.native_dtype(dtype))
        if regroup is not None and op == "cumsum":  # few rows per block: the data gathered
            return _gathered_cumsum(x, spec, regroup, nt)
        if regroup is not None:
            return _gathered_sum(x, spec, regroup, nt).rechunk(
                {(a if keepdims else i): x.chunks[a] for i, a in enumerate(kept)}
            )
        part_spec = component_spec(spec)
        if part_spec is not None:  # per component; the fallback's part where one overflows

            def fallback(part: Callable[[Any], Any]) -> Callable[[Any], Any]:
                return lambda _: part(portable(x))

            comp = parse_spec(part_spec, x.ndim)[1]
            re, im = (
                self._split(part(x), part_spec, shape, red, comp, fallback(part))
                for part in (self.real, self.imag)
            )
            return None if re is None or im is None else self.make_complex(re, im)
        plan = split_plan(spec, x.chunks, dtype)
        if plan is None:
            return None
        stages = self._split_sum if op == "sum" else self._split_cumsum

        def exact() -> Any:
            done, ok = stages(x, spec, red, dtype, plan)
            return self.cond(ok, lambda: done, lambda: self._overflowed(x, spec, nt, portable))

        if op == "cumsum":
            return exact()
        # Sums: the certified first try per block, the exact expansions where it is not certain.
        import dask.array as da

        quick = self._bounded_sum(x, spec, dtype)
        if quick is None:
            return exact()
        return self.cond(~da.any(da.isnan(quick)), lambda: quick, exact)

    def _overflowed(self, x: Any, spec: str, nt: Any, portable: Callable[[Any], Any]) -> Any:
        """The sums or cumsum ``spec`` of ``x`` where a block total or carry passed float64's
        range (float64 data beyond 2**1024 that later blocks cancel), which float64 expansions
        cannot hold: the data gathered and run whole by the host kernels, as where blocks hold
        few rows, wherever one output's values fit ``GATHER_MAX`` bytes (``gather_plan`` with
        ``overflowed``); else the portable path. The portable path across chunks built graphs
        of about 4000 tasks for 600 values in 6 blocks (10 s threaded, 23.6 s synchronous).

        >>> import dask.array as da, numpy as np
        >>> from unireduce._registry import backend_of
        >>> big = np.finfo(np.float64).max
        >>> x = da.from_array(np.array([big, big, 0.5, -big, -big]), chunks=2)
        >>> be = backend_of(x)
        >>> portable = lambda v: None  # not taken: 5 values fit GATHER_MAX
        >>> be._overflowed(x, "sum:float64:0:0", np.float64, portable).compute().tolist()
        0.5
        """
        from unireduce._exact import gather_plan, parse_spec

        regroup = gather_plan(spec, x.chunks, x.dtype.itemsize, overflowed=True)
        if regroup is None:
            return portable(x)
        if parse_spec(spec, x.ndim)[0] == "cumsum":
            return _gathered_cumsum(x, spec, regroup, nt)
        return _gathered_sum(x, spec, regroup, nt)

    def _bounded_sum(self, x: Any, spec: str, dtype: str) -> Any:
        """The sum from each block's certified first try (``block_bounded``: a double-double
        and its error bound per output), added up and rounded per block of outputs where the
        bounds make it certain, NaN elsewhere (``finish_bounded``); ``None`` where
        ``split_plan`` declines its 4 values per output and block."""
        import functools

        import dask.array as da
        import numpy as np

        from unireduce._exact import BOUNDED, block_bounded, finish_bounded, split_plan

        plan = split_plan(spec, x.chunks, dtype, BOUNDED)
        if plan is None:
            return None
        chunks, _, gather = plan
        meta = np.empty((0,) * x.ndim, np.float64)
        parts = da.map_blocks(
            functools.partial(block_bounded, spec), x, chunks=chunks, dtype=np.float64, meta=meta
        ).rechunk(gather)
        done = _map_reduced(finish_bounded, spec, parts, np.dtype(self.native_dtype(dtype)))
        return _to_blocks_of(done, x, spec)

    def _split_sum(
        self, x: Any, spec: str, red: tuple[int, ...], dtype: str, plan: Any
    ) -> tuple[Any, Any]:
        """The sum and its no-overflow flag in two stages: each block's exact partial sums as
        float64 expansions (``block_partials``: one kernel pass), then, per block of outputs,
        the exact sum of every block's components rounded once (``finish_partials``)."""
        import functools

        import dask.array as da
        import numpy as np

        from unireduce._exact import block_partials, finish_partials

        chunks, flags, gather = plan
        meta = np.empty((0,) * x.ndim, np.float64)
        parts = da.map_blocks(
            functools.partial(block_partials, spec), x, chunks=chunks, dtype=np.float64, meta=meta
        )
        parts = parts.rechunk(gather)
        nt = np.dtype(self.native_dtype(dtype))
        done = _to_blocks_of(_map_reduced(finish_partials, spec, parts, nt), x, spec)
        return done, ~da.any(parts[flags] != 0)

    def _split_cumsum(
        self, x: Any, spec: str, red: tuple[int, ...], dtype: str, plan: Any
    ) -> tuple[Any, Any]:
        """The cumsum and its no-overflow flag in three stages: every block's exact total but
        the last's as a float64 expansion (``block_partials``), each block's carry (the exact
        sum of the blocks before it, ``block_carries``: one small task per block of the other
        axes), then each block's exact prefix sums from its carry (``finish_cumsum``: the
        kernel's one pass over the carry's few components and the block)."""
        import functools

        import dask.array as da
        import numpy as np

        from unireduce._exact import block_carries, block_partials, finish_cumsum

        ax = red[0]
        head = x[
            tuple(
                slice(0, x.shape[ax] - x.chunks[ax][-1]) if a == ax else slice(None)
                for a in range(x.ndim)
            )
        ]
        chunks, flags, gather = plan
        chunks = tuple(c[:-1] if a == ax else c for a, c in enumerate(chunks))
        meta = np.empty((0,) * x.ndim, np.float64)
        totals = da.map_blocks(
            functools.partial(block_partials, spec),
            head,
            chunks=chunks,
            dtype=np.float64,
            meta=meta,
        ).rechunk(gather)
        n1 = chunks[ax][0]
        carries = da.map_blocks(
            functools.partial(block_carries, spec),
            totals,
            chunks=tuple(
                (n1 * len(x.chunks[ax]),) if a == ax else c for a, c in enumerate(totals.chunks)
            ),
            dtype=np.float64,
            meta=meta,
        ).rechunk(tuple(n1 if a == ax else x.chunks[a] for a in range(x.ndim)))
        nt = np.dtype(self.native_dtype(dtype))
        done = da.map_blocks(
            functools.partial(finish_cumsum, spec),
            x,
            carries,
            chunks=x.chunks,
            dtype=nt,
            meta=np.empty((0,) * x.ndim, nt),
        )
        return done, ~da.any(carries[flags] != 0)

    def cond(self, pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
        """Lazily, ``true_fn()`` if ``pred`` holds, else ``false_fn()``; only one branch runs.

        Dask has no conditional, and the default (both branches and a ``where``) computed exact
        mode's integer route on every call: 16 GB for the cumsum of 2**24 float32 ones, which
        the float-only try certifies. Here each block of ``true_fn()`` (the cheap branch, by
        :meth:`Backend.cond`'s contract) waits for ``pred`` and for one task, which builds
        ``false_fn()``'s graph and computes it only when ``pred`` is false (on the synchronous
        scheduler: a nested compute must not wait on its caller's pool); every block then takes
        its slice. Building that graph up front took seconds: 4 s
        for the exact float64 sum of three values, whose float-only try certifies. The result
        has ``true_fn()``'s shape, dtype and chunks, which the other branch must match in shape
        and dtype (as under ``jax.lax.cond``). Nothing computes until the caller computes.

        >>> import dask.array as da
        >>> from unireduce._registry import backend_of
        >>> x = da.ones(4, chunks=2)
        >>> be = backend_of(x)
        >>> be.cond(x.sum() > 3, lambda: x * 2, lambda: x / 0).compute().tolist()
        [2.0, 2.0, 2.0, 2.0]
        >>> be.cond(x.sum() > 9, lambda: x * 2, lambda: x * 3).compute().tolist()
        [3.0, 3.0, 3.0, 3.0]
        """
        import dask
        import dask.array as da

        t = true_fn()
        if any(d != d for d in t.shape):  # unknown sizes (NaN): no block locations
            return super().cond(pred, lambda: t, false_fn)
        # One task computes the other branch (or nothing) and every block depends on it, so it
        # runs once per compute under any scheduler: a value shared inside one object was
        # computed again by every block under dask.distributed, each task unpickling its own copy.
        deferred = _Deferred(false_fn, tuple(t.shape), t.dtype)
        # pred by its own key: a dask array handed to dask.delayed is finalized under new keys,
        # so everything pred shares with t ran twice (an exact sum over split axes computed
        # every block's partials twice, 203 ms against 49 for dask's sum of 10**8 float64).
        key = pred
        if isinstance(pred, da.Array) and pred.ndim == 0:
            key = pred.to_delayed(optimize_graph=False).ravel()[0]
        other = dask.delayed(_other_branch, pure=True)(key, deferred)
        return da.map_blocks(_pick, t, pred, other=other, dtype=t.dtype, meta=t._meta)

    def __init__(self) -> None:
        super().__init__()
        # Dask arrays hold any NumPy dtype, half precision included, though the standard
        # namespace does not name float16 or bfloat16.
        import numpy as np

        extra = {"float16": np.dtype("float16")}
        try:
            import ml_dtypes

            extra["bfloat16"] = np.dtype(ml_dtypes.bfloat16)
        except ImportError:
            pass
        for name, dt in extra.items():
            self._natives.setdefault(name, dt)
            self._names.setdefault(dt, name)
        self._supported = frozenset(self._natives)
        self._key_types = frozenset(type(k) for k in self._names)

    def is_array(self, x: object) -> bool:
        from array_api_compat import is_dask_array

        return bool(is_dask_array(x))

    def make_complex(self, re: Any, im: Any) -> Any:
        # As for array_api_strict: the parts set block by block in NumPy.
        import dask.array as da
        import numpy as np

        dt = np.result_type(re.dtype, np.complex64)
        meta = np.empty((0,) * re.ndim, dtype=dt)
        return da.map_blocks(_complex_parts, re, im, dtype=dt, meta=meta)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        # Dask cannot reshape an empty array split into several chunks (dask#2561): an empty
        # array holds no data, so one chunk costs nothing.
        if 0 in x.shape and any(len(c) > 1 for c in x.chunks):
            x = x.rechunk(x.shape)
        return super().reshape(x, shape)


class CupyBackend(ArrayAPIBackend):
    """CuPy, through array-api-compat's namespace; results stay on the GPU."""

    name: ClassVar[str] = "cupy"
    modules: ClassVar[tuple[str, ...]] = ("cupy",)
    capabilities: ClassVar[Capabilities] = Capabilities(
        dtypes=frozenset(ALL_DTYPES) - {"bfloat16"},
        devices=("cuda",),
    )

    def namespace(self) -> Any:
        import array_api_compat.cupy as xp

        return xp

    def is_array(self, x: object) -> bool:
        from array_api_compat import is_cupy_array

        return bool(is_cupy_array(x))

    def devices(self) -> list[str]:
        import cupy

        return [f"cuda:{i}" for i in range(cupy.cuda.runtime.getDeviceCount())]

    def make_complex(self, re: Any, im: Any) -> Any:
        # As the default, on the GPU: CuPy arrays take their parts by assignment. Untested
        # here (no CUDA device on the development machine).
        import cupy

        return _complex_parts(re, im, cupy.empty)


def _to_blocks_of(done: Any, x: Any, spec: str) -> Any:
    """The sums ``done`` of ``x`` for ``spec``, their kept axes rechunked to ``x``'s blocks
    where the tasks cut them to fit."""
    from unireduce._exact import parse_spec

    _, _, _, kept, keepdims = parse_spec(spec, x.ndim)
    want = {(a if keepdims else i): x.chunks[a] for i, a in enumerate(kept)}
    return done if all(done.chunks[d] == c for d, c in want.items()) else done.rechunk(want)


def _map_reduced(run: Callable[[str, Any], Any], spec: str, x: Any, dtype: Any) -> Any:
    """``da.map_blocks(run(spec, block))`` for a ``"sum:..."`` spec whose reduced axes are whole
    in every block: run with them kept at length 1, then dropped unless the spec keeps them.

    Not ``map_blocks(drop_axis=red)``: its tasks got each block of a ``da.from_array`` as a
    copy, where a map_blocks of the array's own shape gets views (dask 2026.8; the float64 sums
    over axis 1 of 1000 x 10**5 values in blocks of 100 rows, `np.add.reduce` in the tasks:
    110 ms against 47 ms, one core; dask's own sum 46 ms).

    >>> import dask.array as da, numpy as np
    >>> x = da.from_array(np.arange(6.0).reshape(2, 3), chunks=(1, 3))
    >>> run = lambda spec, b: b.sum(axis=1, keepdims=spec.endswith(":1"))
    >>> _map_reduced(run, "sum:float64:1:0", x, np.float64).compute().tolist()
    [3.0, 12.0]
    """
    import functools

    import dask.array as da
    import numpy as np

    from unireduce._exact import keep_spec, parse_spec

    _, _, red, _, keepdims = parse_spec(spec, x.ndim)
    run = functools.partial(run, keep_spec(spec, True))
    chunks = tuple((1,) if a in red else c for a, c in enumerate(x.chunks))
    meta = np.empty((0,) * x.ndim, dtype)
    y = da.map_blocks(run, x, chunks=chunks, dtype=dtype, meta=meta)
    return y if keepdims else y[tuple(0 if a in red else slice(None) for a in range(x.ndim))]


def _gathered_sum(x: Any, spec: str, regroup: dict[int, int], dtype: Any) -> Any:
    """The sum ``spec`` of the dask array ``x`` over axes split across its blocks, by tasks that
    each take the blocks along the reduced axes and run the kernels on their share of the kept
    axes (cut as ``regroup``, a :func:`~unireduce._exact.gather_plan`, says, within each
    block): read in place where the column kernel can (:func:`_run_gathered`), else the views
    concatenated (one copy). ``x.rechunk(regroup)`` first (dask
    copies slices of under half a block, then concatenates) took 3x as long: 141 and 334 ms
    against 42 and 116 ms (medians) for the float32 and float64 sums over axis 0 of 1000 x
    10**5 values in blocks of 100 rows, one core, dask's own sums 19 and 35 ms.

    >>> import dask.array as da, numpy as np
    >>> x = da.from_array(np.array([[1e300, 1.0], [1.0, 2.0], [-1e300, 3.0]]), chunks=1)
    >>> _gathered_sum(x, "sum:float64:0:1", {0: -1, 1: 1}, np.float64).compute().tolist()
    [[1.0, 6.0]]
    """
    import dask.array as da
    import numpy as np

    from unireduce._exact import keep_spec, parse_spec

    _, _, red, kept, keepdims = parse_spec(spec, x.ndim)
    cuts = _cuts(x, kept, regroup)
    name = "exact-gathered-sum-" + _token(x, spec, regroup)
    graph = _gather_graph(x, keep_spec(spec, False), kept, cuts, name)
    chunks = tuple(tuple(n for _, _, n in c) for c in cuts)
    res = da.Array(graph, name, chunks, meta=np.empty((0,) * len(kept), dtype))
    return da.expand_dims(res, red) if keepdims else res


def _gathered_cumsum(x: Any, spec: str, regroup: dict[int, int], dtype: Any) -> Any:
    """The cumsum ``spec`` of the dask array ``x`` along an axis split across its blocks, as
    :func:`_gathered_sum` gathers (each task's prefix sums along the whole axis, for its cut
    of the other axes), then each of ``x``'s blocks concatenated from its rows of the cuts
    within it: one copy in, one out. ``x.rechunk(regroup)`` and back copied twice each way.

    >>> import dask.array as da, numpy as np
    >>> x = da.from_array(np.array([[1e300, 1.0], [1.0, 2.0], [-1e300, 3.0]]), chunks=1)
    >>> y = _gathered_cumsum(x, "cumsum:float64:0", {0: -1, 1: 1}, np.float64)
    >>> y.chunks, y.compute().tolist()
    (((1, 1, 1), (1, 1)), [[1e+300, 1.0], [1e+300, 3.0], [1.0, 6.0]])
    """
    import dask.array as da
    import numpy as np
    from dask.highlevelgraph import HighLevelGraph

    from unireduce._exact import parse_spec

    _, _, red, kept, _ = parse_spec(spec, x.ndim)
    ax = red[0]
    cuts = _cuts(x, kept, regroup)
    token = _token(x, spec, regroup)
    whole = "exact-gathered-cumsum-" + token
    graph = _gather_graph(x, spec, kept, cuts, whole)
    name = "exact-gathered-cumsum-blocks-" + token
    starts = [0, *itertools.accumulate(x.chunks[ax])]
    layer: dict[Any, Any] = {}
    for idx in itertools.product(*(range(n) for n in x.numblocks)):
        rows = slice(starts[idx[ax]], starts[idx[ax] + 1])
        index = tuple(rows if a == ax else slice(None) for a in range(x.ndim))
        # The cut results within this block, nested over all axes (one along the cumsum's).
        levels = [
            [()] if a == ax else [(c,) for c, cut in enumerate(cuts[kept.index(a)]) if cut[0] == i]
            for a, i in enumerate(idx)
        ]
        layer[(name, *idx)] = (_concat_views, index, _key_grid(whole, levels))
    graph = HighLevelGraph.merge(graph, HighLevelGraph({name: layer}, {name: {whole}}))
    return da.Array(graph, name, x.chunks, meta=np.empty((0,) * x.ndim, dtype))


def _token(x: Any, spec: str, regroup: dict[int, int]) -> str:
    from dask.base import tokenize

    return str(tokenize(x, spec, regroup))


def _cuts(x: Any, kept: list[int], regroup: dict[int, int]) -> list[list[tuple[int, slice, int]]]:
    """Per kept axis of ``x``: (block index, slice within it, length) of every cut, at most
    ``regroup[a]`` long, none across blocks."""
    cuts = []
    for a in kept:
        step = regroup.get(a, -1)
        cuts.append(
            [
                (b, slice(s, s + m), m) if 0 < step < n else (b, slice(None), n)
                for b, n in enumerate(x.chunks[a])
                for s in (range(0, n, step) if 0 < step < n else [0])
                for m in [min(step, n - s)]
            ]
        )
    return cuts


def _gather_graph(
    x: Any, spec: str, kept: list[int], cuts: list[list[tuple[int, slice, int]]], name: str
) -> Any:
    """The graph of ``x`` and a layer ``name`` of one task per cut of the kept axes, which runs
    ``spec`` on its views of every block along the other axes (:func:`_run_gathered`)."""
    import functools

    from dask.highlevelgraph import HighLevelGraph

    run = functools.partial(_run_gathered, spec)
    layer: dict[Any, Any] = {}
    for out, picks in zip(
        itertools.product(*(range(len(c)) for c in cuts)), itertools.product(*cuts), strict=True
    ):
        where = dict(zip(kept, picks, strict=True))
        index = tuple(where[a][1] if a in where else slice(None) for a in range(x.ndim))
        levels = [
            [(where[a][0],)] if a in where else [(i,) for i in range(x.numblocks[a])]
            for a in range(x.ndim)
        ]
        layer[(name, *out)] = (run, index, _key_grid(x.name, levels))
    return HighLevelGraph.from_collections(name, layer, dependencies=[x])


def _key_grid(
    name: str, levels: Sequence[Sequence[tuple[int, ...]]], prefix: tuple[int, ...] = ()
) -> Any:
    """Keys ``(name, *parts)`` as nested lists, one level per entry of ``levels``, each
    choice of which adds its indices (none: a level of one) to the key.

    >>> _key_grid("a", [[(0,), (1,)], [()], [(5,)]])
    [[[('a', 0, 5)]], [[('a', 1, 5)]]]
    """
    if not levels:
        return (name, *prefix)
    return [_key_grid(name, levels[1:], (*prefix, *c)) for c in levels[0]]


def _concat_views(index: tuple[slice, ...], blocks: Any) -> Any:
    """The views ``index`` of the nested ``blocks``, concatenated (one copy)."""
    from dask.array.core import concatenate3

    def views(b: Any) -> Any:
        return [views(c) for c in b] if isinstance(b, list) else b[index]

    return concatenate3(views(blocks))


def _run_gathered(spec: str, index: tuple[slice, ...], blocks: Any) -> Any:
    """One task of :func:`_gather_graph`: the kernels on the blocks in place where they can read
    them so (:func:`~unireduce._exact.sum_in_place`), else on :func:`_concat_views`."""
    from unireduce._exact import run_host, sum_in_place

    def flat(b: Any) -> list[Any]:
        return [v for c in b for v in flat(c)] if isinstance(b, list) else [b]

    y = sum_in_place(spec, index, flat(blocks)) if spec.startswith("sum:") else None
    return run_host(spec, _concat_views(index, blocks)) if y is None else y


class _Deferred:
    """The other branch of :meth:`DaskBackend.cond`: a function making a dask array, built and
    computed only by :func:`_other_branch` (a task argument dask passes as it is: it computes the
    collections it finds in lists, tuples, dicts and dataclasses, not in other objects)."""

    def __init__(self, make: Callable[[], Any], shape: tuple[int, ...], dtype: Any):
        import uuid

        self.make, self.shape, self.dtype = make, shape, dtype
        self._token = uuid.uuid4().hex

    def __dask_tokenize__(self) -> str:
        return self._token

    def compute(self) -> Any:
        arr = self.make()
        if tuple(arr.shape) != self.shape or arr.dtype != self.dtype:
            raise AssertionError(
                f"cond: the branches differ: {self.shape} {self.dtype} against "
                f"{tuple(arr.shape)} {arr.dtype}"
            )
        return arr.compute(scheduler="sync")


def _other_branch(pred: Any, other: _Deferred) -> Any:
    """The computed other branch if the computed ``pred`` fails, else ``None``."""
    return None if bool(pred) else other.compute()


def _pick(value: Any, pred: Any, other: Any, block_info: Any = None) -> Any:
    """The block ``value`` if the computed ``pred`` holds, else the same block of ``other``."""
    if bool(pred):
        return value
    loc = block_info[0]["array-location"]
    return other[(*(slice(a, b) for a, b in loc), Ellipsis)]


def _complex_parts(re: Any, im: Any, empty: Callable[..., Any] | None = None) -> Any:
    """The complex array (NumPy's, or ``empty``'s) with real part ``re`` and imaginary part
    ``im``, bit for bit."""
    import numpy as np

    dt = np.result_type(re.dtype, np.complex64)
    out = (empty or np.empty)(tuple(re.shape), dtype=dt)
    out.real = re
    out.imag = im
    return out


def _raise_if(block: Any, bad: Any, err: Exception) -> Any:
    """``block``, or ``err`` raised when the (computed) flag ``bad`` holds."""
    if bool(bad):
        raise copy.copy(err)  # a fresh exception: no traceback piling up across computes
    return block
