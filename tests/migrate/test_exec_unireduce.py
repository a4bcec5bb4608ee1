"""Proof by execution for the ``--to unireduce`` rewrite (``semantics="tensorflow"``, issue 3).

Every corpus program without the Sum metric, migrated ``--to unireduce``, runs on PyTorch,
TensorFlow and NumPy inputs and must give TensorFlow's results on every backend. (Programs with the
metric need ``ur.Sum``, issue 6: tests/migrate/test_exec_metric.py.)

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


UR_CASES = runnable(corpus_cases([p for p in CORPUS if not uses_sum_metric(p.stem)]), "unireduce")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", UR_CASES, ids=[c.id for c in UR_CASES])
def test_programs_migrated_to_unireduce_match_tensorflow(case, backend):
    fn = getattr(migrated_or_loaded_module(case.program, "unireduce"), case.function)
    check_against_tensorflow(case, fn, backend)


def test_the_corpus_is_not_empty():
    assert len(UR_CASES) >= 70
