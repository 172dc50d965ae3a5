"""The paper fallback: blank score sheets to print for the judges, and the 评分 sheet (WORKBOOK.md)
to type the filled-in sheets back into a round.

Blank sheets (blank_score_sheets_pdf): per judge and pool (类别·组别) a section of A4 pages with
the edition, the round, the judge's name, a table with one row per assigned entry (作品编号 and
作品名称 only: the sheets are blind like the tablets, never a student, school or instructor), one
column per criterion with its maximum, a total column, then 评委签名 and 日期 and the rubric's
descriptors. Every text is checked against the embedded font first (check_coverage), and every
text a user typed goes into Paragraph markup escaped, as registration/documents.py does.

The 评分 sheet: 作品编号, 评委 (display name or username), then one column per criterion name;
the criteria outside an entry's rubric stay blank; points 0..满分 with at most one decimal.
plan_paper_import() reads every row and names each fault by row and column; a plan with a fault
writes nothing. apply_paper_import() sends each row through operations.submit_score (the one
implementation of bounds, versions, locks and idempotency) with source "paper" and the organizer
as writer, and records one audit event. The idempotency key of a row is
"paper:<first 48 hex digits of the file's sha256>:<row>" (the full 64 digits would not fit the
64-character key column), so importing the same file again replays instead of scoring twice.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from judging.contests.models import Category, Criterion, Division, Round
from judging.core import audit
from judging.core.fonts import FontSet, check_coverage, ensure_fonts
from judging.core.pdf import DeferredCanvas, SectionedDoc, SectionMarker, draw_page_footer, markup, paragraph_style
from judging.core.models import User
from judging.core.sheets import Column, Fault, SheetError, SheetSpec, read_sheet, template_workbook
from judging.extensions import db
from judging.registration.models import Entry
from judging.scoring.models import Assignment, Panel, PanelJudge, Score, ScoreHistory
from judging.scoring.operations import Submission, submit_score, validate_values

SHEET_TITLE = "评分"
CODE_HEADER = "作品编号"
JUDGE_HEADER = "评委"
KEY_PREFIX = "paper:"
KEY_DIGEST_CHARS = 48  # "paper:" + 48 + ":" + a row number stays within the 64-character key
MAX_SCORE_ROWS = 20_000  # one row per judge and entry: a large round of a city contest
ONE = Decimal("0.1")


def _num(value: Decimal) -> str:
    """30.0 -> 30, 12.5 -> 12.5."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- What a sheet shows -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SheetCriterion:
    name: str
    max_points: Decimal
    descriptor: str = ""


@dataclass(frozen=True)
class SheetEntry:
    """Blind: the code and the title, nothing else."""

    code: str
    title: str = ""


@dataclass
class SheetPool:
    category: str
    division: str
    criteria: tuple[SheetCriterion, ...]
    entries: list[SheetEntry] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.category}·{self.division}"

    @property
    def total_max(self) -> Decimal:
        return sum((c.max_points for c in self.criteria), Decimal("0"))


@dataclass
class JudgeSheet:
    judge_id: int
    judge_name: str
    pools: list[SheetPool] = field(default_factory=list)


def _panel_order(round_id: int) -> tuple[list[Panel], dict[int, int]]:
    panels = list(db.session.scalars(
        select(Panel).where(Panel.round_id == round_id)
        .join(Category, Category.id == Panel.category_id).join(Division, Division.id == Panel.division_id)
        .options(selectinload(Panel.category), selectinload(Panel.division))
        .order_by(Category.position, Category.id, Division.position, Division.id)))
    return panels, {p.id: i for i, p in enumerate(panels)}


def _judge_order(round_id: int, panel_index: dict[int, int]) -> dict[int, tuple[int, int]]:
    """judge -> (index of his first panel, his seat in it): the order the panels list them."""
    order: dict[int, tuple[int, int]] = {}
    for member in db.session.scalars(select(PanelJudge).join(Panel).where(Panel.round_id == round_id)):
        place = (panel_index.get(member.panel_id, 1 << 30), member.id)
        if member.judge_id not in order or place < order[member.judge_id]:
            order[member.judge_id] = place
    return order


def _criteria(category_ids) -> dict[int, tuple[SheetCriterion, ...]]:
    found: dict[int, list[SheetCriterion]] = {}
    if category_ids:
        for c in db.session.scalars(select(Criterion).where(Criterion.category_id.in_(category_ids))
                                    .order_by(Criterion.category_id, Criterion.position, Criterion.id)):
            found.setdefault(c.category_id, []).append(SheetCriterion(c.name, c.max_points, c.descriptor or ""))
    return {k: tuple(v) for k, v in found.items()}


def load_judge_sheets(round_id: int, judge_id: int | None = None) -> list[JudgeSheet]:
    """Every judge's assigned entries of the round (disqualified ones left out), by judge and pool;
    judges in panel order, pools in the edition's order, entries by code. A handful of queries."""
    panels, panel_index = _panel_order(round_id)
    stmt = (select(Assignment.judge_id, Assignment.panel_id, Entry.code, Entry.title, Entry.subform)
            .join(Entry, Entry.id == Assignment.entry_id)
            .where(Assignment.round_id == round_id, Entry.status != "disqualified")
            .order_by(Entry.code, Entry.id))
    if judge_id is not None:
        stmt = stmt.where(Assignment.judge_id == judge_id)
    rows = db.session.execute(stmt).all()
    judge_ids = {r.judge_id for r in rows}
    names = {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(judge_ids)))} \
        if judge_ids else {}
    by_panel = {p.id: p for p in panels}
    criteria = _criteria({p.category_id for p in panels})
    sheets: dict[int, JudgeSheet] = {}
    pools: dict[tuple[int, int], SheetPool] = {}
    for r in rows:
        panel = by_panel.get(r.panel_id)
        if panel is None:
            continue
        sheet = sheets.setdefault(r.judge_id, JudgeSheet(r.judge_id, names.get(r.judge_id, "")))
        pool = pools.get((r.judge_id, r.panel_id))
        if pool is None:
            pool = pools[(r.judge_id, r.panel_id)] = SheetPool(
                panel.category.name, panel.division.name, criteria.get(panel.category_id, ()))
            sheet.pools.append(pool)
        title = r.title + (f"（{r.subform}）" if r.subform else "")
        pool.entries.append(SheetEntry(r.code, title))
    order = _judge_order(round_id, panel_index)
    pool_rank = {id(pool): panel_index[panel_id] for (_, panel_id), pool in pools.items()}
    for sheet in sheets.values():
        sheet.pools.sort(key=lambda p: pool_rank[id(p)])
    return sorted(sheets.values(), key=lambda s: (order.get(s.judge_id, (1 << 30, 0)), s.judge_name, s.judge_id))


# --- The PDF ------------------------------------------------------------------------------------------

FIXED_TEXTS = ("评分表", "评委：", "轮次：", "类别·组别：", "共", "件作品", "序号", "作品编号", "作品名称", "总分",
               "分", "（", "）", "评委签名：", "日期：", "年", "月", "日", "评分标准", "（续）", "第", "页",
               "打印日期：", "本轮次尚未给评委分配作品。", "说明：", "各项分数填0到满分之间的数，最多保留一位小数；总分为各项之和。",
               "请用黑色或蓝色笔填写；涂改处请评委签名确认。", "·")
NOTE_LINES = ("各项分数填0到满分之间的数，最多保留一位小数；总分为各项之和。", "请用黑色或蓝色笔填写；涂改处请评委签名确认。")
MARGIN = 15 * mm
NUMBER_W, CODE_W, TOTAL_W = 10 * mm, 27 * mm, 17 * mm
CRITERION_W, CRITERION_MIN_W, CRITERION_MAX_W = 17 * mm, 12 * mm, 28 * mm
HEADER_SIZE = 9
TITLE_MIN_W, TITLE_ROOMY_W = 34 * mm, 60 * mm
CRITERION_ROOMY_W = 24 * mm


def _style(name: str, font: str, size: float, leading: float | None = None, align=TA_LEFT,
           color=colors.black) -> ParagraphStyle:
    return paragraph_style(name, font, size, leading, align, color, line_height=1.3)


class _Section(SectionMarker):
    """An invisible marker: the pages after it belong to this judge and pool (numbering, running head)."""

    def __init__(self, key: int, head: str):
        super().__init__(head)
        self.key = key


class _SheetDoc(SectionedDoc):
    section: _Section | None
    continued_format = "{name}（续）"
    running_head_size = 8.5

    def _page_ends(self, canvas, doc):
        canvas.sheet_section = self.section.key if self.section else -1
        canvas.sheet_head = self.section.name if self.section else ""
        super()._page_ends(canvas, doc)


def _section_canvas(fonts: FontSet, printed_on: str):
    """Numbers the pages of each judge-and-pool section on its own: 第 1 页 共 2 页."""

    class SectionCanvas(DeferredCanvas):
        initial_font = fonts.regular

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.sheet_section = -1
            self.sheet_head = ""

        def save(self):
            self._totals: dict[int, int] = {}
            self._seen: dict[int, int] = {}
            for state in self._saved_pages:
                self._totals[state["sheet_section"]] = self._totals.get(state["sheet_section"], 0) + 1
            super().save()

        def draw_footer(self, index, state):
            key = state["sheet_section"]
            self._seen[key] = self._seen.get(key, 0) + 1
            draw_page_footer(self, fonts.regular, self._seen[key], self._totals[key], MARGIN, f"打印日期：{printed_on}",
                             state.get("sheet_head") or "")

    return SectionCanvas


def _criterion_widths(criteria: Sequence[SheetCriterion], font: str) -> list[float]:
    """Each criterion column as wide as its name on one line (17 to 28 mm)."""
    return [min(CRITERION_MAX_W, max(CRITERION_W, stringWidth(c.name, font, HEADER_SIZE) + 8)) for c in criteria]


def _widths(criteria: Sequence[SheetCriterion], usable: float, with_titles: bool,
            font: str) -> tuple[list[float], bool]:
    """Column widths (序号, 编号, [名称], criteria..., 总分), and whether the title column fits."""
    fixed = NUMBER_W + CODE_W + TOTAL_W
    criteria_w = _criterion_widths(criteria, font)
    title_w = usable - fixed - sum(criteria_w)
    if with_titles and title_w >= TITLE_MIN_W:
        # Few criteria: give each score box more room to write in (up to 24 mm), keeping 60 mm for the title.
        spare = title_w - TITLE_ROOMY_W
        if spare > 0 and criteria_w:
            grown = [max(w, min(CRITERION_ROOMY_W, w + spare / len(criteria_w))) for w in criteria_w]
            title_w -= sum(grown) - sum(criteria_w)
            criteria_w = grown
        return [NUMBER_W, CODE_W, title_w, *criteria_w, TOTAL_W], True
    room = usable - fixed
    if sum(criteria_w) > room:  # squeeze the criteria (never below 12 mm)
        factor = room / sum(criteria_w)
        criteria_w = [max(CRITERION_MIN_W, w * factor) for w in criteria_w]
    code_w = CODE_W + max(0.0, room - sum(criteria_w))
    return [NUMBER_W, code_w, *criteria_w, TOTAL_W], False


def _page_size(sheets: Sequence[JudgeSheet], with_titles: bool, font: str):
    """Portrait unless some pool has so many criteria that the title column (or the criteria) would not fit."""
    usable = A4[0] - 2 * MARGIN
    fixed = NUMBER_W + CODE_W + TOTAL_W
    for pool in (p for s in sheets for p in s.pools):
        needed = sum(_criterion_widths(pool.criteria, font)) + (TITLE_MIN_W if with_titles else 0)
        if fixed + needed > usable:
            return landscape(A4)
    return A4


def _coverage(fonts: FontSet, heading: str, round_name: str, sheets: Sequence[JudgeSheet]) -> None:
    items: list[tuple[str, str]] = [("页面固定文字", t) for t in FIXED_TEXTS]
    items += [("届次名称", heading), ("轮次名称", round_name)]
    for sheet in sheets:
        items.append((f"评委「{sheet.judge_name}」", sheet.judge_name))
        for pool in sheet.pools:
            items += [(f"类别「{pool.category}」", pool.category), (f"组别「{pool.division}」", pool.division)]
            for c in pool.criteria:
                items += [(f"评分标准「{pool.category}」", c.name), (f"评分标准「{pool.category}」", c.descriptor)]
            for e in pool.entries:
                items += [(f"作品 {e.code}", e.code), (f"作品 {e.code}", e.title)]
    check_coverage(items, fonts)


def blank_score_sheets_pdf(rnd, judge_assignments: Sequence[JudgeSheet], out: BinaryIO,
                           fonts: FontSet | None = None, with_titles: bool = True,
                           printed_on: dt.date | None = None) -> None:
    """A4 pages per judge and pool: header (届次大赛名称, 轮次, 评委, 类别·组别), the blind table of
    the assigned entries with one column per criterion (its maximum in the header) and a total,
    评委签名 and 日期, and the rubric's descriptors. rnd: the Round (its name and edition title)."""
    fonts = fonts or ensure_fonts()
    edition = getattr(rnd, "edition", None)
    heading = getattr(edition, "title", "") or ""
    round_name = getattr(rnd, "name", "") or ""
    sheets = [s for s in judge_assignments if any(p.entries for p in s.pools)]
    _coverage(fonts, heading, round_name, sheets)
    printed_on = (printed_on or dt.date.today()).isoformat()
    pagesize = _page_size(sheets, with_titles, fonts.bold)
    usable = pagesize[0] - 2 * MARGIN
    doc = _SheetDoc(out, fonts, pagesize=pagesize, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=14 * mm,
                    bottomMargin=16 * mm, title=f"{heading}{round_name}评分表", author=heading, creator="judging")
    title_style = _style("title", fonts.bold, 15, 20, TA_CENTER)
    subtitle_style = _style("subtitle", fonts.bold, 13, 18, TA_CENTER)
    info_style = _style("info", fonts.regular, 10.5, 14)
    header_style = _style("th", fonts.bold, HEADER_SIZE, 11.5, TA_CENTER)
    number_style = _style("tdn", fonts.regular, 9, 11.5, TA_CENTER)
    code_style = _style("code", fonts.bold, 10.5, 13)
    cell_style = _style("td", fonts.regular, 8.5, 11)
    sign_style = _style("sign", fonts.regular, 11, 16)
    rubric_head = _style("rh", fonts.bold, 10.5, 15)
    rubric_style = _style("rubric", fonts.regular, 9, 12.5)
    note_style = _style("note", fonts.regular, 8.5, 12, color=colors.HexColor("#444444"))

    story: list = []
    if not sheets:
        story += [Paragraph(markup(heading), title_style), Paragraph(markup(f"{round_name}评分表"), subtitle_style),
                  Spacer(0, 10 * mm), Paragraph("本轮次尚未给评委分配作品。", info_style)]
    section = 0
    for sheet in sheets:
        for pool in sheet.pools:
            if not pool.entries:
                continue
            if section:
                story.append(PageBreak())
            section += 1
            story.append(_Section(section, f"{sheet.judge_name} · {pool.label} · {round_name}评分表"))
            story.append(Paragraph(markup(heading), title_style))
            story.append(Paragraph(markup(f"{round_name}评分表"), subtitle_style))
            story.append(Spacer(0, 3 * mm))
            info = Table([[Paragraph(f"评委：<font name=\"{fonts.bold}\">{markup(sheet.judge_name)}</font>", info_style),
                           Paragraph(f"轮次：{markup(round_name)}", info_style),
                           Paragraph(f"类别·组别：{markup(pool.label)}", info_style),
                           Paragraph(f"共 {len(pool.entries)} 件作品", info_style)]],
                         colWidths=[usable * 0.32, usable * 0.2, usable * 0.3, usable * 0.18])
            info.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), fonts.regular),
                                      ("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
            story += [info, Spacer(0, 2.5 * mm)]

            widths, titles = _widths(pool.criteria, usable, with_titles, fonts.bold)
            head = [Paragraph("序号", header_style), Paragraph("作品编号", header_style)]
            if titles:
                head.append(Paragraph("作品名称", header_style))
            head += [Paragraph(f"{markup(c.name)}<br/>（{_num(c.max_points)}分）", header_style) for c in pool.criteria]
            head.append(Paragraph(f"总分<br/>（{_num(pool.total_max)}分）", header_style))
            data = [head]
            for number, entry in enumerate(pool.entries, start=1):
                row = [Paragraph(str(number), number_style), Paragraph(markup(entry.code), code_style)]
                if titles:
                    row.append(Paragraph(markup(entry.title), cell_style))
                row += [""] * (len(pool.criteria) + 1)
                data.append(row)
            first_score = 3 if titles else 2
            table = Table(data, colWidths=widths, repeatRows=1)
            table.setStyle(TableStyle([
                ("FONTNAME", (0, 0), (-1, -1), fonts.regular),  # the cells' base font: no unembedded Helvetica
                ("GRID", (0, 0), (-1, -1), 0.6, colors.HexColor("#5F6B76")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E6ECF2")),
                ("BACKGROUND", (-1, 1), (-1, -1), colors.HexColor("#F6F8FA")),
                ("LINEBEFORE", (-1, 0), (-1, -1), 1.2, colors.HexColor("#333333")),
                ("LINEBEFORE", (first_score, 0), (first_score, -1), 1.2, colors.HexColor("#333333")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, 0), 3),
                ("BOTTOMPADDING", (0, 0), (-1, 0), 3),
                ("TOPPADDING", (0, 1), (-1, -1), 8),  # room to write by hand: rows about 10 mm high
                ("BOTTOMPADDING", (0, 1), (-1, -1), 8),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]))
            story.append(table)
            signature = Table([[Paragraph("评委签名：", sign_style), "",
                                Paragraph("日期：&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;年"
                                          "&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;月&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;日",
                                          sign_style)]],
                              colWidths=[24 * mm, usable * 0.42, usable - 24 * mm - usable * 0.42])
            signature.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), fonts.regular),
                                           ("LINEBELOW", (1, 0), (1, 0), 0.8, colors.black),
                                           ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                           ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                                           ("LEFTPADDING", (2, 0), (2, 0), 8 * mm)]))
            story += [CondPageBreak(18 * mm), Spacer(0, 7 * mm), signature, Spacer(0, 6 * mm)]
            rubric = [Paragraph("评分标准", rubric_head)]
            rubric += [Paragraph(f"<font name=\"{fonts.bold}\">{markup(c.name)}</font>（{_num(c.max_points)}分）"
                                 + (f"：{markup(c.descriptor)}" if c.descriptor else ""), rubric_style)
                       for c in pool.criteria]
            rubric.append(Spacer(0, 1.5 * mm))
            rubric += [Paragraph(f"说明：{NOTE_LINES[0]}{NOTE_LINES[1]}", note_style)]
            story.append(KeepTogether(rubric))
    doc.build(story, canvasmaker=_section_canvas(fonts, printed_on))


# --- The 评分 sheet ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _RubricCriterion:
    id: int
    name: str
    max_points: Decimal
    category_id: int


def _round_categories(rnd: Round) -> list[Category]:
    """The categories scored in the round (its panels'), else all of the edition's, in order."""
    ids = set(db.session.scalars(select(Panel.category_id).where(Panel.round_id == rnd.id)))
    stmt = (select(Category).where(Category.edition_id == rnd.edition_id).options(selectinload(Category.criteria))
            .order_by(Category.position, Category.id))
    categories = list(db.session.scalars(stmt))
    chosen = [c for c in categories if c.id in ids]
    return chosen or categories


def criterion_columns(categories: Sequence[Category]) -> list[str]:
    """One column per criterion name, in the order the rubrics list them (a name shared by two
    categories, e.g. 创新性, is one column)."""
    names: list[str] = []
    for category in categories:
        for criterion in category.criteria:
            if criterion.name not in names:
                names.append(criterion.name)
    return names


def _instructions(rnd: Round, categories: Sequence[Category]) -> tuple[str, ...]:
    lines = [
        f"{rnd.edition.title} · {rnd.name}：纸质评分表录入。",
        f"每行是一位评委对一件作品的评分：「{CODE_HEADER}」、「{JUDGE_HEADER}」（评委姓名或用户名），然后每个评分指标一列。",
        "只填写该作品所属类别的评分指标；其他类别的指标列留空。",
        "分数为0到该项满分之间的数，最多一位小数。",
        "只有作品编号和评委、没有填分数的行在导入时跳过。",
        "导入时先检查整张表：只要有一处错误就一条也不导入，并列出每个错误所在的行和列。",
        "同一个文件重复导入不会重复记分。评委已在平板上提交的评分会被纸质评分覆盖（预览中会列出）。",
        "评分标准：",
    ]
    for category in categories:
        parts = "、".join(f"{c.name}（满分{_num(c.max_points)}）" for c in category.criteria)
        lines.append(f"· {category.name}：{parts or '（尚未设置评分标准）'}")
    if rnd.locked:
        lines.append(f"注意：{rnd.name}评分现已锁定，需组委会解锁后才能导入。")
    return tuple(lines)


def score_sheet_spec(rnd: Round, categories: Sequence[Category] | None = None) -> SheetSpec:
    categories = list(categories) if categories is not None else _round_categories(rnd)
    columns = [
        Column("code", CODE_HEADER, required=True, aliases=("编号",), width=14,
               note="作品编号，例如 XFX-001。"),
        Column("judge", JUDGE_HEADER, required=True, aliases=("评委姓名", "评委用户名"), width=14,
               note="评委的姓名或用户名；同名的评委请填用户名。"),
    ]
    for index, name in enumerate(criterion_columns(categories)):
        maxima = "、".join(f"{c.name}{_num(k.max_points)}分" for c in categories for k in c.criteria if k.name == name)
        columns.append(Column(f"c{index}", name, text=False, width=max(10, 2 * len(name) + 4),
                              note=f"满分：{maxima}。其他类别的作品留空。"))
    return SheetSpec(title=SHEET_TITLE, columns=tuple(columns), instructions=_instructions(rnd, categories))


def _judge_labels(judges: Sequence[User]) -> dict[int, str]:
    """A judge as the sheet names him: his name, or his username where two judges share a name."""
    counts: dict[str, int] = {}
    for j in judges:
        counts[_name_key(j.display_name)] = counts.get(_name_key(j.display_name), 0) + 1
    return {j.id: (j.display_name if counts[_name_key(j.display_name)] == 1 else j.username) for j in judges}


def _candidate_judges(round_id: int) -> list[User]:
    """Everyone the 评委 column may name: judge accounts and whoever is assigned in the round."""
    return list(db.session.scalars(select(User).where(or_(
        User.role == "judge", User.id.in_(select(Assignment.judge_id).where(Assignment.round_id == round_id))))))


def template_bytes(rnd: Round) -> bytes:
    """The 评分 sheet of the round, one row per assignment (作品编号, 评委), ordered as the blank
    sheets print (judge, pool, code), with the criterion columns of every category in the round."""
    categories = _round_categories(rnd)
    spec = score_sheet_spec(rnd, categories)
    labels = _judge_labels(_candidate_judges(rnd.id))
    rows = [{"code": entry.code, "judge": labels.get(sheet.judge_id, sheet.judge_name)}
            for sheet in load_judge_sheets(rnd.id) for pool in sheet.pools for entry in pool.entries]
    return template_workbook(spec, rows)


# --- Planning an import -----------------------------------------------------------------------------

@dataclass
class PaperRow:
    row: int  # Excel row number
    entry_id: int
    code: str
    title: str
    category_id: int
    category: str
    judge_id: int
    judge_name: str
    values: dict[int, Decimal]  # criterion id -> points
    key: str
    base_version: int
    action: str  # new, update, same (nothing to write), replay (this file was imported before)
    previous_total: Decimal | None = None
    previous_source: str | None = None

    @property
    def total(self) -> Decimal:
        return sum(self.values.values(), Decimal("0"))

    @property
    def writes(self) -> bool:
        return self.action in ("new", "update", "replay")


@dataclass
class PaperPlan:
    filename: str
    round_id: int
    digest: str  # sha256 of the file
    sheet: str | None = None
    rows: list[PaperRow] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    warnings: list[Fault] = field(default_factory=list)
    total_rows: int = 0
    skipped_blank: int = 0
    criteria: dict[int, list[_RubricCriterion]] = field(default_factory=dict)  # category id -> rubric

    @property
    def ok(self) -> bool:
        return not self.faults and bool(self.rows)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    def groups(self) -> list[tuple[str, list[_RubricCriterion], list[PaperRow]]]:
        """Rows by category (first met), each with its rubric: the preview's tables."""
        grouped: dict[int, list[PaperRow]] = {}
        names: dict[int, str] = {}
        for r in self.rows:
            grouped.setdefault(r.category_id, []).append(r)
            names[r.category_id] = r.category
        return [(names[cid], self.criteria.get(cid, []), rows) for cid, rows in grouped.items()]


class _Collector:
    """Faults sorted by row, then by column from left to right, then as found."""

    def __init__(self, sheet: str, order: dict[str, int]):
        self.sheet = sheet
        self.order = order
        self.items: list[tuple[int, int, int, Fault]] = []

    def add(self, row: int | None, column: str | None, reason: str) -> None:
        self.items.append((row or 0, self.order.get(column, -1) if column else -1, len(self.items),
                           Fault(reason=reason, sheet=self.sheet if row is not None else None, row=row,
                                 column=column)))

    def sorted(self) -> list[Fault]:
        return [f for *_, f in sorted(self.items, key=lambda item: item[:3])]


def _code_key(text: str) -> str:
    return "".join(text.split()).upper()


def _name_key(text: str) -> str:
    return "".join((text or "").split()).lower()


def row_ranges(rows: Sequence[int], limit: int = 12) -> str:
    """第3–51行、第55行 (ascending rows; at most `limit` ranges, then 等)."""
    ranges: list[list[int]] = []
    for row in sorted(rows):
        if ranges and row == ranges[-1][1] + 1:
            ranges[-1][1] = row
        else:
            ranges.append([row, row])
    parts = [f"第{a}行" if a == b else f"第{a}–{b}行" for a, b in ranges[:limit]]
    return "、".join(parts) + ("等" if len(ranges) > limit else "")


def row_key(digest: str, row: int) -> str:
    return f"{KEY_PREFIX}{digest[:KEY_DIGEST_CHARS]}:{row}"


def plan_paper_import(data: bytes, filename: str, rnd: Round) -> PaperPlan:
    """Read and check the whole 评分 sheet against the round; nothing is written."""
    digest = hashlib.sha256(data).hexdigest()
    plan = PaperPlan(filename=filename, round_id=rnd.id, digest=digest)
    categories = list(db.session.scalars(select(Category).where(Category.edition_id == rnd.edition_id)
                                         .options(selectinload(Category.criteria))
                                         .order_by(Category.position, Category.id)))
    spec = score_sheet_spec(rnd, categories)
    try:
        sheet = read_sheet(data, spec, filename, max_rows=MAX_SCORE_ROWS)
    except SheetError as error:
        plan.faults = list(error.faults)
        return plan
    plan.sheet = sheet.title
    plan.total_rows = len(sheet.rows)
    header_of = {c.key: c.header for c in spec.columns}
    key_of = {c.header: c.key for c in spec.columns}
    faults = _Collector(sheet.title, {c.header: i for i, c in enumerate(spec.columns)})
    warnings = _Collector(sheet.title, {c.header: i for i, c in enumerate(spec.columns)})
    criterion_keys = [c.key for c in spec.columns[2:]]
    rubric = {c.id: [_RubricCriterion(k.id, k.name, k.max_points, c.id) for k in c.criteria] for c in categories}
    plan.criteria = rubric
    category_names = {c.id: c.name for c in categories}
    criteria_by_id = {k.id: k for c in categories for k in c.criteria}

    if rnd.locked:
        faults.add(None, None, f"{rnd.name}评分已锁定，不能导入纸质评分。如需导入，请先在评审进度页解锁（需填写原因）。")

    # Everything the rows refer to, each in one query.
    entries: dict[str, tuple] = {}
    for row in db.session.execute(select(Entry.id, Entry.code, Entry.title, Entry.status, Entry.category_id)
                                  .where(Entry.edition_id == rnd.edition_id)):
        entries[_code_key(row.code)] = row
    judges = _candidate_judges(rnd.id)
    by_username = {j.username.lower(): j for j in judges}
    by_name: dict[str, list[User]] = {}
    for j in judges:
        by_name.setdefault(_name_key(j.display_name), []).append(j)
    assigned = {(entry_id, judge_id) for entry_id, judge_id in db.session.execute(
        select(Assignment.entry_id, Assignment.judge_id).where(Assignment.round_id == rnd.id))}
    current = {(s.entry_id, s.judge_id): s for s in db.session.scalars(
        select(Score).where(Score.round_id == rnd.id).options(selectinload(Score.values)))}
    replayed = {h.idempotency_key: h for h in db.session.scalars(
        select(ScoreHistory).where(ScoreHistory.round_id == rnd.id,
                                   ScoreHistory.idempotency_key.like(row_key(digest, 0)[:-1] + "%")))}

    seen: dict[tuple[int, int], int] = {}
    blank_rows: list[int] = []
    missing_columns: dict[str, str] = {}  # criterion name -> an entry code that needs it
    for sheet_row in sheet.rows:
        number = sheet_row.number
        cells = {k: sheet_row.get(k) for k in criterion_keys if k in sheet.present}
        if not any(cells.values()):
            blank_rows.append(number)
            continue
        row_faults_before = len(faults.items)

        code_text = sheet_row.get("code")
        entry = None
        if not code_text:
            faults.add(number, CODE_HEADER, "请填写作品编号")
        else:
            entry = entries.get(_code_key(code_text))
            if entry is None:
                faults.add(number, CODE_HEADER, f"本届没有编号为「{code_text}」的作品")
            elif entry.status == "disqualified":
                faults.add(number, CODE_HEADER, f"作品 {entry.code} 已取消资格，不再评分")
                entry = None

        judge_text = sheet_row.get("judge")
        judge = None
        if not judge_text:
            faults.add(number, JUDGE_HEADER, "请填写评委的姓名或用户名")
        else:
            judge = by_username.get(judge_text.strip().lower())
            if judge is None:
                named = by_name.get(_name_key(judge_text), [])
                if len(named) > 1 and entry is not None:
                    named = [j for j in named if (entry.id, j.id) in assigned] or named
                if len(named) == 1:
                    judge = named[0]
                elif named:
                    faults.add(number, JUDGE_HEADER,
                               f"有{len(named)}名评委叫「{judge_text}」，请改填用户名："
                               + "、".join(j.username for j in named))
                else:
                    faults.add(number, JUDGE_HEADER, f"找不到评委「{judge_text}」（请填写评委的姓名或用户名）")

        if entry is not None and judge is not None:
            if (entry.id, judge.id) not in assigned:
                faults.add(number, JUDGE_HEADER,
                           f"评委「{judge.display_name}」没有被分配评作品 {entry.code}（{rnd.name}）")
            elif (entry.id, judge.id) in seen:
                faults.add(number, JUDGE_HEADER,
                           f"与第{seen[(entry.id, judge.id)]}行重复：评委「{judge.display_name}」对作品 {entry.code} "
                           "只能有一行")
            else:
                seen[(entry.id, judge.id)] = number

        values: dict[int, Decimal] = {}
        if entry is not None:
            own = rubric.get(entry.category_id, [])
            own_names = {c.name for c in own}
            category = category_names.get(entry.category_id, "")
            for key, text in cells.items():
                header = header_of[key]
                if text and header not in own_names:
                    faults.add(number, header, f"作品 {entry.code} 属于{category}，其评分标准没有「{header}」这一项，请留空")
            for criterion in own:
                key = key_of.get(criterion.name)
                if key not in sheet.present:
                    missing_columns.setdefault(criterion.name, entry.code)
                    continue
                text = cells.get(key, "")
                if not text:
                    faults.add(number, criterion.name,
                               f"请填写{criterion.name}的分数（作品 {entry.code} 属于{category}，"
                               f"满分{_num(criterion.max_points)}）")
                    continue
                parsed, problems = validate_values([criteria_by_id[criterion.id]], {criterion.id: text}, "draft")
                if problems:
                    for message in problems.values():
                        faults.add(number, criterion.name,
                                   f"「{text}」：{message.split('：', 1)[-1]}")
                else:
                    values.update(parsed)

        if len(faults.items) > row_faults_before or entry is None or judge is None:
            continue
        plan.rows.append(_plan_row(number, entry, category_names, judge, values, digest, current, replayed,
                                   warnings))

    plan.skipped_blank = len(blank_rows)
    if blank_rows:
        warnings.add(None, None, f"{len(blank_rows)}行只有作品编号和评委、没有填写分数，导入时跳过：{row_ranges(blank_rows)}")
    for name, code in missing_columns.items():
        faults.add(1, name, f"缺少「{name}」列：作品 {code} 等的评分标准有这一项（表头应在第1行）")
    if not faults.items and not plan.rows:
        faults.add(None, None, "表中没有可导入的评分：每行需填写作品编号、评委和该作品各项指标的分数。")
    plan.faults = faults.sorted()
    plan.warnings = warnings.sorted()
    if plan.faults:
        plan.rows = []
    return plan


def _plan_row(number: int, entry, category_names: dict[int, str], judge: User, values: dict[int, Decimal],
              digest: str, current: dict, replayed: dict, warnings: _Collector) -> PaperRow:
    key = row_key(digest, number)
    score = current.get((entry.id, judge.id))
    row = PaperRow(row=number, entry_id=entry.id, code=entry.code, title=entry.title, category_id=entry.category_id,
                   category=category_names.get(entry.category_id, ""), judge_id=judge.id,
                   judge_name=judge.display_name, values=values, key=key, base_version=0, action="new")
    if score is not None:
        row.previous_total = score.total
        row.previous_source = score.source
    earlier = replayed.get(key)
    if earlier is not None:
        row.action = "replay"
        row.base_version = earlier.version - 1  # what the first import sent, so the key's payload matches
        return row
    if score is None:
        return row
    row.base_version = score.version
    stored = {v.criterion_id: Decimal(v.points) for v in score.values}
    if score.status == "submitted" and stored == values:
        row.action = "same"
        return row
    row.action = "update"
    if score.status == "submitted":
        source = "纸质" if score.source == "paper" else "平板"
        warnings.add(number, JUDGE_HEADER,
                     f"评委「{judge.display_name}」已{source}提交作品 {entry.code} 的评分（总分{_num(score.total)}），"
                     f"导入后改为{_num(row.total)}")
    return row


# --- Applying ---------------------------------------------------------------------------------------

class PaperImportError(Exception):
    """submit_score refused a row after all (the data changed since the preview); nothing is kept."""

    def __init__(self, fault: Fault):
        self.fault = fault
        super().__init__(str(fault))


def apply_paper_import(plan: PaperPlan, rnd: Round, organizer: User) -> dict[str, int]:
    """Write a plan without faults: each row through submit_score (source paper, written by the
    organizer), then one audit event. Commits nothing; raises PaperImportError on a refusal (the
    caller rolls back, so nothing of the file is kept)."""
    if plan.faults or not plan.rows:
        raise ValueError("a plan with faults or without rows is not applied")
    judges = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({r.judge_id for r in plan.rows})))}
    result = {"new": 0, "update": 0, "same": 0, "replay": 0}
    for row in plan.rows:
        if not row.writes:
            result["same"] += 1
            continue
        status, body = submit_score(
            judges[row.judge_id],
            Submission(idempotency_key=row.key, round_id=rnd.id, entry_id=row.entry_id,
                       values={cid: format(points, "f") for cid, points in row.values.items()},
                       status="submitted", base_version=row.base_version),
            source="paper", written_by=organizer)
        if status not in (200, 201):
            raise PaperImportError(Fault(reason=body.get("message", "评分未能保存"), sheet=plan.sheet, row=row.row,
                                         column=JUDGE_HEADER))
        if body.get("replayed"):
            result["replay"] += 1
        else:
            result["update" if body["score"]["version"] > 1 else "new"] += 1
    audit.record(
        "paper_scores_imported", rnd, edition_id=rnd.edition_id,
        after={"file": plan.filename, "sha256": plan.digest, "rows": len(plan.rows), **result,
               "skipped_blank": plan.skipped_blank},
        summary=(f"导入纸质评分「{plan.filename}」到{rnd.name}：新增{result['new']}条，修改{result['update']}条，"
                 f"相同未改{result['same']}条，重复导入{result['replay']}条"),
        user=organizer)
    return result

