"""Running totals with the Keras Sum metric, in every spelling a code base uses."""

import keras
import numpy as np
import tensorflow as tf
from tensorflow.keras.metrics import Sum


def tokens_seen(batches, masks):
    """Real tokens over several batches, counted with a weighted Sum metric."""
    metric = tf.keras.metrics.Sum(name="tokens_seen")
    for values, mask in zip(batches, masks):
        metric.update_state(values, sample_weight=mask)
    return metric.result()


def total_loss(losses):
    """Total of per-batch losses in a float64 accumulator, then reset."""
    metric = keras.metrics.Sum("loss_total", tf.float64)
    for loss in losses:
        metric.update_state(loss)
    total = metric.result()
    metric.reset_state()
    return total, metric.result()


def call_style(values):
    """metric(values) updates and returns the running result."""
    metric = Sum()
    metric(values)
    return metric(values)


def tf_metrics_alias(values):
    return tf.metrics.Sum(dtype="float32")(values)


_rng = np.random.default_rng(10)
_batches = [np.ones((2, 5), dtype=np.float32) for _ in range(3)]
_masks = [
    (np.arange(5)[None, :] < _rng.integers(0, 6, size=(2, 1))).astype(np.float32) for _ in range(3)
]
_losses = [np.float64(v) for v in _rng.uniform(0, 3, size=4)]

CASES = [
    ("tokens_seen", (_batches, _masks)),
    ("total_loss", ([np.asarray(v) for v in _losses],)),
    ("call_style", (np.array([1.0, 3.0, 5.0, 7.0], dtype=np.float32),)),
    ("tf_metrics_alias", (np.array([0.5, 0.25], dtype=np.float32),)),
]
