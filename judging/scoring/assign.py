"""Fair assignment of a pool's entries to the judges of its panel. Pure: dataclasses in, dataclasses out.

The rules (shared/DOMAIN.md, the issue "judge panels, fair assignment"):

* Every entry gets k judges. k is a setting; by default the whole panel when it has at most 7 judges,
  otherwise 5 (``default_k``). Pairs that already carry a score are fixed (``existing``) and count.
* Recusal (回避) is never violated: no judge gets an entry of his own school, an entry he coached
  (an instructor of the same name: instructors are known by name and school only, so any instructor
  of the same name counts, whatever his school), a declared conflict for the entry, or an entry of a
  school he declared a conflict with. ``conflict_reasons`` is the one place that decides it.
* The load is balanced: the total work of the judges (fixed pairs included) is the most even the
  recusals allow. Without recusals that means no judge has more than one entry above another.
* When judges see only part of the pool, the judge-entry graph is kept connected where it can be
  (judge z-scores compare judges through the entries they share).
* Same seed and same input (in any order) -> the same pairs.

How: a min-cost flow (networkx network simplex). Each entry sends its number of missing judges to
the judges it may have (capacity 1 per pair, cost = a small jitter drawn from the seed and the pair,
so ties break reproducibly); each judge forwards to the sink through unit edges whose cost grows with
his load (the t-th entry of a judge who already has f costs (f + t) x BIG). The flow minimises the
sum of the squares of the loads first, which on this kind of problem (the loads of all feasible
assignments form an M-convex set) is at once the smallest possible maximum load and the largest
possible minimum load, and only then the jitter. A post-pass merges the components of the
judge-entry graph by swapping two new pairs across components (loads and recusal unchanged).

Pairs are (judge_id, entry_id) everywhere, like the conflicts.
"""
from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx

WHOLE_PANEL_MAX = 7  # up to this many judges, every judge scores every entry by default
DEFAULT_K_LARGE = 5  # judges per entry in larger panels
JITTER = 1000  # pair costs are drawn from 0..JITTER-1
MESSAGE_ENTRIES = 8  # entries named one by one in an AssignmentImpossible message

Pair = tuple[int, int]  # (judge_id, entry_id)


@dataclass(frozen=True)
class EntryInfo:
    id: int
    school_id: int | None
    instructor_names: tuple[str, ...] = ()
    code: str = ""  # 作品编号, for messages

    @property
    def label(self) -> str:
        return self.code or f"#{self.id}"


@dataclass(frozen=True)
class JudgeInfo:
    id: int
    school_id: int | None  # affiliation school, for recusal; None: not a listed school
    name: str = ""


@dataclass
class AssignmentProblem:
    entries: list[EntryInfo]
    judges: list[JudgeInfo]  # the judges who may get new work (active members of the panel)
    k: int | None = None  # judges per entry; None = default_k(len(judges))
    conflicts: set[Pair] = field(default_factory=set)  # declared: (judge_id, entry_id)
    school_conflicts: set[tuple[int, int]] = field(default_factory=set)  # declared: (judge_id, school_id)
    seed: int = 1
    # Pairs to keep as they are (scored ones). They count towards an entry's judges and, for judges of
    # the problem, towards the load; their judge may be outside `judges` (an ill judge's scores).
    existing: set[Pair] = field(default_factory=set)
    # Judges wanted per entry id, overriding k for the entries named (used when an ill judge's work is
    # handed on: each entry keeps the number of judges it had).
    targets: dict[int, int] | None = None


@dataclass(frozen=True)
class Shortage:
    entry_id: int
    label: str
    available: int  # judges it has (fixed) or may get
    needed: int
    recused: tuple[tuple[str, str], ...]  # (judge name, reason) of the judges it may not get


@dataclass(frozen=True)
class AssignmentResult:
    k: int
    pairs: tuple[Pair, ...]  # every pair, fixed and new, sorted
    new_pairs: tuple[Pair, ...]  # the pairs to create, sorted
    loads: dict[int, int]  # judge id -> number of entries (fixed included), for the judges of the problem
    connected: bool  # the judge-entry graph (judges without entries left out) is one component
    components: int
    notes: tuple[str, ...] = ()  # warnings for the organizer, in Chinese


class AssignmentImpossible(ValueError):
    """Some entries cannot get their judges; .message names them and says why (Chinese)."""

    def __init__(self, message: str, shortages: list[Shortage] | tuple = ()):
        super().__init__(message)
        self.message = message
        self.shortages = list(shortages)


# --- The rules ----------------------------------------------------------------------------------------

def default_k(judge_count: int) -> int:
    """The whole panel when it has at most 7 judges, otherwise 5."""
    return judge_count if judge_count <= WHOLE_PANEL_MAX else DEFAULT_K_LARGE


_SPACES = re.compile(r"[\s\u3000·•.]+")


def normalise_name(name: str | None) -> str:
    """Names compared for recusal: without spaces (also full-width) or middle dots."""
    return _SPACES.sub("", name or "")


def conflict_reasons(judge: JudgeInfo, entry: EntryInfo, conflicts=frozenset(), school_conflicts=frozenset()
                     ) -> list[str]:
    """Why this judge may not score this entry (empty: he may). The one source of the recusal rule."""
    reasons = []
    if judge.school_id is not None and judge.school_id == entry.school_id:
        reasons.append("同校")
    name = normalise_name(judge.name)
    if name and any(normalise_name(n) == name for n in entry.instructor_names):
        # Instructors are known by name and school: the same name in the entry's school (or a judge
        # with no listed school) is the instructor; the same name elsewhere is treated so too, to be safe.
        if judge.school_id is None or judge.school_id == entry.school_id:
            reasons.append("指导教师")
        else:
            reasons.append("与指导教师同名")
    if (judge.id, entry.id) in conflicts:
        reasons.append("申报回避")
    if entry.school_id is not None and (judge.id, entry.school_id) in school_conflicts:
        reasons.append("申报回避该校")
    return reasons


def graph_components(pairs) -> int:
    """Number of connected components of the judge-entry graph of these pairs (isolated judges left out)."""
    graph = nx.Graph()
    graph.add_edges_from((("j", j), ("e", e)) for j, e in pairs)
    return nx.number_connected_components(graph) if graph.number_of_nodes() else 0


def _jitter(seed: int, judge_id: int, entry_id: int) -> int:
    digest = hashlib.blake2b(f"{seed}|{judge_id}|{entry_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % JITTER


# --- The assignment -----------------------------------------------------------------------------------

def assign(problem: AssignmentProblem) -> AssignmentResult:
    entries = sorted({e.id: e for e in problem.entries}.values(), key=lambda e: e.id)
    judges = sorted({j.id: j for j in problem.judges}.values(), key=lambda j: j.id)
    judge_ids = {j.id for j in judges}
    entry_by_id = {e.id: e for e in entries}
    if not judges and entries:
        raise AssignmentImpossible("本组还没有在岗评委，请先添加评委。")
    k = problem.k if problem.k is not None else default_k(len(judges))
    if k < 1:
        raise AssignmentImpossible("每件作品至少需要1位评委。")
    conflicts = frozenset(problem.conflicts)
    school_conflicts = frozenset(problem.school_conflicts)
    existing = sorted(set(problem.existing))

    fixed_by_entry: dict[int, set[int]] = defaultdict(set)
    fixed_load: dict[int, int] = defaultdict(int)
    notes = []
    judge_by_id = {j.id: j for j in judges}
    for judge_id, entry_id in existing:
        fixed_by_entry[entry_id].add(judge_id)
        if judge_id in judge_ids:
            fixed_load[judge_id] += 1
            entry = entry_by_id.get(entry_id)
            if entry is not None:
                why = conflict_reasons(judge_by_id[judge_id], entry, conflicts, school_conflicts)
                if why:
                    notes.append(f"{judge_by_id[judge_id].name or judge_id} 与作品 {entry.label} 回避"
                                 f"（{'、'.join(why)}），但已有评分，保留未动，请核对。")

    # What each entry still needs, and from whom.
    need: dict[int, int] = {}
    candidates: dict[int, list[int]] = {}
    shortages: list[Shortage] = []
    for entry in entries:
        target = (problem.targets or {}).get(entry.id, k)
        fixed = fixed_by_entry.get(entry.id, set())
        eligible, recused = [], []
        for judge in judges:
            if judge.id in fixed:
                continue
            why = conflict_reasons(judge, entry, conflicts, school_conflicts)
            if why:
                recused.append((judge.name or str(judge.id), "、".join(why)))
            else:
                eligible.append(judge.id)
        need[entry.id] = max(0, target - len(fixed))
        candidates[entry.id] = eligible
        if len(eligible) < need[entry.id]:
            shortages.append(Shortage(entry.id, entry.label, len(fixed) + len(eligible), target, tuple(recused)))
    if shortages:
        raise AssignmentImpossible(_shortage_message(shortages, k, len(judges), problem.targets is None,
                                                     entries, fixed_by_entry, candidates), shortages)

    new_pairs = _balanced_flow(entries, judges, need, candidates, fixed_load, problem.seed)
    fixed_pairs = {p for p in existing}
    movable = set(new_pairs)
    all_pairs = fixed_pairs | movable

    def eligible(judge_id: int, entry_id: int) -> bool:
        return judge_id in judge_by_id and entry_id in entry_by_id and not conflict_reasons(
            judge_by_id[judge_id], entry_by_id[entry_id], conflicts, school_conflicts)

    all_pairs, movable = _connect(all_pairs, movable, eligible, problem.seed)
    components = graph_components(all_pairs)
    loads = {j.id: 0 for j in judges}
    for judge_id, _ in all_pairs:
        if judge_id in loads:
            loads[judge_id] += 1
    if loads and max(loads.values()) - min(loads.values()) > 1:
        notes.append(f"评委工作量为{min(loads.values())}到{max(loads.values())}件，回避或已有评分所限，"
                     "已是能做到的最均衡的分配。")
    if components > 1 and len(entries) > 1:
        notes.append(f"评委与作品的关系分成了{components}组互不相连（回避或人数所限），"
                     "按标准分（z 分数）计算时各组之间无法比较。")
    return AssignmentResult(k=k, pairs=tuple(sorted(all_pairs)), new_pairs=tuple(sorted(movable)), loads=loads,
                            connected=components <= 1, components=components, notes=tuple(notes))


def _balanced_flow(entries, judges, need, candidates, fixed_load, seed) -> set[Pair]:
    total = sum(need.values())
    if total == 0:
        return set()
    graph = nx.MultiDiGraph()
    sink = ("sink",)
    big = JITTER * (total + 1)  # one step of load evenness outweighs every jitter together
    degree: dict[int, int] = defaultdict(int)
    for entry in entries:
        if need[entry.id]:
            graph.add_node(("e", entry.id), demand=-need[entry.id])
    graph.add_node(sink, demand=total)
    for entry in entries:
        if not need[entry.id]:
            continue
        for judge_id in candidates[entry.id]:
            graph.add_edge(("e", entry.id), ("j", judge_id), capacity=1, weight=_jitter(seed, judge_id, entry.id))
            degree[judge_id] += 1
    for judge in judges:
        base = fixed_load.get(judge.id, 0)
        for t in range(degree.get(judge.id, 0)):
            graph.add_edge(("j", judge.id), sink, capacity=1, weight=(base + t) * big)
    _, flow = nx.network_simplex(graph)
    pairs = set()
    for entry in entries:
        if not need[entry.id]:
            continue
        for (_, judge_id), by_key in flow[("e", entry.id)].items():
            if sum(by_key.values()):
                pairs.add((judge_id, entry.id))
    return pairs


def _connect(pairs: set[Pair], movable: set[Pair], eligible, seed: int) -> tuple[set[Pair], set[Pair]]:
    """Merge the components of the judge-entry graph by swaps (j1,e1),(j2,e2) -> (j2,e1),(j1,e2) of new
    pairs across two components, one of them not a bridge: loads and judges per entry stay, and the
    two components become one. Stops when connected or when no such swap exists."""
    rng = random.Random(seed)
    pairs, movable = set(pairs), set(movable)
    while True:
        graph = nx.Graph()
        graph.add_edges_from((("j", j), ("e", e)) for j, e in pairs)
        comps = sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: (len(c), c[0]))
        if len(comps) <= 1:
            return pairs, movable
        bridges = {frozenset(b) for b in nx.bridges(graph)}
        component_of = {node: i for i, comp in enumerate(comps) for node in comp}
        by_comp: dict[int, list[Pair]] = defaultdict(list)
        for pair in sorted(movable):
            by_comp[component_of[("j", pair[0])]].append(pair)
        for edges in by_comp.values():
            rng.shuffle(edges)
        swap = _find_swap(comps, by_comp, bridges, pairs, eligible)
        if swap is None:
            return pairs, movable
        (j1, e1), (j2, e2) = swap
        pairs -= {(j1, e1), (j2, e2)}
        movable -= {(j1, e1), (j2, e2)}
        pairs |= {(j2, e1), (j1, e2)}
        movable |= {(j2, e1), (j1, e2)}


def _find_swap(comps, by_comp, bridges, pairs, eligible):
    for a in range(len(comps)):
        for b in range(len(comps)):
            if a == b:
                continue
            for j1, e1 in by_comp.get(a, ()):
                if frozenset((("j", j1), ("e", e1))) in bridges:
                    continue  # the edge taken from the first component must not cut it
                for j2, e2 in by_comp.get(b, ()):
                    if (j2, e1) in pairs or (j1, e2) in pairs:
                        continue
                    if eligible(j2, e1) and eligible(j1, e2):
                        return (j1, e1), (j2, e2)
    return None


def _shortage_message(shortages: list[Shortage], k: int, judge_count: int, uniform: bool, entries,
                      fixed_by_entry, candidates) -> str:
    lines = []
    if uniform and k > judge_count:
        lines.append(f"每件作品需要{k}位评委，但本组只有{judge_count}位在岗评委。")
    for s in shortages[:MESSAGE_ENTRIES]:
        text = f"作品 {s.label} 只有{s.available}位评委可以评"
        if s.recused:
            text += "（其余回避：" + "；".join(f"{name} {why}" for name, why in s.recused) + "）"
        lines.append(text + f"，需要{s.needed}位。")
    if len(shortages) > MESSAGE_ENTRIES:
        lines.append(f"……共{len(shortages)}件作品评委不足。")
    if uniform:
        most = min(len(fixed_by_entry.get(e.id, ())) + len(candidates[e.id]) for e in entries)
        if 1 <= most < k:
            lines.append(f"请为本组增加评委、核对回避，或把每件作品的评委人数改为{most}位。")
        else:
            lines.append("请为本组增加评委或核对回避。")
    return "\n".join(lines)
