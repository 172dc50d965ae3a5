"""姓氏笔画 order (GB13000.1 字符集汉字字序(笔画序)规范) for result lists printed "排名不分先后".

Rule, per name:
1. the first character (the surname's first character) by its stroke count, then by its strokes in
   writing order compared by class 横1 < 竖2 < 撇3 < 点4 < 折5;
2. then the length of the name: a single-character given name before a two-character one
   (高富 before 高大富) -- so length is compared before the second character;
3. then the remaining characters one by one, each by count and then stroke classes as in 1.

Every character key ends with its code point, so characters with the same stroke sequence
(人 入 八 are all 34) still order deterministically, and the whole key ends with the name itself:
the key is injective and sorting is a total order, independent of input order.

Whitespace (including the full-width space used to pad two-character names on paper, 王　五)
is ignored, so 王　五 sorts exactly where 王五 does.

Characters outside the table (data/strokes.tsv: 6,945 characters, see data/STROKES_SOURCE.md):
no stroke-count source is bundled (Unihan kTotalStrokes is not shipped), so an unknown character
never has a known count; it sorts after every known character at the same position, and unknown
characters among themselves by code point.  This also covers non-Han characters such as the
middle dot in 买买提·艾力 and Latin letters.  stroke_sequence() returns None for them.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "strokes.tsv"
# Greater than any real stroke count (the most complex characters have ~64 strokes).
UNKNOWN_COUNT = 1000


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    with DATA_FILE.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip() or line.startswith("#"):
                continue
            char, sequence = line.rstrip("\n").split("\t")
            table[char] = sequence
    return table


def stroke_sequence(ch: str) -> str | None:
    """Stroke classes of one character in writing order, e.g. 王 -> "1121"; None if unknown."""
    if len(ch) != 1:
        raise ValueError(f"one character expected, got {ch!r}")
    return _table().get(ch)


def stroke_count(ch: str) -> int | None:
    sequence = stroke_sequence(ch)
    return len(sequence) if sequence is not None else None


def char_sort_key(ch: str) -> tuple[int, str, int]:
    """(stroke count, stroke classes, code point); unknown characters (UNKNOWN_COUNT, "", code point)."""
    sequence = _table().get(ch)
    if sequence is None:
        return (UNKNOWN_COUNT, "", ord(ch))
    return (len(sequence), sequence, ord(ch))


_EMPTY = (-1, "", -1)


def name_sort_key(name: str) -> tuple:
    """Sort key for a personal name in 姓氏笔画 order; see the module docstring for the rule."""
    chars = [ch for ch in name if not ch.isspace()]
    if not chars:
        return (_EMPTY, 0, (), name)
    return (char_sort_key(chars[0]), len(chars), tuple(char_sort_key(ch) for ch in chars[1:]), name)


def sort_names(names, key=None) -> list:
    """Sort items by name in 姓氏笔画 order; `key` extracts the name from an item (default: the item)."""
    if key is None:
        return sorted(names, key=name_sort_key)
    return sorted(names, key=lambda item: name_sort_key(key(item)))
