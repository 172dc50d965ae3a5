"""Organizer pages of registration: all entries with filters, 资格审查, and 签收 on the judging day."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from judging.contests.models import Edition
from judging.contests.operations import latest_edition
from judging.core.models import School
from judging.core.permissions import organizer_required
from judging.core.text import clean
from judging.extensions import db
from judging.registration import operations as ops
from judging.registration.blueprint import bp
from judging.registration.models import ENTRY_STATUSES, Entry, EntryInstructor, EntryStudent

PAGE_SIZE = 50


def _edition() -> Edition:
    edition_id = request.values.get("edition", type=int)
    edition = db.session.get(Edition, edition_id) if edition_id else latest_edition()
    if edition is None:
        abort(404)
    return edition



def filtered_entries(edition: Edition, args) -> tuple:
    """The entries query for the organizer's filters (category, division, school, cluster, status, q)."""
    query = select(Entry).where(Entry.edition_id == edition.id)
    for name, column in (("category", Entry.category_id), ("division", Entry.division_id),
                         ("school", Entry.school_id)):
        value = args.get(name, type=int)
        if value:
            query = query.where(column == value)
    cluster = clean(args.get("cluster"))
    if cluster:
        query = query.where(Entry.school_id.in_(select(School.id).where(School.cluster == cluster)))
    status = args.get("status")
    if status in ENTRY_STATUSES:
        query = query.where(Entry.status == status)
    checked = args.get("checked")
    if checked == "yes":
        query = query.where(Entry.checked_in_at.is_not(None))
    elif checked == "no":
        query = query.where(Entry.checked_in_at.is_(None))
    q = clean(args.get("q"))
    if q:
        like = f"%{q}%"
        query = query.where(or_(
            Entry.code.ilike(like), Entry.title.ilike(like),
            Entry.id.in_(select(EntryStudent.entry_id).where(EntryStudent.name.like(like))),
            Entry.id.in_(select(EntryInstructor.entry_id).where(EntryInstructor.name.like(like))),
            Entry.school_id.in_(select(School.id).where(School.name.like(like)))))
    return query


FILTER_FIELDS = ("category", "division", "cluster", "school", "status", "checked", "q")


@bp.route("/admin/entries")
@organizer_required
def entries():
    if latest_edition() is None:
        flash("还没有届次：请先新建一届大赛。", "warning")
        return redirect(url_for("contests.dashboard"))
    edition = _edition()
    query = filtered_entries(edition, request.args)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = max(1, request.args.get("page", 1, type=int))
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    rows = db.session.scalars(
        query.options(selectinload(Entry.students), selectinload(Entry.instructors), selectinload(Entry.school),
                      selectinload(Entry.category), selectinload(Entry.division), selectinload(Entry.attachments))
        .order_by(Entry.category_id, Entry.division_id, Entry.sequence)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    counts = dict(db.session.execute(select(Entry.status, func.count()).where(Entry.edition_id == edition.id)
                                     .group_by(Entry.status)).all())
    schools = db.session.scalars(select(School).order_by(School.name)).all()
    clusters = sorted({s.cluster for s in schools if s.cluster})
    # Only the filter form's own fields travel on into links (url_for must never get "blind" or "_external").
    args = {k: v for k, v in request.args.items() if k in FILTER_FIELDS and v}
    return render_template("registration/organizer/entries.html", edition=edition, entries=rows, total=total,
                           page=page, pages=pages, counts=counts, statuses=ENTRY_STATUSES, schools=schools,
                           clusters=clusters, args=args, form=FlaskForm())


@bp.route("/admin/entries/<int:entry_id>/review", methods=["POST"])
@organizer_required
def review(entry_id: int):
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        abort(404)
    if FlaskForm().validate_on_submit():
        try:
            ops.review_entry(entry, request.form.get("action", ""), clean(request.form.get("remark")) or None,
                             current_user)
            db.session.commit()
            flash(f"作品 {entry.code}：{entry.status_label}。", "success")
        except ops.RegistrationError as error:
            db.session.rollback()
            flash(f"作品 {entry.code}：{error}", "danger")
    return redirect(request.form.get("back") if _local(request.form.get("back"))
                    else url_for("registration.entries", edition=entry.edition_id))


def _local(target: str | None) -> bool:
    return bool(target) and target.startswith("/") and not target.startswith("//")


@bp.route("/admin/entries/review", methods=["POST"])
@organizer_required
def bulk_review():
    """Approve (or reopen) the ticked entries at once; returns and disqualifications need a remark each."""
    edition = _edition()
    action = request.form.get("action")
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    if FlaskForm().validate_on_submit() and action in ("approve", "reopen") and ids:
        chosen = db.session.scalars(select(Entry).where(Entry.edition_id == edition.id, Entry.id.in_(ids))).all()
        for entry in chosen:
            ops.review_entry(entry, action, None, current_user)
        db.session.commit()
        flash(f"已处理{len(chosen)}件作品。", "success")
    elif not ids:
        flash("请先勾选作品。", "warning")
    back = request.form.get("back")
    return redirect(back if _local(back) else url_for("registration.entries", edition=edition.id))


@bp.route("/admin/checkin", methods=["GET", "POST"])
@organizer_required
def checkin():
    """签收: type or scan an entry code (a scanner types the code and Enter)."""
    edition = _edition()
    form = FlaskForm()
    result = None
    if form.validate_on_submit():
        code = clean(request.form.get("code"))
        entry = ops.find_by_code(edition, code) if code else None
        if entry is None:
            result = ("danger", f"找不到作品编号“{code}”。" if code else "请输入或扫描作品编号。", None)
        else:
            first_time = ops.check_in(entry, current_user)
            db.session.commit()
            if entry.status == "disqualified":
                result = ("warning", f"{entry.code} 已签收，但该作品已被取消资格。", entry)
            elif first_time:
                result = ("success", f"{entry.code}《{entry.title}》签收成功。", entry)
            else:
                who = entry.checked_in_by.display_name if entry.checked_in_by else ""
                result = ("warning", f"{entry.code} 已于 {entry.checked_in_at:%H:%M} 由{who}签收过，未重复登记。", entry)
    total = db.session.scalar(select(func.count()).select_from(Entry).where(
        Entry.edition_id == edition.id, Entry.status != "disqualified"))
    received = db.session.scalar(select(func.count()).select_from(Entry).where(
        Entry.edition_id == edition.id, Entry.status != "disqualified", Entry.checked_in_at.is_not(None)))
    recent = db.session.scalars(select(Entry).where(Entry.edition_id == edition.id, Entry.checked_in_at.is_not(None))
                                .order_by(Entry.checked_in_at.desc(), Entry.id.desc()).limit(10)).all()
    return render_template("registration/organizer/checkin.html", edition=edition, form=form, result=result,
                           total=total, received=received, recent=recent)


@bp.route("/admin/entries/<int:entry_id>/checkin/undo", methods=["POST"])
@organizer_required
def checkin_undo(entry_id: int):
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        abort(404)
    if FlaskForm().validate_on_submit() and entry.checked_in_at is not None:
        ops.undo_check_in(entry, current_user)
        db.session.commit()
        flash(f"已撤销 {entry.code} 的签收。", "info")
    return redirect(url_for("registration.checkin", edition=entry.edition_id))
