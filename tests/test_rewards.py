"""Instructor reward sheets (judging/printing/rewards.py) and their routes (reward_views.py).

The edition of `final_world` goes the whole way: scores -> compute -> lock -> 公示 -> final. The
sheets are read back (openpyxl, pypdf) and checked cell by cell against hand-computed figures and
row by row against the results workbook's 辅导教师奖励 sheet, which comes from the same
reports.reward_lines.

Rewards 一等 300元/3分, 二等 200/2, 三等 100/1; pool 小发明·小学组, quotas 一等2 二等1 三等2:
    e1 城关第一小学 92 一等  李老师、王老师          -> 150.00 / 1.50 each
    e6 @北山中学    90 一等  马老师                  -> 300.00 / 3.00
    e2 河西小学     85 二等  =1+1 (a formula-looking name), title "+奇思妙想"
    e3 城关第一小学 80 三等  周老师、吴老师、郑老师  -> 33.34 / 0.34, 33.33 / 0.33, 33.33 / 0.33
    e4 城关第一小学 78 三等  李老师                  -> 李老师: 150 + 100 = 250.00 / 2.50 (max: 150.00 / 1.50)
    e5 @北山中学    70 —     马老师                  -> nothing
    Overall 1000.00 yuan, 10.00 points, 7 instructors, 5 prized entries.
"""
from __future__ import annotations

import io
import uuid
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import delete

from judging.contests.models import PoolRule, Quota
from judging.core import fonts
from judging.core.sheets import escape_cell
from judging.printing import rewards
from judging.printing.source import PrintingError
from judging.registration.models import EntryInstructor
from judging.registration.operations import review_entry
from judging.registration.rules import StudentInput
from judging.results import exports, reports
from judging.results import operations as results_ops
from judging.results import publication as pub
from judging.results.models import EntryResultRow, ResultSnapshot
from judging.scoring.models import Assignment, Panel, PanelJudge
from judging.scoring.operations import Submission, set_round_lock, submit_score
from tests.conftest import login

D = Decimal
TITLE = "第十三届测试县青少年科技创新大赛辅导教师奖励表"
ISSUED = date(2026, 12, 10)
A, B, C = "城关第一小学", "河西小学", "@北山中学"
PLAN = [  # key, school, total, instructors, title
    ("e1", A, 92, ["李老师", "王老师"], "智能垃圾桶"),
    ("e6", C, 90, ["马老师"], "太阳能小车"),
    ("e2", B, 85, ["=1+1"], "+奇思妙想"),
    ("e3", A, 80, ["周老师", "吴老师", "郑老师"], "自动浇花器"),
    ("e4", A, 78, ["李老师"], "折叠雨伞架"),
    ("e5", C, 70, ["马老师"], "节水龙头"),
]


@pytest.fixture(autouse=True)
def _packaged_font():
    fonts.ensure_fonts(font_path="")
    yield


def _prepare(db, edition, organizer, make_user, make_school, make_entry):
    """Entries scored in the final round; returns (world dict)."""
    xf = edition.categories[0]
    xf.max_instructors = 3
    primary = edition.divisions[0]
    final = next(r for r in edition.rounds if r.kind == "final")
    levels = {lv.position: lv for lv in edition.prize_levels}
    for level, amount, points in zip(edition.prize_levels, (300, 200, 100), (3, 2, 1)):
        level.reward_amount, level.reward_points = D(amount), D(points)
    rule = PoolRule(edition=edition, category_id=xf.id, division_id=primary.id, quota_mode="count")
    rule.quotas = [Quota(prize_level=levels[p], value=D(n)) for p, n in ((1, 2), (2, 1), (3, 2))]
    db.session.add(rule)
    schools = {name: make_school(name) for name in (A, B, C)}
    judges = [make_user("judge", username=f"rj{i}") for i in range(3)]
    panel = Panel(edition_id=edition.id, round_id=final.id, category_id=xf.id, division_id=primary.id)
    db.session.add(panel)
    db.session.flush()
    db.session.add_all(PanelJudge(panel_id=panel.id, judge_id=j.id) for j in judges)
    db.session.commit()
    entries = {}
    for key, school, total, instructors, title in PLAN:
        entry = make_entry(schools[school], title=title, category=xf, division=primary,
                           students=[StudentInput(f"学生{key}", "男", "五年级", "1班")], instructors=instructors)
        review_entry(entry, "approve", None, organizer)
        db.session.commit()
        c1, c2 = xf.criteria
        for judge in judges:
            db.session.add(Assignment(round_id=final.id, panel_id=panel.id, entry_id=entry.id, judge_id=judge.id))
            db.session.commit()
            code, body = submit_score(judge, Submission(
                idempotency_key=uuid.uuid4().hex, round_id=final.id, entry_id=entry.id,
                values={c1.id: str(total - 40), c2.id: "40"}, status="submitted", base_version=0))
            assert code in (200, 201), body
            db.session.commit()
        entries[key] = entry
    return {"edition": edition, "final": final, "schools": schools, "entries": entries, "organizer": organizer}


def _finalize(db, world):
    """compute -> lock -> 公示 -> final; returns the final snapshot."""
    edition, final, organizer = world["edition"], world["final"], world["organizer"]
    snapshot = results_ops.compute_results(edition, final, organizer)
    db.session.commit()
    set_round_lock(final, True, "终评结束", organizer)
    db.session.commit()
    pub.publish(snapshot, pub.NoticeForm(date(2026, 11, 20), None, "县科协 0000-1234567"), organizer)
    db.session.commit()
    pub.finalize(snapshot, organizer, today=date(2026, 12, 1))
    db.session.commit()
    assert snapshot.status == "final"
    return snapshot


@pytest.fixture
def scored_world(db, edition, organizer, make_user, make_school, make_entry):
    return _prepare(db, edition, organizer, make_user, make_school, make_entry)


@pytest.fixture
def final_world(db, scored_world):
    scored_world["snapshot"] = _finalize(db, scored_world)
    return scored_world


def _code(world, key):
    return world["entries"][key].code


def _xlsx(data: bytes):
    return load_workbook(io.BytesIO(data))


def _rows(ws):
    out = []
    for row in ws.iter_rows(values_only=True):
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        out.append(row)
    return out


def _pdf_pages(data: bytes) -> list[str]:
    return ["".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


# --- the data -----------------------------------------------------------------------------------

def test_the_sheet_groups_reward_lines_by_school_with_totals(db, final_world):
    w = final_world
    sheet = rewards.reward_sheet(w["snapshot"], issued_on=ISSUED)
    assert (sheet.title, sheet.round_name, sheet.issued_on) == (TITLE, "终评", ISSUED)
    assert sheet.info_line == "依据：终评最终结果　　发放日期：2026年12月10日"
    assert sheet.rule_note == ("奖励标准：一等奖300元、3分；二等奖200元、2分；三等奖100元、1分。"
                               "合作指导的作品，奖励由各指导教师平分（精确到0.01，余数计入第一指导教师）。"
                               "同一教师指导多件获奖作品的，奖励累加。")
    got = {s.school_name: [(r.number, r.name, r.amount, r.points) for r in s.rows] for s in sheet.schools}
    # reward_lines' order: schools by the stroke order of their names (河 8 before 城 9; a name that
    # does not begin with a Chinese character last), instructors likewise
    assert [s.school_name for s in sheet.schools] == [B, A, C]
    assert got == {
        C: [(1, "马老师", D("300.00"), D("3.00"))],
        B: [(1, "=1+1", D("200.00"), D("2.00"))],
        A: [(1, "王老师", D("150.00"), D("1.50")), (2, "李老师", D("250.00"), D("2.50")),
            (3, "吴老师", D("33.33"), D("0.33")), (4, "周老师", D("33.34"), D("0.34")),
            (5, "郑老师", D("33.33"), D("0.33"))],
    }
    school_a = sheet.schools[1]
    li = school_a.rows[1]
    assert li.entries == [f"{_code(w, 'e1')} · 智能垃圾桶 · 一等奖（与王老师合作指导）",
                          f"{_code(w, 'e4')} · 折叠雨伞架 · 三等奖"]
    assert school_a.rows[3].entries == [f"{_code(w, 'e3')} · 自动浇花器 · 三等奖（与吴老师、郑老师合作指导）"]
    assert (school_a.amount, school_a.points, school_a.entry_count) == (D("500.00"), D("5.00"), 3)
    assert school_a.count_text == "共5位教师，3件获奖作品"
    assert (sheet.amount, sheet.points, sheet.instructor_count, sheet.entry_count) == (
        D("1000.00"), D("10.00"), 7, 5)


def test_the_figures_are_those_of_the_results_workbook_row_by_row(db, final_world):
    snapshot = final_world["snapshot"]
    wb = _xlsx(exports.results_workbook(snapshot))
    book = [(name, school, D(str(amount)).quantize(D("0.01")), D(str(points)).quantize(D("0.01")))
            for name, school, amount, points in list(wb[exports.REWARDS_SHEET].iter_rows(values_only=True))[1:]]
    sheet = rewards.reward_sheet(snapshot)
    ours = [(escape_cell(r.name), escape_cell(r.school_name), r.amount, r.points) for r in sheet.rows]
    assert ours == book
    assert sum(r[2] for r in book) == sheet.amount == D("1000.00")
    assert sum(r[3] for r in book) == sheet.points == D("10.00")
    # and both are reward_lines, untouched
    lines = reports.reward_lines(snapshot)
    assert [(r.name, r.school_id, r.amount, r.points) for r in lines] == [
        (r.name, r.school_id, r.amount, r.points) for r in sheet.rows]


def test_max_accumulation_keeps_the_best_entry(db, final_world):
    w = final_world
    w["edition"].reward_accumulation = "max"
    db.session.commit()
    sheet = rewards.reward_sheet(w["snapshot"])
    li = next(r for r in sheet.rows if r.name == "李老师")
    assert (li.amount, li.points, len(li.entries)) == (D("150.00"), D("1.50"), 2)
    assert sheet.amount == D("900.00") and sheet.points == D("9.00")
    assert "同一教师指导多件获奖作品的，按其中最高一项奖励。" in sheet.rule_note
    wb = _xlsx(exports.results_workbook(w["snapshot"]))
    book_total = sum(D(str(row[2])) for row in list(wb[exports.REWARDS_SHEET].iter_rows(values_only=True))[1:])
    assert book_total == sheet.amount


def test_schools_with_codes_come_in_code_order(db, final_world):
    w = final_world
    w["schools"][A].code, w["schools"][B].code = "S10", "S9"
    db.session.commit()
    sheet = rewards.reward_sheet(w["snapshot"])
    assert [s.school_name for s in sheet.schools] == [B, A, C]  # S9 before S10, then schools without a code
    w["schools"][C].code = "S1"
    db.session.commit()
    assert [s.school_name for s in rewards.reward_sheet(w["snapshot"]).schools] == [C, B, A]


def test_one_school_even_without_a_reward(db, final_world, make_school):
    w = final_world
    sheet = rewards.reward_sheet(w["snapshot"], school_id=w["schools"][A].id)
    assert [s.school_name for s in sheet.schools] == [A] and sheet.single_school
    empty = make_school("没有获奖的学校")
    sheet = rewards.reward_sheet(w["snapshot"], school_id=empty.id)
    assert [(s.school_name, s.rows, s.amount) for s in sheet.schools] == [("没有获奖的学校", [], D("0.00"))]


# --- not before final ---------------------------------------------------------------------------

def test_nothing_is_printed_before_the_results_are_final(db, scored_world, tmp_path):
    w = scored_world
    edition, final, organizer = w["edition"], w["final"], w["organizer"]
    out = tmp_path / "r.xlsx"
    with pytest.raises(PrintingError, match="尚未确定为最终结果"):
        rewards.write_rewards_xlsx(edition, str(out))
    snapshot = results_ops.compute_results(edition, final, organizer)
    set_round_lock(final, True, "终评结束", organizer)
    pub.publish(snapshot, pub.NoticeForm(date(2026, 11, 20), None, "县科协"), organizer)
    db.session.commit()
    assert snapshot.status == "notice"  # public, but still open to objections
    for build in (lambda: rewards.rewards_pdf(edition), lambda: rewards.rewards_xlsx(edition)):
        with pytest.raises(PrintingError):
            build()
    assert not out.exists()


# --- Excel --------------------------------------------------------------------------------------

def test_xlsx_cells_print_setup_and_escaping(db, final_world, tmp_path):
    w = final_world
    out = tmp_path / "rewards.xlsx"
    assert rewards.write_rewards_xlsx(w["edition"], str(out), issued_on=ISSUED) == 7
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", B, A, C]
    summary = _rows(wb["汇总"])
    assert summary[:5] == [[TITLE], ["各校汇总"], ["依据：终评最终结果　　发放日期：2026年12月10日"],
                           [rewards.rule_note(w["edition"], w["edition"].prize_levels)],
                           ["序号", "学校", "教师人数", "获奖作品（件）", "金额（元）", "加分", "签领"]]
    assert summary[5:] == [[1, B, 1, 1, 200, 2], [2, A, 5, 3, 500, 5], [3, "'@北山中学", 1, 1, 300, 3],
                           [None, "合计", 7, 5, 1000, 10]]
    ws = wb[A]
    rows = _rows(ws)
    assert rows[1] == ["学校：城关第一小学"]
    assert rows[4] == ["序号", "指导教师", "学校", "指导作品（编号·名称·奖项）", "金额（元）", "加分", "签领"]
    e1, e3, e4 = (_code(w, k) for k in ("e1", "e3", "e4"))
    assert rows[5:11] == [
        [1, "王老师", A, f"{e1} · 智能垃圾桶 · 一等奖（与李老师合作指导）", 150, 1.5],
        [2, "李老师", A, f"{e1} · 智能垃圾桶 · 一等奖（与王老师合作指导）\n{e4} · 折叠雨伞架 · 三等奖", 250, 2.5],
        [3, "吴老师", A, f"{e3} · 自动浇花器 · 三等奖（与周老师、郑老师合作指导）", 33.33, 0.33],
        [4, "周老师", A, f"{e3} · 自动浇花器 · 三等奖（与吴老师、郑老师合作指导）", 33.34, 0.34],
        [5, "郑老师", A, f"{e3} · 自动浇花器 · 三等奖（与周老师、吴老师合作指导）", 33.33, 0.33],
        [None, "本校合计", None, "共5位教师，3件获奖作品", 500, 5],
    ]
    assert rows[-1] == [rewards.SIGN_LINE]
    for row in ws.iter_rows(min_row=6, max_row=11):
        amount, points = row[4], row[5]
        assert amount.data_type == "n" and amount.number_format == "0.00"
        assert points.data_type == "n" and points.number_format == "0.00"
        assert row[6].value is None and row[6].border.left.style == "thin"  # 签领: empty, ruled
        assert ws.row_dimensions[row[0].row].height >= rewards.SIGN_POINTS
    assert ws.print_title_rows == "$5:$5"
    assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4 and ws.page_setup.orientation == "portrait"
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.freeze_panes == "A6"
    # formula-looking texts stay text
    b_rows = _rows(wb[B])
    assert b_rows[5][:4] == [1, "'=1+1", B, f"{_code(w, 'e2')} · +奇思妙想 · 二等奖"]
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)


def test_sheet_names_are_valid_and_unique():
    long = "县城关镇第一中心小学附属实验学校（东校区）教学点甲乙丙丁戊己庚辛壬癸"  # 34 characters
    schools = [rewards.SchoolSheet(i, name, None, [rewards.RewardRow(1, "王老师", i, name, ["X · t · 一等奖"], D(1), D(0))])
               for i, name in enumerate(["城关/第一小学[分校]", long, long + "二", "汇总", "'引号学校'"], start=1)]
    sheet = rewards.RewardSheet("第一届测试大赛", "终评", ISSUED, "奖励标准：未设置。", schools)
    wb = _xlsx(rewards.sheet_xlsx(sheet))
    names = wb.sheetnames
    assert names[0] == "汇总" and names[1] == "城关_第一小学_分校_"
    assert all(len(n) <= 31 for n in names) and len({n.lower() for n in names}) == len(names) == 6
    assert names[2] == long[:31] and names[3].endswith("(2)") and names[4] == "汇总(2)"


def test_an_edition_without_rewards_still_gets_a_summary(db, final_world):
    for level in final_world["edition"].prize_levels:
        level.reward_amount = level.reward_points = D(0)
    db.session.commit()
    data = rewards.rewards_xlsx(final_world["edition"])
    wb = _xlsx(data)
    assert wb.sheetnames == ["汇总"]
    assert _rows(wb["汇总"])[-2:] == [[rewards.EMPTY_EDITION], [None, "合计", 0, 0, 0, 0]]
    pages = _pdf_pages(rewards.rewards_pdf(final_world["edition"]))
    assert len(pages) == 1 and "本届没有应发放的辅导教师奖励" in pages[0]


# --- PDF ----------------------------------------------------------------------------------------

def test_pdf_text_pages_and_embedded_font(db, final_world):
    w = final_world
    data = rewards.rewards_pdf(w["edition"], issued_on=ISSUED)
    reader = PdfReader(io.BytesIO(data))
    pages = _pdf_pages(data)
    assert len(pages) == 4  # summary, then one page per school
    summary, b_page, a_page, c_page = pages
    assert summary.startswith(TITLE + "各校汇总")
    assert "依据：终评最终结果发放日期：2026年12月10日" in summary
    assert "合计751000.0010.00" in summary
    assert "3@北山中学11300.003.00" in summary and "2城关第一小学53500.005.00" in summary
    assert a_page.startswith(TITLE + "学校：城关第一小学")
    assert "序号指导教师指导作品（编号·名称·奖项）金额（元）加分签领" in a_page
    assert "4周老师" in a_page and "33.340.34" in a_page
    assert "2李老师" in a_page and "250.002.50" in a_page
    assert "本校合计共5位教师，3件获奖作品500.005.00" in a_page
    assert "经办人（签字）" in a_page
    assert "=1+1" in b_page and "+奇思妙想" in b_page and "马老师" not in b_page
    assert "李老师" not in c_page
    # page numbers count within each school's group; the footer names the school
    for number, (text, school) in enumerate(zip(pages, ("汇总", B, A, C)), start=1):
        assert f"第1页共1页全册第{number}页{school}" in text
    # the Chinese font is embedded (a TrueType subset), nothing else
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font.get("/DescendantFonts")
            descriptor = (descendant[0].get_object() if descendant else font).get("/FontDescriptor")
            assert descriptor is not None and "/FontFile2" in descriptor.get_object(), font
            names.add(str(font["/BaseFont"]))
    assert names and all("Helvetica" not in n for n in names)


def test_pdf_long_school_group_repeats_the_header_and_counts_its_pages(db):
    rows = [rewards.RewardRow(i, f"教师{i}", 1, "长名单学校", [f"XFX-{i:03d} · " + "很长的作品名称" * 6 + " · 一等奖"] * 2,
                              D("100.00"), D("1.00"), (f"XFX-{i:03d}",)) for i in range(1, 41)]
    sheet = rewards.RewardSheet("第一届测试大赛", "终评", ISSUED, "奖励标准：一等奖100元、1分。",
                                [rewards.SchoolSheet(1, "长名单学校", None, rows),
                                 rewards.SchoolSheet(2, "短名单学校", None, rows[:1])])
    pages = _pdf_pages(rewards.sheet_pdf(sheet))
    group = [p for p in pages if "长名单学校" in p and "短名单学校" not in p]
    assert len(group) >= 3
    for index, text in enumerate(group, start=1):
        assert "序号指导教师指导作品（编号·名称·奖项）金额（元）加分签领" in text
        assert f"第{index}页共{len(group)}页" in text
    assert "长名单学校（续）" in group[1]
    assert "第1页共1页" in pages[-1] and "短名单学校" in pages[-1]
    # the long titles wrapped: every character of them is there
    assert ("很长的作品名称" * 6) in "".join(group)


def test_pdf_refuses_a_character_the_font_cannot_draw(db):
    from judging.core.fonts import FontCoverageError

    row = rewards.RewardRow(1, "王\ue000", 1, "实验小学", ["X · t · 一等奖"], D(1), D(0), ("X",))
    sheet = rewards.RewardSheet("第一届测试大赛", "终评", ISSUED, "", [rewards.SchoolSheet(1, "实验小学", None, [row])])
    with pytest.raises(FontCoverageError) as caught:
        rewards.sheet_pdf(sheet)
    assert "王\ue000" in caught.value.message or "U+E000" in caught.value.message


# --- property: the overall total is the table applied to the prizes ------------------------------

money = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
TEACHERS = ["甲老师", "乙老师", "丙老师", "丁老师"]


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(amounts=st.lists(money, min_size=3, max_size=3),
       plan=st.lists(st.tuples(st.sampled_from([1, 2, 3, None]),
                               st.lists(st.sampled_from(TEACHERS), max_size=3, unique=True)),
                     min_size=6, max_size=6))
def test_overall_total_is_the_reward_table_applied_to_the_prizes(db, scored_world, amounts, plan):
    """Equal split, summed: every prized entry with an instructor contributes exactly its level's
    amount (and points), whoever coached it, so the sheet's totals are the table over the prizes."""
    w = scored_world
    edition, final = w["edition"], w["final"]
    edition.reward_split, edition.reward_accumulation = "equal", "sum"
    table = {}
    for level, amount in zip(edition.prize_levels, amounts):
        level.reward_amount, level.reward_points = amount, (amount / 100).quantize(D("0.01"))
        table[level.position] = (level.reward_amount, level.reward_points)
    entries = list(w["entries"].values())
    db.session.execute(delete(EntryInstructor).where(EntryInstructor.entry_id.in_([e.id for e in entries])))
    snapshot = ResultSnapshot(edition_id=edition.id, round_id=final.id, settings_json="{}", status="final")
    db.session.add(snapshot)
    db.session.flush()
    for rank, (entry, (level, names)) in enumerate(zip(entries, plan), start=1):
        db.session.add_all(EntryInstructor(entry_id=entry.id, position=i, name=n) for i, n in enumerate(names, 1))
        db.session.add(EntryResultRow(snapshot_id=snapshot.id, entry_id=entry.id, final=D(100 - rank), rank=rank,
                                      level_position=level, quota_level=level, overridden=False, flags_json="[]"))
    db.session.commit()
    db.session.expire_all()
    sheet = rewards.reward_sheet(snapshot)
    counted = [(e, level) for e, (level, names) in zip(entries, plan) if level is not None and names]
    assert sheet.amount == sum((table[level][0] for _, level in counted), D("0.00"))
    assert sheet.points == sum((table[level][1] for _, level in counted), D("0.00"))
    for school in sheet.schools:
        assert school.amount == sum((table[level][0] for e, level in counted if e.school_id == school.school_id),
                                    D("0.00"))
    for row in sheet.rows:
        assert row.amount == row.amount.quantize(D("0.01"))
    db.session.delete(snapshot)
    db.session.commit()


# --- the command ---------------------------------------------------------------------------------

def test_print_rewards_command(app, db, final_world, tmp_path):
    out = tmp_path / "奖励表.xlsx"
    result = app.test_cli_runner().invoke(args=["print", "rewards", str(final_world["edition"].id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "7位教师" in result.output and str(out) in result.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", B, A, C]
    missing = app.test_cli_runner().invoke(args=["print", "rewards", "9999", "--out", str(tmp_path / "x.xlsx")])
    assert missing.exit_code == 1 and "没有编号为9999的届次" in missing.output


def test_print_rewards_command_before_final(app, db, scored_world, tmp_path):
    out = tmp_path / "r.xlsx"
    result = app.test_cli_runner().invoke(args=["print", "rewards", str(scored_world["edition"].id), "--out", str(out)])
    assert result.exit_code == 1 and "尚未确定为最终结果" in result.output
    assert not out.exists()


# --- routes -------------------------------------------------------------------------------------

def _urls(edition_id):
    return {"page": f"/admin/editions/{edition_id}/rewards", "xlsx": f"/admin/editions/{edition_id}/rewards.xlsx",
            "pdf": f"/admin/editions/{edition_id}/rewards.pdf", "school": f"/school/editions/{edition_id}/rewards.pdf"}


def test_organizer_downloads(app, db, final_world, organizer):
    w = final_world
    client = app.test_client()
    login(client, organizer)
    urls = _urls(w["edition"].id)
    page = client.get(urls["page"]).get_data(as_text=True)
    assert "辅导教师奖励表" in page and "1000.00" in page and "城关第一小学" in page and "500.00" in page
    response = client.get(urls["xlsx"])
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    assert _xlsx(response.data).sheetnames == ["汇总", B, A, C]
    response = client.get(urls["pdf"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert len(_pdf_pages(response.data)) == 4
    one = client.get(urls["pdf"] + f"?school={w['schools'][B].id}")
    pages = _pdf_pages(one.data)
    assert len(pages) == 1 and "学校：河西小学" in pages[0] and "各校汇总" not in pages[0]
    assert client.get(urls["pdf"] + "?school=99999").status_code == 404
    assert client.get(urls["pdf"] + "?school=abc").status_code == 400
    assert client.get("/admin/editions/99999/rewards.pdf").status_code == 404


def test_before_final_organizers_are_sent_back_with_the_reason(app, db, scored_world, organizer):
    client = app.test_client()
    login(client, organizer)
    urls = _urls(scored_world["edition"].id)
    page = client.get(urls["page"]).get_data(as_text=True)
    assert page.count("尚未确定为最终结果") == 1 and "rewards.pdf" not in page
    for kind in ("xlsx", "pdf"):
        response = client.get(urls[kind])
        assert response.status_code == 302 and response.headers["Location"].endswith(urls["page"])
        client.get(urls["page"])  # shows the flash
    followed = client.get(urls["pdf"], follow_redirects=True).get_data(as_text=True)
    assert followed.count("尚未确定为最终结果") == 1  # the flash says it; the page does not repeat it


def test_coordinators_get_only_their_own_school_once_final(app, db, scored_world, make_user):
    w = scored_world
    urls = _urls(w["edition"].id)
    coordinator = make_user("coordinator", username="coord_a", school=w["schools"][A])
    client = app.test_client()
    login(client, coordinator)
    early = client.get(urls["school"])
    assert early.status_code == 409 and "尚未确定为最终结果" in early.get_data(as_text=True)
    _finalize(db, w)
    response = client.get(urls["school"] + f"?school={w['schools'][B].id}")  # a parameter changes nothing
    assert response.status_code == 200
    (page,) = _pdf_pages(response.data)
    assert "学校：城关第一小学" in page and "李老师" in page and "250.00" in page
    assert "河西小学" not in page and "马老师" not in page and "各校汇总" not in page
    for kind in ("page", "xlsx", "pdf"):
        assert client.get(urls[kind]).status_code == 403
    other = make_user("coordinator", username="coord_x")  # a school without rewards: its empty sheet
    client = app.test_client()
    login(client, other)
    (page,) = _pdf_pages(client.get(urls["school"]).data)
    assert rewards.EMPTY_SCHOOL in page and "城关第一小学" not in page


def test_judges_and_anonymous_users_get_nothing(app, db, final_world, make_user):
    urls = _urls(final_world["edition"].id)
    anonymous = app.test_client()
    for url in urls.values():
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    judge = make_user("judge", username="judge_r")
    client = app.test_client()
    login(client, judge)
    for url in urls.values():
        assert client.get(url).status_code == 403
