"""Downloads of results (see exports.py for what each file holds).

Organizer (any snapshot, draft included):
    /admin/results/<id>/results.xlsx|.pdf   ?order=prize|stroke  &public=1 (the public variant)
    /admin/results/<id>/schools.xlsx|.pdf   各校获奖统计
    /admin/results/<id>/workbook.xlsx       the results workbook (成绩, 辅导教师奖励)
Public (anyone, only while the snapshot is public: 公示 or final; otherwise 404 for everyone,
organizers included, since this URL only ever serves what the public may see):
    /results/<id>/list.pdf|.xlsx            ?order=prize|stroke, always the public variant
"""
from __future__ import annotations

from flask import abort, request

from judging.core.downloads import attachment, pdf_attachment
from judging.core.permissions import organizer_required, public
from judging.core.sheets import XLSX_MIMETYPE
from judging.extensions import db
from judging.results import exports
from judging.results.blueprint import bp
from judging.results.models import ResultSnapshot

TRUE_VALUES = ("1", "true", "yes", "on")


def _snapshot(snapshot_id: int) -> ResultSnapshot:
    return db.get_or_404(ResultSnapshot, snapshot_id)


def _public_snapshot(snapshot_id: int) -> ResultSnapshot:
    snapshot = db.session.get(ResultSnapshot, snapshot_id)
    if snapshot is None or not snapshot.is_public:
        abort(404)
    return snapshot


def _order() -> str:
    order = request.args.get("order", "prize").strip() or "prize"
    if order not in exports.ORDERS:
        abort(400)
    return order


def _public_flag() -> bool:
    return request.args.get("public", "").strip().lower() in TRUE_VALUES




def _list_kind(order: str, public_list: bool) -> str:
    if public_list or order == "stroke":
        return "获奖名单（排名不分先后）" if order == "stroke" else "获奖名单"
    return "成绩表"


# --- organizer ----------------------------------------------------------------------------------

@bp.route("/admin/results/<int:snapshot_id>/results.xlsx")
@organizer_required
def export_results_xlsx(snapshot_id: int):
    snapshot = _snapshot(snapshot_id)
    order, public_list = _order(), _public_flag()
    data = exports.results_xlsx(snapshot, order, public_list)
    return attachment(data, XLSX_MIMETYPE, exports.filename(snapshot, _list_kind(order, public_list), "xlsx"),
                     f"results-{snapshot.id}.xlsx")


@bp.route("/admin/results/<int:snapshot_id>/results.pdf")
@organizer_required
def export_results_pdf(snapshot_id: int):
    snapshot = _snapshot(snapshot_id)
    order, public_list = _order(), _public_flag()
    return pdf_attachment(lambda: exports.results_pdf(snapshot, order, public_list),
                exports.filename(snapshot, _list_kind(order, public_list), "pdf"), f"results-{snapshot.id}.pdf")


@bp.route("/admin/results/<int:snapshot_id>/schools.xlsx")
@organizer_required
def export_schools_xlsx(snapshot_id: int):
    snapshot = _snapshot(snapshot_id)
    return attachment(exports.school_summary_xlsx(snapshot), XLSX_MIMETYPE,
                     exports.filename(snapshot, "各校获奖统计", "xlsx"), f"schools-{snapshot.id}.xlsx")


@bp.route("/admin/results/<int:snapshot_id>/schools.pdf")
@organizer_required
def export_schools_pdf(snapshot_id: int):
    snapshot = _snapshot(snapshot_id)
    return pdf_attachment(lambda: exports.school_summary_pdf(snapshot), exports.filename(snapshot, "各校获奖统计", "pdf"),
                f"schools-{snapshot.id}.pdf")


@bp.route("/admin/results/<int:snapshot_id>/workbook.xlsx")
@organizer_required
def export_workbook(snapshot_id: int):
    snapshot = _snapshot(snapshot_id)
    return attachment(exports.results_workbook(snapshot), XLSX_MIMETYPE,
                     exports.filename(snapshot, "成绩与辅导教师奖励", "xlsx"), f"results-workbook-{snapshot.id}.xlsx")


# --- public -------------------------------------------------------------------------------------

@bp.route("/results/<int:snapshot_id>/list.pdf")
@public
def export_public_pdf(snapshot_id: int):
    snapshot = _public_snapshot(snapshot_id)
    order = _order()
    return pdf_attachment(lambda: exports.results_pdf(snapshot, order, public=True),
                exports.filename(snapshot, _list_kind(order, True), "pdf"), f"results-{snapshot.id}.pdf")


@bp.route("/results/<int:snapshot_id>/list.xlsx")
@public
def export_public_xlsx(snapshot_id: int):
    snapshot = _public_snapshot(snapshot_id)
    order = _order()
    return attachment(exports.results_xlsx(snapshot, order, public=True), XLSX_MIMETYPE,
                     exports.filename(snapshot, _list_kind(order, True), "xlsx"), f"results-{snapshot.id}.xlsx")
