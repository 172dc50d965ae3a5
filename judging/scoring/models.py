"""Judge panels, assignments, declared conflicts (回避), current scores and their append-only history."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from judging.contests.models import Category, Division, Round
from judging.core.models import School, User, append_only, utcnow
from judging.extensions import db
from judging.registration.models import Entry


class Panel(db.Model):
    """The judges of one pool (category x division) in one round."""

    __tablename__ = "panel"
    __table_args__ = (UniqueConstraint("round_id", "category_id", "division_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id", ondelete="RESTRICT"))
    division_id: Mapped[int] = mapped_column(ForeignKey("division.id", ondelete="RESTRICT"))
    # Judges per entry; None = the default (the whole panel when it has at most 7 judges, else 5).
    judges_per_entry: Mapped[int | None]
    seed: Mapped[int] = mapped_column(default=1)  # the assignment's random seed, so a run can be repeated

    round: Mapped[Round] = relationship()
    category: Mapped[Category] = relationship()
    division: Mapped[Division] = relationship()
    members: Mapped[list["PanelJudge"]] = relationship(back_populates="panel", cascade="all, delete-orphan",
                                                        order_by="PanelJudge.id")

    @property
    def name(self) -> str:
        return f"{self.category.name}·{self.division.name}·{self.round.name}"


class PanelJudge(db.Model):
    __tablename__ = "panel_judge"
    __table_args__ = (UniqueConstraint("panel_id", "judge_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panel.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(default=True)  # False: ill or withdrawn, gets no new work

    panel: Mapped[Panel] = relationship(back_populates="members")
    judge: Mapped[User] = relationship()


class Conflict(db.Model):
    """A declared conflict (回避): the judge never scores this entry, or any entry of this school."""

    __tablename__ = "judge_conflict"
    __table_args__ = (CheckConstraint("entry_id IS NOT NULL OR school_id IS NOT NULL", name="has_target"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    judge: Mapped[User] = relationship()
    entry: Mapped[Entry | None] = relationship()
    school: Mapped[School | None] = relationship()


class Assignment(db.Model):
    """A judge is to score an entry in a round."""

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("round_id", "entry_id", "judge_id"),
        Index("ix_assignment_judge_round", "judge_id", "round_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    panel_id: Mapped[int] = mapped_column(ForeignKey("panel.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[Entry] = relationship()
    judge: Mapped[User] = relationship()
    panel: Mapped[Panel] = relationship()


class Score(db.Model):
    """The current score of one judge for one entry in one round (one row, enforced by the database)."""

    __tablename__ = "score"
    __table_args__ = (
        UniqueConstraint("round_id", "entry_id", "judge_id"),
        CheckConstraint("status IN ('draft', 'submitted')", name="status_known"),
        Index("ix_score_round", "round_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    total: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    comment: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    source: Mapped[str] = mapped_column(String(10), default="tablet")  # tablet, paper
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]

    values: Mapped[list["CriterionScore"]] = relationship(back_populates="score", cascade="all, delete-orphan")
    judge: Mapped[User] = relationship()
    entry: Mapped[Entry] = relationship()


class CriterionScore(db.Model):
    __tablename__ = "criterion_score"
    __table_args__ = (UniqueConstraint("score_id", "criterion_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("score.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id", ondelete="RESTRICT"))
    points: Mapped[Decimal] = mapped_column(Numeric(5, 1))

    score: Mapped[Score] = relationship(back_populates="values")


class ScoreHistory(db.Model):
    """Every accepted write of a score, in order; append-only (ORM guard and database triggers).

    The idempotency key of the submission is unique here, so a resent outbox item finds its answer.
    """

    __tablename__ = "score_history"
    # One history row per version of a score: two writers that both edited version n cannot both
    # write n+1 (the loser's transaction fails and is answered as stale).
    __table_args__ = (UniqueConstraint("round_id", "entry_id", "judge_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    payload_hash: Mapped[str] = mapped_column(String(64))
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="RESTRICT"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="RESTRICT"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))
    values_json: Mapped[str] = mapped_column(Text)  # {"criterion_id": "12.5", ...}
    total: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    comment: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10))
    written_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


append_only(ScoreHistory)


class Advancement(db.Model):
    """An entry advanced (晋级) into a later round, e.g. from 初评 to 终评.

    Written by the results stage when the organizer advances the top N or x% of each pool; read by
    the assignment and by the computation of that round, which then take only the advanced entries.
    """

    __tablename__ = "advancement"
    __table_args__ = (UniqueConstraint("round_id", "entry_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))  # the round entered
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    from_round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[Entry] = relationship()
