"""Entries from Excel (作品导入): the sheet format, its template, and the all-or-nothing import.

A school coordinator downloads the template of his school (the organizer gets a variant with a
学校 column for any school), fills one row per entry and uploads it. plan_entry_import() reads
the whole sheet, normalises what teachers type (names separated by 、 , ， ; ；, full-width digits,
stray spaces, a category or division by name or code), checks every row with the same
RegistrationRules as the entry form, in file order and counting accepted rows, so rows of one
file count against the caps like saved entries do, and collects every fault with its Excel row
and column. apply_entry_import() writes a plan without faults in one transaction: every entry
through create_entry() with one shared rules object and code allocator, one flush, one audit event.
"""
from __future__ import annotations

import gc
import json
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import select

from judging.contests.models import Category, Division, Edition
from judging.contests.people_operations import normalise_name
from judging.core import audit
from judging.core.models import School, User
from judging.core.sheets import Column, Fault, SheetError, SheetSpec, read_sheet, template_workbook
from judging.core.text import LIST_SEPARATORS, clean
from judging.extensions import db
from judging.registration.operations import CodeAllocator, RegistrationError, check_window, create_entry
from judging.registration.rules import (
    EntryInput,
    Problem,
    RegistrationRules,
    StudentInput,
    normalise_class,
    normalise_grade,
)

SHEET_TITLE = "作品"
MAX_ENTRY_ROWS = 10_000  # data rows of one file (the people imports allow fewer)
VIDEO_URL_MAX = 500  # Entry.video_url is String(500); the rules do not check its length

# The column as the user reads it in a fault (the template's header carries a * when required).
HEADERS = {
    "school": "学校", "title": "作品名称", "category": "类别", "subform": "作品形式", "division": "组别",
    "students": "学生", "gender": "性别", "grade": "年级", "class_name": "班级", "instructors": "指导教师",
    "description": "作品说明", "video_url": "视频链接",
}
COLUMN_ORDER = {key: i for i, key in enumerate(HEADERS)}

# Where a rule's Problem.field points in the sheet.
FIELD_COLUMNS = {
    "title": "title", "category": "category", "division": "division", "subform": "subform",
    "students": "students", "instructors": "instructors", "description": "description",
    "video_url": "video_url",
}

GENDER_WORDS = {"男": "男", "女": "女", "男生": "男", "女生": "女", "男性": "男", "女性": "女",
                "m": "男", "f": "女", "male": "男", "female": "女"}

EXAMPLE_TITLE = "示例：自动感应浇花器"
EXAMPLE_STUDENTS = ("张小明", "李小红")
EXAMPLE_FAULT = "这是模板中的示例行，请删除或改成真实作品后再导入"
_IN_FILE_CODE = re.compile(r" (本表第\d+行)")  # the stand-in code of a row of the file, in a rule's message
_EXAMPLE_TITLE_READ = clean(EXAMPLE_TITLE)  # as read_sheet returns it (NFKC: the full-width colon becomes ":")


def _key(text: str) -> str:
    """Lookup key for names and codes: no spaces, case-insensitive."""
    return clean(text).replace(" ", "").lower()


def _split(text: str) -> list[str]:
    """split_list for a cell read_sheet has already cleaned (the common single value skips the regex split)."""
    if not text:
        return []
    if LIST_SEPARATORS.search(text) is None:
        return [text]
    return [part for part in (p.strip() for p in LIST_SEPARATORS.split(text)) if part]


def _name(text: str) -> str:
    """A person's name from a cleaned cell: '张 三' -> '张三' (normalise_name, skipped when there is no space)."""
    return normalise_name(text) if " " in text else text


class _Memo(dict):
    """Normalised values by raw value: a sheet repeats the same grades, classes and genders."""

    def __init__(self, normalise):
        super().__init__()
        self.normalise = normalise

    def __missing__(self, raw):
        value = self[raw] = self.normalise(raw)
        return value


def _title_key(title: str) -> str:
    return re.sub(r"[\s《》“”\"'·,，。.!！?？]", "", title).lower()


# --- The sheet ---------------------------------------------------------------------------------------

def _category_line(category: Category) -> str:
    line = (f"· {category.name}（代码 {category.code}）：每件作品最多{category.max_students}名学生、"
            f"{category.max_instructors}名指导教师")
    forms = category.subform_list
    if forms:
        line += f"；作品形式必填：{'、'.join(forms)}"
    return line


def _window_line(edition: Edition) -> str:
    if edition.registration_locked:
        return "报名时间：组委会已锁定报名，学校不能再导入作品。"
    opens = f"{edition.registration_opens:%Y-%m-%d %H:%M}" if edition.registration_opens else "不限"
    closes = f"{edition.registration_closes:%Y-%m-%d %H:%M}" if edition.registration_closes else "不限"
    return f"报名时间：{opens} 至 {closes}（学校只能在此期间导入）。"


def _instructions(edition: Edition, organizer: bool) -> tuple[str, ...]:
    lines = [
        f"届次：{edition.title}。",
        "每行一件作品，表头必须在第1行；列的顺序不限，可以有其他列（导入时忽略）。带 * 的列必须填写。",
        "第2行是示例，导入前请删除或改成真实作品。",
        "学生、指导教师可填多名，用顿号（、）、逗号或分号隔开；第一名学生为第一作者。",
        "性别、年级、班级：填一个（全部学生相同），或按学生顺序每人一个，同样用顿号隔开。"
        "年级可写 五年级、5、初一；班级可写 3班、3、(3)班。",
        "导入时先检查整张表：只要有一处错误就一件也不导入，并列出每个错误所在的行和列。",
        _window_line(edition),
    ]
    if edition.max_entries_per_class is not None:
        lines.append(f"每班每个类别最多报{edition.max_entries_per_class}件作品（按第一作者所在班级计，本表中的作品也计入）。")
    if edition.max_entries_per_school is not None:
        lines.append(f"每校每个类别最多报{edition.max_entries_per_school}件作品（已报作品和本表中的作品都计入）。")
    lines.append("每名学生每个类别只能报一件作品。")
    lines.append("类别（填名称或代码，不区分大小写）：")
    lines.extend(_category_line(c) for c in edition.categories)
    divisions = "、".join(f"{d.name}（{d.code}）" for d in edition.divisions)
    lines.append(f"组别（填名称或代码）：{divisions or '（组委会尚未设置）'}")
    if organizer:
        lines.append("学校：填写系统中已有学校的名称或代码。")
    return tuple(lines)


def entry_sheet(edition: Edition, organizer: bool, for_template: bool = False) -> SheetSpec:
    """The 作品 sheet of an edition. The organizer's variant has a required 学校 column; a
    coordinator's file may carry one too (read only to refuse another school), but his template
    leaves it out."""
    categories = "、".join(f"{c.name}/{c.code}" for c in edition.categories)
    divisions = "、".join(f"{d.name}/{d.code}" for d in edition.divisions)
    columns = []
    if organizer or not for_template:
        columns.append(Column("school", "学校*" if organizer else "学校", required=organizer,
                              aliases=("学校名称", "所属学校"), width=24,
                              note="学校的名称或代码，必须已在系统中。" if organizer
                              else "选填，只能是本校（留空即为本校）。"))
    columns += [
        Column("title", "作品名称*", required=True, aliases=("作品名", "名称", "作品标题"), width=28,
               note="作品的名称，不超过200字。书名号可加可不加。"),
        Column("category", "类别*", required=True, aliases=("作品类别", "类别代码"), width=12,
               note=f"本届设置的类别，填名称或代码：{categories}。"),
        Column("subform", "作品形式", aliases=("形式", "作品类型"), width=12,
               note="有作品形式的类别必填（例如科幻画：卡通画、素描画、国画），其他类别留空。"),
        Column("division", "组别*", required=True, aliases=("参赛组别",), width=12,
               note=f"填名称或代码：{divisions}。"),
        Column("students", "学生*", required=True, aliases=("学生姓名", "作者", "作者姓名", "参赛学生"), width=20,
               note="学生姓名，多名用顿号隔开，第一名为第一作者。"),
        Column("gender", "性别", width=10, note="男 或 女；多名学生时填一个（都相同）或按顺序每人一个。"),
        Column("grade", "年级*", required=True, width=12,
               note="例如 五年级、5、初一；多名学生时填一个（都相同）或按顺序每人一个。"),
        Column("class_name", "班级*", required=True, aliases=("班别",), width=10,
               note="例如 3班、3；多名学生时填一个（都相同）或按顺序每人一个。"),
        Column("instructors", "指导教师", aliases=("辅导教师", "指导老师", "辅导老师"), width=16,
               note="多名用顿号隔开。"),
        Column("description", "作品说明", aliases=("说明", "作品简介", "简介"), width=40,
               note="作品的简要说明，不超过5000字。"),
        Column("video_url", "视频链接", aliases=("视频", "视频地址"), width=28,
               note="以 http:// 或 https:// 开头，不超过500个字符。"),
    ]
    return SheetSpec(title=SHEET_TITLE, columns=tuple(columns), instructions=_instructions(edition, organizer))


def example_row(edition: Edition, school_name: str = "") -> dict[str, str]:
    category = edition.categories[0] if edition.categories else None
    students = EXAMPLE_STUDENTS[:max(1, min(len(EXAMPLE_STUDENTS), category.max_students if category else 1))]
    forms = category.subform_list if category else []
    return {
        "school": school_name,
        "title": EXAMPLE_TITLE,
        "category": category.name if category else "",
        "subform": forms[0] if forms else "",
        "division": edition.divisions[0].name if edition.divisions else "",
        "students": "、".join(students),
        "gender": "、".join(("男", "女")[:len(students)]),
        "grade": "五年级",
        "class_name": "3班",
        "instructors": "王老师" if category is None or category.max_instructors else "",
        "description": "用土壤湿度传感器控制水泵，土壤干了自动浇水。",
        "video_url": "",
    }


def template_bytes(edition: Edition, school: School | None) -> bytes:
    """The template of a school (coordinator), or with a 学校 column (school None: organizer)."""
    organizer = school is None
    spec = entry_sheet(edition, organizer, for_template=True)
    subforms: list[str] = []
    for category in edition.categories:
        subforms += [f for f in category.subform_list if f not in subforms]
    options = {
        "category": [c.name for c in edition.categories],
        "division": [d.name for d in edition.divisions],
        "subform": subforms,
        "gender": ["男", "女"],
    }
    school_name = ""
    if organizer:
        names = list(db.session.scalars(select(School.name).order_by(School.name)))
        options["school"] = names
        school_name = names[0] if names else "某某小学"
    return template_workbook(spec, [example_row(edition, school_name)], options=options)


# --- Planning --------------------------------------------------------------------------------------

@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector runs again and again while tens of thousands of cells
    and ORM objects are made, and finds nothing to free: pausing it saves about a sixth of the
    preview's CPU time and a quarter of the write's on 10,000 rows (benchmarks/import_entries.py).
    It runs again right after (the pause is process-wide, and lasts seconds at most)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class EntryImportRow:
    row: int  # Excel row number
    school: School
    category: Category
    division: Division
    data: EntryInput
    code: str = ""  # the code it would get now (the preview); the import allocates again


@dataclass
class EntryImportPlan:
    filename: str
    edition_id: int
    organizer: bool
    sheet: str | None = None
    rows: list[EntryImportRow] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    warnings: list[Fault] = field(default_factory=list)
    total_rows: int = 0  # data rows read (faulty ones included)

    @property
    def ok(self) -> bool:
        return not self.faults and bool(self.rows)

    def pools(self) -> list[tuple[str, str, int]]:
        """(category, division, count) in the order first met."""
        counts: Counter = Counter()
        for r in self.rows:
            counts[(r.category.name, r.division.name)] += 1
        return [(c, d, n) for (c, d), n in counts.items()]


class _RowFaults:
    """The faults of one sheet, sorted on output by row and then by column from left to right."""

    def __init__(self, sheet: str):
        self.sheet = sheet
        self.items: list[tuple[int, int, int, Fault]] = []

    def add(self, row: int, key: str | None, reason: str) -> None:
        order = COLUMN_ORDER.get(key, -1) if key else -1
        self.items.append((row, order, len(self.items),
                           Fault(reason=reason, sheet=self.sheet, row=row, column=HEADERS.get(key) if key else None)))

    def sorted(self) -> list[Fault]:
        return [f for *_, f in sorted(self.items, key=lambda item: item[:3])]


class _Lookup:
    """Names and codes of the edition's categories and divisions, and of the schools."""

    def __init__(self, edition: Edition, organizer: bool):
        self.categories: dict[str, Category] = {}
        for c in edition.categories:
            self.categories.setdefault(_key(c.code), c)
        for c in edition.categories:
            self.categories[_key(c.name)] = c  # a name wins over a code
        self.divisions: dict[str, Division] = {}
        for d in edition.divisions:
            self.divisions.setdefault(_key(d.code), d)
            self.divisions.setdefault(_key(d.name).removesuffix("组"), d)  # 小学 for 小学组
        for d in edition.divisions:
            self.divisions[_key(d.name)] = d
        self.category_hint = "、".join(f"{c.name}/{c.code}" for c in edition.categories) or "（组委会尚未设置类别）"
        self.division_hint = "、".join(f"{d.name}/{d.code}" for d in edition.divisions) or "（组委会尚未设置组别）"
        self.subforms = {c.id: {_key(f): f for f in c.subform_list} for c in edition.categories}
        self.schools: dict[str, School] = {}
        if organizer:
            schools = list(db.session.scalars(select(School)))
            for s in schools:
                if s.code:
                    self.schools.setdefault(s.code.lower(), s)
            for s in schools:
                self.schools[normalise_name(s.name)] = s

    def school(self, ref: str) -> School | None:
        return self.schools.get(normalise_name(ref)) or self.schools.get(ref.lower())


def _per_student(values: list[str], count: int, label: str) -> tuple[list[str] | None, str | None]:
    """One value for all students or one each: the list per student, or a fault message."""
    if not values:
        return [""] * count, None
    if len(values) == 1 or count == 0:
        return values * max(count, 1), None
    if len(values) == count:
        return values, None
    return None, (f"{label}填了{len(values)}个，学生有{count}名：请填一个（全部学生相同），"
                  f"或按学生顺序每人一个")


def _problem_key(problem: Problem) -> str | None:
    """The column a rule's problem concerns."""
    if problem.field.startswith("students-"):
        message = problem.message
        if "性别" in message:
            return "gender"
        if "年级无法识别" in message:
            return "grade"
        if "班级无法识别" in message:
            return "class_name"
        return "students"
    return FIELD_COLUMNS.get(problem.field)


def _safe(normalise, value: str) -> str | None:
    """rules' grade and class readers raise ValueError on digits int() cannot read (str.isdigit
    is true for e.g. Kharosthi digits): such a value is simply unreadable here."""
    try:
        return normalise(value)
    except ValueError:
        return None


def _is_example(title: str, students: list[str]) -> bool:
    return title == _EXAMPLE_TITLE_READ and tuple(students) == EXAMPLE_STUDENTS[:len(students)] and bool(students)


def plan_entry_import(data: bytes, filename: str, edition: Edition, user: User,
                      school: School | None = None) -> EntryImportPlan:
    """Read and check a whole file. `school` is the coordinator's school; None for the organizer
    (the 学校 column names each row's school). Nothing is written."""
    with _collector_paused():
        return _plan_entry_import(data, filename, edition, user, school)


def _plan_entry_import(data: bytes, filename: str, edition: Edition, user: User,
                       school: School | None) -> EntryImportPlan:
    organizer = school is None
    plan = EntryImportPlan(filename=filename, edition_id=edition.id, organizer=organizer)
    try:
        check_window(edition, user)
    except RegistrationError as error:
        plan.faults = [Fault(p.message) for p in error.problems]
        return plan
    if not edition.categories or not edition.divisions:
        plan.faults = [Fault("组委会尚未设置本届的类别和组别，暂时不能导入作品。")]
        return plan
    spec = entry_sheet(edition, organizer)
    try:
        sheet = read_sheet(data, spec, filename, max_rows=MAX_ENTRY_ROWS)
    except SheetError as error:
        plan.faults = error.faults
        return plan
    plan.sheet = sheet.title
    plan.total_rows = len(sheet.rows)
    if not sheet.rows:
        plan.faults = [Fault(f"工作表「{sheet.title}」没有数据行（第1行是表头，数据从第2行开始）。", sheet=sheet.title)]
        return plan

    lookup = _Lookup(edition, organizer)
    rules = RegistrationRules(edition, None if organizer else {school.id})
    codes = CodeAllocator(edition)
    faults = _RowFaults(sheet.title)
    warnings = _RowFaults(sheet.title)
    first_row_of: dict[tuple, int] = {}
    grade_of = _Memo(lambda value: _safe(normalise_grade, value))
    class_of = _Memo(lambda value: _safe(normalise_class, value))
    gender_of = _Memo(lambda value: GENDER_WORDS.get(value.replace(" ", "").lower()))
    category_of = _Memo(lambda value: lookup.categories.get(_key(value)))
    division_of = _Memo(lambda value: lookup.divisions.get(_key(value)))
    school_of = _Memo(lookup.school)
    from_file: Counter = Counter()  # accepted rows per (school, category) and per class: for the cap messages

    for raw in sheet.rows:
        n = raw.number
        get = raw.values.get
        bad: set[str] = set()

        def fault(key: str | None, reason: str) -> None:
            bad.add(key)
            faults.add(n, key, reason)

        title = get("title", "")
        if len(title) > 2 and title[0] == "《" and title[-1] == "》":
            title = title[1:-1].strip()
        students = [_name(s) for s in _split(get("students", ""))]
        if _is_example(title, students):
            faults.add(n, None, EXAMPLE_FAULT)
            continue

        # 学校
        row_school = school
        school_ref = get("school", "")
        if organizer:
            if not school_ref:
                fault("school", "请填写学校（名称或代码）")
            else:
                row_school = school_of[school_ref]
                if row_school is None:
                    fault("school", f"找不到学校「{school_ref}」：请填写系统中已有学校的名称或代码")
        elif school_ref and normalise_name(school_ref) != school.name \
                and school_ref.lower() != (school.code or "").lower():
            fault("school", f"只能导入本校（{school.name}）的作品，「{school_ref}」不是本校；其他学校的作品请由该校或组委会导入")

        # 类别, 作品形式, 组别
        category = None
        ref = get("category", "")
        if not ref:
            fault("category", f"请填写类别（名称或代码：{lookup.category_hint}）")
        else:
            category = category_of[ref]
            if category is None:
                fault("category", f"找不到类别「{ref}」：请填写本届设置的类别名称或代码（{lookup.category_hint}）")
        subform = get("subform", "") or None
        if subform and category is not None:
            subform = lookup.subforms[category.id].get(_key(subform), subform)
        division = None
        ref = get("division", "")
        if not ref:
            fault("division", f"请填写组别（名称或代码：{lookup.division_hint}）")
        else:
            division = division_of[ref]
            if division is None:
                fault("division", f"找不到组别「{ref}」：请填写本届设置的组别名称或代码（{lookup.division_hint}）")

        # 学生, 性别, 年级, 班级
        count = len(students)

        def per_student_values(column: str, label: str, read, example: str, blank_example: str) -> list[str]:
            """One value for all students or one each, each read by `read`; faults named on the column."""
            raw = _split(get(column, ""))
            values, problem = _per_student(raw, count, label)
            if problem:
                fault(column, problem)
                return [""] * count
            if not raw:
                if count:
                    fault(column, f"请填写{label}（{blank_example}）")
                return values
            normalised = []
            for value in values:
                read_value = read[value]
                if read_value is None and column not in bad:
                    fault(column, f"{label}「{value}」无法识别（{example}）")
                normalised.append(read_value or "")
            return normalised

        genders, problem = _per_student(_split(get("gender", "")), count, "性别")
        if problem:
            fault("gender", problem)
            genders = [""] * count
        else:
            normalised = []
            for value in genders:
                gender = gender_of[value] if value else None
                if value and gender is None:
                    if "gender" not in bad:
                        fault("gender", f"性别「{value}」无法识别：请填写“男”或“女”")
                normalised.append(gender)
            genders = normalised
        grades = per_student_values("grade", "年级", grade_of, "例如 五年级、5、初一", "例如 五年级、5、初一")
        classes = per_student_values("class_name", "班级", class_of, "例如 3班、3", "例如 3班")

        entry = EntryInput(
            title=title,
            category_id=category.id if category is not None else 0,
            division_id=division.id if division is not None else 0,
            students=[StudentInput(name, genders[i], grades[i], classes[i]) for i, name in enumerate(students)],
            instructors=[_name(t) for t in _split(get("instructors", ""))],
            subform=subform,
            description=get("description", "") or None,
            video_url=get("video_url", "") or None,
        )
        if entry.video_url and len(entry.video_url) > VIDEO_URL_MAX:
            fault("video_url", f"视频链接不能超过{VIDEO_URL_MAX}个字符")
        if row_school is None:
            continue  # the school is unknown: the rules have nothing to count against

        # A row repeated in the file
        if category is not None and title and students:
            key = (row_school.id, category.id, _title_key(title), tuple(students))
            first = first_row_of.get(key)
            if first is not None:
                fault(None, f"与第{first}行重复（学校、类别、作品名称和学生都相同）")
                continue
            first_row_of[key] = n

        # The registration rules, with the rows accepted so far counted
        verdict = rules.check(row_school.id, entry)
        for problem in verdict.problems:
            key = _problem_key(problem)
            if key in bad:
                continue  # already named by the reading above
            message = _IN_FILE_CODE.sub(r"（\1）", problem.message)
            if problem.field == "category" and "上限" in message and category is not None:
                first_student = entry.students[0] if entry.students else None
                in_file = from_file[(row_school.id, category.id)] if "每校" in message else (
                    from_file[(row_school.id, category.id, first_student.grade, first_student.class_name)]
                    if first_student else 0)
                if in_file:
                    note = f"其中{in_file}件是本表前面的行"
                    message = message[:-1] + f"；{note}）" if message.endswith("）") else message + f"（{note}）"
            faults.add(n, key, message)
        for warning in verdict.warnings:
            warnings.add(n, "title", warning)
        if not verdict.ok:
            continue
        label = f"本表第{n}行"
        rules.accept(row_school.id, entry, label)
        from_file[(row_school.id, category.id)] += 1
        first_student = entry.students[0]
        from_file[(row_school.id, category.id, first_student.grade, first_student.class_name)] += 1
        if bad:
            continue  # counted (so later rows see it), but not importable
        _, code = codes.allocate(category.id, division.id, row_school)
        plan.rows.append(EntryImportRow(n, row_school, category, division, entry, code))

    plan.faults = faults.sorted()
    plan.warnings = warnings.sorted()
    if plan.faults:
        plan.rows = []  # all or nothing: a faulty file has nothing to import
    return plan


# --- The checked plan between preview and confirm --------------------------------------------------
# The preview keeps the parsed rows beside the stored upload, so the confirm does not read and
# normalise the file again (on 10,000 rows that is as long as openpyxl's read). It still checks
# again: create_entry runs every rule against the database as it is at the confirm; when one
# refuses, the caller re-plans from the stored file to name every fault.

PLAN_FORMAT = 1


def dump_plan(plan: EntryImportPlan) -> bytes:
    rows = [[r.row, r.school.id, r.category.id, r.division.id, r.code, r.data.title, r.data.subform,
             r.data.description, r.data.video_url,
             [[s.name, s.gender, s.grade, s.class_name] for s in r.data.students], r.data.instructors]
            for r in plan.rows]
    return json.dumps({"format": PLAN_FORMAT, "filename": plan.filename, "edition_id": plan.edition_id,
                       "organizer": plan.organizer, "sheet": plan.sheet, "total_rows": plan.total_rows,
                       "rows": rows}, ensure_ascii=False, separators=(",", ":")).encode()


def load_plan(raw: bytes, edition: Edition, school: School | None) -> EntryImportPlan | None:
    """A plan kept by dump_plan, or None when it does not fit any more (another edition or
    school, a category, division or school gone): the caller then re-plans from the file."""
    try:
        stored = json.loads(raw)
        if (stored.get("format") != PLAN_FORMAT or stored["edition_id"] != edition.id
                or stored["organizer"] != (school is None)):
            return None
        categories = {c.id: c for c in edition.categories}
        divisions = {d.id: d for d in edition.divisions}
        if school is None:
            ids = {row[1] for row in stored["rows"]}
            schools = {s.id: s for s in db.session.scalars(select(School).where(School.id.in_(ids)))} if ids else {}
        else:
            schools = {school.id: school}
        plan = EntryImportPlan(filename=stored["filename"], edition_id=edition.id, organizer=school is None,
                               sheet=stored["sheet"], total_rows=stored["total_rows"])
        for (n, school_id, category_id, division_id, code, title, subform, description, video_url, students,
             instructors) in stored["rows"]:
            plan.rows.append(EntryImportRow(
                n, schools[school_id], categories[category_id], divisions[division_id],
                EntryInput(title=title, category_id=category_id, division_id=division_id,
                           students=[StudentInput(*student) for student in students], instructors=instructors,
                           subform=subform, description=description, video_url=video_url), code))
        return plan
    except (ValueError, KeyError, TypeError):
        return None


# --- Importing ----------------------------------------------------------------------------------

@dataclass
class ImportResult:
    count: int
    ranges: list[str]  # per pool: XFX-001—XFX-010

    @property
    def summary(self) -> str:
        return "、".join(self.ranges)


def _ranges(entries) -> list[str]:
    pools: dict[tuple[int, int], list] = {}
    for entry in entries:
        pools.setdefault((entry.category_id, entry.division_id), []).append(entry)
    ranges = []
    for items in pools.values():
        items.sort(key=lambda e: e.sequence)
        first, last = items[0].code, items[-1].code
        ranges.append(first if first == last else f"{first}—{last}")
    return ranges


def apply_entry_import(plan: EntryImportPlan, edition: Edition, user: User) -> ImportResult:
    """Create every entry of a checked plan in the caller's transaction (one flush, one audit
    event). Raises RegistrationError if a rule refuses a row now; the caller rolls back."""
    if not plan.ok:
        raise RegistrationError([Problem("_", "导入文件有错误，未导入任何数据")])
    school_ids = {r.school.id for r in plan.rows}
    rules = RegistrationRules(edition, school_ids)
    codes = CodeAllocator(edition)
    created = []
    with _collector_paused():
        for r in plan.rows:
            try:
                entry, _ = create_entry(edition, r.school, r.data, user, rules=rules, codes=codes, write_audit=False)
            except RegistrationError as error:
                raise RegistrationError([Problem(p.field, f"第{r.row}行：{p.message}")
                                         for p in error.problems]) from error
            created.append(entry)
        db.session.flush()
    ranges = _ranges(created)
    schools = sorted({r.school.name for r in plan.rows})
    audit.record("entries_imported", object_type="entry", edition_id=edition.id, user=user,
                 after={"file": plan.filename, "count": len(created), "schools": schools, "codes": ranges},
                 summary=f"从「{plan.filename}」导入作品{len(created)}件（{'、'.join(ranges)}）")
    return ImportResult(len(created), ranges)
