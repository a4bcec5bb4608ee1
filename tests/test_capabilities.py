"""The capabilities table: validated on construction, and docs/capabilities.md generated from it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import unireduce as ur
from unireduce._backend import Backend
from unireduce._capabilities import Capabilities, device_kind
from unireduce._registry import _CLASSES, get_backend

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "gen_capabilities.py"
PAGE = ROOT / "docs" / "capabilities.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_capabilities", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_page_is_up_to_date() -> None:
    assert PAGE.read_text(encoding="utf-8") == _generator().render(), (
        "docs/capabilities.md is stale: run `python docs/gen_capabilities.py`"
    )


def test_check_flag_fails_on_a_stale_page(tmp_path: Path) -> None:
    gen = _generator()
    gen.PAGE = tmp_path / "capabilities.md"
    gen.PAGE.write_text("stale\n", encoding="utf-8")
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0


def test_check_flag_passes_on_the_committed_page() -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_generating_the_page_imports_no_framework() -> None:
    code = (
        "import runpy, sys; mod = runpy.run_path(sys.argv[1]); mod['render'](); "
        "print(sorted(m for m in ('torch', 'tensorflow', 'jax', 'dask') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(SCRIPT)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "field, value",
    [("dtypes", frozenset({"float8"})), ("devices", ("gpu",)), ("jit", ("numba.jit",))],
)
def test_unknown_names_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError, match="unknown names"):
        Capabilities(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name, kind",
    [
        ("cpu", "cpu"),
        ("cuda:1", "cuda"),
        ("/job:localhost/replica:0/task:0/device:GPU:0", "cuda"),
        ("/device:CPU:0", "cpu"),
        ("TPU_0", "tpu"),
        ("mps", "mps"),
    ],
)
def test_device_kind(name: str, kind: str) -> None:
    assert device_kind(name) == kind


def test_every_registered_adapter_declares_capabilities_on_its_class() -> None:
    ur.registered_backends()
    own = {n: c for n, c in _CLASSES.items() if c.__module__.startswith("unireduce.backends.")}
    assert {"numpy", "torch", "tensorflow", "jax", "array_api_strict", "dask"} <= set(own)
    for name, cls in own.items():
        assert isinstance(cls.capabilities, Capabilities), name
        if name != "numpy":
            # Each framework adapter states its own table rather than inheriting the default.
            assert "capabilities" in vars(cls), name


def test_the_default_claims_cpu_every_dtype_and_nothing_else() -> None:
    caps = Backend.capabilities
    assert caps.devices == ("cpu",) and caps.jit == () and caps.flushes_subnormals == ()
    assert len(caps.dtypes) == 15
    assert caps.no_float64 == () and caps.has_float64_on("cpu")


def test_no_float64_names_known_device_kinds() -> None:
    assert not Capabilities(no_float64=("tpu",)).has_float64_on("/device:TPU:0")
    assert Capabilities(no_float64=("tpu",)).has_float64_on("cuda:0")
    with pytest.raises(ValueError, match="unknown names \\['gpu'\\]"):
        Capabilities(no_float64=("gpu",))


@pytest.mark.parametrize(
    "backend, flushes", [("tensorflow", True), ("jax", True), ("torch", False)]
)
def test_declared_flushing_matches_the_framework(backend: str, flushes: bool) -> None:
    """Measured here: a subnormal float32 sum is zero exactly where flushing is declared."""
    import numpy as np

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    pytest.importorskip(backend)
    x = np.array([1e-40, 2e-40], dtype=np.float32)  # subnormal in float32
    if backend == "tensorflow":
        import tensorflow as tf

        got = float(tf.reduce_sum(tf.constant(x)).numpy())
    elif backend == "jax":
        import jax.numpy as jnp

        got = float(jnp.sum(jnp.asarray(x)))
    else:
        import torch

        got = float(torch.sum(torch.from_numpy(x)))
    assert (got == 0.0) is flushes
    # get_backend loads the entry points: _CLASSES holds a backend only once something loaded
    # it in this process (with -n 2 this test's worker may not have).
    assert get_backend(backend).capabilities.flushes_subnormals_on("cpu") is flushes
