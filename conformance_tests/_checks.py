"""Run one case on a target and on the reference, compare, and say what differs in one format.

Every failure reads ``<what>=<actual>, but should be <expected> [<call>] backend=<b>
device=<d> mode=<m>``, followed by Python that rebuilds the input and repeats the call.

Native results must lie within the reference's error bound of its exact value; with
``precision="exact"`` they must equal it to the bit (signed zeros included; any NaN for NaN).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import unireduce as ur
from unireduce._exactmath import within_bound_mask
from unireduce.reference import Reference

from ._cases import AxisArray, Case
from ._functions import FUNCTIONS
from ._targets import EAGER, Target, canonical_name

__all__ = ["check_case", "describe_call", "repro"]


def _kw_repr(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def describe_call(case: Case) -> str:
    """``sum(x, axis=(0,), keepdims=False, semantics='numpy')``."""
    kw = _kw_repr(case.kwargs)
    return f"{case.function}(x{', ' + kw if kw else ''})"


def _dtype_expr(dtype: str) -> str:
    return "ml_dtypes.bfloat16" if dtype == "bfloat16" else repr(dtype)


def repro(case: Case, target: Target) -> str:
    """Copy-paste Python that rebuilds ``x`` on the target and repeats the call."""
    base = np.ascontiguousarray(case.base)
    layout = {"transposed": ".T", "strided": "[::2]"}.get(case.layout, "")
    imports = target.conv.imports.replace(", unireduce as ur", "")
    imports += ", unireduce as ur, unireduce.reference"
    if case.dtype == "bfloat16":
        imports += ", ml_dtypes"
    preview = np.array2string(
        case.x.astype(object) if case.x.size <= 24 else case.x[:0], separator=", ", threshold=24
    ).replace("\n", " ")
    lines = [
        "# reproduce:",
        imports,
    ]
    if target.x64 is not None:
        lines.append(f"jax.config.update('jax_enable_x64', {target.x64})")
    lines += [
        f"x_np = np.frombuffer(bytes.fromhex({base.tobytes().hex()!r}), "
        f"dtype={_dtype_expr(case.dtype)}).reshape({base.shape!r}){layout}"
        + (f"  # {preview}" if case.x.size <= 24 else ""),
        f"device = {target.device!r}",
        target.conv.snippet,
    ]
    kw = dict(case.kwargs)
    axis = kw.get("axis")
    if isinstance(axis, AxisArray):
        kw["axis"] = f"<backend array {list(axis)}>"
    call = describe_call(Case(case.function, case.base, kwargs=kw))
    lines.append(f"out = {target.compile_snippet('ur.' + call)}")
    ref_kw = dict(case.kwargs)
    if isinstance(axis, AxisArray):
        ref_kw["axis"] = f"np.array({list(axis)})"
    lines.append(
        f"expected = unireduce.reference.{case.function}(x_np"
        + (", " + _kw_repr(ref_kw) if ref_kw else "")
        + ")"
    )
    return "\n".join("    " + line for line in "\n".join(lines).splitlines())


def _native_kwargs(case: Case, target: Target) -> dict[str, Any]:
    kw = dict(case.kwargs)
    axis = kw.get("axis")
    if isinstance(axis, AxisArray):
        assert target.conv.axis_array is not None
        kw["axis"] = target.conv.axis_array(tuple(axis))
    if case.native_dtype_arg and isinstance(kw.get("dtype"), str):
        make = target.conv.native_dtype
        held = ur.get_backend(target.backend).supported_dtypes()
        if make is not None and kw["dtype"] in held:
            kw["dtype"] = make(kw["dtype"])
    return kw


def _ref_kwargs(case: Case) -> dict[str, Any]:
    kw = dict(case.kwargs)
    if isinstance(kw.get("axis"), AxisArray):
        kw["axis"] = np.asarray(tuple(kw["axis"]), dtype=np.int64)
    return kw


def _first_diff(ok: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(~ok)[0])


def _fmt(v: Any) -> str:
    return repr(v.item() if hasattr(v, "item") else v)


def check_case(case: Case, target: Target) -> str | None:
    """Run ``case`` on ``target``; ``None`` if it conforms, else the uniform failure message."""
    fn = FUNCTIONS[case.function]
    be = ur.get_backend(target.backend)
    ref = Reference.like(be)
    ref_kw = _ref_kwargs(case)
    expected: Any = None
    expected_exc: Exception | None = None
    try:
        expected = fn.call(ref, case.x, ref_kw)
    except ur.UnireduceError as exc:
        expected_exc = exc

    where = (
        f"[{describe_call(case)}] backend={target.label} device={target.device} mode={target.mode}"
    )

    def fail(what: str, actual: str, should: str) -> str:
        return f"{what}={actual}, but should be {should} {where}\n{repro(case, target)}"

    x = target.conv.make(case.x, target.device)
    kw = _native_kwargs(case, target)
    compiled = target.compile(lambda a: fn.call(ur, a, kw))
    out = actual = None
    try:
        with warnings.catch_warnings():
            # NumPy warns on float overflow and invalid operations (inf - inf); the results are
            # what is checked, and a warning is no part of the contract.
            warnings.simplefilter("ignore", RuntimeWarning)
            out = compiled(x)
            actual = target.conv.to_numpy(out)  # a lazy backend (dask) computes here
        got_exc: Exception | None = None
    except Exception as exc:  # compared with the reference's below
        got_exc = exc

    if expected_exc is not None:
        if got_exc is None:
            return fail("raised", "nothing", f"{type(expected_exc).__name__} ({expected_exc})")
        if not _same_error(got_exc, expected_exc, target):
            return fail(
                "raised",
                f"{type(got_exc).__name__}({_short(got_exc)})",
                f"{type(expected_exc).__name__} ({_short(expected_exc)})",
            )
        return None
    if got_exc is not None:
        return fail(
            "raised",
            f"{type(got_exc).__module__}.{type(got_exc).__name__}({_short(got_exc)})",
            f"a result ({expected.dtype.name} {expected.shape})",
        )

    if type(out).__module__.split(".")[0] != type(x).__module__.split(".")[0]:
        t, tx = type(out), type(x)
        return fail(
            "type(out)", f"{t.__module__}.{t.__qualname__}", f"{tx.__module__}.{tx.__qualname__}"
        )
    dev_out, dev_in = target.conv.device_of(out), target.conv.device_of(x)
    if dev_out != dev_in:
        return fail("out.device", dev_out, dev_in)
    assert actual is not None
    want_dtype = canonical_name(expected.dtype)
    if canonical_name(actual.dtype) != want_dtype:
        return fail("out.dtype", canonical_name(actual.dtype), want_dtype)
    if actual.shape != expected.shape:
        return fail("out.shape", repr(actual.shape), repr(expected.shape))
    if expected.dtype.kind in "biu":
        ok = actual == expected
        if not ok.all():
            i = _first_diff(ok)
            n = int((~ok).sum())
            return fail(f"out[{i}]", _fmt(actual[i]), f"{_fmt(expected[i])} ({n} wrong)")
        return None
    if case.kwargs.get("precision") == "exact":
        ok = within_bound_mask(actual, expected, 0.0, match_zero_sign=True)
        if not ok.all():
            i = _first_diff(ok)
            n = int((~ok).sum())
            return fail(f"out[{i}]", _fmt(actual[i]), f"{_fmt(expected[i])} exactly ({n} wrong)")
        return None
    if within_bound_mask(actual, expected, 0.0).all():
        return None  # correctly rounded everywhere: no bound needed
    bound_kw = {k: v for k, v in ref_kw.items() if k not in ("name", "precision")}
    bound = ref.error_bound(
        case.function,
        case.x,
        **bound_kw,
        capabilities=target.caps,
        device=target.device,
    )
    if expected.dtype.kind == "c":
        ok = within_bound_mask(actual.real, expected.real, bound.real) & within_bound_mask(
            actual.imag, expected.imag, bound.imag
        )
    else:
        ok = within_bound_mask(actual, expected, bound)
    if not ok.all():
        i = _first_diff(ok)
        n = int((~ok).sum())
        return fail(
            f"out[{i}]",
            _fmt(actual[i]),
            f"{_fmt(expected[i])} within {_fmt(bound[i])} ({n} wrong)",
        )
    return None


def _same_error(got: Exception, expected: Exception, target: Target) -> bool:
    """The class the reference raised; under a compiler, exact mode's integer overflow check runs
    with the compiled program and surfaces as the framework's runtime error carrying our message
    (``jax.jit``: JaxRuntimeError; ``tf.function``: InvalidArgumentError; docs/exact.md, "The one
    host synchronisation")."""
    if type(got) is type(expected):
        return True
    overflow = isinstance(expected, ur.IntegerOverflowError) and target.mode != EAGER
    return overflow and "IntegerOverflowError" in str(got)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0][:160] + ("…" if len(text[0]) > 160 else "")) if text else ""
