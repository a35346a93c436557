"""How the admin writes money, counts and ratios: one format on every page.

``static/cachet/formats.js`` writes the same figures in the browser (the try-it panel, the
editor), by the same rules; a browser test (tests/browser/test_pages.py) holds the two to
each other. Templates use them through the ``cachet_format`` filters (``{{ value|usd }}``,
``|count``, ``|percent``).

Figures are rounded from their exact value, half away from zero: the rule JavaScript's
``toFixed`` and ``Math.round`` of a magnitude follow too, so both sides agree on every
float, ties included (Python's own ``round`` and ``format`` would round ties to even).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal

NONE = "—"  # a figure that is not known, or not computed
MICRO = Decimal("0.000001")
# Enough digits for any float in dollars and micro-dollars (a double is below 1e309).
WIDE = Context(prec=400)


def _exact(value: Decimal | float | None) -> Decimal | None:
    """The exact value of a figure, or ``None`` when there is none to show (NaN, infinite)."""
    if value is None:
        return None
    exact = value if isinstance(value, Decimal) else Decimal(value)
    return exact if exact.is_finite() else None


def _whole(exact: Decimal) -> int:
    return int(exact.to_integral_value(rounding=ROUND_HALF_UP))


def usd(value: Decimal | float | None) -> str:
    """Dollars with up to six decimals (at least two): ``$0.005068``, ``-$1.50``, ``$1,204.10``."""
    exact = _exact(value)
    if exact is None:
        return NONE
    rounded = exact.copy_abs().quantize(MICRO, rounding=ROUND_HALF_UP, context=WIDE)
    whole, _, cents = f"{rounded:,.6f}".rstrip("0").partition(".")
    # The sign follows the rounded figure: a tiny loss shows as $0.00, not -$0.00.
    negative = exact < 0 and rounded != 0
    return f"{'-' if negative else ''}${whole}.{cents.ljust(2, '0')}"


def count(value: int | float | Decimal | None) -> str:
    """A whole number with thousands separators: ``3,797``."""
    exact = _exact(value)
    return NONE if exact is None else f"{_whole(exact):,}"


def percent(ratio: float | Decimal | None) -> str:
    """A ratio from 0 to 1 as a whole percentage: ``87%``."""
    exact = _exact(None if ratio is None else ratio * 100)
    return NONE if exact is None else f"{_whole(exact)}%"
