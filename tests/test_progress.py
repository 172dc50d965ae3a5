"""The progress board: counts per panel and judge from set-based queries, submitted totals per
entry with outliers flagged, locking a round with a logged reason, and who may see it."""
from __future__ import annotations

import itertools
import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from judging.core.models import AuditEvent
from judging.scoring.models import Assignment, Panel, PanelJudge, Score
from judging.scoring.operations import Submission, submit_score
from judging.scoring.progress import load_round_progress, median, outliers
from tests.conftest import login

# --- The outlier rule ------------------------------------------------------------------------------------

D = Decimal


def test_outliers_hand_case():
    totals = {1: D("80"), 2: D("82"), 3: D("81"), 4: D("79"), 5: D("40")}
    assert outliers(totals) == {5}


def test_outliers_floor_of_fifteen_points():
    # Median 80, MAD 0: 95 is exactly 15 away (not flagged), 95.1 is farther (flagged).
    assert outliers({1: D("80"), 2: D("80"), 3: D("80"), 4: D("95")}) == set()
    assert outliers({1: D("80"), 2: D("80"), 3: D("80"), 4: D("95.1")}) == {4}


def test_outliers_three_mads_when_the_panel_disagrees_anyway():
    # Median 60, deviations 0, 10, 10, 20, 20 -> MAD 10, allowed 30: nothing is flagged although
    # 40 and 80 are 20 away; 95 (35 away) would be.
    assert outliers({1: D("60"), 2: D("50"), 3: D("70"), 4: D("40"), 5: D("80")}) == set()
    assert outliers({1: D("60"), 2: D("50"), 3: D("70"), 4: D("40"), 5: D("95")}) == {5}


def test_median_of_an_even_count_is_the_mean_of_the_middle_two():
    assert median([D("1"), D("4"), D("2"), D("3")]) == D("2.5")
    assert median([D("7")]) == D("7")


totals_strategy = st.dictionaries(
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=0, max_value=1000).map(lambda n: D(n) / 10),
    max_size=12)


@settings(max_examples=300, deadline=None)
@given(totals=totals_strategy, shift=st.integers(min_value=-1000, max_value=1000).map(lambda n: D(n) / 10))
def test_adding_a_constant_to_all_totals_does_not_change_the_flags(totals, shift):
    assert outliers({k: v + shift for k, v in totals.items()}) == outliers(totals)


@settings(max_examples=200, deadline=None)
@given(totals=st.dictionaries(st.integers(), st.decimals(min_value=0, max_value=100, places=1), max_size=2))
def test_nothing_is_flagged_with_fewer_than_three_totals(totals):
    assert outliers(totals) == set()


@settings(max_examples=300, deadline=None)
@given(totals=totals_strategy)
def test_a_flagged_total_is_far_from_the_median_and_at_most_half_are_flagged(totals):
    flagged = outliers(totals)
    assert flagged <= set(totals)
    assert len(flagged) <= len(totals) // 2
    if flagged:
        centre = median(totals.values())
        assert all(abs(totals[k] - centre) > 15 for k in flagged)


# --- A round with a panel --------------------------------------------------------------------------------

def scored(judge, entry, rnd, values: dict, status="submitted"):
    """Write a score through the real operation (version taken from the current row)."""
    from judging.extensions import db

    current = db.session.scalar(select(Score).where(Score.round_id == rnd.id, Score.entry_id == entry.id,
                                                    Score.judge_id == judge.id))
    status_code, body = submit_score(judge, Submission(
        idempotency_key=uuid.uuid4().hex, round_id=rnd.id, entry_id=entry.id, values=values, status=status,
        base_version=current.version if current else 0))
    assert status_code in (200, 201), body
    db.session.commit()
    return body


def xf_values(entry, innovation, usefulness=None):
    first, second = entry.category.criteria
    values = {first.id: str(innovation)}
    if usefulness is not None:
        values[second.id] = str(usefulness)
    return values


@pytest.fixture
def prelim(edition):
    return next(r for r in edition.rounds if r.kind == "preliminary")


@pytest.fixture
def make_panel(db, edition):
    def factory(rnd, judges, entries, category=None, division=None):
        panel = Panel(edition_id=edition.id, round_id=rnd.id, category_id=(category or edition.categories[0]).id,
                      division_id=(division or edition.divisions[0]).id)
        db.session.add(panel)
        db.session.flush()
        for judge in judges:
            db.session.add(PanelJudge(panel_id=panel.id, judge_id=judge.id))
        for entry in entries:
            for judge in judges:
                db.session.add(Assignment(round_id=rnd.id, panel_id=panel.id, entry_id=entry.id, judge_id=judge.id))
        db.session.commit()
        return panel

    return factory


@pytest.fixture
def board_world(db, make_user, make_school, make_entry, make_panel, prelim):
    school = make_school("进度测试学校")
    judges = [make_user("judge", display_name=f"评委{n}") for n in range(1, 4)]
    entries = [make_entry(school, title=f"进度作品{n}") for n in range(1, 5)]
    panel = make_panel(prelim, judges, entries)
    return judges, entries, panel


def test_counts_per_panel_and_judge(db, board_world, prelim):
    (a, b, c), entries, panel = board_world
    scored(a, entries[0], prelim, xf_values(entries[0], 50, 30))
    scored(a, entries[1], prelim, xf_values(entries[1], 40, 20))
    scored(a, entries[2], prelim, xf_values(entries[2], 40), status="draft")
    for entry in entries:
        scored(b, entry, prelim, xf_values(entry, 45, 35))

    board = load_round_progress(prelim)
    assert len(board.panels) == 1
    rows = {j.judge_id: j for j in board.panels[0].judges}
    assert [j.judge_id for j in board.panels[0].judges] == [a.id, b.id, c.id]  # the panel's order
    assert (rows[a.id].assigned, rows[a.id].submitted, rows[a.id].drafts, rows[a.id].untouched) == (4, 2, 1, 1)
    assert (rows[b.id].assigned, rows[b.id].submitted, rows[b.id].drafts) == (4, 4, 0)
    assert rows[b.id].done and not rows[a.id].done
    assert (rows[c.id].assigned, rows[c.id].submitted, rows[c.id].drafts, rows[c.id].last_activity) == (4, 0, 0, None)
    assert rows[a.id].last_activity is not None and rows[b.id].last_activity is not None
    assert (board.assigned, board.submitted, board.drafts) == (12, 6, 1)

    totals = {e.code: e for e in board.panels[0].entries}
    first = totals[entries[0].code]
    assert first.totals == {a.id: D("80"), b.id: D("80")}
    assert first.assigned == 3 and first.submitted == 2
    third = totals[entries[2].code]
    assert third.totals == {b.id: D("80")} and third.drafts == 1  # a draft is not a submitted total


def test_a_judge_without_assignments_and_a_disqualified_entry(db, board_world, prelim, make_user, organizer):
    from judging.registration.models import Entry

    (a, b, c), entries, panel = board_world
    spare = make_user("judge", display_name="候补评委")
    db.session.add(PanelJudge(panel_id=panel.id, judge_id=spare.id, active=False))
    scored(a, entries[3], prelim, xf_values(entries[3], 50, 30))
    db.session.get(Entry, entries[3].id).status = "disqualified"
    db.session.commit()

    board = load_round_progress(prelim)
    rows = {j.judge_id: j for j in board.panels[0].judges}
    assert (rows[spare.id].assigned, rows[spare.id].active) == (0, False)
    assert (rows[a.id].assigned, rows[a.id].submitted) == (3, 0)  # the disqualified entry is not counted
    assert entries[3].code not in {e.code for e in board.panels[0].entries}


def test_the_board_reads_a_round_in_a_fixed_number_of_queries(db, make_user, make_school, make_entry, make_panel,
                                                               prelim, edition):
    def queries_for_board():
        counted = []

        def count(*args):
            counted.append(1)

        db.session.expire_all()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            board = load_round_progress(prelim)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(counted), board

    school = make_school()
    judges = [make_user("judge") for _ in range(3)]
    entries = [make_entry(school) for _ in range(2)]
    make_panel(prelim, judges, entries)
    for judge, entry in itertools.product(judges, entries):
        scored(judge, entry, prelim, xf_values(entry, 50, 30))
    small, _ = queries_for_board()

    more_judges = [make_user("judge") for _ in range(4)]
    more_entries = [make_entry(school, division=edition.divisions[1]) for _ in range(6)]
    make_panel(prelim, more_judges, more_entries, division=edition.divisions[1])
    for judge, entry in itertools.product(more_judges, more_entries):
        scored(judge, entry, prelim, xf_values(entry, 40, 30))
    large, board = queries_for_board()
    assert large == small, (small, large)
    assert board.submitted == 6 + 24


def test_outlier_flagged_on_the_board_and_the_page(db, make_user, make_school, make_entry, make_panel, prelim,
                                                   edition, org_client):
    school = make_school()
    judges = [make_user("judge", display_name=f"离群评委{n}") for n in range(1, 6)]
    entry = make_entry(school, title="离群测试作品")
    calm = make_entry(school, title="一致作品")
    make_panel(prelim, judges, [entry, calm])
    for judge, total in zip(judges, (80, 82, 81, 79, 40)):
        scored(judge, entry, prelim, xf_values(entry, total - 30, 30))
        scored(judge, calm, prelim, xf_values(calm, 50, 30))

    board = load_round_progress(prelim)
    by_code = {e.code: e for e in board.panels[0].entries}
    assert by_code[entry.code].flagged == {judges[4].id}
    assert by_code[entry.code].median == D("80")
    assert by_code[calm.code].flagged == set()
    assert board.flagged == 1 and board.flagged_entries == 1

    page = org_client.get(f"/admin/editions/{edition.id}/progress?round={prelim.id}").get_data(as_text=True)
    assert "评分离群" in page
    assert 'class="chip outlier"' in page and "离群评委5" in page
    assert page.count('class="chip outlier"') == 1
    flagged_only = org_client.get(f"/admin/editions/{edition.id}/progress?round={prelim.id}&only=flagged")
    text = flagged_only.get_data(as_text=True)
    assert entry.code in text and calm.code not in text


def test_progress_page_without_panels(org_client, edition):
    response = org_client.get(f"/admin/editions/{edition.id}/progress")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "本轮还没有评审组" in text and "评审进度" in text


def test_progress_page_lists_judges_and_counts(org_client, board_world, prelim, edition):
    (a, b, c), entries, panel = board_world
    scored(a, entries[0], prelim, xf_values(entries[0], 50, 30))
    text = org_client.get(f"/admin/editions/{edition.id}/progress").get_data(as_text=True)
    assert "小发明·小学组" in text
    assert all(j.display_name in text for j in (a, b, c))
    assert f"score-sheets.pdf?judge={a.id}" in text
    assert "1<small class=\"muted\"> / 12</small>" in text


# --- Locking ----------------------------------------------------------------------------------------------

def lock_events(db):
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(("round_locked", "round_unlocked")))
                                   .order_by(AuditEvent.id)))


def test_lock_needs_a_reason(db, org_client, prelim):
    response = org_client.post(f"/admin/rounds/{prelim.id}/lock", data={"action": "lock", "reason": "  "})
    assert response.status_code == 302
    db.session.expire_all()
    assert prelim.locked is False
    assert lock_events(db) == []
    page = org_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "请填写锁定或解锁的原因" in page


def test_lock_and_unlock_with_a_reason_are_logged_and_a_locked_round_refuses_scores(db, org_client, board_world,
                                                                                    prelim, organizer):
    (a, b, c), entries, panel = board_world
    response = org_client.post(f"/admin/rounds/{prelim.id}/lock", data={"action": "lock", "reason": "初评结束"})
    assert response.status_code == 302
    db.session.expire_all()
    assert prelim.locked is True
    status, body = submit_score(a, Submission(idempotency_key="k-locked", round_id=prelim.id,
                                              entry_id=entries[0].id, values=xf_values(entries[0], 50, 30)))
    assert status == 423 and body["error"] == "locked" and "已锁定" in body["message"]
    db.session.rollback()
    assert db.session.scalar(select(Score).where(Score.round_id == prelim.id)) is None

    response = org_client.post(f"/admin/rounds/{prelim.id}/lock", data={"action": "unlock", "reason": ""})
    db.session.expire_all()
    assert prelim.locked is True  # no reason: still locked
    org_client.post(f"/admin/rounds/{prelim.id}/lock", data={"action": "unlock", "reason": "更正3号评委的录入"})
    db.session.expire_all()
    assert prelim.locked is False
    events = lock_events(db)
    assert [e.action for e in events] == ["round_locked", "round_unlocked"]
    assert "初评结束" in events[0].after and "更正3号评委的录入" in events[1].after
    assert events[0].username == organizer.username and events[0].object_id == prelim.id
    status, _ = submit_score(a, Submission(idempotency_key="k-open", round_id=prelim.id, entry_id=entries[0].id,
                                           values=xf_values(entries[0], 50, 30)))
    assert status == 201


def test_locking_twice_writes_one_event(db, org_client, prelim):
    for _ in range(2):
        org_client.post(f"/admin/rounds/{prelim.id}/lock", data={"action": "lock", "reason": "结束"})
    assert len(lock_events(db)) == 1


def test_the_locked_round_shows_the_unlock_form(db, org_client, prelim, edition, organizer):
    from judging.scoring.operations import set_round_lock

    set_round_lock(prelim, True, "结束", organizer)
    db.session.commit()
    text = org_client.get(f"/admin/editions/{edition.id}/progress?round={prelim.id}").get_data(as_text=True)
    assert "评分已锁定" in text and "解锁评分" in text and 'value="unlock"' in text


# --- Who may see it -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["coordinator", "judge"])
def test_other_roles_are_refused(client, make_user, edition, prelim, role):
    user = make_user(role)
    assert login(client, user).status_code == 302
    assert client.get(f"/admin/editions/{edition.id}/progress").status_code == 403
    assert client.post(f"/admin/rounds/{prelim.id}/lock", data={"action": "lock", "reason": "x"}).status_code == 403
    assert client.get(f"/admin/rounds/{prelim.id}/score-sheets.pdf").status_code == 403
    assert client.get(f"/admin/rounds/{prelim.id}/scores-template.xlsx").status_code == 403
    assert client.get(f"/admin/rounds/{prelim.id}/scores-import").status_code == 403


def test_anonymous_goes_to_the_login_page(client, edition, prelim):
    for url in (f"/admin/editions/{edition.id}/progress", f"/admin/rounds/{prelim.id}/score-sheets.pdf",
                f"/admin/rounds/{prelim.id}/scores-template.xlsx", f"/admin/rounds/{prelim.id}/scores-import"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post(f"/admin/rounds/{prelim.id}/lock").status_code == 302


def test_the_edition_nav_links_the_board(org_client, edition):
    text = org_client.get(f"/admin/editions/{edition.id}/rounds").get_data(as_text=True)
    assert f"/admin/editions/{edition.id}/progress" in text and "评审进度" in text
