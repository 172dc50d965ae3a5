"""The contest workbook (竞赛数据包, WORKBOOK.md): export -> import -> export gives the same cells and the
same results; every fault is named by sheet, row and column and a faulty file writes nothing; formula-
looking cells are escaped; the organizer's pages (upload -> preview -> confirm, downloads) per role."""
from __future__ import annotations

import io
import uuid
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from judging.contests.models import Edition, PoolRule, Quota
from judging.core.models import AuditEvent, School, User
from judging.exchange import operations as ops
from judging.exchange import workbook as wb
from judging.registration.models import Entry, EntryStudent
from judging.registration.operations import review_entry
from judging.registration.rules import StudentInput
from judging.results.models import EntryResultRow
from judging.scoring.models import Assignment, CriterionScore, Panel, PanelJudge, Score, ScoreHistory
from judging.scoring.operations import Submission, submit_score
from tests.conftest import login


# --- A scored edition ---------------------------------------------------------------------------------

def _score(db, judge, rnd, entry, values, status="submitted", comment=None):
    by_name = {c.name: c.id for c in entry.category.criteria}
    code, body = submit_score(judge, Submission(idempotency_key=uuid.uuid4().hex, round_id=rnd.id, entry_id=entry.id,
                                                values={by_name[k]: str(v) for k, v in values.items()},
                                                status=status, comment=comment))
    assert code in (200, 201), body


@pytest.fixture
def scored(db, edition, organizer, make_user, make_school):
    """小发明·小学组 (1/1/1 名额): 6 entries, 5 judges (z-score-free trimmed mean), one entry disqualified,
    one never reviewed; 科幻画·小学组 (比例 20/30/50, 最低分 60): 3 entries, 3 judges; a tricky entry:
    a formula-looking title, a two-line description, two students of different classes."""
    from judging.registration.operations import create_entry
    from judging.registration.rules import EntryInput

    xf, kh = edition.categories
    primary, junior = edition.divisions
    final = next(r for r in edition.rounds if r.kind == "final")
    levels = {lv.position: lv for lv in edition.prize_levels}
    levels[1].reward_amount, levels[1].reward_points = Decimal("300"), Decimal("3")
    levels[2].reward_amount = Decimal("200.5")
    rule = PoolRule(edition=edition, category_id=xf.id, division_id=primary.id, quota_mode="count")
    rule.quotas = [Quota(prize_level=levels[p], value=Decimal(1)) for p in (1, 2, 3)]
    rule2 = PoolRule(edition=edition, category_id=kh.id, division_id=primary.id, quota_mode="percent",
                     min_score=Decimal("60"))
    rule2.quotas = [Quota(prize_level=levels[p], value=Decimal(v)) for p, v in ((1, "20"), (2, "30"), (3, "50"))]
    db.session.add_all([rule, rule2])
    center = make_school("城关镇中心校", code="CG00", cluster="城关片区")
    village = make_school("城关镇东关村小学", code="CG01", cluster="城关片区", parent=center)
    other = make_school("县实验小学")
    judges = [make_user("judge", username=f"wbj{i}", display_name=name, school=school, affiliation=aff)
              for i, (name, school, aff) in enumerate([
                  ("赵志强", other, None), ("孙丽", None, "县科技馆"), ("周文博", None, "县教师进修学校"),
                  ("吴海燕", None, None), ("郑磊", center, None), ("郑磊", None, "县科协")], start=1)]
    db.session.commit()

    def entry(title, category, division, school, students, instructors=(), **kwargs):
        e, _ = create_entry(edition, school, EntryInput(title=title, category_id=category.id,
                                                        division_id=division.id, students=students,
                                                        instructors=list(instructors), **kwargs), organizer)
        return e

    es = {}
    es["A"] = entry("=SUM(A1:A9)", xf, primary, village,
                    [StudentInput("王小明", "男", "五年级", "3班"), StudentInput("李小红", "女", "五年级", "4班")],
                    ["-张老师", "刘老师"], description="第一行\n第二行：@原理")
    for name in "BCDEF":
        es[name] = entry(f"小发明{name}", xf, primary, center if name in "BD" else other,
                         [StudentInput(f"学生{name}", None, "六年级", "1班")], ["刘老师"])
    for name in "GHI":
        es[name] = entry(f"科幻画{name}", kh, primary, other, [StudentInput(f"画{name}", "女", "三年级", "2班")],
                         subform="卡通画")
    es["J"] = entry("初中小发明", xf, junior, other, [StudentInput("学生J", "男", "七年级", "1班")])
    for name, e in es.items():
        if name != "E":
            review_entry(e, "approve", None, organizer)
    from judging.scoring import panels

    xf_panel = panels.create_panel(final, xf, primary, organizer)
    kh_panel = panels.create_panel(final, kh, primary, organizer)
    for j in judges[:5]:
        panels.add_judge(xf_panel, j, organizer)
    for j in (judges[1], judges[2], judges[5]):
        panels.add_judge(kh_panel, j, organizer)
    db.session.flush()
    for name in "ABCDEF":
        for j in judges[:5]:
            db.session.add(Assignment(round_id=final.id, panel_id=xf_panel.id, entry_id=es[name].id, judge_id=j.id))
    for name in "GHI":
        for j in (judges[1], judges[2], judges[5]):
            db.session.add(Assignment(round_id=final.id, panel_id=kh_panel.id, entry_id=es[name].id, judge_id=j.id))
    db.session.commit()
    xf_points = {"A": (50, 30), "B": (45.5, 30), "C": (40, 35), "D": (45, 30.5), "E": (20, 20), "F": (59, 39)}
    for name, (a, b) in xf_points.items():
        for k, j in enumerate(judges[:5]):
            if name == "D" and k == 4:
                continue  # assigned, not scored
            _score(db, j, final, es[name], {"创新性": Decimal(str(a)) - k, "实用性": b},
                   comment="构思巧妙" if (name, k) == ("A", 0) else None)
    _score(db, judges[4], final, es["D"], {"创新性": 1}, status="draft")  # a draft does not count
    for name, (a, b) in {"G": (45, 40), "H": (30, 28.5), "I": (40, 35)}.items():
        for k, j in enumerate((judges[1], judges[2], judges[5])):
            _score(db, j, final, es[name], {"想象力": a - k, "绘画水平": b})
    review_entry(es["F"], "disqualify", "抄袭", organizer)  # after it was scored: its scores stay
    db.session.commit()
    return edition, es, judges


def _results(db, edition) -> dict[str, tuple]:
    snapshot = ops.compute_deciding_results(edition, None)
    db.session.commit()
    rows = db.session.execute(select(Entry.code, EntryResultRow.final, EntryResultRow.rank,
                                     EntryResultRow.level_position)
                              .join(Entry, Entry.id == EntryResultRow.entry_id)
                              .where(EntryResultRow.snapshot_id == snapshot.id)).all()
    return {code: (final, rank, level) for code, final, rank, level in rows}


def _renumber(data: bytes, number: int) -> bytes:
    """The same workbook with another 届次 (an edition's name and number are unique in one database)."""
    book = load_workbook(io.BytesIO(data))
    sheet = book["大赛"]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == "届次":
            row[1].value = number
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _diff(a: dict, b: dict) -> list:
    """The differing rows, for a readable failure."""
    out = []
    for title in a:
        for i, (x, y) in enumerate(zip(a[title], b.get(title, []))):
            if x != y:
                out.append((title, i + 1, x, y))
        if len(a[title]) != len(b.get(title, [])):
            out.append((title, "rows", len(a[title]), len(b.get(title, []))))
    return out


def _without_number(values: dict) -> dict:
    values = {k: [list(r) for r in v] for k, v in values.items()}
    values["大赛"] = [r for r in values["大赛"] if r[0] != "届次"]
    return values


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _xlsx(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- Round trip ------------------------------------------------------------------------------------

def test_export_import_export_gives_the_same_cells_and_results(db, scored):
    edition, es, judges = scored
    first = ops.export_edition(edition)
    before = _results(db, edition)
    imported = ops.import_workbook(_renumber(first, 14), "数据包.xlsx")
    db.session.commit()
    assert imported.number == 14 and imported.id != edition.id
    second = ops.export_edition(imported)
    a, b = wb.sheet_values(first), wb.sheet_values(second)
    assert list(a) == list(wb.SHEET_ORDER) == list(b)
    assert _without_number(a) == _without_number(b), repr(_diff(_without_number(a), _without_number(b)))
    after = _results(db, imported)
    assert after == before
    assert sum(1 for v in after.values() if v[2] is not None) >= 4  # prizes were given
    # The same schools and judge accounts were reused (same installation), nothing duplicated.
    assert _count(db, School) == 3
    assert db.session.scalar(select(func.count()).select_from(User).where(User.role == "judge")) == 6


def test_round_trip_of_the_demo_contest(db, app):
    from judging.contests.demo import load_demo

    load_demo()
    demo = db.session.scalar(select(Edition))
    first = ops.export_edition(demo)
    imported = ops.import_workbook(_renumber(first, 99), "demo.xlsx")
    db.session.commit()
    assert _without_number(wb.sheet_values(first)) == _without_number(wb.sheet_values(ops.export_edition(imported)))
    assert [c.code for c in imported.categories] == ["XF", "LW", "KH"]
    assert imported.pool_rules and {r.quota_mode for r in imported.pool_rules} == {"count", "percent"}


def test_imported_scores_are_the_rows_the_app_writes(db, scored, organizer):
    edition, es, judges = scored
    data = _renumber(ops.export_edition(edition), 15)
    imported = ops.import_workbook(data, "数据包.xlsx", organizer)
    db.session.commit()
    final = ops.deciding_round(imported)
    scores = list(db.session.scalars(select(Score).where(Score.round_id == final.id)))
    assert len(scores) == 6 * 5 - 1 + 3 * 3  # D's fifth judge never submitted; the draft is not exported
    assert {s.status for s in scores} == {"submitted"} and {s.version for s in scores} == {1}
    assert {s.source for s in scores} == {"paper"}
    history = list(db.session.scalars(select(ScoreHistory).where(ScoreHistory.round_id == final.id)))
    assert len(history) == len(scores) and {h.written_by_id for h in history} == {organizer.id}
    for s in scores:
        assert s.total == sum(v.points for v in s.values)
    assignments = select(func.count()).select_from(Assignment).where(Assignment.round_id == final.id)
    assert db.session.scalar(assignments) == 6 * 5 + 3 * 3
    comment = db.session.scalar(select(Score.comment).where(Score.round_id == final.id, Score.comment.is_not(None)))
    assert comment == "构思巧妙"
    # A judge's score through the API after the import is version 2 of the same row (no conflict).
    entry = db.session.scalar(select(Entry).where(Entry.edition_id == imported.id, Entry.code == es["B"].code))
    judge = judges[0]
    values = {c.id: "10" for c in entry.category.criteria}
    status, body = submit_score(judge, Submission(uuid.uuid4().hex, final.id, entry.id, values, base_version=1))
    assert status == 200 and body["score"]["version"] == 2
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "workbook_imported"))
    assert event.edition_id == imported.id and event.user_id == organizer.id


def test_formula_looking_cells_are_escaped_and_come_back(db, scored):
    edition, es, _ = scored
    data = ops.export_edition(edition)
    raw = load_workbook(io.BytesIO(data))  # not data_only: a formula would show as one
    cells = [c for row in raw["作品"].iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    title = next(c.value for c in cells if c.value and "SUM" in str(c.value))
    assert title == "'=SUM(A1:A9)"
    assert any(c.value == "'-张老师、刘老师" for c in cells)
    imported = ops.import_workbook(_renumber(data, 16), "x.xlsx")
    db.session.commit()
    entry = db.session.scalar(select(Entry).where(Entry.edition_id == imported.id, Entry.code == es["A"].code))
    assert entry.title == "=SUM(A1:A9)" and [i.name for i in entry.instructors] == ["-张老师", "刘老师"]
    assert entry.description == "第一行\n第二行：@原理"
    assert [(s.name, s.class_name) for s in entry.students] == [("王小明", "3班"), ("李小红", "4班")]


def test_exported_sheets_have_the_documented_columns(db, scored):
    edition, es, _ = scored
    values = wb.sheet_values(ops.export_edition(edition))
    documented = {
        "大赛": ["项目", "值"], "类别": ["代码", "名称"], "组别": ["代码", "名称"],
        "评分标准": ["类别", "指标", "满分", "说明"], "奖项名额": ["类别", "组别", "奖项", "名额", "比例"],
        "辅导教师奖励": ["奖项", "金额", "加分"], "学校": ["名称", "代码", "片区"],
        "作品": ["作品编号", "作品名称", "类别", "组别", "学校", "学生", "指导教师", "简介", "状态"],
        "评委": ["姓名", "单位", "类别", "组别"], "评分": ["作品编号", "评委", "创新性", "实用性", "想象力", "绘画水平"],
    }
    for title, headers in documented.items():
        assert values[title][0][:len(headers)] == headers, title
    settings = {r[0]: r[1] for r in values["大赛"][1:]}
    assert settings["名称"] == "测试县青少年科技创新大赛" and settings["届次"] == 13
    assert settings["评分方法"] == "去掉最高分和最低分" and settings["去极值最少评委数"] == 5
    assert settings["最少评委数"] == 3 and settings["教师奖励累计方式"] == "累加"
    assert settings["获奖最低分"] is None  # pools differ: per pool in 奖项名额
    assert values["奖项名额"][0][-1] == "获奖最低分"
    statuses = {r[0]: r[8] for r in values["作品"][1:]}
    assert statuses[es["F"].code] == "取消资格" and statuses[es["E"].code] == "待审核"
    assert statuses[es["B"].code] == "有效"
    # The two judges called 郑磊 are told apart in 评分 by their usernames.
    judges_in_scores = {r[1] for r in values["评分"][1:]}
    assert {"wbj6", "赵志强"} <= judges_in_scores and "郑磊" not in judges_in_scores
    rewards = values["辅导教师奖励"]
    assert rewards[1][:3] == ["一等奖", 300, 3] and rewards[2][:3] == ["二等奖", 200.5, 0]


# --- Building an edition from a hand-made workbook -----------------------------------------------

def minimal_sheets() -> dict[str, list[list]]:
    return {
        "大赛": [["项目", "值"], ["名称", "某某县青少年科技创新大赛"], ["届次", "第十三届"], ["主办单位", "某某县教育局"],
               ["评分方法", "平均分"], ["最少评委数", 2], ["获奖最低分", 60], ["教师奖励累计方式", "取最高"]],
        "类别": [["代码", "名称"], ["xf", "小发明"], ["KH", "科幻画"]],
        "组别": [["代码", "名称"], ["X", "小学组"]],
        "评分标准": [["类别", "指标", "满分", "说明"], ["小发明", "创新性", 60, "新颖"], ["XF", "实用性", 40, None],
                  ["科幻画", "想象力", 100, None]],
        "奖项名额": [["类别", "组别", "奖项", "名额", "比例"], ["XF", "小学", "一等奖", 1, None],
                  ["XF", "小学组", "二等奖", 1, None], ["科幻画", "X", "一等奖", None, "50%"]],
        "辅导教师奖励": [["奖项", "金额", "加分"], ["一等奖", 300, 3], ["二等奖", 200, 2]],
        "学校": [["名称", "代码", "片区"], ["实验小学", "SY", "城关"]],
        "作品": [["作品编号", "作品名称", "类别", "组别", "学校", "学生", "指导教师", "简介", "状态"],
               [None, "自动浇花器", "小发明", "X", "实验小学", "张三，李四", "王老师", "说明", None],
               ["XFX-007", "节水龙头", "XF", "小学组", "SY", "王五", None, None, "有效"],
               [None, "未来城市", "KH", "X", "实验小学", "赵六", None, None, "取消资格"]],
        "评委": [["姓名", "单位", "类别", "组别"], ["钱评委", "县科技馆", "小发明、科幻画", "小学组"],
               ["孙评委", "实验小学", "XF", "X"]],
        "评分": [["作品编号", "评委", "创新性", "实用性", "想象力"], ["XFX-007", "钱评委", 50, 30, None],
               ["XFX-007", "孙评委", 40.5, 35, None]],
    }


def test_a_hand_made_workbook_builds_the_edition(db):
    edition = ops.import_workbook(_xlsx(minimal_sheets()), "手工.xlsx")
    db.session.commit()
    assert edition.title == "第十三届某某县青少年科技创新大赛" and edition.scoring_method == "mean"
    assert edition.min_judges == 2 and edition.reward_accumulation == "max" and edition.code == "KC"
    assert [c.code for c in edition.categories] == ["XF", "KH"]
    assert [(k.name, k.max_points) for k in edition.categories[0].criteria] == [("创新性", 60), ("实用性", 40)]
    assert [(lv.name, lv.reward_amount) for lv in edition.prize_levels] == [("一等奖", 300), ("二等奖", 200)]
    assert {r.min_score for r in edition.pool_rules} == {Decimal(60)}
    entries = {e.title: e for e in db.session.scalars(select(Entry).where(Entry.edition_id == edition.id))}
    # A blank code is assigned by the pattern, skipping the sequence a given code already holds.
    assert entries["节水龙头"].code == "XFX-007" and entries["节水龙头"].sequence == 7
    assert entries["自动浇花器"].code == "XFX-008" and entries["未来城市"].code == "KHX-001"
    assert entries["未来城市"].status == "disqualified" and entries["自动浇花器"].status == "approved"
    assert [s.name for s in entries["自动浇花器"].students] == ["张三", "李四"]
    judges = {u.display_name: u for u in db.session.scalars(select(User).where(User.role == "judge"))}
    assert judges["孙评委"].school.name == "实验小学" and judges["钱评委"].affiliation == "县科技馆"
    assert judges["钱评委"].password_hash.startswith(ops.UNUSABLE_PASSWORD_PREFIX)
    final = ops.deciding_round(edition)
    panels = list(db.session.scalars(select(Panel).where(Panel.round_id == final.id)))
    assert len(panels) == 2
    members = db.session.scalar(select(func.count()).select_from(PanelJudge))
    assert members == 3
    score = db.session.scalar(select(Score).where(Score.judge_id == judges["孙评委"].id))
    assert score.total == Decimal("75.5")


def test_a_judge_account_is_reused_by_name_and_unit(db, make_user, make_school):
    school = make_school("实验小学")
    existing = make_user("judge", username="sun", display_name="孙评委", school=school)
    elsewhere = make_user("judge", username="qian", display_name="钱评委", affiliation="县教育局")
    ops.import_workbook(_xlsx(minimal_sheets()), "手工.xlsx")
    db.session.commit()
    judges = list(db.session.scalars(select(User).where(User.role == "judge").order_by(User.id)))
    assert [j.username for j in judges] == ["sun", "qian", "钱评委"]  # another unit: another 钱评委
    assert db.session.scalar(select(PanelJudge.judge_id).where(PanelJudge.judge_id == existing.id))
    assert not db.session.scalar(select(PanelJudge.judge_id).where(PanelJudge.judge_id == elsewhere.id))


def test_a_new_judge_cannot_log_in_until_the_password_is_reset(db, client, organizer):
    ops.import_workbook(_xlsx(minimal_sheets()), "手工.xlsx")
    db.session.commit()
    judge = db.session.scalar(select(User).where(User.display_name == "钱评委"))
    for password in ("", "secret123", judge.password_hash):
        assert login(client, judge.username, password).status_code != 302


# --- Faults ----------------------------------------------------------------------------------------

def _faults(sheets) -> list:
    plan = ops.plan_import(_xlsx(sheets), "错误.xlsx")
    assert not plan.ok
    return plan.faults


def _has(faults, sheet, row, column, part) -> bool:
    return any(f.sheet == sheet and f.row == row and f.column == column and part in f.reason for f in faults)


FAULT_CASES = [
    # (sheet, row index (Excel row), column index to set, value, column header, part of the message)
    ("大赛", 3, 1, "第XIII届", "值", "不是有效的届次"),
    ("大赛", 5, 1, "加权平均", "值", "无法识别"),
    ("大赛", 6, 1, 0, "值", "超出范围"),
    ("大赛", 7, 1, "六十", "值", "不是数字"),
    ("类别", 2, 0, "X-F", "代码", "只能由字母和数字组成"),
    ("类别", 3, 1, "小发明", "名称", "重复"),
    ("组别", 2, 1, None, "名称", "请填写组别名称"),
    ("评分标准", 2, 0, "小制作", "类别", "找不到类别「小制作」"),
    ("评分标准", 3, 2, 40.25, "满分", "最多1位小数"),
    ("评分标准", 4, 1, "创新性", "指标", None),  # not a fault: another category may share a name
    ("奖项名额", 2, 4, "10%", "名额", "只能填一个"),
    ("奖项名额", 3, 3, None, "名额", "之一"),
    ("奖项名额", 4, 2, "特等奖", "奖项", None),  # a level named only here is created
    ("奖项名额", 3, 1, "高中组", "组别", "找不到组别「高中组」"),
    ("辅导教师奖励", 3, 1, "两百", "金额", "不是数字"),
    ("学校", 2, 0, None, "名称", "请填写学校名称"),
    ("作品", 2, 4, "不存在的学校", "学校", "找不到学校"),
    ("作品", 2, 0, "XFX-009", "作品编号", None),
    ("作品", 4, 0, "xfx-007", "作品编号", "与第3行重复"),
    ("作品", 3, 8, "作废", "状态", "无法识别"),
    ("作品", 4, 5, None, "学生", "至少填写一名学生"),
    ("评委", 2, 2, "小论文", "类别", "找不到类别「小论文」"),
    ("评委", 3, 0, None, "姓名", "请填写评委姓名"),
    ("评分", 2, 0, "XFX-999", "作品编号", "没有编号为「XFX-999」"),
    ("评分", 2, 1, "李评委", "评委", "没有评委「李评委」"),
    ("评分", 2, 2, 61, "创新性", "0到60"),
    ("评分", 3, 2, 40.55, "创新性", "最多一位小数"),
    ("评分", 3, 3, "三十", "实用性", "应为数字"),
    ("评分", 2, 4, 5, "想象力", "没有「想象力」"),
    ("评分", 3, 3, None, "实用性", "请填写实用性的分数"),
]


@pytest.mark.parametrize("sheet,row,col,value,column,part", FAULT_CASES)
def test_each_fault_is_named_by_sheet_row_and_column(db, sheet, row, col, value, column, part):
    sheets = minimal_sheets()
    sheets[sheet][row - 1][col] = value
    plan = ops.plan_import(_xlsx(sheets), "错误.xlsx")
    if part is None:
        assert plan.ok, [str(f) for f in plan.faults]
        return
    assert not plan.ok
    assert _has(plan.faults, sheet, row, column, part), [str(f) for f in plan.faults]
    text = str(next(f for f in plan.faults if f.sheet == sheet and f.row == row))
    assert text.startswith(f"工作表「{sheet}」第{row}行「{column}」：")


def test_more_faults_of_the_whole_file(db, make_user):
    sheets = minimal_sheets()
    sheets["奖项名额"][3] = ["XF", "小学组", "一等奖", None, "10"]  # a percent after counts in one pool
    sheets["奖项名额"].append(["KH", "X", "二等奖", None, "60%"])  # 50% + 60% > 100%
    sheets["评委"].append(["孙评委", "县科技馆", "KH", "X"])
    sheets["评分"].append(["XFX-007", "钱评委", 1, 1, None])  # the same pair twice
    sheets["评分"].append(["XFX-007", "孙评委", 2, 2, None])  # 孙评委 twice in 评委: ambiguous
    del sheets["组别"]
    faults = _faults(sheets)
    assert any(f.sheet == "组别" and f.row is None and "缺少工作表「组别」" in f.reason for f in faults)
    sheets = minimal_sheets()
    sheets["奖项名额"][2] = ["XF", "小学组", "二等奖", None, "10"]
    sheets["奖项名额"][3] = ["科幻画", "X", "二等奖", None, "60%"]
    sheets["奖项名额"].append(["科幻画", "X", "一等奖", None, "50%"])
    sheets["评委"].append(["孙评委", "县科技馆", "XF", "X"])
    sheets["评分"].append(["XFX-007", "钱评委", 1, 1, None])
    sheets["评分"].append(["XFX-007", "孙评委", 2, 2, None])
    sheets["评分"].append(["XFX-007", "孙评委（县科技馆）", 3, 3, None])
    faults = _faults(sheets)
    assert _has(faults, "奖项名额", 3, "比例", "同为名额或同为比例")
    assert _has(faults, "奖项名额", 5, "奖项", "从高到低")
    assert _has(faults, "奖项名额", 5, "比例", "超过了100%")
    assert _has(faults, "评分", 4, "评委", "与第2行重复")
    assert _has(faults, "评分", 5, "评委", "有2名评委叫「孙评委」")
    assert not any(f.row == 6 for f in faults if f.sheet == "评分")  # 姓名（单位） tells them apart


def test_header_faults_and_an_existing_edition(db, edition):
    sheets = minimal_sheets()
    sheets["大赛"][1][1] = edition.name
    sheets["作品"][0][1] = "标题"  # 作品名称 missing
    sheets["评委"][0].append("姓名")  # given twice
    faults = _faults(sheets)
    assert _has(faults, "大赛", 3, "值", "已存在第十三届测试县青少年科技创新大赛")
    assert _has(faults, "作品", 1, "作品名称", "缺少必填列")
    assert _has(faults, "评委", 1, "姓名", "出现了两次")


def test_a_file_that_is_not_a_workbook(db):
    plan = ops.plan_import(b"not a zip", "成绩.xls")
    assert not plan.ok and "不是有效的Excel文件" in plan.faults[0].reason
    plan = ops.plan_import(b"", "空.xlsx")
    assert "空文件" in plan.faults[0].reason


def test_one_bad_score_imports_nothing(db, scored):
    edition, es, _ = scored
    data = _renumber(ops.export_edition(edition), 17)
    book = load_workbook(io.BytesIO(data))
    sheet = book["评分"]
    sheet.cell(row=sheet.max_row, column=3).value = 1000  # one score above its maximum
    out = io.BytesIO()
    book.save(out)
    models = (Edition, Entry, EntryStudent, School, User, Panel, PanelJudge, Assignment, Score, CriterionScore,
              ScoreHistory, AuditEvent)
    before = {m: _count(db, m) for m in models}
    with pytest.raises(ops.WorkbookError) as raised:
        ops.import_workbook(out.getvalue(), "坏.xlsx")
    db.session.rollback()
    assert len(raised.value.faults) == 1 and raised.value.faults[0].sheet == "评分"
    assert raised.value.faults[0].row == sheet.max_row
    assert {m: _count(db, m) for m in models} == before


def test_extra_columns_and_sheets_are_ignored(db):
    sheets = minimal_sheets()
    sheets["作品"][0].append("备注")
    for row in sheets["作品"][1:]:
        row.append("随便写")
    sheets["填写说明"] = [["说明"], ["这是说明"]]
    assert ops.plan_import(_xlsx(sheets), "x.xlsx").ok


# --- The organizer's pages -----------------------------------------------------------------------

def _upload(client, data, filename="数据包.xlsx"):
    return client.post("/admin/exchange/import", data={"step": "upload", "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def test_upload_preview_and_confirm(db, org_client, scored):
    edition, _, _ = scored
    data = _renumber(ops.export_edition(edition), 18)
    page = _upload(org_client, data)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "检查通过" in text and "作品" in text
    import re

    token = re.search(r'name="token" type="hidden" value="([^"]+)"', text).group(1)
    editions = _count(db, Edition)
    response = org_client.post("/admin/exchange/import", data={"step": "confirm", "token": token})
    assert response.status_code == 302
    assert _count(db, Edition) == editions + 1
    # The same token cannot import twice.
    again = org_client.post("/admin/exchange/import", data={"step": "confirm", "token": token})
    assert again.status_code == 302 and _count(db, Edition) == editions + 1


def test_a_faulty_upload_lists_every_fault(db, org_client):
    sheets = minimal_sheets()
    sheets["评分"][1][2] = 99
    sheets["作品"][1][2] = "小制作"
    page = _upload(org_client, _xlsx(sheets))
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "2处错误" in text
    assert "找不到类别「小制作」" in text and "0到60" in text and "确认导入" not in text


def test_downloads(db, org_client, scored):
    edition, _, _ = scored
    response = org_client.get(f"/admin/exchange/editions/{edition.id}/workbook.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    assert list(wb.sheet_values(response.data)) == list(wb.SHEET_ORDER)
    index = org_client.get("/admin/exchange/")
    assert index.status_code == 200 and edition.title in index.get_data(as_text=True)


@pytest.mark.parametrize("role,expected", [("coordinator", 403), ("judge", 403), (None, 302)])
def test_other_roles_are_refused(db, client, make_user, scored, role, expected):
    edition, _, _ = scored
    if role:
        login(client, make_user(role))
    for url in ("/admin/exchange/", "/admin/exchange/import", f"/admin/exchange/editions/{edition.id}/workbook.xlsx",
                f"/admin/exchange/editions/{edition.id}/results.xlsx"):
        assert client.get(url).status_code == expected, url
    assert _upload(client, b"x").status_code == expected


def test_a_faulty_entry_or_judge_row_does_not_knock_on_into_the_scores(db):
    sheets = minimal_sheets()
    sheets["作品"][2][3] = "高中组"  # 节水龙头 XFX-007: unknown division
    sheets["评委"][2][2] = "小论文"  # 孙评委: unknown category
    sheets["评分"][1][2] = 61  # 钱评委's score of XFX-007 above 60
    faults = _faults(sheets)
    assert [(f.sheet, f.row, f.column) for f in faults] == [("作品", 3, "组别"), ("评委", 3, "类别"), ("评分", 2, "创新性")]


def test_results_download_of_the_latest_snapshot(db, org_client, scored):
    edition, es, _ = scored
    url = f"/admin/exchange/editions/{edition.id}/results.xlsx"
    response = org_client.get(url)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/exchange/")
    ops.compute_deciding_results(edition, None)
    db.session.commit()
    response = org_client.get(url)
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    values = wb.sheet_values(response.data)
    assert list(values) == ["成绩", "辅导教师奖励"]
    codes = {row[0] for row in values["成绩"][1:]}
    assert es["A"].code in codes and es["F"].code not in codes  # a disqualified entry is not ranked
    assert edition.title in org_client.get("/admin/exchange/").get_data(as_text=True)


def test_usernames_name_judges_and_a_taken_one_is_replaced(db, make_user):
    make_user("organizer", username="qian")
    sheets = minimal_sheets()
    sheets["评委"][0].append("用户名")
    sheets["评委"][1].append("qian")  # taken by an organizer: the new judge gets another
    sheets["评委"][2].append("sunpw")
    sheets["评委"].append(["孙评委", "县科技馆", "XF", "X", "sun2"])
    sheets["评分"][2][1] = "sunpw"  # 孙评委 twice: the username tells which
    plan = ops.plan_import(_xlsx(sheets), "x.xlsx")
    assert plan.ok, [str(f) for f in plan.faults]
    assert any(w.sheet == "评委" and w.row == 2 and "已被其他账号使用" in w.reason for w in plan.warnings)
    ops.apply_import(plan)
    db.session.commit()
    names = dict(db.session.execute(select(User.username, User.display_name).where(User.role == "judge")).all())
    assert names == {"钱评委": "钱评委", "sunpw": "孙评委", "sun2": "孙评委"}
    scorer = db.session.scalar(select(User).join(Score, Score.judge_id == User.id)
                               .where(Score.total == Decimal("75.5")))
    assert scorer.username == "sunpw"


def test_advancement_and_prize_overrides_come_back(db, scored, organizer):
    from judging.results.operations import set_override
    from judging.scoring.models import Advancement

    edition, es, _ = scored
    final = ops.deciding_round(edition)
    prelim = next(r for r in edition.rounds if r.kind == "preliminary")
    for name in "ABCDFGHI":  # E and J were not advanced into 终评
        db.session.add(Advancement(round_id=final.id, entry_id=es[name].id, from_round_id=prelim.id))
    set_override(final, es["C"], 1, "现场答辩表现突出", organizer)
    set_override(final, es["B"], None, "作品与往届雷同", organizer)
    db.session.commit()
    first = ops.export_edition(edition)
    values = wb.sheet_values(first)
    header = values["作品"][0]
    assert header[-3:] == ["晋级终评", "奖项调整", "调整理由"]
    rows = {r[0]: r for r in values["作品"][1:]}
    assert rows[es["C"].code][-3:] == ["是", "一等奖", "现场答辩表现突出"]
    assert rows[es["B"].code][-2:] == ["不获奖", "作品与往届雷同"] and rows[es["E"].code][-3] == "否"
    before = _results(db, edition)
    assert es["E"].code not in before and before[es["C"].code][2] == 1 and before[es["B"].code][2] is None
    imported = ops.import_workbook(_renumber(first, 21), "x.xlsx")
    db.session.commit()
    a, b = _without_number(values), _without_number(wb.sheet_values(ops.export_edition(imported)))
    assert a == b, repr(_diff(a, b))
    assert _results(db, imported) == before


def test_override_and_advancement_faults(db):
    sheets = minimal_sheets()
    sheets["作品"][0] += ["晋级终评", "奖项调整", "调整理由"]
    sheets["作品"][1] += ["也许", "特等奖", "理由"]
    sheets["作品"][2] += ["是", "一等奖", None]
    sheets["作品"][3] += ["否", "二等奖", "很好"]  # disqualified: cannot win
    faults = _faults(sheets)
    assert _has(faults, "作品", 2, "晋级终评", "无法识别")
    assert _has(faults, "作品", 2, "奖项调整", "没有奖项「特等奖」")
    assert _has(faults, "作品", 3, "调整理由", "必须填写书面理由")
    assert _has(faults, "作品", 4, "奖项调整", "不能获奖")
