"""The functions under test, as data: how to call each on unireduce and on the reference.

Adding a function to the suite is one entry here (plus its kwargs strategy in ``_cases.py``).
The ``Sum`` metric is not an entry: it takes no axis, dtype rules or profiles but weights, merges
and resets, so ``_metric.py`` drives it through scenarios (``test_metric``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["FUNCTIONS", "Function"]


@dataclass(frozen=True)
class Function:
    """One public reduction: its name, kind, the keywords it takes, and how to call it."""

    name: str
    kind: Literal["reduce", "cumulate"]
    #: Keyword arguments the function takes (besides ``semantics``).
    keywords: tuple[str, ...]
    #: The default ``semantics`` of the function.
    default_semantics: str = "array_api"
    #: ``call(api, x, kwargs)``; ``api`` is :mod:`unireduce` or a :class:`~unireduce.reference.
    #: Reference`. ``None``: ``getattr(api, name)(x, **kwargs)``.
    caller: Callable[[Any, Any, Mapping[str, Any]], Any] | None = None

    def call(self, api: Any, x: Any, kwargs: Mapping[str, Any]) -> Any:
        if self.caller is not None:
            return self.caller(api, x, kwargs)
        return getattr(api, self.name)(x, **kwargs)


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("sum", "reduce", ("axis", "dtype", "keepdims", "precision")),
        Function(
            "reduce_sum",
            "reduce",
            ("axis", "keepdims", "precision"),
            default_semantics="tensorflow",
        ),
        Function("cumulative_sum", "cumulate", ("axis", "dtype", "include_initial", "precision")),
        Function(
            "cumsum",
            "cumulate",
            ("axis", "dtype", "exclusive", "reverse", "include_initial", "precision"),
        ),
    )
}
