"""Printing pages (organizer) and the public certificate verification page; the reward sheets'
routes live in reward_views.py on the same blueprint.

Certificates (organizer only), all under /admin/editions/<edition_id>/certificates (which itself is
the certificate settings page, contests.certificate_settings):
  GET   .../printing           the page: final results, numbers issued, print form, jobs, revoked
  POST  .../issue              issue / update the numbers from the final results
  POST  .../print              print a batch: streamed PDF, background PDF, or zip per school
  GET   .../certificate.pdf    one certificate by ?number= (a revoked one is marked 已撤销)
  GET   .../sample.pdf         a specimen with made-up names (works before the results are final)
  GET   .../register.xlsx      the register of every certificate issued (证书发放登记表)
  GET   .../job?id=            a background job's progress page; .../job/status?id= its JSON;
                               .../job/download?id= its file
  POST  .../images             upload or remove the seal and border images (the settings page)
  GET   .../image?which=       the stored image, for the settings page's preview
The verification page (public) is in verify_views.py.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, send_file, \
    stream_with_context, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import func, select
from wtforms import BooleanField, RadioField, SelectField

from judging.contests.models import Category, Edition
from judging.core.permissions import ORGANIZER, api_roles_required, organizer_required
from judging.extensions import db
from judging.printing.models import CERTIFICATE_KINDS, JOB_OUTPUTS, Certificate, PrintJob

bp = Blueprint("printing", __name__)

PDF_MIMETYPE = "application/pdf"
OUTPUTS = {"direct": "直接下载 PDF", "job": "后台生成 PDF（显示进度）", "zip": "按学校分别生成 PDF，打包为 ZIP"}


def load_views() -> Blueprint:
    from judging.printing import reward_views  # noqa: F401
    from judging.printing import verify_views  # noqa: F401

    return bp


class PrintForm(FlaskForm):
    kind = SelectField("证书", choices=list(CERTIFICATE_KINDS.items()))
    school = SelectField("学校", choices=[], coerce=str, validate_choice=False)
    category = SelectField("类别", choices=[], coerce=str, validate_choice=False)
    output = RadioField("方式", choices=list(OUTPUTS.items()), default="direct")


class ImagesForm(FlaskForm):
    seal_image = FileField("印章图片（背景透明的 PNG）")
    border_image = FileField("证书边框图片（PNG 或 JPG，A4 横向）")
    remove_seal_image = BooleanField("删除印章图片")
    remove_border_image = BooleanField("删除边框图片")


def _edition(edition_id: int) -> Edition:
    return db.get_or_404(Edition, edition_id)


def _user():
    return current_user._get_current_object()


def _page(edition: Edition) -> str:
    return url_for("printing.certificates", edition_id=edition.id)


def _refused(message: str, edition: Edition):
    db.session.rollback()
    flash(message, "danger")
    return redirect(_page(edition))


def _int_or_none(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        abort(400)
    return int(raw)


def _attachment_headers(filename: str, ascii_name: str) -> dict[str, str]:
    """RFC 6266 with the UTF-8 name (RFC 5987) and an ASCII fallback."""
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store"}


# --- The page ---------------------------------------------------------------------------------------

@bp.route("/admin/editions/<int:edition_id>/certificates/printing")
@organizer_required
def certificates(edition_id: int):
    from judging.printing import batches
    from judging.printing import operations as ops
    from judging.printing.source import PrintingError, final_snapshot

    edition = _edition(edition_id)
    snapshot = final_snapshot(edition, required=False)
    plan, plan_error = None, None
    if snapshot is not None:
        try:
            plan = ops.issue_certificates(edition, None, dry_run=True)
        except PrintingError as error:
            plan_error = str(error)
    counts = {kind: {"active": 0, "revoked": 0} for kind in CERTIFICATE_KINDS}
    for kind, revoked, n in db.session.execute(
            select(Certificate.kind, Certificate.revoked_at.is_not(None), func.count())
            .where(Certificate.edition_id == edition.id).group_by(Certificate.kind, Certificate.revoked_at.is_not(None))):
        counts[kind]["revoked" if revoked else "active"] += n
    revoked = list(db.session.scalars(select(Certificate).where(
        Certificate.edition_id == edition.id, Certificate.revoked_at.is_not(None))
        .order_by(Certificate.revoked_at.desc(), Certificate.id.desc()).limit(200)))
    jobs = list(db.session.scalars(select(PrintJob).where(PrintJob.edition_id == edition.id)
                                   .order_by(PrintJob.id.desc()).limit(10)))
    form = PrintForm()
    form.school.choices = [("", "全部学校")] + [(str(sid), name) for sid, name in batches.school_choices(edition)]
    form.category.choices = [("", "全部类别")] + [(str(c.id), c.name) for c in edition.categories]
    found, number = None, (request.args.get("number") or "").strip()
    if number:
        found = ops.certificate_by_number(number)
        if found is not None and found.edition_id != edition.id:
            found = None
    settings = ops.settings_of(edition)
    return render_template(
        "printing/certificates.html", edition=edition, snapshot=snapshot, plan=plan, plan_error=plan_error,
        counts=counts, kinds=CERTIFICATE_KINDS, revoked=revoked, jobs=jobs, form=form, settings=settings,
        job_state=batches.job_state, outputs=JOB_OUTPUTS, base_url=batches.public_base_url(),
        base_configured=bool(_configured_base()), direct_limit=batches.DIRECT_LIMIT, number=number, found=found,
        org_award_schools=ops.org_award_schools(snapshot, settings.org_award_count) if snapshot else [])


def _configured_base() -> str | None:
    import os

    from flask import current_app

    return current_app.config.get("PUBLIC_BASE_URL") or os.environ.get("PUBLIC_BASE_URL")


@bp.route("/admin/editions/<int:edition_id>/certificates/issue", methods=["POST"])
@organizer_required
def certificates_issue(edition_id: int):
    from judging.printing import operations as ops
    from judging.printing.source import PrintingError

    edition = _edition(edition_id)
    try:
        report = ops.issue_certificates(edition, _user())
    except PrintingError as error:
        return _refused(str(error), edition)
    db.session.commit()
    flash(report.summary, "success")
    for number, reason in report.revoked[:20]:
        flash(f"已撤销 {number}：{reason}", "warning")
    return redirect(_page(edition))


def _selection(form: PrintForm):
    from judging.printing.batches import Selection

    kind = form.kind.data if form.kind.data in CERTIFICATE_KINDS else "student"
    return Selection(kind, _int_or_none(form.school.data), _int_or_none(form.category.data))


@bp.route("/admin/editions/<int:edition_id>/certificates/print", methods=["POST"])
@organizer_required
def certificates_print(edition_id: int):
    from judging.printing import batches
    from judging.printing import operations as ops
    from judging.printing.source import PrintingError

    edition = _edition(edition_id)
    form = PrintForm()
    form.school.choices = []
    form.category.choices = []
    if not form.validate_on_submit():
        return _refused("请选择要打印的证书。", edition)
    selection = _selection(form)
    if selection.category_id is not None:
        category = db.session.get(Category, selection.category_id)
        if category is None or category.edition_id != edition.id:
            abort(404)
    output = form.output.data if form.output.data in OUTPUTS else "direct"
    base_url = batches.public_base_url()
    try:
        report = ops.issue_certificates(edition, _user())
        db.session.commit()
        if report.changed:
            flash(report.summary, "info")
        if output == "direct":
            count = len(batches.load_rows(edition, selection))
            if count > batches.DIRECT_LIMIT:
                raise PrintingError(f"这一批有{count}张证书，超过直接下载的{batches.DIRECT_LIMIT}张："
                                    "请选择“后台生成”，生成过程中可以看到进度。")
            chunks, count = batches.prepare_download(edition, selection, base_url)
            filename = batches.safe_filename(edition.title, batches.describe(edition, selection).replace(" · ", "-"),
                                             extension="pdf")
            return Response(stream_with_context(chunks), mimetype=PDF_MIMETYPE,
                            headers=_attachment_headers(filename, f"certificates-{edition.id}.pdf"))
        job = batches.start_job(edition, selection, "zip" if output == "zip" else "pdf", _user(), base_url)
    except PrintingError as error:
        return _refused(str(error), edition)
    return redirect(url_for("printing.certificates_job", edition_id=edition.id, id=job.token))


@bp.route("/admin/editions/<int:edition_id>/certificates/certificate.pdf")
@organizer_required
def certificate_pdf(edition_id: int):
    from judging.printing import batches
    from judging.printing import operations as ops
    from judging.printing.source import PrintingError

    edition = _edition(edition_id)
    cert = ops.certificate_by_number(request.args.get("number", ""))
    if cert is None or cert.edition_id != edition.id:
        abort(404)
    try:
        chunks, _ = batches.prepare_download(edition, batches.Selection(cert.kind, number=cert.number),
                                             batches.public_base_url())
    except PrintingError as error:
        return _refused(str(error), edition)
    filename = batches.safe_filename(cert.number, cert.holder_name, extension="pdf")
    return Response(stream_with_context(chunks), mimetype=PDF_MIMETYPE,
                    headers=_attachment_headers(filename, f"certificate-{cert.id}.pdf"))


@bp.route("/admin/editions/<int:edition_id>/certificates/sample.pdf")
@organizer_required
def certificates_sample(edition_id: int):
    """A specimen of each kind with made-up names, with the edition's texts and images."""
    from judging.printing import batches
    from judging.printing.certificates import iter_certificates_pdf
    from judging.printing.source import PrintingError

    edition = _edition(edition_id)
    try:
        printer = batches.Printer(edition, batches.public_base_url())
        rows = batches.sample_rows(edition)
        fonts = batches.fonts_or_error()
        settings = printer.print_settings("荣誉证书 · 样张")
        batches.check_printable(printer, rows, fonts, settings, layout=True)
        data = b"".join(iter_certificates_pdf(printer.items(rows), fonts, settings))
    except PrintingError as error:
        return _refused(str(error), edition)
    return Response(data, mimetype=PDF_MIMETYPE,
                    headers=_attachment_headers(f"{edition.title}-证书样张.pdf", f"certificate-sample-{edition.id}.pdf"))


@bp.route("/admin/editions/<int:edition_id>/certificates/register.xlsx")
@organizer_required
def certificates_register(edition_id: int):
    from judging.printing import batches
    from judging.core.sheets import XLSX_MIMETYPE

    edition = _edition(edition_id)
    data = batches.register_xlsx(edition)
    return Response(data, mimetype=XLSX_MIMETYPE,
                    headers=_attachment_headers(f"{edition.title}-证书发放登记表.xlsx",
                                                f"certificate-register-{edition.id}.xlsx"))


# --- Background jobs --------------------------------------------------------------------------------------

def _job(edition: Edition) -> PrintJob:
    token = request.args.get("id", "")
    job = db.session.scalar(select(PrintJob).where(PrintJob.token == token)) if token else None
    if job is None or job.edition_id != edition.id:
        abort(404)
    return job


@bp.route("/admin/editions/<int:edition_id>/certificates/job")
@organizer_required
def certificates_job(edition_id: int):
    from judging.printing import batches

    edition = _edition(edition_id)
    job = _job(edition)
    return render_template("printing/certificates_job.html", edition=edition, job=job, state=batches.job_state(job))


@bp.route("/admin/editions/<int:edition_id>/certificates/job/status")
@api_roles_required(ORGANIZER)
def certificates_job_status(edition_id: int):
    from judging.printing import batches

    edition = db.session.get(Edition, edition_id)
    token = request.args.get("id", "")
    job = db.session.scalar(select(PrintJob).where(PrintJob.token == token)) if token and edition else None
    if job is None or job.edition_id != edition_id:
        return jsonify(ok=False, error="not_found", message="没有这个打印任务。"), 404
    state = batches.job_state(job)
    if state["available"]:
        state["download"] = url_for("printing.certificates_job_download", edition_id=edition_id, id=job.token)
    response = jsonify(ok=True, **state)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/admin/editions/<int:edition_id>/certificates/job/download")
@organizer_required
def certificates_job_download(edition_id: int):
    from judging.printing import batches

    edition = _edition(edition_id)
    job = _job(edition)
    state = batches.job_state(job)
    if not state["available"]:
        flash(state["message"] or "文件还没有生成好。", "warning")
        return redirect(url_for("printing.certificates_job", edition_id=edition.id, id=job.token))
    mimetype = PDF_MIMETYPE if job.output == "pdf" else "application/zip"
    return send_file(batches.job_file(job), mimetype=mimetype, as_attachment=True, download_name=job.filename,
                     max_age=0)


# --- Seal and border images (posted from the certificate settings page) ---------------------------------

@bp.route("/admin/editions/<int:edition_id>/certificates/images", methods=["POST"])
@organizer_required
def certificate_images(edition_id: int):
    from judging.printing import operations as ops
    from judging.printing.source import PrintingError

    edition = _edition(edition_id)
    back = redirect(url_for("contests.certificate_settings", edition_id=edition.id))
    form = ImagesForm()
    if not form.validate_on_submit():
        flash("表单已失效，请刷新页面后重试。", "danger")
        return back
    replaced: list[str] = []
    stored: list[str] = []
    changed: list[str] = []
    try:
        for which, label in ops.IMAGES.items():
            upload = getattr(form, which).data
            if upload and getattr(upload, "filename", ""):
                filename = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:120]
                data = upload.read(ops.IMAGE_MAX_BYTES + 1)
                old = ops.store_image(edition, which, data, filename, _user())
                stored.append(getattr(edition.certificate_settings, which))
                replaced.append(old)
                changed.append(f"已上传{label}")
            elif getattr(form, f"remove_{which}").data:
                old = ops.remove_image(edition, which, _user())
                if old:
                    replaced.append(old)
                    changed.append(f"已删除{label}")
        db.session.commit()
    except PrintingError as error:
        db.session.rollback()
        for name in stored:  # all or nothing
            ops.delete_image_file(name)
        flash(f"{error} 没有保存任何图片。", "danger")
        return back
    for name in replaced:
        ops.delete_image_file(name)
    flash("；".join(changed) + "。" if changed else "没有选择要上传或删除的图片。", "success" if changed else "info")
    return back


@bp.route("/admin/editions/<int:edition_id>/certificates/image")
@organizer_required
def certificate_image(edition_id: int):
    from judging.printing import operations as ops
    from judging.printing.source import PrintingError

    edition = _edition(edition_id)
    which = request.args.get("which", "")
    if which not in ("seal", "border"):
        abort(404)
    settings = edition.certificate_settings
    name = getattr(settings, f"{which}_image", None) if settings else None
    try:
        path = ops.image_path(name)
    except PrintingError:
        abort(404)
    if path is None or not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/png" if path.suffix == ".png" else "image/jpeg", max_age=0)
