"""Printed registration documents: the label sheet (作品标签) and the catalogue by category (分类造册).

"各校将优秀作品贴上标签，分类造册，附上说明上交" (DOMAIN): a school prints a label for each work
and a register per category; the organizers print blind labels (no student, school or instructor)
for the judging hall.

The builders are pure: they take PrintEntry rows (plain data) and write to a binary file object.
load_entries() is the one database read that makes the rows (one query for the entries with their
category, division and school joined, plus one each for students and instructors).

Every text a teacher typed goes into reportlab Paragraph markup through markup() (xml escape), so
a title like "<b>x</b> & y" prints literally. Before anything is drawn every printed text is
checked against the font's cmap: a character the font lacks raises FontCoverageError naming the
entry and the character, instead of printing a box.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import (
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from judging.core.fonts import FontSet, check_coverage, ensure_fonts
from judging.core.pdf import (
    DeferredCanvas,
    SectionedDoc,
    SectionMarker,
    draw_page_footer,
    markup,
    paragraph_style,
)
from judging.core.sheets import append_row

CATALOGUE_COLUMNS = ("序号", "作品编号", "作品名称", "组别", "学校", "学生", "指导教师")
LIST_JOIN = "、"


@dataclass(frozen=True)
class PrintEntry:
    """What a label or a catalogue row shows of an entry."""

    code: str
    title: str
    category: str
    division: str
    school: str
    students: tuple[str, ...] = ()
    instructors: tuple[str, ...] = ()
    subform: str | None = None

    @property
    def category_label(self) -> str:
        """小发明, or 科幻画（卡通画） with the work's form."""
        return f"{self.category}（{self.subform}）" if self.subform else self.category

    @property
    def student_names(self) -> str:
        return LIST_JOIN.join(self.students)

    @property
    def instructor_names(self) -> str:
        return LIST_JOIN.join(self.instructors)

    @classmethod
    def from_entry(cls, entry) -> "PrintEntry":
        return cls(code=entry.code, title=entry.title, category=entry.category.name, division=entry.division.name,
                   school=entry.school.name, students=tuple(s.name for s in entry.students),
                   instructors=tuple(i.name for i in entry.instructors), subform=entry.subform)


# --- Loading ----------------------------------------------------------------------------------

def load_entries(edition_id: int, school_id: int | None = None, category_id: int | None = None) -> list[PrintEntry]:
    """The printable entries of an edition (every status but disqualified), in catalogue order:
    category, division (as set up), then code."""
    from sqlalchemy import select
    from sqlalchemy.orm import contains_eager, selectinload

    from judging.contests.models import Category, Division
    from judging.extensions import db
    from judging.registration.models import Entry

    stmt = (
        select(Entry)
        .join(Entry.category).join(Entry.division).join(Entry.school)
        .options(contains_eager(Entry.category), contains_eager(Entry.division), contains_eager(Entry.school),
                 selectinload(Entry.students), selectinload(Entry.instructors))
        .where(Entry.edition_id == edition_id, Entry.status != "disqualified")
        .order_by(Category.position, Category.id, Division.position, Division.id, Entry.sequence, Entry.code)
    )
    if school_id is not None:
        stmt = stmt.where(Entry.school_id == school_id)
    if category_id is not None:
        stmt = stmt.where(Entry.category_id == category_id)
    return [PrintEntry.from_entry(e) for e in db.session.scalars(stmt).unique()]


def group_by_category(entries: Iterable[PrintEntry]) -> list[tuple[str, list[PrintEntry]]]:
    """Categories in order of first appearance (load_entries sorts by the edition's order)."""
    groups: dict[str, list[PrintEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.category, []).append(entry)
    return list(groups.items())


# --- Shared helpers ------------------------------------------------------------------------------

def _edition_title(edition) -> str:
    if edition is None:
        return ""
    return edition if isinstance(edition, str) else edition.title


def _check_entries(fonts: FontSet, entries: Sequence[PrintEntry], fixed: Iterable[str], blind: bool = False,
                   extra: Iterable[tuple[str, str]] = ()) -> None:
    """Every text that will be printed, by where it comes from; raises FontCoverageError."""
    items: list[tuple[str, str]] = [("页面固定文字", text) for text in fixed]
    items.extend(extra)
    for entry in entries:
        where = f"作品 {entry.code}"
        texts = [entry.code, entry.title, entry.category_label, entry.division]
        if not blind:
            texts += [entry.school, *entry.students, *entry.instructors]
        items.extend((where, text) for text in texts)
    check_coverage(items, fonts)


def _cut_line(c, x1, y1, x2, y2) -> None:
    c.saveState()
    c.setStrokeColor(colors.HexColor("#9AA4AE"))
    c.setLineWidth(0.4)
    c.setDash(3, 2)
    c.line(x1, y1, x2, y2)
    c.restoreState()


# --- Label sheet ------------------------------------------------------------------------------

LABEL_COLUMNS = 2
LABEL_ROWS = 5
PAGE_MARGIN_X = 10 * mm
PAGE_MARGIN_Y = 13.5 * mm
LABEL_PADDING = 4 * mm
QR_SIZE = 18 * mm
LABEL_CAPTIONS = ("作品编号", "类别：", "组别：", "\u00a0", "作品名称：", "学校：", "学生：", "指导教师：",
                  "作品标签", "（盲评）", "沿虚线剪开", "第", "页", "共", "　")


def label_sheet_pdf(entries: Sequence[PrintEntry], blind: bool, out: BinaryIO, title: str = "",
                    fonts: FontSet | None = None) -> None:
    """An A4 portrait sheet of 2 x 5 labels per page, separated by dashed cut lines.

    Each label: 作品编号 (large), a QR code of the code, 类别（作品形式）, 组别, 作品名称 (wrapped,
    shrunk to fit), and unless blind 学校, 学生, 指导教师. title (the edition) heads each page."""
    fonts = fonts or ensure_fonts()
    _check_entries(fonts, entries, LABEL_CAPTIONS, blind, [("页眉", title)])
    page_w, page_h = A4
    label_w = (page_w - 2 * PAGE_MARGIN_X) / LABEL_COLUMNS
    label_h = (page_h - 2 * PAGE_MARGIN_Y) / LABEL_ROWS
    per_page = LABEL_COLUMNS * LABEL_ROWS
    pages = max(1, -(-len(entries) // per_page))
    c = pdfcanvas.Canvas(out, pagesize=A4, pageCompression=1, initialFontName=fonts.regular)
    c.setTitle("作品标签（盲评）" if blind else "作品标签")
    c.setAuthor(title or "")
    c.setCreator("judging")
    for page in range(pages):
        chunk = entries[page * per_page:(page + 1) * per_page]
        heading = "　".join(p for p in (title, "作品标签" + ("（盲评）" if blind else ""), "沿虚线剪开",
                                        f"第 {page + 1} 页 共 {pages} 页") if p)
        c.setFont(fonts.regular, 7.5)
        c.setFillColor(colors.HexColor("#555555"))
        c.drawString(PAGE_MARGIN_X, page_h - PAGE_MARGIN_Y + 4 * mm, heading)
        c.setFillColor(colors.black)
        if not chunk:
            c.setFont(fonts.regular, 12)
            c.drawString(PAGE_MARGIN_X, page_h - PAGE_MARGIN_Y - 12 * mm, "没有可打印标签的作品。")
        rows_used = -(-len(chunk) // LABEL_COLUMNS)
        for index, entry in enumerate(chunk):
            row, col = divmod(index, LABEL_COLUMNS)
            x = PAGE_MARGIN_X + col * label_w
            y = page_h - PAGE_MARGIN_Y - (row + 1) * label_h
            _draw_label(c, fonts, entry, blind, x, y, label_w, label_h)
        # Cut lines around the used rows (the whole grid of those rows, so the cuts run straight).
        if rows_used:
            top = page_h - PAGE_MARGIN_Y
            bottom = top - rows_used * label_h
            for r in range(rows_used + 1):
                _cut_line(c, PAGE_MARGIN_X, top - r * label_h, page_w - PAGE_MARGIN_X, top - r * label_h)
            for col in range(LABEL_COLUMNS + 1):
                _cut_line(c, PAGE_MARGIN_X + col * label_w, top, PAGE_MARGIN_X + col * label_w, bottom)
        c.showPage()
    c.save()


def _draw_qr(c, value: str, x: float, y: float, size: float) -> None:
    widget = QrCodeWidget(value, barLevel="M", barBorder=1)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    drawing.initialFontName = c._fontname  # else renderPDF selects an unembedded Helvetica
    renderPDF.draw(drawing, c, x, y)


def _fit_code(code: str, font: str, width: float, largest: float) -> float:
    """The largest size (down to 9 pt) at which the code fits on one line."""
    natural = stringWidth(code, font, 1) or 1
    return max(9.0, min(largest, width / natural))


def _field(caption: str, value: str, fonts: FontSet, size: float, bold_value: bool = False,
           tail: tuple[str, str] | None = None) -> Paragraph:
    """"caption：value" with the caption in grey; tail adds a second caption and value on the line."""
    value_font = fonts.bold if bold_value else fonts.regular
    caption_size = min(size, 8.5)
    text = (f'<font name="{fonts.regular}" size="{caption_size}" color="#555555">{caption}</font>'
            f'<font name="{value_font}">{markup(value)}</font>')
    if tail:
        text += (f'&nbsp;&nbsp;&nbsp;&nbsp;<font name="{fonts.regular}" color="#555555">{tail[0]}</font>'
                 f'<font name="{fonts.regular}">{markup(tail[1])}</font>')
    return Paragraph(text, paragraph_style("field", fonts.regular, size))


def _draw_label(c, fonts: FontSet, entry: PrintEntry, blind: bool, x: float, y: float, w: float, h: float) -> None:
    inner_x, inner_y = x + LABEL_PADDING, y + LABEL_PADDING
    inner_w, inner_h = w - 2 * LABEL_PADDING, h - 2 * LABEL_PADDING
    top = inner_y + inner_h

    # Top block: code and classification on the left, the QR code on the right.
    _draw_qr(c, entry.code, inner_x + inner_w - QR_SIZE, top - QR_SIZE, QR_SIZE)
    left_w = inner_w - QR_SIZE - 3 * mm
    cursor = top
    c.setFont(fonts.regular, 7)
    c.setFillColor(colors.HexColor("#555555"))
    cursor -= 7
    c.drawString(inner_x, cursor, "作品编号")
    c.setFillColor(colors.black)
    code_size = _fit_code(entry.code, fonts.bold, left_w, 26 if blind else 22)
    if stringWidth(entry.code, fonts.bold, code_size) <= left_w:
        cursor -= code_size * 0.95
        c.setFont(fonts.bold, code_size)
        c.drawString(inner_x, cursor, entry.code)
        cursor -= code_size * 0.25
    else:  # a very long code pattern: wrap it rather than run into the QR code
        para = Paragraph(markup(entry.code), paragraph_style("code", fonts.bold, code_size))
        _, ph = para.wrap(left_w, inner_h)
        cursor -= ph
        para.drawOn(c, inner_x, cursor)
    cursor -= 1.5
    # 类别 and 组别 share a line when it fits, else each gets its own (wrapping if need be).
    both = _field("类别：", entry.category_label, fonts, 8.5, tail=("组别：", entry.division))
    lines = [both] if both.wrap(left_w, inner_h)[1] <= 8.5 * 1.25 + 0.01 else [
        _field("类别：", entry.category_label, fonts, 8.5), _field("组别：", entry.division, fonts, 8.5)]
    for para in lines:
        _, ph = para.wrap(left_w, inner_h)
        cursor -= ph
        para.drawOn(c, inner_x, cursor)
    block_bottom = min(cursor, top - QR_SIZE) - 1.5 * mm
    c.saveState()
    c.setStrokeColor(colors.HexColor("#C8CED4"))
    c.setLineWidth(0.5)
    c.line(inner_x, block_bottom, inner_x + inner_w, block_bottom)
    c.restoreState()

    # Body: the title gets the room; it shrinks (then everything does) until all fits.
    available = block_bottom - 1.5 * mm - inner_y
    gap = 0.8
    paras, scale = _fit_body(entry, blind, fonts, inner_w, available, gap)
    c.saveState()
    c.translate(inner_x, block_bottom - 1.5 * mm)
    c.scale(scale, scale)
    cursor = 0.0
    for para, ph in paras:
        cursor -= ph
        para.drawOn(c, 0, cursor)
        cursor -= gap
    c.restoreState()


def _body_sizes(blind: bool):
    """(title size, field size) candidates, largest first: the title shrinks first, then the
    fields, then both."""
    for size in ([16, 15, 14, 13, 12, 11, 10.5] if blind else [11, 10.5]) + [10, 9.5, 9, 8.5, 8, 7.5, 7, 6.5]:
        yield size, 8.5
    for field_size in (8, 7.5, 7):
        yield 6.5, field_size
    for step in range(1, 5):
        yield 6.5 - step * 0.25, 7 - step * 0.25


def _fit_body(entry: PrintEntry, blind: bool, fonts: FontSet, width: float, height: float, gap: float):
    """The body paragraphs with their heights, and the scale to draw them at (1 unless even the
    smallest sizes overflow: then the whole body is scaled down, so nothing is ever cut off)."""
    fields = [] if blind else [("学校：", entry.school), ("学生：", entry.student_names),
                               ("指导教师：", entry.instructor_names)]

    def layout(title_size, field_size, wrap_width):
        paras = [_field("作品名称：", entry.title, fonts, title_size, bold_value=True)]
        paras += [_field(caption, value, fonts, field_size) for caption, value in fields]
        sized = [(p, p.wrap(wrap_width, 10_000)[1]) for p in paras]
        return sized, sum(ph for _, ph in sized) + gap * (len(sized) - 1)

    for title_size, field_size in _body_sizes(blind):
        sized, total = layout(title_size, field_size, width)
        if total <= height:
            return sized, 1.0
    # Only texts near the forms' length limits get here (e.g. a 200-character title and three
    # 40-character names): wrap wider and scale the whole body down until it fits.
    scale = 1.0
    while True:
        scale *= 0.95
        sized, total = layout(title_size, field_size, width / scale)
        if total * scale <= height or scale < 0.2:
            return sized, scale


# --- Catalogue (PDF) --------------------------------------------------------------------------

CATALOGUE_WIDTHS_MM = (12, 27, 72, 20, 48, 50, 44)  # sums to 273 mm: A4 landscape less 2 x 12 mm
CATALOGUE_FIXED = (*CATALOGUE_COLUMNS, "作品登记表", "（续）", "第", "页", "共", "件作品", "暂无作品。", "打印日期：")


class _CatalogueDoc(SectionedDoc):
    """Continued pages of a category get a running head naming it."""

    continued_format = "{heading}{name}作品登记表（续）"


def _numbered_canvas(fonts: FontSet, left_text: str):
    """A canvas that writes "第 x 页 共 y 页" on every page once the total is known."""

    class NumberedCanvas(DeferredCanvas):
        initial_font = fonts.regular

        def draw_footer(self, index, state):
            draw_page_footer(self, fonts.regular, index + 1, len(self._saved_pages), 12 * mm, left_text)

    return NumberedCanvas


def catalogue_pdf(entries: Sequence[PrintEntry], edition, out: BinaryIO, fonts: FontSet | None = None,
                  printed_on: dt.date | None = None) -> None:
    """A4 landscape; per category a new page with the title "{届次大赛名称}{类别}作品登记表" and a
    table (序号, 作品编号, 作品名称, 组别, 学校, 学生, 指导教师) whose header repeats on every page."""
    fonts = fonts or ensure_fonts()
    heading = _edition_title(edition)
    printed_on = printed_on or dt.date.today()
    groups = group_by_category(entries)
    _check_entries(fonts, entries, CATALOGUE_FIXED,
                   extra=[("届次名称", heading)] + [(f"类别「{name}」", name) for name, _ in groups])
    pagesize = landscape(A4)
    doc = _CatalogueDoc(out, fonts, heading, pagesize=pagesize, leftMargin=12 * mm, rightMargin=12 * mm,
                        topMargin=14 * mm, bottomMargin=15 * mm, title=f"{heading}作品登记表",
                        author=heading, creator="judging")
    title_style = paragraph_style("title", fonts.bold, 16, 22, TA_CENTER)
    count_style = paragraph_style("count", fonts.regular, 9, 12, TA_RIGHT, colors.HexColor("#444444"))
    header_style = paragraph_style("th", fonts.bold, 9.5, 12, TA_CENTER)
    cell_style = paragraph_style("td", fonts.regular, 9, 11.5)
    number_style = paragraph_style("tdn", fonts.regular, 9, 11.5, TA_CENTER)
    widths = [w * mm for w in CATALOGUE_WIDTHS_MM]
    story: list = []
    if not groups:
        story += [Paragraph(markup(f"{heading}作品登记表"), title_style), Spacer(0, 8 * mm),
                  Paragraph("暂无作品。", paragraph_style("empty", fonts.regular, 11))]
    for index, (category, rows) in enumerate(groups):
        if index:
            story.append(PageBreak())
        story.append(SectionMarker(category))
        story.append(Paragraph(markup(f"{heading}{category}作品登记表"), title_style))
        story.append(Spacer(0, 2 * mm))
        story.append(Paragraph(f"共 {len(rows)} 件作品", count_style))
        story.append(Spacer(0, 2 * mm))
        data = [[Paragraph(h, header_style) for h in CATALOGUE_COLUMNS]]
        for number, entry in enumerate(rows, start=1):
            data.append([
                Paragraph(str(number), number_style),
                Paragraph(markup(entry.code), cell_style),
                Paragraph(markup(entry.title + (f"（{entry.subform}）" if entry.subform else "")), cell_style),
                Paragraph(markup(entry.division), cell_style),
                Paragraph(markup(entry.school), cell_style),
                Paragraph(markup(entry.student_names), cell_style),
                Paragraph(markup(entry.instructor_names), cell_style),
            ])
        table = Table(data, colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), fonts.regular),  # the cells' base font: no unembedded Helvetica
            ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#8A949E")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E6ECF2")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]))
        story.append(table)
    canvasmaker = _numbered_canvas(fonts, f"打印日期：{printed_on.isoformat()}")
    doc.build(story, canvasmaker=canvasmaker)


# --- Catalogue (Excel) ------------------------------------------------------------------------

CATALOGUE_XLSX_WIDTHS = (6, 14, 44, 10, 30, 26, 20)
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique worksheet name (31 characters, none of [ ] : * ? / \\)."""
    base = _SHEET_FORBIDDEN.sub("_", name).strip("'") or "作品"
    title = base[:31]
    n = 2
    while title.lower() in taken:
        suffix = f"({n})"
        title = base[:31 - len(suffix)] + suffix
        n += 1
    taken.add(title.lower())
    return title


def catalogue_xlsx(entries: Sequence[PrintEntry], edition, out: BinaryIO) -> None:
    """One sheet per category: a title row, then the same columns as the PDF. Every cell goes
    through sheets.escape_cell, so a title typed as =1+1 stays text."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    heading = _edition_title(edition)
    groups = group_by_category(entries) or [("作品登记表", [])]
    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="E6ECF2")
    thin = Side(style="thin", color="8A949E")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center")
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for category, rows in groups:
        ws = wb.create_sheet(_sheet_title(category, taken))
        title = f"{heading}{category}作品登记表" if rows else f"{heading}作品登记表"
        append_row(ws, [title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(CATALOGUE_COLUMNS))
        ws["A1"].font = Font(bold=True, size=14)
        ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
        ws.row_dimensions[1].height = 24
        append_row(ws, CATALOGUE_COLUMNS)
        for cell in ws[2]:
            cell.font = bold
            cell.fill = fill
            cell.border = border
            cell.alignment = centre
        for number, entry in enumerate(rows, start=1):
            append_row(ws, [number, entry.code, entry.title + (f"（{entry.subform}）" if entry.subform else ""),
                            entry.division, entry.school, entry.student_names, entry.instructor_names])
            for cell in ws[ws.max_row]:
                cell.border = border
                cell.alignment = centre if cell.column == 1 else wrap
        for index, width in enumerate(CATALOGUE_XLSX_WIDTHS, start=1):
            ws.column_dimensions[ws.cell(row=2, column=index).column_letter].width = width
        ws.freeze_panes = "A3"
        ws.print_title_rows = "2:2"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    wb.save(out)
