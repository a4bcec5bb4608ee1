"""Proof by execution: every corpus program runs under TensorFlow, its ``--to torch`` migration
under PyTorch on the same inputs, and the results agree (dtype, shape, integer values exactly,
float values within the native error bound of ``_harness.tolerance``).

Programs that use the Keras Sum metric need ``unireduce.Sum`` and run in test_exec_unireduce.py.
"""

from __future__ import annotations

import pytest

from tests.migrate._harness import (
    CORPUS,
    check_against_tensorflow,
    corpus_cases,
    framework_imports,
    migrated,
    migrated_module,
    uses_sum_metric,
)

TORCH_ONLY = [p for p in CORPUS if not uses_sum_metric(p.stem)]
CASES = corpus_cases(TORCH_ONLY)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_case_matches_tensorflow(case):
    fn = getattr(migrated_module(case.program, "torch"), case.function)
    check_against_tensorflow(case, fn, "torch")


@pytest.mark.parametrize("program", [p.stem for p in TORCH_ONLY])
def test_migrated_program_is_plain_pytorch(program):
    result = migrated(program, "torch")
    assert result.ok
    assert framework_imports(result.code) == []
    assert "import torch" in result.code
    assert "unireduce" not in result.code.replace("unireduce migrate", "").replace(
        "unireduce-migrate", ""
    )
    assert not [e for e in result.entries if e.kind == "out-of-scope"]


def test_corpus_has_programs_and_cases():
    assert len(TORCH_ONLY) >= 9
    assert len(CASES) >= 80
