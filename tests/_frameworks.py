"""Test-side access to each framework, written independently of unireduce's adapters.

Tests build inputs and read results through these helpers so that an adapter bug cannot hide
behind the same bug in the test. One :class:`Framework` per backend id; ``jax_x64`` is JAX with
``jax_enable_x64`` switched on for the duration of a test.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ALL = (
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
WIDE = {"int64", "uint64", "float64", "complex128"}


def np_dtype(name: str) -> Any:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


@dataclass
class Framework:
    id: str
    module: str
    dtypes: tuple[str, ...]
    make: Callable[[Any, str], Any]
    to_numpy: Callable[[Any], np.ndarray]
    dtype_of: Callable[[Any], str]
    backend: str  # the unireduce backend name expected for its arrays

    def array(self, values: Any, dtype: str) -> Any:
        return self.make(np.array(values, dtype=np_dtype(dtype)), dtype)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Run with JAX's x64 flag as this framework id needs it, restoring it afterwards."""
        if self.module != "jax":
            yield
            return
        import jax

        before = bool(jax.config.jax_enable_x64)
        jax.config.update("jax_enable_x64", self.id == "jax_x64")
        try:
            yield
        finally:
            jax.config.update("jax_enable_x64", before)


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _numpy() -> Framework:
    return Framework(
        "numpy",
        "numpy",
        ALL,
        lambda a, d: a,
        lambda a: np.asarray(a),
        lambda a: "bfloat16" if a.dtype.name == "bfloat16" else a.dtype.name,
        "numpy",
    )


def _torch() -> Framework:
    def make(a: np.ndarray, d: str) -> Any:
        import torch

        if d == "bfloat16":
            return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
        if d in ("uint16", "uint32", "uint64"):
            signed = a.view(f"int{a.dtype.itemsize * 8}")
            return torch.from_numpy(signed.copy()).view(getattr(torch, d))
        return torch.from_numpy(a.copy())

    def to_numpy(t: Any) -> np.ndarray:
        import torch

        t = t.detach().cpu()
        if t.dtype == torch.bfloat16:
            return t.to(torch.float32).numpy().astype(np_dtype("bfloat16"))
        if t.dtype in (torch.uint16, torch.uint32, torch.uint64):
            bits = {torch.uint16: 16, torch.uint32: 32, torch.uint64: 64}[t.dtype]
            return t.view(getattr(torch, f"int{bits}")).numpy().view(f"uint{bits}")
        return t.numpy()

    return Framework(
        "torch",
        "torch",
        ALL,
        make,
        to_numpy,
        lambda t: str(t.dtype).removeprefix("torch."),
        "torch",
    )


def _tensorflow() -> Framework:
    def make(a: np.ndarray, d: str) -> Any:
        import tensorflow as tf

        return tf.constant(a, dtype=getattr(tf, d))

    def to_numpy(t: Any) -> np.ndarray:
        return np.asarray(t.numpy())

    return Framework(
        "tensorflow", "tensorflow", ALL, make, to_numpy, lambda t: t.dtype.name, "tensorflow"
    )


def _jax(x64: bool) -> Framework:
    def make(a: np.ndarray, d: str) -> Any:
        import jax.numpy as jnp

        return jnp.asarray(a)

    def dtype_of(t: Any) -> str:
        return str(t.dtype)

    dtypes = ALL if x64 else tuple(d for d in ALL if d not in WIDE)
    return Framework(
        "jax_x64" if x64 else "jax",
        "jax",
        dtypes,
        make,
        lambda t: np.asarray(t),
        dtype_of,
        "jax",
    )


def _strict() -> Framework:
    def make(a: np.ndarray, d: str) -> Any:
        import array_api_strict as xp

        return xp.asarray(a, dtype=getattr(xp, d))

    def to_numpy(t: Any) -> np.ndarray:
        import array_api_strict as xp

        return np.asarray(xp.asarray(t, copy=True)._array)  # test-only inspection

    dtypes = tuple(d for d in ALL if d not in ("float16", "bfloat16"))
    return Framework(
        "array_api_strict",
        "array_api_strict",
        dtypes,
        make,
        to_numpy,
        lambda t: str(t.dtype).removeprefix("array_api_strict."),
        "array_api_strict",
    )


def _dask() -> Framework:
    def make(a: np.ndarray, d: str) -> Any:
        import dask.array as da

        # Two chunks along every axis: results must not depend on the chunking.
        return da.from_array(a, chunks=tuple(max(1, -(-n // 2)) for n in a.shape))

    def to_numpy(t: Any) -> np.ndarray:
        return np.asarray(t.compute())

    dtypes = ALL
    return Framework("dask", "dask", dtypes, make, to_numpy, lambda t: t.dtype.name, "dask")


FRAMEWORKS: dict[str, Callable[[], Framework]] = {
    "numpy": _numpy,
    "torch": _torch,
    "tensorflow": _tensorflow,
    "jax": lambda: _jax(False),
    "jax_x64": lambda: _jax(True),
    "array_api_strict": _strict,
    "dask": _dask,
}
