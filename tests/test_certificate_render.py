"""The certificate drawing engine (judging/printing/certificates.py), without a database.

PDFs are read back with pypdf: the exact Chinese texts, numbers and names come out; the font is
embedded as a TrueType subset; rare name characters print and a character the font lacks is
named with its certificate instead of printed as a box; the longest texts fit their boxes (at or
above the size floor) and a text too long for any size is refused in Chinese; pages are streamed.
"""
from __future__ import annotations

import io
import os
import random
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from judging.contests.forms import CERTIFICATE_TEXT_FIELDS
from judging.core import fonts
from judging.core.numerals import chinese_date, edition_ordinal
from judging.printing import certificates as cert
from judging.printing.certificates import (
    BODY_BOX,
    BODY_LEADING,
    BOXES,
    DEFAULT_TEXTS,
    NO_LINE_END,
    NO_LINE_START,
    CertificateData,
    CertificateImageError,
    CertificateLayoutError,
    CertificateRenderer,
    PrintSettings,
    check_glyphs,
    fill_text,
    iter_certificates_pdf,
    preflight,
    wrap,
    write_certificates,
)

RARE = "彧喆玥犇淼䶮"
TEAM = ["王彧", "李喆", "张玥", "刘犇", "陈淼", "李䶮"]
LONG_TITLE = ("基于物联网与人工智能技术的校园垃圾分类智能回收装置的设计与制作研究" * 5)[:120]
DATE = chinese_date(date(2026, 11, 25))
ISSUER = "测试县教育局\n测试县科学技术协会"
VALUES = {"届次": edition_ordinal(13), "大赛名称": "测试县青少年科技创新大赛", "类别": "小发明", "组别": "小学组",
          "等级": "一等奖", "作品名称": "会“思考”的智能垃圾桶", "学校": "测试县实验小学", "指导教师": "赵玥",
          "学生": "王彧、李喆", "日期": DATE}
URL = "https://kc.example.edu.cn/v/"


# --- fixtures and helpers -------------------------------------------------------------------------

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


def student(name="王彧", title="会“思考”的智能垃圾桶", number="2026KC-XFX-1-0001", **kwargs) -> CertificateData:
    body = fill_text(DEFAULT_TEXTS["student"], {**VALUES, "姓名": name, "作品名称": title})
    return CertificateData("student", body, number, name, ISSUER, DATE, URL + number, **kwargs)


def instructor(name="赵玥", students="王彧、李喆", title="会“思考”的智能垃圾桶", number="2026KC-XFX-1-0001-T1"):
    body = fill_text(DEFAULT_TEXTS["instructor"], {**VALUES, "姓名": name, "学生": students, "作品名称": title})
    return CertificateData("instructor", body, number, name, ISSUER, DATE, URL + number)


def school(name="测试县实验小学", number="2026KC-ORG-0001", **kwargs):
    body = fill_text(DEFAULT_TEXTS["school"], {**VALUES, "学校": name})
    return CertificateData("school", body, number, name, ISSUER, DATE, URL + number, **kwargs)


def pdf(items, **kwargs) -> bytes:
    out = io.BytesIO()
    assert write_certificates(items, out, **kwargs) == len(items)
    return out.getvalue()


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def squash(text: str) -> str:
    """Text without line breaks and indents: wrapped lines join up again."""
    return "".join(line.strip() for line in text.splitlines())


# --- texts ----------------------------------------------------------------------------------------

def test_fill_text_uses_the_settings_form_placeholders():
    assert {"姓名", "作品名称", "届次", "大赛名称", "类别", "组别", "等级", "指导教师", "学校", "日期"} <= CERTIFICATE_TEXT_FIELDS
    text = fill_text(DEFAULT_TEXTS["student"], {**VALUES, "姓名": "王彧"})
    assert text == ("王彧同学：你的作品《会“思考”的智能垃圾桶》在第十三届测试县青少年科技创新大赛小发明（小学组）中荣获一等奖。"
                    "特发此证，以资鼓励。")
    assert fill_text(DEFAULT_TEXTS["instructor"], {**VALUES, "姓名": "赵玥"}).startswith(
        "赵玥老师：你指导的王彧、李喆同学的作品《会“思考”的智能垃圾桶》")
    assert fill_text(DEFAULT_TEXTS["school"], VALUES).endswith("荣获“优秀组织奖”。特发此证，以资鼓励。")
    # None prints as nothing; a line break inside a value does not start a paragraph.
    assert fill_text("{姓名}：{指导教师}。", {"姓名": "王\n彧", "指导教师": None}) == "王 彧：。"
    # Braces inside a value are printed as typed.
    assert fill_text("《{作品名称}》", {"作品名称": "{姓名}"}) == "《{姓名}》"


def test_fill_text_errors_are_chinese_and_name_the_placeholder():
    with pytest.raises(ValueError, match=r"未知的占位符：\{奖金\}"):
        fill_text("{姓名}获得{奖金}元", {"姓名": "王彧", "奖金": 100})
    with pytest.raises(ValueError, match=r"缺少以下内容：\{作品名称\}、\{等级\}"):
        fill_text(DEFAULT_TEXTS["student"], {k: v for k, v in VALUES.items() if k not in ("作品名称", "等级")} | {"姓名": "王"})
    with pytest.raises(ValueError, match="花括号不成对"):
        fill_text("{姓名", {"姓名": "王彧"})


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="未知的证书类型"):
        CertificateData("judge", "正文", "1")


# --- reading the PDF back -------------------------------------------------------------------------

def test_three_kinds_read_back_with_exact_texts(cjk_fonts):
    items = [student(), instructor(), school()]
    data = pdf(items)
    texts = page_texts(data)
    assert len(texts) == 3
    for item, text in zip(items, texts):
        lines = [line.strip() for line in text.splitlines()]
        assert lines[0] == "荣誉证书"
        assert lines[1] == item.recipient + ("同学：" if item.kind == "student" else "老师：" if item.kind == "instructor"
                                             else "：")
        assert item.body in squash(text)  # the whole body, wrapped lines joined
        assert f"证书编号：{item.number}" in lines
        assert "测试县教育局" in lines and "测试县科学技术协会" in lines
        assert "二〇二六年十一月" in lines
        assert "已撤销" not in text
    assert "荣获一等奖。特发此证，以资鼓励。" in squash(texts[0])
    assert "特授予“优秀指导教师”称号。" in squash(texts[1])
    assert "荣获“优秀组织奖”" in squash(texts[2])
    info = PdfReader(io.BytesIO(data)).metadata
    assert info.title == "荣誉证书" and info.author == "测试县教育局"


def test_font_is_embedded_as_a_truetype_subset(cjk_fonts):
    data = pdf([student(name="李䶮"), instructor(), school()])
    reader = PdfReader(io.BytesIO(data))
    seen = set()
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            seen.add(font["/BaseFont"])
            assert font["/Subtype"] == "/TrueType"
            assert re.fullmatch(r"/[A-Z]{6}\+NotoSansSC-(Regular|Bold)", font["/BaseFont"]), font["/BaseFont"]
            assert "/FontFile2" in font["/FontDescriptor"].get_object()
    assert {re.sub(r"^/[A-Z]{6}\+", "", name) for name in seen} == {"NotoSansSC-Regular", "NotoSansSC-Bold"}
    assert len(data) < 200_000  # subsets, not the two 10 MB faces
    assert "李䶮同学：" in page_texts(data)[0]


def test_rare_name_characters_pass_the_glyph_check(cjk_fonts):
    items = [student(name=name) for name in TEAM] + [instructor(name="赵喆", students="、".join(TEAM))]
    assert check_glyphs(items, cjk_fonts) == []
    texts = page_texts(pdf(items))
    for name, text in zip(TEAM, texts):
        assert f"{name}同学：" in text
    assert "、".join(TEAM) + "同学的作品" in squash(texts[-1])


@pytest.fixture(scope="session")
def font_without_yan(cjk_fonts, tmp_path_factory) -> Path:
    """A TrueType subset of the packaged font with everything these tests print except 䶮."""
    from fontTools import subset

    text = "".join((*cert.FIXED_TEXTS, *DEFAULT_TEXTS.values(), *map(str, VALUES.values()), ISSUER, RARE,
                    "".join(TEAM), LONG_TITLE, "赵钱孙老师同学校"))
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


def test_a_missing_character_is_named_with_its_certificate(font_without_yan, tmp_path):
    no_yan = fonts.ensure_fonts(font_path=str(font_without_yan))
    items = [student(name="王彧"), student(name="李䶮", number="2026KC-XFX-1-0002"),
             instructor(students="王彧、李䶮", number="2026KC-XFX-1-0001-T1")]
    assert check_glyphs(items, no_yan) == [("证书 2026KC-XFX-1-0002（李䶮）", ["䶮"]),
                                           ("证书 2026KC-XFX-1-0001-T1（赵玥）", ["䶮"])]
    target = tmp_path / "certificates.pdf"
    with pytest.raises(fonts.FontCoverageError) as caught:
        write_certificates(items, target, no_yan)
    assert caught.value.missing == [("证书 2026KC-XFX-1-0002（李䶮）", ["䶮"])]
    assert "证书 2026KC-XFX-1-0002（李䶮）：「䶮」(U+4DAE)" in caught.value.message
    assert list(tmp_path.iterdir()) == []  # no half-written PDF, no temporary file left
    # Without the rare name it prints with that font.
    assert page_texts(pdf([items[0]], fonts=no_yan))[0].count("王彧同学：") == 1


def test_a_font_without_the_fixed_texts_is_refused_before_drawing(cjk_fonts, tmp_path):
    from fontTools import subset

    options = subset.Options()
    font = subset.load_font(str(cjk_fonts.regular_file), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=set(range(0x20, 0x7F)))
    subsetter.subset(font)
    path = tmp_path / "Latin.ttf"
    font.save(str(path))
    latin = fonts.ensure_fonts(font_path=str(path))
    with pytest.raises(fonts.FontCoverageError) as caught:
        CertificateRenderer(latin)
    assert caught.value.missing[0][0] == "证书固定文字" and "撤" in caught.value.characters


# --- fitting ---------------------------------------------------------------------------------------

def test_boxes_never_overlap():
    names = list(BOXES)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not BOXES[a].overlaps(BOXES[b]), (a, b)
    x, y = cert.SEAL_CENTRE
    seal = cert.Box(x - cert.SEAL_SIZE / 2, y - cert.SEAL_SIZE / 2, cert.SEAL_SIZE, cert.SEAL_SIZE)
    assert not seal.overlaps(BODY_BOX) and not seal.overlaps(cert.QR_BOX) and not seal.overlaps(cert.NUMBER_BOX)


def _text_positions(data: bytes, page: int = 0) -> list[tuple[str, float, float]]:
    found = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            found.append((text, tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]))

    PdfReader(io.BytesIO(data)).pages[page].extract_text(visitor_text=visit)
    return found


def test_the_longest_title_and_a_team_of_six_fit(cjk_fonts):
    team = "、".join(TEAM)
    longest = [student(name=team, title=LONG_TITLE, number="2026KC-XFX-1-0001"),
               instructor(name="欧阳玥", students=team, title=LONG_TITLE),
               CertificateData("student", fill_text(DEFAULT_TEXTS["student"], {**VALUES, "姓名": team,
                                                                                  "作品名称": LONG_TITLE}),
                               "2026KC-" + "XFX-1-" * 10 + "0001", team,
                               "测试县教育局\n测试县科学技术协会\n测试县青少年科技创新大赛组织委员会办公室（代章）",
                               DATE, URL + "x" * 200)]
    renderer = CertificateRenderer(cjk_fonts)
    settings = renderer.settings
    data = pdf(longest)
    for index, item in enumerate(longest):
        layout = renderer.layout(item)
        assert settings.body_min_size <= layout.body_size < settings.body_max_size
        for line in layout.body_lines:  # within the box's width ...
            assert (line.indent + line.width) * layout.body_size <= BODY_BOX.width + 1e-6
        last = layout.body_top - (len(layout.body_lines) - 1) * layout.body_size * BODY_LEADING
        assert last - 0.12 * layout.body_size >= BODY_BOX.y  # ... and its height
        assert layout.body_top + 0.88 * layout.body_size <= BODY_BOX.top
        text = page_texts(data)[index]
        assert item.body in squash(text)  # everything printed, nothing cut
        assert f"证书编号：{item.number}" in squash(text)
        # On the page: every body line inside the body box, nothing else in it.
        for run, x, y in _text_positions(data, index):
            inside = BODY_BOX.y <= y <= BODY_BOX.top and BODY_BOX.x - 0.01 <= x <= BODY_BOX.right
            assert inside == (run.strip() in squash(item.body) and len(run.strip()) > 4), (run, x, y)
    # The issuer's units and the number rather shrink than break; only what cannot fit one line wraps.
    layout = renderer.layout(longest[2])
    assert [line.text for line in layout.issuer_lines] == longest[2].issuer.splitlines()
    assert cert.ISSUER_SIZES[1] <= layout.issuer_size < cert.ISSUER_SIZES[0]
    assert len(layout.number_lines) == 1 and layout.number_size >= cert.NUMBER_SIZES[1]
    wrapped = renderer.layout(student(number="2026KC-" + "XFX-1-" * 30 + "0001"))
    assert len(wrapped.number_lines) > 1 and wrapped.number_size >= cert.NUMBER_SIZES[1]
    assert "".join(line.text for line in wrapped.number_lines) == "证书编号：2026KC-" + "XFX-1-" * 30 + "0001"


def test_short_texts_get_the_largest_size(cjk_fonts):
    layout = CertificateRenderer(cjk_fonts).layout(student())
    assert layout.body_size == PrintSettings().body_max_size
    assert layout.body_lines[0].text == "王彧同学：" and layout.body_lines[0].font == cjk_fonts.bold
    assert layout.body_lines[1].indent == 2.0  # the body proper starts two characters in


def test_a_text_too_long_for_any_size_is_refused_in_chinese(cjk_fonts, tmp_path):
    huge = student(name="王彧", title=LONG_TITLE * 6, number="2026KC-XFX-1-0009")
    with pytest.raises(CertificateLayoutError) as caught:
        CertificateRenderer(cjk_fonts).layout(huge)
    message = str(caught.value)
    assert "证书 2026KC-XFX-1-0009（王彧）的正文太长" in message and "12 磅" in message and "请缩短" in message
    target = tmp_path / "out.pdf"
    with pytest.raises(CertificateLayoutError):
        write_certificates([student(), huge], target, cjk_fonts)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_body_is_refused(cjk_fonts):
    with pytest.raises(CertificateLayoutError, match="证书 N1（王彧）的正文为空"):
        CertificateRenderer(cjk_fonts).layout(CertificateData("student", " \n ", "N1", "王彧"))


def test_line_breaking_keeps_punctuation_rules_and_loses_nothing(cjk_fonts):
    metrics = cert._Metrics(cjk_fonts.regular)
    rng = random.Random(7)
    alphabet = "科技创新大赛作品王彧玥" + "，。、；：！？）》”" + "（《“" + "AI Robot 3D打印 v2.0 "
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 120)))
        text = " ".join(text.split())
        tokens = metrics.tokens(text)
        width = rng.uniform(4, 30)
        lines = wrap(tokens, width, 2.0, metrics.char)
        assert "".join(t for t, _ in lines).replace(" ", "") == text.replace(" ", "")
        for index, (line, natural) in enumerate(lines):
            assert line == line.strip()
            assert natural <= width - (2.0 if index == 0 else 0) + 1e-6 or len(line) == 1
            if index > 0 and len(lines[index - 1][0]) > 3:
                assert line[0] not in NO_LINE_START, (lines, index)
            if index < len(lines) - 1 and len(line) > 3:
                assert line[-1] not in NO_LINE_END, (lines, index)


def test_latin_words_stay_whole(cjk_fonts):
    metrics = cert._Metrics(cjk_fonts.regular)
    lines = wrap(metrics.tokens("基于 Arduino 和 Raspberry Pi 的智能 XFX-001 装置"), 6.0, 0.0, metrics.char)
    words = [word for line, _ in lines for word in line.split()]
    for word in ("Arduino", "Raspberry", "XFX-001"):
        assert any(word in w for w in words)
    # A word longer than a whole line is broken between its letters rather than overflowing.
    lines = wrap(metrics.tokens("A" * 80), 10.0, 0.0, metrics.char)
    assert "".join(t for t, _ in lines) == "A" * 80 and all(w <= 10.0 + 1e-6 for _, w in lines)


# --- marks, images, QR --------------------------------------------------------------------------------

def test_a_revoked_certificate_says_so(cjk_fonts):
    texts = page_texts(pdf([school(revoked=True), school()]))
    assert "已撤销" in texts[0] and "已撤销" not in texts[1]


@pytest.fixture
def images(tmp_path):
    from PIL import Image, ImageDraw

    border = Image.new("RGB", (594, 420), "white")
    ImageDraw.Draw(border).rectangle([8, 8, 586, 412], outline=(180, 30, 40), width=6)
    border_path = tmp_path / "border.png"
    border.save(border_path)
    seal = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(seal).ellipse([5, 5, 195, 195], outline=(220, 0, 0, 255), width=10)
    seal_path = tmp_path / "seal.png"
    seal.save(seal_path)
    return border_path, seal_path


def test_border_and_seal_images_are_embedded_once(cjk_fonts, images):
    border, seal = images
    data = pdf([student(), instructor(), school()], settings=PrintSettings(border_image=border, seal_image=seal))
    reader = PdfReader(io.BytesIO(data))
    per_page = []
    for page in reader.pages:
        xobjects = page["/Resources"]["/XObject"]
        per_page.append(sorted(ref.idnum for ref in xobjects.values()))
        assert len(xobjects) == 2
    assert per_page[0] == per_page[1] == per_page[2]  # the same two image objects on every page
    assert "王彧同学：" in page_texts(data)[0]


def test_an_unreadable_image_is_named(cjk_fonts, tmp_path):
    bad = tmp_path / "印章.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(CertificateImageError, match="印章图片「印章.png」无法读取"):
        pdf([student()], settings=PrintSettings(seal_image=bad))


@pytest.mark.skipif(not (shutil.which("zbarimg") and shutil.which("pdftoppm")),
                    reason="zbarimg (zbar-tools) and pdftoppm (poppler-utils) are needed to decode the QR code")
def test_the_qr_code_holds_the_verification_url(cjk_fonts, tmp_path):
    item = student(number="2026KC-XFX-1-0042")
    (tmp_path / "c.pdf").write_bytes(pdf([item]))
    subprocess.run(["pdftoppm", "-png", "-r", "200", str(tmp_path / "c.pdf"), str(tmp_path / "page")], check=True)
    result = subprocess.run(["zbarimg", "-q", "--raw", str(next(tmp_path.glob("page*.png")))],
                            capture_output=True, text=True)
    assert result.stdout.split() == [URL + "2026KC-XFX-1-0042"]


def test_without_a_url_there_is_no_qr_code(cjk_fonts):
    with_qr = CertificateData("student", "正文", "1", verify_url="https://x.cn/v/1")
    without = CertificateData("student", "正文", "1")
    assert len(pdf([without])) < len(pdf([with_qr]))
    assert "扫码查验" not in page_texts(pdf([without]))[0]


# --- streaming ------------------------------------------------------------------------------------

def test_pages_are_streamed_from_a_generator(cjk_fonts):
    drawn = []

    def batch():
        for index in range(40):
            drawn.append(index)
            yield student(name=TEAM[index % 6], number=f"2026KC-XFX-1-{index:04d}")

    chunks = iter_certificates_pdf(batch(), cjk_fonts, chunk_size=1)
    first = next(chunks)
    assert first.startswith(b"%PDF-") and len(drawn) == 1  # bytes leave before the batch is read
    data = first + b"".join(chunks)
    assert len(drawn) == 40
    reader = PdfReader(io.BytesIO(data), strict=True)
    assert len(reader.pages) == 40
    assert "2026KC-XFX-1-0039" in reader.pages[39].extract_text()
    assert "李䶮同学：" in reader.pages[5].extract_text()


def test_write_to_a_path_and_count(cjk_fonts, tmp_path):
    target = tmp_path / "证书.pdf"
    count = write_certificates((student(number=f"N{i}") for i in range(5)), target, cjk_fonts)
    assert count == 5 and [p.name for p in tmp_path.iterdir()] == ["证书.pdf"]
    assert len(PdfReader(str(target)).pages) == 5


def test_the_streaming_document_forgets_finished_pages(cjk_fonts):
    from reportlab.pdfbase import pdfdoc

    from judging.printing.render_stream import StreamingCanvas

    out = io.BytesIO()
    c = StreamingCanvas(out.write, initialFontName=cjk_fonts.regular)
    for index in range(5):
        c.setFont(cjk_fonts.regular, 12)
        c.drawString(72, 720, f"第{index + 1}页")
        c.showPage()
        written = out.tell()
        assert written > 0
    kept = [obj for obj in c._doc.idToObject.values() if isinstance(obj, pdfdoc.PDFPage | pdfdoc.PDFStream)]
    assert kept == []
    c.save()
    assert out.tell() > written
    assert [p.extract_text().strip() for p in PdfReader(io.BytesIO(out.getvalue()), strict=True).pages] == [
        f"第{i}页" for i in range(1, 6)]


def test_progress_is_reported_page_by_page(cjk_fonts):
    seen = []
    assert write_certificates([student(), instructor(), school()], io.BytesIO(), cjk_fonts, on_page=seen.append) == 3
    assert seen == [1, 2, 3]


def test_preflight_lists_every_problem_of_the_batch(font_without_yan):
    no_yan = fonts.ensure_fonts(font_path=str(font_without_yan))
    batch = [student(), student(name="李䶮", number="N2"), student(title=LONG_TITLE * 6, number="N3"),
             student(name="王䶮", number="N4")]
    problems = preflight(batch, no_yan)
    assert len(problems) == 2
    assert "证书 N2（李䶮）：「䶮」(U+4DAE)" in problems[0] and "证书 N4（王䶮）" in problems[0]
    assert problems[1].startswith("证书 N3（王彧）的正文太长")
    assert preflight(batch[:1], no_yan) == []


def test_an_empty_batch_is_refused(cjk_fonts):
    with pytest.raises(ValueError, match="没有可打印的证书"):
        write_certificates(iter(()), io.BytesIO(), cjk_fonts)


def test_a_paragraph_does_not_end_on_a_lone_character(cjk_fonts):
    """The demo's body used to end on "励。" alone; the last line now takes a character along."""
    metrics = cert._Metrics(cjk_fonts.regular)
    text = "你的作品《自动感应节水龙头》在第十三届翠湖县青少年科技创新大赛小发明（小学组）中荣获一等奖。特发此证，以资鼓励。"
    for width in (14.0, 19.5, 28.0):  # widths where the greedy break leaves "励。" alone
        lines = wrap(metrics.tokens(text), width, 2.0, metrics.char)
        assert "".join(t for t, _ in lines) == text
        last = lines[-1][0]
        assert len(last.rstrip("。，")) >= 2, (width, lines)
        assert all(natural <= width + 1e-6 for _, natural in lines[1:])
