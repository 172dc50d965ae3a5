"""Writing scores: one current row per (judge, entry, round), every accepted write also appended to
the history, idempotency keys for resent outbox items, versions against stale edits, locked rounds.

submit_score() answers with (HTTP status, JSON body) so the API, the paper import and tests share
one implementation of every rule."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from judging.contests.models import Criterion, Round
from judging.core import audit
from judging.core.models import User, utcnow
from judging.extensions import db
from judging.registration.models import Entry
from judging.scoring.models import Assignment, CriterionScore, Score, ScoreHistory

STATUSES = ("draft", "submitted")
KEY_MAX = 64
COMMENT_MAX = 2000


@dataclass
class Submission:
    idempotency_key: str
    round_id: int
    entry_id: int
    values: dict  # criterion id (int or str) -> points (str/int/Decimal)
    status: str = "submitted"
    comment: str | None = None
    base_version: int = 0  # the version the judge edited; 0 for a first score


def payload_hash(sub: Submission) -> str:
    """What the key promises: the same key must always come with the same content."""
    canonical = {
        "round_id": int(sub.round_id), "entry_id": int(sub.entry_id), "status": sub.status,
        "comment": (sub.comment or "").strip(), "base_version": int(sub.base_version),
        "values": {str(k): _canonical_number(v) for k, v in sorted(sub.values.items(), key=lambda kv: str(kv[0]))},
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _canonical_number(value) -> str:
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except (InvalidOperation, ValueError):
        return str(value)


def score_body(score: Score | None, values: dict | None = None) -> dict | None:
    if score is None:
        return None
    if values is None:
        values = {str(v.criterion_id): format(v.points, "f") for v in score.values}
    return {"round_id": score.round_id, "entry_id": score.entry_id, "version": score.version,
            "status": score.status, "total": format(score.total, "f") if score.total is not None else None,
            "values": values, "comment": score.comment or "",
            "updated_at": score.updated_at.isoformat(timespec="seconds") + "Z"}


def _history_body(row: ScoreHistory) -> dict:
    return {"round_id": row.round_id, "entry_id": row.entry_id, "version": row.version, "status": row.status,
            "total": format(row.total, "f") if row.total is not None else None,
            "values": json.loads(row.values_json), "comment": row.comment or "",
            "updated_at": row.at.isoformat(timespec="seconds") + "Z"}


def _error(status: int, code: str, message: str, **extra) -> tuple[int, dict]:
    return status, {"ok": False, "error": code, "message": message, **extra}


def _answer_for_known_key(key: str, digest: str, judge: User) -> tuple[int, dict] | None:
    """The stored answer of a key already used (replay), a 422 when it came with another payload,
    or None for a new key."""
    earlier = db.session.scalar(select(ScoreHistory).where(ScoreHistory.idempotency_key == key))
    if earlier is None:
        return None
    if earlier.payload_hash == digest and earlier.judge_id == judge.id:
        return 200, {"ok": True, "replayed": True, "score": _history_body(earlier)}
    return _error(422, "key_reused", "这个提交编号已用于另一份评分，未保存。请刷新页面后重新提交。")


def validate_values(criteria: list[Criterion], values: dict, status: str) -> tuple[dict[int, Decimal], dict]:
    """Points per criterion: 0..max, at most one decimal; all criteria required to submit."""
    by_id = {c.id: c for c in criteria}
    parsed: dict[int, Decimal] = {}
    faults: dict[str, str] = {}
    for raw_key, raw_value in values.items():
        try:
            criterion = by_id.get(int(raw_key))
        except (TypeError, ValueError):
            criterion = None
        if criterion is None:
            faults[str(raw_key)] = "不是本作品评分标准中的指标"
            continue
        if raw_value is None or raw_value == "":
            continue
        try:
            points = Decimal(str(raw_value).strip())
        except InvalidOperation:
            faults[str(criterion.id)] = f"{criterion.name}：应为数字"
            continue
        if not points.is_finite() or points < 0 or points > criterion.max_points:
            faults[str(criterion.id)] = f"{criterion.name}：应在0到{format(criterion.max_points.normalize(), 'f')}分之间"
        elif points != points.quantize(Decimal("0.1")):
            faults[str(criterion.id)] = f"{criterion.name}：最多一位小数"
        else:
            parsed[criterion.id] = points.quantize(Decimal("0.1"))
    if status == "submitted":
        for criterion in criteria:
            if criterion.id not in parsed and str(criterion.id) not in faults:
                faults[str(criterion.id)] = f"{criterion.name}：提交前请打分"
    return parsed, faults


def is_assigned(judge_id: int, round_id: int, entry_id: int) -> bool:
    return db.session.scalar(select(Assignment.id).where(
        Assignment.judge_id == judge_id, Assignment.round_id == round_id, Assignment.entry_id == entry_id)) is not None


def submit_score(judge: User, sub: Submission, source: str = "tablet", written_by: User | None = None,
                 check_assignment: bool = True) -> tuple[int, dict]:
    """Apply one submission; returns (status, body). Commits nothing: the caller commits (or rolls back)."""
    key = (sub.idempotency_key or "").strip()
    if not key or len(key) > KEY_MAX:
        return _error(422, "invalid", f"缺少有效的提交编号（idempotency key，不超过{KEY_MAX}个字符）")
    if sub.status not in STATUSES:
        return _error(422, "invalid", "状态应为 draft 或 submitted")
    digest = payload_hash(sub)

    # 1. A key seen before: replay its answer, or refuse another payload under the same key.
    answered = _answer_for_known_key(key, digest, judge)
    if answered is not None:
        return answered

    # 2. The round and the judge's assignment (blind: nothing about an entry he does not score).
    rnd = db.session.get(Round, sub.round_id)
    entry = db.session.get(Entry, sub.entry_id)
    if rnd is None or entry is None or entry.edition_id != rnd.edition_id or (
            check_assignment and not is_assigned(judge.id, rnd.id, entry.id)):
        return _error(404, "not_assigned", "这件作品没有分配给您评分。")
    if rnd.locked:
        return _error(423, "locked", f"{rnd.name}评分已锁定，这份评分未保存。如需更正请联系组委会。")
    if entry.status == "disqualified":
        return _error(409, "disqualified", f"作品 {entry.code} 已取消资格，不再评分。")

    # 3. The values against the entry's rubric.
    criteria = list(entry.category.criteria)
    parsed, faults = validate_values(criteria, sub.values, sub.status)
    comment = (sub.comment or "").strip() or None
    if comment and len(comment) > COMMENT_MAX:
        faults["comment"] = f"评语不能超过{COMMENT_MAX}字"
    if faults:
        return _error(422, "invalid", "评分有误：" + "；".join(faults.values()), fields=faults)

    # 4. Optimistic concurrency: the judge edited the version he saw.
    current = db.session.scalar(select(Score).where(
        Score.round_id == rnd.id, Score.entry_id == entry.id, Score.judge_id == judge.id))
    current_version = current.version if current is not None else 0
    if sub.base_version != current_version:
        # A copy of this very submission may have committed since step 1 (a resent outbox item
        # racing its first send): answer it as a replay, never as a refusal of what was stored.
        answered = _answer_for_known_key(key, digest, judge)
        if answered is not None:
            return answered
        return _error(409, "stale", "这份评分已在别处修改过（版本不一致），请核对最新的分数后再提交。",
                      current=score_body(current))
    if current is not None and current.status == "submitted" and sub.status == "draft":
        return _error(409, "already_submitted", "已提交的评分不能改回草稿；可以修改后再次提交。",
                      current=score_body(current))

    # 5. Write the current row and the history row together.
    total = sum(parsed.values(), Decimal("0")) if parsed else None
    now = utcnow()
    values_text = {str(cid): format(points, "f") for cid, points in sorted(parsed.items())}
    try:
        with db.session.begin_nested():
            if current is None:
                current = Score(round_id=rnd.id, entry_id=entry.id, judge_id=judge.id, version=0)
                db.session.add(current)
            current.status = sub.status
            current.total = total
            current.comment = comment
            current.version = current_version + 1
            current.source = source
            current.updated_at = now
            if sub.status == "submitted":
                current.submitted_at = now
            # Update criterion rows in place: replacing the list would insert the new rows before
            # deleting the old ones and trip the unique (score, criterion) constraint.
            existing = {v.criterion_id: v for v in current.values}
            for cid, points in parsed.items():
                if cid in existing:
                    existing[cid].points = points
                else:
                    current.values.append(CriterionScore(criterion_id=cid, points=points))
            for cid, row in existing.items():
                if cid not in parsed:
                    current.values.remove(row)
            db.session.add(ScoreHistory(
                idempotency_key=key, payload_hash=digest, round_id=rnd.id, entry_id=entry.id, judge_id=judge.id,
                version=current.version, status=sub.status, values_json=json.dumps(values_text), total=total,
                comment=comment, source=source, written_by_id=(written_by or judge).id, at=now))
            db.session.flush()
    except IntegrityError:
        # A simultaneous first submission won the unique row or the key (PostgreSQL); decide again.
        db.session.expire_all()
        answered = _answer_for_known_key(key, digest, judge)
        if answered is not None:
            return answered
        current = db.session.scalar(select(Score).where(
            Score.round_id == rnd.id, Score.entry_id == entry.id, Score.judge_id == judge.id))
        return _error(409, "stale", "这份评分刚被另一次提交修改，请核对最新的分数后再提交。",
                      current=score_body(current))
    return (201 if current.version == 1 else 200), {"ok": True, "replayed": False,
                                                   "score": score_body(current, values_text)}


# --- Locking --------------------------------------------------------------------------------------

def set_round_lock(rnd: Round, locked: bool, reason: str, user: User) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("锁定或解锁评分需要填写原因")
    if rnd.locked == locked:
        return
    rnd.locked = locked
    audit.record("round_locked" if locked else "round_unlocked", rnd, edition_id=rnd.edition_id,
                 before={"locked": not locked}, after={"locked": locked, "reason": reason},
                 summary=f"{'锁定' if locked else '解锁'}{rnd.name}评分：{reason}", user=user)


# --- Rebuilding the current scores from the history -----------------------------------------------

def rebuild_current_scores(round_id: int) -> dict[tuple[int, int], dict]:
    """(entry, judge) -> the latest history state of each score in the round (what Score must hold)."""
    latest: dict[tuple[int, int], ScoreHistory] = {}
    for row in db.session.scalars(select(ScoreHistory).where(ScoreHistory.round_id == round_id)
                                  .order_by(ScoreHistory.version, ScoreHistory.id)):
        latest[(row.entry_id, row.judge_id)] = row
    return {k: {"version": r.version, "status": r.status, "total": r.total, "values": json.loads(r.values_json),
                "comment": r.comment} for k, r in latest.items()}
