"""Overhead of ``ur.sum`` against each framework's native full sum, measured in one run.

For every installed backend and for 1-, 100- and 10**7-element float32 arrays it times the native
call (``np.sum``, ``torch.sum``, ``tf.reduce_sum``, ``jnp.sum``) and ``ur.sum`` on the same array,
interleaved (native batch, unireduce batch, repeated), and prints the medians, the time unireduce
adds and the ratio. Thread counts are pinned (``--threads``, default 1) before any framework is
imported: a busy 2-core machine otherwise makes the timings noise.

    python benchmarks/overhead.py            # all installed backends
    python benchmarks/overhead.py --backend numpy --backend torch --repeats 31

Targets (issue 2): at most 0.5 us added on NumPy and PyTorch small arrays, at most 1.03x native
on 10**7 elements.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

SIZES = (1, 100, 10**7)


def pin_threads(n: int) -> None:
    for var in (
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    ):
        os.environ[var] = str(n)
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(n)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = (
        f"{flags} --xla_cpu_multi_thread_eigen={'true' if n > 1 else 'false'} "
        f"intra_op_parallelism_threads={n}"
    ).strip()


def setups(
    threads: int,
) -> dict[str, Callable[[int], tuple[Any, Callable[[], Any], Callable[[], Any]]]]:
    import numpy as np

    import unireduce as ur

    def numpy_(n: int) -> tuple[Any, Callable[[], Any], Callable[[], Any]]:
        x = np.random.default_rng(0).random(n, dtype=np.float32)
        return x, lambda: np.sum(x), lambda: ur.sum(x)

    def torch_(n: int) -> tuple[Any, Callable[[], Any], Callable[[], Any]]:
        import torch

        torch.set_num_threads(threads)
        x = torch.rand(n, dtype=torch.float32)
        return x, lambda: torch.sum(x), lambda: ur.sum(x)

    def tensorflow_(n: int) -> tuple[Any, Callable[[], Any], Callable[[], Any]]:
        import tensorflow as tf

        x = tf.random.uniform([n], dtype=tf.float32)
        return x, lambda: tf.reduce_sum(x), lambda: ur.sum(x)

    def jax_(n: int) -> tuple[Any, Callable[[], Any], Callable[[], Any]]:
        import jax.numpy as jnp

        x = jnp.asarray(np.random.default_rng(0).random(n, dtype=np.float32))
        return (
            x,
            lambda: jnp.sum(x).block_until_ready(),
            lambda: ur.sum(x).block_until_ready(),
        )

    return {"numpy": numpy_, "torch": torch_, "tensorflow": tensorflow_, "jax": jax_}


def per_call(fn: Callable[[], Any], number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def measure(
    native: Callable[[], Any], ours: Callable[[], Any], n: int, repeats: int
) -> tuple[float, float]:
    native(), ours()  # warm caches (plan cache, framework dispatch)
    budget = 0.02 if n < 10**6 else 0.5  # seconds per batch
    t = per_call(native, 1)
    number = max(1, int(budget / max(t, 1e-7)))
    a, b = [], []
    for _ in range(repeats):
        a.append(per_call(native, number))
        b.append(per_call(ours, number))
    return statistics.median(a), statistics.median(b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backend", action="append", choices=("numpy", "torch", "tensorflow", "jax")
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    pin_threads(args.threads)
    backends = args.backend or [
        b for b in ("numpy", "torch", "tensorflow", "jax") if importlib.util.find_spec(b)
    ]
    table = setups(args.threads)
    print(
        f"ur.sum vs native full sum, float32, threads={args.threads}, "
        f"median of {args.repeats} batches"
    )
    print(
        f"{'backend':<11}{'elements':>10}{'native':>14}{'unireduce':>14}{'added':>12}{'ratio':>8}"
    )
    for name in backends:
        for n in SIZES:
            _, native, ours = table[name](n)
            t_native, t_ours = measure(native, ours, n, args.repeats)
            added = t_ours - t_native
            print(
                f"{name:<11}{n:>10}{t_native * 1e6:>12.3f}us{t_ours * 1e6:>12.3f}us"
                f"{added * 1e6:>10.3f}us{t_ours / t_native:>8.3f}"
            )
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
