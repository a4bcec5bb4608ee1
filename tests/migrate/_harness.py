"""Shared machinery of the migration tests: the corpus, running programs, comparing results.

Nothing here imports TensorFlow or PyTorch at import time; each function imports what it runs.
"""

from __future__ import annotations

import ast
import functools
import os
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unireduce.migrate import MigrationResult, migrate_source

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CORPUS_DIR = Path(__file__).parent / "corpus"
CORPUS = sorted(CORPUS_DIR.glob("*.py"))
FRAMEWORK_MODULES = ("tensorflow", "keras", "tf_keras")


@dataclass(frozen=True)
class Case:
    program: str
    index: int
    function: str

    @property
    def id(self) -> str:
        return f"{self.program}::{self.function}[{self.index}]"


def corpus_cases(programs: list[Path] | None = None) -> list[Case]:
    """The CASES of each corpus program, read from its source (nothing is imported)."""
    out = []
    for path in programs if programs is not None else CORPUS:
        tree = ast.parse(path.read_text("utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "CASES" for t in node.targets
            ):
                assert isinstance(node.value, ast.List)
                for i, elt in enumerate(node.value.elts):
                    assert isinstance(elt, ast.Tuple) and isinstance(elt.elts[0], ast.Constant)
                    out.append(Case(path.stem, i, str(elt.elts[0].value)))
    return out


@functools.cache
def migrated(program: str, to: str) -> MigrationResult:
    path = CORPUS_DIR / f"{program}.py"
    return migrate_source(path.read_text("utf-8"), to=to, filename=str(path))


def uses_sum_metric(program: str) -> bool:
    """Whether the program's torch migration needs unireduce.Sum."""
    return "ur.Sum(" in migrated(program, "torch").code


def framework_imports(code: str) -> list[str]:
    """Modules of TensorFlow or Keras imported anywhere in ``code``."""
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
    return [m for m in found if m.split(".")[0] in FRAMEWORK_MODULES]


def load_module(code: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = name
    exec(compile(code, name, "exec"), module.__dict__)
    return module


@functools.cache
def original_module(program: str) -> types.ModuleType:
    path = CORPUS_DIR / f"{program}.py"
    return load_module(path.read_text("utf-8"), str(path))


@functools.cache
def migrated_module(program: str, to: str) -> types.ModuleType:
    result = migrated(program, to)
    assert result.ok, [e.format() for e in result.entries if e.severity == "error"]
    return load_module(result.code, f"<{program} migrated to {to}>")


def case_data(case: Case) -> tuple[tuple[Any, ...], dict[str, Any]]:
    entry = original_module(case.program).CASES[case.index]
    args = entry[1]
    options = entry[2] if len(entry) > 2 else {}
    return args, options


# -- converting inputs --------------------------------------------------------------------------


def _map_arrays(value: Any, fn: Callable[[np.ndarray], Any]) -> Any:
    if isinstance(value, np.ndarray):
        return fn(value)
    if isinstance(value, list):
        return [_map_arrays(v, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(_map_arrays(v, fn) for v in value)
    return value


def to_tensorflow(value: Any) -> Any:
    import tensorflow as tf

    return _map_arrays(value, tf.constant)


def _torch_tensor(a: np.ndarray) -> Any:
    import torch

    if a.dtype.name == "bfloat16":  # ml_dtypes: torch.from_numpy does not know it
        return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
    return torch.from_numpy(a.copy())


def to_torch(value: Any) -> Any:
    return _map_arrays(value, _torch_tensor)


def to_backend(value: Any, backend: str) -> Any:
    if backend == "tensorflow":
        return to_tensorflow(value)
    if backend == "torch":
        return to_torch(value)
    assert backend == "numpy"
    return value


# -- describing outputs -------------------------------------------------------------------------


@dataclass
class ArrayResult:
    dtype: str
    shape: tuple[int, ...]
    values: np.ndarray


def describe(value: Any) -> Any:
    """Arrays of any framework as ArrayResult (canonical dtype name, shape, NumPy values)."""
    if isinstance(value, (list, tuple)):
        return type(value)(describe(v) for v in value)
    module = type(value).__module__.split(".")[0]
    if module == "torch":
        import torch

        dtype = str(value.dtype).removeprefix("torch.")
        t = value.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return ArrayResult(dtype, tuple(value.shape), t.numpy())
    if module in ("tensorflow", "keras"):
        arr = value.numpy()
        dtype = value.dtype.name
        if dtype == "bfloat16":
            arr = arr.astype(np.float32)
        return ArrayResult(dtype, tuple(value.shape), np.asarray(arr))
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        dtype = arr.dtype.name
        if dtype == "bfloat16":
            arr = arr.astype(np.float32)
        return ArrayResult(dtype, arr.shape, arr)
    if hasattr(value, "__dlpack__") or hasattr(value, "__array__"):
        arr = np.asarray(value)
        return ArrayResult(arr.dtype.name, arr.shape, arr)
    return value


# -- the native error bound ---------------------------------------------------------------------

UNIT_ROUNDOFF = {
    "float16": 2.0**-11,
    "bfloat16": 2.0**-8,
    "float32": 2.0**-24,
    "complex64": 2.0**-24,
    "float64": 2.0**-53,
    "complex128": 2.0**-53,
}


def _float_inputs(value: Any) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    _map_arrays(value, lambda a: out.append(a) if a.dtype.kind in "fcV" else None)
    return out


def tolerance(dtype: str, args: Any, terms: int | None = None) -> tuple[float, float]:
    """(rtol, atol) for comparing two native computations of the same float program.

    Any order of n - 1 additions gives |computed - exact| <= gamma_(n-1) * sum|x_i| with
    gamma_k = k u / (1 - k u) (Higham, Accuracy and Stability, 2nd ed., eq. 4.4; u the unit
    roundoff of the accumulating dtype: TF accumulates float16 in float16). Two frameworks that
    both meet the bound differ by at most 2 gamma sum|x|: that is atol, with n the number of
    terms of one reduction (the case may state it; else every element of the largest float input,
    an upper bound) and sum|x| over that input. A program that divides one such sum by another
    (a mean, a normalisation) has a relative error below the sum of theirs plus one rounding:
    rtol = 4 gamma + 2u covers it.
    """
    u = UNIT_ROUNDOFF[dtype]
    inputs = _float_inputs(args)
    n = terms if terms is not None else max((a.size for a in inputs), default=1)
    gamma = n * u / (1 - n * u)
    scale = max((float(np.abs(a.astype(np.complex128)).sum()) for a in inputs), default=1.0)
    return 4 * gamma + 2 * u, 2 * gamma * scale


def assert_same(actual: Any, expected: Any, args: Any, options: dict[str, Any], where: str) -> None:
    """Identical dtype, shape and integer values; floats within :func:`tolerance`."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, args, options, f"{where}[{i}]")
        return
    if not isinstance(expected, ArrayResult):
        assert actual == expected, where
        return
    assert isinstance(actual, ArrayResult), f"{where}: got {actual!r}, expected an array"
    assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"{where}: shape {actual.shape} != {expected.shape}"
    if expected.dtype in UNIT_ROUNDOFF:
        rtol, atol = tolerance(expected.dtype, args, options.get("terms"))
        np.testing.assert_allclose(
            actual.values, expected.values, rtol=rtol, atol=atol, err_msg=where
        )
    else:
        np.testing.assert_array_equal(actual.values, expected.values, err_msg=where)


def has_bool_input(args: Any) -> bool:
    found: list[bool] = []
    _map_arrays(args, lambda a: found.append(a.dtype == np.bool_))
    return any(found)


def run(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, BaseException | None]:
    try:
        return describe(fn(*args)), None
    except Exception as exc:  # compared below: TF raising means the migration must raise
        return None, exc


def check_against_tensorflow(case: Case, migrated_fn: Callable[..., Any], backend: str) -> None:
    """Run the case under TF and the migrated function on ``backend``; compare."""
    args, options = case_data(case)
    tf_fn = getattr(original_module(case.program), case.function)
    expected, tf_error = run(tf_fn, to_tensorflow(args))
    actual, error = run(migrated_fn, to_backend(args, backend))
    if tf_error is not None:
        assert error is not None, (
            f"{case.id}: TensorFlow raises {type(tf_error).__name__}: {tf_error}; "
            f"the migrated code returned {actual!r}"
        )
        if has_bool_input(args):
            assert isinstance(error, TypeError), f"{case.id}: bool input must raise TypeError"
        return
    assert error is None, f"{case.id}: migrated code raised {type(error).__name__}: {error}"
    assert_same(actual, expected, args, options, case.id)


def strip_helpers(code: str) -> str:
    """``code`` without the helper functions ``--to torch`` writes (tested on their own)."""
    import libcst as cst

    from unireduce.migrate._helpers import HELPER_NAMES

    module = cst.parse_module(code)
    body = [
        s
        for s in module.body
        if not (isinstance(s, cst.FunctionDef) and s.name.value in HELPER_NAMES)
    ]
    return module.with_changes(body=body).code


def helper_names(code: str) -> list[str]:
    """The helper functions defined at the top level of ``code``, in order."""
    from unireduce.migrate._helpers import HELPER_NAMES

    tree = ast.parse(code)
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in HELPER_NAMES]


# Shared by the --to unireduce and metric execution tests.
def left_for_the_user(program: str, to: str) -> set[str]:
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


def runnable(cases: list[Case], to: str) -> list[Case]:
    return [c for c in cases if c.function not in left_for_the_user(c.program, to)]


def migrated_or_loaded_module(program: str, to: str):
    result = migrated(program, to)
    if result.ok:
        return migrated_module(program, to)
    return load_module(result.code, f"<{program} migrated to {to}>")
