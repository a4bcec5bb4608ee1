"""Keep TensorFlow's logging quiet; the corpus programs are data, not tests."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The corpus programs are data for the tests, not tests.
collect_ignore_glob = ["corpus/*"]
