"""Excel import of entries: the template and upload -> preview -> confirm.

The same flow and look as the schools/accounts import (contests/people_views.py), and the same
stored-upload helpers (judging.core.uploads): a file without faults is kept under UPLOAD_DIR/imports/<random token>.xlsx
with the token in the session (never a path from the client). Beside it the preview keeps the
rows it parsed (<token>.plan.json), so the confirming POST need not read the file again; it
still checks every row again against the database as it is then (create_entry runs the rules),
writes every entry in one transaction or nothing, and when a rule refuses now, re-plans from the
stored file to show every fault.

A coordinator imports for his own school, inside the registration window; an organizer imports
for any school through the 学校 column. Both work on the current (latest) edition.
"""
from __future__ import annotations

from pathlib import Path

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from judging.contests import operations as contest_ops
from judging.contests.people_forms import ImportConfirmForm, ImportUploadForm
from judging.core import sheets, uploads
from judging.core.permissions import COORDINATOR, ORGANIZER, roles_required
from judging.extensions import db
from judging.registration import imports
from judging.registration.blueprint import bp
from judging.registration.operations import RegistrationError
from judging.registration.rules import registration_closed_reason

KIND = "entries"  # the slot of this import among the session's pending uploads
PLAN_SUFFIX = ".plan.json"  # the checked rows, kept beside the stored upload
EDITION_KEY = "entry_import_edition"  # the edition the pending upload was checked against
PREVIEW_ROWS = 200  # rows of a clean file listed in the preview
FAULTS_SHOWN = 1000  # faults listed at most (the count is always shown)
CONFLICT_MESSAGE = "保存失败：作品编号刚被其他学校占用。请重新上传文件再试一次；没有导入任何作品。"


def _edition_or_home():
    edition = contest_ops.latest_edition()
    if edition is None:
        flash("组委会尚未设置届次，暂时不能导入作品。", "warning")
    return edition


def _entry_list_url() -> str:
    """Where the imported entries are listed: the school's entries, or the organizer's review list."""
    return url_for("registration.entries" if current_user.role == ORGANIZER else "registration.my_entries")


def _own_school():
    """The coordinator's school; None for the organizer (the 学校 column decides)."""
    return current_user.school if current_user.role == COORDINATOR else None


@bp.route("/school/entries/template.xlsx")
@roles_required(ORGANIZER, COORDINATOR)
def entries_template():
    edition = _edition_or_home()
    if edition is None:
        return redirect(url_for("core.home"))
    school = _own_school()
    data = imports.template_bytes(edition, school)
    name = f"作品导入模板-{school.name}.xlsx" if school is not None else "作品导入模板（组委会）.xlsx"
    return uploads.xlsx_download(data, name)


def _plan(data: bytes, filename: str, edition):
    return imports.plan_entry_import(data, filename, edition, current_user._get_current_object(), _own_school())


def _plan_path(token: str) -> Path:
    """The checked rows of a pending upload, kept beside it (imports.dump_plan)."""
    return uploads.imports_dir() / f"{token}{PLAN_SUFFIX}"


def _remove_stale_plans() -> None:
    uploads.remove_stale_uploads(uploads.imports_dir(), f"*{PLAN_SUFFIX}")


def _forget() -> None:
    stored = uploads.stored(KIND)
    if stored is not None:
        _plan_path(stored[0]).unlink(missing_ok=True)
    uploads.forget(KIND)
    session.pop(EDITION_KEY, None)


def _keep(plan, data: bytes, filename: str, edition) -> str:
    _forget()
    _remove_stale_plans()
    token = uploads.keep(KIND, data, filename)
    _plan_path(token).write_bytes(imports.dump_plan(plan))
    session[EDITION_KEY] = edition.id
    return token


def _confirm(edition, school):
    """Import the pending upload; returns a response, or the plan whose faults the page shows."""
    stored = uploads.stored(KIND)
    if stored is None or stored[0] != request.form.get("token") or not stored[2].exists() \
            or session.get(EDITION_KEY) != edition.id:
        _forget()
        flash("没有待确认的导入文件（可能已经导入，或已过期）。请重新上传。", "warning")
        return redirect(url_for("registration.entries_import")), None
    token, filename, path = stored
    data = path.read_bytes()
    kept = _plan_path(token)
    plan = imports.load_plan(kept.read_bytes(), edition, school) if kept.exists() else None
    if plan is None:  # kept rows missing or no longer fitting: check the file again
        plan = _plan(data, filename, edition)
    _forget()
    if plan.ok:
        user = current_user._get_current_object()
        try:
            result = imports.apply_entry_import(plan, edition, user)
            db.session.commit()
        except RegistrationError as error:
            db.session.rollback()
            plan = _plan(data, filename, edition)  # name every fault, not only the first refusal
            if plan.ok:  # refused for a reason the file does not show
                flash("导入失败，没有导入任何作品：" + str(error), "danger")
                return redirect(url_for("registration.entries_import")), None
        except IntegrityError:
            db.session.rollback()
            flash(CONFLICT_MESSAGE, "danger")
            return redirect(url_for("registration.entries_import")), None
        else:
            flash(f"已从「{plan.filename}」导入{result.count}件作品，编号 {result.summary}。", "success")
            return redirect(_entry_list_url()), None
    flash("数据在预览之后有变化，文件现在有错误，未导入任何作品。请修改后重新上传。", "danger")
    return None, plan


@bp.route("/school/entries/import", methods=["GET", "POST"])
@roles_required(ORGANIZER, COORDINATOR)
def entries_import():
    edition = _edition_or_home()
    if edition is None:
        return redirect(url_for("core.home"))
    school = _own_school()
    upload_form = ImportUploadForm()
    confirm_form = ImportConfirmForm()
    plan = None
    token = None
    if request.method == "POST" and request.form.get("step") == "confirm":
        if not confirm_form.validate_on_submit():
            abort(400)
        response, plan = _confirm(edition, school)
        if response is not None:
            return response
    elif request.method == "POST" and upload_form.validate_on_submit():
        data, filename = uploads.read_upload(upload_form)
        if data is not None:
            plan = _plan(data, filename, edition)
            if plan.ok:
                token = _keep(plan, data, filename, edition)
                confirm_form.token.data = token
            else:
                _forget()
    closed = None if current_user.role == ORGANIZER else registration_closed_reason(edition)
    return render_template(
        "registration/import/entries.html", edition=edition, school=school, closed=closed, plan=plan, token=token,
        upload_form=upload_form, confirm_form=confirm_form, preview_rows=PREVIEW_ROWS, faults_shown=FAULTS_SHOWN,
        spec=imports.entry_sheet(edition, school is None, for_template=True), max_rows=imports.MAX_ENTRY_ROWS,
        max_mb=sheets.MAX_IMPORT_BYTES // (1024 * 1024), list_url=_entry_list_url())
