"""TensorFlow adapter: ``tf.math.reduce_sum`` / ``tf.math.cumsum`` after an explicit ``tf.cast``.

TF ops take no ``dtype=`` argument, so the input is cast to the working dtype first; that also
covers bool input, which TF cannot sum (the ``Sum`` kernel has no bool type). Eager tensors,
``tf.Variable`` and symbolic tensors inside ``tf.function`` are all handled with graph ops; nothing
leaves the device.

>>> import tensorflow as tf, unireduce as ur
>>> ur.sum(tf.constant([100, 100], dtype=tf.int8)).dtype.name
'int64'
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Any, ClassVar

from unireduce._backend import Backend, Capabilities, ProgramCache, ScanBody
from unireduce._dtypes import ALL_DTYPES as _NAMES
from unireduce._errors import UnireduceTypeError

__all__ = ["TensorFlowBackend"]


def _in_tpu_computation(tf: Any) -> bool:
    """Whether ops are being built inside a TPU computation (``TPUStrategy.run``,
    ``tpu.rewrite``: TF's TPUReplicateContext), whose tensors carry no device yet.

    >>> import tensorflow as tf
    >>> _in_tpu_computation(tf)
    False
    """
    if tf.executing_eagerly():
        return False
    try:
        from tensorflow.python.distribute.tpu_util import enclosing_tpu_context
    except ImportError:  # pragma: no cover - a private module; without it, devices alone
        return False
    return enclosing_tpu_context() is not None


class TensorFlowBackend(Backend):
    """Adapter for ``tf.Tensor`` (eager and symbolic) and ``tf.Variable``."""

    name: ClassVar[str] = "tensorflow"
    modules: ClassVar[tuple[str, ...]] = ("tensorflow",)
    # Measured (tensorflow 2.21 CPU): reduce_sum, cumsum and cast flush subnormal float32 and
    # float64 values to zero, eagerly and in tf.function (oneDNN/Eigen set FTZ and DAZ).
    capabilities: ClassVar[Capabilities] = Capabilities(
        devices=("cpu", "cuda"),
        flushes_subnormals=("cpu",),
        jit=("tf.function",),
        # XLA rewrites 64-bit types on TPUs and cannot rewrite bitcasts (jax-ml/jax#21108).
        no_float64=("tpu",),
    )

    def __init__(self) -> None:
        import tensorflow as tf

        self.tf = tf
        self._natives: dict[str, Any] = {n: getattr(tf, n) for n in _NAMES}
        self._names: dict[Any, str] = {v: k for k, v in self._natives.items()}
        self._supported = frozenset(self._natives)
        self._adders: dict[tuple[Any, int], Any] = {}  # reducers of sums, per dtype and count

    def is_array(self, x: object) -> bool:
        tf = self.tf
        return isinstance(x, (tf.Tensor, tf.Variable))

    def version(self) -> str:
        return str(self.tf.__version__)

    def dtype_name(self, native: object) -> str | None:
        try:
            return self._names.get(native)
        except TypeError:
            return None

    def native_dtype(self, name: str) -> Any:
        return self._natives[name]

    def supported_dtypes(self) -> frozenset[str]:
        return self._supported

    def device_kind_of(self, x: Any) -> str:
        return "tpu" if _in_tpu_computation(self.tf) else super().device_kind_of(x)

    def ndim(self, x: Any) -> int | None:
        rank = x.shape.rank
        return None if rank is None else int(rank)

    def device(self, x: Any) -> object:
        return x.device

    def devices(self) -> list[str]:
        return [d.name for d in self.tf.config.list_logical_devices()]

    def axis_values(self, axis: object) -> tuple[int, ...] | None:
        tf = self.tf
        if not isinstance(axis, (tf.Tensor, tf.Variable)):
            return None
        if not axis.dtype.is_integer or (axis.shape.rank is not None and axis.shape.rank > 1):
            return None
        value = tf.get_static_value(axis)
        if value is None:
            raise UnireduceTypeError(
                f"axis={axis!r}: the value of an axis tensor must be known when the function is "
                "traced (a constant); unireduce resolves axes once, before computing"
            )
        return tuple(int(a) for a in value.reshape(-1))

    def astype(self, x: Any, dtype: Any) -> Any:
        if x.dtype == dtype:
            return self.tf.convert_to_tensor(x)
        return self.tf.cast(x, dtype)

    def sum(
        self,
        x: Any,
        axes: tuple[int, ...] | None,
        keepdims: bool,
        dtype: Any,
        name: str | None = None,
    ) -> Any:
        tf = self.tf
        if x.dtype != dtype:
            x = tf.cast(x, dtype)
        return tf.math.reduce_sum(
            x, axis=None if axes is None else list(axes), keepdims=keepdims, name=name
        )

    def cumsum(self, x: Any, axis: int, dtype: Any) -> Any:
        tf = self.tf
        if x.dtype != dtype:
            x = tf.cast(x, dtype)
        return tf.math.cumsum(x, axis=axis)

    def flip(self, x: Any, axis: int) -> Any:
        return self.tf.reverse(x, [axis])

    def pad_zero_front(self, x: Any, axis: int) -> Any:
        rank = x.shape.rank
        paddings = [[1, 0] if i == axis else [0, 0] for i in range(rank)]
        return self.tf.pad(x, paddings)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return self.tf.reshape(x, shape)

    # ------------------------------------------------------------------ exact mode (issue 5)
    float_errors_silent = True

    def _like(self, v: Any, x: Any) -> Any:
        tf = self.tf
        return v if isinstance(v, (tf.Tensor, tf.Variable)) else tf.constant(v, dtype=x.dtype)

    def is_traced(self, x: Any) -> bool:
        tf = self.tf
        return bool(tf.is_symbolic_tensor(x)) or not tf.executing_eagerly()

    def to_python(self, x: Any) -> Any:
        return x.numpy().item()

    def host_view(self, x: Any) -> Any:
        if self.is_traced(x) or "CPU" not in x.device.upper():
            return None
        import numpy as np

        tf = self.tf
        if isinstance(x, tf.Variable):
            x = x.value()
        if x.dtype == tf.bfloat16:
            # DLPack has no bfloat16 in NumPy: view the bits as uint16 (tf.bitcast shares the
            # buffer) and reinterpret them as ml_dtypes.bfloat16, TF's own NumPy bfloat16.
            import ml_dtypes

            return np.from_dlpack(tf.bitcast(x, tf.uint16)).view(ml_dtypes.bfloat16)
        return np.from_dlpack(x)  # zero-copy view of the eager tensor's buffer

    def from_host(self, a: Any, like: Any) -> Any:
        # A copy of the (host) result: a TF tensor made with from_dlpack over a NumPy buffer that
        # TF's kernels then read aborted the process (Eigen's alignment assumptions), and an abort
        # cannot be caught. The input side stays zero-copy (host_view).
        with self.tf.device(like.device):
            return self.tf.convert_to_tensor(a)

    def bitcast(self, x: Any, dtype: Any) -> Any:
        return self.tf.bitcast(x, dtype)

    def bitwise_and(self, x: Any, y: Any) -> Any:
        return self.tf.bitwise.bitwise_and(x, self._like(y, x))

    def shift_left(self, x: Any, n: Any) -> Any:
        return self.tf.bitwise.left_shift(x, self._like(n, x))

    def shift_right(self, x: Any, n: Any) -> Any:
        return self.tf.bitwise.right_shift(x, self._like(n, x))

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        tf = self.tf
        ref = a if isinstance(a, (tf.Tensor, tf.Variable)) else b
        return tf.where(cond, self._like(a, ref), self._like(b, ref))

    def clip(self, x: Any, lo: int, hi: int) -> Any:
        return self.tf.clip_by_value(x, self._like(lo, x), self._like(hi, x))

    def max(self, x: Any, axes: tuple[int, ...] | None, keepdims: bool) -> Any:
        return self.tf.reduce_max(x, axis=None if axes is None else list(axes), keepdims=keepdims)

    def min(self, x: Any, axes: tuple[int, ...] | None, keepdims: bool) -> Any:
        return self.tf.reduce_min(x, axis=None if axes is None else list(axes), keepdims=keepdims)

    def concat(self, xs: list[Any], axis: int) -> Any:
        return self.tf.concat(xs, axis)

    def take(self, x: Any, idx: Any, axis: int) -> Any:
        return self.tf.gather(x, idx, axis=axis)

    def permute_dims(self, x: Any, perm: tuple[int, ...]) -> Any:
        return self.tf.transpose(x, perm)

    def real(self, x: Any) -> Any:
        return self.tf.math.real(x)

    def imag(self, x: Any) -> Any:
        return self.tf.math.imag(x)

    def make_complex(self, re: Any, im: Any) -> Any:
        return self.tf.complex(re, im)

    def barrier(self, x: Any, *after: Any) -> Any:
        # TF has no public optimization barrier; tf2xla's XlaOptimizationBarrier op (the one
        # jax.lax.optimization_barrier lowers to) runs in graphs, under XLA and eagerly.
        if self.tf.executing_eagerly():
            return x
        try:
            from tensorflow.compiler.tf2xla.python.xla import optimization_barrier
        except ImportError:  # pragma: no cover - a private module; without it, no barrier
            return x
        return optimization_barrier(x, *after)[0]

    def stop_gradient(self, x: Any) -> Any:
        return self.tf.stop_gradient(x)

    def with_grad_of(
        self, exact: Callable[[Any], Any], native: Callable[[Any], Any], x: Any
    ) -> Any:
        tf = self.tf

        @tf.custom_gradient
        def f(v: Any) -> Any:
            def grad(g: Any) -> Any:
                with tf.GradientTape() as tape:
                    tape.watch(v)
                    y = native(v)
                return tape.gradient(y, v, output_gradients=g)

            return exact(v), grad

        return f(x)

    def run_compiled(
        self, fn: Callable[[Any], Any], x: Any, key: Hashable, shape: tuple[int, ...], dtype: str
    ) -> Any:
        """Inside a ``tf.function`` run without XLA: ``fn`` as a nested
        ``tf.function(jit_compile=True)``, cached per ``key`` and dtype; else ``fn(x)``.

        TF's graph executor runs the portable path's ~140 ops one at a time, each writing its
        result out; compiled by XLA they fuse (10**7 float32 values, one thread: sum 33.7 -> 11.5
        ms, cumsum 570 -> 123 ms; docs/exact.md). The first call of a new shape compiles (about 1-5
        s, against 0.3-5 s to trace the graph). Eagerly each call would pay that compilation, so
        eager tensors stay op by op; under XLA already, and on pluggable devices (no XLA there,
        e.g. tensorflow-metal), ``fn`` runs as it is.
        """
        tf = self.tf
        if not tf.inside_function() or self.fused_reductions() or not _xla_everywhere(tf):
            return fn(x)
        make = lambda: tf.function(fn, jit_compile=True, autograph=False)  # noqa: E731
        f = _COMPILED.get((key, x.dtype.name), make)
        # The value carries no gradient of its own (with_grad_of attaches native mode's): a
        # nested function called on a watched input gets a backward function built at once, and
        # XLA's variadic reduce has none (LookupError for a second-order gradient).
        return f(tf.stop_gradient(x))

    def fused_reductions(self) -> bool:
        # Under XLA (jit_compile=True, also for a tf.function traced inside one) tf2xla's
        # variadic reduce is one loop over the data; outside XLA it has no kernel.
        if self.tf.executing_eagerly():
            return False
        try:
            from tensorflow.python.ops.control_flow_util import GraphOrParentsInXlaContext
        except ImportError:  # pragma: no cover - a private module; without it, separate sums
            return False
        return bool(GraphOrParentsInXlaContext(self.tf.compat.v1.get_default_graph()))

    def sums(self, xs: list[Any], axes: tuple[int, ...], dtype: Any) -> list[Any]:
        if not self.fused_reductions():
            return super().sums(xs, axes, dtype)
        from tensorflow.compiler.tf2xla.python.xla import variadic_reduce

        key = (dtype, len(xs))
        if key not in self._adders:
            spec = self.tf.TensorSpec([], dtype)
            adder = self.tf.function(_add_all).get_concrete_function(*[spec] * (2 * len(xs)))
            self._adders[key] = adder
        zero = [self.tf.zeros([], dtype)] * len(xs)
        return list(variadic_reduce(list(xs), zero, list(axes), self._adders[key]))

    def cond(self, pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
        # Eager tf.cond runs the taken branch only; in a graph (and under XLA) it is a conditional.
        return self.tf.cond(pred, true_fn, false_fn)

    def rolled_scan(
        self, body: ScanBody, init: Any, xs: tuple[Any, ...], n: int, reverse: bool
    ) -> tuple[Any, tuple[Any, ...]]:
        """One ``tf.while_loop`` writing ``TensorArray`` outputs (``body`` traced once more for
        their dtypes and shapes; ``j`` an int64 tensor, as TF does not promote int32 against
        the int64 lanes). Unrolled, the exact integer route of a float64 cumsum of (8, 200)
        took 21.6 s to its first result under ``tf.function(jit_compile=True)``, rolled 2.1 s
        (``benchmarks/compile.py``, docs/exact.md)."""
        tf = self.tf
        stacked = tuple(tf.stack(x) if isinstance(x, list) else x for x in xs)
        _, first = body(init, tf.constant(0, tf.int64), tuple(x[0] for x in stacked))
        outs = tuple(tf.TensorArray(y.dtype, size=n, element_shape=y.shape) for y in first)

        def step(i: Any, carry: Any, arrays: tuple[Any, ...]) -> tuple[Any, Any, tuple[Any, ...]]:
            j = n - 1 - i if reverse else i  # int32: TensorArray indices are int32
            carry, ys = body(carry, tf.cast(j, tf.int64), tuple(tf.gather(x, j) for x in stacked))
            return i + 1, carry, tuple(a.write(j, y) for a, y in zip(arrays, ys, strict=True))

        start = tf.constant(0, tf.int32)
        _, carry, arrays = tf.while_loop(
            lambda i, *_: i < n, step, (start, init, outs), maximum_iterations=n
        )
        return carry, tuple(a.stack() for a in arrays)

    def guard(self, y: Any, bad: Any, err: Exception) -> Any:
        """``y``, after a graph assertion that fails with ``err``'s class name and message.

        In ``tf.function`` the call raises ``tf.errors.InvalidArgumentError`` ("assertion failed:
        [IntegerOverflowError: ...]"); TF cannot raise a Python exception class from a graph.
        Under XLA (``jit_compile=True``) there is no check and ``y`` wraps as in native mode: the
        XLA bridge compiles ``Assert`` to nothing (tf2xla/kernels/assert_op.cc, the no-op kernel
        of tensorflow#11275), measured likewise for ``check_numerics``, and ``tf.py_function``
        does not compile under XLA at all.
        """
        tf = self.tf
        # tf.debugging.Assert rather than a tf.py_function raising err: the Python error would
        # still reach the caller as tf.errors.UnknownError, and a py_function ties the graph to
        # this process (no SavedModel) and fails XLA compilation outright.
        check = tf.debugging.Assert(tf.logical_not(bad), [f"{type(err).__name__}: {err}"])
        with tf.control_dependencies([check]):
            return tf.identity(y)


# TensorFlowBackend.run_compiled's functions, least recently used first.
_COMPILED = ProgramCache()


@functools.cache
def _xla_everywhere(tf: Any) -> bool:
    """Whether XLA can compile for every device of this process: the CPU, and GPUs of a TF
    built for CUDA or ROCm. A GPU of any other build (and any other device type) is a pluggable
    device, whose plugins need not register XLA's kernels (tensorflow-metal has none)."""
    kinds = {d.device_type for d in tf.config.list_physical_devices()}
    return kinds <= {"CPU"} or (kinds <= {"CPU", "GPU"} and tf.test.is_built_with_gpu_support())


def _add_all(*ab: Any) -> tuple[Any, ...]:
    """The reducer of :meth:`TensorFlowBackend.sums`: ``(a_1 .. a_n, b_1 .. b_n)`` to the sums."""
    n = len(ab) // 2
    return tuple(ab[i] + ab[n + i] for i in range(n))
