"""The registration rules of an edition, checked the same way for the web form and the Excel import.

RegistrationRules loads the counts it needs in a few set-based queries, then checks entries one
by one in memory and counts each accepted one, so a 10,000-row import costs no query per row and
rows of the same file count against the caps like saved entries do.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select

from judging.contests.models import Category, Division, Edition
from judging.core.numerals import chinese_number
from judging.core.text import clean
from judging.extensions import db
from judging.registration.models import GENDERS, Entry, EntryStudent

TITLE_MAX = 200
NAME_MAX = 40
DESCRIPTION_MAX = 5000
VIDEO_URL_MAX = 500

_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}
_STAGE_OFFSET = {"小": 0, "初": 6, "高": 9}


def _number(text: str) -> int | None:
    """'5' -> 5, '五' -> 5, '十二' -> 12."""
    if text.isascii() and text.isdigit():  # str.isdigit() also accepts e.g. '²' or other scripts' digits
        return int(text)
    if text == "十":
        return 10
    if len(text) == 2 and text[0] == "十" and text[1] in _CN_DIGITS:
        return 10 + _CN_DIGITS[text[1]]
    if len(text) == 1 and text in _CN_DIGITS:
        return _CN_DIGITS[text]
    return None


def normalise_grade(raw) -> str | None:
    """'5', '五', '5年级', '五年级' -> 五年级; '初一', '初中一年级', '七年级' -> 七年级; None when unreadable."""
    text = clean(raw).replace(" ", "")
    if not text:
        return None
    stage = 0
    for prefix, offset in _STAGE_OFFSET.items():
        if text.startswith(prefix):
            stage = offset
            text = text[1:]
            text = text.removeprefix("学").removeprefix("中")
            break
    text = text.removesuffix("年级").removesuffix("年")
    n = _number(text)
    if n is None or not 1 <= n + stage <= 12 or (stage and n > 3 and stage != 0):
        return None
    return f"{chinese_number(n + stage)}年级"


def normalise_class(raw) -> str | None:
    """'3', '3班', '(3)班', '（3）班', '三班' -> 3班."""
    text = clean(raw).replace(" ", "")
    text = re.sub(r"^[(（](.+)[)）]", r"\1", text).removesuffix("班")
    text = re.sub(r"^[(（](.+)[)）]$", r"\1", text)
    n = _number(text)
    if n is None or not 1 <= n <= 99:
        return None
    return f"{n}班"


@dataclass
class StudentInput:
    name: str
    gender: str | None
    grade: str
    class_name: str


@dataclass
class EntryInput:
    title: str
    category_id: int
    division_id: int
    students: list[StudentInput]
    instructors: list[str] = field(default_factory=list)
    subform: str | None = None
    description: str | None = None
    video_url: str | None = None


@dataclass
class Problem:
    """A rule broken: the field at fault (form field or import column) and a Chinese message."""

    field: str
    message: str


@dataclass
class Verdict:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def registration_closed_reason(edition: Edition, now: datetime | None = None) -> str | None:
    """Why a school may not register or edit now, or None while registration is open."""
    now = now or datetime.now()
    if edition.registration_locked:
        return "组委会已锁定报名，不能再新增或修改作品。"
    if edition.registration_opens and now < edition.registration_opens:
        return f"报名尚未开始（{edition.registration_opens:%Y-%m-%d %H:%M} 开始）。"
    if edition.registration_closes and now > edition.registration_closes:
        return f"报名已于 {edition.registration_closes:%Y-%m-%d %H:%M} 截止。"
    return None


def _title_key(title: str) -> str:
    return re.sub(r"[\s《》“”\"'·,，。.!！?？]", "", clean(title)).lower()


def _student_key(student: StudentInput) -> tuple[str, str, str]:
    return (student.name, student.grade, student.class_name)


class RegistrationRules:
    """Caps, team sizes and uniqueness for one edition, with counts held in memory."""

    def __init__(self, edition: Edition, school_ids: set[int] | None = None):
        self.edition = edition
        self.categories: dict[int, Category] = {c.id: c for c in edition.categories}
        self.divisions: dict[int, Division] = {d.id: d for d in edition.divisions}
        # Per school: how many entries per category, per (category, grade, class), titles, students.
        self.per_school: Counter = Counter()  # (school, category)
        self.per_class: Counter = Counter()  # (school, category, grade, class)
        self.titles: dict[tuple[int, str], list[str]] = defaultdict(list)  # (school, title key) -> codes
        self.students: dict[tuple[int, int, tuple], str] = {}  # (school, category, student key) -> code
        self._load(school_ids)

    def _load(self, school_ids: set[int] | None) -> None:
        entries = select(Entry.id, Entry.school_id, Entry.category_id, Entry.title, Entry.code).where(
            Entry.edition_id == self.edition.id)
        if school_ids is not None:
            entries = entries.where(Entry.school_id.in_(school_ids))
        rows = db.session.execute(entries).all()
        by_id = {r.id: r for r in rows}
        for r in rows:
            self.per_school[(r.school_id, r.category_id)] += 1
            self.titles[(r.school_id, _title_key(r.title))].append(r.code)
        students = select(EntryStudent.entry_id, EntryStudent.position, EntryStudent.name, EntryStudent.grade,
                          EntryStudent.class_name).join(Entry).where(Entry.edition_id == self.edition.id)
        if school_ids is not None:
            students = students.where(Entry.school_id.in_(school_ids))
        for s in db.session.execute(students):
            entry = by_id[s.entry_id]
            key = (s.name, s.grade, s.class_name)
            self.students[(entry.school_id, entry.category_id, key)] = entry.code
            if s.position == 1:
                self.per_class[(entry.school_id, entry.category_id, s.grade, s.class_name)] += 1

    # -- counting ------------------------------------------------------------------------------

    def _apply(self, school_id: int, data: EntryInput, code: str, sign: int) -> None:
        self.per_school[(school_id, data.category_id)] += sign
        if data.students:
            first = data.students[0]
            self.per_class[(school_id, data.category_id, first.grade, first.class_name)] += sign
        title_codes = self.titles[(school_id, _title_key(data.title))]
        for student in data.students:
            key = (school_id, data.category_id, _student_key(student))
            if sign > 0:
                self.students[key] = code
            elif self.students.get(key) == code:
                del self.students[key]
        if sign > 0:
            title_codes.append(code)
        elif code in title_codes:
            title_codes.remove(code)

    def accept(self, school_id: int, data: EntryInput, code: str) -> None:
        """Count an entry that is being saved (so later checks see it)."""
        self._apply(school_id, data, code, +1)

    def forget(self, school_id: int, data: EntryInput, code: str) -> None:
        """Uncount an entry's old state before checking its edit."""
        self._apply(school_id, data, code, -1)

    # -- checking --------------------------------------------------------------------------------

    def check(self, school_id: int, data: EntryInput, own_code: str | None = None) -> Verdict:
        verdict = Verdict()
        problem = verdict.problems.append

        if not data.title:
            problem(Problem("title", "请填写作品名称"))
        elif len(data.title) > TITLE_MAX:
            problem(Problem("title", f"作品名称不能超过{TITLE_MAX}个字"))
        category = self.categories.get(data.category_id)
        if category is None:
            problem(Problem("category", "请选择本届设置的类别"))
        if data.division_id not in self.divisions:
            problem(Problem("division", "请选择本届设置的组别"))
        if category is not None:
            forms = category.subform_list
            if forms and not data.subform:
                problem(Problem("subform", f"请选择作品形式（{'、'.join(forms)}）"))
            elif data.subform and data.subform not in forms:
                allowed = "、".join(forms) if forms else "无"
                problem(Problem("subform", f"“{data.subform}”不是{category.name}的作品形式（可选：{allowed}）"))
        if data.description and len(data.description) > DESCRIPTION_MAX:
            problem(Problem("description", f"作品说明不能超过{DESCRIPTION_MAX}个字"))
        if data.video_url:
            parts = urlsplit(data.video_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problem(Problem("video_url", "视频链接应以 http:// 或 https:// 开头"))
            elif len(data.video_url) > VIDEO_URL_MAX:
                problem(Problem("video_url", f"视频链接不能超过{VIDEO_URL_MAX}个字符"))

        # Students
        if not data.students:
            problem(Problem("students", "至少填写一名学生"))
        if category is not None and len(data.students) > category.max_students:
            problem(Problem("students", f"{category.name}每件作品最多{category.max_students}名学生，"
                                        f"这里填了{len(data.students)}名"))
        seen = set()
        for i, student in enumerate(data.students, start=1):
            where = f"students-{i}"
            if not student.name:
                problem(Problem(where, f"第{i}名学生：请填写姓名"))
            elif len(student.name) > NAME_MAX:
                problem(Problem(where, f"第{i}名学生：姓名过长"))
            if student.gender and student.gender not in GENDERS:
                problem(Problem(where, f"第{i}名学生：性别应为“男”或“女”"))
            if not student.grade:
                problem(Problem(where, f"第{i}名学生：年级无法识别（例如 五年级、初一）"))
            if not student.class_name:
                problem(Problem(where, f"第{i}名学生：班级无法识别（例如 3班）"))
            key = _student_key(student)
            if key in seen:
                problem(Problem(where, f"学生“{student.name}”在本作品中重复填写"))
            seen.add(key)
            if category is not None and student.name and student.grade and student.class_name:
                other = self.students.get((school_id, category.id, key))
                if other is not None and other != own_code:
                    problem(Problem(where, f"学生“{student.name}”（{student.grade}{student.class_name}）已报名"
                                           f"{category.name}作品 {other}，每名学生每个类别只能报一件作品"))

        # Instructors
        if category is not None and len(data.instructors) > category.max_instructors:
            problem(Problem("instructors", f"{category.name}每件作品最多{category.max_instructors}名指导教师，"
                                           f"这里填了{len(data.instructors)}名"))
        if len(set(data.instructors)) != len(data.instructors):
            problem(Problem("instructors", "指导教师重复填写"))
        if any(len(name) > NAME_MAX for name in data.instructors):
            problem(Problem("instructors", "指导教师姓名过长"))

        # Caps (a cap counts the entries of this school, category and class, this one excluded)
        if category is not None:
            cap = self.edition.max_entries_per_school
            if cap is not None and self.per_school[(school_id, category.id)] >= cap:
                problem(Problem("category", f"本校{category.name}已报{self.per_school[(school_id, category.id)]}件，"
                                            f"达到每校{cap}件的上限"))
            cap = self.edition.max_entries_per_class
            if cap is not None and data.students and data.students[0].grade and data.students[0].class_name:
                first = data.students[0]
                taken = self.per_class[(school_id, category.id, first.grade, first.class_name)]
                if taken >= cap:
                    problem(Problem("category", f"{first.grade}{first.class_name}的{category.name}作品已有{taken}件，"
                                                f"达到每班{cap}件的上限（按第一作者所在班级计）"))
        # A duplicate title is only a warning
        if data.title:
            clash = [c for c in self.titles.get((school_id, _title_key(data.title)), []) if c != own_code]
            if clash:
                verdict.warnings.append(f"本校已有同名作品《{data.title}》（{'、'.join(clash)}），请确认不是重复报名。")
        return verdict


def next_sequences(edition: Edition) -> dict[tuple[int, int], int]:
    """The last sequence number used in each pool (category, division) of the edition."""
    rows = db.session.execute(
        select(Entry.category_id, Entry.division_id, func.max(Entry.sequence)).where(
            Entry.edition_id == edition.id).group_by(Entry.category_id, Entry.division_id))
    return {(c, d): n for c, d, n in rows}


def format_code(edition: Edition, category: Category, division: Division, sequence: int,
                school_code: str | None = None) -> str:
    return edition.entry_code_pattern.format(**{
        "类别代码": category.code, "组别代码": division.code, "序号": sequence,
        "学校代码": school_code or "", "届次": edition.number})
