"""Integer counters that live near their dtype's limits: hashes, checksums and event counters.

This code relies on TensorFlow keeping the input dtype and wrapping around, e.g. for a
32-bit rolling checksum; a migration that promotes to int64 silently changes the results.
"""

import numpy as np
import tensorflow


def bucket_total(counts):
    """Total of int32 per-bucket counters (wraps past 2**31 - 1, as the original did)."""
    return tensorflow.reduce_sum(counts)


def running_counter(increments):
    """Running value of an int32 counter (wraps as it passes 2**31 - 1)."""
    return tensorflow.math.cumsum(increments)


def histogram_totals(histograms):
    """Per-row totals of histograms stored in a compact unsigned dtype."""
    return tensorflow.reduce_sum(histograms, axis=1)


def byte_checksum(payload):
    """8-bit additive checksum of each packet: the uint8 sum, modulo 256 by construction."""
    return tensorflow.math.reduce_sum(payload, axis=-1)


_big = np.array([2**31 - 10, 7, 5, 100, -3], dtype=np.int32)
_rng = np.random.default_rng(7)
_hist = _rng.integers(0, 60000, size=(3, 40))
_payload = _rng.integers(0, 256, size=(4, 64)).astype(np.uint8)

CASES = [
    ("bucket_total", (_big,)),
    ("bucket_total", (np.full(3, 2**62, dtype=np.int64),)),
    ("running_counter", (_big,)),
    ("running_counter", (_big.astype(np.int16),)),
    ("histogram_totals", (_hist.astype(np.uint16),)),
    ("histogram_totals", (_hist.astype(np.uint32) * 100_000,)),
    ("histogram_totals", (_hist.astype(np.uint64) * (2**58),)),
    ("histogram_totals", (_hist.astype(np.int32),)),
    ("byte_checksum", (_payload,)),
]
