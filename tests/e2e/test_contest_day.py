"""The whole contest day in a real browser, driven through the pages as its people use them:

1. the organizer sets up an edition (a category with a three-criterion rubric, a division, 初评 switched
   off so 终评 decides, quotas 一等1 二等1 三等1), two schools, two coordinators and three judges;
2. coordinator A registers an entry by the form (a student named 王彧), coordinator B downloads the Excel
   template, fills two entries in with openpyxl, previews and confirms;
3. the organizer approves the entries, builds the 终评 panel and assigns the entries;
4. the judges score on tablets (iPad profile, 1024x768, touch); the third loses the Wi-Fi after his first
   entry, his two saves wait in the outbox (待发送) and go out by themselves when he is back online; the
   progress board shows every score arrived exactly once;
5. the organizer locks the round, computes, publishes for 公示 (a notice period already over) and finalizes;
6. the organizer issues and prints the certificates; the PDF names 王彧 and carries the number;
7. a member of the public (no login) opens the certificate's QR link and sees it verified, name masked.

Only the organizer's own account is seeded: everything the issue lists happens through the pages.
Screenshots of every step: tests/e2e/artifacts/test_contest_day/NN-step.png (kept by CI as artifacts).
"""
from __future__ import annotations

import re
import shutil
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import find_chromium, go_offline, go_online, where_chromium_was_looked_for

if find_chromium() is None:
    pytest.skip(f"Chromium not found at {where_chromium_was_looked_for()} — browser tests skipped "
                "(apt-get install chromium, or set CHROMIUM_PATH)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="playwright not installed — browser tests skipped")

from playwright.sync_api import expect  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from tests.conftest import PASSWORD  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
NEW_PASSWORD = "Contest2026day"
PHONE = {"viewport": {"width": 412, "height": 839}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/120.0.0.0 Mobile Safari/537.36", "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}

EDITION = "翠湖县青少年科技创新大赛"
TITLE = f"第十三届{EDITION}"
SCHOOL_A, SCHOOL_B = "翠湖路第一小学", "城南实验小学"
RARE_NAME = "王彧"
FORM_TITLE = "自动感应节水龙头"
EXCEL_ROWS = (  # 作品名称, 学生, 性别, 年级, 班级, 指导教师, 作品说明
    ("会浇花的智能花盆", "欧阳紫萱、司马昊天", "女、男", "六年级", "2班", "陈老师", "用土壤湿度传感器控制水泵，缺水时自动浇花。"),
    ("防近视智能台灯", "上官婉清", "女", "五年级", "1班", "陈老师", "坐姿太近时台灯闪烁提醒。"),
)
RUBRIC = (("创新性", "40", "构思新颖，有独到之处"), ("科学性", "30", "原理正确，设计合理"),
          ("实用性", "30", "能解决学习、生活中的实际问题"))
JUDGES = (("judge_zhao", "赵明远"), ("judge_qian", "钱思远"), ("judge_sun", "孙立新"))
# Each judge's criterion scores per entry title: 王彧's entry first (89.00), then 78.67, then 70.00.
SCORES = {
    "judge_zhao": {FORM_TITLE: ("36", "27", "26"), EXCEL_ROWS[0][0]: ("32", "24", "24"),
                   EXCEL_ROWS[1][0]: ("28", "22", "20")},
    "judge_qian": {FORM_TITLE: ("35", "26", "27"), EXCEL_ROWS[0][0]: ("30", "25", "23"),
                   EXCEL_ROWS[1][0]: ("27", "21", "22")},
    "judge_sun": {FORM_TITLE: ("37", "28", "25"), EXCEL_ROWS[0][0]: ("31", "23", "24"),
                  EXCEL_ROWS[1][0]: ("29", "20", "21")},
}
EXPECTED = {FORM_TITLE: ("89.00", "一等奖"), EXCEL_ROWS[0][0]: ("78.67", "二等奖"), EXCEL_ROWS[1][0]: ("70.00", "三等奖")}


class Shots:
    """Numbered screenshots of the day: NN-step.png, the whole page."""

    def __init__(self, name: str):
        self.folder = ARTIFACTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    def __call__(self, page, step: str, full_page: bool = True) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.mouse.move(1, 1)
        page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
        page.screenshot(path=str(path), full_page=full_page)
        return path


def open_page(browser, **options):
    context = browser.new_context(service_workers="allow", **(options or DESKTOP))
    context.set_default_timeout(15000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm asks with window.confirm
    return context, page


def tablet(browser):
    profile = dict(browser.tablet_profile)
    profile.update(viewport={"width": 1024, "height": 768}, locale="zh-CN", timezone_id="Asia/Shanghai")
    return open_page(browser, **profile)


def flashed(page, text: str) -> None:
    """The page shows this message (flashes stand at the top of <main>)."""
    expect(page.locator("main > .flash").filter(has_text=text)).to_have_count(1)


def log_in(page, url: str, username: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def first_login(page, url: str, username: str, slip_password: str) -> None:
    """A new account logs in with the password slip and must choose its own password."""
    log_in(page, url, username, slip_password)
    expect(page).to_have_url(re.compile(r"/account/password$"))
    page.fill("#current", slip_password)
    page.fill("#new", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    page.click("main form button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/account/password$"))


def submit(page, label: str) -> None:
    """Click a form's button and wait for the page it leads to."""
    with page.expect_navigation():
        page.get_by_role("button", name=label, exact=True).click()


# --- 1. The organizer sets up the edition ------------------------------------------------------------

def set_up_edition(page, url: str, shot) -> int:
    page.goto(url + "/admin/")
    page.get_by_role("link", name="新建届次").click()
    today = date.today()
    for field, value in (("name", EDITION), ("number", "13"), ("code", "CH"), ("theme", "创新·体验·成长"),
                         ("organizers", "翠湖县科学技术协会"), ("school_year", f"{today.year}-{today.year + 1}")):
        page.fill(f"#{field}", value)
    page.fill("#registration_closes", (datetime.now() + timedelta(days=30)).strftime("%Y-%m-%dT17:00"))
    page.fill("#judging_starts", today.isoformat())
    page.fill("#judging_ends", today.isoformat())
    submit(page, "保存")
    flashed(page, f"已新建{TITLE}")
    edition_id = int(re.search(r"/admin/editions/(\d+)$", page.url).group(1))

    # A category and its rubric: the form has two empty rows, so the third criterion is a second save.
    page.get_by_role("navigation", name="届次设置").get_by_role("link", name="类别与评分标准").click()
    page.get_by_role("link", name="新建类别").click()
    page.fill("#code", "XF")
    page.fill("#name", "小发明")
    submit(page, "保存")
    expect(page.locator("main h2")).to_contain_text("小发明（XF）评分标准")
    for start, rows in ((0, RUBRIC[:2]), (2, RUBRIC[2:])):
        for n, (name, points, text) in enumerate(rows, start=start):
            page.fill(f"[name='rows-{n}-name']", name)
            page.fill(f"[name='rows-{n}-max_points']", points)
            page.fill(f"[name='rows-{n}-descriptor']", text)
        submit(page, "保存评分标准")
    flashed(page, "“小发明”评分标准已保存，满分合计100分。")
    shot(page, "rubric")

    nav = page.get_by_role("navigation", name="届次设置")
    nav.get_by_role("link", name="组别").click()
    page.get_by_role("link", name="新建组别").click()
    page.fill("#code", "X")
    page.fill("#name", "小学组")
    submit(page, "保存")
    flashed(page, "组别“小学组”已保存。")

    # One judged round: 初评 off, so 终评 decides the prizes (and the printed results).
    nav.get_by_role("link", name="评审轮次").click()
    page.locator("tr", has_text="初评").locator("input[type=checkbox]").uncheck()
    submit(page, "保存")
    flashed(page, "评审轮次已保存。")
    expect(page.locator("tr", has_text="初评").locator("input[type=checkbox]")).not_to_be_checked()
    shot(page, "rounds")

    nav.get_by_role("link", name="奖项与奖励").click()
    for n, amount in enumerate(("300", "200", "100")):
        page.fill(f"[name='rows-{n}-reward_amount']", amount)
    submit(page, "保存")
    flashed(page, "奖项与辅导教师奖励已保存。")

    nav.get_by_role("link", name="获奖名额").click()
    for level in ("一等奖", "二等奖", "三等奖"):
        page.get_by_label(f"小发明小学组{level}").fill("1")
    submit(page, "保存")
    flashed(page, "获奖名额已保存。")

    nav.get_by_role("link", name="概况").click()
    expect(page.locator(".checklist .badge.warn")).to_have_count(0)
    shot(page, "edition-ready")
    return edition_id


def create_school(page, url: str, name: str, code: str) -> None:
    page.goto(url + "/admin/schools")
    page.get_by_role("link", name="新建学校").click()
    page.fill("#name", name)
    page.fill("#code", code)
    submit(page, "保存")
    flashed(page, f"学校「{name}」已保存。")


def create_account(page, url: str, username: str, name: str, role: str, school: str | None = None,
                   affiliation: str | None = None) -> str:
    """The create form; returns the initial password from the password slip."""
    page.goto(url + "/admin/users")
    page.get_by_role("link", name="新建账号").click()
    page.fill("#username", username)
    page.fill("#display_name", name)
    page.select_option("#role", role)
    if school:
        page.select_option("#school_id", label=school)
    if affiliation:
        page.fill("#affiliation", affiliation)
    submit(page, "创建并打印密码条")
    flashed(page, f"账号「{username}」已创建")
    slip = page.locator(".slip")
    expect(slip).to_have_count(1)
    expect(slip.locator("dd.secret").first).to_have_text(username)
    return slip.locator("dd.secret").nth(1).inner_text().strip()


# --- 2. The coordinators register ----------------------------------------------------------------------

def register_by_form(page, shot) -> None:
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="作品报名").click()
    page.get_by_role("link", name="＋ 新增作品").click()
    page.fill("#title", FORM_TITLE)
    page.select_option("#category", label="小发明")
    page.select_option("#division", label="小学组")
    page.fill("[name='students-1-name']", RARE_NAME)
    page.select_option("[name='students-1-gender']", "男")
    page.fill("[name='students-1-grade']", "五年级")
    page.fill("[name='students-1-class']", "3班")
    page.fill("[name='instructors-1']", "张建华")
    page.fill("#description", "红外感应出水，手离开即关水，一年可为学校节水约三成。")
    shot(page, "coordinator-a-entry-form")
    submit(page, "保存")
    flashed(page, f"《{FORM_TITLE}》已保存。")
    expect(page.locator("main")).to_contain_text(RARE_NAME)
    shot(page, "coordinator-a-entry-saved")


def register_by_excel(page, tmp_path: Path, shot) -> None:
    from openpyxl import load_workbook

    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="作品报名").click()
    page.get_by_role("link", name="从Excel导入").click()
    with page.expect_download() as download:
        page.locator("main .upload").get_by_role("link", name="下载导入模板").click()
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)
    assert download.value.suggested_filename == f"作品导入模板-{SCHOOL_B}.xlsx"

    book = load_workbook(template)
    sheet = book.worksheets[0]
    columns = {str(cell.value).rstrip("*"): cell.column for cell in sheet[1] if cell.value}
    for row, (title, students, gender, grade, klass, instructor, text) in enumerate(EXCEL_ROWS, start=2):
        values = {"作品名称": title, "类别": "小发明", "作品形式": None, "组别": "小学组", "学生": students,
                  "性别": gender, "年级": grade, "班级": klass, "指导教师": instructor, "作品说明": text,
                  "视频链接": None}
        for header, value in values.items():
            sheet.cell(row=row, column=columns[header], value=value)
    filled = tmp_path / "城南实验小学-作品.xlsx"
    book.save(filled)

    page.set_input_files("#file", str(filled))
    submit(page, "上传并检查")
    ready = page.locator("section.ready")
    expect(ready).to_contain_text("检查通过：文件「城南实验小学-作品.xlsx」")
    expect(ready.locator("tbody tr")).to_have_count(2)
    expect(ready).to_contain_text("欧阳紫萱")
    shot(page, "coordinator-b-import-preview")
    submit(page, "确认导入2件作品")
    flashed(page, "导入2件作品")
    expect(page.locator("table.entry-table tbody tr")).to_have_count(2)
    shot(page, "coordinator-b-entries")


# --- 3. Review, panel, assignment ----------------------------------------------------------------------

def review_and_assign(page, url: str, shot) -> None:
    page.goto(url + "/admin/entries")
    rows = page.locator("table.entries tbody tr")
    expect(rows).to_have_count(3)
    for box in page.locator("input[name=ids]").all():
        box.check()
    shot(page, "review-before")
    submit(page, "勾选的作品审核通过")
    flashed(page, "已处理3件作品。")
    expect(page.locator("table.entries .badge.ok", has_text="已通过")).to_have_count(3)
    shot(page, "review-approved")

    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="届次").click()
    page.get_by_role("link", name=TITLE).first.click()
    page.get_by_role("navigation", name="届次设置").get_by_role("link", name="评委与分组").click()
    expect(page.locator("#round_id option")).to_have_text(["终评"])  # 初评 is off
    submit(page, "为该轮所有类别和组别建立评审组")
    flashed(page, "终评：新建1个评审组。")
    page.get_by_role("link", name="管理", exact=True).click()
    for _, name in JUDGES:
        page.select_option("#add-judge", label=f"{name}（翠湖县教研室）")
        submit(page, "加入")
        flashed(page, f"{name}已加入本组。")
    submit(page, "分配作品")
    flashed(page, "已分配3件作品，每件3位评委")
    expect(page.locator("table.matrix td.cell-mark.assigned")).to_have_count(9)
    shot(page, "panel-assigned")


# --- 4. Judging on tablets -----------------------------------------------------------------------------

def judge_ready(page) -> None:
    page.wait_for_selector("html[data-judge-ready='1']")


def score_current(page, username: str, expect_state: str) -> str:
    """Fill and submit the entry on screen with this judge's scores; returns its title."""
    judge_ready(page)
    title = page.locator("#entry-title").inner_text().strip()
    values = SCORES[username][title]
    inputs = page.locator("input.crit-value")
    expect(inputs).to_have_count(3)
    for n, value in enumerate(values):
        inputs.nth(n).fill(value)
    expect(page.locator("#score-total")).to_have_text(str(sum(int(v) for v in values)))
    page.locator("#submit-score").tap()
    expect(page.locator("#score-status")).to_have_attribute("data-state", expect_state)
    return title


def judge_scores(browser, server, username: str, password: str, shot, offline_after: int | None = None) -> None:
    """A judge's first session on a tablet: password, queue, three entries; offline_after: the entry
    (0-based) from which the Wi-Fi is gone, until the saves have waited in the outbox."""
    context, page = tablet(browser)
    try:
        first_login(page, server.url, username, password)
        expect(page).to_have_url(re.compile(r"/judge/$"))
        judge_ready(page)
        page.wait_for_selector("html[data-offline-ready='1']")  # the service worker holds the pages
        expect(page.locator(".queue-item")).to_have_count(3)
        for secret in (RARE_NAME, SCHOOL_A, SCHOOL_B, "欧阳紫萱"):
            assert secret not in page.content()  # blind judging
        if offline_after is None:
            shot(page, f"judge-{username}-queue")
        page.locator(".queue-item").first.locator("a.score-link").tap()
        scored = []
        for n in range(3):
            if n:
                page.locator("#next-entry").tap()
            if offline_after is not None and n == offline_after:
                go_offline(context, server)  # the hall's Wi-Fi drops
                expect(page.locator("#net-state")).to_have_attribute("data-state", "offline")
            waiting = offline_after is not None and n >= offline_after
            scored.append(score_current(page, username, "waiting" if waiting else "sent"))
            if n == 0 and username == JUDGES[0][0]:
                shot(page, f"judge-{username}-scored", full_page=False)
            if waiting:
                expect(page.locator("#score-status")).to_contain_text("待发送")
                expect(page.locator("#outbox-count")).to_have_text(str(n - offline_after + 1))
        assert sorted(scored) == sorted(SCORES[username])
        if offline_after is not None:
            shot(page, f"judge-{username}-offline-waiting", full_page=False)
            page.locator("a.judge-home-link").tap()  # the queue, served by the service worker
            judge_ready(page)
            expect(page.locator(".queue-item[data-state='waiting']")).to_have_count(3 - offline_after)
            expect(page.locator("#outbox-list .outbox-item")).to_have_count(3 - offline_after)
            shot(page, f"judge-{username}-offline-queue")
            go_online(context, server)  # back: the outbox empties by itself
            expect(page.locator("#outbox-count")).to_have_text("0", timeout=20000)
            expect(page.locator(".queue-item[data-state='submitted']")).to_have_count(3)
            expect(page.locator("#net-state")).to_have_attribute("data-state", "online")
            shot(page, f"judge-{username}-back-online")
        else:
            page.locator("a.judge-home-link").tap()
            judge_ready(page)
            expect(page.locator(".queue-item[data-state='submitted']")).to_have_count(3)
        expect(page.locator(".progress-count")).to_contain_text("3 / 3")
    finally:
        context.close()


def check_progress(page, url: str, edition_id: int, shot) -> None:
    page.goto(f"{url}/admin/editions/{edition_id}/progress")
    expect(page.locator(".stat-box").first).to_contain_text("9 / 9")
    judges = page.locator("table.judges-table tbody tr")
    expect(judges).to_have_count(3)
    for n in range(3):  # 分配 3, 已提交 3, 草稿 0, 未开始 0
        expect(judges.nth(n).locator("td.num")).to_have_text(["3", "3", "0", "0"])
    # Each entry: three submitted totals, one per judge, the ones the judges typed.
    names = dict(JUDGES)
    for title in EXPECTED:
        row = page.locator("table.entries-table tbody tr", has_text=title)
        expect(row.locator("td.num").first).to_have_text("3 / 3")
        chips = row.locator("td.totals .chip")
        expect(chips).to_have_count(3)
        assert sorted(t.strip() for t in chips.all_inner_texts()) == sorted(
            f"{names[judge]} {sum(int(v) for v in scores[title])}" for judge, scores in SCORES.items())
    shot(page, "progress-all-scored")


def stored_scores(db) -> tuple[int, int, set]:
    from judging.scoring.models import Score, ScoreHistory

    try:
        scores = db.session.scalar(select(func.count()).select_from(Score))
        history = db.session.scalar(select(func.count()).select_from(ScoreHistory))
        states = set(db.session.execute(select(Score.version, Score.status)).all())
        return scores, history, states
    finally:
        db.session.close()


# --- 5. Lock, compute, 公示, final -----------------------------------------------------------------------

def publish_results(page, url: str, edition_id: int, shot) -> None:
    page.goto(f"{url}/admin/editions/{edition_id}/progress")
    page.fill("input[name=reason]", "终评评分结束")
    submit(page, "锁定评分")
    flashed(page, "终评评分已锁定")
    expect(page.locator(".lock-state")).to_have_text("评分已锁定")
    shot(page, "round-locked")

    page.get_by_role("link", name="计算成绩").click()
    submit(page, "计算成绩")
    flashed(page, "已计算终评结果：3件作品排名。")
    rows = page.locator("table.results-table tbody tr")
    expect(rows).to_have_count(3)
    for n, (title, (final, level)) in enumerate(EXPECTED.items()):
        row = rows.nth(n)
        expect(row.locator("td").nth(0)).to_have_text(str(n + 1))
        expect(row.locator("td").nth(2)).to_have_text(title)
        expect(row.locator("td").nth(5)).to_have_text(final)
        expect(row.locator("td.level b")).to_have_text(level)
    expect(rows.nth(0)).to_contain_text(RARE_NAME)
    shot(page, "results-computed")

    # 公示 that began a month ago and is over: the results can be finalized today.
    starts = date.today() - timedelta(days=30)
    page.fill("#starts", starts.isoformat())
    page.fill("#ends", (starts + timedelta(days=6)).isoformat())
    page.fill("#contact", "翠湖县科协青少年科技教育办公室，电话 0000-1234567")
    submit(page, "发布公示")
    flashed(page, f"终评结果已发布公示（{starts.isoformat()}至")
    expect(page.locator("#publication")).to_contain_text("公示期")
    shot(page, "results-notice")
    submit(page, "确定为最终结果")
    flashed(page, "终评结果已确定为最终结果。")
    expect(page.locator(".results-head .badge.ok")).to_have_text("最终结果")
    shot(page, "results-final")


# --- 6. Certificates ------------------------------------------------------------------------------------

NUMBER = re.compile(r"\d{4}CH-XFX-\d-\d{4}")  # the default pattern {年}{大赛代码}-{类别代码}{组别代码}-{等级序}-{序号:04d}


def print_certificates(page, tmp_path: Path, shot) -> tuple[str, Path | None]:
    """Settings, issue the numbers, print the students' certificates; returns 王彧's number and his
    page as PNG (None without pdftoppm)."""
    from pypdf import PdfReader

    page.get_by_role("navigation", name="届次设置").get_by_role("link", name="证书").click()
    page.fill("#issue_date", date.today().isoformat())
    submit(page, "保存")
    flashed(page, "证书设置已保存。")
    page.get_by_role("link", name="发放编号与打印证书").click()
    shot(page, "certificates-before-issue")
    submit(page, "发放/更新证书编号")
    # Students: one per team member (王彧, 欧阳紫萱, 司马昊天, 上官婉清); 优秀指导教师: one per prized entry's teacher.
    flashed(page, "证书编号：新发7张，沿用0张。")
    expect(page.locator(".cert-stats strong")).to_have_text(["4", "3", "0"])
    page.select_option("#kind", "student")
    page.get_by_label("直接下载 PDF").check()
    shot(page, "certificates-issued")
    with page.expect_download() as download:
        page.locator("form.print-form").get_by_role("button", name="打印").click()
    pdf = tmp_path / "certificates.pdf"
    download.value.save_as(pdf)
    assert download.value.suggested_filename.endswith(".pdf")

    reader = PdfReader(str(pdf))
    texts = [p.extract_text() or "" for p in reader.pages]
    assert len(texts) == 4, texts
    holders = [n for n, text in enumerate(texts) if RARE_NAME in text]
    assert len(holders) == 1, texts
    text = texts[holders[0]]
    assert FORM_TITLE in text and "一等奖" in text, text
    numbers = NUMBER.findall(text)
    assert len(numbers) == 1, text
    assert len(set(NUMBER.search(t).group(0) for t in texts)) == 4  # every certificate its own number

    # 王彧's page as an image (poppler's pdftoppm): kept with the screenshots, and its QR code read.
    if not shutil.which("pdftoppm"):
        return numbers[0], None
    import subprocess

    stem = tmp_path / "certificate"
    page_number = str(holders[0] + 1)
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", page_number, "-l", page_number, "-singlefile",
                    str(pdf), str(stem)], check=True, timeout=60)
    shot.count += 1
    image = shot.folder / f"{shot.count:02d}-certificate-{RARE_NAME}.png"
    shutil.move(str(stem.with_suffix(".png")), image)
    return numbers[0], image


def qr_link(image: Path | None) -> str | None:
    """The verification link in the certificate's QR code (zbarimg), or None without the tools."""
    if image is None or not shutil.which("zbarimg"):
        return None
    import subprocess

    found = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
                           capture_output=True, text=True, timeout=60)
    links = [line.strip() for line in found.stdout.splitlines() if line.strip()]
    assert len(links) == 1, (found.returncode, found.stdout, found.stderr)
    return links[0]


# --- 7. The public verifies -------------------------------------------------------------------------------

def verify_in_public(browser, server_url: str, number: str, link: str | None, shot) -> None:
    """A parent with a phone, not logged in: scans the QR code (or types the number)."""
    context, page = open_page(browser, **PHONE)
    try:
        if link is not None:
            assert link.startswith(server_url + "/verify/"), link
            page.goto(link)
        else:  # no QR reader on this machine: the number printed beside the code
            page.goto(server_url + "/verify")
            page.fill("#number", number)
            submit(page, "查验")
        result = page.locator("section.verify-result.valid")
        expect(result).to_contain_text("证书有效")
        facts = result.locator("dl.verify-facts")
        expect(facts).to_contain_text(number)
        expect(facts).to_contain_text("王*")
        expect(facts).to_contain_text(f"《{FORM_TITLE}》")
        expect(facts).to_contain_text("一等奖")
        expect(facts).to_contain_text(TITLE)
        assert RARE_NAME not in page.content()  # the name is masked
        assert page.get_by_role("link", name="退出").count() == 0  # nobody is logged in
        shot(page, "public-verify" + ("-qr" if link else "-number"))
        page.get_by_role("link", name="获奖公示").click()
        page.get_by_role("link", name=re.compile(TITLE)).click()
        expect(page.locator("main")).to_contain_text(FORM_TITLE)
        expect(page.locator("main")).to_contain_text("最终结果")
        shot(page, "public-results")
    finally:
        context.close()


# --- The day -------------------------------------------------------------------------------------------

def test_contest_day(db, organizer, live_server, browser, tmp_path, request):
    started = time.monotonic()
    shot = Shots(request.node.name)
    organizer_name = organizer.username
    db.session.close()  # the server writes from now on; this process only reads, briefly
    url = live_server.url
    timings = {}

    def lap(step):
        timings[step] = round(time.monotonic() - started, 1)

    # 1. The organizer sets up the edition, the schools and the accounts.
    org_context, org = open_page(browser)
    log_in(org, url, organizer_name, PASSWORD)
    expect(org).to_have_url(re.compile(r"/admin/$"))
    edition_id = set_up_edition(org, url, shot)
    create_school(org, url, SCHOOL_A, "S01")
    create_school(org, url, SCHOOL_B, "S02")
    passwords = {"coord_a": create_account(org, url, "coord_a", "李红梅", "coordinator", school=SCHOOL_A),
                 "coord_b": create_account(org, url, "coord_b", "周晓东", "coordinator", school=SCHOOL_B)}
    for username, name in JUDGES:
        passwords[username] = create_account(org, url, username, name, "judge", affiliation="翠湖县教研室")
    shot(org, "judge-password-slip")
    org.goto(url + "/admin/users")
    expect(org.locator("main table tbody tr")).to_have_count(6)
    shot(org, "accounts")
    lap("1 setup")

    # 2. Two coordinators register: A by the form, B from Excel.
    a_context, coordinator_a = open_page(browser)
    first_login(coordinator_a, url, "coord_a", passwords["coord_a"])
    register_by_form(coordinator_a, shot)
    a_context.close()
    b_context, coordinator_b = open_page(browser)
    first_login(coordinator_b, url, "coord_b", passwords["coord_b"])
    register_by_excel(coordinator_b, tmp_path, shot)
    b_context.close()
    lap("2 registration")

    # 3. The organizer reviews, builds the panel and assigns.
    review_and_assign(org, url, shot)
    lap("3 review and assignment")

    # 4. Three judges on tablets; the third loses the Wi-Fi after his first entry.
    for (username, _), offline_after in zip(JUDGES, (None, None, 1)):
        judge_scores(browser, live_server, username, passwords[username], shot, offline_after)
    assert stored_scores(db) == (9, 9, {(1, "submitted")})  # each score once, one version each
    check_progress(org, url, edition_id, shot)
    lap("4 judging")

    # 5. Lock, compute, 公示, final.
    publish_results(org, url, edition_id, shot)
    lap("5 results")

    # 6. Certificates, printed; 7. the public checks one by its QR link.
    number, image = print_certificates(org, tmp_path, shot)
    link = qr_link(image)
    lap("6 certificates")
    verify_in_public(browser, url, number, link, shot)
    lap("7 verification")

    org_context.close()
    print(f"contest day: {timings}; QR code {'read' if link else 'not read (pdftoppm or zbarimg missing)'}; "
          f"requests dropped by the offline emulation: {live_server.dropped}")
