"""Position ids and ragged offsets built with cumulative sums (RoBERTa-style and packed batches)."""

import numpy as np
import tensorflow as tf
from tensorflow import cumsum


def roberta_position_ids(input_mask, padding_idx, past_length):
    """Positions counted from padding_idx + 1 over real tokens; padding keeps padding_idx."""
    incremental = (tf.math.cumsum(input_mask, axis=1) + past_length) * input_mask
    return incremental + padding_idx


def exclusive_positions(input_mask):
    """0-based position of each token among the real tokens before it."""
    return tf.math.cumsum(input_mask, axis=-1, exclusive=True) * input_mask


def row_offsets(row_lengths):
    """Start offset of each row in a packed (ragged) batch: an exclusive scan, default axis 0."""
    return cumsum(row_lengths, exclusive=True)


def row_limits(row_lengths):
    """End offset of each row (inclusive scan, axis omitted: TF scans axis 0)."""
    return cumsum(row_lengths)


_rng = np.random.default_rng(5)
_mask = (np.arange(12)[None, :] < _rng.integers(1, 13, size=(4, 1))).astype(np.int32)
_lengths = _rng.integers(0, 50, size=(7,)).astype(np.int64)

CASES = [
    ("roberta_position_ids", (_mask, 1, 0)),
    ("roberta_position_ids", (_mask.astype(np.int64), 1, 3)),
    ("exclusive_positions", (_mask,)),
    ("exclusive_positions", (_mask.astype(np.uint8),)),
    ("row_offsets", (_lengths,)),
    ("row_offsets", (_lengths.astype(np.int32),)),
    ("row_limits", (_lengths,)),
    ("row_limits", (np.stack([_lengths, _lengths]).astype(np.int32),)),  # 2-D: still axis 0
    ("row_limits", (_lengths.astype(bool),)),  # TF refuses bool
]
