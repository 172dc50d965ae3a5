"""`flask demo --full`: the demo contest after 初评, loaded through the real operations, once."""
from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import func, select

from tests.conftest import login


def _table_counts(db) -> dict[str, int]:
    from judging.core.models import AuditEvent, User
    from judging.registration.models import Entry, EntryStudent
    from judging.results.models import EntryResultRow, ResultSnapshot
    from judging.scoring.models import Assignment, Panel, Score, ScoreHistory

    return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (AuditEvent, User, Entry, EntryStudent, Panel, Assignment, Score, ScoreHistory,
                          ResultSnapshot, EntryResultRow)}


def test_full_demo_is_a_judged_contest_with_draft_results(app, db):
    from judging.contests.models import Criterion, Round
    from judging.demo_full import HARSH_JUDGE, LENIENT_JUDGE, POOL_SIZES, load_full_demo
    from judging.registration.models import Entry, EntryInstructor, EntryStudent
    from judging.results.models import EntryResultRow, ResultSnapshot
    from judging.scoring.models import Assignment, CriterionScore, Score
    from judging.core.models import User

    done = load_full_demo()
    assert done["created"] is True and done["demo_created"] is True

    # Registration and review
    entries = list(db.session.scalars(select(Entry).where(Entry.edition_id == done["edition_id"])))
    assert len(entries) == done["entries"] == sum(POOL_SIZES.values())
    statuses = {s: sum(1 for e in entries if e.status == s) for s in ("approved", "disqualified", "submitted")}
    assert statuses == {"approved": len(entries) - 3, "disqualified": 1, "submitted": 2}
    assert next(e for e in entries if e.status == "disqualified").review_remark
    assert {e.category.code for e in entries} == {"XF", "LW", "KH"}
    assert {e.division.code for e in entries} == {"X", "C"}
    assert all(e.subform in ("卡通画", "素描画", "国画") for e in entries if e.category.code == "KH")
    assert len({e.school_id for e in entries}) == 11
    names = "".join(db.session.scalars(select(EntryStudent.name)))
    for rare in ("彧", "喆", "玥", "犇", "淼", "欧阳", "司马"):
        assert rare in names
    team_sizes = {len(e.students) for e in entries}
    assert team_sizes == {1, 2, 3}
    assert {len(e.instructors) for e in entries} == {1, 2}
    coaching = db.session.execute(select(EntryInstructor.name, func.count()).group_by(EntryInstructor.name)
                                  .having(func.count() > 1)).all()
    assert coaching  # some instructors coach several entries

    # Every assigned judge scored, within each criterion's maximum, with one decimal
    rnd = db.session.get(Round, done["round_id"])
    assert rnd.kind == "preliminary" and rnd.locked
    missing = db.session.scalar(select(func.count()).select_from(Assignment).outerjoin(
        Score, (Score.round_id == Assignment.round_id) & (Score.entry_id == Assignment.entry_id)
        & (Score.judge_id == Assignment.judge_id) & (Score.status == "submitted"))
        .where(Assignment.round_id == rnd.id, Score.id.is_(None)))
    assert missing == 0
    scores = db.session.scalar(select(func.count()).select_from(Score).where(Score.round_id == rnd.id))
    assignments = db.session.scalar(select(func.count()).select_from(Assignment).where(Assignment.round_id == rnd.id))
    assert scores == assignments == done["scores"] == done["assignments"]
    assert db.session.scalar(select(func.count()).select_from(Score).where(Score.source != "tablet")) == 0
    for points, maximum in db.session.execute(select(CriterionScore.points, Criterion.max_points)
                                              .join(Criterion, Criterion.id == CriterionScore.criterion_id)):
        assert Decimal(0) <= points <= maximum and points == points.quantize(Decimal("0.1"))
    per_entry = dict(db.session.execute(select(Assignment.entry_id, func.count()).where(
        Assignment.round_id == rnd.id).group_by(Assignment.entry_id)).all())
    assert sorted(set(per_entry.values())) == [2, 3, 5]  # 5 where possible; the small panel 3; one left with 2
    assert not any(per_entry.get(e.id) for e in entries if e.status != "approved")

    # One judge harsh, one lenient
    def mean_of(username):
        return db.session.scalar(select(func.avg(Score.total)).join(User, User.id == Score.judge_id)
                                 .where(User.username == username))
    assert mean_of(LENIENT_JUDGE) - mean_of(HARSH_JUDGE) > 12

    # A draft snapshot with prizes and the flags the organizer must look at
    snapshot = db.session.get(ResultSnapshot, done["snapshot_id"])
    assert snapshot.round_id == rnd.id and snapshot.status == "draft"
    rows = list(db.session.scalars(select(EntryResultRow).where(EntryResultRow.snapshot_id == snapshot.id)))
    assert len(rows) == len(entries)
    assert {r.level_position for r in rows if r.level_position} == {1, 2, 3}
    assert sum(1 for r in rows if r.level_position) == done["prized"] > 0
    flags = json.loads(snapshot.flags_json)
    kinds = {f["kind"] for f in flags}
    assert "too_few_judges" in kinds and kinds & {"tie_across_boundary", "tie_last_boundary"}
    too_few = next(f for f in flags if f["kind"] == "too_few_judges")["entry_ids"]
    assert len(too_few) == 1 and per_entry[too_few[0]] == 2
    tie = next(f for f in flags if f["kind"] in ("tie_across_boundary", "tie_last_boundary"))
    tied = [r for r in rows if r.entry_id in tie["entry_ids"]]
    assert len({(r.final, r.rank, r.level_position) for r in tied}) == 1
    codes = {e.id: e.code for e in entries}
    assert sorted(codes[i] for i in tie["entry_ids"]) == sorted(done["tied_codes"])


def test_full_demo_runs_once_from_the_command_and_the_organizer_sees_it(app, db, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "--full"])
    assert first.exit_code == 0, first.output
    assert "完整演示数据已载入" in first.output and "150件作品" in first.output
    before = _table_counts(db)

    second = runner.invoke(args=["demo", "--full"])
    assert second.exit_code == 0, second.output
    assert "未重复载入" in second.output
    db.session.expire_all()
    assert _table_counts(db) == before

    from judging.demo_full import FULL_DEMO_FLAG, load_full_demo
    from judging.core.models import SiteSetting

    again = load_full_demo()
    assert again["created"] is False and again["demo_created"] is False
    counts = json.loads(db.session.get(SiteSetting, FULL_DEMO_FLAG).value)
    edition_id, round_id = counts["edition_id"], counts["round_id"]

    assert login(client, "admin", "Demo2026").status_code == 302
    page = client.get(f"/admin/editions/{edition_id}/rounds/{round_id}/results")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for code in counts["tied_codes"]:
        assert code in text
    assert client.get(f"/admin/editions/{edition_id}/results").status_code == 200
    assert client.get(f"/admin/editions/{edition_id}/rounds/{round_id}/analytics").status_code == 200


def test_full_demo_refuses_an_edition_that_already_has_other_entries(app, db):
    import pytest

    from judging.contests.demo import EDITION_NAME, load_demo
    from judging.contests.models import Edition
    from judging.core.models import School, User
    from judging.demo_full import DemoError, load_full_demo
    from judging.registration.operations import create_entry
    from judging.registration.rules import EntryInput, StudentInput

    load_demo()
    edition = db.session.scalar(select(Edition).where(Edition.name == EDITION_NAME))
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    school = db.session.scalar(select(School).where(School.name == "县实验小学"))
    create_entry(edition, school, EntryInput("自制作品", edition.categories[0].id, edition.divisions[0].id,
                                             [StudentInput("王小明", "男", "五年级", "1班")]), admin)
    db.session.commit()
    with pytest.raises(DemoError, match="已有作品"):
        load_full_demo()
