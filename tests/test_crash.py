"""A crash in the middle of the judging: gunicorn (master and workers) gets SIGKILL while judges are
sending scores, is started again, and the tablets resend what went unanswered with the same keys.
Nothing acknowledged may be lost, nothing stored twice; SQLite's integrity check passes.

Runs on the suite's database: the SQLite copy, or PostgreSQL with TEST_DATABASE_URL. The clients,
server and checks are benchmarks/loadlib.py, shared with benchmarks/load.py. About 10 s.
"""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.engine import make_url

from benchmarks import loadlib

pytestmark = pytest.mark.skipif(loadlib.gunicorn_available() is not None,
                                reason=f"crash test needs gunicorn: {loadlib.gunicorn_available()}")


def test_sigkill_mid_run_loses_and_doubles_nothing(app, db, database_url, tmp_path):
    plan = loadlib.seed(judges=8, entries_per_judge=10, per_entry=5)
    server = loadlib.AppServer(database_url, tmp_path / "server", workers=2)
    server.start()
    try:
        # No think time, a fifth of the scores corrected (edits in flight at the kill too), and some
        # acknowledged submissions sent twice; the kill comes after a third were acknowledged.
        result, _ = loadlib.run_phase(
            server, plan, None, "crash", plan.rounds["stress"], pause=0.0, edit_share=0.2, resend_share=0.05,
            crash_after_acks=plan.submissions_per_round // 3, crash_downtime=0.5, retry_window=30.0)
    finally:
        server.stop()

    assert result.crash.get("restart_seconds"), f"the server was not killed and restarted: {result.crash}"
    assert result.crash["acked_before"] < len(result.sent), "the kill came after the work was done"
    assert result.connection_errors > 0, "no request was cut off by the kill"
    assert result.retries > 0

    verdict = loadlib.verify([result])
    assert (verdict.lost, verdict.doubled, verdict.errors) == (0, 0, 0), "\n".join(verdict.details[:20])
    acked = [s for s in result.sent if s.outcome == "acked"]
    assert len(acked) == len(result.sent) >= plan.submissions_per_round

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        con = sqlite3.connect(url.database)
        try:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            con.close()
