"""XSS in a real browser, with the CSP switched off (bypass_csp) so that only the escaping stands between the
payloads and execution: the pages of each role, the judge's pages included (judge.js renders titles,
criteria and comments from JSON), raise no alert and carry no injected element."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.e2e.conftest import find_chromium, where_chromium_was_looked_for
from tests.test_attack_surface import build_world

pytestmark = pytest.mark.skipif(find_chromium() is None,
                                reason=f"no Chromium at {where_chromium_was_looked_for()}")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
INJECTED = ("document.querySelectorAll('img[src=\"x\"], svg[onload], [onerror], [onload], "
            "script:not([src]):not([type=\"application/json\"])').length")


@pytest.fixture
def served_world(make_app, tmp_path):
    from werkzeug.serving import make_server

    from judging.extensions import db
    from tests.conftest import PASSWORD  # noqa: F401

    app = make_app(WTF_CSRF_ENABLED=True, SERVER_NAME=None)
    with app.app_context():
        from judging.core.models import User
        from judging.core.security import hash_password

        organizer = User(username="org", display_name="组委会", role="organizer", password_hash=hash_password("secret123"))
        db.session.add(organizer)
        db.session.commit()
        from judging.contests import operations as ops

        edition = ops.create_edition({"name": "浏览器县大赛", "number": 13, "code": "KC", "notice_days": 7,
                                      "scoring_method": "trimmed_mean", "trim_min_judges": 5, "min_judges": 3})
        xf = ops.save_category(edition, {"code": "XF", "name": "小发明", "max_students": 3, "max_instructors": 2})
        ops.save_rubric(xf, [{"name": "创新性", "max_points": 60}, {"name": "实用性", "max_points": 40}])
        ops.save_division(edition, {"code": "X", "name": "小学组"})
        db.session.commit()

        def make_user(role="organizer", username=None, school=None, password="secret123", **kwargs):
            user = User(username=username, display_name=kwargs.pop("display_name", username), role=role,
                        school=school, password_hash=hash_password(password), **kwargs)
            db.session.add(user)
            db.session.commit()
            return user

        world = build_world(db, edition, organizer, make_user)
        # The draft of the preliminary round stays unpublished; the judge's final round is locked, but
        # his queue still lists it.
        urls = {
            "org": [f"/admin/editions/{edition.id}", f"/admin/editions/{edition.id}/categories/{xf.id}/rubric",
                          f"/admin/entries?edition={edition.id}", f"/admin/results/{world.snapshot.id}",
                          f"/admin/editions/{edition.id}/progress?round={world.rnd.id}", "/admin/schools",
                          "/admin/users", f"/admin/audit?edition={edition.id}", f"/admin/panels/{world.panel.id}",
                          f"/admin/editions/{edition.id}/conflicts",
                          f"/admin/editions/{edition.id}/rounds/{world.rnd.id}/analytics"],
            "xss_coord": ["/school/entries", f"/school/entries/{world.entries[0].id}",
                          f"/school/entries/{world.entries[0].id}/edit", "/home"],
            "xss_judge1": ["/judge/", f"/judge/entries/{world.rnd.id}/{world.entries[0].id}"],
            None: ["/results/", f"/results/{world.snapshot.id}", f"/results/{world.notice_snapshot.id}"],
        }
        title = world.fields["T1"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", urls, title
    server.shutdown()
    thread.join(10)


def test_no_payload_runs_in_a_browser_even_without_the_csp(served_world, browser):
    """The session's Chromium (tests/e2e/conftest.py): a second Playwright in the same thread would fail."""
    base, urls, title = served_world
    problems, dialogs = [], []
    for username, pages in urls.items():
        context = browser.new_context(bypass_csp=True, locale="zh-CN", service_workers="block")
        context.set_default_timeout(15000)
        page = context.new_page()
        page.on("dialog", lambda dialog, u=username: (dialogs.append((u, page.url, dialog.message)),
                                                      dialog.dismiss()))
        if username:
            page.goto(base + "/login")
            page.fill("#username", username)
            page.fill("#password", "secret123")
            page.click("main button[type=submit]")
            page.wait_for_load_state("networkidle")
            assert "/login" not in page.url, username
        for path in pages:
            response = page.goto(base + path)
            page.wait_for_load_state("networkidle")
            if response.status >= 400:
                problems.append(f"{username} {path}: {response.status}")
            count = page.evaluate(INJECTED)
            if count:
                problems.append(f"{username} {path}: {count} injected element(s)")
            if path.startswith("/judge/entries/"):
                # judge.js drew the title from the JSON: as text, all of it
                page.wait_for_function("t => document.body.innerText.includes(t)", arg=title)
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "attack-judge-entry.png"), full_page=True)
            if path.startswith("/results/") and path != "/results/":
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "attack-public-results.png"), full_page=True)
        context.close()
    assert not dialogs, dialogs
    assert not problems, "\n".join(problems)
