"""flask contest import|results|export through app.test_cli_runner() (WORKBOOK.md's three commands)."""
from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from judging.contests.models import Edition
from judging.exchange import workbook as wb
from judging.registration.models import Entry
from judging.results.models import ResultSnapshot
from judging.scoring.models import Score
from tests.test_exchange import _renumber, _xlsx, minimal_sheets, scored  # noqa: F401 (fixture)


def _count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_export_import_and_results_from_the_command_line(app, db, scored, tmp_path):  # noqa: F811
    edition, es, _ = scored
    runner = app.test_cli_runner()
    out = tmp_path / "edition.xlsx"
    result = runner.invoke(args=["contest", "export", str(edition.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert list(wb.sheet_values(out.read_bytes())) == list(wb.SHEET_ORDER)

    renumbered = tmp_path / "next.xlsx"
    renumbered.write_bytes(_renumber(out.read_bytes(), 20))
    result = runner.invoke(args=["contest", "import", str(renumbered)])
    assert result.exit_code == 0, result.output
    new_id = int(result.output.strip().splitlines()[-1])  # the last line is the new edition's id
    imported = db.session.get(Edition, new_id)
    assert imported.number == 20 and imported.name == edition.name

    results = {}
    for edition_id in (edition.id, new_id):
        path = tmp_path / f"results-{edition_id}.xlsx"
        result = runner.invoke(args=["contest", "results", str(edition_id), "--out", str(path)])
        assert result.exit_code == 0, result.output
        book = load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
        assert book.sheetnames == ["成绩", "辅导教师奖励"]
        results[edition_id] = {title: [list(r) for r in book[title].iter_rows(values_only=True)]
                               for title in book.sheetnames}
    assert results[edition.id] == results[new_id]
    assert results[new_id]["成绩"][0] == ["作品编号", "作品名称", "类别", "组别", "学校", "学生", "指导教师", "最终得分",
                                        "名次", "奖项"]
    assert any(row[9] == "一等奖" for row in results[new_id]["成绩"][1:])
    assert _count(db, ResultSnapshot) == 2  # one computed and committed per command


def test_a_faulty_workbook_exits_1_and_names_every_fault(app, db, tmp_path):
    sheets = minimal_sheets()
    sheets["评分"][1][2] = 61
    sheets["作品"][2][3] = "高中组"
    path = tmp_path / "bad.xlsx"
    path.write_bytes(_xlsx(sheets))
    result = app.test_cli_runner().invoke(args=["contest", "import", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("工作表「作品」第3行「组别」：找不到组别「高中组」") for line in lines), lines
    assert any(line.startswith("工作表「评分」第2行「创新性」：") for line in lines), lines
    assert _count(db, Edition) == 0 and _count(db, Entry) == 0 and _count(db, Score) == 0


def test_an_unknown_edition_and_an_unreadable_file(app, db, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["contest", "export", "999", "--out", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 1 and "999" in result.stderr
    result = runner.invoke(args=["contest", "results", "999", "--out", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 1
    bad = tmp_path / "old.xls"
    bad.write_bytes(b"\xd0\xcf\x11\xe0 not a zip")
    result = runner.invoke(args=["contest", "import", str(bad)])
    assert result.exit_code == 1 and "旧版Excel" in result.stderr


def test_a_hand_made_workbook_prints_its_summary_and_id(app, db, tmp_path):
    path = tmp_path / "hand.xlsx"
    path.write_bytes(_xlsx(minimal_sheets()))
    result = app.test_cli_runner().invoke(args=["contest", "import", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[-1].isdigit() and any(line.startswith("作品：3件") for line in lines)


def test_public_results_are_recomputed_only_with_a_reason(app, db, scored, tmp_path):  # noqa: F811
    from judging.exchange import operations as ops

    edition, _, _ = scored
    snapshot = ops.compute_deciding_results(edition, None)
    snapshot.status = "notice"  # in 公示
    db.session.commit()
    runner = app.test_cli_runner()
    out = tmp_path / "r.xlsx"
    result = runner.invoke(args=["contest", "results", str(edition.id), "--out", str(out)])
    assert result.exit_code == 1 and "更正原因" in result.stderr and not out.exists()
    result = runner.invoke(args=["contest", "results", str(edition.id), "--out", str(out), "--reason", "更正录入错误"])
    assert result.exit_code == 0, result.output
    assert out.exists() and _count(db, ResultSnapshot) == 2
