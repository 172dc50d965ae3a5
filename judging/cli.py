"""flask commands: demo, prepare-fonts, create-user; the stages add theirs (contest, print, backup)."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import func, select

from judging.extensions import db


def register_cli(app: Flask) -> None:
    from judging.core import backup
    from judging.exchange import cli as exchange_cli
    from judging.printing import cli as printing_cli

    backup.register(app)
    exchange_cli.register(app)
    printing_cli.register(app)

    @app.cli.command("demo")
    @click.option("--full", is_flag=True,
                  help="再载入约150件作品、初评评分并计算结果（草稿）/ also entries, 初评 scores and draft results")
    @click.option("--seed", type=int, default=2026, show_default=True, help="随机种子 / random seed (--full)")
    def demo_command(full, seed):
        """Load the demo county contest (第十三届) into the database; safe to run twice."""
        if full:
            from judging.demo_full import DemoError, load_full_demo

            try:
                done = load_full_demo(seed=seed)
            except DemoError as error:
                raise click.ClickException(str(error)) from error
            if not done["created"]:
                click.echo("完整演示数据已存在，未重复载入 / full demo already present, nothing changed.")
                return
            click.echo(
                f"完整演示数据已载入：{done['entries']}件作品（{done['approved']}件通过、{done['disqualified']}件取消资格、"
                f"{done['waiting']}件待审核），{done['judges']}位评委提交{done['scores']}份初评评分，初评已锁定，"
                f"结果草稿{done['prized']}件获奖、{done['too_few_judges']}件评分不足、{done['tie_flags']}处并列待核，"
                f"待组委会发布 / full demo loaded: {done['entries']} entries, {done['scores']} scores, "
                f"draft results of round {done['round_id']} ready to publish ({done['seconds']} s)")
            return
        from judging.contests.demo import load_demo

        created = load_demo()
        if created:
            click.echo("演示数据已载入 / demo contest loaded. 登录页列出演示账号。")
        else:
            click.echo("演示数据已存在，未重复载入 / demo contest already present, nothing changed.")

    @app.cli.command("prepare-fonts")
    def prepare_fonts_command():
        """Make the Chinese font instances for PDFs now (about 25 s once), not at the first print."""
        import time

        from judging.core.fonts import ensure_fonts

        started = time.perf_counter()
        ensure_fonts()
        click.echo(f"中文字体已就绪 / Chinese fonts ready ({time.perf_counter() - started:.1f} s)")

    @app.cli.command("create-user")
    @click.option("--username", prompt="用户名 / username")
    @click.option("--name", "display_name", prompt="姓名 / name")
    @click.option("--role", type=click.Choice(["organizer", "coordinator", "judge"]), default="organizer",
                  show_default=True)
    @click.option("--school", "school_name", default=None, help="学校名称 (coordinator / judge)")
    @click.password_option("--password", prompt="密码 / password")
    def create_user_command(username, display_name, role, school_name, password):
        """Create an account, e.g. the first organizer of a real installation."""
        from judging.core import audit
        from judging.core.models import School, User
        from judging.core.security import hash_password, password_problem

        problem = password_problem(password)
        if problem:
            raise click.ClickException(problem)
        username = username.strip()
        if db.session.scalar(select(User).where(func.lower(User.username) == username.lower())):
            raise click.ClickException(f"用户名“{username}”已存在")
        school = None
        if school_name:
            school = db.session.scalar(select(School).where(School.name == school_name.strip()))
            if school is None:
                raise click.ClickException(f"找不到学校“{school_name}”")
        if role == "coordinator" and school is None:
            raise click.ClickException("学校管理员必须指定学校（--school）")
        user = User(username=username, display_name=display_name.strip(), role=role,
                    school=school, password_hash=hash_password(password))
        db.session.add(user)
        audit.record("user_created", user, summary=f"命令行创建账号 {username}（{role}）")
        db.session.commit()
        click.echo(f"已创建账号 {username} / account created")
