"""Chinese numerals for edition ordinals (第十三届) and certificate dates (二〇二六年十一月),
and Decimal rounding (ROUND_HALF_UP; never float round())."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

_DIGITS = "零一二三四五六七八九"
_DATE_DIGITS = "〇一二三四五六七八九"
_UNITS = ["", "十", "百", "千"]


def chinese_number(n: int) -> str:
    """Everyday Chinese numeral for 0 <= n < 100000000: 13 -> 十三, 105 -> 一百零五, 2000 -> 二千."""
    if n < 0:
        raise ValueError("negative numbers have no ordinal here")
    if n == 0:
        return _DIGITS[0]
    if n >= 10000:
        high, low = divmod(n, 10000)
        head = chinese_number(high) + "万"
        if low == 0:
            return head
        return head + ("零" if low < 1000 else "") + _below_10000(low)
    text = _below_10000(n)
    # 10..19 on their own read 十, 十一 ... (not 一十一); inside a larger number the 一 stays.
    return text[1:] if 10 <= n < 20 else text


def _below_10000(n: int) -> str:
    digits = [int(d) for d in str(n)]
    out: list[str] = []
    pending_zero = False
    for i, d in enumerate(digits):
        unit = _UNITS[len(digits) - 1 - i]
        if d == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[d] + unit)
    return "".join(out)


def edition_ordinal(number: int) -> str:
    """13 -> 第十三届"""
    return f"第{chinese_number(number)}届"


def chinese_date(day: date, with_day: bool = False) -> str:
    """2026-11-25 -> 二〇二六年十一月 (with_day: 二〇二六年十一月二十五日)."""
    year = "".join(_DATE_DIGITS[int(d)] for d in str(day.year))
    text = f"{year}年{chinese_number(day.month)}月"
    if with_day:
        text += f"{chinese_number(day.day)}日"
    return text


def round_half_up(value: Decimal | int | str, places: int = 2) -> Decimal:
    """Decimal rounding as a contest office does it by hand: 85.125 -> 85.13."""
    if isinstance(value, float):
        raise TypeError("pass a Decimal or a string, never a float")
    quantum = Decimal(1).scaleb(-places)
    return Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)
