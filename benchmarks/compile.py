"""First-call cost of exact mode's portable path under ``jax.jit``: program size and compile time.

Eager JAX runs the portable path as one cached ``jax.jit`` program per operation, shape and
dtype (``JaxBackend.run_compiled``), so every new shape pays one XLA compilation. For each
dtype and operation this lowers the path for a small array and prints the lowered program's
size (lines of StableHLO text) and the seconds XLA takes to compile it: the whole path
(``sum``/``cumsum``) and its integer route alone (``int-sum``/``int-cumsum``, the fallback that
holds the loops over digit windows).

Usage::

    python benchmarks/compile.py --shape 8,200 --dtypes float32,float64

float64 turns JAX's x64 mode on (``jax_x64``); float32 runs with x64 off (``jax``) unless
``--x64`` is given. Timings are from a single compilation each (no cache: a fresh lowering).
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", default="8,200")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--x64", action="store_true", help="x64 on for float32 too")
    args = ap.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    dtypes = args.dtypes.split(",")

    import jax

    jax.config.update("jax_enable_x64", args.x64 or "float64" in dtypes)
    import numpy as np

    from unireduce import _exact
    from unireduce._exact import _portable
    from unireduce._exact._formats import FORMATS
    from unireduce._registry import backend_of

    print(f"jax={jax.__version__} shape={shape} x64={jax.config.jax_enable_x64}")
    print(f"{'dtype':8} {'op':11} {'HLO lines':>9} {'compile s':>9}")
    for dt in dtypes:
        x = jax.numpy.asarray(np.random.default_rng(0).standard_normal(shape).astype(dt))
        be = backend_of(x)
        x2 = x.reshape(-1, shape[-1])
        fns = {
            "sum": lambda a: _exact.sum(be, a, (len(shape) - 1,), False, dt, path="portable"),  # noqa: B023
            "cumsum": lambda a: _exact.cumsum(be, a, len(shape) - 1, dt, path="portable"),  # noqa: B023
            "int-sum": lambda a: _portable._float_rows_exact(be, a, FORMATS[dt], False),  # noqa: B023
            "int-cumsum": lambda a: _portable._float_rows_exact(be, a, FORMATS[dt], True),  # noqa: B023
        }
        for op, fn in fns.items():
            lowered = jax.jit(fn).lower(x2 if op.startswith("int") else x)
            lines = lowered.as_text().count("\n")
            t0 = time.perf_counter()
            lowered.compile()
            print(f"{dt:8} {op:11} {lines:9d} {time.perf_counter() - t0:9.2f}")


if __name__ == "__main__":
    main()
