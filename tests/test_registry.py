"""Backend detection and registration: lazy (no framework imported), entry points, third parties."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from typing import Any, ClassVar

import numpy as np
import pytest

import unireduce as ur
from unireduce import Backend
from unireduce.backends.numpy import NumpyBackend

FRAMEWORK_MODULES = ("torch", "tensorflow", "jax", "array_api_strict", "dask", "cupy")


def _run(code: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_import_and_numpy_sum_import_no_framework() -> None:
    """array-api-compat's test_no_dependencies, for us: summing NumPy data imports nothing else."""
    result = _run(
        f"""
        import json, sys
        import unireduce as ur
        after_import = sorted(m for m in {FRAMEWORK_MODULES!r} if m in sys.modules)
        import numpy as np
        ur.sum(np.arange(6).reshape(2, 3), axis=0)
        ur.cumsum(np.ones(3), exclusive=True)
        ur.reduce_sum(np.int8([1, 2]))
        ur.available_backends()
        ur.backend_name(np.ones(2))
        after_sum = sorted(m for m in {FRAMEWORK_MODULES!r} if m in sys.modules)
        print(json.dumps({{"after_import": after_import, "after_sum": after_sum,
                          "numpy_at_import": "numpy" in sys.modules}}))
        """
    )
    assert result["after_import"] == []
    assert result["after_sum"] == []


def test_import_unireduce_does_not_import_numpy() -> None:
    result = _run(
        """
        import json, sys
        import unireduce, unireduce.cli
        print(json.dumps({"numpy": "numpy" in sys.modules}))
        """
    )
    assert result == {"numpy": False}


def test_torch_sum_imports_only_torch() -> None:
    pytest.importorskip("torch")
    result = _run(
        f"""
        import json, sys
        import torch, unireduce as ur
        ur.sum(torch.ones(3))
        print(json.dumps(sorted(m for m in {FRAMEWORK_MODULES!r} if m in sys.modules)))
        """
    )
    assert result == ["torch"]  # type: ignore[comparison-overlap]


def test_builtin_backends_are_registered_through_entry_points() -> None:
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="unireduce.backends")}
    assert {"numpy", "torch", "tensorflow", "jax", "array_api_strict", "dask"} <= names
    assert set(ur.registered_backends()) >= names


def test_available_backends_lists_only_installed() -> None:
    import importlib.util

    available = ur.available_backends()
    assert "numpy" in available
    assert ("cupy" in available) == (importlib.util.find_spec("cupy") is not None)


def test_get_backend_unknown_name() -> None:
    with pytest.raises(ur.BackendError, match="no backend named 'nope'"):
        ur.get_backend("nope")


class _Box:
    """A toy array type: a list of ints in a box."""

    def __init__(self, data: list[int], dtype: str = "int32") -> None:
        self.data, self.dtype = data, dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.data),)


class ToyBackend(Backend):
    """A third-party adapter, registered in-process (the entry-point route is tested in the
    conformance suite from outside the repository)."""

    name: ClassVar[str] = "toybox"
    modules: ClassVar[tuple[str, ...]] = ()

    def is_array(self, x: object) -> bool:
        return isinstance(x, _Box)

    def dtype_name(self, native: object) -> str | None:
        return native if native in ("int32", "int64") else None  # type: ignore[return-value]

    def native_dtype(self, name: str) -> Any:
        return name

    def supported_dtypes(self) -> frozenset[str]:
        return frozenset({"int32", "int64"})

    def ndim(self, x: Any) -> int:
        return 1

    def astype(self, x: Any, dtype: Any) -> Any:
        return _Box(list(x.data), dtype)

    def sum(self, x: Any, axes: Any, keepdims: bool, dtype: Any, name: Any = None) -> Any:
        bits = 32 if dtype == "int32" else 64
        total = (sum(x.data) + 2 ** (bits - 1)) % 2**bits - 2 ** (bits - 1)
        return _Box([total], dtype)

    def cumsum(self, x: Any, axis: int, dtype: Any) -> Any:
        out, acc = [], 0
        for v in x.data:
            acc += v
            out.append(acc)
        return _Box(out, dtype)

    def flip(self, x: Any, axis: int) -> Any:
        return _Box(x.data[::-1], x.dtype)

    def pad_zero_front(self, x: Any, axis: int) -> Any:
        return _Box([0, *x.data], x.dtype)

    def drop_last(self, x: Any, axis: int) -> Any:
        return _Box(x.data[:-1], x.dtype)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return x


def test_register_a_third_party_backend() -> None:
    ur.register_backend(ToyBackend)
    box = _Box([2**31 - 1, 1], "int32")
    assert ur.backend_name(box) == "toybox"
    out = ur.sum(box)  # array API: int32 sums to the default integer (int64 on this backend)
    assert (out.dtype, out.data) == ("int64", [2**31])
    out = ur.reduce_sum(box)  # TensorFlow's rules: keeps int32 and wraps
    assert (out.dtype, out.data) == ("int32", [-(2**31)])
    out = ur.cumsum(_Box([1, 2, 3]), exclusive=True, reverse=True)
    assert out.data == [5, 3, 0]
    assert "toybox" in ur.registered_backends()


def test_register_backend_rejects_non_backends() -> None:
    with pytest.raises(ur.BackendError, match="Backend subclass"):
        ur.register_backend(object)  # type: ignore[arg-type]


def test_numpy_scalars_are_numpy_arrays() -> None:
    out = ur.sum(np.float32(2.5))
    assert isinstance(out, np.ndarray) and out.shape == () and out.dtype == np.float32


def test_full_numpy_reduction_returns_a_0d_array() -> None:
    out = ur.sum(np.ones((2, 2), dtype=np.int16))
    assert type(out) is np.ndarray and out.shape == () and out.dtype == np.int64


@pytest.mark.parametrize("dumps", ["pickle", "cloudpickle"])
@pytest.mark.parametrize(
    "name", ["numpy", "torch", "tensorflow", "jax", "array_api_strict", "dask", "cupy"]
)
def test_adapter_unpickles_as_the_registered_instance(name: str, dumps: str) -> None:
    # Task graphs hold the adapter, and dask.distributed pickles them (cloudpickle) to send them
    # to its worker processes. By value the dask adapter failed to load (its dtype table holds
    # the class of ml_dtypes' bfloat16 dtype, which has no importable name) and TF's and JAX's
    # did not pickle at all (they hold their framework's module).
    if name not in ur.available_backends():
        pytest.skip(f"{name} is not installed")
    mod = pytest.importorskip(dumps, reason="cloudpickle comes with dask")
    be = ur.get_backend(name)
    assert pickle.loads(mod.dumps(be)) is be


class _Unregistered(NumpyBackend):
    name = "numpy_unregistered"


def test_unregistered_adapter_unpickles_as_a_new_instance() -> None:
    be = _Unregistered()
    got = pickle.loads(pickle.dumps(be))
    assert type(got) is _Unregistered and got is not be
    assert got.name not in ur.registered_backends()  # unpickling registers nothing
