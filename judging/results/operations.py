"""Computing a round's results: load the scores (one query), call the pure engine per pool,
store a snapshot with one row per entry (bulk), and write the audit log.

Which entries belong to a round: every entry of the edition whose pool (category x division) has
a panel in the round, whatever its status; entries that did not pass 资格审查 or were disqualified
get a row with the flag "not_rankable", so every entry of a judged pool is accounted for. Once
entries have been advanced into a round (初评 -> 终评, see ``advance``), only those belong to it.
Which scores count: only *submitted* scores of judges *currently assigned* to the entry in the
round. Drafts, and scores left behind when an assignment was moved to another judge, do not.

Overrides (rule 6) are kept per round and applied by every computation. Once a round's results
are public (公示 or final), computing again needs a written reason, kept on the new snapshot and in
the log. Publication itself lives in publication.py; rewards and the school summary are read off a
snapshot in reports.py.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, func, insert, select

from judging.contests.models import Criterion, Edition, Round
from judging.core import audit
from judging.core.models import User, utcnow
from judging.extensions import db
from judging.registration.models import Entry
from judging.results import engine
from judging.results.models import EntryResultRow, PrizeOverride, ResultSnapshot
from judging.scoring.models import Advancement, Assignment, CriterionScore, Panel, Score
from judging.scoring.panels import in_round

RANKABLE_STATUS = "approved"  # passed 资格审查; disqualified / submitted / returned are not ranked


class ResultsError(ValueError):
    """A refused computation; the message is shown to the organizer as is."""


@dataclass
class PoolScores:
    """One pool's engine input: every entry of the pool with its counting judges' totals."""
    category_id: int
    division_id: int
    entries: list[engine.EntryScores] = field(default_factory=list)


def _scores_query(rnd: Round):
    first = (
        select(
            Criterion.category_id.label("category_id"),
            Criterion.id.label("criterion_id"),
            func.row_number().over(partition_by=Criterion.category_id,
                                   order_by=(Criterion.position, Criterion.id)).label("n"),
        ).subquery("first_criterion")
    )
    return (
        select(Entry.id, Entry.category_id, Entry.division_id, Entry.status,
               Score.judge_id, Score.total, CriterionScore.points)
        .select_from(Entry)
        .join(Panel, and_(Panel.round_id == rnd.id, Panel.category_id == Entry.category_id,
                          Panel.division_id == Entry.division_id))
        .outerjoin(Assignment, and_(Assignment.round_id == rnd.id, Assignment.entry_id == Entry.id))
        .outerjoin(Score, and_(Score.round_id == rnd.id, Score.entry_id == Entry.id,
                               Score.judge_id == Assignment.judge_id, Score.status == "submitted"))
        .outerjoin(first, and_(first.c.category_id == Entry.category_id, first.c.n == 1))
        .outerjoin(CriterionScore, and_(CriterionScore.score_id == Score.id,
                                        CriterionScore.criterion_id == first.c.criterion_id))
        .where(Entry.edition_id == rnd.edition_id)
        .where(in_round(rnd.id))
    )


def latest_snapshot(rnd: Round) -> ResultSnapshot | None:
    return db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.round_id == rnd.id)
                             .order_by(ResultSnapshot.id.desc()).limit(1))


def public_snapshot(rnd: Round) -> ResultSnapshot | None:
    """The round's results as the public sees them now (公示 or final), if any."""
    return db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.round_id == rnd.id,
                                                          ResultSnapshot.status.in_(("notice", "final")))
                             .order_by(ResultSnapshot.id.desc()).limit(1))


def load_round_scores(rnd: Round) -> dict[tuple[int, int], PoolScores]:
    """{(category_id, division_id): PoolScores} for the round, in one query."""
    entries: dict[int, tuple] = {}  # entry id -> (pool key, rankable, [JudgeTotal])
    zero = Decimal(0)
    judge_total = engine.JudgeTotal
    for entry_id, category_id, division_id, status, judge_id, total, first_points in db.session.execute(
            _scores_query(rnd)):
        item = entries.get(entry_id)
        if item is None:
            item = entries[entry_id] = ((category_id, division_id), status == RANKABLE_STATUS, [])
        if judge_id is not None and total is not None:
            item[2].append(judge_total(judge_id, total, zero if first_points is None else first_points))
    pools: dict[tuple[int, int], PoolScores] = {}
    for entry_id in sorted(entries):
        key, rankable, totals = entries[entry_id]
        pool = pools.get(key)
        if pool is None:
            pool = pools[key] = PoolScores(*key)
        pool.entries.append(engine.EntryScores(entry_id, rankable, totals))
    return pools


def _pool_settings(edition: Edition) -> dict[tuple[int, int], dict]:
    positions = {level.id: level.position for level in edition.prize_levels}
    out = {}
    for rule in edition.pool_rules:
        quotas = sorted((positions[q.prize_level_id], Decimal(q.value)) for q in rule.quotas)
        out[(rule.category_id, rule.division_id)] = {
            "quota_mode": rule.quota_mode,
            "min_score": rule.min_score,
            "quotas": quotas,
        }
    return out


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _overrides(rnd: Round) -> dict[int, engine.Override]:
    return {o.entry_id: engine.Override(o.level_position, o.reason)
            for o in db.session.scalars(select(PrizeOverride).where(PrizeOverride.round_id == rnd.id))}


def compute_results(edition: Edition, rnd: Round, user: User | None, reason: str | None = None) -> ResultSnapshot:
    """Compute every pool of the round and store a new draft snapshot. Commits nothing.

    When the round's results are already public, ``reason`` (why they change) is required."""
    if rnd.edition_id != edition.id:
        raise ResultsError("这一轮不属于本届大赛。")
    reason = (reason or "").strip() or None
    published = public_snapshot(rnd)
    if published is not None and reason is None:
        raise ResultsError(f"{rnd.name}结果已{published.status_label}，重新计算必须填写更正原因。")
    rules = _pool_settings(edition)
    pools = load_round_scores(rnd)
    overrides = _overrides(rnd)

    settings = {
        "scoring_method": edition.scoring_method,
        "trim_min_judges": edition.trim_min_judges,
        "min_judges": edition.min_judges,
        "pools": {f"{c}-{d}": {"quota_mode": r["quota_mode"],
                               "min_score": None if r["min_score"] is None else str(r["min_score"]),
                               "quotas": [[lv, str(v)] for lv, v in r["quotas"]]}
                  for (c, d), r in sorted(rules.items())},
    }
    snapshot = ResultSnapshot(edition_id=edition.id, round_id=rnd.id, computed_at=utcnow(),
                              computed_by_id=getattr(user, "id", None), settings_json=_json(settings),
                              status="draft", change_reason=reason if published is not None else None)
    rows: list[dict] = []
    pool_flags: list[dict] = []
    counts = {"entries": 0, "ranked": 0, "prized": 0, "too_few_judges": 0, "flags": 0}
    for key in sorted(pools):
        pool = pools[key]
        rule = rules.get(key)
        ids = {e.entry_id for e in pool.entries}
        try:
            result = engine.compute_pool(engine.PoolInput(
                entries=pool.entries,
                method=edition.scoring_method,
                trim_min_judges=edition.trim_min_judges,
                min_judges=edition.min_judges,
                quota_mode=rule["quota_mode"] if rule else "count",
                quotas=rule["quotas"] if rule else (),
                min_score=rule["min_score"] if rule else None,
            ), {eid: ov for eid, ov in overrides.items() if eid in ids})
        except ValueError as exc:  # an override that no longer fits (level removed, entry disqualified)
            raise ResultsError(f"有一项奖项调整已不适用，请先修改或撤销：{exc}") from exc
        for flag in result.flags:
            pool_flags.append({"category_id": key[0], "division_id": key[1], "kind": flag.kind,
                               "entry_ids": list(flag.entry_ids), "levels": list(flag.levels),
                               "message": flag.message})
        counts["too_few_judges"] += len(result.too_few_judges)
        for r in result.results:
            counts["entries"] += 1
            counts["ranked"] += r.rank is not None
            counts["prized"] += r.level is not None
            rows.append({"entry_id": r.entry_id, "final": r.final, "rank": r.rank, "level_position": r.level,
                         "quota_level": r.quota_level, "overridden": r.overridden,
                         "override_reason": r.override_reason, "flags_json": _json(r.flags)})
    counts["flags"] = len(pool_flags)
    snapshot.flags_json = _json(pool_flags)
    db.session.add(snapshot)
    db.session.flush()
    if rows:
        for row in rows:
            row["snapshot_id"] = snapshot.id
        db.session.execute(insert(EntryResultRow.__table__), rows)
    if reason:
        counts["reason"] = reason
    audit.record("results_computed", snapshot, edition_id=edition.id, after=counts, user=user,
                 summary=f"计算{rnd.name}结果：{counts['ranked']}件排名，{counts['prized']}件获奖"
                         + (f"，{counts['too_few_judges']}件评分不足" if counts["too_few_judges"] else "")
                         + (f"（更正原因：{reason}）" if reason and published is not None else ""))
    return snapshot


# --- Overrides (rule 6) -------------------------------------------------------------------------

def set_override(rnd: Round, entry: Entry, level_position: int | None, reason: str, user: User) -> PrizeOverride:
    """Decide one entry's prize by hand, with a written reason. Takes effect at the next computation."""
    reason = (reason or "").strip()
    if not reason:
        raise ResultsError("调整奖项必须填写书面理由。")
    if entry.edition_id != rnd.edition_id:
        raise ResultsError("作品不属于本届大赛。")
    positions = {lv.position: lv.name for lv in rnd.edition.prize_levels}
    if level_position is not None and level_position not in positions:
        raise ResultsError("没有这个奖项等级。")
    if level_position is not None and entry.status != RANKABLE_STATUS:
        raise ResultsError(f"作品{entry.code}未通过资格审查或已取消资格，不能获奖。")
    current = db.session.scalar(select(PrizeOverride).where(PrizeOverride.round_id == rnd.id,
                                                            PrizeOverride.entry_id == entry.id))
    before = None if current is None else {"level": current.level_position, "reason": current.reason}
    if current is None:
        current = PrizeOverride(round_id=rnd.id, entry_id=entry.id)
        db.session.add(current)
    current.level_position = level_position
    current.reason = reason
    current.created_by_id = user.id
    current.created_at = utcnow()
    db.session.flush()
    label = positions.get(level_position, "不获奖") if level_position is not None else "不获奖"
    audit.record("prize_overridden", entry, edition_id=rnd.edition_id, before=before,
                 after={"round_id": rnd.id, "level": level_position, "reason": reason}, user=user,
                 summary=f"{rnd.name}：作品{entry.code}奖项调整为{label}（理由：{reason}）")
    return current


def remove_override(override: PrizeOverride, reason: str, user: User) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ResultsError("撤销奖项调整也必须填写理由。")
    entry = override.entry
    audit.record("prize_override_removed", entry, edition_id=entry.edition_id,
                 before={"round_id": override.round_id, "level": override.level_position,
                         "reason": override.reason},
                 after={"reason": reason}, user=user,
                 summary=f"撤销作品{entry.code}的奖项调整（理由：{reason}）")
    db.session.delete(override)
    db.session.flush()


def round_overrides(rnd: Round) -> list[PrizeOverride]:
    return list(db.session.scalars(select(PrizeOverride).where(PrizeOverride.round_id == rnd.id)
                                   .order_by(PrizeOverride.id)))


# --- Advancement (初评 -> 终评) ---------------------------------------------------------------------

@dataclass
class AdvanceRequest:
    mode: str  # "count" or "percent"
    value: Decimal
    per_group: int | None = None  # at most this many per class or per school
    group_by: str | None = None  # "class" or "school"


@dataclass
class AdvanceSummary:
    advanced: int = 0
    pools: int = 0
    tied_over: list[str] = field(default_factory=list)  # entry codes taken beyond the limit by a tie
    capped: list[str] = field(default_factory=list)  # entry codes passed over by the cap


def next_round(rnd: Round) -> Round | None:
    later = [r for r in rnd.edition.rounds if r.enabled and r.kind == "final" and r.position > rnd.position]
    return min(later, key=lambda r: r.position) if later and rnd.kind == "preliminary" else None


def _group_keys(entry_ids: list[int], group_by: str | None) -> dict[int, object]:
    if group_by is None:
        return {}
    if group_by == "school":
        return dict(db.session.execute(select(Entry.id, Entry.school_id).where(Entry.id.in_(entry_ids))).all())
    if group_by == "class":  # the first student's school, grade and class
        from judging.registration.models import EntryStudent

        rows = db.session.execute(
            select(EntryStudent.entry_id, Entry.school_id, EntryStudent.grade, EntryStudent.class_name)
            .join(Entry, Entry.id == EntryStudent.entry_id)
            .where(EntryStudent.entry_id.in_(entry_ids)).order_by(EntryStudent.entry_id, EntryStudent.position))
        out: dict[int, object] = {}
        for entry_id, school_id, grade, class_name in rows:
            out.setdefault(entry_id, (school_id, grade, class_name))
        return out
    raise ResultsError("晋级限额只能按班级或按学校。")


def advance(snapshot: ResultSnapshot, request: AdvanceRequest, user: User) -> AdvanceSummary:
    """Advance the top N / x% of each pool of a computed 初评 into the following 终评.

    Replaces an earlier advancement into that round, which is refused once 终评 has submitted scores
    for an entry that would drop out."""
    rnd = snapshot.round
    target = next_round(rnd)
    if target is None:
        raise ResultsError("只有初评结果可以晋级，且本届须启用终评。")
    if target.locked:
        raise ResultsError(f"{target.name}已锁定，不能再改变晋级名单。")
    if snapshot.id != getattr(latest_snapshot(rnd), "id", None):
        raise ResultsError("请按最新一次计算的结果晋级。")
    if request.mode not in ("count", "percent") or request.value is None or Decimal(request.value) <= 0:
        raise ResultsError("请填写晋级的件数或百分比。")
    if request.mode == "percent" and Decimal(request.value) > 100:
        raise ResultsError("晋级比例不能超过100%。")
    if request.per_group is not None and (request.per_group < 1 or request.group_by not in ("class", "school")):
        raise ResultsError("每班或每校限额须为正整数。")

    rows = list(db.session.execute(
        select(EntryResultRow.entry_id, EntryResultRow.rank, Entry.category_id, Entry.division_id, Entry.code)
        .join(Entry, Entry.id == EntryResultRow.entry_id)
        .where(EntryResultRow.snapshot_id == snapshot.id, EntryResultRow.rank.is_not(None))))
    codes = {r.entry_id: r.code for r in rows}
    groups = _group_keys(list(codes), request.group_by)
    pools: dict[tuple[int, int], list] = {}
    for r in rows:
        pools.setdefault((r.category_id, r.division_id), []).append(
            engine.RankedEntry(r.entry_id, r.rank, groups.get(r.entry_id)))
    summary = AdvanceSummary(pools=len(pools))
    chosen: list[int] = []
    for key in sorted(pools):
        ranked = pools[key]
        limit = engine.advancement_limit(len(ranked), request.mode, Decimal(request.value))
        picked = engine.select_advancing(ranked, limit, request.per_group)
        chosen.extend(picked.entry_ids)
        summary.tied_over.extend(codes[e] for e in picked.tied_over)
        summary.capped.extend(codes[e] for e in picked.capped)

    existing = set(db.session.scalars(select(Advancement.entry_id).where(Advancement.round_id == target.id)))
    dropping = existing - set(chosen)
    if dropping:
        scored = list(db.session.scalars(
            select(Entry.code).join(Score, Score.entry_id == Entry.id)
            .where(Score.round_id == target.id, Score.entry_id.in_(dropping), Score.status == "submitted")
            .distinct().order_by(Entry.code)))
        if scored:
            raise ResultsError(f"{target.name}已有评分的作品不能移出晋级名单：{'、'.join(scored)}")
        db.session.execute(Advancement.__table__.delete().where(Advancement.round_id == target.id,
                                                                Advancement.entry_id.in_(dropping)))
    new = [e for e in chosen if e not in existing]
    if new:
        now = utcnow()
        db.session.execute(insert(Advancement.__table__), [
            {"round_id": target.id, "entry_id": e, "from_round_id": rnd.id, "created_by_id": user.id,
             "created_at": now} for e in new])
    summary.advanced = len(chosen)
    audit.record("entries_advanced", snapshot, edition_id=rnd.edition_id, user=user,
                 before={"advanced": len(existing)},
                 after={"advanced": len(chosen), "mode": request.mode, "value": str(request.value),
                        "per_group": request.per_group, "group_by": request.group_by,
                        "tied_over": summary.tied_over, "capped": summary.capped},
                 summary=f"{rnd.name}晋级{target.name}：{len(chosen)}件"
                         + (f"（并列多晋级{len(summary.tied_over)}件）" if summary.tied_over else ""))
    return summary


def advanced_count(rnd: Round) -> int:
    return db.session.scalar(select(func.count()).select_from(Advancement).where(Advancement.round_id == rnd.id)) or 0
