"""Parametrization of the suite: backend × device × mode, × profile × function (× curated case).

The options come from :mod:`unireduce.conformance_plugin`. Without ``--unireduce-backend`` every
test has an empty parameter set and is skipped, with that reason.

Which curated cases run under which profiles in which mode is data, :data:`PLAN`. The randomized
tests run every profile. Eagerly, the curated cases whose plan depends on the profile (0-d input,
axis forms, integer edges, accumulators) run under every profile, the others (layouts, empty and
high-rank input, special values, ``dtype=``, exact mode's adversarial data) under the
``array_api`` profile and the backend's own. Compilers rebuild a program for every new input, so
under ``jax.jit`` and ``tf.function`` the randomized tests draw a quarter of the examples and the
curated tests run the special values, the integer edges and the smoke cases (native and exact) on
a representative set of dtypes under the ``array_api`` profile (rules are resolved in Python
before tracing, identically for every profile); ``torch.compile`` (seconds per compilation) runs
only the smoke cases, under ``array_api`` and ``torch`` (exact: ``array_api``). A lazy backend
runs the exact smoke cases instead of exact mode's adversarial list (``PLAN["eager-lazy"]``).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from typing import Any

import pytest

from ._cases import CURATED
from ._functions import FUNCTIONS
from ._metric import SCENARIOS
from ._targets import EAGER, Target, build_targets, import_backend_module

#: Curated cases whose plan (output dtype, accumulator, meaning of the axis) varies by profile.
_RULE_CASES = ("zero_d", "axis_forms", "int_edge", "accumulation")
_ALL = ("*",)
_OWN = ("array_api", "own")  # "own": the backend's own profile, if it has one
_JIT = ("array_api",)
#: mode -> {curated case: the profiles it runs under}. The randomized tests run every profile in
#: every mode but torch.compile.
PLAN: dict[str, dict[str, tuple[str, ...]]] = {
    "eager": {
        c: (_ALL if c in _RULE_CASES else _OWN)
        for c in CURATED
        if c not in ("smoke", "exact_smoke")
    },
    "jax.jit": {"special_values": _JIT, "int_edge": _JIT, "smoke": _JIT, "exact_smoke": _JIT},
    "tf.function": {"special_values": _JIT, "int_edge": _JIT, "smoke": _JIT, "exact_smoke": _JIT},
    "torch.compile": {"smoke": _OWN, "exact_smoke": _JIT},
}
#: A lazy backend (dask) builds the whole graph of exact mode's portable path in each call (for
#: a float64 row that needs the integer route, 4 s to build and 4 s to compute three elements,
#: measured), so eagerly it runs the exact smoke cases instead of the adversarial list; its
#: randomized tests draw exact mode as every backend's do.
PLAN["eager-lazy"] = {
    ("exact_smoke" if c == "exact" else c): runs for c, runs in PLAN["eager"].items()
}
RANDOMIZED_MODES = ("eager", "jax.jit", "tf.function")

_TARGETS = pytest.StashKey[tuple[list[Target], list[tuple[str, str, str]]]]()


def _targets(config: pytest.Config) -> tuple[list[Target], list[tuple[str, str, str]]]:
    if _TARGETS not in config.stash:
        names = config.getoption("unireduce_backend", None) or []
        for name in names:
            import_backend_module("jax" if name == "jax_x64" else name)
        config.stash[_TARGETS] = build_targets(names)
    return config.stash[_TARGETS]


def _profiles(config: pytest.Config) -> list[str]:
    import unireduce as ur

    chosen = config.getoption("unireduce_semantics", None)
    allowed = ur.profiles()
    if chosen:
        bad = [p for p in chosen if p not in allowed]
        if bad:
            raise pytest.UsageError(f"--unireduce-semantics {bad}: allowed {allowed}")
        return [p for p in allowed if p in chosen]
    return allowed


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    names = metafunc.fixturenames
    if "absent_device" in names:
        _, absent = _targets(config)
        metafunc.parametrize(
            "absent_device", absent, ids=[f"{label}-{kind}" for label, kind, _ in absent]
        )
        return
    if "target" not in names:
        return
    targets, _ = _targets(config)
    if "scenario" in names:  # the Sum metric: eager targets only (its object form is eager)
        argnames = ["target", "semantics", "function", "scenario"]
        chosen = [(t, s) for t in targets if t.mode == EAGER for s in SCENARIOS]
        metafunc.parametrize(
            argnames,
            [pytest.param(t, "keras", "Sum", s) for t, s in chosen],
            ids=[f"{t.id}-keras-Sum-{s}" for t, s in chosen],
        )
        return
    curated = "case_name" in names
    argnames = ["target", "semantics", "function"] + (["case_name"] if curated else [])
    params: list[Any] = []
    ids: list[str] = []
    profiles = _profiles(config)
    for t in targets:
        if not curated and t.mode not in RANDOMIZED_MODES:
            continue
        own = t.label if t.label in profiles else t.backend
        plan = PLAN.get(t.mode + ("-lazy" if t.caps.lazy else ""), PLAN["eager"])
        for prof in profiles:
            for fn in FUNCTIONS:
                if not curated:
                    params.append(pytest.param(t, prof, fn))
                    ids.append(f"{t.id}-{prof}-{fn}")
                    continue
                for case, runs_under in plan.items():
                    if not (
                        "*" in runs_under
                        or prof in runs_under
                        or ("own" in runs_under and prof == own)
                    ):
                        continue
                    params.append(pytest.param(t, prof, fn, case))
                    ids.append(f"{t.id}-{prof}-{fn}-{case}")
    metafunc.parametrize(argnames, params, ids=ids)
