"""flask backup / flask restore: a consistent copy while a judge keeps writing scores, and a restore the
app runs on. SQLite by default; with TEST_DATABASE_URL the same through pg_dump / pg_restore into a
throwaway database (skipped when the PostgreSQL client tools are missing)."""
from __future__ import annotations

import shutil
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import click
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from benchmarks import loadlib
from judging import create_app
from judging.core import backup

COUNTED = ("user_account", "entry", "assignment", "score", "score_history", "criterion_score")


def _backend(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


def _needs_pg_tools(database_url: str) -> None:
    if _backend(database_url) == "postgresql" and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump / pg_restore not installed (PostgreSQL client tools)")


@contextmanager
def _throwaway_pg(database_url: str):
    """A fresh database on the same PostgreSQL server; yields its URL, dropped afterwards."""
    url = make_url(database_url)
    name = f"judging_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in COUNTED}
    finally:
        engine.dispose()


def _consistency_faults(url: str) -> list[str]:
    return loadlib.consistency_faults(url)


class Writer(threading.Thread):
    """A judge scoring and correcting scores as fast as the database lets him, in its own app context."""

    def __init__(self, app, plan):
        super().__init__(daemon=True)
        self.app, self.plan = app, plan
        self.stop = threading.Event()
        self.written = 0
        self.failure: BaseException | None = None

    def run(self):
        from judging.core.models import User
        from judging.extensions import db
        from judging.scoring.models import Assignment
        from judging.scoring.operations import Submission, submit_score

        try:
            with self.app.app_context():
                work = db.session.execute(select(Assignment.judge_id, Assignment.round_id, Assignment.entry_id)).all()
                criteria = {}
                versions: dict[tuple, int] = {}
                db.session.commit()
                n = 0
                while not self.stop.is_set():
                    judge_id, round_id, entry_id = work[n % len(work)]
                    n += 1
                    judge = db.session.get(User, judge_id)
                    if entry_id not in criteria:
                        from judging.registration.models import Entry

                        criteria[entry_id] = [c.id for c in db.session.get(Entry, entry_id).category.criteria]
                    version = versions.get((judge_id, round_id, entry_id), 0)
                    status, body = submit_score(judge, Submission(
                        idempotency_key=uuid.uuid4().hex, round_id=round_id, entry_id=entry_id,
                        values={c: str(n % 9 + 1) for c in criteria[entry_id]}, base_version=version))
                    assert status < 300, body
                    db.session.commit()
                    versions[(judge_id, round_id, entry_id)] = body["score"]["version"]
                    self.written += 1
        except BaseException as exc:  # reported by the test
            self.failure = exc


@pytest.fixture
def plan(app, db):
    return loadlib.seed(judges=5, entries_per_judge=8, per_entry=5)


def test_backup_while_writing_is_consistent_and_restores(app, db, plan, database_url, tmp_path):
    _needs_pg_tools(database_url)
    writer = Writer(app, plan)
    writer.start()
    runner = app.test_cli_runner()
    copies = []
    try:
        while writer.written < 20 and writer.is_alive():
            time.sleep(0.01)
        for i in range(4):
            out = tmp_path / f"copy{i}.bak"
            before = writer.written
            result = runner.invoke(args=["backup", str(out)])
            assert result.exit_code == 0, result.output
            assert "备份完成" in result.output
            copies.append((out, before, writer.written))
            time.sleep(0.05)
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.failure is None, repr(writer.failure)
    assert copies[-1][1] > copies[0][2], "the writer did not write between the backups"

    restored_counts = []
    for out, before, after in copies:
        if _backend(database_url) == "sqlite":
            con = sqlite3.connect(out)
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
            con.close()
            target = tmp_path / "restored" / f"{out.stem}.sqlite3"
            url = f"sqlite:///{target}"
            counts = _restore_and_open(out, url, tmp_path)
            assert _consistency_faults(f"sqlite:///{out}") == []
        else:
            with _throwaway_pg(database_url) as url:
                counts = _restore_and_open(out, url, tmp_path)
        restored_counts.append(counts)
        # The copy holds the writes acknowledged before the backup started, and none not yet written.
        assert before <= counts["score_history"] <= after + 1, (before, counts, after)
    assert restored_counts[0]["score_history"] < restored_counts[-1]["score_history"]


def _restore_and_open(backup_file: Path, url: str, tmp_path: Path) -> dict[str, int]:
    """flask restore into `url` (a new file / an empty database), then run the app on it."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                      "FAST_PASSWORD_HASH": True, "UPLOAD_DIR": str(tmp_path / "uploads"),
                      "SERVER_NAME": "localhost"})
    with app.app_context():  # the command runs in the current app context: the test's own is pushed
        result = app.test_cli_runner().invoke(args=["restore", str(backup_file), "--yes"])
    assert result.exit_code == 0, result.output
    assert "恢复完成" in result.output and (url.rsplit("/", 1)[1] in result.output)
    assert _consistency_faults(url) == []
    counts = _counts(url)
    from judging.core.models import User
    from judging.extensions import db
    from judging.scoring.models import ScoreHistory

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScoreHistory)) == counts["score_history"]
        judge = db.session.scalar(select(User).where(User.username == "load001"))
        client = app.test_client()
        assert client.post("/login", data={"username": judge.username, "password": loadlib.PASSWORD}).status_code == 302
        queue = client.get("/api/v1/queue").get_json()["queue"]
        assert len(queue) == 16  # 8 entries in each of the two rounds
        db.session.remove()
        db.engine.dispose()
    return counts


def test_restore_keeps_the_previous_database_aside(app, db, plan, database_url, tmp_path):
    if _backend(database_url) != "sqlite":
        pytest.skip("the copy aside is SQLite's; PostgreSQL restores in one transaction with pg_restore")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", str(tmp_path / "a.sqlite3")]).exit_code == 0
    from judging.core.models import User
    from judging.scoring.models import Assignment

    db.session.execute(Assignment.__table__.delete())
    db.session.commit()
    db.session.close()
    live = Path(make_url(database_url).database)
    result = runner.invoke(args=["restore", str(tmp_path / "a.sqlite3"), "--yes"])
    assert result.exit_code == 0, result.output
    aside = list(live.parent.glob(f"{live.stem}.before-restore-*.sqlite3"))
    assert len(aside) == 1 and str(aside[0]) in result.output
    assert _counts(f"sqlite:///{aside[0]}")["assignment"] == 0
    assert _counts(f"sqlite:///{live}")["assignment"] == 80  # 40 per round, back again
    assert db.session.scalar(select(func.count()).select_from(User)) > 0


def test_backup_refuses_to_overwrite_and_names_files_in_a_directory(app, db, database_url, tmp_path):
    _needs_pg_tools(database_url)
    runner = app.test_cli_runner()
    out = tmp_path / "one.bak"
    assert runner.invoke(args=["backup", str(out)]).exit_code == 0
    again = runner.invoke(args=["backup", str(out)])
    assert again.exit_code != 0 and "已存在" in again.output
    assert runner.invoke(args=["backup", str(out), "--force"]).exit_code == 0
    folder = tmp_path / "nightly"
    folder.mkdir()
    assert runner.invoke(args=["backup", str(folder)]).exit_code == 0
    made = list(folder.iterdir())
    assert len(made) == 1 and made[0].name.startswith("judging-")
    missing = runner.invoke(args=["backup", str(tmp_path / "no" / "such" / "dir.bak")])
    assert missing.exit_code != 0 and "不存在" in missing.output
    assert not list(tmp_path.glob("**/*.partial"))


def test_restore_refuses_what_is_not_a_backup(app, db, database_url, tmp_path):
    if _backend(database_url) != "sqlite":
        pytest.skip("SQLite file checks")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    result = app.test_cli_runner().invoke(args=["restore", str(junk), "--yes"])
    assert result.exit_code != 0 and "不是" in result.output
    other = tmp_path / "other.sqlite3"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.close()
    result = app.test_cli_runner().invoke(args=["restore", str(other), "--yes"])
    assert result.exit_code != 0 and "不是本系统的备份" in result.output


def test_missing_pg_dump_gets_a_clear_chinese_message(monkeypatch):
    monkeypatch.delenv("PG_DUMP", raising=False)
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    with pytest.raises(click.ClickException) as caught:
        backup.find_tool("pg_dump")
    assert "找不到 pg_dump" in caught.value.message and "postgresql-client" in caught.value.message
    monkeypatch.setenv("PG_DUMP", "/nowhere/pg_dump")
    with pytest.raises(click.ClickException) as caught:
        backup.find_tool("pg_dump")
    assert "PG_DUMP" in caught.value.message


def test_pg_dump_gets_the_password_through_the_environment_only(monkeypatch, tmp_path):
    seen = {}

    def fake_run(command, env, capture_output, text):
        seen["command"], seen["env"] = command, env
        Path(command[command.index("--file") + 1]).write_bytes(b"PGDMP")
        return type("Done", (), {"returncode": 0, "stdout": "", "stderr": ""})()

    monkeypatch.setenv("PG_DUMP", __file__)  # any existing file: the run is faked
    monkeypatch.delenv("PG_RESTORE", raising=False)
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    monkeypatch.setattr(backup.subprocess, "run", fake_run)
    url = make_url("postgresql+psycopg://judging:s3cr%40t@db.example:6543/contest?sslmode=require")
    result = backup.backup_postgresql(url, tmp_path / "x.dump")
    assert result.path.read_bytes() == b"PGDMP"
    dsn = seen["command"][seen["command"].index("--dbname") + 1]
    assert "s3cr" not in " ".join(seen["command"])
    assert seen["env"]["PGPASSWORD"] == "s3cr@t"
    assert dsn == "postgresql://judging@db.example:6543/contest?sslmode=require"
    assert "--format=custom" in seen["command"]
