"""Judge analytics of a round for the organizer: per pool the panel's agreement (ICC(1), Kendall's W),
each judge's count, mean, spread, leniency and agreement, the entries close to a prize boundary
(from the round's latest result snapshot) and two charts; the same per judge over the whole round.

The arithmetic is judging/results/analytics.py (pure). This file loads (a fixed number of queries,
whatever the size of the round), calls it, draws the charts and renders.

Charts: matplotlib, imported lazily inside render_pool_chart() so the app starts without it. Only the
object API (Figure, no pyplot) and no rcParams changes, so requests in threads do not disturb each
other. Text is drawn as paths (matplotlib's SVG default) in the Chinese font that core.fonts makes, so
no browser font is needed and no tofu appears. The SVG is then rebuilt from a whitelist
(sanitize_svg): no script, style element, comment or metadata survives; style attributes become
presentation attributes, so the page's CSP (style-src 'self', no inline styles) needs no exception;
ids get a per-chart prefix, so several charts on one page do not share ids.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from xml.etree import ElementTree

from flask import abort, render_template, request
from markupsafe import Markup
from sqlalchemy import select

from judging.contests.models import Edition, Round
from judging.core.fonts import FontError, ensure_fonts
from judging.core.i18n import N_
from judging.core.models import User
from judging.core.permissions import organizer_required
from judging.core.strokes import name_sort_key
from judging.extensions import db
from judging.registration.models import Entry
from judging.results import analytics as calc
from judging.results.blueprint import bp
from judging.results.models import EntryResultRow, ResultSnapshot
from judging.results.engine import cumulative_boundaries
from judging.results.operations import load_round_scores
from judging.scoring.progress import scoring_rounds

MARGIN_MAX = Decimal("20")
MARGIN_PLACES = 2

# Koo & Li (2016), J Chiropr Med 15:155-163: below 0.5 poor, 0.5-0.75 moderate, 0.75-0.9 good, above excellent.
ICC_BANDS = ((Decimal("0.9"), N_("很好"), "excellent"), (Decimal("0.75"), N_("良好"), "good"),
             (Decimal("0.5"), N_("一般"), "moderate"), (None, N_("较差"), "poor"))


# --- Parsing ---------------------------------------------------------------------------------------------

def parse_margin(raw: str | None) -> tuple[Decimal, str | None]:
    """The re-judging margin from the query string: (margin, error message or None).
    Accepted: 0 to 20 points, at most two decimals; anything else falls back to the default."""
    default = calc.DEFAULT_MARGIN
    if raw is None or raw.strip() == "":
        return default, None
    text = raw.strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if (value is None or not value.is_finite() or value < 0 or value > MARGIN_MAX
            or value.as_tuple().exponent < -MARGIN_PLACES):
        shown = text if len(text) <= 20 else text[:20] + "…"
        return default, (f"分差「{shown}」无效：请填写0到{MARGIN_MAX}之间的数，最多两位小数。"
                         f"下面按默认的{default}分列出。")
    return value.quantize(Decimal("0.01")), None


# --- What the page shows ---------------------------------------------------------------------------------

@dataclass
class JudgeRow:
    judge_id: int
    name: str
    stats: calc.JudgeStats

    @property
    def leniency_class(self) -> str:
        value = self.stats.leniency
        if value is None:
            return ""
        shown = Decimal(calc.shown(value))
        return "lenient" if shown > 0 else "strict" if shown < 0 else ""


@dataclass
class NearRow:
    item: calc.NearEntry
    code: str
    title: str
    level_name: str
    overridden_to: str | None  # the prize after an organizer's override, when it differs
    totals: list[tuple[str, Decimal]]  # (judge name, total)


@dataclass
class BoundaryGroup:
    boundary: calc.Boundary
    upper_name: str
    lower_name: str
    rows: list[NearRow]


@dataclass
class PoolView:
    key: tuple[int, int]
    name: str
    analysis: calc.PoolAnalysis
    judges: list[JudgeRow]
    icc_band: tuple[str, str] | None
    boundaries: list[BoundaryGroup] = field(default_factory=list)
    ranked: int = 0  # ranked entries of the pool in the snapshot
    chart: Markup | None = None


def icc_band(value: float | None) -> tuple[str, str] | None:
    """(Chinese label, css class) of an ICC value by Koo & Li's bands."""
    if value is None:
        return None
    shown = Decimal(calc.shown(value))
    for floor, label, css in ICC_BANDS:
        if floor is None or shown >= floor:
            return label, css
    return None  # pragma: no cover


def latest_snapshot(rnd: Round) -> ResultSnapshot | None:
    return db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.round_id == rnd.id)
                             .order_by(ResultSnapshot.computed_at.desc(), ResultSnapshot.id.desc()).limit(1))


def _snapshot_rows(snapshot: ResultSnapshot) -> dict[tuple[int, int], list]:
    """{pool: [(EntryResultRow columns, code, title)]} in one query."""
    pools: dict[tuple[int, int], list] = {}
    query = (select(EntryResultRow.entry_id, EntryResultRow.final, EntryResultRow.rank,
                    EntryResultRow.quota_level, EntryResultRow.level_position, EntryResultRow.overridden,
                    Entry.code, Entry.title, Entry.category_id, Entry.division_id)
             .join(Entry, Entry.id == EntryResultRow.entry_id)
             .where(EntryResultRow.snapshot_id == snapshot.id))
    for row in db.session.execute(query):
        pools.setdefault((row.category_id, row.division_id), []).append(row)
    return pools


def _quota_cuts(snapshot: ResultSnapshot, key: tuple[int, int], ranked: int) -> list[tuple]:
    """Where the pool's quotas (as the snapshot was computed with them) draw the prize lines:
    [(places above, level above, level below)], the last line's level below being None."""
    rule = json.loads(snapshot.settings_json or "{}").get("pools", {}).get(f"{key[0]}-{key[1]}")
    if not rule:
        return []
    quotas = [(int(level), Decimal(value)) for level, value in rule.get("quotas", [])]
    bounds = cumulative_boundaries(ranked, rule.get("quota_mode", "count"), quotas)
    cuts = []
    for i, (level, cumulative) in enumerate(bounds):
        below = bounds[i + 1][0] if i + 1 < len(bounds) else None
        cuts.append((cumulative, level, below))
    return cuts


def build_page(edition: Edition, rnd: Round, margin: Decimal, charts: bool = True) -> dict:
    pools = load_round_scores(rnd)
    result = calc.analyse_round({key: pool.entries for key, pool in pools.items()})
    judge_ids = {t.judge_id for pool in pools.values() for e in pool.entries for t in e.totals}
    names = {judge_id: name for judge_id, name in db.session.execute(
        select(User.id, User.display_name).where(User.id.in_(judge_ids)))} if judge_ids else {}
    categories = {c.id: c for c in edition.categories}
    divisions = {d.id: d for d in edition.divisions}
    level_names = {lv.position: lv.name for lv in edition.prize_levels}
    snapshot = latest_snapshot(rnd)
    snapshot_rows = _snapshot_rows(snapshot) if snapshot is not None else {}

    def judge_rows(stats) -> list[JudgeRow]:
        rows = [JudgeRow(s.judge_id, names.get(s.judge_id, f"#{s.judge_id}"), s) for s in stats]
        return sorted(rows, key=lambda r: (name_sort_key(r.name), r.judge_id))

    def level_name(position):
        return "未获奖" if position is None else level_names.get(position, f"{position}等")

    def order(key):
        c, d = categories.get(key[0]), divisions.get(key[1])
        return (c.position if c else 0, key[0], d.position if d else 0, key[1])

    views = []
    for key in sorted(pools, key=order):
        c, d = categories.get(key[0]), divisions.get(key[1])
        analysis = result.pools[key]
        view = PoolView(key=key, name=f"{c.name if c else key[0]} · {d.name if d else key[1]}", analysis=analysis,
                        judges=judge_rows(analysis.judges), icc_band=icc_band(analysis.icc.value))
        rows = snapshot_rows.get(key, [])
        if rows:
            by_id = {r.entry_id: r for r in rows}
            # Boundaries follow the prize by quota (what the scores decide), not an organizer's override.
            report = calc.near_boundary(
                [calc.ResultRow(r.entry_id, r.final, r.rank, r.quota_level) for r in rows],
                {e.entry_id: e.totals for e in pools[key].entries}, margin,
                cuts=_quota_cuts(snapshot, key, sum(r.rank is not None for r in rows)))
            view.ranked = sum(r.rank is not None for r in rows)
            for boundary, items in report.near_by_boundary():
                group = BoundaryGroup(boundary, level_name(boundary.upper_level), level_name(boundary.lower_level), [])
                for item in items:
                    row = by_id[item.entry_id]
                    group.rows.append(NearRow(
                        item, row.code, row.title, level_name(item.level),
                        level_name(row.level_position) if row.level_position != row.quota_level else None,
                        sorted(((names.get(t.judge_id, f"#{t.judge_id}"), t.total) for t in item.totals),
                               key=lambda p: name_sort_key(p[0]))))
                view.boundaries.append(group)
        views.append(view)

    chart_error = None
    if charts:
        try:
            for view in views:
                if view.judges:
                    view.chart = render_pool_chart(view.judges, chart_id=f"c{view.key[0]}-{view.key[1]}-",
                                                   label=f"{view.name}：评委总分分布与宽严度")
        except FontError as error:
            chart_error = f"图表未能生成：{error}"
        except ImportError:
            chart_error = "图表未能生成：未安装绘图库 matplotlib。请运行 pip install -r requirements.txt。"
    return {"pools": views, "overall": judge_rows(result.overall), "snapshot": snapshot,
            "chart_error": chart_error}


# --- The page ------------------------------------------------------------------------------------------

@bp.route("/admin/editions/<int:edition_id>/rounds/<int:round_id>/analytics")
@organizer_required
def analytics(edition_id: int, round_id: int):
    edition = db.get_or_404(Edition, edition_id)
    rnd = db.get_or_404(Round, round_id)
    if rnd.edition_id != edition.id:
        abort(404)
    margin, margin_error = parse_margin(request.args.get("margin"))
    page = build_page(edition, rnd, margin)
    return render_template("results/analytics.html", edition=edition, rnd=rnd, rounds=scoring_rounds(edition.rounds),
                           margin=margin, margin_error=margin_error, margin_max=MARGIN_MAX, shown=calc.shown,
                           min_shared=calc.MIN_SHARED, **page)


# --- Charts --------------------------------------------------------------------------------------------

_font_lock = threading.Lock()
_font_families: dict[str, str] = {}  # font file -> family name registered with matplotlib

LENIENT_COLOUR = "#c8671b"  # 偏宽
STRICT_COLOUR = "#2f6fb0"  # 偏严
BOX_COLOUR = "#dbe7f3"


def chart_font_family() -> str:
    """Register the Regular TTF that core.fonts makes with matplotlib (once per process); its family."""
    from matplotlib import font_manager

    path = str(ensure_fonts().regular_file)
    family = _font_families.get(path)
    if family is None:
        with _font_lock:
            family = _font_families.get(path)
            if family is None:
                font_manager.fontManager.addfont(path)
                family = _font_families[path] = font_manager.FontProperties(fname=path).get_name()
    return family


def render_pool_chart(judges: list[JudgeRow], chart_id: str, label: str) -> Markup:
    """One SVG per pool: left a box plot of each judge's totals with every total as a dot, right his
    leniency as a bar (positive: 偏宽, negative: 偏严); judges share the vertical axis."""
    import io

    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import FuncFormatter

    family = chart_font_family()
    font = FontProperties(family=family, size=9)
    title_font = FontProperties(family=family, size=10)
    m = len(judges)
    positions = list(range(1, m + 1))
    labels = [j.name if len(j.name) <= 10 else j.name[:9] + "…" for j in judges]
    totals = [[float(t) for t in j.stats.totals] for j in judges]
    leniencies = [None if j.stats.leniency is None else float(j.stats.leniency) for j in judges]

    fig = Figure(figsize=(9.6, 1.2 + 0.42 * m), layout="constrained", facecolor="none")
    left, right = fig.subplots(1, 2, sharey=True, width_ratios=[3, 1.35])
    plain = FuncFormatter(lambda value, _: f"{value:g}")  # ASCII minus: no glyph question
    for ax in (left, right):
        ax.tick_params(labelsize=9, labelfontfamily=family)
        ax.xaxis.set_major_formatter(plain)
        ax.set_facecolor("#ffffff")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)

    left.boxplot(totals, positions=positions, orientation="horizontal", widths=0.56, showfliers=False,
                 showmeans=True, patch_artist=True,
                 boxprops={"facecolor": BOX_COLOUR, "edgecolor": "#50667d"},
                 medianprops={"color": "#1f3b57", "linewidth": 1.6},
                 whiskerprops={"color": "#50667d"}, capprops={"color": "#50667d"},
                 meanprops={"marker": "D", "markerfacecolor": "#c0392b", "markeredgecolor": "#c0392b",
                            "markersize": 4.5})
    xs, ys = [], []
    for pos, values in zip(positions, totals):
        for k, value in enumerate(values):
            xs.append(value)
            ys.append(pos + ((k * 0.6180339887) % 1 - 0.5) * 0.42)  # deterministic jitter
    left.scatter(xs, ys, s=7, color="#34495e", alpha=0.35, linewidths=0, zorder=3)
    left.set_yticks(positions, labels=labels)
    for tick in left.get_yticklabels():
        tick.set_fontproperties(font)
    left.invert_yaxis()
    left.grid(axis="x", color="#e3e8ee", linewidth=0.8)
    left.set_axisbelow(True)
    left.set_xlabel("总分（箱体：四分位数；粗线：中位数；菱形：平均分；点：每件作品）", fontproperties=font)
    left.set_title("评委总分分布", fontproperties=title_font, loc="left")

    present = [v for v in leniencies if v is not None]
    reach = max([abs(v) for v in present] + [1.0]) * 1.45
    for pos, value in zip(positions, leniencies):
        if value is None:
            right.text(0, pos, "—", ha="center", va="center", fontproperties=font, color="#7a8794")
            continue
        right.barh(pos, value, height=0.56, color=LENIENT_COLOUR if value > 0 else STRICT_COLOUR)
        text = calc.shown(value, signed=True)
        right.text(value + (reach * 0.04 if value >= 0 else -reach * 0.04), pos, text,
                   ha="left" if value >= 0 else "right", va="center", fontproperties=font)
    right.axvline(0, color="#50667d", linewidth=0.9)
    right.set_xlim(-reach, reach)
    right.grid(axis="x", color="#e3e8ee", linewidth=0.8)
    right.set_axisbelow(True)
    right.tick_params(axis="y", length=0)
    right.set_xlabel("分（左：偏严；右：偏宽）", fontproperties=font)
    right.set_title("宽严度", fontproperties=title_font, loc="left")

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return Markup(sanitize_svg(buffer.getvalue(), chart_id, label))


# --- SVG whitelist -----------------------------------------------------------------------------------------

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_TAGS = {"svg", "g", "defs", "path", "use", "clipPath", "rect", "circle", "ellipse", "line", "polyline", "polygon"}
_PRESENTATION = {"fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linecap",
                 "stroke-linejoin", "stroke-dasharray", "stroke-dashoffset", "stroke-miterlimit", "opacity",
                 "clip-rule"}
_GEOMETRY = {"d", "transform", "x", "y", "width", "height", "viewBox", "version", "points", "cx", "cy", "r", "rx",
             "ry", "x1", "x2", "y1", "y2"}
_SAFE_VALUE = re.compile(r"^[#\w\s.,%()+-]*$")
_URL_REF = re.compile(r"^url\(#([\w.:-]+)\)$")
ElementTree.register_namespace("", SVG_NS)
ElementTree.register_namespace("xlink", XLINK_NS)


def sanitize_svg(markup: str, prefix: str, label: str) -> str:
    """Rebuild matplotlib's SVG from a whitelist of elements and attributes (see the module docstring)."""
    root = ElementTree.fromstring(markup.encode("utf-8"))

    def local(name: str) -> str:
        return name.rsplit("}", 1)[-1]

    def clean(element) -> None:
        attributes = dict(element.attrib)
        element.attrib.clear()
        for name, value in attributes.items():
            if name == f"{{{XLINK_NS}}}href" or name == "href":
                if re.fullmatch(r"#[\w.:-]+", value):
                    element.set(f"{{{XLINK_NS}}}href", "#" + prefix + value[1:])
            elif name == "id":
                if re.fullmatch(r"[\w.:-]+", value):
                    element.set("id", prefix + value)
            elif name == "clip-path":
                match = _URL_REF.match(value.strip())
                if match:
                    element.set("clip-path", f"url(#{prefix}{match.group(1)})")
            elif name == "style":
                for declaration in value.split(";"):
                    prop, _, val = declaration.partition(":")
                    prop, val = prop.strip(), val.strip()
                    if prop in _PRESENTATION and _SAFE_VALUE.match(val) and "url" not in val.lower():
                        element.set(prop, val)
            elif (name in _GEOMETRY or name in _PRESENTATION) and _SAFE_VALUE.match(value) \
                    and "url" not in value.lower():
                element.set(name, value)
        for child in list(element):
            if not isinstance(child.tag, str) or local(child.tag) not in _TAGS:
                element.remove(child)
            else:
                clean(child)

    if local(root.tag) != "svg":
        raise ValueError("not an SVG document")
    clean(root)
    # What matplotlib's <style> said for every element, as inherited presentation attributes.
    root.set("stroke-linejoin", "round")
    root.set("stroke-linecap", "butt")
    root.set("role", "img")
    root.set("aria-label", label)
    root.set("class", "chart-svg")
    return ElementTree.tostring(root, encoding="unicode")
