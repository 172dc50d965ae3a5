"""Computed results: one snapshot per computation of a round, one row per entry of the round.

A snapshot is never edited by a recomputation: computing again writes a new snapshot, so what
was shown (公示) and what was published stay on record with the settings they were computed with.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from judging.contests.models import Edition, Round
from judging.core.i18n import N_
from judging.core.models import User, utcnow
from judging.extensions import db
from judging.registration.models import Entry

SNAPSHOT_STATUSES = {"draft": N_("草稿"), "notice": N_("公示"), "final": N_("最终结果")}


class ResultSnapshot(db.Model):
    """One computation of a round's results, with the settings it used and the pool-level flags."""

    __tablename__ = "result_snapshot"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'notice', 'final')", name="status_known"),
        Index("ix_result_snapshot_edition_round", "edition_id", "round_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"))
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    computed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    # {"scoring_method", "trim_min_judges", "min_judges", "pools": {"<category_id>-<division_id>": {...}}}
    settings_json: Mapped[str] = mapped_column(Text)
    # Pool-level flags for the organizer: [{"category_id", "division_id", "kind", "entry_ids", "levels",
    # "message"}], kinds as engine.Flag (too_few_judges, tie_across_boundary, tie_last_boundary, ...).
    flags_json: Mapped[str] = mapped_column(Text, default="[]")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    note: Mapped[str | None] = mapped_column(Text)

    edition: Mapped[Edition] = relationship()
    round: Mapped[Round] = relationship()
    computed_by: Mapped[User | None] = relationship()
    rows: Mapped[list["EntryResultRow"]] = relationship(
        back_populates="snapshot", cascade="all, delete-orphan", passive_deletes=True,
        order_by="EntryResultRow.entry_id")

    @property
    def status_label(self) -> str:
        return SNAPSHOT_STATUSES.get(self.status, self.status)


class EntryResultRow(db.Model):
    """One entry's outcome in a snapshot. final/rank/level are None for entries not ranked."""

    __tablename__ = "entry_result"
    __table_args__ = (UniqueConstraint("snapshot_id", "entry_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("result_snapshot.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    final: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    rank: Mapped[int | None]
    level_position: Mapped[int | None]  # the prize (PrizeLevel.position), after any override
    quota_level: Mapped[int | None]  # the prize by quota and minimum score, before any override
    overridden: Mapped[bool] = mapped_column(default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)
    flags_json: Mapped[str] = mapped_column(Text, default="[]")  # ["too_few_judges", "not_rankable", ...]

    snapshot: Mapped[ResultSnapshot] = relationship(back_populates="rows")
    entry: Mapped[Entry] = relationship()
