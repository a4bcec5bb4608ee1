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
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, ClassVar

from ._capabilities import Capabilities, device_kind
from ._dtypes import COMPLEX_COMPONENT

__all__ = ["Backend", "Capabilities", "ProgramCache"]

Array = Any
NativeDType = Any
# Backend.scan's body: (carry, j, this step's xs) -> (carry, this step's outputs).
ScanBody = Callable[[Any, Any, tuple[Any, ...]], tuple[Any, tuple[Any, ...]]]
# Backend.scan rolls traced loops of at least this many steps. Unrolled, the exact integer
# route's 66 digit windows (float64 in int64 lanes) took XLA 21.7 s to compile for a cumsum of
# (8, 200), rolled 1.4 s; rolled, float16's 3 windows compiled in 1.4 s against 0.4 s unrolled
# (benchmarks/compile.py, docs/exact.md).
SCAN_ROLL_MIN = 32


def _leaves(tree: Any) -> list[Any]:
    """The non-container leaves of nested tuples and lists."""
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


class ProgramCache:
    """Compiled programs by key, the ``size`` most recently used kept; thread-safe. The
    adapters' :meth:`Backend.run_compiled` keep theirs here.

    >>> cache = ProgramCache(size=1)
    >>> cache.get("a", lambda: "program a"), cache.get("b", lambda: "program b")
    ('program a', 'program b')
    >>> list(cache.values())
    ['program b']
    """

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._programs: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The program cached under ``key``, else ``make()`` cached (evicting the least recently
        used beyond ``size``)."""
        with self._lock:
            program = self._programs.pop(key, None)
            if program is None:
                program = make()
            self._programs[key] = program  # most recently used last
            while len(self._programs) > self.size:
                self._programs.popitem(last=False)
            return program

    def values(self) -> list[Any]:
        with self._lock:
            return list(self._programs.values())

    def __len__(self) -> int:
        return len(self._programs)


class Backend(abc.ABC):
    """Base class of the adapters; one instance per framework, created on first use."""

    #: Registered name, as ``ur.backend_name`` returns it.
    name: ClassVar[str]
    #: Top-level modules that must already be in ``sys.modules`` before this adapter is tried:
    #: an array of the framework can only exist once its module is imported.
    modules: ClassVar[tuple[str, ...]]
    #: What the adapter can do (dtypes, device kinds, subnormal flushing, jit): the one table the
    #: conformance suite and ``docs/capabilities.md`` read. The default claims CPU and every dtype.
    capabilities: ClassVar[Capabilities] = Capabilities()

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

    _plan_cache: dict[Any, Any] | None = None

    def __reduce__(
        self,
    ) -> tuple[Callable[[type[Backend], str], Backend], tuple[type[Backend], str]]:
        """Pickled by reference: unpickled, the adapter of the same class registered under the
        same name in the receiving process (a new instance if there is none). Task graphs capture
        the adapter (dask.distributed sends them to worker processes), and its state does not
        pickle by value: cloudpickle copied the class of ml_dtypes' bfloat16 dtype, which has no
        importable name, and the copy failed to load ("cannot set '__doc__' attribute of
        immutable type 'numpy._DTypeMeta'"), failing every exact dask sum under distributed.

        >>> import pickle
        >>> from unireduce._registry import get_backend
        >>> pickle.loads(pickle.dumps(get_backend("numpy"))) is get_backend("numpy")
        True
        """
        return _backend_named, (type(self), self.name)

    def plan_cache(self) -> dict[Any, Any]:
        """The frontend's cache of resolved calls for this backend (one per :meth:`mode`).

        Per backend, so a traced call (torch.compile) only ever sees its own dtype objects. An
        adapter with dtype modes (JAX) overrides this and leaves ``_plan_cache`` unset: the
        frontend's inlined lookup reads ``_plan_cache`` directly when it is set. An adapter
        whose tracer guards on the Python state it reads (torch: a fresh dict while Dynamo
        traces) overrides this too, and sets ``_plan_cache`` only where that tracer traces
        ``_api._resolve_traced`` instead of the inlined lookup.
        """
        cache = self._plan_cache
        if cache is None:
            cache = self._plan_cache = {}
        return cache

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

    def device_kind_of(self, x: Array) -> str:
        """The kind (:data:`unireduce._capabilities.DEVICE_KINDS`) of the device ``x`` is on or
        will run on; by default read off :meth:`device`'s name."""
        return device_kind(str(self.device(x)))

    def work_dtypes(self, x: Array) -> frozenset[str]:
        """The dtypes exact mode's portable path may compute in on ``x``'s device: those of
        :meth:`supported_dtypes`, without float64 and complex128 on the device kinds the
        adapter declares in ``capabilities.no_float64``; the path then works in float32.

        >>> import numpy as np
        >>> from unireduce._registry import backend_of
        >>> "float64" in backend_of(np.zeros(1)).work_dtypes(np.zeros(1))
        True
        """
        held = self.supported_dtypes()
        if self.capabilities.has_float64_on(self.device_kind_of(x)):
            return held
        return frozenset(d for d in held if COMPLEX_COMPONENT.get(d, d) != "float64")

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

    def full_sum(self, dtype: NativeDType, same_dtype: bool) -> Callable[[Array], Array] | None:
        """Optionally, a one-argument function for the commonest request, ``sum(x, None, False,
        dtype)`` where ``same_dtype`` says ``x`` already has ``dtype``; ``None`` means "use sum".

        The frontend caches it with the resolved call, so a full sum costs one extra call.
        """
        return None

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

    # ------------------------------------------------------------------ exact mode (issue 5)
    # Primitive integer/bit operations the exact-mode engine (unireduce._exact) is written in.
    # Integer arguments may be Python ints where noted; results keep the array's dtype and device.

    #: Whether invalid float operations (``inf - inf``, overflow) pass silently, with no warning
    #: (torch, TF, JAX); NumPy-based backends warn, so the exact fast path sanitizes for them.
    float_errors_silent: bool = False

    def is_traced(self, x: Array) -> bool:
        """Whether ``x`` is a traced value (jit tracer, symbolic tensor, fake or lazy array)."""
        return False

    def escaping_trace(self, x: Array) -> str | None:
        """What traced ``x`` if ``x``, stored on a Python object, would outlive that trace or
        transform and be unusable afterwards; else ``None``. By default: ``x`` traced by a
        compiler that does not keep writes to Python attributes (``Capabilities.jit``, where
        ``Capabilities.jit_object_state`` is false)."""
        if self.capabilities.jit_object_state or not self.is_traced(x):
            return None
        return ", ".join(self.capabilities.jit) or "a tracer"

    def to_python(self, x: Array) -> Any:
        """The Python scalar of a concrete 0-d array (a host sync on accelerators)."""
        raise NotImplementedError(f"{self.name}: to_python")

    def host_view(self, x: Array) -> Any:
        """A NumPy array sharing ``x``'s host memory (no copy), or ``None`` (device, traced)."""
        return None

    def from_host(self, a: Any, like: Array) -> Array:
        """The NumPy array ``a`` as an array of this framework on ``like``'s device."""
        raise NotImplementedError(f"{self.name}: from_host")

    def host_call(
        self,
        x: Array,
        spec: str,
        shape: tuple[int, ...],
        dtype: str,
        portable: Callable[[Array], Array] | None = None,
    ) -> Array | None:
        """For a traced ``x`` whose data will be in host memory: an op of the traced program
        that, when it runs, computes ``unireduce._exact.run_host(spec, view)`` on ``x``'s memory
        by the host kernels and returns its result (``shape``, dtype ``dtype``) without a copy
        of ``x``. Where the platform is known only when the program is lowered, the op is
        chosen then, and ``portable(x)`` (the portable path) runs on other platforms. ``None``
        where the backend has no such op (the default), or ``x`` is not traced or not on the
        host. torch has one (a custom op: ``torch.compile``, ``make_fx``, ``torch.export``),
        JAX another (an XLA FFI call, on CPU: ``jax.jit``).

        >>> import numpy as np
        >>> from unireduce._registry import backend_of
        >>> backend_of(np.zeros(1)).host_call(np.ones(3), "sum:float64::0", (), "float64") is None
        True
        """
        return None

    def run_compiled(
        self,
        fn: Callable[[Array], Array],
        x: Array,
        key: Hashable,
        shape: tuple[int, ...],
        dtype: str,
    ) -> Array:
        """``fn(x)``: the portable path's computation, whose result has ``shape`` and the dtype
        named ``dtype``. An adapter of a framework that runs each op on its own (eagerly, or a
        graph executor) but compiles whole programs may run ``x`` through ``fn`` compiled as one
        program, once per ``key`` (equal keys promise the same computation on inputs of one
        shape and dtype): eager JAX (``jax.jit``), TF inside a plain ``tf.function`` (a nested
        XLA function); traced JAX defers ``fn`` to the lowering, where the platform is known.
        The default runs ``fn`` as it is.

        >>> import numpy as np
        >>> from unireduce._registry import backend_of
        >>> be = backend_of(np.zeros(1))
        >>> be.run_compiled(np.cumsum, np.ones(3), "cumsum", (3,), "float64").tolist()
        [1.0, 2.0, 3.0]
        """
        return fn(x)

    def bitcast(self, x: Array, dtype: NativeDType) -> Array:
        """``x``'s bits reinterpreted as ``dtype`` of the same width."""
        raise NotImplementedError(f"{self.name}: bitcast")

    def bitwise_and(self, x: Array, y: Array | int) -> Array:
        """Elementwise ``x & y`` of integers."""
        raise NotImplementedError(f"{self.name}: bitwise_and")

    def shift_left(self, x: Array, n: Array | int) -> Array:
        """Elementwise ``x << n`` (``0 <= n <`` bit width)."""
        raise NotImplementedError(f"{self.name}: shift_left")

    def shift_right(self, x: Array, n: Array | int) -> Array:
        """Elementwise ``x >> n``, arithmetic for signed integers (``0 <= n <`` bit width)."""
        raise NotImplementedError(f"{self.name}: shift_right")

    def where(self, cond: Array, a: Array | int, b: Array | int) -> Array:
        """Elementwise ``a if cond else b`` (one of ``a``, ``b`` may be a Python int)."""
        raise NotImplementedError(f"{self.name}: where")

    def clip(self, x: Array, lo: int, hi: int) -> Array:
        """Elementwise ``min(max(x, lo), hi)`` with Python-int bounds."""
        raise NotImplementedError(f"{self.name}: clip")

    def max(self, x: Array, axes: tuple[int, ...] | None, keepdims: bool) -> Array:
        """Maximum over ``axes`` (``None``: all; a 0-d array then)."""
        raise NotImplementedError(f"{self.name}: max")

    def min(self, x: Array, axes: tuple[int, ...] | None, keepdims: bool) -> Array:
        """Minimum over ``axes`` (``None``: all; a 0-d array then).

        >>> import numpy as np
        >>> from unireduce._registry import backend_of
        >>> backend_of(np.zeros(1)).min(np.array([[3.0, -2.0], [1.0, 5.0]]), (1,), False).tolist()
        [-2.0, 1.0]
        """
        return -self.max(-x, axes, keepdims)

    def fused_reductions(self) -> bool:
        """Whether :meth:`sums` reads its operands in one pass (one variadic reduction) where it
        is called now; the exact engine then builds every operand from one read of the data."""
        return False

    def sums(self, xs: list[Array], axes: tuple[int, ...], dtype: NativeDType) -> list[Array]:
        """The sums over ``axes`` of the same-shaped arrays ``xs``, each in ``dtype`` (which ``xs``
        already have), in one reduction where :meth:`fused_reductions` holds.

        >>> import numpy as np
        >>> from unireduce._registry import backend_of
        >>> be = backend_of(np.zeros(1))
        >>> [v.tolist() for v in be.sums([np.ones((2, 3)), np.eye(2, 3)], (1,), np.float64)]
        [[3.0, 3.0], [1.0, 1.0]]
        """
        return [self.sum(x, axes, False, dtype) for x in xs]

    def max_min(self, x: Array, axes: tuple[int, ...], keepdims: bool) -> tuple[Array, Array]:
        """Maximum and minimum over ``axes`` (one reduction where the adapter can).

        >>> import numpy as np
        >>> from unireduce._registry import backend_of
        >>> hi, lo = backend_of(np.zeros(1)).max_min(np.array([[3.0, -2.0]]), (1,), False)
        >>> hi.tolist(), lo.tolist()
        ([3.0], [-2.0])
        """
        return self.max(x, axes, keepdims), self.min(x, axes, keepdims)

    def concat(self, xs: list[Array], axis: int) -> Array:
        """Arrays joined along ``axis`` (negative allowed)."""
        raise NotImplementedError(f"{self.name}: concat")

    def take(self, x: Array, idx: Array, axis: int) -> Array:
        """The slices of ``x`` at the integer indices ``idx`` (1-D, in range) along ``axis``."""
        raise NotImplementedError(f"{self.name}: take")

    def permute_dims(self, x: Array, perm: tuple[int, ...]) -> Array:
        """``x`` with its axes permuted."""
        raise NotImplementedError(f"{self.name}: permute_dims")

    def real(self, x: Array) -> Array:
        """Real component of a complex array."""
        raise NotImplementedError(f"{self.name}: real")

    def imag(self, x: Array) -> Array:
        """Imaginary component of a complex array."""
        raise NotImplementedError(f"{self.name}: imag")

    def make_complex(self, re: Array, im: Array) -> Array:
        """The complex array with components ``re`` and ``im`` (no arithmetic on them)."""
        raise NotImplementedError(f"{self.name}: make_complex")

    def cond(
        self, pred: Array, true_fn: Callable[[], Array], false_fn: Callable[[], Array]
    ) -> Array:
        """``true_fn()`` if the 0-d boolean ``pred`` holds, else ``false_fn()`` (nullary branches).

        A concrete ``pred`` runs one branch (a Python ``if``; one host sync); a traced one runs
        both and selects with :meth:`where`, which is always correct. Adapters whose compiler
        has a conditional (``jax.lax.cond``, ``tf.cond``, ``torch.cond``) override this so a
        traced call runs one branch too. Callers put the cheap branch first (in exact mode the
        result ``pred`` is computed from, or a patch of a few rows): a lazy adapter with no
        conditional (dask) may compute ``true_fn()`` always and ``false_fn()`` only when
        needed.

        >>> import numpy as np
        >>> from unireduce._registry import backend_of
        >>> be = backend_of(np.zeros(1))
        >>> be.cond(np.asarray(True), lambda: np.ones(2), lambda: 1 // 0).tolist()
        [1.0, 1.0]
        """
        if not self.is_traced(pred):
            return true_fn() if bool(self.to_python(pred)) else false_fn()
        return self.where(pred, true_fn(), false_fn())

    def scan(
        self, body: ScanBody, init: Any, xs: tuple[Any, ...], n: int, reverse: bool = False
    ) -> tuple[Any, tuple[Any, ...]]:
        """``carry, ys[j] = body(carry, j, (x[j] for x in xs))`` for ``j`` in ``range(n)``
        (downwards if ``reverse``), from ``carry = init``: the last carry and ``body``'s outputs,
        each indexable by ``j``. Every ``x`` in ``xs`` is a list of ``n`` arrays or such an
        output. Traced loops of at least ``SCAN_ROLL_MIN`` steps go to :meth:`rolled_scan`
        (``body`` traced once, ``j`` a 0-d integer array, outputs stacked arrays) where the
        adapter has one; otherwise a Python loop unrolls (``j`` an int, outputs lists).

        >>> import numpy as np
        >>> from unireduce._registry import backend_of
        >>> be = backend_of(np.zeros(1))
        >>> carry, (ys,) = be.scan(lambda c, j, x: (c + x[0], (c * j,)), 0, ([1, 2, 3],), 3)
        >>> carry, ys
        (6, [0, 1, 6])
        """
        if n >= SCAN_ROLL_MIN and any(self.is_traced(v) for v in _leaves((init, xs))):
            rolled = self.rolled_scan(body, init, xs, n, reverse)
            if rolled is not None:
                return rolled
        out: list[tuple[Array, ...]] = [()] * n
        for j in range(n - 1, -1, -1) if reverse else range(n):
            init, out[j] = body(init, j, tuple(x[j] for x in xs))
        width = len(out[0]) if n else 0
        return init, tuple([y[i] for y in out] for i in range(width))

    def rolled_scan(
        self, body: ScanBody, init: Any, xs: tuple[Any, ...], n: int, reverse: bool
    ) -> tuple[Any, tuple[Any, ...]] | None:
        """:meth:`scan` as one loop of the compiler tracing ``body`` (``lax.scan``,
        ``tf.while_loop``), or ``None`` where there is none (the default)."""
        return None

    def barrier(self, x: Array, *after: Array) -> Array:
        """``x``, unchanged, as a point a compiler must not optimize across: ops on the result
        are not merged with ops on ``x``'s producers, and they run after ``after`` exist. The
        default (no compiler) is the identity.

        >>> import numpy as np
        >>> from unireduce._registry import backend_of
        >>> backend_of(np.zeros(1)).barrier(np.ones(2)).tolist()
        [1.0, 1.0]
        """
        return x

    def stop_gradient(self, x: Array) -> Array:
        """``x``, a constant to the framework's autodiff (no gradient flows through it, and it
        holds no autodiff graph). The default (no autodiff) is ``x``.

        >>> import numpy as np
        >>> from unireduce._registry import backend_of
        >>> backend_of(np.zeros(1)).stop_gradient(np.ones(2)).tolist()
        [1.0, 1.0]
        """
        return x

    def with_grad_of(
        self, exact: Callable[[Array], Array], native: Callable[[Array], Array], x: Array
    ) -> Array:
        """``exact(x)``, differentiated as the linear map ``native`` (the framework's own sum or
        cumsum of which ``exact`` is the correctly rounded value). The default (no autodiff)
        is ``exact(x)``.

        >>> import numpy as np
        >>> from unireduce._registry import backend_of
        >>> backend_of(np.zeros(1)).with_grad_of(np.cumsum, np.cumsum, np.ones(3)).tolist()
        [1.0, 2.0, 3.0]
        """
        return exact(x)

    def guard(self, y: Array, bad: Array, err: Exception) -> Array:
        """``y``, made to raise ``err`` when it is evaluated if the 0-d boolean ``bad`` holds.

        Used where ``bad`` is not concrete (traced or lazy). The default cannot check and
        returns ``y``; adapters override it with their compiler's run-time check: dask raises
        ``err`` on compute, torch (``torch.compile``, fake tensors) raises ``err`` from an op,
        JAX (``jit``) raises ``JaxRuntimeError`` and TF (``tf.function``) ``InvalidArgumentError``
        carrying ``err``'s message, and TF under XLA (``jit_compile=True``) cannot check at all.

        >>> import numpy as np
        >>> from unireduce._registry import backend_of
        >>> backend_of(np.zeros(1)).guard(np.ones(1), np.asarray(True), ValueError()).tolist()
        [1.0]
        """
        return y


def _backend_named(cls: type[Backend], name: str) -> Backend:
    """The adapter registered as ``name`` if it is a ``cls``, else a new ``cls`` (unpickling)."""
    from ._errors import BackendError
    from ._registry import get_backend

    try:
        inst = get_backend(name)
    except BackendError:  # not registered in this process (an adapter registered at run time)
        return cls()
    return inst if type(inst) is cls else cls()
