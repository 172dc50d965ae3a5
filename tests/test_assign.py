"""Properties of the fair assignment (judging/scoring/assign.py), checked against independent oracles.

* Recusal is never violated (the rule re-written here literally: school, instructor name, declared).
* Every entry gets exactly k judges (max(k, its fixed judges)) when each entry has k who may score it;
  otherwise AssignmentImpossible names every entry that cannot, with the number it could have.
* Loads: the most even the recusals allow. Precisely: the largest load equals the smallest maximum any
  valid assignment can have, and the smallest load the largest minimum (both found by a separate
  max-flow). Balancing to "at most one apart" is impossible exactly when these two bounds are more than
  one apart, i.e. when some judges may score too few entries (Hall's condition fails, e.g. a judge from
  the school of nearly the whole pool) or fixed scored pairs already load some judge heavily. Without
  recusals and fixed pairs the loads are always at most one apart.
* Connectivity: with 2 <= k < judges, no recusals, and enough pairs for a connected graph
  (entries x (k-1) >= judges - 1; a connected graph needs nodes - 1 edges) the judge-entry graph is
  connected; with k = 1 it cannot be (each entry touches one judge). In every case the result's
  `connected` flag tells the truth.
* Same seed and input -> same result; entries and judges given in another order -> the same pairs
  (the solver sorts by id before it builds the network, and the jitter is drawn per pair id).
"""
from __future__ import annotations

import random

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judging.scoring.assign import (
    AssignmentImpossible,
    AssignmentProblem,
    EntryInfo,
    JudgeInfo,
    _connect,
    assign,
    conflict_reasons,
    default_k,
    graph_components,
)

NAMES = ["王芳", "李明", "张伟", "陈淼", "刘洋", "杨静"]


# --- the rule, written again independently --------------------------------------------------------

def may_score(judge: JudgeInfo, entry: EntryInfo, problem: AssignmentProblem) -> bool:
    if judge.school_id is not None and judge.school_id == entry.school_id:
        return False
    if judge.name and judge.name in entry.instructor_names:
        return False
    if (judge.id, entry.id) in problem.conflicts:
        return False
    return (judge.id, entry.school_id) not in problem.school_conflicts


def _effective_k(problem):
    return problem.k if problem.k is not None else default_k(len(problem.judges))


def _needs(problem):
    """entry id -> (judges still needed, judges who may be added)."""
    k = _effective_k(problem)
    out = {}
    for entry in problem.entries:
        fixed = {j for j, e in problem.existing if e == entry.id}
        allowed = [j.id for j in problem.judges if j.id not in fixed and may_score(j, entry, problem)]
        out[entry.id] = (max(0, k - len(fixed)), allowed)
    return out


def _fixed_loads(problem):
    loads = {j.id: 0 for j in problem.judges}
    for j, _ in problem.existing:
        if j in loads:
            loads[j] += 1
    return loads


def _flow_value(problem, judge_capacity) -> tuple[int, int]:
    """Max flow entries -> judges with the given capacity per judge; returns (flow, total needed)."""
    graph = nx.DiGraph()
    total = 0
    for entry_id, (need, allowed) in _needs(problem).items():
        total += need
        graph.add_edge("s", ("e", entry_id), capacity=need)
        for judge_id in allowed:
            graph.add_edge(("e", entry_id), ("j", judge_id), capacity=1)
    for judge in problem.judges:
        graph.add_edge(("j", judge.id), "t", capacity=judge_capacity[judge.id])
    if "s" not in graph or "t" not in graph:
        return 0, total
    return nx.maximum_flow_value(graph, "s", "t"), total


def smallest_possible_max(problem) -> int:
    fixed = _fixed_loads(problem)
    cap = max(fixed.values())
    while True:
        flow, total = _flow_value(problem, {j: cap - f for j, f in fixed.items()})
        if flow == total:
            return cap
        cap += 1


def largest_possible_min(problem) -> int:
    """Largest L such that every judge can reach L while every entry is still served (augmenting paths
    into a judge never lower another judge's flow, so the lower bounds alone decide)."""
    fixed = _fixed_loads(problem)
    low = min(fixed.values())
    while True:
        wanted = {j: max(0, low + 1 - f) for j, f in fixed.items()}
        flow, _ = _flow_value(problem, wanted)
        if flow < sum(wanted.values()):
            return low
        low += 1


# --- random problems --------------------------------------------------------------------------------

@st.composite
def problems(draw, with_conflicts=True, with_existing=True):
    n_entries = draw(st.integers(1, 40))
    n_judges = draw(st.integers(1, 12))
    n_schools = draw(st.integers(1, 6))
    entries = [EntryInfo(id=100 + i, school_id=draw(st.integers(1, n_schools)),
                         instructor_names=tuple(draw(st.lists(st.sampled_from(NAMES), max_size=2, unique=True)))
                         if with_conflicts else (), code=f"XFX-{i + 1:03d}")
               for i in range(n_entries)]
    judges = []
    for j in range(n_judges):
        school = draw(st.one_of(st.none(), st.integers(1, n_schools + 3))) if with_conflicts else None
        name = draw(st.sampled_from(NAMES)) if with_conflicts and draw(st.booleans()) else f"评委{j + 1}"
        judges.append(JudgeInfo(id=500 + j, school_id=school, name=name))
    conflicts, school_conflicts, existing = set(), set(), set()
    if with_conflicts:
        pairs = [(j.id, e.id) for j in judges for e in entries]
        conflicts = set(draw(st.lists(st.sampled_from(pairs), max_size=6)))
        school_conflicts = set(draw(st.lists(st.tuples(st.sampled_from([j.id for j in judges]),
                                                       st.integers(1, n_schools)), max_size=2)))
    k = draw(st.one_of(st.none(), st.integers(1, 7)))
    problem = AssignmentProblem(entries=entries, judges=judges, k=k, conflicts=conflicts,
                                school_conflicts=school_conflicts, seed=draw(st.integers(0, 2**31)))
    if with_existing and draw(st.booleans()):
        allowed = [(j.id, e.id) for j in judges for e in entries if may_score(j, e, problem)]
        if allowed:
            problem.existing = set(draw(st.lists(st.sampled_from(allowed), max_size=8)))
    return problem


def _check(problem):
    needs = _needs(problem)
    short = {e for e, (need, allowed) in needs.items() if len(allowed) < need}
    if short:
        with pytest.raises(AssignmentImpossible) as caught:
            assign(problem)
        assert {s.entry_id for s in caught.value.shortages} == short
        labels = {e.id: e.code for e in problem.entries}
        first = sorted(short)[0]
        assert f"作品 {labels[first]} 只有" in caught.value.message
        return None
    result = assign(problem)
    k = _effective_k(problem)
    pairs = set(result.pairs)
    assert len(pairs) == len(result.pairs)
    assert set(problem.existing) <= pairs  # scored pairs stay
    assert set(result.new_pairs) == pairs - set(problem.existing)
    judges = {j.id: j for j in problem.judges}
    entries = {e.id: e for e in problem.entries}
    for judge_id, entry_id in result.new_pairs:  # recusal never violated
        assert may_score(judges[judge_id], entries[entry_id], problem), (judge_id, entry_id)
    for entry in problem.entries:
        fixed = sum(1 for _, e in problem.existing if e == entry.id)
        assert sum(1 for _, e in pairs if e == entry.id) == max(k, fixed)
    loads = {j: sum(1 for jj, _ in pairs if jj == j) for j in judges}
    assert result.loads == loads
    assert max(loads.values()) == smallest_possible_max(problem)
    assert min(loads.values()) == largest_possible_min(problem)
    assert result.connected == (graph_components(pairs) <= 1)
    return result


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_assignment_properties(problem):
    _check(problem)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(with_conflicts=False, with_existing=False))
def test_without_recusal_loads_are_within_one_and_the_graph_connected(problem):
    result = _check(problem)
    k = _effective_k(problem)
    n_judges, n_entries = len(problem.judges), len(problem.entries)
    if result is None:
        assert k > n_judges  # the only reason left: the panel is smaller than k
        return
    assert max(result.loads.values()) - min(result.loads.values()) <= 1
    if 2 <= k < n_judges and n_entries * (k - 1) >= n_judges - 1:
        assert result.connected and result.components == 1
    if k == n_judges:
        assert len(result.pairs) == n_entries * n_judges


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.randoms(use_true_random=False))
def test_same_seed_same_result_in_any_order(problem, rnd):
    try:
        first = assign(problem)
    except AssignmentImpossible as error:
        first = error.message
    shuffled = AssignmentProblem(entries=rnd.sample(problem.entries, len(problem.entries)),
                                 judges=rnd.sample(problem.judges, len(problem.judges)), k=problem.k,
                                 conflicts=set(problem.conflicts), school_conflicts=set(problem.school_conflicts),
                                 seed=problem.seed, existing=set(problem.existing))
    for candidate in (problem, shuffled):
        try:
            again = assign(candidate)
        except AssignmentImpossible as error:
            again = error.message
        assert again == first


# --- hand cases -----------------------------------------------------------------------------------

def _pool(n, schools=(1, 2, 3), instructors=()):
    return [EntryInfo(id=i + 1, school_id=schools[i % len(schools)],
                      instructor_names=tuple(instructors[i]) if i < len(instructors) else (),
                      code=f"XFX-{i + 1:03d}") for i in range(n)]


def test_a_judge_of_the_entrys_school_never_gets_it():
    judges = [JudgeInfo(1, 1, "王老师"), JudgeInfo(2, 7, "李老师"), JudgeInfo(3, None, "张老师")]
    entries = _pool(9)
    for seed in range(20):
        result = assign(AssignmentProblem(entries, judges, k=2, seed=seed))
        for judge_id, entry_id in result.pairs:
            assert not (judge_id == 1 and entries[entry_id - 1].school_id == 1)
        # Judge 1 may score 6 of the 9 entries; the 18 pairs cannot be split 6/6/6 otherwise.
        assert sorted(result.loads.values()) == [6, 6, 6]


def test_whole_panel_default_names_the_entry_and_suggests_a_smaller_k():
    judges = [JudgeInfo(1, 1, "王老师"), JudgeInfo(2, 7, "李老师"), JudgeInfo(3, None, "张老师")]
    with pytest.raises(AssignmentImpossible) as caught:
        assign(AssignmentProblem(_pool(3), judges))  # default: the whole panel, 3 judges
    message = caught.value.message
    assert "作品 XFX-001 只有2位评委可以评（其余回避：王老师 同校），需要3位。" in message
    assert "XFX-002" not in message and "改为2位" in message


def test_instructor_names_are_recused_in_any_school():
    judges = [JudgeInfo(1, None, "陈 淼"), JudgeInfo(2, 5, "李明"), JudgeInfo(3, 6, "王芳"), JudgeInfo(4, 6, "刘洋")]
    entries = _pool(4, schools=(1, 5), instructors=[["陈淼"], ["李明"], ["王芳"], []])
    result = assign(AssignmentProblem(entries, judges, k=2, seed=3))
    assert (1, 1) not in result.pairs and (2, 2) not in result.pairs and (3, 3) not in result.pairs
    assert conflict_reasons(judges[0], entries[0]) == ["指导教师"]  # no school: the instructor himself
    assert conflict_reasons(judges[1], entries[1]) == ["同校", "指导教师"]
    assert conflict_reasons(judges[2], entries[2]) == ["与指导教师同名"]  # another school: treated as him


def test_declared_conflicts_are_recused():
    judges = [JudgeInfo(j, None, f"评委{j}") for j in range(1, 5)]
    entries = _pool(6)
    problem = AssignmentProblem(entries, judges, k=3, conflicts={(1, 1), (2, 2)}, school_conflicts={(3, 3)})
    result = assign(problem)
    assert (1, 1) not in result.pairs and (2, 2) not in result.pairs
    assert not any(j == 3 and entries[e - 1].school_id == 3 for j, e in result.pairs)


def test_k_larger_than_the_panel_is_explained():
    judges = [JudgeInfo(j, None, f"评委{j}") for j in range(1, 4)]
    with pytest.raises(AssignmentImpossible) as caught:
        assign(AssignmentProblem(_pool(2), judges, k=5))
    assert caught.value.message.startswith("每件作品需要5位评委，但本组只有3位在岗评委。")
    with pytest.raises(AssignmentImpossible, match="还没有在岗评委"):
        assign(AssignmentProblem(_pool(2), [], k=None))


def test_default_k():
    assert [default_k(n) for n in (1, 5, 7, 8, 12)] == [1, 5, 7, 5, 5]


def test_unbalanceable_pool_is_as_even_as_recusal_allows():
    # Judge 1 belongs to the school of 9 of the 10 entries: he can take at most 1 entry.
    judges = [JudgeInfo(1, 1, "王老师"), JudgeInfo(2, None, "李老师"), JudgeInfo(3, None, "张老师")]
    entries = _pool(10, schools=(1,) * 9 + (2,))
    result = assign(AssignmentProblem(entries, judges, k=2, seed=1))
    assert result.loads[1] == 1 and sorted(result.loads.values()) == [1, 9, 10]
    assert any("最均衡" in note for note in result.notes)


def test_existing_scored_pairs_are_kept_and_count():
    judges = [JudgeInfo(j, None, f"评委{j}") for j in range(1, 5)]
    entries = _pool(8)
    existing = {(1, 1), (1, 2), (1, 3), (2, 1)}
    result = assign(AssignmentProblem(entries, judges, k=2, seed=9, existing=existing))
    assert existing <= set(result.pairs)
    assert sum(1 for _, e in result.pairs if e == 1) == 2  # entry 1 already had its two judges
    assert sorted(result.loads.values()) == [4, 4, 4, 4]


def test_targets_hand_on_an_ill_judges_work():
    """Judge 4 fell ill: his two open entries go to the others, who keep an even load."""
    judges = [JudgeInfo(j, None, f"评委{j}") for j in range(1, 4)]
    entries = _pool(6)
    remaining = {(1, 1), (2, 1), (2, 2), (3, 2), (1, 3), (3, 3), (1, 4), (2, 4), (2, 5), (3, 5), (1, 6), (3, 6)}
    # Entries 1 and 2 each lost judge 4 (their third judge); the other entries had two.
    result = assign(AssignmentProblem([entries[0], entries[1]], judges, k=2, existing=remaining,
                                      targets={1: 3, 2: 3}))
    assert set(result.new_pairs) == {(3, 1), (1, 2)}
    assert result.loads == {1: 5, 2: 4, 3: 5}


def test_connect_merges_two_components_by_a_swap():
    pairs = {(1, 1), (2, 1), (1, 2), (2, 2), (3, 3), (4, 3), (3, 4), (4, 4)}  # two separate 4-cycles
    assert graph_components(pairs) == 2
    merged, movable = _connect(pairs, set(pairs), lambda j, e: True, seed=5)
    assert graph_components(merged) == 1 and movable == merged and len(merged) == 8
    for node in (1, 2, 3, 4):
        assert sum(1 for j, _ in merged if j == node) == 2 and sum(1 for _, e in merged if e == node) == 2
    # A swap that recusal forbids is not made.
    kept, _ = _connect(pairs, set(pairs), lambda j, e: (j <= 2) == (e <= 2), seed=5)
    assert kept == pairs


def test_seed_changes_the_draw_but_is_repeatable():
    judges = [JudgeInfo(j, None, f"评委{j}") for j in range(1, 11)]
    entries = _pool(30)
    one = assign(AssignmentProblem(entries, judges, k=3, seed=1))
    assert assign(AssignmentProblem(entries, judges, k=3, seed=1)) == one
    assert assign(AssignmentProblem(entries, judges, k=3, seed=2)).pairs != one.pairs


def test_larger_pool_is_quick():
    rnd = random.Random(4)
    entries = [EntryInfo(i, rnd.randrange(40), (f"教师{rnd.randrange(60)}",), f"XF-{i:03d}") for i in range(300)]
    judges = [JudgeInfo(1000 + j, rnd.randrange(120), f"教师{rnd.randrange(90)}") for j in range(20)]
    result = assign(AssignmentProblem(entries, judges, k=5, seed=1))
    assert max(result.loads.values()) - min(result.loads.values()) <= 1 and result.connected
