"""Report rows of a result snapshot (judging/results/reports.py): print order, names in listed
order, prizes after overrides, 姓氏笔画 order, instructor rewards (rule 7) and the per-school summary
with 优秀组织奖 (rule 8); a handful of queries whatever the size; and one round computed from real
scores end to end.

The fixture `results_world` writes a snapshot directly (rows as compute_results stores them), so
every number below is chosen by hand; test_exports.py reuses it.
"""
from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from judging.registration.operations import review_entry
from judging.registration.rules import StudentInput
from judging.results import engine, reports
from judging.results.models import EntryResultRow, ResultSnapshot
from judging.results.reports import ResultLine

D = Decimal


def _student(name, grade="五年级", klass="1班"):
    return StudentInput(name, "男", grade, klass)


@pytest.fixture
def results_world(db, edition, organizer, make_school, make_entry):
    """Three schools; pools 小发明·小学组 (XF/X), 科幻画·初中组 (KH/C), 科幻画·小学组 (KH/X).

    XF/X  e1 张四 90.00 #1 一等 (李老师、王老师、陈老师) | e2 欧阳五 "=1+1" 85.50 #2 二等 (赵老师)
          e3 丁一、王小明 80.25 #3 三等 (周老师、吴老师、郑老师) | e4 王二 80.25 #3 三等 (none)
          e5 李三 70.00 #5 no prize (赵老师) | e6 钱六 too few judges | e7 孙七 disqualified
    KH/C  k1 刘八 88.00 #1 一等 (马老师) | k2 高大富 60.00 #2 二等 by override (赵老师)
    KH/X  s1..s5 all 一等奖, ranks 1..5: 张明 欧阳雪 李华 丁一 王芳 (李老师 coaches 李华)
    Rewards 一等 300元/3分, 二等 200/2, 三等 100/1; 组织奖 points 5/3/1, at least 3 entries.
    """
    edition.max_entries_per_class = None
    edition.org_award_enabled = True
    edition.org_award_min_entries = 3
    xf, kh = edition.categories
    xf.max_instructors = 3
    primary, junior = edition.divisions
    for level, amount, points, org in zip(edition.prize_levels, (300, 200, 100), (3, 2, 1), (5, 3, 1)):
        level.reward_amount, level.reward_points, level.org_points = D(amount), D(points), org
    db.session.commit()
    a = make_school("城关第一小学", cluster="城关片区")
    b = make_school("河西小学", cluster="河西片区")
    c = make_school("北山中学")

    def entry(school, title, category, division, students, instructors=(), approve=True):
        grade = "八年级" if division is junior else "五年级"
        e = make_entry(school, title=title, category=category, division=division,
                       students=[_student(n, grade, f"{i + 1}班") for i, n in enumerate(students)],
                       instructors=list(instructors), **({"subform": "卡通画"} if category is kh else {}))
        if approve:
            review_entry(e, "approve", None, organizer)
            db.session.commit()
        return e

    es = {
        "e1": entry(a, "智能垃圾桶", xf, primary, ["张四"], ["李老师", "王老师", "陈老师"]),
        "e2": entry(b, "=1+1", xf, primary, ["欧阳五"], ["赵老师"]),
        "e3": entry(a, "自动浇花器", xf, primary, ["丁一", "王小明"], ["周老师", "吴老师", "郑老师"]),
        "e4": entry(c, "雨伞架", xf, primary, ["王二"]),
        "e5": entry(b, "节水龙头", xf, primary, ["李三"], ["赵老师"]),
        "e6": entry(a, "未评完的作品", xf, primary, ["钱六"]),
        "e7": entry(c, "取消资格的作品", xf, primary, ["孙七"], approve=False),
        "k1": entry(c, "火星城市", kh, junior, ["刘八"], ["马老师"]),
        "k2": entry(b, "海底家园", kh, junior, ["高大富"], ["赵老师"]),
    }
    review_entry(es["e7"], "disqualify", "抄袭", organizer)
    for i, name in enumerate(["张明", "欧阳雪", "李华", "丁一", "王芳"], start=1):
        es[f"s{i}"] = entry(a if name == "李华" else b, f"未来{i}", kh, primary, [name],
                            ["李老师"] if name == "李华" else [])
    final = next(r for r in edition.rounds if r.kind == "final")
    snapshot = ResultSnapshot(edition_id=edition.id, round_id=final.id, settings_json="{}", status="draft")
    db.session.add(snapshot)
    db.session.flush()
    rows = {  # final, rank, level, quota level, overridden, reason, flags
        "e1": (D("90.00"), 1, 1, 1, False, None, []),
        "e2": (D("85.50"), 2, 2, 2, False, None, []),
        "e3": (D("80.25"), 3, 3, 3, False, None, ["tie_last_boundary"]),
        "e4": (D("80.25"), 3, 3, 3, False, None, ["tie_last_boundary"]),
        "e5": (D("70.00"), 5, None, None, False, None, []),
        "e6": (None, None, None, None, False, None, ["too_few_judges"]),
        "e7": (None, None, None, None, False, None, ["not_rankable"]),
        "k1": (D("88.00"), 1, 1, 1, False, None, []),
        "k2": (D("60.00"), 2, 2, None, True, "评审委员会复议", ["override"]),
        **{f"s{i}": (D(95 - i), i, 1, 1, False, None, []) for i in range(1, 6)},
    }
    for key, (final_score, rank, level, quota, overridden, reason, flags) in rows.items():
        db.session.add(EntryResultRow(snapshot_id=snapshot.id, entry_id=es[key].id, final=final_score, rank=rank,
                                      level_position=level, quota_level=quota, overridden=overridden,
                                      override_reason=reason, flags_json=json.dumps(flags)))
    db.session.commit()
    return {"snapshot": snapshot, "entries": es, "schools": (a, b, c), "round": final, "edition": edition}


def _codes(lines, world):
    names = {e.id: k for k, e in world["entries"].items()}
    return [names[line.entry_id] for line in lines]


# --- result_lines --------------------------------------------------------------------------------

def test_result_lines_order_and_fields(db, results_world):
    lines = reports.result_lines(results_world["snapshot"])
    # pools by category then division position; ranked by rank then code; unranked by code.
    assert _codes(lines, results_world) == ["e1", "e2", "e3", "e4", "e5", "e6", "e7",
                                            "s1", "s2", "s3", "s4", "s5", "k1", "k2"]
    by = {k: line for k, line in zip(_codes(lines, results_world), lines)}
    e3 = by["e3"]
    assert (e3.title, e3.category_code, e3.category_name, e3.division_code, e3.division_name) == (
        "自动浇花器", "XF", "小发明", "X", "小学组")
    assert e3.students == ["丁一", "王小明"] and e3.instructors == ["周老师", "吴老师", "郑老师"]
    assert (e3.final, e3.rank, e3.level_position, e3.level_name) == (D("80.25"), 3, 3, "三等奖")
    assert e3.school_name == "城关第一小学" and e3.flags == ["tie_last_boundary"]
    assert by["e6"].final is None and by["e6"].level_name is None and by["e6"].flags == ["too_few_judges"]
    assert by["e7"].entry_status == "disqualified"
    k2 = by["k2"]
    assert (k2.level_name, k2.overridden, k2.override_reason) == ("二等奖", True, "评审委员会复议")
    assert by["k1"].subform == "卡通画" and by["k1"].pool_name == "科幻画 · 初中组"
    ranked = reports.result_lines(results_world["snapshot"], ranked_only=True)
    assert _codes(ranked, results_world) == [k for k in _codes(lines, results_world) if k not in ("e6", "e7")]


def test_result_lines_takes_a_fixed_number_of_queries(db, results_world):
    snapshot = results_world["snapshot"]
    snapshot.edition  # loaded
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        reports.result_lines(snapshot)
        reports.school_summary(snapshot)
        reports.reward_lines(snapshot)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) <= 4 + 4 + 6, statements


def test_level_names(db, results_world):
    assert reports.level_names(results_world["edition"]) == {1: "一等奖", 2: "二等奖", 3: "三等奖"}


def test_code_sort_key_is_natural():
    assert sorted(["XFX-10", "XFX-9", "XFX-100", "KHX-2"], key=reports.code_sort_key) == [
        "KHX-2", "XFX-9", "XFX-10", "XFX-100"]


# --- orders --------------------------------------------------------------------------------------

def _line(entry_id, student, level, rank=None, pool=(1, 1), code=None):
    return ResultLine(entry_id=entry_id, code=code or f"X-{entry_id:03d}", title="t", category_id=pool[0],
                      category_code="XF", category_name="小发明", division_id=pool[1], division_code="X",
                      division_name="小学组", school_id=1, school_name="s", students=[student] if student else [],
                      instructors=[], final=None, rank=rank, level_position=level,
                      level_name=None, overridden=False, override_reason=None, flags=[], entry_status="approved")


def test_stroke_order_by_surname_strokes_within_each_prize():
    names = ["张明", "欧阳雪", "李华", "丁一", "王芳", "高大富", "高富"]
    lines = [_line(i, n, 1, rank=i) for i, n in enumerate(names, start=1)]
    lines += [_line(10, "丁二", 2, rank=10), _line(11, "王二", None, rank=11)]
    ordered = reports.stroke_order(list(reversed(lines)))
    # 丁(2) 王(4) 李(7: 横 first) 张(7: 折 first) 欧阳(8) 高(10: 高富 before 高大富)
    assert [l.first_student for l in ordered] == ["丁一", "王芳", "李华", "张明", "欧阳雪", "高富", "高大富",
                                                  "丁二", "王二"]


def test_stroke_order_keeps_pools_in_order():
    lines = [_line(1, "王一", 1, pool=(1, 1)), _line(2, "丁一", 1, pool=(1, 2)), _line(3, "张一", 1, pool=(1, 1))]
    assert [l.entry_id for l in reports.stroke_order(lines)] == [1, 3, 2]


def test_prize_order_puts_an_overridden_prize_in_its_level():
    lines = [_line(1, "a", 1, rank=1), _line(2, "b", None, rank=2), _line(3, "c", 2, rank=3), _line(4, "d", None)]
    assert [l.entry_id for l in reports.prize_order(lines)] == [1, 3, 2, 4]


# --- rewards -------------------------------------------------------------------------------------

def test_reward_lines(db, results_world):
    rewards = reports.reward_lines(results_world["snapshot"])
    got = {(r.name, r.school_name): (r.amount, r.points, [code for code, _, _ in r.entries]) for r in rewards}
    es = results_world["entries"]
    assert got == {
        ("李老师", "城关第一小学"): (D("400.00"), D("4.00"), [es["e1"].code, es["s3"].code]),
        ("王老师", "城关第一小学"): (D("100.00"), D("1.00"), [es["e1"].code]),
        ("陈老师", "城关第一小学"): (D("100.00"), D("1.00"), [es["e1"].code]),
        ("周老师", "城关第一小学"): (D("33.34"), D("0.34"), [es["e3"].code]),
        ("吴老师", "城关第一小学"): (D("33.33"), D("0.33"), [es["e3"].code]),
        ("郑老师", "城关第一小学"): (D("33.33"), D("0.33"), [es["e3"].code]),
        ("赵老师", "河西小学"): (D("400.00"), D("4.00"), [es["e2"].code, es["k2"].code]),  # k2 by override
        ("马老师", "北山中学"): (D("300.00"), D("3.00"), [es["k1"].code]),
    }
    zhao = next(r for r in rewards if r.name == "赵老师")
    assert zhao.entries == [(es["e2"].code, "=1+1", "二等奖"), (es["k2"].code, "海底家园", "二等奖")]
    # by school (stroke order of the school name: 北 5, 河 8, 城 9), then instructor stroke order:
    # 王 4; 李 1234521, 吴 2511134, 陈 5215234 (7 strokes, by the first stroke); 周 8, 郑 8
    assert [(r.school_name, r.name) for r in rewards] == [
        ("北山中学", "马老师"), ("河西小学", "赵老师"),
        ("城关第一小学", "王老师"), ("城关第一小学", "李老师"), ("城关第一小学", "吴老师"),
        ("城关第一小学", "陈老师"), ("城关第一小学", "周老师"), ("城关第一小学", "郑老师")]
    assert sum(r.amount for r in rewards) == 300 + 200 + 100 + 300 + 200 + 300


def test_reward_lines_max_and_full(db, results_world):
    edition = results_world["edition"]
    edition.reward_accumulation, edition.reward_split = "max", "full"
    db.session.commit()
    got = {r.name: (r.amount, r.points) for r in reports.reward_lines(results_world["snapshot"])}
    assert got["李老师"] == (D("300.00"), D("3.00")) and got["周老师"] == (D("100.00"), D("1.00"))
    assert got["赵老师"] == (D("200.00"), D("2.00"))


def test_levels_without_reward_give_no_line(db, results_world):
    for level in results_world["edition"].prize_levels:
        level.reward_amount = level.reward_points = D(0)
    db.session.commit()
    assert reports.reward_lines(results_world["snapshot"]) == []


money = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(amounts=st.lists(money, min_size=3, max_size=3),
       winners=st.lists(st.tuples(st.sampled_from([1, 2, 3, None]),
                                  st.lists(st.sampled_from(["甲", "乙", "丙", "丁"]), max_size=3, unique=True)),
                        max_size=12))
def test_rewards_add_up_to_the_table_applied_to_prizes(amounts, winners):
    """What reward_lines feeds engine.instructor_rewards: every cent of each winning entry's table
    amount goes to its instructors (equal split, summed); the co-instructors' shares are equal, cut
    to 0.01, the remainder (under 0.01 per co-instructor) to the first listed."""
    table = {lv: (a, a / 100) for lv, a in zip((1, 2, 3), amounts)}
    entries = [engine.WinningEntry(i, level, [engine.Instructor(n, 1) for n in names])
               for i, (level, names) in enumerate(winners)]
    rewards = engine.instructor_rewards(entries, table)
    expected = sum((table[w.level][0] for w in entries if w.level is not None and w.instructors), D(0))
    assert sum((r.amount for r in rewards), D(0)) == expected
    for w in entries:
        if w.level is None or not w.instructors:
            continue
        shares = engine.split_equally(table[w.level][0], len(w.instructors))
        first, rest = shares[0], shares[1:]
        assert sum(shares) == table[w.level][0] and len(set(rest)) <= 1
        assert all(D(0) <= first - r < D("0.01") * len(shares) for r in rest)


# --- school summary ------------------------------------------------------------------------------

def test_school_summary(db, results_world):
    rows = reports.school_summary(results_world["snapshot"])
    # by 片区 (城关 before 河西, none last)
    assert [r.school_name for r in rows] == ["城关第一小学", "河西小学", "北山中学"]
    a, b, c = rows
    # A: e1 e3 e6 s3 approved; e6 not ranked; prizes 1 (e1, s3), 3 (e3)
    assert (a.district, a.entries, a.ranked, a.by_level, a.prized) == ("城关片区", 4, 3, {1: 2, 3: 1}, 3)
    # B: e2 e5 k2 s1 s2 s4 s5 -> 1 x4, 2 x2; e5 no prize
    assert (b.entries, b.ranked, b.by_level) == (7, 7, {1: 4, 2: 2})
    # C: e4 k1 (e7 disqualified does not take part)
    assert (c.district, c.entries, c.ranked, c.by_level) == (None, 2, 2, {1: 1, 3: 1})
    # 组织奖: B 4x5 + 2x3 = 26 (rank 1), A 2x5 + 1 = 11 (rank 2); C has 2 < 3 entries: points, no rank
    assert (b.org_points, b.org_rank) == (D(26), 1)
    assert (a.org_points, a.org_rank) == (D(11), 2)
    assert (c.org_points, c.org_rank) == (D(6), None)


def test_school_summary_without_org_award(db, results_world):
    results_world["edition"].org_award_enabled = False
    db.session.commit()
    assert all(r.org_points is None and r.org_rank is None for r in reports.school_summary(results_world["snapshot"]))


# --- end to end: scores -> compute_results -> report rows ---------------------------------------

def test_lines_of_a_computed_round(db, edition, organizer, make_user, make_school, make_entry):
    from judging.contests.models import PoolRule, Quota
    from judging.results.operations import compute_results
    from judging.scoring.models import Assignment, Panel, PanelJudge
    from judging.scoring.operations import Submission, submit_score

    xf = edition.categories[0]
    primary = edition.divisions[0]
    final = next(r for r in edition.rounds if r.kind == "final")
    levels = {lv.position: lv for lv in edition.prize_levels}
    levels[1].reward_amount = D(300)
    rule = PoolRule(edition=edition, category_id=xf.id, division_id=primary.id, quota_mode="count")
    rule.quotas = [Quota(prize_level=levels[1], value=D(1)), Quota(prize_level=levels[2], value=D(1))]
    db.session.add(rule)
    school = make_school("实验小学")
    judges = [make_user("judge", username=f"j{i}") for i in range(3)]
    panel = Panel(edition_id=edition.id, round_id=final.id, category_id=xf.id, division_id=primary.id)
    db.session.add(panel)
    db.session.flush()
    db.session.add_all(PanelJudge(panel_id=panel.id, judge_id=j.id) for j in judges)
    db.session.commit()
    entries = []
    for title, student, totals in (("甲作品", "王一", (80, 82, 84)), ("乙作品", "丁二", (90, 91, 92)),
                                   ("丙作品", "李三", (70, 70, 71))):
        entry = make_entry(school, title=title, students=[_student(student)], instructors=["林老师"])
        review_entry(entry, "approve", None, organizer)
        for judge, total in zip(judges, totals):
            db.session.add(Assignment(round_id=final.id, panel_id=panel.id, entry_id=entry.id, judge_id=judge.id))
            db.session.commit()
            c1, c2 = xf.criteria
            code, body = submit_score(judge, Submission(
                idempotency_key=uuid.uuid4().hex, round_id=final.id, entry_id=entry.id,
                values={c1.id: str(total - 40), c2.id: "40"}, status="submitted", base_version=0))
            assert code in (200, 201), body
            db.session.commit()
        entries.append(entry)
    snapshot = compute_results(edition, final, organizer)
    db.session.commit()
    lines = reports.result_lines(snapshot)
    assert [(l.title, l.students, l.final, l.rank, l.level_name) for l in lines] == [
        ("乙作品", ["丁二"], D("91.00"), 1, "一等奖"),
        ("甲作品", ["王一"], D("82.00"), 2, "二等奖"),
        ("丙作品", ["李三"], D("70.33"), 3, None),
    ]
    rewards = reports.reward_lines(snapshot)
    assert [(r.name, r.school_name, r.amount) for r in rewards] == [("林老师", "实验小学", D("300.00"))]
    assert db.session.scalar(select(EntryResultRow.final).where(EntryResultRow.entry_id == entries[2].id)) == D("70.33")
