"""flask backup OUT: a consistent copy of the database while judges are writing; flask restore BACKUP.

SQLite: the sqlite3 online backup API copies every page in one step under one read transaction. In
WAL mode that read does not block the writers, and the copy is the database as of one instant.
The copy is switched to a self-contained single file (journal_mode=DELETE), checked with
PRAGMA integrity_check, and only then renamed to OUT, so OUT is never a half-written file.

PostgreSQL: pg_dump --format=custom (it dumps one snapshot of the database, also while writers
are active), the password passed through PGPASSWORD rather than the command line, the archive
checked with pg_restore --list. Restore with `flask --app wsgi restore FILE` (pg_restore --clean
--if-exists --no-owner --single-transaction) or by hand with pg_restore.

Restore overwrites the configured database with the backup. Stop the server first. For SQLite the
current file is first copied aside (<name>.before-restore-<time>.sqlite3).
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy.engine import URL, make_url

# Tables whose row counts the commands report (what an organizer recognises).
COUNTED = (("entry", "作品"), ("score", "评分"), ("score_history", "评分记录"), ("user_account", "账号"))


@dataclass
class BackupResult:
    path: Path
    size: int
    seconds: float
    check: str
    counts: dict[str, int]


# --- SQLite ----------------------------------------------------------------------------------------

def sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise click.ClickException("数据库不是一个 SQLite 文件，无法备份 / the SQLite database is not a plain file")
    return Path(url.database)


def _integrity(con: sqlite3.Connection) -> str:
    rows = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
    return "ok" if rows == ["ok"] else "; ".join(rows[:5])


def _counts(con: sqlite3.Connection) -> dict[str, int]:
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t, _ in COUNTED if t in tables}


def _connect_readonly(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=15)
    con.execute("PRAGMA busy_timeout=15000")
    return con


def backup_sqlite(source: Path, target: Path) -> BackupResult:
    """Copy the live database `source` to `target` (which must not exist yet) consistently."""
    if not source.is_file():
        raise click.ClickException(f"找不到数据库文件 {source} / database file not found")
    started = time.perf_counter()
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=15)  # read-write: a read-only handle cannot open a WAL file's -shm
    src.execute("PRAGMA busy_timeout=15000")
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # pages=-1: all pages in one step, one read transaction, one instant
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        check = _integrity(dst)
        counts = _counts(dst)
    finally:
        dst.close()
        src.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"备份副本未通过完整性检查 / the copy failed integrity_check: {check}")
    with open(partial, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    return BackupResult(target, target.stat().st_size, time.perf_counter() - started, check, counts)


def restore_sqlite(backup_file: Path, target: Path) -> tuple[BackupResult, Path | None]:
    """Write the backup's pages over the database at `target` (created when missing). The current
    file is copied aside first. Returns (the restored database's check, the aside copy or None)."""
    started = time.perf_counter()
    try:
        src = _connect_readonly(backup_file)
        check = _integrity(src)
        tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{backup_file} 不是 SQLite 数据库文件 / not an SQLite database ({exc})")
    try:
        if check != "ok":
            raise click.ClickException(f"备份文件未通过完整性检查，未恢复 / the backup failed integrity_check: {check}")
        if not {"alembic_version", "score", "user_account"} <= tables:
            raise click.ClickException(f"{backup_file} 不是本系统的备份 / not a backup of this system")
        aside = None
        if target.exists():
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            aside = target.with_name(f"{target.stem}.before-restore-{stamp}.sqlite3")
            backup_sqlite(target, aside)
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target, timeout=15)
        try:
            dst.execute("PRAGMA busy_timeout=15000")
            src.backup(dst)
            after = _integrity(dst)
            counts = _counts(dst)
        finally:
            dst.close()
    finally:
        src.close()
    if after != "ok":
        raise click.ClickException(f"恢复后的数据库未通过完整性检查 / integrity_check after restore: {after}")
    return BackupResult(target, target.stat().st_size, time.perf_counter() - started, after, counts), aside


# --- PostgreSQL ------------------------------------------------------------------------------------

def find_tool(name: str) -> str:
    """The path of pg_dump / pg_restore: $PG_DUMP / $PG_RESTORE, else the PATH; a clear message if absent."""
    configured = os.environ.get(name.upper())
    if configured:
        if Path(configured).is_file():
            return configured
        raise click.ClickException(f"环境变量 {name.upper()} 指向的 {configured} 不存在 / not found")
    found = shutil.which(name)
    if found:
        return found
    raise click.ClickException(
        f"找不到 {name} 命令。请安装 PostgreSQL 客户端工具（Debian/Ubuntu：apt install postgresql-client；"
        f"Windows：把 PostgreSQL 安装目录下的 bin 加入 PATH），或用环境变量 {name.upper()} 指明它的位置。"
        f" / {name} not found: install the PostgreSQL client tools or set {name.upper()}.")


def _libpq(url: URL) -> tuple[str, dict]:
    """A libpq connection URI without the password, and the environment carrying it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    # URL.set(password=None) keeps the password: build the URL anew without it.
    dsn = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                     query=url.query).render_as_string(hide_password=False)
    return dsn, env


def _run(command: list[str], env: dict, what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise click.ClickException(f"{what}失败 / failed (exit {proc.returncode}):\n{detail}")
    return proc


def backup_postgresql(url: URL, target: Path) -> BackupResult:
    pg_dump = find_tool("pg_dump")
    started = time.perf_counter()
    dsn, env = _libpq(url)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _run([pg_dump, "--format=custom", "--file", str(partial), "--dbname", dsn], env, "pg_dump 备份")
        listing = ""
        if shutil.which("pg_restore") or os.environ.get("PG_RESTORE"):
            listing = _run([find_tool("pg_restore"), "--list", str(partial)], env, "检查备份（pg_restore --list）").stdout
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    check = f"pg_restore --list: {sum(1 for line in listing.splitlines() if line and not line.startswith(';'))} items" \
        if listing else "not checked (no pg_restore)"
    return BackupResult(target, target.stat().st_size, time.perf_counter() - started, check, {})


def restore_postgresql(url: URL, backup_file: Path) -> BackupResult:
    pg_restore = find_tool("pg_restore")
    started = time.perf_counter()
    dsn, env = _libpq(url)
    _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
          "--dbname", dsn, str(backup_file)], env, "pg_restore 恢复")
    return BackupResult(backup_file, backup_file.stat().st_size, time.perf_counter() - started, "pg_restore ok", {})


# --- The commands ----------------------------------------------------------------------------------

def resolve_target(out: Path, suffix: str, force: bool, source: Path | None = None) -> Path:
    """OUT as given, or a time-stamped file inside OUT when it is a directory."""
    target = out
    if out.is_dir():
        target = out / f"judging-{datetime.now().strftime('%Y%m%d-%H%M%S')}{suffix}"
    if not target.parent.is_dir():
        raise click.ClickException(f"目录 {target.parent} 不存在 / directory does not exist")
    if source is not None and target.exists() and target.resolve() == source.resolve():
        raise click.ClickException("备份文件不能就是数据库本身 / OUT is the database itself")
    if target.exists() and not force:
        raise click.ClickException(f"{target} 已存在；换一个文件名，或加 --force 覆盖 / exists (use --force)")
    return target


def _describe(result: BackupResult) -> str:
    size = f"{result.size / 1024 / 1024:.1f} MB" if result.size >= 1024 * 1024 else f"{result.size / 1024:.0f} KB"
    counts = "，".join(f"{label} {result.counts[t]}" for t, label in COUNTED if t in result.counts)
    return f"{result.path}（{size}，{result.seconds:.2f} 秒，{result.check}）" + (f"：{counts}" if counts else "")


def register(app: Flask) -> None:
    """Add the `backup` and `restore` commands to the app's CLI."""

    @app.cli.command("backup")
    @click.argument("out", type=click.Path(path_type=Path))
    @click.option("--force", is_flag=True, help="覆盖已存在的文件 / overwrite OUT")
    def backup_command(out: Path, force: bool):
        """Copy the database to OUT (a file, or a directory for a time-stamped file) while the server runs."""
        url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
        if url.get_backend_name() == "sqlite":
            source = sqlite_path(url)
            result = backup_sqlite(source, resolve_target(out, ".sqlite3", force, source))
        elif url.get_backend_name() == "postgresql":
            result = backup_postgresql(url, resolve_target(out, ".dump", force))
        else:
            raise click.ClickException(f"不支持备份 {url.get_backend_name()} 数据库 / unsupported database")
        click.echo(f"备份完成 / backup written: {_describe(result)}")

    @app.cli.command("restore")
    @click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="不再确认 / do not ask")
    def restore_command(backup_file: Path, yes: bool):
        """Overwrite the configured database with BACKUP_FILE (stop the server first)."""
        url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
        where = url.render_as_string(hide_password=True)
        if not yes:
            click.confirm(f"恢复会用 {backup_file} 覆盖数据库 {where}。请先停止服务器。继续吗？ / "
                          "This overwrites the database (stop the server first). Continue?", abort=True)
        if url.get_backend_name() == "sqlite":
            result, aside = restore_sqlite(backup_file, sqlite_path(url))
            if aside:
                click.echo(f"原数据库已另存 / the previous database was kept as {aside}")
        elif url.get_backend_name() == "postgresql":
            result = restore_postgresql(url, backup_file)
            result.path = Path(url.database or "")
        else:
            raise click.ClickException(f"不支持恢复 {url.get_backend_name()} 数据库 / unsupported database")
        click.echo(f"恢复完成 / restored: {_describe(result)}")
