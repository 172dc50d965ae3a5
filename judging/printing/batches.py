"""Printing batches of issued certificates: per school, per category or all of a kind; as one PDF
streamed to the browser or written to disk, or as a zip with one PDF per school.

- Rows are loaded in a handful of queries as plain tuples, in print order (pool, prize, entry code,
  the names' listed order; 优秀组织奖 in the order they were issued, i.e. by rank); the PDF is
  drawn and written page by page (certificates.write_certificates / iter_certificates_pdf), so a
  batch of 10,000 never sits in memory as a PDF.
- Before anything is printed every character of every text is checked against the font
  (check_printable): a missing one is reported with the certificate and the holder's name, and
  nothing is printed.
- Long batches run as a background job (a thread) writing UPLOAD_DIR/prints/<token>.pdf|zip, with
  its progress in the print_job table, so any worker can answer the page polling it.
- print_student_certificates(): the CLI's `flask print certificates ID --out FILE.pdf`.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import select

from judging.contests.models import Category, Division, Edition
from judging.core.fonts import FontCoverageError, FontError, FontSet, ensure_fonts
from judging.core.models import School, User, utcnow
from judging.extensions import db
from judging.printing import operations as ops
from judging.printing.certificates import (
    CertificateData,
    CertificateImageError,
    CertificateLayoutError,
    CertificateRenderer,
    PrintSettings,
    check_glyphs,
    fill_text,
    preflight,
    write_certificates,
)
from judging.printing.models import CERTIFICATE_KINDS, Certificate, PrintJob
from judging.printing.source import PrintingError, final_snapshot
from judging.registration.models import Entry, EntryInstructor, EntryStudent
from judging.results.reports import code_sort_key

log = logging.getLogger(__name__)

DIRECT_LIMIT = 1000  # larger batches go to a background job (progress shown, file kept for download)
JOB_STALE_SECONDS = 600  # a running job silent this long died with its worker
JOB_FILE_MAX_AGE = 24 * 3600
MAX_RUNNING_JOBS = 2  # per edition
PROGRESS_INTERVAL = 0.5  # seconds between progress writes
_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
_threads: dict[int, threading.Thread] = {}


@dataclass(frozen=True)
class Selection:
    """Which certificates: a kind, optionally one school or one category; or one by number
    (revoked ones included, marked)."""

    kind: str = "student"
    school_id: int | None = None
    category_id: int | None = None
    number: str | None = None

    def __post_init__(self):
        if self.kind not in CERTIFICATE_KINDS:
            raise ValueError(f"unknown certificate kind {self.kind!r}")


@dataclass(frozen=True)
class Row:
    """One certificate to print, as plain data (no ORM object: a background job commits its
    progress while rows are drawn)."""

    id: int
    kind: str
    number: str
    holder_name: str
    revoked: bool
    level_position: int | None
    sequence: int
    entry_code: str
    title: str
    category_name: str
    category_position: int
    category_id: int
    division_name: str
    division_position: int
    division_id: int
    school_id: int | None
    school_name: str
    students: tuple[str, ...] = ()
    instructors: tuple[str, ...] = ()

    def sort_key(self) -> tuple:
        if self.kind == "school":
            return (self.sequence, self.id)
        names = self.instructors if self.kind == "instructor" else self.students
        place = names.index(self.holder_name) if self.holder_name in names else len(names)
        return (self.category_position, self.category_id, self.division_position, self.division_id,
                self.level_position or 0, code_sort_key(self.entry_code), place, self.id)


def _names(model, entry_ids) -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = {}
    for entry_id, name in db.session.execute(
            select(model.entry_id, model.name).where(model.entry_id.in_(entry_ids))
            .order_by(model.entry_id, model.position)):
        out.setdefault(entry_id, []).append(ops.normalise_name(name))
    return {k: tuple(v) for k, v in out.items()}


def load_rows(edition: Edition, selection: Selection, include_revoked: bool = False) -> list[Row]:
    """The selected certificates in print order (revoked ones only with include_revoked, or when
    asked for by number): 3 queries."""
    c = Certificate
    stmt = (select(c.id, c.kind, c.number, c.holder_name, c.revoked_at, c.level_position, c.sequence,
                   Entry.code, Entry.title, Category.name, Category.position, Category.id,
                   Division.name, Division.position, Division.id, c.school_id, School.name, c.entry_id)
            .outerjoin(Entry, Entry.id == c.entry_id)
            .outerjoin(Category, Category.id == Entry.category_id)
            .outerjoin(Division, Division.id == Entry.division_id)
            .outerjoin(School, School.id == c.school_id)
            .where(c.edition_id == edition.id))
    if selection.number is not None:
        stmt = stmt.where(c.number == selection.number)
    else:
        stmt = stmt.where(c.kind == selection.kind)
        if not include_revoked:
            stmt = stmt.where(c.revoked_at.is_(None))
        if selection.school_id is not None:
            stmt = stmt.where(c.school_id == selection.school_id)
        if selection.category_id is not None:
            stmt = stmt.where(Entry.category_id == selection.category_id)
    entry_ids = select(c.entry_id).where(c.edition_id == edition.id, c.entry_id.is_not(None))
    students = _names(EntryStudent, entry_ids)
    instructors = _names(EntryInstructor, entry_ids)
    rows = []
    for (cid, kind, number, holder, revoked_at, level, sequence, code, title, cat_name, cat_pos, cat_id,
         div_name, div_pos, div_id, school_id, school_name, entry_id) in db.session.execute(stmt):
        rows.append(Row(cid, kind, number, holder, revoked_at is not None, level, sequence, code or "", title or "",
                        cat_name or "", cat_pos or 0, cat_id or 0, div_name or "", div_pos or 0, div_id or 0,
                        school_id,
                        school_name or (holder if kind == "school" else ""),
                        students.get(entry_id, ()), instructors.get(entry_id, ())))
    rows.sort(key=Row.sort_key)
    return rows


# --- From rows to certificates ---------------------------------------------------------------------

def public_base_url() -> str | None:
    """Where the public reaches the verification page: PUBLIC_BASE_URL (app config or the
    environment), else the address of the current request, else SERVER_NAME; None: no QR code
    (the number can still be typed on the verification page)."""
    configured = current_app.config.get("PUBLIC_BASE_URL") or os.environ.get("PUBLIC_BASE_URL")
    if configured:
        return configured.rstrip("/") + "/"
    if has_request_context():
        return request.url_root
    server = current_app.config.get("SERVER_NAME")
    if server:
        scheme = current_app.config.get("PREFERRED_URL_SCHEME", "http")
        root = (current_app.config.get("APPLICATION_ROOT") or "/").rstrip("/")
        return f"{scheme}://{server}{root}/"
    return None


def verify_url(base_url: str | None, certificate_id: int) -> str:
    if not base_url:
        return ""
    path = current_app.url_map.bind("localhost").build("printing.verify_token",
                                                       {"code": ops.certificate_token(certificate_id)})
    return base_url.rstrip("/") + path


class Printer:
    """Turns rows of one edition into CertificateData with the edition's texts and settings."""

    def __init__(self, edition: Edition, base_url: str | None):
        from judging.results.reports import level_names

        self.edition = edition
        self.ordinal, self.name = edition.ordinal, edition.name  # read once: a job commits as it goes
        self.settings = ops.settings_of(edition)
        self.base_url = base_url
        snapshot = final_snapshot(edition, required=False)
        self.date_text = ops.issue_date_text(edition, self.settings, snapshot)
        self.issuer = "\n".join(self.settings.issuer.split())
        self.levels = level_names(edition)
        self.templates = {"student": self.settings.student_text, "instructor": self.settings.instructor_text,
                          "school": self.settings.school_text}

    def print_settings(self, title: str = "荣誉证书") -> PrintSettings:
        paths = {}
        for which, label in (("seal_image", "印章图片"), ("border_image", "证书边框图片")):
            path = ops.image_path(getattr(self.settings, which))
            if path is not None and not path.is_file():
                raise PrintingError(f"{label}文件已丢失，请在证书设置中重新上传或删除它。")
            paths[which] = path
        return PrintSettings(border_image=paths["border_image"], seal_image=paths["seal_image"],
                             document_title=title)

    def values(self, row: Row) -> dict[str, str]:
        values = {"姓名": row.holder_name, "届次": self.ordinal, "大赛名称": self.name,
                  "日期": self.date_text, "学校": row.school_name}
        if row.kind == "school":
            values.update({"作品名称": "", "类别": "", "组别": "", "等级": ops.ORG_AWARD_NAME, "指导教师": "",
                           "学生": ""})
        else:
            values.update({"作品名称": row.title, "类别": row.category_name, "组别": row.division_name,
                           "等级": self.levels.get(row.level_position, ""),
                           "指导教师": "、".join(row.instructors), "学生": "、".join(row.students)})
        return values

    def data(self, row: Row) -> CertificateData:
        try:
            body = fill_text(self.templates[row.kind], self.values(row))
        except ValueError as error:
            raise PrintingError(f"{CERTIFICATE_KINDS[row.kind]}的证书正文有误：{error}") from error
        return CertificateData(row.kind, body, row.number, row.holder_name, self.issuer, self.date_text,
                               verify_url(self.base_url, row.id), revoked=row.revoked)

    def items(self, rows: Iterable[Row]) -> Iterator[CertificateData]:
        for row in rows:
            yield self.data(row)


def fonts_or_error() -> FontSet:
    try:
        return ensure_fonts()
    except FontError as error:
        raise PrintingError(str(error)) from error


def check_printable(printer: Printer, rows: list[Row], fonts: FontSet, settings: PrintSettings | None = None,
                    layout: bool = False) -> None:
    """Every character of every certificate against the font (and, with layout, every text
    against its box: certificates.preflight, about a millisecond a certificate) before anything
    is printed: PrintingError naming the certificates."""
    if layout:
        try:
            problems = preflight(printer.items(rows), fonts, settings)
        except (CertificateImageError, FontCoverageError) as error:  # the images, the page's own texts
            raise PrintingError(str(error)) from error
        if problems:
            more = f"（另有{len(problems) - 10}处问题未列出）" if len(problems) > 10 else ""
            raise PrintingError("\n".join(problems[:10]) + more)
        return
    missing = check_glyphs(printer.items(rows), fonts)
    if missing:
        raise PrintingError(FontCoverageError(missing, fonts.family).message)


def _prepared(edition: Edition, selection: Selection, base_url: str | None,
              layout: bool = False) -> tuple[Printer, list[Row], FontSet, PrintSettings]:
    final_snapshot(edition)  # nothing is printed before the results are final
    rows = load_rows(edition, selection)
    if not rows:
        raise PrintingError(f"没有可打印的{CERTIFICATE_KINDS[selection.kind]}。")
    printer = Printer(edition, base_url)
    fonts = fonts_or_error()
    settings = printer.print_settings(f"荣誉证书 · {CERTIFICATE_KINDS[selection.kind]}")
    try:
        CertificateRenderer(fonts, settings)  # the images can be read, the page's own texts printed
    except (CertificateImageError, FontCoverageError) as error:
        raise PrintingError(str(error)) from error
    check_printable(printer, rows, fonts, settings, layout=layout)
    return printer, rows, fonts, settings


def prepare_download(edition: Edition, selection: Selection, base_url: str | None):
    """(byte chunks, page count) for a PDF streamed to the browser; every check done first,
    including the layout, so the download cannot break halfway."""
    from judging.printing.certificates import iter_certificates_pdf

    printer, rows, fonts, settings = _prepared(edition, selection, base_url, layout=True)
    # Everything is in memory now: end the transaction, so no lock is held while the PDF streams
    # (on SQLite a POST's transaction holds the write lock).
    db.session.commit()
    return iter_certificates_pdf(printer.items(rows), fonts, settings), len(rows)


def write_pdf(edition: Edition, selection: Selection, out: str | os.PathLike, base_url: str | None) -> int:
    printer, rows, fonts, settings = _prepared(edition, selection, base_url)
    try:
        return write_certificates(printer.items(rows), out, fonts, settings)
    except (CertificateLayoutError, CertificateImageError, FontCoverageError) as error:
        raise PrintingError(str(error)) from error


def print_student_certificates(edition: Edition, out_path: str | os.PathLike) -> int:
    """All student certificates of the edition into one PDF (the CLI). Issues the missing numbers
    first (committed), so printing twice gives the same numbers."""
    ops.issue_certificates(edition, None)
    db.session.commit()
    base_url = public_base_url()
    if base_url is None:
        log.warning("PUBLIC_BASE_URL is not set: the certificates carry no QR code")
    return write_pdf(edition, Selection("student"), out_path, base_url)


def safe_filename(*parts: str, extension: str) -> str:
    name = _UNSAFE_FILENAME.sub("_", "-".join(p for p in parts if p)).strip(" .") or "证书"
    return f"{name[:120]}.{extension}"


def describe(edition: Edition, selection: Selection) -> str:
    """学生获奖证书 · 城关第一小学 · 小发明"""
    parts = [CERTIFICATE_KINDS[selection.kind]]
    if selection.school_id is not None:
        school = db.session.get(School, selection.school_id)
        parts.append(school.name if school else f"学校{selection.school_id}")
    if selection.category_id is not None:
        category = db.session.get(Category, selection.category_id)
        parts.append(category.name if category else f"类别{selection.category_id}")
    if selection.number:
        parts = [selection.number]
    return " · ".join(parts)


# --- Background jobs -----------------------------------------------------------------------------------

def prints_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "prints"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_file(job: PrintJob) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", job.token):
        raise ValueError("bad job token")
    return prints_dir() / f"{job.token}.{job.output}"


def _remove_old_files() -> None:
    cutoff = time.time() - JOB_FILE_MAX_AGE
    for old in prints_dir().iterdir():
        try:
            if old.is_file() and old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass


def job_is_stale(job: PrintJob) -> bool:
    return job.status == "running" and job.updated_at < utcnow() - timedelta(seconds=JOB_STALE_SECONDS)


def job_state(job: PrintJob) -> dict:
    """The JSON the progress page polls."""
    status = "failed" if job_is_stale(job) else job.status
    message = job.message
    if job_is_stale(job):
        message = "后台任务已中断（服务器可能已重启），请重新生成。"
    available = status == "done" and job_file(job).is_file()
    if status == "done" and not available:
        message = "文件已超过保存期限被清理，请重新生成。"
    return {"status": status, "done": job.done, "total": job.total, "message": message,
            "available": available, "title": job.title}


def start_job(edition: Edition, selection: Selection, output: str, user: User | None,
              base_url: str | None) -> PrintJob:
    """Check everything, record the job and start its thread. The job row is committed."""
    if output not in ("pdf", "zip"):
        raise ValueError("output is pdf or zip")
    running = [j for j in db.session.scalars(select(PrintJob).where(PrintJob.edition_id == edition.id,
                                                                   PrintJob.status == "running"))
               if not job_is_stale(j)]
    if len(running) >= MAX_RUNNING_JOBS:
        raise PrintingError(f"已有{len(running)}个打印任务正在生成，请等它们完成后再开始新的任务。")
    _, rows, _, _ = _prepared(edition, selection, base_url)
    title = describe(edition, selection)
    extension = "zip" if output == "zip" else "pdf"
    suffix = "按学校分册" if output == "zip" else ""
    job = PrintJob(token=secrets.token_urlsafe(24), edition_id=edition.id, kind=selection.kind, output=output,
                   school_id=selection.school_id, category_id=selection.category_id, title=title,
                   filename=safe_filename(edition.title, title.replace(" · ", "-"), suffix, extension=extension),
                   base_url=base_url, status="running", done=0, total=len(rows),
                   created_by_id=getattr(user, "id", None))
    db.session.add(job)
    db.session.commit()
    _remove_old_files()
    app = current_app._get_current_object()
    thread = threading.Thread(target=run_job, args=(app, job.id), name=f"print-job-{job.id}", daemon=True)
    _threads[job.id] = thread
    thread.start()
    return job


def wait_for_job(job_id: int, timeout: float = 120) -> None:
    """Wait for a job started in this process (tests, the CLI)."""
    thread = _threads.get(job_id)
    if thread is not None:
        thread.join(timeout)
        if not thread.is_alive():
            _threads.pop(job_id, None)


class _Progress:
    """Writes a job's progress to its row, at most every PROGRESS_INTERVAL seconds."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.done = 0
        self.offset = 0  # pages of the zip's earlier files
        self.last = 0.0

    def on_page(self, count: int) -> None:
        self.done = self.offset + count
        if time.monotonic() - self.last >= PROGRESS_INTERVAL:
            self.save()

    def save(self, **extra) -> None:
        self.last = time.monotonic()
        job = db.session.get(PrintJob, self.job_id)
        job.done = self.done
        job.updated_at = utcnow()
        for name, value in extra.items():
            setattr(job, name, value)
        db.session.commit()


def run_job(app: Flask, job_id: int) -> None:
    """The job's thread: draw the certificates into the job's file, committing progress."""
    with app.app_context():
        progress = _Progress(job_id)
        try:
            job = db.session.get(PrintJob, job_id)
            edition = db.session.get(Edition, job.edition_id)
            selection = Selection(job.kind, job.school_id, job.category_id)
            target, output, base_url = job_file(job), job.output, job.base_url
            printer = Printer(edition, base_url)
            rows = load_rows(edition, selection)
            settings = printer.print_settings(f"荣誉证书 · {CERTIFICATE_KINDS[selection.kind]}")
            progress.save(total=len(rows))  # commits: no transaction stays open while drawing
            fonts = fonts_or_error()
            if output == "pdf":
                write_certificates(printer.items(rows), target, fonts, settings, on_page=progress.on_page)
            else:
                _write_zip(edition, selection, printer, rows, target, fonts, settings, progress)
            progress.save(status="done", finished_at=utcnow(), message=None)
        except Exception as error:  # the job's page shows why; the log keeps the trace
            db.session.rollback()
            known = isinstance(error, (PrintingError, CertificateLayoutError, CertificateImageError,
                                       FontCoverageError, FontError))
            if not known:
                log.exception("print job %s failed", job_id)
            message = str(error) if known else "生成时出错，已记录。请稍后重试，或联系管理员。"
            try:
                progress.save(status="failed", finished_at=utcnow(), message=message)
            except Exception:
                db.session.rollback()
                log.exception("print job %s: could not record the failure", job_id)
        finally:
            db.session.remove()


def _write_zip(edition: Edition, selection: Selection, printer: Printer, rows: list[Row], target: Path,
               fonts: FontSet, settings: PrintSettings, progress: _Progress) -> None:
    """One PDF per school in a zip, written to a temporary file and renamed when complete."""
    from judging.core.strokes import name_sort_key

    by_school: dict[int | None, list[Row]] = {}
    for row in rows:
        by_school.setdefault(row.school_id, []).append(row)
    order = sorted(by_school, key=lambda sid: (name_sort_key(by_school[sid][0].school_name), sid or 0))
    label = CERTIFICATE_KINDS[selection.kind]
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=".tmp")
    os.close(fd)
    try:
        names: set[str] = set()
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for school_id in order:
                school_rows = by_school[school_id]
                name = safe_filename(school_rows[0].school_name or "未填学校", label, extension="pdf")
                if name in names:
                    name = safe_filename(school_rows[0].school_name, label, str(school_id), extension="pdf")
                names.add(name)
                with archive.open(name, "w", force_zip64=True) as member:
                    write_certificates(printer.items(school_rows), member, fonts,
                                       replace(settings, document_title=f"荣誉证书 · {school_rows[0].school_name}"),
                                       on_page=progress.on_page)
                progress.offset += len(school_rows)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def school_choices(edition: Edition) -> list[tuple[int, str]]:
    """Schools holding certificates of the edition, for the batch form."""
    from judging.core.strokes import name_sort_key

    rows = db.session.execute(select(School.id, School.name).where(School.id.in_(
        select(Certificate.school_id).where(Certificate.edition_id == edition.id)))).all()
    return sorted(((sid, name) for sid, name in rows), key=lambda r: name_sort_key(r[1]))


# --- A specimen and the register -------------------------------------------------------------------

SAMPLE_STUDENTS = ("王彧", "李喆")
SAMPLE_INSTRUCTOR = "张玥"


def sample_rows(edition: Edition) -> list[Row]:
    """One certificate of each kind with made-up names, numbered with 序号 0, to check the texts,
    the images and the layout before the results are final."""
    from judging.results.reports import level_names

    settings = ops.settings_of(edition)
    category = edition.categories[0] if edition.categories else None
    division = edition.divisions[0] if edition.divisions else None
    level = min(level_names(edition) or {1: ""})
    fields = {"年": ops.number_year(edition, settings), "大赛代码": edition.code, "届次": edition.number,
              "组别代码": division.code if division else "", "等级序": level}

    def number(category_code: str, division_code: str | None = None, level_code: int | None = None) -> str:
        values = dict(fields, 类别代码=category_code)
        if division_code is not None:
            values["组别代码"] = division_code
        if level_code is not None:
            values["等级序"] = level_code
        try:
            return ops._format(settings.number_pattern, values, 0)
        except (KeyError, ValueError, IndexError):
            return "样张"

    common = dict(revoked=False, level_position=level, sequence=1, entry_code="样张",
                  title="基于物联网的校园智能垃圾分类回收装置", category_name=category.name if category else "小发明",
                  category_position=0, category_id=0, division_name=division.name if division else "小学组",
                  division_position=0, division_id=0, school_id=None, school_name="示例实验小学", students=SAMPLE_STUDENTS,
                  instructors=(SAMPLE_INSTRUCTOR,))
    code = category.code if category else "XF"
    return [
        Row(0, "student", number(code), SAMPLE_STUDENTS[0], **common),
        Row(0, "instructor", number(ops.INSTRUCTOR_CATEGORY_CODE), SAMPLE_INSTRUCTOR, **common),
        Row(0, "school", number(ops.SCHOOL_CATEGORY_CODE, "", 1), "示例实验小学",
            **dict(common, level_position=None)),
    ]


REGISTER_HEADERS = ("证书编号", "证书", "获奖者", "学校", "作品编号", "作品名称", "类别", "组别", "奖项", "发证时间",
                    "状态", "撤销时间", "撤销原因")


def register_xlsx(edition: Edition) -> bytes:
    """证书发放登记表: every certificate of the edition, revoked ones included, in print order by
    kind. Streams (openpyxl write_only); text cells escaped."""
    import io

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from flask_babel import to_user_timezone

    from judging.core.sheets import escape_cell
    from judging.results.reports import level_names

    def local(moment):
        return to_user_timezone(moment).strftime("%Y-%m-%d %H:%M") if moment else ""

    levels = level_names(edition)
    dates = {cid: (issued, revoked, reason) for cid, issued, revoked, reason in db.session.execute(
        select(Certificate.id, Certificate.issued_at, Certificate.revoked_at, Certificate.revoked_reason)
        .where(Certificate.edition_id == edition.id))}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("证书发放登记表")
    widths = (24, 14, 16, 22, 12, 36, 10, 10, 12, 18, 8, 18, 40)
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    header = []
    for text in REGISTER_HEADERS:
        cell = WriteOnlyCell(ws, value=text)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for kind in CERTIFICATE_KINDS:
        for row in load_rows(edition, Selection(kind), include_revoked=True):
            prize = ops.ORG_AWARD_NAME if row.kind == "school" else levels.get(row.level_position, "")
            issued, revoked, reason = dates[row.id]
            ws.append([escape_cell(v) for v in (
                row.number, CERTIFICATE_KINDS[row.kind], row.holder_name, row.school_name, row.entry_code,
                row.title, row.category_name, row.division_name, prize, local(issued),
                "已撤销" if row.revoked else "有效", local(revoked),
                reason or "")])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
