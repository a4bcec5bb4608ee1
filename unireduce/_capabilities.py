"""What an adapter can do, declared once per adapter as plain data.

Each :class:`unireduce.Backend` subclass sets the class attribute ``capabilities`` to a
:class:`Capabilities`. That one table drives the conformance suite (which dtypes, devices and jit
modes it tests, and how loose a native float result may be) and the generated page
``docs/capabilities.md``; nothing else restates it.

>>> from unireduce.backends.numpy import NumpyBackend
>>> caps = NumpyBackend.capabilities
>>> "bfloat16" in caps.dtypes, caps.devices, caps.flushes_subnormals_on("cpu")
(True, ('cpu',), False)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._dtypes import ALL_DTYPES

__all__ = ["DEVICE_KINDS", "JIT_KINDS", "Capabilities"]

#: Device kinds an adapter may declare; the suite runs on the ones present on the machine.
DEVICE_KINDS: tuple[str, ...] = ("cpu", "cuda", "tpu", "mps")
#: Compilers the conformance suite knows how to run unireduce under.
JIT_KINDS: tuple[str, ...] = ("jax.jit", "tf.function", "torch.compile")


@dataclass(frozen=True)
class Capabilities:
    """One adapter's capabilities.

    ``dtypes``: canonical dtype names its arrays can hold in the widest configuration (JAX's
    64-bit types need ``jax_enable_x64``; :meth:`unireduce.Backend.supported_dtypes` says what
    holds now). ``devices``: device kinds it runs on (from :data:`DEVICE_KINDS`).
    ``flushes_subnormals``: device kinds on which its float arithmetic, casts included, flushes
    subnormal inputs and results to zero (measured: TensorFlow and JAX on CPU, eager and jitted).
    ``jit``: compilers unireduce works under (from :data:`JIT_KINDS`). ``jit_object_state``:
    whether those compilers keep writes to Python attributes (``torch.compile`` replays them),
    so the object form of :class:`unireduce.Sum` may update inside compiled code; where not
    (``jax.jit``, ``tf.function``) a traced value stored on the object would escape its trace,
    and the object form refuses traced input into a metric that holds an eager state.
    ``lazy``: results are computed on demand (dask). ``no_float64``: device kinds without float64
    (TPUs, Apple's MPS): exact mode's portable path works in float32 there and refuses float64
    data (:meth:`unireduce.Backend.work_dtypes`). ``notes``: anything a user of the backend
    should know.

    >>> Capabilities(flushes_subnormals=("cpu",)).flushes_subnormals_on("cpu")
    True
    """

    dtypes: frozenset[str] = field(default_factory=lambda: frozenset(ALL_DTYPES))
    devices: tuple[str, ...] = ("cpu",)
    flushes_subnormals: tuple[str, ...] = ()
    jit: tuple[str, ...] = ()
    jit_object_state: bool = False
    lazy: bool = False
    no_float64: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = (
            (set(self.dtypes) - set(ALL_DTYPES))
            | (set(self.devices) - set(DEVICE_KINDS))
            | (set(self.flushes_subnormals) - set(DEVICE_KINDS))
            | (set(self.no_float64) - set(DEVICE_KINDS))
            | (set(self.jit) - set(JIT_KINDS))
        )
        if unknown:
            raise ValueError(
                f"Capabilities: unknown names {sorted(unknown)}; allowed dtypes "
                f"{', '.join(ALL_DTYPES)}; devices {', '.join(DEVICE_KINDS)}; jit "
                f"{', '.join(JIT_KINDS)}"
            )

    def flushes_subnormals_on(self, device: str) -> bool:
        """Whether arithmetic on ``device`` (a kind, or a name such as ``"cuda:0"``) flushes."""
        return device_kind(device) in self.flushes_subnormals

    def has_float64_on(self, device: str) -> bool:
        """Whether ``device`` (a kind, or a name such as ``"mps:0"``) computes in float64.

        >>> Capabilities(no_float64=("tpu",)).has_float64_on("TPU_0")
        False
        """
        return device_kind(device) not in self.no_float64


def device_kind(device: str) -> str:
    """The kind of a device name: ``"cuda:1"`` -> ``"cuda"``, ``"TFRT_CPU_0"`` -> ``"cpu"``.

    >>> device_kind("cuda:1"), device_kind("/job:localhost/replica:0/task:0/device:CPU:0")
    ('cuda', 'cpu')
    """
    low = device.lower()
    for kind, markers in (
        ("cuda", ("cuda", "gpu")),
        ("tpu", ("tpu",)),
        ("mps", ("mps",)),
        ("cpu", ("cpu",)),
    ):
        if any(m in low for m in markers):
            return kind
    return low.partition(":")[0]
