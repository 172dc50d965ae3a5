"""Instructor reward sheet downloads (辅导教师奖励表, see rewards.py).

Organizer:
    /admin/editions/<id>/rewards         the page: per school totals and the download links; before
                                         the results are final it says so and offers nothing
    /admin/editions/<id>/rewards.xlsx    every school (汇总 + one sheet per school)
    /admin/editions/<id>/rewards.pdf     every school with the summary page; ?school=<id>: that school
    Before the results are final the downloads go back to the page with the reason flashed.
Coordinator:
    /school/editions/<id>/rewards.pdf    his own school's sheet only (no parameter picks another
                                         school), and only once the results are final: before that a
                                         409 page with the reason. A county office hands each school
                                         its sheet; the school may print its own copy.
Nobody else: reward money is not public, and judges see no school data.
"""
from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from judging.contests.models import Edition
from judging.core.models import School
from judging.core.downloads import attachment, pdf_attachment
from judging.core.permissions import COORDINATOR, organizer_required, require_school, roles_required
from judging.core.sheets import XLSX_MIMETYPE
from judging.extensions import db
from judging.printing import rewards
from judging.printing.source import PrintingError, final_snapshot
from judging.printing.views import bp

_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def _edition(edition_id: int) -> Edition:
    return db.get_or_404(Edition, edition_id)


def _school_arg() -> School | None:
    raw = request.args.get("school", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        abort(400)
    return db.get_or_404(School, int(raw))


def _filename(edition: Edition, school: School | None, extension: str) -> str:
    """第十三届XX县青少年科技创新大赛辅导教师奖励表-实验小学.pdf, safe on every file system."""
    parts = [f"{edition.title}{rewards.SHEET_NAME}", school.name if school else ""]
    name = _UNSAFE_FILENAME.sub("_", "-".join(p for p in parts if p)).strip(" .") or "rewards"
    return f"{name[:120]}.{extension}"




def _not_final(edition: Edition, error: PrintingError):
    flash(str(error), "warning")
    return redirect(url_for("printing.rewards_page", edition_id=edition.id))


# --- organizer ----------------------------------------------------------------------------------

@bp.route("/admin/editions/<int:edition_id>/rewards")
@organizer_required
def rewards_page(edition_id: int):
    edition = _edition(edition_id)
    sheet, problem = None, None
    try:
        sheet = rewards.reward_sheet(final_snapshot(edition))
    except PrintingError as error:
        problem = str(error)
    # Sent here from a download with the reason flashed: the page does not say it twice.
    flashed = problem is not None and any(message == problem for _, message in session.get("_flashes", []))
    return render_template("printing/rewards.html", edition=edition, sheet=sheet, problem=problem,
                           problem_flashed=flashed)


@bp.route("/admin/editions/<int:edition_id>/rewards.xlsx")
@organizer_required
def rewards_xlsx(edition_id: int):
    edition = _edition(edition_id)
    try:
        data = rewards.rewards_xlsx(edition)
    except PrintingError as error:
        return _not_final(edition, error)
    return attachment(data, XLSX_MIMETYPE, _filename(edition, None, "xlsx"), f"rewards-{edition.id}.xlsx")


@bp.route("/admin/editions/<int:edition_id>/rewards.pdf")
@organizer_required
def rewards_pdf(edition_id: int):
    edition = _edition(edition_id)
    school = _school_arg()
    try:
        sheet = rewards.final_reward_sheet(edition, school.id if school else None)
    except PrintingError as error:
        return _not_final(edition, error)
    suffix = f"-school-{school.id}" if school else ""
    return pdf_attachment(lambda: rewards.sheet_pdf(sheet), _filename(edition, school, "pdf"),
                f"rewards-{edition.id}{suffix}.pdf")


# --- coordinator --------------------------------------------------------------------------------

@bp.route("/school/editions/<int:edition_id>/rewards.pdf")
@roles_required(COORDINATOR)
def school_rewards_pdf(edition_id: int):
    edition = _edition(edition_id)
    school_id = current_user.school_id
    require_school(school_id)  # 404 for a coordinator without a school
    school = db.get_or_404(School, school_id)
    try:
        sheet = rewards.final_reward_sheet(edition, school.id)
    except PrintingError as error:
        return render_template("error.html", status=409, title="奖励表尚不能打印", message=str(error)), 409
    return pdf_attachment(lambda: rewards.sheet_pdf(sheet), _filename(edition, school, "pdf"),
                f"rewards-{edition.id}-school-{school.id}.pdf")
