"""The conformance tests: every target × profile × function against the exact reference.

``test_random`` draws cases with hypothesis; ``test_curated`` runs a named list of edge cases;
``test_metric`` drives the ``Sum`` metric through a scenario (see ``_metric.py``);
``test_absent_device`` reports, as a skip with the reason, each device kind a backend declares but
this machine lacks. Each failure is one uniform message with a reproduction (see ``_checks.py``).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from ._cases import AxisArray, Case, cases, curated
from ._checks import check_case
from ._metric import run_scenario
from ._targets import EAGER, Target

#: The dtypes of the curated tests under a compiler (each call there is a new trace).
JIT_DTYPES = ("bool", "int8", "uint32", "float16", "bfloat16", "float32", "complex64")
#: Failures listed in full per curated test before the rest are counted.
_SHOWN = 5


def _max_examples(config: pytest.Config, target: Target) -> int:
    n = config.getoption("unireduce_max_examples", None) or 100
    return n if target.mode == EAGER else max(2, n // 4)


def test_random(
    target: Target, semantics: str, function: str, request: pytest.FixtureRequest
) -> None:
    """Random inputs and keywords (valid or not) give what the reference gives."""
    __tracebackhide__ = True
    with target.active():
        strategy = cases(
            function,
            target.dtypes(),
            semantics,
            arrays_ok=target.mode == EAGER and target.conv.axis_array is not None,
            native_dtypes_ok=target.conv.native_dtype is not None,
            # Exact mode builds its portable program in each call under a compiler (seconds
            # each): drawn in one call in ten there, in three elsewhere (dask builds only the
            # float-only try's graph unless computing finds it uncertified).
            precision_every=3 if target.mode == EAGER else 10,
        )

        @settings(
            max_examples=_max_examples(request.config, target),
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
            # No "explain" phase: the uniform message already says what differs.
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        )
        @given(case=strategy)
        def conforms(case: Case) -> None:
            message = check_case(case, target)
            if message is not None:
                raise AssertionError(message)

        conforms()


def test_curated(target: Target, semantics: str, function: str, case_name: str) -> None:
    """Curated edge cases give what the reference gives."""
    __tracebackhide__ = True
    with target.active():
        failures = []
        dtypes = target.dtypes()
        if target.mode != EAGER:
            dtypes = [d for d in dtypes if d in JIT_DTYPES]
        all_cases = curated(case_name, function, dtypes)
        if target.mode != EAGER or target.conv.axis_array is None:
            all_cases = [c for c in all_cases if not isinstance(c.kwargs.get("axis"), AxisArray)]
        for case in all_cases:
            if "semantics" not in case.kwargs:
                case.kwargs["semantics"] = semantics
            message = check_case(case, target)
            if message is not None:
                failures.append(message)
    if failures:
        more = len(failures) - _SHOWN
        text = "\n\n".join(failures[:_SHOWN])
        if more > 0:
            text += f"\n\n... and {more} more of {len(all_cases)} cases"
        raise AssertionError(text)


def test_metric(
    target: Target, semantics: str, function: str, scenario: str, request: pytest.FixtureRequest
) -> None:
    """``ur.Sum`` (Keras semantics): updates, weights, merge, reset, NaN, exact to the bit."""
    __tracebackhide__ = True
    rounds = max(1, (request.config.getoption("unireduce_max_examples", None) or 100) // 10)
    with target.active():
        message = run_scenario(target, scenario, rounds)
    if message is not None:
        raise AssertionError(message)


def test_absent_device(absent_device: tuple[str, str, str]) -> None:
    """A device kind the backend declares but this machine lacks: skipped, with the reason."""
    label, kind, reason = absent_device
    pytest.skip(f"{label} on {kind}: {reason}")
