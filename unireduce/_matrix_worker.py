"""Run the ``unireduce matrix`` battery on ONE framework, natively, and print the cells as JSON.

``python -m unireduce._matrix_worker FRAMEWORK [--case GLOB ...]`` where FRAMEWORK is ``numpy``,
``torch``, ``tensorflow``, ``jax`` (``jax_enable_x64`` off) or ``jax_x64`` (on). Each runs in its
own process so that JAX's x64 flag, TensorFlow's start-up and a crash in one framework cannot
touch another. Every case runs in its own ``try``; the cell records what happened: dtype, shape
and value, or the exception class and the first line of its message, plus the first warning.

This module calls the frameworks' own functions (``np.sum``, ``torch.sum``, ``tf.reduce_sum``,
``jnp.sum``, ...), never unireduce's. It imports the framework only in :func:`main`.

>>> from unireduce._matrix_worker import encode_value
>>> encode_value([float("nan"), -0.0, 2**64 - 1])
['nan', -0.0, 18446744073709551615]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import re
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

from ._matrix_cases import Case, Dtype, Input, NpInt, Tensor, select

__all__ = ["FRAMEWORKS", "Native", "encode_value", "main", "run_cases"]

#: Framework ids the worker accepts.
FRAMEWORKS = ("numpy", "torch", "tensorflow", "jax", "jax_x64")

MESSAGE_CHARS = 80

#: TensorFlow prefixes eager errors with the kernel's node name; it says nothing about the error.
_TF_NODE = re.compile(r"^\{\{function_node [^}]*\}\}\s*")


def encode_value(v: Any) -> Any:
    """A JSON-safe copy of a Python value from ``tolist()``.

    NaN and infinities become the strings ``"nan"``, ``"inf"``, ``"-inf"``; complex numbers
    become ``repr`` strings such as ``"(2+0j)"``; ``-0.0`` stays ``-0.0``.
    """
    if isinstance(v, list | tuple):
        return [encode_value(e) for e in v]
    if isinstance(v, bool) or v is None or isinstance(v, int | str):
        return v
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(v, complex):
        return repr(v)
    raise TypeError(f"encode_value: cannot encode {type(v).__name__} {v!r}")


def _np_dtype(name: str) -> Any:
    import numpy as np

    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _np_input(x: Input) -> Any:
    import numpy as np

    if x.values is not None:
        return np.array(x.values, dtype=_np_dtype(x.dtype))
    assert x.shape is not None
    return np.full(x.shape, x.fill, dtype=_np_dtype(x.dtype))


def _python_list(x: Input) -> Any:
    def conv(v: Any) -> Any:
        return [conv(e) for e in v] if isinstance(v, tuple) else v

    return conv(x.values)


class Native:
    """One framework's own functions, named as its users call them."""

    id: ClassVar[str] = ""
    prefix: ClassVar[str] = ""
    #: operation -> the native function's name (None: the framework has no such function)
    names: ClassVar[Mapping[str, str | None]] = MappingProxyType({})
    #: NumPy keyword -> the framework's spelling
    renames: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def __init__(self) -> None:
        self.np = importlib.import_module("numpy")

    # --- inputs -------------------------------------------------------------------------------
    def make(self, a: Any, dtype: str) -> Any:
        """The framework's array holding NumPy array ``a`` of canonical dtype ``dtype``."""
        raise NotImplementedError

    def tensor(self, value: int | tuple[int, ...]) -> Any:
        """The framework's integer array of ``value`` (an ``axis`` given as an array)."""
        raise NotImplementedError

    def dtype(self, name: str) -> Any:
        raise NotImplementedError

    def tensor_expr(self, value: int | tuple[int, ...]) -> str:
        return f"{self.prefix}.asarray({list(value) if isinstance(value, tuple) else value})"

    def dtype_expr(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    # --- outputs ------------------------------------------------------------------------------
    def dtype_name(self, out: Any) -> str:
        return str(self.np.asarray(out).dtype.name)

    def to_numpy(self, out: Any) -> Any:
        return self.np.asarray(out)

    # --- calls --------------------------------------------------------------------------------
    def function(self, op: str) -> Any:
        raise NotImplementedError

    def arguments(self, case: Case) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        for key, value in case.kwargs:
            kw[self.renames.get(key, key)] = self.argument(value)
        return kw

    def argument(self, value: object) -> Any:
        if isinstance(value, Dtype):
            return self.dtype(value.name)
        if isinstance(value, NpInt):
            return self.np.int64(value.value)
        if isinstance(value, Tensor):
            return self.tensor(value.value)
        return value

    def expression(self, case: Case) -> str | None:
        """The native call as source text, e.g. ``torch.sum(x, dim=())``; None when absent."""
        fname = self.names.get(case.op)
        if fname is None:
            return None
        parts = ["x"]
        for key, value in case.kwargs:
            parts.append(f"{self.renames.get(key, key)}={self.argument_expr(value)}")
        return f"{fname}({', '.join(parts)})"

    def argument_expr(self, value: object) -> str:
        if isinstance(value, Dtype):
            return self.dtype_expr(value.name)
        if isinstance(value, NpInt):
            return f"np.int64({value.value})"
        if isinstance(value, Tensor):
            return self.tensor_expr(value.value)
        return repr(value)

    def versions(self) -> dict[str, str]:
        import numpy as np

        return {"numpy": np.__version__}

    def config(self) -> dict[str, object]:
        return {}


class NumpyNative(Native):
    id = "numpy"
    prefix = "np"
    names = MappingProxyType(
        {"sum": "np.sum", "cumsum": "np.cumsum", "cumulative_sum": "np.cumulative_sum"}
    )

    def make(self, a: Any, dtype: str) -> Any:
        return a

    def tensor(self, value: int | tuple[int, ...]) -> Any:
        return self.np.asarray(value)

    def dtype(self, name: str) -> Any:
        return _np_dtype(name)

    def dtype_expr(self, name: str) -> str:
        return "ml_dtypes.bfloat16" if name == "bfloat16" else f"np.{name}"

    def function(self, op: str) -> Any:
        return {
            "sum": self.np.sum,
            "cumsum": self.np.cumsum,
            "cumulative_sum": self.np.cumulative_sum,
        }[op]

    def versions(self) -> dict[str, str]:
        import ml_dtypes

        # NumPy's bfloat16 (and its accumulation) comes from ml_dtypes.
        return {**super().versions(), "ml_dtypes": ml_dtypes.__version__}


class TorchNative(Native):
    id = "torch"
    prefix = "torch"
    names = MappingProxyType({"sum": "torch.sum", "cumsum": "torch.cumsum", "cumulative_sum": None})
    renames = MappingProxyType({"axis": "dim", "keepdims": "keepdim"})

    def __init__(self) -> None:
        super().__init__()
        self.torch = importlib.import_module("torch")

    def make(self, a: Any, dtype: str) -> Any:
        if dtype == "bfloat16":  # torch.from_numpy cannot read ml_dtypes.bfloat16
            return self.torch.from_numpy(a.astype(self.np.float32)).to(self.torch.bfloat16)
        return self.torch.from_numpy(a)

    def tensor(self, value: int | tuple[int, ...]) -> Any:
        return self.torch.tensor(list(value) if isinstance(value, tuple) else value)

    def tensor_expr(self, value: int | tuple[int, ...]) -> str:
        return f"torch.tensor({list(value) if isinstance(value, tuple) else value})"

    def dtype(self, name: str) -> Any:
        return getattr(self.torch, name)

    def dtype_name(self, out: Any) -> str:
        return str(out.dtype).removeprefix("torch.")

    def to_numpy(self, out: Any) -> Any:
        out = out.detach().cpu()
        if out.dtype == self.torch.bfloat16:
            out = out.to(self.torch.float32)  # exact: every bfloat16 is a float32
        return out.numpy()

    def function(self, op: str) -> Any:
        return {"sum": self.torch.sum, "cumsum": self.torch.cumsum}[op]

    def versions(self) -> dict[str, str]:
        return {**super().versions(), "torch": self.torch.__version__}


class TensorFlowNative(Native):
    id = "tensorflow"
    prefix = "tf"
    names = MappingProxyType(
        {"sum": "tf.reduce_sum", "cumsum": "tf.math.cumsum", "cumulative_sum": None}
    )

    def __init__(self) -> None:
        super().__init__()
        self.tf = importlib.import_module("tensorflow")

    def make(self, a: Any, dtype: str) -> Any:
        return self.tf.constant(a)

    def tensor(self, value: int | tuple[int, ...]) -> Any:
        return self.tf.constant(list(value) if isinstance(value, tuple) else value)

    def tensor_expr(self, value: int | tuple[int, ...]) -> str:
        return f"tf.constant({list(value) if isinstance(value, tuple) else value})"

    def dtype(self, name: str) -> Any:
        return self.tf.as_dtype(name)

    def dtype_name(self, out: Any) -> str:
        return str(self.tf.as_dtype(out.dtype).name)

    def to_numpy(self, out: Any) -> Any:
        return self.np.asarray(out.numpy())

    def function(self, op: str) -> Any:
        return {"sum": self.tf.reduce_sum, "cumsum": self.tf.math.cumsum}[op]

    def versions(self) -> dict[str, str]:
        return {**super().versions(), "tensorflow": self.tf.__version__}


class JaxNative(Native):
    id = "jax"
    prefix = "jnp"
    names = MappingProxyType(
        {"sum": "jnp.sum", "cumsum": "jnp.cumsum", "cumulative_sum": "jnp.cumulative_sum"}
    )
    x64 = False

    def __init__(self) -> None:
        super().__init__()
        self.jax = importlib.import_module("jax")
        # Set the flag explicitly: a JAX_ENABLE_X64 in the caller's environment must not leak in.
        self.jax.config.update("jax_enable_x64", self.x64)
        self.jnp = importlib.import_module("jax.numpy")

    def make(self, a: Any, dtype: str) -> Any:
        return self.jnp.asarray(a)

    def tensor(self, value: int | tuple[int, ...]) -> Any:
        return self.jnp.asarray(list(value) if isinstance(value, tuple) else value)

    def dtype(self, name: str) -> Any:
        return getattr(self.jnp, name)

    def function(self, op: str) -> Any:
        return {
            "sum": self.jnp.sum,
            "cumsum": self.jnp.cumsum,
            "cumulative_sum": self.jnp.cumulative_sum,
        }[op]

    def versions(self) -> dict[str, str]:
        import jaxlib

        return {**super().versions(), "jax": self.jax.__version__, "jaxlib": jaxlib.__version__}

    def config(self) -> dict[str, object]:
        return {"jax_enable_x64": bool(self.jax.config.jax_enable_x64)}


class JaxX64Native(JaxNative):
    id: ClassVar[str] = "jax_x64"
    x64 = True


NATIVES: dict[str, type[Native]] = {
    "numpy": NumpyNative,
    "torch": TorchNative,
    "tensorflow": TensorFlowNative,
    "jax": JaxNative,
    "jax_x64": JaxX64Native,
}


def _message(exc: BaseException) -> str:
    text = _TF_NODE.sub("", str(exc).strip())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return first[:MESSAGE_CHARS]


def _warning(w: warnings.WarningMessage) -> str:
    return f"{w.category.__name__}: {_message(Warning(str(w.message)))}"


def _scan_accuracy(native: Native, case: Case, out: Any) -> dict[str, object]:
    """The last prefix, and the first index whose prefix is not the correctly rounded exact one."""
    np = native.np
    x = case.x
    assert x.shape is not None and len(x.shape) == 1, "scan_accuracy cases are 1-D fills"
    # Every element equals fill rounded to the input dtype; k * that value is exact in float64
    # for the sizes used here (at most 24 + 20 significant bits).
    step = float(np.asarray(x.fill, dtype=_np_dtype(x.dtype)).astype(np.float64))
    exact = np.arange(1, x.shape[0] + 1, dtype=np.float64) * step
    got = native.to_numpy(out).astype(np.float64)
    best = exact.astype(_np_dtype(native.dtype_name(out))).astype(np.float64)
    bad = np.flatnonzero(got != best)
    return {
        "last": encode_value(float(got[-1])),
        "first_mismatch": int(bad[0]) if bad.size else None,
    }


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send anything the frameworks print (Python or C level) to stderr, keeping stdout clean."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run_case(native: Native, case: Case) -> dict[str, object]:
    """One cell: what ``native`` gives for ``case``."""
    expr = native.expression(case)
    if expr is None:
        return {"status": "n/a", "reason": f"{native.id} has no {case.op}"}
    cell: dict[str, object] = {"call": expr}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if case.x.python:
                x = _python_list(case.x)
                cell["input_dtype"] = None
            else:
                x = native.make(_np_input(case.x), case.x.dtype)
                cell["input_dtype"] = native.dtype_name(x)
            out = native.function(case.op)(x, **native.arguments(case))
            dtype = native.dtype_name(out)
            arr = native.to_numpy(out)
            cell.update(status="ok", dtype=dtype, shape=list(arr.shape))
            if case.summary == "scan_accuracy":
                cell["value"] = _scan_accuracy(native, case, out)
            else:
                if dtype in ("float16", "bfloat16"):
                    arr = arr.astype(native.np.float32)  # exact; tolist() gives Python floats
                cell["value"] = encode_value(arr.tolist())
        except Exception as exc:  # every exception is a result here
            cell.update(status="error", exception=type(exc).__name__, message=_message(exc))
    cell["warning"] = _warning(caught[0]) if caught else None
    return cell


def run_cases(framework: str, patterns: Sequence[str] | None = None) -> dict[str, object]:
    """Run the selected cases on ``framework``; the worker's JSON document."""
    native = NATIVES[framework]()
    cells = {case.id: run_case(native, case) for case in select(patterns)}
    return {
        "framework": framework,
        "versions": native.versions(),
        "config": native.config(),
        "cells": cells,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: print the worker's JSON document on stdout."""
    parser = argparse.ArgumentParser(prog="python -m unireduce._matrix_worker")
    parser.add_argument("framework", choices=FRAMEWORKS)
    parser.add_argument("--case", action="append", help="shell-style case id pattern")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stdout_to_stderr():
        doc = run_cases(args.framework, args.case)
    sys.stdout.write(json.dumps(doc, allow_nan=False))
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
