"""Results engine (DOMAIN.md rules 2-8): hand-computed cases and Hypothesis properties.

Pure arithmetic: no app, no database.
"""
from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judging.results.engine import (
    EntryScores,
    Instructor,
    JudgeTotal,
    Override,
    PoolInput,
    SchoolEntry,
    WinningEntry,
    aggregate,
    compute_pool,
    cumulative_boundaries,
    instructor_rewards,
    organization_award,
    split_equally,
)


def entry(eid, totals, fc=None, rankable=True):
    """totals: list of numbers/strings; fc: first-criterion scores (default: all 10)."""
    fc = fc or [10] * len(totals)
    return EntryScores(eid, rankable, [JudgeTotal(f"j{i}", D(str(t)), D(str(f)))
                                       for i, (t, f) in enumerate(zip(totals, fc))])


def pool(entries, **kw):
    return compute_pool(PoolInput(entries, **kw))


# --------------------------------------------------------------------------- rule 2
def test_half_up_85_125_gives_85_13():
    # mean of 85.1, 85.2, 85.1, 85.1 = 340.5 / 4 = 85.125 -> 85.13 (banker's rounding would give 85.12)
    r = pool([entry("a", ["85.1", "85.2", "85.1", "85.1"])], method="mean")
    assert r.results[0].final == D("85.13")


def test_trimmed_mean_five_judges_drops_highest_and_lowest():
    # drop 70 and 99: (80 + 85 + 90) / 3 = 85 (the plain mean would be 84.80)
    assert aggregate([D(99), D(80), D(70), D(90), D(85)], "trimmed_mean") == D(85)
    r = pool([entry("a", [99, 80, 70, 90, 85])], method="trimmed_mean")
    assert r.results[0].final == D("85.00")


def test_trimmed_mean_four_judges_is_plain_mean():
    # 70 + 80 + 90 + 99 = 339; 339 / 4 = 84.75
    r = pool([entry("a", [70, 80, 90, 99])], method="trimmed_mean")
    assert r.results[0].final == D("84.75")


def test_median_of_even_count_is_mean_of_middle_two():
    # sorted 70, 80, 90, 99 -> (80 + 90) / 2 = 85
    r = pool([entry("a", [99, 70, 90, 80])], method="median")
    assert r.results[0].final == D("85.00")
    assert aggregate([D(3), D(1), D(2)], "median") == D(2)


def test_zscore_tiny_hand_example():
    # J1 scores A 80, B 60: m 70, s 10 -> zA +1, zB -1
    # J2 scores B 90, C 70: m 80, s 10 -> zB +1, zC -1
    # J3 scores A 75, C 75: s = 0 -> z 0, 0
    # J4 scores only C 75: a single score -> z 0
    # entry z: A (1 + 0) / 2 = 0.5; B (-1 + 1) / 2 = 0; C (-1 + 0 + 0) / 3 = -1/3
    # all totals 80 60 90 70 75 75 75: M = 525 / 7 = 75; squared deviations 25 225 225 25 0 0 0 = 500
    # S = sqrt(500 / 7) = 8.45154...; A = 75 + 4.22577 = 79.2258 -> 79.23; B = 75.00;
    # C = 75 - 2.81718 = 72.1828 -> 72.18. (The plain means would be 77.50, 75.00, 73.33.)
    def jt(j, t):
        return JudgeTotal(j, D(t), D(0))
    entries = [
        EntryScores("A", True, [jt("J1", 80), jt("J3", 75)]),
        EntryScores("B", True, [jt("J1", 60), jt("J2", 90)]),
        EntryScores("C", True, [jt("J2", 70), jt("J3", 75), jt("J4", 75)]),
        # not rankable: ignored by the statistics (else J1's m and s would change)
        EntryScores("X", False, [jt("J1", 0), jt("J2", 0)]),
    ]
    r = compute_pool(PoolInput(entries, method="zscore", min_judges=2)).by_entry()
    assert r["A"].final == D("79.23")
    assert r["B"].final == D("75.00")
    assert r["C"].final == D("72.18")
    assert r["X"].final is None and r["X"].rank is None
    assert [r[k].rank for k in "ABC"] == [1, 2, 3]


# --------------------------------------------------------------------------- rule 3
def test_tie_breakers_in_order():
    entries = [
        entry("A", [70, 80, 85, 90, 95]),  # trimmed 85, sum 420
        entry("B", [80, 80, 85, 90, 90]),  # trimmed 85, sum 425 -> ahead of A
        entry("C", [84, 84, 84], fc=[30, 30, 30]),  # 84, sum 252, first criterion 30
        entry("D", [84, 84, 84], fc=[20, 20, 20]),  # 84, sum 252, first criterion 20
        entry("E", [80, 80, 80]),
        entry("F", [80, 80, 80]),  # fully tied with E
        entry("G", [70, 70, 70]),
        # exact mean of the first criterion: 31/3 both (no rounding to 2 places) -> tied
        entry("H", [60, 60, 60], fc=[10, 10, 11]),
        entry("I", [60, 60, 60], fc=["10.5", "10.5", 10]),
        entry("J", [60, 60, 60], fc=[10, 10, "10.9"]),
    ]
    r = pool(entries).by_entry()
    ranks = {k: r[k].rank for k in "ABCDEFGHIJ"}
    assert ranks == {"B": 1, "A": 2, "C": 3, "D": 4, "E": 5, "F": 5, "G": 7, "H": 8, "I": 8, "J": 10}


# --------------------------------------------------------------------------- rule 4
def test_too_few_judges_reported_and_not_rankable_excluded():
    entries = [
        entry("a", [90, 90, 90]),
        entry("b", [95, 95]),  # too few: reported
        entry("c", [99, 99, 99], rankable=False),  # failed review: left out, not reported
        entry("d", [80, 80, 80]),
    ]
    r = pool(entries, quotas=[(1, D(1))])
    assert r.too_few_judges == ["b"]
    assert any(f.kind == "too_few_judges" and f.entry_ids == ("b",) for f in r.flags)
    by = r.by_entry()
    assert (by["a"].rank, by["a"].level) == (1, 1)
    assert (by["d"].rank, by["d"].level) == (2, None)
    for k in "bc":
        assert by[k].rank is None and by[k].level is None and by[k].final is None
    assert "too_few_judges" in by["b"].flags


# --------------------------------------------------------------------------- rule 5
def test_percent_quotas_round_cumulatively():
    # N = 7, 10 / 20 / 30 %: cumulative 7 x 10 % = 0.7 -> 1; 7 x 30 % = 2.1 -> 2; 7 x 60 % = 4.2 -> 4
    # so the levels get 1, 2 - 1 = 1, 4 - 2 = 2.
    q = [(1, D(10)), (2, D(20)), (3, D(30))]
    assert cumulative_boundaries(7, "percent", q) == [(1, 1), (2, 2), (3, 4)]
    # N = 5 shows the difference: cumulative 0.5 -> 1, 1.5 -> 2, 3.0 -> 3 gives 1 / 1 / 1,
    # while rounding each level alone (0.5, 1.0, 1.5) would give 1 / 1 / 2.
    assert cumulative_boundaries(5, "percent", q) == [(1, 1), (2, 2), (3, 3)]
    r = pool([entry(i, [90 - i] * 3) for i in range(7)], quota_mode="percent", quotas=q)
    levels = [x.level for x in r.results]
    assert levels == [1, 2, 3, 3, None, None, None]
    assert not [f for f in r.flags if f.kind.startswith("tie")]


def test_tied_block_across_boundary_gets_higher_level_and_next_shrinks():
    # quotas 1 / 2 / 3 (cumulative 1, 3, 6); A and B tie for first
    entries = [entry("A", [90] * 3), entry("B", [90] * 3), entry("C", [80] * 3),
               entry("D", [75] * 3), entry("E", [74] * 3), entry("F", [73] * 3), entry("G", [72] * 3)]
    r = pool(entries, quotas=[(1, D(1)), (2, D(2)), (3, D(3))])
    by = r.by_entry()
    assert {k: by[k].level for k in "ABCDEFG"} == {
        "A": 1, "B": 1,  # the block gets the higher level
        "C": 2,  # level 2 shrinks from 2 to 1, so the cumulative total stays 3
        "D": 3, "E": 3, "F": 3, "G": None}
    ties = [f for f in r.flags if f.kind == "tie_across_boundary"]
    assert len(ties) == 1 and set(ties[0].entry_ids) == {"A", "B"} and ties[0].levels == (1, 2)
    assert "tie_across_boundary" in by["A"].flags and "tie_across_boundary" not in by["C"].flags


def test_tied_block_at_last_boundary_all_win():
    entries = [entry("A", [90] * 3), entry("B", [80] * 3), entry("C", [80] * 3),
               entry("D", [80] * 3), entry("E", [70] * 3)]
    r = pool(entries, quotas=[(1, D(1)), (2, D(1))])
    by = r.by_entry()
    assert {k: by[k].level for k in "ABCDE"} == {"A": 1, "B": 2, "C": 2, "D": 2, "E": None}
    flag = [f for f in r.flags if f.kind == "tie_last_boundary"]
    assert len(flag) == 1 and set(flag[0].entry_ids) == {"B", "C", "D"} and flag[0].levels[0] == 2


def test_min_score_no_prize_below_it():
    entries = [entry("A", [90] * 3), entry("B", [70] * 3), entry("C", ["59.9"] * 3)]
    r = pool(entries, quotas=[(1, D(1)), (2, D(2))], min_score=D(60))
    by = r.by_entry()
    assert (by["A"].level, by["B"].level, by["C"].level) == (1, 2, None)
    assert by["C"].rank == 3
    assert any(f.kind == "below_min_score" and f.entry_ids == ("C",) for f in r.flags)


# --------------------------------------------------------------------------- rule 6
def test_override_applied_after_quotas_and_recorded():
    entries = [entry("A", [90] * 3), entry("B", [80] * 3), entry("C", [70] * 3)]
    r = compute_pool(PoolInput(entries, quotas=[(1, D(1)), (2, D(1))]),
                     overrides={"C": Override(2, "评审组复议"), "A": Override(None, "抄袭")})
    by = r.by_entry()
    assert (by["A"].level, by["A"].quota_level, by["A"].overridden) == (None, 1, True)
    assert (by["C"].level, by["C"].quota_level, by["C"].override_reason) == (2, None, "评审组复议")
    assert by["B"].overridden is False and by["B"].level == 2
    assert sorted(f.entry_ids[0] for f in r.flags if f.kind == "override") == ["A", "C"]
    with pytest.raises(ValueError):
        compute_pool(PoolInput(entries), overrides={"A": Override(1, " ")})
    with pytest.raises(ValueError):
        compute_pool(PoolInput(entries), overrides={"zzz": Override(1, "x")})


# --------------------------------------------------------------------------- rule 7
def test_co_instructors_split_100_as_3334_3333_3333():
    assert split_equally(D(100), 3) == [D("33.34"), D("33.33"), D("33.33")]
    ins = [Instructor("王老师", 1), Instructor("李老师", 1), Instructor("张老师", 2)]
    out = instructor_rewards([WinningEntry("e1", 1, ins)], {1: (D(100), D(10))})
    got = {(r.name, r.school_id): (r.amount, r.points) for r in out}
    assert got == {("王老师", 1): (D("33.34"), D("3.34")),
                   ("李老师", 1): (D("33.33"), D("3.33")),
                   ("张老师", 2): (D("33.33"), D("3.33"))}


def test_rewards_sum_vs_max_and_full_split():
    x, y = Instructor("王老师", 1), Instructor("李老师", 1)
    x_other_school = Instructor("王老师", 2)  # a different person: same name, other school
    winners = [WinningEntry("e1", 1, [x]), WinningEntry("e2", 2, [x, y]),
               WinningEntry("e3", 3, [x_other_school]), WinningEntry("e4", None, [y])]
    table = {1: (D(100), D(10)), 2: (D(50), D(5)), 3: (D(20), D(2))}

    def as_dict(rows):
        return {(r.name, r.school_id): (r.amount, r.points) for r in rows}

    assert as_dict(instructor_rewards(winners, table)) == {
        ("王老师", 1): (D("125.00"), D("12.50")), ("李老师", 1): (D("25.00"), D("2.50")),
        ("王老师", 2): (D(20), D(2))}
    assert as_dict(instructor_rewards(winners, table, accumulate="max")) == {
        ("王老师", 1): (D(100), D(10)), ("李老师", 1): (D("25.00"), D("2.50")),
        ("王老师", 2): (D(20), D(2))}
    assert as_dict(instructor_rewards(winners, table, split="full")) == {
        ("王老师", 1): (D(150), D(15)), ("李老师", 1): (D(50), D(5)), ("王老师", 2): (D(20), D(2))}


# --------------------------------------------------------------------------- rule 8
def test_organization_award_ranks_schools_with_enough_entries():
    entries = [SchoolEntry(1, "s1", 1), SchoolEntry(2, "s1", 3), SchoolEntry(3, "s1", None),  # 6
               SchoolEntry(4, "s2", 2), SchoolEntry(5, "s2", 2), SchoolEntry(6, "s2", None),  # 6
               SchoolEntry(7, "s3", 1), SchoolEntry(8, "s3", 3),  # 6 but only 2 entries
               SchoolEntry(9, "s4", 3), SchoolEntry(10, "s4", None), SchoolEntry(11, "s4", None)]  # 1
    out = organization_award(entries, min_entries=3)
    assert [(r.school_id, r.points, r.rank) for r in out] == [("s1", 6, 1), ("s2", 6, 1), ("s4", 1, 3)]


# --------------------------------------------------------------------------- properties
tenths = st.integers(min_value=0, max_value=1000).map(lambda n: D(n) / 10)
# a few common values make tied blocks frequent
scores = st.sampled_from([D(60), D(70), D(80)]) | tenths


@st.composite
def entry_lists(draw, max_entries=9):
    n = draw(st.integers(min_value=0, max_value=max_entries))
    out = []
    for i in range(n):
        if out and draw(st.integers(0, 3)) == 0:
            # a copy of an earlier entry's scores (other judges' ids): a full tie
            src = draw(st.sampled_from(out))
            shift = draw(st.integers(0, 3))
            out.append(EntryScores(f"e{i}", True, [JudgeTotal(f"j{(int(t.judge_id[1:]) + shift) % 8}", t.total,
                                                              t.first_criterion) for t in src.totals]))
            continue
        judges = draw(st.sampled_from([[0, 1, 2], [0, 1, 2, 3, 4]])
                      | st.lists(st.integers(0, 7), min_size=0, max_size=7, unique=True))
        totals = []
        for j in judges:
            t = draw(scores)
            f = draw(st.sampled_from([D(0), min(t, D(5))]) | st.integers(0, int(t * 10)).map(lambda n: D(n) / 10))
            totals.append(JudgeTotal(f"j{j}", t, f))
        out.append(EntryScores(f"e{i}", draw(st.booleans() | st.just(True)), totals))
    return out


@st.composite
def quota_specs(draw):
    mode = draw(st.sampled_from(["count", "percent"]))
    k = draw(st.integers(0, 3))
    if mode == "count":
        values = [D(draw(st.integers(0, 4))) for _ in range(k)]
    else:
        values = [D(draw(st.integers(0, 40))) for _ in range(k)]
    min_score = draw(st.none() | tenths)
    return mode, [(lv + 1, v) for lv, v in enumerate(values)], min_score


def _snapshot(r):
    return ({x.entry_id: (x.final, x.rank, x.level, tuple(sorted(x.flags))) for x in r.results},
            sorted(r.too_few_judges),
            sorted((f.kind, tuple(sorted(f.entry_ids)), f.levels) for f in r.flags))


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(entry_lists(), quota_specs(), st.sampled_from(["trimmed_mean", "mean", "median", "zscore"]),
       st.randoms(use_true_random=False))
def test_order_of_entries_and_judges_does_not_matter(entries, quotas, method, rnd):
    mode, q, min_score = quotas
    base = compute_pool(PoolInput(entries, method=method, quota_mode=mode, quotas=q, min_score=min_score))
    shuffled = []
    for e in entries:
        totals = list(e.totals)
        rnd.shuffle(totals)
        shuffled.append(EntryScores(e.entry_id, e.rankable, totals))
    rnd.shuffle(shuffled)
    other = compute_pool(PoolInput(shuffled, method=method, quota_mode=mode, quotas=q, min_score=min_score))
    assert _snapshot(base) == _snapshot(other)


@FAST
@given(entry_lists(), st.sampled_from(["trimmed_mean", "mean", "median", "zscore"]))
def test_ranks_are_a_competition_ranking(entries, method):
    r = compute_pool(PoolInput(entries, method=method))
    ranks = sorted(x.rank for x in r.results if x.rank is not None)
    for i, rank in enumerate(ranks):
        assert rank == (ranks[i - 1] if i and ranks[i - 1] == rank else i + 1)
    ranked = [x for x in r.results if x.rank is not None]
    # a better rank never has a lower final score
    for a in ranked:
        for b in ranked:
            if a.rank < b.rank:
                assert a.final >= b.final


@FAST
@given(entry_lists(), st.sampled_from(["trimmed_mean", "mean", "median"]), st.data())
def test_raising_an_entrys_totals_never_lowers_its_rank(entries, method, data):
    candidates = [e for e in entries if e.rankable and len(e.totals) >= 3]
    if not candidates:
        return
    target = data.draw(st.sampled_from(candidates))
    deltas = data.draw(st.lists(st.integers(0, 300), min_size=len(target.totals), max_size=len(target.totals)))
    raised = EntryScores(target.entry_id, True, [JudgeTotal(t.judge_id, t.total + D(d) / 10, t.first_criterion)
                                                 for t, d in zip(target.totals, deltas)])
    before = compute_pool(PoolInput(entries, method=method)).by_entry()[target.entry_id].rank
    after_entries = [raised if e.entry_id == target.entry_id else e for e in entries]
    after = compute_pool(PoolInput(after_entries, method=method)).by_entry()[target.entry_id].rank
    assert after <= before


@FAST
@given(entry_lists(max_entries=12), quota_specs(), st.sampled_from(["trimmed_mean", "mean", "median", "zscore"]))
def test_no_level_exceeds_its_quota_except_a_flagged_tied_block(entries, quotas, method):
    mode, q, min_score = quotas
    r = compute_pool(PoolInput(entries, method=method, quota_mode=mode, quotas=q, min_score=min_score))
    bounds = r.boundaries
    prev = 0
    tie_flags = [f for f in r.flags if f.kind in ("tie_across_boundary", "tie_last_boundary")]
    for level, cum in bounds:
        quota = cum - prev
        prev = cum
        winners = [x for x in r.results if x.level == level]
        if len(winners) > quota:
            assert any(f.levels[0] == level and set(f.entry_ids) <= {w.entry_id for w in winners}
                       for f in tie_flags)
    # cumulatively: only a flagged tied block can push past the boundary
    if not tie_flags:
        assert sum(1 for x in r.results if x.level is not None) <= (bounds[-1][1] if bounds else 0)
    assert all(x.level is None for x in r.results if x.rank is None)


names = st.sampled_from(["王", "李", "张", "赵"])


@FAST
@given(st.lists(st.tuples(st.sampled_from([1, 2, 3, 4, None]),
                          st.lists(st.tuples(names, st.integers(1, 3)), min_size=1, max_size=4)),
                max_size=8),
       st.dictionaries(st.integers(1, 3), st.tuples(tenths, tenths), min_size=0, max_size=3))
def test_equal_split_rewards_add_up_to_the_table(raw, table):
    winners = [WinningEntry(f"e{i}", level, [Instructor(n, s) for n, s in ins])
               for i, (level, ins) in enumerate(raw)]
    out = instructor_rewards(winners, table, split="equal", accumulate="sum")
    expected_amount = sum((table[w.level][0] for w in winners if w.level in table), D(0))
    expected_points = sum((table[w.level][1] for w in winners if w.level in table), D(0))
    assert sum((r.amount for r in out), D(0)) == expected_amount
    assert sum((r.points for r in out), D(0)) == expected_points
    for r in out:
        assert r.amount == r.amount.quantize(D("0.01"))
