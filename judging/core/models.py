"""Shared kernel models: users with roles, schools, the audit log and login throttling."""
from __future__ import annotations

import enum
from datetime import datetime, timezone

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from judging.core.i18n import N_
from judging.extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Role(str, enum.Enum):
    ORGANIZER = "organizer"
    COORDINATOR = "coordinator"
    JUDGE = "judge"


ROLE_LABELS = {Role.ORGANIZER.value: N_("组委会"), Role.COORDINATOR.value: N_("学校管理员"), Role.JUDGE.value: N_("评委")}


class School(db.Model):
    """A school. Schools outlive editions; a 村小 may hang under its 中心校 (parent)."""

    __tablename__ = "school"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    cluster: Mapped[str | None] = mapped_column(String(60))  # 片区
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="RESTRICT"))
    parent: Mapped["School | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["School"]] = relationship(back_populates="parent", order_by="School.name")

    def __repr__(self) -> str:
        return f"<School {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('organizer', 'coordinator', 'judge')", name="role_known"),
        CheckConstraint("role <> 'coordinator' OR school_id IS NOT NULL", name="coordinator_has_school"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(20))
    # Coordinator: the one school he manages. Judge: his affiliation, used for recusal (回避).
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="RESTRICT"), index=True)
    affiliation: Mapped[str | None] = mapped_column(String(120))  # a judge's unit when not a listed school
    phone: Mapped[str | None] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Bumped when the password changes: sessions carrying an older value are logged out.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    school: Mapped[School | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def has_role(self, *roles: Role | str) -> bool:
        wanted = {r.value if isinstance(r, Role) else r for r in roles}
        return self.role in wanted

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class AuditEvent(db.Model):
    """Append-only log: who did what, when, with the state before and after.

    No code path updates or deletes a row; the ORM refuses it (below) and the migration adds
    database triggers that refuse it too.
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    username: Mapped[str | None] = mapped_column(String(60))
    edition_id: Mapped[int | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    summary: Mapped[str | None] = mapped_column(String(255))
    before: Mapped[str | None] = mapped_column(Text)  # JSON
    after: Mapped[str | None] = mapped_column(Text)  # JSON
    remote_addr: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User | None] = relationship()


class AppendOnlyError(RuntimeError):
    """An update or delete of a row in an append-only table (the audit log, score history)."""


AuditImmutableError = AppendOnlyError


def append_only(model):
    """Refuse updates and deletes of the model's rows in the ORM (migrations add database triggers too)."""

    def refuse(mapper, connection, target):
        raise AppendOnlyError(f"{model.__tablename__} is append-only")

    event.listen(model, "before_update", refuse)
    event.listen(model, "before_delete", refuse)
    return model


append_only(AuditEvent)


class LoginFailure(db.Model):
    """One failed login, keyed on username and address; shared by every server process."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_key_at", "throttle_key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    throttle_key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SiteSetting(db.Model):
    """Installation-wide key/value flags (e.g. that the demo contest was loaded)."""

    __tablename__ = "site_setting"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
