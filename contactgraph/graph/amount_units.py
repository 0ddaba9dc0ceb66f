"""Amounts as whole integers a store can add exactly, without a float ever holding one.

An amount has at most MAX_PLACES decimal places and stays below MAX_AMOUNT, so in units
of 10^-MAX_PLACES it is below 10^19, past a 64-bit integer. It is kept in two integers,
the units above and below 10^9: their sums overflow only past about 900 million
opportunities in one stage and currency. A third keeps how many places were given, so a
sum reads as the same decimal the per-row sum in Python gives (300.30, not 300.3000).
Both stores keep these beside the amount's text and sum them in their query language.
"""

from __future__ import annotations

from decimal import Decimal

from .opportunities import MAX_PLACES

_SPLIT = 10**9


def parts(amount: Decimal) -> tuple[int, int, int]:
    """The amount as (high units, low units, places given)."""
    exponent = amount.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    units = int(amount.scaleb(MAX_PLACES))
    return units // _SPLIT, units % _SPLIT, places


def summed(high: int, low: int, places: int) -> Decimal:
    """The sum of amounts from their summed parts, with as many places as the most
    precise of them had."""
    total = Decimal(high * _SPLIT + low).scaleb(-MAX_PLACES)
    return total.quantize(Decimal(1).scaleb(-places))
