"""Certificates from the database (judging/printing/operations.py, batches.py, views.py): numbers
issued from the final results by the pattern and kept for good, revocation after a correction,
batches as one PDF (streamed or in the background with progress) or a zip per school, the
glyph check before printing, the seal and border images, and who may do what.

The contest is built through the real path: entries registered and approved, scored by three
judges in the 终评, computed, locked, published for 公示 and finalized. PDFs are read back with pypdf.
"""
from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from judging.contests.models import PoolRule, Quota
from judging.core import fonts
from judging.core.models import AuditEvent
from judging.printing import batches
from judging.printing import operations as ops
from judging.printing.models import Certificate, PrintJob
from judging.printing.source import PrintingError
from judging.registration.operations import review_entry
from judging.registration.rules import StudentInput
from judging.results import operations as results_ops
from judging.results import publication as pub
from judging.scoring.models import Assignment, Panel, PanelJudge
from judging.scoring.operations import Submission, set_round_lock, submit_score
from tests.conftest import login

RARE = "彧喆玥犇淼䶮"
ISSUER = "测试县教育局　测试县科学技术协会"
TITLE = "第十三届测试县青少年科技创新大赛"
DATE_TEXT = "二〇二六年十一月"

# entry: (school, category, students, instructors, three judges' totals)
ENTRIES = {
    "e1": ("城关第一小学", "XF", ["王彧", "欧阳玥", "孙犇"], ["张老师"], ("90.1", "90.2", "90.4")),
    "e2": ("河西小学", "XF", ["李䶮"], ["赵喆"], ("85.1", "85.2", "85.4")),
    "e3": ("城关第一小学", "XF", ["刘淼"], ["钱老师"], ("80.1", "80.2", "80.4")),
    "e4": ("河西小学", "XF", ["孙二"], [], ("70.1", "70.2", "70.4")),
    "k1": ("城关第一小学", "KH", ["周喆"], ["吴玥"], ("88.1", "88.2", "88.4")),
}
TITLES = {"e1": "智能垃圾分类桶", "e2": "节水灌溉系统", "e3": "防近视台灯", "e4": "雨伞烘干架", "k1": "太空农场"}

# What the final results earn, in print order, with the numbers the default pattern gives them.
STUDENT_NUMBERS = {
    "王彧": "2026KC-XFX-1-0001", "欧阳玥": "2026KC-XFX-1-0002", "孙犇": "2026KC-XFX-1-0003",
    "李䶮": "2026KC-XFX-2-0001", "刘淼": "2026KC-XFX-3-0001", "周喆": "2026KC-KHX-1-0001",
}
INSTRUCTOR_NUMBERS = {"张老师": "2026KC-ZDX-1-0001", "赵喆": "2026KC-ZDX-2-0001", "吴玥": "2026KC-ZDX-1-0002"}
SCHOOL_NUMBERS = {"城关第一小学": "2026KC-ZZ-1-0001"}


def _score(judge, rnd, entry, total):
    c1, c2 = entry.category.criteria
    second = c2.max_points - 2
    code, body = submit_score(judge, Submission(idempotency_key=uuid.uuid4().hex, round_id=rnd.id, entry_id=entry.id,
                                                values={c1.id: str(Decimal(total) - second), c2.id: str(second)},
                                                status="submitted", base_version=0))
    assert code in (200, 201), body


@pytest.fixture
def contest(db, edition, organizer, make_user, make_school, make_entry):
    """Entries scored in the 终评, not yet computed. Quotas 1/1/1 per pool; 优秀组织奖 with points
    5/3/1 for schools with at least 2 entries, one place; 三等奖 earns no 优秀指导教师."""
    final = next(r for r in edition.rounds if r.kind == "final")
    levels = {lv.position: lv for lv in edition.prize_levels}
    for level, points in zip(edition.prize_levels, (5, 3, 1)):
        level.org_points = points
    levels[3].instructor_certificate = False
    edition.org_award_enabled = True
    edition.org_award_min_entries = 2
    edition.max_entries_per_class = None
    cs = edition.certificate_settings
    cs.issuer = ISSUER
    cs.issue_date = date(2026, 11, 25)
    cs.org_award_count = 1
    categories = {c.code: c for c in edition.categories}
    primary = edition.divisions[0]
    for category in categories.values():
        rule = PoolRule(edition=edition, category_id=category.id, division_id=primary.id, quota_mode="count")
        rule.quotas = [Quota(prize_level=levels[p], value=Decimal(1)) for p in (1, 2, 3)]
        db.session.add(rule)
    schools = {name: make_school(name) for name in ("城关第一小学", "河西小学")}
    judges = [make_user("judge", username=f"cj{i}") for i in range(1, 4)]
    panels = {}
    for code, category in categories.items():
        panel = panels[code] = Panel(edition_id=edition.id, round_id=final.id, category_id=category.id,
                                     division_id=primary.id)
        db.session.add(panel)
        db.session.flush()
        for judge in judges:
            db.session.add(PanelJudge(panel_id=panel.id, judge_id=judge.id))
    db.session.commit()
    entries = {}
    for i, (key, (school, code, students, instructors, totals)) in enumerate(ENTRIES.items()):
        category = categories[code]
        entry = make_entry(schools[school], title=TITLES[key], category=category, division=primary,
                           students=[StudentInput(n, "男", "五年级", f"{i + 1}班") for n in students],
                           instructors=instructors, **({"subform": "卡通画"} if code == "KH" else {}))
        review_entry(entry, "approve", None, organizer)
        db.session.commit()
        for judge, total in zip(judges, totals):
            db.session.add(Assignment(round_id=final.id, panel_id=panels[code].id, entry_id=entry.id,
                                      judge_id=judge.id))
            db.session.flush()
            _score(judge, final, entry, total)
        db.session.commit()
        entries[key] = entry
    return {"edition": edition, "final": final, "entries": entries, "schools": schools, "organizer": organizer,
            "judges": judges}


def publish_final(db, c, reason=None):
    """Compute the 终评, lock it, publish for 公示 and finalize after the notice period."""
    rnd, user = c["final"], c["organizer"]
    snapshot = results_ops.compute_results(c["edition"], rnd, user, reason=reason)
    db.session.commit()
    if not rnd.locked:
        set_round_lock(rnd, True, "评分结束", user)
        db.session.commit()
    pub.publish(snapshot, pub.NoticeForm(date.today(), None, "县科协 0000-1234567"), user)
    db.session.commit()
    pub.finalize(snapshot, user, today=snapshot.notice_ends + timedelta(days=1))
    db.session.commit()
    return snapshot


@pytest.fixture
def final_world(db, contest):
    contest["snapshot"] = publish_final(db, contest)
    return contest


def issue(db, c):
    report = ops.issue_certificates(c["edition"], c["organizer"])
    db.session.commit()
    return report


def numbers(db, edition, kind=None, active=True) -> dict[str, str]:
    stmt = select(Certificate.holder_name, Certificate.number).where(Certificate.edition_id == edition.id)
    if kind:
        stmt = stmt.where(Certificate.kind == kind)
    if active:
        stmt = stmt.where(Certificate.revoked_at.is_(None))
    return dict(db.session.execute(stmt.order_by(Certificate.id)).all())


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def squash(text: str) -> str:
    return "".join(line.strip() for line in text.splitlines())


def print_kind(db, c, kind="student", **selection) -> bytes:
    out = io.BytesIO()
    count = batches.write_pdf(c["edition"], batches.Selection(kind, **selection), out, "http://localhost/")
    assert count == len(PdfReader(io.BytesIO(out.getvalue())).pages)
    return out.getvalue()


# --- Before the results are final -------------------------------------------------------------------

def test_nothing_is_issued_or_printed_before_the_results_are_final(db, contest, org_client):
    edition = contest["edition"]
    with pytest.raises(PrintingError, match="尚未确定为最终结果"):
        ops.issue_certificates(edition, contest["organizer"])
    # Computed and in 公示: still not final.
    snapshot = results_ops.compute_results(edition, contest["final"], contest["organizer"])
    set_round_lock(contest["final"], True, "评分结束", contest["organizer"])
    pub.publish(snapshot, pub.NoticeForm(date.today(), None, "县科协"), contest["organizer"])
    db.session.commit()
    with pytest.raises(PrintingError, match="尚未确定为最终结果"):
        ops.issue_certificates(edition, contest["organizer"])
    with pytest.raises(PrintingError, match="尚未确定为最终结果"):
        batches.write_pdf(edition, batches.Selection("student"), io.BytesIO(), None)
    page = org_client.get(f"/admin/editions/{edition.id}/certificates/printing").get_data(as_text=True)
    assert "本届成绩尚未确定为最终结果" in page and "print-form" not in page
    response = org_client.post(f"/admin/editions/{edition.id}/certificates/print",
                               data={"kind": "student", "school": "", "category": "", "output": "direct"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    assert "尚未确定为最终结果" in org_client.get(response.headers["Location"]).get_data(as_text=True)
    # A specimen can be printed at any time, to check texts and images.
    sample = org_client.get(f"/admin/editions/{edition.id}/certificates/sample.pdf")
    assert sample.status_code == 200 and sample.mimetype == "application/pdf"
    texts = [squash(t) for t in pdf_pages(sample.data)]
    assert len(texts) == 3 and "王彧同学：" in texts[0] and "张玥老师：" in texts[1] and "示例实验小学：" in texts[2]


# --- Issuing: numbers by the pattern, stable ----------------------------------------------------------

def test_issue_numbers_every_earned_certificate_by_the_pattern(db, final_world):
    edition = final_world["edition"]
    report = issue(db, final_world)
    assert report.kept == 0 and report.revoked == []
    assert numbers(db, edition, "student") == STUDENT_NUMBERS
    # 三等奖 earns no 优秀指导教师 (the prize level's setting): 钱老师 gets none; e4 has no prize.
    assert numbers(db, edition, "instructor") == INSTRUCTOR_NUMBERS
    # 优秀组织奖: 城关第一小学 5+1+5 = 11 points, 河西小学 3; one place.
    assert numbers(db, edition, "school") == SCHOOL_NUMBERS
    assert report.created == [*STUDENT_NUMBERS.values(), *INSTRUCTOR_NUMBERS.values(), *SCHOOL_NUMBERS.values()]
    cert = db.session.scalar(select(Certificate).where(Certificate.number == "2026KC-XFX-1-0002"))
    assert (cert.kind, cert.holder_name, cert.level_position, cert.snapshot_id) == (
        "student", "欧阳玥", 1, final_world["snapshot"].id)
    assert (cert.number_group, cert.sequence) == ("2026KC-XFX-1-{序号}", 2)
    assert cert.entry_id == final_world["entries"]["e1"].id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificates_issued"))
    assert event.edition_id == edition.id and json.loads(event.after)["created"] == 10


def test_issuing_and_printing_again_keep_every_number(db, final_world):
    edition = final_world["edition"]
    issue(db, final_world)
    first = numbers(db, edition, active=False)
    pages_first = [squash(t) for t in pdf_pages(print_kind(db, final_world))]
    again = issue(db, final_world)
    assert (again.created, again.revoked, again.kept) == ([], [], 10)
    assert not again.changed
    assert numbers(db, edition, active=False) == first
    pages_again = [squash(t) for t in pdf_pages(print_kind(db, final_world))]
    assert pages_again == pages_first
    for name, number in STUDENT_NUMBERS.items():
        assert sum(f"证书编号：{number}" in page for page in pages_first) == 1, name
    # Only one audit event: the second issue changed nothing.
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "certificates_issued")) == 1


def test_a_custom_pattern_counts_within_its_prefix_and_never_repeats_a_number(db, final_world):
    edition = final_world["edition"]
    edition.certificate_settings.number_pattern = "{大赛代码}{年}-{序号:03d}"
    db.session.commit()
    issue(db, final_world)
    assert sorted(numbers(db, edition).values()) == [f"KC2026-{n:03d}" for n in range(1, 11)]
    # A pattern without 序号 would give a whole group one number: refused, nothing issued.
    edition.certificate_settings.number_pattern = "{年}{大赛代码}-{类别代码}"
    entry = final_world["entries"]["e1"]
    entry.students[0].name = "王彧明"  # one new certificate to number
    db.session.commit()
    with pytest.raises(PrintingError, match="序号"):
        ops.issue_certificates(edition, final_world["organizer"])


def test_one_certificate_per_team_is_a_setting(db, final_world):
    edition = final_world["edition"]
    issue(db, final_world)
    edition.certificate_settings.one_per_member = False
    db.session.commit()
    report = issue(db, final_world)
    team = db.session.scalar(select(Certificate).where(Certificate.holder_name == "王彧、欧阳玥、孙犇",
                                                       Certificate.revoked_at.is_(None)))
    assert team.number == "2026KC-XFX-1-0004"  # 0001-0003 stay with the revoked member certificates
    revoked = {n: r for n, r in report.revoked}
    # Only the team's certificates change: a student alone on his work keeps his.
    assert revoked == dict.fromkeys(("2026KC-XFX-1-0001", "2026KC-XFX-1-0002", "2026KC-XFX-1-0003"),
                                    "证书设置改为集体作品每件一张")
    assert report.kept == 3 + 3 + 1
    pages = [squash(t) for t in pdf_pages(print_kind(db, final_world))]
    assert len(pages) == 4
    assert "王彧、欧阳玥、孙犇同学：你的作品《智能垃圾分类桶》" in pages[0]


# --- A correction of the final results -----------------------------------------------------------------

def correct(db, c, overrides: dict[str, int | None]):
    for key, level in overrides.items():
        results_ops.set_override(c["final"], c["entries"][key], level, "异议成立，组委会复核", c["organizer"])
    db.session.commit()
    return publish_final(db, c, reason="异议成立，更正奖项")


def test_a_correction_revokes_vanished_prizes_and_reissues_changed_ones(db, final_world, org_client):
    edition = final_world["edition"]
    issue(db, final_world)
    before = numbers(db, edition)
    # 节水灌溉系统 loses its 二等奖; 防近视台灯 moves from 三等奖 up to 二等奖.
    correct(db, final_world, {"e2": None, "e3": 2})
    report = issue(db, final_world)
    revoked = dict(report.revoked)
    assert revoked["2026KC-XFX-2-0001"] == "更正后该作品未获奖"  # 李䶮
    assert revoked["2026KC-ZDX-2-0001"] == "更正后该作品未获奖"  # 赵喆, his entry's instructor
    assert revoked["2026KC-XFX-3-0001"] == "更正后奖项由三等奖改为二等奖，已换发新证书 2026KC-XFX-2-0002"
    after = numbers(db, edition)
    assert after["刘淼"] == "2026KC-XFX-2-0002"
    assert after["钱老师"] == "2026KC-ZDX-2-0002"  # 二等奖 earns 优秀指导教师, 三等奖 did not
    assert "李䶮" not in after and "赵喆" not in after
    for name in ("王彧", "欧阳玥", "孙犇", "周喆", "张老师", "吴玥", "城关第一小学"):
        assert after[name] == before[name], name
    old = db.session.scalar(select(Certificate).where(Certificate.number == "2026KC-XFX-2-0001"))
    assert old.revoked_at is not None and old.revoked_by_id == final_world["organizer"].id
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "certificate_revoked")) == 3
    # The batch leaves revoked certificates out; printed by number, one is marked 已撤销.
    pages = [squash(t) for t in pdf_pages(print_kind(db, final_world))]
    assert not any("李䶮" in p for p in pages)
    assert any("刘淼同学：" in p and "荣获二等奖" in p and "2026KC-XFX-2-0002" in p for p in pages)
    response = org_client.get(f"/admin/editions/{edition.id}/certificates/certificate.pdf",
                              query_string={"number": "2026KC-XFX-2-0001"})
    assert response.status_code == 200
    page = squash(pdf_pages(response.data)[0])
    assert "已撤销" in page and "李䶮同学：" in page
    listing = org_client.get(f"/admin/editions/{edition.id}/certificates/printing").get_data(as_text=True)
    assert "已撤销的证书" in listing and "2026KC-XFX-2-0001" in listing and "更正后该作品未获奖" in listing


def test_the_page_shows_what_issuing_would_change_before_it_is_done(db, final_world, org_client):
    edition = final_world["edition"]
    issue(db, final_world)
    correct(db, final_world, {"e2": None})
    page = org_client.get(f"/admin/editions/{edition.id}/certificates/printing").get_data(as_text=True)
    assert "新增0张、撤销2张" in page and "更正后该作品未获奖" in page
    assert db.session.scalar(select(func.count()).select_from(Certificate)
                             .where(Certificate.revoked_at.is_not(None))) == 0  # a dry run
    response = org_client.post(f"/admin/editions/{edition.id}/certificates/issue")
    assert response.status_code == 302
    assert "撤销2张" in org_client.get(response.headers["Location"]).get_data(as_text=True)


# --- The PDFs: exact texts, fonts, rare characters ------------------------------------------------

def test_student_certificates_read_back_with_the_exact_texts(db, final_world):
    issue(db, final_world)
    pages = [squash(t) for t in pdf_pages(print_kind(db, final_world))]
    assert len(pages) == 6
    first = pages[0]
    assert "荣誉证书" in first.replace(" ", "")
    assert ("王彧同学：你的作品《智能垃圾分类桶》在第十三届测试县青少年科技创新大赛小发明（小学组）中荣获一等奖。"
            "特发此证，以资鼓励。") in first
    assert "证书编号：2026KC-XFX-1-0001" in first
    assert "测试县教育局" in first and "测试县科学技术协会" in first and DATE_TEXT in first
    # Print order: pool, prize, entry, the team's listed order.
    order = [next(name for name in STUDENT_NUMBERS if f"{name}同学：" in page) for page in pages]
    assert order == list(STUDENT_NUMBERS)
    for name, number in STUDENT_NUMBERS.items():
        assert f"{name}同学：" in pages[order.index(name)] and number in pages[order.index(name)]
    assert "周喆同学：你的作品《太空农场》在第十三届测试县青少年科技创新大赛科幻画（小学组）中荣获一等奖。" in pages[5]
    # Every rare name character prints as itself.
    assert set(RARE) <= set("".join(pages))


def test_instructor_and_school_certificates(db, final_world):
    issue(db, final_world)
    pages = [squash(t) for t in pdf_pages(print_kind(db, final_world, "instructor"))]
    assert len(pages) == 3
    assert ("张老师老师：你指导的王彧、欧阳玥、孙犇同学的作品《智能垃圾分类桶》在第十三届测试县青少年科技创新大赛"
            "小发明（小学组）中荣获一等奖，特授予“优秀指导教师”称号。") in pages[0]
    assert "证书编号：2026KC-ZDX-1-0001" in pages[0]
    assert "赵喆老师：你指导的李䶮同学的作品《节水灌溉系统》" in pages[1] and "荣获二等奖" in pages[1]
    assert "吴玥老师：你指导的周喆同学的作品《太空农场》" in pages[2]
    school = [squash(t) for t in pdf_pages(print_kind(db, final_world, "school"))]
    assert len(school) == 1
    assert ("城关第一小学：在第十三届测试县青少年科技创新大赛中组织得力、成绩突出，荣获“优秀组织奖”。"
            "特发此证，以资鼓励。") in school[0]
    assert "证书编号：2026KC-ZZ-1-0001" in school[0] and DATE_TEXT in school[0]


def test_the_font_is_embedded_and_the_qr_code_links_to_the_verification_page(db, final_world, app):
    issue(db, final_world)
    data = print_kind(db, final_world)
    reader = PdfReader(io.BytesIO(data))
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            assert "/FontFile2" in descendant["/FontDescriptor"].get_object()
    printer = batches.Printer(final_world["edition"], "https://kc.example.edu.cn/")
    row = batches.load_rows(final_world["edition"], batches.Selection("student"))[0]
    item = printer.data(row)
    assert item.verify_url.startswith("https://kc.example.edu.cn/verify/")
    token = item.verify_url.rsplit("/", 1)[1]
    assert ops.certificate_from_token(token).number == "2026KC-XFX-1-0001"
    assert item.verify_url == printer.data(row).verify_url  # the same QR code every time


@pytest.fixture
def font_without_yan(db, final_world, tmp_path):
    """A TrueType subset of the packaged font with every character these certificates print but 䶮."""
    from fontTools import subset

    from judging.printing.certificates import FIXED_TEXTS

    issue(db, final_world)
    printer = batches.Printer(final_world["edition"], "http://localhost/")
    text = "".join(FIXED_TEXTS)
    for kind in ("student", "instructor", "school"):
        for item in printer.items(batches.load_rows(final_world["edition"], batches.Selection(kind))):
            text += "".join(item.texts())
    unicodes = {ord(ch) for ch in text} | set(range(0x20, 0x7F))
    unicodes.discard(ord("䶮"))
    packaged = fonts.ensure_fonts(font_path="")
    options = subset.Options()
    options.layout_features = []
    font = subset.load_font(str(packaged.regular_file), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    path = tmp_path / "NoYan.ttf"
    font.save(str(path))
    yield path
    fonts.ensure_fonts(font_path="")  # later tests print with the packaged font again


def test_a_character_the_font_lacks_is_named_and_nothing_is_printed(db, final_world, font_without_yan, app,
                                                                    org_client, tmp_path):
    app.config["FONT_PATH"] = str(font_without_yan)
    target = tmp_path / "out.pdf"
    with pytest.raises(PrintingError) as caught:
        batches.write_pdf(final_world["edition"], batches.Selection("student"), target, None)
    message = str(caught.value)
    assert "证书 2026KC-XFX-2-0001（李䶮）：「䶮」(U+4DAE)" in message and "未生成" in message
    assert not target.exists() and list(tmp_path.glob("*.tmp")) == []
    # The same through the page: a message naming the holder, no PDF.
    response = org_client.post(f"/admin/editions/{final_world['edition'].id}/certificates/print",
                               data={"kind": "student", "school": "", "category": "", "output": "direct"})
    assert response.status_code == 302 and response.mimetype != "application/pdf"
    assert "李䶮" in org_client.get(response.headers["Location"]).get_data(as_text=True)
    response = org_client.post(f"/admin/editions/{final_world['edition'].id}/certificates/print",
                               data={"kind": "student", "school": "", "category": "", "output": "job"})
    assert response.status_code == 302 and db.session.scalar(select(func.count()).select_from(PrintJob)) == 0
    # A batch without that name prints with this font.
    other = final_world["schools"]["城关第一小学"].id
    assert len(pdf_pages(print_kind(db, final_world, school_id=other))) == 5


# --- Batches through the pages ----------------------------------------------------------------------

def test_a_school_batch_streams_to_the_browser(db, final_world, org_client):
    edition = final_world["edition"]
    school = final_world["schools"]["河西小学"]
    response = org_client.post(f"/admin/editions/{edition.id}/certificates/print",
                               data={"kind": "student", "school": str(school.id), "category": "", "output": "direct"},
                               buffered=False)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.is_streamed
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    data = b"".join(response.response)
    pages = [squash(t) for t in pdf_pages(data)]
    assert len(pages) == 1 and "李䶮同学：" in pages[0]  # issued on the way, then printed
    assert numbers(db, edition, "student")["李䶮"] == "2026KC-XFX-2-0001"
    category = next(c for c in edition.categories if c.code == "KH")
    response = org_client.post(f"/admin/editions/{edition.id}/certificates/print",
                               data={"kind": "student", "school": "", "category": str(category.id),
                                     "output": "direct"})
    assert len(pdf_pages(response.data)) == 1
    assert "周喆同学：" in squash(pdf_pages(response.data)[0])


def test_a_large_batch_is_sent_to_the_background(db, final_world, org_client, monkeypatch):
    monkeypatch.setattr(batches, "DIRECT_LIMIT", 5)
    response = org_client.post(f"/admin/editions/{final_world['edition'].id}/certificates/print",
                               data={"kind": "student", "school": "", "category": "", "output": "direct"})
    assert response.status_code == 302
    assert "这一批有6张证书，超过直接下载的5张" in org_client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_background_job_reports_progress_then_offers_the_file(db, final_world, org_client):
    edition = final_world["edition"]
    response = org_client.post(f"/admin/editions/{edition.id}/certificates/print",
                               data={"kind": "student", "school": "", "category": "", "output": "job"})
    assert response.status_code == 302 and "/certificates/job?id=" in response.headers["Location"]
    job = db.session.scalar(select(PrintJob))
    job_id = job.id
    db.session.commit()  # end the test's transaction: on SQLite it would hold the job's write lock
    batches.wait_for_job(job_id)
    db.session.expire_all()  # the job's thread wrote through its own session
    page = org_client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="job-progress"' in page and "print_progress.js" in page and "<script>" not in page
    status = org_client.get(f"/admin/editions/{edition.id}/certificates/job/status", query_string={"id": job.token})
    state = status.get_json()
    assert state["status"] == "done" and state["done"] == state["total"] == 6 and state["available"]
    download = org_client.get(state["download"])
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    pages = [squash(t) for t in pdf_pages(download.data)]
    assert len(pages) == 6 and "王彧同学：" in pages[0]
    # Another edition's id or an unknown job: nothing.
    assert org_client.get(f"/admin/editions/{edition.id}/certificates/job/status",
                          query_string={"id": "x" * 32}).status_code == 404
    assert org_client.get(f"/admin/editions/{edition.id}/certificates/job").status_code == 404


def test_a_zip_holds_one_pdf_per_school(db, final_world, org_client):
    edition = final_world["edition"]
    response = org_client.post(f"/admin/editions/{edition.id}/certificates/print",
                               data={"kind": "student", "school": "", "category": "", "output": "zip"})
    job = db.session.scalar(select(PrintJob))
    job_id = job.id
    db.session.commit()  # end the test's transaction: on SQLite it would hold the job's write lock
    batches.wait_for_job(job_id)
    db.session.expire_all()  # the job's thread wrote through its own session
    db.session.refresh(job)
    assert job.status == "done", job.message
    download = org_client.get(f"/admin/editions/{edition.id}/certificates/job/download", query_string={"id": job.token})
    assert download.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    assert sorted(archive.namelist()) == ["城关第一小学-学生获奖证书.pdf", "河西小学-学生获奖证书.pdf"]
    city = [squash(t) for t in pdf_pages(archive.read("城关第一小学-学生获奖证书.pdf"))]
    west = [squash(t) for t in pdf_pages(archive.read("河西小学-学生获奖证书.pdf"))]
    assert len(city) == 5 and len(west) == 1 and "李䶮同学：" in west[0]
    assert response.status_code == 302


def test_a_failing_job_says_why(db, final_world, app):
    issue(db, final_world)
    edition = final_world["edition"]
    job = batches.start_job(edition, batches.Selection("student"), "pdf", final_world["organizer"], None)
    job_id = job.id
    db.session.commit()
    batches.wait_for_job(job_id)
    db.session.expire_all()
    assert job.status == "done"
    # A job that cannot finish says why: here the seal image's file went missing.
    edition.certificate_settings.seal_image = "e1-seal-0123456789abcdef.png"
    failing = PrintJob(token="t" * 32, edition_id=edition.id, kind="student", output="pdf", title="学生获奖证书",
                       filename="x.pdf", status="running", total=6)
    db.session.add(failing)
    db.session.flush()
    failing_id = failing.id
    db.session.commit()  # and no transaction of this session stays open while the job runs
    batches.run_job(app, failing_id)
    db.session.expire_all()
    state = batches.job_state(db.session.get(PrintJob, failing_id))
    assert state["status"] == "failed" and state["message"] == "印章图片文件已丢失，请在证书设置中重新上传或删除它。"
    assert not state["available"]
    # A job whose worker died long ago is reported as interrupted.
    job.status, job.updated_at = "running", job.updated_at - timedelta(hours=1)
    db.session.commit()
    state = batches.job_state(job)
    assert state["status"] == "failed" and "中断" in state["message"]


def test_the_register_lists_every_certificate(db, final_world, org_client):
    from openpyxl import load_workbook

    issue(db, final_world)
    correct(db, final_world, {"e2": None})
    issue(db, final_world)
    response = org_client.get(f"/admin/editions/{final_world['edition'].id}/certificates/register.xlsx")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data), read_only=True).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0][:4] == ["证书编号", "证书", "获奖者", "学校"]
    by_number = {r[0]: r for r in rows[1:]}
    assert len(by_number) == 10
    assert by_number["2026KC-XFX-1-0001"][2:10] == ["王彧", "城关第一小学", final_world["entries"]["e1"].code,
                                                    "智能垃圾分类桶", "小发明", "小学组", "一等奖",
                                                    by_number["2026KC-XFX-1-0001"][9]]
    assert by_number["2026KC-XFX-2-0001"][10] == "已撤销" and by_number["2026KC-XFX-2-0001"][12] == "更正后该作品未获奖"
    assert by_number["2026KC-ZZ-1-0001"][8] == "优秀组织奖"


# --- Seal and border images ------------------------------------------------------------------------------

def _png(mode="RGBA", size=(60, 60)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size, (200, 30, 30, 180) if mode == "RGBA" else (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 85), (250, 240, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_seal_and_border_images_are_checked_stored_and_printed(db, final_world, org_client, app):
    edition = final_world["edition"]
    url = f"/admin/editions/{edition.id}/certificates/images"
    settings_url = f"/admin/editions/{edition.id}/certificates"
    page = org_client.get(settings_url).get_data(as_text=True)  # the certificate settings page
    assert f'action="{url}"' in page and 'enctype="multipart/form-data"' in page
    # A seal without a transparent background would hide the issuer: refused. So is a text file.
    response = org_client.post(url, data={"seal_image": (io.BytesIO(_jpeg()), "seal.jpg")},
                               content_type="multipart/form-data")
    assert response.status_code == 302
    assert "背景透明的 PNG" in org_client.get(response.headers["Location"]).get_data(as_text=True)
    response = org_client.post(url, data={"border_image": (io.BytesIO(b"not an image"), "border.png")},
                               content_type="multipart/form-data")
    assert "不是 PNG 或 JPG 图片" in org_client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.refresh(edition.certificate_settings)
    assert edition.certificate_settings.seal_image is None and edition.certificate_settings.border_image is None
    # Both good: stored under UPLOAD_DIR with our names, shown on the settings page, printed.
    response = org_client.post(url, data={"seal_image": (io.BytesIO(_png()), "公章.png"),
                                          "border_image": (io.BytesIO(_jpeg()), "边框.jpg")},
                               content_type="multipart/form-data")
    assert "已上传印章图片；已上传证书边框图片。" in org_client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.refresh(edition.certificate_settings)
    seal = edition.certificate_settings.seal_image
    assert seal.endswith(".png") and ops.image_path(seal).read_bytes() == _png()
    assert org_client.get(f"{settings_url}/image", query_string={"which": "seal"}).data == _png()
    issue(db, final_world)
    reader = PdfReader(io.BytesIO(print_kind(db, final_world, "school")))
    images = [x for x in reader.pages[0]["/Resources"]["/XObject"].values()
              if x.get_object()["/Subtype"] == "/Image"]
    assert len(images) == 2  # the border and the seal
    # Removing the seal deletes its file.
    path = ops.image_path(seal)
    org_client.post(url, data={"remove_seal_image": "y"}, content_type="multipart/form-data")
    db.session.refresh(edition.certificate_settings)
    assert edition.certificate_settings.seal_image is None and not path.exists()
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("certificate_image_saved") == 2 and "certificate_image_removed" in actions


# --- Settings: number pattern and 优秀组织奖 places ------------------------------------------------------

def test_settings_refuse_a_number_pattern_without_sequence_and_keep_the_org_award_places(db, edition, org_client):
    url = f"/admin/editions/{edition.id}/certificates"
    data = {"issuer": "测试县教育局", "issue_date": "2026-11-25", "student_text": "{姓名}同学：{等级}",
            "instructor_text": "{姓名}老师", "school_text": "{学校}", "one_per_member": "y", "org_award_count": "3"}
    page = org_client.post(url, data={**data, "number_pattern": "{年}{大赛代码}-{类别代码}"}).get_data(as_text=True)
    assert "编号格式必须包含 {序号}" in page
    page = org_client.post(url, data={**data, "number_pattern": "{年}{证书}-{序号}"}).get_data(as_text=True)
    assert "未知的占位符：{证书}" in page
    response = org_client.post(url, data={**data, "number_pattern": "{年}-{序号:05d}"})
    assert response.status_code == 302
    db.session.refresh(edition.certificate_settings)
    assert edition.certificate_settings.org_award_count == 3
    assert edition.certificate_settings.number_pattern == "{年}-{序号:05d}"


# --- Who may do what -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["coordinator", "judge"])
def test_coordinators_and_judges_cannot_issue_or_print(db, final_world, client, make_user, role):
    edition = final_world["edition"]
    user = make_user(role, school=final_world["schools"]["城关第一小学"] if role == "coordinator" else None)
    assert login(client, user).status_code == 302
    base = f"/admin/editions/{edition.id}/certificates"
    for url in (f"{base}/printing", f"{base}/sample.pdf", f"{base}/register.xlsx", f"{base}/certificate.pdf?number=2026KC-XFX-1-0001"):
        assert client.get(url).status_code == 403, url
    for url in (f"{base}/issue", f"{base}/print", f"{base}/images"):
        assert client.post(url, data={"kind": "student", "output": "direct"}).status_code == 403, url
    assert client.get(f"{base}/job/status?id=x").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_anonymous_users_are_sent_to_the_login_page(db, final_world, client):
    response = client.get(f"/admin/editions/{final_world['edition'].id}/certificates/printing")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get(f"/admin/editions/{final_world['edition'].id}/certificates/job/status?id=x").status_code == 401
