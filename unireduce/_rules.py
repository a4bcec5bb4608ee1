"""The rules of every semantics profile, as plain data.

A *profile* says what one framework does for ``sum`` and ``cumsum``: the output dtype for each input
dtype, the accumulator it uses for narrow floats, which inputs it refuses, and how it reads
``axis``. The frontend (:mod:`unireduce._resolve`, :mod:`unireduce._api`) resolves a call against
one profile, once, and hands the adapter a normalised request; no adapter repeats any of this.

Every value below was measured by running the framework itself (numpy 2.4, torch 2.13 CPU,
tensorflow 2.21 CPU, jax 0.10 CPU; see ``docs/semantics.md``, generated from this module, and
``tests/test_profiles_oracle.py``, which runs each framework as the oracle for its profile).

Output-dtype tables map an input dtype to a *token*:

``"same"``          the input dtype;
``"default_int"``   the profile's default integer (the holding backend's when the profile has none);
``"default_uint"``  the unsigned integer of the default integer's width;
``"int64"`` etc.    that dtype;
``REFUSE``          the framework raises for this input.

Accumulator tables map an *output* dtype to the dtype the framework adds in when that is wider
(a missing entry: the output dtype itself).

>>> from unireduce._rules import PROFILES
>>> PROFILES["array_api"].sum_dtype["uint8"], PROFILES["tensorflow"].sum_dtype["int8"]
('default_uint', 'same')
>>> PROFILES["jax"].dtype_table("sum")["int8"], PROFILES["jax"].dtype_table("cumsum")["int8"]
('default_int', 'same')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from ._dtypes import ALL_DTYPES, COMPLEX, REAL_FLOAT, SIGNED, UNSIGNED

__all__ = [
    "FUNCTIONS",
    "PROFILES",
    "REFUSE",
    "SIXTY_FOUR_BIT",
    "CumsumDefaultAxis",
    "CumsumZeroD",
    "EmptyAxis",
    "Profile",
]

REFUSE: Final = "refuse"

#: The public reduction functions, by the name rules and docs use.
FUNCTIONS: Final = ("sum", "reduce_sum", "cumulative_sum", "cumsum")

#: Dtypes with 64-bit values or components: what JAX with x64 off silently narrows to 32 bits.
SIXTY_FOUR_BIT: Final = frozenset({"int64", "uint64", "float64", "complex128"})

#: What an empty ``axis`` (``()`` or ``[]``) means: no reduction, or every axis.
EmptyAxis = Literal["none", "all"]
#: A cumulative sum's axis when none is given: required unless the input is 1-D (array API), the
#: flattened input (NumPy, JAX), axis 0 (TensorFlow), or always required (PyTorch).
CumsumDefaultAxis = Literal["required_if_ndim_gt_1", "flatten", "zero", "required"]
#: A cumulative sum of a 0-d input along axis 0 or -1: an error, a 1-element 1-D result (NumPy),
#: or a 0-d result (PyTorch).
CumsumZeroD = Literal["error", "as_1d", "scalar"]

_EMPTY: Final[Mapping[str, str]] = {}


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
    return dict(out)


def _acc(**pairs: str) -> Mapping[str, str]:
    """A read-only accumulator table: output dtype -> the wider dtype the framework adds in."""
    return dict(dict(pairs))


@dataclass(frozen=True)
class Profile:
    """The reduction rules of one framework, applied by unireduce on any backend.

    ``sum`` and ``reduce_sum`` follow the ``sum_*`` fields, ``cumsum`` the ``cumsum_*`` fields and
    ``cumulative_sum`` the ``cumulative_sum_*`` fields where the framework's own
    ``cumulative_sum`` differs from its ``cumsum`` (``None``: as ``cumsum``). Read them through
    :meth:`dtype_table`, :meth:`accumulator`, :meth:`default_axis` and :meth:`zero_d`.
    """

    name: str
    #: Who defines these rules, for messages and docs ("the array API standard", "TensorFlow").
    framework: str
    #: The default integer dtype; ``None`` means the holding backend's default.
    default_int: str | None
    sum_dtype: Mapping[str, str]
    cumsum_dtype: Mapping[str, str]
    #: Floating accumulator wider than the output, by output dtype; a missing entry means native.
    sum_accumulator: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    cumsum_accumulator: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
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
    #: ``cumulative_sum``'s own rules where the framework's differ from its ``cumsum``.
    cumulative_sum_dtype: Mapping[str, str] | None = None
    cumulative_sum_default_axis: CumsumDefaultAxis | None = None
    cumulative_sum_zero_d: CumsumZeroD | None = None
    #: The cumulative functions that also take their one axis as a 1-tuple, ``axis=(1,)``.
    one_tuple_axis: frozenset[str] = frozenset()
    #: Refuse 64-bit input and ``dtype=``, which the framework would silently narrow (JAX, x64 off).
    refuse_64bit: bool = False
    #: The framework function each unireduce function reproduces, for the docs and the oracle.
    natives: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    #: Behaviours this profile reproduces that surprise users, with their upstream issue.
    quirks: tuple[str, ...] = ()
    #: Framework behaviours this profile deliberately does not reproduce, and why.
    divergences: tuple[str, ...] = ()

    def dtype_table(self, fn: str) -> Mapping[str, str]:
        """The output-dtype table of ``fn`` (one of :data:`FUNCTIONS`)."""
        if fn == "cumulative_sum" and self.cumulative_sum_dtype is not None:
            return self.cumulative_sum_dtype
        return self.cumsum_dtype if fn in ("cumsum", "cumulative_sum") else self.sum_dtype

    def accumulator(self, fn: str) -> Mapping[str, str]:
        """The accumulator table of ``fn``: output dtype -> wider dtype the framework adds in."""
        if fn in ("cumsum", "cumulative_sum"):
            return self.cumsum_accumulator
        return self.sum_accumulator

    def default_axis(self, fn: str) -> CumsumDefaultAxis:
        """What a cumulative sum ``fn`` does when no axis is given."""
        if fn == "cumulative_sum" and self.cumulative_sum_default_axis is not None:
            return self.cumulative_sum_default_axis
        return self.cumsum_default_axis

    def zero_d(self, fn: str) -> CumsumZeroD:
        """What a cumulative sum ``fn`` does with a 0-d input along axis 0 or -1."""
        if fn == "cumulative_sum" and self.cumulative_sum_zero_d is not None:
            return self.cumulative_sum_zero_d
        return self.cumsum_zero_d


_PROMOTING: Final = _table(
    bool="default_int",
    signed="default_int",
    unsigned="default_uint",
    floating="same",
    complex="same",
)

ARRAY_API: Final = Profile(
    name="array_api",
    framework="the array API standard (2025.12)",
    default_int=None,
    sum_dtype=_PROMOTING,
    cumsum_dtype=_PROMOTING,
    natives={
        "sum": "array_api_strict.sum",
        "reduce_sum": "array_api_strict.sum",
        "cumulative_sum": "array_api_strict.cumulative_sum",
        "cumsum": "array_api_strict.cumulative_sum",
    },
    quirks=(
        "axis=() reduces nothing, unlike torch's dim=() (pytorch#29137)",
        "unsigned integers sum to the unsigned integer of the default integer's width, unlike "
        "torch and array-api-compat's torch namespace (array-api-compat#242)",
        "a 0-d input takes no axis but None and () (a valid axis is in [-N, N)); its cumulative "
        "sum is refused (the standard leaves it unspecified)",
    ),
    divergences=(
        "bool input counts as the default integer (the standard leaves non-numeric input "
        "unspecified; array_api_strict raises)",
        "a list of ints is accepted as axis, as a tuple (array_api_strict wants a tuple)",
    ),
)

NUMPY: Final = Profile(
    name="numpy",
    framework="NumPy (numpy.sum, numpy.cumsum, numpy.cumulative_sum)",
    default_int="int64",
    sum_dtype=_PROMOTING,
    cumsum_dtype=_PROMOTING,
    # Measured: float16 sums add pairwise in float32 (but bfloat16 ones in bfloat16, ml_dtypes#63);
    # add.accumulate rounds every prefix to the output dtype (a float16 cumsum of ones stops at
    # 2048, a bfloat16 one at 256).
    sum_accumulator=_acc(float16="float32"),
    list_axis=False,
    zero_d_axis=frozenset({"int"}),
    cumsum_default_axis="flatten",
    cumsum_zero_d="as_1d",
    cumulative_sum_default_axis="required_if_ndim_gt_1",
    cumulative_sum_zero_d="as_1d",
    one_tuple_axis=frozenset({"cumulative_sum"}),  # ufunc.accumulate takes axis=(k,)
    natives={
        "sum": "numpy.sum",
        "reduce_sum": "numpy.sum",
        "cumulative_sum": "numpy.cumulative_sum",
        "cumsum": "numpy.cumsum",
    },
    quirks=(
        "unsigned integers sum to uint64, signed integers and bool to int64",
        "a list as axis raises TypeError (a tuple is needed)",
        "axis=0 or -1 on a 0-d input is accepted, axis=(0,) is not",
        "cumsum without axis flattens the input; cumsum of a 0-d input has shape (1,)",
        "cumulative_sum takes its axis as an int or a 1-tuple, cumsum only as an int",
        "float16 sums accumulate in float32 only along the contiguous innermost axis "
        "(numpy#15785); unireduce always does, so it is at least as accurate",
        "bfloat16 (ml_dtypes) sums accumulate in bfloat16: 1000 ones sum to 256 (ml_dtypes#63)",
        "float16 and bfloat16 cumulative sums accumulate in the input dtype: 4096 float16 ones "
        "end at 2048",
    ),
    divergences=(
        "dtype=bool (a logical OR) is refused",
        "a complex input with a real dtype= is refused (NumPy warns and drops the imaginary part)",
    ),
)

TORCH: Final = Profile(
    name="torch",
    framework="PyTorch (torch.sum, torch.cumsum)",
    default_int="int64",
    sum_dtype=_table(
        bool="default_int",
        signed="default_int",
        unsigned="default_int",
        floating="same",
        complex="same",
    ),
    cumsum_dtype=_table(
        bool="default_int",
        signed="default_int",
        unsigned="default_int",
        floating="same",
        complex="same",
    ),
    # Measured on CPU: ATen's acc_type widens half floats to float for sums and scans, and the CPU
    # scan kernel also widens float32 to double and complex64 to complex128.
    sum_accumulator=_acc(float16="float32", bfloat16="float32"),
    cumsum_accumulator=_acc(
        float16="float32", bfloat16="float32", float32="float64", complex64="complex128"
    ),
    empty_axis="all",
    zero_d_axis=frozenset({"int", "tuple"}),
    cumsum_default_axis="required",
    cumsum_zero_d="scalar",
    natives={
        "sum": "torch.sum",
        "reduce_sum": "torch.sum",
        "cumulative_sum": "torch.cumsum",
        "cumsum": "torch.cumsum",
    },
    quirks=(
        "dim=() and dim=[] reduce every axis instead of none (pytorch#29137)",
        "every integer and bool input sums to int64, unsigned ones too (array-api-compat#242)",
        "axis 0 or -1, as an int or in a tuple, is accepted on a 0-d input",
        "cumsum requires an axis; cumsum of a 0-d input is 0-d",
        "float16 and bfloat16 sums and cumsums accumulate in float32; float32 cumsums in float64 "
        "(CPU kernels)",
    ),
    divergences=(
        "dtype=bool is refused",
        "a complex input with a real dtype= is refused (torch warns and drops the imaginary part)",
        "a string dtype= is accepted (torch.sum wants a torch.dtype)",
        "a 1-element 1-D tensor as dim is refused (torch reads it through __index__)",
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
    # Measured: TF sums bfloat16 in float32 but float16 in float16 (f16 [65504, 65504, -65504]
    # gives inf); its CPU scan keeps both in the input dtype (tensorflow#115731).
    sum_accumulator=_acc(bfloat16="float32"),
    dtype_arg=False,
    array_axis=True,
    cumsum_default_axis="zero",
    natives={
        "sum": "tf.math.reduce_sum",
        "reduce_sum": "tf.math.reduce_sum",
        "cumulative_sum": "tf.math.cumsum",
        "cumsum": "tf.math.cumsum",
    },
    quirks=(
        "integer sums keep the input dtype and wrap: int8 [100, 100] sums to -56",
        "bool input is refused (the Sum and Cumsum kernels have no bool type)",
        "no dtype= argument",
        "axis=[] reduces nothing (tensorflow#19498); a 1-D integer tensor is accepted as axis",
        "any axis on a 0-d input is refused",
        "cumsum without axis runs along axis 0; cumsum of a 0-d input is refused",
        "float16 sums accumulate in float16: [65504, 65504, -65504] sums to inf",
        "float16 and bfloat16 cumsums accumulate in the input dtype on CPU (tensorflow#115731)",
    ),
)

_JAX_CUMSUM: Final = _table(
    bool="default_int", signed="same", unsigned="same", floating="same", complex="same"
)
_JAX_NATIVES: Final = {
    "sum": "jax.numpy.sum",
    "reduce_sum": "jax.numpy.sum",
    "cumulative_sum": "jax.numpy.cumulative_sum",
    "cumsum": "jax.numpy.cumsum",
}
_JAX_QUIRKS: Final = (
    "jnp.cumsum keeps narrow integer dtypes and wraps, although jnp.sum and "
    "jnp.cumulative_sum promote them (jax#18399, jax#37920)",
    "a list or a 1-D integer array is accepted as axis; any axis on a 0-d input is refused",
    "jnp.cumsum without axis flattens the input (a 0-d input becomes shape (1,)); "
    "jnp.cumulative_sum needs an axis for ndim > 1 and refuses a 0-d input",
    "float16 and bfloat16 sums accumulate in float32, cumulative sums in the input dtype "
    "(a parallel scan)",
)

JAX: Final = Profile(
    name="jax",
    framework="JAX with jax_enable_x64 off (jax.numpy.sum, jax.numpy.cumsum)",
    default_int="int32",
    sum_dtype=_PROMOTING,
    cumsum_dtype=_JAX_CUMSUM,
    sum_accumulator=_acc(float16="float32", bfloat16="float32"),
    array_axis=True,
    cumsum_default_axis="flatten",
    cumulative_sum_dtype=_PROMOTING,
    cumulative_sum_default_axis="required_if_ndim_gt_1",
    refuse_64bit=True,
    natives=_JAX_NATIVES,
    quirks=(
        "integer sums promote only to int32 / uint32, so int32 sums still wrap",
        *_JAX_QUIRKS,
        "64-bit input and dtype= are refused: JAX would silently narrow them to 32 bits "
        "(jax#18385); use semantics='jax_x64'",
    ),
    divergences=(
        "dtype=bool is refused",
        "jnp.cumsum refuses a 0-d array as axis (a non-hashable static argument); "
        "unireduce accepts it as an int",
    ),
)

JAX_X64: Final = Profile(
    name="jax_x64",
    framework="JAX with jax_enable_x64 on (jax.numpy.sum, jax.numpy.cumsum)",
    default_int="int64",
    sum_dtype=_PROMOTING,
    cumsum_dtype=_JAX_CUMSUM,
    sum_accumulator=_acc(float16="float32", bfloat16="float32"),
    array_axis=True,
    cumsum_default_axis="flatten",
    cumulative_sum_dtype=_PROMOTING,
    cumulative_sum_default_axis="required_if_ndim_gt_1",
    natives=_JAX_NATIVES,
    quirks=_JAX_QUIRKS,
    divergences=JAX.divergences,
)

# Tables are plain dicts, read-only by convention: torch.compile (Dynamo) graph-breaks when code
# reads a types.MappingProxyType after any dict was mutated in the same trace ("mapping proxy
# affected by dictionary mutation"), and the plan cache is such a dict.

#: Every profile by name; ``semantics=`` takes these names.
PROFILES: Final[Mapping[str, Profile]] = {
    p.name: p for p in (ARRAY_API, NUMPY, TORCH, TENSORFLOW, JAX, JAX_X64)
}
