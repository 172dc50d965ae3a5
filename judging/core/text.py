"""Normalising what people type or paste from spreadsheets."""
from __future__ import annotations

import re
import unicodedata

LIST_SEPARATORS = re.compile(r"[、,，;；]+")


def clean(value) -> str:
    """NFKC (full-width digits and letters to ASCII), collapse inner runs of spaces, strip."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    text = re.sub(r"[\s\u3000]+", " ", text)
    return text.strip()


def split_list(value) -> list[str]:
    """'张三、李四，王五' -> ['张三', '李四', '王五'] (also , ; ；)."""
    return [part for part in (clean(p) for p in LIST_SEPARATORS.split(clean(value))) if part]


def join_list(items) -> str:
    return "、".join(items)
