"""Computed results: one snapshot per computation of a round, one row per entry of the round.

A snapshot is never edited by a recomputation: computing again writes a new snapshot, so what
was shown (公示) and what was published stay on record with the settings they were computed with.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from judging.contests.models import Edition, Round
from judging.core.i18n import N_
from judging.core.models import User, utcnow
from judging.extensions import db
from judging.registration.models import Entry

SNAPSHOT_STATUSES = {"draft": N_("草稿"), "notice": N_("公示中"), "final": N_("最终结果"),
                     "superseded": N_("已被更正")}
OBJECTION_STATUSES = {"pending": N_("待处理"), "upheld": N_("异议成立"), "rejected": N_("异议不成立"),
                      "withdrawn": N_("已撤回")}


class ResultSnapshot(db.Model):
    """One computation of a round's results, with the settings it used and the pool-level flags."""

    __tablename__ = "result_snapshot"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'notice', 'final', 'superseded')", name="status_known"),
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
    # Why this computation replaces results that were already published (required then, logged).
    change_reason: Mapped[str | None] = mapped_column(Text)
    # The organizer confirmed that the entries left out for too few judges stay out (rule 4).
    missing_confirmed_at: Mapped[datetime | None]
    missing_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    # 公示: when it went public, the notice period and how to object (shown on the public page).
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    notice_starts: Mapped[date | None]
    notice_ends: Mapped[date | None]
    objection_contact: Mapped[str | None] = mapped_column(Text)
    finalized_at: Mapped[datetime | None]
    finalized_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))

    edition: Mapped[Edition] = relationship()
    round: Mapped[Round] = relationship()
    computed_by: Mapped[User | None] = relationship(foreign_keys=[computed_by_id])
    rows: Mapped[list["EntryResultRow"]] = relationship(
        back_populates="snapshot", cascade="all, delete-orphan", passive_deletes=True,
        order_by="EntryResultRow.entry_id")

    @property
    def status_label(self) -> str:
        return SNAPSHOT_STATUSES.get(self.status, self.status)

    @property
    def is_public(self) -> bool:
        """公示 or final: the public may see it (a superseded one stays on record, not on show)."""
        return self.status in ("notice", "final")


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


class PrizeOverride(db.Model):
    """An organizer's decision on one entry's prize in a round, with the written reason (rule 6).

    Kept per round, not per snapshot, so every later computation applies it again; level_position None
    means "no prize". Removing an override is logged like setting one.
    """

    __tablename__ = "prize_override"
    __table_args__ = (UniqueConstraint("round_id", "entry_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    level_position: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[Entry] = relationship()
    created_by: Mapped[User | None] = relationship()


class Objection(db.Model):
    """An objection (异议) received during 公示, recorded by the organizer with its outcome.

    Who raised it and how to reach him are private: they never leave the organizer's pages.
    """

    __tablename__ = "objection"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'upheld', 'rejected', 'withdrawn')", name="status_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("result_snapshot.id", ondelete="SET NULL"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="SET NULL"))
    received_on: Mapped[date]
    raised_by: Mapped[str] = mapped_column(String(120))  # name and unit (private)
    contact: Mapped[str | None] = mapped_column(String(120))  # phone or e-mail (private)
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    outcome: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    handled_at: Mapped[datetime | None]

    entry: Mapped[Entry | None] = relationship()

    @property
    def status_label(self) -> str:
        return OBJECTION_STATUSES.get(self.status, self.status)
