"""Token bookkeeping for a text batch: lengths, totals and per-position counts.

The attention mask arrives as an integer tensor (1 = token, 0 = padding) whose dtype depends on
the tokenizer: int32 from most, int64 from some, uint8 or int8 when memory matters.
"""

import numpy as np
from tensorflow import math as tfm


def sequence_lengths(attention_mask):
    """Number of real tokens in each sequence, in the mask's own dtype."""
    return tfm.reduce_sum(attention_mask, axis=1)


def total_tokens(attention_mask):
    """Real tokens in the whole batch."""
    return tfm.reduce_sum(attention_mask)


def tokens_per_position(attention_mask):
    """How many sequences are still running at each position, shaped (1, time)."""
    return tfm.reduce_sum(attention_mask, 0, keepdims=True)


def padding_fraction(attention_mask):
    """Fraction of padding positions, as float32 (the caller passes a float mask)."""
    size = attention_mask.shape[0] * attention_mask.shape[1]
    return 1.0 - tfm.reduce_sum(attention_mask) / size


_rng = np.random.default_rng(2)
_lengths = _rng.integers(0, 300, size=(6, 1))
_mask = (np.arange(300)[None, :] < _lengths).astype(np.int32)

CASES = [
    ("sequence_lengths", (_mask,)),
    ("sequence_lengths", (_mask.astype(np.int64),)),
    ("sequence_lengths", (_mask.astype(np.uint8),)),  # lengths above 255 wrap, as TF does
    ("sequence_lengths", (_mask.astype(np.int8),)),  # lengths above 127 wrap negative
    ("sequence_lengths", (_mask.astype(bool),)),  # TF refuses bool: the migration must too
    ("total_tokens", (_mask,)),
    ("total_tokens", (_mask.astype(np.int16),)),  # more than 32767 tokens: wraps
    ("tokens_per_position", (_mask,)),
    ("tokens_per_position", (_mask.astype(np.uint16),)),
    ("padding_fraction", (_mask.astype(np.float32),)),
]
