"""Questions about the rules, answered without computing anything: ``profiles``, ``result_dtype``.

Both read the same rule data (:mod:`unireduce._rules`) and the same resolution code
(:func:`unireduce._resolve.resolve_dtypes`) as the reductions, so their answers cannot drift from
what a call does.

>>> import unireduce as ur
>>> ur.result_dtype("sum", "int8", semantics="jax"), ur.result_dtype("cumsum", "int8", "jax")
('int32', 'int8')
"""

from __future__ import annotations

from ._errors import UnireduceTypeError, UnireduceValueError
from ._resolve import canonical_dtype, profile, resolve_dtypes
from ._rules import FUNCTIONS, PROFILES

__all__ = ["profiles", "result_dtype"]


def profiles() -> list[str]:
    """The names ``semantics=`` accepts, the canonical ``"array_api"`` first.

    >>> import unireduce as ur
    >>> ur.profiles()
    ['array_api', 'numpy', 'torch', 'tensorflow', 'jax', 'jax_x64']
    """
    return list(PROFILES)


def result_dtype(
    function: str,
    input_dtype: object,
    semantics: str = "array_api",
    *,
    dtype: object = None,
    backend: str | None = None,
) -> str:
    """The output dtype ``function`` gives for ``input_dtype`` under ``semantics``, as a name.

    ``function`` is ``"sum"``, ``"reduce_sum"``, ``"cumulative_sum"`` or ``"cumsum"``;
    ``input_dtype`` and ``dtype`` are canonical names or framework dtype objects. Nothing is
    computed. ``semantics`` defaults to ``"array_api"`` for every function, ``"reduce_sum"``
    included (whose own default is ``"tensorflow"``). Raises :class:`unireduce.DTypeError` where
    the call would (a refused input, a ``dtype=`` the profile does not take). ``backend`` (a
    backend name) matters for profiles whose default integer is the backend's (``"array_api"``):
    without it the default integer is int64; with ``backend="jax"`` it follows
    ``jax_enable_x64``, and a result the backend cannot hold raises as the call would.

    >>> import unireduce as ur
    >>> ur.result_dtype("sum", "uint8"), ur.result_dtype("sum", "uint8", semantics="torch")
    ('uint64', 'int64')
    >>> ur.result_dtype("reduce_sum", "int8", semantics="tensorflow")  # ur.reduce_sum's default
    'int8'
    >>> ur.result_dtype("sum", "int8", dtype="int16", semantics="numpy")
    'int16'
    """
    fn = "result_dtype"
    if function not in FUNCTIONS:
        raise UnireduceValueError(
            f"{fn}: unknown function={function!r}; allowed: {', '.join(map(repr, FUNCTIONS))}"
        )
    if function == "reduce_sum" and dtype is not None:
        raise UnireduceTypeError(
            f"{fn}: reduce_sum takes no dtype= argument (got dtype={dtype!r}); cast the input"
        )
    prof = profile(function, semantics)
    be = None
    if backend is not None:
        if not isinstance(backend, str):
            raise UnireduceTypeError(
                f"{fn}: backend={backend!r} must be a backend name such as 'jax' or None"
            )
        from ._registry import get_backend

        be = get_backend(backend)
    in_name = canonical_dtype(function, input_dtype, be)
    out, _ = resolve_dtypes(function, prof, in_name, dtype, be)
    return out
