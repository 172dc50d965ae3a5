"""The judges' score API and tablet pages: idempotency, versions, validation, locks, assignment, blindness,
the history, and 30 simultaneous first submissions (SQLite and, with TEST_DATABASE_URL, PostgreSQL)."""
from __future__ import annotations

import hashlib
import io
import json
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from judging.registration.rules import StudentInput
from tests.conftest import login

# Distinctive names: none of them may appear in anything a judge can reach.
SCHOOL = "翠湖路第七实验小学"
STUDENTS = ("欧阳紫萱", "司马昊天", "上官婉清", "皇甫若曦")
INSTRUCTORS = ("诸葛明远", "东方慧敏")
SECRETS = (SCHOOL, *STUDENTS, *INSTRUCTORS)


# --- Fixtures ---------------------------------------------------------------------------------------

def _store_file(stored: str, data: bytes) -> None:
    path = Path(current_app.config["UPLOAD_DIR"]) / "attachments" / stored[:2] / stored
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _attach(db, entry, kind: str, original_name: str, data: bytes, ext: str, content_type: str):
    from judging.registration.models import Attachment

    stored = hashlib.md5(original_name.encode() + data).hexdigest() + "." + ext
    _store_file(stored, data)
    attachment = Attachment(entry=entry, kind=kind, original_name=original_name, stored_name=stored,
                            content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    db.session.add(attachment)
    db.session.commit()
    return attachment


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, "PNG")
    return buffer.getvalue()


class World:
    """An edition's preliminary round, a panel of two judges, three entries of one pool:
    entries[0] and entries[1] assigned to judge (and judge2), entries[2] to judge2 only."""


@pytest.fixture
def world(db, edition, make_school, make_user, make_entry):
    from judging.scoring.models import Assignment, Panel, PanelJudge

    school = make_school(SCHOOL)
    w = World()
    w.edition = edition
    w.round = next(r for r in edition.rounds if r.kind == "preliminary")
    category, division = edition.categories[0], edition.divisions[0]
    w.criteria = list(category.criteria)  # 创新性 60, 实用性 40
    w.judge = make_user("judge", username="judge_a", display_name="评委甲")
    w.judge2 = make_user("judge", username="judge_b", display_name="评委乙")
    w.entries = [
        make_entry(school, title="会浇花的智能花盆", students=[StudentInput(STUDENTS[0], "女", "五年级", "3班"),
                                                        StudentInput(STUDENTS[1], "男", "五年级", "3班")],
                   instructors=[INSTRUCTORS[0], INSTRUCTORS[1]], description="用土壤湿度传感器控制水泵。"),
        make_entry(school, title="自动分类垃圾桶", students=[StudentInput(STUDENTS[2], "女", "六年级", "1班")],
                   instructors=[INSTRUCTORS[0]]),
        make_entry(school, title="防近视台灯", students=[StudentInput("皇甫若曦", "女", "四年级", "2班")]),
    ]
    for entry in w.entries:
        entry.status = "approved"
    panel = Panel(edition_id=edition.id, round_id=w.round.id, category_id=category.id, division_id=division.id)
    db.session.add(panel)
    db.session.flush()
    for judge in (w.judge, w.judge2):
        db.session.add(PanelJudge(panel_id=panel.id, judge_id=judge.id))
    for entry in w.entries[:2]:
        db.session.add(Assignment(round_id=w.round.id, panel_id=panel.id, entry_id=entry.id, judge_id=w.judge.id))
    for entry in w.entries:
        db.session.add(Assignment(round_id=w.round.id, panel_id=panel.id, entry_id=entry.id, judge_id=w.judge2.id))
    db.session.commit()
    w.photo = _attach(db, w.entries[0], "image", f"{STUDENTS[0]}的作品照片.png", _png(), "png", "image/png")
    w.paper = _attach(db, w.entries[0], "pdf", f"{STUDENTS[1]}-{SCHOOL}-说明.pdf",
                      b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "pdf", "application/pdf")
    w.other_photo = _attach(db, w.entries[2], "image", "other.png", _png(), "png", "image/png")
    return w


def judge_client(app, user):
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


@pytest.fixture
def jc(app, world):
    return judge_client(app, world.judge)


def payload(world, entry=None, key="k-1", values=None, status="submitted", base_version=0, comment="构思新颖"):
    entry = entry or world.entries[0]
    if values is None:
        values = {world.criteria[0].id: "50.5", world.criteria[1].id: "30"}
    return {"idempotency_key": key, "round_id": world.round.id, "entry_id": entry.id,
            "values": {str(k): v for k, v in values.items()}, "status": status, "base_version": base_version,
            "comment": comment}


def counts(db):
    from judging.scoring.models import Score, ScoreHistory

    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(Score)),
            db.session.scalar(select(func.count()).select_from(ScoreHistory)))


def score_of(db, world, entry, judge):
    from judging.scoring.models import Score

    db.session.expire_all()
    return db.session.scalar(select(Score).where(Score.round_id == world.round.id, Score.entry_id == entry.id,
                                                 Score.judge_id == judge.id))


# --- Idempotency and versions ----------------------------------------------------------------------

def test_first_submit_is_201_and_the_same_key_replays(db, world, jc):
    first = jc.post("/api/v1/scores", json=payload(world))
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["ok"] is True and body["replayed"] is False
    assert body["score"]["version"] == 1 and body["score"]["total"] == "80.5"
    assert body["score"]["status"] == "submitted"

    again = jc.post("/api/v1/scores", json=payload(world))
    assert again.status_code == 200
    replay = again.get_json()
    assert replay["replayed"] is True
    assert replay["score"]["version"] == 1 and replay["score"]["total"] == "80.5"
    assert replay["score"]["values"] == body["score"]["values"]
    assert counts(db) == (1, 1)


def test_replay_matches_equal_numbers_written_differently(db, world, jc):
    assert jc.post("/api/v1/scores", json=payload(world, values={world.criteria[0].id: "50.0",
                                                                 world.criteria[1].id: 30})).status_code == 201
    again = jc.post("/api/v1/scores", json=payload(world, values={world.criteria[0].id: 50,
                                                                  world.criteria[1].id: "30.0"}))
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    assert counts(db) == (1, 1)


def test_same_key_with_another_payload_is_422_key_reused(db, world, jc):
    assert jc.post("/api/v1/scores", json=payload(world)).status_code == 201
    other = jc.post("/api/v1/scores", json=payload(world, values={world.criteria[0].id: "10",
                                                                  world.criteria[1].id: "10"}))
    assert other.status_code == 422
    assert other.get_json()["error"] == "key_reused"
    assert counts(db) == (1, 1)
    assert score_of(db, world, world.entries[0], world.judge).total == Decimal("80.5")


def test_a_key_another_judge_used_is_refused(db, app, world, jc):
    assert jc.post("/api/v1/scores", json=payload(world)).status_code == 201
    other = judge_client(app, world.judge2).post("/api/v1/scores", json=payload(world))
    assert other.status_code == 422 and other.get_json()["error"] == "key_reused"
    assert score_of(db, world, world.entries[0], world.judge2) is None


def test_stale_base_version_is_409_with_the_current_score(db, world, jc):
    assert jc.post("/api/v1/scores", json=payload(world, key="a")).status_code == 201
    stale = jc.post("/api/v1/scores", json=payload(world, key="b", base_version=0,
                                                   values={world.criteria[0].id: "1", world.criteria[1].id: "1"}))
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["error"] == "stale"
    assert body["current"]["version"] == 1 and body["current"]["total"] == "80.5"
    ahead = jc.post("/api/v1/scores", json=payload(world, key="c", base_version=7))
    assert ahead.status_code == 409 and ahead.get_json()["error"] == "stale"
    assert counts(db) == (1, 1)

    revised = jc.post("/api/v1/scores", json=payload(world, key="d", base_version=1,
                                                     values={world.criteria[0].id: "55", world.criteria[1].id: "35"}))
    assert revised.status_code == 200
    assert revised.get_json()["score"]["version"] == 2 and revised.get_json()["score"]["total"] == "90.0"
    assert counts(db) == (1, 2)


def test_a_submitted_score_cannot_go_back_to_draft(db, world, jc):
    assert jc.post("/api/v1/scores", json=payload(world, key="a")).status_code == 201
    back = jc.post("/api/v1/scores", json=payload(world, key="b", base_version=1, status="draft"))
    assert back.status_code == 409 and back.get_json()["error"] == "already_submitted"
    assert counts(db) == (1, 1)


def test_draft_then_submit_chains_versions(db, world, jc):
    draft = jc.post("/api/v1/scores", json=payload(world, key="a", status="draft",
                                                   values={world.criteria[0].id: "40"}))
    assert draft.status_code == 201 and draft.get_json()["score"]["status"] == "draft"
    final = jc.post("/api/v1/scores", json=payload(world, key="b", base_version=1))
    assert final.status_code == 200 and final.get_json()["score"]["version"] == 2
    assert score_of(db, world, world.entries[0], world.judge).status == "submitted"


# --- Validation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("first, second, status, expected", [
    ("60.5", "30", "submitted", "创新性：应在0到60分之间"),
    ("-1", "30", "submitted", "创新性：应在0到60分之间"),
    ("50", "40.1", "draft", "实用性：应在0到40分之间"),
    ("12.25", "30", "submitted", "创新性：最多一位小数"),
    ("abc", "30", "submitted", "创新性：应为数字"),
    ("50", None, "submitted", "实用性：提交前请打分"),
    ("50", "", "submitted", "实用性：提交前请打分"),
])
def test_invalid_values_are_422_naming_the_criterion(db, world, jc, first, second, status, expected):
    values = {world.criteria[0].id: first}
    if second is not None:
        values[world.criteria[1].id] = second
    response = jc.post("/api/v1/scores", json=payload(world, values=values, status=status))
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid"
    assert expected in body["message"]
    assert counts(db) == (0, 0)


def test_a_criterion_of_another_rubric_is_refused(db, world, jc):
    foreign = world.edition.categories[1].criteria[0]
    response = jc.post("/api/v1/scores", json=payload(world, values={**{c.id: "10" for c in world.criteria},
                                                                     foreign.id: "10"}))
    assert response.status_code == 422 and str(foreign.id) in response.get_json()["fields"]
    assert counts(db) == (0, 0)


def test_a_draft_may_leave_criteria_empty(db, world, jc):
    response = jc.post("/api/v1/scores", json=payload(world, status="draft", values={world.criteria[0].id: "12.5"}))
    assert response.status_code == 201
    assert response.get_json()["score"]["total"] == "12.5"


def test_malformed_requests(db, world, jc):
    assert jc.post("/api/v1/scores", data="not json", content_type="application/json").status_code == 400
    missing = jc.post("/api/v1/scores", json={"idempotency_key": "x", "values": {}})
    assert missing.status_code == 422
    no_key = jc.post("/api/v1/scores", json=payload(world, key=""))
    assert no_key.status_code == 422
    assert counts(db) == (0, 0)


# --- Locks, assignment, other judges, disqualification --------------------------------------------------

def test_a_locked_round_refuses_with_423_and_writes_nothing(db, world, jc):
    world.round.locked = True
    db.session.commit()
    response = jc.post("/api/v1/scores", json=payload(world))
    assert response.status_code == 423
    body = response.get_json()
    assert body["error"] == "locked" and "锁定" in body["message"] and "未保存" in body["message"]
    assert counts(db) == (0, 0)


def test_a_late_revision_after_the_lock_is_refused(db, world, jc):
    assert jc.post("/api/v1/scores", json=payload(world, key="a")).status_code == 201
    world.round.locked = True
    db.session.commit()
    late = jc.post("/api/v1/scores", json=payload(world, key="b", base_version=1,
                                                 values={world.criteria[0].id: "1", world.criteria[1].id: "1"}))
    assert late.status_code == 423
    assert counts(db) == (1, 1)
    assert score_of(db, world, world.entries[0], world.judge).version == 1
    # The queue says so, and the page still opens (read-only in the browser).
    queue = jc.get("/api/v1/queue").get_json()["queue"]
    assert all(item["locked"] for item in queue)


def test_an_entry_not_assigned_to_the_judge_gets_nothing(db, app, world, jc):
    from judging.scoring.operations import Submission, submit_score

    # judge2 scores entries[2]; judge (not assigned to it) tries to.
    status, _ = submit_score(world.judge2, Submission(idempotency_key="j2", round_id=world.round.id,
                                                      entry_id=world.entries[2].id,
                                                      values={c.id: "20" for c in world.criteria}))
    assert status == 201
    db.session.commit()
    response = jc.post("/api/v1/scores", json=payload(world, entry=world.entries[2], key="intruder"))
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"] == "not_assigned"
    assert "current" not in body and world.entries[2].title not in json.dumps(body, ensure_ascii=False)
    # Even with the right version he learns nothing and changes nothing.
    assert jc.post("/api/v1/scores", json=payload(world, entry=world.entries[2], key="intruder2",
                                                  base_version=1)).status_code == 404
    assert counts(db) == (1, 1)
    kept = score_of(db, world, world.entries[2], world.judge2)
    assert kept.version == 1 and kept.total == Decimal("40")
    # Nor through the pages and files.
    assert jc.get(f"/judge/entries/{world.round.id}/{world.entries[2].id}").status_code == 404
    assert jc.get(f"/judge/files/{world.other_photo.id}").status_code == 404
    assert world.entries[2].id not in [i["entry"]["id"] for i in jc.get("/api/v1/queue").get_json()["queue"]]


def test_unknown_entry_round_and_an_entry_of_another_round(db, world, jc):
    assert jc.post("/api/v1/scores", json=payload(world, key="x") | {"entry_id": 999999}).status_code == 404
    assert jc.post("/api/v1/scores", json=payload(world, key="y") | {"round_id": 999999}).status_code == 404
    final = next(r for r in world.edition.rounds if r.kind == "final")
    assert jc.post("/api/v1/scores", json=payload(world, key="z") | {"round_id": final.id}).status_code == 404
    assert counts(db) == (0, 0)


def test_another_judges_score_is_untouched(db, app, world, jc):
    other = judge_client(app, world.judge2)
    assert other.post("/api/v1/scores", json=payload(world, key="b1", values={c.id: "10" for c in world.criteria})
                      ).status_code == 201
    assert jc.post("/api/v1/scores", json=payload(world, key="a1")).status_code == 201  # his own first version
    assert jc.post("/api/v1/scores", json=payload(world, key="a2", base_version=1,
                                                  values={c.id: "30" for c in world.criteria})).status_code == 200
    mine = score_of(db, world, world.entries[0], world.judge)
    theirs = score_of(db, world, world.entries[0], world.judge2)
    assert (mine.version, mine.total) == (2, Decimal("60"))
    assert (theirs.version, theirs.total) == (1, Decimal("20"))
    # His queue shows his own score only.
    item = next(i for i in jc.get("/api/v1/queue").get_json()["queue"] if i["entry"]["id"] == world.entries[0].id)
    assert item["score"]["total"] == "60.0" and item["score"]["version"] == 2


def test_a_disqualified_entry_is_refused_and_leaves_the_queue(db, world, jc):
    world.entries[0].status = "disqualified"
    db.session.commit()
    response = jc.post("/api/v1/scores", json=payload(world))
    assert response.status_code == 409 and response.get_json()["error"] == "disqualified"
    assert counts(db) == (0, 0)
    queue = jc.get("/api/v1/queue").get_json()["queue"]
    assert world.entries[0].id not in [i["entry"]["id"] for i in queue]
    assert jc.get(f"/judge/entries/{world.round.id}/{world.entries[0].id}").status_code == 404
    assert jc.get(f"/judge/files/{world.photo.id}").status_code == 404


def test_a_disabled_round_hides_entries_and_files(db, world, jc):
    world.round.enabled = False
    db.session.commit()
    assert jc.get("/api/v1/queue").get_json()["queue"] == []
    assert jc.get(f"/judge/entries/{world.round.id}/{world.entries[0].id}").status_code == 404
    assert jc.get(f"/judge/files/{world.photo.id}").status_code == 404


# --- Who may call -------------------------------------------------------------------------------------

def test_anonymous_gets_401_json_and_other_roles_403_json(db, app, world, make_user):
    anonymous = app.test_client()
    for method, url in (("POST", "/api/v1/scores"), ("GET", "/api/v1/queue")):
        response = anonymous.open(url, method=method, json=payload(world))
        assert response.status_code == 401 and response.is_json
        assert response.get_json()["error"] == "unauthenticated"
    organizer = judge_client(app, make_user("organizer", username="org2"))
    coordinator = judge_client(app, make_user("coordinator", username="coord2"))
    for client in (organizer, coordinator):
        response = client.post("/api/v1/scores", json=payload(world))
        assert response.status_code == 403 and response.get_json()["error"] == "forbidden"
        assert client.get("/api/v1/queue").status_code == 403
        for url in ("/judge/", f"/judge/entries/{world.round.id}/{world.entries[0].id}",
                    f"/judge/files/{world.photo.id}"):
            assert client.get(url).status_code == 403, url
    for url in ("/judge/", f"/judge/entries/{world.round.id}/{world.entries[0].id}", f"/judge/files/{world.photo.id}"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert counts(db) == (0, 0)


def test_the_judge_lands_on_his_queue(db, world, jc):
    response = jc.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/judge/")


# --- Blind: no student, school or instructor in anything the judge reaches ---------------------------------

def _assert_blind(response, what: str):
    body = response.get_data()
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    for secret in SECRETS:
        assert secret.encode() not in body, f"{secret} in the body of {what}"
        assert secret not in headers, f"{secret} in the headers of {what}"
        # also as JSON escapes (\\uXXXX) and URL-encoded in a Content-Disposition
        assert json.dumps(secret).strip('"').encode() not in body, f"{secret} (escaped) in {what}"
        from urllib.parse import quote

        assert quote(secret) not in headers, f"{secret} (url-encoded) in the headers of {what}"


def test_no_student_school_or_instructor_in_any_judge_response(db, world, jc):
    seen = []

    def check(response, what):
        assert response.status_code < 500, what
        _assert_blind(response, what)
        seen.append(what)
        return response

    check(jc.get("/api/v1/queue"), "queue")
    check(jc.get("/", follow_redirects=True), "landing")
    check(jc.get("/judge/"), "judge_home")
    for entry in world.entries[:2]:
        check(jc.get(f"/judge/entries/{world.round.id}/{entry.id}"), f"judge_entry {entry.code}")
    check(jc.get(f"/judge/entries/{world.round.id}/{world.entries[2].id}"), "judge_entry not assigned")
    for attachment in (world.photo, world.paper, world.other_photo):
        check(jc.get(f"/judge/files/{attachment.id}"), f"judge_file {attachment.id}")
    check(jc.get("/judge/sw.js"), "service worker")
    check(jc.post("/api/v1/scores", json=payload(world, key="a")), "201")
    check(jc.post("/api/v1/scores", json=payload(world, key="a")), "replay")
    check(jc.post("/api/v1/scores", json=payload(world, key="b")), "409 stale")
    check(jc.post("/api/v1/scores", json=payload(world, key="a", base_version=3)), "422 key_reused")
    check(jc.post("/api/v1/scores", json=payload(world, key="c", entry=world.entries[2])), "404")
    world.round.locked = True
    db.session.commit()
    check(jc.post("/api/v1/scores", json=payload(world, key="d", base_version=1)), "423")
    check(jc.get("/judge/"), "judge_home locked")
    assert len(seen) == 17

    # The queue carries the blind fields only.
    item = jc.get("/api/v1/queue").get_json()["queue"][0]
    assert set(item["entry"]) == {"id", "code", "title", "category", "subform", "division", "description",
                                  "video_url", "attachments"}
    assert set(item["entry"]["attachments"][0]) == {"id", "kind"}


def test_judge_file_serves_under_a_neutral_name(db, world, jc):
    photo = jc.get(f"/judge/files/{world.photo.id}")
    assert photo.status_code == 200
    assert photo.mimetype == "image/png"
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    code = world.entries[0].code
    assert photo.headers["Content-Disposition"] == f"inline; filename={code}-1.png"
    assert photo.get_data() == _png()
    paper = jc.get(f"/judge/files/{world.paper.id}")
    assert paper.status_code == 200 and paper.mimetype == "application/pdf"
    assert paper.headers["Content-Disposition"] == f"inline; filename={code}-2.pdf"
    assert paper.get_data().startswith(b"%PDF")
    assert jc.get("/judge/files/999999").status_code == 404


def test_the_pages_embed_the_queue_as_data(db, world, jc):
    assert jc.post("/api/v1/scores", json=payload(world, key="a")).status_code == 201
    page = jc.get("/judge/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<meta name="csrf-token"' in html
    assert 'id="queue-data"' in html and 'type="application/json"' in html
    assert "<script>" not in html  # the CSP allows no inline script; data blocks do not execute
    import re

    data = json.loads(re.search(r'<script type="application/json" id="queue-data">(.*?)</script>', html, re.S).group(1))
    assert [i["entry"]["id"] for i in data["queue"]] == [e.id for e in world.entries[:2]]
    assert data["queue"][0]["score"]["version"] == 1
    config = json.loads(re.search(r'<script type="application/json" id="judge-config">(.*?)</script>', html,
                                  re.S).group(1))
    assert config["judge_id"] == world.judge.id and config["urls"]["api_scores"] == "/api/v1/scores"
    # Progress per round: submitted / assigned.
    assert "<b>1</b> / 2" in html
    entry_page = jc.get(f"/judge/entries/{world.round.id}/{world.entries[1].id}")
    assert entry_page.status_code == 200 and world.entries[1].code in entry_page.get_data(as_text=True)


def test_the_service_worker_is_served_for_the_judge_scope(db, app):
    response = app.test_client().get("/judge/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/judge/"
    assert response.headers["Cache-Control"] == "no-cache"
    assert b"addEventListener('fetch'" in response.get_data()


# --- The history -------------------------------------------------------------------------------------------

def test_every_accepted_write_appends_one_history_row_and_the_scores_rebuild(db, app, world, jc):
    from judging.scoring.models import Score, ScoreHistory
    from judging.scoring.operations import rebuild_current_scores

    other = judge_client(app, world.judge2)
    c1, c2 = (c.id for c in world.criteria)
    steps = [  # (client, payload, accepted?)
        (jc, payload(world, key="1", status="draft", values={c1: "20"}), True),
        (jc, payload(world, key="1", status="draft", values={c1: "20"}), False),  # replay
        (jc, payload(world, key="2", base_version=1, values={c1: "45", c2: "30"}), True),
        (jc, payload(world, key="3", base_version=1, values={c1: "1", c2: "1"}), False),  # stale
        (jc, payload(world, key="4", base_version=2, values={c1: "70", c2: "30"}), False),  # out of range
        (jc, payload(world, key="5", base_version=2, values={c1: "46.5", c2: "30"}, comment="改"), True),
        (jc, payload(world, entry=world.entries[1], key="6", values={c1: "33.3", c2: "22.2"}), True),
        (other, payload(world, key="7", values={c1: "10", c2: "10"}), True),
        (other, payload(world, entry=world.entries[2], key="8", status="draft", values={c2: "5"}), True),
        (other, payload(world, entry=world.entries[2], key="9", base_version=1, values={c1: "9", c2: "5"}), True),
    ]
    accepted = 0
    for client, body, ok in steps:
        before = counts(db)[1]
        response = client.post("/api/v1/scores", json=body)
        assert (response.status_code < 300 and not response.get_json()["replayed"]) == ok, (body, response.get_json())
        accepted += ok
        assert counts(db)[1] == before + (1 if ok else 0)
    assert counts(db) == (4, accepted)

    # History is append-only: one row per version of each score, versions 1..n without gaps.
    rows = db.session.scalars(select(ScoreHistory).order_by(ScoreHistory.id)).all()
    by_score: dict = {}
    for row in rows:
        by_score.setdefault((row.entry_id, row.judge_id), []).append(row.version)
    assert all(versions == list(range(1, len(versions) + 1)) for versions in by_score.values())

    rebuilt = rebuild_current_scores(world.round.id)
    scores = db.session.scalars(select(Score)).all()
    assert len(rebuilt) == len(scores)
    for score in scores:
        state = rebuilt[(score.entry_id, score.judge_id)]
        assert state["version"] == score.version
        assert state["status"] == score.status
        assert state["total"] == score.total
        assert state["comment"] == score.comment
        assert state["values"] == {str(v.criterion_id): format(v.points, "f") for v in score.values}


def test_history_rows_cannot_be_changed(db, world, jc):
    from judging.core.models import AppendOnlyError
    from judging.scoring.models import ScoreHistory

    assert jc.post("/api/v1/scores", json=payload(world)).status_code == 201
    row = db.session.scalar(select(ScoreHistory))
    row.comment = "篡改"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()


# --- The race: 30 tablets send the same first score at once -----------------------------------------------

THREADS = 30


def _race(make_app, world, payloads):
    """Each thread has its own app (engine, pool) and logged-in client; all post at the barrier."""
    from judging.extensions import db

    username = world.judge.username
    # Outside a request this test's own session begins with BEGIN IMMEDIATE on SQLite: end it, or it
    # holds the write lock the 30 tablets wait for.
    db.session.close()
    clients = []
    for _ in range(THREADS):
        app = make_app()
        client = app.test_client()
        assert login(client, username).status_code == 302
        clients.append(client)
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def run(i):
        barrier.wait()
        try:
            response = clients[i].post("/api/v1/scores", json=payloads[i])
            results[i] = (response.status_code, response.get_json())
        except Exception as exc:  # noqa: BLE001 - reported below
            results[i] = (None, repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_thirty_simultaneous_identical_first_submissions_store_one_score(db, make_app, world):
    body = payload(world, key="same-key-for-all")
    results = _race(make_app, world, [body] * THREADS)
    statuses = sorted(status for status, _ in results)
    assert all(status in (200, 201) for status in statuses), results
    assert statuses.count(201) == 1, statuses
    assert {answer["score"]["version"] for _, answer in results} == {1}
    assert sum(answer["replayed"] for _, answer in results) == THREADS - 1
    assert counts(db) == (1, 1)


def test_thirty_simultaneous_first_submissions_with_different_keys_store_one_score(db, make_app, world):
    results = _race(make_app, world, [payload(world, key=f"key-{i}") for i in range(THREADS)])
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1, results
    assert statuses.count(409) == THREADS - 1, results
    assert all(answer["error"] == "stale" and answer["current"]["version"] == 1
               for status, answer in results if status == 409), results
    assert counts(db) == (1, 1)
