"""Results arithmetic (DOMAIN.md "How the numbers are computed", rules 2-8).

Pure: plain dataclasses in, plain dataclasses out; no Flask, no session, no I/O.
Decimal only (never float); rounding with core.numerals.round_half_up (ROUND_HALF_UP).

Conventions
- A level is identified by its ``level_position`` (an int, e.g. 1 = 一等奖). The order of
  ``PoolInput.quotas`` is the order of the levels, highest first.
- Percentage quotas are given as percents: ``Decimal("10")`` means 10 %.
- "Ranked" entries are rule 4's rankable ones: ``rankable`` (passed 资格审查, not disqualified)
  and at least ``min_judges`` totals. Only they are aggregated (z-score statistics are taken
  over them), ranked and given prizes by quota; the others get final/rank/level None.
- Inputs are put into a canonical order (entry_id, judge_id) first, so the outcome does not
  depend on the order of entries or of judges within an entry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, localcontext
from fractions import Fraction
from typing import Hashable, Iterable, Literal, Sequence

from judging.core.numerals import round_half_up

METHODS = ("trimmed_mean", "mean", "median", "zscore")
_PREC = 50  # working precision for means, standard deviations and z


# --------------------------------------------------------------------------- inputs / outputs
@dataclass(frozen=True)
class JudgeTotal:
    judge_id: Hashable
    total: Decimal
    first_criterion: Decimal  # the judge's score on the rubric's first criterion (tie-breaker 2)


@dataclass(frozen=True)
class EntryScores:
    entry_id: Hashable
    rankable: bool  # passed review and not disqualified
    totals: Sequence[JudgeTotal]


@dataclass(frozen=True)
class PoolInput:
    entries: Sequence[EntryScores]
    method: Literal["trimmed_mean", "mean", "median", "zscore"] = "trimmed_mean"
    trim_min_judges: int = 5
    min_judges: int = 3
    quota_mode: Literal["count", "percent"] = "count"
    quotas: Sequence[tuple[int, Decimal]] = ()  # (level_position, count or percent), highest first
    min_score: Decimal | None = None


@dataclass(frozen=True)
class Override:
    """Rule 6: an organizer's decision on one entry's prize (level None = no prize)."""
    level: int | None
    reason: str


@dataclass(frozen=True)
class Flag:
    """Something the organizer must look at.

    kind: "tie_across_boundary" (a tied block straddles a boundary: it all gets ``levels[0]``,
          the following ``levels[1:]`` shrink by the overflow),
          "tie_last_boundary" (a tied block straddles the last boundary: the whole block wins),
          "below_min_score" (entries inside a quota that get no prize because of min_score),
          "too_few_judges", "override".
    """
    kind: str
    entry_ids: tuple
    levels: tuple = ()
    message: str = ""


@dataclass
class EntryResult:
    entry_id: Hashable
    final: Decimal | None
    rank: int | None
    level: int | None
    overridden: bool = False
    flags: list[str] = field(default_factory=list)
    quota_level: int | None = None  # the level by quota / min_score, before any override
    override_reason: str | None = None


@dataclass
class PoolResult:
    results: list[EntryResult]  # ranked entries by rank (then entry_id), then the others by entry_id
    too_few_judges: list  # entry ids (rankable, but fewer than min_judges totals)
    flags: list[Flag]
    boundaries: list[tuple[int, int]] = field(default_factory=list)  # (level, cumulative count)

    def by_entry(self) -> dict:
        return {r.entry_id: r for r in self.results}


# --------------------------------------------------------------------------- rule 2
def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


def _pstdev(values: Sequence[Decimal], mean: Decimal) -> Decimal:
    return (sum(((v - mean) ** 2 for v in values), Decimal(0)) / len(values)).sqrt()


def _median(values: Sequence[Decimal]) -> Decimal:
    s = sorted(values)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def aggregate(totals: Sequence[Decimal], method: str, trim_min_judges: int = 5) -> Decimal:
    """Unrounded final of one entry for the non-z methods."""
    if not totals:
        raise ValueError("no totals")
    with localcontext() as ctx:
        ctx.prec = _PREC
        vals = sorted(Decimal(t) for t in totals)
        if method == "mean":
            return _mean(vals)
        if method == "median":
            return _median(vals)
        if method == "trimmed_mean":
            if len(vals) >= trim_min_judges and len(vals) >= 3:
                return _mean(vals[1:-1])
            return _mean(vals)
    raise ValueError(f"unknown method {method!r}")


def _zscore_finals(entries: Sequence[EntryScores]) -> dict:
    """Unrounded finals by judge z-score over the given (ranked) entries of one pool."""
    with localcontext() as ctx:
        ctx.prec = _PREC
        by_judge: dict = {}
        all_totals: list[Decimal] = []
        for e in entries:
            for jt in e.totals:
                by_judge.setdefault(jt.judge_id, []).append(Decimal(jt.total))
                all_totals.append(Decimal(jt.total))
        if not all_totals:
            return {}
        stats = {}
        for judge, vals in by_judge.items():
            m = _mean(vals)
            s = _pstdev(vals, m)
            stats[judge] = (m, s if len(vals) > 1 else Decimal(0))
        big_m = _mean(all_totals)
        big_s = _pstdev(all_totals, big_m)
        finals = {}
        for e in entries:
            zs = []
            for jt in e.totals:
                m, s = stats[jt.judge_id]
                zs.append(Decimal(0) if s == 0 else (Decimal(jt.total) - m) / s)
            finals[e.entry_id] = big_m + big_s * _mean(zs)
        return finals


# --------------------------------------------------------------------------- rule 3
def _competition_ranks(keys: dict) -> dict:
    """1 + number of strictly better keys (1, 2, 2, 4)."""
    ordered = sorted(keys.values(), reverse=True)
    ranks = {}
    for eid, k in keys.items():
        # count strictly greater keys by bisecting the descending list
        lo, hi = 0, len(ordered)
        while lo < hi:
            mid = (lo + hi) // 2
            if ordered[mid] > k:
                lo = mid + 1
            else:
                hi = mid
        ranks[eid] = lo + 1
    return ranks


# --------------------------------------------------------------------------- rule 5
def cumulative_boundaries(n: int, quota_mode: str, quotas: Sequence[tuple[int, Decimal]]) -> list[tuple[int, int]]:
    """[(level, cumulative count)]: count mode adds counts; percent mode rounds N x (p1+..+pk)
    ROUND_HALF_UP for each k, so level k gets C_k - C_(k-1). Capped at N."""
    out = []
    running = Decimal(0)
    for level, value in quotas:
        value = Decimal(value)
        if value < 0:
            raise ValueError("a quota cannot be negative")
        running += value
        if quota_mode == "count":
            if running != running.to_integral_value():
                raise ValueError("count quotas must be whole numbers")
            c = int(running)
        elif quota_mode == "percent":
            c = int(round_half_up(Decimal(n) * running / 100, 0))
        else:
            raise ValueError(f"unknown quota mode {quota_mode!r}")
        out.append((level, min(c, n)))
    return out


def _assign_levels(ordered_blocks: list[list], bounds: list[tuple[int, int]], flags: list[Flag]) -> dict:
    """Give each tied block the level of its first position; flag blocks straddling a boundary."""
    levels: dict = {}
    pos = 0
    for block in ordered_blocks:
        a, b = pos, pos + len(block)
        pos = b
        k = next((i for i, (_, c) in enumerate(bounds) if a < c), None)
        level = bounds[k][0] if k is not None else None
        for eid in block:
            levels[eid] = level
        if k is None or b <= bounds[k][1]:
            continue
        ids = tuple(block)
        if k == len(bounds) - 1 or b > bounds[-1][1]:
            # the block straddles the last boundary (possibly others on the way): all win
            shrunk = tuple(lv for j, (lv, c) in enumerate(bounds) if j > k and bounds[j - 1][1] < c)
            flags.append(Flag("tie_last_boundary", ids, (level,) + shrunk,
                              f"tied block of {len(block)} at positions {a + 1}-{b} straddles the last "
                              f"boundary ({bounds[-1][1]}): the whole block gets level {level}"))
        else:
            shrunk = tuple(lv for j, (lv, c) in enumerate(bounds)
                           if j > k and bounds[j - 1][1] < b and c > bounds[j - 1][1])
            flags.append(Flag("tie_across_boundary", ids, (level,) + shrunk,
                              f"tied block of {len(block)} at positions {a + 1}-{b} straddles the boundary "
                              f"after {bounds[k][1]}: all get level {level}; level(s) {shrunk} shrink by "
                              f"{b - bounds[k][1]}"))
    return levels


# --------------------------------------------------------------------------- the pool
def compute_pool(pool: PoolInput, overrides: dict | None = None) -> PoolResult:
    """Rules 2-6 for one pool of one round."""
    if pool.method not in METHODS:
        raise ValueError(f"unknown method {pool.method!r}")
    ids = [e.entry_id for e in pool.entries]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate entry ids")
    entries = sorted(
        (EntryScores(e.entry_id, e.rankable, tuple(sorted(e.totals, key=lambda t: repr(t.judge_id))))
         for e in pool.entries),
        key=lambda e: repr(e.entry_id),
    )
    for e in entries:
        jids = [t.judge_id for t in e.totals]
        if len(set(jids)) != len(jids):
            raise ValueError(f"entry {e.entry_id!r}: a judge appears twice")

    ranked = [e for e in entries if e.rankable and len(e.totals) >= pool.min_judges]
    too_few = [e.entry_id for e in entries if e.rankable and len(e.totals) < pool.min_judges]
    flags: list[Flag] = []
    if too_few:
        flags.append(Flag("too_few_judges", tuple(too_few), (),
                          f"fewer than {pool.min_judges} judges' scores: not ranked until confirmed"))

    # rule 2
    if pool.method == "zscore":
        raw = _zscore_finals(ranked)
    else:
        raw = {e.entry_id: aggregate([t.total for t in e.totals], pool.method, pool.trim_min_judges)
               for e in ranked}
    finals = {eid: round_half_up(v, 2) for eid, v in raw.items()}

    # rule 3: (rounded final, sum of all totals, exact mean of the first criterion)
    keys = {}
    for e in ranked:
        total_sum = sum((Decimal(t.total) for t in e.totals), Decimal(0))
        fc_mean = sum((Fraction(Decimal(t.first_criterion)) for t in e.totals), Fraction(0)) / len(e.totals)
        keys[e.entry_id] = (finals[e.entry_id], total_sum, fc_mean)
    ranks = _competition_ranks(keys)
    order = sorted(ranked, key=lambda e: (ranks[e.entry_id], repr(e.entry_id)))
    blocks: list[list] = []
    for e in order:
        if blocks and ranks[blocks[-1][0]] == ranks[e.entry_id]:
            blocks[-1].append(e.entry_id)
        else:
            blocks.append([e.entry_id])

    # rule 5
    bounds = cumulative_boundaries(len(ranked), pool.quota_mode, pool.quotas)
    levels = _assign_levels(blocks, bounds, flags) if bounds else {e.entry_id: None for e in ranked}
    if pool.min_score is not None:
        denied = [e.entry_id for e in order
                  if levels[e.entry_id] is not None and finals[e.entry_id] < Decimal(pool.min_score)]
        for eid in denied:
            levels[eid] = None
        if denied:
            flags.append(Flag("below_min_score", tuple(denied), (),
                              f"within a quota but below the minimum score {pool.min_score}: no prize"))

    results: dict = {}
    for e in order:
        eid = e.entry_id
        own = [f.kind for f in flags if eid in f.entry_ids]
        results[eid] = EntryResult(eid, finals[eid], ranks[eid], levels[eid], False, own, levels[eid])
    for e in entries:
        if e.entry_id not in results:
            own = ["too_few_judges"] if e.entry_id in too_few else ["not_rankable"]
            results[e.entry_id] = EntryResult(e.entry_id, None, None, None, False, own, None)

    # rule 6
    known_levels = {lv for lv, _ in pool.quotas}
    for eid, ov in sorted((overrides or {}).items(), key=lambda kv: repr(kv[0])):
        if eid not in results:
            raise ValueError(f"override for unknown entry {eid!r}")
        if not isinstance(ov, Override) or not (ov.reason or "").strip():
            raise ValueError(f"override for {eid!r} needs an Override with a written reason")
        if ov.level is not None and known_levels and ov.level not in known_levels:
            raise ValueError(f"override for {eid!r}: unknown level {ov.level!r}")
        entry = next(e for e in entries if e.entry_id == eid)
        if ov.level is not None and not entry.rankable:
            raise ValueError(f"entry {eid!r} did not pass review or is disqualified: no prize")
        r = results[eid]
        r.level = ov.level
        r.overridden = True
        r.override_reason = ov.reason.strip()
        r.flags.append("override")
        flags.append(Flag("override", (eid,), (r.quota_level, ov.level),
                          f"organizer override {r.quota_level} -> {ov.level}: {r.override_reason}"))

    ordered = [results[e.entry_id] for e in order] + [results[e.entry_id] for e in entries
                                                      if e.entry_id not in ranks]
    return PoolResult(ordered, too_few, flags, bounds)


# --------------------------------------------------------------------------- rule 7
@dataclass(frozen=True)
class Instructor:
    name: str
    school_id: Hashable


@dataclass(frozen=True)
class WinningEntry:
    entry_id: Hashable
    level: int | None
    instructors: Sequence[Instructor]  # in the listed order (the first gets any remainder)


@dataclass
class InstructorReward:
    name: str
    school_id: Hashable
    amount: Decimal
    points: Decimal
    entry_ids: list


def split_equally(value: Decimal, n: int) -> list[Decimal]:
    """100 / 3 -> [33.34, 33.33, 33.33]: shares to 0.01 (cut down), the remainder to the first."""
    value = Decimal(value)
    if n <= 0:
        return []
    share = (value / n).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return [value - share * (n - 1)] + [share] * (n - 1)


def instructor_rewards(
    winners: Iterable[WinningEntry],
    table: dict[int, tuple[Decimal, Decimal]],
    split: Literal["equal", "full"] = "equal",
    accumulate: Literal["sum", "max"] = "sum",
) -> list[InstructorReward]:
    """Rule 7. One person per (name stripped, school). Levels without a table row give nothing.
    "max": a person keeps his single best entry reward (by amount, then points)."""
    if split not in ("equal", "full") or accumulate not in ("sum", "max"):
        raise ValueError("split is 'equal' or 'full'; accumulate is 'sum' or 'max'")
    people: dict = {}
    for w in sorted(winners, key=lambda w: repr(w.entry_id)):
        if w.level is None or w.level not in table:
            continue
        amount, points = (Decimal(x) for x in table[w.level])
        seen: list = []
        for ins in w.instructors:
            key = (ins.name.strip(), ins.school_id)
            if key not in seen:
                seen.append(key)
        if not seen:
            continue
        if split == "equal":
            amounts, pts = split_equally(amount, len(seen)), split_equally(points, len(seen))
        else:
            amounts, pts = [amount] * len(seen), [points] * len(seen)
        for key, a, p in zip(seen, amounts, pts):
            cur = people.get(key)
            if cur is None:
                people[key] = InstructorReward(key[0], key[1], a, p, [w.entry_id])
            elif accumulate == "sum":
                cur.amount += a
                cur.points += p
                cur.entry_ids.append(w.entry_id)
            else:
                if (a, p) > (cur.amount, cur.points):
                    cur.amount, cur.points = a, p
                cur.entry_ids.append(w.entry_id)
    return sorted(people.values(), key=lambda r: (-r.amount, -r.points, r.name, repr(r.school_id)))


# --------------------------------------------------------------------------- rule 8
DEFAULT_ORG_POINTS = {1: Decimal(5), 2: Decimal(3), 3: Decimal(1)}


@dataclass(frozen=True)
class SchoolEntry:
    entry_id: Hashable
    school_id: Hashable
    level: int | None  # the final prize (None: no prize)


@dataclass
class SchoolStanding:
    school_id: Hashable
    points: Decimal
    entries: int
    rank: int


def organization_award(
    entries: Iterable[SchoolEntry],
    min_entries: int,
    points: dict[int, Decimal] | None = None,
) -> list[SchoolStanding]:
    """Rule 8 (优秀组织奖): schools with at least ``min_entries`` entries ranked by points
    (competition ranking; ties share a rank)."""
    table = DEFAULT_ORG_POINTS if points is None else {k: Decimal(v) for k, v in points.items()}
    count: dict = {}
    pts: dict = {}
    for e in entries:
        count[e.school_id] = count.get(e.school_id, 0) + 1
        pts[e.school_id] = pts.get(e.school_id, Decimal(0)) + (table.get(e.level, Decimal(0))
                                                               if e.level is not None else Decimal(0))
    eligible = {s: pts[s] for s, n in count.items() if n >= min_entries}
    ranks = _competition_ranks(eligible)
    return sorted((SchoolStanding(s, eligible[s], count[s], ranks[s]) for s in eligible),
                  key=lambda r: (r.rank, repr(r.school_id)))


# --------------------------------------------------------------------------- advancement (初评 -> 终评)
@dataclass(frozen=True)
class RankedEntry:
    entry_id: Hashable
    rank: int
    group: Hashable = None  # class or school, for a cap per group; None: no cap applies


@dataclass
class Advancing:
    entry_ids: list  # in rank order
    tied_over: tuple = ()  # entries taken beyond the limit because they tie with the last one taken
    capped: tuple = ()  # entries skipped because their class or school had reached its cap


def advancement_limit(ranked_count: int, mode: str, value: Decimal) -> int:
    """Top N (count) or top x% of the ranked entries (ROUND_HALF_UP, like the percentage quotas)."""
    if mode == "count":
        return max(0, min(int(value), ranked_count))
    if mode == "percent":
        return int(round_half_up(Decimal(ranked_count) * Decimal(value) / 100, 0))
    raise ValueError("mode is 'count' or 'percent'")


def select_advancing(entries: Iterable[RankedEntry], limit: int, per_group: int | None = None) -> Advancing:
    """The entries that advance: the best ``limit`` by rank, at most ``per_group`` per group.

    A group at its cap is passed over and the next entry moves up. Entries sharing a rank are
    decided together: when the last place goes to a tied block, the whole block advances (so the
    count may exceed the limit; those entries are reported in ``tied_over``). A tie cannot be split
    fairly inside a group either: a group's cap is checked against the places it held before the tied
    block, so a block may take a group beyond its cap.
    """
    ordered = sorted(entries, key=lambda e: (e.rank, repr(e.entry_id)))
    taken: list = []
    over: list = []
    capped: list = []
    per: dict = {}
    i = 0
    while i < len(ordered) and len(taken) < limit:
        j = i
        while j < len(ordered) and ordered[j].rank == ordered[i].rank:
            j += 1
        block = ordered[i:j]
        eligible = []
        before = dict(per)  # a cap is checked against the places taken before this tied block
        for e in block:
            if per_group is not None and e.group is not None and before.get(e.group, 0) >= per_group:
                capped.append(e.entry_id)
            else:
                eligible.append(e)
        room = limit - len(taken)
        if len(eligible) > room:
            over.extend(e.entry_id for e in eligible[room:])
        for e in eligible:
            taken.append(e.entry_id)
            per[e.group] = per.get(e.group, 0) + 1
        i = j
    return Advancing(taken, tuple(over), tuple(capped))
