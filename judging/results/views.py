"""Results pages: the organizer computes a round, adjusts prizes with a reason, advances entries from
初评 to 终评, publishes for 公示, records objections and finalizes; the public sees what is published.

Thin: parse, check permission, call operations.py / publication.py, render. Nothing here shows a
score or a prize to anyone but an organizer unless its snapshot is public (公示 or final).
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from judging.contests.models import Edition, Round
from judging.core.i18n import N_
from judging.core.permissions import organizer_required, public
from judging.extensions import db
from judging.registration.models import Entry
from judging.results import operations as ops
from judging.results import publication as pub
from judging.results import reports
from judging.results.blueprint import bp
from judging.results.models import OBJECTION_STATUSES, EntryResultRow, Objection, PrizeOverride, ResultSnapshot
from judging.scoring.models import Panel

JUDGED_KINDS = ("preliminary", "final")
FLAG_TEXTS = {
    "too_few_judges": N_("评分评委不足，未参加排名"),
    "tie_across_boundary": N_("并列跨越获奖线：并列作品同获较高奖项，下一等级相应减少"),
    "tie_last_boundary": N_("并列跨越最后一条获奖线：并列作品全部获奖"),
    "below_min_score": N_("在名额内但低于获奖最低分，不获奖"),
    "override": N_("组委会调整奖项"),
}


FLAG_SHORT = {
    "too_few_judges": N_("评分不足"),
    "tie_across_boundary": N_("并列跨线"),
    "tie_last_boundary": N_("并列跨线"),
    "below_min_score": N_("低于最低分"),
}
STATUS_TEXTS = {"submitted": N_("待审核"), "returned": N_("退回修改"), "disqualified": N_("取消资格")}


class ComputeForm(FlaskForm):
    reason = TextAreaField("更正原因", validators=[Optional(), Length(max=500)])


class OverrideForm(FlaskForm):
    level = SelectField("调整为", choices=[], validate_choice=False)
    reason = TextAreaField("理由", validators=[DataRequired("请填写调整理由"), Length(max=500)])


class ReasonForm(FlaskForm):
    reason = StringField("理由", validators=[DataRequired("请填写理由"), Length(max=500)])


class AdvanceForm(FlaskForm):
    mode = SelectField("方式", choices=[("count", N_("每组前N名")), ("percent", N_("每组前百分之x"))])
    value = DecimalField("数量", places=None, validators=[InputRequired("请填写数量"),
                                                         NumberRange(min=Decimal("0.01"), message="须大于0")])
    group_by = SelectField("限额", choices=[("", N_("不限")), ("class", N_("每班最多")), ("school", N_("每校最多"))])
    per_group = IntegerField("限额件数", validators=[Optional(), NumberRange(min=1, message="须为正整数")])


class PublishForm(FlaskForm):
    starts = DateField("公示开始", validators=[DataRequired("请填写公示开始日期")])
    ends = DateField("公示结束", validators=[Optional()])
    contact = TextAreaField("异议受理方式", validators=[DataRequired("请填写异议受理方式"), Length(max=500)])


class ObjectionForm(FlaskForm):
    received_on = DateField("收到日期", validators=[DataRequired("请填写收到日期")])
    entry_code = StringField("作品编号", validators=[Optional(), Length(max=40)])
    raised_by = StringField("异议人", validators=[DataRequired("请填写异议人"), Length(max=120)])
    contact = StringField("联系方式", validators=[Optional(), Length(max=120)])
    content = TextAreaField("异议内容", validators=[DataRequired("请填写异议内容"), Length(max=2000)])


class ResolveForm(FlaskForm):
    status = SelectField("处理结果", choices=[(k, v) for k, v in OBJECTION_STATUSES.items() if k != "pending"])
    outcome = TextAreaField("处理意见", validators=[DataRequired("请填写处理意见"), Length(max=2000)])


def _edition_round(edition_id: int, round_id: int) -> tuple[Edition, Round]:
    edition = db.get_or_404(Edition, edition_id)
    rnd = db.get_or_404(Round, round_id)
    if rnd.edition_id != edition.id or rnd.kind not in JUDGED_KINDS:
        abort(404)
    return edition, rnd


def _snapshot(snapshot_id: int) -> ResultSnapshot:
    return db.get_or_404(ResultSnapshot, snapshot_id)


def _round_url(rnd: Round, snapshot: ResultSnapshot | None = None) -> str:
    if snapshot is not None:
        return url_for("results.snapshot", snapshot_id=snapshot.id)
    return url_for("results.round_results", edition_id=rnd.edition_id, round_id=rnd.id)


def _form_errors(form: FlaskForm) -> None:
    for errors in form.errors.values():
        for error in errors:
            flash(error if isinstance(error, str) else "表单已失效，请刷新页面后重试。", "danger")


def _done(message: str | None, url: str):
    db.session.commit()
    if message:
        flash(message, "success")
    return redirect(url)


def _refused(exc: Exception, url: str):
    db.session.rollback()
    flash(str(exc), "danger")
    return redirect(url)


# --- Organizer: overview and a round's results ---------------------------------------------------

@bp.route("/admin/editions/<int:edition_id>/results")
@organizer_required
def overview(edition_id: int):
    edition = db.get_or_404(Edition, edition_id)
    rounds = [r for r in edition.rounds if r.enabled and r.kind in JUDGED_KINDS]
    latest = {r.id: ops.latest_snapshot(r) for r in rounds}
    shown = {r.id: ops.public_snapshot(r) for r in rounds}
    panels = dict(db.session.execute(select(Panel.round_id, func.count()).where(Panel.edition_id == edition.id)
                                     .group_by(Panel.round_id)).all())
    counts = {}
    for rid, snap in latest.items():
        if snap is not None:
            row = db.session.execute(select(func.count(EntryResultRow.rank), func.count(EntryResultRow.level_position))
                                     .where(EntryResultRow.snapshot_id == snap.id)).one()
            counts[rid] = {"ranked": row[0], "prized": row[1], "flags": len(json.loads(snap.flags_json or "[]"))}
    return render_template("results/overview.html", edition=edition, rounds=rounds, latest=latest, shown=shown,
                           panels=panels, counts=counts)


@bp.route("/admin/editions/<int:edition_id>/rounds/<int:round_id>/results")
@organizer_required
def round_results(edition_id: int, round_id: int):
    edition, rnd = _edition_round(edition_id, round_id)
    return _render_round(edition, rnd, ops.latest_snapshot(rnd))


@bp.route("/admin/results/<int:snapshot_id>")
@organizer_required
def snapshot(snapshot_id: int):
    snap = _snapshot(snapshot_id)
    return _render_round(snap.edition, snap.round, snap)


def _render_round(edition: Edition, rnd: Round, snap: ResultSnapshot | None):
    latest = ops.latest_snapshot(rnd)
    history = list(db.session.scalars(select(ResultSnapshot).where(ResultSnapshot.round_id == rnd.id)
                                      .order_by(ResultSnapshot.id.desc())))
    levels = reports.level_names(edition)
    overrides = {o.entry_id: o for o in ops.round_overrides(rnd)}
    override_form = OverrideForm()
    override_form.level.choices = [("", "不获奖")] + [(str(p), n) for p, n in sorted(levels.items())]
    context = dict(
        edition=edition, rnd=rnd, snapshot=snap, latest=latest, history=history, levels=levels,
        overrides=overrides, flag_texts=FLAG_TEXTS, flag_short=FLAG_SHORT, status_texts=STATUS_TEXTS, published=ops.public_snapshot(rnd),
        compute_form=ComputeForm(), override_form=override_form, reason_form=ReasonForm(),
        advance_form=AdvanceForm(), publish_form=PublishForm(starts=date.today()),
        objection_form=ObjectionForm(received_on=date.today()), resolve_form=ResolveForm(),
        objections=pub.round_objections(rnd), target=ops.next_round(rnd),
        advanced=ops.advanced_count(ops.next_round(rnd)) if ops.next_round(rnd) else 0,
        round_advanced=ops.advanced_count(rnd),
    )
    if snap is not None:
        lines = reports.result_lines(snap)
        context.update(
            pools=reports.group_by_pool(lines),
            pool_flags=_pool_flags(snap),
            settings=json.loads(snap.settings_json or "{}"),
            too_few=pub.too_few_codes(snap),
            blockers=pub.publication_blockers(snap) if snap.status == "draft" else [],
            finalize_blockers=pub.finalize_blockers(snap, date.today()) if snap.status == "notice" else [],
            superseded_by=pub.successor(snap),
        )
    return render_template("results/round.html", **context)


def _pool_flags(snap: ResultSnapshot) -> dict[tuple[int, int], list[dict]]:
    """Pool flags with entry codes in place of ids, for the organizer."""
    flags = json.loads(snap.flags_json or "[]")
    ids = {eid for f in flags for eid in f.get("entry_ids", [])}
    codes = dict(db.session.execute(select(Entry.id, Entry.code).where(Entry.id.in_(ids))).all()) if ids else {}
    out: dict[tuple[int, int], list[dict]] = {}
    for f in flags:
        item = dict(f, codes=[codes.get(e, str(e)) for e in f.get("entry_ids", [])])
        out.setdefault((f["category_id"], f["division_id"]), []).append(item)
    return out


@bp.route("/admin/editions/<int:edition_id>/rounds/<int:round_id>/results/compute", methods=["POST"])
@organizer_required
def compute(edition_id: int, round_id: int):
    edition, rnd = _edition_round(edition_id, round_id)
    url = _round_url(rnd)
    form = ComputeForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url)
    try:
        snap = ops.compute_results(edition, rnd, current_user, reason=form.reason.data)
    except ops.ResultsError as exc:
        return _refused(exc, url)
    ranked = sum(1 for r in snap.rows if r.rank is not None)
    message = f"已计算{rnd.name}结果：{ranked}件作品排名。"
    missing = pub.too_few_codes(snap)
    if missing:  # rule 4: never dropped silently
        flash(f"{len(missing)}件作品评分的评委不足{edition.min_judges}人，未参加排名：{'、'.join(missing)}", "warning")
    return _done(message, url)


@bp.route("/admin/rounds/<int:round_id>/entries/<int:entry_id>/override", methods=["POST"])
@organizer_required
def override_set(round_id: int, entry_id: int):
    rnd = db.get_or_404(Round, round_id)
    entry = db.get_or_404(Entry, entry_id)
    if entry.edition_id != rnd.edition_id:
        abort(404)
    url = _round_url(rnd)
    form = OverrideForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url)
    raw = (form.level.data or "").strip()
    try:
        level = int(raw) if raw else None
        ops.set_override(rnd, entry, level, form.reason.data, current_user)
        ops.compute_results(rnd.edition, rnd, current_user, reason=_correction(rnd, form.reason.data))
    except ValueError as exc:  # ResultsError, or a level that is not a number
        return _refused(exc if isinstance(exc, ops.ResultsError) else ops.ResultsError("没有这个奖项等级。"), url)
    return _done(f"作品{entry.code}的奖项已调整，结果已重新计算。", url)


def _correction(rnd: Round, reason: str) -> str | None:
    """A change of published results carries its reason onto the new computation."""
    return f"奖项调整：{reason.strip()}" if ops.public_snapshot(rnd) is not None else None


@bp.route("/admin/rounds/<int:round_id>/entries/<int:entry_id>/override/delete", methods=["POST"])
@organizer_required
def override_delete(round_id: int, entry_id: int):
    rnd = db.get_or_404(Round, round_id)
    override = db.session.scalar(select(PrizeOverride).where(PrizeOverride.round_id == rnd.id,
                                                             PrizeOverride.entry_id == entry_id))
    if override is None:
        abort(404)
    url = _round_url(rnd)
    form = ReasonForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url)
    try:
        code = override.entry.code
        ops.remove_override(override, form.reason.data, current_user)
        ops.compute_results(rnd.edition, rnd, current_user, reason=_correction(rnd, form.reason.data))
    except ops.ResultsError as exc:
        return _refused(exc, url)
    return _done(f"已撤销作品{code}的奖项调整，结果已重新计算。", url)


@bp.route("/admin/results/<int:snapshot_id>/advance", methods=["POST"])
@organizer_required
def advance(snapshot_id: int):
    snap = _snapshot(snapshot_id)
    url = _round_url(snap.round)
    form = AdvanceForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url)
    group_by = form.group_by.data or None
    if group_by and not form.per_group.data:
        flash("选择了每班或每校限额时，请填写限额件数。", "danger")
        return redirect(url)
    try:
        summary = ops.advance(snap, ops.AdvanceRequest(form.mode.data, form.value.data,
                                                       form.per_group.data if group_by else None, group_by),
                              current_user)
    except ops.ResultsError as exc:
        return _refused(exc, url)
    message = f"已确定晋级名单：{summary.advanced}件作品进入{ops.next_round(snap.round).name}。"
    if summary.tied_over:
        message += f"并列多晋级：{'、'.join(summary.tied_over)}。"
    if summary.capped:
        message += f"因班级或学校限额未晋级：{'、'.join(summary.capped)}。"
    return _done(message, url)


@bp.route("/admin/results/<int:snapshot_id>/confirm-missing", methods=["POST"])
@organizer_required
def confirm_missing(snapshot_id: int):
    snap = _snapshot(snapshot_id)
    url = _round_url(snap.round)
    if not FlaskForm().validate_on_submit():
        flash("表单已失效，请刷新页面后重试。", "danger")
        return redirect(url)
    pub.confirm_missing(snap, current_user)
    return _done("已确认评分不足的作品不参加排名。", url)


@bp.route("/admin/results/<int:snapshot_id>/publish", methods=["POST"])
@organizer_required
def publish(snapshot_id: int):
    snap = _snapshot(snapshot_id)
    url = _round_url(snap.round)
    form = PublishForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url)
    try:
        pub.publish(snap, pub.NoticeForm(form.starts.data, form.ends.data, form.contact.data), current_user)
    except ops.ResultsError as exc:
        return _refused(exc, url)
    return _done(f"{snap.round.name}结果已发布公示（{snap.notice_starts.isoformat()}至"
                 f"{snap.notice_ends.isoformat()}）。", url)


@bp.route("/admin/results/<int:snapshot_id>/finalize", methods=["POST"])
@organizer_required
def finalize(snapshot_id: int):
    snap = _snapshot(snapshot_id)
    url = _round_url(snap.round)
    if not FlaskForm().validate_on_submit():
        flash("表单已失效，请刷新页面后重试。", "danger")
        return redirect(url)
    try:
        pub.finalize(snap, current_user)
    except ops.ResultsError as exc:
        return _refused(exc, url)
    return _done(f"{snap.round.name}结果已确定为最终结果。", url)


@bp.route("/admin/results/<int:snapshot_id>/objections", methods=["POST"])
@organizer_required
def objection_new(snapshot_id: int):
    snap = _snapshot(snapshot_id)
    url = _round_url(snap.round) + "#objections"
    form = ObjectionForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url)
    try:
        pub.record_objection(snap, pub.ObjectionInput(form.received_on.data, form.raised_by.data,
                                                      form.contact.data, form.content.data, form.entry_code.data),
                             current_user)
    except ops.ResultsError as exc:
        return _refused(exc, url)
    return _done("异议已登记。", url)


@bp.route("/admin/objections/<int:objection_id>/resolve", methods=["POST"])
@organizer_required
def objection_resolve(objection_id: int):
    objection = db.get_or_404(Objection, objection_id)
    rnd = db.get_or_404(Round, objection.round_id)
    url = _round_url(rnd) + "#objections"
    form = ResolveForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url)
    try:
        pub.resolve_objection(objection, form.status.data, form.outcome.data, current_user)
    except ops.ResultsError as exc:
        return _refused(exc, url)
    return _done("异议处理结果已记录。", url)


# --- Public ------------------------------------------------------------------------------------------

@bp.route("/results/")
@public
def public_index():
    snapshots = pub.public_snapshots()
    return render_template("results/public_index.html", snapshots=snapshots)


@bp.route("/results/<int:snapshot_id>")
@public
def public_snapshot(snapshot_id: int):
    snap = db.session.get(ResultSnapshot, snapshot_id)
    # Drafts do not exist for the public, whoever asks (organizers see them on their own pages).
    if snap is None or snap.status not in ("notice", "final", "superseded"):
        abort(404)
    lines = [line for line in reports.result_lines(snap, ranked_only=True) if line.level_position is not None]
    pools = reports.group_by_pool(reports.stroke_order(lines))  # 排名不分先后
    return render_template("results/public_snapshot.html", snapshot=snap, edition=snap.edition, pools=pools,
                           successor=pub.successor(snap), today=date.today())

