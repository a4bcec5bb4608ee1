"""The rules of every semantics profile, as plain data.

A *profile* says what one framework does for ``sum`` and ``cumsum``: the output dtype for each input
dtype, the accumulator it uses for half-precision floats, which inputs it refuses, and how it reads
``axis``. The frontend (:mod:`unireduce._api`) resolves a call against one profile, once, and hands
the adapter a normalised request; no adapter repeats any of this.

Output-dtype tables map an input dtype to a *token*:

``"same"``          the input dtype;
``"default_int"``   the profile's default integer (the holding backend's when the profile has none);
``"default_uint"``  the unsigned integer of the default integer's width;
``"int64"`` etc.    that dtype;
``REFUSE``          the framework raises for this input.

>>> from unireduce._rules import PROFILES
>>> PROFILES["array_api"].sum_dtype["uint8"], PROFILES["tensorflow"].sum_dtype["int8"]
('default_uint', 'same')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from ._dtypes import ALL_DTYPES, COMPLEX, REAL_FLOAT, SIGNED, UNSIGNED

__all__ = ["FUNCTIONS", "PROFILES", "REFUSE", "Profile"]

REFUSE: Final = "refuse"

#: The public reduction functions, by the name rules and docs use.
FUNCTIONS: Final = ("sum", "reduce_sum", "cumulative_sum", "cumsum")

EmptyAxis = Literal["none", "all"]
CumsumDefaultAxis = Literal["required_if_ndim_gt_1", "flatten", "zero", "required"]
CumsumZeroD = Literal["error", "as_1d", "scalar"]


def _table(**groups: str) -> Mapping[str, str]:
    """Build a read-only dtype -> token table from category keywords (``signed=``, ``f16=`` ...)."""
    cats: dict[str, tuple[str, ...]] = {
        "bool": ("bool",),
        "signed": SIGNED,
        "unsigned": UNSIGNED,
        "floating": REAL_FLOAT,
        "complex": COMPLEX,
    }
    out: dict[str, str] = {}
    for key, token in groups.items():
        for dtype in cats.get(key, (key,)):
            out[dtype] = token
    missing = set(ALL_DTYPES) - set(out)
    if missing:  # pragma: no cover - a table must cover every dtype
        raise AssertionError(f"dtype table misses {sorted(missing)}")
    return MappingProxyType(out)


@dataclass(frozen=True)
class Profile:
    """The reduction rules of one framework, applied by unireduce on any backend."""

    name: str
    #: Who defines these rules, for messages and docs ("the array API standard", "TensorFlow").
    framework: str
    #: The default integer dtype; ``None`` means the holding backend's default.
    default_int: str | None
    sum_dtype: Mapping[str, str]
    cumsum_dtype: Mapping[str, str]
    #: Floating accumulator wider than the data, by input dtype; a missing entry means native.
    sum_accumulator: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    cumsum_accumulator: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Whether ``dtype=`` is accepted.
    dtype_arg: bool = True
    #: What an empty ``axis`` (``()`` or ``[]``) means: no reduction, or every axis (pytorch#29137).
    empty_axis: EmptyAxis = "none"
    #: Whether a list of ints is accepted as ``axis``.
    list_axis: bool = True
    #: Whether a 1-D integer array of the backend is accepted as ``axis``.
    array_axis: bool = False
    #: Axis forms accepted on a 0-d input besides ``None`` and ``()``: "int" (0 or -1), "tuple".
    zero_d_axis: frozenset[str] = frozenset()
    cumsum_default_axis: CumsumDefaultAxis = "required_if_ndim_gt_1"
    cumsum_zero_d: CumsumZeroD = "error"
    #: Refuse 64-bit input, which the framework would silently truncate (JAX with x64 off).
    refuse_64bit: bool = False
    #: Upstream issues behind the quirks this profile reproduces, for the docs.
    quirks: tuple[str, ...] = ()


ARRAY_API: Final = Profile(
    name="array_api",
    framework="the array API standard (2025.12)",
    default_int=None,
    sum_dtype=_table(
        bool="default_int",
        signed="default_int",
        unsigned="default_uint",
        floating="same",
        complex="same",
    ),
    cumsum_dtype=_table(
        bool="default_int",
        signed="default_int",
        unsigned="default_uint",
        floating="same",
        complex="same",
    ),
)

TENSORFLOW: Final = Profile(
    name="tensorflow",
    framework="TensorFlow (tf.math.reduce_sum, tf.math.cumsum)",
    default_int="int64",
    sum_dtype=_table(bool=REFUSE, signed="same", unsigned="same", floating="same", complex="same"),
    cumsum_dtype=_table(
        bool=REFUSE, signed="same", unsigned="same", floating="same", complex="same"
    ),
    # Measured: TF sums bfloat16 in float32 but float16 in float16 (semantics-matrix.md §5, §6g).
    sum_accumulator=MappingProxyType({"bfloat16": "float32"}),
    dtype_arg=False,
    array_axis=True,
    cumsum_default_axis="zero",
    quirks=(
        "integer sums keep the input dtype and wrap (tensorflow#125978 for the jit variant)",
        "bool input is refused",
        "axis=[] reduces nothing (tensorflow#19498)",
    ),
)

#: Every profile by name; ``semantics=`` takes these names.
PROFILES: Final[Mapping[str, Profile]] = MappingProxyType(
    {p.name: p for p in (ARRAY_API, TENSORFLOW)}
)
