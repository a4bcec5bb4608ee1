"""Plain-PyTorch helpers that ``unireduce migrate --to torch`` writes into a migrated module.

They give ``tf.math.reduce_sum`` and ``tf.math.cumsum`` results for every run-time value, which a
bare ``torch.sum``/``torch.cumsum`` call does not (measured with torch 2.13 and TF 2.21):

- TF keeps the input dtype and wraps integers; torch promotes them to int64. ``dtype=x.dtype``
  fixes that for int8..int64 and uint8, but torch has no sum, cumsum or flip kernel for uint16,
  uint32 and uint64 (``NotImplementedError: "sum_cpu" not implemented for 'UInt16'``,
  pytorch#58734), so those go through int64 and back: the same modular arithmetic.
- TF refuses bool; ``torch.sum(b, dtype=torch.bool)`` returns a logical OR, so the helpers raise
  ``TypeError`` instead.
- ``axis=[]``/``()`` reduces nothing in TF; torch's ``dim=()`` reduces everything
  (pytorch#29137).
- TF reduces a 0-d tensor only with an empty axis and cannot scan one; torch accepts both.
- ``tf.math.cumsum`` has ``exclusive`` and ``reverse``; ``torch.cumsum`` has neither.
- TF converts Python lists by stacking the tensors in them and makes int32 from Python ints;
  ``torch.as_tensor`` makes int64 and drops the gradient of tensors inside a list.

The texts below are inserted verbatim (only the helpers a module needs), after its imports.

>>> from unireduce.migrate._helpers import HELPERS, helper_closure
>>> helper_closure({"_tf_cumsum"})
['_tf_to_tensor', '_tf_cumsum']
"""

from __future__ import annotations

from typing import Final

__all__ = ["HELPERS", "HELPER_NAMES", "helper_closure"]

_TO_TENSOR: Final = '''\
def _tf_to_tensor(value):
    """Convert like tf.convert_to_tensor (written by `unireduce migrate`, docs/migration.md).

    Tensors pass through; a list of tensors is stacked, keeping gradients; NumPy arrays keep
    their dtype; Python ints become int32 when they fit (torch.as_tensor would make int64).
    """
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value):
        return torch.stack([torch.as_tensor(v) for v in value])
    tensor = torch.as_tensor(value)
    if tensor.dtype == torch.int64 and not hasattr(value, "dtype") and tensor.numel() > 0:
        if -(2**31) <= int(tensor.min()) and int(tensor.max()) < 2**31:
            tensor = tensor.to(torch.int32)
    return tensor
'''

_REDUCE_SUM: Final = '''\
def _tf_reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    """tf.math.reduce_sum in plain PyTorch (written by `unireduce migrate`, docs/migration.md).

    Keeps the input dtype, integers wrapping as in TF (torch.sum alone gives int64); refuses
    bool as TF does; axis=[] or () reduces nothing (torch's dim=() reduces all, pytorch#29137).
    """
    x = _tf_to_tensor(input_tensor)
    if x.dtype == torch.bool:
        raise TypeError(
            "reduce_sum: TensorFlow refuses bool input; cast it, e.g. x.to(torch.int32)"
        )
    dims = None
    if axis is not None:
        axis = axis.tolist() if hasattr(axis, "tolist") else axis
        dims = [axis] if isinstance(axis, int) else list(axis)
        if not dims:
            return x.clone()
        if x.dim() == 0:
            raise IndexError(f"reduce_sum: axis {dims} is out of range for a 0-d tensor")
    if x.dtype in (torch.uint16, torch.uint32, torch.uint64):
        # No torch sum kernel for these (pytorch#58734): sum in int64, wrap back (same modulo).
        wide = x.view(torch.int64) if x.dtype == torch.uint64 else x.to(torch.int64)
        total = torch.sum(wide, dim=dims, keepdim=bool(keepdims))
        return total.view(torch.uint64) if x.dtype == torch.uint64 else total.to(x.dtype)
    return torch.sum(x, dim=dims, keepdim=bool(keepdims), dtype=x.dtype)
'''

_CUMSUM: Final = '''\
def _tf_cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """tf.math.cumsum in plain PyTorch (written by `unireduce migrate`, docs/migration.md).

    Keeps the input dtype, integers wrapping as in TF (torch.cumsum alone gives int64); refuses
    bool as TF does; scans axis 0 by default; spells out exclusive and reverse.
    """
    t = _tf_to_tensor(x)
    if t.dtype == torch.bool:
        raise TypeError(
            "cumsum: TensorFlow refuses bool input; cast it, e.g. x.to(torch.int32)"
        )
    if t.dim() == 0:
        raise IndexError("cumsum: TensorFlow cannot scan a 0-d tensor")
    axis = axis.tolist() if hasattr(axis, "tolist") else axis
    wide = t.dtype in (torch.uint16, torch.uint32, torch.uint64)
    y = t
    if wide:  # no torch cumsum/flip kernel for these (pytorch#58734): scan in int64, wrap back
        y = t.view(torch.int64) if t.dtype == torch.uint64 else t.to(torch.int64)
    if reverse:
        y = y.flip(axis)
    out = torch.cumsum(y, axis, dtype=y.dtype)
    if exclusive and out.shape[axis] > 0:
        # Shift by one, starting from 0 (out - y would round floats a second time).
        head = torch.zeros_like(out.narrow(axis, 0, 1))
        out = torch.cat([head, out.narrow(axis, 0, out.shape[axis] - 1)], dim=axis)
    if reverse:
        out = out.flip(axis)
    if wide:
        out = out.view(torch.uint64) if t.dtype == torch.uint64 else out.to(t.dtype)
    return out
'''

#: helper name -> (source, helpers it calls)
HELPERS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "_tf_to_tensor": (_TO_TENSOR, ()),
    "_tf_reduce_sum": (_REDUCE_SUM, ("_tf_to_tensor",)),
    "_tf_cumsum": (_CUMSUM, ("_tf_to_tensor",)),
}

#: The order helpers are written in.
HELPER_NAMES: Final = ("_tf_to_tensor", "_tf_reduce_sum", "_tf_cumsum")


def helper_closure(names: set[str]) -> list[str]:
    """The helpers needed for ``names`` (dependencies included), in writing order.

    >>> helper_closure({"_tf_reduce_sum", "_tf_cumsum"})
    ['_tf_to_tensor', '_tf_reduce_sum', '_tf_cumsum']
    """
    needed = set(names)
    for n in names:
        needed.update(HELPERS[n][1])
    return [n for n in HELPER_NAMES if n in needed]
