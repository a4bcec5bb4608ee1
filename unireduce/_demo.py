"""``unireduce demo``: the same calls on every installed framework, native result beside ours.

Each case runs the framework's own function (``np.sum``, ``torch.sum``, ``tf.reduce_sum``,
``jnp.sum``, ...) and the unireduce call on the same data, and prints dtype, shape and value (or
the exception) side by side, so the divergences unireduce removes are visible at a glance.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["add_arguments", "run"]

FRAMEWORKS = ("numpy", "torch", "tensorflow", "jax")


@dataclass(frozen=True)
class Case:
    title: str
    data: Any
    dtype: str
    native: dict[str, Callable[[Any, Any], Any]]  # framework -> fn(module, x)
    ours: Callable[[Any], Any]


def _cases() -> list[Case]:
    import unireduce as ur

    def sum_all(fw: str) -> Callable[[Any, Any], Any]:
        return {
            "numpy": lambda m, x: m.sum(x),
            "torch": lambda m, x: m.sum(x),
            "tensorflow": lambda m, x: m.reduce_sum(x),
            "jax": lambda m, x: m.numpy.sum(x),
        }[fw]

    every = {fw: sum_all(fw) for fw in FRAMEWORKS}
    m23 = [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    return [
        Case("sum of int8 [100, 100]", [100, 100], "int8", every, ur.sum),
        Case("sum of uint8 [200, 100]", [200, 100], "uint8", every, ur.sum),
        Case("sum of int32 [2**31-1, 1]", [2**31 - 1, 1], "int32", every, ur.sum),
        Case("sum of bool [T, T, F]", [True, True, False], "bool", every, ur.sum),
        Case(
            "sum over axis=() of a 2x3 matrix",
            m23,
            "float32",
            {
                "numpy": lambda m, x: m.sum(x, axis=()),
                "torch": lambda m, x: m.sum(x, dim=()),
                "tensorflow": lambda m, x: m.reduce_sum(x, axis=[]),
                "jax": lambda m, x: m.numpy.sum(x, axis=()),
            },
            lambda x: ur.sum(x, axis=()),
        ),
        Case(
            "cumsum of a 2x3 matrix, axis omitted",
            m23,
            "float32",
            {
                "numpy": lambda m, x: m.cumsum(x),
                "torch": lambda m, x: m.cumsum(x),
                "tensorflow": lambda m, x: m.math.cumsum(x),
                "jax": lambda m, x: m.numpy.cumsum(x),
            },
            lambda x: ur.cumsum(x),
        ),
        Case(
            "cumsum of int8 [100, 100] along axis 0",
            [100, 100],
            "int8",
            {
                "numpy": lambda m, x: m.cumsum(x, 0),
                "torch": lambda m, x: m.cumsum(x, 0),
                "tensorflow": lambda m, x: m.math.cumsum(x, 0),
                "jax": lambda m, x: m.numpy.cumsum(x, 0),
            },
            lambda x: ur.cumsum(x, 0),
        ),
        Case(
            "exclusive reverse cumsum of [1, 2, 3]",
            [1.0, 2.0, 3.0],
            "float32",
            {"tensorflow": lambda m, x: m.math.cumsum(x, exclusive=True, reverse=True)},
            lambda x: ur.cumsum(x, exclusive=True, reverse=True),
        ),
        Case(
            "reduce_sum of int8 [100, 100] (TensorFlow's rules everywhere)",
            [100, 100],
            "int8",
            every,
            ur.reduce_sum,
        ),
    ]


def _make(fw: str, mod: Any, data: Any, dtype: str) -> Any:
    import numpy as np

    a = np.array(data, dtype=dtype)
    if fw == "numpy":
        return a
    if fw == "torch":
        return mod.from_numpy(a)
    if fw == "tensorflow":
        return mod.constant(a)
    return mod.numpy.asarray(a)


def _describe(out: Any) -> str:
    import numpy as np

    if hasattr(out, "detach"):
        dtype = str(out.dtype).removeprefix("torch.")
        out = out.detach().cpu()
        arr = np.asarray(out.to(__import__("torch").int64) if "uint" in dtype else out)
    elif hasattr(out, "numpy") and not isinstance(out, np.ndarray):
        dtype = getattr(out.dtype, "name", str(out.dtype))
        arr = np.asarray(out.numpy() if callable(out.numpy) else out)
    else:
        arr = np.asarray(out)
        dtype = str(arr.dtype)
    value = arr.tolist()
    return f"{dtype} {tuple(arr.shape)} {value}"


def _call(fn: Callable[[], Any]) -> str:
    try:
        return _describe(fn())
    except Exception as exc:  # the point of the demo is to show them
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {msg[:60]}"


def _clip(text: str, width: int = 44) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--framework",
        action="append",
        choices=FRAMEWORKS,
        help="limit to these frameworks (repeatable; default: every installed one)",
    )


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    wanted = args.framework or [f for f in FRAMEWORKS if importlib.util.find_spec(f)]
    modules = {fw: importlib.import_module(fw) for fw in wanted}
    out = sys.stdout
    out.write(f"unireduce demo: frameworks {', '.join(wanted)}\n")
    width = max(len(f) for f in wanted)
    for case in _cases():
        out.write(f"\n## {case.title}\n")
        out.write(f"{'':{width}}  {'native':<44}  unireduce\n")
        for fw, mod in modules.items():
            x = _make(fw, mod, case.data, case.dtype)
            native_fn = case.native.get(fw)
            native = (
                _call(lambda n=native_fn, m=mod, x=x: n(m, x))  # type: ignore[misc]
                if native_fn
                else "(no such function)"
            )
            ours = _call(lambda x=x, f=case.ours: f(x))  # type: ignore[misc]
            mark = " " if native == ours else "*"
            out.write(f"{fw:<{width}} {mark}{_clip(native):<44}  {_clip(ours)}\n")
    out.write("\n* = the native result differs from unireduce's\n")
    return 0
