"""Proof by execution for the corpus programs that use the Keras Sum metric (issue 6's ``ur.Sum``).

- Migrated ``--to torch``: the migrated code uses ``ur.Sum`` and must give Keras' results under
  PyTorch.
- Migrated ``--to unireduce``, run on PyTorch, TensorFlow and NumPy inputs: TensorFlow's results on
  every backend.

Comparison as in test_exec_torch.py: same dtype and shape, integers exactly, floats within the
native error bound. Functions holding a call the migration leaves for the user (marked
``unireduce-migrate: could not migrate``) are not run.
"""

from __future__ import annotations

import pytest

from tests.migrate._harness import (
    CORPUS,
    check_against_tensorflow,
    corpus_cases,
    migrated_or_loaded_module,
    runnable,
    uses_sum_metric,
)

BACKENDS = ["torch", "tensorflow", "numpy"]


METRIC_CASES = corpus_cases([p for p in CORPUS if uses_sum_metric(p.stem)])
UR_CASES = runnable(METRIC_CASES, "unireduce")


@pytest.mark.parametrize("case", METRIC_CASES, ids=[c.id for c in METRIC_CASES])
def test_metric_programs_migrated_to_torch_match_keras(case):
    fn = getattr(migrated_or_loaded_module(case.program, "torch"), case.function)
    check_against_tensorflow(case, fn, "torch")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", UR_CASES, ids=[c.id for c in UR_CASES])
def test_metric_programs_migrated_to_unireduce_match_tensorflow(case, backend):
    fn = getattr(migrated_or_loaded_module(case.program, "unireduce"), case.function)
    check_against_tensorflow(case, fn, backend)


def test_the_metric_corpus_is_not_empty():
    assert len(METRIC_CASES) >= 4
    assert len(UR_CASES) >= 4
