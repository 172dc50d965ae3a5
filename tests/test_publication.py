"""Publication (draft -> 公示 -> final), corrections with a reason, objections, overrides and
advancement from 初评 to 终评, through the operations and the organizer's and public pages."""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from judging.contests.models import PoolRule, Quota
from judging.core.models import AuditEvent
from judging.registration.operations import review_entry
from judging.results import engine
from judging.results import operations as ops
from judging.results import publication as pub
from judging.results.models import EntryResultRow, Objection, ResultSnapshot
from judging.scoring.models import Advancement, Assignment, Panel, PanelJudge, Score
from judging.scoring.operations import Submission, set_round_lock, submit_score
from judging.scoring.panels import load_pool
from tests.conftest import login

# Three judges' totals per entry; the finals (plain mean of 3) end in digits no single total can show.
TOTALS = {
    "甲": ("90.1", "90.2", "90.4"),  # 90.23
    "乙": ("85.1", "85.2", "85.4"),  # 85.23
    "丙": ("80.1", "80.2", "80.4"),  # 80.23
    "丁": ("75.1", "75.2", "75.4"),  # 75.23
    "戊": ("70.1", "70.2", "70.4"),  # 70.23
    "己": ("65.1", "65.2", "65.4"),  # 65.23
}
FINALS = ["90.23", "85.23", "80.23", "75.23", "70.23", "65.23"]


def _score(db, judge, rnd, entry, total):
    c1, c2 = entry.category.criteria
    first = Decimal(total) - 40
    code, body = submit_score(judge, Submission(idempotency_key=uuid.uuid4().hex, round_id=rnd.id, entry_id=entry.id,
                                                values={c1.id: str(first), c2.id: "40"}, status="submitted",
                                                base_version=0))
    assert code in (200, 201), body


@pytest.fixture
def contest(db, edition, organizer, make_user, make_school, make_entry):
    """小发明·小学组, quotas 一等1 二等1 三等1; six entries of two schools scored by three judges in 初评."""
    xf = edition.categories[0]
    primary = edition.divisions[0]
    prelim = next(r for r in edition.rounds if r.kind == "preliminary")
    final = next(r for r in edition.rounds if r.kind == "final")
    levels = {lv.position: lv for lv in edition.prize_levels}
    rule = PoolRule(edition=edition, category_id=xf.id, division_id=primary.id, quota_mode="count")
    rule.quotas = [Quota(prize_level=levels[p], value=Decimal(1)) for p in (1, 2, 3)]
    db.session.add(rule)
    schools = [make_school("一小"), make_school("二小")]
    judges = [make_user("judge", username=f"pj{i}") for i in range(1, 4)]
    panel = Panel(edition_id=edition.id, round_id=prelim.id, category_id=xf.id, division_id=primary.id)
    db.session.add(panel)
    db.session.flush()
    for j in judges:
        db.session.add(PanelJudge(panel_id=panel.id, judge_id=j.id))
    db.session.commit()
    entries = {}
    for i, (name, totals) in enumerate(TOTALS.items()):
        e = make_entry(schools[i % 2], title=f"作品{name}", category=xf, division=primary)
        review_entry(e, "approve", None, organizer)
        db.session.commit()
        for j, total in zip(judges, totals):
            db.session.add(Assignment(round_id=prelim.id, panel_id=panel.id, entry_id=e.id, judge_id=j.id))
            db.session.flush()
            _score(db, j, prelim, e, total)
        db.session.commit()
        entries[name] = e
    return {"edition": edition, "prelim": prelim, "final": final, "entries": entries, "judges": judges,
            "schools": schools, "organizer": organizer, "panel": panel}


def _compute(db, c, rnd=None, reason=None):
    snap = ops.compute_results(c["edition"], rnd or c["prelim"], c["organizer"], reason=reason)
    db.session.commit()
    return snap


def _lock(db, c, rnd=None):
    set_round_lock(rnd or c["prelim"], True, "评分结束", c["organizer"])
    db.session.commit()


def _publish(db, c, snap, starts=None):
    pub.publish(snap, pub.NoticeForm(starts or date.today(), None, "县科协 0000-1234567"), c["organizer"])
    db.session.commit()


def _levels(snap):
    return {r.entry.title: r.level_position for r in snap.rows}


# --- publication --------------------------------------------------------------------------------

def test_publish_needs_a_locked_round_then_goes_public_with_the_notice_period(db, contest):
    snap = _compute(db, contest)
    assert pub.publication_blockers(snap) == [f"请先在评审进度页锁定{contest['prelim'].name}评分，公示期间分数不能再变。"]
    with pytest.raises(ops.ResultsError, match="锁定"):
        _publish(db, contest, snap)
    _lock(db, contest)
    _publish(db, contest, snap, starts=date(2026, 12, 1))
    assert snap.status == "notice" and snap.is_public
    assert (snap.notice_starts, snap.notice_ends) == (date(2026, 12, 1), date(2026, 12, 7))  # 7 days by default
    assert ops.public_snapshot(contest["prelim"]).id == snap.id
    kinds = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert "results_published" in kinds


def test_publish_refuses_an_older_computation_and_an_empty_contact(db, contest):
    first = _compute(db, contest)
    _compute(db, contest)
    _lock(db, contest)
    with pytest.raises(ops.ResultsError, match="最新"):
        _publish(db, contest, first)
    latest = ops.latest_snapshot(contest["prelim"])
    with pytest.raises(ops.ResultsError, match="异议受理方式"):
        pub.publish(latest, pub.NoticeForm(date.today(), None, "  "), contest["organizer"])


def test_too_few_judges_block_publication_until_confirmed(db, contest, make_entry, organizer):
    extra = make_entry(contest["schools"][0], title="作品庚", category=contest["edition"].categories[0],
                       division=contest["edition"].divisions[0])
    review_entry(extra, "approve", None, organizer)
    db.session.commit()
    snap = _compute(db, contest)
    _lock(db, contest)
    assert pub.too_few_codes(snap) == [extra.code]
    assert any("评分不足" in b for b in pub.publication_blockers(snap))
    pub.confirm_missing(snap, organizer)
    db.session.commit()
    assert pub.publication_blockers(snap) == []
    _publish(db, contest, snap)


def test_a_change_after_publication_needs_a_reason_and_supersedes_the_public_list(db, contest, client):
    snap = _compute(db, contest)
    _lock(db, contest)
    _publish(db, contest, snap)
    with pytest.raises(ops.ResultsError, match="更正原因"):
        _compute(db, contest)
    corrected = _compute(db, contest, reason="3号评委录入错误已更正")
    assert corrected.change_reason == "3号评委录入错误已更正" and corrected.status == "draft"
    # The public still sees the first list until the correction is published.
    assert ops.public_snapshot(contest["prelim"]).id == snap.id
    _publish(db, contest, corrected)
    db.session.refresh(snap)
    assert snap.status == "superseded" and corrected.status == "notice"
    page = client.get(f"/results/{snap.id}").get_data(as_text=True)
    assert "此名单已更正" in page and f"/results/{corrected.id}" in page
    page = client.get(f"/results/{corrected.id}").get_data(as_text=True)
    assert "3号评委录入错误已更正" in page
    summaries = [e.summary for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "results_computed"))]
    assert any("3号评委录入错误已更正" in s for s in summaries)


def test_objections_and_the_notice_period_gate_the_final_results(db, contest, organizer):
    snap = _compute(db, contest)
    _lock(db, contest)
    starts = date.today() - timedelta(days=3)
    _publish(db, contest, snap, starts=starts)
    entry = contest["entries"]["乙"]
    objection = pub.record_objection(snap, pub.ObjectionInput(date.today(), "王家长", "13900001111", "分数偏低",
                                                              entry.code.lower()), organizer)
    db.session.commit()
    assert objection.entry_id == entry.id and objection.status == "pending"
    with pytest.raises(ops.ResultsError, match="作品编号"):
        pub.record_objection(snap, pub.ObjectionInput(date.today(), "某人", None, "内容", "NOPE-1"), organizer)
    # Inside the notice period, and with a pending objection: not yet.
    assert len(pub.finalize_blockers(snap, date.today())) == 2
    with pytest.raises(ops.ResultsError, match="resolve|处理|选择"):
        pub.resolve_objection(objection, "pending", "x", organizer)
    pub.resolve_objection(objection, "rejected", "复核评分无误，维持原结果。", organizer)
    db.session.commit()
    assert pub.finalize_blockers(snap, date.today()) and "公示期" in pub.finalize_blockers(snap, date.today())[0]
    later = snap.notice_ends + timedelta(days=1)
    assert pub.finalize_blockers(snap, later) == []
    pub.finalize(snap, organizer, today=later)
    db.session.commit()
    assert snap.status == "final" and snap.finalized_at is not None
    # The log keeps the objection's events but not who raised it.
    logged = " ".join(str(e.after) + (e.summary or "") for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("objection%"))))
    assert "王家长" not in logged and "13900001111" not in logged


# --- overrides ---------------------------------------------------------------------------------------

def test_override_needs_a_reason_is_applied_by_every_computation_and_can_be_undone(db, contest, organizer):
    prelim = contest["prelim"]
    entry = contest["entries"]["丁"]  # 4th: no prize by quota
    with pytest.raises(ops.ResultsError, match="理由"):
        ops.set_override(prelim, entry, 3, "  ", organizer)
    override = ops.set_override(prelim, entry, 3, "现场答辩表现突出，评审委员会决定", organizer)
    db.session.commit()
    for _ in range(2):
        snap = _compute(db, contest)
        row = next(r for r in snap.rows if r.entry_id == entry.id)
        assert (row.level_position, row.quota_level, row.overridden) == (3, None, True)
        assert row.override_reason == "现场答辩表现突出，评审委员会决定"
    ops.remove_override(override, "决定撤回", organizer)
    db.session.commit()
    snap = _compute(db, contest)
    row = next(r for r in snap.rows if r.entry_id == entry.id)
    assert (row.level_position, row.overridden) == (None, False)
    kinds = [e.action for e in db.session.scalars(select(AuditEvent))]
    assert "prize_overridden" in kinds and "prize_override_removed" in kinds


def test_override_refuses_unknown_levels_and_unreviewed_entries(db, contest, organizer, make_entry):
    prelim = contest["prelim"]
    with pytest.raises(ops.ResultsError, match="等级"):
        ops.set_override(prelim, contest["entries"]["甲"], 9, "理由", organizer)
    waiting = make_entry(contest["schools"][0], title="未审查", category=contest["edition"].categories[0],
                         division=contest["edition"].divisions[0])
    with pytest.raises(ops.ResultsError, match="资格审查"):
        ops.set_override(prelim, waiting, 1, "理由", organizer)


# --- advancement ---------------------------------------------------------------------------------------

def test_advance_the_top_n_into_the_final_round_which_then_holds_only_them(db, contest, organizer):
    snap = _compute(db, contest)
    summary = ops.advance(snap, ops.AdvanceRequest("count", Decimal(3)), organizer)
    db.session.commit()
    assert summary.advanced == 3 and not summary.tied_over
    final = contest["final"]
    advanced = set(db.session.scalars(select(Advancement.entry_id).where(Advancement.round_id == final.id)))
    assert advanced == {contest["entries"][n].id for n in "甲乙丙"}
    panel = Panel(edition_id=contest["edition"].id, round_id=final.id, category_id=snap.rows[0].entry.category_id,
                  division_id=snap.rows[0].entry.division_id)
    db.session.add(panel)
    db.session.commit()
    assert {e.id for e in load_pool(panel).entries} == advanced
    final_snap = _compute(db, contest, rnd=final)
    assert {r.entry_id for r in final_snap.rows} == advanced  # the others are not "too few judges" here
    # Percent: 50% of 6 = 3; a cap of 1 per school passes over the second school's later entries.
    summary = ops.advance(snap, ops.AdvanceRequest("percent", Decimal(50), 1, "school"), organizer)
    db.session.commit()
    assert summary.advanced == 2  # only two schools, one each
    assert summary.capped


def test_advancement_cannot_drop_an_entry_already_scored_in_the_final(db, contest, organizer):
    snap = _compute(db, contest)
    ops.advance(snap, ops.AdvanceRequest("count", Decimal(3)), organizer)
    db.session.commit()
    final = contest["final"]
    entry = contest["entries"]["丙"]
    panel = Panel(edition_id=contest["edition"].id, round_id=final.id, category_id=entry.category_id,
                  division_id=entry.division_id)
    db.session.add(panel)
    db.session.flush()
    judge = contest["judges"][0]
    db.session.add(PanelJudge(panel_id=panel.id, judge_id=judge.id))
    db.session.add(Assignment(round_id=final.id, panel_id=panel.id, entry_id=entry.id, judge_id=judge.id))
    db.session.flush()
    _score(db, judge, final, entry, "88.0")
    db.session.commit()
    with pytest.raises(ops.ResultsError, match=entry.code):
        ops.advance(snap, ops.AdvanceRequest("count", Decimal(2)), organizer)


def test_only_a_preliminary_round_advances(db, contest, organizer):
    final = contest["final"]
    snap = _compute(db, contest, rnd=final)
    with pytest.raises(ops.ResultsError, match="初评"):
        ops.advance(snap, ops.AdvanceRequest("count", Decimal(1)), organizer)


ranked_entries = st.lists(st.tuples(st.integers(1, 8), st.sampled_from("ABC")), min_size=0, max_size=25)


@settings(max_examples=300, deadline=None)
@given(ranked_entries, st.integers(0, 12), st.one_of(st.none(), st.integers(1, 4)), st.randoms())
def test_select_advancing_properties(items, limit, cap, rnd):
    entries = [engine.RankedEntry(i, rank, group) for i, (rank, group) in enumerate(items)]
    picked = engine.select_advancing(entries, limit, cap)
    shuffled = entries[:]
    rnd.shuffle(shuffled)
    assert engine.select_advancing(shuffled, limit, cap) == picked  # row order does not matter
    taken = set(picked.entry_ids)
    assert len(taken) == len(picked.entry_ids)
    ranks = {e.entry_id: e.rank for e in entries}
    # Beyond the limit only through a tie with the last taken entry.
    assert len(taken) - len(picked.tied_over) <= limit
    if picked.tied_over:
        last = max(ranks[e] for e in taken)
        assert all(ranks[e] == last for e in picked.tied_over)
    # Nobody better is left out unless his group was at its cap.
    if taken:
        worst = max(ranks[e] for e in taken)
        for e in entries:
            if e.entry_id not in taken and e.rank < worst:
                assert e.entry_id in picked.capped
    if cap is None:
        assert not picked.capped


def test_advancement_limit_rounds_half_up():
    assert engine.advancement_limit(7, "percent", Decimal(50)) == 4  # 3.5 -> 4
    assert engine.advancement_limit(5, "count", Decimal(9)) == 5


# --- pages ---------------------------------------------------------------------------------------------

def test_organizer_publishes_from_the_round_page_and_the_public_sees_prizes_without_scores(
        db, contest, org_client, client):
    edition, prelim = contest["edition"], contest["prelim"]
    base = f"/admin/editions/{edition.id}/rounds/{prelim.id}/results"
    assert org_client.post(base + "/compute", data={}).status_code == 302
    page = org_client.get(base).get_data(as_text=True)
    assert "90.23" in page and "一等奖" in page
    snap = ops.latest_snapshot(prelim)
    assert client.get(f"/results/{snap.id}").status_code == 404  # a draft
    _lock(db, contest)
    response = org_client.post(f"/admin/results/{snap.id}/publish",
                               data={"starts": "2026-12-01", "ends": "2026-12-07", "contact": "县科协 电话 0000-1234567"})
    assert response.status_code == 302
    db.session.refresh(snap)
    assert snap.status == "notice"
    public = client.get(f"/results/{snap.id}").get_data(as_text=True)
    assert "一等奖" in public and "作品甲" in public and "县科协 电话 0000-1234567" in public
    assert not any(f in public for f in FINALS)  # the public list shows prizes, not scores
    assert "排名不分先后" in public
    index = client.get("/results/").get_data(as_text=True)
    assert f"/results/{snap.id}" in index
    # Objection through the page; the contact stays on the organizer's page only.
    response = org_client.post(f"/admin/results/{snap.id}/objections",
                               data={"received_on": "2026-12-02", "raised_by": "李老师", "contact": "13812345678",
                                     "content": "作品乙分数有误", "entry_code": contest["entries"]["乙"].code})
    assert response.status_code == 302
    assert "13812345678" in org_client.get(base).get_data(as_text=True)
    assert "13812345678" not in client.get(f"/results/{snap.id}").get_data(as_text=True)


def test_override_through_the_page_recomputes(db, contest, org_client):
    edition, prelim = contest["edition"], contest["prelim"]
    entry = contest["entries"]["戊"]
    response = org_client.post(f"/admin/rounds/{prelim.id}/entries/{entry.id}/override",
                               data={"level": "2", "reason": "组委会复议"})
    assert response.status_code == 302
    snap = ops.latest_snapshot(prelim)
    row = next(r for r in snap.rows if r.entry_id == entry.id)
    assert row.level_position == 2 and row.overridden
    response = org_client.post(f"/admin/rounds/{prelim.id}/entries/{entry.id}/override", data={"level": "2"},
                               follow_redirects=True)
    assert "请填写调整理由" in response.get_data(as_text=True)


# --- nothing leaks before publication -------------------------------------------------------------------

def _texts(response) -> str:
    """The text a user gets: HTML/JSON as is, PDFs and workbooks read back."""
    import io

    data = response.get_data()
    kind = response.headers.get("Content-Type", "")
    if "pdf" in kind:
        from pypdf import PdfReader

        return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    if "spreadsheet" in kind:
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        return " ".join(str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row
                        if c is not None)
    return data.decode("utf-8", "replace")


def test_before_publication_no_score_or_prize_reaches_anyone_but_organizers(app, db, contest, make_user):
    """Every GET route, filled with this contest's ids, as anonymous, coordinator and judge."""
    snap = _compute(db, contest)
    entry = contest["entries"]["甲"]
    school = contest["schools"][0]
    coordinator = make_user("coordinator", username="leak_coord", school=school)
    judge = contest["judges"][0]
    objection = Objection(edition_id=contest["edition"].id, round_id=contest["prelim"].id, snapshot_id=snap.id,
                          entry_id=entry.id, received_on=date.today(), raised_by="x", content="y")
    db.session.add(objection)
    db.session.commit()
    ids = {"edition_id": contest["edition"].id, "round_id": contest["prelim"].id, "snapshot_id": snap.id,
           "entry_id": entry.id, "school_id": school.id, "category_id": entry.category_id,
           "division_id": entry.division_id, "panel_id": contest["panel"].id, "user_id": judge.id,
           "objection_id": objection.id, "attachment_id": 1, "conflict_id": 1, "code": "zh_CN"}
    secrets = FINALS + [lv.name for lv in contest["edition"].prize_levels]
    leaks = []
    for role, user in (("organizer", contest["organizer"]), ("anonymous", None), ("coordinator", coordinator),
                       ("judge", judge)):
        client = app.test_client()
        if user is not None:
            assert login(client, user).status_code == 302
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            if not set(rule.arguments) <= set(ids):
                continue
            with app.test_request_context():
                from flask import url_for

                url = url_for(rule.endpoint, **{n: ids[n] for n in rule.arguments})
            response = client.get(url)
            if response.status_code != 200:
                continue
            text = _texts(response)
            found = [s for s in secrets if s in text]
            if found:
                leaks.append(f"{role} {url}: {found}")
    # The crawl does find them where they belong: on the organizer's pages and exports.
    assert any(line.startswith("organizer ") and "90.23" in line for line in leaks), leaks
    leaks = [line for line in leaks if not line.startswith("organizer ")]
    assert not leaks, "\n".join(leaks)
