"""Judge analytics for a round (pure): how each judge scores, how far the panel agrees, and which
entries sit so close to a prize boundary that they are worth judging again.

Pure: plain dataclasses in, plain dataclasses out; no Flask, no session, no I/O. The input is the
engine's: per pool a list of ``engine.EntryScores`` (entry id, rankable, the judges' ``JudgeTotal``),
as ``results.operations.load_round_scores`` gives it; by default only rankable entries (passed
资格审查, not disqualified) are analysed, as only they are ranked.

Numbers
- Totals stay Decimal. Every statistic is computed exactly with ``fractions.Fraction`` and then
  given out as Decimal (means, spreads, leniencies: 50 significant digits) or float (correlations,
  ICC, W). So the outcome does not depend on the order of entries or judges, bit for bit.
- What the page shows: scores, spreads and leniencies to 2 places, correlations, ICC and W to
  2 places, all ROUND_HALF_UP (``shown``; never float round()).

Per judge (``judge_stats``: over one pool's entries, or over the whole round's)
- count, mean, spread = the *population* standard deviation of his totals (the s that the judge
  z-score method uses, DOMAIN.md rule 2), minimum and maximum.
- leniency (宽严度) L_j = mean over the entries e that j and at least one other judge scored of
  (x_je - mean of the other judges' totals on e). Positive: he gives more than his colleagues on
  the same entries (偏宽); negative: less (偏严). Entries that only he scored are skipped; no such
  entry at all: None.
- agreement (一致性) = Spearman's rank correlation between his totals and the other judges' mean on
  those same entries (average ranks for ties). None with fewer than 3 such entries, or when either
  side is constant (the correlation is undefined then).

Per pool (panel)
- ICC(1), the one-way random-effects intraclass correlation of a single judge's total (Shrout &
  Fleiss 1979, ICC(1,1)). It suits an incomplete design, where each judge scores a subset of the
  entries, because it needs no judge effect: every entry is a group of the totals it got.
  With a entries (at least one total each), n_i totals on entry i, N = sum n_i, entry means m_i
  and the grand mean m:

      SSB = sum_i n_i (m_i - m)^2          MSB = SSB / (a - 1)
      SSW = sum_i sum_j (x_ij - m_i)^2     MSW = SSW / (N - a)
      k0  = (N - sum_i n_i^2 / N) / (a - 1)        (the "average" group size of an unbalanced
                                                     design; k0 = k when every n_i = k)
      ICC(1) = (MSB - MSW) / (MSB + (k0 - 1) MSW)

  (k0 from the unbalanced one-way ANOVA: Snedecor & Cochran, Statistical Methods, sec. 13.6;
  Donner 1986, Int. Stat. Rev. 54:67-82.) 1 means the judges agree perfectly; 0 or below means
  the differences between judges are as large as those between entries. Undefined (None, with a
  reason) without totals, with fewer than 2 entries, when no entry has 2 totals (N = a) and when
  no total differs from another (MSB = MSW = 0).
- Kendall's W (coefficient of concordance), only where the design is complete (every judge of the
  pool scored every entry of it): each judge's totals ranked 1..n (average ranks for ties), R_i the
  rank sum of entry i over the m judges, S = sum_i (R_i - mean R)^2,

      W = 12 S / (m^2 (n^3 - n) - m sum_j T_j),   T_j = sum over judge j's tie groups of (t^3 - t)

  (Kendall & Babington Smith 1939; Siegel & Castellan, Nonparametric Statistics, 2nd ed., 9.4).
  None (with a reason) when incomplete, with fewer than 2 judges or entries, or when every judge
  gives every entry the same total.

Near a prize boundary (``near_boundary``)
Given a pool's ranked results (final, rank, level), a boundary lies between two neighbours in rank
order whose levels differ: the last entry of a level (final U) and the first entry below it
(final L); its gap is U - L. An entry above the boundary is near it when final - L <= margin (so
little would let the first entry below catch up), an entry below when U - final <= margin. An
entry close to two boundaries is listed under each.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from judging.results.engine import EntryScores, JudgeTotal

_PREC = 50
DEFAULT_MARGIN = Decimal("1.00")
MIN_SHARED = 3  # fewer entries shared with other judges: no agreement figure


# --------------------------------------------------------------------------- outputs
@dataclass(frozen=True)
class JudgeStats:
    judge_id: Hashable
    count: int
    mean: Decimal | None
    spread: Decimal | None  # population standard deviation
    minimum: Decimal | None
    maximum: Decimal | None
    leniency: Decimal | None  # mean of (his total - the other judges' mean) on shared entries
    shared: int  # entries that at least one other judge scored too (the basis of leniency/agreement)
    agreement: float | None  # Spearman: his totals against the other judges' mean on those entries
    totals: tuple[Decimal, ...]  # his totals, ascending (for the charts)


@dataclass(frozen=True)
class Icc:
    value: float | None
    reason: str | None  # "no_scores", "one_entry", "single_totals", "no_variance"; None when defined
    entries: int = 0  # a
    ratings: int = 0  # N
    k0: float | None = None
    msb: float | None = None
    msw: float | None = None


@dataclass(frozen=True)
class KendallW:
    value: float | None
    reason: str | None  # "no_scores", "incomplete", "one_judge", "one_entry", "no_variance"
    judges: int = 0  # m
    entries: int = 0  # n


@dataclass(frozen=True)
class PoolAnalysis:
    entries: int  # entries with at least one total
    ratings: int  # totals
    judges: tuple[JudgeStats, ...]  # in canonical order (judge id)
    icc: Icc
    kendall_w: KendallW

    @property
    def complete(self) -> bool:
        return self.kendall_w.reason not in ("incomplete", "no_scores")


@dataclass(frozen=True)
class RoundAnalysis:
    pools: dict  # pool key -> PoolAnalysis
    overall: tuple[JudgeStats, ...]  # each judge over all pools of the round


@dataclass(frozen=True)
class ResultRow:
    """One entry's outcome in a snapshot, as far as boundaries go (level None = no prize)."""
    entry_id: Hashable
    final: Decimal | None
    rank: int | None
    level: int | None


@dataclass(frozen=True)
class Boundary:
    upper_level: int | None  # the level of the last entry above the boundary
    lower_level: int | None  # the level of the first entry below it (None: no prize)
    upper_final: Decimal
    lower_final: Decimal
    upper_entry_id: Hashable
    lower_entry_id: Hashable

    @property
    def gap(self) -> Decimal:
        return self.upper_final - self.lower_final


@dataclass(frozen=True)
class NearEntry:
    entry_id: Hashable
    final: Decimal
    rank: int
    level: int | None
    boundary: Boundary
    side: str  # "above" or "below" the boundary
    distance: Decimal  # above: final - lower_final; below: upper_final - final
    totals: tuple[JudgeTotal, ...]  # the judges' totals (judge id order)


@dataclass(frozen=True)
class BoundaryReport:
    margin: Decimal
    boundaries: tuple[Boundary, ...]  # in rank order (the highest level first)
    near: tuple[NearEntry, ...]  # by boundary, then rank

    def near_by_boundary(self) -> list[tuple[Boundary, list[NearEntry]]]:
        return [(b, [n for n in self.near if n.boundary == b]) for b in self.boundaries]


# --------------------------------------------------------------------------- helpers
def _key(value) -> str:
    return repr(value)


def _canonical(entries: Iterable[EntryScores], include_unrankable: bool) -> list[tuple]:
    """[(entry_id, ((judge_id, Fraction total), ...))] sorted by entry id, judges by judge id;
    entries without totals are left out. A judge twice on one entry is refused, as in the engine."""
    out = []
    seen = set()
    for e in entries:
        if not (e.rankable or include_unrankable):
            continue
        if e.entry_id in seen:
            raise ValueError(f"entry {e.entry_id!r} appears twice")
        seen.add(e.entry_id)
        totals = sorted(((t.judge_id, Fraction(Decimal(t.total))) for t in e.totals), key=lambda p: _key(p[0]))
        ids = [j for j, _ in totals]
        if len(set(ids)) != len(ids):
            raise ValueError(f"entry {e.entry_id!r}: a judge appears twice")
        if totals:
            out.append((e.entry_id, tuple(totals)))
    out.sort(key=lambda item: _key(item[0]))
    return out


def _decimal(value: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _PREC
        return Decimal(value.numerator) / Decimal(value.denominator)


def _sqrt(value: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _PREC
        return (Decimal(value.numerator) / Decimal(value.denominator)).sqrt()


def _mean(values: Sequence[Fraction]) -> Fraction:
    return sum(values, Fraction(0)) / len(values)


def average_ranks(values: Sequence) -> list[Fraction]:
    """Ranks 1..n of the values (ascending), ties sharing the mean of their positions."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks: list[Fraction] = [Fraction(0)] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = Fraction(i + j + 2, 2)  # mean of positions i+1 .. j+1
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        i = j + 1
    return ranks


def pearson(xs: Sequence, ys: Sequence) -> float | None:
    """Pearson's r, exact up to the final square root; None when undefined (n < 2, a constant side)."""
    if len(xs) != len(ys):
        raise ValueError("pearson: sequences of different length")
    n = len(xs)
    if n < 2:
        return None
    fx = [Fraction(x) for x in xs]
    fy = [Fraction(y) for y in ys]
    mx, my = _mean(fx), _mean(fy)
    sxy = sum(((x - mx) * (y - my) for x, y in zip(fx, fy)), Fraction(0))
    sxx = sum(((x - mx) ** 2 for x in fx), Fraction(0))
    syy = sum(((y - my) ** 2 for y in fy), Fraction(0))
    if sxx == 0 or syy == 0:
        return None
    r = float(sxy) / math.sqrt(float(sxx) * float(syy))
    return max(-1.0, min(1.0, r))


def spearman(xs: Sequence, ys: Sequence) -> float | None:
    """Spearman's rho: Pearson's r of the average ranks; None when undefined."""
    if len(xs) != len(ys):
        raise ValueError("spearman: sequences of different length")
    return pearson(average_ranks(list(xs)), average_ranks(list(ys)))


# --------------------------------------------------------------------------- per judge
def _judge_stats(canonical: list[tuple]) -> tuple[JudgeStats, ...]:
    own: dict = {}  # judge -> [total]
    pairs: dict = {}  # judge -> [(his total, the others' mean)]
    for _, totals in canonical:
        whole = sum((t for _, t in totals), Fraction(0))
        n = len(totals)
        for judge, total in totals:
            own.setdefault(judge, []).append(total)
            if n > 1:
                pairs.setdefault(judge, []).append((total, (whole - total) / (n - 1)))
    out = []
    for judge in sorted(own, key=_key):
        values = own[judge]
        mean = _mean(values)
        variance = _mean([(v - mean) ** 2 for v in values])
        shared = pairs.get(judge, [])
        leniency = _decimal(_mean([t - m for t, m in shared])) if shared else None
        agreement = spearman([t for t, _ in shared], [m for _, m in shared]) if len(shared) >= MIN_SHARED else None
        out.append(JudgeStats(
            judge_id=judge, count=len(values), mean=_decimal(mean), spread=_sqrt(variance),
            minimum=_decimal(min(values)), maximum=_decimal(max(values)), leniency=leniency, shared=len(shared),
            agreement=agreement, totals=tuple(sorted(_decimal(v) for v in values))))
    return tuple(out)


def judge_stats(entries: Iterable[EntryScores], include_unrankable: bool = False) -> tuple[JudgeStats, ...]:
    """Per judge over the given entries (one pool, or all pools of a round), by judge id."""
    return _judge_stats(_canonical(entries, include_unrankable))


# --------------------------------------------------------------------------- per pool
def _icc1(canonical: list[tuple]) -> Icc:
    groups = [[t for _, t in totals] for _, totals in canonical]
    a = len(groups)
    big_n = sum(len(g) for g in groups)
    if big_n == 0:
        return Icc(None, "no_scores")
    if a < 2:
        return Icc(None, "one_entry", a, big_n)
    if big_n == a:
        return Icc(None, "single_totals", a, big_n)
    grand = sum((sum(g, Fraction(0)) for g in groups), Fraction(0)) / big_n
    means = [_mean(g) for g in groups]
    ssb = sum((len(g) * (m - grand) ** 2 for g, m in zip(groups, means)), Fraction(0))
    ssw = sum((sum(((x - m) ** 2 for x in g), Fraction(0)) for g, m in zip(groups, means)), Fraction(0))
    msb = ssb / (a - 1)
    msw = ssw / (big_n - a)
    k0 = (big_n - Fraction(sum(len(g) ** 2 for g in groups), big_n)) / (a - 1)
    denominator = msb + (k0 - 1) * msw
    if denominator == 0:
        return Icc(None, "no_variance", a, big_n, float(k0), 0.0, 0.0)
    return Icc(float((msb - msw) / denominator), None, a, big_n, float(k0), float(msb), float(msw))


def icc1(entries: Iterable[EntryScores], include_unrankable: bool = False) -> Icc:
    """ICC(1) of one pool (see the module docstring for the formula)."""
    return _icc1(_canonical(entries, include_unrankable))


def _kendall_w(canonical: list[tuple]) -> KendallW:
    if not canonical:
        return KendallW(None, "no_scores")
    judges = sorted({j for _, totals in canonical for j, _ in totals}, key=_key)
    m, n = len(judges), len(canonical)
    if any(len(totals) != m for _, totals in canonical):
        return KendallW(None, "incomplete", m, n)
    if m < 2:
        return KendallW(None, "one_judge", m, n)
    if n < 2:
        return KendallW(None, "one_entry", m, n)
    rank_sums = [Fraction(0)] * n
    ties = 0
    for judge in judges:
        column = [dict(totals)[judge] for _, totals in canonical]
        for i, r in enumerate(average_ranks(column)):
            rank_sums[i] += r
        counts: dict = {}
        for v in column:
            counts[v] = counts.get(v, 0) + 1
        ties += sum(t ** 3 - t for t in counts.values())
    mean_sum = _mean(rank_sums)
    s = sum(((r - mean_sum) ** 2 for r in rank_sums), Fraction(0))
    denominator = m * m * (n ** 3 - n) - m * ties
    if denominator == 0:
        return KendallW(None, "no_variance", m, n)
    return KendallW(float(12 * s / denominator), None, m, n)


def kendall_w(entries: Iterable[EntryScores], include_unrankable: bool = False) -> KendallW:
    """Kendall's W of one pool where the design is complete (see the module docstring)."""
    return _kendall_w(_canonical(entries, include_unrankable))


def analyse_pool(entries: Iterable[EntryScores], include_unrankable: bool = False) -> PoolAnalysis:
    canonical = _canonical(entries, include_unrankable)
    return PoolAnalysis(entries=len(canonical), ratings=sum(len(t) for _, t in canonical),
                        judges=_judge_stats(canonical), icc=_icc1(canonical), kendall_w=_kendall_w(canonical))


def analyse_round(pools: Mapping[Hashable, Iterable[EntryScores]], include_unrankable: bool = False) -> RoundAnalysis:
    """Every pool on its own, and each judge over all the pools (entry ids must be unique in the round)."""
    lists = {key: list(entries) for key, entries in pools.items()}
    return RoundAnalysis(
        pools={key: analyse_pool(entries, include_unrankable) for key, entries in lists.items()},
        overall=judge_stats([e for key in sorted(lists, key=_key) for e in lists[key]], include_unrankable))


# --------------------------------------------------------------------------- near a boundary
def near_boundary(rows: Iterable[ResultRow], totals: Mapping[Hashable, Sequence[JudgeTotal]] | None = None,
                  margin: Decimal = DEFAULT_MARGIN,
                  cuts: Sequence[tuple[int, int | None, int | None]] | None = None) -> BoundaryReport:
    """The prize boundaries of one pool and the entries within ``margin`` points of one.

    rows: the pool's results; rows without rank or final (not ranked) are ignored. totals: the
    judges' totals per entry id, copied into the report for the organizer (missing: none).
    cuts: where the quotas put the boundaries, as (places above, level above, level below); when
    given, these are the boundaries (so a tied block that straddles a quota line, and was all given
    the higher prize, shows as a boundary with no gap), otherwise a boundary lies wherever two
    neighbours' levels differ."""
    margin = Decimal(margin)
    if margin < 0:
        raise ValueError("margin must not be negative")
    totals = totals or {}
    ranked = sorted((r for r in rows if r.rank is not None and r.final is not None),
                    key=lambda r: (r.rank, -Decimal(r.final), _key(r.entry_id)))
    boundaries = []
    if cuts is not None:
        for cut, upper_level, lower_level in sorted(set(cuts), key=lambda c: c[0]):
            if 0 < cut < len(ranked):
                upper, lower = ranked[cut - 1], ranked[cut]
                boundaries.append((cut, Boundary(upper_level, lower_level, Decimal(upper.final),
                                                 Decimal(lower.final), upper.entry_id, lower.entry_id)))
    else:
        for cut, (upper, lower) in enumerate(zip(ranked, ranked[1:]), start=1):
            if upper.level != lower.level:
                boundaries.append((cut, Boundary(upper.level, lower.level, Decimal(upper.final),
                                                 Decimal(lower.final), upper.entry_id, lower.entry_id)))
    near = []
    for cut, boundary in boundaries:  # ranked[:cut] lie above the boundary, ranked[cut:] below
        for i, row in enumerate(ranked):
            final = Decimal(row.final)
            if i < cut:
                side, distance = "above", final - boundary.lower_final
            else:
                side, distance = "below", boundary.upper_final - final
            if distance <= margin:
                judges = tuple(sorted(totals.get(row.entry_id, ()), key=lambda t: _key(t.judge_id)))
                near.append(NearEntry(row.entry_id, final, row.rank, row.level, boundary, side, distance, judges))
    return BoundaryReport(margin, tuple(b for _, b in boundaries), tuple(near))


# --------------------------------------------------------------------------- shown
def shown(value, places: int = 2, signed: bool = False) -> str:
    """What the page shows: value ROUND_HALF_UP to `places` decimals ("—" for None).
    Floats go through their shortest repr, so 0.125 -> 0.13 as a reader expects."""
    if value is None:
        return "—"
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # no "-0.00"
    text = f"{rounded:f}"
    return f"+{text}" if signed and rounded > 0 else text
