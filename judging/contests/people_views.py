"""Organizer pages for schools and accounts, with Excel import. Thin: parse, check permission,
call people_operations, render.

An import goes upload -> preview -> confirm. The upload is checked and, when it has no fault,
kept under UPLOAD_DIR/imports/<random token>.xlsx with the token in the session (never a path
from the client; judging.core.uploads); the confirming POST re-reads and re-checks that file, then
writes everything in one transaction or nothing.
"""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from judging.contests import people_operations as ops
from judging.contests.people_forms import NO_CHOICE, ImportConfirmForm, ImportUploadForm, SchoolForm, UserForm
from judging.core import sheets, uploads
from judging.core.models import ROLE_LABELS, School, User
from judging.core.permissions import organizer_required
from judging.extensions import db

bp = Blueprint("people", __name__, url_prefix="/admin")

USERS_PER_PAGE = 100
CONFLICT_MESSAGE = "保存失败：名称、代码或用户名刚被其他人占用。请刷新页面后重试。"


def _school(school_id: int) -> School:
    return db.get_or_404(School, school_id)


def _user(user_id: int) -> User:
    return db.get_or_404(User, user_id)


def _show_problems(error: ops.PeopleError, form: FlaskForm | None = None) -> None:
    """Each message next to its field; the others as a flash."""
    for name, message in error.problems.items():
        target = getattr(form, name, None) if form is not None else None
        if target is not None and hasattr(target, "errors"):
            target.errors = list(target.errors) + [message]
        else:
            flash(message, "danger")


def _commit(action, form: FlaskForm | None = None) -> bool:
    try:
        action()
        db.session.commit()
        return True
    except ops.PeopleError as error:
        db.session.rollback()
        _show_problems(error, form)
    except IntegrityError:
        db.session.rollback()
        flash(CONFLICT_MESSAGE, "danger")
    return False


# --- Schools -----------------------------------------------------------------------------------

@bp.route("/schools")
@organizer_required
def schools():
    search = request.args.get("q", "")
    cluster = request.args.get("cluster", "")
    listing = ops.school_listing(search, cluster)
    return render_template("contests/people/schools.html", listing=listing, search=search, cluster=cluster,
                           clusters=ops.clusters(), total=ops.school_count())


@bp.route("/schools/new", methods=["GET", "POST"])
@bp.route("/schools/<int:school_id>/edit", methods=["GET", "POST"])
@organizer_required
def school_form(school_id: int | None = None):
    school = _school(school_id) if school_id else None
    form = SchoolForm(obj=school, parent_options=ops.parent_choices(school))
    if request.method == "GET" and school is not None:
        form.parent_id.data = school.parent_id or NO_CHOICE
    if form.validate_on_submit():
        data = {"name": form.name.data, "code": form.code.data, "cluster": form.cluster.data,
                "parent_id": form.parent_id.data or None}
        holder = {}
        if _commit(lambda: holder.setdefault("s", ops.save_school(data, school)), form):
            flash(f"学校「{holder['s'].name}」已保存。", "success")
            return redirect(url_for("people.schools"))
    usage = ops.school_usage(school) if school is not None else []
    return render_template("contests/people/school_form.html", form=form, school=school, usage=usage)


@bp.route("/schools/<int:school_id>/delete", methods=["POST"])
@organizer_required
def school_delete(school_id: int):
    school = _school(school_id)
    if FlaskForm().validate_on_submit():
        name = school.name
        if _commit(lambda: ops.delete_school(school)):
            flash(f"学校「{name}」已删除。", "success")
    return redirect(url_for("people.schools"))


@bp.route("/schools/template.xlsx")
@organizer_required
def schools_template():
    data = sheets.template_workbook(ops.SCHOOL_SHEET, [ops.example_row(ops.SCHOOL_SHEET)],
                                    options={"parent": ops.template_options()["parent"]})
    return uploads.xlsx_download(data, "学校导入模板.xlsx")


# --- Accounts ------------------------------------------------------------------------------------

@bp.route("/users")
@organizer_required
def users():
    role = request.args.get("role", "")
    search = request.args.get("q", "")
    status = request.args.get("status", "")
    school_id = request.args.get("school", type=int)
    page = max(1, request.args.get("page", 1, type=int))
    found, total = ops.user_listing(role, search, school_id, status, page, USERS_PER_PAGE)
    pages = max(1, (total + USERS_PER_PAGE - 1) // USERS_PER_PAGE)
    school = db.session.get(School, school_id) if school_id else None
    return render_template("contests/people/users.html", users=found, total=total, page=page, pages=pages,
                           role=role, search=search, status=status, school=school, roles=ROLE_LABELS)


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@organizer_required
def user_form(user_id: int | None = None):
    user = _user(user_id) if user_id else None
    form = UserForm(obj=user, school_options=ops.all_schools())
    if request.method == "GET":
        if user is None:
            form.role.data = request.args.get("role") if request.args.get("role") in ROLE_LABELS else "judge"
            form.school_id.data = request.args.get("school", NO_CHOICE, type=int)
            form.active.data = True
        else:
            form.school_id.data = user.school_id or NO_CHOICE
    if form.validate_on_submit():
        data = {"username": form.username.data, "display_name": form.display_name.data, "role": form.role.data,
                "school_id": form.school_id.data or None, "affiliation": form.affiliation.data,
                "phone": form.phone.data}
        if user is None:
            holder = {}
            if _commit(lambda: holder.setdefault("r", ops.create_user(data, form.password.data or None)), form):
                created, password = holder["r"]
                flash(f"账号「{created.username}」已创建。请打印密码条交给本人；密码只显示这一次。", "success")
                return _slips_page([ops.slip_for(created, password)], "新账号的初始密码")
        else:
            data["active"] = form.active.data
            actor = current_user._get_current_object()
            if _commit(lambda: ops.update_user(user, data, actor), form):
                flash(f"账号「{user.username}」已保存。", "success")
                return redirect(url_for("people.users"))
    return render_template("contests/people/user_form.html", form=form, user=user)


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@organizer_required
def user_reset_password(user_id: int):
    user = _user(user_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    holder = {}
    actor = current_user._get_current_object()
    if not _commit(lambda: holder.setdefault("p", ops.reset_password(user, actor))):
        return redirect(url_for("people.users"))
    flash(f"已重置「{user.username}」的密码，原密码已失效。", "success")
    return _slips_page([ops.slip_for(user, holder["p"])], "重置后的密码")


@bp.route("/users/template.xlsx")
@organizer_required
def users_template():
    data = sheets.template_workbook(ops.USER_SHEET, [ops.example_row(ops.USER_SHEET)],
                                    options={"school": ops.template_options()["school"]})
    return uploads.xlsx_download(data, "账号导入模板.xlsx")


def _slips_page(slips, title: str):
    return render_template("contests/people/password_slips.html", slips=slips, title=title,
                           login_url=request.host_url)


# --- Imports -------------------------------------------------------------------------------------

IMPORTS = {
    "schools": {"plan": ops.plan_school_import, "apply": ops.apply_school_import, "spec": ops.SCHOOL_SHEET,
                "title": "导入学校", "template": "people.schools_template", "back": "people.schools"},
    "users": {"plan": ops.plan_user_import, "apply": ops.apply_user_import, "spec": ops.USER_SHEET,
              "title": "导入账号", "template": "people.users_template", "back": "people.users"},
}


def _import_page(kind: str):
    conf = IMPORTS[kind]
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
            return redirect(url_for(request.endpoint))
        token, filename, path = stored
        plan = conf["plan"](path.read_bytes(), filename)
        if plan.ok:
            holder = {}
            if _commit(lambda: holder.setdefault("result", conf["apply"](plan))):
                uploads.forget(kind)
                return _import_done(kind, plan, holder["result"])
            uploads.forget(kind)
            return redirect(url_for(request.endpoint))
        uploads.forget(kind)  # the database changed since the preview: show the faults, start again
        token = None
        flash("数据在预览之后有变化，文件现在有错误，未导入任何数据。请修改后重新上传。", "danger")
    elif upload_form.validate_on_submit():
        data, filename = uploads.read_upload(upload_form)
        if data is not None:
            plan = conf["plan"](data, filename)
            if plan.ok:
                token = uploads.keep(kind, data, filename)
                confirm_form.token.data = token
            else:
                uploads.forget(kind)
    return render_template("contests/people/import.html", kind=kind, conf=conf, upload_form=upload_form,
                           confirm_form=confirm_form, plan=plan, token=token, spec=conf["spec"])


def _import_done(kind: str, plan, result):
    if kind == "schools":
        flash(f"已从「{plan.filename}」导入学校：新建{result['create']}所，修改{result['update']}所，"
              f"{result['unchanged']}所没有变化。", "success")
        return redirect(url_for("people.schools"))
    flash(f"已从「{plan.filename}」导入{len(result)}个账号。请立即打印密码条；离开本页后无法再次查看密码。", "success")
    return _slips_page(result, "导入账号的初始密码")


@bp.route("/schools/import", methods=["GET", "POST"])
@organizer_required
def schools_import():
    return _import_page("schools")


@bp.route("/users/import", methods=["GET", "POST"])
@organizer_required
def users_import():
    return _import_page("users")
