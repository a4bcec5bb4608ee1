"""The ``ur.Sum`` metric on a target, against an exact weighted total computed here on the host.

A *scenario* drives one or two metrics through ``update_state`` (with and without
``sample_weight``, Keras-style ``(n, 1)`` and per-row weights), ``merge_state``, ``reset_state``
and bad input, and checks every ``result()``: the backend's own array on the data's device, its
dtype and shape ``()``, and its value: bit for bit the exact total rounded once
(``precision="exact"``), within a bound of it (``"native"``), exact for integers, or the error
(``IntegerOverflowError`` at ``result()``). The expected totals are :class:`~fractions.Fraction`
sums of the products of the host copies of the data, rounded with
:func:`unireduce._exactmath.round_exact`; the NaN rules are those of ``docs/metric.md``.

Failures read as everywhere in the suite: ``<what>=<actual>, but should be <expected> [<calls>]
backend=<b> device=<d> mode=<m>``, then Python that replays the calls.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

import unireduce as ur
from unireduce._exactmath import float_format, int_fits, round_exact, within_bound_mask
from unireduce.reference import numpy_dtype

from ._checks import _dtype_expr
from ._targets import Target

__all__ = ["SCENARIOS", "run_scenario"]

_NAN = "nan"


@dataclass
class Step:
    """One ``update_state(values, sample_weight)``; ``w_full`` is the weight of every value."""

    values: np.ndarray
    weights: np.ndarray | None
    w_full: np.ndarray | None


class Failure(AssertionError):
    pass


class Run:
    """The metrics of one scenario on one target, the calls made so far, and the checks."""

    def __init__(self, target: Target, scenario: str, rounds: int) -> None:
        self.target = target
        self.rng = np.random.default_rng(zlib.crc32(f"{target.id}-{scenario}".encode()))
        self.rounds = rounds
        self.calls: list[str] = []  # Python lines replaying what was done
        self.summary: list[str] = []  # the same, one short item per call
        self.dtypes = set(target.dtypes())

    # ----------------------------------------------------------------- building data
    def data(self, dtype: str, shape: tuple[int, ...], kind: str = "mixed") -> np.ndarray:
        """Random host data: ints in a small range, floats of mixed magnitudes (no subnormals)."""
        n = int(np.prod(shape))
        if dtype == "bool":
            return self.rng.integers(0, 2, n).astype(bool).reshape(shape)
        if dtype.startswith(("int", "uint")):
            lo = 0 if dtype.startswith("u") else -100
            return self.rng.integers(lo, 100, n).astype(dtype).reshape(shape)
        a = self.rng.standard_normal(n)
        if kind == "mixed":  # magnitudes 2**-8..2**8 and an exactly cancelling pair
            a = a * np.exp2(self.rng.integers(-8, 9, n))
            if n >= 2:
                a[-1] = -a[0]
        return a.astype(numpy_dtype(dtype)).reshape(shape)

    def arr(self, a: np.ndarray) -> Any:
        return self.target.conv.make(np.ascontiguousarray(a), self.target.device)

    def held(self, *dtypes: str) -> list[str]:
        return [d for d in dtypes if d in self.dtypes]

    # ----------------------------------------------------------------- recording calls
    def _literal(self, a: np.ndarray) -> str:
        a = np.ascontiguousarray(a)
        preview = (
            "  # " + np.array2string(a.astype(object), separator=", ").replace("\n", " ")
            if a.size <= 8
            else ""
        )
        return (
            f"x(np.frombuffer(bytes.fromhex({a.tobytes().hex()!r}), "
            f"dtype={_dtype_expr(str(a.dtype.name))}).reshape({a.shape!r})){preview}"
        )

    def new(self, var: str, **kwargs: Any) -> ur.Sum:
        line = f"{var} = ur.Sum({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
        self.calls.append(line)
        self.summary.append(line)
        return ur.Sum(**kwargs)

    def update(self, var: str, m: ur.Sum, step: Step) -> None:
        """``m.update_state`` with the step's data (a raise is a failure)."""
        self.calls.append(f"{var}.update_state(")
        self.calls.append(f"    {self._literal(step.values)},")
        if step.weights is not None:
            self.calls.append(f"    sample_weight={self._literal(step.weights)},")
        self.calls.append(")")
        short = f"{var}.update_state({_desc(step.values)}"
        if step.weights is not None:
            short += f", sample_weight={_desc(step.weights)}"
        self.summary.append(short + ")")
        w = None if step.weights is None else self.arr(step.weights)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                m.update_state(self.arr(step.values), w)
        except Exception as exc:
            self.fail("raised", f"{type(exc).__name__}({_short(exc)})", "nothing")

    def do(self, line: str, fn: Callable[[], Any]) -> Any:
        self.calls.append(line)
        self.summary.append(line)
        return fn()

    # ----------------------------------------------------------------- failing
    def fail(self, what: str, actual: str, should: str) -> None:
        t = self.target
        where = f"[{'; '.join(self.summary)}] backend={t.label} device={t.device} mode={t.mode}"
        raise Failure(f"{what}={actual}, but should be {should} {where}\n{self.repro()}")

    def repro(self) -> str:
        t = self.target
        imports = t.conv.imports.replace(", unireduce as ur", "") + ", unireduce as ur"
        if "bfloat16" in "".join(self.calls):
            imports += ", ml_dtypes"
        lines = ["# reproduce:", imports]
        if t.x64 is not None:
            lines.append(f"jax.config.update('jax_enable_x64', {t.x64})")
        lines += [f"device = {t.device!r}", "def x(x_np):"]
        lines += ["    " + s for s in t.conv.snippet.splitlines()]
        lines += ["    return x", *self.calls]
        return "\n".join("    " + line for line in lines)

    # ----------------------------------------------------------------- checking a result
    def check(
        self,
        var: str,
        m: ur.Sum,
        dtype: str,
        expected: Any,
        *,
        like: Any = None,
        bound: float = 0.0,
    ) -> None:
        """``m.result()`` is ``expected``: a value (bits; ``bound`` for native), or an error class.

        ``like``: an array of the data, whose backend and device the result must have.
        """
        self.calls.append(f"out = {var}.result()")
        self.summary.append(f"{var}.result()")
        try:
            out = m.result()
        except Exception as exc:
            if isinstance(expected, type) and type(exc) is expected:
                return
            self.fail(
                "raised",
                f"{type(exc).__module__}.{type(exc).__name__}({_short(exc)})",
                f"{expected.__name__}" if isinstance(expected, type) else f"a {dtype} result",
            )
            return
        if isinstance(expected, type):
            self.fail("raised", "nothing", expected.__name__)
        conv = self.target.conv
        if like is not None:
            # A dask array is summed on the workers into a NumPy state (docs/metric.md,
            # "Distributed"): its metric's result is a NumPy array.
            want = "numpy" if self.target.backend == "dask" else _root(like)
            if _root(out) != want:
                self.fail("type(out)", f"{type(out).__module__}.{type(out).__qualname__}", want)
            if self.target.backend != "dask":
                dev, dev_in = conv.device_of(out), conv.device_of(like)
                if dev != dev_in:
                    self.fail("out.device", dev, dev_in)
        actual = np.asarray(out) if _root(out) == "numpy" else conv.to_numpy(out)
        if str(actual.dtype.name) != dtype:
            self.fail("out.dtype", str(actual.dtype.name), dtype)
        if actual.shape != ():
            self.fail("out.shape", repr(actual.shape), "()")
        want_v = np.asarray(expected)
        if dtype.startswith(("int", "uint")):
            if int(actual) != int(want_v):
                self.fail("out", repr(int(actual)), repr(int(want_v)))
            return
        if bound == 0.0:
            same = (np.isnan(actual) and np.isnan(want_v)) or actual.tobytes() == want_v.tobytes()
            if not same:
                self.fail("out", _fmt(actual), f"{_fmt(want_v)} (bit for bit)")
        elif not within_bound_mask(actual, want_v, bound).all():
            self.fail("out", _fmt(actual), f"{_fmt(want_v)} within {bound!r}")

    def refuses(self, line: str, call: Callable[[], Any]) -> None:
        """``call`` raises a unireduce error (bad input)."""
        self.calls.append(line)
        self.summary.append(line)
        try:
            call()
        except ur.UnireduceError:
            return
        except Exception as exc:
            self.fail(
                "raised",
                f"{type(exc).__module__}.{type(exc).__name__}({_short(exc)})",
                "a unireduce.UnireduceError",
            )
        self.fail("raised", "nothing", "a unireduce.UnireduceError")


# --------------------------------------------------------------------------------- reference
def expected_total(steps: list[Step], dtype: str, nan_strategy: str = "propagate") -> Any:
    """The exact weighted total of ``steps`` rounded once to ``dtype``; ``int`` for integers.

    Floats are first rounded to a float ``dtype`` (as Keras casts; exact when they fit), integers
    taken exactly. A NaN product (NaN value or weight, or an infinity times 0) makes the total
    NaN, or is dropped under ``"ignore"``; infinities of both signs give NaN.
    """
    total = Fraction(0)
    nan = posinf = neginf = False
    is_float = not dtype.startswith(("int", "uint"))
    for s in steps:
        v = _host(s.values, dtype, is_float).reshape(-1)
        w = None if s.w_full is None else _host(s.w_full, dtype, is_float).reshape(-1)
        wl = [1] * v.size if w is None else w.tolist()
        for a, b in zip(v.tolist(), wl, strict=True):
            if _isnan(a) or _isnan(b) or (_isinf(a) and b == 0) or (_isinf(b) and a == 0):
                if nan_strategy != "ignore":
                    nan = True
                continue
            if _isinf(a) or _isinf(b):
                if (a > 0) == (b > 0):
                    posinf = True
                else:
                    neginf = True
                continue
            total += Fraction(a) * Fraction(b)
    if not is_float:
        return int(total)
    if nan or (posinf and neginf):
        return np.array(np.nan, numpy_dtype(dtype))[()]
    if posinf or neginf:
        return np.array(np.inf if posinf else -np.inf, numpy_dtype(dtype))[()]
    return _round(total, dtype)


def _round(total: Fraction, dtype: str) -> Any:
    den = total.denominator
    assert den & (den - 1) == 0, "a sum of binary floats has a power-of-two denominator"
    return round_exact(total.numerator, -(den.bit_length() - 1), dtype)


def native_bound(steps: list[Step], dtype: str) -> float:
    """A bound on the drift of ``precision="native"``: every product, every addition rounded.

    With ``A = Σ|v·w|`` and ``N`` the number of rounded operations a value goes through (its
    product, at most ``n - 1`` additions in its batch and ``len(steps)`` into the running total),
    the error is below ``(N + 1)·u·A·(1 + O(u))``; twice that, plus half an ulp of the result.
    """
    a = Fraction(0)
    n = 1 + len(steps) + max(s.values.size for s in steps)
    for s in steps:
        v = _host(s.values, dtype, True).reshape(-1).tolist()
        w = [1] * len(v) if s.w_full is None else _host(s.w_full, dtype, True).reshape(-1).tolist()
        a += sum((abs(Fraction(p) * Fraction(q)) for p, q in zip(v, w, strict=True)), Fraction(0))
    u = Fraction(float_format(dtype).unit_roundoff)
    return float(2 * (n + 1) * u * a + 2 * u * abs(Fraction(float(_round(a, dtype)))))


def _host(a: np.ndarray, dtype: str, is_float: bool) -> np.ndarray:
    if is_float and a.dtype.kind == "f":
        with np.errstate(over="ignore"):
            return a.astype(numpy_dtype(dtype)).astype(np.float64)
    if a.dtype.kind == "f":
        return a.astype(np.float64)
    return a.astype(object)


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _isinf(v: Any) -> bool:
    return isinstance(v, float) and math.isinf(v)


def _root(x: Any) -> str:
    return type(x).__module__.split(".")[0]


def _fmt(v: Any) -> str:
    return repr(v.item() if hasattr(v, "item") else v)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0][:160] + ("…" if len(text[0]) > 160 else "")) if text else ""


def _desc(a: np.ndarray) -> str:
    return f"<{a.dtype.name} {a.shape}>"


# --------------------------------------------------------------------------------- scenarios
def _weighted_steps(r: Run, dtype: str) -> list[Step]:
    """Updates without weights, with (n,) weights, Keras (n, 1) weights, per-row, scalar."""
    vals = r.held("float32", "float16", "bfloat16", "int32", "float64", "uint8", "bool")
    wts = r.held("float32", "int8", "bool", "float16", "float64")
    steps: list[Step] = []
    for i in range(r.rounds):
        vd, wd = vals[i % len(vals)], wts[i % len(wts)]
        n = int(r.rng.integers(1, 12))
        steps.append(Step(r.data(vd, (n,)), None, None))
        w = r.data(wd, (n,))
        steps.append(Step(r.data(vals[(i + 1) % len(vals)], (n,)), w, w))
        w1 = r.data(wd, (n, 1))
        steps.append(Step(r.data(vd, (n,)), w1, w1.reshape(n)))
        v2 = r.data(vd, (n, 3))
        wr = r.data(wd, (n,))
        steps.append(Step(v2, wr, np.broadcast_to(wr[:, None], v2.shape)))
    ws = np.asarray(r.data(wts[0], (1,)))
    v = r.data(vals[0], (4,))
    steps.append(Step(v, ws.reshape(()), np.broadcast_to(ws, v.shape)))
    return steps


def weighted(r: Run, dtype: str) -> None:
    """Several updates, result after each; bad weights raise and change nothing."""
    kw: dict[str, Any] = {} if dtype == "float32" else {"dtype": dtype}
    if dtype not in r.dtypes:
        r.refuses(
            f"m = ur.Sum(dtype={dtype!r}); m.update_state(x(...))",
            lambda: ur.Sum(**kw).update_state(r.arr(r.data("float32", (2,)))),
        )
        return
    m = r.new("m", **kw)
    steps = _weighted_steps(r, dtype)
    done: list[Step] = []
    for s in steps:
        r.update("m", m, s)
        done.append(s)
        r.check("m", m, dtype, expected_total(done, dtype), like=r.arr(s.values))
    before = expected_total(done, dtype)
    v = r.data("float32", (4,))
    for vs, ws in (((4,), (5,)), ((4,), (4, 2)), ((1,), (3,)), ((2, 3), (3,))):
        a, w = r.arr(r.data("float32", vs)), r.arr(r.data("float32", ws))
        r.refuses(
            f"m.update_state(x(float32 {vs}), sample_weight=x(float32 {ws}))",
            functools.partial(m.update_state, a, w),
        )
        r.check("m", m, dtype, before, like=r.arr(v))


def fresh(r: Run, dtype: str = "float32") -> None:
    """``Sum(backend=B)`` before any data: a float32 zero of B, or a unireduce error."""
    fresh: Any = None
    # Refusing the backend by name is allowed; accepting it means a working metric.
    with contextlib.suppress(ur.UnireduceError):
        fresh = ur.Sum(backend=r.target.backend)
    if fresh is not None:
        r.calls.append(f"m0 = ur.Sum(backend={r.target.backend!r})")
        r.summary.append(r.calls[-1])
        like = None if r.target.backend == "dask" else r.arr(np.zeros(1, np.float32))
        r.check("m0", fresh, dtype, np.float32(0.0), like=like)


def merge_reset(r: Run, dtype: str = "float32") -> None:
    """``merge_state`` of two metrics equals one metric on all the data; ``reset_state``."""
    steps = _weighted_steps(r, dtype)
    half = len(steps) // 2
    a, b = r.new("a"), r.new("b")
    for s in steps[:half]:
        r.update("a", a, s)
    for s in steps[half:]:
        r.update("b", b, s)
    like = r.arr(steps[0].values)
    r.do("a.merge_state([b])", lambda: a.merge_state([b]))
    r.check("a", a, dtype, expected_total(steps, dtype), like=like)
    r.check("b", b, dtype, expected_total(steps[half:], dtype), like=like)
    r.do("a.reset_state()", a.reset_state)
    r.check("a", a, dtype, np.float32(0.0), like=like)
    r.update("a", a, steps[-1])
    r.check("a", a, dtype, expected_total(steps[-1:], dtype), like=like)
    r.do("b.merge_state([a])", lambda: b.merge_state([a]))
    r.check("b", b, dtype, expected_total(steps[half:] + steps[-1:], dtype), like=like)


def nan_strategy(r: Run, strategy: str) -> None:
    """NaN values, NaN weights and inf·0 propagate, or are dropped with their weight."""
    dtype = "float32"
    m = r.new("m", nan_strategy=strategy)
    done: list[Step] = []
    for _ in range(r.rounds):
        n = int(r.rng.integers(3, 9))
        v, w = r.data("float32", (n,)), r.data("float32", (n,))
        i, j, k = r.rng.choice(n, 3, replace=False).tolist()
        v[i], w[j], v[k], w[k] = np.nan, np.nan, np.inf, 0.0
        for s in (Step(r.data("float32", (n,)), None, None), Step(v, w, w)):
            r.update("m", m, s)
            done.append(s)
            r.check("m", m, dtype, expected_total(done, dtype, strategy), like=r.arr(v))
    inf = Step(np.array([np.inf, 1.0], np.float32), np.array([2.0, 1.0], np.float32), None)
    inf.w_full = inf.weights
    for s in (inf, Step(-inf.values, inf.weights, inf.weights)):
        r.update("m", m, s)
        done.append(s)
        r.check("m", m, dtype, expected_total(done, dtype, strategy), like=r.arr(s.values))
    r.do("m.reset_state()", m.reset_state)
    r.check("m", m, dtype, np.float32(0.0), like=r.arr(inf.values))


def native(r: Run, dtype: str = "float32") -> None:
    """``precision="native"``: within a rounding-error bound of the exact total."""
    m = r.new("m", precision="native")
    steps = _weighted_steps(r, dtype)
    done: list[Step] = []
    for s in steps:
        r.update("m", m, s)
        done.append(s)
        like = r.arr(s.values)
        bound = native_bound(done, dtype)
        r.check("m", m, dtype, expected_total(done, dtype), like=like, bound=bound)


def integer(r: Run, dtype: str = "int32") -> None:
    """An integer metric is exact; ``result()`` raises only when the final total does not fit."""
    m = r.new("m", dtype=dtype)
    vals = r.held("int8", "int32", "uint8", "int16", "bool")
    done: list[Step] = []
    for i in range(r.rounds):
        n = int(r.rng.integers(1, 10))
        v = r.data(vals[i % len(vals)], (n,))
        w = r.data(vals[(i + 1) % len(vals)], (n, 1))
        for s in (Step(v, None, None), Step(v, w, w.reshape(n))):
            r.update("m", m, s)
            done.append(s)
            r.check("m", m, dtype, expected_total(done, dtype), like=r.arr(v))
    total = expected_total(done, dtype)
    r.refuses("m.update_state(x(float32 (2,)))", lambda: m.update_state(r.arr(np.ones(2, "f4"))))
    r.check("m", m, dtype, total, like=r.arr(v))
    # The total leaves int32 (2**31 + 999) and comes back: only a final overflow raises.
    big = np.array([2**30, 2**30 - 1, 1000 - total], np.int32)
    up = Step(big, np.array([1, 1, 1], np.int32), np.array([1, 1, 1], np.int32))
    r.update("m", m, up)
    done.append(up)
    assert not int_fits(expected_total(done, dtype), dtype)
    r.check("m", m, dtype, ur.IntegerOverflowError)
    down = Step(-big, None, None)
    r.update("m", m, down)
    done.append(down)
    r.check("m", m, dtype, expected_total(done, dtype), like=r.arr(big))


SCENARIOS: dict[str, Callable[[Run], None]] = {
    "weighted_float32": lambda r: weighted(r, "float32"),
    "weighted_float64": lambda r: weighted(r, "float64"),
    "fresh": fresh,
    "merge_reset": merge_reset,
    "nan_propagate": lambda r: nan_strategy(r, "propagate"),
    "nan_ignore": lambda r: nan_strategy(r, "ignore"),
    "native": native,
    "integer": integer,
}


def run_scenario(target: Target, scenario: str, rounds: int) -> str | None:
    """Run one scenario on ``target``; ``None`` if it conforms, else the failure message."""
    try:
        SCENARIOS[scenario](Run(target, scenario, rounds))
    except Failure as exc:
        return str(exc)
    return None
