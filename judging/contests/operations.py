"""What organizer pages and commands do to an edition's settings. Every change writes the audit log."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select

from judging.contests.models import (
    ROUND_KINDS,
    Category,
    CertificateSettings,
    Criterion,
    Division,
    Edition,
    PoolRule,
    PrizeLevel,
    Quota,
    Round,
)
from judging.core import audit
from judging.extensions import db

EDITION_FIELDS = (
    "name", "number", "code", "theme", "organizers", "school_year", "registration_opens", "registration_closes",
    "registration_locked", "judging_starts", "judging_ends", "notice_days", "max_entries_per_class",
    "max_entries_per_school", "entry_code_pattern", "scoring_method", "trim_min_judges", "min_judges",
    "reward_split", "reward_accumulation", "org_award_enabled", "org_award_min_entries",
)
CATEGORY_FIELDS = ("code", "name", "subforms", "max_students", "max_instructors", "position")
DIVISION_FIELDS = ("code", "name", "position")
LEVEL_FIELDS = ("name", "position", "reward_amount", "reward_points", "instructor_certificate", "org_points")
CERTIFICATE_FIELDS = ("issuer", "issue_date", "student_text", "instructor_text", "school_text", "number_pattern",
                      "one_per_member", "org_award_count")
DEFAULT_LEVEL_NAMES = ("一等奖", "二等奖", "三等奖")


class SetupError(ValueError):
    """A change the office's rules refuse; the message is shown to the organizer as is."""


# Later stages register functions that count what refers to a category or division (entries,
# panels ...), so setup can refuse to delete it without reaching forward into their models.
CategoryUsage = Callable[[Category], tuple[int, str]]
DivisionUsage = Callable[[Division], tuple[int, str]]
category_usage_checks: list[CategoryUsage] = []
division_usage_checks: list[DivisionUsage] = []


def latest_edition() -> Edition | None:
    return db.session.scalar(select(Edition).order_by(Edition.created_at.desc(), Edition.id.desc()).limit(1))


def editions() -> list[Edition]:
    return list(db.session.scalars(select(Edition).order_by(Edition.created_at.desc(), Edition.id.desc())))


def _fill(obj, data: dict, fields) -> None:
    for name in fields:
        if name in data:
            setattr(obj, name, data[name])


def create_edition(data: dict) -> Edition:
    _check_edition_unique(data["name"], data["number"], None)
    edition = Edition()
    _fill(edition, data, EDITION_FIELDS)
    db.session.add(edition)
    add_default_structure(edition)
    db.session.flush()
    audit.record("edition_created", edition, edition_id=edition.id, after=audit.snapshot(edition, EDITION_FIELDS),
                 summary=f"新建{edition.title}")
    return edition


def add_default_structure(edition: Edition) -> None:
    """Rounds, prize levels and certificate settings every edition starts with."""
    for position, (kind, name) in enumerate(ROUND_KINDS.items(), start=1):
        edition.rounds.append(Round(kind=kind, name=name, position=position))
    if not edition.prize_levels:
        for position, name in enumerate(DEFAULT_LEVEL_NAMES, start=1):
            edition.prize_levels.append(PrizeLevel(position=position, name=name))
    if edition.certificate_settings is None:
        edition.certificate_settings = CertificateSettings(issuer=edition.organizers)


def update_edition(edition: Edition, data: dict) -> None:
    _check_edition_unique(data["name"], data["number"], edition.id)
    before = audit.snapshot(edition, EDITION_FIELDS)
    _fill(edition, data, EDITION_FIELDS)
    after = audit.snapshot(edition, EDITION_FIELDS)
    if before != after:
        audit.record("edition_updated", edition, before=_changed(before, after), after=_changed(after, before),
                     summary=f"修改{edition.title}的设置")


def _changed(state: dict, other: dict) -> dict:
    return {k: v for k, v in state.items() if other.get(k) != v}


def _check_edition_unique(name: str, number: int, own_id: int | None) -> None:
    clash = db.session.scalar(select(Edition).where(Edition.name == name, Edition.number == number))
    if clash is not None and clash.id != own_id:
        raise SetupError(f"已存在{clash.title}，届次不能重复")


def copy_edition(source: Edition, name: str, number: int, theme: str | None = None,
                 school_year: str | None = None) -> Edition:
    """Start the next edition with this one's settings: categories with rubrics, divisions, rounds,
    prize levels with rewards, quotas and certificate texts. Dates, entries and scores are not copied."""
    _check_edition_unique(name, number, None)
    new = Edition(name=name, number=number, theme=theme if theme is not None else source.theme,
                  school_year=school_year, copied_from_id=source.id)
    for field in EDITION_FIELDS:
        if field in ("name", "number", "theme", "school_year", "registration_opens", "registration_closes",
                     "registration_locked", "judging_starts", "judging_ends"):
            continue
        setattr(new, field, getattr(source, field))
    category_map: dict[int, Category] = {}
    for cat in source.categories:
        copy = Category(**{f: getattr(cat, f) for f in CATEGORY_FIELDS})
        copy.criteria = [Criterion(position=c.position, name=c.name, max_points=c.max_points,
                                   descriptor=c.descriptor) for c in cat.criteria]
        new.categories.append(copy)
        category_map[cat.id] = copy
    division_map: dict[int, Division] = {}
    for div in source.divisions:
        copy = Division(**{f: getattr(div, f) for f in DIVISION_FIELDS})
        new.divisions.append(copy)
        division_map[div.id] = copy
    for rnd in source.rounds:
        new.rounds.append(Round(kind=rnd.kind, name=rnd.name, position=rnd.position, enabled=rnd.enabled))
    level_map: dict[int, PrizeLevel] = {}
    for level in source.prize_levels:
        copy = PrizeLevel(**{f: getattr(level, f) for f in LEVEL_FIELDS})
        new.prize_levels.append(copy)
        level_map[level.id] = copy
    for rule in source.pool_rules:
        copy = PoolRule(category=category_map[rule.category_id], division=division_map[rule.division_id],
                        quota_mode=rule.quota_mode, min_score=rule.min_score)
        copy.quotas = [Quota(prize_level=level_map[q.prize_level_id], value=q.value) for q in rule.quotas]
        new.pool_rules.append(copy)
    if source.certificate_settings is not None:
        cs = source.certificate_settings
        new.certificate_settings = CertificateSettings(
            **{f: getattr(cs, f) for f in CERTIFICATE_FIELDS if f != "issue_date"})
    else:
        add_default_structure(new)
    db.session.add(new)
    db.session.flush()
    audit.record("edition_copied", new, edition_id=new.id, before={"source_edition_id": source.id},
                 after=audit.snapshot(new, EDITION_FIELDS), summary=f"由{source.title}复制设置，新建{new.title}")
    return new


# --- Categories and rubrics ---------------------------------------------------------------------

def _check_unique_code_and_name(model, edition: Edition, code: str, name: str, own_id: int | None, what: str):
    for column, value, label in ((model.code, code, "代码"), (model.name, name, "名称")):
        clash = db.session.scalar(select(model).where(model.edition_id == edition.id, column == value))
        if clash is not None and clash.id != own_id:
            raise SetupError(f"{what}{label}“{value}”已被使用")


def _save_coded(edition: Edition, data: dict, obj, model, fields, collection: str, what: str):
    """Create or update a category or division: codes upper-case, code and name unique in the edition."""
    data = dict(data, code=data["code"].upper())
    _check_unique_code_and_name(model, edition, data["code"], data["name"], obj.id if obj else None, what)
    before = audit.snapshot(obj, fields) if obj else None
    siblings = getattr(edition, collection)
    if data.get("position") is None:
        data["position"] = obj.position if obj else len(siblings) + 1
    if obj is None:
        obj = model()
        _fill(obj, data, fields)
        siblings.append(obj)
    else:
        _fill(obj, data, fields)
    db.session.flush()
    audit.record(f"{model.__tablename__}_saved", obj, before=before, after=audit.snapshot(obj, fields),
                 summary=f"保存{what} {obj.code} {obj.name}")
    return obj


def _delete_coded(obj, fields, checks, what: str) -> None:
    """Delete a category or division unless a later stage reports something that uses it."""
    for check in checks:
        count, used_by = check(obj)
        if count:
            raise SetupError(f"{what}“{obj.name}”已有{count}{used_by}，不能删除。可先处理这些{used_by}，或保留该{what}。")
    audit.record(f"{obj.__tablename__}_deleted", obj, before=audit.snapshot(obj, fields),
                 summary=f"删除{what} {obj.code} {obj.name}")
    db.session.delete(obj)


def save_category(edition: Edition, data: dict, category: Category | None = None) -> Category:
    return _save_coded(edition, data, category, Category, CATEGORY_FIELDS, "categories", "类别")


def delete_category(category: Category) -> None:
    _delete_coded(category, CATEGORY_FIELDS, category_usage_checks, "类别")


def save_rubric(category: Category, rows: list[dict]) -> Decimal:
    """Replace the category's criteria by the given rows (in order); returns the total of the maxima."""
    names = [r["name"] for r in rows]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SetupError("指标名称重复：" + "、".join(duplicates))
    if not rows:
        raise SetupError("评分标准至少需要一项指标")
    before = [(c.name, c.max_points, c.descriptor) for c in category.criteria]
    existing = {c.id: c for c in category.criteria}
    kept = [existing.pop(row["id"], None) if row.get("id") else None for row in rows]
    kept = [criterion or Criterion() for criterion in kept]
    for gone in existing.values():
        category.criteria.remove(gone)
    # Park kept names out of the way first: the unique index sees every step of a swap or rename.
    for criterion in kept:
        if criterion.id is not None:
            criterion.name = f"~{criterion.id}"
    db.session.flush()
    for position, (criterion, row) in enumerate(zip(kept, rows), start=1):
        criterion.position = position
        criterion.name = row["name"]
        criterion.max_points = row["max_points"]
        criterion.descriptor = row.get("descriptor") or None
    category.criteria = kept
    db.session.flush()
    after = [(c.name, c.max_points, c.descriptor) for c in category.criteria]
    audit.record("rubric_saved", category, object_type="category", edition_id=category.edition_id,
                 before=before, after=after, summary=f"保存{category.name}评分标准")
    return category.rubric_total


# --- Divisions ------------------------------------------------------------------------------

def save_division(edition: Edition, data: dict, division: Division | None = None) -> Division:
    return _save_coded(edition, data, division, Division, DIVISION_FIELDS, "divisions", "组别")


def delete_division(division: Division) -> None:
    _delete_coded(division, DIVISION_FIELDS, division_usage_checks, "组别")


# --- Rounds -----------------------------------------------------------------------------------

def save_rounds(edition: Edition, rows: dict[int, dict]) -> None:
    before = [(r.kind, r.name, r.enabled) for r in edition.rounds]
    for rnd in edition.rounds:
        if rnd.id in rows:
            rnd.name = rows[rnd.id]["name"] or ROUND_KINDS[rnd.kind]
            # The final round always runs: it decides the prizes.
            rnd.enabled = True if rnd.kind == "final" else rows[rnd.id]["enabled"]
    after = [(r.kind, r.name, r.enabled) for r in edition.rounds]
    if before != after:
        audit.record("rounds_saved", edition, edition_id=edition.id, before=before, after=after,
                     summary="修改评审轮次")


# --- Prize levels, rewards and quotas -------------------------------------------------------------

def save_prize_levels(edition: Edition, rows: list[dict]) -> None:
    """Rows in order, highest prize first; a row with an id updates that level."""
    names = [r["name"] for r in rows]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SetupError("奖项名称重复：" + "、".join(duplicates))
    if not rows:
        raise SetupError("至少需要设置一个奖项")
    before = [audit.snapshot(level, LEVEL_FIELDS) for level in edition.prize_levels]
    existing = {level.id: level for level in edition.prize_levels}
    kept: list[PrizeLevel] = []
    for row in rows:
        level = existing.pop(row.get("id"), None) if row.get("id") else None
        kept.append(level or PrizeLevel())
    for gone in existing.values():
        edition.prize_levels.remove(gone)
    # Park positions and names out of the way first: the unique indexes see every step.
    for i, level in enumerate(kept):
        if level.id is not None:
            level.position = 1000 + i
            level.name = f"~{level.id}"
    db.session.flush()
    for position, (level, row) in enumerate(zip(kept, rows), start=1):
        level.position = position
        level.name = row["name"]
        level.reward_amount = row.get("reward_amount") or Decimal("0")
        level.reward_points = row.get("reward_points") or Decimal("0")
        level.instructor_certificate = bool(row.get("instructor_certificate"))
        level.org_points = row.get("org_points") or 0
    edition.prize_levels = kept
    db.session.flush()
    audit.record("prize_levels_saved", edition, edition_id=edition.id, before=before,
                 after=[audit.snapshot(level, LEVEL_FIELDS) for level in edition.prize_levels],
                 summary="修改奖项与辅导教师奖励")


def pool_rule(edition: Edition, category: Category, division: Division) -> PoolRule | None:
    return next((r for r in edition.pool_rules if r.category_id == category.id and r.division_id == division.id),
                None)


def save_pool_quota(edition: Edition, category: Category, division: Division, mode: str,
                    min_score: Decimal | None, values: dict[int, Decimal | None]) -> PoolRule:
    """Quota of one pool: values per prize level id (count, or percent of the ranked entries)."""
    pool = f"{category.name}·{division.name}"
    if mode not in ("count", "percent"):
        raise SetupError(f"{pool}：名额方式无效")
    cleaned = {level_id: value for level_id, value in values.items() if value is not None}
    if mode == "count":
        for value in cleaned.values():
            if value != value.to_integral_value():
                raise SetupError(f"{pool}：按名额时每个奖项应为整数")
    else:
        total = sum(cleaned.values(), Decimal("0"))
        if total > 100:
            raise SetupError(f"{pool}：各奖项比例合计{total.normalize():f}%，超过了100%")
    if min_score is not None and not (Decimal("0") <= min_score <= Decimal("100")):
        raise SetupError(f"{pool}：获奖最低分应在0到100之间")
    rule = pool_rule(edition, category, division)
    before = _rule_state(rule)
    if rule is None:
        rule = PoolRule(category=category, division=division)
        edition.pool_rules.append(rule)
    rule.quota_mode = mode
    rule.min_score = min_score
    by_level = {q.prize_level_id: q for q in rule.quotas}
    for level in edition.prize_levels:
        value = cleaned.get(level.id)
        quota = by_level.get(level.id)
        if value is None:
            if quota is not None:
                rule.quotas.remove(quota)
        elif quota is None:
            rule.quotas.append(Quota(prize_level=level, value=value))
        else:
            quota.value = value
    db.session.flush()
    after = _rule_state(rule)
    if before != after:
        audit.record("quota_saved", rule, edition_id=edition.id, before=before, after=after,
                     summary=f"修改{pool}获奖名额")
    return rule


def _rule_state(rule: PoolRule | None):
    if rule is None:
        return None
    return {"mode": rule.quota_mode, "min_score": rule.min_score,
            "quotas": {q.prize_level.name if q.prize_level else q.prize_level_id: q.value for q in rule.quotas}}


# --- Certificates ---------------------------------------------------------------------------------

def save_certificate_settings(edition: Edition, data: dict) -> CertificateSettings:
    settings = edition.certificate_settings
    before = audit.snapshot(settings, CERTIFICATE_FIELDS) if settings else None
    if settings is None:
        settings = CertificateSettings()
        edition.certificate_settings = settings
    _fill(settings, data, CERTIFICATE_FIELDS)
    db.session.flush()
    audit.record("certificate_settings_saved", settings, edition_id=edition.id, before=before,
                 after=audit.snapshot(settings, CERTIFICATE_FIELDS), summary="修改证书设置")
    return settings
