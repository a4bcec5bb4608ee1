"""Distributed helpers of ``ur.Sum``: ``torch.distributed``, JAX device axes and Dask workers.

A ``Sum`` state is one array whose elementwise sum is the state of the union of the streams (exact
mode: integer limbs on a fixed grid, so the sum is exact and its order does not matter; a carry
step afterwards, :func:`unireduce._exact._state.settle`, restores the limb bounds). Hence:

* ``torch.distributed``: ``all_reduce(SUM)`` of the state tensor (:func:`all_reduce`);
* JAX: ``jax.lax.psum`` of the state over a ``pmap``/``shard_map`` axis (:func:`psum`);
* Dask: each block's state is computed on a worker, the states are merged in a tree
  (:func:`dask_state`); ``Sum.update_state`` does this for a ``dask.array`` argument.

In exact mode every route gives, bit for bit, the result of one process on all the data.

>>> import numpy as np, dask.array as da, unireduce as ur
>>> m = ur.Sum()
>>> m.update_state(da.from_array(np.full(10, 0.1, dtype=np.float32), chunks=3))
>>> float(m.result())
1.0
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ._backend import Backend
from ._errors import BackendError, UnireduceValueError

if TYPE_CHECKING:
    from ._metric import Sum, SumState

__all__ = ["all_reduce", "dask_state", "is_dask", "psum"]

Array = Any


def is_dask(x: object) -> bool:
    """Whether ``x`` is a ``dask.array.Array`` (without importing Dask)."""
    da = sys.modules.get("dask.array")
    return da is not None and isinstance(x, da.Array)


def psum(acc: Array, axis_name: Any) -> Array:
    """``acc`` summed over the JAX mapped axis ``axis_name`` (inside ``pmap``/``shard_map``)."""
    import jax

    return jax.lax.psum(acc, axis_name)


def all_reduce(fn: str, be: Backend, acc: Array, group: Any) -> Array:
    """``acc`` summed over the ``torch.distributed`` process ``group`` (default: the world)."""
    torch = sys.modules.get("torch")
    dist: Any = None
    if torch is not None:
        dist = torch.distributed
    if dist is None or not dist.is_available() or not dist.is_initialized():
        raise UnireduceValueError(
            f"{fn}: no torch.distributed process group is initialised; call "
            "torch.distributed.init_process_group first, or pass axis_name= inside "
            "jax.pmap/shard_map (Dask: update_state with a dask array merges worker states)"
        )
    assert torch is not None
    if be.name == "torch":
        t = acc.clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)
        return t
    if be.name == "numpy":
        import numpy as np

        t = torch.from_numpy(np.array(acc, copy=True))
        dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)
        return t.numpy()
    raise BackendError(f"{fn}: torch.distributed sync needs a torch or numpy Sum, not {be.name}")


def _block_state(config: tuple[str, str, str], values: Any, weights: Any) -> SumState:
    import numpy as np

    from ._metric import _init, _update

    dtype, precision, nan_strategy = config
    state = _init(dtype, precision=precision, nan_strategy=nan_strategy, backend="numpy")
    w = None if weights is None else np.asarray(weights)
    return _update(state, np.asarray(values), w, fn="Sum.update_state")


def _merge_pair(a: SumState, b: SumState) -> SumState:
    from ._metric import _merge

    return _merge(a, b, fn="Sum.update_state")


def dask_state(fn: str, metric: Sum, values: Any, weights: Any) -> SumState:
    """The state of a ``dask.array`` (weighted by ``weights``), computed block by block on the
    workers of the current Dask scheduler and merged there in a tree; a NumPy ``SumState``.

    Weights are matched to the values as Keras does, broadcast and rechunked like the values.
    """
    import dask
    import dask.array as da
    import numpy as np

    from ._metric import match_shapes

    v = values
    w = None
    if weights is not None:
        w = weights if is_dask(weights) else da.asarray(np.asarray(weights))
        if any(d != d for d in (*v.shape, *w.shape)):  # NaN: unknown chunk sizes
            raise UnireduceValueError(
                f"{fn}: dask arrays with unknown shapes; call compute_chunk_sizes()"
            )
        vs = tuple(int(d) for d in v.shape)
        ws = tuple(int(d) for d in w.shape)
        nv, nw = match_shapes(fn, vs, ws)
        v = v.reshape(nv) if nv != vs else v
        w = w.reshape(nw) if nw != ws else w
        w = da.broadcast_to(w, v.shape).rechunk(v.chunks)
    config = (metric.dtype, metric.precision, metric.nan_strategy)
    # Blocks by their own keys, the graphs not optimized: v.to_delayed() and w.to_delayed()
    # optimized each graph on its own, and even optimized together (dask.optimize) blockwise
    # fusion recomputed what the weights share with the values (dask 2026.8: each block of a
    # map_blocks ran twice for weights values + 1).
    vblocks = list(v.to_delayed(optimize_graph=False).ravel())
    wblocks: list[Any] = (
        [None] * len(vblocks) if w is None else list(w.to_delayed(optimize_graph=False).ravel())
    )
    parts = [
        dask.delayed(_block_state)(config, vb, wb) for vb, wb in zip(vblocks, wblocks, strict=True)
    ]
    while len(parts) > 1:
        nxt = [
            dask.delayed(_merge_pair)(a, b) for a, b in zip(parts[::2], parts[1::2], strict=False)
        ]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    (state,) = dask.compute(parts[0])
    return state
