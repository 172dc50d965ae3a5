"""An edition (届) and everything set up for it: categories, rubrics, divisions, rounds,
prize levels, quotas per pool, the instructor reward table and certificate settings."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from judging.core.i18n import N_
from judging.core.models import utcnow
from judging.core.numerals import edition_ordinal
from judging.extensions import db

SCORING_METHODS = {
    "trimmed_mean": N_("去掉最高分和最低分"),
    "mean": N_("平均分"),
    "median": N_("中位数"),
    "zscore": N_("标准分"),
}
REWARD_ACCUMULATION = {"sum": N_("累加"), "max": N_("取最高")}
REWARD_SPLIT = {"equal": N_("合作教师平分"), "full": N_("每位教师全额")}
ROUND_KINDS = {"qualification": N_("资格审查"), "preliminary": N_("初评"), "final": N_("终评")}
QUOTA_MODES = {"count": N_("按名额"), "percent": N_("按比例")}

DEFAULT_ENTRY_CODE_PATTERN = "{类别代码}{组别代码}-{序号:03d}"
DEFAULT_CERTIFICATE_NUMBER_PATTERN = "{年}{大赛代码}-{类别代码}{组别代码}-{等级序}-{序号:04d}"
DEFAULT_STUDENT_TEXT = (
    "{姓名}同学：你的作品《{作品名称}》在{届次}{大赛名称}{类别}（{组别}）中荣获{等级}。特发此证，以资鼓励。"
)
DEFAULT_INSTRUCTOR_TEXT = (
    "{姓名}老师：你指导的{学生}同学的作品《{作品名称}》在{届次}{大赛名称}{类别}（{组别}）中荣获{等级}，"
    "特授予“优秀指导教师”称号。"
)
DEFAULT_SCHOOL_TEXT = "{学校}：在{届次}{大赛名称}中组织得力、成绩突出，荣获“优秀组织奖”。特发此证，以资鼓励。"


class Edition(db.Model):
    __tablename__ = "edition"
    __table_args__ = (
        UniqueConstraint("name", "number"),
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint("notice_days >= 0", name="notice_days_not_negative"),
        CheckConstraint("min_judges >= 1", name="min_judges_positive"),
        CheckConstraint(
            "scoring_method IN ('trimmed_mean', 'mean', 'median', 'zscore')", name="scoring_method_known"
        ),
        CheckConstraint("reward_accumulation IN ('sum', 'max')", name="reward_accumulation_known"),
        CheckConstraint("reward_split IN ('equal', 'full')", name="reward_split_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))  # XX县青少年科技创新大赛
    number: Mapped[int]  # 13 -> 第十三届
    code: Mapped[str] = mapped_column(String(20))  # 大赛代码, used in certificate numbers
    theme: Mapped[str | None] = mapped_column(String(120))
    organizers: Mapped[str | None] = mapped_column(String(255))  # 主办单位
    school_year: Mapped[str | None] = mapped_column(String(20))  # 2026-2027
    registration_opens: Mapped[datetime | None]
    registration_closes: Mapped[datetime | None]
    registration_locked: Mapped[bool] = mapped_column(default=False)
    judging_starts: Mapped[date | None]
    judging_ends: Mapped[date | None]
    notice_days: Mapped[int] = mapped_column(default=7)  # 公示天数
    # Registration rules
    # Per class and category; None = no cap. No column default: an explicit None must stay None
    # (new editions get 3 from the form, as in the seed contest).
    max_entries_per_class: Mapped[int | None]
    max_entries_per_school: Mapped[int | None]  # per school and category
    entry_code_pattern: Mapped[str] = mapped_column(String(80), default=DEFAULT_ENTRY_CODE_PATTERN)
    # How the numbers are computed (shared/DOMAIN.md)
    scoring_method: Mapped[str] = mapped_column(String(20), default="trimmed_mean")
    trim_min_judges: Mapped[int] = mapped_column(default=5)
    min_judges: Mapped[int] = mapped_column(default=3)
    reward_split: Mapped[str] = mapped_column(String(10), default="equal")
    reward_accumulation: Mapped[str] = mapped_column(String(10), default="sum")
    org_award_enabled: Mapped[bool] = mapped_column(default=False)  # 优秀组织奖
    org_award_min_entries: Mapped[int] = mapped_column(default=5)
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("edition.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    categories: Mapped[list["Category"]] = relationship(
        back_populates="edition", order_by="Category.position", cascade="all, delete-orphan"
    )
    divisions: Mapped[list["Division"]] = relationship(
        back_populates="edition", order_by="Division.position", cascade="all, delete-orphan"
    )
    rounds: Mapped[list["Round"]] = relationship(
        back_populates="edition", order_by="Round.position", cascade="all, delete-orphan"
    )
    prize_levels: Mapped[list["PrizeLevel"]] = relationship(
        back_populates="edition", order_by="PrizeLevel.position", cascade="all, delete-orphan"
    )
    pool_rules: Mapped[list["PoolRule"]] = relationship(back_populates="edition", cascade="all, delete-orphan")
    certificate_settings: Mapped["CertificateSettings | None"] = relationship(
        back_populates="edition", cascade="all, delete-orphan", uselist=False
    )

    @property
    def title(self) -> str:
        """第十三届XX县青少年科技创新大赛"""
        return f"{self.ordinal}{self.name}"

    @property
    def ordinal(self) -> str:
        return edition_ordinal(self.number)

    def __repr__(self) -> str:
        return f"<Edition {self.title}>"


class Category(db.Model):
    __tablename__ = "category"
    __table_args__ = (
        UniqueConstraint("edition_id", "code"),
        UniqueConstraint("edition_id", "name"),
        CheckConstraint("max_students >= 1", name="max_students_positive"),
        CheckConstraint("max_instructors >= 0", name="max_instructors_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(40))
    subforms: Mapped[str | None] = mapped_column(String(200))  # 卡通画、素描画、国画
    max_students: Mapped[int] = mapped_column(default=3)
    max_instructors: Mapped[int] = mapped_column(default=2)
    position: Mapped[int] = mapped_column(default=0)

    edition: Mapped[Edition] = relationship(back_populates="categories")
    criteria: Mapped[list["Criterion"]] = relationship(
        back_populates="category", order_by="Criterion.position", cascade="all, delete-orphan"
    )

    @property
    def subform_list(self) -> list[str]:
        from judging.core.text import split_list

        return split_list(self.subforms or "")

    @property
    def rubric_total(self) -> Decimal:
        return sum((c.max_points for c in self.criteria), Decimal("0"))


class Criterion(db.Model):
    """One line of a category's rubric (评分标准). The first one breaks ties."""

    __tablename__ = "criterion"
    __table_args__ = (
        UniqueConstraint("category_id", "name"),
        CheckConstraint("max_points > 0", name="max_points_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(40))
    max_points: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    descriptor: Mapped[str | None] = mapped_column(Text)

    category: Mapped[Category] = relationship(back_populates="criteria")


class Division(db.Model):
    __tablename__ = "division"
    __table_args__ = (UniqueConstraint("edition_id", "code"), UniqueConstraint("edition_id", "name"))
    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)

    edition: Mapped[Edition] = relationship(back_populates="divisions")


class Round(db.Model):
    """资格审查 -> 初评 -> 终评."""

    __tablename__ = "round"
    __table_args__ = (
        UniqueConstraint("edition_id", "kind"),
        CheckConstraint("kind IN ('qualification', 'preliminary', 'final')", name="kind_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    locked: Mapped[bool] = mapped_column(default=False)

    edition: Mapped[Edition] = relationship(back_populates="rounds")


class PrizeLevel(db.Model):
    """一等奖 (position 1), 二等奖 (2), ..."""

    __tablename__ = "prize_level"
    __table_args__ = (UniqueConstraint("edition_id", "position"), UniqueConstraint("edition_id", "name"))
    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(20))
    # Instructor reward per winning entry at this level (辅导教师奖励)
    reward_amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    reward_points: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("0"))
    # Does an instructor of an entry at this level get an 优秀指导教师 certificate?
    instructor_certificate: Mapped[bool] = mapped_column(default=True)
    # Points towards 优秀组织奖 per winning entry at this level
    org_points: Mapped[int] = mapped_column(default=0)

    edition: Mapped[Edition] = relationship(back_populates="prize_levels")


class PoolRule(db.Model):
    """Quota settings of one pool (category x division): count or percentage, optional minimum score."""

    __tablename__ = "pool_rule"
    __table_args__ = (
        UniqueConstraint("edition_id", "category_id", "division_id"),
        CheckConstraint("quota_mode IN ('count', 'percent')", name="quota_mode_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id", ondelete="CASCADE"))
    division_id: Mapped[int] = mapped_column(ForeignKey("division.id", ondelete="CASCADE"))
    quota_mode: Mapped[str] = mapped_column(String(10), default="count")
    min_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))

    edition: Mapped[Edition] = relationship(back_populates="pool_rules")
    category: Mapped[Category] = relationship()
    division: Mapped[Division] = relationship()
    quotas: Mapped[list["Quota"]] = relationship(back_populates="pool_rule", cascade="all, delete-orphan")

    def quota_for(self, level: PrizeLevel) -> "Quota | None":
        return next((q for q in self.quotas if q.prize_level_id == level.id), None)


class Quota(db.Model):
    __tablename__ = "quota"
    __table_args__ = (
        UniqueConstraint("pool_rule_id", "prize_level_id"),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    pool_rule_id: Mapped[int] = mapped_column(ForeignKey("pool_rule.id", ondelete="CASCADE"), index=True)
    prize_level_id: Mapped[int] = mapped_column(ForeignKey("prize_level.id", ondelete="CASCADE"))
    value: Mapped[Decimal] = mapped_column(Numeric(7, 2))  # a count, or a percentage (10 = 10%)

    pool_rule: Mapped[PoolRule] = relationship(back_populates="quotas")
    prize_level: Mapped[PrizeLevel] = relationship()


class CertificateSettings(db.Model):
    __tablename__ = "certificate_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"), unique=True)
    issuer: Mapped[str | None] = mapped_column(String(255))  # 落款 (organizer printed bottom right)
    issue_date: Mapped[date | None]
    student_text: Mapped[str] = mapped_column(Text, default=DEFAULT_STUDENT_TEXT)
    instructor_text: Mapped[str] = mapped_column(Text, default=DEFAULT_INSTRUCTOR_TEXT)
    school_text: Mapped[str] = mapped_column(Text, default=DEFAULT_SCHOOL_TEXT)
    number_pattern: Mapped[str] = mapped_column(String(120), default=DEFAULT_CERTIFICATE_NUMBER_PATTERN)
    one_per_member: Mapped[bool] = mapped_column(default=True)  # else one per team
    seal_image: Mapped[str | None] = mapped_column(String(255))  # stored file name under UPLOAD_DIR
    border_image: Mapped[str | None] = mapped_column(String(255))  # full-page border, stored like the seal
    # 优秀组织奖: how many schools get it (by rank, ties at the boundary included); None: every ranked school
    # with points
    org_award_count: Mapped[int | None]

    edition: Mapped[Edition] = relationship(back_populates="certificate_settings")
