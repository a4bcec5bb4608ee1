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

from typing import Any, ClassVar

from unireduce._backend import Backend

__all__ = ["TorchBackend"]

_NAMES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)


class TorchBackend(Backend):
    """Adapter for ``torch.Tensor`` and its subclasses (``nn.Parameter``, fake and meta tensors)."""

    name: ClassVar[str] = "torch"
    modules: ClassVar[tuple[str, ...]] = ("torch",)

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self._natives: dict[str, Any] = {n: getattr(torch, n) for n in _NAMES if hasattr(torch, n)}
        self._names: dict[Any, str] = {v: k for k, v in self._natives.items()}
        self._supported = frozenset(self._natives)

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
        d = self._dtype_arg(x, dtype)
        if axes is None:
            if keepdims and x.dim():
                # torch.sum(x, keepdim=True) without dim is an error (pytorch#71209).
                return torch.sum(x, dim=tuple(range(x.dim())), keepdim=True, dtype=d)
            return torch.sum(x, dtype=d)
        return torch.sum(x, dim=axes, keepdim=keepdims, dtype=d)

    def cumsum(self, x: Any, axis: int, dtype: Any) -> Any:
        return self.torch.cumsum(x, axis, dtype=self._dtype_arg(x, dtype))

    def _dtype_arg(self, x: Any, dtype: Any) -> Any:
        # Passing dtype= costs ~0.6 us per call, so omit it where torch keeps the dtype anyway:
        # floats and complex. Integer and bool sums would promote to int64 without it.
        if x.dtype is dtype and (dtype.is_floating_point or dtype.is_complex):
            return None
        return dtype

    def flip(self, x: Any, axis: int) -> Any:
        return self.torch.flip(x, (axis,))

    def pad_zero_front(self, x: Any, axis: int) -> Any:
        shape = list(x.shape)
        shape[axis] = 1
        return self.torch.cat([x.new_zeros(shape), x], dim=axis)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return x.reshape(shape)
