"""Reductions whose axes are computed at run time, the classic source of axis=[] surprises."""

import numpy as np
import tensorflow as tf


def per_example_sum(x):
    """Sum over every axis but the batch axis; for a 1-D batch there is none: axis=[]."""
    return tf.reduce_sum(x, axis=list(range(1, len(x.shape))))


def reduce_over(x, axes):
    """Reduce over axes chosen by the caller (None, an int, a list, a tuple, an array...)."""
    return tf.reduce_sum(x, axis=axes)


def reduce_keep(x, axes, keep):
    """The same with keepdims chosen at run time."""
    return tf.reduce_sum(x, axes, keep)


def spatial_sum(x):
    """Sum over spatial axes of NHWC images, or of (N, C) features (no spatial axes at all)."""
    spatial_axes = tuple(range(1, len(x.shape) - 1))
    return tf.reduce_sum(x, axis=spatial_axes)


_rng = np.random.default_rng(8)
_x = _rng.normal(size=(3, 4, 5)).astype(np.float32)
_counts = _rng.integers(0, 100, size=(3, 4)).astype(np.int32)

CASES = [
    ("per_example_sum", (_x,)),
    ("per_example_sum", (_x[:, 0, 0],)),  # 1-D: axis=[] -> no reduction in TF
    ("per_example_sum", (_counts,)),
    ("reduce_over", (_x, [])),
    ("reduce_over", (_x, ())),
    ("reduce_over", (_counts, [])),
    ("reduce_over", (_x, None)),
    ("reduce_over", (_x, 1)),
    ("reduce_over", (_x, -1)),
    ("reduce_over", (_x, [0, 2])),
    ("reduce_over", (_x, (-1, 0))),
    ("reduce_over", (_x, np.array([1, 2], dtype=np.int32))),
    ("reduce_over", (_x, np.array([], dtype=np.int32))),
    ("reduce_over", (_x[0, 0, 0], [])),  # 0-d input, empty axis: allowed
    ("reduce_over", (_x[0, 0, 0], 0)),  # 0-d input, axis 0: TF raises
    ("reduce_over", (_x, [1, -2])),  # duplicate axis: TF raises
    ("reduce_keep", (_x, [], True)),
    ("reduce_keep", (_x, None, True)),
    ("reduce_keep", (_counts, [1], True)),
    ("spatial_sum", (_rng.normal(size=(2, 3, 3, 4)).astype(np.float32),)),
    ("spatial_sum", (_x[:, :, 0],)),  # (N, C): no spatial axes -> unreduced
]
