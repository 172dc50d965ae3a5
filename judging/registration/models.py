"""Entries (作品) registered by schools: students, instructors, attachments, review and check-in."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from judging.contests.models import Category, Division, Edition
from judging.core.i18n import N_
from judging.core.models import School, User, utcnow
from judging.extensions import db

ENTRY_STATUSES = {
    "submitted": N_("待审核"),
    "approved": N_("已通过"),
    "returned": N_("退回修改"),
    "disqualified": N_("取消资格"),
}
GENDERS = ("男", "女")


class Entry(db.Model):
    __tablename__ = "entry"
    __table_args__ = (
        UniqueConstraint("edition_id", "code"),
        UniqueConstraint("edition_id", "category_id", "division_id", "sequence"),
        CheckConstraint("status IN ('submitted', 'approved', 'returned', 'disqualified')", name="status_known"),
        Index("ix_entry_edition_school", "edition_id", "school_id"),
        Index("ix_entry_edition_pool", "edition_id", "category_id", "division_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="RESTRICT"))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id", ondelete="RESTRICT"))
    division_id: Mapped[int] = mapped_column(ForeignKey("division.id", ondelete="RESTRICT"))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="RESTRICT"))
    # 作品编号: stable and unique in the edition, from the edition's pattern and the pool's sequence.
    code: Mapped[str] = mapped_column(String(40))
    sequence: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    subform: Mapped[str | None] = mapped_column(String(40))  # e.g. 科幻画: 卡通画
    description: Mapped[str | None] = mapped_column(Text)  # 附上说明
    video_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    review_remark: Mapped[str | None] = mapped_column(Text)  # organizer's remark or disqualification reason
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    reviewed_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]  # 签收 of the physical work on the judging day
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    edition: Mapped[Edition] = relationship()
    category: Mapped[Category] = relationship()
    division: Mapped[Division] = relationship()
    school: Mapped[School] = relationship()
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    checked_in_by: Mapped[User | None] = relationship(foreign_keys=[checked_in_by_id])
    students: Mapped[list["EntryStudent"]] = relationship(
        back_populates="entry", order_by="EntryStudent.position", cascade="all, delete-orphan")
    instructors: Mapped[list["EntryInstructor"]] = relationship(
        back_populates="entry", order_by="EntryInstructor.position", cascade="all, delete-orphan")
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="entry", order_by="Attachment.id", cascade="all, delete-orphan")

    @property
    def status_label(self) -> str:
        return ENTRY_STATUSES.get(self.status, self.status)

    @property
    def student_names(self) -> str:
        return "、".join(s.name for s in self.students)

    @property
    def instructor_names(self) -> str:
        return "、".join(i.name for i in self.instructors)

    @property
    def first_author(self) -> "EntryStudent | None":
        return self.students[0] if self.students else None


class EntryStudent(db.Model):
    """A student of an entry; position 1 is the 第一作者 of a team work."""

    __tablename__ = "entry_student"
    __table_args__ = (
        UniqueConstraint("entry_id", "position"),
        CheckConstraint("gender IS NULL OR gender IN ('男', '女')", name="gender_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(40))
    gender: Mapped[str | None] = mapped_column(String(2))
    grade: Mapped[str] = mapped_column(String(20))  # 年级, normalised: 一年级 ... 六年级, 七年级 (初一) ...
    class_name: Mapped[str] = mapped_column(String(20))  # 班级, normalised: 3班

    entry: Mapped[Entry] = relationship(back_populates="students")


class EntryInstructor(db.Model):
    """A 指导教师; one person per name and school (DOMAIN)."""

    __tablename__ = "entry_instructor"
    __table_args__ = (UniqueConstraint("entry_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(40))

    entry: Mapped[Entry] = relationship(back_populates="instructors")


class Attachment(db.Model):
    """An uploaded file (photo or PDF), stored outside static/ under a random name."""

    __tablename__ = "attachment"
    __table_args__ = (CheckConstraint("kind IN ('image', 'pdf')", name="kind_known"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[Entry] = relationship(back_populates="attachments")
