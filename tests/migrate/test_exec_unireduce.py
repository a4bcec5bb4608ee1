"""Proof by execution for the ``--to unireduce`` rewrite (``semantics="tensorflow"``, issue 3).

Every corpus program without the Sum metric, migrated ``--to unireduce``, runs on PyTorch,
TensorFlow and NumPy inputs and must give TensorFlow's results on every backend. (Programs with the
metric need ``ur.Sum``, issue 6: tests/migrate/test_exec_metric.py.)

Comparison as in test_exec_torch.py: same dtype and shape, integers exactly, floats within the
native error bound. Functions holding a call the migration leaves for the user (marked
``unireduce-migrate: could not migrate``) are not run.
"""

from __future__ import annotations

import ast

import pytest

from tests.migrate._harness import (
    CORPUS,
    Case,
    check_against_tensorflow,
    corpus_cases,
    migrated,
    migrated_module,
    uses_sum_metric,
)

BACKENDS = ["torch", "tensorflow", "numpy"]


def _left_for_the_user(program: str, to: str) -> set[str]:
    """Functions of the migrated program that still hold a call the migration could not do."""
    code = migrated(program, to).code
    lines = code.splitlines()
    out = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.FunctionDef):
            body = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            if "unireduce-migrate: could not migrate" in body:
                out.add(node.name)
    return out


def _runnable(cases: list[Case], to: str) -> list[Case]:
    return [c for c in cases if c.function not in _left_for_the_user(c.program, to)]


UR_CASES = _runnable(
    corpus_cases([p for p in CORPUS if not uses_sum_metric(p.stem)]), "unireduce"
)


def _module(program: str, to: str):
    result = migrated(program, to)
    if result.ok:
        return migrated_module(program, to)
    from tests.migrate._harness import load_module

    return load_module(result.code, f"<{program} migrated to {to}>")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", UR_CASES, ids=[c.id for c in UR_CASES])
def test_programs_migrated_to_unireduce_match_tensorflow(case, backend):
    fn = getattr(_module(case.program, "unireduce"), case.function)
    check_against_tensorflow(case, fn, backend)


def test_the_corpus_is_not_empty():
    assert len(UR_CASES) >= 70
