"""School coordinator pages: the school's entries of the current edition, the entry form, attachments.

Thin: parse (school_forms), check permission (core.permissions), call registration.operations,
render. A coordinator reaches only his own school's entries: any other id answers 404
(require_school), so an id is never confirmed to exist. Organizers see what a school sees with
?school=<id> and may correct any entry at any time (the operations apply the same rule).

Attachments are checked by content (school_forms.detect_file), written to a temporary name and
renamed into UPLOAD_DIR/attachments/<2 hex>/<random>.<ext> (outside static/, never the client's
name), and served only by attachment_file, which checks who asks.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import joinedload, selectinload

from judging.contests.models import Category, Division, Edition
from judging.contests.operations import latest_edition
from judging.core import audit
from judging.core.models import AuditEvent, School
from judging.core.permissions import COORDINATOR, ORGANIZER, login_required_any, require_school, roles_required
from judging.extensions import db
from judging.registration.blueprint import bp
from judging.registration.models import ENTRY_STATUSES, GENDERS, Attachment, Entry, EntryInstructor
from judging.registration.operations import (
    RegistrationError,
    check_window,
    create_entry,
    delete_entry,
    update_entry,
)
from judging.registration.rules import registration_closed_reason
from judging.registration.school_forms import (
    ACCEPT,
    GRADE_SUGGESTIONS,
    MAX_ATTACHMENTS,
    DetectedFile,
    EntryFormState,
    UploadRefused,
    check_claim,
    clean_filename,
    detect_file,
    download_name,
    format_size,
    parse_entry_form,
    row_counts,
    state_from_entry,
)

log = logging.getLogger(__name__)

# A coordinator may no longer change an entry the organizer approved or disqualified
# (operations.update_entry refuses it; the pages show the form disabled with the same reason).
READ_ONLY_STATUSES = {
    "approved": "作品已通过审核，不能再修改；如需更正请联系组委会。",
    "disqualified": "作品已被取消资格，不能再修改；如需更正请联系组委会。",
}
FORM_FIELDS = {"title", "category", "subform", "division", "description", "video_url", "students", "instructors"}
REVIEW_ACTIONS = ("entry_approved", "entry_returned", "entry_disqualified", "entry_submitted")
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp|pdf)$")
CHUNK = 64 * 1024


# --- Who and what ---------------------------------------------------------------------------------

def _is_organizer() -> bool:
    return current_user.role == ORGANIZER


def _user():
    return current_user._get_current_object()


def _requested_school() -> School | None:
    """The school whose entries are shown: a coordinator's own (whatever the URL says); an
    organizer's ?school=<id>, or None when he has not chosen one yet."""
    if not _is_organizer():
        require_school(current_user.school_id)
        return current_user.school
    school_id = request.args.get("school", type=int)
    if school_id is None:
        return None
    school = db.session.get(School, school_id)
    if school is None:
        abort(404)
    return school


def _entry(entry_id: int) -> Entry:
    """An entry the current user may see, else 404 (also for another school's entry)."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        abort(404)
    require_school(entry.school_id)
    return entry


def _list_url(school_id: int) -> str:
    if _is_organizer():
        return url_for("registration.my_entries", school=school_id)
    return url_for("registration.my_entries")


def _edit_refusal(entry: Entry) -> str | None:
    """Why the current user may not change this entry (or its attachments) now, or None."""
    try:
        check_window(entry.edition, current_user)
    except RegistrationError as error:
        return str(error)
    if not _is_organizer() and entry.status in READ_ONLY_STATUSES:
        return READ_ONLY_STATUSES[entry.status]
    return None


def _check_csrf() -> None:
    # CSRFProtect refuses a bad token before the view already; this keeps the check explicit here.
    if not FlaskForm().validate_on_submit():
        abort(400)


def _school_picker(edition: Edition | None, target: str):
    """An organizer opened a school page without ?school=<id>: let him choose the school."""
    counts = {}
    if edition is not None:
        counts = dict(db.session.execute(
            select(Entry.school_id, func.count()).where(Entry.edition_id == edition.id)
            .group_by(Entry.school_id)).all())
    schools = list(db.session.scalars(select(School).order_by(School.name)))
    return render_template("registration/school/pick_school.html", schools=schools, counts=counts,
                           edition=edition, target=target)


# --- The school's list ----------------------------------------------------------------------------

@bp.route("/school/entries")
@roles_required(ORGANIZER, COORDINATOR)
def my_entries():
    edition = latest_edition()
    school = _requested_school()
    if school is None:
        return _school_picker(edition, "registration.my_entries")
    entries, attachment_counts = [], {}
    if edition is not None:
        entries = list(db.session.scalars(
            select(Entry).join(Category, Entry.category_id == Category.id)
            .join(Division, Entry.division_id == Division.id)
            .where(Entry.edition_id == edition.id, Entry.school_id == school.id)
            .options(joinedload(Entry.category), joinedload(Entry.division),
                     selectinload(Entry.students), selectinload(Entry.instructors))
            .order_by(Category.position, Category.id, Division.position, Division.id, Entry.sequence)))
        attachment_counts = dict(db.session.execute(
            select(Attachment.entry_id, func.count()).join(Entry, Attachment.entry_id == Entry.id)
            .where(Entry.edition_id == edition.id, Entry.school_id == school.id)
            .group_by(Attachment.entry_id)).all())
    return render_template(
        "registration/school/entries.html", edition=edition, school=school, entries=entries,
        attachment_counts=attachment_counts, closed=registration_closed_reason(edition) if edition else None,
        read_only_statuses=tuple(READ_ONLY_STATUSES))


# --- The entry form -------------------------------------------------------------------------------

@bp.route("/school/entries/new", methods=["GET", "POST"])
@roles_required(ORGANIZER, COORDINATOR)
def entry_new():
    edition = latest_edition()
    school = _requested_school()
    if school is None:
        return _school_picker(edition, "registration.entry_new")
    if edition is None:
        flash("组委会尚未设置届次，暂时不能报名。", "warning")
        return redirect(_list_url(school.id))
    return _entry_form(edition, school, None)


@bp.route("/school/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@roles_required(ORGANIZER, COORDINATOR)
def entry_edit(entry_id: int):
    entry = _entry(entry_id)
    return _entry_form(entry.edition, entry.school, entry)


def _known_instructors(school_id: int) -> list[str]:
    """Teachers this school has named on any entry, in any edition: offered as suggestions."""
    return list(db.session.scalars(
        select(EntryInstructor.name).join(Entry, EntryInstructor.entry_id == Entry.id)
        .where(Entry.school_id == school_id).distinct().order_by(EntryInstructor.name).limit(500)))


def _entry_form(edition: Edition, school: School, entry: Entry | None):
    state = state_from_entry(entry) if entry is not None else EntryFormState()
    student_rows, instructor_rows = row_counts(edition, state)
    if entry is None:
        refusal = None if _is_organizer() else registration_closed_reason(edition)
    else:
        refusal = _edit_refusal(entry)
    if request.method == "POST":
        _check_csrf()
        state, data = parse_entry_form(request.form, student_rows, instructor_rows)
        try:
            if entry is None:
                saved, verdict = create_entry(edition, school, data, _user())
            else:
                verdict = update_entry(entry, data, _user())
                saved = entry
            db.session.commit()
        except RegistrationError as error:
            db.session.rollback()
            state.add_problems(error.problems)
            for warning in error.warnings:
                flash(warning, "warning")
        except IntegrityError:
            db.session.rollback()
            state.add_error("_", "保存失败：作品编号刚被其他学校占用，请再点一次“保存”。")
        else:
            for warning in verdict.warnings:
                flash(warning, "warning")
            flash(f"作品 {saved.code}《{saved.title}》已保存。", "success")
            return redirect(url_for("registration.entry_detail", entry_id=saved.id))
    if entry is None:
        action = url_for("registration.entry_new", school=school.id) if _is_organizer() else url_for(
            "registration.entry_new")
    else:
        action = url_for("registration.entry_edit", entry_id=entry.id)
    return render_template(
        "registration/school/entry_form.html", edition=edition, school=school, entry=entry, state=state,
        student_rows=student_rows, instructor_rows=instructor_rows, refusal=refusal, action=action,
        known_instructors=_known_instructors(school.id), genders=GENDERS, grades=GRADE_SUGGESTIONS,
        general_errors=state.general_errors(FORM_FIELDS | {f"students-{i}" for i in range(1, student_rows + 1)}),
        back_url=url_for("registration.entry_detail", entry_id=entry.id) if entry else _list_url(school.id))


@bp.route("/school/entries/<int:entry_id>/delete", methods=["POST"])
@roles_required(ORGANIZER, COORDINATOR)
def entry_delete(entry_id: int):
    entry = _entry(entry_id)
    _check_csrf()
    school_id, code, title = entry.school_id, entry.code, entry.title
    paths = [_stored_path(a.stored_name) for a in entry.attachments]
    try:
        delete_entry(entry, _user())
        db.session.commit()
    except RegistrationError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("registration.entry_detail", entry_id=entry_id))
    _remove_files(paths)
    flash(f"作品 {code}《{title}》已删除。", "success")
    return redirect(_list_url(school_id))


# --- One entry, read-only -------------------------------------------------------------------------

def _review_history(entry: Entry) -> list[dict]:
    """The organizer's review decisions on this entry (资格审查), oldest first, from the audit log."""
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "entry", AuditEvent.object_id == entry.id,
                                 AuditEvent.action.in_(REVIEW_ACTIONS), AuditEvent.at >= entry.created_at)
        .order_by(AuditEvent.id))
    history = []
    for event in events:
        try:
            after = json.loads(event.after or "{}")
        except ValueError:
            after = {}
        status = after.get("status") or event.action.removeprefix("entry_")
        history.append({"at": event.at, "status": status, "label": ENTRY_STATUSES.get(status, status),
                        "remark": after.get("review_remark")})
    return history


@bp.route("/school/entries/<int:entry_id>")
@roles_required(ORGANIZER, COORDINATOR)
def entry_detail(entry_id: int):
    entry = _entry(entry_id)
    video = entry.video_url if entry.video_url and re.match(r"^https?://", entry.video_url, re.I) else None
    return render_template(
        "registration/school/entry_detail.html", entry=entry, refusal=_edit_refusal(entry),
        history=_review_history(entry), video_url=video, max_attachments=MAX_ATTACHMENTS, accept=ACCEPT,
        max_mb=_max_mb(), list_url=_list_url(entry.school_id), format_size=format_size)


# --- Attachments ----------------------------------------------------------------------------------

def _max_mb() -> float:
    return float(current_app.config.get("ATTACHMENT_MAX_MB", 20))


def _mb_text(mb: float) -> str:
    return f"{mb:g} MB"


def _attachment_root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "attachments"


def _stored_path(stored_name: str) -> Path:
    """Where a stored attachment lives. The name is ours (random hex), checked again before use."""
    if not STORED_NAME.fullmatch(stored_name):
        raise ValueError(f"not a stored attachment name: {stored_name!r}")
    return _attachment_root() / stored_name[:2] / stored_name


def _remove_files(paths) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove attachment file %s", path, exc_info=True)


@dataclass
class _Received:
    original_name: str
    temp: Path
    final: Path
    size: int
    sha256: str
    detected: DetectedFile

    @property
    def stored_name(self) -> str:
        return self.final.name


def _receive(storage, name: str, limit_bytes: int) -> _Received:
    """Write one uploaded file to a temporary name next to its final place, hashing and counting
    as it goes; then check its content. UploadRefused (and the temporary file removed) when it
    is too big, empty or not what it must be."""
    token = secrets.token_hex(16)
    folder = _attachment_root() / token[:2]
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{token}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with temp.open("xb") as out:
            while chunk := storage.stream.read(CHUNK):
                size += len(chunk)
                if size <= limit_bytes:
                    digest.update(chunk)
                    out.write(chunk)
        if size > limit_bytes:  # read to the end (the request is capped) to name the real size
            raise UploadRefused(f"大小为 {format_size(size)}，超过了每个文件 {_mb_text(_max_mb())} 的上限")
        if size == 0:
            raise UploadRefused("文件是空的")
        detected = detect_file(temp)
        check_claim(name, detected)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return _Received(name, temp, folder / f"{token}.{detected.extension}", size, digest.hexdigest(), detected)


@bp.route("/school/entries/<int:entry_id>/attachments", methods=["POST"])
@roles_required(ORGANIZER, COORDINATOR)
def attachment_upload(entry_id: int):
    entry = _entry(entry_id)
    _check_csrf()
    back = redirect(url_for("registration.entry_detail", entry_id=entry.id))
    refusal = _edit_refusal(entry)
    if refusal:
        flash(refusal, "danger")
        return back
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        flash("请先选择要上传的照片（JPG、PNG、WEBP）或论文 PDF。", "danger")
        return back
    existing = len(entry.attachments)
    if existing + len(files) > MAX_ATTACHMENTS:
        flash(f"每件作品最多 {MAX_ATTACHMENTS} 个附件：已有 {existing} 个，这次选了 {len(files)} 个。"
              "没有保存任何文件。", "danger")
        return back

    limit_bytes = int(_max_mb() * 1024 * 1024)
    known = {a.sha256: a.original_name for a in entry.attachments}
    received: list[_Received] = []
    refused: list[str] = []
    try:
        for storage in files:
            name = clean_filename(storage.filename)
            try:
                item = _receive(storage, name, limit_bytes)
            except UploadRefused as reason:
                refused.append(f"文件「{name}」：{reason}。")
                continue
            if item.sha256 in known:
                item.temp.unlink(missing_ok=True)
                refused.append(f"文件「{name}」：与已上传的「{known[item.sha256]}」内容相同。")
                continue
            known[item.sha256] = name
            received.append(item)
        if refused:  # all or nothing: the good files of this batch are not kept either
            _remove_files(item.temp for item in received)
            for message in refused:
                flash(message, "danger")
            if len(files) > 1:
                flash("这次选择的文件都没有保存：请去掉或更换上面的文件后重新上传。", "danger")
            return back
        for item in received:
            os.replace(item.temp, item.final)
        user = _user()
        for item in received:
            attachment = Attachment(
                entry=entry, kind=item.detected.kind, original_name=item.original_name,
                stored_name=item.stored_name, content_type=item.detected.content_type, size=item.size,
                sha256=item.sha256, uploaded_by_id=user.id)
            db.session.add(attachment)
            audit.record("attachment_added", attachment, edition_id=entry.edition_id,
                         after={"entry": entry.code, "original_name": item.original_name, "kind": item.detected.kind,
                                "content_type": item.detected.content_type, "size": item.size,
                                "sha256": item.sha256, "stored_name": item.stored_name},
                         summary=f"上传附件 {entry.code}：{item.original_name}")
        db.session.commit()
    except (SQLAlchemyError, OSError):
        db.session.rollback()
        _remove_files([item.temp for item in received] + [item.final for item in received])
        log.exception("attachment upload failed for entry %s", entry_id)
        flash("文件没有保存：服务器保存时出错，请稍后重试；如仍不行请联系组委会。", "danger")
        return back
    except BaseException:
        db.session.rollback()
        _remove_files([item.temp for item in received] + [item.final for item in received])
        raise
    names = "、".join(f"「{item.original_name}」" for item in received)
    flash(f"已上传 {len(received)} 个文件：{names}。", "success")
    return back


@bp.route("/school/entries/<int:entry_id>/attachments/<int:attachment_id>/delete", methods=["POST"])
@roles_required(ORGANIZER, COORDINATOR)
def attachment_delete(entry_id: int, attachment_id: int):
    entry = _entry(entry_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.entry_id != entry.id:
        abort(404)
    _check_csrf()
    back = redirect(url_for("registration.entry_detail", entry_id=entry.id))
    refusal = _edit_refusal(entry)
    if refusal:
        flash(refusal, "danger")
        return back
    path = _stored_path(attachment.stored_name)
    name = attachment.original_name
    audit.record("attachment_deleted", attachment, edition_id=entry.edition_id,
                 before={"entry": entry.code, "original_name": name, "kind": attachment.kind,
                         "size": attachment.size, "sha256": attachment.sha256,
                         "stored_name": attachment.stored_name},
                 summary=f"删除附件 {entry.code}：{name}")
    db.session.delete(attachment)
    db.session.commit()
    _remove_files([path])  # after the commit: a failed commit keeps the file its row still names
    flash(f"附件「{name}」已删除。", "success")
    return back


@bp.route("/files/attachments/<int:attachment_id>")
@login_required_any
def attachment_file(attachment_id: int):
    """The file itself, to the organizer or the coordinator of the entry's school; anyone else 404."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        abort(404)
    require_school(attachment.entry.school_id)
    try:
        path = _stored_path(attachment.stored_name)
    except ValueError:
        abort(404)
    if not path.is_file():
        log.warning("attachment %s has no file at %s", attachment.id, path)
        abort(404)
    extension = attachment.stored_name.rsplit(".", 1)[1]
    response = send_file(path, mimetype=attachment.content_type, as_attachment=False,
                         download_name=download_name(attachment.original_name, extension), conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private"
    return response
