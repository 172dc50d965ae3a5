"""Computing a round's results from the database: which scores count, hand-checked finals, ranks
and prizes, the pools' flags, and an identical outcome when computed again on the same data."""
from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from judging.contests.models import PoolRule, Quota
from judging.core.models import AuditEvent
from judging.registration.operations import review_entry
from judging.results.models import EntryResultRow, ResultSnapshot
from judging.results.operations import compute_results, load_round_scores
from judging.scoring.models import Assignment, Panel, PanelJudge, Score
from judging.scoring.operations import Submission, submit_score


def _score(db, judge, rnd, entry, total, status="submitted", first=None):
    """A judge's score through the real operation; total split as (first criterion, the rest)."""
    c1, c2 = entry.category.criteria
    first = Decimal(total) - 40 if first is None else Decimal(first)
    values = {c1.id: str(first), c2.id: str(Decimal(total) - first)}
    current = db.session.scalar(select(Score).where(Score.round_id == rnd.id, Score.entry_id == entry.id,
                                                    Score.judge_id == judge.id))
    code, body = submit_score(judge, Submission(idempotency_key=uuid.uuid4().hex, round_id=rnd.id,
                                                entry_id=entry.id, values=values, status=status,
                                                base_version=current.version if current else 0))
    assert code in (200, 201), body
    db.session.commit()


def _assign(db, rnd, panel, entry, judges):
    for judge in judges:
        db.session.add(Assignment(round_id=rnd.id, panel_id=panel.id, entry_id=entry.id, judge_id=judge.id))
    db.session.commit()


@pytest.fixture
def world(db, edition, organizer, make_user, make_school, make_entry):
    """小发明·小学组 (quotas 1/1/1): A, B, C, D, E, F; 科幻画·小学组 (no rule): K; 科幻画·初中组
    (one 一等奖): T1, T2 tied."""
    xf, kh = edition.categories
    primary, junior = edition.divisions
    prelim = next(r for r in edition.rounds if r.kind == "preliminary")
    levels = {lv.position: lv for lv in edition.prize_levels}
    rule = PoolRule(edition=edition, category_id=xf.id, division_id=primary.id, quota_mode="count")
    rule.quotas = [Quota(prize_level=levels[p], value=Decimal(1)) for p in (1, 2, 3)]
    rule2 = PoolRule(edition=edition, category_id=kh.id, division_id=junior.id, quota_mode="count")
    rule2.quotas = [Quota(prize_level=levels[1], value=Decimal(1))]
    db.session.add_all([rule, rule2])
    school = make_school()
    judges = [make_user("judge", username=f"j{i}") for i in range(1, 6)]
    panels = {}
    for cat, div in ((xf, primary), (kh, primary), (kh, junior)):
        panel = Panel(edition_id=edition.id, round_id=prelim.id, category_id=cat.id, division_id=div.id)
        db.session.add(panel)
        db.session.flush()
        for j in judges:
            db.session.add(PanelJudge(panel_id=panel.id, judge_id=j.id))
        panels[(cat.code, div.code)] = panel
    db.session.commit()

    def entry(title, category, division):
        e = make_entry(school, title=title, category=category, division=division,
                       **({"subform": "卡通画"} if category is kh else {}))
        review_entry(e, "approve", None, organizer)
        db.session.commit()
        return e

    es = {name: entry(name, xf, primary) for name in "ABCDEF"}
    es["K"] = entry("K", kh, primary)
    es["T1"] = entry("T1", kh, junior)
    es["T2"] = entry("T2", kh, junior)
    es["W"] = make_entry(school, title="W", category=xf, division=primary)  # never approved
    p = panels[("XF", "X")]
    for name in "ABEF":
        _assign(db, prelim, p, es[name], judges)
    _assign(db, prelim, p, es["B"], [])
    _assign(db, prelim, p, es["C"], judges)
    _assign(db, prelim, p, es["D"], judges[:3])
    _assign(db, prelim, panels[("KH", "X")], es["K"], judges[:3])
    _assign(db, prelim, panels[("KH", "C")], es["T1"], judges[:3])
    _assign(db, prelim, panels[("KH", "C")], es["T2"], judges[:3])

    for name, totals in {"A": (90, 85, 80, 75, 70), "B": (88, 84, 82, 78, 60), "E": (95, 95, 95, 95, 95),
                         "F": (95, 80, 80, 80, 60)}.items():
        for judge, total in zip(judges, totals):
            _score(db, judge, prelim, es[name], total)
    # C: three submitted; j4 only a draft; j5 submitted, then his assignment was moved away.
    for judge, total in zip(judges[:3], (70, 72, 74)):
        _score(db, judge, prelim, es["C"], total)
    _score(db, judges[3], prelim, es["C"], 99, status="draft")
    _score(db, judges[4], prelim, es["C"], 100, first=60)
    db.session.execute(Assignment.__table__.delete().where(Assignment.entry_id == es["C"].id,
                                                           Assignment.judge_id == judges[4].id))
    db.session.commit()
    # D: two of its three judges submitted.
    for judge in judges[:2]:
        _score(db, judge, prelim, es["D"], 99, first=59)
    for judge, total in zip(judges[:3], (80, 81, 82)):
        _score(db, judge, prelim, es["K"], total, first=total - 40)
    for name in ("T1", "T2"):
        for judge in judges[:3]:
            _score(db, judge, prelim, es[name], 77, first=40)
    # E is disqualified after it was scored.
    review_entry(es["E"], "disqualify", "抄袭", organizer)
    db.session.commit()
    return {"round": prelim, "entries": es, "judges": judges, "xf": xf, "kh": kh,
            "primary": primary, "junior": junior}


def snapshot_rows(snapshot):
    from judging.extensions import db

    return {r.entry_id: (r.final, r.rank, r.level_position, r.quota_level, r.overridden, r.override_reason,
                         tuple(json.loads(r.flags_json)))
            for r in db.session.scalars(select(EntryResultRow).where(EntryResultRow.snapshot_id == snapshot.id))}


def test_load_round_scores_counts_only_submitted_scores_of_assigned_judges(db, world):
    es, judges = world["entries"], world["judges"]
    world["round"].id, world["round"].edition_id  # loaded before counting
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        pools = load_round_scores(world["round"])
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [s for s in statements if s.startswith("SELECT")] == statements[-1:] and len(statements) <= 2
    xf = pools[(world["xf"].id, world["primary"].id)]
    by_id = {e.entry_id: e for e in xf.entries}
    c = by_id[es["C"].id]
    assert sorted(t.total for t in c.totals) == [70, 72, 74]  # no draft, no moved-away score
    assert {t.judge_id for t in c.totals} == {j.id for j in judges[:3]}
    assert sorted(t.first_criterion for t in c.totals) == [30, 32, 34]
    assert len(by_id[es["D"].id].totals) == 2
    assert by_id[es["E"].id].rankable is False and len(by_id[es["E"].id].totals) == 5
    assert by_id[es["W"].id].rankable is False and not by_id[es["W"].id].totals
    assert set(pools) == {(world["xf"].id, world["primary"].id), (world["kh"].id, world["primary"].id),
                          (world["kh"].id, world["junior"].id)}


def test_compute_results_hand_checked(db, world, organizer):
    es = world["entries"]
    snapshot = compute_results(world["xf"].edition, world["round"], organizer)
    db.session.commit()
    assert snapshot.status == "draft" and snapshot.computed_by_id == organizer.id
    rows = snapshot_rows(snapshot)
    assert len(rows) == 10  # every entry of the judged pools, ranked or not
    # B: 84, 82, 78 -> 81.33; A: 85, 80, 75 -> 80.00 (sum 400); F: 80, 80, 80 -> 80.00 (sum 395);
    # C: three totals, plain mean 72.00.
    assert rows[es["B"].id][:4] == (Decimal("81.33"), 1, 1, 1)
    assert rows[es["A"].id][:4] == (Decimal("80.00"), 2, 2, 2)
    assert rows[es["F"].id][:4] == (Decimal("80.00"), 3, 3, 3)
    assert rows[es["C"].id][:4] == (Decimal("72.00"), 4, None, None)
    assert rows[es["D"].id] == (None, None, None, None, False, None, ("too_few_judges",))
    assert rows[es["E"].id] == (None, None, None, None, False, None, ("not_rankable",))  # disqualified
    assert rows[es["W"].id][:3] == (None, None, None)  # never passed review
    # A pool without a rule: ranked, no prize.
    assert rows[es["K"].id][:4] == (Decimal("81.00"), 1, None, None)
    # A dead heat across the only boundary: both win, flagged.
    assert rows[es["T1"].id][:4] == rows[es["T2"].id][:4] == (Decimal("77.00"), 1, 1, 1)
    assert "tie_last_boundary" in rows[es["T1"].id][6]

    flags = json.loads(snapshot.flags_json)
    kinds = {(f["kind"], tuple(f["entry_ids"])) for f in flags}
    assert ("too_few_judges", (es["D"].id,)) in kinds
    assert ("tie_last_boundary", tuple(sorted((es["T1"].id, es["T2"].id)))) in kinds
    settings = json.loads(snapshot.settings_json)
    assert settings["scoring_method"] == "trimmed_mean" and settings["min_judges"] == 3
    pool = settings["pools"][f"{world['xf'].id}-{world['primary'].id}"]
    assert pool["quota_mode"] == "count" and [lv for lv, _ in pool["quotas"]] == [1, 2, 3]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "results_computed")).all()
    assert len(events) == 1 and events[0].object_id == snapshot.id and events[0].user_id == organizer.id


def test_compute_twice_gives_identical_rows(db, world, organizer):
    edition = world["xf"].edition
    first = compute_results(edition, world["round"], organizer)
    db.session.commit()
    second = compute_results(edition, world["round"], organizer)
    db.session.commit()
    assert first.id != second.id
    assert snapshot_rows(first) == snapshot_rows(second)
    assert first.flags_json == second.flags_json and first.settings_json == second.settings_json
    assert db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.id == first.id)) is not None
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "results_computed")).all()) == 2


def test_compute_reports_new_data(db, world, organizer):
    """The third judge of D submits: D is ranked on the next computation."""
    es, judges = world["entries"], world["judges"]
    _score(db, judges[2], world["round"], es["D"], 99, first=59)
    snapshot = compute_results(world["xf"].edition, world["round"], organizer)
    db.session.commit()
    rows = snapshot_rows(snapshot)
    assert rows[es["D"].id][:4] == (Decimal("99.00"), 1, 1, 1)
    assert rows[es["B"].id][:4] == (Decimal("81.33"), 2, 2, 2)
    assert not any(f["kind"] == "too_few_judges" for f in json.loads(snapshot.flags_json))
