"""Every registered route, for every role, answers as this table says.

A new route without a row here fails the suite: decide who may see it first.
"""
from __future__ import annotations

import pytest
from flask_wtf import FlaskForm  # noqa: F401

from tests.conftest import login

ANON, ORG, COORD, JUDGE = "anonymous", "organizer", "coordinator", "judge"

# The usual answers: organizer-only pages send anonymous users to the login page and refuse others.
ORGANIZER_PAGE = {ANON: 302, ORG: 200, COORD: 403, JUDGE: 403}
ORGANIZER_POST = {ANON: 302, ORG: 302, COORD: 403, JUDGE: 403}
LOGGED_IN_PAGE = {ANON: 302, ORG: 200, COORD: 200, JUDGE: 200}
SCHOOL_PAGE = {ANON: 302, ORG: 200, COORD: 200, JUDGE: 403}
OTHER_SCHOOLS_ENTRY = {ANON: 302, ORG: 200, COORD: 404, JUDGE: 403}

# endpoint: (method, expected status per role)
EXPECTED: dict[str, tuple[str, dict[str, int]]] = {
    "core.index": ("GET", {ANON: 302, ORG: 302, COORD: 302, JUDGE: 302}),
    "core.home": ("GET", LOGGED_IN_PAGE),
    "core.login": ("GET", {ANON: 200, ORG: 302, COORD: 302, JUDGE: 302}),
    "core.logout": ("POST", {ANON: 302, ORG: 302, COORD: 302, JUDGE: 302}),
    "core.change_password": ("GET", LOGGED_IN_PAGE),
    "core.set_language": ("POST", {ANON: 302, ORG: 302, COORD: 302, JUDGE: 302}),
    "contests.dashboard": ("GET", ORGANIZER_PAGE),
    "contests.edition_new": ("GET", ORGANIZER_PAGE),
    "contests.edition": ("GET", ORGANIZER_PAGE),
    "contests.edition_settings": ("GET", ORGANIZER_PAGE),
    "contests.edition_copy": ("GET", ORGANIZER_PAGE),
    "contests.categories": ("GET", ORGANIZER_PAGE),
    "contests.category_form": ("GET", ORGANIZER_PAGE),
    "contests.category_delete": ("POST", ORGANIZER_POST),
    "contests.rubric": ("GET", ORGANIZER_PAGE),
    "contests.divisions": ("GET", ORGANIZER_PAGE),
    "contests.division_form": ("GET", ORGANIZER_PAGE),
    "contests.division_delete": ("POST", ORGANIZER_POST),
    "contests.rounds": ("GET", ORGANIZER_PAGE),
    "contests.prizes": ("GET", ORGANIZER_PAGE),
    "contests.quotas": ("GET", ORGANIZER_PAGE),
    "contests.certificate_settings": ("GET", ORGANIZER_PAGE),
    "contests.audit_log": ("GET", ORGANIZER_PAGE),
    "people.schools": ("GET", ORGANIZER_PAGE),
    "people.school_form": ("GET", ORGANIZER_PAGE),
    "people.school_delete": ("POST", ORGANIZER_POST),
    "people.schools_template": ("GET", ORGANIZER_PAGE),
    "people.schools_import": ("GET", ORGANIZER_PAGE),
    "people.users": ("GET", ORGANIZER_PAGE),
    "people.user_form": ("GET", ORGANIZER_PAGE),
    "people.user_reset_password": ("POST", {ANON: 302, ORG: 200, COORD: 403, JUDGE: 403}),
    "people.users_template": ("GET", ORGANIZER_PAGE),
    "people.users_import": ("GET", ORGANIZER_PAGE),
    # Registration, organizer side
    "registration.entries": ("GET", ORGANIZER_PAGE),
    "registration.review": ("POST", ORGANIZER_POST),
    "registration.bulk_review": ("POST", ORGANIZER_POST),
    "registration.checkin": ("GET", ORGANIZER_PAGE),
    "registration.checkin_undo": ("POST", ORGANIZER_POST),
    # Registration, school side: the route test's coordinator belongs to another school than the entry
    "registration.my_entries": ("GET", SCHOOL_PAGE),
    "registration.entry_new": ("GET", SCHOOL_PAGE),
    "registration.entry_detail": ("GET", OTHER_SCHOOLS_ENTRY),
    "registration.entry_edit": ("GET", OTHER_SCHOOLS_ENTRY),
    "registration.attachment_file": ("GET", {ANON: 302, ORG: 200, COORD: 404, JUDGE: 404}),
    "registration.attachment_upload": ("POST", {ANON: 302, ORG: 302, COORD: 404, JUDGE: 403}),
    "registration.attachment_delete": ("POST", {ANON: 302, ORG: 302, COORD: 404, JUDGE: 403}),
    "registration.entry_delete": ("POST", {ANON: 302, ORG: 302, COORD: 404, JUDGE: 403}),
    "registration.entries_template": ("GET", SCHOOL_PAGE),
    "registration.entries_import": ("GET", SCHOOL_PAGE),
    # Scoring: the tablets' JSON API answers 401/403 as JSON instead of redirecting
    "scoring.api_queue": ("GET", {ANON: 401, ORG: 403, COORD: 403, JUDGE: 200}),
    "scoring.api_submit_score": ("POST", {ANON: 401, ORG: 403, COORD: 403, JUDGE: 400}),
    "scoring.panels": ("GET", ORGANIZER_PAGE),
    "scoring.panel": ("GET", ORGANIZER_PAGE),
    "scoring.conflicts": ("GET", ORGANIZER_PAGE),
    "scoring.panel_assign": ("POST", ORGANIZER_POST),
    "scoring.assignment_move": ("POST", ORGANIZER_POST),
    "scoring.judge_reassign": ("POST", ORGANIZER_POST),
    "scoring.conflict_delete": ("POST", ORGANIZER_POST),
    "scoring.progress": ("GET", ORGANIZER_PAGE),
    "scoring.round_lock": ("POST", ORGANIZER_POST),
    "scoring.score_sheets_pdf": ("GET", ORGANIZER_PAGE),
    "scoring.paper_template": ("GET", ORGANIZER_PAGE),
    "scoring.paper_import": ("GET", ORGANIZER_PAGE),
    "scoring.judge_home": ("GET", {ANON: 302, ORG: 403, COORD: 403, JUDGE: 200}),
    "scoring.judge_entry": ("GET", {ANON: 302, ORG: 403, COORD: 403, JUDGE: 404}),  # not his entry
    "scoring.judge_file": ("GET", {ANON: 302, ORG: 403, COORD: 403, JUDGE: 404}),
    "scoring.service_worker": ("GET", {ANON: 200, ORG: 200, COORD: 200, JUDGE: 200}),
    "registration.labels_pdf": ("GET", SCHOOL_PAGE),
    "registration.catalogue_pdf": ("GET", SCHOOL_PAGE),
    "registration.catalogue_xlsx": ("GET", SCHOOL_PAGE),
    # --- results: compute, overrides, advancement, publication, objections, public pages (views.py)
    "results.overview": ("GET", ORGANIZER_PAGE),
    "results.round_results": ("GET", ORGANIZER_PAGE),
    "results.snapshot": ("GET", ORGANIZER_PAGE),
    "results.compute": ("POST", ORGANIZER_POST),
    "results.override_set": ("POST", ORGANIZER_POST),
    "results.override_delete": ("POST", {ANON: 302, ORG: 404, COORD: 403, JUDGE: 403}),  # no override to undo
    "results.advance": ("POST", ORGANIZER_POST),
    "results.confirm_missing": ("POST", ORGANIZER_POST),
    "results.publish": ("POST", ORGANIZER_POST),
    "results.finalize": ("POST", ORGANIZER_POST),
    "results.objection_new": ("POST", ORGANIZER_POST),
    "results.objection_resolve": ("POST", ORGANIZER_POST),
    "results.public_index": ("GET", {ANON: 200, ORG: 200, COORD: 200, JUDGE: 200}),
    # The world's snapshot is a draft: it does not exist for the public, organizers included.
    "results.public_snapshot": ("GET", {ANON: 404, ORG: 404, COORD: 404, JUDGE: 404}),
    # --- results: judge analytics (analytics_views.py)
    "results.analytics": ("GET", ORGANIZER_PAGE),
    # --- results: exports (export_views.py)
    "results.export_results_xlsx": ("GET", ORGANIZER_PAGE),
    "results.export_results_pdf": ("GET", ORGANIZER_PAGE),
    "results.export_schools_xlsx": ("GET", ORGANIZER_PAGE),
    "results.export_schools_pdf": ("GET", ORGANIZER_PAGE),
    "results.export_workbook": ("GET", ORGANIZER_PAGE),
    # The public lists of the world's draft snapshot do not exist, for organizers too.
    "results.export_public_pdf": ("GET", {ANON: 404, ORG: 404, COORD: 404, JUDGE: 404}),
    "results.export_public_xlsx": ("GET", {ANON: 404, ORG: 404, COORD: 404, JUDGE: 404}),
    # --- exchange: the contest workbook
    "exchange.index": ("GET", ORGANIZER_PAGE),
    "exchange.import_workbook": ("GET", ORGANIZER_PAGE),
    "exchange.export_workbook": ("GET", ORGANIZER_PAGE),
    "exchange.results_workbook": ("GET", ORGANIZER_PAGE),  # the world's draft snapshot: organizer only
    # --- printing: certificates and verification (views.py)
    # The world's snapshot is a draft: the page says so, issuing and printing are refused with a flash.
    "printing.certificates": ("GET", ORGANIZER_PAGE),
    "printing.certificates_issue": ("POST", ORGANIZER_POST),
    "printing.certificates_print": ("POST", ORGANIZER_POST),
    "printing.certificates_sample": ("GET", ORGANIZER_PAGE),  # a specimen, printable at any time
    "printing.certificates_register": ("GET", ORGANIZER_PAGE),
    # Without ?number= / ?id= / ?which= there is nothing to show.
    "printing.certificate_pdf": ("GET", {ANON: 302, ORG: 404, COORD: 403, JUDGE: 403}),
    "printing.certificates_job": ("GET", {ANON: 302, ORG: 404, COORD: 403, JUDGE: 403}),
    "printing.certificates_job_status": ("GET", {ANON: 401, ORG: 404, COORD: 403, JUDGE: 403}),
    "printing.certificates_job_download": ("GET", {ANON: 302, ORG: 404, COORD: 403, JUDGE: 403}),
    "printing.certificate_images": ("POST", ORGANIZER_POST),
    "printing.certificate_image": ("GET", {ANON: 302, ORG: 404, COORD: 403, JUDGE: 403}),
    "printing.verify": ("GET", {ANON: 200, ORG: 200, COORD: 200, JUDGE: 200}),
    # "en" is no signed token: not found, for everyone.
    "printing.verify_token": ("GET", {ANON: 404, ORG: 404, COORD: 404, JUDGE: 404}),
    # --- printing: instructor reward sheets (reward_views.py)
    # The world's results are not final: the page says so, downloads go back to it (302 with the reason
    # flashed); the coordinator's own-school sheet answers 409 until final; organizers use the admin URL.
    "printing.rewards_page": ("GET", ORGANIZER_PAGE),
    "printing.rewards_xlsx": ("GET", {ANON: 302, ORG: 302, COORD: 403, JUDGE: 403}),
    "printing.rewards_pdf": ("GET", {ANON: 302, ORG: 302, COORD: 403, JUDGE: 403}),
    "printing.school_rewards_pdf": ("GET", {ANON: 302, ORG: 403, COORD: 409, JUDGE: 403}),
}

SKIPPED = {"static"}


def _routes(app):
    """Pages first, then the POST routes (which may delete the objects the pages show)."""
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED]
    return sorted(rules, key=lambda r: (EXPECTED.get(r.endpoint, ("GET",))[0] == "POST", r.rule))


@pytest.fixture
def world(db, make_user, make_school, edition):
    """One object of each kind, so every URL can be filled in."""
    school = make_school("路由测试学校")
    users = {
        ORG: make_user("organizer", username="route_org"),
        COORD: make_user("coordinator", username="route_coord", school=school),
        JUDGE: make_user("judge", username="route_judge"),
    }
    target = make_user("judge", username="route_target")
    entry, attachment = _entry_with_attachment(db, make_school("作品所在学校"), edition, users[ORG])
    panel_id, conflict_id = _panel_and_conflict(db, edition, entry, users)
    snapshot_id, objection_id = _snapshot_and_objection(db, edition, entry, users)
    ids = {
        "snapshot_id": snapshot_id,
        "objection_id": objection_id,
        "panel_id": panel_id,
        "conflict_id": conflict_id,
        "round_id": next(r.id for r in edition.rounds if r.kind == "final"),
        "entry_id": entry.id,
        "attachment_id": attachment.id,
        "edition_id": edition.id,
        "category_id": edition.categories[0].id,
        "division_id": edition.divisions[0].id,
        "school_id": school.id,
        "user_id": target.id,
        "code": "en",
    }
    return users, ids


def _entry_with_attachment(db, school, edition, user):
    """An entry of a school the route test's coordinator does not belong to, with a stored PNG."""
    import hashlib
    import io
    from pathlib import Path

    from flask import current_app
    from PIL import Image

    from judging.registration.models import Attachment
    from judging.registration.operations import create_entry
    from judging.registration.rules import EntryInput, StudentInput

    entry, _ = create_entry(edition, school, EntryInput(
        title="路由测试作品", category_id=edition.categories[0].id, division_id=edition.divisions[0].id,
        students=[StudentInput("路由", "男", "五年级", "1班")]), user)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    data = buffer.getvalue()
    stored = "ab" + "0" * 30 + ".png"
    path = Path(current_app.config["UPLOAD_DIR"]) / "attachments" / stored[:2] / stored
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    attachment = Attachment(entry=entry, kind="image", original_name="a.png", stored_name=stored,
                            content_type="image/png", size=len(data), sha256=hashlib.sha256(data).hexdigest())
    db.session.add(attachment)
    db.session.commit()
    return entry, attachment


def _panel_and_conflict(db, edition, entry, users):
    from judging.scoring import panels
    from judging.scoring.models import Conflict

    final = next(r for r in edition.rounds if r.kind == "final")
    panel = panels.create_panel(final, edition.categories[0], edition.divisions[0], users[ORG])
    conflict = Conflict(edition_id=edition.id, judge_id=users[JUDGE].id, entry_id=entry.id, reason="亲属")
    db.session.add(conflict)
    db.session.commit()
    return panel.id, conflict.id


def _snapshot_and_objection(db, edition, entry, users):
    """A draft result snapshot of the final round (never published) and an objection recorded on it."""
    from datetime import date

    from judging.results.models import Objection
    from judging.results.operations import compute_results

    final = next(r for r in edition.rounds if r.kind == "final")
    snapshot = compute_results(edition, final, users[ORG])
    objection = Objection(edition_id=edition.id, round_id=final.id, snapshot_id=snapshot.id, entry_id=entry.id,
                          received_on=date(2026, 12, 1), raised_by="家长", contact="13800000000", content="分数有误")
    db.session.add(objection)
    db.session.commit()
    return snapshot.id, objection.id


def test_every_route_has_an_expected_answer(app):
    missing = sorted({r.endpoint for r in _routes(app)} - set(EXPECTED))
    assert not missing, f"routes without a row in EXPECTED: {missing}"
    stale = sorted(set(EXPECTED) - {r.endpoint for r in _routes(app)})
    assert not stale, f"rows for routes that no longer exist: {stale}"


def test_every_view_declares_its_access_policy(app):
    undeclared = sorted(endpoint for endpoint, view in app.view_functions.items()
                        if endpoint not in SKIPPED and not hasattr(view, "access_policy"))
    assert not undeclared, f"views without @public / @roles_required: {undeclared}"


@pytest.mark.parametrize("role", [ANON, ORG, COORD, JUDGE])
def test_each_role_gets_the_expected_answer(app, world, role):
    users, ids = world
    failures = []
    for rule in _routes(app):
        method, expected = EXPECTED[rule.endpoint]
        args = {name: ids[name] for name in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **args)
        client = app.test_client()
        if role != ANON:
            assert login(client, users[role]).status_code == 302
        response = client.open(url, method=method)
        if response.status_code != expected[role]:
            failures.append(f"{method} {url} as {role}: {response.status_code}, expected {expected[role]}")
        if role == ANON and expected[role] == 302 and rule.endpoint not in ("core.index", "core.logout",
                                                                              "core.set_language"):
            assert "/login" in response.headers["Location"], url
    assert not failures, "\n".join(failures)


def test_post_routes_refuse_a_missing_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        from judging.core.models import User
        from judging.core.security import hash_password
        from judging.extensions import db

        organizer = User(username="org", display_name="组委会", role="organizer",
                         password_hash=hash_password("secret123"))
        db.session.add(organizer)
        db.session.commit()
        organizer_id = organizer.id
    # Log in through the real form with its token.
    page = client.get("/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": "org", "password": "secret123",
                                       "csrf_token": token}).status_code == 302
    with app.app_context():
        from judging.contests import operations as ops

        edition = ops.create_edition({"name": "CSRF县大赛", "number": 1, "code": "C"})
        category = ops.save_category(edition, {"code": "XF", "name": "小发明", "max_students": 3,
                                               "max_instructors": 2})
        division = ops.save_division(edition, {"code": "X", "name": "小学组"})
        db.session.commit()
        ids = {"edition_id": edition.id, "category_id": category.id, "division_id": division.id,
               "school_id": 1, "user_id": organizer_id, "code": "en", "entry_id": 1, "attachment_id": 1,
               "panel_id": 1, "conflict_id": 1, "round_id": 1, "snapshot_id": 1, "objection_id": 1}
    refused = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **{n: ids[n] for n in rule.arguments})
        response = client.post(url, data={})
        refused.append((url, response.status_code))
    assert refused and all(status == 400 for _, status in refused), refused
