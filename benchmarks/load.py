"""Sixty judges on tablets against one machine: gunicorn workers over SQLite and over PostgreSQL.

For each database: a throwaway database built by the migrations (an SQLite file in a temp dir; with
PostgreSQL a database created for the run on the server of --pg and dropped afterwards), the demo
contest plus --judges judge accounts, 5 judges per entry, --entries-per-judge entries each in two
rounds. Then gunicorn (--workers) on 127.0.0.1:<free port> and one thread per judge (stdlib
http.client, loopback only):

  paced   every judge logs in (arriving within 5 s), reads the judge page and his queue, then scores
          each entry of 初评 after a think pause (uniform 0.5x..1.5x of --pause / --speed seconds;
          at the defaults 1-3 s an entry, about a minute in all: real judges take minutes, so this
          is a day's traffic sped up about 60 times), re-reads the queue every 10 entries, then
          corrects 10 % of his scores (a second version).
  stress  the same judges score every entry of 终评 with no pause at all, correct 10 %, and send
          5 % of acknowledged submissions once more under the same key (a lost answer).
          Halfway through, `flask --app wsgi backup` runs in a process of its own; the copy is then
          checked (SQLite: integrity_check; PostgreSQL: restored into a throwaway database) for
          consistency (benchmarks/loadlib.consistency_faults).
          With --crash, instead, the server's whole process group gets SIGKILL after a third of the
          submissions were acknowledged and is started again; clients resend what went unanswered.

Clients resend the SAME idempotency key on no answer, 5xx or 429 (backoff 0.2 s doubling to 2 s,
for up to 60 s) like the tablet's outbox. Afterwards the database is compared with the clients'
ledger (benchmarks/loadlib.verify): lost = acknowledged but not stored (or the current score is not
the last acknowledged one); doubled = stored twice (a second history row or version for one
submission, or a resend written again instead of replayed); errors = submissions never acknowledged
after the retries + submissions the server refused + judges whose thread gave up. Individual
attempts that failed and were resent are reported as "retries", not as errors. SQLite also runs
PRAGMA integrity_check.

Latency: every HTTP request, from connect to the last byte of the answer (gunicorn's sync workers
close each connection, as a tablet's browser would see it through them). req/s = answered requests /
phase duration. The client threads run on the same 2 cores as the server.

    .venv/bin/python benchmarks/load.py                      # SQLite and PostgreSQL, 60 judges
    .venv/bin/python benchmarks/load.py --db sqlite --quick  # a few seconds: 12 judges, 6 entries each
    .venv/bin/python benchmarks/load.py --crash              # stress phase with a SIGKILL in the middle
    .venv/bin/python benchmarks/load.py --db sqlite --server waitress   # one process, 8 threads (Windows PC)

Each phase also reports the CPU seconds of the app server, of PostgreSQL's backends for this database,
of the client threads and of every other process on the machine (from /proc): on a shared machine
"app+database CPU per request" is the number that does not depend on the neighbours.

The last line is `lost=<n> doubled=<n> errors=<n>` summed over every database and phase.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadlib  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_create(admin_url: str) -> tuple[str, str]:
    """A throwaway database on the server of admin_url; returns (its URL, its name)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"judging_load_{os.getpid()}_{int(time.time())}"
    admin = make_url(admin_url)
    with psycopg.connect(admin.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False), name


def pg_drop(admin_url: str, name: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def backup_now(server: loadlib.AppServer, out: Path) -> dict:
    """`flask --app wsgi backup OUT` in a process of its own, with the server's settings, while judges write."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "backup", str(out)], cwd=loadlib.ROOT,
                          env=server.env, capture_output=True, text=True)
    return {"seconds": time.perf_counter() - started, "returncode": proc.returncode,
            "output": (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [""]}


def check_backup(kind: str, out: Path, server: loadlib.AppServer, args, hooked: dict) -> str:
    """The copy taken mid-load: intact, consistent, and holding what was acknowledged before it began."""
    if not hooked or "result" not in hooked:
        return f"backup during the load: not taken ({hooked.get('error', 'too few submissions')})"
    result = hooked["result"]
    if result["returncode"] != 0:
        return f"backup during the load FAILED: {result['output'][0]}"
    pg_name = None
    try:
        if kind == "sqlite":
            con = sqlite3.connect(out)
            check = con.execute("PRAGMA integrity_check").fetchone()[0]
            con.close()
            url = f"sqlite:///{out}"
        else:
            url, pg_name = pg_create(args.pg)
            env = dict(server.env, DATABASE_URL=url)
            restored = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "restore", str(out), "--yes"],
                                      cwd=loadlib.ROOT, env=env, capture_output=True, text=True)
            check = "pg_restore ok" if restored.returncode == 0 else restored.stderr.strip()[-300:]
        faults = loadlib.consistency_faults(url)
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM score_history")).scalar_one()
        engine.dispose()
    finally:
        if pg_name:
            pg_drop(args.pg, pg_name)
    size = out.stat().st_size / 1024 / 1024
    return (f"backup during the stress phase: {result['seconds']:.1f} s for the command, {size:.1f} MB, {check}, "
            f"{len(faults)} consistency faults, {rows} history rows (acknowledged before it began: "
            f"{hooked['acked_before']} of this phase, after it ended: {hooked['acked_after']})")


def run_database(kind: str, args, workdir: Path) -> tuple[list[dict], loadlib.Verdict, str]:
    """One database: build, seed, serve, drive both phases, verify. Returns (phase rows, verdict, notes)."""
    instance = workdir / kind
    instance.mkdir()
    os.environ["JUDGING_INSTANCE"] = str(instance)  # create_app reads it: keep the repository's instance/ clean
    os.environ.setdefault("SECRET_KEY", "load-test-secret")
    pg_name = None
    if kind == "sqlite":
        db_file = instance / "load.sqlite3"
        url = f"sqlite:///{db_file}"
    else:
        url, pg_name = pg_create(args.pg)
    notes = []
    try:
        from judging import create_app
        from judging.extensions import db

        t0 = time.perf_counter()
        loadlib.migrate(url)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            plan = loadlib.seed(judges=args.judges, entries_per_judge=args.entries_per_judge,
                                per_entry=args.per_entry)
            db.engine.dispose()
        notes.append(f"built and seeded in {time.perf_counter() - t0:.1f} s: {len(plan.judges)} judges, "
                     f"{plan.entries} entries, {plan.submissions_per_round} assignments per round")

        server = loadlib.AppServer(url, instance, workers=args.workers, kind=args.server, threads=args.threads)
        what = f"waitress {args.threads} threads" if args.server == "waitress" else f"gunicorn {args.workers} workers"
        notes.append(f"{what} up in {server.start():.1f} s on 127.0.0.1:{server.port}")
        meter = loadlib.CpuMeter(server, database_tag=pg_name)
        if hasattr(os, "getloadavg"):
            notes.append("load average before the run %.2f %.2f %.2f" % os.getloadavg())
        results = []
        try:
            pause = args.pause / args.speed
            paced, clients = loadlib.run_phase(
                server, plan, None, "paced", plan.rounds["paced"], pause=pause, arrival_spread=5.0 / args.speed,
                edit_share=0.1, seed=args.seed, meter=meter)
            results.append(paced)
            crash_after = plan.submissions_per_round // 3 if args.crash else None
            copy = instance / ("during-load" + (".sqlite3" if kind == "sqlite" else ".dump"))
            stress, _ = loadlib.run_phase(
                server, plan, clients, "stress" + ("+crash" if args.crash else ""), plan.rounds["stress"],
                pause=0.0, edit_share=0.1, resend_share=0.05, crash_after_acks=crash_after, seed=args.seed + 1,
                meter=meter, hook_after_acks=None if args.crash else plan.submissions_per_round // 2,
                hook=None if args.crash else (lambda: backup_now(server, copy)))
            results.append(stress)
            if not args.crash:
                notes.append(check_backup(kind, copy, server, args, stress.hook_result))
            if stress.crash:
                notes.append(f"SIGKILL after {stress.crash['acked_before']} acknowledged submissions "
                             f"({stress.crash['at']:.1f} s into the phase); restarted in "
                             f"{stress.crash.get('restart_seconds', float('nan')):.1f} s")
        finally:
            server.stop()
        with app.app_context():
            verdict = loadlib.verify(results)
            db.engine.dispose()
        if kind == "sqlite":
            con = sqlite3.connect(db_file)
            check = con.execute("PRAGMA integrity_check").fetchone()[0]
            con.close()
            notes.append(f"PRAGMA integrity_check: {check}")
            if check != "ok":
                verdict.details.append(f"integrity_check: {check}")
                verdict.client_faults += 1
        rows = [loadlib.summarize(r) for r in results]
        return rows, verdict, "; ".join(notes)
    finally:
        if pg_name:
            pg_drop(args.pg, pg_name)


def print_rows(kind: str, rows: list[dict]) -> None:
    header = (f"{'db':<10} {'phase':<13} {'s':>6} {'req':>6} {'req/s':>7} {'p50':>7} {'p95':>7} "
              f"{'score p50':>9} {'score p95':>9} {'max':>7} {'writes/s':>8} {'acked':>6} {'replay':>6} "
              f"{'5xx':>4} {'noans':>5} {'retry':>5}")
    print(header)
    for r in rows:
        print(f"{kind:<10} {r['phase']:<13} {r['seconds']:>6.1f} {r['requests']:>6} {r['rps']:>7.1f} "
              f"{r['p50_ms']:>5.0f}ms {r['p95_ms']:>5.0f}ms {r['score_p50_ms']:>7.0f}ms {r['score_p95_ms']:>7.0f}ms "
              f"{r['score_max_ms']:>5.0f}ms {r['writes_per_s']:>8.1f} {r['acked']:>6} {r['replayed']:>6} "
              f"{r['http_5xx']:>4} {r['no_answer']:>5} {r['retries']:>5}")
        print(f"{'':<10} {'':<13} statuses {r['statuses']}")
        if r["logins_done_s"]:
            print(f"{'':<10} {'':<13} logins p95 {r['login_p95_ms']:.0f} ms, all judges in after "
                  f"{r['logins_done_s']:.1f} s; score p95/max while logging in {r['score_p95_during_logins_ms']:.0f}/"
                  f"{r['score_max_during_logins_ms']:.0f} ms, afterwards {r['score_p95_after_logins_ms']:.0f}/"
                  f"{r['score_max_after_logins_ms']:.0f} ms")
        if r["cpu"]:
            c = r["cpu"]
            print(f"{'':<10} {'':<13} CPU s: app {c['server']:.1f}, database {c['database']:.1f}, clients "
                  f"{c['client']:.1f}, other processes {c['others']:.1f} ({r['others_cpu_share']:.0%} of the "
                  f"machine); app+database {r['server_cpu_ms_per_request']:.1f} ms CPU per request")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg", default=os.environ.get("LOAD_PG_ADMIN_URL", DEFAULT_PG),
                        help="a PostgreSQL server to create the throwaway database on (default %(default)s)")
    parser.add_argument("--judges", type=int, default=60)
    parser.add_argument("--entries-per-judge", type=int, default=30)
    parser.add_argument("--per-entry", type=int, default=5)
    parser.add_argument("--server", choices=["gunicorn", "waitress"], default="gunicorn",
                        help="waitress: one process with --threads threads, as on a Windows PC")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--pause", type=float, default=2.0, help="mean think time per entry at speed 1 (s)")
    parser.add_argument("--speed", type=float, default=1.0, help="divide every pause by this")
    parser.add_argument("--crash", action="store_true", help="SIGKILL the server mid-stress and restart it")
    parser.add_argument("--quick", action="store_true", help="12 judges, 6 entries each, short pauses")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.quick:
        args.judges, args.entries_per_judge, args.workers, args.speed = 12, 6, 2, 20.0
    why_not = loadlib.gunicorn_available() if args.server == "gunicorn" else None
    if why_not:
        print(why_not)
        return 2
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"{args.judges} judges x {args.entries_per_judge} entries, {args.per_entry} judges per entry, "
          + (f"waitress --threads {args.threads}" if args.server == "waitress" else f"gunicorn --workers {args.workers}")
          + f", pause {args.pause / args.speed:.2f} s mean, "
          f"{os.cpu_count()} CPUs", flush=True)
    totals = loadlib.Verdict()
    workdir = Path(tempfile.mkdtemp(prefix="judging-load-"))
    try:
        for kind in kinds:
            rows, verdict, notes = run_database(kind, args, workdir)
            print(f"\n== {kind}: {notes}")
            print_rows(kind, rows)
            print(f"{kind}: lost={verdict.lost} doubled={verdict.doubled} refused={verdict.refused} "
                  f"failed={verdict.failed} client_faults={verdict.client_faults}", flush=True)
            for line in verdict.details[:20]:
                print("   ", line)
            totals.lost += verdict.lost
            totals.doubled += verdict.doubled
            totals.refused += verdict.refused
            totals.failed += verdict.failed
            totals.client_faults += verdict.client_faults
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"lost={totals.lost} doubled={totals.doubled} errors={totals.errors}")
    return 0 if totals.lost == totals.doubled == totals.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
