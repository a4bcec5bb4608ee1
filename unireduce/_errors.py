"""The exceptions unireduce raises.

Every error is a :class:`UnireduceError` and also subclasses the builtin exception users already
catch for that mistake, so ``except ValueError`` keeps working whichever backend raised underneath.
Messages name the function, the offending value and what is allowed.

>>> import unireduce as ur
>>> issubclass(ur.AxisError, ValueError) and issubclass(ur.AxisError, IndexError)
True
"""

from __future__ import annotations

__all__ = [
    "AxisError",
    "BackendError",
    "DTypeError",
    "IntegerOverflowError",
    "UnireduceError",
    "UnireduceTypeError",
    "UnireduceValueError",
]


class UnireduceError(Exception):
    """Base class of every exception raised by unireduce."""

    # Inside tf.function, AutoGraph re-raises an error from converted code as its own class only
    # when that class's __init__ is Exception.__init__ (autograph/pyct/error_utils.py,
    # create_exception); any other class becomes a StagingError that `except AxisError` misses.
    __init__ = Exception.__init__


class AxisError(UnireduceError, ValueError, IndexError):
    """An ``axis`` is out of range, duplicated or missing (as ``numpy.exceptions.AxisError``)."""


class DTypeError(UnireduceError, TypeError):
    """An input or requested dtype is not allowed by the rules in force, or not representable."""


class BackendError(UnireduceError, TypeError):
    """An input is not an array of a registered backend, or arrays of several backends are mixed."""


class IntegerOverflowError(UnireduceError, OverflowError):
    """A checked integer result (``precision="exact"``) does not fit its output dtype."""


class UnireduceValueError(UnireduceError, ValueError):
    """An argument value is not allowed (for instance ``exclusive`` with ``include_initial``)."""


class UnireduceTypeError(UnireduceError, TypeError):
    """An argument has a type that is not allowed (for instance ``axis=1.0``)."""
