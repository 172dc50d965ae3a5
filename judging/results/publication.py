"""Publication of results: draft -> 公示 (notice) -> final, objections during 公示, corrections.

- A draft is the organizer's alone. Publishing makes it public: the public page lists it with the
  notice period and how to object. Only the latest computation of a locked round can be published,
  and only after the organizer confirmed the entries left out for too few judges (rule 4).
- A correction (computing again after publication needs a reason, see operations.compute_results)
  is published the same way; the earlier public snapshot becomes "superseded" and stays on record.
- Objections received during 公示 are recorded by the organizer with their outcome; results become
  final once the notice period is over and no objection is pending.
Every step writes the audit log.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from judging.contests.models import Edition, Round
from judging.core import audit
from judging.core.models import User, utcnow
from judging.extensions import db
from judging.registration.models import Entry
from judging.results.models import OBJECTION_STATUSES, Objection, ResultSnapshot
from judging.results.operations import ResultsError, latest_snapshot

PUBLIC_STATUSES = ("notice", "final")


def too_few_codes(snapshot: ResultSnapshot) -> list[str]:
    """Codes of the entries left out for too few judges' scores (rule 4)."""
    ids = sorted({eid for flag in json.loads(snapshot.flags_json or "[]") if flag.get("kind") == "too_few_judges"
                  for eid in flag.get("entry_ids", [])})
    if not ids:
        return []
    return list(db.session.scalars(select(Entry.code).where(Entry.id.in_(ids)).order_by(Entry.code)))


def confirm_missing(snapshot: ResultSnapshot, user: User) -> None:
    """The organizer confirms that the entries with too few scores stay unranked in this snapshot."""
    codes = too_few_codes(snapshot)
    if not codes or snapshot.missing_confirmed_at is not None:
        return
    snapshot.missing_confirmed_at = utcnow()
    snapshot.missing_confirmed_by_id = user.id
    audit.record("results_missing_confirmed", snapshot, edition_id=snapshot.edition_id, user=user,
                 after={"entries": codes},
                 summary=f"确认{len(codes)}件评分不足的作品不参加排名：{'、'.join(codes)}")


def publication_blockers(snapshot: ResultSnapshot) -> list[str]:
    """Why this snapshot cannot be published now (empty: it can)."""
    problems = []
    if snapshot.status != "draft":
        problems.append(f"这次计算结果的状态是“{snapshot.status_label}”，只有草稿可以发布。")
    latest = latest_snapshot(snapshot.round)
    if latest is not None and latest.id != snapshot.id:
        problems.append("之后又计算过一次，请发布最新的计算结果。")
    if not snapshot.round.locked:
        problems.append(f"请先在评审进度页锁定{snapshot.round.name}评分，公示期间分数不能再变。")
    codes = too_few_codes(snapshot)
    if codes and snapshot.missing_confirmed_at is None:
        problems.append(f"有{len(codes)}件作品评分不足未参加排名（{'、'.join(codes)}），请先核实并确认。")
    return problems


@dataclass
class NoticeForm:
    starts: date
    ends: date | None  # None: starts + the edition's notice_days - 1
    contact: str  # how to object: office, phone, e-mail, address


def publish(snapshot: ResultSnapshot, notice: NoticeForm, user: User) -> ResultSnapshot:
    """Draft -> 公示. The round's earlier public snapshot, if any, becomes superseded."""
    problems = publication_blockers(snapshot)
    if problems:
        raise ResultsError(problems[0])
    contact = (notice.contact or "").strip()
    if not contact:
        raise ResultsError("请填写异议受理方式（受理单位、电话或邮箱），公示页会写明。")
    edition = snapshot.edition
    ends = notice.ends or notice.starts + timedelta(days=max(edition.notice_days, 1) - 1)
    if ends < notice.starts:
        raise ResultsError("公示结束日期不能早于开始日期。")
    previous = db.session.scalars(select(ResultSnapshot).where(
        ResultSnapshot.round_id == snapshot.round_id, ResultSnapshot.status.in_(PUBLIC_STATUSES))).all()
    for old in previous:
        audit.record("results_superseded", old, edition_id=old.edition_id, user=user,
                     before={"status": old.status}, after={"status": "superseded", "by": snapshot.id},
                     summary=f"{old.round.name}第{old.id}号结果被更正后的结果取代")
        old.status = "superseded"
    snapshot.status = "notice"
    snapshot.published_at = utcnow()
    snapshot.published_by_id = user.id
    snapshot.notice_starts = notice.starts
    snapshot.notice_ends = ends
    snapshot.objection_contact = contact
    db.session.flush()
    audit.record("results_published", snapshot, edition_id=snapshot.edition_id, user=user,
                 before={"status": "draft"},
                 after={"status": "notice", "notice_starts": notice.starts.isoformat(),
                        "notice_ends": ends.isoformat(), "contact": contact,
                        "replaces": [s.id for s in previous], "reason": snapshot.change_reason},
                 summary=f"{snapshot.round.name}结果公示：{notice.starts.isoformat()}至{ends.isoformat()}"
                         + (f"（更正：{snapshot.change_reason}）" if previous else ""))
    return snapshot


def pending_objections(snapshot: ResultSnapshot) -> int:
    return db.session.scalar(select(func.count()).select_from(Objection).where(
        Objection.round_id == snapshot.round_id, Objection.status == "pending")) or 0


def finalize_blockers(snapshot: ResultSnapshot, today: date) -> list[str]:
    problems = []
    if snapshot.status != "notice":
        problems.append("只有公示中的结果可以确定为最终结果。")
        return problems
    if snapshot.notice_ends is not None and today <= snapshot.notice_ends:
        problems.append(f"公示期到{snapshot.notice_ends.isoformat()}结束，公示期满后才能确定最终结果。")
    pending = pending_objections(snapshot)
    if pending:
        problems.append(f"还有{pending}件异议待处理。")
    return problems


def finalize(snapshot: ResultSnapshot, user: User, today: date | None = None) -> None:
    """公示 -> final, once the notice period is over and every objection has an outcome."""
    problems = finalize_blockers(snapshot, today or date.today())
    if problems:
        raise ResultsError(problems[0])
    snapshot.status = "final"
    snapshot.finalized_at = utcnow()
    snapshot.finalized_by_id = user.id
    audit.record("results_finalized", snapshot, edition_id=snapshot.edition_id, user=user,
                 before={"status": "notice"}, after={"status": "final"},
                 summary=f"{snapshot.round.name}结果公示期满，确定为最终结果")


# --- Objections (异议) ------------------------------------------------------------------------------

@dataclass
class ObjectionInput:
    received_on: date
    raised_by: str
    contact: str | None
    content: str
    entry_code: str | None = None


def record_objection(snapshot: ResultSnapshot, data: ObjectionInput, user: User) -> Objection:
    if snapshot.status != "notice":
        raise ResultsError("只能对公示中的结果登记异议。")
    raised_by = (data.raised_by or "").strip()
    content = (data.content or "").strip()
    if not raised_by:
        raise ResultsError("请填写异议人（姓名或单位）。")
    if not content:
        raise ResultsError("请填写异议内容。")
    entry = None
    code = (data.entry_code or "").strip()
    if code:
        entry = db.session.scalar(select(Entry).where(Entry.edition_id == snapshot.edition_id,
                                                      func.upper(Entry.code) == code.upper()))
        if entry is None:
            raise ResultsError(f"作品编号“{code}”不存在。")
    objection = Objection(edition_id=snapshot.edition_id, round_id=snapshot.round_id, snapshot_id=snapshot.id,
                          entry_id=entry.id if entry else None, received_on=data.received_on,
                          raised_by=raised_by[:120], contact=(data.contact or "").strip()[:120] or None,
                          content=content, status="pending", recorded_by_id=user.id)
    db.session.add(objection)
    db.session.flush()
    # The log keeps what happened, not who objected (that stays on the objection, organizer-only).
    audit.record("objection_recorded", objection, edition_id=snapshot.edition_id, user=user,
                 after={"entry": entry.code if entry else None, "received_on": data.received_on.isoformat()},
                 summary=f"登记异议" + (f"（作品{entry.code}）" if entry else ""))
    return objection


def resolve_objection(objection: Objection, status: str, outcome: str, user: User) -> None:
    if status not in OBJECTION_STATUSES or status == "pending":
        raise ResultsError("请选择处理结果。")
    outcome = (outcome or "").strip()
    if not outcome:
        raise ResultsError("请写明处理意见。")
    before = {"status": objection.status, "outcome": objection.outcome}
    objection.status = status
    objection.outcome = outcome
    objection.handled_by_id = user.id
    objection.handled_at = utcnow()
    audit.record("objection_resolved", objection, edition_id=objection.edition_id, user=user, before=before,
                 after={"status": status, "outcome": outcome},
                 summary=f"异议处理：{OBJECTION_STATUSES[status]}")


def round_objections(rnd: Round) -> list[Objection]:
    return list(db.session.scalars(select(Objection).where(Objection.round_id == rnd.id)
                                   .order_by(Objection.received_on.desc(), Objection.id.desc())))


# --- What the public sees ---------------------------------------------------------------------------

def public_snapshots(edition: Edition | None = None) -> list[ResultSnapshot]:
    """Every snapshot on public show (公示 or final), newest edition first."""
    query = select(ResultSnapshot).where(ResultSnapshot.status.in_(PUBLIC_STATUSES))
    if edition is not None:
        query = query.where(ResultSnapshot.edition_id == edition.id)
    return list(db.session.scalars(query.order_by(ResultSnapshot.edition_id.desc(), ResultSnapshot.round_id,
                                                  ResultSnapshot.id.desc())))


def successor(snapshot: ResultSnapshot) -> ResultSnapshot | None:
    """For a superseded snapshot: the public one that replaced it."""
    if snapshot.status != "superseded":
        return None
    return db.session.scalar(select(ResultSnapshot).where(
        ResultSnapshot.round_id == snapshot.round_id, ResultSnapshot.status.in_(PUBLIC_STATUSES),
        ResultSnapshot.id > snapshot.id).order_by(ResultSnapshot.id.desc()).limit(1))
