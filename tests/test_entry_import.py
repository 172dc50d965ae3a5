"""Entries from Excel: the template, upload -> preview -> confirm, every fault named by row and
column, the variants teachers type, and all-or-nothing under junk input."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from judging.core.models import AuditEvent
from judging.registration import imports
from judging.registration.models import Entry, EntryInstructor, EntryStudent
from judging.registration.rules import Problem, StudentInput
from tests.conftest import login

URL = "/school/entries/import"
TEMPLATE_URL = "/school/entries/template.xlsx"
HEADER = ["作品名称*", "类别*", "作品形式", "组别*", "学生*", "性别", "年级*", "班级*", "指导教师", "作品说明", "视频链接"]


# --- helpers ---------------------------------------------------------------------------------------

def xlsx(rows, header=HEADER, title="作品") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def row(title="自动浇花器", category="小发明", subform="", division="小学组", students="张三", gender="男",
        grade="五年级", klass="1班", instructors="王老师", description="", video=""):
    return [title, category, subform, division, students, gender, grade, klass, instructors, description, video]


def upload(client, data: bytes, filename="作品.xlsx"):
    return client.post(URL, data={"step": "upload", "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def token_of(page: str) -> str:
    match = re.search(r'name="token" type="hidden" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def confirm(client, page: str):
    return client.post(URL, data={"step": "confirm", "token": token_of(page)})


def text(response) -> str:
    return response.get_data(as_text=True)


def entry_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Entry))


def plan_for(data: bytes, edition, user, school):
    return imports.plan_entry_import(data, "作品.xlsx", edition, user, school)


def faults(plan) -> list[tuple[int | None, str | None, str]]:
    return [(f.row, f.column, f.reason) for f in plan.faults]


def has_fault(plan, row, column, part) -> bool:
    return any(r == row and c == column and part in reason for r, c, reason in faults(plan))


@pytest.fixture
def school(make_school):
    return make_school("城关小学", code="CG")


@pytest.fixture
def coordinator(make_user, school):
    return make_user("coordinator", username="cg", school=school)


@pytest.fixture
def coord_client(client, coordinator, edition):
    assert login(client, coordinator).status_code == 302
    return client


def imports_dir(app) -> Path:
    return Path(app.config["UPLOAD_DIR"]) / "imports"


# --- the happy path through the web ---------------------------------------------------------------

def test_coordinator_downloads_fills_previews_and_confirms(coord_client, app, db, edition, coordinator):
    response = coord_client.get(TEMPLATE_URL)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames == ["作品", "选项", "填写说明"] and wb["选项"].sheet_state == "hidden"
    ws = wb["作品"]
    header = [c.value for c in ws[1]]
    assert header == HEADER  # the coordinator's template has no 学校 column
    assert ws.cell(2, 1).value == imports.EXAMPLE_TITLE
    validated = {str(v.sqref).split(":")[0][0] for v in ws.data_validations.dataValidation}
    assert {"B", "C", "D", "F"} <= validated  # 类别, 作品形式, 组别, 性别
    notes = "\n".join(str(c.value) for r in wb["填写说明"].iter_rows() for c in r if c.value)
    for expected in ("小发明（代码 XF）：每件作品最多3名学生、2名指导教师", "科幻画（代码 KH）", "卡通画、素描画",
                     "小学组（X）", "初中组（C）", "每班每个类别最多报3件", "报名时间"):
        assert expected in notes, expected

    ws.delete_rows(2)  # the example
    ws.append(row("自动浇花器", students="张三、李四", gender="男、女", instructors="王老师、赵老师"))
    ws.append(row("节水马桶", students="王五", klass="2班"))
    ws.append(row("未来城市", category="科幻画", subform="卡通画", students="赵六", gender="女", instructors=""))
    buffer = io.BytesIO()
    wb.save(buffer)

    page = text(upload(coord_client, buffer.getvalue(), "城关小学作品.xlsx"))
    assert "检查通过：文件" in page and "将新建3件作品" in page, page
    assert "XFX-001" in page and "XFX-002" in page and "KHX-001" in page
    kept = sorted(p.name.split(".", 1)[1] for p in imports_dir(app).iterdir())
    assert kept == ["plan.json", "xlsx"]  # the upload and the rows checked from it
    assert entry_count(db) == 0  # the preview writes nothing

    response = confirm(coord_client, page)
    assert response.status_code == 302 and response.headers["Location"].endswith("/school/entries")
    db.session.expire_all()
    entries = {e.code: e for e in db.session.scalars(select(Entry))}
    assert sorted(entries) == ["KHX-001", "XFX-001", "XFX-002"]
    first = entries["XFX-001"]
    assert first.title == "自动浇花器" and first.school.name == "城关小学" and first.created_by_id == coordinator.id
    assert [(s.position, s.name, s.gender, s.grade, s.class_name) for s in first.students] == [
        (1, "张三", "男", "五年级", "1班"), (2, "李四", "女", "五年级", "1班")]
    assert first.instructor_names == "王老师、赵老师"
    assert entries["KHX-001"].subform == "卡通画"
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("entr%"))))
    assert [e.action for e in events] == ["entries_imported"]  # one event for the whole import
    assert "城关小学作品.xlsx" in events[0].summary and "XFX-001—XFX-002" in events[0].summary
    assert list(imports_dir(app).iterdir()) == []

    flashed = text(coord_client.get(URL))
    assert "已从「城关小学作品.xlsx」导入3件作品" in flashed
    # The same token again: nothing pending, nothing imported twice.
    response = confirm(coord_client, page)
    assert response.status_code == 302
    assert entry_count(db) == 3


# --- faults, each named by row and column -----------------------------------------------------------

def test_every_fault_is_named_with_row_and_column_and_nothing_is_saved(coord_client, db, edition, coordinator):
    rows = [
        row("甲", category="小制作"),                                             # 2: unknown category
        row("", students="钱一"),                                                 # 3: missing title
        row("丙", category="科幻画", subform="卡通画", students="孙二、周三", gender="男"),  # 4: too many students
        row("丁", students="吴四", grade="五年极"),                               # 5: unreadable grade
        row("戊", students="郑五", klass="2班"),                                  # 6..8: three in 五年级2班
        row("己", students="冯六", klass="2班"),
        row("庚", students="陈七", klass="2班"),
        row("辛", students="褚八", klass="2班"),                                  # 9: the class cap, within the file
        row("壬", students="卫九", klass="3班"),                                  # 10
        row("癸", students="卫九", klass="3班"),                                  # 11: the same student again
        row("壬", students="卫九", klass="3班"),                                  # 12: a repeated row
        row("子", division="高中组", students="蒋十", gender="难说", klass="4班"),  # 13: division and gender
    ]
    response = upload(coord_client, xlsx(rows))
    assert response.status_code == 200
    page = text(response)
    plan = plan_for(xlsx(rows), edition, coordinator, coordinator.school)
    assert has_fault(plan, 2, "类别", "找不到类别「小制作」")
    assert has_fault(plan, 3, "作品名称", "请填写作品名称")
    assert has_fault(plan, 4, "学生", "科幻画每件作品最多1名学生，这里填了2名")
    assert has_fault(plan, 5, "年级", "年级「五年极」无法识别")
    assert has_fault(plan, 9, "类别", "五年级2班的小发明作品已有3件，达到每班3件的上限")
    assert has_fault(plan, 9, "类别", "（按第一作者所在班级计；其中3件是本表前面的行）")
    assert has_fault(plan, 11, "学生", "学生“卫九”（五年级3班）已报名小发明作品（本表第10行），每名学生每个类别只能报一件作品")
    assert has_fault(plan, 12, None, "与第10行重复")
    assert has_fault(plan, 13, "组别", "找不到组别「高中组」")
    assert has_fault(plan, 13, "性别", "性别「难说」无法识别")
    assert len(plan.faults) == 9, faults(plan)
    assert not plan.rows and not plan.ok
    # The page lists them all: sheet, row, column, reason.
    assert f"有{len(plan.faults)}处错误，未导入任何作品" in page
    assert re.search(r"<td>作品</td>\s*<td class=\"fault-where\">第2行</td>\s*<td class=\"fault-where\">类别</td>"
                     r"\s*<td>找不到类别「小制作」", page), page
    assert "第12行</td>" in page and "整行" in page
    assert 'value="confirm"' not in page
    assert entry_count(db) == 0


def test_a_student_already_registered_and_the_school_cap_count_saved_entries(
        coord_client, db, edition, coordinator, make_entry):
    edition.max_entries_per_school = 2
    db.session.commit()
    school = coordinator.school
    saved = make_entry(school, title="旧作品", students=[StudentInput("张三", "男", "五年级", "1班")])
    plan = plan_for(xlsx([row("新作品", students="张三"), row("另一件", students="李四"),
                          row("第三件", students="王五")]), edition, coordinator, school)
    assert has_fault(plan, 2, "学生", f"已报名小发明作品 {saved.code}")
    assert has_fault(plan, 4, "类别", "本校小发明已报2件，达到每校2件的上限（其中1件是本表前面的行）")
    assert entry_count(db) == 1


def test_window_closed_for_the_coordinator_but_not_for_the_organizer(coord_client, db, edition, organizer, school):
    edition.registration_closes = datetime.now() - timedelta(days=1)
    db.session.commit()
    page = text(coord_client.get(URL))
    assert "报名已于" in page and "截止" in page
    assert 'name="file"' not in page  # no upload form while closed
    page = text(upload(coord_client, xlsx([row()])))
    assert "报名已于" in page and "未导入任何作品" in page
    assert entry_count(db) == 0

    plan = imports.plan_entry_import(xlsx([["城关小学"] + row()], header=["学校*"] + HEADER),
                                     "组委会.xlsx", edition, organizer, None)
    assert plan.ok, faults(plan)


def test_organizer_imports_for_several_schools_by_name_or_code(org_client, db, edition, school, make_school):
    other = make_school("青山小学", code="QS")
    response = org_client.get(TEMPLATE_URL)
    assert response.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(response.data))["作品"]
    assert ws.cell(1, 1).value == "学校*"
    header = ["学校*"] + HEADER
    data = xlsx([["城关小学"] + row("甲"), ["qs"] + row("乙"), [" 青山 小学 "] + row("丙", students="李四"),
                 ["不存在小学"] + row("丁"), [""] + row("戊")], header=header)
    page = text(upload(org_client, data))
    assert "第5行" in page and "找不到学校「不存在小学」" in page
    assert "第6行" in page and "请填写学校" in page
    assert entry_count(db) == 0

    data = xlsx([["城关小学"] + row("甲"), ["qs"] + row("乙"), [" 青山 小学 "] + row("丙", students="李四")],
                header=header)
    page = text(upload(org_client, data))
    assert "将新建3件作品" in page, page
    assert confirm(org_client, page).status_code == 302
    db.session.expire_all()
    by_school = {}
    for entry in db.session.scalars(select(Entry).order_by(Entry.code)):
        by_school.setdefault(entry.school.name, []).append(entry.code)
    assert by_school == {"城关小学": ["XFX-001"], "青山小学": ["XFX-002", "XFX-003"]}
    assert {e.school_id for e in db.session.scalars(select(Entry))} == {school.id, other.id}


def test_a_coordinator_cannot_import_into_another_school(coord_client, db, edition, coordinator, make_school):
    make_school("青山小学", code="QS")
    data = xlsx([["青山小学"] + row("甲"), ["城关小学"] + row("乙", students="李四", klass="2班"),
                 ["cg"] + row("丙", students="王五", klass="3班"), [""] + row("丁", students="赵六", klass="4班")],
                header=["学校"] + HEADER)
    plan = plan_for(data, edition, coordinator, coordinator.school)
    assert faults(plan) == [(2, "学校", "只能导入本校（城关小学）的作品，「青山小学」不是本校；其他学校的作品请由该校或组委会导入")]
    page = text(upload(coord_client, data))
    assert "只能导入本校" in page
    assert entry_count(db) == 0


# --- what teachers type ----------------------------------------------------------------------------

def test_variants_are_accepted(coord_client, db, edition, coordinator):
    rows = [
        ["  自动  浇花器 ", "xf", "", "x", "张 三，李四、 王五", "男", "５年级", "（３）班", "王老师;赵老师", "", ""],
        ["《节水马桶》", "XF", "", "小学", "钱一、孙二", "女，男", "5、五", "3, 4", "", "", ""],
        ["未来城市", "kh", "素描画", "初中组", "周三", "女生", "初一", "２", "吴老师", "说明", "https://v.example.com/1"],
        [12345, "小发明", None, "C", "吴四", None, 8, 1, None, None, None],  # numbers where text is expected
    ]
    plan = plan_for(xlsx(rows), edition, coordinator, coordinator.school)
    assert plan.ok, faults(plan)
    first, second, third, fourth = (r.data for r in plan.rows)
    assert first.title == "自动 浇花器"
    assert [(s.name, s.grade, s.class_name) for s in first.students] == [
        ("张三", "五年级", "3班"), ("李四", "五年级", "3班"), ("王五", "五年级", "3班")]
    assert first.instructors == ["王老师", "赵老师"]
    assert second.title == "节水马桶"
    assert [(s.gender, s.class_name) for s in second.students] == [("女", "3班"), ("男", "4班")]
    assert (third.subform, third.students[0].gender, third.students[0].grade) == ("素描画", "女", "七年级")
    assert (fourth.title, fourth.students[0].grade, fourth.students[0].class_name) == ("12345", "八年级", "1班")
    assert [r.code for r in plan.rows] == ["XFX-001", "XFX-002", "KHC-001", "XFC-001"]

    page = text(upload(coord_client, xlsx(rows)))
    assert confirm(coord_client, page).status_code == 302
    assert entry_count(db) == 4


def test_the_example_row_is_refused(coord_client, db, edition):
    template = coord_client.get(TEMPLATE_URL).data
    page = text(upload(coord_client, template))
    assert "第2行" in page and imports.EXAMPLE_FAULT in page
    assert entry_count(db) == 0


def test_a_file_that_is_not_xlsx_is_refused(coord_client, db, edition):
    page = text(upload(coord_client, b"\xd0\xcf\x11\xe0 an old workbook", "作品.xls"))
    assert "不是有效的Excel文件" in page and "旧版Excel（.xls）" in page
    page = text(upload(coord_client, "作品名称,类别\n甲,小发明\n".encode(), "作品.csv"))
    assert "不是有效的Excel文件" in page
    page = text(upload(coord_client, xlsx([["甲"]], header=["作品名称"])))
    assert "缺少必填列「类别*」" in page
    page = text(upload(coord_client, xlsx([])))
    assert "没有数据行" in page
    assert entry_count(db) == 0


def test_too_many_rows_are_refused_with_a_message(coord_client, db, edition, coordinator, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ENTRY_ROWS", 3)
    data = xlsx([row(f"作品{i}", students=f"学生{i}", klass=f"{i + 1}班") for i in range(4)])
    plan = plan_for(data, edition, coordinator, coordinator.school)
    assert faults(plan) == [(None, None, "工作表「作品」超过3行数据，请分成几个文件导入。")]
    assert imports.MAX_ENTRY_ROWS == 3 and entry_count(db) == 0


def test_a_duplicate_title_warns_but_does_not_block(coord_client, db, edition, coordinator, make_entry):
    make_entry(coordinator.school, title="自动浇花器", students=[StudentInput("老生", "男", "六年级", "1班")])
    page = text(upload(coord_client, xlsx([row("自动 浇花器")])))
    assert "请核对（不影响导入）" in page and "本校已有同名作品" in page
    assert "检查通过：文件" in page
    assert confirm(coord_client, page).status_code == 302
    assert entry_count(db) == 2


# --- all or nothing -------------------------------------------------------------------------------

def test_the_confirm_rechecks_and_imports_nothing_when_the_data_changed(coord_client, db, edition, coordinator,
                                                                       make_entry):
    page = text(upload(coord_client, xlsx([row("甲", students="张三"), row("乙", students="李四")])))
    assert "检查通过：文件" in page
    make_entry(coordinator.school, title="抢先", students=[StudentInput("李四", "女", "五年级", "1班")])
    response = confirm(coord_client, page)
    page = text(response)
    assert response.status_code == 200
    assert "数据在预览之后有变化" in page and "第3行" in page and "已报名小发明作品" in page
    assert entry_count(db) == 1  # only the one saved in between


def test_a_refusal_in_the_middle_of_the_import_leaves_nothing_behind(coord_client, db, edition, monkeypatch):
    from judging.registration import operations

    calls = {"n": 0}
    real = operations.create_entry

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise operations.RegistrationError([Problem("_", "模拟的故障")])
        return real(*args, **kwargs)

    page = text(upload(coord_client, xlsx([row(f"作品{i}", students=f"学生{i}", klass=f"{i + 1}班") for i in range(5)])))
    monkeypatch.setattr(imports, "create_entry", failing)
    response = confirm(coord_client, page)
    assert response.status_code == 302
    shown = text(coord_client.get(URL))
    assert "模拟的故障" in shown and "没有导入任何作品" in shown
    db.session.expire_all()
    assert entry_count(db) == 0
    assert db.session.scalar(select(func.count()).select_from(EntryStudent)) == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "entries_imported")) is None


def test_without_the_kept_rows_the_confirm_reads_the_file_again(coord_client, app, db, edition):
    page = text(upload(coord_client, xlsx([row("甲", students="张三"), row("乙", students="李四", klass="2班")])))
    for kept in imports_dir(app).glob("*.plan.json"):
        kept.write_text("{not json")
    assert confirm(coord_client, page).status_code == 302
    assert entry_count(db) == 2
    assert list(imports_dir(app).iterdir()) == []


def test_judges_and_anonymous_users_cannot_import(client, make_user, edition):
    assert client.get(URL).status_code == 302
    judge = make_user("judge", username="pw")
    login(client, judge)
    assert client.get(URL).status_code == 403
    assert client.get(TEMPLATE_URL).status_code == 403


# --- junk cells: messages, never a 500 or a partial import ----------------------------------------

JUNK = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=12),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
    st.none(),
    st.booleans(),
)
COLUMNS = len(HEADER)


@st.composite
def plausible_row(draw, i: int):
    """A row that imports on its own (students differ per row, so rows do not clash)."""
    klass = i + 1
    return [
        draw(st.sampled_from(["自动浇花器", "节水马桶", "《月球农场》", " 会走路的 椅子 "])),
        draw(st.sampled_from(["小发明", "xf", "XF"])),
        "",
        draw(st.sampled_from(["小学组", "C", "x", "初中"])),
        draw(st.sampled_from([f"学生{i}甲", f"学生{i}甲、学生{i}乙", f"学生{i}甲，学生{i}乙"])),
        draw(st.sampled_from(["", "男", "女"])),
        draw(st.sampled_from(["五年级", "５年级", "初一", 3])),
        draw(st.sampled_from([f"{klass}班", f"({klass})班", klass, str(klass)])),
        draw(st.sampled_from(["", "王老师", "王老师、赵老师"])),
        draw(st.sampled_from(["", "说明"])),
        draw(st.sampled_from(["", "https://v.example.com/x"])),
    ]


@st.composite
def junk_rows(draw):
    """1-5 plausible rows; about a third of them get up to three cells of junk (so some files
    import and the success path is tried too)."""
    rows = []
    for i in range(draw(st.integers(min_value=1, max_value=5))):
        cells = draw(plausible_row(i))
        if draw(st.integers(min_value=0, max_value=2)) == 0:
            for column in draw(st.sets(st.integers(min_value=0, max_value=COLUMNS - 1), min_size=1, max_size=3)):
                cells[column] = draw(JUNK)
        rows.append(cells)
    return rows


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=junk_rows())
def test_junk_cells_get_messages_never_an_error_or_a_partial_import(coord_client, db, edition, rows):
    try:
        try:
            data = xlsx(rows)
        except Exception:  # openpyxl itself refuses to write this junk: nothing to upload
            return
        response = upload(coord_client, data)
        assert response.status_code == 200
        page = text(response)
        if 'value="confirm"' in page:
            event("imported")
            response = confirm(coord_client, page)
            assert response.status_code == 302
            assert entry_count(db) > 0
        else:
            event("refused with faults")
            assert "处错误，未导入任何作品" in page
            assert entry_count(db) == 0
    finally:
        db.session.rollback()
        db.session.execute(delete(EntryStudent))
        db.session.execute(delete(EntryInstructor))
        db.session.execute(delete(Entry))
        db.session.commit()


def test_plan_never_raises_on_junk_values(app, db, edition, make_user, school):
    """The planning function alone, faster, with junk in every column."""
    coordinator = make_user("coordinator", username="junk", school=school)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(cells=st.lists(st.lists(JUNK, min_size=11, max_size=11), min_size=1, max_size=4))
    def check(cells):
        try:
            data = xlsx(cells)
        except Exception:
            return
        plan = plan_for(data, edition, coordinator, school)
        assert plan.faults or plan.rows
        assert all(f.reason for f in plan.faults)
        assert entry_count(db) == 0

    check()
