"""Schools and accounts: the organizer's pages, the rules in people_operations and the Excel imports."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update

from judging.contests import people_operations as ops
from judging.core import sheets
from judging.core.models import AuditEvent, School, User
from tests.conftest import PASSWORD, login

# --- helpers ---------------------------------------------------------------------------------------


def xlsx(rows, title="学校") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(client, url, data: bytes, filename="名单.xlsx"):
    return client.post(url, data={"step": "upload", "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def token_of(page: str) -> str:
    match = re.search(r'name="token" type="hidden" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def confirm(client, url, page: str):
    return client.post(url, data={"step": "confirm", "token": token_of(page)})


def text(response) -> str:
    return response.get_data(as_text=True)


def slip_passwords(page: str) -> dict[str, str]:
    """username -> password, read from the printed slips."""
    pairs = re.findall(r'<dt>用户名</dt><dd class="secret">([^<]+)</dd>\s*<dt>初始密码</dt><dd class="secret">([^<]+)</dd>',
                       page)
    return dict(pairs)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def imports_dir(app) -> Path:
    return Path(app.config["UPLOAD_DIR"]) / "imports"


# --- schools: pages --------------------------------------------------------------------------------


def test_create_edit_and_delete_a_school(org_client, db):
    response = org_client.post("/admin/schools/new", data={"name": "  城关 第一小学 ", "code": "ＣＧ０１",
                                                           "cluster": "城关片区", "parent_id": "0"})
    assert response.status_code == 302
    school = db.session.scalar(select(School))
    assert (school.name, school.code, school.cluster, school.parent_id) == ("城关第一小学", "CG01", "城关片区", None)

    response = org_client.post(f"/admin/schools/{school.id}/edit", data={"name": "城关第一小学", "code": "CG01",
                                                                          "cluster": "城南片区", "parent_id": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(School, school.id).cluster == "城南片区"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "school_updated"))
    assert "城关片区" in event.before and "城南片区" in event.after and event.username == "org"

    page = text(org_client.get("/admin/schools"))
    assert "城关第一小学" in page and "CG01" in page

    response = org_client.post(f"/admin/schools/{school.id}/delete", follow_redirects=True)
    assert "已删除" in text(response)
    assert count(db, School) == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "school_deleted")) is not None


def test_duplicate_school_name_and_code_are_shown_next_to_the_fields(org_client, db, make_school):
    make_school("实验小学", code="SY01")
    response = org_client.post("/admin/schools/new", data={"name": "实验 小学", "code": "sy01", "parent_id": "0"})
    page = text(response)
    assert response.status_code == 200
    assert "已有同名学校「实验小学」" in page
    assert "代码「sy01」已被学校「实验小学」使用" in page
    assert count(db, School) == 1


def test_delete_refused_while_accounts_or_child_schools_refer_to_it(org_client, db, make_school, make_user):
    center = make_school("城关镇中心小学")
    make_school("东村小学", parent=center)
    make_user("coordinator", school=center)
    make_user("judge", school=center)
    response = org_client.post(f"/admin/schools/{center.id}/delete", follow_redirects=True)
    page = text(response)
    assert "不能删除" in page and "2个账号" in page and "1所下属学校" in page
    assert db.session.get(School, center.id) is not None
    assert "不能删除" in text(org_client.get(f"/admin/schools/{center.id}/edit"))


def test_parent_cycle_refused(org_client, db, make_school):
    center = make_school("中心校")
    village = make_school("村小", parent=center)
    grandchild = make_school("教学点", parent=village)
    # The form does not offer the school itself or its descendants ...
    page = text(org_client.get(f"/admin/schools/{center.id}/edit"))
    assert f'value="{village.id}"' not in page and f'value="{grandchild.id}"' not in page
    # ... and a tampered choice is refused.
    response = org_client.post(f"/admin/schools/{center.id}/edit",
                               data={"name": "中心校", "parent_id": str(grandchild.id)})
    assert response.status_code == 200 and "请从列表中选择上级学校" in text(response)
    # The rule itself, in the operation.
    with pytest.raises(ops.PeopleError, match="循环"):
        ops.save_school({"name": "中心校", "parent_id": grandchild.id}, center)
    with pytest.raises(ops.PeopleError, match="它自己"):
        ops.save_school({"name": "中心校", "parent_id": center.id}, center)
    db.session.rollback()
    assert db.session.get(School, center.id).parent_id is None


def test_schools_list_groups_villages_under_their_center_and_searches(org_client, make_school, make_user):
    center = make_school("城关镇中心小学", cluster="城关片区")
    make_school("城关镇东村小学", parent=center, cluster="城关片区")
    make_school("河西中学", cluster="河西片区")
    make_user("coordinator", school=center)
    page = text(org_client.get("/admin/schools"))
    assert page.index("城关镇中心小学") < page.index("城关镇东村小学")
    assert 'class="school-row depth-1"' in page
    # several terms separated by 、 find any of them
    page = text(org_client.get("/admin/schools", query_string={"q": "东村、河西"}))
    assert "城关镇东村小学" in page and "河西中学" in page and 'class="school-name">城关镇中心小学' not in page
    page = text(org_client.get("/admin/schools", query_string={"cluster": "河西片区"}))
    assert "河西中学" in page and "城关镇东村小学" not in page


# --- accounts: pages ---------------------------------------------------------------------------------


def test_coordinator_without_school_refused(org_client, db):
    before = count(db, User)
    response = org_client.post("/admin/users/new", data={"username": "li", "display_name": "李老师",
                                                         "role": "coordinator", "school_id": "0"})
    assert response.status_code == 200
    assert "学校管理员必须指定所属学校" in text(response)
    assert count(db, User) == before


def test_create_user_prints_a_slip_whose_password_logs_in(org_client, app, db, make_school):
    school = make_school("城关小学")
    response = org_client.post("/admin/users/new", data={"username": " ＷangLi ", "display_name": "王 丽",
                                                         "role": "judge", "school_id": str(school.id),
                                                         "affiliation": "县教研室", "phone": "138 0000 0000"})
    page = text(response)
    assert response.status_code == 200
    user = db.session.scalar(select(User).where(User.username == "WangLi"))
    assert user.display_name == "王丽" and user.must_change_password and user.school_id == school.id
    passwords = slip_passwords(page)
    assert set(passwords) == {"WangLi"}
    assert "城关小学" in page and "http://localhost/" in page and "js/print.js" in page
    assert "onclick" not in page and "<script>" not in page
    assert user.password_hash not in page and passwords["WangLi"] not in (user.password_hash or "")
    fresh = app.test_client()
    response = login(fresh, "wangli", passwords["WangLi"])
    assert response.status_code == 302 and "/account/password" in response.headers["Location"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user_created"))
    assert "password" not in (event.after or "").replace("must_change_password", "")


def test_create_user_with_typed_password_checks_it(org_client, db):
    response = org_client.post("/admin/users/new", data={"username": "zhao", "display_name": "赵老师",
                                                         "role": "judge", "school_id": "0", "password": "12345678"})
    assert "密码需同时包含字母和数字" in text(response)
    assert db.session.scalar(select(User).where(User.username == "zhao")) is None


def test_duplicate_username_refused_regardless_of_case(org_client, db, make_user):
    make_user("judge", username="ZhangSan")
    response = org_client.post("/admin/users/new", data={"username": "zhangsan", "display_name": "张三",
                                                         "role": "judge", "school_id": "0"})
    assert "用户名「zhangsan」已被使用（不区分大小写）" in text(response)
    assert db.session.scalar(select(func.count()).select_from(User)
                             .where(func.lower(User.username) == "zhangsan")) == 1


def test_edit_user_and_deactivate(org_client, app, db, make_user, make_school):
    judge = make_user("judge", username="judge_a")
    school = make_school("河西中学")
    response = org_client.post(f"/admin/users/{judge.id}/edit", data={
        "username": "judge_a", "display_name": "评委甲", "role": "coordinator", "school_id": str(school.id),
        "phone": "", "affiliation": ""})  # active unchecked: deactivated
    assert response.status_code == 302
    db.session.expire_all()
    judge = db.session.get(User, judge.id)
    assert (judge.role, judge.school_id, judge.active) == ("coordinator", school.id, False)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user_deactivated")) is not None
    assert login(app.test_client(), "judge_a").status_code == 401


def test_last_organizer_and_self_protection(org_client, db, organizer, make_user):
    # An organizer cannot deactivate or demote himself.
    response = org_client.post(f"/admin/users/{organizer.id}/edit", data={
        "username": "org", "display_name": "组委会老师", "role": "organizer", "school_id": "0"})
    assert "不能停用自己的账号" in text(response)
    response = org_client.post(f"/admin/users/{organizer.id}/edit", data={
        "username": "org", "display_name": "组委会老师", "role": "judge", "school_id": "0", "active": "y"})
    assert "不能修改自己的角色" in text(response)
    db.session.expire_all()
    assert db.session.get(User, organizer.id).active and db.session.get(User, organizer.id).role == "organizer"
    # The last active organizer cannot be deactivated or demoted (e.g. from a command, no actor).
    with pytest.raises(ops.PeopleError, match="最后一个启用的组委会账号"):
        ops.set_active(organizer, False)
    with pytest.raises(ops.PeopleError, match="最后一个启用的组委会账号"):
        ops.update_user(organizer, {"username": "org", "display_name": "组委会老师", "role": "judge"})
    db.session.rollback()
    # With a second organizer, one may deactivate the other.
    other = make_user("organizer", username="org2")
    response = org_client.post(f"/admin/users/{other.id}/edit", data={
        "username": "org2", "display_name": "另一位", "role": "organizer", "school_id": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, other.id).active
    with pytest.raises(ops.PeopleError, match="最后一个启用的组委会账号"):
        ops.set_active(db.session.get(User, organizer.id), False)


def test_password_reset_shows_a_slip_new_password_works_old_does_not(org_client, app, db, make_user):
    judge = make_user("judge", username="judge_b")
    judge_client = app.test_client()
    assert login(judge_client, judge).status_code == 302
    response = org_client.post(f"/admin/users/{judge.id}/reset-password")
    page = text(response)
    assert response.status_code == 200 and "原密码已失效" in page
    new_password = slip_passwords(page)["judge_b"]
    # The judge's open session ends.
    assert judge_client.get("/home").status_code == 302
    assert login(app.test_client(), "judge_b", PASSWORD).status_code == 401
    response = login(app.test_client(), "judge_b", new_password)
    assert response.status_code == 302 and "/account/password" in response.headers["Location"]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "password_reset")) is not None


def test_organizer_cannot_reset_his_own_password_here(org_client, organizer):
    response = org_client.post(f"/admin/users/{organizer.id}/reset-password", follow_redirects=True)
    assert "修改密码" in text(response) and "初始密码" not in text(response)
    assert login(org_client.application.test_client(), organizer).status_code == 302


def test_users_list_filters(org_client, make_user, make_school):
    school = make_school("南关小学")
    make_user("coordinator", username="nanguan", school=school, display_name="南关管理员")
    make_user("judge", username="pingwei", display_name="评委乙", affiliation="县科协")
    page = text(org_client.get("/admin/users", query_string={"role": "judge"}))
    assert "pingwei" in page and "nanguan" not in page
    page = text(org_client.get("/admin/users", query_string={"q": "南关、科协"}))
    assert "pingwei" in page and "nanguan" in page and ">org<" not in page
    page = text(org_client.get("/admin/users", query_string={"q": "100%_"}))
    assert "没有符合条件的账号" in page


# --- permissions and CSRF ------------------------------------------------------------------------

PAGES = ["/admin/schools", "/admin/schools/new", "/admin/schools/template.xlsx", "/admin/schools/import",
         "/admin/users", "/admin/users/new", "/admin/users/template.xlsx", "/admin/users/import"]


@pytest.mark.parametrize("role", ["coordinator", "judge"])
def test_coordinators_and_judges_get_403(app, make_user, role):
    user = make_user(role)
    client = app.test_client()
    assert login(client, user).status_code == 302
    for url in PAGES:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/admin/users/{user.id}/reset-password").status_code == 403


def test_anonymous_is_sent_to_login(client, make_school):
    school = make_school()
    for url in PAGES + [f"/admin/schools/{school.id}/edit"]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert "/login" in client.post(f"/admin/schools/{school.id}/delete").headers["Location"]


def test_forms_work_with_csrf_enabled_and_refuse_without_token(make_app, db, organizer):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text(client.get("/login"))).group(1)
    assert client.post("/login", data={"username": "org", "password": PASSWORD, "csrf_token": token}).status_code == 302
    assert client.post("/admin/schools/new", data={"name": "无令牌小学", "parent_id": "0"}).status_code == 400
    page = text(client.get("/admin/schools/new"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/admin/schools/new", data={"name": "有令牌小学", "parent_id": "0", "csrf_token": token})
    assert response.status_code == 302
    # The import flow with real tokens.
    page = text(client.get("/admin/schools/import"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/admin/schools/import", data={
        "step": "upload", "csrf_token": token, "file": (io.BytesIO(xlsx([["名称"], ["令牌中学"]])), "a.xlsx")},
        content_type="multipart/form-data")
    page = text(response)
    response = client.post("/admin/schools/import", data={"step": "confirm", "token": token_of(page),
                                                          "csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(School).where(School.name == "令牌中学")) is not None


# --- imports: schools --------------------------------------------------------------------------------


def test_import_schools_happy_path(org_client, app, db, make_school):
    make_school("河西镇中心小学", code="HX00")
    data = xlsx([
        ["备注", "上级学校", "名称", "片区", "代码"],  # any column order, an extra column
        ["", "城关镇中心小学", " 城关镇 东村小学 ", "城关片区", "ＣＧ０２"],  # child before its parent
        ["", "", "城关镇中心小学", "城关片区", "CG01"],
        ["", "hx00", "河西镇西村小学", "河西片区", ""],  # parent by code, any case
        [None, None, None, None, None],  # a blank row
        ["", "", "河西镇中心小学", "河西片区", ""],  # existing: cluster set, code kept
    ])
    response = upload(org_client, "/admin/schools/import", data, "学校名单.xlsx")
    page = text(response)
    assert response.status_code == 200 and "检查通过" in page
    assert "将新建3所学校，修改1所，0所没有变化" in page
    assert count(db, School) == 1  # nothing written by the preview
    assert len(list(imports_dir(app).glob("*.xlsx"))) == 1

    response = confirm(org_client, "/admin/schools/import", page)
    assert response.status_code == 302
    schools = {s.name: s for s in db.session.scalars(select(School))}
    assert set(schools) == {"城关镇东村小学", "城关镇中心小学", "河西镇西村小学", "河西镇中心小学"}
    assert schools["城关镇东村小学"].parent.name == "城关镇中心小学"
    assert schools["城关镇东村小学"].code == "CG02"
    assert schools["河西镇西村小学"].parent.name == "河西镇中心小学"
    assert (schools["河西镇中心小学"].code, schools["河西镇中心小学"].cluster) == ("HX00", "河西片区")
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "schools_imported")) is not None
    assert list(imports_dir(app).glob("*.xlsx")) == []
    # confirming twice does nothing
    response = confirm(org_client, "/admin/schools/import", page)
    assert response.status_code == 302 and count(db, School) == 4


def test_import_schools_faults_named_by_row_and_column(org_client, db, make_school):
    make_school("已有小学", code="YY01")
    data = xlsx([
        ["名称", "代码", "片区", "上级学校"],
        ["甲小学", "A1", "", "乙小学"],  # 2: cycle with row 3
        ["乙小学", "B1", "", "甲小学"],  # 3: cycle with row 2
        ["丙小学", "a1", "", ""],  # 4: code taken by row 2 (case)
        ["", "D1", "", ""],  # 5: no name
        ["丁小学", "yy01", "", "不存在的学校"],  # 6: code of an existing school, unknown parent
        ["甲小学", "", "", ""],  # 7: same name as row 2
        ["戊小学", "", "", "戊小学"],  # 8: its own parent
    ])
    page = text(upload(org_client, "/admin/schools/import", data))
    for expected in ["第2行「上级学校」", "循环", "第3行「上级学校」", "第4行「代码」", "与第2行相同",
                     "第5行「名称」", "请填写学校名称", "第6行「代码」", "已被学校「已有小学」使用",
                     "第6行「上级学校」", "找不到上级学校「不存在的学校」", "第7行「名称」", "与第2行的学校重名",
                     "第8行「上级学校」", "不能是它自己", "未导入任何数据"]:
        assert expected in page, expected
    assert 'name="token"' not in page
    assert count(db, School) == 1


def test_import_refuses_the_unchanged_template_and_missing_headers(org_client, db):
    template = org_client.get("/admin/schools/template.xlsx").data
    page = text(upload(org_client, "/admin/schools/import", template))
    assert "第2行" in page and "示例行" in page
    page = text(upload(org_client, "/admin/users/import", xlsx([["用户名", "手机"], ["abc", "1"]], "账号")))
    assert "第1行「姓名」" in page and "缺少必填列「姓名」" in page and "缺少必填列「角色」" in page
    page = text(upload(org_client, "/admin/schools/import", xlsx([["名称"]])))
    assert "没有数据行" in page
    assert count(db, School) == 0


# --- imports: accounts -----------------------------------------------------------------------------


def test_import_users_happy_path_prints_the_password_sheet(org_client, app, db, make_school):
    make_school("城关镇中心小学", code="CG01")
    make_school("河西中学")
    data = xlsx([
        ["用户名", "姓名", "角色", "学校", "单位", "手机", "初始密码"],
        ["ＬＩＳＩ", " 李 四 ", "学校管理员", "cg01", "", "１３８００００００００", ""],  # full-width, code
        ["wangwu", "王五", "judge", "", "县教研室", "", ""],  # English role, free-text unit
        ["zhaoliu", "赵六", " 评委 ", "河西中学", "", "", ""],
        ["chen", "陈老师", "组委会", "", "", "", "Chen2026x"],  # typed password
    ], "账号")
    response = upload(org_client, "/admin/users/import", data, "账号.xlsx")
    page = text(response)
    assert "将新建4个账号" in page and "表中已填写" in page and "系统生成" in page
    assert "Chen2026x" not in page  # the preview never shows a password
    response = confirm(org_client, "/admin/users/import", page)
    page = text(response)
    assert response.status_code == 200
    passwords = slip_passwords(page)
    assert set(passwords) == {"LISI", "wangwu", "zhaoliu", "chen"}
    assert passwords["chen"] == "Chen2026x"
    assert page.count('class="slip"') == 4 and "http://localhost/" in page and "县教研室" in page
    users = {u.username: u for u in db.session.scalars(select(User))}
    lisi = users["LISI"]
    assert (lisi.display_name, lisi.role, lisi.school.name, lisi.phone) == ("李四", "coordinator", "城关镇中心小学",
                                                                            "13800000000")
    assert users["wangwu"].affiliation == "县教研室" and users["wangwu"].school is None
    assert users["zhaoliu"].role == "judge" and users["zhaoliu"].school.name == "河西中学"
    assert users["chen"].role == "organizer"
    assert all(users[name].must_change_password for name in passwords)
    for name, password in passwords.items():
        assert password not in users[name].password_hash
    assert login(app.test_client(), "lisi", passwords["LISI"]).status_code == 302
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "users_imported")) is not None
    assert list(imports_dir(app).glob("*.xlsx")) == []


def test_import_users_with_faults_saves_nothing_and_names_every_fault(org_client, app, db, make_school, make_user):
    make_school("城关小学")
    make_user("judge", username="Taken")
    before = count(db, User)
    data = xlsx([
        ["姓名", "用户名", "角色", "学校", "手机", "初始密码"],
        ["张三", "zhangsan", "评委", "", "", ""],  # 2: fine
        ["李四", "lisi", "校长", "", "", ""],  # 3: unknown role
        ["王五", "wangwu", "学校管理员", "", "", ""],  # 4: coordinator without school
        ["张三三", "ZhangSan", "评委", "", "", ""],  # 5: same username as row 2
        ["赵六", "zhaoliu", "评委", "不存在小学", "", ""],  # 6: unknown school
        ["孙七", "sunqi", "评委", "", "", "12345678"],  # 7: weak password
        ["", "zhouba", "评委", "", "abc", ""],  # 8: no name, bad phone
        ["吴九", "taken", "评委", "", "", ""],  # 9: exists in the database
        ["郑十", "zheng shi", "评委", "", "", ""],  # 10: space inside
    ], "账号")
    page = text(upload(org_client, "/admin/users/import", data))
    for expected in ["第3行「角色」", "无法识别的角色「校长」",
                     "第4行「学校」", "学校管理员必须指定所属学校",
                     "第5行「用户名」", "与第2行的用户名重复",
                     "第6行「学校」", "找不到学校「不存在小学」",
                     "第7行「初始密码」", "密码需同时包含字母和数字",
                     "第8行「姓名」", "请填写姓名", "第8行「手机」",
                     "第9行「用户名」", "用户名「taken」已存在",
                     "第10行「用户名」", "不能包含空格",
                     "有9处错误，未导入任何数据"]:
        assert expected in page, expected
    assert 'fault-where">第2行' not in page  # row 2 is fine
    assert count(db, User) == before
    assert not imports_dir(app).exists() or list(imports_dir(app).glob("*.xlsx")) == []


def test_confirm_rechecks_the_stored_file(org_client, app, db, make_user):
    data = xlsx([["用户名", "姓名", "角色"], ["later", "后来者", "评委"]], "账号")
    page = text(upload(org_client, "/admin/users/import", data))
    assert "将新建1个账号" in page
    # A token that is not this session's is refused.
    response = org_client.post("/admin/users/import", data={"step": "confirm", "token": "../../etc/passwd"})
    assert response.status_code == 302
    assert db.session.scalar(select(User).where(User.username == "later")) is None
    # Someone takes the username between preview and confirm: the confirm re-reads and refuses.
    page = text(upload(org_client, "/admin/users/import", data))
    make_user("judge", username="LATER")
    page = text(confirm(org_client, "/admin/users/import", page))
    assert "第2行「用户名」" in page and "已存在" in page and "未导入任何数据" in page
    assert db.session.scalar(select(func.count()).select_from(User)
                             .where(func.lower(User.username) == "later")) == 1


def test_non_xlsx_files_are_refused_by_content(org_client, db):
    page = text(upload(org_client, "/admin/schools/import", "名称\n甲小学\n".encode(), "学校.csv"))
    assert "文件「学校.csv」不是有效的Excel文件（.xlsx）" in page
    page = text(upload(org_client, "/admin/schools/import", b"\xd0\xcf\x11\xe0" + b"\0" * 600, "旧格式.xls"))
    assert "文件「旧格式.xls」不是有效的Excel文件" in page and "旧版Excel" in page
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    page = text(upload(org_client, "/admin/schools/import", buffer.getvalue(), "伪装.xlsx"))
    assert "文件「伪装.xlsx」不是有效的Excel文件" in page
    page = text(upload(org_client, "/admin/schools/import", b"", "空.xlsx"))
    assert "空文件" in page
    page = text(org_client.post("/admin/schools/import", data={"step": "upload"}))
    assert "请选择要导入的Excel文件" in page
    assert count(db, School) == 0


def test_import_file_size_limit_named(org_client):
    big = b"PK" + b"\0" * (sheets.MAX_IMPORT_BYTES + 10)
    page = text(upload(org_client, "/admin/users/import", big, "大文件.xlsx"))
    assert "超过了导入文件5 MB的上限" in page and "大文件.xlsx" in page


def test_row_limit(app):
    data = xlsx([["名称"]] + [[f"学校{i}"] for i in range(6)])
    with pytest.raises(sheets.SheetError, match="超过5行数据"):
        sheets.read_sheet(data, ops.SCHOOL_SHEET, "a.xlsx", max_rows=5)
    assert len(sheets.read_sheet(data, ops.SCHOOL_SHEET, "a.xlsx", max_rows=6).rows) == 6


# --- templates and escaping ------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+86 138", "'+86 138"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("城关小学", "城关小学"), ("", ""), (5, 5), (None, None), ("a=b", "a=b"),
])
def test_escape_cell(value, expected):
    assert sheets.escape_cell(value) == expected


def test_templates_hold_no_formulas_and_offer_drop_downs(org_client, make_school):
    make_school('=HYPERLINK("http://evil","点我")')
    make_school("@城关小学")
    for url, title in (("/admin/schools/template.xlsx", "学校"), ("/admin/users/template.xlsx", "账号")):
        response = org_client.get(url)
        assert response.status_code == 200
        assert response.mimetype == sheets.XLSX_MIMETYPE
        wb = openpyxl.load_workbook(io.BytesIO(response.data))
        assert wb.sheetnames[0] == title and sheets.INSTRUCTIONS_TITLE in wb.sheetnames
        values = []
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                    values.append(cell.value)
        assert "'=HYPERLINK(\"http://evil\",\"点我\")" in values and "'@城关小学" in values
        assert wb[title]["A1"].font.b
        assert wb[sheets.OPTIONS_TITLE].sheet_state == "hidden"
    users = openpyxl.load_workbook(io.BytesIO(org_client.get("/admin/users/template.xlsx").data))
    formulas = [dv.formula1 for dv in users["账号"].data_validations.dataValidation]
    assert '"组委会,学校管理员,评委"' in formulas
    assert [c.value for c in users["账号"][1]] == ["用户名", "姓名", "角色", "学校", "单位", "手机", "初始密码"]


def test_a_filled_in_template_imports(org_client, db, make_school):
    make_school("=1+1小学")  # a name that needs escaping travels through the template and back
    wb = openpyxl.load_workbook(io.BytesIO(org_client.get("/admin/users/template.xlsx").data))
    ws = wb["账号"]
    ws.delete_rows(2)
    options = wb[sheets.OPTIONS_TITLE]
    ws.append(["t_user", "模板用户", "学校管理员", options["A2"].value, "", "", ""])
    buffer = io.BytesIO()
    wb.save(buffer)
    page = text(upload(org_client, "/admin/users/import", buffer.getvalue()))
    assert "将新建1个账号" in page, page
    confirm(org_client, "/admin/users/import", page)
    assert db.session.scalar(select(User).where(User.username == "t_user")).school.name == "=1+1小学"


# --- property: row order does not matter ---------------------------------------------------------------


@st.composite
def school_sheets(draw):
    """A forest of schools (parents chosen among earlier ones, so no cycles), written in any order,
    with typing variants: stray spaces, full-width digits, parents by name or by code."""
    n = draw(st.integers(1, 7))
    schools = []
    for i in range(n):
        parent = draw(st.one_of(st.none(), st.integers(0, i - 1))) if i else None
        code = f"C{i}" if draw(st.booleans()) else None
        cluster = draw(st.sampled_from([None, "城关片区", "河西片区"]))
        schools.append({"name": f"第{i}小学", "code": code, "cluster": cluster, "parent": parent})
    rows = []
    for i, school in enumerate(schools):
        name = school["name"]
        if draw(st.booleans()):
            name = name.replace(str(i), chr(ord("０") + i))  # full-width digit
        if draw(st.booleans()):
            name = " " + name[0] + " " + name[1:] + "  "  # stray spaces
        parent_ref = ""
        if school["parent"] is not None:
            parent = schools[school["parent"]]
            use_code = parent["code"] is not None and draw(st.booleans())
            parent_ref = parent["code"].lower() if use_code else parent["name"]
        rows.append([name, school["code"] or "", school["cluster"] or "", parent_ref])
    order = draw(st.permutations(range(n)))
    expected = {s["name"]: (s["code"], s["cluster"], schools[s["parent"]]["name"] if s["parent"] is not None else None)
                for s in schools}
    return [rows[i] for i in order], expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sheet=school_sheets())
def test_importing_schools_in_any_row_order_gives_the_same_schools(app, db, sheet):
    rows, expected = sheet
    data = xlsx([["名称", "代码", "片区", "上级学校"]] + rows)
    plan = ops.plan_school_import(data, "order.xlsx")
    assert plan.ok, [str(f) for f in plan.faults]
    ops.apply_school_import(plan)
    db.session.commit()
    try:
        found = {s.name: (s.code, s.cluster, s.parent.name if s.parent else None)
                 for s in db.session.scalars(select(School))}
        assert found == expected
    finally:
        db.session.execute(update(School).values(parent_id=None))
        db.session.execute(delete(School))
        db.session.commit()


def test_reads_every_row_whatever_the_stored_dimension(app):
    wb = openpyxl.Workbook(write_only=True)  # no dimension at all
    ws = wb.create_sheet("学校")
    for row in (["名称"], ["甲小学"], ["乙小学"]):
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    assert [r.get("name") for r in sheets.read_sheet(buffer.getvalue(), ops.SCHOOL_SHEET, "w.xlsx").rows] == [
        "甲小学", "乙小学"]
    # A dimension that claims fewer rows than the sheet holds must not drop the rest silently.
    source = zipfile.ZipFile(io.BytesIO(xlsx([["名称"], ["甲小学"], ["乙小学"], ["丙小学"]])))
    patched = io.BytesIO()
    with zipfile.ZipFile(patched, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:A2"', content)
            target.writestr(item, content)
    rows = sheets.read_sheet(patched.getvalue(), ops.SCHOOL_SHEET, "d.xlsx").rows
    assert [(r.number, r.get("name")) for r in rows] == [(2, "甲小学"), (3, "乙小学"), (4, "丙小学")]


def test_a_damaged_sheet_is_refused_with_the_file_named(app):
    source = zipfile.ZipFile(io.BytesIO(xlsx([["名称"], ["甲小学"]])))
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]  # truncated XML
            target.writestr(item, content)
    with pytest.raises(sheets.SheetError, match="文件「坏.xlsx」不是有效的Excel文件"):
        sheets.read_sheet(damaged.getvalue(), ops.SCHOOL_SHEET, "坏.xlsx")
