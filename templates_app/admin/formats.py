"""How the admin writes money, counts and ratios: one format on every page.

``static/cachet/formats.js`` writes the same figures in the browser (the try-it panel, the
editor), by the same rules; a browser test holds the two to each other. Templates use them
through the ``cachet_format`` filters (``{{ value|usd }}``, ``|count``, ``|percent``).
"""

from __future__ import annotations

from decimal import Decimal

NONE = "—"  # a figure that is not known, or not computed


def usd(value: Decimal | float | None) -> str:
    """Dollars with up to six decimals (at least two): ``$0.005068``, ``-$1.50``, ``$1,204.10``."""
    if value is None:
        return NONE
    text = f"{abs(value):,.6f}".rstrip("0")
    whole, _, cents = text.partition(".")
    # The sign follows the rounded figure: a tiny loss shows as $0.00, not -$0.00.
    negative = value < 0 and text.strip("0.,") != ""
    return f"{'-' if negative else ''}${whole}.{cents.ljust(2, '0')}"


def count(value: int | float | None) -> str:
    """A whole number with thousands separators: ``3,797``."""
    if value is None:
        return NONE
    return f"{round(value):,}"


def percent(ratio: float | None) -> str:
    """A ratio from 0 to 1 as a whole percentage: ``87%``."""
    if ratio is None:
        return NONE
    return f"{ratio:.0%}"
