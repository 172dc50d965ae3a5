"""Issued certificates (证书) with their stable numbers, background print jobs and the public
verification page's rate limit.

A certificate row is created once per subject (who it is for) and keeps its 证书编号 for good:
printing again finds the same row. When a correction of the final results takes a prize away
or changes it, the row is revoked (revoked_at, revoked_reason) and, if the subject still earns a
certificate, a new row with a new number is issued; the old number stays on record and the
verification page answers "revoked" for it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from judging.contests.models import Edition
from judging.core.i18n import N_
from judging.core.models import School, User, utcnow
from judging.extensions import db
from judging.registration.models import Entry
from judging.results.models import ResultSnapshot

CERTIFICATE_KINDS = {"student": N_("学生获奖证书"), "instructor": N_("优秀指导教师"), "school": N_("优秀组织奖")}
JOB_STATUSES = {"running": N_("生成中"), "done": N_("已完成"), "failed": N_("失败")}
JOB_OUTPUTS = {"pdf": N_("一个 PDF"), "zip": N_("每校一个 PDF（ZIP）")}


class Certificate(db.Model):
    """One issued certificate.

    subject_key says whom it is for, so issuing again finds it (judging/printing/operations.py):
      student     "<entry id>:<student name>"  (one per team, for a team of 2 or 3: "<entry id>")
      instructor  "<entry id>:<instructor name>"  (the text names the work and its prize)
      school      "<school id>"
    Among the certificates not revoked a subject has one (a partial unique index); number_group
    is the number with its 序号 left out, sequence the 序号 counted within that group."""

    __tablename__ = "certificate"
    __table_args__ = (
        CheckConstraint("kind IN ('student', 'instructor', 'school')", name="kind_known"),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        UniqueConstraint("number"),
        UniqueConstraint("number_group", "sequence"),
        Index("ix_certificate_active_subject", "edition_id", "kind", "subject_key", unique=True,
              sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),
        Index("ix_certificate_edition_kind", "edition_id", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    subject_key: Mapped[str] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(120))
    number_group: Mapped[str] = mapped_column(String(160))
    sequence: Mapped[int]
    holder_name: Mapped[str] = mapped_column(String(255))  # as printed (a team: names joined with 、)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="SET NULL"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="SET NULL"), index=True)
    level_position: Mapped[int | None]  # the prize it was issued for (None: 优秀组织奖)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("result_snapshot.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))

    edition: Mapped[Edition] = relationship()
    entry: Mapped[Entry | None] = relationship()
    school: Mapped[School | None] = relationship()
    snapshot: Mapped[ResultSnapshot | None] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def kind_label(self) -> str:
        return CERTIFICATE_KINDS.get(self.kind, self.kind)


class PrintJob(db.Model):
    """A long print run done in the background: the page polls its progress, then downloads.

    token is random and names the output file (UPLOAD_DIR/prints/<token>.pdf|zip); updated_at is
    bumped with the progress, so a job whose worker died is recognised as stale."""

    __tablename__ = "print_job"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'done', 'failed')", name="status_known"),
        CheckConstraint("output IN ('pdf', 'zip')", name="output_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    output: Mapped[str] = mapped_column(String(4), default="pdf")
    school_id: Mapped[int | None]
    category_id: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(255))  # what is printed, e.g. 学生获奖证书 · 城关第一小学
    filename: Mapped[str] = mapped_column(String(255))  # the download's name
    base_url: Mapped[str | None] = mapped_column(String(255))  # for the QR codes' links
    status: Mapped[str] = mapped_column(String(10), default="running")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    @property
    def status_label(self) -> str:
        return JOB_STATUSES.get(self.status, self.status)


class VerifyLookup(db.Model):
    """One lookup on the public verification page, keyed on a hash of the client address, so the
    rate limit holds across every worker process (like core.models.LoginFailure)."""

    __tablename__ = "verify_lookup"
    __table_args__ = (Index("ix_verify_lookup_key_at", "client_key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
