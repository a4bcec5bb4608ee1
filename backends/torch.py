"""PyTorch adapter: ``torch.sum`` / ``torch.cumsum`` with an explicit dtype, on the tensor's device.

Emulated with torch's own ops:

* torch has no sum, cumsum or flip kernels for uint16, uint32 and uint64 ("sum_cpu" not implemented
  for 'UInt16', measured on 2.13; the unsigned types are "shell" dtypes, pytorch#58734): those
  results are computed in int64 and cast back, which wraps modulo 2**bits exactly as an unsigned
  sum must (two's-complement addition is the same modular arithmetic).
* ``keepdim=True`` needs explicit dims when reducing everything (pytorch#71209).
* ``dim=()`` would reduce everything (pytorch#29137); the frontend never passes an empty tuple.

>>> import torch, unireduce as ur
>>> ur.sum(torch.tensor([200, 100], dtype=torch.uint8)).dtype
torch.uint64
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, ClassVar

from unireduce._backend import Backend, Capabilities
from unireduce._dtypes import ALL_DTYPES as _NAMES

__all__ = ["TorchBackend"]

_SIGNED = {"uint16": "int16", "uint32": "int32", "uint64": "int64"}


def _op(torch: Any, name: str, impl: Callable[..., Any], schema: str, fake: Any) -> Any:
    """``torch.ops.unireduce.<name>``, registered once per process."""
    ns = torch.ops.unireduce
    if not hasattr(ns, name):
        op = torch.library.custom_op(f"unireduce::{name}", impl, mutates_args=(), schema=schema)
        op.register_fake(fake)
    return getattr(ns, name)


def _guard_op(torch: Any) -> Any:
    """``torch.ops.unireduce.guard(y, bad, kind, msg)``."""
    # A custom op rather than `if bool(bad): raise err`, which graph-breaks (and fails to
    # compile with fullgraph=True: data-dependent branching), or torch._assert_async, which
    # raises a plain RuntimeError and, per its docstring, "will trash your CUDA context".
    # An op without outputs would not do: AOTAutograd and Inductor drop it (measured, 2.13).
    schema = "(Tensor y, Tensor bad, str kind, str msg) -> Tensor"
    op = _op(torch, "guard", _guard_impl, schema, lambda y, *_: y.new_empty(y.shape))

    def batched(info: Any, in_dims: Any, y: Any, bad: Any, kind: str, msg: str) -> Any:
        # torch.vmap: one check over the whole batch (any flag raises), y's batch dim kept.
        return op(y, bad.any(), kind, msg), in_dims[0]

    _register_vmap(torch, "guard", batched)
    return op


def _host_op(torch: Any) -> Any:
    """``torch.ops.unireduce.host(x, spec, shape, dtype)``."""
    # An op opaque to the compiler, so that torch.compile of CPU tensors runs the fused host
    # kernels (Inductor compiled the portable exact cumsum of 10**7 float32 in 161 s, to a
    # program 17x torch.cumsum; this op: 2 s, 1.7x; torch 2.13, one thread).
    schema = "(Tensor x, str spec, int[] shape, ScalarType dtype) -> Tensor"
    fake = lambda x, _, shape, dt: x.new_empty(shape, dtype=dt)  # noqa: E731
    op = _op(torch, "host", _host_impl, schema, fake)

    def batched(info: Any, in_dims: Any, x: Any, spec: str, shape: list[int], dt: Any) -> Any:
        # torch.vmap: the batch dim moved to the front is one more kept axis of the same call.
        if in_dims[0] is None:
            return op(x, spec, shape, dt), None
        from unireduce._exact import batched_spec

        x = x.movedim(in_dims[0], 0)
        return op(x, batched_spec(spec), [x.shape[0], *shape], dt), 0

    _register_vmap(torch, "host", batched)
    return op


def _register_vmap(torch: Any, name: str, rule: Callable[..., Any]) -> None:
    """``rule`` as the torch.vmap batching rule of ``unireduce::<name>``, once per process."""
    if name not in _VMAP_DONE:
        torch.library.register_vmap(f"unireduce::{name}", rule)
        _VMAP_DONE.add(name)


_VMAP_DONE: set[str] = set()


def _substitute_for_dynamo(torch: Any) -> bool:
    """Has Dynamo trace the frontend's traced variants (``_registry.traced_substitutes``), once
    per process; whether they are in place.

    Dynamo guards on the Python state a trace reads, and guards a dict on all its keys: the
    registry's type cache and the plan cache grow in eager calls, and each entry added
    recompiled every function compiled before (two functions, two types learnt: 6 compilations
    instead of 2; torch's ``recompile_limit`` is 8). ``torch.compiler.substitute_in_graph``
    (torch >= 2.5) makes Dynamo trace a variant that reads neither, while eager calls keep the
    plain cached lookups.
    """
    if _SUBSTITUTED:
        return True
    substitute = getattr(torch.compiler, "substitute_in_graph", None)
    if substitute is None:
        return False
    from unireduce._registry import traced_substitutes

    for original, traced in traced_substitutes():
        substitute(original)(traced)
    _SUBSTITUTED.append(True)
    return True


_SUBSTITUTED: list[bool] = []


def _host_impl(x: Any, spec: str, shape: list[int], dtype: Any) -> Any:
    """``unireduce._exact.run_host(spec, x's memory)`` as a new contiguous tensor."""
    import torch

    from unireduce._exact import run_host

    res = run_host(spec, _numpy_view(torch, x.resolve_conj().resolve_neg()))
    return _from_numpy(torch, res).contiguous()  # a fresh array: never aliases x


def _func_wrapped(torch: Any, x: Any) -> bool:
    """Whether ``x`` is a tensor wrapped by a ``torch.func`` transform (``vmap``, ``grad``,
    ``jacrev``), which has no storage of its own (no public predicate yet, torch 2.13)."""
    return bool(torch._C._functorch.is_functorch_wrapped_tensor(x))


def _numpy_view(torch: Any, t: Any) -> Any:
    """The NumPy array sharing the CPU tensor ``t``'s memory (bfloat16 as ml_dtypes')."""
    t = t.detach()
    if t.dtype is torch.bfloat16:
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()  # shares memory (torch.from_numpy's inverse)


def _from_numpy(torch: Any, a: Any) -> Any:
    """``a`` as a CPU tensor sharing its memory (bfloat16 from ml_dtypes')."""
    if a.dtype.name == "bfloat16":
        return torch.from_numpy(a.view("int16")).view(torch.bfloat16)
    return torch.from_numpy(a)


def _guard_impl(y: Any, bad: Any, kind: str, msg: str) -> Any:
    """A copy of ``y`` (an op may not return its input), or the error ``kind`` raised."""
    if bool(bad):
        raise _rebuild(kind, msg)
    return y.clone()


def _rebuild(kind: str, msg: str) -> Exception:
    """The exception ``module:qualname`` ``kind`` with message ``msg``, else a RuntimeError."""
    mod, _, name = kind.partition(":")
    try:
        cls = getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError):
        cls = None
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls(msg)
    return RuntimeError(f"{name}: {msg}")


class TorchBackend(Backend):
    """Adapter for ``torch.Tensor`` and its subclasses (``nn.Parameter``, fake and meta tensors)."""

    name: ClassVar[str] = "torch"
    modules: ClassVar[tuple[str, ...]] = ("torch",)
    capabilities: ClassVar[Capabilities] = Capabilities(
        devices=("cpu", "cuda", "mps"),
        jit=("torch.compile",),
        jit_object_state=True,
        # "Cannot convert a MPS Tensor to float64 dtype" (pytorch#79019; a known limitation,
        # pytorch#122602).
        no_float64=("mps",),
        notes=(
            "uint16/uint32/uint64 sums and cumsums run in int64 and are cast back "
            "(no kernels, pytorch#58734)",
        ),
    )

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self._natives: dict[str, Any] = {n: getattr(torch, n) for n in _NAMES if hasattr(torch, n)}
        self._names: dict[Any, str] = {v: k for k, v in self._natives.items()}
        self._supported = frozenset(self._natives)
        #: dtypes torch.sum and torch.cumsum keep without a dtype= argument.
        self._keeps = frozenset(d for d in self._names if d.is_floating_point or d.is_complex)
        # Made here, not on first use: Dynamo cannot trace a class definition (torch 2.13).
        self._grad_of = _grad_of_function(torch)
        # Registered here, eagerly: Dynamo cannot trace an op registration inside torch.compile
        # (the registry builds adapters outside the trace, see _registry.backend_of).
        self._guard_op = _guard_op(torch)
        self._host_op = _host_op(torch)
        self._plans: dict[Any, Any] = {}
        if _substitute_for_dynamo(torch):
            # Dynamo traces _api._resolve_traced, which asks plan_cache(): the frontend's
            # inlined lookup may read the eager cache directly.
            self._plan_cache = self._plans

    def plan_cache(self) -> dict[Any, Any]:
        """The frontend's cache of resolved calls, but a fresh dict while Dynamo traces.
        Dynamo guards on the Python state a trace reads: every function compiled through the
        shared cache was tied to its length, and each plan added later (a new call signature,
        eager or compiled) recompiled them all, the first compiled call of each signature
        included. The frontend's inlined lookup reads ``_plan_cache`` only where Dynamo
        traces its substitute instead (:func:`_substitute_for_dynamo`), else it is unset."""
        if self.torch.compiler.is_compiling():
            return {}  # resolved from the rule tables, which never change
        return self._plans

    def is_array(self, x: object) -> bool:
        return isinstance(x, self.torch.Tensor)

    def version(self) -> str:
        return str(self.torch.__version__)

    def dtype_name(self, native: object) -> str | None:
        try:
            return self._names.get(native)
        except TypeError:
            return None

    def native_dtype(self, name: str) -> Any:
        return self._natives[name]

    def supported_dtypes(self) -> frozenset[str]:
        return self._supported

    def work_dtype(self, name: str) -> str:
        # No sum/cumsum/flip kernels for the wide unsigned types (pytorch#58734).
        return "int64" if name in ("uint16", "uint32", "uint64") else name

    def ndim(self, x: Any) -> int:
        return int(x.dim())

    def device(self, x: Any) -> object:
        return x.device

    def devices(self) -> list[str]:
        torch = self.torch
        out = ["cpu"]
        if torch.cuda.is_available():
            out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            out.append("mps")
        return out

    def axis_values(self, axis: object) -> tuple[int, ...] | None:
        torch = self.torch
        if (
            isinstance(axis, torch.Tensor)
            and axis.dim() <= 1
            and not axis.is_floating_point()
            and not axis.is_complex()
            and axis.dtype is not torch.bool
        ):
            return tuple(int(a) for a in axis.reshape(-1).tolist())
        return None

    def astype(self, x: Any, dtype: Any) -> Any:
        return x if x.dtype is dtype else x.to(dtype)

    def sum(
        self,
        x: Any,
        axes: tuple[int, ...] | None,
        keepdims: bool,
        dtype: Any,
        name: str | None = None,
    ) -> Any:
        torch = self.torch
        # Passing dtype= costs ~0.6 us, so it is left out where torch keeps the dtype anyway
        # (floats and complex); integer and bool sums would promote to int64 without it.
        keep = dtype in self._keeps and x.dtype is dtype
        if axes is None:
            if keepdims and x.dim():
                # torch.sum(x, keepdim=True) without dim is an error (pytorch#71209).
                dims = tuple(range(x.dim()))
                return torch.sum(x, dim=dims, keepdim=True, dtype=None if keep else dtype)
            return torch.sum(x) if keep else torch.sum(x, dtype=dtype)
        return torch.sum(x, dim=axes, keepdim=keepdims, dtype=None if keep else dtype)

    def full_sum(self, dtype: Any, same_dtype: bool) -> Callable[[Any], Any] | None:
        if same_dtype and dtype in self._keeps:
            return self.torch.sum  # torch keeps float and complex dtypes: no dtype= needed
        return None

    def cumsum(self, x: Any, axis: int, dtype: Any) -> Any:
        keep = dtype in self._keeps and x.dtype is dtype
        return self.torch.cumsum(x, axis, dtype=None if keep else dtype)

    def flip(self, x: Any, axis: int) -> Any:
        torch = self.torch
        signed = _SIGNED.get(self._names.get(x.dtype, ""))
        if signed is not None:  # no flip kernel for uint16/32/64 (pytorch#58734): same-width bits
            return torch.flip(x.view(self._natives[signed]), (axis,)).view(x.dtype)
        return torch.flip(x, (axis,))

    def pad_zero_front(self, x: Any, axis: int) -> Any:
        shape = list(x.shape)
        shape[axis] = 1
        return self.torch.cat([x.new_zeros(shape), x], dim=axis)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return x.reshape(shape)

    # ------------------------------------------------------------------ exact mode (issue 5)
    float_errors_silent = True

    def is_traced(self, x: Any) -> bool:
        torch = self.torch
        if torch.compiler.is_compiling():
            return True
        if _func_wrapped(torch, x):  # vmap, grad: no storage to read
            return True
        try:  # fake tensors of torch.compile / make_fx (no public predicate yet)
            from torch._subclasses.fake_tensor import is_fake

            return bool(is_fake(x))
        except ImportError:  # pragma: no cover
            return False

    def escaping_trace(self, x: Any) -> str | None:
        # torch.compile replays writes to Python attributes (jit_object_state); a tensor wrapped
        # by a torch.func transform (vmap, grad, jacrev) stored on an object outlives the
        # transform ("your tensor may have escaped from inside a function being vmapped").
        torch = self.torch
        if torch.compiler.is_compiling():  # Dynamo cannot trace the functorch predicate
            return None
        if _func_wrapped(torch, x):
            return "a torch.func transform"
        return None

    def to_python(self, x: Any) -> Any:
        return x.item()

    def host_view(self, x: Any) -> Any:
        if self.is_traced(x) or x.device.type != "cpu" or x.is_conj() or x.is_neg():
            return None
        return _numpy_view(self.torch, x)

    def from_host(self, a: Any, like: Any) -> Any:
        t = _from_numpy(self.torch, a)
        return t if like.device.type == "cpu" else t.to(like.device)

    def host_call(
        self,
        x: Any,
        spec: str,
        shape: tuple[int, ...],
        dtype: str,
        portable: Callable[[Any], Any] | None = None,
    ) -> Any:
        """The op ``unireduce::host`` for a traced CPU tensor (``torch.compile``, fake tensors)."""
        if not self.is_traced(x) or x.device.type != "cpu":
            return None
        return self._host_op(x, spec, list(shape), self.native_dtype(dtype))

    def bitcast(self, x: Any, dtype: Any) -> Any:
        return x.view(dtype)

    def bitwise_and(self, x: Any, y: Any) -> Any:
        return x & y

    def shift_left(self, x: Any, n: Any) -> Any:
        return x << n

    def shift_right(self, x: Any, n: Any) -> Any:
        return x >> n

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        return self.torch.where(cond, a, b)

    def clip(self, x: Any, lo: int, hi: int) -> Any:
        return self.torch.clamp(x, lo, hi)

    def max(self, x: Any, axes: tuple[int, ...] | None, keepdims: bool) -> Any:
        return self._extreme(self.torch.amax, x, axes, keepdims)

    def min(self, x: Any, axes: tuple[int, ...] | None, keepdims: bool) -> Any:
        return self._extreme(self.torch.amin, x, axes, keepdims)

    @staticmethod
    def _extreme(
        fn: Callable[..., Any], x: Any, axes: tuple[int, ...] | None, keepdims: bool
    ) -> Any:
        if axes is None:
            return fn(x) if not keepdims else fn(x, dim=tuple(range(x.dim())), keepdim=True)
        return fn(x, dim=axes, keepdim=keepdims)

    def concat(self, xs: list[Any], axis: int) -> Any:
        return self.torch.cat(xs, dim=axis)

    def take(self, x: Any, idx: Any, axis: int) -> Any:
        return self.torch.index_select(x, axis, idx.long())

    def permute_dims(self, x: Any, perm: tuple[int, ...]) -> Any:
        return x.permute(perm)

    def real(self, x: Any) -> Any:
        return self.torch.real(x)

    def imag(self, x: Any) -> Any:
        return self.torch.imag(x)

    def make_complex(self, re: Any, im: Any) -> Any:
        return self.torch.complex(re, im)

    def stop_gradient(self, x: Any) -> Any:
        return x.detach()

    def with_grad_of(
        self, exact: Callable[[Any], Any], native: Callable[[Any], Any], x: Any
    ) -> Any:
        torch = self.torch
        if not (torch.is_grad_enabled() and x.requires_grad):
            return exact(x)
        return self._grad_of.apply(x, exact, native)

    def cond(self, pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
        """Under ``torch.compile``, ``torch.cond``: one branch runs (not both plus a ``where``).

        Eagerly a Python ``if``; under other tracing (``make_fx``) both branches and a
        ``where``, as the default does.
        """
        torch = self.torch
        if not torch.compiler.is_compiling() or not self.is_traced(pred):
            return super().cond(pred, true_fn, false_fn)
        # The clones: a torch.cond branch may not return a tensor it closed over ("Higher order
        # ops do not support aliasing", Dynamo's gb0040, torch 2.13), and both branches' outputs
        # must have the same strides ("The sorted order of strides of the two branches' output
        # doesn't match": an elementwise op on a transposed view keeps its strides).
        fmt = torch.contiguous_format
        return torch.cond(
            pred,
            lambda: true_fn().clone(memory_format=fmt),
            lambda: false_fn().clone(memory_format=fmt),
            (),
        )

    def guard(self, y: Any, bad: Any, err: Exception) -> Any:
        """A copy of ``y`` made by the op ``unireduce::guard``, which raises ``err`` when it runs
        if ``bad`` holds.

        The op runs Python at run time, so ``err``'s own class (rebuilt from its module, name
        and message) reaches the caller under ``torch.compile`` (any backend; the op adds no
        graph break, ``fullgraph=True`` included) and from graphs traced with fake tensors
        (``make_fx``, non-strict ``torch.export``); it costs a copy of ``y`` and one host sync,
        as the eager check does.
        """
        cls = type(err)
        # err.args[0], not str(err): Dynamo cannot trace str() of an exception made outside
        # the compiled function (measured, torch 2.13); unireduce's errors carry one message.
        msg = str(err.args[0]) if err.args else ""
        return self._guard_op(y, bad, f"{cls.__module__}:{cls.__qualname__}", msg)


def _grad_of_function(torch: Any) -> Any:
    """The autograd.Function of :meth:`TorchBackend.with_grad_of`."""

    class GradOf(torch.autograd.Function):
        # setup_context and the generated vmap rule: torch.func transforms (vmap, grad) take
        # only autograd.Functions written this way.
        generate_vmap_rule = True

        @staticmethod
        def forward(x: Any, exact: Any, native: Any) -> Any:
            return exact(x)

        @staticmethod
        def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
            x, _, native = inputs
            ctx.native = native
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            _, vjp = torch.func.vjp(ctx.native, x)
            return vjp(g)[0], None, None

    return GradOf
