"""Mixed-precision statistics: activations arrive as float16 (bfloat16 on TPU-style hosts)."""

import ml_dtypes
import numpy as np
import tensorflow as tf


def activation_energy(activations):
    """Per-example sum of squared float16 activations."""
    return tf.reduce_sum(activations * activations, axis=-1)


def cumulative_activation(activations):
    """Running sum along time of float16 or bfloat16 activations."""
    return tf.math.cumsum(activations, axis=1)


_rng = np.random.default_rng(9)
_act = _rng.uniform(0.0, 1.0, size=(4, 16)).astype(np.float16)

CASES = [
    ("activation_energy", (_act,)),
    ("cumulative_activation", (_act,)),
    ("cumulative_activation", (_act.astype(np.float32).astype(ml_dtypes.bfloat16),)),
    ("activation_energy", (_act.astype(np.float32).astype(ml_dtypes.bfloat16),)),
]
