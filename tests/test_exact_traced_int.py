"""Exact integer overflow is checked inside compiled code too (issue 5).

``ur.sum`` and ``ur.cumsum`` with ``precision="exact"`` on integers raise when an exact result
(every prefix, for cumsum) does not fit the output dtype. Traced, the check is attached to the
result by the adapter's ``guard``; what the caller then sees depends on the compiler:

* ``jax.jit`` (x64 off and on, and ``jit`` of ``vmap``): ``jax.errors.JaxRuntimeError`` whose
  message holds ``IntegerOverflowError`` and ours (JAX re-raises a callback's error as its own);
* ``jax.vmap`` outside ``jit``: ``ur.IntegerOverflowError`` itself;
* ``tf.function``: ``tf.errors.InvalidArgumentError`` carrying the same text (a graph assertion);
* ``tf.function(jit_compile=True)``: no check, the result wraps (XLA compiles ``Assert`` to nothing,
  tensorflow#11275);
* ``torch.compile`` (``fullgraph=True``: no graph break) and ``make_fx`` with fake tensors:
  ``ur.IntegerOverflowError`` itself.

Each compiled function is built once (module cache) and called on data of one shape, so the file
compiles each (compiler, function, dtype) once. Expected values are Python-int sums of the rows.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import unireduce as ur
from tests._frameworks import Framework
from tests.conftest import framework


@dataclass(frozen=True)
class Compiler:
    id: str
    fw: str  # framework id in tests._frameworks
    checked: bool  # whether an overflow raises (False: documented to wrap)


COMPILERS = {
    c.id: c
    for c in (
        Compiler("jax-jit", "jax", True),
        Compiler("jax-jit-x64", "jax_x64", True),
        Compiler("jax-vmap", "jax", True),
        Compiler("jax-jit-vmap", "jax", True),
        Compiler("tf-function", "tensorflow", True),
        Compiler("tf-xla", "tensorflow", False),
        Compiler("torch-compile", "torch", True),
        Compiler("torch-make_fx", "torch", True),
    )
}

FNS = ("sum", "cumsum")
DTYPES = ("int8", "int32")
SHAPE = (2, 3)


def _cases(checked: bool) -> list[Any]:
    out = []
    for cid, fn, dt in itertools.product(COMPILERS, FNS, DTYPES):
        if COMPILERS[cid].checked != checked:
            continue
        if cid == "tf-xla" and fn == "cumsum" and dt == "int8":
            # XLA has no Cumsum kernel for 8- and 16-bit integers (tensorflow#60485): the call
            # does not compile, in native mode too, before any overflow check could matter.
            continue
        out.append(pytest.param(cid, fn, dt, id=f"{cid}-{fn}-{dt}"))
    return out


# ------------------------------------------------------------------------------ data (by hand)
def _limits(dt: str) -> tuple[int, int]:
    bits = int(dt.removeprefix("int"))
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _rows(fn: str, dt: str, kind: str) -> list[list[int]]:
    """Rows (2, 3) whose exact sums (or prefix sums) hit the bounds or pass one by 1."""
    lo, hi = _limits(dt)
    zero = [0, 0, 0]
    if fn == "sum":
        top, bottom = [hi - 27, 20, 7], [lo + 28, -20, -8]  # sums hi and lo
        if kind == "over-max":
            return [[hi - 27, 20, 8], zero]  # hi + 1
        if kind == "under-min":
            return [zero, [lo + 28, -20, -9]]  # lo - 1
        return [top, bottom]
    top, bottom = [hi - 27, 27, -27], [lo + 28, -28, 28]  # prefixes reach hi and lo
    if kind == "over-max":
        return [[hi - 27, 28, -28], zero]  # prefix hi + 1, total back in range
    if kind == "under-min":
        return [zero, [lo + 28, -29, 29]]  # prefix lo - 1, total back in range
    return [top, bottom]


def _exact(fn: str, rows: list[list[int]]) -> list[Any]:
    if fn == "sum":
        return [sum(r) for r in rows]
    return [list(itertools.accumulate(r)) for r in rows]


def _wrapped(v: Any, dt: str) -> Any:
    """``v`` reduced modulo 2**bits into the dtype's range (two's-complement wrap)."""
    if isinstance(v, list):
        return [_wrapped(e, dt) for e in v]
    lo, hi = _limits(dt)
    return (v - lo) % (hi - lo + 1) + lo


# ------------------------------------------------------------------------------ compiled calls
def _op(fn: str, dt: str, axis: int) -> Callable[[Any], Any]:
    if fn == "sum":
        return lambda a: ur.sum(a, axis=axis, dtype=dt, precision="exact")
    return lambda a: ur.cumsum(a, axis, dtype=dt, precision="exact")


def _build(cid: str, fn: str, dt: str, sample: Any) -> Callable[[Any], Any]:
    if cid.startswith("jax"):
        import jax

        if cid == "jax-vmap" or cid == "jax-jit-vmap":
            f = jax.vmap(_op(fn, dt, 0))  # each row alone, traced as a batch
            return jax.jit(f) if cid == "jax-jit-vmap" else f
        return jax.jit(_op(fn, dt, 1))
    if cid.startswith("tf"):
        import tensorflow as tf

        return tf.function(_op(fn, dt, 1), jit_compile=cid == "tf-xla")
    import torch

    graphs = _GRAPHS.setdefault((cid, fn, dt), [])
    if cid == "torch-make_fx":
        from torch.fx.experimental.proxy_tensor import make_fx

        # Fake tensors: no value exists while tracing, so the check must live in the graph.
        gm = make_fx(_op(fn, dt, 1), tracing_mode="fake")(sample)
        graphs.append(str(gm.graph))
        return gm

    def record(gm: Any, inputs: Any) -> Any:
        graphs.append(str(gm.graph))
        return torch._dynamo.lookup_backend("aot_eager")(gm, inputs)

    # fullgraph=True: exact mode compiles into one graph, the guard included (no graph break
    # that would run the check eagerly). A fresh cache keeps Dynamo's recompile limit away.
    torch._dynamo.reset()
    return torch.compile(_op(fn, dt, 1), backend=record, fullgraph=True)


_GRAPHS: dict[tuple[str, str, str], list[str]] = {}


_BUILT: dict[tuple[str, str, str], Callable[[Any], Any]] = {}


def _compiled(cid: str, fn: str, dt: str, fw: Framework) -> Callable[[Any], Any]:
    key = (cid, fn, dt)
    if key not in _BUILT:
        _BUILT[key] = _build(cid, fn, dt, fw.array(_rows(fn, dt, "edge"), dt))
    return _BUILT[key]


def _run(cid: str, fn: str, dt: str, fw: Framework, rows: list[list[int]]) -> list[Any]:
    out = _compiled(cid, fn, dt, fw)(fw.array(rows, dt))
    res = fw.to_numpy(out)
    assert res.dtype == np.dtype(dt) and res.shape == (SHAPE if fn == "cumsum" else SHAPE[:1])
    return res.tolist()


def _expected_error(cid: str) -> type[BaseException]:
    if cid in ("jax-jit", "jax-jit-x64", "jax-jit-vmap"):
        import jax

        return jax.errors.JaxRuntimeError
    if cid == "tf-function":
        import tensorflow as tf

        return tf.errors.InvalidArgumentError
    return ur.IntegerOverflowError


@pytest.fixture
def comp(request: pytest.FixtureRequest) -> Iterator[tuple[str, Framework]]:
    cid = request.param
    fw = framework(COMPILERS[cid].fw)
    with fw.active():
        yield cid, fw


# ------------------------------------------------------------------------------ tests
@pytest.mark.parametrize(("comp", "fn", "dt"), _cases(True) + _cases(False), indirect=["comp"])
def test_bounds_fit(comp: tuple[str, Framework], fn: str, dt: str) -> None:
    """Results exactly equal to the dtype's max and min fit: returned, no error."""
    cid, fw = comp
    lo, hi = _limits(dt)
    rows = _rows(fn, dt, "edge")
    want = _exact(fn, rows)
    flat = want if fn == "sum" else [v for r in want for v in r]
    assert hi in flat and lo in flat  # the data reaches both bounds
    assert _run(cid, fn, dt, fw, rows) == want


@pytest.mark.parametrize("kind", ["over-max", "under-min"])
@pytest.mark.parametrize(("comp", "fn", "dt"), _cases(True), indirect=["comp"])
def test_overflow_raises(comp: tuple[str, Framework], fn: str, dt: str, kind: str) -> None:
    """An exact result one past a bound raises, with our message, when the compiled code runs."""
    cid, fw = comp
    # A successful call first: it puts jax.jit on its C++ fast path, where callback errors once
    # surfaced as a plain ValueError (jax#34083).
    assert _run(cid, fn, dt, fw, _rows(fn, dt, "edge")) == _exact(fn, _rows(fn, dt, "edge"))
    with pytest.raises(_expected_error(cid)) as info:
        _run(cid, fn, dt, fw, _rows(fn, dt, kind))
    msg = str(info.value)
    assert "does not fit" in msg and f"dtype {dt}" in msg
    assert "IntegerOverflowError" in msg or isinstance(info.value, ur.IntegerOverflowError)
    if cid.startswith("torch"):
        # Raised by the compiled graph's check, not by an eager fallback of the whole call.
        assert any("unireduce.guard" in g for g in _GRAPHS[(cid, fn, dt)])


@pytest.mark.parametrize("kind", ["over-max", "under-min"])
@pytest.mark.parametrize(("comp", "fn", "dt"), _cases(False), indirect=["comp"])
def test_overflow_unchecked_under_xla(
    comp: tuple[str, Framework], fn: str, dt: str, kind: str
) -> None:
    """tf.function(jit_compile=True) cannot check: XLA compiles tf.debugging.Assert to nothing
    (tensorflow#11275; tf2xla/kernels/assert_op.cc) and has no host callback, so the documented
    behaviour is that the result wraps as in native mode. If TF ever keeps the assertion this
    test fails, and the check (and docs/exact.md) should say so."""
    cid, fw = comp
    rows = _rows(fn, dt, kind)
    exact = _exact(fn, rows)
    want = _wrapped(exact, dt)
    assert want != exact  # the case does overflow
    assert _run(cid, fn, dt, fw, rows) == want


@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_torch_guard_fullgraph(backend: str) -> None:
    """The torch guard compiles without a graph break (fullgraph=True) and, under Inductor as
    under AOTAutograd, raises our own class when the compiled code runs."""
    torch = pytest.importorskip("torch", reason="torch is not installed")
    from unireduce._registry import backend_of

    be = backend_of(torch.zeros(1))
    err = ur.IntegerOverflowError("sum: the result does not fit the output dtype int8")

    def f(a: Any) -> Any:
        s = a.sum(dtype=torch.int32)
        return be.guard(s.to(torch.int8), s > 127, err)

    torch._dynamo.reset()
    g = torch.compile(f, backend=backend, fullgraph=True)
    assert g(torch.tensor([100, 27], dtype=torch.int8)).item() == 127
    with pytest.raises(ur.IntegerOverflowError, match="does not fit the output dtype int8"):
        g(torch.tensor([100, 28], dtype=torch.int8))
