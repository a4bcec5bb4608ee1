"""``ur.Sum``: a streaming, weighted, mergeable and distributed sum metric, any backend (issue 6).

Keras's ``Sum`` semantics (``update_state``, ``result``, ``reset_state``, ``sample_weight`` matched
to the values as Keras 3 does it) with what Keras lacks: a lossless accumulator
(``precision="exact"``, built on the exact-mode engine, :mod:`unireduce._exact._state`), a NaN
policy, ``merge_state``, serialisation, a pure functional form for ``jax.jit`` and
``tf.function``, and ``sync`` across ``torch.distributed``, JAX device axes and Dask workers
(:mod:`unireduce._metric_dist`).

The state is one array of the metric's backend, on its device: in exact mode the integer limbs of
the exact weighted total on a fixed binary grid plus three flags (NaN, +inf, -inf); in native mode
the running total in the result dtype. Backend and device are fixed by ``backend=`` or the first
update.

>>> import numpy as np, unireduce as ur
>>> m = ur.Sum()
>>> m.update_state(np.array([1.0, 3.0, 5.0, 7.0]))
>>> m.result()
array(16., dtype=float32)
>>> m.update_state(np.array([1, 3, 5, 7]), sample_weight=np.array([1, 1, 0, 0]))
>>> float(m.result())
20.0
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._backend import Backend
from ._dtypes import INTEGER, KIND, REAL_FLOAT
from ._errors import (
    BackendError,
    DTypeError,
    IntegerOverflowError,
    UnireduceError,
    UnireduceTypeError,
    UnireduceValueError,
)
from ._exact import _state as xs
from ._registry import _ordered_classes, backend_of, get_backend
from ._resolve import PRECISIONS as _PRECISION_MEANINGS

__all__ = ["Sum", "SumSpec", "SumState"]

Array = Any

NAN_STRATEGIES = ("propagate", "ignore", "error")
PRECISIONS = tuple(_PRECISION_MEANINGS)
RESULT_DTYPES = REAL_FLOAT + INTEGER
_FORMAT = "unireduce.Sum"
_VERSION = 1


# ---------------------------------------------------------------------------------- state
@dataclass(frozen=True)
class SumSpec:
    """What a state means (static: part of a jit trace, never an array)."""

    dtype: str
    precision: str
    nan_strategy: str
    backend: str
    grid: xs.Grid | None  # exact mode: the accumulator's layout


class SumState:
    """The functional form's state: ``acc`` (one array of the backend) and its static ``spec``.

    A JAX pytree (registered on first use with JAX) and a TensorFlow nest structure, so it passes
    through ``jax.jit`` and ``tf.function`` as an argument and a result.
    """

    __slots__ = ("acc", "spec")

    def __init__(self, acc: Array, spec: SumSpec) -> None:
        self.acc = acc
        self.spec = spec

    # TensorFlow's custom nest protocol (tf.nest / tf.function, TF >= 2.13).
    def __tf_flatten__(self) -> tuple[SumSpec, tuple[Array]]:
        return self.spec, (self.acc,)

    @classmethod
    def __tf_unflatten__(cls, spec: SumSpec, components: tuple[Array, ...]) -> SumState:
        return cls(components[0], spec)

    def __reduce__(self) -> tuple[Any, ...]:
        return (SumState, (self.acc, self.spec))

    def __repr__(self) -> str:
        s = self.spec
        return f"SumState(dtype={s.dtype!r}, precision={s.precision!r}, backend={s.backend!r})"


_jax_registered = False


def _register_jax() -> None:
    global _jax_registered
    if _jax_registered:
        return
    import jax

    jax.tree_util.register_pytree_node(
        SumState, lambda s: ((s.acc,), s.spec), lambda spec, ch: SumState(ch[0], spec)
    )
    _jax_registered = True


def _touch(spec: SumSpec) -> None:
    if spec.backend == "jax" and not _jax_registered:
        _register_jax()


# ---------------------------------------------------------------------------------- arguments
def _choice(fn: str, name: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise UnireduceValueError(
            f"{fn}: {name}={value!r} is not allowed; use one of {', '.join(map(repr, allowed))}"
        )
    return value


def _dtype_name(fn: str, dtype: object) -> str:
    """The canonical result dtype of ``dtype`` (None: float32, as Keras's floatx)."""
    if dtype is None:
        return "float32"
    name: str | None = dtype if isinstance(dtype, str) else None
    if name is None:
        for bname, cls in _ordered_classes():
            if all(m in sys.modules for m in cls.modules):
                try:
                    name = get_backend(bname).dtype_name(dtype)
                except Exception:  # a broken third-party adapter: try the next one
                    name = None
                if name is not None:
                    break
    if name not in RESULT_DTYPES:
        raise DTypeError(
            f"{fn}: dtype={dtype!r} is not a result dtype of Sum; use a real float "
            f"({', '.join(REAL_FLOAT)}) or an integer dtype ({', '.join(INTEGER)})"
        )
    return name


def _make_spec(fn: str, dtype: str, precision: str, nan_strategy: str, be: Backend) -> SumSpec:
    if dtype not in be.supported_dtypes():
        hint = " (turn jax_enable_x64 on)" if be.name == "jax" else ""
        raise DTypeError(f"{fn}: backend {be.name!r} cannot hold dtype {dtype!r}{hint}")
    grid = xs.grid_for(dtype, be.supported_dtypes()) if precision == "exact" else None
    return SumSpec(dtype, precision, nan_strategy, be.name, grid)


def _acc_dtype(spec: SumSpec) -> str:
    return spec.grid.lanes.name if spec.grid is not None else spec.dtype


def _acc_size(spec: SumSpec) -> int:
    return spec.grid.size if spec.grid is not None else 1


def _new_array(be: Backend, values: list[Any], dtype: str, like: Array | None) -> Array:
    """A 1-D array of ``values`` (Python numbers) on ``like``'s device (default device if None)."""
    native = be.native_dtype(dtype)
    if like is not None and not be.is_traced(like):
        import numpy as np

        if be.name == "numpy":
            return np.asarray(values, dtype=native)
        if be.name == "torch":
            return be.torch.tensor(values, dtype=native, device=like.device)  # type: ignore[attr-defined]
        if be.name == "tensorflow":
            tf = be.tf  # type: ignore[attr-defined]
            with tf.device(like.device):
                return tf.constant(values, dtype=native)
        if be.name == "jax":
            jax = be.jax  # type: ignore[attr-defined]
            return jax.device_put(be.jnp.asarray(values, dtype=native), be.device(like))  # type: ignore[attr-defined]
    ns = _namespace(be)
    if be.name == "tensorflow":
        return ns.constant(values, dtype=native)
    if be.name == "torch":
        return ns.tensor(values, dtype=native)
    return ns.asarray(values, dtype=native)


def _namespace(be: Backend) -> Any:
    # The adapters keep their framework module; the adapter interface has no array constructor
    # (it only transforms arrays it is given), and a state made before any data needs one.
    if be.name == "numpy":
        return be.np  # type: ignore[attr-defined]
    for attr in ("torch", "tf", "jnp", "xp"):
        ns = getattr(be, attr, None)
        if ns is not None:
            return ns
    raise BackendError(f"Sum: backend {be.name!r} offers no way to create an array")


def _zeros(
    spec: SumSpec, be: Backend, like: Array | None = None, data: Array | None = None
) -> Array:
    """A zero state: from ``data``'s array ops when given (works traced), else constructed."""
    if data is not None:
        if spec.grid is not None:
            return xs.zeros_like(be, spec.grid, data)
        flat = be.astype(be.reshape(data, (-1,))[:0], be.native_dtype(spec.dtype))
        return be.pad_zero_front(flat, 0)
    return _new_array(be, [0] * _acc_size(spec), _acc_dtype(spec), like)


def _host_numbers(be: Backend, a: Array) -> list[Any]:
    """The elements of a concrete 1-D array as Python numbers (a device-to-host copy)."""
    view = be.host_view(a)
    if view is not None:
        return [v.item() if hasattr(v, "item") else v for v in view.reshape(-1)]
    return [be.to_python(a[i]) for i in range(int(a.shape[0]))]


# ---------------------------------------------------------------------------------- inputs
def _refuse_escaping(fn: str, eager: bool, *arrays: object) -> None:
    """Refuse traced arrays that would escape their trace (:meth:`Backend.escaping_trace`:
    ``jax.jit``, ``tf.function``, ``torch.func`` transforms) into a metric whose state was
    computed eagerly (``eager``): stored on the object, the traced state would outlive its trace
    (JAX: ``UnexpectedTracerError`` at the next use of the metric; TF: a graph tensor "out of
    scope"; torch: "your tensor may have escaped from inside a function being vmapped"), and the
    metric would be broken from then on. A metric first updated inside the traced function lives
    and dies with the trace and may be updated there."""
    if not eager:
        return
    for v in arrays:
        where = _escaping(v)
        if where is not None:
            raise UnireduceTypeError(
                f"{fn}: got a {backend_of(v).name} array traced by {where}, but this Sum holds "
                "a state computed outside it, where a traced state cannot be kept; there use "
                "the functional form: state = ur.Sum.update(state, values, sample_weight)"
            )


def _escaping(v: object) -> str | None:
    """What traced ``v`` if it would escape that trace stored on a Python object, else ``None``."""
    if v is None or _is_python_data(v):
        return None
    try:
        be = backend_of(v)
    except UnireduceError:
        return None  # not an array: the update's own checks name it
    return be.escaping_trace(v)


def _is_python_data(x: object) -> bool:
    return isinstance(x, (bool, int, float, list, tuple))


def _from_python(fn: str, what: str, x: object, be: Backend, like: Array | None) -> Array:
    """Python numbers and (nested) lists as an array of ``be`` on ``like``'s device."""
    import numpy as np

    try:
        a = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise UnireduceTypeError(f"{fn}: {what} {x!r} is not numeric data ({exc})") from None
    if a.dtype.kind not in "biuf":
        raise DTypeError(f"{fn}: {what} {x!r} is not numeric (NumPy reads it as {a.dtype})")
    supported = be.supported_dtypes()
    if a.dtype.kind in "iu" and a.dtype.name not in supported:
        if a.size and (a.min() < -(2**31) or a.max() >= 2**31):
            raise DTypeError(f"{fn}: {what} does not fit int32, the widest integer of {be.name}")
        a = a.astype(np.int32)
    if a.dtype.kind == "f" and a.dtype.name not in supported:
        a = a.astype(np.float32)  # JAX without x64: Python floats are float32 there
    if be.name == "numpy":
        return a
    return be.reshape(_new_array(be, a.reshape(-1).tolist(), a.dtype.name, like), a.shape)


def _as_input(fn: str, what: str, x: object, be: Backend, like: Array | None) -> tuple[Array, str]:
    if _is_python_data(x):
        arr = _from_python(fn, what, x, be, like)
    else:
        if x is None or isinstance(x, (str, bytes, dict, set)):
            raise UnireduceTypeError(
                f"{fn}: {what} must be an array or numbers, not {type(x).__name__}"
            )
        xb = backend_of(x)
        if xb is not be and xb.name != be.name:
            raise BackendError(
                f"{fn}: {what} is a {xb.name} array but this Sum lives on {be.name}; "
                f"convert it, or use one Sum per backend"
            )
        arr = x
        if be.name == "numpy":
            import numpy as np

            arr = np.asarray(x)  # NumPy scalars become 0-d arrays
        if like is not None and not be.is_traced(arr) and not be.is_traced(like):
            dev, want = be.device(arr), be.device(like)
            if dev is not None and want is not None and dev != want:
                raise BackendError(
                    f"{fn}: {what} is on device {dev} but this Sum's state is on {want}; "
                    "move the data there (a Sum never copies between devices)"
                )
    name = be.dtype_name(arr.dtype)
    if name is None or KIND.get(name) not in ("b", "i", "u", "f"):
        raise DTypeError(
            f"{fn}: {what} of dtype {arr.dtype} is not numeric data Sum can add; "
            "use bool, integer or real floating values"
        )
    return arr, name


def _shape(fn: str, what: str, be: Backend, x: Array) -> tuple[int | None, ...]:
    if be.ndim(x) is None:
        raise UnireduceValueError(f"{fn}: the rank of {what} is unknown while tracing")
    return tuple(None if d is None else int(d) for d in x.shape)


def match_shapes(
    fn: str, vs: tuple[int | None, ...], ws: tuple[int | None, ...]
) -> tuple[tuple[int | None, ...], tuple[int | None, ...]]:
    """Keras 3's matching of ``sample_weight`` to values: ``(values shape, weights shape)``.

    A trailing size-1 axis that makes the ranks differ by one is squeezed, or one is added
    (``squeeze_or_expand_to_same_rank``); a lower-rank weight then covers the leading axes of the
    values and must broadcast to them. Raises :class:`UnireduceValueError` otherwise.

    >>> match_shapes("f", (4,), (4, 1))
    ((4, 1), (4, 1))
    >>> match_shapes("f", (2, 2), (2,))
    ((2, 2), (2, 1))
    """
    rv, rw = len(vs), len(ws)
    nv, nw = vs, ws
    if rv == rw + 1 and vs[-1] == 1:
        if rw == 1:
            nw = (*ws, 1)
        else:
            nv = vs[:-1]
    elif rw == rv + 1 and ws[-1] == 1:
        if rv == 1:
            nv = (*vs, 1)
        else:
            nw = ws[:-1]
    bad = len(nw) > len(nv) or any(
        w is not None and v is not None and w not in (1, v) for w, v in zip(nw, nv, strict=False)
    )
    if bad:
        raise UnireduceValueError(
            f"{fn}: sample_weight of shape {ws} does not match values of shape {vs}: after "
            "Keras's squeeze/expand of a trailing size-1 axis, each weight axis must equal the "
            "values' axis or be 1 (a lower-rank weight covers the leading axes)"
        )
    return nv, (*nw, *(1,) * (len(nv) - len(nw)))


def _reshape(
    fn: str, be: Backend, x: Array, old: tuple[int | None, ...], new: tuple[int | None, ...]
) -> Array:
    if old == new:
        return x
    if sum(d is None for d in new) > 1:
        raise UnireduceValueError(
            f"{fn}: matching sample_weight to values needs static shapes, got {old} -> {new}"
        )
    return be.reshape(x, tuple(-1 if d is None else d for d in new))


def _check_kind(fn: str, spec: SumSpec, xn: str) -> None:
    if KIND[spec.dtype] in "iu" and KIND[xn] == "f":
        raise DTypeError(
            f"{fn}: {xn} data cannot be added exactly into an integer Sum "
            f"(dtype={spec.dtype!r}); cast it to an integer dtype first (Keras truncates it "
            "silently), or use a float Sum"
        )


def _prepare(spec: SumSpec, be: Backend, x: Array, xn: str) -> tuple[Array, str]:
    out = spec.dtype
    if KIND[out] != "f" or KIND[xn] != "f":
        return x, xn
    if spec.precision == "native" or not xs.float_fits(xn, out):
        # Keras casts every value and weight to the metric's dtype first; exact mode only needs
        # to for floats the result dtype cannot hold (the cast is exact for the others), and
        # rounds them once (the frameworks' casts may round twice or flush subnormals).
        if spec.precision != "native":
            from ._exact._cast import exact_cast

            return exact_cast(be, x, xn, out), out
        if be.name == "numpy":
            import numpy as np

            with np.errstate(over="ignore"):  # overflow to inf is the cast's meaning here
                return be.astype(x, be.native_dtype(out)), out
        return be.astype(x, be.native_dtype(out)), out
    return x, xn


# ---------------------------------------------------------------------------------- functional
def _init(
    dtype: object = None,
    *,
    nan_strategy: str = "propagate",
    precision: str = "exact",
    backend: str | Backend = "numpy",
    like: Array | None = None,
) -> SumState:
    """A fresh state (``Sum.init``); ``like``: an array whose backend and device to use.

    >>> import unireduce as ur, numpy as np
    >>> s = ur.Sum.init()
    >>> s = ur.Sum.update(s, np.array([1.0, 3.0, 5.0, 7.0]), np.array([1, 1, 0, 0]))
    >>> float(ur.Sum.result(s))
    4.0
    """
    fn = "Sum.init"
    name = _dtype_name(fn, dtype)
    _choice(fn, "precision", precision, PRECISIONS)
    _choice(fn, "nan_strategy", nan_strategy, NAN_STRATEGIES)
    be = backend_of(like) if like is not None else _resolve_backend(fn, backend)
    spec = _make_spec(fn, name, precision, nan_strategy, be)
    _touch(spec)
    if like is not None:
        return SumState(_zeros(spec, be, data=like), spec)
    return SumState(_zeros(spec, be), spec)


def _resolve_backend(fn: str, backend: object) -> Backend:
    if isinstance(backend, Backend):
        return backend
    if not isinstance(backend, str):
        raise UnireduceTypeError(f"{fn}: backend={backend!r} must be a backend name or None")
    if backend == "dask":
        # Dask data is summed on the workers into a NumPy state (docs/metric.md), so a metric
        # made for dask keeps its state, and returns its result, in NumPy.
        return get_backend("numpy")
    return get_backend(backend)


def _check_state(fn: str, state: object) -> SumState:
    if not isinstance(state, SumState):
        raise UnireduceTypeError(f"{fn}: expected a SumState (from Sum.init), got {state!r}")
    return state


def _update(
    state: SumState, values: object, weights: object = None, *, fn: str = "Sum.update"
) -> SumState:
    """The state after adding ``values`` weighted by ``weights`` (``Sum.update``); pure."""
    state = _check_state(fn, state)
    spec = state.spec
    _touch(spec)
    be = get_backend(spec.backend)
    x, xn = _as_input(fn, "values", values, be, state.acc)
    w: Array | None = None
    wn: str | None = None
    if weights is not None:
        w, wn = _as_input(fn, "sample_weight", weights, be, state.acc)
        vs, ws = _shape(fn, "values", be, x), _shape(fn, "sample_weight", be, w)
        nv, nw = match_shapes(fn, vs, ws)
        x, w = _reshape(fn, be, x, vs, nv), _reshape(fn, be, w, ws, nw)
    _check_kind(fn, spec, xn)
    if wn is not None:
        _check_kind(fn, spec, wn)
    strategy = spec.nan_strategy
    if strategy == "error" and (be.is_traced(x) or be.is_traced(state.acc)):
        raise UnireduceValueError(
            f"{fn}: nan_strategy='error' must read the data on the host, which traced code "
            "(jax.jit, tf.function, torch.compile) cannot; use 'propagate' or 'ignore' there"
        )
    traced = be.is_traced(x) or be.is_traced(state.acc) or (w is not None and be.is_traced(w))
    if be.name == "jax" and not traced:
        # JAX dispatches eager ops one by one (~20 ms an update); compiled, one call (~1 ms).
        # Flattened and zero-padded to a power of two (zeros add nothing), a few shapes cover
        # every batch size, so the compiled update is rarely rebuilt.
        x, w = _jax_bucket(be, x, w)
        acc, nan = _jax_core(spec, xn, wn)(state.acc, x, w)
    else:
        acc, nan = _core(be, spec, state.acc, x, xn, w, wn, True)
    if strategy == "error":
        _raise_on_nan(fn, be, nan)
    return SumState(acc, spec)


def _core(
    be: Backend,
    spec: SumSpec,
    acc: Array,
    x: Array,
    xn: str,
    w: Array | None,
    wn: str | None,
    narrow: bool,
) -> tuple[Array, Array]:
    """``(new acc, NaN flag)``: the update proper, on validated and matched inputs."""
    strategy = spec.nan_strategy
    x, xn = _prepare(spec, be, x, xn)
    if w is not None:
        assert wn is not None
        w, wn = _prepare(spec, be, w, wn)
    if spec.grid is not None:
        delta, nan_any = xs.accumulate(
            be, spec.grid, x, xn, w, wn, ignore_nan=strategy == "ignore", narrow=narrow
        )
        return xs.add(be, spec.grid, acc, delta), nan_any[0]
    native = be.native_dtype(spec.dtype)
    i32 = be.native_dtype("int32")
    prod = be.astype(x, native)
    if w is not None:
        prod = prod * be.astype(w, native)
    isnan = prod != prod
    if KIND[spec.dtype] == "f" and strategy == "ignore":
        prod = be.where(isnan, 0, prod)
    nan = be.sum(be.astype(isnan, i32), None, False, i32)
    total = be.sum(prod, None, True, native)
    return acc + be.reshape(total, (1,)), nan


def _jax_bucket(be: Backend, x: Array, w: Array | None) -> tuple[Array, Array | None]:
    jnp = be.jnp  # type: ignore[attr-defined]
    shape = tuple(int(d) for d in x.shape)
    if w is not None and tuple(w.shape) != shape:
        w = jnp.broadcast_to(w, shape)
    n = 1
    for d in shape:
        n *= d
    size = 1 << max(n - 1, 0).bit_length()
    if size == n and len(shape) == 1:
        return x, w
    pad = ((0, size - n),)
    x = jnp.pad(jnp.ravel(x), pad)
    return x, None if w is None else jnp.pad(jnp.ravel(w), pad)


_JAX_CORES: dict[tuple[SumSpec, str, str | None], Callable[..., Any]] = {}


def _jax_core(spec: SumSpec, xn: str, wn: str | None) -> Callable[..., Any]:
    key = (spec, xn, wn)
    f = _JAX_CORES.get(key)
    if f is None:
        import jax

        be = get_backend("jax")

        def core(acc: Array, x: Array, w: Array | None) -> tuple[Array, Array]:
            return _core(be, spec, acc, x, xn, w, wn, False)

        f = _JAX_CORES[key] = jax.jit(core)
    return f


def _raise_on_nan(fn: str, be: Backend, flag: Array) -> None:
    if bool(be.to_python(flag)):
        raise UnireduceValueError(
            f"{fn}: NaN in the weighted values (a NaN value or weight, or an infinity times "
            "zero) with nan_strategy='error'; the state is unchanged"
        )


def _compatible(fn: str, a: SumSpec, b: SumSpec) -> None:
    if (a.dtype, a.precision) != (b.dtype, b.precision):
        raise UnireduceValueError(
            f"{fn}: cannot merge a Sum(dtype={b.dtype!r}, precision={b.precision!r}) into a "
            f"Sum(dtype={a.dtype!r}, precision={a.precision!r})"
        )
    if a.backend != b.backend or a.grid != b.grid:
        raise BackendError(
            f"{fn}: cannot merge a {b.backend} Sum into a {a.backend} Sum"
            + (" (JAX's x64 flag changed in between)" if a.backend == b.backend else "")
        )


def _merge(a: SumState, b: SumState, *, fn: str = "Sum.merge") -> SumState:
    """The state of both streams together (``Sum.merge``); exact mode: exactly associative."""
    a, b = _check_state(fn, a), _check_state(fn, b)
    _compatible(fn, a.spec, b.spec)
    _touch(a.spec)
    be = get_backend(a.spec.backend)
    if not be.is_traced(a.acc) and not be.is_traced(b.acc):
        da, db = be.device(a.acc), be.device(b.acc)
        if da is not None and db is not None and da != db:
            raise BackendError(f"{fn}: states on devices {da} and {db}; move one first")
    if a.spec.grid is not None:
        return SumState(xs.add(be, a.spec.grid, a.acc, b.acc), a.spec)
    return SumState(a.acc + b.acc, a.spec)


def _result(state: SumState, *, fn: str = "Sum.result") -> Array:
    """The total as a 0-d array of the result dtype (``Sum.result``).

    Exact mode: the exact weighted total rounded half to even (float), or checked (integer:
    :class:`IntegerOverflowError` when it does not fit; inside traced code the check is attached
    with :meth:`Backend.guard`, which raises when the compiled code runs, except under TF's XLA).
    """
    state = _check_state(fn, state)
    spec = state.spec
    _touch(spec)
    be = get_backend(spec.backend)
    if spec.grid is None:
        return be.reshape(state.acc, ())
    if be.name == "jax" and not be.is_traced(state.acc):
        value, fits = _jax_read(spec)(state.acc)  # one compiled call instead of ~60 eager ops
    else:
        value, fits = _read(be, spec, state.acc)
    if fits is None:
        return value
    err = IntegerOverflowError(
        f"{fn}: the exact total does not fit the result dtype {spec.dtype}; use a wider "
        "dtype (Sum(dtype='int64') or 'float64')"
    )
    if be.is_traced(fits):
        return be.guard(value, ~fits, err)
    if not bool(be.to_python(fits)):
        raise err
    return value


def _read(be: Backend, spec: SumSpec, acc: Array) -> tuple[Array, Array | None]:
    assert spec.grid is not None
    if KIND[spec.dtype] == "f":
        return xs.round_float(be, spec.grid, acc, spec.dtype), None
    return xs.round_int(be, spec.grid, acc, spec.dtype)


_JAX_READS: dict[SumSpec, Callable[..., Any]] = {}


def _jax_read(spec: SumSpec) -> Callable[..., Any]:
    f = _JAX_READS.get(spec)
    if f is None:
        import jax

        be = get_backend("jax")
        f = _JAX_READS[spec] = jax.jit(lambda acc: _read(be, spec, acc))
    return f


def _sync(
    state: SumState, *, axis_name: Any = None, group: Any = None, fn: str = "Sum.sync"
) -> SumState:
    """The state summed over a JAX device axis (``axis_name``) or a torch.distributed group."""
    from . import _metric_dist

    state = _check_state(fn, state)
    spec = state.spec
    be = get_backend(spec.backend)
    if axis_name is not None:
        if spec.backend != "jax":
            raise BackendError(
                f"{fn}: axis_name= sums over JAX devices; this Sum is {spec.backend}"
            )
        acc = _metric_dist.psum(state.acc, axis_name)
    else:
        acc = _metric_dist.all_reduce(fn, be, state.acc, group)
    if spec.grid is not None:
        acc = xs.settle(be, spec.grid, acc)
    return SumState(acc, spec)


# ---------------------------------------------------------------------------------- object form
class _Dual:
    """``Sum.result(state)`` is the functional form; ``m.result()`` the metric's method."""

    def __init__(self, functional: Callable[..., Any], method: Callable[..., Any]) -> None:
        self.functional = functional
        self.method = method
        self.__doc__ = method.__doc__

    def __get__(self, obj: object, objtype: type | None = None) -> Callable[..., Any]:
        if obj is None:
            return self.functional
        bound: Callable[..., Any] = self.method.__get__(obj, objtype)
        return bound


def _compiling() -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and bool(torch.compiler.is_compiling())


class Sum:
    """The (weighted) sum of every value seen, as ``keras.metrics.Sum``, on any backend.

    ``dtype`` is the result dtype (default float32). ``nan_strategy``: ``"propagate"`` (a NaN
    product makes the result NaN, as Keras), ``"ignore"`` (drop every value whose product with its
    weight is NaN, together with that weight), ``"error"`` (raise; reads one flag on the host).
    ``precision="exact"`` (default) returns the correctly rounded exact weighted total; ``"native"``
    adds in the result dtype with the backend's own sum. ``backend`` fixes the backend; otherwise
    the first update does, together with the device.

    >>> import numpy as np, unireduce as ur
    >>> m = ur.Sum()
    >>> float(m(np.array([1, 3, 5, 7]), sample_weight=np.array([1, 1, 0, 0])))
    4.0
    >>> m.reset_state(); float(m.result())
    0.0
    """

    def __init__(
        self,
        name: str = "sum",
        dtype: object = None,
        *,
        nan_strategy: str = "propagate",
        precision: str = "exact",
        backend: str | None = None,
    ) -> None:
        fn = "Sum"
        if not isinstance(name, str):
            raise UnireduceTypeError(f"{fn}: name={name!r} must be a string")
        self.name = name
        self.dtype = _dtype_name(fn, dtype)
        self.nan_strategy = _choice(fn, "nan_strategy", nan_strategy, NAN_STRATEGIES)
        self.precision = _choice(fn, "precision", precision, PRECISIONS)
        self._backend: Backend | None = None
        if backend is not None:
            be = _resolve_backend(fn, backend)
            _make_spec(fn, self.dtype, self.precision, self.nan_strategy, be)  # validates
            self._backend = be
        self._state = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ helpers
    @property
    def _state(self) -> SumState | None:
        return self._st

    @_state.setter
    def _state(self, st: SumState | None) -> None:
        # The object form holds no autodiff graph, as torchmetrics (update under
        # torch.set_grad_enabled(False)) and Keras (state in variables) do: a native-mode torch
        # state kept every update's graph alive, the whole model's activations included.
        if st is not None:
            st = SumState(get_backend(st.spec.backend).stop_gradient(st.acc), st.spec)
        # Whether the state was computed outside any trace (see _refuse_escaping): decided as it
        # is stored, in the context that computed it.
        self._st = st
        self._eager = st is not None and _escaping(st.acc) is None

    def _guard(self) -> Any:
        # torch.compile cannot trace a lock (graph break); compiled code runs on one thread.
        return contextlib.nullcontext() if _compiling() else self._lock

    def _spec(self, fn: str, be: Backend) -> SumSpec:
        return _make_spec(fn, self.dtype, self.precision, self.nan_strategy, be)

    def _fresh(self, fn: str, values: object) -> SumState:
        """The zero state for a first update with ``values`` (backend and device from them)."""
        if _is_python_data(values):
            be = self._backend or get_backend("numpy")
            spec = self._spec(fn, be)
            _touch(spec)
            return SumState(_zeros(spec, be), spec)
        if values is None or isinstance(values, (str, bytes, dict, set)):
            raise UnireduceTypeError(
                f"{fn}: values must be an array or numbers, not {type(values).__name__}"
            )
        be = backend_of(values)
        dn = be.dtype_name(getattr(values, "dtype", None))
        if dn is None or KIND[dn] not in "biuf":
            raise DTypeError(
                f"{fn}: values of dtype {getattr(values, 'dtype', None)} are not numeric data Sum "
                "can add; use bool, integer or real floating values"
            )
        if self._backend is not None and be.name != self._backend.name:
            raise BackendError(
                f"{fn}: values are a {be.name} array but this Sum was made with "
                f"backend={self._backend.name!r}"
            )
        spec = self._spec(fn, be)
        _touch(spec)
        return SumState(_zeros(spec, be, data=values), spec)

    @property
    def state(self) -> SumState | None:
        """The current state (``None`` before the first update), for the functional form."""
        return self._state

    @property
    def backend(self) -> str | None:
        """The backend the state lives on (``None`` until fixed)."""
        if self._state is not None:
            return self._state.spec.backend
        return None if self._backend is None else self._backend.name

    # ------------------------------------------------------------------ Keras API
    def update_state(self, values: object, sample_weight: object = None) -> None:
        """Add ``values`` (weighted by ``sample_weight``, matched as Keras 3 does).

        Atomic: bad input raises a unireduce error and leaves the state as it was.
        """
        fn = "Sum.update_state"
        from . import _metric_dist

        if _metric_dist.is_dask(values):
            part = _metric_dist.dask_state(fn, self, values, sample_weight)
            self._merge_in(fn, [part])
            return
        with self._guard():
            _refuse_escaping(fn, self._eager, values, sample_weight)
            state = self._state if self._state is not None else self._fresh(fn, values)
            self._state = _update(state, values, sample_weight, fn=fn)

    def _result_method(self) -> Array:
        """The sum so far, a 0-d array of the metric's backend and device (0 before any data)."""
        state = self._state
        if state is None:
            be = self._backend or get_backend("numpy")
            spec = self._spec("Sum.result", be)
            _touch(spec)
            state = SumState(_zeros(spec, be), spec)
        return _result(state, fn="Sum.result")

    result = _Dual(_result, _result_method)

    def reset_state(self) -> None:
        """Back to zero, on the same backend and device."""
        with self._guard():
            state = self._state
            if state is not None:
                be = get_backend(state.spec.backend)
                self._state = SumState(_zeros(state.spec, be, data=state.acc), state.spec)

    def reset_states(self) -> None:
        """Alias of :meth:`reset_state` (the TF 2.0 name)."""
        self.reset_state()

    def __call__(self, values: object, sample_weight: object = None) -> Array:
        """Update with ``values``, then return the result."""
        self.update_state(values, sample_weight)
        return self.result()

    def _update_method(self, values: object, sample_weight: object = None) -> None:
        self.update_state(values, sample_weight)

    update = _Dual(_update, _update_method)

    def merge_state(self, metrics: Iterable[Sum | SumState]) -> None:
        """Add the states of other ``Sum`` metrics (or ``SumState``\\ s) into this one.

        Exact mode: the result is the same, bit for bit, in any order and grouping.
        """
        fn = "Sum.merge_state"
        if isinstance(metrics, (Sum, SumState)):
            metrics = [metrics]
        parts: list[SumState] = []
        for other in metrics:
            if isinstance(other, Sum):
                if other is self:
                    raise UnireduceValueError(f"{fn}: a Sum cannot merge itself")
                if (other.dtype, other.precision) != (self.dtype, self.precision):
                    raise UnireduceValueError(
                        f"{fn}: cannot merge {other!r} into {self!r} (dtype and precision differ)"
                    )
                with other._guard():
                    st = other._state
                if st is not None:
                    parts.append(st)
            elif isinstance(other, SumState):
                parts.append(other)
            else:
                raise UnireduceTypeError(
                    f"{fn}: expected Sum metrics or SumStates, got {type(other).__name__}"
                )
        _refuse_escaping(fn, self._eager, *(part.acc for part in parts))
        self._merge_in(fn, parts)

    def _merge_in(self, fn: str, parts: list[SumState]) -> None:
        with self._guard():
            state = self._state
            for part in parts:
                if state is None:
                    if self._backend is not None and part.spec.backend != self._backend.name:
                        raise BackendError(
                            f"{fn}: a {part.spec.backend} state cannot join this "
                            f"backend={self._backend.name!r} Sum"
                        )
                    be = get_backend(part.spec.backend)
                    spec = self._spec(fn, be)
                    state = SumState(_zeros(spec, be, data=part.acc), spec)
                state = _merge(state, part, fn=fn)
            self._state = state

    def _merge_method(self, other: Sum | SumState) -> None:
        self.merge_state([other])

    merge = _Dual(_merge, _merge_method)

    def _sync_method(self, group: Any = None, *, axis_name: Any = None) -> Sum:
        """All-reduce the state: over ``torch.distributed`` (``group``) or a JAX ``axis_name``.

        Every participant then holds the global state (call it once, after the last update).
        """
        fn = "Sum.sync"
        with self._guard():
            state = self._state
            if state is None:
                be = self._backend
                if be is None:
                    raise UnireduceValueError(
                        f"{fn}: this Sum has seen no data and has no backend=; give backend= so "
                        "that every process contributes a state of the same layout"
                    )
                spec = self._spec(fn, be)
                state = SumState(_zeros(spec, be), spec)
            self._state = _sync(state, axis_name=axis_name, group=group, fn=fn)
        return self

    sync = _Dual(_sync, _sync_method)

    # ------------------------------------------------------------------ serialisation
    def state_dict(self) -> dict[str, Any]:
        """A backend-independent snapshot: the exact total as ``total * 2**exponent`` (ints)."""
        with self._guard():
            state = self._state
        d: dict[str, Any] = {
            "format": _FORMAT,
            "version": _VERSION,
            "dtype": self.dtype,
            "precision": self.precision,
            "backend": self.backend,
        }
        if state is None:
            d.update(total=0, exponent=0, nan=False, posinf=False, neginf=False)
            return d
        be = get_backend(state.spec.backend)
        nums = _host_numbers(be, state.acc)
        grid = state.spec.grid
        if grid is None:
            d.update(total=nums[0])
            return d
        total, exponent = xs.decode(grid, [int(v) for v in nums])
        if total:
            tz = (total & -total).bit_length() - 1  # the canonical form: an odd total
            total, exponent = total >> tz, exponent + tz
        flags = [bool(v) for v in nums[grid.n :]]
        d.update(total=total, exponent=exponent, nan=flags[0], posinf=flags[1], neginf=flags[2])
        return d

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s snapshot (onto this metric's backend and device)."""
        fn = "Sum.load_state_dict"
        d = state_dict
        if not isinstance(d, Mapping) or d.get("format") != _FORMAT:
            raise UnireduceValueError(f"{fn}: not a Sum state_dict: {d!r}")
        if (d.get("dtype"), d.get("precision")) != (self.dtype, self.precision):
            raise UnireduceValueError(
                f"{fn}: the state_dict is of a Sum(dtype={d.get('dtype')!r}, precision="
                f"{d.get('precision')!r}); this is Sum(dtype={self.dtype!r}, "
                f"precision={self.precision!r})"
            )
        with self._guard():
            like = None if self._state is None else self._state.acc
            be = self._backend
            if self._state is not None:
                be = get_backend(self._state.spec.backend)
            if be is None:
                name = d.get("backend")
                be = get_backend(name if isinstance(name, str) else "numpy")
            spec = self._spec(fn, be)
            try:
                if spec.grid is None:
                    values: list[Any] = [d["total"]]
                else:
                    limbs = xs.encode(spec.grid, int(d["total"]), int(d["exponent"]))
                    values = [*limbs, *(int(bool(d[k])) for k in ("nan", "posinf", "neginf"))]
            except (KeyError, TypeError, ValueError) as exc:
                raise UnireduceValueError(f"{fn}: malformed state_dict ({exc!r})") from None
            self._state = SumState(_new_array(be, values, _acc_dtype(spec), like), spec)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (Keras's ``get_config``)."""
        return {
            "name": self.name,
            "dtype": self.dtype,
            "nan_strategy": self.nan_strategy,
            "precision": self.precision,
            "backend": None if self._backend is None else self._backend.name,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sum:
        """A new metric from :meth:`get_config`'s dict.

        >>> import unireduce as ur
        >>> ur.Sum.from_config(ur.Sum(dtype="float64").get_config()).dtype
        'float64'
        """
        allowed = {"name", "dtype", "nan_strategy", "precision", "backend"}
        extra = set(config) - allowed
        if extra:
            raise UnireduceValueError(
                f"Sum.from_config: unknown keys {sorted(extra)}; allowed: {sorted(allowed)}"
            )
        return cls(**config)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "config": self.get_config(),
            "state": self._state,
        }

    def __setstate__(self, d: dict[str, Any]) -> None:
        self.__init__(**d["config"])  # type: ignore[misc]
        self._state = d["state"]

    def __repr__(self) -> str:
        return (
            f"Sum(name={self.name!r}, dtype={self.dtype!r}, nan_strategy={self.nan_strategy!r}, "
            f"precision={self.precision!r}, backend={self.backend!r})"
        )

    init = staticmethod(_init)


# AutoGraph converts nothing here (no tensor-dependent control flow); see _api.py.
for _f in (_init, _update, _merge, _result, _sync):
    setattr(_f, "autograph_info__", None)  # noqa: B010
del _f
