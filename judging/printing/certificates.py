"""Certificates (荣誉证书): the drawing engine. Pure: plain data in, PDF bytes out; no database.

One certificate per page, A4 landscape (DOMAIN: Paper and print conventions):

    ┌──────────────────────────────────────────────────────────┐
    │                      荣 誉 证 书                [已撤销] │
    │  王彧同学：                                               │
    │      你的作品《…》在第十三届XX县青少年科技创新大赛小发明    │   body box: wraps, and shrinks
    │  （小学组）中荣获一等奖。特发此证，以资鼓励。               │   (largest size that fits, down
    │                                                          │   to a floor; below it: an error)
    │  ▣ QR                                    XX县教育局        │
    │  证书编号：2026KC-XFX-1-0001            二〇二六年十一月    │   seal image over issuer + date
    └──────────────────────────────────────────────────────────┘

- CertificateData is one certificate, its body already filled by fill_text() from the edition's
  text (placeholders as the certificate settings form allows: judging/contests/forms.py).
- Every text box fits or fails: the body (with its salutation line), the issuer, the number and
  a custom title each shrink to the largest size at which the whole text fits its box (binary search over sizes in
  half points, lines wrapped CJK-style with 避头尾: no line begins with ，。、）》” and none ends
  with （《“); below the box's floor CertificateLayoutError names the certificate and the part.
  Nothing is cut off and no boxes overlap (they are fixed rectangles, see Layout).
- Every character is checked against the font before its page is drawn (check_glyphs); a missing
  one raises FontCoverageError naming the certificate and the recipient, never prints a box.
- write_certificates()/iter_certificates_pdf() stream: items may be a generator; each page is
  written to the output as soon as it is drawn (render_stream.StreamingCanvas), so 10,000
  certificates take about as much memory as one (benchmarks/certificates.py measures it).
"""
from __future__ import annotations

import itertools
import os
import re
import string
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics

from judging.contests.forms import CERTIFICATE_TEXT_FIELDS, check_pattern, placeholders
from judging.contests.models import DEFAULT_INSTRUCTOR_TEXT, DEFAULT_SCHOOL_TEXT, DEFAULT_STUDENT_TEXT
from judging.core.fonts import FontCoverageError, FontSet, ensure_fonts, missing_glyphs
from judging.printing.render_stream import StreamingCanvas

KINDS = ("student", "instructor", "school")  # printing/models.py CERTIFICATE_KINDS has their labels
DEFAULT_TEXTS = {"student": DEFAULT_STUDENT_TEXT, "instructor": DEFAULT_INSTRUCTOR_TEXT, "school": DEFAULT_SCHOOL_TEXT}
TITLE = "荣誉证书"
NUMBER_CAPTION = "证书编号："
REVOKED = "已撤销"
QR_CAPTION = "扫码查验"
FIXED_TEXTS = (TITLE, NUMBER_CAPTION, REVOKED, QR_CAPTION)

PAGE = landscape(A4)
RED = colors.HexColor("#B3202A")
GOLD = colors.HexColor("#C9A227")
GREY = colors.HexColor("#666666")

# 避头尾: characters that never begin a line, and ones that never end it.
NO_LINE_START = set("，。、；：！？）》」』】〕〉”’…—·%‰℃,.;:!?)]}")
NO_LINE_END = set("（《「『【〔〈“‘([{")
# A run of Latin letters and digits stays together (a word, a number, a code like XFX-001).
_TOKEN = re.compile(r"[A-Za-z0-9\u00C0-\u024F][A-Za-z0-9\u00C0-\u024F'’.\-_/:%+#&@]*|\s+|.", re.S)
_EPS = 1e-6


# --- Data -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CertificateData:
    """One certificate, everything already in its final words.

    body: the filled text (fill_text); when it begins with recipient and a colon ("王彧同学：",
    "实验小学："), that salutation gets a line of its own and the rest is indented two characters.
    issuer: 落款, one line per unit ("XX县教育局\\nXX县科学技术协会"). date_text: 二〇二六年十一月
    (numerals.chinese_date). number: 证书编号. verify_url: what the QR code holds (none: no QR)."""

    kind: str
    body: str
    number: str
    recipient: str = ""
    issuer: str = ""
    date_text: str = ""
    verify_url: str = ""
    title: str = TITLE
    revoked: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"未知的证书类型「{self.kind}」，应为 {'、'.join(KINDS)}")

    @property
    def where(self) -> str:
        """How messages name this certificate: 证书 2026KC-XFX-1-0001（王彧）."""
        who = f"（{self.recipient}）" if self.recipient else ""
        return f"证书 {self.number}{who}" if self.number else f"证书{who}"

    def texts(self) -> tuple[str, ...]:
        """Everything of this certificate that is printed as text."""
        return (self.title, self.body, self.recipient, self.issuer, self.date_text, self.number)


@dataclass(frozen=True)
class PrintSettings:
    """How a batch looks. border_image: a full-page picture drawn under everything (stretched to A4
    landscape); without it a red and gold double frame is drawn, unless frame is False (paper with
    a printed border). seal_image: a transparent PNG of the seal, drawn over the issuer and date;
    without it that area stays free for a stamp. Body text: the largest size from body_max_size
    down to body_min_size (points) that fits."""

    border_image: str | os.PathLike | None = None
    seal_image: str | os.PathLike | None = None
    frame: bool = True
    body_max_size: float = 22.0
    body_min_size: float = 12.0
    document_title: str = TITLE


class CertificateLayoutError(ValueError):
    """A text does not fit its box even at the smallest allowed size."""

    def __init__(self, where: str, part: str, floor: float, message: str | None = None):
        self.where, self.part, self.floor = where, part, floor
        super().__init__(message or f"{where}的{part}太长：缩小到 {floor:g} 磅仍排不下，为避免文字被截断或重叠，"
                                    f"本次未生成证书。请缩短{_SHORTEN.get(part, part)}后再打印。")


_SHORTEN = {"正文": "作品名称、姓名或证书正文（集体作品也可每位学生各发一张）", "落款": "落款单位",
            "证书编号": "证书编号格式"}


class CertificateImageError(ValueError):
    """The border or seal image cannot be read."""


# --- Texts ----------------------------------------------------------------------------------------

def fill_text(template: str, values: Mapping[str, object]) -> str:
    """The certificate text with its {placeholders} filled from values.

    The allowed placeholders are those of the certificate settings form (CERTIFICATE_TEXT_FIELDS);
    an unknown or unfilled one raises ValueError with a Chinese message. None prints as nothing;
    line breaks inside a value become spaces (only the template's own line breaks start a
    paragraph)."""
    problem = check_pattern(template, CERTIFICATE_TEXT_FIELDS)
    if problem:
        raise ValueError(f"证书正文有误：{problem}")
    used = list(dict.fromkeys(placeholders(template)))
    missing = [name for name in used if name not in values]
    if missing:
        raise ValueError("证书正文缺少以下内容：" + "、".join("{" + name + "}" for name in missing))
    clean = {name: " ".join(str(value).split()) if value is not None else "" for name, value in values.items()}
    try:
        return string.Formatter().vformat(template, (), clean)
    except (ValueError, KeyError, IndexError) as error:
        raise ValueError(f"证书正文的格式说明有误：{error}") from error


def check_glyphs(items: Iterable[CertificateData], fonts: FontSet | None = None,
                 fixed: bool = True) -> list[tuple[str, list[str]]]:
    """Every character the font cannot draw, by certificate: [("证书 …（王彧）", ["䶮"]), ...],
    the page's own texts first under "证书固定文字" (unless fixed is False). Empty when all can be
    printed; raise FontCoverageError(check_glyphs(...), fonts.family) to report them."""
    fonts = fonts or ensure_fonts()
    found: dict[str, list[str]] = {}

    def scan(where: str, text: str) -> None:
        for char in missing_glyphs(text, fonts):
            chars = found.setdefault(where, [])
            if char not in chars:
                chars.append(char)

    if fixed:
        for text in FIXED_TEXTS:
            scan("证书固定文字", text)
    for item in items:
        for text in item.texts():
            scan(item.where, text)
    return list(found.items())


# --- Line breaking ----------------------------------------------------------------------------------

class _Metrics:
    """Advance widths of one registered font at 1 pt, cached per character."""

    def __init__(self, name: str):
        self.name = name
        self._width = pdfmetrics.getFont(name).stringWidth
        self._cache: dict[str, float] = {}

    def char(self, char: str) -> float:
        width = self._cache.get(char)
        if width is None:
            width = self._cache[char] = self._width(char, 1.0)
        return width

    def text(self, text: str) -> float:
        return sum(self.char(c) for c in text)

    def tokens(self, text: str) -> list[tuple[str, float]]:
        out = []
        for match in _TOKEN.finditer(text):
            token = match.group()
            if token.isspace():
                out.append((" ", self.char(" ")))
            else:
                out.append((token, self.text(token)))
        return out


@dataclass(frozen=True)
class _Paragraph:
    tokens: list[tuple[str, float]]
    metrics: _Metrics
    indent: float = 0.0  # first-line indent, in ems


@dataclass(frozen=True)
class Line:
    text: str
    width: float  # natural width at 1 pt
    font: str
    indent: float  # in ems
    last: bool  # the last line of its paragraph (never justified)


def wrap(tokens: list[tuple[str, float]], width: float, indent: float = 0.0,
         char_width: Callable[[str], float] | None = None) -> list[tuple[str, float]]:
    """Lines (text, width) of tokens within width (both at 1 pt); the first line starts after
    indent. Breaks anywhere between CJK characters, between Latin words, inside a word only when it
    is longer than a line; honours 避头尾 by carrying the character before a closing mark, or an
    opening mark, over to the next line. char_width gives the widths of a split word's characters
    (default: the word's width shared equally)."""
    lines: list[list[tuple[str, float]]] = []  # each line as its tokens, joined at the end
    line: list[tuple[str, float]] = []
    used = indent
    queue = deque(tokens)
    while queue:
        token, w = queue.popleft()
        if token == " ":
            if line:
                line.append((token, w))
                used += w
            continue
        if used + w <= width + _EPS:
            line.append((token, w))
            used += w
            continue
        if len(token) > 1 and w > width - (0 if lines else indent):
            # A word longer than a line: break it between its characters.
            queue.extendleft(reversed([(c, char_width(c) if char_width else w / len(token)) for c in token]))
            continue
        while line and line[-1][0] == " ":
            line.pop()
        if not line:
            line.append((token, w))  # one glyph wider than the line: the fit check rejects it
            lines.append(list(line))
            line, used = [], 0.0
            continue
        carry = [(token, w)]
        if token[0] in NO_LINE_START:
            # The closing marks (and spaces) before it, and the character they follow, move along.
            keep = len(line)
            while keep > 1 and (line[keep - 1][0] == " " or line[keep - 1][0][0] in NO_LINE_START):
                keep -= 1
            if keep > 1:  # else the line is nothing but marks: break it where it is
                carry = line[keep - 1:] + carry
                del line[keep - 1:]
        while line and line[-1][0] == " ":
            line.pop()
        while len(line) > 1 and line[-1][0][-1] in NO_LINE_END:
            carry.insert(0, line.pop())
            while line and line[-1][0] == " ":
                line.pop()
        lines.append(list(line))
        line, used = [], 0.0
        queue.extendleft(reversed(carry))
    while line and line[-1][0] == " ":
        line.pop()
    if line:
        lines.append(list(line))
    _avoid_widow(lines, width)
    return [_join(tokens) for tokens in lines]


def _avoid_widow(lines: list[list[tuple[str, float]]], width: float) -> None:
    """A paragraph should not end on a lone character ("励。"): take the last character of the line
    before along, keeping 避头尾 (a closing mark never starts the line, an opening mark never ends
    the one before). Only where the new last line still fits and the line before keeps most of
    its text; otherwise the lines stay as they are."""
    if len(lines) < 2:
        return
    last, before = lines[-1], list(lines[-2])
    if len("".join(t for t, _ in last if t != " " and t[0] not in NO_LINE_START)) > 1 or len(before) < 6:
        return
    moved: list[tuple[str, float]] = []
    # Move tokens until the moved part begins with something that may start a line.
    while before and (not moved or moved[0][0] == " " or moved[0][0][0] in NO_LINE_START):
        moved.insert(0, before.pop())
    while len(before) > 1 and before[-1][0][-1] in NO_LINE_END:  # an opening mark goes along too
        moved.insert(0, before.pop())
    while before and before[-1][0] == " ":
        before.pop()
    candidate = moved + last
    if len(before) < 4 or sum(w for _, w in candidate) > width + _EPS:
        return
    lines[-2], lines[-1] = before, candidate


def _join(line: list[tuple[str, float]]) -> tuple[str, float]:
    return "".join(t for t, _ in line), sum(w for _, w in line)


def _layout(paragraphs: list[_Paragraph], width: float, height: float, size: float,
            leading: float) -> list[Line] | None:
    """The lines at this size, or None when they do not fit width x height."""
    units = width / size
    out: list[Line] = []
    for para in paragraphs:
        lines = wrap(para.tokens, units, para.indent, para.metrics.char)
        for index, (text, natural) in enumerate(lines):
            indent = para.indent if index == 0 else 0.0
            if natural + indent > units + _EPS:
                return None
            out.append(Line(text, natural, para.metrics.name, indent, index == len(lines) - 1))
    if out and (len(out) - 1) * leading * size + size > height + _EPS:
        return None
    return out


def _sizes(largest: float, smallest: float, step: float = 0.5) -> list[float]:
    count = int(round((largest - smallest) / step))
    return [round(largest - i * step, 2) for i in range(count + 1)]


def fit(paragraphs: list[_Paragraph], width: float, height: float, largest: float, smallest: float,
        leading: float, unbroken: bool = False) -> tuple[float, list[Line]] | None:
    """The largest size (half-point steps) at which all paragraphs fit the box, with their lines;
    None when even the smallest does not. Binary search: the line count only grows as the size does.
    unbroken: rather shrink (down to smallest) than break a paragraph (an issuer's name, a number),
    and break only when that is not enough."""
    sizes = _sizes(largest, smallest)
    if unbroken:
        widest = max(sum(w for _, w in p.tokens) + p.indent for p in paragraphs)
        for size in sizes:  # the largest size at which no paragraph needs a second line
            if widest * size <= width + _EPS:
                lines = _layout(paragraphs, width, height, size, leading)
                if lines is not None and len(lines) == len(paragraphs):
                    return size, lines
    best = _layout(paragraphs, width, height, sizes[-1], leading)
    if best is None:
        return None
    low, high = 0, len(sizes) - 1  # sizes[high] fits
    result = (sizes[high], best)
    while low < high:
        middle = (low + high) // 2
        lines = _layout(paragraphs, width, height, sizes[middle], leading)
        if lines is not None:
            high, result = middle, (sizes[middle], lines)
        else:
            low = middle + 1
    return result


# --- Layout -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    x: float
    y: float  # bottom
    width: float
    height: float

    @property
    def top(self) -> float:
        return self.y + self.height

    @property
    def right(self) -> float:
        return self.x + self.width

    def overlaps(self, other: Box) -> bool:
        return not (self.right <= other.x or other.right <= self.x or self.top <= other.y or other.top <= self.y)


W, H = PAGE
FRAME_OUTER = 11 * mm
FRAME_INNER = 14 * mm
TITLE_BOX = Box(70 * mm, H - 62 * mm, W - 140 * mm, 30 * mm)
BODY_BOX = Box(38 * mm, 70 * mm, W - 76 * mm, H - 70 * mm - 68 * mm)
QR_BOX = Box(32 * mm, 30 * mm, 22 * mm, 22 * mm)
NUMBER_BOX = Box(32 * mm, 17 * mm, 125 * mm, 11 * mm)
ISSUER_BOX = Box(W - 124 * mm, 38 * mm, 104 * mm, 24 * mm)
DATE_BOX = Box(W - 124 * mm, 24 * mm, 104 * mm, 11 * mm)
SEAL_SIZE = 40 * mm
SEAL_CENTRE = (ISSUER_BOX.x + ISSUER_BOX.width / 2, 44 * mm)
REVOKED_BOX = Box(W - 62 * mm, H - 42 * mm, 36 * mm, 13 * mm)
BOXES = {"title": TITLE_BOX, "body": BODY_BOX, "qr": QR_BOX, "number": NUMBER_BOX, "issuer": ISSUER_BOX,
         "date": DATE_BOX, "revoked": REVOKED_BOX}

BODY_LEADING = 1.75
ISSUER_LEADING = 1.4
TITLE_SIZES = (46.0, 20.0)
ISSUER_SIZES = (16.0, 9.0)
NUMBER_SIZES = (10.0, 6.0)


@dataclass(frozen=True)
class CertificateLayout:
    """Where everything of one certificate goes; sizes in points (tests read these)."""

    title_size: float
    title_space: float  # extra space between the title's characters
    body_size: float
    body_lines: list[Line]
    issuer_size: float
    issuer_lines: list[Line]
    date_size: float
    number_size: float
    number_lines: list[Line]
    body_top: float = field(default=0.0)  # baseline of the first body line


class CertificateRenderer:
    """Lays out and draws certificates with one set of fonts and settings."""

    def __init__(self, fonts: FontSet | None = None, settings: PrintSettings | None = None):
        self.fonts = fonts or ensure_fonts()
        self.settings = settings or PrintSettings()
        if not 4 <= self.settings.body_min_size <= self.settings.body_max_size:
            raise ValueError("正文字号范围有误：最小字号应不小于4磅且不大于最大字号")
        self.regular = _Metrics(self.fonts.regular)
        self.bold = _Metrics(self.fonts.bold)
        self.border = self._image(self.settings.border_image, "证书边框图片")
        self.seal = self._image(self.settings.seal_image, "印章图片")
        missing = check_glyphs([], self.fonts)
        if missing:
            raise FontCoverageError(missing, self.fonts.family)

    @staticmethod
    def _image(path, what: str) -> str | None:
        if not path:
            return None
        path = str(path)
        try:
            ImageReader(path).getSize()
        except Exception as error:  # reportlab/Pillow raise many kinds for a bad file
            raise CertificateImageError(f"{what}「{Path(path).name}」无法读取，请重新上传 PNG 或 JPEG 图片。") from error
        return path

    # The layout: every size decided, or an error, before anything is drawn.
    def layout(self, item: CertificateData) -> CertificateLayout:
        missing = check_glyphs([item], self.fonts, fixed=False)
        if missing:
            raise FontCoverageError(missing, self.fonts.family)
        title_size, title_space = self._fit_title(item)
        settings = self.settings
        body = self._body_paragraphs(item)
        if not body:
            raise CertificateLayoutError(item.where, "正文", settings.body_min_size,
                                         f"{item.where}的正文为空，请在证书设置中填写证书正文。")
        fitted = fit(body, BODY_BOX.width, BODY_BOX.height, settings.body_max_size, settings.body_min_size,
                     BODY_LEADING)
        if fitted is None:
            raise CertificateLayoutError(item.where, "正文", settings.body_min_size)
        body_size, body_lines = fitted
        issuer_size, issuer_lines = 0.0, []
        if item.issuer.strip():
            paragraphs = [_Paragraph(self.regular.tokens(line.strip()), self.regular)
                          for line in item.issuer.splitlines() if line.strip()]
            fitted = fit(paragraphs, ISSUER_BOX.width, ISSUER_BOX.height, *ISSUER_SIZES, ISSUER_LEADING,
                         unbroken=True)
            if fitted is None:
                raise CertificateLayoutError(item.where, "落款", ISSUER_SIZES[1])
            issuer_size, issuer_lines = fitted
        date_size = 0.0
        if item.date_text.strip():
            natural = self.regular.text(item.date_text.strip())
            date_size = min(issuer_size or ISSUER_SIZES[0], DATE_BOX.width / natural, DATE_BOX.height)
            if date_size < ISSUER_SIZES[1]:
                raise CertificateLayoutError(item.where, "日期", ISSUER_SIZES[1])
        number_paragraph = [_Paragraph(self.regular.tokens(NUMBER_CAPTION + item.number.strip()), self.regular)]
        fitted = fit(number_paragraph, NUMBER_BOX.width, NUMBER_BOX.height, *NUMBER_SIZES, 1.25, unbroken=True)
        if fitted is None:
            raise CertificateLayoutError(item.where, "证书编号", NUMBER_SIZES[1])
        number_size, number_lines = fitted
        block = (len(body_lines) - 1) * body_size * BODY_LEADING + body_size
        top = BODY_BOX.top - (BODY_BOX.height - block) * 0.4 - body_size * 0.88
        return CertificateLayout(title_size, title_space, body_size, body_lines, issuer_size, issuer_lines,
                                 date_size, number_size, number_lines, top)

    def _fit_title(self, item: CertificateData) -> tuple[float, float]:
        title = item.title.strip()
        if not title:
            return 0.0, 0.0
        natural = self.bold.text(title)
        gaps = max(len(title) - 1, 0)
        spacing = 0.6 if len(title) <= 6 else 0.1  # ems between characters: 荣 誉 证 书
        largest, smallest = TITLE_SIZES
        size = min(largest, TITLE_BOX.width / (natural + spacing * gaps), TITLE_BOX.height)
        if size < smallest:
            raise CertificateLayoutError(item.where, "标题", smallest)
        return size, spacing * size

    def _body_paragraphs(self, item: CertificateData) -> list[_Paragraph]:
        texts = [" ".join(p.split()) for p in item.body.replace("\r\n", "\n").split("\n")]
        texts = [t for t in texts if t]
        paragraphs: list[_Paragraph] = []
        salutation, first = _salutation(texts[0] if texts else "", item.recipient)
        if salutation:
            paragraphs.append(_Paragraph(self.bold.tokens(salutation), self.bold))
            texts = ([first] if first else []) + texts[1:]
        paragraphs.extend(_Paragraph(self.regular.tokens(t), self.regular, indent=2.0) for t in texts)
        return paragraphs

    # Drawing
    def draw(self, c, item: CertificateData, layout: CertificateLayout | None = None) -> CertificateLayout:
        """Draw item on the canvas's current page (the caller calls showPage)."""
        layout = layout or self.layout(item)
        self._draw_background(c)
        if layout.title_size:
            self._draw_title(c, item.title.strip(), layout)
        self._draw_lines(c, layout.body_lines, layout.body_size, BODY_LEADING, BODY_BOX, layout.body_top,
                         justify=True)
        if item.verify_url:
            draw_qr(c, item.verify_url, QR_BOX.x, QR_BOX.y, QR_BOX.width)
            c.setFont(self.fonts.regular, 8)
            c.setFillColor(GREY)
            c.drawString(QR_BOX.right + 2.5 * mm, QR_BOX.y + 1 * mm, QR_CAPTION)
            c.setFillColor(colors.black)
        number_top = NUMBER_BOX.top - layout.number_size * 0.88
        self._draw_lines(c, layout.number_lines, layout.number_size, 1.25, NUMBER_BOX, number_top)
        centre = ISSUER_BOX.x + ISSUER_BOX.width / 2
        if layout.issuer_lines:
            count = len(layout.issuer_lines)
            baseline = ISSUER_BOX.y + layout.issuer_size * 0.12 + (count - 1) * layout.issuer_size * ISSUER_LEADING
            for line in layout.issuer_lines:
                c.setFont(line.font, layout.issuer_size)
                c.drawCentredString(centre, baseline, line.text)
                baseline -= layout.issuer_size * ISSUER_LEADING
        if layout.date_size:
            c.setFont(self.fonts.regular, layout.date_size)
            c.drawCentredString(centre, DATE_BOX.y + (DATE_BOX.height - layout.date_size) / 2 + layout.date_size * 0.12,
                                item.date_text.strip())
        if self.seal:
            x, y = SEAL_CENTRE
            c.drawImage(self.seal, x - SEAL_SIZE / 2, y - SEAL_SIZE / 2, SEAL_SIZE, SEAL_SIZE, mask="auto",
                        preserveAspectRatio=True, anchor="c")
        if item.revoked:
            self._draw_revoked(c)
        return layout

    def _draw_background(self, c) -> None:
        if self.border:
            c.drawImage(self.border, 0, 0, W, H, mask="auto")
        elif self.settings.frame:
            c.saveState()
            c.setStrokeColor(RED)
            c.setLineWidth(2.4)
            c.rect(FRAME_OUTER, FRAME_OUTER, W - 2 * FRAME_OUTER, H - 2 * FRAME_OUTER, stroke=1, fill=0)
            c.setStrokeColor(GOLD)
            c.setLineWidth(0.8)
            c.rect(FRAME_INNER, FRAME_INNER, W - 2 * FRAME_INNER, H - 2 * FRAME_INNER, stroke=1, fill=0)
            c.restoreState()

    def _draw_title(self, c, title: str, layout: CertificateLayout) -> None:
        size, space = layout.title_size, layout.title_space
        width = self.bold.text(title) * size + space * (len(title) - 1)
        c.setFillColor(RED)
        c.setFont(self.fonts.bold, size)
        c.drawString(W / 2 - width / 2, TITLE_BOX.y + (TITLE_BOX.height - size) / 2 + size * 0.12, title,
                     charSpace=space)
        c.setFillColor(colors.black)

    def _draw_lines(self, c, lines: list[Line], size: float, leading: float, box: Box, baseline: float,
                    justify: bool = False) -> None:
        font = None
        for line in lines:
            if line.font != font:
                font = line.font
                c.setFont(font, size)
            x = box.x + line.indent * size
            space = 0.0
            if justify and not line.last and len(line.text) > 1:
                slack = box.width - x + box.x - line.width * size
                space = slack / (len(line.text) - 1)
                if not 0 < space <= size * 0.5:
                    space = 0.0
            c.drawString(x, baseline, line.text, charSpace=space) if space else c.drawString(x, baseline, line.text)
            baseline -= size * leading

    def _draw_revoked(self, c) -> None:
        c.saveState()
        c.setFillColor(RED)
        c.setStrokeColor(RED)
        c.setFillAlpha(0.14)
        c.setFont(self.fonts.bold, 150)
        c.translate(W / 2, H / 2 - 10 * mm)
        c.rotate(20)
        c.drawCentredString(0, -50, REVOKED)
        c.restoreState()
        c.saveState()
        c.setStrokeColor(RED)
        c.setFillColor(RED)
        c.setLineWidth(1.6)
        box = REVOKED_BOX
        c.roundRect(box.x, box.y, box.width, box.height, 2 * mm, stroke=1, fill=0)
        size = 18
        c.setFont(self.fonts.bold, size)
        c.drawCentredString(box.x + box.width / 2, box.y + (box.height - size) / 2 + size * 0.12, REVOKED,
                            charSpace=size * 0.2)
        c.restoreState()


def _salutation(text: str, recipient: str) -> tuple[str, str]:
    """("王彧同学：", the rest) when text begins with the recipient and a colon soon after."""
    recipient = " ".join(recipient.split())
    if not recipient or not text.startswith(recipient):
        return "", text
    for index in range(len(recipient), min(len(text), len(recipient) + 6)):
        if text[index] in "：:":
            return text[:index + 1], text[index + 1:].strip()
    return "", text


def draw_qr(c, value: str, x: float, y: float, size: float) -> None:
    """A QR code (reportlab's encoder, level M) on a white square with a two-module margin.

    The dark modules go into the page as one filled path of rectangles in module units
    (0 0 at the top-left module, rows downwards): whole numbers that format fast and compress
    well, instead of ~300 rect() calls with four formatted floats each."""
    qr = QrCodeWidget(value, barLevel="M", barBorder=0).qr
    qr.make()
    count = qr.getModuleCount()
    module = size / count
    ops = []
    for row, modules in enumerate(qr.modules):
        column = 0
        for dark, run in itertools.groupby(modules):
            length = sum(1 for _ in run)
            if dark:
                ops.append(f"{column} {row} {length} 1 re")
            column += length
    c.saveState()
    c.setFillColor(colors.white)
    c.rect(x - 2 * module, y - 2 * module, size + 4 * module, size + 4 * module, stroke=0, fill=1)
    c.setFillColor(colors.black)
    c.transform(module, 0, 0, -module, x, y + size)  # module units, y downwards
    ops.append("f")
    c.addLiteral("\n".join(ops))
    c.restoreState()


def preflight(items: Iterable[CertificateData], fonts: FontSet | None = None,
              settings: PrintSettings | None = None) -> list[str]:
    """Every reason the batch would not print, as Chinese messages, without drawing anything:
    the missing characters (one message naming each certificate) and each text too long for its
    box. Empty when the whole batch will print. About a millisecond a certificate."""
    renderer = CertificateRenderer(fonts, settings)
    problems: list[str] = []
    missing: list[tuple[str, list[str]]] = []
    for item in items:
        try:
            renderer.layout(item)
        except FontCoverageError as error:
            missing.extend(error.missing)
        except ValueError as error:
            problems.append(str(error))
    if missing:
        problems.insert(0, FontCoverageError(missing, renderer.fonts.family).message)
    return problems


# --- Streaming --------------------------------------------------------------------------------------

def _pages(items: Iterable[CertificateData], fonts: FontSet | None, settings: PrintSettings | None,
           write) -> Iterator[int]:
    """Draw each item as it comes and hand the bytes to write; yields the page count after each
    page (and once more after the file is complete). Nothing is written when the first certificate
    fails its checks; a later failure leaves the output incomplete (run check_glyphs first)."""
    renderer = CertificateRenderer(fonts, settings)
    iterator = iter(items)
    first = next(iterator, None)
    if first is None:
        raise ValueError("没有可打印的证书。")
    first_layout = renderer.layout(first)
    c = StreamingCanvas(write, pagesize=PAGE, pageCompression=1, initialFontName=renderer.fonts.regular)
    c.setTitle(renderer.settings.document_title)
    c.setCreator("judging")
    c.setAuthor(first.issuer.splitlines()[0] if first.issuer.strip() else "")
    renderer.draw(c, first, first_layout)
    c.showPage()
    count = 1
    yield count
    for item in iterator:
        renderer.draw(c, item)
        c.showPage()
        count += 1
        yield count
    c.save()
    yield count


def write_certificates(items: Iterable[CertificateData], out: str | os.PathLike | BinaryIO,
                       fonts: FontSet | None = None, settings: PrintSettings | None = None,
                       on_page: Callable[[int], object] | None = None) -> int:
    """Print items, one certificate per page, into one PDF; returns the number of pages.

    out: a path (written to a temporary file beside it and renamed when complete, so a failure
    never leaves half a PDF) or a binary file object (written to as pages are finished; on error
    it holds a partial file; a zipfile entry opened for writing will do). items may be a
    generator: it is read once, one item at a time. on_page(count) is called after each page
    (progress of a background job)."""
    if isinstance(out, (str, os.PathLike)):
        target = Path(out)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                count = write_certificates(items, handle, fonts, settings, on_page)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return count
    count = done = 0
    for count in _pages(items, fonts, settings, out.write):
        if on_page and count != done:
            on_page(count)
        done = count
    return count


def iter_certificates_pdf(items: Iterable[CertificateData], fonts: FontSet | None = None,
                          settings: PrintSettings | None = None, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
    """The PDF as a sequence of byte chunks (about chunk_size each), made as they are consumed: for
    a streamed HTTP response (Response(stream_with_context(iter_certificates_pdf(...)))). The first
    certificate is checked before the first byte; run check_glyphs over the batch beforehand so a
    later certificate cannot break the download halfway."""
    pending: list[bytes] = []
    size = 0

    def collect(data: bytes) -> None:
        nonlocal size
        pending.append(data)
        size += len(data)

    for _ in _pages(items, fonts, settings, collect):
        if size >= chunk_size:
            yield b"".join(pending)
            pending.clear()
            size = 0
    if pending:
        yield b"".join(pending)
