"""unireduce: one precise, tested meaning for sum, cumsum and reduce_sum on every framework.

NumPy, PyTorch, TensorFlow and JAX disagree on what a sum returns: its dtype, whether integers wrap,
what an empty axis means, cumsum's default axis, how precisely half floats are accumulated.
unireduce applies one set of rules, the array API standard's, on whichever framework holds the data
(or a framework's own rules, named with ``semantics=``), with results on the input's device.

>>> import numpy as np, unireduce as ur
>>> ur.sum(np.array([100, 100], dtype=np.int8))
array(200)
>>> ur.reduce_sum(np.array([100, 100], dtype=np.int8))
array(-56, dtype=int8)
"""

from __future__ import annotations

from ._api import cumsum, cumulative_sum, reduce_sum, sum
from ._backend import Backend, Capabilities
from ._errors import (
    AxisError,
    BackendError,
    DTypeError,
    IntegerOverflowError,
    UnireduceError,
    UnireduceTypeError,
    UnireduceValueError,
)
from ._introspect import profiles, result_dtype
from ._metric import Sum
from ._registry import (
    available_backends,
    backend_name,
    get_backend,
    register_backend,
    registered_backends,
)

__version__ = "0.1.0"

__all__ = [
    "AxisError",
    "Backend",
    "BackendError",
    "Capabilities",
    "DTypeError",
    "IntegerOverflowError",
    "Sum",
    "UnireduceError",
    "UnireduceTypeError",
    "UnireduceValueError",
    "available_backends",
    "backend_name",
    "cumsum",
    "cumulative_sum",
    "get_backend",
    "profiles",
    "reduce_sum",
    "register_backend",
    "registered_backends",
    "result_dtype",
    "sum",
]
