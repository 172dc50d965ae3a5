"""姓氏笔画 order: stroke table data and the name sort key (judging.core.strokes)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judging.core import strokes
from judging.core.strokes import char_sort_key, name_sort_key, sort_names, stroke_count, stroke_sequence

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("char, sequence", [
    ("王", "1121"), ("李", "1234521"), ("张", "5153154"), ("刘", "413422"), ("陈", "5215234"),
    ("文", "4134"), ("一", "1"), ("高", "4125125251"),
])
def test_verified_sequences(char, sequence):
    assert stroke_sequence(char) == sequence


def test_rare_and_fixed_characters():
    assert stroke_sequence("䶮") == "135341134"
    assert stroke_sequence("皙") == "1234331232511"  # package misses 白's 撇; 13 strokes
    for char in "彧喆玥犇淼鑫":
        assert stroke_sequence(char), char
    assert stroke_count("鑫") == 24
    assert stroke_sequence("淼") == "253425342534"


def test_unknown_and_bad_input():
    assert stroke_sequence("A") is None
    assert stroke_sequence("·") is None
    with pytest.raises(ValueError):
        stroke_sequence("王五")


def test_table_is_well_formed():
    table = strokes._table()
    assert len(table) == 6945
    assert all(len(c) == 1 and s and set(s) <= set("12345") for c, s in table.items())


@pytest.mark.parametrize("first, second", [
    ("王", "李"),      # 4 strokes before 7
    ("王", "文"),      # both 4: 横 1121 before 点 4134
    ("李", "张"),      # both 7: 李 starts 横, 张 starts 折
    ("高富", "高大富"),  # single-character given name first, whatever the next character
    ("高大富", "高富贵"),
    ("王五", "王大明"),
    ("丁一", "王五"),
    ("刘䶮", "刘A"),    # known rare character before an unknown one
    ("王五", "王　五二"),  # padding whitespace ignored: length 2 vs 3
    ("人", "入"),       # same sequence 34: code point decides, deterministically
    ("王", "A"),        # unknown characters after all known ones
    ("A", "B"),         # ... among themselves by code point
    ("", "王"),
])
def test_ordering_examples(first, second):
    assert name_sort_key(first) < name_sort_key(second)


def test_sort_a_result_list():
    names = ["陈一", "李四", "张三", "王五", "文天", "高大富", "高富", "刘䶮", "赵六", "王　二"]
    assert sort_names(names) == ["王　二", "王五", "文天", "刘䶮", "李四", "张三", "陈一", "赵六",
                                 "高富", "高大富"]
    rows = [{"name": n} for n in reversed(names)]
    assert [r["name"] for r in sort_names(rows, key=lambda r: r["name"])][:2] == ["王　二", "王五"]


def test_character_key_orders_by_count_then_classes():
    assert char_sort_key("王")[:2] == (4, "1121")
    assert char_sort_key("十") < char_sort_key("人") < char_sort_key("九")  # 12 < 34 < 35


def test_generator_reproduces_the_table(tmp_path):
    """The checked-in table is exactly what the generator writes (if the package is at hand)."""
    package = Path(os.environ.get("CNCHAR_ORDER_PACKAGE", "/tmp/cnc/package"))
    if not (package / "cnchar.order.min.js").exists():
        pytest.skip(f"cnchar-order not unpacked at {package} (set CNCHAR_ORDER_PACKAGE)")
    spec = importlib.util.spec_from_file_location("make_stroke_table", ROOT / "tools/make_stroke_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "strokes.tsv"
    assert module.main([str(package), "-o", str(out)]) == 0
    assert out.read_bytes() == strokes.DATA_FILE.read_bytes()


_table_chars = sorted(strokes._table())
name_char = st.one_of(
    st.sampled_from(_table_chars),
    st.sampled_from(list("王李张刘陈高大富人入八")),
    st.characters(codec="utf-8", exclude_categories=("Cs",)),  # anything, incl. unknown and spaces
)
names = st.text(name_char, max_size=5)


@settings(max_examples=200)
@given(st.lists(names, max_size=30), st.randoms())
def test_sort_is_independent_of_input_order(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert sorted(shuffled, key=name_sort_key) == sorted(items, key=name_sort_key)


@settings(max_examples=300)
@given(names, names)
def test_key_is_total_and_injective(a, b):
    ka, kb = name_sort_key(a), name_sort_key(b)
    assert ka is not None and kb is not None
    assert (ka == kb) == (a == b)
    assert (ka < kb) + (ka > kb) + (ka == kb) == 1


@given(names, names, names)
def test_order_is_transitive(a, b, c):
    x, y, z = sorted([a, b, c], key=name_sort_key)
    assert name_sort_key(x) <= name_sort_key(y) <= name_sort_key(z)
    assert name_sort_key(x) <= name_sort_key(z)


@given(names)
def test_key_never_none(name):
    key = name_sort_key(name)
    assert key is not None
    assert all(part is not None for part in key)
