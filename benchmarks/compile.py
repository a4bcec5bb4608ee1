"""First-call cost of exact mode's portable path under a JIT compiler: program size, compile time.

Eager JAX runs the portable path as one cached ``jax.jit`` program per operation, shape and
dtype (``JaxBackend.run_compiled``), so every new shape pays one XLA compilation; so does every
new shape in a ``tf.function``. For each dtype and operation this compiles the path for a small
array: the whole path (``sum``/``cumsum``) and its integer route alone (``int-sum``/
``int-cumsum``, the fallback holding the loops over digit windows). Printed:

* ``jax``: lines of the lowered StableHLO text and the seconds XLA takes to compile it;
* ``tensorflow``: seconds to the first result of a fresh ``tf.function`` (tracing, compiling
  and one run) with ``jit_compile=True`` (``xla``) and without (``graph``);
* with ``--run``, also the best of three later calls in milliseconds.

``--data range`` draws values spanning 2000 binades (float64; 240 for float32), which makes the
integer route add every digit window; ``normal`` (the default) needs a few.

Usage::

    python benchmarks/compile.py --backends jax,tensorflow --shape 8,200 --dtypes float32,float64
    python benchmarks/compile.py --backends tensorflow --shape 10,100000 --dtypes float64 --run

JAX: float64 turns x64 mode on; float32 alone runs with x64 off unless ``--x64`` is given. Off
TPUs the whole path (``sum``/``cumsum``) works in float64 with x64 off too (``backends/jax.py``
``_work``); ``int-sum``/``int-cumsum`` call the integer route directly, so with x64 off they
measure the int32 lanes a TPU's program uses. One measurement each, nothing cached: run on an
idle core (``taskset -c 1``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any


def _fns(be: Any, shape: tuple[int, ...], dt: str) -> dict[str, Callable[[Any], Any]]:
    from unireduce import _exact
    from unireduce._exact import _portable
    from unireduce._exact._formats import FORMATS

    last = len(shape) - 1
    return {
        "sum": lambda a: _exact.sum(be, a, (last,), False, dt, path="portable"),
        "cumsum": lambda a: _exact.cumsum(be, a, last, dt, path="portable"),
        "int-sum": lambda a: _portable._float_rows_exact(be, a, FORMATS[dt], False),
        "int-cumsum": lambda a: _portable._float_rows_exact(be, a, FORMATS[dt], True),
    }


def _data(shape: tuple[int, ...], dt: str, kind: str) -> Any:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    if kind == "range":
        span = 1000 if dt == "float64" else 120
        x = x * 2.0 ** rng.integers(-span, span, shape)
    return x.astype(dt)


def _best_ms(f: Callable[[], Any]) -> float:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def _jax(shape: tuple[int, ...], dtypes: list[str], x64: bool, kind: str, run: bool) -> None:
    import jax

    from unireduce._registry import backend_of

    jax.config.update("jax_enable_x64", x64 or "float64" in dtypes)
    print(f"jax={jax.__version__} shape={shape} x64={jax.config.jax_enable_x64} data={kind}")
    print(f"{'dtype':8} {'op':11} {'HLO lines':>9} {'compile s':>9}" + (" run ms" if run else ""))
    for dt in dtypes:
        x = jax.numpy.asarray(_data(shape, dt, kind))
        x2 = x.reshape(-1, shape[-1])
        for op, fn in _fns(backend_of(x), shape, dt).items():
            arg = x2 if op.startswith("int") else x
            lowered = jax.jit(fn).lower(arg)
            lines = lowered.as_text().count("\n")
            t0 = time.perf_counter()
            compiled = lowered.compile()
            row = f"{dt:8} {op:11} {lines:9d} {time.perf_counter() - t0:9.2f}"
            if run:
                compiled(arg).block_until_ready()
                row += f" {_best_ms(lambda: compiled(arg).block_until_ready()):6.1f}"  # noqa: B023
            print(row)


def _tensorflow(shape: tuple[int, ...], dtypes: list[str], kind: str, run: bool) -> None:
    import tensorflow as tf

    from unireduce._registry import backend_of

    print(f"tensorflow={tf.__version__} shape={shape} data={kind}")
    head = f"{'dtype':8} {'op':11} {'xla s':>9} {'graph s':>9}"
    print(head + (f" {'xla ms':>9} {'graph ms':>9}" if run else ""))
    for dt in dtypes:
        x = tf.constant(_data(shape, dt, kind))
        x2 = tf.reshape(x, (-1, shape[-1]))
        for op, fn in _fns(backend_of(x), shape, dt).items():
            arg = x2 if op.startswith("int") else x
            secs, ms = [], []
            for jit in (True, False):
                # As unireduce's public functions: not converted by AutoGraph.
                f = tf.function(tf.autograph.experimental.do_not_convert(fn), jit_compile=jit)
                t0 = time.perf_counter()
                f(arg).numpy()
                secs.append(time.perf_counter() - t0)
                if run:
                    ms.append(_best_ms(lambda: f(arg).numpy()))  # noqa: B023
            extra = f" {ms[0]:9.1f} {ms[1]:9.1f}" if run else ""
            print(f"{dt:8} {op:11} {secs[0]:9.2f} {secs[1]:9.2f}{extra}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="jax")
    ap.add_argument("--shape", default="8,200")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--x64", action="store_true", help="JAX: x64 on for float32 too")
    ap.add_argument("--data", default="normal", choices=["normal", "range"])
    ap.add_argument("--run", action="store_true", help="also time three later calls")
    args = ap.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    dtypes = args.dtypes.split(",")
    for name in args.backends.split(","):
        if name == "jax":
            _jax(shape, dtypes, args.x64, args.data, args.run)
        else:
            _tensorflow(shape, dtypes, args.data, args.run)


if __name__ == "__main__":
    main()
