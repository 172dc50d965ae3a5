"""flask contest import|results|export (WORKBOOK.md), with DATABASE_URL set after `flask db upgrade`.

    flask --app wsgi contest import FILE.xlsx          # last line printed: the new edition's id
    flask --app wsgi contest results ID --out OUT.xlsx # compute with the edition's settings, write results
    flask --app wsgi contest export ID --out OUT.xlsx  # the whole edition, importable again

Faults go to standard error, one per line (sheet, row, column and reason), and the exit code is 1;
nothing is written then. Run from the command line, the audit log records no user for these writes.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask

from judging.extensions import db


def _fail(lines) -> None:
    for line in lines:
        click.echo(str(line), err=True)
    sys.exit(1)


def _edition(edition_id: int):
    from judging.contests.models import Edition

    edition = db.session.get(Edition, edition_id)
    if edition is None:
        _fail([f"没有编号为{edition_id}的届次 / no edition {edition_id}"])
    return edition


def _write(out: str, data: bytes) -> None:
    path = Path(out)
    try:
        path.write_bytes(data)
    except OSError as error:
        _fail([f"无法写入文件「{out}」：{error.strerror or error}"])


def register(app: Flask) -> None:
    """Add the `contest` command group to the app's CLI."""

    @app.cli.group("contest")
    def contest_group():
        """竞赛数据包：导入、导出、计算结果 / the contest workbook: import, export, results."""

    @contest_group.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    def import_command(file: str):
        """Build a new edition from a contest workbook; prints the new edition's id last."""
        from sqlalchemy.exc import IntegrityError

        from judging.exchange import operations as ops

        path = Path(file)
        data = path.read_bytes()
        plan = ops.plan_import(data, path.name)
        if not plan.ok:
            db.session.rollback()
            _fail(plan.faults or ["工作簿中没有可导入的内容。"])
        try:
            edition = ops.apply_import(plan, None)
            db.session.commit()
        except ops.WorkbookError as error:
            db.session.rollback()
            _fail(error.faults)
        except IntegrityError:
            db.session.rollback()
            _fail(["导入失败：数据刚被其他人修改（例如同名的届次、学校或账号），没有导入任何数据。请再试一次。"])
        except Exception:
            db.session.rollback()
            raise
        for warning in plan.warnings:
            click.echo(f"提示：{warning}", err=True)
        for what, count in plan.summary():
            click.echo(f"{what}：{count}")
        click.echo(f"已导入{edition.title} / imported edition id:")
        click.echo(str(edition.id))

    @contest_group.command("results")
    @click.argument("edition_id", type=int)
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="OUT.xlsx")
    @click.option("--reason", default=None, help="更正原因：终评结果已公示或已发布时，重新计算必须说明原因")
    def results_command(edition_id: int, out: str, reason: str | None):
        """Compute the deciding round (终评) with the edition's settings and write the results workbook."""
        from judging.exchange import operations as ops
        from judging.results.exports import results_workbook
        from judging.results.operations import ResultsError

        edition = _edition(edition_id)
        try:
            snapshot = ops.compute_deciding_results(edition, None, reason)
            db.session.commit()
        except (ResultsError, ops.WorkbookError) as error:
            db.session.rollback()
            _fail(getattr(error, "faults", None) or [str(error)])
        _write(out, results_workbook(snapshot))
        ranked = sum(1 for row in snapshot.rows if row.rank is not None)
        prized = sum(1 for row in snapshot.rows if row.level_position is not None)
        click.echo(f"{edition.title}{snapshot.round.name}：{ranked}件排名，{prized}件获奖 / results: {out}")

    @contest_group.command("export")
    @click.argument("edition_id", type=int)
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="OUT.xlsx")
    def export_command(edition_id: int, out: str):
        """Write the whole edition as a contest workbook, importable again."""
        from judging.exchange import operations as ops

        edition = _edition(edition_id)
        try:
            data = ops.export_edition(edition)
        except ops.WorkbookError as error:
            _fail(error.faults)
        _write(out, data)
        click.echo(f"已导出{edition.title} / exported: {out}")
