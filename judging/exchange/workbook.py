"""The contest workbook's .xlsx (../shared/WORKBOOK.md): the sheets, reading them, parsing cells, writing them.

Reading opens the file once (core.sheets.open_workbook: size, zip and content checks) and reads every
sheet of the workbook by its title; the sheets' headers are found by name in row 1 (column order is
free, extra columns are ignored, a header given twice or a required one missing is a fault named by
sheet and column). Cells are read as core.sheets.cell_text reads them (numbers without a trailing .0,
dates as YYYY-MM-DD, the leading quote of an escaped formula-looking cell removed), except free text
(titles, descriptions, certificate texts), which keeps its line breaks and inner spaces so that an
exported workbook reads back exactly.

Writing passes every value through core.sheets.append_row (escape_cell), so no cell is ever a formula.
Nothing here touches the database.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from judging.core import sheets
from judging.core.sheets import Column, Fault, SheetError, SheetRow, SheetSpec
from judging.core.text import LIST_SEPARATORS, clean

# --- The sheets -----------------------------------------------------------------------------------

EDITION = "大赛"
CATEGORIES = "类别"
DIVISIONS = "组别"
RUBRIC = "评分标准"
QUOTAS = "奖项名额"
REWARDS = "辅导教师奖励"
SCHOOLS = "学校"
ENTRIES = "作品"
JUDGES = "评委"
SCORES = "评分"
SHEET_ORDER = (EDITION, CATEGORIES, DIVISIONS, RUBRIC, QUOTAS, REWARDS, SCHOOLS, ENTRIES, JUDGES, SCORES)

# Data rows per sheet: the people-sized sheets as core.sheets, entries as the entry import, scores as
# the paper-score import (one row per judge and entry of a large city contest).
MAX_SHEET_ROWS = {ENTRIES: 10_000, SCORES: 20_000}
MAX_BYTES = sheets.MAX_IMPORT_BYTES

BLANK_MARK = "未填"  # a per-student value that is not known (e.g. one student's gender)

EDITION_SPEC = SheetSpec(EDITION, (
    Column("key", "项目", required=True, aliases=("设置", "名称项")),
    Column("value", "值", required=True, aliases=("内容", "设置值")),
))
CATEGORY_SPEC = SheetSpec(CATEGORIES, (
    Column("code", "代码", required=True, aliases=("类别代码",)),
    Column("name", "名称", required=True, aliases=("类别名称", "类别")),
    Column("subforms", "作品形式", aliases=("形式",)),
    Column("max_students", "学生人数上限", aliases=("每件作品学生人数上限", "学生上限")),
    Column("max_instructors", "指导教师人数上限", aliases=("指导教师上限",)),
))
DIVISION_SPEC = SheetSpec(DIVISIONS, (
    Column("code", "代码", required=True, aliases=("组别代码",)),
    Column("name", "名称", required=True, aliases=("组别名称", "组别")),
))
RUBRIC_SPEC = SheetSpec(RUBRIC, (
    Column("category", "类别", required=True),
    Column("name", "指标", required=True, aliases=("评分指标", "项目")),
    Column("max_points", "满分", required=True, aliases=("分值",)),
    Column("descriptor", "说明", aliases=("评分说明", "描述")),
))
QUOTA_SPEC = SheetSpec(QUOTAS, (
    Column("category", "类别", required=True),
    Column("division", "组别", required=True),
    Column("level", "奖项", required=True, aliases=("等级", "奖项等级")),
    Column("count", "名额", aliases=("人数", "数量")),
    Column("percent", "比例", aliases=("百分比",)),
    Column("min_score", "获奖最低分", aliases=("最低分",)),
))
REWARD_SPEC = SheetSpec(REWARDS, (
    Column("level", "奖项", required=True, aliases=("等级", "奖项等级")),
    Column("amount", "金额", aliases=("奖励金额", "金额（元）")),
    Column("points", "加分", aliases=("积分",)),
    Column("certificate", "颁发优秀指导教师证书", aliases=("优秀指导教师证书", "指导教师证书")),
    Column("org_points", "优秀组织奖积分", aliases=("组织奖积分",)),
))
SCHOOL_SPEC = SheetSpec(SCHOOLS, (
    Column("name", "名称", required=True, aliases=("学校名称", "学校")),
    Column("code", "代码", aliases=("学校代码",)),
    Column("cluster", "片区",),
    Column("parent", "上级学校", aliases=("中心校",)),
))
ENTRY_SPEC = SheetSpec(ENTRIES, (
    Column("code", "作品编号", aliases=("编号",)),
    Column("title", "作品名称", required=True, aliases=("作品名", "名称", "作品标题")),
    Column("category", "类别", required=True, aliases=("作品类别",)),
    Column("division", "组别", required=True, aliases=("参赛组别",)),
    Column("school", "学校", required=True, aliases=("学校名称", "所属学校")),
    Column("students", "学生", required=True, aliases=("学生姓名", "作者", "参赛学生")),
    Column("instructors", "指导教师", aliases=("辅导教师", "指导老师")),
    Column("description", "简介", aliases=("作品说明", "说明", "作品简介")),
    Column("status", "状态", aliases=("审核状态",)),
    Column("subform", "作品形式", aliases=("形式",)),
    Column("gender", "性别"),
    Column("grade", "年级"),
    Column("class_name", "班级", aliases=("班别",)),
    Column("video_url", "视频链接", aliases=("视频",)),
    Column("remark", "审核意见", aliases=("取消资格原因",)),
    # Written only when the deciding round has them: entries advanced into it, the organizer's prize overrides
    Column("advanced", "晋级终评", aliases=("进入终评",)),
    Column("override", "奖项调整", aliases=("调整奖项",)),
    Column("override_reason", "调整理由", aliases=("调整原因",)),
))
JUDGE_SPEC = SheetSpec(JUDGES, (
    Column("name", "姓名", required=True, aliases=("评委", "评委姓名")),
    Column("unit", "单位", aliases=("工作单位", "学校")),
    Column("category", "类别", required=True),
    Column("division", "组别", required=True),
    Column("username", "用户名", aliases=("账号",)),
))
SCORE_CODE, SCORE_JUDGE, SCORE_COMMENT = "作品编号", "评委", "评语"
SCORE_FIXED = (SCORE_CODE, SCORE_JUDGE, SCORE_COMMENT)

SPECS = {EDITION: EDITION_SPEC, CATEGORIES: CATEGORY_SPEC, DIVISIONS: DIVISION_SPEC, RUBRIC: RUBRIC_SPEC,
         QUOTAS: QUOTA_SPEC, REWARDS: REWARD_SPEC, SCHOOLS: SCHOOL_SPEC, ENTRIES: ENTRY_SPEC, JUDGES: JUDGE_SPEC}
# Free text read as typed (line breaks and inner spaces kept), per sheet.
RAW_KEYS = {RUBRIC: {"descriptor"}, ENTRIES: {"title", "description", "remark", "override_reason"}, EDITION: {"value"},
            SCORES: {"comment"}}


def score_spec(criterion_names: Sequence[str]) -> SheetSpec:
    """The 评分 sheet: 作品编号, 评委, one column per criterion name (shared across categories), 评语."""
    columns = [Column("code", SCORE_CODE, required=True, aliases=("编号",)),
               Column("judge", SCORE_JUDGE, required=True, aliases=("评委姓名", "姓名")),
               Column("comment", SCORE_COMMENT, aliases=("评价",))]
    columns += [Column(f"c{i}", name) for i, name in enumerate(criterion_names)]
    return SheetSpec(SCORES, tuple(columns))


# --- Reading --------------------------------------------------------------------------------------

def header_text(value) -> str:
    """A header as matched: cleaned, no spaces, required marks (*, （必填）) removed."""
    text = sheets.unescape_cell(clean(value)).replace(" ", "")  # headers are written escaped, like any cell
    for mark in sheets.REQUIRED_MARKS:
        text = text.replace(mark, "")
    return text


@dataclass
class Table:
    """One sheet as found in the file: its headers and its non-blank rows, not yet interpreted."""

    title: str
    headers: tuple[str, ...]
    rows: list[tuple[int, tuple]] = field(default_factory=list)  # (Excel row number, cell values)


def read_tables(data: bytes, filename: str) -> tuple[dict[str, Table], list[Fault]]:
    """Every known sheet of the workbook by its title, and the faults of the file as a whole.

    Raises SheetError when the file is not a readable .xlsx at all (size, zip, content)."""
    workbook = sheets.open_workbook(data, filename, limit=MAX_BYTES)
    tables: dict[str, Table] = {}
    faults: list[Fault] = []
    wanted = {header_text(t): t for t in SHEET_ORDER}
    try:
        for worksheet in workbook.worksheets:
            title = wanted.get(header_text(worksheet.title))
            if title is None or title in tables:
                continue
            limit = MAX_SHEET_ROWS.get(title, sheets.MAX_ROWS)
            physical_limit = max(sheets.MAX_PHYSICAL_ROWS, limit * 4)
            worksheet.reset_dimensions()
            rows = worksheet.iter_rows(values_only=True)
            header = next(rows, None) or ()
            table = Table(title, tuple(header_text(v) for v in header))
            tables[title] = table
            for number, values in enumerate(rows, start=2):
                if number > physical_limit:
                    faults.append(Fault(f"工作表「{worksheet.title}」的行数过多（超过{physical_limit}行，含空行），"
                                        "请删除多余的空行后再上传。", sheet=title))
                    break
                if not values or all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    continue
                if len(table.rows) >= limit:
                    faults.append(Fault(f"工作表「{worksheet.title}」超过{limit}行数据，超出上限。", sheet=title))
                    break
                table.rows.append((number, tuple(values)))
    except SheetError:
        raise
    except Exception as error:  # a damaged part found while reading the rows
        raise SheetError(Fault(f"文件「{filename}」的内容无法读取（可能已损坏）。请在Excel或WPS中打开后另存为"
                               "Excel工作簿（*.xlsx）再上传。")) from error
    finally:
        workbook.close()
    return tables, faults


def raw_text(value) -> str:
    """Free text as typed: line breaks kept (\\r\\n -> \\n), ends stripped, an escaped formula unquoted."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return sheets.cell_text(value)
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return sheets.unescape_cell(text)


@dataclass
class Rows:
    """A sheet's rows keyed by the spec's column keys."""

    title: str
    rows: list[SheetRow]
    present: frozenset[str]
    header_of: dict[str, str]  # key -> the header as written in the spec


def rows_of(table: Table, spec: SheetSpec, faults: list[Fault]) -> Rows:
    """Map a table's columns to the spec: duplicate or missing required headers become faults (row 1)."""
    by_header: dict[str, Column] = {}
    for column in spec.columns:
        for name in (column.header, *column.aliases):
            by_header.setdefault(header_text(name), column)
    positions: dict[str, int] = {}
    for index, text in enumerate(table.headers):
        column = by_header.get(text)
        if column is None or not text:
            continue
        if column.key in positions:
            faults.append(Fault(f"「{column.header}」列出现了两次", sheet=table.title, row=1, column=column.header))
            continue
        positions[column.key] = index
    for column in spec.columns:
        if column.required and column.key not in positions:
            faults.append(Fault(f"缺少必填列「{column.header}」（表头应在第1行）", sheet=table.title, row=1,
                                column=column.header))
    raw_keys = RAW_KEYS.get(spec.title, set())
    out: list[SheetRow] = []
    for number, values in table.rows:
        cells = {}
        for key, i in positions.items():
            value = values[i] if i < len(values) else None
            cells[key] = raw_text(value) if key in raw_keys else sheets.cell_text(value)
        if any(cells.values()):
            out.append(SheetRow(number=number, values=cells))
    return Rows(table.title, out, frozenset(positions), {c.key: c.header for c in spec.columns})


# --- Parsing cells --------------------------------------------------------------------------------

def split_cell(text: str) -> list[str]:
    """'张三、李四，王五' -> ['张三', '李四', '王五'] (also , ; ；); blank parts dropped."""
    if not text:
        return []
    return [p for p in (part.strip() for part in LIST_SEPARATORS.split(text)) if p]


def split_aligned(text: str) -> list[str]:
    """As split_cell, but BLANK_MARK stands for an unknown value and stays in its place (as '')."""
    return ["" if part == BLANK_MARK else part for part in split_cell(text)]


def key(text: str) -> str:
    """Look-up key of a name or code: no spaces, case-insensitive."""
    return clean(text).replace(" ", "").lower()


def parse_decimal(text: str, places: int, minimum: Decimal | None = None,
                  maximum: Decimal | None = None) -> tuple[Decimal | None, str | None]:
    """A number with at most `places` decimals inside the bounds, or a Chinese message."""
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        return None, f"「{text}」不是数字"
    if not value.is_finite():
        return None, f"「{text}」不是数字"
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        return None, f"「{text}」超出范围（应在{fmt_decimal(minimum)}到{fmt_decimal(maximum)}之间）"
    if minimum is not None and value < minimum:
        return None, f"「{text}」不能小于{fmt_decimal(minimum)}"
    if maximum is not None and value > maximum:
        return None, f"「{text}」不能大于{fmt_decimal(maximum)}"
    quantum = Decimal(1).scaleb(-places)
    if value != value.quantize(quantum):
        return None, f"「{text}」最多{places}位小数" if places else f"「{text}」应为整数"
    return value.quantize(quantum), None


def parse_int(text: str, minimum: int, maximum: int) -> tuple[int | None, str | None]:
    value, problem = parse_decimal(text, 0, Decimal(minimum), Decimal(maximum))
    if problem:
        return None, problem.replace("最多0位小数", "应为整数")
    return int(value), None


def parse_percent(text: str) -> tuple[Decimal | None, str | None]:
    """'10', '10%', '10％' -> 10 (percent, 0..100, at most two decimals)."""
    bare = text.strip().rstrip("%％").strip()
    return parse_decimal(bare, 2, Decimal(0), Decimal(100))


YES = {"是", "启用", "有", "y", "yes", "true", "1", "√", "✓"}
NO = {"否", "不启用", "停用", "无", "n", "no", "false", "0", "×"}


def parse_bool(text: str) -> bool | None:
    value = key(text)
    if value in YES:
        return True
    if value in NO:
        return False
    return None


_CN = {c: i for i, c in enumerate("零一二三四五六七八九")}
_CN["两"] = 2
_CN["〇"] = 0


def parse_chinese_number(text: str) -> int | None:
    """十三 -> 13, 一百零五 -> 105, 二十 -> 20 (below 10000); None when not such a numeral."""
    if not text or any(c not in _CN and c not in "十百千" for c in text):
        return None
    total, digit = 0, None
    for c in text:
        if c in _CN:
            digit = _CN[c]
            continue
        unit = {"十": 10, "百": 100, "千": 1000}[c]
        total += (1 if digit is None else digit) * unit
        digit = None
    return total + (digit or 0)


def parse_ordinal(text: str) -> int | None:
    """'13', '第13届', '第十三届', '十三' -> 13."""
    bare = text.replace(" ", "").removeprefix("第").removesuffix("届")
    if bare.isascii() and bare.isdigit():
        return int(bare)
    return parse_chinese_number(bare)


def parse_datetime(text: str) -> dt.datetime | None:
    text = text.strip().replace("/", "-").replace("T", " ")
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def parse_date(text: str) -> dt.date | None:
    value = parse_datetime(text)
    return value.date() if value is not None else None


# --- Writing --------------------------------------------------------------------------------------

def fmt_decimal(value: Decimal | int | None) -> str:
    """30.0 -> '30', 12.50 -> '12.5'."""
    if value is None:
        return ""
    text = format(Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def number_cell(value: Decimal | int | None):
    """A number for a cell: int when whole, else float (the shortest repr reads back exactly)."""
    if value is None:
        return None
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    return float(fmt_decimal(value))


def datetime_cell(value) -> str | None:
    """Dates and times as text (YYYY-MM-DD HH:MM), so no spreadsheet locale reformats them."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def bool_cell(value: bool) -> str:
    return "是" if value else "否"


@dataclass
class OutSheet:
    title: str
    headers: list[str]
    rows: Iterable[Sequence]
    widths: dict[int, int] = field(default_factory=dict)  # 0-based column -> width


def write_workbook(out_sheets: Sequence[OutSheet]) -> bytes:
    """The sheets in order: bold frozen headers, every value escaped (core.sheets.escape_cell).

    Streams (openpyxl write_only: about 10,000 rows a second here, PITFALLS), so a county's edition
    with tens of thousands of score rows is written in a few seconds."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="F0F4F8")
    escape = sheets.escape_cell
    for out in out_sheets:
        worksheet = workbook.create_sheet(out.title)
        for index, header in enumerate(out.headers):
            width = out.widths.get(index, max(10, min(40, len(header) * 2 + 4)))
            worksheet.column_dimensions[get_column_letter(index + 1)].width = width
        worksheet.freeze_panes = "A2"
        header_cells = []
        for header in out.headers:
            cell = WriteOnlyCell(worksheet, value=escape(header))
            cell.font, cell.fill = bold, fill
            header_cells.append(cell)
        worksheet.append(header_cells)
        for row in out.rows:
            worksheet.append([escape(v) for v in row])
    return sheets.workbook_bytes(workbook)


def sheet_values(data: bytes) -> dict[str, list[list]]:
    """Every sheet's cell values as lists (for tests and checks): {title: [[row 1 ...], ...]}."""
    import io

    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        out = {}
        for worksheet in workbook.worksheets:
            worksheet.reset_dimensions()
            rows = [list(r) for r in worksheet.iter_rows(values_only=True)]
            width = max((len(r) for r in rows), default=0)
            out[worksheet.title] = [r + [None] * (width - len(r)) for r in rows]  # read_only drops empty tails
        return out
    finally:
        workbook.close()


_SAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def safe_filename(name: str, fallback: str) -> str:
    return _SAFE_FILENAME.sub("_", name).strip(" .")[:100] or fallback
