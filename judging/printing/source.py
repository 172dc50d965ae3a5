"""Which results the printed papers come from: the final results (最终结果) of the edition's deciding
round, i.e. the latest snapshot with status "final" of the enabled round of kind "final" (or, in an
edition judged in one preliminary round only, of that round)."""
from __future__ import annotations

from sqlalchemy import select

from judging.contests.models import Edition, Round
from judging.extensions import db
from judging.results.models import ResultSnapshot


class PrintingError(ValueError):
    """A refused print job; the message is shown to the organizer as is."""


def deciding_round(edition: Edition) -> Round | None:
    judged = [r for r in edition.rounds if r.enabled and r.kind in ("preliminary", "final")]
    finals = [r for r in judged if r.kind == "final"]
    pool = finals or judged
    return max(pool, key=lambda r: r.position) if pool else None


def final_snapshot(edition: Edition, required: bool = True) -> ResultSnapshot | None:
    """The final results that certificates and reward sheets are printed from."""
    rnd = deciding_round(edition)
    snapshot = None
    if rnd is not None:
        snapshot = db.session.scalar(select(ResultSnapshot).where(
            ResultSnapshot.round_id == rnd.id, ResultSnapshot.status == "final")
            .order_by(ResultSnapshot.id.desc()).limit(1))
        if snapshot is None:  # one-round editions: a final 初评 decides
            snapshot = db.session.scalar(select(ResultSnapshot).join(Round).where(
                ResultSnapshot.edition_id == edition.id, ResultSnapshot.status == "final")
                .order_by(Round.position.desc(), ResultSnapshot.id.desc()).limit(1))
    if snapshot is None and required:
        raise PrintingError("本届成绩尚未确定为最终结果（公示期满后在“成绩与公示”页确定），不能打印证书和奖励表。")
    return snapshot
