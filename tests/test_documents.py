"""Prints of registration: label sheets (normal and blind), the catalogue as PDF and Excel, the
embedded Chinese font and its coverage check, and who may print what.

The PDFs are read back with pypdf: the exact Chinese texts, codes and names must come out, the
font must be embedded as a TrueType subset, and a character the font lacks must be named instead
of printed as a box.

The static font instances take ~13 s to make once; they are cached in FONT_CACHE_DIR (or
~/.cache/judging/fonts), so only the first run on a fresh machine pays for them.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import event

from judging.core import fonts
from judging.registration import documents
from judging.registration.documents import PrintEntry
from judging.registration.rules import StudentInput
from tests.conftest import login

RARE = "彧喆玥犇淼䶮"
MARKUP_TITLE = '<script>alert("x")</script> & <b>粗体</b>'
LONG_TITLE = ("基于物联网与人工智能技术的校园垃圾分类智能回收装置的设计与制作研究" * 5)[:120]
EDITION_TITLE = "第十三届测试县青少年科技创新大赛"


# --- fixtures -----------------------------------------------------------------------------------

def _cache_dir() -> Path:
    configured = os.environ.get("FONT_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "judging" / "fonts"


@pytest.fixture(scope="session")
def cjk_fonts() -> fonts.FontSet:
    """Noto Sans SC Regular/Bold, instanced once into a cache shared across test runs."""
    return fonts.ensure_fonts(font_path="", cache_dir=_cache_dir())


@pytest.fixture(autouse=True)
def _packaged_font(cjk_fonts):
    """Each test starts with the packaged font registered (a test may switch to another)."""
    fonts.ensure_fonts(font_path="")
    yield


def _student(name, klass):
    return StudentInput(name, "男", "五年级", klass)


@pytest.fixture
def entries(db, make_entry, make_school, edition):
    """Two schools; rare name characters, markup and a 120-character title; one disqualified."""
    xf, kh = edition.categories
    primary, junior = edition.divisions
    a = make_school("实验小学")
    b = make_school("第二实验小学")
    made = {
        "plain": make_entry(a, title="会“思考”的智能垃圾桶", students=[_student("王彧", "1班"), _student("李喆", "1班")],
                            instructors=["赵玥"]),
        "markup": make_entry(a, title=MARKUP_TITLE, students=[_student("刘犇", "2班")], instructors=["陈淼"]),
        "long": make_entry(b, title=LONG_TITLE, category=kh, subform="卡通画", students=[_student("李䶮", "3班")],
                           instructors=["吴老师"]),
        "formula": make_entry(b, title="=1+1", division=junior, students=[_student("孙一", "4班")]),
        "gone": make_entry(a, title="已取消资格的作品", students=[_student("钱二", "5班")]),
    }
    made["gone"].status = "disqualified"
    db.session.commit()
    return {"a": a, "b": b, **made}


def _pdf_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def _squash(text: str) -> str:
    """Text without whitespace: wrapped lines join up again."""
    return "".join(text.split())


def _label_pdf(rows, blind=False, **kwargs) -> bytes:
    out = io.BytesIO()
    documents.label_sheet_pdf(rows, blind, out, **kwargs)
    return out.getvalue()


def _catalogue_pdf(rows, edition=EDITION_TITLE, **kwargs) -> bytes:
    out = io.BytesIO()
    documents.catalogue_pdf(rows, edition, out, **kwargs)
    return out.getvalue()


def _fonts_of(data: bytes) -> list[dict]:
    found = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            found[font["/BaseFont"]] = font
    return list(found.values())


def _by_code(rows):
    return {r.code: r for r in rows}


# --- loading ----------------------------------------------------------------------------------

def test_load_entries_in_catalogue_order_without_the_disqualified(db, edition, entries):
    statements = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    edition_id = edition.id
    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        rows = documents.load_entries(edition_id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [r.code for r in rows] == ["XFX-001", "XFX-002", "XFC-001", "KHX-001"]
    assert len(statements) <= 3  # entries with category/division/school joined, then students, instructors
    plain = rows[0]
    assert (plain.title, plain.category, plain.division, plain.school) == ("会“思考”的智能垃圾桶", "小发明", "小学组", "实验小学")
    assert plain.students == ("王彧", "李喆") and plain.instructors == ("赵玥",)
    assert _by_code(rows)["KHX-001"].category_label == "科幻画（卡通画）"
    assert [r.code for r in documents.load_entries(edition.id, school_id=entries["b"].id)] == ["XFC-001", "KHX-001"]
    assert [r.code for r in documents.load_entries(edition.id, category_id=edition.categories[1].id)] == ["KHX-001"]


# --- labels -----------------------------------------------------------------------------------

def test_label_sheet_prints_every_field_with_rare_characters(edition, entries):
    rows = documents.load_entries(edition.id)
    data = _label_pdf(rows, title=EDITION_TITLE)
    pages = _pdf_text(data)
    assert len(pages) == 1  # 4 labels on a sheet of 10
    text = pages[0]
    flat = _squash(text)
    for line in ("作品编号", "XFX-001", "类别：小发明", "组别：小学组", "作品名称：会“思考”的智能垃圾桶",
                 "学校：实验小学", "学生：王彧、李喆", "指导教师：赵玥", "学生：刘犇", "指导教师：陈淼",
                 "类别：科幻画（卡通画）", "学生：李䶮", "学校：第二实验小学", "组别：初中组", "作品名称：=1+1"):
        assert _squash(line) in flat, line
    for char in RARE:
        assert char in text
    # Markup typed by a teacher prints literally; the long title is whole (wrapped, not cut).
    assert _squash(MARKUP_TITLE) in flat
    assert _squash(LONG_TITLE) in flat
    assert "已取消资格的作品" not in flat
    assert f"{EDITION_TITLE}" in text and "第 1 页 共 1 页" in text


def test_blind_labels_show_no_student_school_or_instructor(edition, entries):
    rows = documents.load_entries(edition.id)
    flat = _squash("".join(_pdf_text(_label_pdf(rows, blind=True, title=EDITION_TITLE))))
    for code in ("XFX-001", "XFX-002", "XFC-001", "KHX-001"):
        assert code in flat
    assert "作品名称：会“思考”的智能垃圾桶" in flat and _squash(LONG_TITLE) in flat
    assert "类别：科幻画（卡通画）" in flat and "组别：初中组" in flat
    assert "（盲评）" in flat
    for secret in ("实验小学", "王彧", "李喆", "赵玥", "刘犇", "陈淼", "李䶮", "吴老师", "孙一", "学校", "学生",
                   "指导教师"):
        assert secret not in flat, secret


def test_labels_fill_pages_of_ten(cjk_fonts):
    rows = [PrintEntry(f"XFX-{i:03d}", f"作品{i}", "小发明", "小学组", "实验小学", (f"学生{i}",)) for i in range(1, 24)]
    pages = _pdf_text(_label_pdf(rows))
    assert len(pages) == 3
    assert "XFX-010" in pages[0] and "XFX-011" in pages[1] and "XFX-023" in pages[2]
    assert "第 3 页 共 3 页" in pages[2]


def test_longest_texts_the_forms_allow_still_print_whole(cjk_fonts):
    """200-character title, 3 students and 2 instructors with 40-character names, a long school."""
    title = ("超长作品名称测试" * 30)[:200]
    names = tuple(f"{n}" * 40 for n in "甲乙丙")
    row = PrintEntry("XFX-001", title, "教师科技活动方案", "小学高年级组", "某某县某某镇中心学校" * 6, names,
                     ("丁" * 40, "戊" * 40), subform="很长的作品形式名称")
    for blind in (False, True):
        flat = _squash("".join(_pdf_text(_label_pdf([row], blind=blind))))
        assert title in flat
        if not blind:
            assert "、".join(names) in flat and "某某县某某镇中心学校" * 6 in flat


def test_label_body_always_fits_its_room(cjk_fonts):
    """Every body paragraph fits the room the label leaves for it: shrunk for a long title, scaled
    down as a whole for texts at the forms' limits; nothing runs over the cut line."""
    from reportlab.lib.units import mm

    width = (210 * mm - 2 * documents.PAGE_MARGIN_X) / 2 - 2 * documents.LABEL_PADDING
    height = 62  # points: about what a label leaves for the body
    usual = PrintEntry("XFX-001", "自动浇花器", "小发明", "小学组", "实验小学", ("王彧",), ("李喆",))
    long = PrintEntry("XFX-001", LONG_TITLE, "小发明", "小学组", "某某县某某镇中心小学附属某某村完全小学",
                      ("欧阳大大", "司马小小", "诸葛明明"), ("上官老师", "东方老师"))
    extreme = PrintEntry("XFX-001", "超" * 200, "小发明", "小学组", "校" * 120, ("甲" * 40, "乙" * 40, "丙" * 40),
                         ("丁" * 40, "戊" * 40))
    for entry, blind, expected_scale in ((usual, False, 1.0), (long, False, 1.0), (long, True, 1.0),
                                         (extreme, False, None)):
        sized, scale = documents._fit_body(entry, blind, cjk_fonts, width, height, 0.8)
        total = sum(h for _, h in sized) + 0.8 * (len(sized) - 1)
        assert total * scale <= height
        if expected_scale is not None:
            assert scale == expected_scale
        # Wrapped at the width the body is drawn with: no line is wider than the label.
        assert all(max(p.getActualLineWidths0()) <= width / scale + 0.01 for p, _ in sized)
    assert documents._fit_body(usual, False, cjk_fonts, width, height, 0.8)[0][0][0].style.fontSize == 11


# --- catalogue ----------------------------------------------------------------------------------

def test_catalogue_pdf_one_section_per_category(edition, entries):
    rows = documents.load_entries(edition.id)
    pages = _pdf_text(_catalogue_pdf(rows, edition))
    assert len(pages) == 2  # 小发明, then 科幻画 on a new page
    first, second = (_squash(p) for p in pages)
    assert "第十三届测试县青少年科技创新大赛小发明作品登记表" in first
    assert "第十三届测试县青少年科技创新大赛科幻画作品登记表" in second
    for page in (first, second):
        assert "序号作品编号作品名称组别学校学生指导教师" in page
    assert "第1页共2页" in first and "第2页共2页" in second
    for part in ("XFX-001", "会“思考”的智能垃圾桶", "王彧、李喆", "赵玥", "实验小学", _squash(MARKUP_TITLE),
                 "刘犇", "陈淼", "XFC-001", "=1+1", "初中组", "孙一", "第二实验小学"):
        assert part in first, part
    assert "KHX-001" in second and _squash(LONG_TITLE) in second and "李䶮" in second and "吴老师" in second
    assert "KHX-001" not in first and "已取消资格的作品" not in first + second


def test_catalogue_header_repeats_on_every_page(cjk_fonts):
    rows = [PrintEntry(f"XFX-{i:03d}", f"作品名称{i}", "小发明", "小学组", "实验小学", (f"学生{i}",), ("老师",))
            for i in range(1, 61)]
    pages = [_squash(p) for p in _pdf_text(_catalogue_pdf(rows))]
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert "序号作品编号作品名称组别学校学生指导教师" in page
        assert f"第{number}页共{len(pages)}页" in page
    assert "小发明作品登记表（续）" in pages[1]
    assert all(f"XFX-{i:03d}" in "".join(pages) for i in range(1, 61))


def test_empty_documents_still_print_a_page(cjk_fonts):
    assert "暂无作品" in _pdf_text(_catalogue_pdf([]))[0]
    assert "没有可打印标签的作品" in _pdf_text(_label_pdf([]))[0]
    out = io.BytesIO()
    documents.catalogue_xlsx([], EDITION_TITLE, out)
    wb = load_workbook(io.BytesIO(out.getvalue()))
    assert [c.value for c in wb.worksheets[0][2]] == list(documents.CATALOGUE_COLUMNS)


def test_font_is_embedded_as_a_truetype_subset(edition, entries):
    rows = documents.load_entries(edition.id)
    for data in (_label_pdf(rows), _label_pdf(rows, blind=True), _catalogue_pdf(rows, edition)):
        used = _fonts_of(data)
        assert used
        for font in used:
            assert font["/Subtype"] == "/TrueType"
            assert re.fullmatch(r"/[A-Z]{6}\+NotoSansSC-(Regular|Bold)", font["/BaseFont"]), font["/BaseFont"]
            assert "/FontFile2" in font["/FontDescriptor"].get_object()
        # A subset, not the 10 MB font.
        assert len(data) < 400_000


def test_catalogue_xlsx_sheets_and_escaped_cells(edition, entries):
    rows = documents.load_entries(edition.id)
    out = io.BytesIO()
    documents.catalogue_xlsx(rows, edition, out)
    wb = load_workbook(io.BytesIO(out.getvalue()))
    assert wb.sheetnames == ["小发明", "科幻画"]
    ws = wb["小发明"]
    assert ws["A1"].value == "第十三届测试县青少年科技创新大赛小发明作品登记表"
    assert [c.value for c in ws[2]] == ["序号", "作品编号", "作品名称", "组别", "学校", "学生", "指导教师"]
    assert all(c.font.b for c in ws[2])
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    assert values[0] == [1, "XFX-001", "会“思考”的智能垃圾桶", "小学组", "实验小学", "王彧、李喆", "赵玥"]
    assert values[1][2] == MARKUP_TITLE and values[1][5:] == ["刘犇", "陈淼"]
    formula = values[2]
    assert formula[1] == "XFC-001" and formula[2] == "'=1+1"  # text, never a formula
    assert ws.cell(row=5, column=3).data_type == "s"
    assert ws.column_dimensions["C"].width == documents.CATALOGUE_XLSX_WIDTHS[2]
    kh = [[c.value for c in row] for row in wb["科幻画"].iter_rows(min_row=3)]
    assert kh == [[1, "KHX-001", LONG_TITLE + "（卡通画）", "小学组", "第二实验小学", "李䶮", "吴老师"]]


def test_xlsx_escapes_every_formula_trigger(cjk_fonts):
    row = PrintEntry("+1", "=HYPERLINK(\"http://x\")", "小发明", "-组", "@学校", ("=A1",), ("+老师",))
    out = io.BytesIO()
    documents.catalogue_xlsx([row], "=届次", out)
    ws = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    assert ws["A1"].value == "'=届次小发明作品登记表"
    assert [c.value for c in ws[3]] == [1, "'+1", "'=HYPERLINK(\"http://x\")", "'-组", "'@学校", "'=A1", "'+老师"]
    assert all(c.data_type == "s" for c in ws[3][1:])


def test_sheet_names_are_valid_and_unique():
    taken: set[str] = set()
    assert documents._sheet_title("小发明/小制作", taken) == "小发明_小制作"
    assert documents._sheet_title("小发明/小制作", taken) == "小发明_小制作(2)"
    assert len(documents._sheet_title("长" * 40, taken)) == 31


# --- font coverage ------------------------------------------------------------------------------

def test_missing_glyphs_uses_the_font_cmap(cjk_fonts):
    assert fonts.missing_glyphs(RARE + "鑫 ABC abc 123，。、“”（）\n") == []
    assert fonts.missing_glyphs("王\U00020000王\U00020000") == ["\U00020000"]  # CJK Ext-B: not in Noto Sans SC


@pytest.fixture(scope="session")
def font_without_yan(cjk_fonts, tmp_path_factory) -> Path:
    """A TrueType subset of the packaged font with everything the tests print except 䶮."""
    from fontTools import subset

    text = "".join((*documents.LABEL_CAPTIONS, *documents.CATALOGUE_FIXED, EDITION_TITLE, RARE, MARKUP_TITLE,
                    LONG_TITLE, "会“思考”的智能垃圾桶=1+1已取消资格的作品实验小学第二实验小学小发明科幻画卡通画"
                    "小学组初中组王刘李孙一钱二赵吴老师陈（）：、 测试县"))
    unicodes = {ord(c) for c in text} | set(range(0x20, 0x7F))
    unicodes.discard(ord("䶮"))
    options = subset.Options()
    options.layout_features = []
    font = subset.load_font(str(cjk_fonts.regular_file), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    path = tmp_path_factory.mktemp("fonts") / "NoYan.ttf"
    font.save(str(path))
    return path


def test_a_character_the_font_lacks_is_named_with_its_entry(edition, entries, font_without_yan):
    rows = documents.load_entries(edition.id)
    no_yan = fonts.ensure_fonts(font_path=str(font_without_yan))
    assert fonts.missing_glyphs("李䶮", no_yan) == ["䶮"]
    with pytest.raises(fonts.FontCoverageError) as caught:
        _label_pdf(rows, fonts=no_yan)
    assert caught.value.missing == [("作品 KHX-001", ["䶮"])]
    assert "作品 KHX-001：「䶮」(U+4DAE)" in caught.value.message
    # The blind label prints no student name, so the missing character does not matter there.
    assert _label_pdf(rows, blind=True, fonts=no_yan).startswith(b"%PDF")
    with pytest.raises(fonts.FontCoverageError, match="KHX-001"):
        _catalogue_pdf(rows, fonts=no_yan)


def test_latin_only_system_font_names_the_chinese_characters(edition, entries):
    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not dejavu.is_file():
        pytest.skip("fonts-dejavu-core not installed (the subset-font test covers the same path)")
    rows = documents.load_entries(edition.id)
    latin = fonts.ensure_fonts(font_path=str(dejavu))
    with pytest.raises(fonts.FontCoverageError) as caught:
        _label_pdf(rows, fonts=latin)
    where = dict(caught.value.missing)
    assert "页面固定文字" in where and "作" in where["页面固定文字"]
    assert "䶮" in where["作品 KHX-001"] and "彧" in where["作品 XFX-001"]


def test_cff_fonts_are_refused_with_a_clear_message(tmp_path):
    otf = tmp_path / "SourceHanSans.otf"
    otf.write_bytes(b"OTTO" + bytes(60))
    with pytest.raises(fonts.FontError, match="OpenType/CFF"):
        fonts.ensure_fonts(font_path=str(otf))
    # A collection whose first face has CFF outlines (Noto Sans CJK .ttc) is refused too.
    ttc = tmp_path / "NotoSansCJK.ttc"
    ttc.write_bytes(b"ttcf" + b"\x00\x01\x00\x00" + (1).to_bytes(4, "big") + (16).to_bytes(4, "big") + b"OTTO"
                    + bytes(60))
    with pytest.raises(fonts.FontError, match="reportlab 只能嵌入 TrueType"):
        fonts.ensure_fonts(font_path=str(ttc))
    with pytest.raises(fonts.FontError, match="找不到字体文件"):
        fonts.ensure_fonts(font_path=str(tmp_path / "none.ttf"))


def test_instances_are_cached_static_regular_and_bold(cjk_fonts):
    from fontTools.ttLib import TTFont

    assert cjk_fonts.source == "package"
    for path, weight, style in ((cjk_fonts.regular_file, 400, "Regular"), (cjk_fonts.bold_file, 700, "Bold")):
        font = TTFont(str(path), lazy=True)
        assert "fvar" not in font and "glyf" in font
        assert font["OS/2"].usWeightClass == weight
        assert font["name"].getDebugName(6) == f"NotoSansSC-{style}"
    # Asking again costs no instancing: the same files come back.
    again = fonts.font_files(cache_dir=cjk_fonts.regular_file.parent)
    assert again[:2] == (cjk_fonts.regular_file, cjk_fonts.bold_file)


# --- views ------------------------------------------------------------------------------------

def test_organizer_prints_everything_with_a_chinese_filename(org_client, edition, entries):
    response = org_client.get("/print/labels.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''%E4%BD%9C%E5%93%81%E6%A0%87%E7%AD%BE.pdf" in disposition  # 作品标签.pdf
    assert 'filename="labels.pdf"' in disposition
    flat = _squash("".join(_pdf_text(response.data)))
    assert all(code in flat for code in ("XFX-001", "XFX-002", "XFC-001", "KHX-001"))
    assert "实验小学" in flat and "王彧" in flat

    blind = org_client.get("/print/labels.pdf?blind=1")
    assert "labels-blind.pdf" in blind.headers["Content-Disposition"]
    assert "王彧" not in _squash("".join(_pdf_text(blind.data)))

    catalogue = org_client.get(f"/print/catalogue.pdf?edition={edition.id}&category={edition.categories[1].id}")
    assert catalogue.status_code == 200
    assert "KHX-001" in _squash(_pdf_text(catalogue.data)[0]) and len(_pdf_text(catalogue.data)) == 1
    assert "filename*=UTF-8''" in catalogue.headers["Content-Disposition"]

    sheet = org_client.get(f"/print/catalogue.xlsx?school={entries['b'].id}")
    assert sheet.status_code == 200
    wb = load_workbook(io.BytesIO(sheet.data))
    codes = [r[1] for ws in wb.worksheets for r in ws.iter_rows(min_row=3, values_only=True)]
    assert codes == ["XFC-001", "KHX-001"]
    assert "no-store" in sheet.headers["Cache-Control"]


def test_coordinator_prints_only_his_own_school(client, make_user, edition, entries):
    coordinator = make_user("coordinator", school=entries["a"])
    assert login(client, coordinator).status_code == 302
    for url in ("/print/labels.pdf", "/print/catalogue.pdf"):
        response = client.get(url)
        assert response.status_code == 200, url
        flat = _squash("".join(_pdf_text(response.data)))
        assert "XFX-001" in flat and "XFX-002" in flat
        assert "XFC-001" not in flat and "KHX-001" not in flat and "第二实验小学" not in flat
    assert client.get(f"/print/labels.pdf?school={entries['a'].id}").status_code == 200
    for url in ("/print/labels.pdf", "/print/catalogue.pdf", "/print/catalogue.xlsx"):
        assert client.get(f"{url}?school={entries['b'].id}").status_code == 404, url
    wb = load_workbook(io.BytesIO(client.get("/print/catalogue.xlsx").data))
    assert [r[1] for ws in wb.worksheets for r in ws.iter_rows(min_row=3, values_only=True)] == ["XFX-001", "XFX-002"]


def test_judges_and_anonymous_users_cannot_print(client, make_user, edition, entries):
    for url in ("/print/labels.pdf", "/print/catalogue.pdf", "/print/catalogue.xlsx"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert login(client, make_user("judge")).status_code == 302
    for url in ("/print/labels.pdf", "/print/catalogue.pdf", "/print/catalogue.xlsx", "/print/labels.pdf?blind=1"):
        assert client.get(url).status_code == 403, url


def test_bad_filters_are_refused(org_client, db, edition, entries):
    from judging.contests import operations as ops

    other = ops.create_edition({"name": "另一个县青少年科技创新大赛", "number": 1, "code": "LY"})
    other_category = ops.save_category(other, {"code": "XF", "name": "小发明", "max_students": 3,
                                               "max_instructors": 2})
    db.session.commit()
    assert org_client.get(f"/print/labels.pdf?edition={edition.id}&category={other_category.id}").status_code == 404
    assert org_client.get("/print/labels.pdf?edition=99999").status_code == 404
    assert org_client.get("/print/labels.pdf?school=99999").status_code == 404
    assert org_client.get("/print/labels.pdf?school=abc").status_code == 400
    # The latest edition (the new one) has no entries: still a sheet, saying so.
    empty = org_client.get("/print/catalogue.pdf")
    assert empty.status_code == 200 and "暂无作品" in _pdf_text(empty.data)[0]


def test_missing_character_gives_a_chinese_page_naming_entry_and_character(app, org_client, edition, entries,
                                                                          font_without_yan):
    app.config["FONT_PATH"] = str(font_without_yan)
    client = org_client
    response = client.get("/print/labels.pdf")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "无法打印：字体缺字" in page and "作品 KHX-001" in page and "「䶮」(U+4DAE)" in page
    assert client.get("/print/labels.pdf?blind=1").status_code == 200
    assert client.get("/print/catalogue.pdf").status_code == 422
    assert client.get("/print/catalogue.xlsx").status_code == 200  # Excel uses the reader's own fonts


def test_a_refused_font_file_gives_a_clear_page(app, org_client, edition, entries, tmp_path):
    otf = tmp_path / "kaiti.otf"
    otf.write_bytes(b"OTTO" + bytes(60))
    app.config["FONT_PATH"] = str(otf)
    response = org_client.get("/print/catalogue.pdf")
    assert response.status_code == 500
    assert "字体配置有误" in response.get_data(as_text=True) and "TrueType" in response.get_data(as_text=True)
