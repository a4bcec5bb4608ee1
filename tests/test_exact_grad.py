"""Gradients through exact mode (issue 5, design principle 3): ``precision="exact"`` returns the
correctly rounded value of the same linear map native mode computes, so its gradient is native
mode's. Each case differentiates ``sum(w * f(x))`` with integer weights ``w`` (every gradient
entry is then an exact small integer) eagerly and under each framework's compiler, and compares
with the gradient worked out by hand from the map's definition.
"""

from __future__ import annotations

import contextlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import unireduce as ur

# Dynamo (torch 2.13) instantiates torch.autograd.Function to make the ctx of any autograd.Function
# it traces, which warns (pytorch#128439, fixed by pytorch#186421): not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:<class 'torch.autograd.function.Function'> should not be instantiated"
    ":DeprecationWarning"
)

X = np.arange(1.0, 13.0).reshape(3, 4)
# Massive cancellation: the float-only tries refuse these rows, the integer route (bit operations
# with no derivative of their own) computes them.
X_CANCEL = np.array([[2.0**100, 1.0, -(2.0**100), 2.0]] * 3) * [[1.0], [3.0], [-5.0]]
DATA = {"small": X, "cancelling": X_CANCEL}
MODES = [
    "torch-eager",
    "torch-torch.compile",  # CPU tensors: the host kernels, in the op unireduce::host
    "torch-torch.compile-portable",  # as without Numba (and as on GPUs): the portable path
    "jax-eager",
    "jax-jax.jit",
    "tensorflow-eager",
    "tensorflow-tf.function",
    "tensorflow-xla",
]


@contextlib.contextmanager
def _without_numba() -> Iterator[None]:
    """Exact mode as where Numba is not installed: the portable path everywhere."""
    from unireduce._exact import _host

    saved = list(_host._numba_found)
    _host._numba_found[:] = [False]
    try:
        yield
    finally:
        _host._numba_found[:] = saved


def _weights(shape: tuple[int, ...]) -> np.ndarray:
    return (np.arange(int(np.prod(shape))) % 5 + 1).reshape(shape).astype(np.float64)


# (op, expected gradient of sum(w * op(x)) for weights w of op's output shape)
def _rev_cumsum(w: np.ndarray, axis: int) -> np.ndarray:
    return np.flip(np.cumsum(np.flip(w, axis), axis), axis)


CASES: dict[str, tuple[Callable[[Any], Any], Callable[[np.ndarray], np.ndarray]]] = {
    "sum-all": (lambda x: ur.sum(x, precision="exact"), lambda w: np.full(X.shape, w)),
    "sum-axis1-keepdims": (
        lambda x: ur.sum(x, axis=1, keepdims=True, precision="exact"),
        lambda w: np.broadcast_to(w, X.shape),
    ),
    "sum-axis0": (
        lambda x: ur.sum(x, axis=0, precision="exact"),
        lambda w: np.broadcast_to(w[None, :], X.shape),
    ),
    "cumsum-axis1": (
        lambda x: ur.cumsum(x, axis=1, precision="exact"),
        lambda w: _rev_cumsum(w, 1),
    ),
    "cumsum-axis0-reverse": (
        lambda x: ur.cumsum(x, axis=0, reverse=True, precision="exact"),
        lambda w: np.cumsum(w, 0),
    ),
}


def _grads(
    mode: str, op: Callable[[Any], Any], dtype: str, datas: list[np.ndarray]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``op``'s value and the gradient of ``sum(w * op(x))`` at each of ``datas`` (as ``dtype``,
    all of one shape), through one compiled function (torch.compile: 5-20 s a compilation)."""
    fw, how = mode.split("-", 1)
    out_shape = np.asarray(op(datas[0].astype(dtype))).shape
    w = _weights(out_shape)
    if fw == "torch":
        torch = pytest.importorskip("torch")
        wt = torch.tensor(w, dtype=torch.float64)
        f = op
        if how.startswith("torch.compile"):
            torch._dynamo.reset()
            f = torch.compile(op, backend="aot_eager", fullgraph=True)
        out = []
        for data in datas:
            x = torch.tensor(data, dtype=getattr(torch, dtype), requires_grad=True)
            with _without_numba() if how.endswith("portable") else contextlib.nullcontext():
                y = f(x)
                assert y.requires_grad, "exact mode cut the gradient"
                (y.double() * wt).sum().backward()
            out.append((y.detach().double().numpy(), x.grad.double().numpy()))
        return out
    if fw == "jax":
        jax = pytest.importorskip("jax")
        jnp = jax.numpy

        def loss(v: Any) -> Any:
            return (op(v).astype(jnp.float32) * jnp.asarray(w, jnp.float32)).sum()

        g = jax.jit(jax.grad(loss)) if how == "jax.jit" else jax.grad(loss)
        xs = [jnp.asarray(data, dtype=dtype) for data in datas]
        return [(np.asarray(op(x), np.float64), np.asarray(g(x), np.float64)) for x in xs]
    tf = pytest.importorskip("tensorflow")

    def value_and_grad(v: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(v)
            y = op(v)
            loss = tf.reduce_sum(tf.cast(y, tf.float64) * w)
        return y, tape.gradient(loss, v)

    if how != "eager":
        value_and_grad = tf.function(value_and_grad, jit_compile=how == "xla")
    vgs = [value_and_grad(tf.constant(data, dtype=dtype)) for data in datas]
    return [(np.asarray(y, np.float64), np.asarray(g, np.float64)) for y, g in vgs]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("mode", MODES)
def test_exact_mode_gradient_is_native_modes(mode: str, case: str) -> None:
    op, want = CASES[case]
    got = _grads(mode, op, "float32", list(DATA.values()))
    for (data, x), (value, grad) in zip(DATA.items(), got, strict=True):
        # The value: NumPy's exact mode (itself checked against the oracle elsewhere).
        want_value = np.asarray(op(x.astype(np.float32)), np.float64)
        assert value.tolist() == want_value.tolist(), f"{mode} {case} {data}"
        w = _weights(value.shape)
        assert grad.tolist() == np.asarray(want(w), np.float64).tolist(), f"{mode} {case} {data}"


@pytest.mark.parametrize("mode", ["torch-eager", "jax-jax.jit", "tensorflow-tf.function"])
def test_gradient_through_the_cast_to_a_wider_dtype(mode: str) -> None:
    # float16 data, exact float32 sum: the gradient reaches the float16 input through the cast.
    def op(x: Any) -> Any:
        return ur.sum(x, axis=1, dtype="float32", precision="exact")

    ((value, grad),) = _grads(mode, op, "float16", [X])
    assert value.tolist() == X.sum(1).tolist()
    assert grad.tolist() == np.broadcast_to(_weights((3,))[:, None], X.shape).tolist()


@pytest.mark.parametrize("case", ["sum-axis1-keepdims", "cumsum-axis1"])
@pytest.mark.parametrize(
    "mode",
    ["torch-eager", "jax-eager", "jax-jax.jit", "tensorflow-eager", "tensorflow-tf.function"],
)
def test_second_order_gradient(mode: str, case: str) -> None:
    # L(x) = sum(w * op(x * x)) has the gradient 2 x G (G: the first-order gradient of
    # sum(w * op(.)), worked out by hand above), so the derivative of sum(v * dL/dx) is 2 v G:
    # a second derivative that passes through exact mode's custom gradient.
    op, want = CASES[case]
    fw, how = mode.split("-", 1)
    w = _weights(np.asarray(op(X)).shape)
    v = (np.arange(X.size) % 3 + 1).reshape(X.shape).astype(np.float64)
    expected = (2.0 * v * want(w)).tolist()
    if fw == "torch":
        torch = pytest.importorskip("torch")
        x = torch.tensor(X, requires_grad=True)
        loss = (op(x * x) * torch.tensor(w)).sum()
        (g,) = torch.autograd.grad(loss, x, create_graph=True)
        (h,) = torch.autograd.grad((g * torch.tensor(v)).sum(), x)
        assert h.numpy().tolist() == expected
        return
    if fw == "jax":
        jax = pytest.importorskip("jax")
        jnp = jax.numpy
        f32 = jnp.float32  # small integers: exact in float32, with or without jax_enable_x64

        def grad_dot_v(x: Any) -> Any:
            g = jax.grad(lambda u: (op(u * u) * jnp.asarray(w, f32)).sum())(x)
            return (g * jnp.asarray(v, f32)).sum()

        h = jax.jit(jax.grad(grad_dot_v)) if how == "jax.jit" else jax.grad(grad_dot_v)
        assert np.asarray(h(jnp.asarray(X, f32)), np.float64).tolist() == expected
        return
    tf = pytest.importorskip("tensorflow")

    def second(x: Any) -> Any:
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                loss = tf.reduce_sum(op(x * x) * w)
            g = inner.gradient(loss, x)
            gv = tf.reduce_sum(g * v)
        return outer.gradient(gv, x)

    f = tf.function(second) if how == "tf.function" else second
    assert np.asarray(f(tf.constant(X))).tolist() == expected
