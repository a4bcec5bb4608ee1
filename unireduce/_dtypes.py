"""Canonical dtype names and their categories: plain data, no framework imported.

unireduce speaks one dtype vocabulary, the array API's names plus ``bfloat16``. Adapters translate
between these names and their framework's dtype objects; every rule in :mod:`unireduce._rules` is
written in these names.

>>> from unireduce._dtypes import KIND, BITS
>>> KIND["uint8"], BITS["uint8"]
('u', 8)
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALL_DTYPES",
    "BITS",
    "BOOL",
    "COMPLEX",
    "COMPLEX_COMPONENT",
    "INTEGER",
    "KIND",
    "NUMERIC",
    "REAL_FLOAT",
    "SIGNED",
    "UNSIGNED",
    "is_float",
    "is_integer",
    "signed_of",
    "unsigned_of",
]

BOOL: Final = ("bool",)
SIGNED: Final = ("int8", "int16", "int32", "int64")
UNSIGNED: Final = ("uint8", "uint16", "uint32", "uint64")
INTEGER: Final = SIGNED + UNSIGNED
REAL_FLOAT: Final = ("float16", "bfloat16", "float32", "float64")
COMPLEX: Final = ("complex64", "complex128")
NUMERIC: Final = INTEGER + REAL_FLOAT + COMPLEX
ALL_DTYPES: Final = BOOL + NUMERIC

#: One letter per category, as NumPy's ``dtype.kind``: b(ool), i(nt), u(int), f(loat), c(omplex).
KIND: Final[dict[str, str]] = {
    **dict.fromkeys(BOOL, "b"),
    **dict.fromkeys(SIGNED, "i"),
    **dict.fromkeys(UNSIGNED, "u"),
    **dict.fromkeys(REAL_FLOAT, "f"),
    **dict.fromkeys(COMPLEX, "c"),
}

BITS: Final[dict[str, int]] = {
    "bool": 8,
    "int8": 8,
    "int16": 16,
    "int32": 32,
    "int64": 64,
    "uint8": 8,
    "uint16": 16,
    "uint32": 32,
    "uint64": 64,
    "float16": 16,
    "bfloat16": 16,
    "float32": 32,
    "float64": 64,
    "complex64": 64,
    "complex128": 128,
}

#: The real dtype of each complex dtype's components.
COMPLEX_COMPONENT: Final[dict[str, str]] = {"complex64": "float32", "complex128": "float64"}


def is_integer(name: str) -> bool:
    """Whether ``name`` is a signed or unsigned integer dtype (not bool).

    >>> is_integer("uint8"), is_integer("bool")
    (True, False)
    """
    return KIND[name] in "iu"


def is_float(name: str) -> bool:
    """Whether ``name`` is a real or complex floating-point dtype.

    >>> is_float("bfloat16"), is_float("int8")
    (True, False)
    """
    return KIND[name] in "fc"


def signed_of(bits: int) -> str:
    """The signed integer dtype with ``bits`` bits.

    >>> signed_of(32)
    'int32'
    """
    return f"int{bits}"


def unsigned_of(bits: int) -> str:
    """The unsigned integer dtype with ``bits`` bits.

    >>> unsigned_of(64)
    'uint64'
    """
    return f"uint{bits}"
