"""Instructor reward sheets (辅导教师奖励表): per school, each instructor with the entries he coached
and their prizes, the amount (元) and points (加分) owed, a 签领 column to sign in, school totals and
an overall summary; as Excel and as PDF.

The figures are never computed here: they are reports.reward_lines() of the edition's final
results (source.final_snapshot), the same rows the results workbook's 辅导教师奖励 sheet holds
(DOMAIN rule 7: co-instructors split to 0.01 with the remainder to the first, summed or max per the
edition's setting). This module only groups them by school, adds them up and lays them out.

- reward_sheet(snapshot): the data (RewardSheet): edition title, round, issue date, the rule in
  words, then per school (by school code where schools have one, then school name in 姓氏笔画
  order, as reward_lines orders them) its instructors in reward_lines' order with their entries,
  one line per entry ("XFX-001 · 智能垃圾桶 · 一等奖", plus "与…合作指导" for a shared entry).
- write_rewards_xlsx / rewards_xlsx: a 汇总 sheet first (per school totals and the overall total),
  then one sheet per school (序号, 指导教师, 学校, 指导作品（编号·名称·奖项）, 金额（元）, 加分,
  签领); A4, the header row repeated on every printed page, fit to width; amounts and points are
  numbers with two decimals; every text cell goes through sheets.escape_cell.
- rewards_pdf: A4 portrait; a summary page, then per school a page group titled
  "第十三届XX县青少年科技创新大赛辅导教师奖励表" with the school, the table (a 签领 column 32 mm
  wide and every row at least 10 mm high, room for a signature), the school total and lines for the
  signatures of who hands out and who checks. The Chinese font is embedded (a missing glyph raises
  FontCoverageError before anything is drawn), long texts wrap, the table header repeats on a new
  page, and "第 x 页 共 y 页" counts the pages of each school's group, so the sheet sent to a
  school is complete in itself (the footer also gives the page in the whole file).
"""
from __future__ import annotations

import datetime as dt
import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import KeepTogether, PageBreak, Paragraph, Spacer, Table, TableStyle

from judging.core.fonts import FontSet, check_coverage, ensure_fonts
from judging.core.pdf import DeferredCanvas, SectionedDoc, SectionMarker, draw_page_footer, markup, paragraph_style
from judging.core.sheets import append_row
from judging.core.strokes import name_sort_key
from judging.results import reports
from judging.results.exports import sheet_title
from judging.results.models import ResultSnapshot

ZERO = Decimal("0.00")
SHEET_NAME = "辅导教师奖励表"
SUMMARY_TITLE = "汇总"
SUMMARY_HEADING = "各校汇总"
HEADERS = ("序号", "指导教师", "学校", "指导作品（编号·名称·奖项）", "金额（元）", "加分", "签领")
PDF_HEADERS = ("序号", "指导教师", "指导作品（编号·名称·奖项）", "金额（元）", "加分", "签领")
SUMMARY_HEADERS = ("序号", "学校", "教师人数", "获奖作品（件）", "金额（元）", "加分", "签领")
SCHOOL_TOTAL = "本校合计"
OVERALL_TOTAL = "合计"
EMPTY_EDITION = "本届没有应发放的辅导教师奖励（获奖作品均未填写指导教师，或奖项未设奖励标准）。"
EMPTY_SCHOOL = "本校没有应发放的辅导教师奖励。"
SIGN_LINE = "经办人（签字）：＿＿＿＿＿＿＿＿　　审核人（签字）：＿＿＿＿＿＿＿＿　　学校（盖章）"
ENTRY_SEPARATOR = " · "
MONEY_FORMAT = "0.00"


# --- the data -----------------------------------------------------------------------------------

@dataclass
class RewardRow:
    """One instructor: amount and points exactly as reports.reward_lines gives them."""

    number: int  # 序号 within the school
    name: str
    school_id: int
    school_name: str
    entries: list[str]  # one line per coached prized entry
    amount: Decimal
    points: Decimal
    codes: tuple[str, ...] = ()


@dataclass
class SchoolSheet:
    school_id: int
    school_name: str
    school_code: str | None
    rows: list[RewardRow] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        return sum((r.amount for r in self.rows), ZERO)

    @property
    def points(self) -> Decimal:
        return sum((r.points for r in self.rows), ZERO)

    @property
    def entry_count(self) -> int:
        return len({code for r in self.rows for code in r.codes})

    @property
    def count_text(self) -> str:
        return f"共{len(self.rows)}位教师，{self.entry_count}件获奖作品"


@dataclass
class RewardSheet:
    edition_title: str  # 第十三届XX县青少年科技创新大赛
    round_name: str  # 终评
    issued_on: dt.date
    rule_note: str  # the reward table and the split / accumulation setting, in words
    schools: list[SchoolSheet]
    single_school: bool = False  # made for one school: no summary page

    @property
    def title(self) -> str:
        """第十三届XX县青少年科技创新大赛辅导教师奖励表"""
        return f"{self.edition_title}{SHEET_NAME}"

    @property
    def info_line(self) -> str:
        return f"依据：{self.round_name}最终结果　　发放日期：{date_text(self.issued_on)}"

    @property
    def rows(self) -> list[RewardRow]:
        return [row for school in self.schools for row in school.rows]

    @property
    def amount(self) -> Decimal:
        return sum((s.amount for s in self.schools), ZERO)

    @property
    def points(self) -> Decimal:
        return sum((s.points for s in self.schools), ZERO)

    @property
    def instructor_count(self) -> int:
        return len(self.rows)

    @property
    def entry_count(self) -> int:
        return sum(s.entry_count for s in self.schools)


def date_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def money_text(value: Decimal) -> str:
    return f"{value:.2f}"


def rule_note(edition, levels) -> str:
    """奖励标准：一等奖300元、3分；…。合作指导…；同一教师…。"""
    table = [f"{lv.name}{money_text(Decimal(lv.reward_amount or 0)).removesuffix('.00')}元、"
             f"{format(Decimal(lv.reward_points or 0).normalize(), 'f')}分"
             for lv in levels if (lv.reward_amount or 0) != 0 or (lv.reward_points or 0) != 0]
    parts = ["奖励标准：" + ("；".join(table) if table else "未设置")]
    if edition.reward_split == "full":
        parts.append("合作指导的作品，每位指导教师均按全额奖励")
    else:
        parts.append("合作指导的作品，奖励由各指导教师平分（精确到0.01，余数计入第一指导教师）")
    if edition.reward_accumulation == "max":
        parts.append("同一教师指导多件获奖作品的，按其中最高一项奖励")
    else:
        parts.append("同一教师指导多件获奖作品的，奖励累加")
    return "。".join(parts) + "。"


def _issue_date(edition, issued_on: dt.date | None) -> dt.date:
    if issued_on is not None:
        return issued_on
    settings = edition.certificate_settings
    if settings is not None and settings.issue_date is not None:
        return settings.issue_date
    return dt.date.today()


def _school_key(school: SchoolSheet) -> tuple:
    code = (school.school_code or "").strip()
    return (not code, reports.code_sort_key(code), name_sort_key(school.school_name), school.school_id)


def reward_sheet(snapshot: ResultSnapshot, school_id: int | None = None,
                 issued_on: dt.date | None = None) -> RewardSheet:
    """The reward sheet of the snapshot (all schools, or one: then it is there even without a row).

    Amount and points per instructor are reward_lines' own; totals are their sums."""
    from sqlalchemy import select

    from judging.contests.models import PrizeLevel
    from judging.core.models import School
    from judging.extensions import db

    edition = snapshot.edition
    rewards = reports.reward_lines(snapshot)
    instructors = {line.code: line.instructors for line in reports.result_lines(snapshot)}
    school_ids = {r.school_id for r in rewards} | ({school_id} if school_id is not None else set())
    schools_db = {s.id: s for s in db.session.scalars(select(School).where(School.id.in_(school_ids)))} \
        if school_ids else {}
    schools: dict[int, SchoolSheet] = {}
    if school_id is not None:
        school = schools_db.get(school_id)
        if school is None:
            raise LookupError(f"school {school_id} does not exist")
        schools[school_id] = SchoolSheet(school.id, school.name, school.code)
    for reward in rewards:
        if school_id is not None and reward.school_id != school_id:
            continue
        sheet = schools.get(reward.school_id)
        if sheet is None:
            school = schools_db.get(reward.school_id)
            sheet = schools[reward.school_id] = SchoolSheet(reward.school_id, reward.school_name,
                                                            school.code if school else None)
        lines = []
        for code, title, level in reward.entries:
            line = ENTRY_SEPARATOR.join(p for p in (code, title, level) if p)
            partners = [n for n in instructors.get(code, ()) if n.strip() != reward.name.strip()]
            if partners:
                line += f"（与{'、'.join(partners)}合作指导）"
            lines.append(line)
        sheet.rows.append(RewardRow(len(sheet.rows) + 1, reward.name, reward.school_id, reward.school_name, lines,
                                    reward.amount, reward.points, tuple(code for code, _, _ in reward.entries)))
    levels = list(db.session.scalars(select(PrizeLevel).where(PrizeLevel.edition_id == edition.id)
                                     .order_by(PrizeLevel.position)))
    return RewardSheet(edition.title, snapshot.round.name, _issue_date(edition, issued_on),
                       rule_note(edition, levels), sorted(schools.values(), key=_school_key),
                       single_school=school_id is not None)


def final_reward_sheet(edition, school_id: int | None = None, issued_on: dt.date | None = None) -> RewardSheet:
    """reward_sheet of the edition's final results; PrintingError while they are not final."""
    from judging.printing.source import final_snapshot

    return reward_sheet(final_snapshot(edition), school_id, issued_on)


# --- Excel ----------------------------------------------------------------------------------------

XLSX_WIDTHS = {"序号": 6, "指导教师": 12, "学校": 20, "指导作品（编号·名称·奖项）": 46, "金额（元）": 11, "加分": 8,
               "签领": 16, "教师人数": 10, "获奖作品（件）": 13}
LINE_POINTS = 15  # Excel row height per text line at 11 pt
SIGN_POINTS = 30  # at least this high: room to sign


def _styles():
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="8A949E")
    return {
        "title": Font(bold=True, size=14),
        "subtitle": Font(bold=True, size=12),
        "note": Font(size=10, color="444444"),
        "bold": Font(bold=True),
        "fill": PatternFill("solid", fgColor="E6ECF2"),
        "total_fill": PatternFill("solid", fgColor="F3F5F7"),
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "wrap": Alignment(wrap_text=True, vertical="center"),
        "centre": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "right": Alignment(horizontal="right", vertical="center"),
        "title_align": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "note_align": Alignment(horizontal="left", vertical="center", wrap_text=True),
    }


def _display_width(text: str) -> int:
    """Excel column units a text takes: CJK and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _line_count(text: str, width: float) -> int:
    usable = max(width - 1, 1)
    return sum(max(1, math.ceil(_display_width(part) / usable)) for part in text.split("\n"))


def _title_rows(ws, texts: Sequence[tuple[str, str]], headers: Sequence[str], styles) -> None:
    width = len(headers)
    total_width = sum(XLSX_WIDTHS.get(h, 10) for h in headers)
    for text, style in texts:
        append_row(ws, [text])
        row = ws.max_row
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        cell = ws.cell(row=row, column=1)
        cell.font = styles[style]
        cell.alignment = styles["note_align" if style == "note" else "title_align"]
        lines = _line_count(text, total_width * (1 if style == "note" else 0.75))
        ws.row_dimensions[row].height = (24 if style == "title" else 18 if style == "subtitle" else 14) * lines


def _header_row(ws, headers: Sequence[str], styles) -> int:
    append_row(ws, headers)
    row = ws.max_row
    for cell in ws[row]:
        cell.font = styles["bold"]
        cell.fill = styles["fill"]
        cell.border = styles["border"]
        cell.alignment = styles["centre"]
    ws.row_dimensions[row].height = 20
    return row


def _cell_styles(wb, styles) -> dict[tuple[str, bool], str]:
    """Named styles for the body cells, (kind, total) -> name: one assignment per cell instead of
    four keeps a county's 3,000 instructors quick (openpyxl hashes every style object it is given)."""
    from openpyxl.styles import NamedStyle

    names = {}
    for kind, align in (("text", "wrap"), ("centre", "centre"), ("money", "right")):
        for total in (False, True):
            name = f"reward-{kind}{'-total' if total else ''}"
            style = NamedStyle(name=name, border=styles["border"], alignment=styles[align],
                               number_format=MONEY_FORMAT if kind == "money" else "General")
            if total:
                style.font, style.fill = styles["bold"], styles["total_fill"]
            wb.add_named_style(style)
            names[(kind, total)] = name
    return names


def _body_row(ws, values: Sequence, headers: Sequence[str], names: dict, total: bool = False) -> None:
    append_row(ws, values)
    row = ws.max_row
    lines = 1
    for index, (header, value) in enumerate(zip(headers, values), start=1):
        if isinstance(value, Decimal):
            kind = "money"
        elif header in ("序号", "教师人数", "获奖作品（件）"):
            kind = "centre"
        else:
            kind = "text"
        ws.cell(row=row, column=index).style = names[(kind, total)]
        if isinstance(value, str):
            lines = max(lines, _line_count(value, XLSX_WIDTHS.get(header, 10)))
    ws.row_dimensions[row].height = max(SIGN_POINTS, LINE_POINTS * lines + 6)


def _page_setup(ws, header_row: int, title: str) -> None:
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    ws.oddFooter.left.text = title.replace("&", "&&")[:100]
    for index, cell in enumerate(ws[header_row], start=1):
        ws.column_dimensions[get_column_letter(index)].width = XLSX_WIDTHS.get(cell.value, 10)


def sheet_xlsx(sheet: RewardSheet, out: BinaryIO | None = None) -> bytes | None:
    """The workbook of a RewardSheet: 汇总, then one sheet per school. Bytes, or written to out."""
    from openpyxl import Workbook

    styles = _styles()
    wb = Workbook()
    names = _cell_styles(wb, styles)
    wb.properties.title = sheet.title
    wb.properties.creator = "judging"
    ws = wb.active
    taken: set[str] = set()
    ws.title = sheet_title(SUMMARY_TITLE, taken)
    _title_rows(ws, [(sheet.title, "title"), (SUMMARY_HEADING, "subtitle"), (sheet.info_line, "note"),
                     (sheet.rule_note, "note")], SUMMARY_HEADERS, styles)
    header_row = _header_row(ws, SUMMARY_HEADERS, styles)
    for number, school in enumerate(sheet.schools, start=1):
        _body_row(ws, [number, school.school_name, len(school.rows), school.entry_count, school.amount,
                       school.points, None], SUMMARY_HEADERS, names)
    if not sheet.schools:
        append_row(ws, [EMPTY_EDITION])
    _body_row(ws, [None, OVERALL_TOTAL, sheet.instructor_count, sheet.entry_count, sheet.amount, sheet.points,
                   None], SUMMARY_HEADERS, names, total=True)
    _page_setup(ws, header_row, sheet.title)

    for school in sheet.schools:
        ws = wb.create_sheet(sheet_title(school.school_name, taken))
        _title_rows(ws, [(sheet.title, "title"), (f"学校：{school.school_name}", "subtitle"),
                         (sheet.info_line, "note"), (sheet.rule_note, "note")], HEADERS, styles)
        header_row = _header_row(ws, HEADERS, styles)
        for row in school.rows:
            _body_row(ws, [row.number, row.name, row.school_name, "\n".join(row.entries), row.amount, row.points,
                           None], HEADERS, names)
        if not school.rows:
            append_row(ws, [EMPTY_SCHOOL])
        _body_row(ws, [None, SCHOOL_TOTAL, None, school.count_text, school.amount, school.points, None], HEADERS,
                  names, total=True)
        append_row(ws, [])
        append_row(ws, [SIGN_LINE])
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=len(HEADERS))
        ws.row_dimensions[ws.max_row].height = 28
        _page_setup(ws, header_row, f"{sheet.title}　{school.school_name}")
    if out is not None:
        wb.save(out)
        return None
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def rewards_xlsx(edition, school_id: int | None = None, issued_on: dt.date | None = None) -> bytes:
    """The reward sheets of the edition's final results as .xlsx bytes (PrintingError before final)."""
    return sheet_xlsx(final_reward_sheet(edition, school_id, issued_on))


def write_rewards_xlsx(edition, out: str, issued_on: dt.date | None = None) -> int:
    """`flask print rewards ID --out FILE.xlsx`: the file, and how many instructors it lists.
    PrintingError (nothing written) while the edition's results are not final."""
    sheet = final_reward_sheet(edition, issued_on=issued_on)
    data = sheet_xlsx(sheet)
    with open(out, "wb") as handle:
        handle.write(data)
    return sheet.instructor_count


# --- PDF ------------------------------------------------------------------------------------------

MARGIN = 12 * mm
PDF_WIDTHS_MM = {"序号": 10, "指导教师": 24, "金额（元）": 20, "加分": 15, "签领": 32}  # 指导作品: the rest
SUMMARY_WIDTHS_MM = {"序号": 10, "教师人数": 18, "获奖作品（件）": 25, "金额（元）": 24, "加分": 17, "签领": 32}
SIGN_HEIGHT = 10 * mm  # the least height of a row: room for a signature
FIXED_TEXTS = (SUMMARY_HEADING, SCHOOL_TOTAL, OVERALL_TOTAL, EMPTY_EDITION, EMPTY_SCHOOL, SIGN_LINE, "学校：",
               "（续）", "第 页 共 页", "全册第 页", "共位教师，件获奖作品0123456789.")


class _RewardDoc(SectionedDoc):
    """Continued pages of a school get a running head; every page remembers its school for the footer."""

    continued_format = "{heading}　{name}（续）"

    def _page_ends(self, canvas, doc):
        canvas.reward_section = self.section.name if self.section else ""  # read back by the footer
        super()._page_ends(canvas, doc)


def _numbered_canvas(fonts: FontSet):
    class NumberedCanvas(DeferredCanvas):
        """第 x 页 共 y 页 within each school's group; the school and the page in the file beside it."""

        initial_font = fonts.regular

        def draw_footer(self, index, state):
            sections = [page.get("reward_section", "") for page in self._saved_pages]
            section = sections[index]
            number = sections[:index + 1].count(section)
            draw_page_footer(self, fonts.regular, number, sections.count(section), MARGIN,
                             f"全册第 {index + 1} 页", section)

    return NumberedCanvas


def _styles_pdf(fonts: FontSet) -> dict:
    return {
        "title": paragraph_style("title", fonts.bold, 16, 22, TA_CENTER),
        "subtitle": paragraph_style("subtitle", fonts.bold, 13, 18, TA_CENTER),
        "info": paragraph_style("info", fonts.regular, 9.5, 13, TA_CENTER, colors.HexColor("#333333")),
        "note": paragraph_style("note", fonts.regular, 8.5, 11.5, TA_LEFT, colors.HexColor("#444444")),
        "th": paragraph_style("th", fonts.bold, 9, 11.5, TA_CENTER),
        "td": paragraph_style("td", fonts.regular, 9, 12),
        "total": paragraph_style("total", fonts.bold, 9, 12),
        "sign": paragraph_style("sign", fonts.regular, 10, 14),
        "empty": paragraph_style("empty", fonts.regular, 11, 16),
    }


def _widths(headers: Sequence[str], fixed: dict[str, float], total: float) -> list[float]:
    rest = total - sum(fixed[h] * mm for h in headers if h in fixed)
    return [fixed[h] * mm if h in fixed else rest for h in headers]


CELL_SIZE = 9
CELL_LEADING = 12
CELL_PADDING = 3


def _cell(text: str, width: float, style, font: str):
    """Plain text when every line fits its column (cheap for reportlab: a county's 3,000 rows stay
    quick), else a Paragraph that wraps (CJK anywhere)."""
    lines = text.split("\n")
    if all(stringWidth(line, font, CELL_SIZE) <= width - 2 * CELL_PADDING - 0.5 for line in lines):
        return text
    return Paragraph("<br/>".join(markup(line) for line in lines), style)


def _table(rows: list[list], widths: list[float], fonts: FontSet, align: dict[int, str]) -> Table:
    """A grid whose header row repeats on every page; the last row is the (bold) total."""
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), fonts.regular),  # no unembedded Helvetica, even in empty cells
        ("FONTNAME", (0, -1), (-1, -1), fonts.bold),
        ("FONTSIZE", (0, 1), (-1, -1), CELL_SIZE),
        ("LEADING", (0, 1), (-1, -1), CELL_LEADING),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#8A949E")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E6ECF2")),
        ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F3F5F7")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("BOTTOMPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
    ]
    style += [("ALIGN", (column, 1), (column, -1), how) for column, how in align.items()]
    table.setStyle(TableStyle(style))
    return table


def _sign_cell():
    return Spacer(1, SIGN_HEIGHT)  # the row is at least this high; the cell stays empty for the pen


def _heading(sheet: RewardSheet, subtitle: str, st) -> list:
    return [Paragraph(markup(sheet.title), st["title"]), Spacer(0, 1.5 * mm),
            Paragraph(markup(subtitle), st["subtitle"]), Spacer(0, 1.5 * mm),
            Paragraph(markup(sheet.info_line).replace("\u3000", "&nbsp;" * 3), st["info"]), Spacer(0, 1.5 * mm),
            Paragraph(markup(sheet.rule_note), st["note"]), Spacer(0, 3 * mm)]


def _check_texts(sheet: RewardSheet, fonts: FontSet) -> None:
    texts = [("页面固定文字", t) for t in (*FIXED_TEXTS, *PDF_HEADERS, *SUMMARY_HEADERS, sheet.title,
                                           sheet.info_line, sheet.rule_note)]
    for school in sheet.schools:
        where = f"学校「{school.school_name}」"
        texts.append((where, school.school_name))
        for row in school.rows:
            texts.extend((f"{where}的{row.name}", text) for text in (row.name, *row.entries))
    check_coverage(texts, fonts)


def sheet_pdf(sheet: RewardSheet, out: BinaryIO | None = None, fonts: FontSet | None = None) -> bytes | None:
    """The PDF of a RewardSheet (see the module docstring). Bytes, or written to out."""
    fonts = fonts or ensure_fonts()
    _check_texts(sheet, fonts)
    buffer = out if out is not None else io.BytesIO()
    doc = _RewardDoc(buffer, fonts, sheet.title, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                     topMargin=14 * mm, bottomMargin=15 * mm, title=sheet.title, author=sheet.edition_title,
                     creator="judging")
    st = _styles_pdf(fonts)
    story: list = []
    header = lambda headers: [Paragraph(h, st["th"]) for h in headers]  # noqa: E731
    if not sheet.single_school:
        story.append(SectionMarker(SUMMARY_TITLE))
        story += _heading(sheet, SUMMARY_HEADING, st)
        widths = _widths(SUMMARY_HEADERS, SUMMARY_WIDTHS_MM, doc.width)
        rows = [header(SUMMARY_HEADERS)]
        for number, school in enumerate(sheet.schools, start=1):
            rows.append([str(number), _cell(school.school_name, widths[1], st["td"], fonts.regular),
                         str(len(school.rows)), str(school.entry_count), money_text(school.amount),
                         money_text(school.points), _sign_cell()])
        rows.append(["", OVERALL_TOTAL, str(sheet.instructor_count), str(sheet.entry_count),
                     money_text(sheet.amount), money_text(sheet.points), ""])
        story.append(_table(rows, widths, fonts, {0: "CENTER", 2: "CENTER", 3: "CENTER", 4: "RIGHT", 5: "RIGHT"}))
        if not sheet.schools:
            story += [Spacer(0, 4 * mm), Paragraph(EMPTY_EDITION, st["empty"])]
    widths = _widths(PDF_HEADERS, PDF_WIDTHS_MM, doc.width)
    for school in sheet.schools:
        if story:
            story.append(PageBreak())
        story.append(SectionMarker(school.school_name))
        story += _heading(sheet, f"学校：{school.school_name}", st)
        rows = [header(PDF_HEADERS)]
        for row in school.rows:
            rows.append([str(row.number), _cell(row.name, widths[1], st["td"], fonts.regular),
                         _cell("\n".join(row.entries), widths[2], st["td"], fonts.regular),
                         money_text(row.amount), money_text(row.points), _sign_cell()])
        rows.append(["", SCHOOL_TOTAL, _cell(school.count_text, widths[2], st["total"], fonts.bold),
                     money_text(school.amount), money_text(school.points), ""])
        story.append(_table(rows, widths, fonts, {0: "CENTER", 3: "RIGHT", 4: "RIGHT"}))
        if not school.rows:
            story += [Spacer(0, 4 * mm), Paragraph(EMPTY_SCHOOL, st["empty"])]
        story.append(KeepTogether([Spacer(0, 8 * mm), Paragraph(SIGN_LINE, st["sign"])]))
    doc.build(story, canvasmaker=_numbered_canvas(fonts))
    return None if out is not None else buffer.getvalue()


def rewards_pdf(edition, school_id: int | None = None, issued_on: dt.date | None = None,
                fonts: FontSet | None = None) -> bytes:
    """The reward sheets of the edition's final results as PDF bytes: every school with a summary
    page, or (school_id) that school's sheet alone. PrintingError before the results are final."""
    return sheet_pdf(final_reward_sheet(edition, school_id, issued_on), fonts=fonts)
