"""Normalising what people type or paste from spreadsheets."""
from __future__ import annotations

import re
import unicodedata

LIST_SEPARATORS = re.compile(r"[、,，;；]+")


# Full-width digits and Latin letters (as typed with a Chinese input method) become ASCII; Chinese
# punctuation such as （）：，！ stays, since it belongs in titles and names as written.
_FULL_WIDTH_ALNUM = {code: code - 0xFEE0 for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B),
                                                      *range(0xFF41, 0xFF5B))}


def clean(value) -> str:
    """Full-width digits and letters to ASCII, inner runs of spaces collapsed, ends stripped."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value)).translate(_FULL_WIDTH_ALNUM)
    text = re.sub(r"[\s\u3000]+", " ", text)
    return text.strip()


def clean_block(value) -> str:
    """Multi-line text (a description): each line cleaned, line breaks kept, no runs of empty lines."""
    lines = [clean(line) for line in str(value or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines).strip())


def split_list(value) -> list[str]:
    """'张三、李四，王五' -> ['张三', '李四', '王五'] (also , ; ；)."""
    return [part for part in (clean(p) for p in LIST_SEPARATORS.split(clean(value))) if part]


def join_list(items) -> str:
    return "、".join(items)
