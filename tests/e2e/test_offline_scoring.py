"""A judge scores on a tablet whose Wi-Fi drops: the outbox in IndexedDB keeps every save, the service
worker serves the pages for a reload while offline, and each score reaches the server exactly once.

Real browser: Playwright driving Debian's Chromium with the "iPad (gen 7)" profile. Screenshots of the
scoring page (online, offline, refused) go to test-artifacts/.
"""
from __future__ import annotations

import re
import time

import pytest

from tests.e2e.conftest import ARTIFACTS, find_chromium, go_offline, go_online, where_chromium_was_looked_for

if find_chromium() is None:
    pytest.skip(f"Chromium not found at {where_chromium_was_looked_for()} — browser tests skipped "
                "(apt-get install chromium, or set CHROMIUM_PATH)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="playwright not installed — browser tests skipped")

from playwright.sync_api import expect  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from judging.registration.rules import StudentInput  # noqa: E402
from tests.conftest import PASSWORD  # noqa: E402

STUDENT = "欧阳紫萱"
STUDENTS = (STUDENT, "司马昊天", "上官婉清")
SCHOOL = "翠湖路第七实验小学"


@pytest.fixture
def contest(db, edition, make_school, make_user, make_entry):
    """A judge with three entries of the 小发明 pool assigned in the preliminary round."""
    import io

    from PIL import Image, ImageDraw

    from judging.registration.models import Attachment
    from judging.scoring.models import Assignment, Panel, PanelJudge

    school = make_school(SCHOOL)
    rnd = next(r for r in edition.rounds if r.kind == "preliminary")
    category, division = edition.categories[0], edition.divisions[0]
    from decimal import Decimal

    from judging.contests.operations import save_rubric

    save_rubric(category, [{"name": name, "max_points": Decimal(points), "descriptor": text} for name, points, text in (
        ("创新性", 30, "构思新颖，有独到之处，与已有产品相比有明显改进"), ("科学性", 25, "原理正确，设计合理"),
        ("实用性", 25, "能解决学习、生活中的实际问题"), ("制作完成度", 10, "制作精细，功能完整"),
        ("展示答辩", 10, "讲解清楚，回答问题准确"))])
    judge = make_user("judge", username="judge_e2e", display_name="王评委")
    titles = ("会浇花的智能花盆", "自动分类垃圾桶", "防近视智能台灯")
    entries = [make_entry(school, title=title, students=[StudentInput(STUDENTS[n], "女", "五年级", "3班")],
                          description="用土壤湿度传感器控制水泵，缺水时自动浇花。" if n == 0 else None)
               for n, title in enumerate(titles)]
    panel = Panel(edition_id=edition.id, round_id=rnd.id, category_id=category.id, division_id=division.id)
    db.session.add(panel)
    db.session.flush()
    db.session.add(PanelJudge(panel_id=panel.id, judge_id=judge.id))
    for entry in entries:
        entry.status = "approved"
        db.session.add(Assignment(round_id=rnd.id, panel_id=panel.id, entry_id=entry.id, judge_id=judge.id))
    # A photo of the first entry, as a coordinator would have uploaded it (its name carries the student's).
    from flask import current_app
    from pathlib import Path

    image = Image.new("RGB", (640, 480), (226, 236, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((200, 160, 440, 420), fill=(120, 160, 90))
    draw.ellipse((250, 60, 390, 200), fill=(60, 140, 60))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data = buffer.getvalue()
    stored = "cd" + "1" * 30 + ".png"
    path = Path(current_app.config["UPLOAD_DIR"]) / "attachments" / stored[:2] / stored
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    db.session.add(Attachment(entry=entries[0], kind="image", original_name=f"{STUDENT}.png", stored_name=stored,
                              content_type="image/png", size=len(data), sha256="0" * 64))
    db.session.commit()
    facts = {"round_id": rnd.id, "entries": [(e.id, e.code) for e in entries],
             "criteria": [(c.id, c.max_points) for c in category.criteria], "judge_id": judge.id}
    db.session.close()  # end this thread's transaction: the server writes from now on
    return facts


def stored_scores(db, contest):
    """{entry_id: (score rows, history rows, version, status)} as the server stored them."""
    from judging.scoring.models import Score, ScoreHistory

    result = {}
    for entry_id, _ in contest["entries"]:
        scores = db.session.scalars(select(Score).where(Score.entry_id == entry_id)).all()
        history = db.session.scalar(select(func.count()).select_from(ScoreHistory)
                                    .where(ScoreHistory.entry_id == entry_id))
        result[entry_id] = (len(scores), history, scores[0].version if scores else None,
                            scores[0].status if scores else None)
    db.session.close()
    return result


def log_in(page, server):
    page.goto(server.url + "/login")
    page.fill("#username", "judge_e2e")
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/judge/")
    page.wait_for_selector("html[data-judge-ready='1']")
    # The service worker has cached the pages and assets: a reload offline will work.
    page.wait_for_selector("html[data-offline-ready='1']")


def open_entry(page, server, contest, index):
    round_id = contest["round_id"]
    entry_id = contest["entries"][index][0]
    page.goto(f"{server.url}/judge/entries/{round_id}/{entry_id}")
    page.wait_for_selector("html[data-judge-ready='1']")
    expect(page.locator("#entry-code")).to_have_text(contest["entries"][index][1])


def fill(page, values):
    for n, value in enumerate(values):
        page.locator("input.crit-value").nth(n).fill(value)


def outbox(page):
    return page.locator("#outbox-count")


def read_outbox(page):
    """The outbox as IndexedDB holds it."""
    return page.evaluate("""() => new Promise((resolve, reject) => {
        const open = indexedDB.open('judging-judge');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
            const request = open.result.transaction('outbox').objectStore('outbox').getAll();
            request.onsuccess = () => resolve(request.result.sort((a, b) => a.created_at - b.created_at));
            request.onerror = () => reject(request.error);
        };
    })""")


def shoot(page, name):
    """The screen as the judge sees it from the top, and the whole page."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(1, 1)
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    page.screenshot(path=str(ARTIFACTS / name))
    page.screenshot(path=str(ARTIFACTS / name.replace(".png", "-full.png")), full_page=True)


@pytest.mark.viewport(1024, 768)
def test_scores_made_offline_reach_the_server_exactly_once(db, contest, live_server, tablet_context):
    started = time.monotonic()
    page = tablet_context.new_page()
    log_in(page, live_server)
    expect(page.locator(".queue-item")).to_have_count(3)
    for secret in (*STUDENTS, SCHOOL):
        assert secret not in page.content()

    # Entry 1, online. The browser refuses an out-of-range value before anything is queued.
    page.locator(".queue-item").first.locator("a.score-link").click()
    page.wait_for_selector("html[data-judge-ready='1']")
    fill(page, ["31", "20", "20", "8", "8"])
    page.click("#submit-score")
    expect(page.locator("#refused-note")).to_contain_text("创新性：应在0到30分之间")
    expect(outbox(page)).to_have_text("0")
    fill(page, ["", "", "", "", ""])
    page.click("#submit-score")
    expect(page.locator("#refused-note")).to_contain_text("提交前请打分")
    # The steppers: + three times on the second criterion, then one − : 2.
    plus = page.locator(".criterion").nth(1).locator("button.plus")
    for _ in range(3):
        plus.tap()
    page.locator(".criterion").nth(1).locator("button.minus").tap()
    expect(page.locator("input.crit-value").nth(1)).to_have_value("2")
    fill(page, ["26.5", "21", "22", "8", "9"])
    expect(page.locator("#score-total")).to_have_text("86.5")
    page.fill("#score-comment", "构思新颖，实用")
    page.click("#submit-score")
    expect(page.locator("#score-status")).to_have_attribute("data-state", "sent")
    expect(page.locator("#score-status")).to_contain_text("服务器版本 1（已提交）")
    expect(outbox(page)).to_have_text("0")
    shoot(page, "scoring-online-1024x768.png")
    # The photo opens full screen (pinch-zoomable on the tablet) under its neutral name.
    page.locator(".attachment-list.large .thumb").first.tap()
    expect(page.locator("#viewer")).to_be_visible()
    expect(page.locator("#viewer-img")).to_have_attribute("src", re.compile(r"/judge/files/\d+$"))
    page.screenshot(path=str(ARTIFACTS / "photo-viewer-1024x768.png"))
    page.click("#viewer-close")
    expect(page.locator("#viewer")).to_be_hidden()

    # The hall's Wi-Fi drops.
    go_offline(tablet_context, live_server)
    expect(page.locator("#net-state")).to_have_attribute("data-state", "offline")
    reached = len(live_server.requests)

    page.click("#next-entry")  # entry 2: never opened before, the service worker answers with the shell
    page.wait_for_selector("html[data-judge-ready='1']")
    expect(page.locator("#entry-code")).to_have_text(contest["entries"][1][1])
    fill(page, ["20", "18.5", "20", "7", "8"])
    page.click("#submit-score")
    expect(page.locator("#score-status")).to_have_attribute("data-state", "waiting")
    expect(outbox(page)).to_have_text("1")

    page.click("#next-entry")
    page.wait_for_selector("html[data-judge-ready='1']")
    expect(page.locator("#entry-code")).to_have_text(contest["entries"][2][1])
    fill(page, ["15", "15", "15", "5", "5"])
    page.fill("#score-comment", "离线时打的分")
    page.click("#submit-score")
    expect(outbox(page)).to_have_text("2")
    expect(page.locator("#score-status")).to_have_attribute("data-state", "waiting")
    expect(page.locator("#net-state")).to_have_text("离线")
    shoot(page, "scoring-offline-1024x768.png")

    # A reload while offline: the page comes from the service worker, the outbox from IndexedDB.
    page.reload()
    page.wait_for_selector("html[data-judge-ready='1']")
    expect(outbox(page)).to_have_text("2")
    expect(page.locator("input.crit-value").nth(0)).to_have_value("15")
    expect(page.locator("#score-comment")).to_have_value("离线时打的分")
    page.goto(live_server.url + "/judge/")
    page.wait_for_selector("html[data-judge-ready='1']")
    expect(page.locator(".queue-item[data-state='waiting']")).to_have_count(2)
    expect(page.locator(".queue-item[data-state='submitted']")).to_have_count(1)
    expect(page.locator("#outbox-list .outbox-item")).to_have_count(2)
    shoot(page, "queue-offline-1024x768.png")
    assert live_server.requests[reached:] == []  # everything came from the service worker and IndexedDB
    assert {k: v[0] for k, v in stored_scores(db, contest).items()} == {contest["entries"][0][0]: 1,
                                                                        contest["entries"][1][0]: 0,
                                                                        contest["entries"][2][0]: 0}
    keys = [item["idempotency_key"] for item in read_outbox(page)]
    assert len(set(keys)) == 2

    # Back online: the outbox empties by itself.
    go_online(tablet_context, live_server)
    expect(outbox(page)).to_have_text("0", timeout=20000)
    expect(page.locator(".queue-item[data-state='submitted']")).to_have_count(3)
    expect(page.locator("#net-state")).to_have_attribute("data-state", "online")
    shoot(page, "queue-online-1024x768.png")
    assert read_outbox(page) == []

    stored = stored_scores(db, contest)
    assert stored == {entry_id: (1, 1, 1, "submitted") for entry_id, _ in contest["entries"]}, stored
    from judging.scoring.models import ScoreHistory

    assert set(db.session.scalars(select(ScoreHistory.idempotency_key)
                                  .where(ScoreHistory.entry_id != contest["entries"][0][0]))) == set(keys)
    db.session.close()
    print(f"offline scoring scenario: {time.monotonic() - started:.1f} s; "
          f"requests that got through Chromium's offline emulation (dropped): {live_server.dropped}")


def test_two_offline_saves_of_one_entry_chain_their_versions(db, contest, live_server, tablet_context):
    """Draft, then submit, both offline: the second edits the version the first will produce."""
    page = tablet_context.new_page()
    log_in(page, live_server)
    open_entry(page, live_server, contest, 0)
    go_offline(tablet_context, live_server)
    expect(page.locator("#net-state")).to_have_attribute("data-state", "offline")

    fill(page, ["25", "", "", "", ""])
    page.click("#save-draft")
    expect(outbox(page)).to_have_text("1")
    fill(page, ["25", "20", "20.5", "6", "7"])
    page.click("#submit-score")
    expect(outbox(page)).to_have_text("2")
    expect(page.locator("#save-draft")).to_be_disabled()  # a submitted score does not go back to draft
    shoot(page, "scoring-offline-portrait.png")
    items = read_outbox(page)
    assert [(i["payload"]["status"], i["payload"]["base_version"]) for i in items] == [("draft", 0), ("submitted", 1)]

    page.reload()
    page.wait_for_selector("html[data-judge-ready='1']")
    expect(outbox(page)).to_have_text("2")
    go_online(tablet_context, live_server)
    expect(outbox(page)).to_have_text("0", timeout=20000)
    expect(page.locator("#score-status")).to_have_attribute("data-state", "sent")
    expect(page.locator("#score-status")).to_contain_text("服务器版本 2（已提交）")
    expect(page.locator("#refused-badge")).to_be_hidden()
    shoot(page, "scoring-online-portrait.png")

    from judging.scoring.models import Score, ScoreHistory

    first = contest["entries"][0][0]
    assert stored_scores(db, contest)[first] == (1, 2, 2, "submitted")
    history = db.session.execute(select(ScoreHistory.version, ScoreHistory.status, ScoreHistory.total)
                                 .where(ScoreHistory.entry_id == first).order_by(ScoreHistory.version)).all()
    assert [(v, s, str(t)) for v, s, t in history] == [(1, "draft", "25.0"), (2, "submitted", "78.5")]
    assert db.session.scalar(select(Score.total).where(Score.entry_id == first)) == 78.5
    db.session.close()


@pytest.mark.viewport(1024, 768)
def test_a_score_waiting_when_the_round_is_locked_shows_as_refused(db, contest, live_server, tablet_context):
    page = tablet_context.new_page()
    log_in(page, live_server)
    open_entry(page, live_server, contest, 1)
    go_offline(tablet_context, live_server)
    expect(page.locator("#net-state")).to_have_attribute("data-state", "offline")
    fill(page, ["28", "22", "23", "9", "9"])
    page.click("#submit-score")
    expect(outbox(page)).to_have_text("1")

    # Meanwhile the organizer locks the round.
    from judging.contests.models import Round

    db.session.get(Round, contest["round_id"]).locked = True
    db.session.commit()
    db.session.close()

    go_online(tablet_context, live_server)
    expect(outbox(page)).to_have_text("0", timeout=20000)
    status = page.locator("#score-status")
    expect(status).to_have_attribute("data-state", "refused")
    expect(page.locator("#refused-note")).to_contain_text("评分已锁定，这份评分未保存")
    expect(page.locator("#refused-badge")).to_be_visible()
    expect(page.locator("#refused-count")).to_have_text("1")
    expect(page.locator("#locked-note")).to_be_visible()
    expect(page.locator("#submit-score")).to_be_disabled()
    shoot(page, "scoring-refused-locked-1024x768.png")
    assert "已发送" not in status.inner_text()

    page.goto(live_server.url + "/judge/")
    page.wait_for_selector("html[data-judge-ready='1']")
    refused = page.locator("#outbox-list .outbox-item[data-state='refused']")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("锁定")
    expect(page.locator(f".queue-item[data-entry-id='{contest['entries'][1][0]}']")).to_have_attribute(
        "data-state", "refused")

    assert all(counts == (0, 0, None, None) for counts in stored_scores(db, contest).values())
