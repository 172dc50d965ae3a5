"""Organizer pages of judge panels: the panels of an edition, one panel with its members, settings and
assignment matrix (move an entry, hand on an ill judge's work), and the declared conflicts (回避).

Thin: parse, check permission, call scoring/panels.py, commit or roll back, render. Every POST checks
its CSRF token through FlaskForm().validate_on_submit().
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from judging.contests.models import Edition, Round
from judging.core.models import School, User
from judging.core.permissions import organizer_required
from judging.core.text import clean
from judging.extensions import db
from judging.registration.models import Entry
from judging.scoring import panels as ops
from judging.scoring.assign import AssignmentImpossible, default_k
from judging.scoring.blueprint import bp
from judging.scoring.models import Assignment, Conflict, Panel


def _get(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def _int(name: str) -> int | None:
    value = clean(request.form.get(name))
    return int(value) if value.isdigit() else None


def _commit(action) -> bool:
    """Run an operation; commit, or roll back and flash its message."""
    try:
        result = action()
        db.session.commit()
        return result if result is not None else True
    except (ops.PanelError, AssignmentImpossible) as error:
        db.session.rollback()
        flash(str(error), "danger")
        return False


def _to_panel(panel: Panel):
    return redirect(url_for("scoring.panel", panel_id=panel.id))


# --- The panels of an edition ----------------------------------------------------------------------

@bp.route("/admin/editions/<int:edition_id>/panels", methods=["GET", "POST"])
@organizer_required
def panels(edition_id: int):
    edition = _get(Edition, edition_id)
    form = FlaskForm()
    rounds = ops.scoring_rounds(edition)
    if form.validate_on_submit():
        rnd = db.session.get(Round, _int("round_id") or 0)
        if rnd is None or rnd.edition_id != edition.id:
            flash("请选择评审轮次。", "warning")
        else:
            created = _commit(lambda: ops.create_round_panels(rnd, current_user))
            if created is not False:
                flash(f"{rnd.name}：新建{len(created)}个评审组。" if created else f"{rnd.name}的评审组都已建立。",
                      "success" if created else "info")
        return redirect(url_for("scoring.panels", edition_id=edition.id))
    return render_template("scoring/admin/panels.html", edition=edition, overview=ops.edition_overview(edition),
                           rounds=rounds, form=form)


# --- One panel -------------------------------------------------------------------------------------

@bp.route("/admin/panels/<int:panel_id>", methods=["GET", "POST"])
@organizer_required
def panel(panel_id: int):
    """GET: members, settings, matrix. POST action=settings | add_judge | remove_judge."""
    panel = _get(Panel, panel_id)
    form = FlaskForm()
    if form.validate_on_submit():
        action = request.form.get("action")
        if action == "settings":
            raw_k, raw_seed = clean(request.form.get("judges_per_entry")), clean(request.form.get("seed"))
            if (raw_k and not raw_k.isdigit()) or not raw_seed.isdigit():
                flash("每件作品的评委人数和随机种子应为整数。", "danger")
            elif _commit(lambda: ops.save_settings(panel, int(raw_k) if raw_k else None, int(raw_seed),
                                                   current_user)):
                flash("分配设置已保存。重新分配后生效。", "success")
        elif action in ("add_judge", "remove_judge"):
            judge = db.session.get(User, _int("judge_id") or 0)
            if judge is None:
                flash("请选择评委。", "warning")
            elif action == "add_judge":
                if _commit(lambda: ops.add_judge(panel, judge, current_user)):
                    flash(f"{judge.display_name}已加入本组。重新分配或改派后才有评审任务。", "success")
            else:
                removed = _commit(lambda: ops.remove_judge(panel, judge, current_user) or 0)
                if removed is not False:
                    flash(f"已将{judge.display_name}移出本组" +
                          (f"，撤销了{removed}项未评任务，请重新分配。" if removed else "。"), "success")
        return _to_panel(panel)
    matrix = ops.panel_matrix(panel)
    member_ids = {m.judge_id for m in matrix.members if m.active}
    candidates = [u for u in ops.judge_accounts() if u.id not in member_ids]
    return render_template("scoring/admin/panel.html", panel=panel, edition=panel.round.edition, matrix=matrix,
                           candidates=candidates, form=form,
                           default_k=default_k(sum(1 for m in matrix.members if m.active)))


@bp.route("/admin/panels/<int:panel_id>/assign", methods=["POST"])
@organizer_required
def panel_assign(panel_id: int):
    panel = _get(Panel, panel_id)
    if FlaskForm().validate_on_submit():
        summary = _commit(lambda: ops.run_assignment(panel, current_user))
        if summary:
            result = summary.result
            loads = list(result.loads.values())
            text = (f"已分配{len(set(e for _, e in result.pairs))}件作品，每件{result.k}位评委；"
                    f"新增{summary.added}项、撤销{summary.removed}项任务")
            if summary.kept:
                text += f"，已有评分的{summary.kept}项保持不变"
            if loads:
                text += f"；评委工作量{min(loads)}–{max(loads)}件"
            flash(text + "。", "success")
            for note in result.notes:
                flash(note, "warning")
            if summary.waiting:
                flash(f"另有{summary.waiting}件作品尚未通过资格审查，未参与分配。", "info")
    return _to_panel(panel)


@bp.route("/admin/panels/<int:panel_id>/move", methods=["POST"])
@organizer_required
def assignment_move(panel_id: int):
    panel = _get(Panel, panel_id)
    if FlaskForm().validate_on_submit():
        assignment = db.session.get(Assignment, _int("assignment_id") or 0)
        to_judge = db.session.get(User, _int("to_judge_id") or 0)
        if assignment is None or assignment.panel_id != panel.id or to_judge is None:
            flash("请选择要改派的评委和接手的评委。", "warning")
        else:
            code, from_name = assignment.entry.code, assignment.judge.display_name
            note = _commit(lambda: ops.move_assignment(assignment, to_judge, request.form.get("reason"),
                                                       current_user))
            if note is not False:
                flash(f"作品 {code} 已由{from_name}改派给{to_judge.display_name}。{note if note is not True else ''}",
                      "success")
    return _to_panel(panel)


@bp.route("/admin/panels/<int:panel_id>/reassign", methods=["POST"])
@organizer_required
def judge_reassign(panel_id: int):
    panel = _get(Panel, panel_id)
    if FlaskForm().validate_on_submit():
        judge = db.session.get(User, _int("judge_id") or 0)
        if judge is None:
            flash("请选择评委。", "warning")
        else:
            moved = _commit(lambda: ops.reassign_judge(panel, judge, request.form.get("reason"), current_user) or 0)
            if moved is not False:
                flash(f"{judge.display_name}已停止评审，{moved}件未完成的作品已转交其他评委。", "success")
    return _to_panel(panel)


# --- Declared conflicts ----------------------------------------------------------------------------

@bp.route("/admin/editions/<int:edition_id>/conflicts", methods=["GET", "POST"])
@organizer_required
def conflicts(edition_id: int):
    edition = _get(Edition, edition_id)
    form = FlaskForm()
    values = {}
    if form.validate_on_submit():
        values = {k: clean(request.form.get(k)) for k in ("judge_id", "entry_code", "school_id", "reason")}
        judge = db.session.get(User, _int("judge_id") or 0)
        entry = school = None
        if values["entry_code"]:
            entry = db.session.scalar(select(Entry).where(Entry.edition_id == edition.id,
                                                          Entry.code == values["entry_code"].upper()))
        if values["school_id"].isdigit():
            school = db.session.get(School, int(values["school_id"]))
        if judge is None:
            flash("请选择评委。", "danger")
        elif values["entry_code"] and entry is None:
            flash(f"本届没有编号为“{values['entry_code']}”的作品。", "danger")
        else:
            result = _commit(lambda: ops.declare_conflict(edition, judge, values["reason"], current_user,
                                                          entry=entry, school=school))
            if result:
                _, notes = result
                flash(f"已登记{judge.display_name}的回避。", "success")
                for note in notes:
                    flash(note, "warning")
                return redirect(url_for("scoring.conflicts", edition_id=edition.id))
    schools = db.session.scalars(select(School).order_by(School.name)).all()
    return render_template("scoring/admin/conflicts.html", edition=edition, form=form,
                           conflicts=ops.edition_conflicts(edition), judges=ops.judge_accounts(), schools=schools,
                           values=values)


@bp.route("/admin/conflicts/<int:conflict_id>/delete", methods=["POST"])
@organizer_required
def conflict_delete(conflict_id: int):
    conflict = _get(Conflict, conflict_id)
    edition_id = conflict.edition_id
    if FlaskForm().validate_on_submit() and _commit(lambda: ops.remove_conflict(conflict, current_user)):
        flash("已删除这条回避申报。已有的分配不变；重新分配时该评委可能分到相关作品。", "info")
    return redirect(url_for("scoring.conflicts", edition_id=edition_id))
