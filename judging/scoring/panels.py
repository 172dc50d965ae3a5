"""Judge panels and the assignment of entries to judges: the database side of scoring/assign.py.

Loads a pool in a few set-based queries, calls the pure assignment, stores the pairs, and writes every
change to the audit log. Recusal is decided only by assign.conflict_reasons; nothing here can override
it. Pairs that already carry a score (draft or submitted) are never moved by a new run; a move or an
ill judge's hand-over refuses submitted scores and takes drafts along (the draft stays in the history).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from judging.contests import operations as contest_ops
from judging.contests.models import Category, Division, Edition, Round
from judging.core import audit
from judging.core.models import School, User
from judging.core.text import clean
from judging.extensions import db
from judging.registration.models import Entry, EntryInstructor
from judging.scoring.assign import (
    AssignmentImpossible,
    AssignmentProblem,
    AssignmentResult,
    EntryInfo,
    JudgeInfo,
    assign,
    conflict_reasons,
    default_k,
    graph_components,
)
from judging.scoring.models import Advancement, Assignment, Conflict, Panel, PanelJudge, Score

ASSIGNED_STATUS = "approved"  # only entries that passed 资格审查 are assigned
WAITING_STATUSES = ("submitted", "returned")  # not yet approved: left out, and counted on the page
SCORING_ROUND_KINDS = ("preliminary", "final")
MAX_K = 20
REASON_MAX = 200


class PanelError(ValueError):
    """A refused change; the message is shown to the organizer as is."""


def panel_k(panel: Panel, active_judges: int) -> int:
    return panel.judges_per_entry or default_k(active_judges)


def _check_open(panel: Panel) -> None:
    if panel.round.locked:
        raise PanelError(f"{panel.round.name}评分已锁定，不能再改动评审分配。")


def _reason(reason: str | None, what: str) -> str:
    reason = clean(reason)
    if not reason:
        raise PanelError(f"{what}需要填写原因。")
    return reason[:REASON_MAX]


# --- Loading a pool --------------------------------------------------------------------------------

@dataclass
class PoolContext:
    panel: Panel
    entries: list[Entry]  # every entry of the pool (any status), in code order
    infos: dict[int, EntryInfo]
    members: list[PanelJudge]
    judges: dict[int, JudgeInfo]  # every member, active or not
    conflicts: set = field(default_factory=set)  # (judge_id, entry_id)
    school_conflicts: set = field(default_factory=set)  # (judge_id, school_id)
    declared: dict = field(default_factory=dict)  # (judge_id, entry_id | ("school", id)) -> reason
    assignments: list[Assignment] = field(default_factory=list)  # this round, this pool's entries
    scores: dict = field(default_factory=dict)  # (judge_id, entry_id) -> "draft" | "submitted"

    @property
    def approved(self) -> list[Entry]:
        return [e for e in self.entries if e.status == ASSIGNED_STATUS]

    @property
    def waiting(self) -> int:
        return sum(1 for e in self.entries if e.status in WAITING_STATUSES)

    @property
    def active_judges(self) -> list[JudgeInfo]:
        return [self.judges[m.judge_id] for m in self.members if m.active]

    def pairs(self, exclude=()) -> set[tuple[int, int]]:
        excluded = {id(a) for a in exclude}
        return {(a.judge_id, a.entry_id) for a in self.assignments if id(a) not in excluded}

    def reasons(self, judge_id: int, entry_id: int) -> list[str]:
        return conflict_reasons(self.judges[judge_id], self.infos[entry_id], self.conflicts, self.school_conflicts)


def judge_infos(users: list[User]) -> dict[int, JudgeInfo]:
    """A judge's recusal school: his listed school, else a school whose name is his affiliation text."""
    unlisted = {clean(u.affiliation) for u in users if u.school_id is None and clean(u.affiliation)}
    by_name = dict(db.session.execute(select(School.name, School.id).where(School.name.in_(unlisted))).all()) \
        if unlisted else {}
    return {u.id: JudgeInfo(u.id, u.school_id if u.school_id is not None else by_name.get(clean(u.affiliation)),
                            u.display_name) for u in users}


def entry_infos(entries: list[Entry]) -> dict[int, EntryInfo]:
    names: dict[int, list[str]] = defaultdict(list)
    ids = [e.id for e in entries]
    if ids:
        for entry_id, name in db.session.execute(
                select(EntryInstructor.entry_id, EntryInstructor.name).where(EntryInstructor.entry_id.in_(ids))
                .order_by(EntryInstructor.entry_id, EntryInstructor.position)):
            names[entry_id].append(name)
    return {e.id: EntryInfo(e.id, e.school_id, tuple(names[e.id]), e.code) for e in entries}


def _conflict_sets(edition_id: int, judge_ids) -> tuple[set, set, dict]:
    conflicts, school_conflicts, declared = set(), set(), {}
    if not judge_ids:
        return conflicts, school_conflicts, declared
    for c in db.session.scalars(select(Conflict).where(Conflict.edition_id == edition_id,
                                                       Conflict.judge_id.in_(list(judge_ids)))):
        if c.entry_id is not None:
            conflicts.add((c.judge_id, c.entry_id))
            declared[(c.judge_id, c.entry_id)] = c.reason
        if c.school_id is not None:
            school_conflicts.add((c.judge_id, c.school_id))
            declared[(c.judge_id, ("school", c.school_id))] = c.reason
    return conflicts, school_conflicts, declared


def in_round(round_id: int):
    """SQL condition on Entry: the entry belongs to the round. Every entry of a judged pool does, until
    entries are advanced into the round (初评 -> 终评, written by the results stage): then only those."""
    advanced = select(Advancement.entry_id).where(Advancement.round_id == round_id)
    has_advanced = select(Advancement.id).where(Advancement.round_id == round_id).exists()
    return ~has_advanced | Entry.id.in_(advanced)


def load_pool(panel: Panel) -> PoolContext:
    """The pool of a panel with everything the assignment needs, in six queries."""
    pool = (Entry.edition_id == panel.edition_id, Entry.category_id == panel.category_id,
            Entry.division_id == panel.division_id, in_round(panel.round_id))
    entries = list(db.session.scalars(select(Entry).where(*pool).options(selectinload(Entry.school))
                                      .order_by(Entry.sequence, Entry.id)))
    members = list(db.session.scalars(select(PanelJudge).where(PanelJudge.panel_id == panel.id)
                                      .options(selectinload(PanelJudge.judge)).order_by(PanelJudge.id)))
    judges = judge_infos([m.judge for m in members])
    conflicts, school_conflicts, declared = _conflict_sets(panel.edition_id, judges)
    pool_ids = select(Entry.id).where(*pool)
    assignments = list(db.session.scalars(select(Assignment).where(
        Assignment.round_id == panel.round_id, Assignment.entry_id.in_(pool_ids)).order_by(Assignment.id)))
    scores = {(j, e): s for j, e, s in db.session.execute(select(Score.judge_id, Score.entry_id, Score.status).where(
        Score.round_id == panel.round_id, Score.entry_id.in_(pool_ids)))}
    # Judges outside the panel who hold assignments here (moved, or removed later) still need a name.
    strangers = {a.judge_id for a in assignments} - set(judges)
    if strangers:
        judges.update(judge_infos(list(db.session.scalars(select(User).where(User.id.in_(strangers))))))
    return PoolContext(panel=panel, entries=entries, infos=entry_infos(entries), members=members, judges=judges,
                       conflicts=conflicts, school_conflicts=school_conflicts, declared=declared,
                       assignments=assignments, scores=scores)


# --- Panels and their members ----------------------------------------------------------------------

def scoring_rounds(edition: Edition) -> list[Round]:
    return [r for r in edition.rounds if r.enabled and r.kind in SCORING_ROUND_KINDS]


def create_panel(rnd: Round, category: Category, division: Division, user: User) -> Panel:
    if rnd.kind not in SCORING_ROUND_KINDS:
        raise PanelError(f"{rnd.name}不打分，不需要评审组。")
    if not (category.edition_id == division.edition_id == rnd.edition_id):
        raise PanelError("类别、组别和轮次不属于同一届。")
    existing = db.session.scalar(select(Panel).where(Panel.round_id == rnd.id, Panel.category_id == category.id,
                                                     Panel.division_id == division.id))
    if existing is not None:
        raise PanelError(f"{existing.name}评审组已经建立。")
    panel = Panel(edition_id=rnd.edition_id, round=rnd, category=category, division=division, seed=1)
    db.session.add(panel)
    db.session.flush()
    audit.record("panel_created", panel, after={"round": rnd.name, "category": category.name,
                                                "division": division.name}, summary=f"建立评审组 {panel.name}", user=user)
    return panel


def create_round_panels(rnd: Round, user: User) -> list[Panel]:
    """A panel for every pool (category x division) of the round that has none yet."""
    if rnd.kind not in SCORING_ROUND_KINDS:
        raise PanelError(f"{rnd.name}不打分，不需要评审组。")
    edition = rnd.edition
    have = set(db.session.execute(select(Panel.category_id, Panel.division_id).where(Panel.round_id == rnd.id)).all())
    created = []
    for category in edition.categories:
        for division in edition.divisions:
            if (category.id, division.id) not in have:
                created.append(create_panel(rnd, category, division, user))
    return created


def _member(panel: Panel, judge_id: int) -> PanelJudge | None:
    return db.session.scalar(select(PanelJudge).where(PanelJudge.panel_id == panel.id,
                                                      PanelJudge.judge_id == judge_id))


def add_judge(panel: Panel, judge: User, user: User) -> PanelJudge:
    """Add a judge account to the panel, or take an inactive (ill) member back."""
    if judge.role != "judge":
        raise PanelError(f"{judge.display_name}不是评委账号，不能加入评审组。")
    if not judge.active:
        raise PanelError(f"评委账号 {judge.display_name} 已停用。")
    member = _member(panel, judge.id)
    if member is not None:
        if member.active:
            raise PanelError(f"{judge.display_name}已在本组。")
        member.active = True
        audit.record("panel_judge_reactivated", member, edition_id=panel.edition_id,
                     before={"active": False}, after={"active": True},
                     summary=f"{panel.name}：{judge.display_name}恢复评审（新分配时才会分到作品）", user=user)
        return member
    member = PanelJudge(panel_id=panel.id, judge_id=judge.id, active=True)
    db.session.add(member)
    db.session.flush()
    audit.record("panel_judge_added", member, edition_id=panel.edition_id, after={"judge": judge.username},
                 summary=f"{panel.name}：加入评委 {judge.display_name}", user=user)
    return member


def remove_judge(panel: Panel, judge: User, user: User) -> int:
    """Take a judge out of the panel; his open assignments go too (returns how many). Refused once he
    has a score in the pool: then he is marked ill and his work handed on instead."""
    _check_open(panel)
    member = _member(panel, judge.id)
    if member is None:
        raise PanelError(f"{judge.display_name}不在本组。")
    ctx = load_pool(panel)
    scored = [a for a in ctx.assignments if a.judge_id == judge.id and (a.judge_id, a.entry_id) in ctx.scores]
    if scored:
        raise PanelError(f"{judge.display_name}已为{len(scored)}件作品评分，不能移出本组；"
                         "如不能继续评审，请用“病假转交”把未完成的作品交给其他评委。")
    open_work = [a for a in ctx.assignments if a.judge_id == judge.id and a.panel_id == panel.id]
    for a in open_work:
        db.session.delete(a)
    audit.record("panel_judge_removed", member, edition_id=panel.edition_id,
                 before={"judge": judge.username, "open_assignments": len(open_work)},
                 summary=f"{panel.name}：移出评委 {judge.display_name}" +
                         (f"，撤销{len(open_work)}项未评任务" if open_work else ""), user=user)
    db.session.delete(member)
    return len(open_work)


def save_settings(panel: Panel, judges_per_entry: int | None, seed: int, user: User) -> None:
    if judges_per_entry is not None and not 1 <= judges_per_entry <= MAX_K:
        raise PanelError(f"每件作品的评委人数应在1到{MAX_K}之间（留空为默认）。")
    if not 0 <= seed < 2**31:
        raise PanelError("随机种子应为0到2147483647之间的整数。")
    before = {"judges_per_entry": panel.judges_per_entry, "seed": panel.seed}
    after = {"judges_per_entry": judges_per_entry, "seed": seed}
    if before == after:
        return
    panel.judges_per_entry = judges_per_entry
    panel.seed = seed
    audit.record("panel_settings_saved", panel, before=before, after=after,
                 summary=f"{panel.name}：每件作品{judges_per_entry or '默认'}位评委，随机种子{seed}", user=user)


# --- Assignment ------------------------------------------------------------------------------------

@dataclass
class RunSummary:
    result: AssignmentResult
    added: int
    removed: int
    kept: int  # scored pairs kept as they were
    waiting: int  # pool entries not yet approved, left out


def run_assignment(panel: Panel, user: User) -> RunSummary:
    """(Re)assign the panel's approved entries: pairs with a score stay, the others are drawn anew."""
    _check_open(panel)
    ctx = load_pool(panel)
    active = ctx.active_judges
    scored = [a for a in ctx.assignments if (a.judge_id, a.entry_id) in ctx.scores]
    open_by_pair = {(a.judge_id, a.entry_id): a for a in ctx.assignments
                    if (a.judge_id, a.entry_id) not in ctx.scores}
    problem = AssignmentProblem(
        entries=[ctx.infos[e.id] for e in ctx.approved], judges=active, k=panel.judges_per_entry,
        conflicts=ctx.conflicts, school_conflicts=ctx.school_conflicts, seed=panel.seed,
        existing={(a.judge_id, a.entry_id) for a in scored})
    result = assign(problem)  # AssignmentImpossible: nothing written
    wanted = set(result.new_pairs)
    removed = [a for pair, a in open_by_pair.items() if pair not in wanted]
    for a in removed:
        db.session.delete(a)
    db.session.flush()
    for pair, a in open_by_pair.items():
        if pair in wanted and a.panel_id != panel.id:
            a.panel_id = panel.id
    added = sorted(wanted - set(open_by_pair))
    db.session.add_all(Assignment(round_id=panel.round_id, panel_id=panel.id, judge_id=j, entry_id=e)
                       for j, e in added)
    loads = result.loads.values()
    load_text = f"{min(loads)}–{max(loads)}" if loads else "0"
    audit.record("panel_assigned", panel,
                 before={"open_assignments": len(open_by_pair), "scored": len(scored)},
                 after={"k": result.k, "seed": panel.seed, "entries": len(problem.entries), "added": len(added),
                        "removed": len(removed), "kept": len(wanted & set(open_by_pair)) + len(scored),
                        "loads": {str(j): n for j, n in result.loads.items()}, "connected": result.connected},
                 summary=f"{panel.name}：分配{len(problem.entries)}件作品，每件{result.k}位评委，"
                         f"评委工作量{load_text}件", user=user)
    return RunSummary(result=result, added=len(added), removed=len(removed), kept=len(scored), waiting=ctx.waiting)


def _refill(panel: Panel, ctx: PoolContext, removed: list[Assignment]) -> AssignmentResult:
    """Give each entry of the removed pairs as many judges as it had, from the active members, with the
    loads as even as they can be. Raises AssignmentImpossible (nothing changed then)."""
    remaining = ctx.pairs(exclude=removed)
    lost: dict[int, int] = defaultdict(int)
    for a in removed:
        lost[a.entry_id] += 1
    targets = {e: sum(1 for _, ee in remaining if ee == e) + n for e, n in lost.items()}
    result = assign(AssignmentProblem(
        entries=[ctx.infos[e] for e in sorted(lost)], judges=ctx.active_judges, k=panel.judges_per_entry,
        conflicts=ctx.conflicts, school_conflicts=ctx.school_conflicts, seed=panel.seed, existing=remaining,
        targets=targets))
    for a in removed:
        db.session.delete(a)
    db.session.flush()
    db.session.add_all(Assignment(round_id=panel.round_id, panel_id=panel.id, judge_id=j, entry_id=e)
                       for j, e in result.new_pairs)
    return result


def move_assignment(assignment: Assignment, to_judge: User, reason: str, user: User) -> str:
    """Give one entry of judge A to judge B. Refused when A submitted its score or B must recuse himself;
    a recusal cannot be overridden. Returns a note for the organizer (a draft left behind)."""
    panel = assignment.panel
    _check_open(panel)
    reason = _reason(reason, "改派")
    entry = assignment.entry
    from_judge = assignment.judge
    ctx = load_pool(panel)
    status = ctx.scores.get((from_judge.id, entry.id))
    if status == "submitted":
        raise PanelError(f"{from_judge.display_name}已提交作品 {entry.code} 的评分，不能改派。")
    member = next((m for m in ctx.members if m.judge_id == to_judge.id), None)
    if member is None or not member.active:
        raise PanelError(f"{to_judge.display_name}不是本组的在岗评委。")
    if to_judge.id == from_judge.id or (to_judge.id, entry.id) in ctx.pairs():
        raise PanelError(f"{to_judge.display_name}已是作品 {entry.code} 的评委。")
    why = ctx.reasons(to_judge.id, entry.id)
    if why:
        declared = ctx.declared.get((to_judge.id, entry.id)) or ctx.declared.get((to_judge.id, ("school", entry.school_id)))
        hint = f"（申报原因：{declared}）。如申报有误，请先在“回避管理”中删除这条申报" if declared else ""
        raise PanelError(f"不能改派给{to_judge.display_name}：与作品 {entry.code} 回避（{'、'.join(why)}）{hint}。"
                         "回避不能被覆盖。")
    before = {"judge_id": from_judge.id, "judge": from_judge.username, "score": status}
    assignment.judge_id = to_judge.id
    assignment.panel_id = panel.id
    audit.record("assignment_moved", assignment, edition_id=panel.edition_id, before=before,
                 after={"judge_id": to_judge.id, "judge": to_judge.username, "reason": reason},
                 summary=f"{panel.name}：作品 {entry.code} 由{from_judge.display_name}改派给{to_judge.display_name}，"
                         f"原因：{reason}", user=user)
    return f"{from_judge.display_name}的评分草稿保留在评分记录中，不计入成绩。" if status == "draft" else ""


def reassign_judge(panel: Panel, judge: User, reason: str, user: User) -> int:
    """An ill judge: he gets no new work, and his unfinished entries (no submitted score) go to the
    other active members, each entry keeping its number of judges and the loads staying as even as
    they can. Submitted scores stay. Returns the number of entries handed on."""
    _check_open(panel)
    reason = _reason(reason, "转交")
    member = _member(panel, judge.id)
    if member is None:
        raise PanelError(f"{judge.display_name}不在本组。")
    member.active = False
    db.session.flush()
    ctx = load_pool(panel)
    open_work = [a for a in ctx.assignments
                 if a.judge_id == judge.id and ctx.scores.get((a.judge_id, a.entry_id)) != "submitted"]
    codes = [ctx.infos[a.entry_id].label for a in open_work]
    moved_to: dict[str, str] = {}
    if open_work:
        try:
            result = _refill(panel, ctx, open_work)
        except AssignmentImpossible as error:
            raise PanelError(f"{judge.display_name}的{len(open_work)}件未完成作品无法全部转交：\n{error.message}\n"
                             "可先为本组增加评委再转交。") from error
        for j, e in result.new_pairs:
            moved_to[ctx.infos[e].label] = ctx.judges[j].name
    audit.record("panel_judge_reassigned", member, edition_id=panel.edition_id,
                 before={"judge": judge.username, "active": True, "open": codes},
                 after={"active": False, "moved_to": moved_to, "reason": reason},
                 summary=f"{panel.name}：{judge.display_name}停止评审（{reason}），"
                         f"{len(open_work)}件未完成作品转交其他评委", user=user)
    return len(open_work)


# --- Declared conflicts (回避) ---------------------------------------------------------------------

def declare_conflict(edition: Edition, judge: User, reason: str, user: User, entry: Entry | None = None,
                     school: School | None = None) -> tuple[Conflict, list[str]]:
    """Declare that a judge recuses himself from an entry or a whole school. His open assignments that
    the conflict now forbids are handed to other judges at once; submitted scores stay and are reported."""
    reason = _reason(reason, "申报回避")
    if judge.role != "judge":
        raise PanelError(f"{judge.display_name}不是评委账号。")
    if (entry is None) == (school is None):
        raise PanelError("请选择回避的作品或学校（二选一）。")
    if entry is not None and entry.edition_id != edition.id:
        raise PanelError("这件作品不属于本届。")
    duplicate = db.session.scalar(select(Conflict.id).where(
        Conflict.edition_id == edition.id, Conflict.judge_id == judge.id,
        Conflict.entry_id == entry.id if entry is not None else Conflict.entry_id.is_(None),
        Conflict.school_id == school.id if school is not None else Conflict.school_id.is_(None)))
    if duplicate is not None:
        raise PanelError("这条回避已经申报过。")
    conflict = Conflict(edition_id=edition.id, judge_id=judge.id, entry_id=entry.id if entry else None,
                        school_id=school.id if school else None, reason=reason)
    db.session.add(conflict)
    db.session.flush()
    target = f"作品 {entry.code}" if entry is not None else f"{school.name}的作品"
    audit.record("conflict_declared", conflict,
                 after={"judge": judge.username, "entry": entry.code if entry else None,
                        "school": school.name if school else None, "reason": reason},
                 summary=f"{judge.display_name}回避{target}：{reason}", user=user)
    return conflict, _apply_conflict(edition, judge, entry, school)


def _apply_conflict(edition: Edition, judge: User, entry: Entry | None, school: School | None) -> list[str]:
    match = Assignment.entry_id == entry.id if entry is not None else Assignment.entry_id.in_(
        select(Entry.id).where(Entry.edition_id == edition.id, Entry.school_id == school.id))
    affected = list(db.session.scalars(select(Assignment).join(Round, Round.id == Assignment.round_id).where(
        Round.edition_id == edition.id, Assignment.judge_id == judge.id, match)))
    notes = []
    by_panel: dict[int, list[int]] = defaultdict(list)
    for a in affected:
        by_panel[a.panel_id].append(a.id)
    for panel_id, ids in sorted(by_panel.items()):
        panel = db.session.get(Panel, panel_id)
        ctx = load_pool(panel)
        mine = [a for a in ctx.assignments if a.id in ids]
        submitted = [a for a in mine if ctx.scores.get((a.judge_id, a.entry_id)) == "submitted"]
        if submitted:
            notes.append(f"{judge.display_name}已提交{'、'.join(ctx.infos[a.entry_id].label for a in submitted)}"
                         "的评分：评分保留，请在评分进度中核对是否作废。")
        open_work = [a for a in mine if a not in submitted]
        if not open_work:
            continue
        labels = "、".join(ctx.infos[a.entry_id].label for a in open_work)
        if panel.round.locked:
            notes.append(f"{panel.round.name}已锁定：{labels}的分配未改动，请解锁后处理。")
            continue
        try:
            _refill(panel, ctx, open_work)
            notes.append(f"{panel.name}：{labels}已改由其他评委评审。")
        except AssignmentImpossible as error:
            for a in open_work:
                db.session.delete(a)
            notes.append(f"{panel.name}：已撤销{judge.display_name}对{labels}的评审任务，但找不到可接替的评委"
                         f"（{error.message}）")
    return notes


def remove_conflict(conflict: Conflict, user: User) -> None:
    target = f"作品 {conflict.entry.code}" if conflict.entry is not None else f"{conflict.school.name}的作品"
    audit.record("conflict_removed", conflict,
                 before={"judge": conflict.judge.username, "entry_id": conflict.entry_id,
                         "school_id": conflict.school_id, "reason": conflict.reason},
                 summary=f"删除回避申报：{conflict.judge.display_name}回避{target}", user=user)
    db.session.delete(conflict)


def edition_conflicts(edition: Edition) -> list[Conflict]:
    return list(db.session.scalars(select(Conflict).where(Conflict.edition_id == edition.id).options(
        selectinload(Conflict.judge), selectinload(Conflict.entry), selectinload(Conflict.school))
        .order_by(Conflict.created_at.desc(), Conflict.id.desc())))


def judge_accounts() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role == "judge", User.active.is_(True))
                                   .options(selectinload(User.school)).order_by(User.display_name, User.id)))


# --- What the pages show ---------------------------------------------------------------------------

@dataclass
class Cell:
    state: str = ""  # "", assigned, draft, submitted, recused; recused_assigned (kept because scored)
    note: str = ""
    assignment_id: int | None = None


@dataclass
class MatrixRow:
    entry: Entry
    cells: list[Cell]
    count: int
    movable: list[tuple[int, str]]  # (assignment id, judge name): not submitted yet
    targets: list[tuple[int, str, str]]  # (judge id, name, recusal reasons or "")


@dataclass
class Matrix:
    panel: Panel
    members: list[PanelJudge]
    loads: dict[int, int]
    k: int
    rows: list[MatrixRow]
    waiting: int
    approved: int
    complete: int  # approved entries with at least k judges
    components: int
    outsiders: list[str]  # judges outside the panel who hold assignments here

    @property
    def assigned(self) -> int:
        return sum(self.loads.values())


def panel_matrix(panel: Panel) -> Matrix:
    ctx = load_pool(panel)
    members = ctx.members
    active = [m for m in members if m.active]
    k = panel_k(panel, len(active))
    by_pair = {(a.judge_id, a.entry_id): a for a in ctx.assignments}
    assigned_ids = {a.entry_id for a in ctx.assignments}
    loads = {m.judge_id: 0 for m in members}
    for a in ctx.assignments:
        if a.judge_id in loads:
            loads[a.judge_id] += 1
    rows = []
    for entry in ctx.entries:
        if entry.status != ASSIGNED_STATUS and entry.id not in assigned_ids:
            continue
        cells, movable = [], []
        for m in members:
            a = by_pair.get((m.judge_id, entry.id))
            why = ctx.reasons(m.judge_id, entry.id)
            declared = ctx.declared.get((m.judge_id, entry.id)) or ctx.declared.get(
                (m.judge_id, ("school", entry.school_id)))
            note = "、".join(why) + (f"：{declared}" if declared else "")
            if a is None:
                cells.append(Cell("recused" if why else "", note))
                continue
            status = ctx.scores.get((m.judge_id, entry.id))
            cells.append(Cell("recused_assigned" if why else (status or "assigned"), note, a.id))
            if status != "submitted":
                movable.append((a.id, m.judge.display_name))
        on_entry = {j for j, e in by_pair if e == entry.id}
        targets = [(m.judge_id, m.judge.display_name, "、".join(ctx.reasons(m.judge_id, entry.id)))
                   for m in active if m.judge_id not in on_entry]
        rows.append(MatrixRow(entry, cells, len(on_entry), movable, targets))
    counts = defaultdict(int)
    for _, e in by_pair:
        counts[e] += 1
    approved = ctx.approved
    outsiders = sorted({ctx.judges[a.judge_id].name for a in ctx.assignments if a.judge_id not in loads})
    return Matrix(panel=panel, members=members, loads=loads, k=k, rows=rows, waiting=ctx.waiting,
                  approved=len(approved), complete=sum(1 for e in approved if counts[e.id] >= k),
                  components=graph_components(by_pair.keys()), outsiders=outsiders)


@dataclass
class PoolRow:
    category: Category
    division: Division
    panel: Panel | None
    judges: int
    approved: int
    waiting: int
    assignments: int
    complete: int
    k: int | None

    @property
    def status(self) -> str:
        if self.panel is None:
            return "none"
        if not self.approved and not self.assignments:
            return "empty"
        if not self.assignments:
            return "unassigned"
        return "done" if self.complete >= self.approved else "partial"


def edition_overview(edition: Edition) -> list[tuple[Round, list[PoolRow]]]:
    """Per scoring round and pool: the panel, its judges, entries and how far the assignment is; five queries."""
    counts = defaultdict(int)
    for category_id, division_id, status, n in db.session.execute(
            select(Entry.category_id, Entry.division_id, Entry.status, func.count())
            .where(Entry.edition_id == edition.id).group_by(Entry.category_id, Entry.division_id, Entry.status)):
        counts[(category_id, division_id, status)] = n
    advanced = defaultdict(int)  # (round, category, division, status) -> entries advanced into the round
    for round_id, category_id, division_id, status, n in db.session.execute(
            select(Advancement.round_id, Entry.category_id, Entry.division_id, Entry.status, func.count())
            .join(Entry, Entry.id == Advancement.entry_id).where(Entry.edition_id == edition.id)
            .group_by(Advancement.round_id, Entry.category_id, Entry.division_id, Entry.status)):
        advanced[(round_id, category_id, division_id, status)] = n
    rounds_with_advancement = {key[0] for key in advanced}
    panels = list(db.session.scalars(select(Panel).where(Panel.edition_id == edition.id)
                                     .options(selectinload(Panel.members))))
    by_key = {(p.round_id, p.category_id, p.division_id): p for p in panels}
    per_entry = defaultdict(list)  # panel id -> assignments per approved entry
    if panels:
        for panel_id, n in db.session.execute(
                select(Assignment.panel_id, func.count()).join(Entry, Entry.id == Assignment.entry_id)
                .where(Assignment.panel_id.in_([p.id for p in panels]), Entry.status == ASSIGNED_STATUS)
                .group_by(Assignment.panel_id, Assignment.entry_id)):
            per_entry[panel_id].append(n)
    overview = []
    for rnd in scoring_rounds(edition):
        rows = []
        for category in edition.categories:
            for division in edition.divisions:
                panel = by_key.get((rnd.id, category.id, division.id))
                active = sum(1 for m in panel.members if m.active) if panel else 0
                k = panel_k(panel, active) if panel else None
                loads = per_entry.get(panel.id, []) if panel else []
                if rnd.id in rounds_with_advancement:
                    approved = advanced[(rnd.id, category.id, division.id, ASSIGNED_STATUS)]
                    waiting = 0
                else:
                    approved = counts[(category.id, division.id, ASSIGNED_STATUS)]
                    waiting = sum(counts[(category.id, division.id, s)] for s in WAITING_STATUSES)
                rows.append(PoolRow(
                    category=category, division=division, panel=panel, judges=active,
                    approved=approved, waiting=waiting,
                    assignments=sum(loads), complete=sum(1 for n in loads if k and n >= k), k=k))
        overview.append((rnd, rows))
    return overview


# --- What refers to setup objects -------------------------------------------------------------------

def _panels_of_category(category: Category):
    return db.session.scalar(select(func.count()).select_from(Panel).where(Panel.category_id == category.id)), "个评审组"


def _panels_of_division(division: Division):
    return db.session.scalar(select(func.count()).select_from(Panel).where(Panel.division_id == division.id)), "个评审组"


def register_usage_checks() -> None:
    """Refuse to delete a category or division that a panel uses (called from create_app)."""
    for checks, fn in ((contest_ops.category_usage_checks, _panels_of_category),
                       (contest_ops.division_usage_checks, _panels_of_division)):
        if fn not in checks:
            checks.append(fn)

