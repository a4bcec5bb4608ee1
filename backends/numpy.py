"""NumPy adapter: ``np.add.reduce`` and ``np.add.accumulate`` with an explicit dtype.

NumPy computes every canonical dtype natively (bfloat16 through ``ml_dtypes``), so nothing is
emulated. Full reductions return 0-d arrays, not NumPy scalars, as the array API requires.

>>> import numpy as np, unireduce as ur
>>> type(ur.sum(np.ones(3)))
<class 'numpy.ndarray'>
"""

from __future__ import annotations

from typing import Any, ClassVar

from unireduce._backend import Backend, Capabilities

__all__ = ["NumpyBackend"]


class NumpyBackend(Backend):
    """Adapter for ``numpy.ndarray`` and NumPy scalars."""

    name: ClassVar[str] = "numpy"
    modules: ClassVar[tuple[str, ...]] = ("numpy",)
    capabilities: ClassVar[Capabilities] = Capabilities(
        notes=("bfloat16 needs ml_dtypes (installed with unireduce[all])",),
    )

    def __init__(self) -> None:
        import numpy as np

        self.np: Any = np
        self._names: dict[Any, str] = {}
        self._natives: dict[str, Any] = {}
        for name in (
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
            "float32",
            "float64",
            "complex64",
            "complex128",
        ):
            dt = np.dtype(name)
            self._names[dt] = name
            self._natives[name] = dt
        try:
            import ml_dtypes  # optional: NumPy's bfloat16 lives there

            bf16 = np.dtype(ml_dtypes.bfloat16)
            self._names[bf16] = "bfloat16"
            self._natives["bfloat16"] = bf16
        except ImportError:
            pass
        self._supported = frozenset(self._natives)

    def is_array(self, x: object) -> bool:
        np = self.np
        return isinstance(x, (np.ndarray, np.generic))

    def dtype_name(self, native: object) -> str | None:
        try:
            hit = self._names.get(native)
        except TypeError:
            hit = None
        if hit is not None or isinstance(native, str):
            return hit
        return self._dtype_name_slow(native)

    def _dtype_name_slow(self, native: object) -> str | None:
        np = self.np
        try:
            dt = np.dtype(native)
        except (TypeError, ValueError):
            return None
        return self._names.get(dt)

    def native_dtype(self, name: str) -> Any:
        return self._natives[name]

    def supported_dtypes(self) -> frozenset[str]:
        return self._supported

    def ndim(self, x: Any) -> int:
        return int(x.ndim)

    def axis_values(self, axis: object) -> tuple[int, ...] | None:
        np = self.np
        if (
            isinstance(axis, (np.ndarray, np.generic))
            and axis.dtype.kind in "iu"
            and axis.ndim <= 1
        ):
            return tuple(int(a) for a in np.atleast_1d(axis))
        return None

    def astype(self, x: Any, dtype: Any) -> Any:
        np = self.np
        if x.dtype == dtype and isinstance(x, np.ndarray):
            return x
        return np.asarray(x).astype(dtype)

    def sum(
        self,
        x: Any,
        axes: tuple[int, ...] | None,
        keepdims: bool,
        dtype: Any,
        name: str | None = None,
    ) -> Any:
        r = self.np.add.reduce(x, axis=axes, dtype=dtype, keepdims=keepdims)
        # A full reduction gives a NumPy scalar; the array API wants a 0-d array.
        return r if type(r) is self.np.ndarray else self.np.asarray(r)

    def cumsum(self, x: Any, axis: int, dtype: Any) -> Any:
        return self.np.add.accumulate(x, axis=axis, dtype=dtype)

    def flip(self, x: Any, axis: int) -> Any:
        return self.np.flip(x, axis)

    def pad_zero_front(self, x: Any, axis: int) -> Any:
        np = self.np
        shape = list(x.shape)
        shape[axis] = 1
        return np.concatenate([np.zeros(shape, x.dtype), x], axis=axis)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return self.np.reshape(x, shape)

    # ------------------------------------------------------------------ exact mode (issue 5)
    def to_python(self, x: Any) -> Any:
        return self.np.asarray(x).item()

    def host_view(self, x: Any) -> Any:
        return self.np.asarray(x)

    def from_host(self, a: Any, like: Any) -> Any:
        return a

    def bitcast(self, x: Any, dtype: Any) -> Any:
        return self.np.asarray(x).view(dtype)

    def bitwise_and(self, x: Any, y: Any) -> Any:
        return self.np.bitwise_and(x, y)

    def shift_left(self, x: Any, n: Any) -> Any:
        return self.np.left_shift(x, n)

    def shift_right(self, x: Any, n: Any) -> Any:
        return self.np.right_shift(x, n)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        return self.np.where(cond, a, b)

    def clip(self, x: Any, lo: int, hi: int) -> Any:
        return self.np.clip(x, lo, hi)

    def max(self, x: Any, axes: tuple[int, ...] | None, keepdims: bool) -> Any:
        return self.np.asarray(self.np.max(x, axis=axes, keepdims=keepdims))

    def min(self, x: Any, axes: tuple[int, ...] | None, keepdims: bool) -> Any:
        return self.np.asarray(self.np.min(x, axis=axes, keepdims=keepdims))

    def concat(self, xs: list[Any], axis: int) -> Any:
        return self.np.concatenate(xs, axis=axis)

    def take(self, x: Any, idx: Any, axis: int) -> Any:
        return self.np.take(x, idx, axis=axis)

    def permute_dims(self, x: Any, perm: tuple[int, ...]) -> Any:
        return self.np.transpose(x, perm)

    def real(self, x: Any) -> Any:
        return self.np.ascontiguousarray(self.np.real(x))

    def imag(self, x: Any) -> Any:
        return self.np.ascontiguousarray(self.np.imag(x))

    def make_complex(self, re: Any, im: Any) -> Any:
        np = self.np
        out = np.empty(np.shape(re), dtype=np.result_type(re.dtype, np.complex64))
        out.real = re
        out.imag = im
        return out
