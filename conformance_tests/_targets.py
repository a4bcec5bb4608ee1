"""What the suite runs on: a *target* is one backend, on one device, eager or under one compiler.

Arrays are built from NumPy and read back to NumPy here, on the test side, with each framework's
own public conversion functions (never through unireduce's adapters, so an adapter bug cannot hide
behind the same bug in the test). A backend the suite does not know (a third party's) is reached
through its array-API namespace: an adapter that subclasses
:class:`unireduce.backends.array_api.ArrayAPIBackend` needs nothing more; any other adapter may
define ``conformance_from_numpy(a, device)`` and ``conformance_to_numpy(x)``.

JAX is two targets: ``jax`` (``jax_enable_x64`` off, JAX's default) and ``jax_x64`` (on); the
flag is set for the duration of each test and restored afterwards.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import unireduce as ur
from unireduce._capabilities import Capabilities, device_kind
from unireduce.reference import numpy_dtype

__all__ = ["Target", "build_targets", "canonical_name", "selected_backends"]

EAGER = "eager"

#: Backend names of the suite's command line that stand for another backend in a mode.
PSEUDO = {"jax_x64": ("jax", True)}


def canonical_name(dt: np.dtype[Any]) -> str:
    """The canonical dtype name of a NumPy dtype (``ml_dtypes.bfloat16`` -> ``"bfloat16"``)."""
    return str(dt.name)


@dataclass
class Converter:
    """Test-side construction and inspection of one framework's arrays."""

    make: Callable[[np.ndarray, str], Any]  # (numpy array, device name) -> native array
    to_numpy: Callable[[Any], np.ndarray]
    device_of: Callable[[Any], str]
    native_dtype: Callable[[str], Any] | None = None  # canonical name -> dtype object
    axis_array: Callable[[tuple[int, ...]], Any] | None = None  # a 1-D integer array
    snippet: str = ""  # Python that turns the NumPy array ``x_np`` into ``x`` (uses ``device``)
    imports: str = ""


def _numpy() -> Converter:
    return Converter(
        make=lambda a, dev: a,
        to_numpy=np.asarray,
        device_of=lambda x: "cpu",
        native_dtype=numpy_dtype,
        axis_array=lambda axes: np.asarray(axes, dtype=np.int64),
        snippet="x = x_np",
        imports="import numpy as np",
    )


def _torch() -> Converter:
    import torch

    def make(a: np.ndarray, dev: str) -> Any:
        name = canonical_name(a.dtype)
        if name == "bfloat16":
            t = torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
        elif name in ("uint16", "uint32", "uint64"):
            t = torch.from_numpy(a.view(f"int{a.dtype.itemsize * 8}")).view(getattr(torch, name))
        else:
            t = torch.from_numpy(a)
        return t if dev == "cpu" else t.to(dev)

    def to_numpy(t: Any) -> np.ndarray:
        t = t.detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:
            return t.view(torch.int16).numpy().view(numpy_dtype("bfloat16"))
        if t.dtype in (torch.uint16, torch.uint32, torch.uint64):
            bits = t.element_size() * 8
            return t.view(getattr(torch, f"int{bits}")).numpy().view(f"uint{bits}")
        return t.numpy()

    return Converter(
        make=make,
        to_numpy=to_numpy,
        device_of=lambda t: str(t.device),
        native_dtype=lambda n: getattr(torch, n),
        axis_array=lambda axes: torch.tensor(axes, dtype=torch.int64),
        snippet="x = torch.from_numpy(x_np).to(device)  # bfloat16/uint16+: view as int first",
        imports="import numpy as np, torch",
    )


def _tensorflow() -> Converter:
    import tensorflow as tf

    def make(a: np.ndarray, dev: str) -> Any:
        with tf.device(dev):
            return tf.constant(a)

    def device_of(t: Any) -> str:
        return device_kind(t.device) + ":" + t.device.rsplit(":", 1)[-1]

    return Converter(
        make=make,
        to_numpy=lambda t: np.asarray(t.numpy()),
        device_of=device_of,
        native_dtype=lambda n: getattr(tf, n),
        axis_array=lambda axes: tf.constant(axes, dtype=tf.int32),
        snippet="with tf.device(device):\n    x = tf.constant(x_np)",
        imports="import numpy as np, tensorflow as tf",
    )


def _jax() -> Converter:
    import jax
    import jax.numpy as jnp

    def make(a: np.ndarray, dev: str) -> Any:
        platform, _, idx = dev.partition(":")
        return jax.device_put(a, jax.devices(platform)[int(idx or 0)])

    def device_of(x: Any) -> str:
        d = next(iter(x.devices()))
        return f"{d.platform}:{d.id}"

    return Converter(
        make=make,
        to_numpy=np.asarray,
        device_of=device_of,
        native_dtype=lambda n: getattr(jnp, n),
        axis_array=lambda axes: jnp.asarray(axes, dtype=jnp.int32),
        snippet="x = jax.device_put(x_np, jax.devices(device.split(':')[0])[0])",
        imports="import numpy as np, jax",
    )


def _strict() -> Converter:
    import array_api_strict as xp

    return Converter(
        make=lambda a, dev: xp.asarray(a),
        to_numpy=lambda x: np.from_dlpack(x),
        device_of=lambda x: str(x.device),
        native_dtype=lambda n: getattr(xp, n),
        axis_array=lambda axes: xp.asarray(axes, dtype=xp.int64),
        snippet="x = xp.asarray(x_np)",
        imports="import numpy as np, array_api_strict as xp",
    )


def _dask() -> Converter:
    import dask.array as da

    def make(a: np.ndarray, dev: str) -> Any:
        # About three chunks per axis: sums cross chunk boundaries, graphs stay small.
        return da.from_array(a, chunks=tuple(max(1, -(-n // 3)) for n in a.shape))

    return Converter(
        make=make,
        to_numpy=lambda x: np.asarray(x.compute()),
        device_of=lambda x: "cpu",
        native_dtype=numpy_dtype,
        snippet="x = da.from_array(x_np, chunks=tuple(max(1, -(-n // 3)) for n in x_np.shape))",
        imports="import numpy as np, dask.array as da",
    )


def _generic(be: Any) -> Converter:
    """A third-party backend: its own hooks, or its array-API namespace and DLPack."""
    if hasattr(be, "conformance_from_numpy"):
        return Converter(
            make=be.conformance_from_numpy,
            to_numpy=be.conformance_to_numpy,
            device_of=lambda x: str(getattr(x, "device", "cpu")),
            snippet=f"x = ur.get_backend({be.name!r}).conformance_from_numpy(x_np, device)",
            imports="import numpy as np, unireduce as ur",
        )
    xp = getattr(be, "xp", None)
    if xp is None:
        raise ur.BackendError(
            f"the conformance suite cannot build arrays of backend {be.name!r}: subclass "
            "unireduce.backends.array_api.ArrayAPIBackend, or give the adapter "
            "conformance_from_numpy(a, device) and conformance_to_numpy(x) methods"
        )

    def to_numpy(x: Any) -> np.ndarray:
        try:
            return np.from_dlpack(x)
        except (TypeError, AttributeError, BufferError, RuntimeError):
            return np.asarray(x)

    return Converter(
        make=lambda a, dev: xp.asarray(a),
        to_numpy=to_numpy,
        device_of=lambda x: str(getattr(x, "device", "cpu")),
        snippet=f"x = ur.get_backend({be.name!r}).xp.asarray(x_np)",
        imports="import numpy as np, unireduce as ur",
    )


_CONVERTERS: dict[str, Callable[[], Converter]] = {
    "numpy": _numpy,
    "torch": _torch,
    "tensorflow": _tensorflow,
    "jax": _jax,
    "array_api_strict": _strict,
    "dask": _dask,
}


@dataclass
class Target:
    """One backend, on one device, in one mode (eager or a compiler), JAX's x64 flag set."""

    label: str  # the name the user selected: "numpy", "jax", "jax_x64", "toy"...
    backend: str  # the registered unireduce backend name
    device: str  # a device name such as "cpu", "cuda:0", "cpu:0"
    mode: str  # "eager" or one of Capabilities.jit
    x64: bool | None = None  # JAX's jax_enable_x64 for this target
    caps: Capabilities = field(default_factory=Capabilities)
    _conv: Converter | None = None

    @property
    def id(self) -> str:
        return f"{self.label}-{device_kind(self.device)}-{self.mode}"

    @property
    def conv(self) -> Converter:
        if self._conv is None:
            be = ur.get_backend(self.backend)
            factory = _CONVERTERS.get(self.backend)
            self._conv = (
                factory()
                if factory is not None and type(be).__module__.startswith("unireduce.backends")
                else _generic(be)
            )
        return self._conv

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Run with JAX's x64 flag as this target needs it, restoring it afterwards."""
        if self.x64 is None:
            yield
            return
        import jax

        before = bool(jax.config.jax_enable_x64)
        jax.config.update("jax_enable_x64", self.x64)
        try:
            yield
        finally:
            jax.config.update("jax_enable_x64", before)

    def dtypes(self) -> list[str]:
        """The dtypes to test: declared in the capabilities and held now (call when active)."""
        held = ur.get_backend(self.backend).supported_dtypes()
        return [d for d in ur._dtypes.ALL_DTYPES if d in held and d in self.caps.dtypes]

    def default_int(self) -> str:
        return ur.get_backend(self.backend).default_int()

    def compile(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``fn`` under this target's compiler (itself when eager)."""
        if self.mode == EAGER:
            return fn
        if self.mode == "jax.jit":
            import jax

            return jax.jit(fn)  # type: ignore[no-any-return]
        if self.mode == "tf.function":
            import tensorflow as tf

            return tf.function(fn)  # type: ignore[no-any-return]
        if self.mode == "torch.compile":
            import torch

            torch._dynamo.reset()  # a fresh cache: closures over other kwargs would recompile
            return torch.compile(fn)  # type: ignore[no-any-return]
        raise AssertionError(f"unknown mode {self.mode!r}")

    def compile_snippet(self, call: str) -> str:
        wrap = {
            "jax.jit": "jax.jit(lambda x: {c})(x)",
            "tf.function": "tf.function(lambda x: {c})(x)",
            "torch.compile": "torch.compile(lambda x: {c})(x)",
        }.get(self.mode, "{c}")
        return wrap.format(c=call)


def selected_backends(names: list[str]) -> list[tuple[str, str, bool | None]]:
    """``(label, backend, x64)`` for each ``--unireduce-backend`` name; ``jax`` gives two."""
    out: list[tuple[str, str, bool | None]] = []
    for name in names:
        if name in PSEUDO:
            be, x64 = PSEUDO[name]
            out.append((name, be, x64))
        elif name == "jax":
            out += [("jax", "jax", False), ("jax_x64", "jax", True)]
        else:
            out.append((name, name, None))
    unique: dict[str, tuple[str, str, bool | None]] = {}
    for t in out:
        unique.setdefault(t[0], t)
    return list(unique.values())


def present_devices(backend: str) -> list[str]:
    """Device names the backend reports on this machine."""
    return list(ur.get_backend(backend).devices())


def build_targets(names: list[str]) -> tuple[list[Target], list[tuple[str, str, str]]]:
    """Targets to run, and ``(label, device kind, reason)`` for declared but absent devices."""
    targets: list[Target] = []
    absent: list[tuple[str, str, str]] = []
    for label, backend, x64 in selected_backends(names):
        cls = type(ur.get_backend(backend))
        caps = cls.capabilities
        present = present_devices(backend)
        for kind in caps.devices:
            devs = [d for d in present if device_kind(d) == kind]
            if not devs:
                absent.append((label, kind, f"{backend} reports no {kind} device on this machine"))
                continue
            dev = _device_for(backend, devs[0])
            for mode in (EAGER, *caps.jit):
                targets.append(Target(label, backend, dev, mode, x64, caps))
    return targets, absent


def _device_for(backend: str, name: str) -> str:
    """A device name the test-side converter accepts."""
    if backend == "tensorflow":
        kind = device_kind(name)
        return f"/{kind.upper() if kind == 'cpu' else 'GPU'}:{name.rsplit(':', 1)[-1]}"
    return name


def import_backend_module(backend: str) -> None:
    """Import the framework, so that its arrays can be recognised (before any array exists)."""
    for mod in type(ur.get_backend(backend)).modules:
        importlib.import_module(mod)
