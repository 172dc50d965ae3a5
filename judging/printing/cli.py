"""flask print certificates|rewards ID --out FILE."""
from __future__ import annotations

import sys

import click
from flask import Flask

from judging.extensions import db


def _edition(edition_id: int):
    from judging.contests.models import Edition

    edition = db.session.get(Edition, edition_id)
    if edition is None:
        click.echo(f"没有编号为{edition_id}的届次。", err=True)
        sys.exit(1)
    return edition


def register(app: Flask) -> None:
    @app.cli.group("print")
    def print_group():
        """打印：证书、辅导教师奖励表 / print certificates and reward sheets."""

    @print_group.command("certificates")
    @click.argument("edition_id", type=int)
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="FILE.pdf")
    def certificates_command(edition_id: int, out: str):
        """All student certificates of an edition into one PDF."""
        from judging.printing.batches import print_student_certificates
        from judging.printing.source import PrintingError

        try:
            count = print_student_certificates(_edition(edition_id), out)
        except PrintingError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
        click.echo(f"已打印{count}张学生证书 / {count} certificates: {out}")

    @print_group.command("rewards")
    @click.argument("edition_id", type=int)
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="FILE.xlsx")
    def rewards_command(edition_id: int, out: str):
        """The instructor reward sheets (辅导教师奖励表) of an edition as Excel."""
        from judging.printing.rewards import write_rewards_xlsx
        from judging.printing.source import PrintingError

        try:
            count = write_rewards_xlsx(_edition(edition_id), out)
        except PrintingError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
        click.echo(f"辅导教师奖励表：{count}位教师 / {count} instructors: {out}")
