"""Excel (.xlsx) helpers shared by every import and export: reading an uploaded sheet by its
Chinese headers, collecting faults by sheet, row and column, and writing templates and exports
whose cells can never be formulas.

Reading uses openpyxl's read_only mode and iterates rows (PITFALLS: a file written with
write_only has no dimension, so max_row is None). Every writer passes its values through
escape_cell(): openpyxl writes any string starting with "=" as a formula.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from judging.core.text import clean

MAX_IMPORT_BYTES = 5 * 1024 * 1024  # an upload for import larger than this is refused
MAX_ROWS = 5000  # data rows per sheet
# A physical row count far beyond MAX_ROWS (formatted blank rows) is refused too, so a sheet
# with a million empty-but-styled rows cannot keep a worker busy.
MAX_PHYSICAL_ROWS = MAX_ROWS * 4
# Uncompressed size of all parts of the workbook: a guard against zip bombs.
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
# What openpyxl holds in memory or parses one by one: a 480 KB file of 11 million tiny shared strings took
# 68 s and 1.1 GB to open. Counted in the compressed stream first; the largest real imports (20,000 score
# rows, a 5,000-entry contest workbook) stay far below.
MAX_SHARED_STRINGS = 500_000
MAX_CELLS = 2_000_000
# The opening tags as written, with or without a namespace prefix (<x:c ...>); a rare extra count is harmless.
_STRING_TAGS = (b"<si>", b"<si ", b":si>", b":si ")
_CELL_TAGS = (b"<c>", b"<c ", b":c>", b":c ")

INSTRUCTIONS_TITLE = "填写说明"
OPTIONS_TITLE = "选项"
TEMPLATE_ROWS = 500  # rows that get the drop-downs and the text format in a template

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
REQUIRED_MARKS = ("*", "＊", "（必填）", "(必填)")


# --- Faults -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fault:
    """One problem found in an uploaded file, named the way the user finds it in Excel."""

    reason: str
    sheet: str | None = None
    row: int | None = None  # Excel row number, 1-based (the header is row 1)
    column: str | None = None  # the Chinese header

    @property
    def location(self) -> str:
        """第3行「角色」, 第1行, 「角色」列, or '' for a problem with the whole file."""
        parts = ""
        if self.row is not None:
            parts += f"第{self.row}行"
        if self.column:
            parts += f"「{self.column}」" if self.row is not None else f"「{self.column}」列"
        return parts

    def __str__(self) -> str:
        where = f"工作表「{self.sheet}」" if self.sheet else ""
        where += self.location
        return f"{where}：{self.reason}" if where else self.reason

    def sort_key(self):
        """By sheet and row; within a row the order found (left to right) is kept."""
        return (self.sheet or "", self.row or 0)


class SheetError(Exception):
    """The file cannot be read as the expected sheet at all; carries one or more faults."""

    def __init__(self, faults: Fault | Sequence[Fault]):
        self.faults = [faults] if isinstance(faults, Fault) else list(faults)
        super().__init__("；".join(str(f) for f in self.faults))


class Faults:
    """Collects every fault of an import, so the user sees them all at once."""

    def __init__(self, sheet: str | None = None):
        self.sheet = sheet
        self.items: list[Fault] = []

    def add(self, row: int | None, column: str | None, reason: str, sheet: str | None = None) -> None:
        self.items.append(Fault(reason=reason, sheet=sheet or self.sheet, row=row, column=column))

    def extend(self, faults: Iterable[Fault]) -> None:
        self.items.extend(faults)

    def sorted(self) -> list[Fault]:
        return sorted(self.items, key=Fault.sort_key)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.sorted())


# --- Sheet layout -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str  # the name used in code
    header: str  # the Chinese header in row 1
    required: bool = False  # the header must be present (cells are checked by the import itself)
    note: str = ""  # one line for the 填写说明 sheet
    example: str = ""  # the example row of the template
    choices: tuple[str, ...] = ()  # fixed values: a drop-down that refuses anything else
    aliases: tuple[str, ...] = ()  # other headers accepted on import
    text: bool = True  # formatted as text in the template, so 001 stays 001
    width: int = 16


@dataclass(frozen=True)
class SheetSpec:
    title: str  # the worksheet name, e.g. 学校
    columns: tuple[Column, ...]
    instructions: tuple[str, ...] = ()  # general lines at the top of 填写说明

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def header(self, key: str) -> str:
        return self.column(key).header


@dataclass
class SheetRow:
    number: int  # Excel row number
    values: dict[str, str] = field(default_factory=dict)  # key -> cleaned text ('' when blank)

    def get(self, key: str) -> str:
        return self.values.get(key, "")


@dataclass
class ReadSheet:
    title: str  # the worksheet actually read
    rows: list[SheetRow]
    present: frozenset[str]  # keys whose header was found


# --- Cell values --------------------------------------------------------------------------------

def _quoted_trigger(text: str) -> bool:
    """'=x, ''=x: text that unescape_cell would unquote, so escape_cell quotes it once more."""
    bare = text.lstrip("'")
    return len(bare) < len(text) and bare.startswith(FORMULA_TRIGGERS)


def escape_cell(value):
    """A value safe to write: strings that Excel would read as a formula get a leading quote (and so does
    a typed '=x, so that unescape_cell gives back exactly what was written)."""
    if isinstance(value, str) and (value.startswith(FORMULA_TRIGGERS) or _quoted_trigger(value)):
        return "'" + value
    return value


def unescape_cell(text: str) -> str:
    """The inverse of escape_cell for values read back from a file we wrote."""
    if len(text) > 1 and text[0] == "'" and (text[1:].startswith(FORMULA_TRIGGERS) or _quoted_trigger(text[1:])):
        return text[1:]
    return text


def cell_text(value) -> str:
    """A cell as cleaned text: numbers without a trailing .0, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return unescape_cell(clean(value))


def _header_text(value) -> str:
    # A header is written through escape_cell too (a criterion named "-扣分项" comes out as "'-扣分项").
    text = unescape_cell(clean(value)).replace(" ", "")
    for mark in REQUIRED_MARKS:
        text = text.replace(mark, "")
    return text


# --- Reading ----------------------------------------------------------------------------------

def _not_xlsx(filename: str, extra: str = "") -> SheetError:
    hint = "请在Excel或WPS中打开后“另存为”Excel工作簿（*.xlsx）再上传。"
    if filename.lower().endswith(".xls"):
        hint = "这是旧版Excel（.xls）文件，" + hint
    return SheetError(Fault(f"文件「{filename}」不是有效的Excel文件（.xlsx）。{extra}{hint}"))


def check_upload_size(size: int, filename: str, limit: int = MAX_IMPORT_BYTES) -> None:
    if size > limit:
        raise SheetError(Fault(
            f"文件「{filename}」超过了导入文件{limit // (1024 * 1024)} MB的上限。"
            "请删除多余的工作表、图片或空行后再上传。"))
    if size == 0:
        raise SheetError(Fault(f"文件「{filename}」是空文件。"))


def _check_counts(archive: zipfile.ZipFile, filename: str) -> None:
    """SheetError when the XML parts hold more shared strings or cells than any import reads."""
    strings = cells = 0
    for info in archive.infolist():
        if not info.filename.lower().endswith(".xml"):
            continue
        with archive.open(info) as part:
            tail = b""
            while chunk := part.read(1 << 20):
                text = tail + chunk  # the last bytes again: a tag cut by the boundary is still seen
                strings += sum(text.count(tag) for tag in _STRING_TAGS)
                cells += sum(text.count(tag) for tag in _CELL_TAGS)
                if strings > MAX_SHARED_STRINGS or cells > MAX_CELLS:
                    raise SheetError(Fault(f"文件「{filename}」包含的单元格或文字过多（可能有大量空白格式或隐藏内容），"
                                           "无法导入。请只保留需要导入的数据后另存再上传。"))
                tail = chunk[-4:]


def open_workbook(data: bytes, filename: str, limit: int = MAX_IMPORT_BYTES):
    """The workbook in read_only mode, or SheetError with a message naming the file."""
    from openpyxl import load_workbook

    check_upload_size(len(data), filename, limit)
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        raise _not_xlsx(filename, "（如果文件设置了打开密码，请先取消密码。）")
    try:
        with zipfile.ZipFile(buffer) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
                raise _not_xlsx(filename)
            if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED_BYTES:
                raise SheetError(Fault(f"文件「{filename}」解压后过大，无法导入。"))
            _check_counts(archive, filename)
        buffer.seek(0)
        return load_workbook(buffer, read_only=True, data_only=True)
    except SheetError:
        raise
    except Exception as error:  # openpyxl raises many kinds (KeyError, InvalidFileException, XML errors)
        raise _not_xlsx(filename) from error


def _pick_worksheet(workbook, spec: SheetSpec, filename: str):
    names = workbook.sheetnames
    if spec.title in names:
        return workbook[spec.title]
    candidates = [n for n in names if n not in (INSTRUCTIONS_TITLE, OPTIONS_TITLE)]
    if len(candidates) == 1:
        return workbook[candidates[0]]
    raise SheetError(Fault(f"文件「{filename}」中找不到名为「{spec.title}」的工作表（现有：{'、'.join(names)}）。"))


def read_sheet(data: bytes, spec: SheetSpec, filename: str, max_rows: int = MAX_ROWS) -> ReadSheet:
    """The data rows of the sheet, keyed by column key. Raises SheetError for problems with the
    file or the header row (every missing required header named); cell values are left to the caller.
    `max_rows` bounds the data rows (the entry import allows more than the people imports); the
    physical row count, blank rows included, may be four times that."""
    physical_limit = max(MAX_PHYSICAL_ROWS, max_rows * 4)
    workbook = open_workbook(data, filename)
    try:
        worksheet = _pick_worksheet(workbook, spec, filename)
        title = worksheet.title
        # The stored dimension may be missing (write_only files) or wrong (some generators): with it,
        # read_only iteration would stop early and drop rows silently. Read every row instead.
        worksheet.reset_dimensions()
        rows_iter = worksheet.iter_rows(values_only=True)
        header = next(rows_iter, None) or ()
        by_header: dict[str, Column] = {}
        for column in spec.columns:
            for name in (column.header, *column.aliases):
                by_header[_header_text(name)] = column
        positions: dict[str, int] = {}
        faults = Faults(title)
        for index, value in enumerate(header):
            column = by_header.get(_header_text(value))
            if column is None:
                continue  # extra columns are allowed
            if column.key in positions:
                faults.add(1, column.header, f"「{column.header}」列出现了两次")
                continue
            positions[column.key] = index
        for column in spec.columns:
            if column.required and column.key not in positions:
                faults.add(1, column.header, f"缺少必填列「{column.header}」（表头应在第1行）")
        if faults:
            raise SheetError(faults.sorted())
        width = max(positions.values()) + 1 if positions else 0
        rows: list[SheetRow] = []
        for number, values in enumerate(rows_iter, start=2):
            if number > physical_limit:
                raise SheetError(Fault(f"工作表「{title}」的行数过多（超过{physical_limit}行，含空行）。"
                                       "请删除多余的空行后再上传。", sheet=title))
            values = tuple(values[:width]) if values else ()
            cells = {key: cell_text(values[i]) if i < len(values) else "" for key, i in positions.items()}
            if not any(cells.values()):
                continue  # a blank row
            if len(rows) >= max_rows:
                raise SheetError(Fault(f"工作表「{title}」超过{max_rows}行数据，请分成几个文件导入。", sheet=title))
            rows.append(SheetRow(number=number, values=cells))
        return ReadSheet(title=title, rows=rows, present=frozenset(positions))
    except SheetError:
        raise
    except Exception as error:  # a damaged part found while reading the rows
        raise _not_xlsx(filename, "文件内容无法读取（可能已损坏）。") from error
    finally:
        workbook.close()


# --- Writing ----------------------------------------------------------------------------------

def append_row(worksheet, values: Iterable) -> None:
    """Every writer appends through here, so no cell is ever a formula."""
    worksheet.append([escape_cell(v) for v in values])


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def template_workbook(spec: SheetSpec, example_rows: Sequence[dict] = (),
                      options: dict[str, Sequence[str]] | None = None) -> bytes:
    """An empty import sheet: bold headers (required ones marked red), example rows, drop-downs,
    and a 填写说明 sheet. `options` adds a drop-down of current values (e.g. school names) to a
    column; unlike fixed choices it only warns, since other values (a code) are allowed too."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    options = {k: [v for v in vals if v] for k, vals in (options or {}).items() if vals}
    wb = Workbook()
    ws = wb.active
    ws.title = spec.title
    append_row(ws, [c.header for c in spec.columns])
    bold = Font(bold=True)
    bold_required = Font(bold=True, color="B4232A")
    fill = PatternFill("solid", fgColor="F0F4F8")
    for index, column in enumerate(spec.columns, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = bold_required if column.required else bold
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center")
        letter = _column_letter(index)
        ws.column_dimensions[letter].width = column.width
        if column.text:
            ws.column_dimensions[letter].number_format = "@"
    for example in example_rows:
        append_row(ws, [example.get(c.key, "") for c in spec.columns])
        for index, column in enumerate(spec.columns, start=1):
            if column.text:
                ws.cell(row=ws.max_row, column=index).number_format = "@"
    ws.freeze_panes = "A2"

    options_ws = None
    options_used = 0
    for index, column in enumerate(spec.columns, start=1):
        letter = _column_letter(index)
        target = f"{letter}2:{letter}{TEMPLATE_ROWS + 1}"
        if column.choices:
            validation = DataValidation(
                type="list", formula1='"' + ",".join(column.choices) + '"', allow_blank=True,
                showErrorMessage=True, errorStyle="stop", errorTitle=f"{column.header}填写有误",
                error=f"请从下拉列表中选择：{'、'.join(column.choices)}")
        elif column.key in options:
            if options_ws is None:
                options_ws = wb.create_sheet(OPTIONS_TITLE)
            options_used += 1
            col = options_used
            options_ws.cell(row=1, column=col, value=escape_cell(column.header)).font = bold
            for r, value in enumerate(options[column.key], start=2):
                options_ws.cell(row=r, column=col, value=escape_cell(value))
            opt_letter = _column_letter(col)
            last = len(options[column.key]) + 1
            validation = DataValidation(
                type="list", formula1=f"'{OPTIONS_TITLE}'!${opt_letter}$2:${opt_letter}${last}", allow_blank=True,
                showErrorMessage=True, errorStyle="warning", errorTitle=f"{column.header}不在列表中",
                error="列表中没有这个值。若填写的是代码或本表中的学校，可以继续。")
        else:
            continue
        ws.add_data_validation(validation)
        validation.add(target)
    if options_ws is not None:
        options_ws.sheet_state = "hidden"

    notes = wb.create_sheet(INSTRUCTIONS_TITLE)
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 10
    notes.column_dimensions["C"].width = 70
    notes.column_dimensions["D"].width = 30
    append_row(notes, [f"「{spec.title}」工作表填写说明"])
    notes["A1"].font = Font(bold=True, size=14)
    for line in spec.instructions:
        append_row(notes, [line])
    append_row(notes, [])
    append_row(notes, ["列名", "是否必填", "说明", "可选值"])
    for cell in notes[notes.max_row]:
        cell.font = bold
        cell.fill = fill
    for column in spec.columns:
        append_row(notes, [column.header, "必填" if column.required else "选填", column.note,
                           "、".join(column.choices)])
    return workbook_bytes(wb)


def workbook_bytes(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
