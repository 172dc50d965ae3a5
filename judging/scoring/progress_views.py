"""Organizer pages of a round in progress: the progress board with locking, the blank paper score
sheets, and the paper-score import (upload -> preview -> confirm, as the other imports).

Thin: parse, check permission, call progress.py / paper.py / operations.set_round_lock, render.
The import keeps an upload without faults under UPLOAD_DIR/imports/<random token>.xlsx with the
token in the session (judging.core.uploads, one slot per round); the confirming POST reads that
file again, checks it again against the database as it is then, and writes it in one transaction.
"""
from __future__ import annotations

import io

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length

from judging.contests.models import Edition, Round
from judging.contests.people_forms import ImportConfirmForm, ImportUploadForm
from judging.core import sheets, uploads
from judging.core.fonts import FontCoverageError, FontError
from judging.core.models import User
from judging.core.downloads import PDF_MIMETYPE, attachment
from judging.core.permissions import organizer_required
from judging.extensions import db
from judging.scoring import paper
from judging.scoring import progress as boards
from judging.scoring.blueprint import bp
from judging.scoring.operations import set_round_lock

IMPORT_KIND = "paper_scores_{}"  # the session slot of a pending upload, per round
FAULTS_SHOWN = 1000
PREVIEW_ROWS = 500


class LockForm(FlaskForm):
    action = HiddenField(validators=[AnyOf(("lock", "unlock"))])
    reason = StringField("原因", validators=[DataRequired("请填写锁定或解锁的原因"), Length(max=200)])


def _edition(edition_id: int) -> Edition:
    return db.get_or_404(Edition, edition_id)


def _round(round_id: int) -> Round:
    return db.get_or_404(Round, round_id)


def _progress_url(rnd: Round) -> str:
    return url_for("scoring.progress", edition_id=rnd.edition_id, round=rnd.id)



# --- The progress board -------------------------------------------------------------------------------

@bp.route("/admin/editions/<int:edition_id>/progress")
@organizer_required
def progress(edition_id: int):
    edition = _edition(edition_id)
    rounds = boards.scoring_rounds(edition.rounds)
    wanted = request.args.get("round", type=int)
    selected = next((r for r in rounds if r.id == wanted), None)
    if selected is None and rounds:
        # The round being judged: the first unlocked one, else the last.
        selected = next((r for r in rounds if not r.locked), rounds[-1])
    board = boards.load_round_progress(selected) if selected is not None else None
    only_flagged = request.args.get("only") == "flagged"
    form = LockForm()
    if selected is not None:
        form.action.data = "unlock" if selected.locked else "lock"
    return render_template("scoring/progress/progress.html", edition=edition, rounds=rounds, selected=selected,
                           board=board, form=form, only_flagged=only_flagged, active_tab="scoring.progress",
                           floor=boards.OUTLIER_FLOOR, mads=boards.OUTLIER_MADS)


@bp.route("/admin/rounds/<int:round_id>/lock", methods=["POST"])
@organizer_required
def round_lock(round_id: int):
    rnd = _round(round_id)
    form = LockForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(f"未{'锁定' if request.form.get('action') != 'unlock' else '解锁'}：{message}", "danger")
        return redirect(_progress_url(rnd))
    lock = form.action.data == "lock"
    if rnd.locked == lock:
        flash(f"{rnd.name}评分已经是{'锁定' if lock else '未锁定'}状态。", "info")
        return redirect(_progress_url(rnd))
    try:
        set_round_lock(rnd, lock, form.reason.data, current_user._get_current_object())
        db.session.commit()
    except ValueError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(_progress_url(rnd))
    if lock:
        flash(f"{rnd.name}评分已锁定：评委不能再提交或修改评分。", "success")
    else:
        flash(f"{rnd.name}评分已解锁，评委可以继续提交和修改评分。", "success")
    return redirect(_progress_url(rnd))


# --- Paper: blank sheets and the 评分 template ---------------------------------------------------------

@bp.route("/admin/rounds/<int:round_id>/score-sheets.pdf")
@organizer_required
def score_sheets_pdf(round_id: int):
    rnd = _round(round_id)
    judge_id = request.args.get("judge", "").strip()
    judge = None
    if judge_id:
        if not judge_id.isdigit():
            abort(400)
        judge = db.session.get(User, int(judge_id))
        if judge is None:
            abort(404)
    sheets_ = paper.load_judge_sheets(rnd.id, judge.id if judge else None)
    out = io.BytesIO()
    try:
        paper.blank_score_sheets_pdf(rnd, sheets_, out)
    except FontCoverageError as error:
        return render_template("error.html", status=422, title="无法打印：字体缺字", message=error.message), 422
    except FontError as error:
        current_app.logger.error("font set-up: %s", error)
        return render_template("error.html", status=500, title="字体配置有误", message=str(error)), 500
    base = f"{rnd.name}评分表" + (f"-{judge.display_name}" if judge else "")
    ascii_name = f"score-sheets-round{rnd.id}" + (f"-judge{judge.id}" if judge else "") + ".pdf"
    return attachment(out.getvalue(), PDF_MIMETYPE, f"{base}.pdf", ascii_name)


@bp.route("/admin/rounds/<int:round_id>/scores-template.xlsx")
@organizer_required
def paper_template(round_id: int):
    rnd = _round(round_id)
    return attachment(paper.template_bytes(rnd), sheets.XLSX_MIMETYPE, f"{rnd.name}纸质评分录入表.xlsx",
                     f"scores-round{rnd.id}.xlsx")


# --- Paper: the import ---------------------------------------------------------------------------------

@bp.route("/admin/rounds/<int:round_id>/scores-import", methods=["GET", "POST"])
@organizer_required
def paper_import(round_id: int):
    rnd = _round(round_id)
    kind = IMPORT_KIND.format(rnd.id)
    upload_form = ImportUploadForm()
    confirm_form = ImportConfirmForm()
    plan = None
    token = None
    if request.method == "POST" and request.form.get("step") == "confirm":
        if not confirm_form.validate_on_submit():
            abort(400)
        stored = uploads.stored(kind)
        if stored is None or stored[0] != confirm_form.token.data or not stored[2].exists():
            uploads.forget(kind)
            flash("没有待确认的导入文件（可能已经导入，或已过期）。请重新上传。", "warning")
            return redirect(url_for("scoring.paper_import", round_id=rnd.id))
        token, filename, path = stored
        plan = paper.plan_paper_import(path.read_bytes(), filename, rnd)
        uploads.forget(kind)
        token = None
        if plan.ok:
            try:
                result = paper.apply_paper_import(plan, rnd, current_user._get_current_object())
                db.session.commit()
            except paper.PaperImportError as error:
                db.session.rollback()
                flash(f"导入失败，没有导入任何评分：{error.fault}", "danger")
                return redirect(url_for("scoring.paper_import", round_id=rnd.id))
            except IntegrityError:
                db.session.rollback()
                flash("导入失败：评分刚被其他人修改，没有导入任何评分。请重新上传文件再试一次。", "danger")
                return redirect(url_for("scoring.paper_import", round_id=rnd.id))
            parts = [f"{label}{result[key]}条" for key, label in
                     (("new", "新增"), ("update", "修改"), ("same", "与现有评分相同"), ("replay", "此前已导入")) if result[key]]
            flash(f"已从「{plan.filename}」导入{rnd.name}纸质评分：{'，'.join(parts)}。", "success")
            return redirect(_progress_url(rnd))
        flash("数据在预览之后有变化，文件现在有错误，未导入任何评分。请修改后重新上传。", "danger")
    elif request.method == "POST" and upload_form.validate_on_submit():
        data, filename = uploads.read_upload(upload_form)
        if data is not None:
            plan = paper.plan_paper_import(data, filename, rnd)
            if plan.ok:
                token = uploads.keep(kind, data, filename)
                confirm_form.token.data = token
            else:
                uploads.forget(kind)
    return render_template(
        "scoring/progress/import.html", rnd=rnd, edition=rnd.edition, plan=plan, token=token,
        upload_form=upload_form, confirm_form=confirm_form, faults_shown=FAULTS_SHOWN, preview_rows=PREVIEW_ROWS,
        spec=paper.score_sheet_spec(rnd), max_rows=paper.MAX_SCORE_ROWS,
        max_mb=sheets.MAX_IMPORT_BYTES // (1024 * 1024), back_url=_progress_url(rnd))
