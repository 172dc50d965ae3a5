"""Judge panels on the database and the web: creating panels, members, running the assignment, the matrix,
moving an entry (reason, audit, recusal never overridden), an ill judge's hand-over, declared conflicts."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from judging.core.models import AuditEvent
from judging.scoring import panels as ops
from judging.scoring.models import Assignment, Conflict, Panel, PanelJudge, Score
from tests.conftest import login


@pytest.fixture
def pool(db, edition, organizer, make_school, make_entry, make_user):
    """小发明·小学组 in 终评: six approved entries of three schools, one still waiting; four judges."""
    a, b, c = make_school("城关小学"), make_school("青山小学"), make_school("实验小学")
    entries = []
    for i, school in enumerate((a, a, b, b, c, c)):
        entry = make_entry(school, title=f"发明{i + 1}", instructors=["陈淼"] if i == 0 else ["王老师"])
        entry.status = "approved"
        entries.append(entry)
    waiting = make_entry(c, title="待审作品")
    judges = {
        "a": make_user("judge", username="judge_a", display_name="城关评委", school=a),
        "chen": make_user("judge", username="judge_chen", display_name="陈淼"),
        "b": make_user("judge", username="judge_b", display_name="青山评委", school=b),
        "free": make_user("judge", username="judge_free", display_name="教研员"),
    }
    final = next(r for r in edition.rounds if r.kind == "final")
    panel = ops.create_panel(final, edition.categories[0], edition.divisions[0], organizer)
    for judge in judges.values():
        ops.add_judge(panel, judge, organizer)
    db.session.commit()
    return {"panel": panel, "entries": entries, "waiting": waiting, "judges": judges, "schools": (a, b, c),
            "round": final}


def _pairs(db, panel):
    return {(a.judge_id, a.entry_id) for a in db.session.scalars(select(Assignment).where(Assignment.panel_id == panel.id))}


def _score(db, rnd, entry, judge, status="submitted"):
    db.session.add(Score(round_id=rnd.id, entry_id=entry.id, judge_id=judge.id, status=status,
                         total=Decimal("80") if status == "submitted" else None, version=1))
    db.session.commit()


def _set_k(org_client, panel, k, seed=1):
    return org_client.post(f"/admin/panels/{panel.id}", data={"action": "settings", "judges_per_entry": str(k),
                                                              "seed": str(seed)})


def test_create_panels_for_a_round_and_add_judges(org_client, db, edition, make_user):
    page = org_client.get(f"/admin/editions/{edition.id}/panels").get_data(as_text=True)
    assert "初评" in page and "终评" in page and "未建组" in page
    assert '<option value="%d">资格审查' % edition.rounds[0].id not in page  # 资格审查 has no panels
    final = next(r for r in edition.rounds if r.kind == "final")
    response = org_client.post(f"/admin/editions/{edition.id}/panels", data={"round_id": final.id},
                               follow_redirects=True)
    assert "新建4个评审组" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Panel).where(Panel.round_id == final.id)) == 4
    again = org_client.post(f"/admin/editions/{edition.id}/panels", data={"round_id": final.id}, follow_redirects=True)
    assert "评审组都已建立" in again.get_data(as_text=True)

    panel = db.session.scalar(select(Panel).where(Panel.round_id == final.id).order_by(Panel.id))
    judge = make_user("judge", username="j1", display_name="李评委")
    coordinator = make_user("coordinator", username="c1")
    org_client.post(f"/admin/panels/{panel.id}", data={"action": "add_judge", "judge_id": judge.id})
    refused = org_client.post(f"/admin/panels/{panel.id}", data={"action": "add_judge", "judge_id": coordinator.id},
                              follow_redirects=True).get_data(as_text=True)
    assert "不是评委账号" in refused
    members = db.session.scalars(select(PanelJudge).where(PanelJudge.panel_id == panel.id)).all()
    assert [m.judge_id for m in members] == [judge.id]
    assert "李评委" in org_client.get(f"/admin/panels/{panel.id}").get_data(as_text=True)
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"panel_created", "panel_judge_added"} <= actions


def test_assignment_respects_recusal_and_the_matrix_shows_it(org_client, db, pool):
    panel, entries, judges = pool["panel"], pool["entries"], pool["judges"]
    _set_k(org_client, panel, 2)
    page = org_client.post(f"/admin/panels/{panel.id}/assign", follow_redirects=True).get_data(as_text=True)
    assert "已分配6件作品，每件2位评委" in page
    pairs = _pairs(db, panel)
    assert len(pairs) == 12
    for entry in entries:
        assert sum(1 for _, e in pairs if e == entry.id) == 2
    school_a = pool["schools"][0]
    assert not any(j == judges["a"].id and e in {x.id for x in entries if x.school_id == school_a.id} for j, e in pairs)
    assert (judges["chen"].id, entries[0].id) not in pairs  # he is the instructor of entry 1
    assert pool["waiting"].id not in {e for _, e in pairs}
    loads = [sum(1 for j, _ in pairs if j == judge.id) for judge in judges.values()]
    assert max(loads) - min(loads) <= 1
    assert "1件作品尚未通过资格审查" in page
    assert "分配表" in page and "回避" in page and "✓" in page and entries[0].code in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "panel_assigned"))
    assert event is not None and "每件2位评委" in event.summary
    # Same seed, same pool: a second run changes nothing.
    before = {a.id for a in db.session.scalars(select(Assignment))}
    again = org_client.post(f"/admin/panels/{panel.id}/assign", follow_redirects=True).get_data(as_text=True)
    assert "新增0项、撤销0项任务" in again
    assert {a.id for a in db.session.scalars(select(Assignment))} == before


def test_whole_panel_default_names_the_entry_that_cannot_have_it(org_client, db, pool):
    panel = pool["panel"]
    page = org_client.post(f"/admin/panels/{panel.id}/assign", follow_redirects=True).get_data(as_text=True)
    first = pool["entries"][0].code
    assert f"作品 {first} 只有2位评委可以评" in page and "城关评委 同校" in page and "陈淼 指导教师" in page
    assert "需要4位" in page and "改为" in page
    assert not _pairs(db, panel)


def test_move_an_entry_with_a_reason_is_audited(org_client, db, pool):
    panel, judges = pool["panel"], pool["judges"]
    _set_k(org_client, panel, 2)
    org_client.post(f"/admin/panels/{panel.id}/assign")
    pairs = _pairs(db, panel)
    # An entry of 实验小学 that 教研员 does not have yet, held by someone else.
    school_c = pool["schools"][2]
    entry = next(e for e in pool["entries"] if e.school_id == school_c.id
                 and (judges["free"].id, e.id) not in pairs)
    assignment = db.session.scalar(select(Assignment).where(Assignment.entry_id == entry.id).order_by(Assignment.id))
    from_id = assignment.judge_id
    missing = org_client.post(f"/admin/panels/{panel.id}/move", data={
        "assignment_id": assignment.id, "to_judge_id": judges["free"].id, "reason": ""}, follow_redirects=True)
    assert "改派需要填写原因" in missing.get_data(as_text=True)
    response = org_client.post(f"/admin/panels/{panel.id}/move", data={
        "assignment_id": assignment.id, "to_judge_id": judges["free"].id, "reason": "原评委临时有事"},
        follow_redirects=True)
    assert f"作品 {entry.code} 已由" in response.get_data(as_text=True)
    db.session.refresh(assignment)
    assert assignment.judge_id == judges["free"].id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assignment_moved"))
    assert "原评委临时有事" in event.summary and str(from_id) in event.before


def test_a_move_onto_a_recused_judge_is_refused_with_the_reason(org_client, db, pool, edition):
    panel, judges, entries = pool["panel"], pool["judges"], pool["entries"]
    _set_k(org_client, panel, 1)
    org_client.post(f"/admin/panels/{panel.id}/assign")
    # Entry 1 (城关小学, instructor 陈淼) can be moved neither to 城关评委 (same school) nor to 陈淼.
    assignment = db.session.scalar(select(Assignment).where(Assignment.entry_id == entries[0].id))
    for judge, why in ((judges["a"], "同校"), (judges["chen"], "指导教师")):
        if judge.id == assignment.judge_id:
            continue
        page = org_client.post(f"/admin/panels/{panel.id}/move", data={
            "assignment_id": assignment.id, "to_judge_id": judge.id, "reason": "试试"},
            follow_redirects=True).get_data(as_text=True)
        assert f"不能改派给{judge.display_name}" in page and why in page and "回避不能被覆盖" in page
    # A declared conflict: the page names its reason.
    other = next(j for j in (judges["b"], judges["free"]) if j.id != assignment.judge_id)
    response = org_client.post(f"/admin/editions/{edition.id}/conflicts", data={
        "judge_id": other.id, "entry_code": entries[0].code, "reason": "学生是评委的外甥"}, follow_redirects=True)
    assert "已登记" in response.get_data(as_text=True)
    page = org_client.post(f"/admin/panels/{panel.id}/move", data={
        "assignment_id": assignment.id, "to_judge_id": other.id, "reason": "试试"},
        follow_redirects=True).get_data(as_text=True)
    assert "申报回避" in page and "学生是评委的外甥" in page
    db.session.refresh(assignment)
    assert assignment.judge_id not in {judges["a"].id, judges["chen"].id, other.id}
    conflicts_page = org_client.get(f"/admin/editions/{edition.id}/conflicts").get_data(as_text=True)
    assert "学生是评委的外甥" in conflicts_page


def test_a_move_is_refused_once_the_score_is_submitted(org_client, db, pool):
    panel, judges = pool["panel"], pool["judges"]
    _set_k(org_client, panel, 2)
    org_client.post(f"/admin/panels/{panel.id}/assign")
    assignment = db.session.scalar(select(Assignment).where(Assignment.judge_id == judges["b"].id).order_by(Assignment.id))
    _score(db, pool["round"], assignment.entry, judges["b"])
    target = next(j for j in judges.values() if j.id != judges["b"].id)
    page = org_client.post(f"/admin/panels/{panel.id}/move", data={
        "assignment_id": assignment.id, "to_judge_id": target.id, "reason": "x"},
        follow_redirects=True).get_data(as_text=True)
    assert "已提交作品" in page and "不能改派" in page


def test_an_ill_judges_open_work_is_handed_on_and_scored_work_stays(org_client, db, pool):
    panel, judges, entries = pool["panel"], pool["judges"], pool["entries"]
    _set_k(org_client, panel, 2)
    org_client.post(f"/admin/panels/{panel.id}/assign")
    ill = judges["free"]
    his = db.session.scalars(select(Assignment).where(Assignment.judge_id == ill.id).order_by(Assignment.id)).all()
    assert len(his) >= 2
    scored = his[0]
    _score(db, pool["round"], scored.entry, ill)
    response = org_client.post(f"/admin/panels/{panel.id}/reassign", data={"judge_id": ill.id, "reason": "病假"},
                               follow_redirects=True)
    assert f"{len(his) - 1}件未完成的作品已转交其他评委" in response.get_data(as_text=True)
    member = db.session.scalar(select(PanelJudge).where(PanelJudge.panel_id == panel.id, PanelJudge.judge_id == ill.id))
    assert member.active is False
    pairs = _pairs(db, panel)
    assert {(j, e) for j, e in pairs if j == ill.id} == {(ill.id, scored.entry_id)}
    for entry in entries:
        assert sum(1 for _, e in pairs if e == entry.id) == 2
    for j, e in pairs:  # still no recusal broken
        entry = next(x for x in entries if x.id == e)
        assert not (j == judges["a"].id and entry.school_id == pool["schools"][0].id)
        assert not (j == judges["chen"].id and e == entries[0].id)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "panel_judge_reassigned")) is not None
    # A later run keeps his submitted score and gives him nothing new.
    org_client.post(f"/admin/panels/{panel.id}/assign")
    assert {(j, e) for j, e in _pairs(db, panel) if j == ill.id} == {(ill.id, scored.entry_id)}


def test_a_hand_over_that_cannot_be_done_changes_nothing(org_client, db, pool):
    panel, judges = pool["panel"], pool["judges"]
    _set_k(org_client, panel, 2)
    org_client.post(f"/admin/panels/{panel.id}/assign")
    before = _pairs(db, panel)
    # Entry 1 (城关小学, instructor 陈淼) may only have 青山评委 and 教研员: without 教研员 it cannot get 2.
    assert (pool["judges"]["free"].id, pool["entries"][0].id) in before
    page = org_client.post(f"/admin/panels/{panel.id}/reassign", data={"judge_id": judges["free"].id, "reason": "病假"},
                           follow_redirects=True).get_data(as_text=True)
    assert "无法全部转交" in page and "只有1位评委可以评（其余回避：城关评委 同校；陈淼 指导教师），需要2位" in page
    assert _pairs(db, panel) == before
    member = db.session.scalar(select(PanelJudge).where(PanelJudge.judge_id == judges["free"].id))
    assert member.active is True


def test_declaring_a_conflict_hands_on_the_open_assignment(org_client, db, pool, edition):
    panel, judges = pool["panel"], pool["judges"]
    _set_k(org_client, panel, 2)
    org_client.post(f"/admin/panels/{panel.id}/assign")
    of_c = [e.id for e in pool["entries"] if e.school_id == pool["schools"][2].id]  # anyone else may take these
    assignment = db.session.scalar(select(Assignment).where(Assignment.judge_id == judges["free"].id,
                                                            Assignment.entry_id.in_(of_c)))
    if assignment is None:  # the draw gave him none of them: move one to him first
        other = db.session.scalar(select(Assignment).where(Assignment.entry_id == of_c[0]).order_by(Assignment.id))
        ops.move_assignment(other, judges["free"], "测试", judges["free"])
        db.session.commit()
        assignment = other
    entry = assignment.entry
    page = org_client.post(f"/admin/editions/{edition.id}/conflicts", data={
        "judge_id": judges["free"].id, "entry_code": entry.code, "reason": "亲属"},
        follow_redirects=True).get_data(as_text=True)
    assert "已改由其他评委评审" in page
    pairs = _pairs(db, panel)
    assert (judges["free"].id, entry.id) not in pairs
    assert sum(1 for _, e in pairs if e == entry.id) == 2
    missing = org_client.post(f"/admin/editions/{edition.id}/conflicts", data={
        "judge_id": judges["free"].id, "entry_code": entry.code, "reason": ""}, follow_redirects=True)
    assert "申报回避需要填写原因" in missing.get_data(as_text=True)
    conflict = db.session.scalar(select(Conflict))
    org_client.post(f"/admin/conflicts/{conflict.id}/delete")
    assert db.session.scalar(select(func.count()).select_from(Conflict)) == 0
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"conflict_declared", "conflict_removed"} <= actions


def test_a_school_conflict_is_respected_by_the_next_run(org_client, db, pool, edition):
    panel, judges = pool["panel"], pool["judges"]
    school_b = pool["schools"][1]
    org_client.post(f"/admin/editions/{edition.id}/conflicts", data={
        "judge_id": judges["free"].id, "school_id": school_b.id, "reason": "曾在该校任教"})
    _set_k(org_client, panel, 2)
    org_client.post(f"/admin/panels/{panel.id}/assign")
    of_b = {e.id for e in pool["entries"] if e.school_id == school_b.id}
    assert not any(j == judges["free"].id and e in of_b for j, e in _pairs(db, panel))


def test_remove_a_judge_and_locked_rounds(org_client, db, pool):
    panel, judges = pool["panel"], pool["judges"]
    _set_k(org_client, panel, 2)
    org_client.post(f"/admin/panels/{panel.id}/assign")
    page = org_client.post(f"/admin/panels/{panel.id}", data={"action": "remove_judge", "judge_id": judges["b"].id},
                           follow_redirects=True).get_data(as_text=True)
    assert "移出本组" in page and "项未评任务" in page
    assert not any(j == judges["b"].id for j, _ in _pairs(db, panel))
    pool["round"].locked = True
    db.session.commit()
    page = org_client.post(f"/admin/panels/{panel.id}/assign", follow_redirects=True).get_data(as_text=True)
    assert "评分已锁定" in page


def test_only_organizers_reach_the_panel_pages(client, db, pool, edition, make_user):
    panel = pool["panel"]
    coordinator = make_user("coordinator", username="coord_x")
    urls = [("GET", f"/admin/editions/{edition.id}/panels"), ("GET", f"/admin/panels/{panel.id}"),
            ("GET", f"/admin/editions/{edition.id}/conflicts"), ("POST", f"/admin/panels/{panel.id}/assign"),
            ("POST", f"/admin/panels/{panel.id}/move"), ("POST", f"/admin/panels/{panel.id}/reassign")]
    for method, url in urls:
        assert client.open(url, method=method).status_code == 302  # anonymous: to the login page
    for user in (coordinator, pool["judges"]["b"]):
        c = client.application.test_client()
        assert login(c, user).status_code == 302
        for method, url in urls:
            assert c.open(url, method=method).status_code == 403, (user.role, url)
    assert not _pairs(db, panel)
