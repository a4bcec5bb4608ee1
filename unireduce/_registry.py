"""Which backend holds an array: the registry and the lazy detection.

Design (after einops' ``_backends.py`` and array-api-compat's ``_issubclass_fast``):

* Adapters are discovered through the entry-point group ``unireduce.backends`` (unireduce's own
  four plus the generic array-API ones are declared in its ``pyproject.toml``; a third-party
  package declares its own). Loading an entry point imports only the adapter module, which imports
  no framework.
* An adapter is instantiated, and so its framework imported, only when one of its ``modules`` is
  already in ``sys.modules``: an array of a framework cannot exist before the framework is imported,
  so this test is both free and exact. Summing a NumPy array never imports torch, TensorFlow or JAX.
* The first match for a Python type is cached; later calls cost one dict lookup.

>>> import numpy as np, unireduce as ur
>>> ur.backend_name(np.zeros(3))
'numpy'
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import threading
import warnings
from typing import Any

from ._backend import Backend
from ._errors import BackendError

__all__ = [
    "available_backends",
    "backend_name",
    "backend_of",
    "get_backend",
    "register_backend",
    "registered_backends",
]

ENTRY_POINT_GROUP = "unireduce.backends"

_lock = threading.RLock()
#: type(x) -> adapter, filled on first sight of each type.
_BY_TYPE: dict[type, Backend] = {}
#: name -> adapter class, in registration order (entry points first, then register_backend()).
_CLASSES: dict[str, type[Backend]] = {}
_INSTANCES: dict[str, Backend] = {}
_loaded = False


def _load_entry_points() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        for ep in sorted(
            importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
        ):
            if ep.name in _CLASSES:
                continue
            try:
                cls = ep.load()
            except Exception as exc:  # a broken third-party adapter must not break the others
                warnings.warn(
                    f"unireduce: backend entry point {ep.name!r} ({ep.value}) failed to load: "
                    f"{exc!r}; it is skipped",
                    RuntimeWarning,
                    stacklevel=3,
                )
                continue
            if not (isinstance(cls, type) and issubclass(cls, Backend)):
                warnings.warn(
                    f"unireduce: backend entry point {ep.name!r} ({ep.value}) is not a "
                    "unireduce.Backend subclass; it is skipped",
                    RuntimeWarning,
                    stacklevel=3,
                )
                continue
            _CLASSES[ep.name] = cls
        _loaded = True


def register_backend(cls: type[Backend], name: str | None = None) -> None:
    """Register an adapter class in this process (the entry point does it for installed ones).

    >>> import unireduce as ur
    >>> from unireduce.backends.numpy import NumpyBackend
    >>> ur.register_backend(NumpyBackend)   # already registered: no change
    """
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendError(f"register_backend: expected a unireduce.Backend subclass, got {cls!r}")
    _load_entry_points()
    with _lock:
        key = name or cls.name
        if _CLASSES.get(key) is cls:
            return
        _CLASSES[key] = cls
        _INSTANCES.pop(key, None)
        _BY_TYPE.clear()


def registered_backends() -> list[str]:
    """Names of every registered backend, installed or not.

    >>> import unireduce as ur
    >>> {"numpy", "torch", "tensorflow", "jax"} <= set(ur.registered_backends())
    True
    """
    _load_entry_points()
    return list(_CLASSES)


def _installed(cls: type[Backend]) -> bool:
    # Only the top-level package: find_spec("dask.array") would import dask to find its submodule.
    try:
        return all(importlib.util.find_spec(m.partition(".")[0]) is not None for m in cls.modules)
    except (ImportError, ValueError):
        return False


def available_backends() -> list[str]:
    """Registered backends whose framework is installed (nothing is imported to find out).

    >>> import unireduce as ur
    >>> "numpy" in ur.available_backends()
    True
    """
    _load_entry_points()
    return [name for name, cls in _CLASSES.items() if _installed(cls)]


def get_backend(name: str) -> Backend:
    """The adapter registered as ``name``, importing its framework.

    >>> import unireduce as ur
    >>> ur.get_backend("numpy").name
    'numpy'
    """
    inst = _INSTANCES.get(name)
    if inst is not None:
        return inst
    _load_entry_points()
    with _lock:
        inst = _INSTANCES.get(name)
        if inst is not None:
            return inst
        cls = _CLASSES.get(name)
        if cls is None:
            raise BackendError(
                f"get_backend: no backend named {name!r}; registered: {sorted(_CLASSES)}"
            )
        inst = cls()
        _INSTANCES[name] = inst
        return inst


def _detect(x: object) -> Backend:
    _load_entry_points()
    loaded = sys.modules
    for name, cls in list(_CLASSES.items()):
        if not all(m in loaded for m in cls.modules):
            continue
        be = get_backend(name)
        if be.is_array(x):
            with _lock:
                _BY_TYPE[type(x)] = be
            return be
    t = type(x)
    raise BackendError(
        f"unireduce: {t.__module__}.{t.__qualname__} is not an array of a registered backend; "
        f"supported: arrays of {', '.join(registered_backends())} "
        "(convert Python scalars and lists with your framework's asarray first)"
    )


def backend_of(x: object) -> Backend:
    """The adapter of the framework that holds ``x``; raises :class:`BackendError` otherwise."""
    be = _BY_TYPE.get(type(x))
    if be is not None:
        return be
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor) and torch.compiler.is_compiling():
        # First sight of a tensor type inside torch.compile: Dynamo cannot trace the registry's
        # entry-point loading, so run it eagerly, as a constant of the trace.
        return get_backend(_torch_backend_name())
    return _detect(x)


def backend_of_traced(x: object) -> Backend:
    """:func:`backend_of` as a tracer that guards on the Python state it reads sees it (Dynamo,
    through :func:`traced_substitutes`): a torch tensor's adapter without a read of the type
    cache. Dynamo guards a dict it reads on all its keys, so every type first seen later (a NumPy
    array, a tensor subclass, a JAX tracer) recompiled every function compiled before, and each
    such recompilation counts toward torch's ``recompile_limit`` (8), past which the function runs
    eagerly.

    >>> import numpy as np
    >>> backend_of_traced(np.zeros(2)).name
    'numpy'
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return get_backend(_torch_backend_name())
    # backend_of's other steps: a call of backend_of would be this function again under Dynamo.
    return _BY_TYPE.get(type(x)) or _detect(x)


def traced_substitutes() -> list[tuple[Any, Any]]:
    """The frontend's functions that read caches which grow, each with the variant a tracer that
    guards on the Python state it reads should trace instead: ``(original, traced)`` pairs, which
    the torch adapter registers with ``torch.compiler.substitute_in_graph``.

    >>> [f.__name__ for f, _ in traced_substitutes()]
    ['backend_of', '_resolve']
    """
    from . import _api

    return [(backend_of, backend_of_traced), (_api._resolve, _api._resolve_traced)]


def _torch_backend_name() -> str:
    """Load the registry and the torch adapter; returns its name (a constant of any trace)."""
    for name, cls in _ordered_classes():
        if cls.modules == ("torch",):
            get_backend(name)
            return name
    raise BackendError("unireduce: no backend is registered for torch tensors")


# What torch.compiler.assume_constant_result(fn) does, written out so that torch is not imported:
# Dynamo then runs the function eagerly while tracing and uses its result as a constant, instead of
# failing on the registry's lock and importlib.metadata (tested in tests/test_frameworks.py).
_torch_backend_name._dynamo_marked_constant = True  # type: ignore[attr-defined]


def _ordered_classes() -> list[tuple[str, type[Backend]]]:
    _load_entry_points()
    return list(_CLASSES.items())


def backend_name(x: object) -> str:
    """The name of the backend that holds ``x``.

    >>> import numpy as np, unireduce as ur
    >>> ur.backend_name(np.float32(1.0))
    'numpy'
    """
    return backend_of(x).name


def common_backend(fn: str, *arrays: Any) -> Backend:
    """The one backend of several arrays; :class:`BackendError` if they belong to several."""
    backends = {id(b): b for b in (backend_of(a) for a in arrays)}
    if len(backends) != 1:
        names = sorted(b.name for b in backends.values())
        raise BackendError(f"{fn}: arrays of several backends mixed: {names}; use one framework")
    return next(iter(backends.values()))
