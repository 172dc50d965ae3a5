"""The JSON API of the judges' tablets. Blind: no answer names a student, school or instructor.

POST /api/v1/scores   {"idempotency_key", "round_id", "entry_id", "values": {criterion_id: points},
                       "comment", "status": "draft"|"submitted", "base_version"}
    201/200 {"ok": true, "replayed": bool, "score": {...}}
    409 stale / already_submitted / disqualified (with "current"), 422 invalid / key_reused,
    423 locked, 404 not_assigned; 401/403 as JSON. The CSRF token goes in the X-CSRFToken header.
GET  /api/v1/queue    the judge's assignments in open rounds with his current scores.
"""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from judging.contests.models import Round
from judging.core.permissions import JUDGE, api_roles_required
from judging.extensions import db
from judging.registration.models import Entry
from judging.scoring.blueprint import bp
from judging.scoring.models import Assignment, Score
from judging.scoring.operations import Submission, score_body, submit_score


def blind_entry(entry: Entry) -> dict:
    """What a judge may know of an entry: never students, school or instructors."""
    return {"id": entry.id, "code": entry.code, "title": entry.title, "category": entry.category.name,
            "subform": entry.subform or "", "division": entry.division.name,
            "description": entry.description or "", "video_url": entry.video_url or "",
            "attachments": [{"id": a.id, "kind": a.kind} for a in entry.attachments]}


def judge_queue(judge_id: int) -> list[dict]:
    """The judge's assignments in rounds that are enabled, with his current scores; two queries."""
    assignments = db.session.scalars(
        select(Assignment).join(Round, Round.id == Assignment.round_id)
        .where(Assignment.judge_id == judge_id, Round.enabled.is_(True))
        .options(selectinload(Assignment.entry).selectinload(Entry.attachments),
                 selectinload(Assignment.entry).selectinload(Entry.category),
                 selectinload(Assignment.entry).selectinload(Entry.division))
        .order_by(Assignment.round_id, Assignment.entry_id)).all()
    scores = {(s.round_id, s.entry_id): s for s in db.session.scalars(
        select(Score).where(Score.judge_id == judge_id).options(selectinload(Score.values)))}
    rounds = {r.id: r for r in db.session.scalars(
        select(Round).where(Round.id.in_({a.round_id for a in assignments})))}
    queue = []
    for a in assignments:
        if a.entry.status == "disqualified":
            continue
        rnd = rounds[a.round_id]
        queue.append({"round_id": rnd.id, "round": rnd.name, "locked": rnd.locked, "entry": blind_entry(a.entry),
                      "criteria": [{"id": c.id, "name": c.name, "max": format(c.max_points, "f"),
                                    "descriptor": c.descriptor or ""} for c in a.entry.category.criteria],
                      "score": score_body(scores.get((rnd.id, a.entry_id)))})
    return queue


@bp.route("/api/v1/queue")
@api_roles_required(JUDGE)
def api_queue():
    return jsonify(ok=True, judge=current_user.display_name, queue=judge_queue(current_user.id))


@bp.route("/api/v1/scores", methods=["POST"])
@api_roles_required(JUDGE)
def api_submit_score():
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(ok=False, error="invalid", message="请求内容不是有效的 JSON"), 400
    try:
        sub = Submission(
            idempotency_key=str(payload.get("idempotency_key") or ""),
            round_id=int(payload.get("round_id")), entry_id=int(payload.get("entry_id")),
            values=dict(payload.get("values") or {}), status=str(payload.get("status") or "submitted"),
            comment=payload.get("comment") if isinstance(payload.get("comment"), str) else None,
            base_version=int(payload.get("base_version") or 0))
    except (TypeError, ValueError):
        return jsonify(ok=False, error="invalid", message="请求缺少作品、轮次或版本信息"), 422
    status, body = submit_score(current_user._get_current_object(), sub)
    if status < 300:
        db.session.commit()
    else:
        db.session.rollback()
    return jsonify(body), status
