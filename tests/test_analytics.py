"""Judge analytics (judging/results/analytics.py): hand-computed cases and Hypothesis properties.

Pure arithmetic: no app, no database.
"""
from __future__ import annotations

import random
from decimal import Decimal
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judging.results import analytics as calc
from judging.results.analytics import (
    ResultRow,
    analyse_pool,
    analyse_round,
    average_ranks,
    icc1,
    judge_stats,
    kendall_w,
    near_boundary,
    pearson,
    shown,
    spearman,
)
from judging.results.engine import EntryScores, JudgeTotal


def pool_from_rows(rows, judges=None):
    """rows: {entry id: (total or None per judge)} -> [EntryScores]."""
    out = []
    for eid, totals in rows.items():
        names = judges or [f"j{i}" for i in range(len(totals))]
        out.append(EntryScores(eid, True, [JudgeTotal(j, D(str(t)), D(0)) for j, t in zip(names, totals)
                                           if t is not None]))
    return out


def by_judge(stats):
    return {s.judge_id: s for s in stats}


# --------------------------------------------------------------------------- ICC(1), by hand
def test_icc1_shrout_fleiss_table_2():
    """Shrout & Fleiss (1979), Psychological Bulletin 86:420-428, Table 2 (6 targets x 4 judges):
    BMS = 11.24, WMS = 6.26 and ICC(1,1) = .17 (Table 4). By hand: target means 6, 3, 6.5, 4, 7.5,
    4.75, grand mean 127/24; SSB = 4 x 14.0521 = 56.208, MSB = 56.208 / 5 = 11.2417; SSW = 30 + 14 + 11
    + 26 + 17 + 14.75 = 112.75, MSW = 112.75 / 18 = 6.2639; k0 = 4 (balanced);
    ICC = (11.2417 - 6.2639) / (11.2417 + 3 x 6.2639) = 4.9778 / 30.0333 = 0.16574."""
    entries = pool_from_rows({1: (9, 2, 5, 8), 2: (6, 1, 3, 2), 3: (8, 4, 6, 8), 4: (7, 1, 2, 6),
                              5: (10, 5, 6, 9), 6: (6, 2, 4, 7)})
    result = icc1(entries)
    assert result.msb == pytest.approx(11.2417, abs=1e-4)
    assert result.msw == pytest.approx(6.2639, abs=1e-4)
    assert result.k0 == 4
    assert result.value == pytest.approx(0.16574, abs=1e-5)
    assert shown(result.value) == "0.17"  # as the paper prints it


def test_icc1_unbalanced_by_hand():
    """A: 8, 6; B: 4, 2, 3; C: 9, 7 (n = 2, 3, 2; N = 7; a = 3).
    Means 7, 3, 8; grand mean 39/7. SSB = 2(10/7)^2 + 3(18/7)^2 + 2(17/7)^2 = (200 + 972 + 578)/49 = 1750/49,
    MSB = 875/49 = 125/7. SSW = 2 + 2 + 2 = 6, MSW = 6 / (7 - 3) = 3/2.
    k0 = (7 - (4 + 9 + 4)/7) / 2 = 16/7.
    ICC = (125/7 - 3/2) / (125/7 + (9/7)(3/2)) = (229/14) / (277/14) = 229/277 = 0.826715..."""
    entries = pool_from_rows({"A": (8, 6, None), "B": (4, 2, 3), "C": (None, 9, 7)})
    result = icc1(entries)
    assert result.k0 == pytest.approx(16 / 7)
    assert result.msb == pytest.approx(125 / 7) and result.msw == 1.5
    assert result.value == float(Fraction(229, 277))
    assert (result.entries, result.ratings) == (3, 7)


def test_icc1_undefined_cases():
    assert icc1([]).reason == "no_scores"
    assert icc1(pool_from_rows({"A": (80, 81, 82)})).reason == "one_entry"
    # Each entry has one judge only: nothing to compare within an entry.
    assert icc1(pool_from_rows({"A": (80, None), "B": (None, 70)})).reason == "single_totals"
    assert icc1(pool_from_rows({"A": (80, 80), "B": (80, 80)})).reason == "no_variance"
    # No between-entry variance but within: ICC = -MSW / ((k0 - 1) MSW) = -1 / (2 - 1) = -1.
    assert icc1(pool_from_rows({"A": (70, 90), "B": (90, 70)})).value == -1.0


# --------------------------------------------------------------------------- Kendall's W, by hand
def test_kendall_w_by_hand():
    """3 judges rank 3 entries: J1 1 2 3, J2 1 3 2, J3 2 1 3. Rank sums R = 4, 6, 8, mean 6,
    S = 4 + 0 + 4 = 8; W = 12 S / (m^2 (n^3 - n)) = 96 / (9 x 24) = 4/9."""
    entries = pool_from_rows({"e1": (70, 70, 80), "e2": (80, 90, 70), "e3": (90, 80, 90)})
    result = kendall_w(entries)
    assert result.value == pytest.approx(4 / 9) and (result.judges, result.entries) == (3, 3)


def test_kendall_w_with_ties_by_hand():
    """J1 gives e1 and e2 the same 70: ranks 1.5, 1.5, 3 (T1 = 2^3 - 2 = 6); J2 1 3 2; J3 2 1 3.
    R = 4.5, 5.5, 8, mean 6; S = 2.25 + 0.25 + 4 = 6.5;
    W = 12 x 6.5 / (9 x 24 - 3 x 6) = 78 / 198 = 13/33."""
    entries = pool_from_rows({"e1": (70, 70, 80), "e2": (70, 90, 70), "e3": (90, 80, 90)})
    assert kendall_w(entries).value == pytest.approx(13 / 33)


def test_kendall_w_needs_a_complete_design():
    assert kendall_w(pool_from_rows({"e1": (70, 80), "e2": (75, None)})).reason == "incomplete"
    assert kendall_w(pool_from_rows({"e1": (70,), "e2": (75,)})).reason == "one_judge"
    assert kendall_w(pool_from_rows({"e1": (70, 71)})).reason == "one_entry"
    assert kendall_w(pool_from_rows({"e1": (70, 71), "e2": (70, 71)})).reason == "no_variance"
    assert kendall_w([]).reason == "no_scores"
    # Entries nobody scored do not make a design incomplete.
    assert kendall_w(pool_from_rows({"e1": (70, 80), "e2": (75, 85), "e3": (None, None)})).value == 1.0


# --------------------------------------------------------------------------- per judge, by hand
def test_judge_stats_by_hand():
    """j0: 80, 90; j1: 70, 80, 60; j2: 75.
    j0 mean 85, spread sqrt(((-5)^2 + 5^2)/2) = 5; leniency: e1 80 - 70 = 10, e2 90 - (80+75)/2 = 12.5
    -> 11.25. j1: e1 70 - 80 = -10, e2 80 - (90+75)/2 = -2.5, e3 alone (skipped) -> -6.25.
    j2: e2 75 - (90+80)/2 = -10."""
    stats = by_judge(judge_stats(pool_from_rows({"e1": (80, 70, None), "e2": (90, 80, 75), "e3": (None, 60, None)})))
    assert stats["j0"].mean == 85 and stats["j0"].spread == 5 and stats["j0"].leniency == D("11.25")
    assert stats["j1"].count == 3 and stats["j1"].minimum == 60 and stats["j1"].maximum == 80
    assert stats["j1"].leniency == D("-6.25") and stats["j1"].shared == 2
    assert stats["j2"].leniency == -10 and stats["j2"].spread == 0
    assert stats["j1"].totals == (60, 70, 80)
    assert all(s.agreement is None for s in stats.values())  # fewer than 3 shared entries each


def test_agreement_is_spearman_against_the_others_mean():
    """j0: 60 70 80 90; the others' means 62.5 71 69 90 -> ranks 1 3 2 4 against 1 2 3 4:
    d^2 = 0 + 1 + 1 + 0 = 2, rho = 1 - 6 x 2 / (4 x 15) = 0.8."""
    entries = pool_from_rows({"a": (60, 60, 65), "b": (70, 72, 70), "c": (80, 68, 70), "d": (90, 90, 90)})
    stats = by_judge(judge_stats(entries))
    assert stats["j0"].agreement == pytest.approx(0.8)
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)  # 1 - 6 x 4 / 120
    assert spearman([1, 2, 3], [5, 5, 5]) is None
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert average_ranks([10, 20, 10, 30]) == [Fraction(3, 2), 3, Fraction(3, 2), 4]


def test_degenerate_pools():
    empty = analyse_pool([])
    assert (empty.entries, empty.ratings, empty.judges) == (0, 0, ())
    assert empty.icc.reason == "no_scores" and empty.kendall_w.reason == "no_scores" and not empty.complete
    alone = analyse_pool(pool_from_rows({"a": (80,), "b": (90,), "c": (70,), "d": (60,)}))
    (judge,) = alone.judges
    assert judge.leniency is None and judge.agreement is None and judge.shared == 0
    assert alone.icc.reason == "single_totals" and alone.kendall_w.reason == "one_judge"
    flat = analyse_pool(pool_from_rows({"a": (80, 80), "b": (80, 80), "c": (80, 80)}))
    assert all(j.spread == 0 and j.leniency == 0 and j.agreement is None for j in flat.judges)
    assert flat.icc.reason == "no_variance" and flat.kendall_w.reason == "no_variance"
    unscored = analyse_pool([EntryScores("x", True, [])])
    assert unscored.entries == 0 and unscored.icc.reason == "no_scores"


def test_unrankable_entries_are_left_out_unless_asked():
    entries = pool_from_rows({"a": (80, 70)}) + [EntryScores("b", False, [JudgeTotal("j0", D(10), D(0))])]
    assert by_judge(judge_stats(entries))["j0"].count == 1
    assert by_judge(judge_stats(entries, include_unrankable=True))["j0"].count == 2


def test_a_judge_twice_on_an_entry_is_refused():
    twice = [EntryScores("a", True, [JudgeTotal("j", D(1), D(0)), JudgeTotal("j", D(2), D(0))])]
    with pytest.raises(ValueError):
        analyse_pool(twice)
    with pytest.raises(ValueError):
        analyse_pool(pool_from_rows({"a": (1, 2)}) * 2)


def test_round_overall_spans_pools():
    """j0 scores in two pools: overall count 4, leniency over all four entries."""
    first = pool_from_rows({"a": (80, 70), "b": (90, 80)})  # j0 +10, +10
    second = pool_from_rows({"c": (60, 70), "d": (50, 60)}, judges=["j0", "j9"])  # j0 -10, -10
    result = analyse_round({(1, 1): first, (1, 2): second})
    overall = by_judge(result.overall)
    assert overall["j0"].count == 4 and overall["j0"].leniency == 0
    assert by_judge(result.pools[(1, 1)].judges)["j0"].leniency == 10
    assert by_judge(result.pools[(1, 2)].judges)["j0"].leniency == -10


def test_shown_rounds_half_up():
    assert shown(0.125) == "0.13"  # float round() would give 0.12
    assert shown(D("2.675")) == "2.68"
    assert shown(D("-0.004")) == "0.00"  # no "-0.00"
    assert shown(D("1.5"), signed=True) == "+1.50" and shown(D("-1.5"), signed=True) == "-1.50"
    assert shown(0.0, signed=True) == "0.00"
    assert shown(None) == "—"
    assert shown(D("85.125"), places=2) == "85.13"


# --------------------------------------------------------------------------- near a boundary, by hand
def rows(*items):
    return [ResultRow(eid, None if final is None else D(final), rank, level) for eid, final, rank, level in items]


def test_near_boundary_by_hand():
    """一等 a 90.00; 二等 b 89.50, c 89.20; none d 88.30, e 80.00; f not ranked.
    Boundary 1|2: 90.00 / 89.50 (gap 0.50): a is 0.50 above b; b is 0.50 and c 0.80 below a.
    Boundary 2|-: 89.20 / 88.30 (gap 0.90): b 1.20 above d (out), c 0.90 above; d 0.90 below."""
    data = rows(("a", "90.00", 1, 1), ("b", "89.50", 2, 2), ("c", "89.20", 3, 2), ("d", "88.30", 4, None),
                ("e", "80.00", 5, None), ("f", None, None, None))
    totals = {"c": [JudgeTotal("j2", D(89), D(0)), JudgeTotal("j1", D("89.4"), D(0))]}
    report = near_boundary(data, totals, D("1.00"))
    first, second = report.boundaries
    assert (first.upper_level, first.lower_level, first.gap) == (1, 2, D("0.50"))
    assert (second.upper_level, second.lower_level, second.gap) == (2, None, D("0.90"))
    groups = dict((b, [(n.entry_id, n.side, n.distance) for n in ns]) for b, ns in report.near_by_boundary())
    assert groups[first] == [("a", "above", D("0.50")), ("b", "below", D("0.50")), ("c", "below", D("0.80"))]
    assert groups[second] == [("c", "above", D("0.90")), ("d", "below", D("0.90"))]
    c_near = next(n for n in report.near if n.entry_id == "c")
    assert [t.judge_id for t in c_near.totals] == ["j1", "j2"]  # judge order
    assert near_boundary(data, totals, D("0.50")).near == tuple(n for n in report.near if n.distance <= D("0.5"))
    assert near_boundary(data, margin=D(0)).near == ()


def test_near_boundary_ties_and_no_levels():
    """A tied block that got the higher level stays one side of the boundary (gap 0 to the next)."""
    data = rows(("a", "85.00", 1, 1), ("b", "85.00", 1, 1), ("c", "85.00", 3, None))
    report = near_boundary(data, margin=D(0))
    assert [(n.entry_id, n.side, n.distance) for n in report.near] == [
        ("a", "above", 0), ("b", "above", 0), ("c", "below", 0)]
    assert near_boundary(rows(("a", "85.00", 1, None), ("b", "80.00", 2, None))).boundaries == ()
    assert near_boundary([]).near == ()
    with pytest.raises(ValueError):
        near_boundary(data, margin=D("-0.01"))


# --------------------------------------------------------------------------- properties
SCORES = st.integers(0, 1000).map(lambda i: D(i) / 10)


@st.composite
def pools(draw, max_judges=6, max_entries=10):
    m = draw(st.integers(1, max_judges))
    judges = [f"j{i}" for i in range(m)]
    entries = []
    for e in range(draw(st.integers(0, max_entries))):
        subset = draw(st.lists(st.sampled_from(judges), unique=True, max_size=m))
        entries.append(EntryScores(f"e{e}", True, [JudgeTotal(j, draw(SCORES), D(0)) for j in subset]))
    return entries


def shuffled(entries, rnd: random.Random):
    out = [EntryScores(e.entry_id, e.rankable, rnd.sample(list(e.totals), len(e.totals))) for e in entries]
    rnd.shuffle(out)
    return out


@settings(max_examples=150, deadline=None)
@given(pools(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_entry_or_judge_order(entries, rnd):
    assert analyse_pool(shuffled(entries, rnd)) == analyse_pool(entries)


@settings(max_examples=150, deadline=None)
@given(pools(), st.data(), st.integers(-300, 300).map(lambda i: D(i) / 10))
def test_adding_c_to_every_total_of_a_judge_shifts_his_leniency_by_c(entries, data, c):
    before = by_judge(judge_stats(entries))
    shared = [j for j, s in before.items() if s.leniency is not None]
    if not shared:
        return
    judge = data.draw(st.sampled_from(sorted(shared)))
    moved = [EntryScores(e.entry_id, e.rankable,
                         [JudgeTotal(t.judge_id, t.total + c if t.judge_id == judge else t.total, t.first_criterion)
                          for t in e.totals]) for e in entries]
    after = by_judge(judge_stats(moved))
    assert abs(after[judge].leniency - before[judge].leniency - c) < D("1e-40")
    assert abs(after[judge].mean - before[judge].mean - c) < D("1e-40")
    assert after[judge].spread == before[judge].spread
    assert after[judge].agreement == before[judge].agreement  # ranks do not move under a shift
    for other in before:  # the rest of the panel scored as before
        if other != judge:
            assert after[other].mean == before[other].mean and after[other].spread == before[other].spread


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_icc_of_identical_judges_is_one(data):
    m = data.draw(st.integers(2, 6))
    judges = [f"j{i}" for i in range(m)]
    n = data.draw(st.integers(2, 10))
    values = data.draw(st.lists(SCORES, min_size=n, max_size=n).filter(lambda v: len(set(v)) > 1))
    entries = []
    for i, value in enumerate(values):
        subset = data.draw(st.lists(st.sampled_from(judges), unique=True, min_size=2 if i == 0 else 1))
        entries.append(EntryScores(i, True, [JudgeTotal(j, value, D(0)) for j in subset]))
    result = icc1(entries)
    assert result.value == 1.0
    assert all(s.leniency in (None, 0) for s in judge_stats(entries))


@settings(max_examples=150, deadline=None)
@given(pools())
def test_icc_stays_in_its_range(entries):
    result = icc1(entries)
    if result.value is not None:
        assert result.value <= 1.0 + 1e-12
        if result.k0 > 1:  # the one-way ANOVA estimator's floor
            assert result.value >= -1.0 / (result.k0 - 1) - 1e-9


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_kendall_w_is_between_zero_and_one_and_one_for_identical_judges(data):
    m = data.draw(st.integers(2, 5))
    n = data.draw(st.integers(2, 8))
    table = data.draw(st.lists(st.lists(SCORES, min_size=m, max_size=m), min_size=n, max_size=n))
    result = kendall_w(pool_from_rows(dict(enumerate(table))))
    assert result.value is None or -1e-12 <= result.value <= 1 + 1e-12
    same = data.draw(st.lists(SCORES, min_size=n, max_size=n).filter(lambda v: len(set(v)) > 1))
    assert kendall_w(pool_from_rows({i: [v] * m for i, v in enumerate(same)})).value == pytest.approx(1.0)


@st.composite
def ranked_rows(draw):
    """A pool's ranked results: finals descending, competition ranks, levels by count quotas."""
    finals = sorted(draw(st.lists(st.integers(6000, 10000).map(lambda i: D(i) / 100), max_size=15)), reverse=True)
    ranks = [1 + sum(1 for g in finals if g > f) for f in finals]
    quotas = draw(st.lists(st.integers(0, 4), max_size=3))
    levels = []
    for i in range(len(finals)):
        cumulative, level = 0, None
        for position, q in enumerate(quotas, start=1):
            cumulative += q
            if ranks[i] <= cumulative:
                level = position
                break
        levels.append(level)
    return [ResultRow(f"e{i}", f, r, lv) for i, (f, r, lv) in enumerate(zip(finals, ranks, levels))]


@settings(max_examples=200, deadline=None)
@given(ranked_rows(), st.integers(0, 500).map(lambda i: D(i) / 100), st.randoms(use_true_random=False))
def test_near_boundary_properties(data, margin, rnd):
    report = near_boundary(data, margin=margin)
    assert all(n.distance <= margin for n in report.near)
    for boundary in report.boundaries:  # a close boundary lists both its neighbours
        listed = {n.entry_id for n in report.near if n.boundary == boundary}
        if boundary.gap <= margin:
            assert {boundary.upper_entry_id, boundary.lower_entry_id} <= listed
        else:
            assert not listed
    wider = near_boundary(data, margin=margin + 1)
    assert set(report.near) <= set(wider.near)
    rnd.shuffle(data)
    assert near_boundary(data, margin=margin) == report


def test_a_tie_straddling_a_quota_line_is_listed_at_that_line():
    """Quota 2 for 一等奖: B and C tie at the line and both get 一等奖 (rule 5), so the levels alone
    show no line between them; the quota cut does, with no gap, and both are listed even at margin 0."""
    rows = [calc.ResultRow("A", Decimal("90.00"), 1, 1), calc.ResultRow("B", Decimal("85.00"), 2, 1),
            calc.ResultRow("C", Decimal("85.00"), 2, 1), calc.ResultRow("D", Decimal("80.00"), 4, 2)]
    by_levels = calc.near_boundary(rows, margin=Decimal(0))
    assert [(b.upper_final, b.lower_final) for b in by_levels.boundaries] == [(Decimal(85), Decimal(80))]
    assert not by_levels.near
    by_quota = calc.near_boundary(rows, margin=Decimal(0), cuts=[(2, 1, 2), (4, 2, None)])
    (line,) = by_quota.boundaries  # the cut after the last entry is no line
    assert (line.upper_level, line.lower_level, line.gap) == (1, 2, Decimal(0))
    assert sorted(n.entry_id for n in by_quota.near) == ["B", "C"]
