"""Exact decimal text <-> scaled integers, and the currency table.

Pure Python, no numpy: used by the plan language (which must load without numba) and by the readers.
All conversions are exact; text with more decimals than the target scale is rejected, never rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

#: ISO 4217 minor units for the currencies compplan knows; override with ``plan.minor_units``.
CURRENCY_MINOR_UNITS: dict[str, int] = {
    # zero decimals
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    # three decimals
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    # two decimals (the common case)
    "AED": 2,
    "ARS": 2,
    "AUD": 2,
    "BGN": 2,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "COP": 2,
    "CZK": 2,
    "DKK": 2,
    "EGP": 2,
    "EUR": 2,
    "GBP": 2,
    "GHS": 2,
    "HKD": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "KES": 2,
    "KZT": 2,
    "MAD": 2,
    "MXN": 2,
    "MYR": 2,
    "NGN": 2,
    "NOK": 2,
    "NZD": 2,
    "PEN": 2,
    "PHP": 2,
    "PKR": 2,
    "PLN": 2,
    "RON": 2,
    "RSD": 2,
    "RUB": 2,
    "SAR": 2,
    "SEK": 2,
    "SGD": 2,
    "THB": 2,
    "TRY": 2,
    "TWD": 2,
    "UAH": 2,
    "USD": 2,
    "ZAR": 2,
}

#: Rates are stored as integer parts per million.
RATE_SCALE = 1_000_000
RATE_DECIMALS = 6

_DECIMAL_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse_decimal(text: str | int | Decimal) -> Decimal:
    """Parse plain decimal text (no exponent, no thousands separators) into a :class:`Decimal`.

    Raises
    ------
    ValueError
        If the text is not a plain decimal number.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a number, got {text!r}")
    if isinstance(text, int):
        return Decimal(text)
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise ValueError(f"expected a finite number, got {text}")
        return text
    s = str(text).strip()
    if not _DECIMAL_TEXT.match(s):
        raise ValueError(f"not a decimal number: {text!r}")
    try:
        return Decimal(s)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid text
        raise ValueError(f"not a decimal number: {text!r}") from exc


def to_units(value: Decimal, decimals: int, what: str = "value") -> int:
    """Return ``value * 10**decimals`` as an int, exactly.

    Raises
    ------
    ValueError
        If ``value`` has more than ``decimals`` decimal places.
    """
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} {value} has more than {decimals} decimal places")
    return int(scaled)


def parse_units(text: str, decimals: int, what: str = "value") -> int:
    """Parse decimal text straight into integer units of ``10**-decimals``."""
    return to_units(parse_decimal(text), decimals, what)


def format_units(units: int, decimals: int) -> str:
    """Format integer units of ``10**-decimals`` as decimal text with exactly ``decimals`` places.

    Examples
    --------
    >>> format_units(-5, 2)
    '-0.05'
    >>> format_units(1200, 0)
    '1200'
    """
    units = int(units)
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    q, r = divmod(abs(units), 10**decimals)
    return f"{sign}{q}.{r:0{decimals}d}"


def parse_rate(value: object) -> int:
    """Parse a rate (``"5%"``, ``"0.05"``, ``0.05``, ``Decimal``) into parts per million.

    Raises
    ------
    ValueError
        Negative, above 100%, more than 6 decimal places as a fraction, or not a number.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a rate such as 5% or 0.05, got {value!r}")
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip()
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
    try:
        number = parse_decimal(text)
    except ValueError:
        raise ValueError(f"expected a rate such as 5% or 0.05, got {value!r}") from None
    fraction = number / 100 if percent else number
    if fraction < 0:
        raise ValueError(f"rate {value} is negative")
    if fraction > 1:
        raise ValueError(f"rate {value} is above 100%")
    try:
        return to_units(fraction, RATE_DECIMALS, "rate")
    except ValueError:
        raise ValueError(f"rate {value} has more than {RATE_DECIMALS} decimal places as a fraction") from None


def format_rate(ppm: int) -> str:
    """Format parts per million as a percentage text, e.g. ``50000 -> '5%'``."""
    d = (Decimal(int(ppm)) / 10_000).normalize()
    return f"{d:f}%"
