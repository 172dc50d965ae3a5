"""Computing a provincial round's results against the floor of the work: one plain query reading
every criterion score of the round.

Builds, with bulk Core inserts into a fresh database made by the migrations, one edition with
5 categories (5 criteria each) x 4 divisions = 20 pools, 500 judges (25 per pool), 20,000 approved
entries, 5 judges per entry, every score submitted: 100,000 scores, 500,000 criterion scores.
Percentage quotas 10/20/30 % per pool. Then times
  (a) the floor: one plain SELECT of all 500,000 criterion scores of the round (raw rows);
  (b) compute_results: load (one query) + engine for every pool + store the snapshot, 20,000 rows,
      and the commit.
The last line is ratio=<(b) / (a)>.

    .venv/bin/python benchmarks/ranking.py                      # SQLite, in a temporary folder
    DATABASE_URL=postgresql://user@host/db .venv/bin/python benchmarks/ranking.py
    .venv/bin/python benchmarks/ranking.py --postgres postgresql://user@host/db

With DATABASE_URL (PostgreSQL), the benchmark creates a throwaway database on that server, runs there
and drops it afterwards: the database DATABASE_URL names is never touched.
--postgres EMPTIES the given database (drops and recreates its public schema) before building.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ENTRIES = 20_000
JUDGES = 500
PER_ENTRY = 5
CATEGORIES = 5
DIVISIONS = 4
CRITERIA = 5
SCHOOLS = 200
CHUNK = 50_000


def best_of(times: int, fn):
    best, result = None, None
    for _ in range(times):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def insert_chunks(conn, table, rows):
    for i in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[i:i + CHUNK])


def build(db, edition, organizer) -> int:
    """Bulk-insert the contest; returns the preliminary round's id."""
    from judging.contests.models import PoolRule, Quota
    from judging.contests import operations as contest_ops
    from judging.core.models import School, User, utcnow
    from judging.registration.models import Entry
    from judging.scoring.models import Assignment, CriterionScore, Panel, PanelJudge, Score

    rng = random.Random(20261125)
    now = utcnow()
    categories = [contest_ops.save_category(edition, {"code": f"C{c}", "name": f"类别{c}", "max_students": 3,
                                                      "max_instructors": 2}) for c in range(CATEGORIES)]
    for category in categories:
        contest_ops.save_rubric(category, [{"name": f"标准{k}", "max_points": Decimal(20)} for k in range(CRITERIA)])
    divisions = [contest_ops.save_division(edition, {"code": f"D{d}", "name": f"组别{d}"}) for d in range(DIVISIONS)]
    db.session.commit()
    rnd = next(r for r in edition.rounds if r.kind == "preliminary")
    levels = sorted(edition.prize_levels, key=lambda lv: lv.position)
    pools = [(c, d) for c in categories for d in divisions]
    for category, division in pools:
        rule = PoolRule(edition=edition, category_id=category.id, division_id=division.id, quota_mode="percent")
        rule.quotas = [Quota(prize_level=lv, value=Decimal(p)) for lv, p in zip(levels, (10, 20, 30))]
        db.session.add(rule)
    db.session.commit()
    criteria = {c.id: [cr.id for cr in sorted(c.criteria, key=lambda cr: cr.position)] for c in categories}
    edition_id, round_id = edition.id, rnd.id

    conn = db.session.connection()
    insert_chunks(conn, School.__table__, [{"id": 10_000 + i, "name": f"基准学校{i}", "code": f"B{i:03d}"}
                                           for i in range(SCHOOLS)])
    judge_ids = [100_000 + i for i in range(JUDGES)]
    insert_chunks(conn, User.__table__, [
        {"id": jid, "username": f"judge{jid}", "password_hash": "x", "display_name": f"评委{jid}", "role": "judge",
         "active": True, "must_change_password": False, "session_version": 1, "created_at": now}
        for jid in judge_ids])
    per_pool = JUDGES // len(pools)
    panel_rows, member_rows, entry_rows = [], [], []
    assignment_rows, score_rows, value_rows = [], [], []
    pool_judges = {}
    for p, (category, division) in enumerate(pools):
        panel_id = 1 + p
        panel_rows.append({"id": panel_id, "edition_id": edition_id, "round_id": round_id,
                           "category_id": category.id, "division_id": division.id, "seed": 1})
        pool_judges[p] = judge_ids[p * per_pool:(p + 1) * per_pool]
        member_rows.extend({"panel_id": panel_id, "judge_id": j, "active": True} for j in pool_judges[p])
    score_id = 0
    for i in range(ENTRIES):
        p = i % len(pools)
        category, division = pools[p]
        entry_id = 1 + i
        sequence = 1 + i // len(pools)
        entry_rows.append({"id": entry_id, "edition_id": edition_id, "category_id": category.id,
                           "division_id": division.id, "school_id": 10_000 + i % SCHOOLS,
                           "code": f"{category.code}{division.code}-{sequence:04d}", "sequence": sequence,
                           "title": f"第{entry_id}号作品", "status": "approved", "created_at": now, "updated_at": now})
        quality = rng.uniform(8, 18)  # the entry's merit, per criterion
        for judge_id in rng.sample(pool_judges[p], PER_ENTRY):
            score_id += 1
            points = [Decimal(max(0, min(200, round((quality + rng.gauss(0, 1.5)) * 10)))) / 10
                      for _ in range(CRITERIA)]
            assignment_rows.append({"round_id": round_id, "panel_id": 1 + p, "entry_id": entry_id,
                                    "judge_id": judge_id, "created_at": now})
            score_rows.append({"id": score_id, "round_id": round_id, "entry_id": entry_id, "judge_id": judge_id,
                               "status": "submitted", "total": sum(points), "version": 1, "source": "tablet",
                               "updated_at": now, "submitted_at": now})
            value_rows.extend({"score_id": score_id, "criterion_id": cid, "points": pts}
                              for cid, pts in zip(criteria[category.id], points))
    for table, rows in ((Panel.__table__, panel_rows), (PanelJudge.__table__, member_rows),
                        (Entry.__table__, entry_rows), (Assignment.__table__, assignment_rows),
                        (Score.__table__, score_rows), (CriterionScore.__table__, value_rows)):
        insert_chunks(conn, table, rows)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        for table in ("entry", "assignment", "score", "criterion_score", "panel", "user_account", "school"):
            db.session.execute(db.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    else:
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    return round_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="run on this PostgreSQL database (emptied first)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_ranking_"))
    os.environ["JUDGING_INSTANCE"] = str(workdir)
    os.environ.setdefault("SECRET_KEY", "benchmark-only")

    from flask_migrate import upgrade
    from sqlalchemy import create_engine, func, select, text

    from judging import create_app
    from judging.config import normalise_database_url
    from judging.contests import operations as contest_ops
    from judging.core.models import User
    from judging.extensions import db
    from judging.results.models import EntryResultRow
    from judging.results.operations import compute_results

    throwaway = None
    env_url = os.environ.get("DATABASE_URL", "")
    if not args.postgres and env_url.startswith(("postgres://", "postgresql")):
        server = create_engine(normalise_database_url(env_url), isolation_level="AUTOCOMMIT")
        throwaway = f"bench_ranking_{os.getpid()}"
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{throwaway}"'))
        url = server.url.set(database=throwaway).render_as_string(hide_password=False)
        server.dispose()
    elif args.postgres:
        url = normalise_database_url(args.postgres)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(workdir / "uploads"),
                      "FAST_PASSWORD_HASH": True})
    with app.app_context():
        upgrade()
        organizer = User(username="bench", display_name="组委会", role="organizer", password_hash="x")
        db.session.add(organizer)
        edition = contest_ops.create_edition({"name": "基准省青少年科技创新大赛", "number": 1, "code": "JZ",
                                              "max_entries_per_class": None, "max_entries_per_school": None})
        db.session.commit()
        start = time.perf_counter()
        round_id = build(db, edition, organizer)
        print(f"built on {db.engine.dialect.name}: {ENTRIES} entries, {JUDGES} judges, {PER_ENTRY} judges per entry, "
              f"{ENTRIES * PER_ENTRY * CRITERIA} criterion scores in {time.perf_counter() - start:.1f} s")

        floor_sql = text("SELECT s.entry_id, s.judge_id, cs.criterion_id, cs.points FROM criterion_score cs "
                         "JOIN score s ON s.id = cs.score_id WHERE s.round_id = :r")

        def read_all():
            rows = db.session.execute(floor_sql, {"r": round_id}).all()
            db.session.rollback()
            return len(rows)

        read_time, count = best_of(3, read_all)
        assert count == ENTRIES * PER_ENTRY * CRITERIA, count
        print(f"(a) one plain query, all {count} criterion scores: {read_time:.2f} s")

        rnd = next(r for r in edition.rounds if r.kind == "preliminary")

        def compute():
            snapshot = compute_results(edition, rnd, organizer)
            db.session.commit()
            return snapshot.id

        compute_time, snapshot_id = best_of(2, compute)
        rows = db.session.scalar(select(func.count()).select_from(EntryResultRow)
                                 .where(EntryResultRow.snapshot_id == snapshot_id))
        prized = db.session.scalar(select(func.count()).select_from(EntryResultRow).where(
            EntryResultRow.snapshot_id == snapshot_id, EntryResultRow.level_position.is_not(None)))
        assert rows == ENTRIES, rows
        print(f"(b) compute_results (load + engine + store {rows} rows, {prized} prizes, commit): "
              f"{compute_time:.2f} s ({compute_time / read_time:.2f}x)")
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(workdir, ignore_errors=True)
    if throwaway:
        server = create_engine(normalise_database_url(env_url), isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{throwaway}"'))
        server.dispose()
    print(f"ratio={compute_time / read_time:.2f}")


if __name__ == "__main__":
    main()
