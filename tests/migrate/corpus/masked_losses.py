"""Sequence losses with padding masks, as written in a TF 2 training script.

Masks are float tensors (1.0 for real tokens, 0.0 for padding) prepared by the input pipeline.
"""

import numpy as np
import tensorflow as tf


def masked_mean_loss(per_token_loss, mask):
    """Mean loss over the real tokens of the whole batch."""
    return tf.reduce_sum(per_token_loss * mask) / tf.reduce_sum(mask)


def per_sequence_loss(per_token_loss, mask):
    """Mean loss of each sequence (padding ignored)."""
    numerator = tf.reduce_sum(per_token_loss * mask, axis=1)  # (batch,)
    denominator = tf.reduce_sum(mask, axis=1) + 1e-9
    return numerator / denominator


def label_smoothing_cross_entropy(log_probs, one_hot, epsilon):
    """Cross entropy against smoothed one-hot targets, one value per example."""
    num_classes = log_probs.shape[-1]
    targets = (1.0 - epsilon) * one_hot + epsilon / num_classes
    return -tf.math.reduce_sum(targets * log_probs, axis=-1, name="smoothed_ce")


def pooled_energy(features, weights):
    """Weighted energy of (batch, time, channels) features, kept broadcastable."""
    return tf.reduce_sum(features * features * weights, axis=[1, 2], keepdims=True)


def total_loss(main_loss, aux_loss, reg_losses):
    """Sum of the losses, auxiliary ones stacked the TF way (a Python list of tensors)."""
    return tf.reduce_sum([tf.reduce_sum(main_loss), 0.5 * tf.reduce_sum(aux_loss), reg_losses])


_rng = np.random.default_rng(1)
_loss = _rng.uniform(0.0, 5.0, size=(8, 24)).astype(np.float32)
_mask = (np.arange(24)[None, :] < _rng.integers(1, 25, size=(8, 1))).astype(np.float32)
_log_probs = np.log(_rng.dirichlet(np.ones(10), size=16)).astype(np.float32)
_one_hot = np.eye(10, dtype=np.float32)[_rng.integers(0, 10, size=16)]
_features = _rng.normal(size=(4, 12, 6)).astype(np.float32)
_weights = _rng.uniform(size=(4, 12, 1)).astype(np.float32)

CASES = [
    ("masked_mean_loss", (_loss, _mask)),
    ("masked_mean_loss", (_loss.astype(np.float64), _mask.astype(np.float64))),
    ("per_sequence_loss", (_loss, _mask)),
    ("label_smoothing_cross_entropy", (_log_probs, _one_hot, 0.1)),
    ("pooled_energy", (_features, _weights)),
    ("pooled_energy", (_features.astype(np.float64), _weights.astype(np.float64))),
    ("total_loss", (_loss, _loss[:2], np.float32(0.25))),
]
