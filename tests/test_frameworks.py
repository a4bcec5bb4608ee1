"""Framework integration: devices, traced execution (jit / tf.function / torch.compile), autograd,
and every array form (Parameter, Variable, tracers, meta tensors).

GPU and TPU cases skip with the reason when the device is absent (this machine has none).
"""

from __future__ import annotations

import pytest

import unireduce as ur
from unireduce._registry import backend_of

torch = pytest.importorskip("torch", reason="PyTorch is not installed")


# ----------------------------------------------------------------------------- torch
class TestTorch:
    def test_parameter_and_subclasses(self) -> None:
        p = torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))
        out = ur.sum(p)
        assert float(out.detach()) == 6.0 and out.requires_grad
        assert ur.backend_name(p) == "torch"

    def test_meta_tensor_stays_meta(self) -> None:
        x = torch.empty((4, 3), device="meta", dtype=torch.int8)
        for out in (ur.sum(x, axis=0), ur.cumsum(x, 1, reverse=True), ur.reduce_sum(x, [])):
            assert out.device.type == "meta"
        assert ur.sum(x).dtype == torch.int64
        assert ur.sum(x, axis=0).shape == (3,)

    @pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
    def test_cuda_results_stay_on_cuda(self) -> None:  # pragma: no cover - needs a GPU
        x = torch.arange(6, device="cuda", dtype=torch.uint8).reshape(2, 3)
        for out in (ur.sum(x), ur.sum(x, axis=1), ur.cumsum(x, 1, exclusive=True)):
            assert out.device.type == "cuda"
        assert ur.sum(x).dtype == torch.uint64 and int(ur.sum(x).cpu()) == 15

    def test_autograd_through_sum_and_cumsum(self) -> None:
        x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (ur.sum(x) * 2).backward()
        assert x.grad.tolist() == [2.0, 2.0, 2.0]
        x.grad = None
        # d/dx_i of sum_k cumsum(x)_k = n - i
        ur.sum(ur.cumsum(x)).backward()
        assert x.grad.tolist() == [3.0, 2.0, 1.0]
        x.grad = None
        # exclusive reverse cumsum [x1+x2, x2, 0]: d/dx = [0, 1, 2]
        ur.sum(ur.cumsum(x, exclusive=True, reverse=True)).backward()
        assert x.grad.tolist() == [0.0, 1.0, 2.0]

    def test_autograd_with_dtype_cast(self) -> None:
        x = torch.tensor([1.0, 2.0], dtype=torch.float32, requires_grad=True)
        out = ur.sum(x, dtype="float64")
        assert out.dtype == torch.float64
        out.backward()
        assert x.grad.dtype == torch.float32 and x.grad.tolist() == [1.0, 1.0]

    @pytest.mark.parametrize("backend", ["eager", "inductor"])
    def test_torch_compile_fullgraph(self, backend: str) -> None:
        def f(x: torch.Tensor) -> torch.Tensor:
            a = ur.sum(x, axis=0)
            b = ur.cumsum(x, 0, exclusive=True, reverse=True).sum(0)
            c = ur.reduce_sum(x.to(torch.int8), axis=[]).sum(0)
            return a + b + c

        x = torch.arange(6.0).reshape(3, 2)
        compiled = torch.compile(f, fullgraph=True, backend=backend)  # fails on a graph break
        # columns [0,2,4] and [1,3,5]: sums 6 and 9; exclusive reverse cumsums [6,4,0] -> 10 and
        # [8,5,0] -> 13; unreduced int8 copy summed by torch: 6 and 9.
        assert compiled(x).tolist() == [22.0, 31.0]
        assert f(x).tolist() == [22.0, 31.0]

    def test_torch_compile_compiles_each_function_once(self) -> None:
        # Dynamo guards on the Python state a trace reads. Through the shared plan cache every
        # compiled function was tied to the cache's length: the first call of each new signature
        # (here g's, then an eager one) recompiled every function compiled before.
        graphs: list[str] = []

        def count(gm: torch.fx.GraphModule, inputs: object) -> object:
            graphs.append(str(gm.graph))
            return gm.forward

        f = torch.compile(lambda a: ur.sum(a, axis=0), backend=count, fullgraph=True)
        g = torch.compile(
            lambda a: ur.cumsum(a, axis=0, precision="exact"), backend=count, fullgraph=True
        )
        x = torch.arange(6.0).reshape(3, 2)
        for i in range(3):
            assert f(x + i).tolist() == [6.0 + 3 * i, 9.0 + 3 * i]
            assert g(x + i)[-1].tolist() == [6.0 + 3 * i, 9.0 + 3 * i]
            # signatures resolved eagerly after the cache was emptied: plans added later
            backend_of(x).plan_cache().clear()
            assert ur.sum(x.to(torch.int16)).tolist() == 15
        assert len(graphs) == 2, f"{len(graphs)} compilations for two functions"

    def test_torch_compile_of_numpy_code(self) -> None:
        # Dynamo traces NumPy code too (graph breaks allowed: it cannot trace every ndarray
        # attribute). The traced lookup's NumPy step once called backend_of, which Dynamo
        # replaces by that same lookup: a RecursionError.
        import numpy as np

        ur.sum(torch.zeros(1))  # the torch adapter, and so the traced lookups, in place
        a = np.arange(6.0).reshape(2, 3)
        f = torch.compile(lambda v: ur.sum(v, axis=0) + 1)
        g = torch.compile(lambda v: ur.cumsum(v.astype(np.int8), axis=1))
        for _ in range(2):  # before and after the NumPy adapter learnt the type eagerly
            got, cum = f(a), g(a)
            assert type(got) is np.ndarray and got.tolist() == [4.0, 6.0, 8.0]
            assert cum.dtype == np.int64 and cum.tolist() == [[0, 1, 3], [3, 7, 12]]
            ur.sum(a)

    def test_torch_compile_does_not_recompile_as_the_registry_learns_types(self) -> None:
        # Dynamo guards a dict a trace reads on all its keys: through the registry's type cache
        # every compiled function recompiled on each array type first seen later (torch's
        # recompile_limit is 8). Dynamo now traces _api._resolve_traced instead.
        import numpy as np

        from unireduce._registry import _BY_TYPE

        graphs: list[str] = []

        def count(gm: torch.fx.GraphModule, inputs: object) -> object:
            graphs.append(str(gm.graph))
            return gm.forward

        class Sub(torch.Tensor):  # new types on every run
            pass

        class Arr(np.ndarray):
            pass

        x = torch.arange(6.0).reshape(3, 2)
        ur.sum(x)  # the torch adapter is in place before the first trace
        f = torch.compile(lambda a: ur.sum(a, axis=0), backend=count, fullgraph=True)
        g = torch.compile(lambda a: ur.cumulative_sum(a, axis=0), backend=count, fullgraph=True)
        for i, a in enumerate((torch.zeros(2).as_subclass(Sub), np.zeros(2).view(Arr), None)):
            assert f(x + i).tolist() == [6.0 + 3 * i, 9.0 + 3 * i]
            assert g(x + i)[-1].tolist() == [6.0 + 3 * i, 9.0 + 3 * i]
            if a is not None:
                assert type(a) not in _BY_TYPE
                assert float(ur.sum(a)) == 0.0
                assert type(a) in _BY_TYPE  # learnt after f and g were compiled
        assert len(graphs) == 2, f"{len(graphs)} compilations for two functions"


# ----------------------------------------------------------------------------- TensorFlow
class TestTensorFlow:
    tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed")

    def test_variable_input(self) -> None:
        tf = self.tf
        v = tf.Variable([[1, 2], [3, 4]], dtype=tf.int8)
        assert int(ur.sum(v)) == 10 and ur.sum(v).dtype == tf.int64
        assert ur.reduce_sum(v, axis=[]).dtype == tf.int8

    def test_tf_function_symbolic_tensors(self) -> None:
        tf = self.tf

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.uint8)])
        def f(x):  # type: ignore[no-untyped-def]
            return ur.sum(x, axis=1), ur.cumsum(x, 1, exclusive=True), ur.reduce_sum(x, 0)

        s, c, r = f(tf.constant([[200, 100, 1], [1, 2, 3]], dtype=tf.uint8))
        assert s.dtype == tf.uint64 and s.numpy().tolist() == [301, 6]
        assert c.dtype == tf.uint64 and c.numpy().tolist() == [[0, 200, 300], [0, 1, 3]]
        assert r.dtype == tf.uint8 and r.numpy().tolist() == [201, 102, 4]

    def test_unknown_rank_is_refused_clearly(self) -> None:
        tf = self.tf

        @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)])
        def f(x):  # type: ignore[no-untyped-def]
            return ur.sum(x, axis=0)

        with pytest.raises(ur.AxisError, match="rank of the input is unknown"):
            f(tf.constant([1.0]))

    def test_name_names_the_op(self) -> None:
        tf = self.tf

        @tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
        def f(x):  # type: ignore[no-untyped-def]
            return ur.reduce_sum(x, name="token_total")

        graph = f.get_concrete_function().graph
        assert any(op.name == "token_total" for op in graph.get_operations())

    def test_gradient_tape(self) -> None:
        tf = self.tf
        x = tf.Variable([1.0, 2.0, 3.0])
        with tf.GradientTape() as tape:
            y = ur.sum(ur.cumsum(x, reverse=True))
        # reverse cumsum [x0+x1+x2, x1+x2, x2]: d/dx = [1, 2, 3]
        assert tape.gradient(y, x).numpy().tolist() == [1.0, 2.0, 3.0]

    def test_device_is_kept(self) -> None:
        tf = self.tf
        with tf.device("/CPU:0"):
            x = tf.constant([1.0, 2.0])
        assert "CPU:0" in ur.sum(x).device

    def test_gpu_results_stay_on_gpu(self) -> None:
        tf = self.tf
        gpus = tf.config.list_logical_devices("GPU")
        if not gpus:
            pytest.skip("no GPU on this machine")
        with tf.device(gpus[0].name):  # pragma: no cover - needs a GPU
            x = tf.constant([1, 2, 3], dtype=tf.uint8)
            assert "GPU" in ur.sum(x).device


# ----------------------------------------------------------------------------- JAX
class TestJax:
    jax = pytest.importorskip("jax", reason="JAX is not installed")

    def test_jit_grad_vmap(self) -> None:
        jax = self.jax
        jnp = jax.numpy
        x = jnp.arange(6.0).reshape(2, 3)
        assert jax.jit(lambda t: ur.sum(t, axis=0))(x).tolist() == [3.0, 5.0, 7.0]
        g = jax.grad(lambda t: ur.sum(ur.cumsum(t, 1, exclusive=True)))(x)
        # exclusive cumsum [0, x0, x0+x1] per row: d/dx = [2, 1, 0]
        assert g.tolist() == [[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]]
        v = jax.vmap(lambda row: ur.cumulative_sum(row, include_initial=True))(x)
        assert v.tolist() == [[0.0, 0.0, 1.0, 3.0], [0.0, 3.0, 7.0, 12.0]]

    def test_jit_dtype_rules(self) -> None:
        jax = self.jax
        jnp = jax.numpy
        out = jax.jit(ur.sum)(jnp.array([200, 100], dtype=jnp.uint8))
        assert out.dtype == jnp.uint32 and int(out) == 300  # x64 off: default int is 32-bit
        out = jax.jit(ur.reduce_sum)(jnp.array([100, 100], dtype=jnp.int8))
        assert out.dtype == jnp.int8 and int(out) == -56

    def test_x64_switch_is_followed(self) -> None:
        jax = self.jax
        jnp = jax.numpy
        x = jnp.array([1, 2], dtype=jnp.int8)
        assert ur.sum(x).dtype == jnp.int32
        jax.config.update("jax_enable_x64", True)
        try:
            assert ur.sum(jnp.array([1, 2], dtype=jnp.int8)).dtype == jnp.int64
        finally:
            jax.config.update("jax_enable_x64", False)
        assert ur.sum(x).dtype == jnp.int32

    def test_device_is_kept(self) -> None:
        jax = self.jax
        x = jax.device_put(jax.numpy.ones(3), jax.devices()[0])
        assert ur.sum(x).devices() == x.devices()

    @pytest.mark.skipif(
        not any(d.platform in ("gpu", "tpu") for d in __import__("jax").devices()),
        reason="no GPU or TPU on this machine",
    )
    def test_accelerator(self) -> None:  # pragma: no cover - needs an accelerator
        jax = self.jax
        dev = next(d for d in jax.devices() if d.platform in ("gpu", "tpu"))
        x = jax.device_put(jax.numpy.arange(4, dtype=jax.numpy.uint8), dev)
        assert ur.sum(x).devices() == {dev} and int(ur.sum(x)) == 6
