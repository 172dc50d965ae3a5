"""Prints of registration: label sheets (作品标签, normal and blind) and the catalogue by category
(分类造册) as PDF and Excel.

Query parameters, the same for all three: edition=<id> (default: the latest edition),
school=<id>, category=<id>; labels also blind=1. A coordinator prints only his own school's
entries (no school parameter means his school; another school's id answers 404, as elsewhere);
organizers print any school or all. Disqualified entries are never printed.
"""
from __future__ import annotations

import io
import re

from flask import abort, current_app, render_template, request
from flask_login import current_user

from judging.contests.models import Category, Edition
from judging.contests.operations import latest_edition
from judging.core.fonts import FontCoverageError, FontError
from judging.core.models import School
from judging.core.downloads import PDF_MIMETYPE, attachment
from judging.core.permissions import COORDINATOR, ORGANIZER, require_school, roles_required
from judging.core.sheets import XLSX_MIMETYPE
from judging.extensions import db
from judging.registration import documents
from judging.registration.blueprint import bp

_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        abort(400)
    return int(raw)


def _selection() -> tuple[Edition, School | None, Category | None]:
    """The edition, school and category asked for, after the role and object checks."""
    edition_id = _int_arg("edition")
    edition = db.session.get(Edition, edition_id) if edition_id else latest_edition()
    if edition is None:
        abort(404)
    school_id = _int_arg("school")
    if current_user.role == COORDINATOR and school_id is None:
        school_id = current_user.school_id
    school = None
    if school_id is not None:
        require_school(school_id)  # 404 for another school's id (or a coordinator without a school)
        school = db.session.get(School, school_id)
        if school is None:
            abort(404)
    elif current_user.role != ORGANIZER:
        abort(404)
    category = None
    category_id = _int_arg("category")
    if category_id is not None:
        category = db.session.get(Category, category_id)
        if category is None or category.edition_id != edition.id:
            abort(404)
    return edition, school, category


def _entries(edition: Edition, school: School | None, category: Category | None):
    return documents.load_entries(edition.id, school.id if school else None, category.id if category else None)


def _filename(base: str, extension: str, school: School | None, category: Category | None) -> str:
    parts = [p for p in (school.name if school else "", category.name if category else "", base) if p]
    name = _UNSAFE_FILENAME.sub("_", "-".join(parts)).strip(" .") or base
    return f"{name[:100]}.{extension}"



def _render(build):
    """Run a document builder; missing glyphs and font set-up problems become a Chinese page."""
    out = io.BytesIO()
    try:
        build(out)
    except FontCoverageError as error:
        return render_template("error.html", status=422, title="无法打印：字体缺字", message=error.message), 422
    except FontError as error:
        current_app.logger.error("font set-up: %s", error)
        return render_template("error.html", status=500, title="字体配置有误", message=str(error)), 500
    return out.getvalue()


@bp.route("/print/labels.pdf")
@roles_required(ORGANIZER, COORDINATOR)
def labels_pdf():
    edition, school, category = _selection()
    blind = request.args.get("blind") in ("1", "true", "yes", "on")
    entries = _entries(edition, school, category)
    result = _render(lambda out: documents.label_sheet_pdf(entries, blind, out, title=edition.title))
    if isinstance(result, tuple):
        return result
    base = "作品标签（盲评）" if blind else "作品标签"
    return attachment(result, PDF_MIMETYPE, _filename(base, "pdf", school, category),
                     "labels-blind.pdf" if blind else "labels.pdf")


@bp.route("/print/catalogue.pdf")
@roles_required(ORGANIZER, COORDINATOR)
def catalogue_pdf():
    edition, school, category = _selection()
    entries = _entries(edition, school, category)
    result = _render(lambda out: documents.catalogue_pdf(entries, edition, out))
    if isinstance(result, tuple):
        return result
    return attachment(result, PDF_MIMETYPE, _filename("分类造册", "pdf", school, category), "catalogue.pdf")


@bp.route("/print/catalogue.xlsx")
@roles_required(ORGANIZER, COORDINATOR)
def catalogue_xlsx():
    edition, school, category = _selection()
    entries = _entries(edition, school, category)
    out = io.BytesIO()
    documents.catalogue_xlsx(entries, edition, out)
    return attachment(out.getvalue(), XLSX_MIMETYPE, _filename("分类造册", "xlsx", school, category),
                     "catalogue.xlsx")
