"""Exact mode (issue 5) against native mode: time ratios per backend and path, threads pinned.

For each backend and path, dtype (float32, float64) and size (10**7, 10**8 by default) it times
``sum`` over all axes, over each axis of a 2-D array (1000 rows), and ``cumsum`` of the flat array
(``cumsum_axis1``: along the rows of the 2-D array), and prints best-of-``--repeat`` times of
native and exact mode and their ratio. Paths:

* ``host``: the fused Numba kernel on the zero-copy view of a CPU array (``--threads`` threads);
  for the backend names ``torch.compile``, ``jax.jit`` and ``jax.jit_x64``, inside the compiled
  function (the op ``unireduce::host``; the XLA FFI call ``unireduce_<op>_<dtype>``), which CPU
  data takes there by default;
* ``portable``: the framework's array ops, eager (numpy/torch) or under the JIT compiler
  (``jax.jit``, ``tf.function(jit_compile=True)``, and ``torch.compile(fullgraph=True)`` with
  Inductor for the backend name ``torch.compile``; a plain ``tf.function``, TF's graph
  executor, for ``tensorflow.graph``); native is timed the same way. The backend
  name ``jax_x64`` runs JAX with x64 on for every dtype (``jax`` turns it on for float64 only);
* ``auto``: whatever route exact mode picks by default (for dask: the host kernels block by
  block, or per block and then across blocks, see below);
* ``eager``: the portable path called eagerly, outside any JIT compiler, as a user of GPU/TPU
  arrays calls it (eager JAX runs it as one cached ``jax.jit`` program,
  ``JaxBackend.run_compiled``); native eager too.

The backend name ``dask`` chunks the flat array in 10 and the 2-D array in blocks of 100 whole
rows: sums over axis 1 and ``cumsum_axis1`` then run the host kernels block by block
(``DaskBackend.host_call``); sums over split axes run them per block and then across blocks
under ``auto`` (``host`` fails there: it has no fallback), the flat cumsum the portable path;
times include ``compute()``.

Usage::

    python benchmarks/exact.py --sizes 1e7 --backends numpy,jax --threads 1

Run on an otherwise idle machine; 10**8 float64 needs 800 MB per array.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any


def _pin(threads: int) -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["XLA_FLAGS"] = (
        f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
        f"intra_op_parallelism_threads={threads}"
    )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _best(f: Callable[[], Any], repeat: int, sync: Callable[[Any], Any]) -> float:
    sync(f())  # warm-up (compiles)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        sync(f())
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e7,1e8", help="comma-separated element counts")
    ap.add_argument("--backends", default="numpy,torch,tensorflow,jax")
    ap.add_argument("--paths", default="host,portable")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--ops", default="sum_all,sum_axis0,sum_axis1,cumsum")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    _pin(args.threads)

    import numba
    import numpy as np

    numba.set_num_threads(args.threads)
    from unireduce import _exact
    from unireduce._registry import backend_of

    sizes = [int(float(s)) for s in args.sizes.split(",")]
    print(f"threads={args.threads} numba={numba.__version__} numpy={np.__version__}")
    print(
        f"{'backend':<17}{'path':<9}{'dtype':<8}{'size':>10} {'op':<10}"
        f"{'native ms':>11}{'exact ms':>11}{'ratio':>8}"
    )
    for bname in args.backends.split(","):
        conv, sync, jit, native = _framework(bname, args.threads)
        for dt in args.dtypes.split(","):
            if bname in ("jax", "jax.jit") and dt == "float64":
                import jax

                jax.config.update("jax_enable_x64", True)
            for n in sizes:
                host = np.random.default_rng(0).standard_normal(n).astype(dt)
                flat = conv(host)
                grid = conv(host.reshape(1000, n // 1000))
                be = backend_of(flat)
                for path in args.paths.split(","):
                    kind: Any = "portable" if path == "eager" else path
                    for op in args.ops.split(","):
                        x, axes = (
                            (flat, None)
                            if op in ("sum_all", "cumsum")
                            else (grid, (0,) if op == "sum_axis0" else (1,))
                        )
                        if op.startswith("cumsum"):
                            ax = 0 if op == "cumsum" else 1

                            def ex(a: Any) -> Any:
                                return _exact.cumsum(be, a, ax, dt, path=kind)  # noqa: B023

                            def nat(a: Any) -> Any:
                                return native["cumsum"](a, ax)  # noqa: B023
                        else:

                            def ex(a: Any) -> Any:
                                return _exact.sum(be, a, axes, False, dt, path=kind)  # noqa: B023

                            def nat(a: Any) -> Any:
                                return native["sum"](a, axes)  # noqa: B023

                        if jit is not None and (path == "portable" or bname in IN_JIT):
                            ex, nat = jit(ex), jit(nat)
                        try:
                            tn = _best(lambda: nat(x), args.repeat, sync)  # noqa: B023
                            te = _best(lambda: ex(x), args.repeat, sync)  # noqa: B023
                        except Exception as e:  # report and go on (memory, unsupported)
                            print(
                                f"{bname:<17}{path:<9}{dt:<8}{n:>10} {op:<10} failed: "
                                f"{type(e).__name__}: {str(e)[:80]}"
                            )
                            continue
                        print(
                            f"{bname:<17}{path:<9}{dt:<8}{n:>10} {op:<10}"
                            f"{tn * 1e3:>11.2f}{te * 1e3:>11.2f}{te / tn:>8.2f}",
                            flush=True,
                        )


IN_JIT = ("torch.compile", "jax.jit", "jax.jit_x64")  # host path timed inside the compiled call


def _framework(name: str, threads: int) -> tuple[Any, Any, Any, dict[str, Any]]:
    """(convert from NumPy, block until done, JIT wrapper or None, native sum/cumsum)."""
    import numpy as np

    if name == "numpy":
        return (
            lambda a: a,
            lambda r: r,
            None,
            {"sum": lambda a, ax: np.add.reduce(a, axis=ax), "cumsum": np.cumsum},
        )
    if name == "dask":
        import dask
        import dask.array as da

        dask.config.set(scheduler="threads", num_workers=threads)
        return (
            lambda a: da.from_array(a, chunks=a.shape[0] // 10 if a.ndim == 1 else (100, -1)),
            lambda r: r.compute(),
            None,
            {"sum": lambda a, ax: da.sum(a, axis=ax), "cumsum": lambda a, ax: da.cumsum(a, ax)},
        )
    if name in ("torch", "torch.compile"):
        import torch

        torch.set_num_threads(threads)

        def compiled(f: Callable[..., Any]) -> Any:
            torch._dynamo.reset()  # one function object per op: no recompile limit
            return torch.compile(f, fullgraph=True)  # Inductor

        return (
            torch.from_numpy,
            lambda r: r,
            compiled if name == "torch.compile" else None,
            {
                "sum": lambda a, ax: a.sum() if ax is None else a.sum(dim=ax),
                "cumsum": lambda a, ax: torch.cumsum(a, ax),
            },
        )
    if name in ("tensorflow", "tensorflow.graph"):
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass
        return (
            tf.constant,
            lambda r: r.numpy(),
            lambda f: tf.function(f, jit_compile=name == "tensorflow", autograph=False),
            {
                "sum": lambda a, ax: tf.reduce_sum(a, axis=None if ax is None else list(ax)),
                "cumsum": lambda a, ax: tf.math.cumsum(a, ax),
            },
        )
    if name in ("jax", "jax_x64", "jax.jit", "jax.jit_x64"):
        import jax
        import jax.numpy as jnp

        if name.endswith("_x64"):  # float64 work for float32 data too (exact cumsum's float route)
            jax.config.update("jax_enable_x64", True)

        return (
            jnp.asarray,
            lambda r: r.block_until_ready(),
            jax.jit,
            {"sum": lambda a, ax: jnp.sum(a, axis=ax), "cumsum": lambda a, ax: jnp.cumsum(a, ax)},
        )
    raise SystemExit(f"unknown backend {name}")


if __name__ == "__main__":
    main()
