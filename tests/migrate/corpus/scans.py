"""Exclusive and reverse scans: rewards-to-go, suffix counts, CDFs and a generic scan helper."""

import numpy as np
import tensorflow as tf


def rewards_to_go(rewards):
    """Sum of the rewards from each step to the end of the episode (batch, time)."""
    return tf.math.cumsum(rewards, axis=1, reverse=True)


def tokens_after(mask):
    """How many real tokens follow each position (exclusive reverse scan)."""
    return tf.cumsum(mask, axis=1, exclusive=True, reverse=True)


def scan(x, axis, exclusive, reverse):
    """A scan whose options are only known at run time."""
    return tf.math.cumsum(x, axis, exclusive=exclusive, reverse=reverse)


def positional_options(x):
    """exclusive and reverse given positionally, as older code does."""
    return tf.cumsum(x, 0, True, True, "suffix")


def cdf(probabilities):
    """Cumulative distribution along the last axis."""
    return tf.math.cumsum(probabilities, axis=-1)


_rng = np.random.default_rng(6)
_rewards = _rng.normal(size=(3, 10)).astype(np.float32)
_mask = (np.arange(10)[None, :] < np.array([[10], [4], [0]])).astype(np.int32)
_x = _rng.integers(-20, 20, size=(4, 5)).astype(np.int32)
_probs = _rng.dirichlet(np.ones(16), size=3).astype(np.float32)

CASES = [
    ("rewards_to_go", (_rewards,)),
    ("rewards_to_go", (_rewards.astype(np.float64),)),
    ("tokens_after", (_mask,)),
    ("scan", (_x, 0, False, False)),
    ("scan", (_x, 1, True, False)),
    ("scan", (_x, -1, False, True)),
    ("scan", (_x, 0, True, True)),
    ("scan", (_x.astype(np.float32), np.int64(1), True, True)),
    ("scan", (_x[:, :0], 1, True, True)),  # empty scan axis
    ("scan", (_x.astype(np.complex64), 1, True, False)),
    ("positional_options", (_x,)),
    ("positional_options", (_x.astype(np.uint32),)),
    ("cdf", (_probs,)),
]
