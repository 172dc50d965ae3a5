"""Result exports (judging/results/exports.py) and their routes (export_views.py).

Excel files are read back with openpyxl and PDFs with pypdf: the exact names, prizes and scores
must come out, in the right order; a title typed as =1+1 stays text; public lists carry no score,
rank or private field; the public URLs answer 404 until the snapshot is public, for every role.
Data: the `results_world` snapshot of test_reports.py.
"""
from __future__ import annotations

import io
import json
import re
from datetime import date
from decimal import Decimal
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from judging.core import fonts
from judging.results import exports
from judging.results.models import EntryResultRow, ResultSnapshot
from tests.conftest import login
from tests.test_reports import results_world  # noqa: F401  (fixture)

D = Decimal
EDITION_TITLE = "第十三届测试县青少年科技创新大赛"
PRIVATE_WORDS = ("年级", "班", "男", "13912345678", "抄袭", "评审委员会复议", "调整", "评分人数不足")


@pytest.fixture(autouse=True)
def _packaged_font():
    fonts.ensure_fonts(font_path="")
    yield


def _sheet_rows(ws) -> list[list]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def _trimmed(rows):
    """Rows without trailing blank cells (merged title rows have them)."""
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        out.append(row)
    return out


def _xlsx(data: bytes):
    return load_workbook(io.BytesIO(data))


def _pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def _squash(text: str) -> str:
    return "".join(text.split())


def _all_text_xlsx(data: bytes) -> str:
    wb = _xlsx(data)
    return "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                     if c.value is not None)


# --- lists: Excel -----------------------------------------------------------------------------

def test_organizer_list_xlsx_by_prize(db, results_world):
    es = results_world["entries"]
    wb = _xlsx(exports.results_xlsx(results_world["snapshot"]))
    assert wb.sheetnames == ["小发明-小学组", "科幻画-小学组", "科幻画-初中组"]
    rows = _trimmed(_sheet_rows(wb["小发明-小学组"]))
    assert rows[:4] == [[EDITION_TITLE], ["终评成绩表（草稿，未公布）"], ["小发明 · 小学组（共7件）"],
                        ["序号", "作品编号", "作品名称", "学校", "学生", "指导教师", "最终得分", "名次", "奖项", "备注"]]
    assert rows[4] == [1, es["e1"].code, "智能垃圾桶", "城关第一小学", "张四", "李老师、王老师、陈老师", 90, 1, "一等奖"]
    assert rows[5] == [2, es["e2"].code, "'=1+1", "河西小学", "欧阳五", "赵老师", 85.5, 2, "二等奖"]
    assert rows[6] == [3, es["e3"].code, "自动浇花器", "城关第一小学", "丁一、王小明", "周老师、吴老师、郑老师",
                       80.25, 3, "三等奖", "并列跨越末位获奖线，均获奖"]
    assert rows[8] == [5, es["e5"].code, "节水龙头", "河西小学", "李三", "赵老师", 70, 5]
    assert rows[9][1:3] == [es["e6"].code, "未评完的作品"] and rows[9][-1] == "评分人数不足，未排名"
    assert rows[10][-1] == "取消资格"
    ws = wb["小发明-小学组"]
    assert ws.cell(row=5, column=7).number_format == "0.00" and ws.cell(row=5, column=8).number_format == "0"
    assert ws.cell(row=6, column=3).data_type == "s"  # text, not a formula
    assert ws.print_title_rows == "$4:$4" and ws.page_setup.orientation == "landscape"
    junior = _trimmed(_sheet_rows(wb["科幻画-初中组"]))
    assert junior[5][2:] == ["海底家园（卡通画）", "河西小学", "高大富", "赵老师", 60, 2, "二等奖",
                             "奖项经组委会调整：评审委员会复议"]


def test_stroke_list_xlsx_is_unranked_within_each_prize(db, results_world):
    wb = _xlsx(exports.results_xlsx(results_world["snapshot"], order="stroke"))
    rows = _trimmed(_sheet_rows(wb["科幻画-小学组"]))
    assert rows[3] == ["排名不分先后，按第一作者姓氏笔画排序"]
    assert rows[4] == ["序号", "作品编号", "作品名称", "学校", "学生", "指导教师", "奖项"]
    # 丁 2 strokes, 王 4, 李 7 (横 first), 张 7 (折 first), 欧阳 8
    assert [r[4] for r in rows[5:]] == ["丁一", "王芳", "李华", "张明", "欧阳雪"]
    assert all(r[-1] == "一等奖" for r in rows[5:])
    xf = _trimmed(_sheet_rows(wb["小发明-小学组"]))
    # by prize first (一 二 三), then strokes within 三等奖: 丁一 (丁一、王小明) before 王二
    assert [(r[4], r[6]) for r in xf[5:]] == [("张四", "一等奖"), ("欧阳五", "二等奖"), ("丁一、王小明", "三等奖"),
                                             ("王二", "三等奖")]
    assert "90" not in _all_text_xlsx(exports.results_xlsx(results_world["snapshot"], order="stroke"))


def test_public_list_xlsx_has_prizes_only_and_nothing_private(db, results_world, make_user):
    make_user("coordinator", school=results_world["schools"][0], phone="13912345678")
    data = exports.results_xlsx(results_world["snapshot"], public=True)
    wb = _xlsx(data)
    rows = _trimmed(_sheet_rows(wb["小发明-小学组"]))
    assert rows[1] == ["终评获奖名单（草稿，未公布）"]
    assert rows[3] == ["序号", "作品编号", "作品名称", "学校", "学生", "指导教师", "奖项"]
    assert [r[2] for r in rows[4:]] == ["智能垃圾桶", "'=1+1", "自动浇花器", "雨伞架"]  # no 节水龙头 (no prize)
    text = _all_text_xlsx(data)
    for word in PRIVATE_WORDS + ("最终得分", "名次", "90", "85.5", "节水龙头", "取消资格"):
        assert word not in text, word


def test_empty_snapshot_lists(db, results_world):
    snapshot = ResultSnapshot(edition_id=results_world["edition"].id, round_id=results_world["round"].id,
                              settings_json="{}", status="draft")
    db.session.add(snapshot)
    db.session.commit()
    wb = _xlsx(exports.results_xlsx(snapshot))
    assert _trimmed(_sheet_rows(wb.worksheets[0]))[-1] == ["暂无结果。"]
    assert "暂无结果。" in _pdf_pages(exports.results_pdf(snapshot, public=True))[0]
    assert "暂无结果。" in _pdf_pages(exports.school_summary_pdf(snapshot))[0]
    book = _xlsx(exports.results_workbook(snapshot))
    assert [_sheet_rows(ws) for ws in book.worksheets] == [[list(exports.RESULTS_HEADERS)],
                                                           [list(exports.REWARDS_HEADERS)]]


def test_unknown_order_is_refused(db, results_world):
    with pytest.raises(ValueError):
        exports.results_xlsx(results_world["snapshot"], order="pinyin")


# --- lists: PDF -------------------------------------------------------------------------------

def test_organizer_list_pdf(db, results_world):
    es = results_world["entries"]
    data = exports.results_pdf(results_world["snapshot"], printed_on=date(2026, 12, 1))
    pages = _pdf_pages(data)
    assert len(pages) == 3  # one pool per page
    first = _squash(pages[0])
    for text in (EDITION_TITLE, "终评成绩表（草稿，未公布）", "小发明·小学组", "共7件", es["e1"].code, "智能垃圾桶",
                 "张四", "李老师、王老师、陈老师", "90.00", "85.50", "80.25", "一等奖", "二等奖", "三等奖",
                 "=1+1", "评分人数不足，未排名", "第1页共3页", "打印日期：2026-12-01", "草稿，未公布"):
        assert text in first, text
    assert "'=1+1" not in first  # a PDF needs no formula escape
    assert "奖项经组委会调整：评审委员会复议" in _squash(pages[2])
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # landscape for ten columns
    for ref in page["/Resources"]["/Font"].values():
        font = ref.get_object()
        assert re.fullmatch(r"/[A-Z]{6}\+NotoSansSC-(Regular|Bold)", font["/BaseFont"]), font["/BaseFont"]
        assert "/FontFile2" in font["/FontDescriptor"].get_object()


def test_public_stroke_pdf(db, results_world):
    data = exports.results_pdf(results_world["snapshot"], order="stroke", public=True)
    pages = [_squash(p) for p in _pdf_pages(data)]
    kh = pages[1]
    assert "科幻画·小学组" in kh and "排名不分先后，按第一作者姓氏笔画排序" in kh
    positions = [kh.index(name) for name in ("丁一", "王芳", "李华", "张明", "欧阳雪")]
    assert positions == sorted(positions)
    text = "".join(pages)
    for word in PRIVATE_WORDS + ("最终得分", "名次", "90.00", "节水龙头"):
        assert word not in text, word
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert float(page.mediabox.width) < float(page.mediabox.height)  # portrait


def test_long_list_pdf_repeats_headers_and_wraps(db, results_world):
    """80 winners with long titles in one pool: several pages, each with the table header, the
    running head on continued pages, every title printed in full."""
    snapshot = results_world["snapshot"]
    base = results_world["entries"]["e1"]
    from judging.registration.models import Entry

    long_title = ("基于物联网与人工智能技术的校园垃圾分类智能回收装置的设计与制作研究" * 3)[:90]
    rows = db.session.query(EntryResultRow).filter_by(snapshot_id=snapshot.id).all()
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    for i in range(80):
        entry = Entry(edition_id=base.edition_id, category_id=base.category_id, division_id=base.division_id,
                      school_id=base.school_id, code=f"XFX-{100 + i}", sequence=100 + i,
                      title=f"{long_title}{i:02d}", status="approved")
        db.session.add(entry)
        db.session.flush()
        db.session.add(EntryResultRow(snapshot_id=snapshot.id, entry_id=entry.id, final=D(95) - D(i) / 10,
                                      rank=i + 1, level_position=1 + i // 30, quota_level=1 + i // 30,
                                      flags_json=json.dumps([])))
    db.session.commit()
    for public in (False, True):
        pages = [_squash(p) for p in _pdf_pages(exports.results_pdf(snapshot, public=public))]
        assert len(pages) >= 3
        for number, page in enumerate(pages, start=1):
            assert "作品编号" in page and "作品名称" in page, number  # the header repeats
            assert f"第{number}页共{len(pages)}页" in page
        assert all("小发明·小学组（续）" in page for page in pages[1:])
        text = "".join(pages)
        for i in range(80):
            assert f"{_squash(long_title)}{i:02d}" in text, i


def test_missing_glyph_is_named_not_boxed(db, results_world):
    entry = results_world["entries"]["e1"]
    entry.title = "作品\U0002A6A5"  # outside the font
    db.session.commit()
    with pytest.raises(fonts.FontCoverageError) as caught:
        exports.results_pdf(results_world["snapshot"])
    assert f"作品 {entry.code}" in caught.value.message


# --- school summary -----------------------------------------------------------------------------

def test_school_summary_xlsx_and_pdf(db, results_world):
    wb = _xlsx(exports.school_summary_xlsx(results_world["snapshot"]))
    rows = _trimmed(_sheet_rows(wb.worksheets[0]))
    assert rows[0] == [EDITION_TITLE] and rows[1] == ["终评各校获奖统计（草稿，未公布）"]
    header = rows[3]
    assert header == ["序号", "片区", "学校", "参评作品", "进入排名", "一等奖", "二等奖", "三等奖", "获奖合计",
                      "组织奖积分", "组织奖名次"]
    assert rows[4] == [1, "城关片区", "城关第一小学", 4, 3, 2, 0, 1, 3, 11, 2]
    assert rows[5] == [2, "河西片区", "河西小学", 7, 7, 4, 2, 0, 6, 26, 1]
    assert rows[6] == [3, None, "北山中学", 2, 2, 1, 0, 1, 2, 6]
    assert rows[7] == [None, None, "合计", 13, 12, 7, 2, 2, 11]
    text = _squash(_pdf_pages(exports.school_summary_pdf(results_world["snapshot"]))[0])
    for fragment in ("各校获奖统计", "城关片区", "城关第一小学", "河西小学", "北山中学", "组织奖积分", "合计",
                     "26", "第1页共1页"):
        assert fragment in text, fragment
    assert "26.00" not in text


def test_school_summary_without_org_award_has_no_org_columns(db, results_world):
    results_world["edition"].org_award_enabled = False
    db.session.commit()
    rows = _trimmed(_sheet_rows(_xlsx(exports.school_summary_xlsx(results_world["snapshot"])).worksheets[0]))
    assert rows[2][-1] == "获奖合计"


# --- the results workbook ---------------------------------------------------------------------

def test_results_workbook_matches_workbook_md(db, results_world):
    es = results_world["entries"]
    wb = _xlsx(exports.results_workbook(results_world["snapshot"]))
    assert wb.sheetnames == ["成绩", "辅导教师奖励"]
    rows = _sheet_rows(wb["成绩"])
    assert rows[0] == ["作品编号", "作品名称", "类别", "组别", "学校", "学生", "指导教师", "最终得分", "名次", "奖项"]
    body = {r[0]: r for r in rows[1:]}
    assert len(body) == 12  # every ranked entry: not e6 (too few judges) nor e7 (disqualified)
    assert body[es["e3"].code] == [es["e3"].code, "自动浇花器", "小发明", "小学组", "城关第一小学", "丁一、王小明",
                                   "周老师、吴老师、郑老师", 80.25, 3, "三等奖"]
    assert body[es["e2"].code][1] == "'=1+1"
    assert body[es["e5"].code][7:] == [70, 5, None]  # ranked, no prize: 奖项 blank
    assert body[es["k2"].code][7:] == [60, 2, "二等奖"]
    ws = wb["成绩"]
    assert ws.cell(row=2, column=8).number_format == "0.00" and ws.cell(row=2, column=9).number_format == "0"
    assert all(ws.cell(row=r, column=2).data_type == "s" for r in range(2, ws.max_row + 1))
    rewards = _sheet_rows(wb["辅导教师奖励"])
    assert rewards[0] == ["指导教师", "学校", "金额", "加分"]
    got = {(r[0], r[1]): (r[2], r[3]) for r in rewards[1:]}
    assert got[("周老师", "城关第一小学")] == (33.34, 0.34)
    assert got[("吴老师", "城关第一小学")] == got[("郑老师", "城关第一小学")] == (33.33, 0.33)
    assert got[("赵老师", "河西小学")] == (400, 4) and got[("李老师", "城关第一小学")] == (400, 4)
    assert len(rewards) == 1 + 8
    assert wb["辅导教师奖励"].cell(row=2, column=3).number_format == "0.00"


# --- routes ---------------------------------------------------------------------------------------

ORGANIZER_URLS = ("results.xlsx", "results.pdf", "results.xlsx?order=stroke", "results.pdf?order=stroke&public=1",
                  "schools.xlsx", "schools.pdf", "workbook.xlsx")


def test_organizer_downloads(db, results_world, org_client):
    snapshot_id = results_world["snapshot"].id
    for suffix in ORGANIZER_URLS:
        response = org_client.get(f"/admin/results/{snapshot_id}/{suffix}")
        assert response.status_code == 200, suffix
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment; filename=\"") and "filename*=UTF-8''" in disposition
        assert response.headers["Cache-Control"] == "private, no-store"
    response = org_client.get(f"/admin/results/{snapshot_id}/results.pdf?order=stroke")
    assert quote(f"{EDITION_TITLE}-终评-获奖名单（排名不分先后）.pdf", safe="") in response.headers["Content-Disposition"]
    assert response.data.startswith(b"%PDF")
    response = org_client.get(f"/admin/results/{snapshot_id}/results.xlsx?public=1")
    assert "最终得分" not in _all_text_xlsx(response.data)
    response = org_client.get(f"/admin/results/{snapshot_id}/workbook.xlsx")
    assert _xlsx(response.data).sheetnames == ["成绩", "辅导教师奖励"]
    assert org_client.get(f"/admin/results/{snapshot_id}/results.pdf?order=pinyin").status_code == 400
    assert org_client.get("/admin/results/999999/results.pdf").status_code == 404


@pytest.mark.parametrize("role", ["coordinator", "judge"])
def test_others_cannot_download_organizer_exports(db, results_world, client, make_user, role):
    user = make_user(role, school=results_world["schools"][0] if role == "coordinator" else None)
    assert login(client, user).status_code == 302
    for suffix in ORGANIZER_URLS:
        assert client.get(f"/admin/results/{results_world['snapshot'].id}/{suffix}").status_code == 403, suffix


def test_anonymous_is_sent_to_login_for_organizer_exports(db, results_world, client):
    response = client.get(f"/admin/results/{results_world['snapshot'].id}/results.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def _roles(client_factory, make_user, school):
    yield "anonymous", client_factory()
    for role in ("organizer", "coordinator", "judge"):
        client = client_factory()
        assert login(client, make_user(role, school=school if role == "coordinator" else None)).status_code == 302
        yield role, client


def test_public_lists_only_when_public(db, app, results_world, make_user):
    snapshot = results_world["snapshot"]
    urls = [f"/results/{snapshot.id}/list.pdf", f"/results/{snapshot.id}/list.xlsx",
            f"/results/{snapshot.id}/list.pdf?order=stroke"]
    clients = list(_roles(app.test_client, make_user, results_world["schools"][0]))
    for role, client in clients:  # draft: it does not exist for anybody
        for url in urls:
            assert client.get(url).status_code == 404, (role, url)
    snapshot.status = "notice"
    snapshot.notice_starts, snapshot.notice_ends = date(2026, 12, 1), date(2026, 12, 7)
    snapshot.objection_contact = "组委会办公室 0571-12345678"
    db.session.commit()
    for role, client in clients:
        for url in urls:
            assert client.get(url).status_code == 200, (role, url)
    anonymous = clients[0][1]
    pdf = "".join(_squash(p) for p in _pdf_pages(anonymous.get(urls[0]).data))
    assert "终评获奖名单（公示）" in pdf and "公示期：2026-12-01至2026-12-07" in pdf
    assert "智能垃圾桶" in pdf and "节水龙头" not in pdf
    for word in PRIVATE_WORDS + ("最终得分", "90.00"):
        assert word not in pdf, word
    text = _all_text_xlsx(anonymous.get(urls[1]).data)
    assert "海底家园（卡通画）" in text and "最终得分" not in text
    for word in PRIVATE_WORDS:
        assert word not in text, word
    assert anonymous.get(f"/results/{snapshot.id}/list.pdf?order=x").status_code == 400
    snapshot.status = "superseded"
    db.session.commit()
    for role, client in clients:
        assert client.get(urls[0]).status_code == 404, role
    assert anonymous.get("/results/999999/list.pdf").status_code == 404


def test_font_problem_is_a_chinese_page(db, results_world, org_client):
    results_world["entries"]["e1"].title = "作品\U0002A6A5"
    db.session.commit()
    response = org_client.get(f"/admin/results/{results_world['snapshot'].id}/results.pdf")
    assert response.status_code == 422
    assert "字体缺字" in response.get_data(as_text=True)
