"""Computing a round's results: load the scores (one query), call the pure engine per pool,
store a snapshot with one row per entry (bulk), and write the audit log.

Which entries belong to a round: every entry of the edition whose pool (category x division) has
a panel in the round, whatever its status; entries that did not pass 资格审查 or were disqualified
get a row with the flag "not_rankable", so every entry of a judged pool is accounted for.
Which scores count: only *submitted* scores of judges *currently assigned* to the entry in the
round. Drafts, and scores left behind when an assignment was moved to another judge, do not.

Not done here yet (later): instructor rewards (engine.instructor_rewards), 优秀组织奖
(engine.organization_award), overrides (engine.Override) and publication.
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
from judging.results.models import EntryResultRow, ResultSnapshot
from judging.scoring.models import Assignment, CriterionScore, Panel, Score

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
    )


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


def compute_results(edition: Edition, rnd: Round, user: User | None) -> ResultSnapshot:
    """Compute every pool of the round and store a new draft snapshot. Commits nothing."""
    if rnd.edition_id != edition.id:
        raise ResultsError("这一轮不属于本届大赛。")
    rules = _pool_settings(edition)
    pools = load_round_scores(rnd)

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
                              status="draft")
    rows: list[dict] = []
    pool_flags: list[dict] = []
    counts = {"entries": 0, "ranked": 0, "prized": 0, "too_few_judges": 0, "flags": 0}
    for key in sorted(pools):
        pool = pools[key]
        rule = rules.get(key)
        result = engine.compute_pool(engine.PoolInput(
            entries=pool.entries,
            method=edition.scoring_method,
            trim_min_judges=edition.trim_min_judges,
            min_judges=edition.min_judges,
            quota_mode=rule["quota_mode"] if rule else "count",
            quotas=rule["quotas"] if rule else (),
            min_score=rule["min_score"] if rule else None,
        ))
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
    audit.record("results_computed", snapshot, edition_id=edition.id, after=counts, user=user,
                 summary=f"计算{rnd.name}结果：{counts['ranked']}件排名，{counts['prized']}件获奖"
                         + (f"，{counts['too_few_judges']}件评分不足" if counts["too_few_judges"] else ""))
    return snapshot
