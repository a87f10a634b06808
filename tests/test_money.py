"""Exact money: the kernel's rounding against Python's decimal, and the text conversions."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from compplan.io.csvio import Column, decimal_texts, write_csv
from compplan.kernels.money import ROUNDING_MODES, MoneyParams, apply_rate
from compplan.money import format_units, parse_units

MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}


@settings(max_examples=400, deadline=None)
@given(
    basis=st.integers(-(10**15), 10**15),
    rate=st.integers(0, 10**6),
    minor=st.integers(0, 3),
    vdec=st.integers(0, 3),
    mode=st.sampled_from(sorted(MODES)),
)
@example(basis=125, rate=100_000, minor=2, vdec=2, mode="half_up")  # 1.25 * 10% = 0.125 -> 0.13
@example(basis=125, rate=100_000, minor=2, vdec=2, mode="half_even")  # -> 0.12
@example(basis=-125, rate=100_000, minor=2, vdec=2, mode="half_up")  # -> -0.13
@example(basis=135, rate=100_000, minor=2, vdec=2, mode="half_even")  # 0.135 -> 0.14: a tie on odd goes up
@example(basis=-135, rate=100_000, minor=2, vdec=2, mode="half_even")  # -> -0.14
@example(basis=2**33 + 1, rate=500_000, minor=0, vdec=0, mode="half_even")  # a tie past 2**31: -> 2**32 (even)
@example(basis=2**33 + 3, rate=500_000, minor=0, vdec=0, mode="half_even")  # -> 2**32 + 2
@example(basis=2**33 + 1, rate=500_000, minor=0, vdec=0, mode="half_up")  # -> 2**32 + 1
@example(basis=10**15, rate=10**6, minor=3, vdec=0, mode="half_up")  # the largest amount the bounds allow
def test_apply_rate_matches_decimal(basis: int, rate: int, minor: int, vdec: int, mode: str) -> None:
    money = MoneyParams(10**minor, 10 ** (6 + vdec), ROUNDING_MODES[mode])
    exact = Decimal(basis).scaleb(-vdec) * Decimal(rate).scaleb(-6)
    expected = int(exact.quantize(Decimal(1).scaleb(-minor), rounding=MODES[mode]).scaleb(minor))
    assert apply_rate(basis, rate, money) == expected


@settings(max_examples=50, deadline=None)
@given(units=st.lists(st.integers(-(10**17), 10**17), min_size=1, max_size=20), decimals=st.integers(0, 3))
def test_format_and_parse_round_trip(units: list[int], decimals: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    texts = [format_units(u, decimals) for u in units]
    assert [parse_units(t, decimals) for t in texts] == units
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    write_csv(path, ["a", "b"], [Column.decimal(np.array(units), decimals), Column.integer(np.array(units))])
    assert path.read_text().splitlines() == ["a,b", *(f"{t},{u}" for t, u in zip(texts, units, strict=True))]


def test_parse_units_rejects_excess_precision() -> None:
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        parse_units("1.005", 2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-(10**17), 10**17), st.integers(0, 6)), max_size=40))
def test_decimal_texts_match_format_units(values: list[tuple[int, int]]) -> None:
    """The vectorised formatter (statements) prints exactly what format_units prints."""
    units = np.array([v for v, _ in values], dtype=np.int64)
    places = np.array([p for _, p in values], dtype=np.int64)
    assert decimal_texts(units, places) == [format_units(v, p) for v, p in values]
