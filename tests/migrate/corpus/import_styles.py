"""One reduction per import style a TF code base mixes over the years."""

import numpy as np
import tensorflow
import tensorflow as tf
import tensorflow.compat.v1 as tf1
import tensorflow.compat.v2 as tf2
from tensorflow import math as tfm
from tensorflow import reduce_sum
from tensorflow.compat import v1
from tensorflow.math import cumsum as cs
from tensorflow.math import reduce_sum as rs


def every_style(x):
    """The same row sums computed through every import style, plus two scans."""
    return (
        tf.reduce_sum(x, 1),
        tf.math.reduce_sum(x, axis=1),
        tensorflow.reduce_sum(x, axis=1),
        tf1.reduce_sum(x, reduction_indices=1),
        tf2.reduce_sum(input_tensor=x, axis=1),
        tfm.reduce_sum(x, 1),
        reduce_sum(x, axis=[1]),
        v1.math.reduce_sum(x, 1, keep_dims=False),
        rs(x, (1,)),
        cs(x, axis=1),
        tf.compat.v1.cumsum(x, 1, reverse=True),
    )


def shadowed(tf, x):
    """A parameter named tf is not TensorFlow: this call must be left alone."""
    return tf.reduce_sum(x)


class NumpyLike:
    """Stands in for a module with its own reduce_sum."""

    @staticmethod
    def reduce_sum(x):
        return np.sum(np.asarray(x))


def call_shadowed(x):
    return shadowed(NumpyLike, x)


_x = np.arange(12, dtype=np.int32).reshape(3, 4)

CASES = [
    ("every_style", (_x,)),
    ("every_style", (_x.astype(np.float32),)),
    ("call_shadowed", (_x,)),
]
