"""Organizer pages to upload and download the contest workbook (竞赛数据包).

Thin: parse, check permission, call exchange.operations, render. The upload is checked as a whole
(every fault listed by sheet, row and column); a file without faults is kept under
UPLOAD_DIR/imports/<random token>.xlsx with the token in the session (core.uploads), and the
confirming POST plans it again against the database as it is then and writes it in one transaction.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from judging.contests import operations as contest_ops
from judging.contests.models import Edition
from judging.contests.people_forms import ImportConfirmForm, ImportUploadForm
from judging.core import sheets, uploads
from judging.core.downloads import attachment
from judging.core.permissions import organizer_required
from judging.exchange import operations as ops
from judging.exchange import workbook as wb
from judging.extensions import db

bp = Blueprint("exchange", __name__)


def xlsx_attachment(data: bytes, filename: str, ascii_name: str):
    return attachment(data, sheets.XLSX_MIMETYPE, filename, ascii_name)

IMPORT_KIND = "contest_workbook"  # the session slot of a pending upload
FAULTS_SHOWN = 1000



@bp.route("/admin/exchange/")
@organizer_required
def index():
    editions = contest_ops.editions()
    snapshots = {e.id: _latest(e) for e in editions}
    return render_template("exchange/index.html", editions=editions, snapshots=snapshots)


def _latest(edition: Edition):
    try:
        return ops.latest_snapshot(edition)
    except ops.WorkbookError:
        return None


@bp.route("/admin/exchange/import", methods=["GET", "POST"])
@organizer_required
def import_workbook():
    upload_form = ImportUploadForm()
    confirm_form = ImportConfirmForm()
    plan = None
    if request.method == "POST" and request.form.get("step") == "confirm":
        if not confirm_form.validate_on_submit():
            abort(400)
        stored = uploads.stored(IMPORT_KIND)
        if stored is None or stored[0] != confirm_form.token.data or not stored[2].exists():
            uploads.forget(IMPORT_KIND)
            flash("没有待确认的竞赛数据包（可能已经导入，或已过期）。请重新上传。", "warning")
            return redirect(url_for("exchange.import_workbook"))
        _, filename, path = stored
        plan = ops.plan_import(path.read_bytes(), filename)
        uploads.forget(IMPORT_KIND)
        if plan.ok:
            try:
                edition = ops.apply_import(plan, current_user._get_current_object())
                db.session.commit()
            except ops.WorkbookError as error:
                db.session.rollback()
                flash("导入失败，没有导入任何数据：" + "；".join(str(f) for f in error.faults), "danger")
                return redirect(url_for("exchange.import_workbook"))
            except IntegrityError:
                db.session.rollback()
                flash("导入失败：数据刚被其他人修改（例如同名的届次、学校或账号），没有导入任何数据。请重新上传再试一次。",
                      "danger")
                return redirect(url_for("exchange.import_workbook"))
            flash(f"已从「{plan.filename}」导入{edition.title}。新建的评委账号需由组委会重置密码后才能登录。", "success")
            return redirect(url_for("contests.edition", edition_id=edition.id))
        flash("数据在预览之后有变化，文件现在有错误，未导入任何数据。请修改后重新上传。", "danger")
    elif request.method == "POST" and upload_form.validate_on_submit():
        data, filename = uploads.read_upload(upload_form)
        if data is not None:
            plan = ops.plan_import(data, filename)
            if plan.ok:
                confirm_form.token.data = uploads.keep(IMPORT_KIND, data, filename)
            else:
                uploads.forget(IMPORT_KIND)
    elif request.method == "POST" and request.form.get("step") != "upload":
        abort(400)
    return render_template("exchange/import.html", plan=plan, upload_form=upload_form, confirm_form=confirm_form,
                           faults_shown=FAULTS_SHOWN, sheet_order=wb.SHEET_ORDER, specs=wb.SPECS,
                           max_mb=wb.MAX_BYTES // (1024 * 1024))


@bp.route("/admin/exchange/editions/<int:edition_id>/workbook.xlsx")
@organizer_required
def export_workbook(edition_id: int):
    edition = db.get_or_404(Edition, edition_id)
    try:
        data = ops.export_edition(edition)
    except ops.WorkbookError as error:
        flash("；".join(str(f) for f in error.faults), "danger")
        return redirect(url_for("exchange.index"))
    return xlsx_attachment(data, ops.export_filename(edition), f"edition-{edition.id}.xlsx")


@bp.route("/admin/exchange/editions/<int:edition_id>/results.xlsx")
@organizer_required
def results_workbook(edition_id: int):
    """The results workbook (成绩, 辅导教师奖励) of the latest computed snapshot of the deciding round:
    organizer only, whatever the snapshot's status (a draft holds unpublished scores and prizes)."""
    from judging.results import exports

    edition = db.get_or_404(Edition, edition_id)
    snapshot = _latest(edition)
    if snapshot is None:
        flash(f"{edition.title}的终评还没有计算结果。请先在结果页面计算，或在命令行运行 flask contest results。", "warning")
        return redirect(url_for("exchange.index"))
    return xlsx_attachment(exports.results_workbook(snapshot), exports.filename(snapshot, "成绩", "xlsx"),
                     f"results-{edition.id}.xlsx")
