#!/usr/bin/env python3
"""Generate judging/core/data/strokes.tsv (character TAB stroke classes 1-5) from the npm
package cnchar-order (MIT, https://github.com/theajack/cnchar).

Usage:
    cd /tmp && npm pack cnchar-order && tar xzf cnchar-order-*.tgz
    python tools/make_stroke_table.py /tmp/package [-o judging/core/data/strokes.tsv]

The path may be the unpacked package directory or its cnchar.order.min.js.  The package ships its
data as JSON.parse('...') literals inside the minified bundle: the first maps each character to
one shape letter per stroke, in writing order.  Letters are reduced to the five GB13000.1 classes
横1 竖2 撇3 点4 折5 (提 counts as 横, 竖钩 as 竖, 捺 and both dots as 点, every other turning stroke
as 折).  On top of the package the script applies the 皙 fix and the checked rare-character table
below; each of those is asserted, so a changed package fails loudly instead of writing bad data.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

CLASS_OF_LETTER = {
    "j": "1", "i": "1",            # 横, 提
    "f": "2", "g": "2",            # 竖, 竖钩
    "s": "3",                      # 撇
    "k": "4", "l": "4", "d": "4",  # 点, 捺, 点2
}
FOLD_LETTERS = set("abcehmnopqrtuvwxyz")  # every turning stroke -> 折 5
for _letter in FOLD_LETTERS:
    CLASS_OF_LETTER[_letter] = "5"

# Corrections of package entries: char -> (the package's value, the correct sequence, why).
FIXES = {
    # The package drops the 撇 that opens 白: 析 12343312 + 白 32511 = 13 strokes.
    "皙": ("12343312" "2511", "12343312" "32511", "package misses 白's first stroke 撇"),
}

# Rare name characters the package lacks.  Each entry is checked: the sequence must equal the
# concatenation of its parts, read from the package table ("江[:3]" = first three strokes of 江).
RARE = {
    "䶮": ("135341134", ["龙", "天"]),          # U+4DAE 龙 over 天 (刘䶮)
    "淏": ("44125111134", ["江[:3]", "昊"]),
    "沄": ("4411154", ["江[:3]", "云"]),
    "浛": ("4413445251", ["江[:3]", "含"]),
    "暻": ("2511251141251234", ["日", "景"]),
    "骉": ("551551551", ["马", "马", "马"]),
}

# Must come out of the finished table exactly like this (checked against 通用规范汉字表 笔顺).
VERIFIED = {"王": "1121", "李": "1234521", "张": "5153154", "刘": "413422", "陈": "5215234",
            "文": "4134", "䶮": "135341134"}
# Rare name characters that must be present (DOMAIN.md: never tofu for these either).
MUST_HAVE = "彧喆玥犇淼鑫䶮"

_PART = re.compile(r"^(.)(?:\[:(\d+)\])?$")


def read_package(path: Path) -> tuple[dict[str, str], str]:
    bundle = path / "cnchar.order.min.js" if path.is_dir() else path
    text = bundle.read_text(encoding="utf-8")
    literals = re.findall(r"JSON\.parse\('(.*?)'\)", text, re.S)
    if not literals:
        sys.exit(f"{bundle}: no JSON.parse('...') data found")
    letters = json.loads(literals[0])
    version = "unknown"
    meta = bundle.parent / "package.json"
    if meta.exists():
        info = json.loads(meta.read_text(encoding="utf-8"))
        if info.get("name") != "cnchar-order":
            sys.exit(f"{meta}: not the cnchar-order package")
        version = f"{info['name']} {info['version']} ({info.get('license')})"
    return letters, version


def to_classes(char: str, letters: str) -> str:
    try:
        return "".join(CLASS_OF_LETTER[letter] for letter in letters)
    except KeyError as exc:
        raise SystemExit(f"{char}: unknown stroke letter {exc} in {letters!r}") from None


def build(letters: dict[str, str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for char, shapes in letters.items():
        if len(char) != 1 or not shapes:
            raise SystemExit(f"unexpected entry {char!r}: {shapes!r}")
        table[char] = to_classes(char, shapes)
    for char, (was, fixed, why) in FIXES.items():
        if table.get(char) != was:
            raise SystemExit(f"{char}: package now has {table.get(char)!r}, expected {was!r} ({why});"
                             " re-check the fix")
        table[char] = fixed
    for char, (sequence, parts) in RARE.items():
        if char in table:
            raise SystemExit(f"{char} is now in the package ({table[char]}); drop it from RARE")
        built = ""
        for part in parts:
            match = _PART.match(part)
            base, cut = match.group(1), match.group(2)
            built += table[base][: int(cut)] if cut else table[base]
        if built != sequence:
            raise SystemExit(f"{char}: {sequence} does not match its parts {parts} = {built}")
        table[char] = sequence
    for char, sequence in VERIFIED.items():
        if table.get(char) != sequence:
            raise SystemExit(f"{char}: table has {table.get(char)!r}, verified {sequence}")
    missing = [c for c in MUST_HAVE if c not in table]
    if missing:
        raise SystemExit(f"rare name characters missing: {''.join(missing)}")
    return table


def main(argv: list[str] | None = None) -> int:
    default_out = Path(__file__).resolve().parent.parent / "judging/core/data/strokes.tsv"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path, help="unpacked cnchar-order directory or its .min.js")
    parser.add_argument("-o", "--output", type=Path, default=default_out)
    args = parser.parse_args(argv)
    letters, version = read_package(args.package)
    table = build(letters)
    lines = [
        "# Stroke classes (横1 竖2 撇3 点4 折5) in writing order. Generated by tools/make_stroke_table.py",
        f"# from {version} plus fixes and rare characters; see STROKES_SOURCE.md. Do not edit by hand.",
    ]
    lines += [f"{char}\t{table[char]}" for char in sorted(table)]
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{args.output}: {len(table)} characters ({len(letters)} from the package, "
          f"{len(FIXES)} fixed, {len(RARE)} added)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
