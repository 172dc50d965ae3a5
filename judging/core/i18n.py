"""Translations: the UI is written in Chinese (the source strings) and translated to English
in judging/translations/en. The .po file is the source; the .mo is compiled from it on start."""
from __future__ import annotations

from pathlib import Path

def N_(message: str) -> str:
    """Marks a string for extraction; templates translate it when they render it with _()."""
    return message


TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def ensure_compiled_catalogs() -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as handle:
            write_mo(handle, catalog)
        tmp.replace(mo_path)  # atomic: several workers may start at once
