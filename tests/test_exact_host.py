"""The fused host kernels of exact mode (issue 5): the certified fast paths and their fallbacks.

Every result is compared bit for bit with the Fraction-based reference; the tests also check which
path ran, so a fast path that silently stopped certifying (or a fallback that stopped being taken)
fails here rather than only in the benchmark.
"""

from __future__ import annotations

import fractions
import itertools
import math
from typing import Any

import numpy as np
import pytest

from tests.test_exact import _assert_bits, _data
from unireduce import _exact
from unireduce._exactmath import exact_cumsum_along, exact_sum_along
from unireduce._registry import backend_of

pytest.importorskip("numba", reason="the host kernels need Numba (unireduce[all])")

from unireduce._exact import _host, _portable
from unireduce._exact import _host_kernels as hk

F64 = (0x7FFFFFFFFFFFFFFF, 52, 1022, 2047)


def _host_sum(x: np.ndarray, axes: Any, dt: str) -> np.ndarray:
    return np.asarray(_exact.sum(backend_of(x), x, axes, False, dt, path="host"))


def test_extraction_is_not_folded() -> None:
    # ``extract`` sums with ``reassoc``; if that flag reached ``split``, LLVM could fold
    # (x + σ) − σ into x and every remainder would be 0.
    x = np.array([1.0 + 2.0**-40, 3.0 + 2.0**-45])
    t, tau, mx = hk.extract(x, x.view(np.int64), 0, 2, 2.0**20, F64[0])  # ulp(σ) = 2**-32
    assert t == 4.0
    assert tau == 2.0**-40 + 2.0**-45
    assert mx == x.view(np.int64)[1]


def _error(s: float, c: float, x: np.ndarray) -> Any:
    """``|s + c - Σx|``, exactly (a Fraction)."""
    from fractions import Fraction

    return abs(Fraction(s) + Fraction(c) - sum((Fraction(float(v)) for v in x), Fraction(0)))


@pytest.mark.parametrize("seed", range(6))
def test_row_plain_bound_covers_its_error(seed: int) -> None:
    # Float32 values over 60 binades with both signs: the float64 block sums round (the error
    # is not 0), and the bound 2**-43 Σ|v| per block covers it.
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(3000) * 2.0 ** rng.integers(-30, 30, 3000)).astype(np.float32)
    ok, s, c, e = hk.row_plain(x, 0, x.size)
    assert ok
    assert 0 < _error(s, c, x) <= e


@pytest.mark.parametrize("cuts", [(), (700,), (5, 1029, 2048)])
def test_cols_plain_bound_covers_its_error(cuts: tuple[int, ...]) -> None:
    # The column form of row_plain: 2100 rows (three blocks) of 12 wide-range float32 columns,
    # whole or as separate arrays of rows (each cut ends a block).
    from numba.typed import List

    rng = np.random.default_rng(4)
    x = (rng.standard_normal((2100, 12)) * 2.0 ** rng.integers(-30, 30, (2100, 12))).astype(
        np.float32
    )
    ss, cc, ee = np.zeros(12), np.zeros(12), np.zeros(12)
    hk.cols_plain(List(np.split(x, cuts)), 0, 12, ss, cc, ee)
    errors = [_error(ss[j], cc[j], x[:, j]) for j in range(12)]
    assert all(err <= ee[j] for j, err in enumerate(errors))
    assert any(err > 0 for err in errors)  # the block sums did round


@pytest.mark.parametrize("dt", ["float16", "float32"])
@pytest.mark.parametrize("axes", [None, (0,), (1,)])
def test_plain_pass_falls_back_where_the_sum_cancels(dt: str, axes: Any) -> None:
    # Rows/columns whose float32 sums cancel by far more than 2**18 cannot certify from plain
    # float64 sums (which lose the small values here: with a zero bound 3 cases fail); they
    # are redone by extraction. Float16's plain sums are exact at this range.
    rng = np.random.default_rng(8)
    x = rng.standard_normal((40, 3000)).astype(dt)
    big = 60000.0 if dt == "float16" else 2.0**60
    x[:, 7] = big
    x[:, 1500] = -big  # every row cancels (and, transposed, every column)
    x[::2, 2999] = np.asarray(2.0**-14 if dt == "float16" else 2.0**-60, dt)
    x = x if axes != (0,) else np.ascontiguousarray(x.T)
    got = _host_sum(x, axes, dt)
    _assert_bits(got, exact_sum_along(x, (0, 1) if axes is None else axes, False, dt), dt)


@pytest.mark.parametrize(("dt", "fb"), [("float32", (0x7FFFFFFF, 23, 126, 255)), ("float64", F64)])
@pytest.mark.parametrize("jump", [2.0**15, 2.0**-15, 2.0**1.5])
def test_row_fast_redoes_blocks_whose_sigma_was_wrong(dt: str, fb: Any, jump: float) -> None:
    # Each block extracts with the σ of its predecessor's maximum: magnitudes growing by 2**15
    # a block (σ too small), shrinking by 2**15 (σ too loose) or growing by 2**1.5 (the slack).
    rng = np.random.default_rng(5)
    x = rng.standard_normal(8 * hk.B)
    x *= np.repeat(jump ** np.arange(8.0), hk.B)
    x = x.astype(dt)
    ok, s, c, e = hk.row_fast(x, x.view(f"int{x.itemsize * 8}"), 0, x.size, *fb)
    assert ok
    assert _error(s, c, x) <= e
    p, emask, nbits = (24, 255, 32) if dt == "float32" else (53, 2047, 64)
    certified, bits = hk.dd_round(s, c, e, p, emask, nbits)
    assert certified
    want = np.asarray(exact_sum_along(x, (0,), False, dt))
    assert bits == want.view(f"int{nbits}")


def test_row_fast_certifies_ordinary_data() -> None:
    x = np.random.default_rng(0).standard_normal(100_000)
    ok, s, c, e = hk.row_fast(x, x.view(np.int64), 0, x.size, *F64)
    assert ok
    certified, bits = hk.dd_round(s, c, e, 53, 2047, 64)
    assert certified
    want = exact_sum_along(x, (0,), False, "float64")
    assert np.int64(bits) == np.asarray(want).view(np.int64)


@pytest.mark.parametrize(
    ("values", "want", "certifies"),
    [
        ([1.5, 2.0**-54], 1.5, True),  # a quarter ulp off: certified
        ([1.0, 2.0**-53], 1.0, False),  # an exact tie: rounds to even
        ([1.0, 2.0**-53, 2.0**-100], 1.0 + 2.0**-52, False),  # just above the tie
        ([1.0 + 2.0**-52, 2.0**-53], 1.0 + 2.0**-51, False),  # a tie from an odd significand
    ],
)
def test_ties_fall_back_and_round_to_even(
    values: list[float], want: float, certifies: bool
) -> None:
    x = np.array(values)
    ok, s, c, e = hk.row_fast(x, x.view(np.int64), 0, x.size, *F64)
    assert ok
    assert hk.dd_round(s, c, e, 53, 2047, 64)[0] == certifies
    assert float(_host_sum(x, None, "float64")) == want


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("case", ["random", "range", "cancel", "ties", "special"])
def test_column_kernel_many_blocks(dt: str, case: str) -> None:
    # Axis 0 of a C array runs the column kernel: K = 2600 rows is three blocks of B = 1024.
    x = _data(case, dt, (2600, 19), seed=7)
    got = _host_sum(x, (0,), dt)
    _assert_bits(got, exact_sum_along(x, (0,), False, dt), f"column sums, {case}")


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_column_kernel_redoes_blocks_whose_sigma_was_wrong(dt: str) -> None:
    # The first σ comes from the first 8 rows, later ones from the previous block: a column
    # that grows by 2**40 (σ too small) or shrinks by 2**40 (σ too loose) redoes that block.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3000, 24)) + 2.0**-30 * rng.standard_normal((3000, 24))
    x[100:, ::2] *= 2.0**40
    x[1100:, 1::2] *= 2.0**-40
    x = x.astype(dt)
    got = _host_sum(x, (0,), dt)
    _assert_bits(got, exact_sum_along(x, (0,), False, dt), "column sums across magnitudes")


@pytest.mark.parametrize(
    ("order", "axes", "kernel"),
    [("F", (1,), "sum_cols"), ("C", (0,), "sum_cols"), ("C", (1,), "sum_rows")],
)
def test_layout_picks_the_kernel_without_a_copy(
    monkeypatch: pytest.MonkeyPatch, order: str, axes: tuple[int, ...], kernel: str
) -> None:
    # Sums over the axis that is not contiguous (rows of an F array, axis 0 of a C array) take
    # the column kernel on a view of the input itself, not the row kernel on a transposed copy.
    from unireduce._exact import _host

    x = np.asarray(_data("range", "float64", (40, 3000), seed=1), order=order)
    seen: list[tuple[str, bool]] = []
    for name in ("sum_rows", "sum_cols"):
        real = getattr(_host, name)

        def spy(a: np.ndarray, out: str, _name: str = name, _real: Any = real) -> Any:
            seen.append((_name, np.shares_memory(a, x)))
            return _real(a, out)

        monkeypatch.setattr(_host, name, spy)
    got = _host_sum(x, axes, "float64")
    assert seen == [(kernel, True)]
    _assert_bits(got, exact_sum_along(x, axes, False, "float64"), f"{order}-order axes {axes}")


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_long_row_split_between_threads_with_fallback(dt: str) -> None:
    # A long row is split between threads; a tie at the end defeats certification, so the
    # parts are redone exactly and merged.
    n = 1 << 17
    x = np.full(n, 0.5, dtype=dt)
    p = 24 if dt == "float32" else 53
    x[-1] = 2.0 ** (15 - p)  # the total 65535.5 + this is a tie at p bits
    got = _host_sum(x, None, dt)
    _assert_bits(got, exact_sum_along(x, (0,), False, dt), "split row")


@pytest.mark.parametrize(
    ("dt", "p", "emask", "nbits"), [("float64", 53, 2047, 64), ("float32", 24, 255, 32)]
)
def test_cumsum_fast_path_and_ties(dt: str, p: int, emask: int, nbits: int) -> None:
    # Halves: every prefix certifies from the running double-double (no exact step).
    x = np.full(5000, 0.5, dtype=dt)
    out = np.empty(x.size, np.int64)
    assert hk.cumsum_row(x, out, p, emask, nbits, False) == 0
    # Ties deep into the row: the running sum is exact there (e == 0), so the tie is rounded
    # from the two parts of the double-double, exactly.
    y = np.full(5000, 0.5, dtype=dt)
    y[4000] = 2.0 ** (10 - p)  # half an ulp of the prefixes 2000 .. 2047.5: ties
    assert hk.cumsum_row(y, out, p, emask, nbits, False) > 0
    got = np.asarray(_exact.cumsum(backend_of(y), y, 0, dt, path="host"))
    _assert_bits(got, exact_cumsum_along(y, 0, dt), "cumsum with a tie")


def test_cumsum_catch_up_after_an_inexact_running_sum() -> None:
    # 2**-60 + 3·2**-113 needs 54 bits: the running sum's low part rounds (e > 0). After the
    # -1.0 the prefix is that low part, within e of a tie: it cannot certify, so the exact side
    # catches up and the running sum restarts from the exact prefix.
    z = np.array([1.0, 2.0**-60, 3 * 2.0**-113, -1.0, 0.5, 0.25] + [0.125] * 200)
    assert hk.cumsum_row(z, np.empty(z.size, np.int64), 53, 2047, 64, False) > 0
    got = np.asarray(_exact.cumsum(backend_of(z), z, 0, "float64", path="host"))
    _assert_bits(got, exact_cumsum_along(z, 0, "float64"), "cumsum after a rounded low part")


def _hard_step(dt: str) -> list[float]:
    """Values whose last one leaves a prefix the running double-double holds only approximately
    (its low part rounded: e > 0) at an exact rounding tie plus a bit, so that the exact side
    must round it (up)."""
    if dt == "float64":
        return [2.0**100, 1.0, 2.0**-53, 2.0**-150, -(2.0**100)]
    return [2.0**60, 1.0, 2.0**-24, 2.0**-60, -(2.0**60)]


@pytest.mark.parametrize("dt", ["float32", "float64", "float16"])
def test_cumsum_blocks_resume_after_exact_steps(dt: str) -> None:
    # The fast path certifies blocks of hk.CB prefixes; a prefix needing the exact side stops
    # it (at a block's first element, and in the middle of one), and the next block starts
    # from the running sum as it stood before that prefix. A value that is not finite stops it
    # for good. Outputs are written at the format's own width (uint16, uint32, int64 bits).
    rng = np.random.default_rng(5)
    n = 5 * hk.CB + 17
    rows = np.round(rng.standard_normal((3, n)) * 64) / 64  # exact sums: ties appear too
    hard = _hard_step(dt) if dt != "float16" else [2.0**10, 1.0, 2.0**-11, -(2.0**10)]
    begin = 0
    for end in (hk.CB, 2 * hk.CB + 78):  # the last hard value lands at this index
        start = end - len(hard) + 1
        # The prefix before the hard values is that of index begin - 1 again (0 the first
        # time): the segment between is balanced.
        half = (start - begin) // 2
        seg = rows[0, begin : begin + half].copy()
        rows[0, begin:start] = 0.0
        rows[0, begin : begin + half] = seg
        rows[0, begin + half : begin + 2 * half] = -seg[::-1]
        rows[0, start : end + 1] = hard
        rows[0, end + 1 : end + 60] = 0.0  # keep the next prefixes at that exact value
        begin = end + 60
    rows[1, 300] = np.inf
    rows[2, 2 * hk.CB + 3] = np.nan
    x = rows.astype(dt)
    got = np.asarray(_exact.cumsum(backend_of(x), x, 1, dt, path="host"))
    _assert_bits(got, exact_cumsum_along(x, 1, dt), f"{dt} rows stopped mid-block")
    if dt != "float16":  # rounding the hard prefix took the exact side
        p, emask, nbits = (53, 2047, 64) if dt == "float64" else (24, 255, 32)
        out = np.empty(n, np.int64)
        assert hk.cumsum_row(np.ascontiguousarray(x[0]), out, p, emask, nbits, False) > 0
        first = out[hk.CB].astype(np.uint32).view(np.float32) if p == 24 else out.view(dt)[hk.CB]
        assert first == np.asarray(1.0 + 2.0 ** (1 - p), dt)


@pytest.mark.parametrize("chunks", [5000, 1000, 777, (1, 4999)])
def test_dask_results_do_not_depend_on_chunking(chunks: Any) -> None:
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    import unireduce as ur

    rng = np.random.default_rng(11)
    x = (rng.standard_normal(5000) * 2.0 ** rng.integers(-30, 30, 5000)).astype(np.float32)
    d = da.from_array(x, chunks=chunks)
    got = np.asarray(ur.sum(d, precision="exact").compute())
    _assert_bits(got, exact_sum_along(x, (0,), False, "float32"), f"dask sum, chunks={chunks}")
    cs = np.asarray(ur.cumulative_sum(d, axis=0, precision="exact").compute())
    _assert_bits(cs, exact_cumsum_along(x, 0, "float32"), f"dask cumsum, chunks={chunks}")


def _split_cases() -> list[tuple[str, Any, Any, Any]]:
    """Exact dask calls over split axes: (name, data, chunks, call); in the last two a block's
    partial sum passes float64's range, so the lazy conditional (DaskBackend.cond) computes its
    other branch (DaskBackend._overflowed: the data gathered)."""
    import unireduce as ur

    rng = np.random.default_rng(3)
    wide = rng.standard_normal((6, 400)) * 2.0 ** rng.integers(-40, 40, (6, 400))
    over = rng.standard_normal((2, 2000))
    over[:, :3], over[:, 500:503] = 1e308, -1e308  # 3e308 in block 0, cancelled in block 1
    return [
        ("sum axis 0", wide, (2, 100), lambda d: ur.sum(d, axis=0, precision="exact")),
        ("sum", wide.astype(np.float32), (2, 100), lambda d: ur.sum(d, precision="exact")),
        ("cumsum", wide, (2, 100), lambda d: ur.cumsum(d, axis=1, precision="exact")),
        ("over sum", over, (1, 500), lambda d: ur.sum(d, axis=1, precision="exact")),
        ("over cumsum", over, (1, 500), lambda d: ur.cumsum(d, axis=1, precision="exact")),
    ]


def _split_reference(name: str, x: Any) -> Any:
    dt = str(x.dtype)
    if name.endswith("cumsum"):
        return exact_cumsum_along(x, 1, dt)
    return exact_sum_along(x, {"sum axis 0": (0,), "sum": (0, 1)}.get(name, (1,)), False, dt)


@pytest.mark.parametrize("case", range(5))
def test_dask_exact_graphs_survive_serialization(
    monkeypatch: pytest.MonkeyPatch, case: int
) -> None:
    # dask.distributed pickles a task graph (cloudpickle) to send it to the scheduler and its
    # workers; exact mode's graphs hold the adapter and the conditional's other branch. Loaded
    # back, the graph must compute the same bits.
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    import pickle

    import cloudpickle

    from unireduce import _exact as ex

    name, x, chunks, call = _split_cases()[case]
    d = da.from_array(x, chunks=chunks)
    y = call(d)
    # The spies pickle by reference (functions of this module): a lambda would be copied, and
    # with it the list it appends to.
    cls = type(backend_of(d))
    monkeypatch.setitem(_SPIED, "_overflowed", cls._overflowed)
    monkeypatch.setattr(cls, "_overflowed", _counting_overflowed)
    monkeypatch.setattr(ex, "sum_rows", _counting_sum_rows)
    monkeypatch.setitem(_SPY, "sum_rows", 0)
    monkeypatch.setitem(_SPY, "other branch", 0)
    got = np.asarray(pickle.loads(cloudpickle.dumps(y)).compute())
    _assert_bits(got, _split_reference(name, x), f"dask {name}, pickled graph")
    other = _SPY["other branch"]
    assert other == (1 if name.startswith("over") else 0), f"the other branch ran {other}x"
    assert _SPY["sum_rows"] == 0, "the portable path ran"


_SPY = {"sum_rows": 0, "other branch": 0}
_SPIED: dict[str, Any] = {}  # the spied originals


def _counting_sum_rows(*args: Any, **kwargs: Any) -> Any:
    _SPY["sum_rows"] += 1
    return _portable.sum_rows(*args, **kwargs)


def _counting_overflowed(*args: Any, **kwargs: Any) -> Any:
    _SPY["other branch"] += 1
    return _SPIED["_overflowed"](*args, **kwargs)


def test_dask_exact_under_distributed_workers() -> None:
    # The same calls computed by a dask.distributed cluster of two worker processes, each
    # call's other branch (blocks of a row passing float64's range: the data gathered) once,
    # not once per block, and the portable path never.
    pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    distributed = pytest.importorskip("distributed", reason="distributed is in unireduce[test]")
    import dask.array as da

    def spy() -> None:  # in each worker (a closure: cloudpickle sends it by value)
        from unireduce._exact import _portable
        from unireduce.backends.array_api import DaskBackend

        for owner, name in ((_portable, "sum_rows"), (DaskBackend, "_overflowed")):
            orig = getattr(owner, f"_unspied_{name}", getattr(owner, name))

            def counted(*args: Any, _orig: Any = orig, _name: str = name, **kwargs: Any) -> Any:
                _portable._calls[_name] += 1  # type: ignore[attr-defined]
                return _orig(*args, **kwargs)

            setattr(owner, f"_unspied_{name}", orig)
            setattr(owner, name, counted)
        _portable._calls = {"sum_rows": 0, "_overflowed": 0}  # type: ignore[attr-defined]

    def calls() -> dict[str, int]:
        from unireduce._exact import _portable

        return dict(_portable._calls)  # type: ignore[attr-defined]

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        for name, x, chunks, call in _split_cases():
            y = call(da.from_array(x, chunks=chunks))
            client.run(spy)
            got = np.asarray(client.compute(y).result())
            _assert_bits(got, _split_reference(name, x), f"dask {name} on distributed workers")
            ran = [c["_overflowed"] for c in client.run(calls).values()]
            assert sum(ran) == name.startswith("over"), f"{name}: other branch ran {ran}x"
            assert all(c["sum_rows"] == 0 for c in client.run(calls).values()), name


DASK_WHOLE = [  # (shape, chunks, reduced axes): every reduced axis in one chunk
    ((10, 60), (4, 60), (1,)),
    ((10, 60), (1, 60), (1,)),
    ((6, 10, 8), (6, 3, 8), (0, 2)),
]


@pytest.mark.parametrize("dt", ["float32", "float64", "complex128"])
@pytest.mark.parametrize("case", ["range", "special"])
@pytest.mark.parametrize(("shape", "chunks", "red"), DASK_WHOLE)
def test_dask_blocks_holding_whole_rows_run_the_host_kernels(
    monkeypatch: pytest.MonkeyPatch, dt: str, case: str, shape: Any, chunks: Any, red: Any
) -> None:
    # Each output then comes from one block: DaskBackend.host_call maps the host kernels over
    # the blocks (the portable path across chunks took 54-150x dask's sum of 10**7 values), and
    # the blocks of a from_array reach them as views: a map_blocks(drop_axis=...) got copies,
    # which made the exact float32 sum over axis 1 of 1000 x 10**5 values in blocks of 100 rows
    # 53 ms against 19 ms as views (dask's own sum 27.5 ms; one core).
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    from dask import __version__ as dask_version

    x = _data(case, dt, shape)
    d = da.from_array(x, chunks=chunks)
    be = backend_of(d)
    calls = []
    copies = []
    run_host = _exact.run_host

    def counted(spec: str, a: Any) -> Any:
        calls.append(a.shape)
        if a.flags.owndata:
            copies.append((spec, a.shape))
        return run_host(spec, a)

    def no_portable(*args: Any) -> Any:
        raise AssertionError("the portable path ran")

    monkeypatch.setattr(_exact, "run_host", counted)
    monkeypatch.setattr(_exact, "sum_rows", no_portable)
    blocks = d.npartitions
    for keep in (False, True):
        got = np.asarray(_exact.sum(be, d, red, keep, dt).compute())
        want = exact_sum_along(x, red, keep, dt)
        _assert_bits(got, want, f"dask {dt} {case} sum over {red}, keepdims={keep}")
    ax = red[-1]
    got = np.asarray(_exact.cumsum(be, d, ax, dt).compute())
    _assert_bits(got, exact_cumsum_along(x, ax, dt), f"dask {dt} {case} cumsum along {ax}")
    assert len(calls) == 3 * blocks, calls
    assert not copies, f"blocks copied before the kernels (dask {dask_version}): {copies}"


def test_dask_split_sums_without_a_fallback_take_the_portable_path() -> None:
    # path="host" gives no portable path to fall back on should a block pass float64's range.
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    d = da.from_array(_data("range", "float64", (4, 60)), chunks=(4, 30))
    be = backend_of(d)
    assert be.host_call(d, "sum:float64:1:0", (4,), "float64") is None
    assert be.host_call(d, "cumsum:float64:1", (4, 60), "float64") is None
    with pytest.raises(ValueError, match="host path cannot reach"):
        _exact.sum(be, d, (1,), False, "float64", path="host")
    with pytest.raises(ValueError, match="host path cannot reach"):
        _exact.cumsum(be, d, 1, "float64", path="host")


def _expansion_of(row: np.ndarray) -> tuple[list[float], bool]:
    """The expected float64 expansion of a finite row's exact sum: each component the rest of
    the sum correctly rounded (Python's int / int is), computed from Fractions."""
    from fractions import Fraction

    rest = sum((Fraction(float(v)) for v in row), Fraction(0))
    comps: list[float] = []
    while rest != 0 and len(comps) < 42:
        try:
            c = rest.numerator / rest.denominator
        except OverflowError:
            return comps, True
        if c in (float("inf"), float("-inf")):
            return comps, True
        comps.append(c)
        rest -= Fraction(c)
    if not comps:
        comps.append(-0.0 if all(np.signbit(row) & (row == 0)) else 0.0)
    return comps, False


@pytest.mark.parametrize("nt", [1, 2])
@pytest.mark.parametrize("case", ["random", "range", "subnormal", "cancel", "ties", "overflow"])
@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 700), (1, 20000)])
def test_expansions_are_the_exact_sums_rest_by_rest(
    shape: Any, dt: str, case: str, nt: int
) -> None:
    # The block totals of dask's split sums and cumsums: one exact pass, then each component
    # the rest of the sum rounded. (1, 20000) with two threads takes the split-row branch.
    with np.errstate(over="ignore", invalid="ignore"):
        x = _data(case, dt, shape)
    comps = np.full((shape[0], 42), -0.0)
    over = np.zeros(shape[0], bool)
    hk.expansion_rows_k(x, comps, over, False, nt)
    for r in range(shape[0]):
        want, want_over = _expansion_of(x[r])
        assert bool(over[r]) == want_over, f"row {r}: overflow flag"
        if want_over:
            continue
        got = comps[r]
        n = len(want)
        _assert_bits(got[:n], np.array(want), f"{dt} {case} row {r}")
        _assert_bits(got[n:], np.full(42 - n, -0.0), f"{dt} {case} row {r}: the padding")


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_expansions_of_special_values(dt: str) -> None:
    # float32 rows this short first try an exact float64 sum, float64 rows the accumulator.
    nan, inf = np.nan, np.inf
    x = np.array([[1.0, inf, 2.0], [inf, -inf, 0.0], [1.0, nan, inf], [-inf, 1e30, 1e30]], dt)
    comps, over = _host.expansions(x)
    _assert_bits(comps[:, 0], np.array([inf, nan, nan, -inf]), "special values")
    assert not over.any() and not comps[:, 1:].any()
    x = np.array([[-0.0, -0.0, -0.0], [-0.0, 0.0, -0.0], [1.0, -1.0, -0.0]], dt)
    comps, over = _host.expansions(x)
    _assert_bits(comps[:, 0], np.array([-0.0, 0.0, 0.0]), "signed zeros")
    assert not over.any() and not comps[:, 1:].any()
    comps, over = _host.expansions(np.array([[1e308, 1e308, -1.0]]))
    assert over.tolist() == [True]


DASK_SPLIT = [  # (shape, chunks, reduced axes): a reduced axis split across blocks
    ((600,), (100,), (0,)),
    ((600,), (7,), (0,)),
    ((12, 50), (5, 20), (1,)),
    ((12, 50), (5, 20), (0, 1)),
    ((6, 10, 8), (3, 4, 5), (0, 2)),
]
SPLIT_CASES = ["random", "range", "subnormal", "cancel", "ties", "overflow", "special"]


def _dask_split_case(
    monkeypatch: pytest.MonkeyPatch, case: str, dt: str, shape: Any, chunks: Any
) -> tuple[np.ndarray, Any]:
    """The data and its dask array; the portable path fails the test (float64 block totals
    past 2**1024, in "overflow" and "cancel" data, are gathered)."""
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    if dt == "bfloat16":
        pytest.importorskip("ml_dtypes", reason="bfloat16 NumPy arrays need ml_dtypes")
    with np.errstate(over="ignore", invalid="ignore"):
        x = _data(case, dt, (1, *shape) if len(shape) == 1 else shape).reshape(shape)

    def no_portable(*args: Any) -> Any:
        raise AssertionError("the portable path ran")

    monkeypatch.setattr(_exact, "sum_rows", no_portable)
    monkeypatch.setattr(_exact, "GATHER_FRACTION", np.inf)  # partials, however few the rows
    return x, da.from_array(x, chunks=chunks)


def _no_bounded_sums(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every certified first try of a split dask sum left uncertain (all NaN)."""
    finish = _exact.finish_bounded

    def nothing_sure(spec: str, parts: Any) -> Any:
        return finish(spec, parts) * np.nan

    monkeypatch.setattr(_exact, "finish_bounded", nothing_sure)


def _split_grid(layouts: list[Any]) -> list[Any]:
    """``(*layout, case, dt)`` for every layout, case and dtype."""
    return [
        pytest.param(*layout, case, dt, id=f"{'/'.join(map(str, layout))}-{case}-{dt}")
        for layout in layouts
        for case in SPLIT_CASES
        for dt in ("float16", "bfloat16", "float32", "float64")
    ]


@pytest.mark.parametrize("route", ["bounded first", "expansions"])
@pytest.mark.parametrize(("shape", "chunks", "red", "case", "dt"), _split_grid(DASK_SPLIT))
def test_dask_split_sums_combine_block_sums(
    monkeypatch: pytest.MonkeyPatch,
    route: str,
    shape: Any,
    chunks: Any,
    red: Any,
    case: str,
    dt: str,
) -> None:
    # First each block's certified double-double and bound (block_bounded: one pass, 3.3
    # against 9.3 ms for the expansions of 10**7 float64 values), added up and rounded where the
    # bounds make it certain (normal data never needs more); where not, each block's exact
    # partial sums as float64 expansions, summed exactly once more ("expansions": the first try
    # left uncertain, so every data kind takes that route). The portable path across chunks took
    # 24-41x dask's sum of 10**7 normal values, and 13.5 s for 10**5 values over 2000 binades.
    if route == "expansions":
        _no_bounded_sums(monkeypatch)
    x, d = _dask_split_case(monkeypatch, case, dt, shape, chunks)
    partials = _exact.block_partials
    calls: list[int] = []

    def counted(spec: str, a: Any) -> Any:
        calls.append(1)
        return partials(spec, a)

    monkeypatch.setattr(_exact, "block_partials", counted)
    _check_split_sums(x, d, red, dt)
    if route == "expansions":
        assert calls
    elif case == "random":
        assert not calls, "normal data took the exact expansions"
    elif case == "special" or (case == "overflow" and dt == "float64"):
        assert calls, f"{case} data passed the certified try"


@pytest.mark.parametrize(("shape", "chunks", "red"), DASK_SPLIT[:2])
def test_dask_split_sums_without_a_bounded_plan_take_the_expansions(
    monkeypatch: pytest.MonkeyPatch, shape: Any, chunks: Any, red: Any
) -> None:
    # Where split_plan declines the first try's 4 values per output and block (it fits
    # wherever the expansions' 43 do, so only forced here), the sum takes the expansions.
    x, d = _dask_split_case(monkeypatch, "random", "float32", shape, chunks)
    plan = _exact.split_plan

    def no_bounded(spec: str, chunks: Any, out: str, n1: int = 0) -> Any:
        return None if n1 == _exact.BOUNDED else plan(spec, chunks, out, n1)

    monkeypatch.setattr(_exact, "split_plan", no_bounded)
    bounded, partials = _exact.block_bounded, _exact.block_partials
    calls: list[str] = []
    monkeypatch.setattr(_exact, "block_bounded", lambda *a: calls.append("b") or bounded(*a))
    monkeypatch.setattr(_exact, "block_partials", lambda *a: calls.append("p") or partials(*a))
    _check_split_sums(x, d, red, "float32")
    assert "p" in calls and "b" not in calls


@pytest.mark.parametrize(
    ("parts", "sure"),
    [
        ([[1.5, 0.0, 0.0, 1.0], [2.0**-24, 0.0, 0.0, 1.0]], False),  # a float32 tie: exact route
        ([[1.5, 0.0, 0.0, 1.0], [2.0**-25, 0.0, 2.0**-30, 1.0]], True),  # 1.5 + 2**-25 +- 2**-30
        ([[1.5, 0.0, 0.0, 1.0], [2.0**-25, 0.0, 2.0**-25, 1.0]], False),  # may reach the tie
        ([[1.5, 0.0, 0.0, 1.0], [2.0**-25, 0.0, 0.0, 0.0]], False),  # a block not ok
        ([[1.0, 0.0, 0.0, 1.0], [-1.0, 0.0, 0.0, 1.0]], False),  # zero: its sign is exact work
        ([[2.0**1000, 0.0, 0.0, 1.0]] * 2, False),  # past float32's range
    ],
)
def test_bounded_block_sums_round_only_when_certain(parts: Any, sure: bool) -> None:
    # The sum of the double-doubles is within the added bounds of the exact value: rounded
    # where every value within them rounds alike to a finite nonzero float32, else uncertain.
    y, ok = _host.round_bounded(np.array([parts]), "float32")
    assert ok.tolist() == [sure]
    if sure:
        assert y.tolist() == [1.5]  # 1.5 + 2**-25 +- 2**-30 lies below the tie 1.5 + 2**-24


def _exact_fraction(v: np.ndarray) -> fractions.Fraction:
    """The exact sum of the float64 values ``v`` (finite), as Python integers in 2**-1074."""
    total = 0
    for num, den in (float(a).as_integer_ratio() for a in v):
        total += num << (1074 - den.bit_length() + 1)
    return fractions.Fraction(total, 1 << 1074)


@pytest.mark.parametrize("n", [10, 30000])  # 30000: one long row split between threads
def test_bounded_rows_bound_their_sums(n: int) -> None:
    # s + c lies within e of the exact sum, for float64 data (extraction) and float32 data
    # (plain float64 block sums).
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, n)) * 2.0 ** rng.integers(-40, 40, (2, n))
    for dt in ("float64", "float32"):
        a = x.astype(dt)
        res = _host.bounded(a, dt)
        for r in range(2):
            s, c, e, ok = res[r]
            assert ok == 1.0
            exact = _exact_fraction(a[r].astype(np.float64))
            err = abs(fractions.Fraction(s) + fractions.Fraction(c) - exact)
            assert err <= fractions.Fraction(e), (dt, r, float(err), e)


def _check_split_sums(x: np.ndarray, d: Any, red: Any, dt: str) -> None:
    be = backend_of(d)
    for keep in (False, True):
        got = np.asarray(_exact.sum(be, d, red, keep, dt).compute())
        want = exact_sum_along(x, red, keep, dt)
        _assert_bits(got, want, f"dask {dt} {d.chunks} sum over {red} keep={keep}")


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("case", ["range", "overflow", "special"])
@pytest.mark.parametrize(("shape", "chunks", "red"), [*DASK_SPLIT, ((40, 30), (7, 4), (0,))])
def test_dask_split_axes_of_few_rows_are_gathered_and_run_whole(
    monkeypatch: pytest.MonkeyPatch, dt: str, case: str, shape: Any, chunks: Any, red: Any
) -> None:
    # Where per-block partials would outweigh the data (GATHER_FRACTION), the data is rechunked
    # with the reduced axes whole and the kernels run block by block: no partials, no portable
    # path (float64 beyond 2**1024 included), the result in dask's own blocks.
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    with np.errstate(over="ignore", invalid="ignore"):
        x = _data(case, dt, (1, *shape) if len(shape) == 1 else shape).reshape(shape)
    d = da.from_array(x, chunks=chunks)
    be = backend_of(d)

    def never(*args: Any) -> Any:
        raise AssertionError("not the gathered route")

    monkeypatch.setattr(_exact, "sum_rows", never)
    monkeypatch.setattr(_exact, "block_partials", never)
    monkeypatch.setattr(_exact, "GATHER_FRACTION", 0.0)
    for keep in (False, True):
        y = _exact.sum(be, d, red, keep, dt)
        assert y.chunks == d.sum(axis=red, keepdims=keep).chunks
        want = exact_sum_along(x, red, keep, dt)
        _assert_bits(np.asarray(y.compute()), want, f"{dt} {case} sum over {red} keep={keep}")
    y = _exact.cumsum(be, d, red[-1], dt)
    assert y.chunks == d.chunks
    want = exact_cumsum_along(x, red[-1], dt)
    _assert_bits(np.asarray(y.compute()), want, f"{dt} {case} cumsum along {red[-1]}")


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_dask_split_sums_compute_each_block_partial_once(
    monkeypatch: pytest.MonkeyPatch, scheduler: str
) -> None:
    # DaskBackend.cond's predicate (no block total passed float64's range) and the result share
    # the partials; handing the predicate to dask.delayed renamed its graph, which computed
    # every block's partials twice (the exact sum of 10**8 float64 values in 10 blocks: 203 ms,
    # 101 ms once).
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    import unireduce as ur

    x = _data("range", "float64", (3, 600))
    d = da.from_array(x, chunks=(3, 100))
    monkeypatch.setattr(_exact, "GATHER_FRACTION", np.inf)  # the partials route
    calls: list[tuple[int, ...]] = []
    partials = _exact.block_partials

    def counted(spec: str, a: Any) -> Any:
        calls.append(a.shape)
        return partials(spec, a)

    monkeypatch.setattr(_exact, "block_partials", counted)
    got = ur.sum(d, axis=1, precision="exact").compute(scheduler=scheduler)
    _assert_bits(np.asarray(got), exact_sum_along(x, (1,), False, "float64"), "split sum")
    assert len(calls) == d.numblocks[1], calls
    calls.clear()
    got = ur.cumsum(d, axis=1, precision="exact").compute(scheduler=scheduler)
    _assert_bits(np.asarray(got), exact_cumsum_along(x, 1, "float64"), "split cumsum")
    assert len(calls) == d.numblocks[1] - 1, calls  # every block's total but the last's


@pytest.mark.parametrize(("shape", "chunks", "red"), [((20, 40), (2, 40), (0,)), *DASK_SPLIT])
def test_dask_gathered_sums_and_cumsums_slice_whole_blocks_in_their_tasks(
    monkeypatch: pytest.MonkeyPatch, shape: Any, chunks: Any, red: Any
) -> None:
    # The gathered route's tasks take the input's blocks whole and cut the kept axes out of
    # them as views (one copy, the concatenation): x.rechunk first (dask copies slices of under
    # half a block, then concatenates them) took twice as long over axis 0 of 1000 x 10**5.
    # Each task concatenates every block along the reduced axes and cuts within one block.
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    from unireduce.backends import array_api

    x = _data("range", "float64", shape)
    d = da.from_array(x, chunks=chunks)
    monkeypatch.setattr(_exact, "GATHER_FRACTION", 0.0)
    seen: list[list[tuple[int, ...]]] = []
    run = array_api._run_gathered

    def spy(spec: str, index: Any, blocks: Any) -> Any:
        flat = blocks
        while isinstance(flat[0], list):
            flat = [b for sub in flat for b in sub]
        seen.append([b.shape for b in flat])
        return run(spec, index, blocks)

    monkeypatch.setattr(array_api, "_run_gathered", spy)
    y = _exact.sum(backend_of(d), d, red, False, "float64")
    _assert_bits(np.asarray(y.compute()), exact_sum_along(x, red, False, "float64"), "gathered")
    n_red = math.prod(len(d.chunks[a]) for a in red)
    assert seen and all(len(s) == n_red for s in seen)
    whole = set(itertools.product(*d.chunks))
    assert all(set(s) <= whole for s in seen), f"tasks got pieces, not blocks: {seen}"
    if shape == (20, 40):  # blocks of 80 values: 20-row columns cut 4 wide, 10 tasks
        assert len(seen) == 10
    # The cumsum so too, then each output block concatenated from the cuts within it: no
    # x.rechunk either way (two copies each, where one in and one out do).
    seen.clear()
    ax = red[-1]
    y = _exact.cumsum(backend_of(d), d, ax, "float64")
    assert y.chunks == d.chunks
    assert not [k for k in y.dask.layers if str(k).startswith("rechunk")], list(y.dask.layers)
    _assert_bits(np.asarray(y.compute()), exact_cumsum_along(x, ax, "float64"), "cumsum")
    assert seen and all(len(s) == len(d.chunks[ax]) for s in seen)
    assert all(set(s) <= whole for s in seen), f"tasks got pieces, not blocks: {seen}"


DASK_IN_PLACE = [  # (shape, chunks, reduced axes, copy): sums the column kernel reads in place
    ((40, 30), (7, 30), (0,), False),  # blocks of whole rows: C-contiguous views
    ((20, 40), (2, 40), (0,), False),  # 20-row columns cut 4 wide within each block
    ((40, 30), (7, 4), (0,), True),  # (copy: each block made C-contiguous by a task)
    ((40, 30), (7, 4), (0,), False),  # views of a C array cut along axis 1: rows 30 apart
    ((3, 50), (1, 20), (0,), False),  # blocks of one row
    ((6, 10, 8), (4, 10, 8), (0, 1), False),
    ((6, 10, 8), (4, 3, 5), (0, 1), True),
    ((6, 4, 10), (2, 4, 10), (0,), False),  # two kept axes, cut along the first
]


def _read_only(b: np.ndarray) -> np.ndarray:
    v = b.view()
    v.flags.writeable = False
    return v


BLOCK_MAKERS = {"copy": np.ascontiguousarray, "fortran": np.asfortranarray, "read-only": _read_only}


def _dask_blocks(x: np.ndarray, chunks: Any, make: str) -> Any:
    """``x`` in blocks of ``chunks``: views of ``x``, or each block made anew by a task."""
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    d = da.from_array(x, chunks=chunks)
    return d.map_blocks(BLOCK_MAKERS[make], dtype=x.dtype) if make in BLOCK_MAKERS else d


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("case", SPLIT_CASES)
@pytest.mark.parametrize(("shape", "chunks", "red", "copy"), DASK_IN_PLACE)
def test_dask_gathered_sums_over_leading_axes_read_the_blocks_in_place(
    monkeypatch: pytest.MonkeyPatch,
    dt: str,
    case: str,
    shape: Any,
    chunks: Any,
    red: Any,
    copy: bool,
) -> None:
    # The gathered tasks of a sum over leading axes hand the column kernel the blocks themselves
    # (unireduce._exact.sum_in_place): concatenating the cuts took 45 of the 70 ms of the float32
    # sum over axis 0 of 1000 x 10**5 in blocks of 100 rows, 77 of 122 ms for float64.
    from unireduce.backends import array_api

    with np.errstate(over="ignore", invalid="ignore"):
        x = _data(case, dt, shape)
    d = _dask_blocks(x, chunks, "copy" if copy else "views")

    def no_copy(*args: Any) -> Any:
        raise AssertionError("the cuts were concatenated")

    monkeypatch.setattr(array_api, "_concat_views", no_copy)
    monkeypatch.setattr(_exact, "GATHER_FRACTION", 0.0)
    for keep in (False, True):
        y = _exact.sum(backend_of(d), d, red, keep, dt)
        want = exact_sum_along(x, red, keep, dt)
        _assert_bits(np.asarray(y.compute()), want, f"{dt} {case} {chunks} sum over {red}")


@pytest.mark.parametrize(
    ("shape", "chunks", "red", "make"),
    [
        ((40, 30), (7, 30), (0,), "fortran"),  # rows of strided columns
        ((40, 30), (7, 4), (0,), "read-only"),  # (the kernels' lists take writable arrays)
        ((6, 10, 8), (4, 3, 5), (0, 1), "views"),  # reduced axes 0, 1 of a block do not merge
        ((6, 2, 50), (1, 2, 50), (0,), "copy"),  # cut along both kept axes: 1 x 16 of 2 x 50
        ((12, 50), (5, 20), (1,), "copy"),  # the reduced axis is not leading
    ],
)
def test_dask_gathered_sums_the_kernel_cannot_read_in_place_concatenate(
    monkeypatch: pytest.MonkeyPatch, shape: Any, chunks: Any, red: Any, make: str
) -> None:
    from unireduce.backends import array_api

    x = _data("cancel", "float64", shape)
    d = _dask_blocks(x, chunks, make)
    copies: list[int] = []
    concat = array_api._concat_views

    def spy(index: Any, blocks: Any) -> Any:
        copies.append(1)
        return concat(index, blocks)

    monkeypatch.setattr(array_api, "_concat_views", spy)
    monkeypatch.setattr(_exact, "GATHER_FRACTION", 0.0)
    y = _exact.sum(backend_of(d), d, red, False, "float64")
    _assert_bits(np.asarray(y.compute()), exact_sum_along(x, red, False, "float64"), "sum")
    assert copies


@pytest.mark.parametrize(  # complex128 "range" partial sums may pass 2**1024 (portable path)
    ("dt", "case"),
    [(dt, c) for dt in ("complex64", "complex128") for c in ("random", "subnormal", "special")]
    + [("complex64", "range")],
)
@pytest.mark.parametrize(("shape", "chunks", "red"), DASK_SPLIT)
def test_dask_split_complex_sums_take_the_partials_route_per_component(
    monkeypatch: pytest.MonkeyPatch, dt: str, case: str, shape: Any, chunks: Any, red: Any
) -> None:
    # Each component's sums and cumsums from float64 expansions, put together (the portable
    # path ran before).
    x, d = _dask_split_case(monkeypatch, case, dt, shape, chunks)
    _check_split_sums(x, d, red, dt)
    y = _exact.cumsum(backend_of(d), d, red[-1], dt)
    assert y.chunks == d.chunks
    want = exact_cumsum_along(x, red[-1], dt)
    _assert_bits(np.asarray(y.compute()), want, f"{dt} {case} cumsum along {red[-1]}")


def _spy_portable(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time the portable path runs."""
    ran: list[int] = []
    sum_rows = _exact.sum_rows

    def spied(*args: Any) -> Any:
        ran.append(1)
        return sum_rows(*args)

    monkeypatch.setattr(_exact, "sum_rows", spied)
    return ran


def test_dask_split_sum_past_its_size_limit_takes_the_portable_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One output's components from every block must fit one task (SPLIT_MAX elements).
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    monkeypatch.setattr(_exact, "GATHER_FRACTION", np.inf)  # the partials route
    d = da.from_array(_data("range", "float64", (40, 60)), chunks=(40, 30))
    be = backend_of(d)
    monkeypatch.setattr(_exact, "SPLIT_MAX", 2 * 43)
    assert be.host_call(d, "sum:float64:1:0", (40,), "float64", lambda a: a) is not None
    assert be.host_call(d, "cumsum:float64:1", (40, 60), "float64", lambda a: a) is not None
    monkeypatch.setattr(_exact, "SPLIT_MAX", 2 * 43 - 1)
    assert be.host_call(d, "sum:float64:1:0", (40,), "float64", lambda a: a) is None
    assert be.host_call(d, "cumsum:float64:1", (40, 60), "float64", lambda a: a) is None


@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize(
    ("shape", "chunks", "axis"), [((50, 30), (10, 30), 0), ((4, 50, 30), (3, 10, 7), 1)]
)
def test_dask_split_sums_cut_their_outputs_to_fit_a_task(
    monkeypatch: pytest.MonkeyPatch, shape: Any, chunks: Any, axis: int, keep: bool
) -> None:
    # Past SPLIT_MAX elements per task the kept axes of the gathered partials are cut smaller
    # (here 5 blocks x 43 x at most 2 outputs), not sent to the portable path; the result
    # keeps the input's blocks.
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    x = _data("range", "float64", shape)
    d = da.from_array(x, chunks=chunks)
    be = backend_of(d)

    def no_portable(*args: Any) -> Any:
        raise AssertionError("the portable path ran")

    monkeypatch.setattr(_exact, "sum_rows", no_portable)
    monkeypatch.setattr(_exact, "GATHER_FRACTION", np.inf)  # the partials route
    monkeypatch.setattr(_exact, "SPLIT_MAX", 5 * 43 * 2 + 42)
    y = _exact.sum(be, d, (axis,), keep, "float64")
    assert y.chunks == d.sum(axis=axis, keepdims=keep).chunks
    _assert_bits(np.asarray(y.compute()), exact_sum_along(x, (axis,), keep, "float64"), "sum")
    c = _exact.cumsum(be, d, axis, "float64")
    assert c.chunks == d.chunks
    _assert_bits(np.asarray(c.compute()), exact_cumsum_along(x, axis, "float64"), "cumsum")


DASK_SPLIT_CUMSUM = [  # (shape, chunks, axis): the axis split across blocks
    ((600,), (100,), 0),
    ((600,), (7,), 0),
    ((600,), (599,), 0),
    ((12, 50), (5, 20), 1),
    ((12, 50), (5, 20), 0),
    ((6, 10, 8), (3, 4, 5), 1),
]


@pytest.mark.parametrize(("shape", "chunks", "axis", "case", "dt"), _split_grid(DASK_SPLIT_CUMSUM))
def test_dask_split_cumsums_start_each_block_from_an_exact_carry(
    monkeypatch: pytest.MonkeyPatch, shape: Any, chunks: Any, axis: int, case: str, dt: str
) -> None:
    # Each block's prefix sums start from the exact sum of the blocks before it, a float64
    # expansion: the portable path across chunks took 74-82x dask's cumsum of 10**7 values.
    x, d = _dask_split_case(monkeypatch, case, dt, shape, chunks)
    y = _exact.cumsum(backend_of(d), d, axis, dt)
    assert y.chunks == d.chunks
    got = np.asarray(y.compute())
    _assert_bits(got, exact_cumsum_along(x, axis, dt), f"dask {dt} {case} {shape}/{chunks}")


@pytest.mark.parametrize("fits", [True, False], ids=["gathered", "portable"])
@pytest.mark.parametrize("op", ["sum", "cumsum"])
def test_dask_split_totals_past_float64s_range(
    monkeypatch: pytest.MonkeyPatch, op: str, fits: bool
) -> None:
    # The first two blocks' exact sum passes 2**1024 (the sum's first block alone does); the
    # last cancels it. Float64 expansions cannot hold that: the data is gathered and run whole
    # by the host kernels, or where one output's values pass GATHER_MAX bytes the portable
    # path runs, once for all the blocks. The result keeps the blocks a partials route gives.
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    monkeypatch.setattr(_exact, "GATHER_FRACTION", np.inf)  # the partials route
    monkeypatch.setattr(_exact, "GATHER_MAX", 7 * 8 if fits else 7 * 8 - 1)
    big = np.finfo(np.float64).max
    x = np.array([big, 0.5, big, 0.25, -big, -big, 1.0])
    d = da.from_array(x, chunks=(3, 1, 3) if op == "sum" else (2, 2, 3))
    ran = _spy_portable(monkeypatch)
    be = backend_of(d)
    if op == "sum":
        got = np.asarray(_exact.sum(be, d, (0,), False, "float64").compute())
        assert got == 1.75
    else:
        y = _exact.cumsum(be, d, 0, "float64")
        assert y.chunks == d.chunks
        got = np.asarray(y.compute())
        _assert_bits(got, exact_cumsum_along(x, 0, "float64"), "carry past float64's range")
        assert got[-1] == 1.75 and np.isinf(got[2])
    assert len(ran) == (0 if fits else 1)


@pytest.mark.parametrize("fits", [True, False], ids=["gathered", "portable"])
def test_dask_split_complex_cumsum_whose_real_carry_overflows(
    monkeypatch: pytest.MonkeyPatch, fits: bool
) -> None:
    # Per component: the real part's carry passes 2**1024 and is gathered (or takes its part
    # of the portable path); the imaginary part keeps the partials route.
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    monkeypatch.setattr(_exact, "GATHER_FRACTION", np.inf)
    monkeypatch.setattr(_exact, "GATHER_MAX", 7 * 8 if fits else 7 * 8 - 1)
    big = np.finfo(np.float64).max
    x = np.array([big, 0.5, big, 0.25, -big, -big, 1.0]) + 1j * np.arange(1.0, 8.0) / 3
    d = da.from_array(x, chunks=(2, 2, 3))
    ran = _spy_portable(monkeypatch)
    y = _exact.cumsum(backend_of(d), d, 0, "complex128")
    assert y.chunks == d.chunks
    got = np.asarray(y.compute())
    _assert_bits(got, exact_cumsum_along(x, 0, "complex128"), "complex carry past the range")
    assert got[-1].real == 1.75 and len(ran) == (0 if fits else 1)


def test_dask_cond_keeps_the_chunks_and_computes_the_other_branch_once() -> None:
    da = pytest.importorskip("dask.array", reason="dask is part of unireduce[all]")
    x = da.arange(10.0, chunks=3)
    be = backend_of(x)
    made = []

    def other() -> Any:
        made.append(1)
        return -x

    for pred, want in ((x.sum() > 0, np.arange(10.0)), (x.sum() < 0, -np.arange(10.0))):
        y = be.cond(pred, lambda: x, other)
        assert y.chunks == x.chunks
        np.testing.assert_array_equal(y.compute(), want)
    assert len(made) == 1  # once for four blocks
    np.testing.assert_array_equal(y.compute(), -np.arange(10.0))  # again after its last use
    assert len(made) == 2


@pytest.mark.parametrize("case", ["random", "range", "subnormal", "special"])
def test_flushing_cpu_takes_the_integer_path(case: str) -> None:
    # On a CPU that flushes subnormals (``flushes()``), every kernel must skip the float
    # extraction: force that path with ``slow=True`` and compare with the reference.
    x = _data(case, "float64", (30, 70), seed=2)
    rows = np.empty(30, np.int64)
    hk.sum_rows_k(x, x.view(np.int64), rows, 53, 2047, 64, True, 1, F64)
    _assert_bits(rows.view(np.float64), exact_sum_along(x, (1,), False, "float64"), "rows")
    cols = np.empty(70, np.int64)
    hk.sum_cols_k(x, cols, 53, 2047, 64, True, 1)
    _assert_bits(cols.view(np.float64), exact_sum_along(x, (0,), False, "float64"), "cols")
    from numba.typed import List

    some = np.empty(50, np.int64)  # columns 20 .. 69 of the rows of three blocks
    hk.sum_cols_kb(List(np.split(x, (7, 8))), 20, some, 53, 2047, 64, True, 1)
    want = exact_sum_along(x[:, 20:], (0,), False, "float64")
    _assert_bits(some.view(np.float64), want, "cols of blocks")
    cum = np.empty(x.shape, np.int64)
    hk.cumsum_rows_k(x, cum, 53, 2047, 64, True)
    _assert_bits(cum.view(np.float64), exact_cumsum_along(x, 1, "float64"), "cumsum")


# ----------------------------------------------------------------------- inside torch.compile
# A CPU tensor under torch.compile reaches the host kernels through the op unireduce::host
# (Backend.host_call), which the compiler keeps opaque; other devices take the portable path.
COMPILED_CASES = {
    "sum-all": (lambda ur, a: ur.sum(a, precision="exact"), ((0, 1, 2), False)),
    "sum-axis0": (lambda ur, a: ur.sum(a, axis=0, precision="exact"), ((0,), False)),
    "sum-axes02-keepdims": (
        lambda ur, a: ur.sum(a, axis=(0, 2), keepdims=True, precision="exact"),
        ((0, 2), True),
    ),
    "cumsum-axis0": (lambda ur, a: ur.cumsum(a, axis=0, precision="exact"), 0),
    "cumsum-axis1-transposed": (lambda ur, a: ur.cumsum(a.mT, axis=1, precision="exact"), 1),
}


def _compiled_want(case: str, x: np.ndarray, dt: str) -> np.ndarray:
    how = COMPILED_CASES[case][1]
    if isinstance(how, int):
        src = np.swapaxes(x, -1, -2) if case.endswith("transposed") else x
        return exact_cumsum_along(np.ascontiguousarray(src), how, dt)
    return exact_sum_along(x, how[0], how[1], dt)


def _graph_calls(f: Any, *args: Any) -> list[str]:
    """The calls in the one graph Dynamo captures from ``f(*args)`` (fullgraph: no break)."""
    import torch

    calls: list[list[str]] = []

    def record(gm: Any, inputs: Any) -> Any:
        calls.append([str(n.target) for n in gm.graph.nodes if n.op.startswith("call")])
        return gm.forward

    torch._dynamo.reset()
    torch.compile(f, backend=record, fullgraph=True)(*args)
    (graph,) = calls
    return graph


@pytest.mark.parametrize("case", sorted(COMPILED_CASES))
def test_torch_compile_runs_the_host_kernels_as_one_op(case: str) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    import unireduce as ur

    t = torch.from_numpy(_data("random", "float32", (5, 6, 7)))
    calls = _graph_calls(lambda a: COMPILED_CASES[case][0](ur, a), t)
    # The op, after at most the input's transpose (a.mT, a getattr): none of the portable path.
    assert [c for c in calls if c != "<built-in function getattr>"] == ["unireduce.host"], calls


def test_torch_compile_keeps_the_portable_path_when_asked() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")

    t = torch.from_numpy(_data("random", "float32", (5, 7)))
    be = backend_of(t)
    calls = _graph_calls(lambda a: _exact.cumsum(be, a, 1, "float32", path="portable"), t)
    assert "unireduce.host" not in calls
    assert "cond" in calls, calls


@pytest.mark.parametrize("dt", ["float16", "bfloat16", "float32", "float64", "complex64"])
@pytest.mark.parametrize("case", sorted(COMPILED_CASES))
def test_torch_compile_host_op_is_exact(case: str, dt: str) -> None:
    # One compilation (about 3 s) per case and dtype, run on each kind of data.
    torch = pytest.importorskip("torch", reason="torch is not installed")
    import unireduce as ur
    from tests._frameworks import FRAMEWORKS

    fw = FRAMEWORKS["torch"]()
    torch._dynamo.reset()
    f = torch.compile(lambda a: COMPILED_CASES[case][0](ur, a), backend="aot_eager", fullgraph=True)
    for data in ("cancel", "special", "ties"):
        x = _data(data, dt, (6, 9, 70))
        got = f(fw.make(x, dt))
        want = _compiled_want(case, x, dt)
        _assert_bits(fw.to_numpy(got), want, f"torch.compile {case} {dt} {data}")
        assert got.is_contiguous()


@pytest.mark.parametrize("case", ["sum-axis0", "cumsum-axis1-transposed"])
def test_torch_compile_host_op_under_inductor(case: str) -> None:
    # The default backend compiles the graph around the op (here a transpose feeding it).
    torch = pytest.importorskip("torch", reason="torch is not installed")
    import unireduce as ur

    x = _data("cancel", "float64", (4, 33, 50))
    torch._dynamo.reset()
    f = torch.compile(lambda a: COMPILED_CASES[case][0](ur, a) * 0.5, fullgraph=True)
    got = f(torch.from_numpy(x)).numpy()
    _assert_bits(got, _compiled_want(case, x, "float64") * 0.5, f"inductor {case}")


def test_torch_export_keeps_the_host_op() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    import unireduce as ur

    class Running(torch.nn.Module):
        def forward(self, a: Any) -> Any:
            return ur.cumsum(a, axis=1, precision="exact")

    x = _data("ties", "float32", (3, 50))
    ep = torch.export.export(Running(), (torch.from_numpy(x),))
    assert "unireduce.host" in str(ep.graph)
    got = ep.module()(torch.from_numpy(x)).numpy()
    _assert_bits(got, exact_cumsum_along(x, 1, "float32"), "exported cumsum")


# ------------------------------------------------------------------------------------------
# torch.func transforms (vmap, grad): their tensors have no storage to read, so the call goes
# through the op unireduce::host and its batching rule (or the portable path without Numba).


@pytest.fixture(params=["host", "portable"])
def torch_path(request: pytest.FixtureRequest) -> Any:
    from tests.test_exact_grad import _without_numba

    torch = pytest.importorskip("torch")
    if request.param == "portable":
        with _without_numba():
            yield torch
    else:
        yield torch


@pytest.mark.parametrize("dt", ["float32", "float64", "bfloat16"])
@pytest.mark.parametrize("case", ["cancel", "ties", "subnormal"])
@pytest.mark.parametrize("in_dim", [0, 1])
def test_torch_vmap_of_exact_sum_and_cumsum(
    torch_path: Any, dt: str, case: str, in_dim: int
) -> None:
    import unireduce as ur

    torch = torch_path
    data = _data(case, dt, (3, 40))
    t = (
        torch.from_numpy(data.view(np.int16)).view(torch.bfloat16)
        if dt == "bfloat16"
        else torch.from_numpy(data)
    )
    rows = data if in_dim == 0 else data.T
    got = torch.vmap(lambda v: ur.sum(v, precision="exact"), in_dims=in_dim)(t)
    want = exact_sum_along(np.ascontiguousarray(rows), (1,), False, dt)
    _assert_bits(_numpy(torch, got), want, f"vmap sum {dt} {case}")
    got_c = torch.vmap(lambda v: ur.cumsum(v, precision="exact"), in_dims=in_dim)(t)
    want_c = exact_cumsum_along(np.ascontiguousarray(rows), 1, dt)
    _assert_bits(_numpy(torch, got_c), want_c, f"vmap cumsum {dt} {case}")


def test_torch_vmap_checks_integers(torch_path: Any) -> None:
    import unireduce as ur

    torch = torch_path
    f = lambda v: ur.sum(v, dtype="int8", precision="exact")  # noqa: E731
    assert torch.vmap(f)(torch.tensor([[100, 27], [-100, -28]], dtype=torch.int8)).tolist() == [
        127,
        -128,
    ]
    with pytest.raises(ur.IntegerOverflowError):
        torch.vmap(f)(torch.tensor([[1, 2], [100, 28]], dtype=torch.int8))
    with pytest.raises(ur.IntegerOverflowError):
        torch.vmap(lambda v: ur.cumsum(v, dtype="int8", precision="exact"))(
            torch.tensor([[100, 28, -50]], dtype=torch.int8)
        )


def test_torch_func_grad_of_exact_sum(torch_path: Any) -> None:
    import unireduce as ur

    torch = torch_path
    x = torch.tensor([[1e30, 1.0, -1e30], [0.1, 0.2, 0.3]], dtype=torch.float64)
    w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    g = torch.func.grad(lambda v: (ur.cumsum(v, axis=1, precision="exact") * w).sum())(x)
    assert g.tolist() == [[6.0, 5.0, 3.0]] * 2  # d/dx_j of sum_i w_i * prefix_i
    per_row = torch.vmap(torch.func.grad(lambda v: ur.sum(v, precision="exact")))(x)
    assert per_row.tolist() == [[1.0, 1.0, 1.0]] * 2


def _numpy(torch: Any, t: Any) -> np.ndarray:
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.contiguous().view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


_FLUSH_SCRIPT = """
import sys
import numpy as np
import torch
import unireduce as ur
from unireduce._exactmath import exact_cumsum_along, exact_sum_along

rng = np.random.default_rng(0)
m = rng.integers(1, 2**20, (64, 300)) * rng.choice([-1, 1], (64, 300))
data = {
    "float32": (m * 2.0**-149).astype(np.float32),  # float32 subnormals (exact: m < 2**23)
    "float64": m * 2.0**-1074,  # float64 subnormals
}
for x in data.values():
    x[:, 7] = 1e-30  # and one normal value per row
want = {}
for dt, x in data.items():  # the oracle: Python integers, before any flush mode is set
    for what in ("sum1", "sum0", "cum1"):
        w = (exact_sum_along(x, (1,), False, dt) if what == "sum1" else
             exact_sum_along(x, (0,), False, dt) if what == "sum0" else
             exact_cumsum_along(x, 1, dt))
        want[dt, what] = w.view(f"int{w.dtype.itemsize * 8}").copy()


def check(label):
    for dt, x in data.items():
        got = {
            "sum1": ur.sum(x, axis=1, precision="exact"),
            "sum0": ur.sum(x, axis=0, precision="exact"),
            "cum1": ur.cumsum(x, axis=1, precision="exact"),
        }
        for what, g in got.items():
            bits = g.view(f"int{g.dtype.itemsize * 8}")  # no float arithmetic: it would flush
            bad = int((bits != want[dt, what]).sum())
            if bad:
                sys.exit(f"{label} {dt} {what}: {bad} elements differ")


# Flush on before Numba's first parallel call: its worker threads keep that mode.
torch.set_flush_denormal(True)
check("flush on")
torch.set_flush_denormal(False)
check("flush off, workers started with flush on")
"""


def test_host_kernels_exact_whatever_the_flush_mode() -> None:
    # torch.set_flush_denormal(True) sets DAZ/FTZ on the calling thread, and Numba's worker
    # threads started then keep it. Both must leave exact results unchanged: the slow route read
    # float32 subnormals through the CPU's conversion (0 under DAZ), and a worker that flushed
    # took the fast route because its caller did not (0 for rows of subnormals). A fresh process
    # (the thread pool starts once), two threads.
    import os
    import subprocess
    import sys

    pytest.importorskip("torch", reason="torch.set_flush_denormal sets the flush mode")
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    res = subprocess.run(
        [sys.executable, "-c", _FLUSH_SCRIPT], capture_output=True, text=True, env=env
    )
    assert res.returncode == 0, res.stderr[-2000:]
