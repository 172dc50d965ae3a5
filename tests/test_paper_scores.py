"""The paper fallback: blank score sheets (blind, read back with pypdf), the 评分 template, and
the 评分 sheet imported into a round: every fault named by row and column with nothing written,
the happy path through submit_score with source paper, and an idempotent re-import."""
from __future__ import annotations

import io
import re
import uuid
from decimal import Decimal

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from judging.core.models import AuditEvent
from judging.registration.rules import StudentInput
from judging.scoring import paper
from judging.scoring.models import Assignment, Panel, PanelJudge, Score, ScoreHistory
from judging.scoring.operations import Submission, set_round_lock, submit_score
from tests.conftest import login

D = Decimal


# --- The world: a round with two panels ----------------------------------------------------------------

@pytest.fixture
def prelim(edition):
    return next(r for r in edition.rounds if r.kind == "preliminary")


@pytest.fixture
def world(db, edition, prelim, make_user, make_school, make_entry):
    """小发明·小学组: judges 张评委, 李评委, 王评委 on entries XFX-001, XFX-002; 科幻画·小学组:
    张评委 alone on KHX-001. Entries carry student, school and instructor names that must never print."""
    xf, kh = edition.categories
    primary = edition.divisions[0]
    school = make_school("保密实验小学")
    zhang = make_user("judge", username="zhang", display_name="张评委")
    li = make_user("judge", username="li", display_name="李评委")
    wang = make_user("judge", username="wang", display_name="王评委")
    outsider = make_user("judge", username="zhao", display_name="赵评委")
    e1 = make_entry(school, title="自动浇花器", category=xf, students=[StudentInput("秘密学生甲", "男", "五年级", "1班")],
                    instructors=["秘密老师"])
    e2 = make_entry(school, title="节水马桶", category=xf, students=[StudentInput("秘密学生乙", "女", "五年级", "2班")])
    e3 = make_entry(school, title="月球城市", category=kh, subform="卡通画",
                    students=[StudentInput("秘密学生丙", "女", "四年级", "3班")])
    xf_panel = Panel(edition_id=edition.id, round_id=prelim.id, category_id=xf.id, division_id=primary.id)
    kh_panel = Panel(edition_id=edition.id, round_id=prelim.id, category_id=kh.id, division_id=primary.id)
    db.session.add_all([xf_panel, kh_panel])
    db.session.flush()
    for judge in (zhang, li, wang):
        db.session.add(PanelJudge(panel_id=xf_panel.id, judge_id=judge.id))
        for entry in (e1, e2):
            db.session.add(Assignment(round_id=prelim.id, panel_id=xf_panel.id, entry_id=entry.id, judge_id=judge.id))
    db.session.add(PanelJudge(panel_id=kh_panel.id, judge_id=zhang.id))
    db.session.add(Assignment(round_id=prelim.id, panel_id=kh_panel.id, entry_id=e3.id, judge_id=zhang.id))
    db.session.commit()
    return {"judges": {"zhang": zhang, "li": li, "wang": wang, "zhao": outsider}, "entries": (e1, e2, e3),
            "school": school, "xf": xf, "kh": kh}


HEADER = ["作品编号", "评委", "创新性", "实用性", "想象力", "绘画水平"]


def xlsx(rows, header=HEADER, title="评分") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def good_rows(world):
    e1, e2, e3 = (e.code for e in world["entries"])
    return [
        [e1, "张评委", 50, 30, None, None],
        [e1, "li", 45.5, 32, None, None],
        [e1, "王评委", "52", "28.5", None, None],
        [e2, "张评委", 40, 20, None, None],
        [e3, "张评委", None, None, 45, 40],
    ]


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def faults_of(plan):
    return [(f.row, f.column, f.reason) for f in plan.faults]


def has_fault(plan, row, column, part) -> bool:
    return any(r == row and c == column and part in reason for r, c, reason in faults_of(plan))


URL = "/admin/rounds/{}/scores-import"


def upload(client, rnd, data: bytes, filename="纸质评分.xlsx"):
    return client.post(URL.format(rnd.id), data={"step": "upload", "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def token_of(page: str) -> str:
    match = re.search(r'name="token" type="hidden" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def confirm(client, rnd, page: str):
    return client.post(URL.format(rnd.id), data={"step": "confirm", "token": token_of(page)})


def import_file(client, rnd, data: bytes):
    preview = upload(client, rnd, data)
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "检查通过" in text, text
    return confirm(client, rnd, text)


# --- Blank score sheets ----------------------------------------------------------------------------------

def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_blank_sheets_are_blind_and_complete(db, org_client, world, prelim, edition):
    response = org_client.get(f"/admin/rounds/{prelim.id}/score-sheets.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = pdf_text(response.data)
    compact = text.replace(" ", "").replace("\n", "")
    for judge in ("张评委", "李评委", "王评委"):
        assert judge in text
    assert "赵评委" not in text  # not assigned
    for entry in world["entries"]:
        assert entry.code in text
    for words in ("创新性", "实用性", "想象力", "绘画水平", "（60分）", "（40分）", "（50分）", "总分", "（100分）",
                  "评委签名", "日期", edition.title, "初评评分表", "小发明·小学组", "科幻画·小学组"):
        assert words.replace(" ", "") in compact, words
    for secret in ("秘密学生", "秘密老师", "保密实验小学"):
        assert secret not in text
    # 张评委: one section per pool (XF, KH); 李 and 王 one each: 4 sections, a page each here.
    assert len(reader.pages) == 4
    fonts = {str(f.get("/BaseFont")) for page in reader.pages
             for f in (page["/Resources"].get("/Font") or {}).values()}
    assert fonts and all("Helvetica" not in f for f in fonts), fonts


def test_one_judges_sheet(db, org_client, world, prelim):
    zhang = world["judges"]["zhang"]
    response = org_client.get(f"/admin/rounds/{prelim.id}/score-sheets.pdf?judge={zhang.id}")
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert "张评委" in text and "李评委" not in text
    assert all(e.code in text for e in world["entries"])
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert org_client.get(f"/admin/rounds/{prelim.id}/score-sheets.pdf?judge=x").status_code == 400
    assert org_client.get(f"/admin/rounds/{prelim.id}/score-sheets.pdf?judge=99999").status_code == 404


def test_descriptors_and_maxima_are_printed(db, org_client, world, prelim):
    from judging.contests import operations as ops

    ops.save_rubric(world["xf"], [{"name": "创新性", "max_points": D("60"), "descriptor": "构思新颖<独特>&巧妙"},
                                  {"name": "实用性", "max_points": D("40"), "descriptor": "解决实际问题"}])
    db.session.commit()
    text = pdf_text(org_client.get(f"/admin/rounds/{prelim.id}/score-sheets.pdf").data).replace("\n", "")
    assert "构思新颖<独特>&巧妙" in text  # escaped markup prints as typed
    assert "解决实际问题" in text


def test_a_long_sheet_runs_over_pages_with_its_own_numbering():
    """The builder is pure: plain rows in, a PDF out; 40 entries need two pages for one judge."""
    from types import SimpleNamespace

    criteria = (paper.SheetCriterion("创新性", D("60"), "新颖"), paper.SheetCriterion("实用性", D("40"), "有用"))
    entries = [paper.SheetEntry(f"XFX-{n:03d}", f"作品{n}") for n in range(1, 41)]
    sheets = [paper.JudgeSheet(1, "长表评委", [paper.SheetPool("小发明", "小学组", criteria, entries)]),
              paper.JudgeSheet(2, "短表评委", [paper.SheetPool("小发明", "小学组", criteria, entries[:3])])]
    rnd = SimpleNamespace(name="初评", edition=SimpleNamespace(title="第十三届测试县大赛"))
    out = io.BytesIO()
    paper.blank_score_sheets_pdf(rnd, sheets, out)
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(out.getvalue())).pages]
    assert len(pages) == 3
    assert "第 1 页 共 2 页" in pages[0] and "第 2 页 共 2 页" in pages[1] and "第 1 页 共 1 页" in pages[2]
    assert "（续）" in pages[1] and "（续）" not in pages[2]
    assert "评委签名" in pages[1] and "评委签名" not in pages[0]
    assert all(e.code in pages[0] + pages[1] for e in entries)
    assert "短表评委" in pages[2]


def test_many_criteria_turn_the_page_to_landscape():
    from types import SimpleNamespace

    rnd = SimpleNamespace(name="终评", edition=SimpleNamespace(title="测试大赛"))
    entries = [paper.SheetEntry("XFX-001", "作品")]
    for count, landscape in ((5, False), (10, True)):
        criteria = tuple(paper.SheetCriterion(f"指标{n}", D("10")) for n in range(count))
        out = io.BytesIO()
        paper.blank_score_sheets_pdf(rnd, [paper.JudgeSheet(1, "评委", [paper.SheetPool("小发明", "小学组", criteria,
                                                                                         entries)])], out)
        page = PdfReader(io.BytesIO(out.getvalue())).pages[0]
        assert (float(page.mediabox.width) > float(page.mediabox.height)) is landscape
        assert all(f"指标{n}" in page.extract_text() for n in range(count))


def test_no_assignments_still_prints_a_page(org_client, prelim):
    response = org_client.get(f"/admin/rounds/{prelim.id}/score-sheets.pdf")
    assert response.status_code == 200
    assert "本轮次尚未给评委分配作品" in pdf_text(response.data)


def test_a_missing_glyph_is_named_not_printed_as_a_box(db, org_client, world, prelim):
    from judging.core.fonts import ensure_fonts, missing_glyphs

    rare = next((c for c in ("\U0003134a", "\U0002ebf0", "\U000323af") if missing_glyphs(c, ensure_fonts())), None)
    if rare is None:
        pytest.skip("the font covers every probe character")
    world["judges"]["li"].display_name = f"李{rare}"
    db.session.commit()
    response = org_client.get(f"/admin/rounds/{prelim.id}/score-sheets.pdf")
    assert response.status_code == 422
    assert f"U+{ord(rare):04X}" in response.get_data(as_text=True)


# --- The template --------------------------------------------------------------------------------------

def test_template_has_a_row_per_assignment(db, org_client, world, prelim):
    world["judges"]["wang"].display_name = "=王评委"  # must stay text, never a formula
    db.session.commit()
    response = org_client.get(f"/admin/rounds/{prelim.id}/scores-template.xlsx")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    ws = wb["评分"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0] == HEADER
    body = [(r[0], r[1]) for r in rows[1:]]
    e1, e2, e3 = (e.code for e in world["entries"])
    assert sorted(body) == sorted([(e1, "张评委"), (e2, "张评委"), (e3, "张评委"), (e1, "李评委"), (e2, "李评委"),
                                   (e1, "'=王评委"), (e2, "'=王评委")])
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)
    assert "填写说明" in wb.sheetnames


def test_template_without_panels(org_client, prelim):
    response = org_client.get(f"/admin/rounds/{prelim.id}/scores-template.xlsx")
    assert response.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(response.data))["评分"]
    assert [c.value for c in next(ws.iter_rows())][:2] == ["作品编号", "评委"]


def test_the_template_filled_in_imports(db, org_client, world, prelim):
    response = org_client.get(f"/admin/rounds/{prelim.id}/scores-template.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    ws = wb["评分"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        code = row[0].value
        category = "KH" if code.startswith("KH") else "XF"
        names = ("想象力", "绘画水平") if category == "KH" else ("创新性", "实用性")
        for name, points in zip(names, (40, 30)):
            row[header.index(name)].value = points
    buffer = io.BytesIO()
    wb.save(buffer)
    assert import_file(org_client, prelim, buffer.getvalue()).status_code == 302
    assert count(db, Score) == 7


# --- Importing: the happy path -----------------------------------------------------------------------------

def test_import_writes_paper_scores_with_history_and_one_audit_event(db, org_client, world, prelim, organizer):
    data = xlsx(good_rows(world))
    response = import_file(org_client, prelim, data)
    assert response.status_code == 302 and "/progress" in response.headers["Location"]
    scores = list(db.session.scalars(select(Score).order_by(Score.id)))
    assert len(scores) == 5
    assert {s.source for s in scores} == {"paper"} and {s.status for s in scores} == {"submitted"}
    e1, e2, e3 = world["entries"]
    li = world["judges"]["li"]
    li_score = next(s for s in scores if s.judge_id == li.id)
    assert li_score.total == D("77.5") and li_score.entry_id == e1.id
    assert {v.points for v in li_score.values} == {D("45.5"), D("32")}
    history = list(db.session.scalars(select(ScoreHistory)))
    assert len(history) == 5
    assert all(h.source == "paper" and h.written_by_id == organizer.id for h in history)
    assert all(h.idempotency_key.startswith("paper:") and len(h.idempotency_key) <= 64 for h in history)
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "paper_scores_imported")))
    assert len(events) == 1 and "纸质评分.xlsx" in events[0].summary and events[0].object_id == prelim.id
    page = org_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "新增5条" in page


def test_reimporting_the_same_file_replays(db, org_client, world, prelim):
    data = xlsx(good_rows(world))
    import_file(org_client, prelim, data)
    history = count(db, ScoreHistory)
    preview = upload(org_client, prelim, data).get_data(as_text=True)
    assert "此前已导入 5" in preview
    response = confirm(org_client, prelim, preview)
    assert response.status_code == 302
    assert count(db, ScoreHistory) == history == 5
    assert count(db, Score) == 5
    assert {s.version for s in db.session.scalars(select(Score))} == {1}
    assert "此前已导入5条" in org_client.get(response.headers["Location"]).get_data(as_text=True)


def test_reimport_after_a_later_tablet_edit_does_not_overwrite_it(db, org_client, world, prelim):
    data = xlsx(good_rows(world))
    import_file(org_client, prelim, data)
    zhang = world["judges"]["zhang"]
    e1 = world["entries"][0]
    innovation, usefulness = world["xf"].criteria
    status, _ = submit_score(zhang, Submission(idempotency_key="tablet-fix", round_id=prelim.id, entry_id=e1.id,
                                               values={innovation.id: "55", usefulness.id: "35"}, base_version=1))
    assert status == 200
    db.session.commit()
    import_file(org_client, prelim, data)
    score = db.session.scalar(select(Score).where(Score.judge_id == zhang.id, Score.entry_id == e1.id))
    db.session.refresh(score)
    assert (score.total, score.version, score.source) == (D("90"), 2, "tablet")


def test_a_changed_file_updates_and_warns_about_tablet_scores(db, org_client, world, prelim):
    zhang = world["judges"]["zhang"]
    e1 = world["entries"][0]
    innovation, usefulness = world["xf"].criteria
    submit_score(zhang, Submission(idempotency_key=uuid.uuid4().hex, round_id=prelim.id, entry_id=e1.id,
                                   values={innovation.id: "20", usefulness.id: "20"}))
    db.session.commit()
    rows = good_rows(world)
    preview = upload(org_client, prelim, xlsx(rows)).get_data(as_text=True)
    assert "已平板提交" in preview and "导入后改为80" in preview
    confirm(org_client, prelim, preview)
    score = db.session.scalar(select(Score).where(Score.judge_id == zhang.id, Score.entry_id == e1.id))
    db.session.refresh(score)
    assert (score.total, score.version, score.source) == (D("80"), 2, "paper")
    history = list(db.session.scalars(select(ScoreHistory).where(ScoreHistory.judge_id == zhang.id,
                                                                 ScoreHistory.entry_id == e1.id)
                                      .order_by(ScoreHistory.version)))
    assert [h.source for h in history] == ["tablet", "paper"]


def test_identical_scores_are_left_alone_and_blank_rows_skipped(db, world, prelim, organizer):
    rows = good_rows(world)
    first = paper.plan_paper_import(xlsx(rows), "a.xlsx", prelim)
    paper.apply_paper_import(first, prelim, organizer)
    db.session.commit()
    e2 = world["entries"][1].code
    second = paper.plan_paper_import(xlsx(rows + [[e2, "王评委", None, None, None, None]], title="评分"), "b.xlsx",
                                     prelim)
    assert second.ok, faults_of(second)
    assert [r.action for r in second.rows] == ["same"] * 5
    assert second.skipped_blank == 1 and any("第7行" in w.reason for w in second.warnings)
    result = paper.apply_paper_import(second, prelim, organizer)
    db.session.commit()
    assert result == {"new": 0, "update": 0, "same": 5, "replay": 0}
    assert count(db, ScoreHistory) == 5


def test_row_ranges():
    assert paper.row_ranges([5, 3, 4, 9, 11, 12]) == "第3–5行、第9行、第11–12行"
    assert paper.row_ranges(list(range(2, 40, 2)), limit=2) == "第2行、第4行等"


def test_headers_with_marks_codes_in_lower_case_and_full_width_digits(db, world, prelim, organizer):
    e1 = world["entries"][0].code
    data = xlsx([[e1.lower(), " 张评委 ", "５０", "30", None, None]],
                header=["作品编号*", "评委*", "创新性", "实用性"])
    plan = paper.plan_paper_import(data, "x.xlsx", prelim)
    assert plan.ok, faults_of(plan)
    assert plan.rows[0].total == D("80")


# --- Importing: faults -------------------------------------------------------------------------------------

def test_every_fault_is_named_by_row_and_column_and_nothing_is_written(db, org_client, world, prelim):
    e1, e2, e3 = (e.code for e in world["entries"])
    rows = [
        ["XFX-999", "张评委", 50, 30, None, None],          # 2: unknown entry code
        [e1, "钱评委", 50, 30, None, None],                 # 3: unknown judge
        [e1, "赵评委", 50, 30, None, None],                 # 4: judge not assigned to this entry
        [e1, "张评委", 61, 30, None, None],                 # 5: above the maximum
        [e1, "李评委", "五十", 30, None, None],              # 6: not a number
        [e1, "王评委", 50.25, 30, None, None],              # 7: more than one decimal
        [e2, "张评委", 50, None, None, None],               # 8: a criterion of the rubric missing
        [e2, "李评委", 50, 30, 10, None],                   # 9: a value outside the entry's rubric
        [e2, "王评委", 50, 30, None, None],                 # 10: fine
        [e2, "wang", 40, 30, None, None],                  # 11: the same judge and entry again
        [e3, "张评委", None, None, -1, 40],                 # 12: below zero
        [None, "张评委", 50, 30, None, None],               # 13: no code
        [e3, None, None, None, 40, 40],                    # 14: no judge
    ]
    plan = paper.plan_paper_import(xlsx(rows), "错.xlsx", prelim)
    assert not plan.ok and plan.rows == []
    assert has_fault(plan, 2, "作品编号", "没有编号为「XFX-999」的作品")
    assert has_fault(plan, 3, "评委", "找不到评委「钱评委」")
    assert has_fault(plan, 4, "评委", "没有被分配")
    assert has_fault(plan, 5, "创新性", "应在0到60分之间")
    assert has_fault(plan, 6, "创新性", "应为数字")
    assert has_fault(plan, 7, "创新性", "最多一位小数")
    assert has_fault(plan, 8, "实用性", "请填写实用性的分数")
    assert has_fault(plan, 9, "想象力", "没有「想象力」这一项")
    assert has_fault(plan, 11, "评委", "与第10行重复")
    assert has_fault(plan, 12, "想象力", "应在0到50分之间")
    assert has_fault(plan, 13, "作品编号", "请填写作品编号")
    assert has_fault(plan, 14, "评委", "请填写评委")
    assert not any(r == 10 for r, _, _ in faults_of(plan))
    assert all(f.sheet == "评分" for f in plan.faults)
    assert [f.row for f in plan.faults] == sorted(f.row for f in plan.faults)

    response = upload(org_client, prelim, xlsx(rows))
    text = response.get_data(as_text=True)
    assert "未导入任何评分" in text and "第11行" in text and 'name="token"' not in text
    assert count(db, Score) == 0 and count(db, ScoreHistory) == 0
    assert count(db, AuditEvent) == db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action != "paper_scores_imported"))


def test_a_locked_round_refuses_the_file(db, world, prelim, organizer, org_client):
    set_round_lock(prelim, True, "初评结束", organizer)
    db.session.commit()
    plan = paper.plan_paper_import(xlsx(good_rows(world)), "a.xlsx", prelim)
    assert not plan.ok
    assert any(f.row is None and "已锁定" in f.reason for f in plan.faults)
    text = upload(org_client, prelim, xlsx(good_rows(world))).get_data(as_text=True)
    assert "已锁定" in text and 'name="token"' not in text
    assert count(db, Score) == 0


def test_a_round_locked_between_preview_and_confirm_writes_nothing(db, world, prelim, organizer, org_client):
    preview = upload(org_client, prelim, xlsx(good_rows(world))).get_data(as_text=True)
    set_round_lock(prelim, True, "初评结束", organizer)
    db.session.commit()
    response = confirm(org_client, prelim, preview)
    assert response.status_code == 200
    assert "已锁定" in response.get_data(as_text=True)
    assert count(db, Score) == 0 and count(db, ScoreHistory) == 0


def test_a_missing_criterion_column_is_named_once(db, world, prelim):
    e1, e2, _ = (e.code for e in world["entries"])
    plan = paper.plan_paper_import(xlsx([[e1, "张评委", 50], [e2, "张评委", 40]], header=["作品编号", "评委", "创新性"]),
                                   "a.xlsx", prelim)
    assert faults_of(plan) == [(1, "实用性", f"缺少「实用性」列：作品 {e1} 等的评分标准有这一项（表头应在第1行）")]


def test_missing_headers_and_files_that_are_not_workbooks(db, world, prelim):
    plan = paper.plan_paper_import(xlsx([["x", 1]], header=["编号x", "评委"]), "a.xlsx", prelim)
    assert has_fault(plan, 1, "作品编号", "缺少必填列")
    plan = paper.plan_paper_import(b"not a workbook", "a.xlsx", prelim)
    assert plan.faults and plan.faults[0].row is None and "不是有效的Excel文件" in plan.faults[0].reason
    plan = paper.plan_paper_import(xlsx([]), "empty.xlsx", prelim)
    assert any("没有可导入的评分" in f.reason for f in plan.faults)


def test_a_judge_name_shared_by_two_accounts(db, world, prelim, make_user):
    make_user("judge", username="zhang2", display_name="张评委")
    e1, e2, e3 = (e.code for e in world["entries"])
    plan = paper.plan_paper_import(xlsx([[e1, "张评委", 50, 30, None, None]]), "a.xlsx", prelim)
    assert plan.ok  # only one of the two is assigned to the entry
    assert plan.rows[0].judge_id == world["judges"]["zhang"].id


def test_a_disqualified_entry_is_refused(db, world, prelim):
    e1 = world["entries"][0]
    e1.status = "disqualified"
    db.session.commit()
    plan = paper.plan_paper_import(xlsx([[e1.code, "张评委", 50, 30, None, None]]), "a.xlsx", prelim)
    assert has_fault(plan, 2, "作品编号", "已取消资格")


def test_confirm_without_a_pending_upload(db, org_client, world, prelim):
    response = org_client.post(URL.format(prelim.id), data={"step": "confirm", "token": "x" * 32})
    assert response.status_code == 302
    assert count(db, Score) == 0


def test_the_import_page_answers_with_no_panels(org_client, prelim):
    response = org_client.get(URL.format(prelim.id))
    assert response.status_code == 200
    assert "导入纸质评分" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["coordinator", "judge"])
def test_other_roles_cannot_import(db, client, make_user, world, prelim, role):
    assert login(client, make_user(role)).status_code == 302
    assert upload(client, prelim, xlsx(good_rows(world))).status_code == 403
    assert count(db, Score) == 0
