"""JAX adapter: ``jnp.sum`` / ``jnp.cumsum`` with an explicit dtype; works on tracers.

With ``jax_enable_x64`` off (JAX's default) JAX has no 64-bit dtypes, so the supported set and the
default integer (int32) follow the flag, read at every call: the frontend never asks for a dtype
JAX would silently narrow (semantics-matrix.md divergence 17).

>>> import jax.numpy as jnp, unireduce as ur
>>> str(ur.sum(jnp.array([1, 2], dtype=jnp.int8)).dtype) in ("int32", "int64")
True
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from typing import Any, ClassVar

from unireduce._backend import Backend, Capabilities, ProgramCache, ScanBody
from unireduce._dtypes import ALL_DTYPES as _NAMES

__all__ = ["JaxBackend"]

_WIDE = frozenset({"int64", "uint64", "float64", "complex128"})


class JaxBackend(Backend):
    """Adapter for ``jax.Array``, tracers inside ``jit``/``grad``/``vmap`` included."""

    name: ClassVar[str] = "jax"
    modules: ClassVar[tuple[str, ...]] = ("jax",)
    # Measured (jax 0.10 CPU): sums, cumsums and casts flush subnormals to zero, eager and
    # jitted (XLA CPU sets FTZ/DAZ); TPUs have no subnormals.
    capabilities: ClassVar[Capabilities] = Capabilities(
        devices=("cpu", "cuda", "tpu"),
        flushes_subnormals=("cpu", "tpu"),
        jit=("jax.jit",),
        # XLA rewrites 64-bit types on TPUs and cannot rewrite bitcasts (jax-ml/jax#21108,
        # patrick-kidger/diffrax#366): exact mode works in float32 there (_work).
        no_float64=("tpu",),
        notes=("64-bit dtypes only with jax_enable_x64 on",),
    )

    def __init__(self) -> None:
        import jax
        import jax.numpy as jnp
        import numpy as np

        self.jax: Any = jax
        self.jnp = jnp
        self.np: Any = np
        self._natives: dict[str, Any] = {n: np.dtype(getattr(jnp, n)) for n in _NAMES}
        self._names: dict[Any, str] = {v: k for k, v in self._natives.items()}
        self._all = frozenset(self._natives)
        self._x32 = self._all - _WIDE
        self._caches: dict[bool, dict[Any, Any]] = {False: {}, True: {}}

    def is_array(self, x: object) -> bool:
        return isinstance(x, self.jax.Array)

    def version(self) -> str:
        return str(self.jax.__version__)

    def mode(self) -> bool:
        return bool(self.jax.config.jax_enable_x64)

    def plan_cache(self) -> dict[Any, Any]:
        # Resolved calls depend on the x64 flag (the default integer, the dtypes JAX can hold).
        return self._caches[bool(self.jax.config.jax_enable_x64)]

    def dtype_name(self, native: object) -> str | None:
        try:
            hit = self._names.get(native)
        except TypeError:
            return None
        if hit is not None or isinstance(native, str):
            return hit
        try:
            return self._names.get(self.np.dtype(native))  # jnp.int8 and friends
        except (TypeError, ValueError):
            return None

    def native_dtype(self, name: str) -> Any:
        return self._natives[name]

    def supported_dtypes(self) -> frozenset[str]:
        return self._all if self.jax.config.jax_enable_x64 else self._x32

    def ndim(self, x: Any) -> int:
        return int(x.ndim)

    def device(self, x: Any) -> object:
        try:
            return next(iter(x.devices()))
        except Exception:  # a tracer has no committed device
            return None

    def devices(self) -> list[str]:
        return [f"{d.platform}:{d.id}" for d in self.jax.devices()]

    def axis_values(self, axis: object) -> tuple[int, ...] | None:
        if isinstance(axis, self.jax.Array) and axis.ndim <= 1 and axis.dtype.kind in "iu":
            return tuple(int(a) for a in self.np.asarray(axis).reshape(-1))
        return None

    def astype(self, x: Any, dtype: Any) -> Any:
        return x if x.dtype == dtype else x.astype(dtype)

    def sum(
        self,
        x: Any,
        axes: tuple[int, ...] | None,
        keepdims: bool,
        dtype: Any,
        name: str | None = None,
    ) -> Any:
        # jnp.sum keeps float and complex dtypes by itself; an explicit dtype= there measured ~4%
        # slower at 10**7 float32 elements (benchmarks/overhead.py), so it is left out.
        same = x.dtype == dtype and dtype.kind in "fc"
        return self.jnp.sum(x, axis=axes, dtype=None if same else dtype, keepdims=keepdims)

    def cumsum(self, x: Any, axis: int, dtype: Any) -> Any:
        return self.jnp.cumsum(x, axis=axis, dtype=dtype)

    def flip(self, x: Any, axis: int) -> Any:
        return self.jnp.flip(x, axis)

    def pad_zero_front(self, x: Any, axis: int) -> Any:
        widths = [(1, 0) if i == axis else (0, 0) for i in range(x.ndim)]
        return self.jnp.pad(x, widths)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return self.jnp.reshape(x, shape)

    # ------------------------------------------------------------------ exact mode (issue 5)
    float_errors_silent = True

    def is_traced(self, x: Any) -> bool:
        return isinstance(x, self.jax.core.Tracer)

    def to_python(self, x: Any) -> Any:
        return x.item()

    def host_view(self, x: Any) -> Any:
        if self.is_traced(x):
            return None
        devs = x.devices()
        if len(devs) != 1 or next(iter(devs)).platform != "cpu":
            return None
        return self.np.asarray(x)  # zero-copy, read-only view of the CPU buffer

    def from_host(self, a: Any, like: Any) -> Any:
        return self.jax.device_put(a, next(iter(like.devices())))

    def host_call(
        self,
        x: Any,
        spec: str,
        shape: tuple[int, ...],
        dtype: str,
        portable: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Traced (``jax.jit``, ``vmap``, ``grad``): the host kernels as an XLA FFI call where
        the program is lowered for the CPU, ``portable(x)`` where it is lowered for another
        platform or for ``jax.export``, in the work format of that platform (:func:`_route`).
        Under ``jax.jit`` the portable path took 4-11x ``jnp.sum`` for float32 data on CPU
        (docs/exact.md)."""
        from unireduce._exact import _xla_ffi

        if not self.is_traced(x) or not _xla_ffi.usable():
            return None
        on_cpu = lambda v: _xla_ffi.run(self, v, spec, shape)  # noqa: E731
        if portable is None:
            return on_cpu(x)
        return self._by_platform(x, portable, shape, dtype, on_cpu)

    def run_compiled(
        self, fn: Callable[[Any], Any], x: Any, key: Hashable, shape: tuple[int, ...], dtype: str
    ) -> Any:
        """A concrete ``x``: ``fn`` as one ``jax.jit`` program, cached per ``key`` and dtype.
        Op by op, eager JAX compiled each of the portable path's ~140 ops for every new shape
        (8-11 s for a (8, 4, 50) float16 sum) and then dispatched them one at a time: a float32
        sum of 10**6 took 33.2 ms a call, 2.8 ms as one program (``benchmarks/exact.py --paths
        eager``, docs/exact.md). Its work format follows ``x``'s device (:func:`_work`). Traced
        (no Numba, or ``path="portable"``), ``fn`` is lowered with the program, in the work
        format of the platform it is lowered for (:func:`_route`), not of the default backend:
        a program traced on a TPU host may be lowered for its CPU, and one traced on a CPU
        exported for a TPU.
        """
        if self.is_traced(x):
            return self._by_platform(x, fn, shape, dtype, None)
        wide = _has_float64(*(d.platform for d in x.devices()))
        make = lambda: self.jax.jit(_work(self.jax, fn, wide))  # noqa: E731
        return _COMPILED.get((key, str(x.dtype), wide), make)(x)

    def _by_platform(
        self,
        x: Any,
        portable: Callable[[Any], Any],
        shape: tuple[int, ...],
        dtype: str,
        cpu: Callable[[Any], Any] | None,
    ) -> Any:
        """``portable(x)`` (or ``cpu(x)``), chosen when the traced program is lowered."""
        out = self.jax.ShapeDtypeStruct(shape, self.native_dtype(dtype))
        wide, narrow = (_work(self.jax, portable, w) for w in (True, False))
        return _route(self.jax).bind(x, cpu=cpu, wide=wide, narrow=narrow, out=out)

    def bitcast(self, x: Any, dtype: Any) -> Any:
        return self.jax.lax.bitcast_convert_type(x, dtype)

    def bitwise_and(self, x: Any, y: Any) -> Any:
        return self.jnp.bitwise_and(x, y)

    def shift_left(self, x: Any, n: Any) -> Any:
        return self.jnp.left_shift(x, n)

    def shift_right(self, x: Any, n: Any) -> Any:
        return self.jnp.right_shift(x, n)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        return self.jnp.where(cond, a, b)

    def clip(self, x: Any, lo: int, hi: int) -> Any:
        return self.jnp.clip(x, lo, hi)

    def max(self, x: Any, axes: tuple[int, ...] | None, keepdims: bool) -> Any:
        return self.jnp.max(x, axis=axes, keepdims=keepdims)

    def min(self, x: Any, axes: tuple[int, ...] | None, keepdims: bool) -> Any:
        return self.jnp.min(x, axis=axes, keepdims=keepdims)

    # One variadic lax.reduce: XLA CPU runs it as one loop over the data, where separate
    # reductions of one input became a multi-output fusion 10-25x slower (jax 0.10, issue 5).
    def fused_reductions(self) -> bool:
        return True

    def sums(self, xs: list[Any], axes: tuple[int, ...], dtype: Any) -> list[Any]:
        zero = tuple(self.jnp.zeros((), dtype) for _ in xs)
        return list(self.jax.lax.reduce(tuple(xs), zero, _add_all, axes))

    def max_min(self, x: Any, axes: tuple[int, ...], keepdims: bool) -> tuple[Any, Any]:
        if not self.jnp.issubdtype(x.dtype, self.jnp.floating):
            return super().max_min(x, axes, keepdims)
        lo_init = self.jnp.array(-self.jnp.inf, x.dtype)
        hi_init = self.jnp.array(self.jnp.inf, x.dtype)
        hi, lo = self.jax.lax.reduce((x, x), (lo_init, hi_init), self._max_min, axes)
        if keepdims:
            shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
            hi, lo = self.jnp.reshape(hi, shape), self.jnp.reshape(lo, shape)
        return hi, lo

    def _max_min(self, a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
        return self.jnp.maximum(a[0], b[0]), self.jnp.minimum(a[1], b[1])

    def stop_gradient(self, x: Any) -> Any:
        return self.jax.lax.stop_gradient(x)

    def with_grad_of(
        self, exact: Callable[[Any], Any], native: Callable[[Any], Any], x: Any
    ) -> Any:
        # A custom JVP: the tangent goes through the linear ``native``, which JAX transposes for
        # reverse mode; the bit operations of ``exact`` (and its FFI calls, which JAX cannot
        # differentiate) are never differentiated: the rule's primal is ``f`` itself, so a
        # second derivative takes this rule again.
        f = self.jax.custom_jvp(exact)
        f.defjvp(lambda primals, tangents: (f(*primals), native(*tangents)))
        return f(x)

    def concat(self, xs: list[Any], axis: int) -> Any:
        return self.jnp.concatenate(xs, axis=axis)

    def take(self, x: Any, idx: Any, axis: int) -> Any:
        return self.jnp.take(x, idx, axis=axis, mode="clip")  # in range by contract

    def permute_dims(self, x: Any, perm: tuple[int, ...]) -> Any:
        return self.jnp.transpose(x, perm)

    def real(self, x: Any) -> Any:
        return self.jnp.real(x)

    def imag(self, x: Any) -> Any:
        return self.jnp.imag(x)

    def make_complex(self, re: Any, im: Any) -> Any:
        return self.jax.lax.complex(re, im)

    def barrier(self, x: Any, *after: Any) -> Any:
        return self.jax.lax.optimization_barrier((x, *after))[0]

    def cond(self, pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
        # Eagerly lax.cond would still trace both branches: a concrete predicate picks in Python.
        if not self.is_traced(pred):
            return super().cond(pred, true_fn, false_fn)
        return self.jax.lax.cond(pred, true_fn, false_fn)

    def rolled_scan(
        self, body: ScanBody, init: Any, xs: tuple[Any, ...], n: int, reverse: bool
    ) -> tuple[Any, tuple[Any, ...]]:
        """One ``lax.scan`` (lists in ``xs`` stacked)."""
        jax, jnp = self.jax, self.jnp
        stacked = tuple(jnp.stack(x) if isinstance(x, list) else x for x in xs)

        def step(carry: Any, a: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
            return body(carry, a[0], a[1:])

        idx = jnp.arange(n, dtype=jnp.int32)
        return tuple(jax.lax.scan(step, init, (idx, *stacked), length=n, reverse=reverse))

    def guard(self, y: Any, bad: Any, err: Exception) -> Any:
        """``y``; a host callback raises ``err`` when the compiled code runs if ``bad`` holds.

        Under ``jax.jit`` JAX re-raises a callback's exception as ``jax.errors.JaxRuntimeError``
        (a ``RuntimeError``) whose message holds ``err``'s class name and message; eagerly (e.g.
        ``jax.vmap`` outside ``jit``) ``err`` itself propagates. ``vmap`` calls the callback once
        per batch element, and the callback runs even when ``y`` is not used. ``jax.export``
        cannot serialize host callbacks (NotImplementedError; diffrax#636 for the same limit).
        """
        np = self.np

        def check(flag: Any) -> None:
            if np.any(flag):
                raise copy.copy(err)  # a fresh exception: no traceback piling up across calls

        # jax.debug.callback, not checkify.debug_check: a debug_check is dropped unless the user
        # wraps the call in checkify, and under checkify the callback raises first anyway.
        self.jax.debug.callback(check, bad)
        return y


def _add_all(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(u + v for u, v in zip(a, b, strict=True))


_ROUTE: list[Any] = []

# JaxBackend.run_compiled's programs, least recently used first.
_COMPILED = ProgramCache()


def _work(jax: Any, fn: Callable[[Any], Any], wide: bool) -> Any:
    """``fn`` (the portable path) traced with JAX's 64-bit types on (``wide``) or off, whatever
    the user's ``jax_enable_x64``: the work format follows the device, not the flag.

    Wide everywhere but on TPUs (``capabilities.no_float64``): with x64 off (JAX's default) the
    path worked in float32 (blocks of 32 values, int32 lanes), 2-3x slower than in float64
    (float32 sums of 10**7 under ``jax.jit``: 21.8 ms with x64 off, 8-10 ms with x64 on;
    docs/exact.md). Narrow, the path's work dtypes hold no float64 even with x64 on, and it
    refuses 64-bit data (``sum_rows``). Inputs and results keep their dtypes.
    """

    def run(v: Any) -> Any:
        with jax.enable_x64(wide):
            return fn(v)

    return run


def _exporting(ctx: Any) -> bool:
    """Whether the lowering context ``ctx`` lowers for ``jax.export``; ``True`` where it cannot
    tell (``LoweringParameters.for_export`` is internal to JAX, whose ``jax.extend`` promises no
    stability): should JAX rename it, the CPU lowers the portable path, which gives the same bits
    everywhere and exports, instead of every jitted exact sum failing at its lowering.

    >>> from types import SimpleNamespace as NS
    >>> _exporting(NS(module_context=NS(lowering_parameters=NS(for_export=False))))
    False
    >>> _exporting(NS(module_context=NS()))
    True
    """
    params = getattr(getattr(ctx, "module_context", None), "lowering_parameters", None)
    return bool(getattr(params, "for_export", True))


def _has_float64(*platforms: str) -> bool:
    """Whether every one of the JAX ``platforms`` (``"cpu"``, ``"tpu"``, ...) computes in float64,
    by ``JaxBackend.capabilities.no_float64``, read at each call.

    >>> _has_float64("cpu", "cuda"), _has_float64("cpu", "tpu")
    (True, False)
    """
    caps = JaxBackend.capabilities
    return all(caps.has_float64_on(p) for p in platforms)


def _route(jax: Any) -> Any:
    """The primitive ``unireduce_exact(x; cpu, wide, narrow, out)``: lowered as ``cpu(x)`` (the
    FFI call, where there is one) for the CPU, else as the portable path in the work format of
    the platform it is lowered for (:func:`_work`): ``narrow(x)`` (float32 work) where that
    platform has no float64 (``capabilities.no_float64``: TPUs), ``wide(x)`` elsewhere. Each
    platform of a multi-platform ``jax.export`` gets its own (JAX selects by platform index at
    run time).

    ``jax.export`` serializes only custom calls with compatibility guarantees and refused the
    FFI targets ("Cannot serialize code with custom calls whose targets have no compatibility
    guarantees", jax 0.10.2); ``lax.platform_dependent`` chooses by platform alone, so an
    export for the CPU failed. A lowering rule reads whether the module is lowered for export
    (``LoweringParameters.for_export``). Under ``vmap`` every function is vmapped (the FFI
    call takes a leading batch as leading dimensions). Run eagerly (``vmap`` outside ``jit``)
    it takes the work format of ``x``'s devices.
    """
    if not _ROUTE:
        from jax.extend.core import Primitive
        from jax.interpreters import batching, mlir

        prim = Primitive("unireduce_exact")

        def impl(x: Any, *, cpu: Any, wide: Any, narrow: Any, out: Any) -> Any:
            return (wide if _has_float64(*(d.platform for d in x.devices())) else narrow)(x)

        prim.def_impl(impl)
        prim.def_abstract_eval(
            lambda x, *, cpu, wide, narrow, out: jax.core.ShapedArray(out.shape, out.dtype)
        )

        def lowering(platform: str | None) -> Any:
            def rule(ctx: Any, x: Any, *, cpu: Any, wide: Any, narrow: Any, out: Any) -> Any:
                # ctx.platforms: those of this branch of a multi-platform lowering.
                platforms = (
                    (platform,) if platform else (ctx.platforms or ctx.module_context.platforms)
                )
                if platform == "cpu" and cpu is not None and not _exporting(ctx):
                    fn = cpu
                else:
                    fn = wide if _has_float64(*platforms) else narrow
                return mlir.lower_fun(fn, False)(ctx, x)

            return rule

        def batch(args: Any, dims: Any, *, out: Any, **fns: Any) -> Any:
            x = jax.numpy.moveaxis(args[0], dims[0], 0)
            bout = jax.ShapeDtypeStruct((int(x.shape[0]), *out.shape), out.dtype)
            fns = {k: None if f is None else jax.vmap(f) for k, f in fns.items()}
            return prim.bind(x, out=bout, **fns), 0

        mlir.register_lowering(prim, lowering(None))
        for platform in ("cpu", "cuda", "rocm", "tpu"):
            mlir.register_lowering(prim, lowering(platform), platform=platform)
        batching.primitive_batchers[prim] = batch
        _ROUTE.append(prim)
    return _ROUTE[0]
