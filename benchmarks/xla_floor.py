"""What one pass of the portable exact sum costs under ``jax.jit`` on the CPU, against the native
sum, measured in one run with thread counts pinned (issue 5: the portable path's target is 5x the
native sum under the framework's JIT compiler).

The portable float-only sum of float32 data (``unireduce._exact._portable._row_terms``) reads the
data twice under XLA: a max and a min (the extraction's sigma), then the sums of
``q = (a + sigma) - sigma`` and of ``a - q``, with ``a`` the data widened to float64 and
``sigma`` a value computed at run time. This script times those passes one by one, and the
simpler passes below them, so the floor XLA's CPU code generator sets can be re-measured when
jax changes:

* ``native``: ``jnp.sum`` of the float32 data;
* ``widened``: ``jnp.sum`` of the data widened to float64 (the least a float64 pass costs);
* ``widened+const``: the sum of ``(a + c) - c`` for a constant ``c``;
* ``widened+runtime``: the same with ``c`` an argument (sigma is known only at run time);
* ``max`` and ``max+min``: the max alone and the max and min as one variadic reduction;
* ``q,r variadic``: the sums of ``q`` and ``a - q`` as one variadic reduction (``Backend.sums``);
* ``exact``: the whole portable exact sum (``_exact.sum(..., path="portable")``).

Usage::

    taskset -c 1 python benchmarks/xla_floor.py --sizes 1e7 --repeat 9

Run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from exact import _best, _pin


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e7", help="comma-separated element counts")
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    _pin(1)

    import jax
    import jax.numpy as jnp
    import numpy as np

    from unireduce import _exact
    from unireduce._registry import backend_of

    jax.config.update("jax_enable_x64", True)  # float64 work, as the portable path's own trace
    f64 = jnp.float64

    def q_r(a: Any, s: Any) -> Any:
        w = a.astype(f64)
        q = (w + s) - s
        add = lambda u, v: (u[0] + v[0], u[1] + v[1])  # noqa: E731
        return jax.lax.reduce((q, w - q), (f64(0), f64(0)), add, (0,))

    passes: dict[str, Callable[[Any, Any], Any]] = {
        "native": lambda a, s: jnp.sum(a),
        "widened": lambda a, s: jnp.sum(a.astype(f64)),
        "widened+const": lambda a, s: jnp.sum((a.astype(f64) + 2.0**30) - 2.0**30),
        "widened+runtime": lambda a, s: jnp.sum((a.astype(f64) + s) - s),
        "max": lambda a, s: jnp.max(a),
        "max+min": lambda a, s: jax.lax.reduce(
            (a, a),
            (jnp.float32(-np.inf), jnp.float32(np.inf)),
            lambda u, v: (jnp.maximum(u[0], v[0]), jnp.minimum(u[1], v[1])),
            (0,),
        ),
        "q,r variadic": q_r,
    }
    print(f"jax {jax.__version__}, one thread, float32 data, best of {args.repeat}")
    print(f"{'size':>10} {'pass':<16}{'ms':>9}{'x native':>10}")
    for n in (int(float(v)) for v in args.sizes.split(",")):
        x = jnp.asarray(np.random.default_rng(0).standard_normal(n).astype(np.float32))
        s = f64(2.0**30)
        be = backend_of(x)
        fns = dict(passes)
        fns["exact"] = lambda a, s, be=be: _exact.sum(
            be, a, None, False, "float32", path="portable"
        )
        base = 0.0
        for name, fn in fns.items():
            jf = jax.jit(fn)
            t = _best(lambda jf=jf, x=x, s=s: jf(x, s), args.repeat, jax.block_until_ready)
            base = base or t
            print(f"{n:>10} {name:<16}{t * 1e3:>9.2f}{t / base:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
