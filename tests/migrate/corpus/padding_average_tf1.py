"""Padding-aware averages from a TF1-era model, kept on tf.compat.v1.

It still spells the arguments keep_dims and reduction_indices.
"""

import numpy as np
import tensorflow.compat.v1 as tf


def masked_average(values, mask):
    """Average over time of (batch, time) values, ignoring padding; shape (batch, 1)."""
    total = tf.reduce_sum(values * mask, reduction_indices=[1], keep_dims=True, name="total")
    count = tf.reduce_sum(mask, 1, keep_dims=True)
    return total / count


def average_pool(sequence, mask):
    """Mean of (batch, time, features) over the real time steps; mask is (batch, time, 1)."""
    summed = tf.reduce_sum(sequence * mask, 1, None, "summed")
    return summed / tf.math.reduce_sum(mask, reduction_indices=1)


def global_mean(values):
    """Mean of every element, keeping no dimension (keepdims=None is TF1's default)."""
    n = values.shape[0] * values.shape[1]
    return tf.reduce_sum(values, axis=None, keepdims=None) / n


_rng = np.random.default_rng(4)
_values = _rng.uniform(-1.0, 3.0, size=(5, 9)).astype(np.float32)
_mask = (np.arange(9)[None, :] < np.array([[9], [3], [1], [6], [8]])).astype(np.float32)
_sequence = _rng.normal(size=(5, 9, 3)).astype(np.float32)

CASES = [
    ("masked_average", (_values, _mask)),
    ("average_pool", (_sequence, _mask[:, :, None])),
    ("global_mean", (_values,)),
    ("global_mean", (_values.astype(np.float64),)),
]
