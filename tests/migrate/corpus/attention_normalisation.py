"""Renormalising attention weights after masking, as in a hand-written TF attention layer.

The weights are the exponentiated scores (computed upstream), shaped (batch, heads, query, key).
"""

import numpy as np
from tensorflow.math import reduce_sum as rs


def renormalise(weights, key_mask):
    """Zero the padded keys, then make each query's weights sum to one again."""
    masked = weights * key_mask
    return masked / rs(masked, axis=-1, keepdims=True)


def renormalise_positional(weights):
    """The same with positional arguments: axis -1, keepdims True."""
    return weights / rs(weights, -1, True)


def head_mass(weights):
    """Total attention mass of each head (summed over queries and keys)."""
    return rs(weights, axis=(2, 3))


_rng = np.random.default_rng(3)
_weights = np.exp(_rng.normal(size=(2, 4, 5, 7))).astype(np.float32)
_key_mask = (np.arange(7) < 5).astype(np.float32)[None, None, None, :]

CASES = [
    ("renormalise", (_weights, _key_mask)),
    ("renormalise", (_weights.astype(np.float64), _key_mask.astype(np.float64))),
    ("renormalise_positional", (_weights,)),
    ("head_mass", (_weights,)),
]
