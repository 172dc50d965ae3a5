"""Result lists and summaries as Excel and PDF, and the results workbook of `contest results`.

Everything reads the snapshot through reports.py; the builders here only lay the rows out.

Lists (results_xlsx / results_pdf), one sheet (Excel) or one page section (PDF) per pool
(类别 x 组别), because a county office prints and posts them per pool. Title rows: the edition's
full name (第十三届XX县青少年科技创新大赛), the round and the kind of list, the pool.
- order="prize": by prize level, then rank (score), then code.
- order="stroke" (排名不分先后): by prize level, within it by the first student's name in 姓氏笔画
  order (core.strokes); no score and no rank are shown.
- Who is listed and what is shown:
  * the organizer's list (public=False, order="prize"): every entry of the snapshot, with 最终得分,
    名次 and 奖项, then the unranked ones, with a 备注 (prize changed by the organizer and why, too
    few judges, not passed review, tie across a boundary). For checking; never posted.
  * a public list (public=True, any order) and every stroke-order list: the prize winners only,
    with 作品编号, 作品名称, 学校, 学生, 指导教师 and 奖项. Never a score or a rank (the decision for
    this project: public lists show the prize and no score; an organizer who wants scores on paper
    prints his own list), never a phone number, gender, grade, class, review remark or override
    reason.
- Every text cell goes through sheets.escape_cell (append_row), so a title "=1+1" stays text.
- PDFs: A4 (portrait for the public columns, landscape for the organizer's ten), the Chinese
  font embedded (core.fonts; a missing glyph raises FontCoverageError before anything is drawn),
  long texts wrap, the table header repeats on every page, a running head on continued pages and
  "第 x 页 共 y 页" at the foot.

School summary (school_summary_xlsx / _pdf): per school 参评作品, 进入排名, prizes per level,
获奖合计 and, with 优秀组织奖, its points and rank; a total row. Organizer only.

results_workbook(): WORKBOOK.md's results workbook, sheets 成绩 and 辅导教师奖励.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import PageBreak, Paragraph, Spacer, Table, TableStyle

from judging.core.fonts import FontSet, check_coverage, ensure_fonts
from judging.core.pdf import DeferredCanvas, SectionedDoc, SectionMarker, draw_page_footer, markup, paragraph_style
from judging.core.sheets import append_row, escape_cell
from judging.results import reports
from judging.results.models import ResultSnapshot
from judging.results.reports import ResultLine

ORDERS = ("prize", "stroke")
LIST_JOIN = "、"
STATUS_NOTES = {"draft": "（草稿，未公布）", "notice": "（公示）", "final": "", "superseded": "（已被更正，作废）"}
FLAG_NOTES = {
    "too_few_judges": "评分人数不足，未排名",
    "tie_across_boundary": "并列跨越获奖线",
    "tie_last_boundary": "并列跨越末位获奖线，均获奖",
    "below_min_score": "低于获奖最低分",
}
STATUS_NOTES_ENTRY = {"submitted": "未审核", "returned": "退回修改", "disqualified": "取消资格"}
STROKE_NOTE = "排名不分先后，按第一作者姓氏笔画排序"
EMPTY_TEXT = "暂无结果。"

RESULTS_SHEET = "成绩"
REWARDS_SHEET = "辅导教师奖励"
RESULTS_HEADERS = ("作品编号", "作品名称", "类别", "组别", "学校", "学生", "指导教师", "最终得分", "名次", "奖项")
REWARDS_HEADERS = ("指导教师", "学校", "金额", "加分")


# --- what a list shows --------------------------------------------------------------------------

@dataclass(frozen=True)
class ListColumn:
    header: str
    pdf_mm: float
    xlsx_width: float
    value: Callable[[ResultLine, int], object]
    number_format: str | None = None  # Excel: a numeric column
    centred: bool = False


def _title_text(line: ResultLine) -> str:
    return f"{line.title}（{line.subform}）" if line.subform else line.title


def remark(line: ResultLine) -> str:
    """The organizer's 备注 of a line: why it has no rank, or how its prize came about."""
    parts = []
    if line.entry_status != reports.PARTICIPATING_STATUS:
        parts.append(STATUS_NOTES_ENTRY.get(line.entry_status, line.entry_status))
    for flag in line.flags:
        if flag in FLAG_NOTES:
            parts.append(FLAG_NOTES[flag])
    if line.overridden:
        parts.append(f"奖项经组委会调整：{line.override_reason}" if line.override_reason else "奖项经组委会调整")
    return "；".join(parts)


def _columns(detailed: bool) -> list[ListColumn]:
    common = [
        ListColumn("序号", 10, 6, lambda l, n: n, centred=True),
        ListColumn("作品编号", 24, 13, lambda l, n: l.code),
        ListColumn("作品名称", 50, 36, lambda l, n: _title_text(l)),
        ListColumn("学校", 36, 24, lambda l, n: l.school_name),
        ListColumn("学生", 26, 18, lambda l, n: LIST_JOIN.join(l.students)),
        ListColumn("指导教师", 26, 16, lambda l, n: LIST_JOIN.join(l.instructors)),
    ]
    level = ListColumn("奖项", 14, 10, lambda l, n: l.level_name or "", centred=True)
    if not detailed:
        return common + [level]
    widths = {"序号": 10, "作品编号": 24, "作品名称": 60, "学校": 40, "学生": 30, "指导教师": 28}
    common = [ListColumn(c.header, widths[c.header], c.xlsx_width, c.value, c.number_format, c.centred)
              for c in common]
    return common + [
        ListColumn("最终得分", 16, 10, lambda l, n: l.final, "0.00", centred=True),
        ListColumn("名次", 11, 7, lambda l, n: l.rank, "0", centred=True),
        ListColumn("奖项", 15, 10, lambda l, n: l.level_name or "", centred=True),
        ListColumn("备注", 39, 30, lambda l, n: remark(l)),
    ]


@dataclass
class ResultList:
    """A list ready to lay out: its heading lines and, per pool, its lines in order."""

    edition_title: str
    heading: str  # 终评获奖名单（公示）
    note: str | None  # 排名不分先后… / 公示期…
    columns: list[ListColumn]
    pools: list[tuple[str, list[ResultLine]]]  # (小发明 · 小学组, lines)
    detailed: bool
    status: str


def _check_order(order: str) -> None:
    if order not in ORDERS:
        raise ValueError(f"order is one of {ORDERS}, not {order!r}")


def notice_note(snapshot: ResultSnapshot) -> str | None:
    """公示期 and where to object, as the public page shows them (only while in 公示)."""
    if snapshot.status != "notice":
        return None
    parts = []
    if snapshot.notice_starts and snapshot.notice_ends:
        parts.append(f"公示期：{snapshot.notice_starts.isoformat()} 至 {snapshot.notice_ends.isoformat()}")
    if snapshot.objection_contact:
        parts.append(f"异议受理：{snapshot.objection_contact}")
    return "；".join(parts) or None


def build_list(snapshot: ResultSnapshot, order: str = "prize", public: bool = False) -> ResultList:
    """What results_xlsx and results_pdf lay out (see the module docstring for who is listed)."""
    _check_order(order)
    detailed = not public and order == "prize"
    lines = reports.result_lines(snapshot)
    if not detailed:
        lines = [line for line in lines if line.level_position is not None]
    lines = reports.stroke_order(lines) if order == "stroke" else reports.prize_order(lines)
    kind = "成绩表" if detailed else "获奖名单"
    heading = f"{snapshot.round.name}{kind}{STATUS_NOTES.get(snapshot.status, '')}"
    notes = [n for n in (STROKE_NOTE if order == "stroke" else None, notice_note(snapshot)) if n]
    pools = [(group[0].pool_name, group) for _, group in reports.group_by_pool(lines)]
    return ResultList(snapshot.edition.title, heading, "；".join(notes) or None, _columns(detailed), pools,
                      detailed, snapshot.status)


# --- Excel helpers ------------------------------------------------------------------------------

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique worksheet name (31 characters, none of [ ] : * ? / \\)."""
    base = _SHEET_FORBIDDEN.sub("_", name).strip("'") or "结果"
    title = base[:31]
    n = 2
    while title.lower() in taken:
        suffix = f"({n})"
        title = base[:31 - len(suffix)] + suffix
        n += 1
    taken.add(title.lower())
    return title


def _xlsx_styles():
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="8A949E")
    return {
        "title": Font(bold=True, size=14),
        "subtitle": Font(bold=True, size=12),
        "note": Font(size=10, color="555555"),
        "bold": Font(bold=True),
        "fill": PatternFill("solid", fgColor="E6ECF2"),
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "wrap": Alignment(wrap_text=True, vertical="center"),
        "centre": Alignment(horizontal="center", vertical="center", wrap_text=True),
    }


def _title_rows(ws, texts: Sequence[tuple[str, str]], width: int, styles) -> None:
    """Merged title rows across the table's width: (text, style key)."""
    from openpyxl.styles import Alignment

    for text, style in texts:
        append_row(ws, [text])
        row = ws.max_row
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=max(width, 1))
        cell = ws.cell(row=row, column=1)
        cell.font = styles[style]
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.row_dimensions[row].height = 24 if style == "title" else 18


def _header_row(ws, headers: Sequence[str], styles) -> int:
    append_row(ws, headers)
    row = ws.max_row
    for cell in ws[row]:
        cell.font = styles["bold"]
        cell.fill = styles["fill"]
        cell.border = styles["border"]
        cell.alignment = styles["centre"]
    return row


def _page_setup(ws, header_row: int, landscape_page: bool) -> None:
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape" if landscape_page else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"


def _save(wb, out: BinaryIO | None) -> bytes | None:
    if out is not None:
        wb.save(out)
        return None
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- result lists: Excel ------------------------------------------------------------------------

def results_xlsx(snapshot: ResultSnapshot, order: str = "prize", public: bool = False,
                 out: BinaryIO | None = None) -> bytes | None:
    """One sheet per pool (title rows, a header row, the lines); bytes, or written to out."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    data = build_list(snapshot, order, public)
    styles = _xlsx_styles()
    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    headers = [c.header for c in data.columns]
    pools = data.pools or [(None, [])]
    for pool_name, lines in pools:
        ws = wb.create_sheet(sheet_title(pool_name.replace(" · ", "-") if pool_name else "获奖名单", taken))
        texts = [(data.edition_title, "title"), (data.heading, "subtitle")]
        if pool_name:
            texts.append((f"{pool_name}（共{len(lines)}件）", "subtitle"))
        if data.note:
            texts.append((data.note, "note"))
        _title_rows(ws, texts, len(headers), styles)
        header_row = _header_row(ws, headers, styles)
        for number, line in enumerate(lines, start=1):
            append_row(ws, [c.value(line, number) for c in data.columns])  # Decimal: a number
            # (ws.max_row scans every cell: counting rows here keeps a long list linear)
            for index, column in enumerate(data.columns, start=1):
                cell = ws.cell(row=header_row + number, column=index)
                cell.border = styles["border"]
                cell.alignment = styles["centre"] if column.centred else styles["wrap"]
                if column.number_format and cell.value is not None:
                    cell.number_format = column.number_format
        if not lines:
            append_row(ws, [EMPTY_TEXT])
        for index, column in enumerate(data.columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = column.xlsx_width
        _page_setup(ws, header_row, data.detailed)
    return _save(wb, out)


# --- PDF helpers --------------------------------------------------------------------------------

MARGIN = 12 * mm


class _ListDoc(SectionedDoc):
    """Continued pages of a pool get a running head: "{edition} {pool}（续）"."""

    continued_format = "{heading}　{name}（续）"


def _numbered_canvas(fonts: FontSet, left_text: str, right_text: str):
    class NumberedCanvas(DeferredCanvas):
        initial_font = fonts.regular

        def draw_footer(self, index, state):
            draw_page_footer(self, fonts.regular, index + 1, len(self._saved_pages), MARGIN, left_text, right_text)

    return NumberedCanvas


def _doc(out, heading: str, fonts: FontSet, pagesize, title: str) -> _ListDoc:
    return _ListDoc(out, fonts, heading, pagesize=pagesize, leftMargin=MARGIN, rightMargin=MARGIN,
                    topMargin=14 * mm, bottomMargin=15 * mm, title=title, author=heading, creator="judging")


CELL_SIZE = 9
CELL_LEADING = 11.5
CELL_PADDING = 3


def _cell(text: str, width: float, style, font: str):
    """A plain string when it fits on one line (cheap for reportlab to lay out: a 3,000-row list
    stays fast), else a Paragraph that wraps."""
    if "\n" not in text and stringWidth(text, font, CELL_SIZE) <= width - 2 * CELL_PADDING - 0.5:
        return text
    return Paragraph(markup(text), style)


def _table(data, widths, fonts: FontSet, centred_columns: Sequence[int] = ()) -> Table:
    table = Table(data, colWidths=widths, repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), fonts.regular),  # no unembedded Helvetica in empty cells
        ("FONTSIZE", (0, 1), (-1, -1), CELL_SIZE),
        ("LEADING", (0, 1), (-1, -1), CELL_LEADING),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#8A949E")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E6ECF2")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("BOTTOMPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
    ]
    style += [("ALIGN", (i, 0), (i, -1), "CENTER") for i in centred_columns]
    table.setStyle(TableStyle(style))
    return table


def _styles(fonts: FontSet) -> dict:
    return {
        "title": paragraph_style("title", fonts.bold, 16, 22, TA_CENTER),
        "subtitle": paragraph_style("subtitle", fonts.bold, 13, 18, TA_CENTER),
        "pool": paragraph_style("pool", fonts.bold, 12, 16),
        "note": paragraph_style("note", fonts.regular, 9, 12, TA_CENTER, colors.HexColor("#444444")),
        "count": paragraph_style("count", fonts.regular, 9, 12, TA_RIGHT, colors.HexColor("#444444")),
        "th": paragraph_style("th", fonts.bold, 9, 11.5, TA_CENTER),
        "td": paragraph_style("td", fonts.regular, 9, 11.5),
        "tdc": paragraph_style("tdc", fonts.regular, 9, 11.5, TA_CENTER),
        "empty": paragraph_style("empty", fonts.regular, 11),
    }


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _points_text(value) -> str:
    """组织奖积分: 26, 2.5 (no trailing zeros)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return _cell_text(value)


def _printed_on(printed_on: dt.date | None) -> str:
    return f"打印日期：{(printed_on or dt.date.today()).isoformat()}"


# --- result lists: PDF --------------------------------------------------------------------------

def results_pdf(snapshot: ResultSnapshot, order: str = "prize", public: bool = False,
                out: BinaryIO | None = None, fonts: FontSet | None = None,
                printed_on: dt.date | None = None) -> bytes | None:
    """A4; per pool a new page headed with the edition, the list's kind and the pool, then a table
    whose header repeats on every page. Bytes, or written to out."""
    fonts = fonts or ensure_fonts()
    data = build_list(snapshot, order, public)
    texts = [("页面固定文字", t) for t in (data.edition_title, data.heading, data.note or "", EMPTY_TEXT,
                                            "（续）", "共 件", _printed_on(printed_on), "第 页 共 页")]
    texts += [("表头", c.header) for c in data.columns]
    for pool_name, lines in data.pools:
        texts.append(("组别", pool_name))
        for number, line in enumerate(lines, start=1):
            texts.extend((f"作品 {line.code}", _cell_text(c.value(line, number))) for c in data.columns)
    check_coverage(texts, fonts)

    buffer = out if out is not None else io.BytesIO()
    pagesize = landscape(A4) if data.detailed else A4
    doc = _doc(buffer, data.edition_title, fonts, pagesize, f"{data.edition_title}{data.heading}")
    st = _styles(fonts)
    widths = [c.pdf_mm * mm for c in data.columns]
    scale = doc.width / sum(widths)
    widths = [w * scale for w in widths]
    story: list = []

    def heading_block(pool_name: str | None, count: int | None):
        block = [Paragraph(markup(data.edition_title), st["title"]), Spacer(0, 1 * mm),
                 Paragraph(markup(data.heading), st["subtitle"])]
        if data.note:
            block += [Spacer(0, 1 * mm), Paragraph(markup(data.note), st["note"])]
        if pool_name:
            block += [Spacer(0, 3 * mm), Table([[Paragraph(markup(pool_name), st["pool"]),
                                                  Paragraph(f"共 {count} 件", st["count"])]],
                                                colWidths=[doc.width * 0.7, doc.width * 0.3],
                                                style=[("FONTNAME", (0, 0), (-1, -1), fonts.regular),
                                                       ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                                       ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                                                       ("VALIGN", (0, 0), (-1, -1), "BOTTOM")])]
        return block + [Spacer(0, 2 * mm)]

    if not data.pools:
        story += heading_block(None, None) + [Spacer(0, 6 * mm), Paragraph(EMPTY_TEXT, st["empty"])]
    for index, (pool_name, lines) in enumerate(data.pools):
        if index:
            story.append(PageBreak())
        story.append(SectionMarker(pool_name))
        story += heading_block(pool_name, len(lines))
        rows = [[Paragraph(c.header, st["th"]) for c in data.columns]]
        for number, line in enumerate(lines, start=1):
            rows.append([_cell(_cell_text(c.value(line, number)), w, st["tdc"] if c.centred else st["td"],
                               fonts.regular) for c, w in zip(data.columns, widths)])
        story.append(_table(rows, widths, fonts, [i for i, c in enumerate(data.columns) if c.centred]))
    right = STATUS_NOTES.get(data.status, "").strip("（）")
    doc.build(story, canvasmaker=_numbered_canvas(fonts, _printed_on(printed_on), right))
    return None if out is not None else buffer.getvalue()


# --- school summary -----------------------------------------------------------------------------

@dataclass
class SummaryTable:
    edition_title: str
    heading: str
    headers: list[str]
    rows: list[list]  # values: str / int / Decimal / None
    total: list
    org_enabled: bool
    status: str


def build_school_summary(snapshot: ResultSnapshot) -> SummaryTable:
    edition = snapshot.edition
    names = reports.level_names(edition)
    summary = reports.school_summary(snapshot)
    org = bool(edition.org_award_enabled)
    headers = ["序号", "片区", "学校", "参评作品", "进入排名"] + list(names.values()) + ["获奖合计"]
    if org:
        headers += ["组织奖积分", "组织奖名次"]
    rows = []
    for number, s in enumerate(summary, start=1):
        row = [number, s.district or "", s.school_name, s.entries, s.ranked]
        row += [s.by_level.get(position, 0) for position in names] + [s.prized]
        if org:
            row += [s.org_points, s.org_rank]
        rows.append(row)
    total = ["", "", "合计", sum(s.entries for s in summary), sum(s.ranked for s in summary)]
    total += [sum(s.by_level.get(p, 0) for s in summary) for p in names] + [sum(s.prized for s in summary)]
    if org:
        total += [None, None]
    heading = f"{snapshot.round.name}各校获奖统计{STATUS_NOTES.get(snapshot.status, '')}"
    return SummaryTable(edition.title, heading, headers, rows, total, org, snapshot.status)


def school_summary_xlsx(snapshot: ResultSnapshot, out: BinaryIO | None = None) -> bytes | None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    data = build_school_summary(snapshot)
    styles = _xlsx_styles()
    wb = Workbook()
    ws = wb.active
    ws.title = "各校获奖统计"
    texts = [(data.edition_title, "title"), (data.heading, "subtitle")]
    if data.org_enabled:
        texts.append(("组织奖名次：参评作品达到规定件数的学校按积分排名", "note"))
    _title_rows(ws, texts, len(data.headers), styles)
    header_row = _header_row(ws, data.headers, styles)
    for number, row in enumerate(data.rows + [data.total], start=1):
        append_row(ws, row)
        for index, cell in enumerate(ws[header_row + number]):
            cell.border = styles["border"]
            cell.alignment = styles["wrap"] if index in (1, 2) else styles["centre"]
            if isinstance(cell.value, Decimal):
                cell.number_format = "0.##"
    for cell in ws[ws.max_row]:
        cell.font = styles["bold"]
    for index, header in enumerate(data.headers, start=1):
        ws.column_dimensions[get_column_letter(index)].width = {"序号": 6, "片区": 12, "学校": 28}.get(header, 10)
    _page_setup(ws, header_row, len(data.headers) > 10)
    return _save(wb, out)


def school_summary_pdf(snapshot: ResultSnapshot, out: BinaryIO | None = None, fonts: FontSet | None = None,
                       printed_on: dt.date | None = None) -> bytes | None:
    fonts = fonts or ensure_fonts()
    data = build_school_summary(snapshot)
    texts = [("页面固定文字", t) for t in (data.edition_title, data.heading, EMPTY_TEXT, _printed_on(printed_on),
                                            "第 页 共 页", "组织奖名次：参评作品达到规定件数的学校按积分排名。")]
    texts += [("表头", h) for h in data.headers]
    texts += [(f"学校 {row[2]}", _points_text(v)) for row in data.rows for v in row]
    check_coverage(texts, fonts)
    numeric = [h for h in data.headers if h not in ("序号", "片区", "学校")]
    numeric_mm = [17 if h.startswith("组织奖") else 15 for h in numeric]
    fixed_mm = 10 + 22 + sum(numeric_mm)
    portrait = A4[0] - 2 * MARGIN - fixed_mm * mm >= 30 * mm
    pagesize = A4 if portrait else landscape(A4)
    buffer = out if out is not None else io.BytesIO()
    doc = _doc(buffer, data.edition_title, fonts, pagesize, f"{data.edition_title}{data.heading}")
    st = _styles(fonts)
    school_w = doc.width - fixed_mm * mm
    widths = [10 * mm, 22 * mm, school_w] + [w * mm for w in numeric_mm]
    story = [Paragraph(markup(data.edition_title), st["title"]), Spacer(0, 1 * mm),
             Paragraph(markup(data.heading), st["subtitle"]), Spacer(0, 4 * mm)]
    if not data.rows:
        story.append(Paragraph(EMPTY_TEXT, st["empty"]))
    else:
        header_style = paragraph_style("th-small", fonts.bold, 8.5, 11, TA_CENTER)
        rows = [[Paragraph(markup(h), header_style) for h in data.headers]]
        for row in data.rows + [data.total]:
            rows.append([_cell(_points_text(v), w, st["td"] if i in (1, 2) else st["tdc"], fonts.regular)
                         for i, (v, w) in enumerate(zip(row, widths))])
        table = _table(rows, widths, fonts, [i for i in range(len(data.headers)) if i not in (1, 2)])
        table.setStyle(TableStyle([("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F3F5F7"))]))
        story.append(table)
        if data.org_enabled:
            story += [Spacer(0, 2 * mm), Paragraph("组织奖名次：参评作品达到规定件数的学校按积分排名。", st["note"])]
    right = STATUS_NOTES.get(data.status, "").strip("（）")
    doc.build(story, canvasmaker=_numbered_canvas(fonts, _printed_on(printed_on), right))
    return None if out is not None else buffer.getvalue()


# --- the results workbook (WORKBOOK.md) ---------------------------------------------------------

def _write_only_row(ws, values, formats=None) -> None:
    """Append to a write_only sheet; text escaped, numbers formatted (formats: index -> format)."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for index, value in enumerate(values):
        cell = WriteOnlyCell(ws, value=escape_cell(value))
        if formats and index in formats and isinstance(value, (int, Decimal)):
            cell.number_format = formats[index]
        cells.append(cell)
    ws.append(cells)


def results_workbook(snapshot: ResultSnapshot, out: BinaryIO | None = None) -> bytes | None:
    """Sheets 成绩 (every ranked entry: pool by pool, by rank; 最终得分 a number with 2 decimals,
    名次 a number, 奖项 the level name or blank; lists joined with 、) and 辅导教师奖励 (one row
    per instructor: name, school, amount, points). Streams (write_only)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    results = wb.create_sheet(RESULTS_SHEET)
    _write_only_row(results, RESULTS_HEADERS)
    for line in reports.result_lines(snapshot, ranked_only=True):
        _write_only_row(results, [line.code, line.title, line.category_name, line.division_name, line.school_name,
                                  LIST_JOIN.join(line.students), LIST_JOIN.join(line.instructors), line.final,
                                  line.rank, line.level_name or None], {7: "0.00", 8: "0"})
    rewards = wb.create_sheet(REWARDS_SHEET)
    _write_only_row(rewards, REWARDS_HEADERS)
    for reward in reports.reward_lines(snapshot):
        _write_only_row(rewards, [reward.name, reward.school_name, reward.amount, reward.points],
                        {2: "0.00", 3: "0.00"})
    return _save(wb, out)


# --- file names ---------------------------------------------------------------------------------

_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def filename(snapshot: ResultSnapshot, kind: str, extension: str) -> str:
    """第十三届XX县青少年科技创新大赛-终评-获奖名单.pdf, safe on every file system."""
    name = "-".join(p for p in (snapshot.edition.title, snapshot.round.name, kind) if p)
    name = _UNSAFE_FILENAME.sub("_", name).strip(" .") or kind
    return f"{name[:120]}.{extension}"
