"""The organizer's progress board: per panel and judge how much is assigned, submitted and in
draft, and when he last worked; per entry the submitted totals, with totals far from the rest of
the panel flagged (评分离群).

load_round_progress() reads a round in a fixed number of queries (panels with their members,
one grouped count of assignments against scores, the entries, the submitted totals), whatever
the number of judges and entries. outliers() is the rule, pure and on its own.

Entries that were disqualified are left out of every count: nobody scores them any more.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from judging.contests.models import Category, Division, Round
from judging.core.models import User
from judging.extensions import db
from judging.registration.models import Entry
from judging.scoring.models import Assignment, Panel, Score

K = TypeVar("K", bound=Hashable)

OUTLIER_FLOOR = Decimal("15")  # a total is never flagged for being less than this far from the median
OUTLIER_MADS = 3  # ... nor for being less than this many median absolute deviations away
OUTLIER_MIN_TOTALS = 3  # with fewer totals there is no "rest of the panel" to compare with


# --- The outlier rule (pure) ------------------------------------------------------------------------

def median(values: Iterable[Decimal]) -> Decimal:
    """The median in exact Decimal arithmetic; of an even count the mean of the two middle values."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of no values")
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def outlier_threshold(totals: Iterable[Decimal]) -> tuple[Decimal, Decimal]:
    """(median, allowed distance from it) = (m, max(15, 3 x MAD))."""
    values = list(totals)
    centre = median(values)
    mad = median(abs(v - centre) for v in values)
    return centre, max(OUTLIER_FLOOR, OUTLIER_MADS * mad)


def outliers(totals: Mapping[K, Decimal]) -> set[K]:
    """The judges whose total is farther than max(15, 3 x MAD) from the median of all totals
    (MAD: the median absolute deviation from that median). Fewer than 3 totals: nothing."""
    if len(totals) < OUTLIER_MIN_TOTALS:
        return set()
    centre, allowed = outlier_threshold(totals.values())
    return {judge for judge, total in totals.items() if abs(total - centre) > allowed}


# --- What the board shows -----------------------------------------------------------------------------

@dataclass(frozen=True)
class JudgeProgress:
    judge_id: int
    name: str
    username: str
    member: bool  # sits on the panel (False: has assignments there but was removed from it)
    active: bool  # False: marked ill or withdrawn
    assigned: int
    submitted: int
    drafts: int
    last_activity: datetime | None  # UTC, naive (as stored)

    @property
    def untouched(self) -> int:
        """Assigned entries without any score yet."""
        return max(0, self.assigned - self.submitted - self.drafts)

    @property
    def done(self) -> bool:
        return self.assigned > 0 and self.submitted >= self.assigned


@dataclass
class EntryTotals:
    entry_id: int
    code: str
    title: str
    assigned: int  # judges assigned
    totals: dict[int, Decimal]  # judge id -> submitted total
    drafts: int = 0
    flagged: set[int] = field(default_factory=set)
    median: Decimal | None = None

    @property
    def submitted(self) -> int:
        return len(self.totals)


@dataclass
class PanelProgress:
    panel_id: int
    category: str
    division: str
    category_position: tuple[int, int]
    judges: list[JudgeProgress] = field(default_factory=list)
    entries: list[EntryTotals] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.category}·{self.division}"

    @property
    def assigned(self) -> int:
        return sum(j.assigned for j in self.judges)

    @property
    def submitted(self) -> int:
        return sum(j.submitted for j in self.judges)

    @property
    def drafts(self) -> int:
        return sum(j.drafts for j in self.judges)

    @property
    def flagged(self) -> int:
        return sum(len(e.flagged) for e in self.entries)

    @property
    def percent(self) -> int:
        return int(100 * self.submitted / self.assigned) if self.assigned else 0


@dataclass
class RoundProgress:
    round_id: int
    name: str
    locked: bool
    panels: list[PanelProgress]
    judge_names: dict[int, str]

    @property
    def assigned(self) -> int:
        return sum(p.assigned for p in self.panels)

    @property
    def submitted(self) -> int:
        return sum(p.submitted for p in self.panels)

    @property
    def drafts(self) -> int:
        return sum(p.drafts for p in self.panels)

    @property
    def flagged(self) -> int:
        """Flagged scores (a judge's total for an entry) in the round."""
        return sum(p.flagged for p in self.panels)

    @property
    def flagged_entries(self) -> int:
        return sum(1 for p in self.panels for e in p.entries if e.flagged)

    @property
    def percent(self) -> int:
        return int(100 * self.submitted / self.assigned) if self.assigned else 0


# --- Loading (set-based) ------------------------------------------------------------------------------

def _judge_counts(round_id: int) -> dict[tuple[int, int], tuple[int, int, int, datetime | None]]:
    """(panel, judge) -> (assigned, submitted, drafts, last activity): one grouped query of the
    assignments against the current scores."""
    score_on = and_(Score.round_id == Assignment.round_id, Score.entry_id == Assignment.entry_id,
                    Score.judge_id == Assignment.judge_id)
    stmt = (
        select(Assignment.panel_id, Assignment.judge_id, func.count(Assignment.id),
               func.count(case((Score.status == "submitted", 1))), func.count(case((Score.status == "draft", 1))),
               func.max(Score.updated_at))
        .select_from(Assignment)
        .join(Entry, Entry.id == Assignment.entry_id)
        .outerjoin(Score, score_on)
        .where(Assignment.round_id == round_id, Entry.status != "disqualified")
        .group_by(Assignment.panel_id, Assignment.judge_id)
    )
    return {(panel_id, judge_id): (assigned, submitted, drafts, last)
            for panel_id, judge_id, assigned, submitted, drafts, last in db.session.execute(stmt)}


def load_round_progress(rnd: Round) -> RoundProgress:
    """The board of one round; a fixed number of queries."""
    panels = list(db.session.scalars(
        select(Panel).where(Panel.round_id == rnd.id)
        .join(Category, Category.id == Panel.category_id).join(Division, Division.id == Panel.division_id)
        .options(selectinload(Panel.members), selectinload(Panel.category), selectinload(Panel.division))
        .order_by(Category.position, Category.id, Division.position, Division.id)))
    counts = _judge_counts(rnd.id)
    judge_ids = {m.judge_id for p in panels for m in p.members} | {judge for _, judge in counts}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(judge_ids)))} if judge_ids else {}

    boards: dict[int, PanelProgress] = {}
    for panel in panels:
        board = PanelProgress(panel.id, panel.category.name, panel.division.name,
                              (panel.category.position, panel.division.position))
        members = {m.judge_id: m for m in panel.members}
        order = [m.judge_id for m in panel.members]
        order += sorted((j for p, j in counts if p == panel.id and j not in members),
                        key=lambda j: users[j].display_name if j in users else "")
        for judge_id in order:
            assigned, submitted, drafts, last = counts.get((panel.id, judge_id), (0, 0, 0, None))
            user = users.get(judge_id)
            member = members.get(judge_id)
            board.judges.append(JudgeProgress(
                judge_id=judge_id, name=user.display_name if user else f"#{judge_id}",
                username=user.username if user else "", member=member is not None,
                active=bool(member.active) if member is not None else False,
                assigned=assigned, submitted=submitted, drafts=drafts, last_activity=last))
        boards[panel.id] = board

    # Entries with their assigned judges, and the submitted totals: two queries.
    entry_rows = db.session.execute(
        select(Assignment.panel_id, Entry.id, Entry.code, Entry.title, func.count(Assignment.id))
        .join(Entry, Entry.id == Assignment.entry_id)
        .where(Assignment.round_id == rnd.id, Entry.status != "disqualified")
        .group_by(Assignment.panel_id, Entry.id, Entry.code, Entry.title)
        .order_by(Entry.code, Entry.id))
    entries: dict[int, EntryTotals] = {}
    for panel_id, entry_id, code, title, assigned in entry_rows:
        if entry_id in entries:  # assigned through two panels of the round (moved between pools)
            entries[entry_id].assigned += assigned
            continue
        board = boards.get(panel_id)
        if board is None:
            continue
        entries[entry_id] = EntryTotals(entry_id, code, title, assigned, {})
        board.entries.append(entries[entry_id])
    for entry_id, judge_id, status, total in db.session.execute(
            select(Score.entry_id, Score.judge_id, Score.status, Score.total)
            .where(Score.round_id == rnd.id, Score.entry_id.in_(select(Assignment.entry_id).where(
                Assignment.round_id == rnd.id)))):
        item = entries.get(entry_id)
        if item is None:
            continue
        if status == "submitted" and total is not None:
            item.totals[judge_id] = Decimal(total)
        elif status == "draft":
            item.drafts += 1
    for item in entries.values():
        item.flagged = outliers(item.totals)
        if item.totals:
            item.median = median(item.totals.values())
        item.assigned = max(item.assigned, len(item.totals))

    names = {judge_id: (u.display_name if u else f"#{judge_id}") for judge_id, u in
             ((j, users.get(j)) for j in judge_ids)}
    missing = {j for e in entries.values() for j in e.totals} - set(names)
    if missing:  # a score by someone no longer assigned: still name him
        for u in db.session.scalars(select(User).where(User.id.in_(missing))):
            names[u.id] = u.display_name
    return RoundProgress(rnd.id, rnd.name, rnd.locked, list(boards.values()), names)


def scoring_rounds(rounds: Iterable[Round]) -> list[Round]:
    """The rounds the board shows: enabled scoring rounds (初评, 终评), and any round with panels."""
    rounds = list(rounds)
    ids = [r.id for r in rounds]
    with_panels = set(db.session.scalars(select(Panel.round_id).where(Panel.round_id.in_(ids)).distinct())) \
        if ids else set()
    return [r for r in rounds if r.id in with_panels or (r.enabled and r.kind != "qualification")]

