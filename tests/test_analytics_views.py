"""The judge analytics page: numbers for a small seeded round, the near-boundary list from the latest
snapshot, the margin parameter, who may see it, and a judge's name that tries to inject a script."""
from __future__ import annotations

import re
import time
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from judging.contests import operations as contest_ops
from judging.contests.models import PoolRule, Quota
from judging.registration.operations import review_entry
from judging.results.analytics_views import parse_margin, render_pool_chart, sanitize_svg
from judging.results.operations import compute_results
from judging.scoring.models import Assignment, Panel, PanelJudge, Score
from judging.scoring.operations import Submission, submit_score
from tests.conftest import login

XSS = "<script>alert(1)</script>"


def _score(db, judge, rnd, entry, total):
    """A submitted score through the real operation: total split as (total - 40, 40)."""
    c1, c2 = entry.category.criteria
    current = db.session.scalar(select(Score).where(Score.round_id == rnd.id, Score.entry_id == entry.id,
                                                    Score.judge_id == judge.id))
    code, body = submit_score(judge, Submission(
        idempotency_key=uuid.uuid4().hex, round_id=rnd.id, entry_id=entry.id,
        values={c1.id: str(Decimal(total) - 40), c2.id: "40"}, status="submitted",
        base_version=current.version if current else 0))
    assert code in (200, 201), body
    db.session.commit()


# Totals of judges A, B, C (and the XSS judge D on the first four) on entries E1..E5 of 小发明·小学组.
TOTALS = {
    "E1": (90, 88, 86, 91),
    "E2": (85, 84.5, 84, 86),
    "E3": (84, 84, 83.5, 85),
    "E4": (75, 70, 72, 74),
    "E5": (60, 62, 61, None),
}


@pytest.fixture
def seeded(db, edition, organizer, make_user, make_school, make_entry):
    """小发明·小学组 in the preliminary round: quotas 一等奖 1, 二等奖 2; four judges (the fourth named
    like a script) score E1..E5 as TOTALS says; results computed once."""
    xf = edition.categories[0]
    primary = edition.divisions[0]
    prelim = next(r for r in edition.rounds if r.kind == "preliminary")
    levels = {lv.position: lv for lv in edition.prize_levels}
    rule = PoolRule(edition=edition, category_id=xf.id, division_id=primary.id, quota_mode="count")
    rule.quotas = [Quota(prize_level=levels[1], value=Decimal(1)), Quota(prize_level=levels[2], value=Decimal(2))]
    db.session.add(rule)
    judges = [make_user("judge", username=f"aj{i}", display_name=name)
              for i, name in enumerate(("王评委", "李评委", "张评委", XSS))]
    panel = Panel(edition_id=edition.id, round_id=prelim.id, category_id=xf.id, division_id=primary.id)
    db.session.add(panel)
    db.session.flush()
    for judge in judges:
        db.session.add(PanelJudge(panel_id=panel.id, judge_id=judge.id))
    db.session.commit()
    school = make_school()
    entries = {}
    for name, totals in TOTALS.items():
        entry = make_entry(school, title=f"作品{name}", category=xf, division=primary)
        review_entry(entry, "approve", None, organizer)
        db.session.commit()
        entries[name] = entry
        for judge, total in zip(judges, totals):
            if total is not None:
                db.session.add(Assignment(round_id=prelim.id, panel_id=panel.id, entry_id=entry.id,
                                          judge_id=judge.id))
        db.session.commit()
        for judge, total in zip(judges, totals):
            if total is not None:
                _score(db, judge, prelim, entry, total)
    return {"edition": edition, "round": prelim, "judges": judges, "entries": entries, "organizer": organizer}


def _url(edition_id, round_id, **query):
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/admin/editions/{edition_id}/rounds/{round_id}/analytics" + (f"?{q}" if q else "")


def _cells(html: str, judge_name: str) -> list[str]:
    """The cells of the judges-table row of one judge (first table on the page)."""
    row = re.search(r"<tr>\s*<td>" + re.escape(judge_name) + r"</td>(.*?)</tr>", html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_organizer_sees_judge_figures_charts_and_near_boundary(db, client, seeded):
    compute_results(seeded["edition"], seeded["round"], seeded["organizer"])
    db.session.commit()
    login(client, seeded["organizer"])
    response = client.get(_url(seeded["edition"].id, seeded["round"].id))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "评委评分分析" in html and "小发明 · 小学组" in html
    # 王评委: totals 90, 85, 84, 75, 60 -> mean 394/5 = 78.80; min 60, max 90.
    # Leniency: E1 90 - (88+86+91)/3 = 1.6667; E2 85 - (84.5+84+86)/3 = 0.1667; E3 84 - (84+83.5+85)/3 = -0.1667;
    # E4 75 - (70+72+74)/3 = 3; E5 60 - (62+61)/2 = -1.5; mean = 3.1667/5 = 0.6333 -> +0.63 偏宽.
    cells = _cells(html, "王评委")
    assert cells[0] == "5" and cells[1] == "78.80" and cells[3] == "60.00" and cells[4] == "90.00"
    assert cells[5].startswith("+0.63") and "偏宽" in cells[5]
    # Spread: population SD of (90, 85, 84, 75, 60): deviations 11.2, 6.2, 5.2, -3.8, -18.8;
    # squares 125.44 + 38.44 + 27.04 + 14.44 + 353.44 = 558.8; / 5 = 111.76; sqrt = 10.5716... -> 10.57.
    assert cells[2] == "10.57"
    # Not every judge scored every entry (the fourth judge skipped E5): no Kendall's W, ICC is there.
    assert "不适用：并非每位评委都评了本组全部作品" in html
    assert "组内一致性 ICC(1)" in html
    assert html.count("<svg") == 1 and "class=\"chart-svg\"" in html
    # Finals (4 totals: plain mean; E5 3 totals): E1 88.75, E2 84.88 (84.875), E3 84.13 (84.125),
    # E4 72.75, E5 61.00. 一等奖 E1; 二等奖 E2, E3; E4, E5 no prize. Boundaries: 88.75 | 84.88
    # (gap 3.87) and 84.13 | 72.75 (gap 11.38): nothing within the default 1.00.
    assert "分数线：88.75 与 84.88，相差 3.87 分" in html
    assert "分数线：84.13 与 72.75，相差 11.38 分" in html
    assert "作品E1" not in html
    # With a margin of 4, E1 and E2 are listed at the first boundary, at distance 3.87 each.
    html = client.get(_url(seeded["edition"].id, seeded["round"].id, margin="4")).get_data(as_text=True)
    near = html[html.index("分数线：88.75"):html.index("分数线：84.13")]
    assert "作品E1" in near and "作品E2" in near and "作品E3" not in near
    assert near.count("3.87 <small") == 2
    assert "王评委 <b>90</b>" in near  # the judges' totals, for the re-judging


def test_without_a_snapshot_the_page_says_so(db, client, seeded):
    login(client, seeded["organizer"])
    html = client.get(_url(seeded["edition"].id, seeded["round"].id)).get_data(as_text=True)
    assert "尚未计算结果" in html
    assert "78.80" in html  # the judges' figures do not need results


def test_a_bad_margin_is_refused_with_a_message(db, client, seeded):
    login(client, seeded["organizer"])
    for raw in ("abc", "-1", "21", "0.125", "nan", "1e3"):
        response = client.get(_url(seeded["edition"].id, seeded["round"].id, margin=raw))
        assert response.status_code == 200
        assert "无效：请填写0到20之间的数，最多两位小数" in response.get_data(as_text=True), raw


def test_parse_margin():
    assert parse_margin(None) == (Decimal("1.00"), None)
    assert parse_margin(" 2.5 ") == (Decimal("2.50"), None)
    assert parse_margin("0") == (Decimal("0.00"), None)
    assert parse_margin("20") == (Decimal("20.00"), None)
    assert parse_margin("x" * 50)[1].count("x") == 20  # the message quotes at most 20 characters
    assert parse_margin("Infinity")[0] == Decimal("1.00")


def test_judge_name_is_escaped_everywhere(db, client, seeded):
    compute_results(seeded["edition"], seeded["round"], seeded["organizer"])
    db.session.commit()
    login(client, seeded["organizer"])
    html = client.get(_url(seeded["edition"].id, seeded["round"].id, margin="20")).get_data(as_text=True)
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert "script" not in svg.lower() and "<!--" not in svg and "<style" not in svg and " style=" not in svg
    # The only <script> tags on the page are the layout's own (none on this page).
    assert "<script" not in html


@pytest.mark.parametrize("role", ["coordinator", "judge"])
def test_others_are_refused(db, client, seeded, make_user, role):
    user = make_user(role)
    login(client, user)
    assert client.get(_url(seeded["edition"].id, seeded["round"].id)).status_code == 403


def test_anonymous_goes_to_login(db, client, seeded):
    response = client.get(_url(seeded["edition"].id, seeded["round"].id))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_editions_round_is_not_found(db, client, seeded):
    other = contest_ops.create_edition({"name": "另一个县大赛", "number": 2, "code": "OT"})
    db.session.commit()
    other_round = other.rounds[0]
    login(client, seeded["organizer"])
    assert client.get(_url(seeded["edition"].id, other_round.id)).status_code == 404
    assert client.get(_url(other.id, seeded["round"].id)).status_code == 404
    assert client.get(_url(seeded["edition"].id, 999999)).status_code == 404


def test_sanitize_svg_keeps_drawing_and_drops_the_rest():
    dirty = ('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
             'viewBox="0 0 10 10" onload="alert(1)"><style>*{fill:red}</style><script>alert(2)</script>'
             '<!-- <script>alert(3)</script> --><defs><path id="p" d="M 0 0 L 1 1" style="stroke: #000; '
             'fill: url(javascript:x)"/></defs><g id="g1" clip-path="url(#c1)"><use xlink:href="#p" x="1"/>'
             '<use xlink:href="javascript:alert(4)"/><text>hi</text><foreignObject><div/></foreignObject>'
             '<a href="javascript:alert(5)"><rect width="1" height="1"/></a></g></svg>')
    clean = sanitize_svg(dirty, "x-", "图")
    assert "alert" not in clean and "script" not in clean and "<style" not in clean and "<!--" not in clean
    assert "onload" not in clean and "javascript" not in clean and "<text" not in clean and "foreignObject" not in clean
    assert 'id="x-p"' in clean and 'xlink:href="#x-p"' in clean and 'clip-path="url(#x-c1)"' in clean
    assert 'stroke="#000"' in clean and "fill=" not in clean.split('id="x-p"')[1].split("/>")[0]
    assert 'aria-label="图"' in clean and 'role="img"' in clean


def test_chart_of_ten_judges_and_a_hundred_entries_is_fast(app):
    """10 judges x 100 entries in one pool: the chart renders well under a second (measured ~0.3 s
    here once matplotlib is imported); the name of the XSS judge leaves no trace in the SVG."""
    from judging.results import analytics
    from judging.results.analytics_views import JudgeRow
    from judging.results.engine import EntryScores, JudgeTotal

    entries = [EntryScores(e, True, [JudgeTotal(j, Decimal(50 + (e * 7 + j * 13) % 50), Decimal(0))
                                     for j in range(10)]) for e in range(100)]
    pool = analytics.analyse_pool(entries)
    rows = [JudgeRow(s.judge_id, XSS if s.judge_id == 0 else f"评委{s.judge_id}", s) for s in pool.judges]
    render_pool_chart(rows[:2], "w-", "warm-up")  # imports matplotlib, registers the font
    started = time.perf_counter()
    svg = render_pool_chart(rows, "t-", "测试")
    elapsed = time.perf_counter() - started
    assert svg.startswith("<svg") and "script" not in svg.lower()
    assert elapsed < 5, elapsed  # generous for a loaded CI machine
