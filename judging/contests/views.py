"""Organizer setup pages: editions, categories and rubrics, divisions, rounds, prizes and rewards,
quotas, certificate texts, and the audit log. Thin: parse, check permission, call operations, render."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from judging.contests import operations as ops
from judging.contests.forms import (
    CategoryForm,
    CertificateSettingsForm,
    CopyEditionForm,
    DivisionForm,
    EditionForm,
    PrizeLevelsForm,
    RubricForm,
)
from judging.contests.models import QUOTA_MODES, ROUND_KINDS, SCORING_METHODS, Category, Division, Edition
from judging.core.i18n import N_
from judging.core.models import AuditEvent
from judging.core.permissions import organizer_required
from judging.core.text import clean
from judging.extensions import db

bp = Blueprint("contests", __name__, url_prefix="/admin")

EMPTY_RUBRIC_ROWS = 2


def _edition(edition_id: int) -> Edition:
    return db.get_or_404(Edition, edition_id)


def _owned(model, object_id: int, edition: Edition):
    """An object of this edition, or 404 (ids of other editions are not followed)."""
    obj = db.session.get(model, object_id)
    if obj is None or obj.edition_id != edition.id:
        abort(404)
    return obj


def _form_data(form, fields) -> dict:
    data = {}
    for name in fields:
        value = getattr(form, name).data
        if isinstance(value, str):
            value = clean(value) or None
        data[name] = value
    return data


def _commit_or_error(action, form=None, field: str | None = None) -> bool:
    """Run an operation; on a SetupError roll back and show the message (on a field if named)."""
    try:
        action()
        db.session.commit()
        return True
    except ops.SetupError as error:
        db.session.rollback()
        if form is not None and field is not None:
            getattr(form, field).errors = list(getattr(form, field).errors) + [str(error)]
        else:
            flash(str(error), "danger")
        return False


# --- Editions -------------------------------------------------------------------------------------

@bp.route("/")
@organizer_required
def dashboard():
    return render_template("contests/dashboard.html", editions=ops.editions())


@bp.route("/editions/new", methods=["GET", "POST"])
@organizer_required
def edition_new():
    form = EditionForm()
    if request.method == "GET":
        form.notice_days.data = 7
        form.max_entries_per_class.data = 3
        form.entry_code_pattern.data = "{类别代码}{组别代码}-{序号:03d}"
        form.trim_min_judges.data = 5
        form.min_judges.data = 3
        form.org_award_min_entries.data = 5
    if form.validate_on_submit():
        data = _form_data(form, ops.EDITION_FIELDS)
        holder = {}
        if _commit_or_error(lambda: holder.setdefault("e", ops.create_edition(data)), form, "number"):
            flash(f"已新建{holder['e'].title}。请继续设置类别、组别和奖项。", "success")
            return redirect(url_for("contests.edition", edition_id=holder["e"].id))
    return render_template("contests/edition_form.html", form=form, edition=None)


@bp.route("/editions/<int:edition_id>")
@organizer_required
def edition(edition_id: int):
    edition = _edition(edition_id)
    return render_template("contests/edition.html", edition=edition, methods=SCORING_METHODS,
                           checklist=_checklist(edition))


def _checklist(edition: Edition) -> list[tuple[bool, str]]:
    """What an organizer still has to set before registration opens."""
    items = [
        (bool(edition.categories), N_("至少设置一个类别")),
        (bool(edition.divisions), N_("至少设置一个组别")),
        (all(c.criteria for c in edition.categories) and bool(edition.categories), N_("每个类别都有评分标准")),
        (all(c.rubric_total == 100 for c in edition.categories) and bool(edition.categories), N_("评分标准满分合计100分")),
        (bool(edition.prize_levels), N_("设置奖项")),
        (len(edition.pool_rules) >= len(edition.categories) * len(edition.divisions) and bool(edition.pool_rules),
         N_("每个类别和组别都设置了获奖名额")),
        (edition.registration_closes is not None, N_("设置报名截止时间")),
    ]
    return items


@bp.route("/editions/<int:edition_id>/settings", methods=["GET", "POST"])
@organizer_required
def edition_settings(edition_id: int):
    edition = _edition(edition_id)
    form = EditionForm(obj=edition)
    if form.validate_on_submit():
        data = _form_data(form, ops.EDITION_FIELDS)
        if _commit_or_error(lambda: ops.update_edition(edition, data), form, "number"):
            flash("届次设置已保存。", "success")
            return redirect(url_for("contests.edition", edition_id=edition.id))
    return render_template("contests/edition_form.html", form=form, edition=edition)


@bp.route("/editions/<int:edition_id>/copy", methods=["GET", "POST"])
@organizer_required
def edition_copy(edition_id: int):
    source = _edition(edition_id)
    form = CopyEditionForm()
    if request.method == "GET":
        form.name.data = source.name
        form.number.data = source.number + 1
        form.theme.data = source.theme
        form.school_year.data = _next_school_year(source.school_year)
    if form.validate_on_submit():
        holder = {}

        def action():
            holder["e"] = ops.copy_edition(source, clean(form.name.data), form.number.data,
                                           clean(form.theme.data) or None, clean(form.school_year.data) or None)

        if _commit_or_error(action, form, "number"):
            flash(f"已按{source.title}的设置新建{holder['e'].title}。请核对报名和评审日期。", "success")
            return redirect(url_for("contests.edition_settings", edition_id=holder["e"].id))
    return render_template("contests/edition_copy.html", form=form, source=source)


def _next_school_year(year: str | None) -> str | None:
    """2026-2027 -> 2027-2028; anything else is left for the organizer to type."""
    if not year:
        return None
    parts = year.replace("—", "-").replace("–", "-").split("-")
    if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
        return f"{int(parts[0]) + 1}-{int(parts[1]) + 1}"
    return None


# --- Categories and rubrics ---------------------------------------------------------------------

@bp.route("/editions/<int:edition_id>/categories")
@organizer_required
def categories(edition_id: int):
    edition = _edition(edition_id)
    return render_template("contests/categories.html", edition=edition, delete_form=FlaskForm())


@bp.route("/editions/<int:edition_id>/categories/new", methods=["GET", "POST"])
@bp.route("/editions/<int:edition_id>/categories/<int:category_id>/edit", methods=["GET", "POST"])
@organizer_required
def category_form(edition_id: int, category_id: int | None = None):
    edition = _edition(edition_id)
    category = _owned(Category, category_id, edition) if category_id else None
    form = CategoryForm(obj=category)
    if request.method == "GET" and category is None:
        form.max_students.data = 3
        form.max_instructors.data = 2
    if form.validate_on_submit():
        data = _form_data(form, ops.CATEGORY_FIELDS)
        holder = {}
        if _commit_or_error(lambda: holder.setdefault("c", ops.save_category(edition, data, category)), form, "code"):
            saved = holder["c"]
            if category is None:
                flash(f"已新建类别“{saved.name}”。请设置它的评分标准。", "success")
                return redirect(url_for("contests.rubric", edition_id=edition.id, category_id=saved.id))
            flash(f"类别“{saved.name}”已保存。", "success")
            return redirect(url_for("contests.categories", edition_id=edition.id))
    return render_template("contests/category_form.html", form=form, edition=edition, category=category)


@bp.route("/editions/<int:edition_id>/categories/<int:category_id>/delete", methods=["POST"])
@organizer_required
def category_delete(edition_id: int, category_id: int):
    edition = _edition(edition_id)
    category = _owned(Category, category_id, edition)
    form = FlaskForm()
    if form.validate_on_submit():
        name = category.name
        if _commit_or_error(lambda: ops.delete_category(category)):
            flash(f"类别“{name}”已删除。", "success")
    return redirect(url_for("contests.categories", edition_id=edition.id))


@bp.route("/editions/<int:edition_id>/categories/<int:category_id>/rubric", methods=["GET", "POST"])
@organizer_required
def rubric(edition_id: int, category_id: int):
    edition = _edition(edition_id)
    category = _owned(Category, category_id, edition)
    form = RubricForm()
    if request.method == "GET":
        while len(form.rows):
            form.rows.pop_entry()
        for criterion in category.criteria:
            form.rows.append_entry({"criterion_id": criterion.id, "name": criterion.name,
                                    "max_points": criterion.max_points, "descriptor": criterion.descriptor})
        for _ in range(EMPTY_RUBRIC_ROWS):
            form.rows.append_entry()
    if form.validate_on_submit():
        rows, ok = _rubric_rows(form, category)
        if ok:
            holder = {}
            if _commit_or_error(lambda: holder.setdefault("total", ops.save_rubric(category, rows))):
                total = holder["total"]
                if total != 100:
                    flash(f"评分标准已保存，但各项满分合计为{total.normalize():f}分，不是100分。请核对。", "warning")
                else:
                    flash(f"“{category.name}”评分标准已保存，满分合计100分。", "success")
                return redirect(url_for("contests.rubric", edition_id=edition.id, category_id=category.id))
    return render_template("contests/rubric.html", form=form, edition=edition, category=category)


def _rubric_rows(form: RubricForm, category: Category) -> tuple[list[dict], bool]:
    own_ids = {c.id for c in category.criteria}
    rows: list[dict] = []
    ok = True
    for entry in form.rows:
        sub = entry.form
        name = clean(sub["name"].data)
        points = sub["max_points"].data
        if not name and points is None:
            continue  # a blank row
        if not name:
            sub["name"].errors = ["请填写指标名称"]
            ok = False
        if points is None:
            sub["max_points"].errors = ["请填写满分"]
            ok = False
        raw_id = sub["criterion_id"].data
        criterion_id = int(raw_id) if raw_id and raw_id.isdigit() and int(raw_id) in own_ids else None
        rows.append({"id": criterion_id, "name": name, "max_points": points,
                     "descriptor": clean(sub["descriptor"].data) or None})
    if ok and not rows:
        flash("评分标准至少需要一项指标。", "danger")
        ok = False
    return rows, ok


# --- Divisions ----------------------------------------------------------------------------------

@bp.route("/editions/<int:edition_id>/divisions")
@organizer_required
def divisions(edition_id: int):
    edition = _edition(edition_id)
    return render_template("contests/divisions.html", edition=edition, delete_form=FlaskForm())


@bp.route("/editions/<int:edition_id>/divisions/new", methods=["GET", "POST"])
@bp.route("/editions/<int:edition_id>/divisions/<int:division_id>/edit", methods=["GET", "POST"])
@organizer_required
def division_form(edition_id: int, division_id: int | None = None):
    edition = _edition(edition_id)
    division = _owned(Division, division_id, edition) if division_id else None
    form = DivisionForm(obj=division)
    if form.validate_on_submit():
        data = _form_data(form, ops.DIVISION_FIELDS)
        holder = {}
        if _commit_or_error(lambda: holder.setdefault("d", ops.save_division(edition, data, division)), form, "code"):
            flash(f"组别“{holder['d'].name}”已保存。", "success")
            return redirect(url_for("contests.divisions", edition_id=edition.id))
    return render_template("contests/division_form.html", form=form, edition=edition, division=division)


@bp.route("/editions/<int:edition_id>/divisions/<int:division_id>/delete", methods=["POST"])
@organizer_required
def division_delete(edition_id: int, division_id: int):
    edition = _edition(edition_id)
    division = _owned(Division, division_id, edition)
    if FlaskForm().validate_on_submit():
        name = division.name
        if _commit_or_error(lambda: ops.delete_division(division)):
            flash(f"组别“{name}”已删除。", "success")
    return redirect(url_for("contests.divisions", edition_id=edition.id))


# --- Rounds ---------------------------------------------------------------------------------------

@bp.route("/editions/<int:edition_id>/rounds", methods=["GET", "POST"])
@organizer_required
def rounds(edition_id: int):
    edition = _edition(edition_id)
    form = FlaskForm()
    if form.validate_on_submit():
        rows = {}
        for rnd in edition.rounds:
            name = clean(request.form.get(f"name-{rnd.id}", ""))[:40]
            rows[rnd.id] = {"name": name, "enabled": request.form.get(f"enabled-{rnd.id}") == "y"}
        if _commit_or_error(lambda: ops.save_rounds(edition, rows)):
            flash("评审轮次已保存。", "success")
            return redirect(url_for("contests.rounds", edition_id=edition.id))
    return render_template("contests/rounds.html", edition=edition, form=form, kinds=ROUND_KINDS)


# --- Prize levels and instructor rewards -----------------------------------------------------------

@bp.route("/editions/<int:edition_id>/prizes", methods=["GET", "POST"])
@organizer_required
def prizes(edition_id: int):
    edition = _edition(edition_id)
    form = PrizeLevelsForm()
    if request.method == "GET":
        while len(form.rows):
            form.rows.pop_entry()
        for level in edition.prize_levels:
            form.rows.append_entry({"level_id": level.id, "name": level.name, "reward_amount": level.reward_amount,
                                    "reward_points": level.reward_points,
                                    "instructor_certificate": level.instructor_certificate,
                                    "org_points": level.org_points})
        form.rows.append_entry({"instructor_certificate": False})
    if form.validate_on_submit():
        own_ids = {level.id for level in edition.prize_levels}
        rows = []
        for entry in form.rows:
            sub = entry.form
            name = clean(sub["name"].data)
            if not name:
                continue
            raw_id = sub["level_id"].data
            rows.append({
                "id": int(raw_id) if raw_id and raw_id.isdigit() and int(raw_id) in own_ids else None,
                "name": name,
                "reward_amount": sub["reward_amount"].data,
                "reward_points": sub["reward_points"].data,
                "instructor_certificate": sub["instructor_certificate"].data,
                "org_points": sub["org_points"].data,
            })
        if _commit_or_error(lambda: ops.save_prize_levels(edition, rows)):
            flash("奖项与辅导教师奖励已保存。", "success")
            return redirect(url_for("contests.prizes", edition_id=edition.id))
    return render_template("contests/prizes.html", edition=edition, form=form)


# --- Quotas ---------------------------------------------------------------------------------------

@bp.route("/editions/<int:edition_id>/quotas", methods=["GET", "POST"])
@organizer_required
def quotas(edition_id: int):
    edition = _edition(edition_id)
    form = FlaskForm()
    errors: dict[str, str] = {}
    submitted: dict[str, str] = {}
    if form.validate_on_submit():
        submitted = {k: v for k, v in request.form.items()}
        parsed = _parse_quota_grid(edition, errors)
        if not errors:
            try:
                for category, division, mode, min_score, values in parsed:
                    ops.save_pool_quota(edition, category, division, mode, min_score, values)
                db.session.commit()
                flash("获奖名额已保存。", "success")
                return redirect(url_for("contests.quotas", edition_id=edition.id))
            except ops.SetupError as error:
                db.session.rollback()
                errors["_"] = str(error)
        flash("获奖名额没有保存：请修改标红的格子。", "danger")
    return render_template("contests/quotas.html", edition=edition, form=form, errors=errors,
                           submitted=submitted, modes=QUOTA_MODES, pool_rule=ops.pool_rule)


def _decimal(raw: str) -> Decimal | None:
    text = clean(raw).rstrip("%").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError
    if not value.is_finite():
        raise ValueError
    return value


def _parse_quota_grid(edition: Edition, errors: dict[str, str]):
    parsed = []
    for category in edition.categories:
        for division in edition.divisions:
            key = f"{category.id}-{division.id}"
            pool = f"{category.name}·{division.name}"
            mode = request.form.get(f"mode-{key}", "count")
            if mode not in QUOTA_MODES:
                errors[f"mode-{key}"] = f"{pool}：名额方式无效"
                continue
            try:
                min_score = _decimal(request.form.get(f"min-{key}", ""))
            except ValueError:
                errors[f"min-{key}"] = f"{pool}：获奖最低分应为数字"
                min_score = None
            values = {}
            for level in edition.prize_levels:
                field = f"q-{key}-{level.id}"
                try:
                    value = _decimal(request.form.get(field, ""))
                except ValueError:
                    errors[field] = f"{pool}{level.name}：应为数字"
                    continue
                if value is not None and value < 0:
                    errors[field] = f"{pool}{level.name}：不能为负数"
                    continue
                values[level.id] = value
            parsed.append((category, division, mode, min_score, values))
    return parsed


# --- Certificates ---------------------------------------------------------------------------------

@bp.route("/editions/<int:edition_id>/certificates", methods=["GET", "POST"])
@organizer_required
def certificate_settings(edition_id: int):
    edition = _edition(edition_id)
    form = CertificateSettingsForm(obj=edition.certificate_settings)
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in ops.CERTIFICATE_FIELDS}
        data["issuer"] = clean(data["issuer"]) or None
        data["number_pattern"] = clean(data["number_pattern"])
        for name in ("student_text", "instructor_text", "school_text"):
            data[name] = data[name].strip()
        if _commit_or_error(lambda: ops.save_certificate_settings(edition, data)):
            flash("证书设置已保存。", "success")
            return redirect(url_for("contests.certificate_settings", edition_id=edition.id))
    return render_template("contests/certificates.html", edition=edition, form=form)


# --- Audit log ------------------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50


@bp.route("/audit")
@organizer_required
def audit_log():
    page = max(1, request.args.get("page", 1, type=int))
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    edition_id = request.args.get("edition", type=int)
    if edition_id:
        query = query.where(AuditEvent.edition_id == edition_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    events = db.session.scalars(query.limit(AUDIT_PAGE_SIZE).offset((page - 1) * AUDIT_PAGE_SIZE)).all()
    pages = max(1, (total + AUDIT_PAGE_SIZE - 1) // AUDIT_PAGE_SIZE)
    return render_template("contests/audit.html", events=events, page=page, pages=pages, total=total,
                           edition_id=edition_id)
