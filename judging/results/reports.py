"""The one place that turns a result snapshot into report rows.

Everything that shows results reads them through here: the organizer's and the public pages, the
exports (exports.py), the contest workbook's results, certificates and reward sheets. The rows are
plain dataclasses; the functions only read (a handful of queries per call, whatever the size).

- result_lines(): one ResultLine per entry of the snapshot, in print order: pool by pool
  (category position, division position), ranked entries by rank then code, then the unranked
  ones by code.
- reward_lines(): DOMAIN rule 7 (辅导教师奖励) through engine.instructor_rewards, with the
  edition's split / accumulation settings and each prize level's amount and points. The prize is
  the entry's final one (after any override). Levels whose amount and points are both 0 give
  nothing, so an instructor appears only when he is owed something.
- school_summary(): per school the entries that took part (passed review, 参评), how many were
  ranked, the prizes per level and, when the edition has 优秀组织奖, its points and rank
  (engine.organization_award with PrizeLevel.org_points and edition.org_award_min_entries).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from judging.contests.models import Category, Division, Edition, PrizeLevel
from judging.core.models import School
from judging.core.strokes import name_sort_key
from judging.extensions import db
from judging.registration.models import Entry, EntryInstructor, EntryStudent
from judging.results import engine
from judging.results.models import EntryResultRow, ResultSnapshot

CENT = Decimal("0.01")
PARTICIPATING_STATUS = "approved"  # 参评: passed 资格审查 and not disqualified


@dataclass
class ResultLine:
    entry_id: int
    code: str
    title: str
    category_id: int
    category_code: str
    category_name: str
    division_id: int
    division_code: str
    division_name: str
    school_id: int
    school_name: str
    students: list[str]  # names in listed order (the first is the 第一作者)
    instructors: list[str]
    final: Decimal | None
    rank: int | None  # within the pool
    level_position: int | None  # the final prize (after any override)
    level_name: str | None
    overridden: bool
    override_reason: str | None
    flags: list[str]
    entry_status: str
    subform: str | None = None  # 科幻画: 卡通画 ...

    @property
    def pool(self) -> tuple[int, int]:
        return (self.category_id, self.division_id)

    @property
    def pool_name(self) -> str:
        """小发明 · 小学组"""
        return f"{self.category_name} · {self.division_name}"

    @property
    def first_student(self) -> str:
        return self.students[0] if self.students else ""


@dataclass
class RewardLine:
    name: str
    school_id: int
    school_name: str
    amount: Decimal
    points: Decimal
    entries: list[tuple[str, str, str]] = field(default_factory=list)  # (code, title, level name)


@dataclass
class SchoolSummary:
    school_id: int
    school_name: str
    district: str | None  # 片区 (School.cluster)
    entries: int  # 参评: entries of the snapshot that passed review
    ranked: int
    by_level: dict[int, int]  # level position -> number of entries with that final prize
    org_points: Decimal | None  # 优秀组织奖, only when the edition has it
    org_rank: int | None  # None when not enabled or the school has too few entries

    @property
    def prized(self) -> int:
        return sum(self.by_level.values())


# --- helpers ------------------------------------------------------------------------------------

_DIGITS = re.compile(r"(\d+)")


def code_sort_key(code: str) -> tuple:
    """XFX-9 before XFX-10: digit runs compare as numbers, the rest as text."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGITS.split(code or "") if part)


def level_names(edition: Edition) -> dict[int, str]:
    """{position: name}, e.g. {1: "一等奖", 2: "二等奖", 3: "三等奖"}."""
    return dict(db.session.execute(
        select(PrizeLevel.position, PrizeLevel.name).where(PrizeLevel.edition_id == edition.id)
        .order_by(PrizeLevel.position)).all())


def _levels(edition_id: int) -> list[PrizeLevel]:
    return list(db.session.scalars(select(PrizeLevel).where(PrizeLevel.edition_id == edition_id)
                                   .order_by(PrizeLevel.position)))


def _names_by_entry(model, snapshot_id: int) -> dict[int, list[str]]:
    """Students or instructors of every entry of the snapshot, in listed order: one query."""
    entry_ids = select(EntryResultRow.entry_id).where(EntryResultRow.snapshot_id == snapshot_id)
    out: dict[int, list[str]] = {}
    for entry_id, name in db.session.execute(
            select(model.entry_id, model.name).where(model.entry_id.in_(entry_ids))
            .order_by(model.entry_id, model.position)):
        out.setdefault(entry_id, []).append(name)
    return out


def _snapshot_lines(snapshot: ResultSnapshot, ranked_only: bool, people: bool) -> list[ResultLine]:
    names = level_names(snapshot.edition)
    stmt = (
        select(EntryResultRow.entry_id, EntryResultRow.final, EntryResultRow.rank, EntryResultRow.level_position,
               EntryResultRow.overridden, EntryResultRow.override_reason, EntryResultRow.flags_json,
               Entry.code, Entry.title, Entry.subform, Entry.status,
               Category.id, Category.code, Category.name, Category.position,
               Division.id, Division.code, Division.name, Division.position,
               School.id, School.name)
        .join(Entry, Entry.id == EntryResultRow.entry_id)
        .join(Category, Category.id == Entry.category_id)
        .join(Division, Division.id == Entry.division_id)
        .join(School, School.id == Entry.school_id)
        .where(EntryResultRow.snapshot_id == snapshot.id)
    )
    if ranked_only:
        stmt = stmt.where(EntryResultRow.rank.is_not(None))
    students = _names_by_entry(EntryStudent, snapshot.id) if people else {}
    instructors = _names_by_entry(EntryInstructor, snapshot.id) if people else {}
    keyed = []
    for (entry_id, final, rank, level, overridden, reason, flags_json, code, title, subform, status,
         cat_id, cat_code, cat_name, cat_pos, div_id, div_code, div_name, div_pos,
         school_id, school_name) in db.session.execute(stmt):
        line = ResultLine(
            entry_id=entry_id, code=code, title=title, category_id=cat_id, category_code=cat_code,
            category_name=cat_name, division_id=div_id, division_code=div_code, division_name=div_name,
            school_id=school_id, school_name=school_name,
            students=list(students.get(entry_id, ())), instructors=list(instructors.get(entry_id, ())),
            final=None if final is None else Decimal(final).quantize(CENT), rank=rank, level_position=level,
            level_name=names.get(level) if level is not None else None, overridden=bool(overridden),
            override_reason=reason, flags=list(json.loads(flags_json or "[]")), entry_status=status,
            subform=subform)
        key = ((cat_pos, cat_id, div_pos, div_id), rank is None, rank or 0, code_sort_key(code), entry_id)
        keyed.append((key, line))
    keyed.sort(key=lambda item: item[0])
    return [line for _, line in keyed]


# --- the report rows ----------------------------------------------------------------------------

def result_lines(snapshot: ResultSnapshot, ranked_only: bool = False) -> list[ResultLine]:
    """Every entry of the snapshot (ranked_only: only ranked ones) in print order; 4 queries."""
    return _snapshot_lines(snapshot, ranked_only, people=True)


def group_by_pool(lines: list[ResultLine]) -> list[tuple[tuple[int, int], list[ResultLine]]]:
    """[(pool, lines)] in the order the lines come (result_lines' order keeps pools together)."""
    groups: dict[tuple[int, int], list[ResultLine]] = {}
    for line in lines:
        groups.setdefault(line.pool, []).append(line)
    return list(groups.items())


def stroke_order(lines: list[ResultLine]) -> list[ResultLine]:
    """排名不分先后: by prize (highest first, no prize last), within a prize by the first student's
    name in 姓氏笔画 order (core.strokes), then by code. The pools keep their order."""
    pool_rank = {}
    for line in lines:
        pool_rank.setdefault(line.pool, len(pool_rank))
    return sorted(lines, key=lambda l: (pool_rank[l.pool], l.level_position is None, l.level_position or 0,
                                        name_sort_key(l.first_student), code_sort_key(l.code), l.entry_id))


def prize_order(lines: list[ResultLine]) -> list[ResultLine]:
    """By prize (highest first), then rank, then code; unprized ranked entries by rank, then the
    unranked by code. Differs from result_lines' order only where an override moved a prize."""
    pool_rank = {}
    for line in lines:
        pool_rank.setdefault(line.pool, len(pool_rank))
    return sorted(lines, key=lambda l: (pool_rank[l.pool], l.level_position is None, l.level_position or 0,
                                        l.rank is None, l.rank or 0, code_sort_key(l.code), l.entry_id))


def reward_lines(snapshot: ResultSnapshot) -> list[RewardLine]:
    """辅导教师奖励 (rule 7) by school (school name in stroke order), then instructor stroke order."""
    edition = snapshot.edition
    levels = _levels(edition.id)
    table = {lv.position: (Decimal(lv.reward_amount or 0), Decimal(lv.reward_points or 0)) for lv in levels
             if (lv.reward_amount or 0) != 0 or (lv.reward_points or 0) != 0}
    names = {lv.position: lv.name for lv in levels}
    winners = [line for line in result_lines(snapshot) if line.level_position in table]
    by_id = {line.entry_id: line for line in winners}
    rewards = engine.instructor_rewards(
        [engine.WinningEntry(line.entry_id, line.level_position,
                             [engine.Instructor(name, line.school_id) for name in line.instructors])
         for line in winners],
        table, split=edition.reward_split, accumulate=edition.reward_accumulation)
    out = []
    for reward in rewards:
        entries = [by_id[eid] for eid in reward.entry_ids]
        out.append(RewardLine(
            name=reward.name, school_id=reward.school_id, school_name=entries[0].school_name,
            amount=Decimal(reward.amount).quantize(CENT), points=Decimal(reward.points).quantize(CENT),
            entries=[(e.code, e.title, names.get(e.level_position, "")) for e in entries]))
    return sorted(out, key=lambda r: (name_sort_key(r.school_name), r.school_id, name_sort_key(r.name)))


def school_summary(snapshot: ResultSnapshot) -> list[SchoolSummary]:
    """One row per school with an entry in the snapshot, by 片区 (none last), then school name in
    stroke order. org_points / org_rank only when the edition has 优秀组织奖 enabled."""
    edition = snapshot.edition
    lines = _snapshot_lines(snapshot, ranked_only=False, people=False)
    school_ids = sorted({line.school_id for line in lines})
    districts = dict(db.session.execute(select(School.id, School.cluster)
                                        .where(School.id.in_(school_ids))).all()) if school_ids else {}
    rows: dict[int, SchoolSummary] = {}
    for line in lines:
        row = rows.get(line.school_id)
        if row is None:
            row = rows[line.school_id] = SchoolSummary(line.school_id, line.school_name,
                                                       districts.get(line.school_id), 0, 0, {}, None, None)
        if line.entry_status == PARTICIPATING_STATUS:
            row.entries += 1
        if line.rank is not None:
            row.ranked += 1
        if line.level_position is not None:
            row.by_level[line.level_position] = row.by_level.get(line.level_position, 0) + 1
    if edition.org_award_enabled:
        points = {lv.position: Decimal(lv.org_points or 0) for lv in _levels(edition.id)}
        standings = engine.organization_award(
            [engine.SchoolEntry(line.entry_id, line.school_id, line.level_position) for line in lines
             if line.entry_status == PARTICIPATING_STATUS],
            edition.org_award_min_entries, points)
        by_school = {s.school_id: s for s in standings}
        for row in rows.values():
            standing = by_school.get(row.school_id)
            row.org_points = sum((points.get(lv, Decimal(0)) * n for lv, n in row.by_level.items()), Decimal(0))
            if standing is not None:
                row.org_points = standing.points
                row.org_rank = standing.rank
    return sorted(rows.values(), key=lambda r: (r.district is None, r.district or "", name_sort_key(r.school_name),
                                                r.school_id))
