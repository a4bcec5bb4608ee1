"""Binary floating-point formats and the integer lanes the exact engine computes in.

A finite float is ``sig * 2**(k + qmin)`` with ``0 <= sig < 2**p`` and ``k = max(biased, 1) - 1``;
the engine works in "k units", where the smallest subnormal is bit 0.

>>> FORMATS["float32"].p, FORMATS["float32"].kmax
(24, 253)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FORMATS", "Fmt", "Lanes", "lanes_for"]


@dataclass(frozen=True)
class Fmt:
    """An IEEE 754 binary format (bfloat16 included)."""

    name: str
    p: int  # precision, hidden bit included
    ebits: int
    nbits: int  # storage bits

    @property
    def emask(self) -> int:
        """All-ones biased exponent."""
        return (1 << self.ebits) - 1

    @property
    def kmax(self) -> int:
        """Largest ``k`` of a finite value."""
        return self.emask - 2

    @property
    def inf_bits(self) -> int:
        """Bit pattern of +inf."""
        return self.emask << (self.p - 1)

    @property
    def nan_bits(self) -> int:
        """Bit pattern of the default quiet NaN."""
        return self.inf_bits | (1 << (self.p - 2))

    @property
    def bias(self) -> int:
        """Exponent bias: a normal value is ``2**(field - bias)`` times its significand."""
        return (1 << (self.ebits - 1)) - 1

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal value, ``2**emin``."""
        return 1 - self.bias

    @property
    def qmin(self) -> int:
        """Exponent of the smallest subnormal, ``2**qmin``."""
        return self.emin - self.p + 1


FORMATS: dict[str, Fmt] = {
    "float16": Fmt("float16", 11, 5, 16),
    "bfloat16": Fmt("bfloat16", 8, 8, 16),
    "float32": Fmt("float32", 24, 8, 32),
    "float64": Fmt("float64", 53, 11, 64),
}


@dataclass(frozen=True)
class Lanes:
    """The integer type the portable path computes in: ``bits``-bit lanes holding ``w``-bit digits.

    A sum of ``2**(bits - 2 - w)`` digits never overflows a lane.
    """

    name: str
    bits: int
    w: int

    @property
    def mask(self) -> int:
        """``2**w - 1``."""
        return (1 << self.w) - 1

    @property
    def block(self) -> int:
        """How many digits may be added before their carries must be split off."""
        return 1 << (self.bits - 2 - self.w)


def lanes_for(supported: frozenset[str]) -> Lanes:
    """int64 lanes with 32-bit digits where the device has int64, else int32 lanes, 16-bit digits.

    >>> lanes_for(frozenset({"int32"})).w
    16
    """
    if "int64" in supported:
        return Lanes("int64", 64, 32)
    return Lanes("int32", 32, 16)
