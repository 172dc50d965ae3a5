"""Judges' tablets against a real server: shared by benchmarks/load.py and tests/test_crash.py.

What is here:
  seed()          one edition (the demo contest) with N judge accounts, pools, entries and assignments
                  in two rounds (初评 for the paced phase, 终评 for the stress phase); app context needed.
  AppServer       gunicorn on 127.0.0.1:<free port> in its own process group (so a crash test can
                  SIGKILL master and workers at once), started again on the same port after a kill.
  JudgeClient     one tablet: logs in with the form and its CSRF token, reads /api/v1/queue, posts
                  each score with an idempotency key and resends the SAME key on a timeout, a dropped
                  connection, 5xx or 429 until acknowledged (what static/js/judge.js's outbox does).
  run_phase()     many JudgeClients in threads, with or without think time, optionally killing the
                  server once mid-run and starting it again.
  verify()        compares the clients' ledger with the database: lost, doubled, refused, failed.

Loopback only, standard library only on the client side (http.client), so it runs wherever the app does.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "Load2026pw"
USERNAME_PREFIX = "load"
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


# --- The contest to judge ------------------------------------------------------------------------

@dataclass
class Plan:
    judges: list[str]                      # usernames
    password: str
    rounds: dict[str, int]                 # phase name -> round id ("paced": 初评, "stress": 终评)
    submissions_per_round: int             # assignments per round (judges x entries each)
    entries: int


def seed(judges: int = 60, entries_per_judge: int = 30, per_entry: int = 5, password: str = PASSWORD) -> Plan:
    """Inside an app context on a migrated, empty database: the demo contest plus `judges` judge accounts
    spread over its pools (3 categories x 2 divisions), each pool's entries assigned to `per_entry` of
    its judges so that every judge gets `entries_per_judge` entries, in both 初评 and 终评.

    Uses the demo loader for the edition (real rubrics of 3 to 5 criteria) and plain model rows for the
    rest, the way an organizer's panels and assignment would leave them."""
    from judging.contests.demo import load_demo
    from judging.contests.models import Edition
    from judging.core.models import School, User
    from argon2 import PasswordHasher

    from judging.extensions import db
    from judging.registration.models import Entry
    from judging.scoring.models import Assignment, Panel, PanelJudge
    from sqlalchemy import func, select

    load_demo()
    edition = db.session.scalar(select(Edition).order_by(Edition.id.desc()))
    pools = [(c, d) for c in edition.categories for d in edition.divisions]
    pool_count = max(1, min(len(pools), judges // per_entry))
    pools = pools[:pool_count]
    rounds = {r.kind: r for r in edition.rounds}
    scoring_rounds = {"paced": rounds["preliminary"], "stress": rounds["final"]}
    for rnd in scoring_rounds.values():
        rnd.enabled = True
        rnd.locked = False
    school = db.session.scalar(select(School).order_by(School.id))
    # One hash for all accounts, made with the server's own argon2 parameters (not the test suite's
    # cheap ones), so a login costs one verification and no rehash write, as in production.
    password_hash = PasswordHasher().hash(password)

    users = [User(username=f"{USERNAME_PREFIX}{i + 1:03d}", display_name=f"压测评委{i + 1}", role="judge",
                  affiliation="压力测试", password_hash=password_hash) for i in range(judges)]
    db.session.add_all(users)
    db.session.flush()
    # Judges dealt round-robin to the pools.
    members: dict[int, list] = defaultdict(list)
    for i, user in enumerate(users):
        members[i % pool_count].append(user)

    total_entries = 0
    for p, (category, division) in enumerate(pools):
        pool_judges = members[p]
        count = max(1, len(pool_judges) * entries_per_judge // per_entry)
        entries = []
        for n in range(1, count + 1):
            entries.append(Entry(edition_id=edition.id, category_id=category.id, division_id=division.id,
                                 school_id=school.id, code=f"{category.code}{division.code}-L{n:03d}", sequence=900 + n,
                                 title=f"压测作品{category.code}{division.code}{n}", status="approved"))
        db.session.add_all(entries)
        db.session.flush()
        total_entries += len(entries)
        for rnd in scoring_rounds.values():
            panel = Panel(edition_id=edition.id, round_id=rnd.id, category_id=category.id, division_id=division.id,
                          judges_per_entry=per_entry)
            db.session.add(panel)
            db.session.flush()
            db.session.add_all(PanelJudge(panel_id=panel.id, judge_id=u.id) for u in pool_judges)
            size = len(pool_judges)
            rows = []
            for i, entry in enumerate(entries):
                # Slots i*per_entry .. +per_entry-1 taken by consecutive judges: distinct per entry,
                # equal loads across the pool.
                for k in range(min(per_entry, size)):
                    judge = pool_judges[(i * per_entry + k) % size]
                    rows.append(Assignment(round_id=rnd.id, panel_id=panel.id, entry_id=entry.id, judge_id=judge.id))
            db.session.add_all(rows)
    db.session.commit()
    per_round = db.session.scalar(select(func.count()).select_from(Assignment)
                                  .where(Assignment.round_id == scoring_rounds["paced"].id))
    plan = Plan(judges=[u.username for u in users], password=password,
                rounds={k: r.id for k, r in scoring_rounds.items()}, submissions_per_round=per_round,
                entries=total_entries)
    db.session.commit()
    db.session.close()  # SQLite: hold no transaction while the server writes
    return plan


def migrate(url: str) -> None:
    """Build the schema with the real migrations (Flask-Migrate upgrade)."""
    from flask_migrate import upgrade

    from judging import create_app
    from judging.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


# --- The server ------------------------------------------------------------------------------------

def gunicorn_available() -> str | None:
    """None when gunicorn can run here, else why not (in Chinese and English)."""
    if os.name == "nt" or not hasattr(os, "killpg"):
        return "gunicorn 不支持 Windows / gunicorn does not run on Windows (use waitress there)"
    import importlib.util

    if importlib.util.find_spec("gunicorn") is None:
        return "gunicorn 未安装 / gunicorn is not installed (pip install gunicorn)"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """gunicorn (or waitress, what a Windows PC runs) serving wsgi:app on loopback, in a process group
    of its own."""

    def __init__(self, database_url: str, instance_dir: Path, workers: int = 4, port: int | None = None,
                 secret_key: str = "load-test-secret", extra_env: dict | None = None, kind: str = "gunicorn",
                 threads: int = 8):
        self.kind = kind          # gunicorn (workers processes) or waitress (one process, `threads` threads)
        self.threads = threads
        self.database_url = database_url
        self.instance_dir = Path(instance_dir)
        self.workers = workers
        self.port = port or free_port()
        self.env = dict(os.environ)
        for name in ("TEST_DATABASE_URL", "FLASK_APP"):
            self.env.pop(name, None)
        self.env.update({
            "DATABASE_URL": database_url, "SECRET_KEY": secret_key, "JUDGING_INSTANCE": str(self.instance_dir),
            "UPLOAD_DIR": str(self.instance_dir / "uploads"), "PYTHONUNBUFFERED": "1",
        })
        self.env.update(extra_env or {})
        self.proc: subprocess.Popen | None = None
        self.log_path = self.instance_dir / "gunicorn.log"
        self.starts = 0

    @property
    def base(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait until a worker answers; returns the seconds it took."""
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        log = open(self.log_path, "ab")
        if self.kind == "waitress":
            command = [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{self.port}",
                       f"--threads={self.threads}", "wsgi:app"]
        else:
            command = [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--bind",
                       f"127.0.0.1:{self.port}", "--timeout", "60", "--graceful-timeout", "5", "--log-level",
                       "warning", "wsgi:app"]
        self.proc = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.starts += 1
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(*self.base, timeout=2)
                conn.request("GET", "/login")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return time.perf_counter() - started
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"{self.kind} did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the whole process group: master and every worker, mid-request, no clean-up."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        """A graceful stop (SIGTERM to the master), SIGKILL after 15 s."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# --- Who used the CPU ------------------------------------------------------------------------------

class CpuMeter:
    """CPU seconds used by the server's process group, by the database's backends (PostgreSQL: the
    processes whose title names our database), by this client process, and by the whole machine,
    from /proc (Linux). The machine is shared: what the others used is busy - ours."""

    def __init__(self, server: "AppServer", database_tag: str | None = None):
        self.server = server
        self.database_tag = database_tag
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.available = os.path.exists("/proc/stat")

    @staticmethod
    def _read(path: str) -> str:
        try:
            with open(path, "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def snapshot(self) -> dict[str, float]:
        if not self.available:
            return {}
        server = database = 0
        pgid = self.server.proc.pid if self.server.proc else None
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            stat = self._read(f"/proc/{entry}/stat")
            if not stat:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            jiffies = int(fields[11]) + int(fields[12])  # utime + stime
            if pgid is not None and int(fields[2]) == pgid:
                server += jiffies
            elif self.database_tag and self.database_tag in self._read(f"/proc/{entry}/cmdline"):
                database += jiffies
        cpu = self._read("/proc/stat").splitlines()[0].split()[1:]
        busy = sum(int(v) for v in cpu[:8]) - int(cpu[3]) - int(cpu[4])  # minus idle and iowait
        times = os.times()
        return {"server": server / self.tick, "database": database / self.tick,
                "client": times.user + times.system, "busy": busy / self.tick}

    @staticmethod
    def difference(before: dict, after: dict) -> dict[str, float]:
        if not before or not after:
            return {}
        used = {k: after[k] - before[k] for k in before}
        used["others"] = max(0.0, used["busy"] - used["server"] - used["database"] - used["client"])
        return used


# --- The clients -----------------------------------------------------------------------------------

@dataclass
class Sample:
    kind: str          # login, page, queue, score
    seconds: float
    status: int        # 0: no answer (connection refused/reset, timeout)
    at: float = 0.0    # when the request started (perf_counter)


@dataclass
class Sent:
    """One submission as the tablet's outbox holds it: its key and payload, and what became of it."""
    key: str
    judge: str
    round_id: int
    entry_id: int
    base_version: int
    total: str
    payload: dict
    outcome: str = "pending"   # acked, refused, failed
    attempts: int = 0
    answer_status: int = 0
    answer_version: int | None = None
    replayed: bool = False     # the acknowledgement was a replay of an earlier copy (its answer was lost)
    error: str = ""


class Ledger:
    """Everything every client sent and measured (thread-safe appends)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.samples: list[Sample] = []
        self.sent: list[Sent] = []
        self.duplicate_answers: list[tuple[str, int, bool]] = []  # (key, status, replayed) of deliberate resends
        self.acked = 0
        self.connection_errors = 0
        self.retries = 0

    def sample(self, kind: str, seconds: float, status: int, at: float = 0.0) -> None:
        with self.lock:
            self.samples.append(Sample(kind, seconds, status, at))
            if status == 0:
                self.connection_errors += 1


class Unavailable(Exception):
    """No answer from the server (connection refused or reset, timeout)."""


class JudgeClient:
    """One judge's tablet. Sends one request at a time, like the outbox."""

    def __init__(self, host: str, port: int, username: str, password: str, ledger: Ledger,
                 timeout: float = 20.0, retry_window: float = 60.0, rng: random.Random | None = None):
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.ledger = ledger
        self.timeout = timeout
        self.retry_window = retry_window
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.queue: list[dict] = []
        self.versions: dict[tuple[int, int], int] = {}  # (round, entry) -> version last acknowledged
        self.rng = rng or random.Random()

    # HTTP with a cookie jar of one site ------------------------------------------------------------
    def request(self, kind: str, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        all_headers = {"Host": f"{self.host}:{self.port}", "Connection": "close", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.ledger.sample(kind, time.perf_counter() - started, 0, started)
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
        finally:
            conn.close()
        self.ledger.sample(kind, time.perf_counter() - started, response.status, started)
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                cname, _, cvalue = pair.partition("=")
                if cvalue and "expires=thu, 01 jan 1970" not in value.lower():
                    self.cookies[cname.strip()] = cvalue.strip()
                else:
                    self.cookies.pop(cname.strip(), None)
        return response.status, dict(response.getheaders()), data

    def _patiently(self, fn):
        """Run fn until the server answers (it may be restarting), within the retry window."""
        deadline = time.monotonic() + self.retry_window
        delay = 0.2
        while True:
            try:
                return fn()
            except Unavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    # The judge's steps ----------------------------------------------------------------------------
    def login(self) -> None:
        def attempt():
            self.cookies.clear()
            status, _, html = self.request("page", "GET", "/login")
            match = CSRF_INPUT.search(html.decode("utf-8", "replace"))
            if status != 200 or not match:
                raise RuntimeError(f"{self.username}: no login form ({status})")
            token = match.group(1) or match.group(2)
            form = urlencode({"csrf_token": token, "username": self.username, "password": self.password}).encode()
            status, headers, body = self.request("login", "POST", "/login", form,
                                                 {"Content-Type": "application/x-www-form-urlencoded"})
            if status != 302:
                raise RuntimeError(f"{self.username}: login answered {status}")
            self._load_page()
        self._patiently(attempt)

    def _load_page(self) -> None:
        """The judge's page: the CSRF token for the API sits in its <meta>."""
        status, _, html = self.request("page", "GET", "/judge/")
        match = CSRF_META.search(html.decode("utf-8", "replace"))
        if status != 200 or not match:
            raise RuntimeError(f"{self.username}: judge page answered {status}")
        self.csrf = match.group(1)

    def load_queue(self) -> list[dict]:
        def attempt():
            status, _, body = self.request("queue", "GET", "/api/v1/queue", headers={"Accept": "application/json"})
            if status == 401:
                self.login()
                return attempt()
            if status != 200:
                raise Unavailable(f"queue answered {status}")
            return json.loads(body)["queue"]
        self.queue = self._patiently(attempt)
        for item in self.queue:
            if item["score"]:
                self.versions[(item["round_id"], item["entry"]["id"])] = item["score"]["version"]
        return self.queue

    def make_submission(self, item: dict, edit: bool = False) -> Sent:
        """Random points within each criterion's maximum (one decimal); a new idempotency key."""
        values = {}
        for criterion in item["criteria"]:
            tenths = int(Decimal(criterion["max"]) * 10)
            values[str(criterion["id"])] = format(Decimal(self.rng.randint(tenths // 2, tenths)) / 10, "f")
        total = format(sum((Decimal(v) for v in values.values()), Decimal("0")), "f")
        key = uuid.uuid4().hex
        base = self.versions.get((item["round_id"], item["entry"]["id"]), 0)
        payload = {"idempotency_key": key, "round_id": item["round_id"], "entry_id": item["entry"]["id"],
                   "values": values, "comment": "修改后的评语" if edit else "", "status": "submitted",
                   "base_version": base}
        return Sent(key=key, judge=self.username, round_id=item["round_id"], entry_id=item["entry"]["id"],
                    base_version=base, total=total, payload=payload)

    def post_score(self, payload: dict) -> tuple[int, dict | None]:
        status, _, body = self.request("score", "POST", "/api/v1/scores", json.dumps(payload).encode(), {
            "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": self.csrf})
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        return status, parsed if isinstance(parsed, dict) else None

    def submit(self, sent: Sent) -> Sent:
        """Send until acknowledged or refused, resending the same key on no answer, 5xx or 429 (backoff
        0.2 s doubling to 2 s) within the retry window; a lost session logs in again, a refused CSRF
        token is read again from the page (what the outbox does)."""
        with self.ledger.lock:
            self.ledger.sent.append(sent)
        deadline = time.monotonic() + self.retry_window
        delay = 0.2
        rechecked = relogged = refreshed = False
        while True:
            sent.attempts += 1
            if sent.attempts > 1:
                with self.ledger.lock:
                    self.ledger.retries += 1
            try:
                status, body = self.post_score(sent.payload)
            except Unavailable as exc:
                sent.error = str(exc)
                status, body = 0, None
            sent.answer_status = status
            if status in (200, 201) and body and body.get("ok"):
                sent.outcome = "acked"
                sent.replayed = bool(body.get("replayed"))
                sent.answer_version = body["score"]["version"]
                self.versions[(sent.round_id, sent.entry_id)] = sent.answer_version
                with self.ledger.lock:
                    self.ledger.acked += 1
                return sent
            if status == 401 and not relogged:
                relogged = True
                self.login()
                continue
            if status == 400 and body is None and not refreshed:
                refreshed = True
                self._patiently(self._load_page)
                continue
            if status == 409 and body and body.get("error") == "stale" and sent.attempts > 1 and not rechecked:
                rechecked = True  # an earlier copy may be committing right now: once more, by its key
                continue
            if status == 0 or status >= 500 or status == 429:
                if time.monotonic() > deadline:
                    sent.outcome = "failed"
                    return sent
                time.sleep(delay * (0.5 + self.rng.random()))
                delay = min(delay * 2, 2.0)
                continue
            sent.outcome = "refused"
            sent.error = (body or {}).get("error", "") + " " + (body or {}).get("message", "")
            return sent

    def resend(self, sent: Sent) -> None:
        """Send an acknowledged submission again, as an outbox does when the answer went missing."""
        try:
            status, body = self.post_score(sent.payload)
        except Unavailable:
            return
        with self.ledger.lock:
            self.ledger.duplicate_answers.append((sent.key, status, bool(body and body.get("replayed"))))


# --- A phase ---------------------------------------------------------------------------------------

@dataclass
class PhaseResult:
    name: str
    seconds: float
    samples: list[Sample]
    sent: list[Sent]
    duplicate_answers: list
    connection_errors: int
    retries: int
    crash: dict = field(default_factory=dict)
    client_faults: list[str] = field(default_factory=list)
    cpu: dict = field(default_factory=dict)      # CPU seconds: server, database, client, others, busy
    started: float = 0.0
    logins_done: float = 0.0                     # seconds into the phase when the last judge had logged in
    hook_result: dict = field(default_factory=dict)


def run_phase(server: AppServer, plan: Plan, clients: dict[str, JudgeClient] | None, name: str, round_id: int,
              pause: float = 0.0, arrival_spread: float = 0.0, edit_share: float = 0.1, resend_share: float = 0.0,
              crash_after_acks: int | None = None, crash_downtime: float = 0.5, retry_window: float = 60.0,
              seed: int = 1, meter: CpuMeter | None = None, hook_after_acks: int | None = None,
              hook=None) -> tuple[PhaseResult, dict[str, JudgeClient]]:
    """Every judge scores all his entries of `round_id` in its own thread.

    pause: mean think time per entry in seconds (uniform 0.5x..1.5x); 0 = stress.
    arrival_spread: judges log in at random moments within this many seconds.
    edit_share: this share of entries is scored again afterwards (a correction: new key, next version).
    resend_share: this share of acknowledged submissions is sent once more with its key (a lost answer).
    crash_after_acks: SIGKILL the server's process group once this many submissions were acknowledged,
    wait crash_downtime seconds, start it again on the same port; clients resend what was unanswered.
    hook: called (in a thread of its own, while the judges go on) once hook_after_acks submissions were
    acknowledged, e.g. a backup taken mid-load; its return value lands in PhaseResult.hook_result.
    """
    ledger = Ledger()
    rng = random.Random(seed)
    fresh = clients is None
    if fresh:
        clients = {u: JudgeClient(*server.base, u, plan.password, ledger, retry_window=retry_window,
                                  rng=random.Random(rng.random())) for u in plan.judges}
    for c in clients.values():
        c.ledger = ledger
        c.retry_window = retry_window
    faults: list[str] = []
    crash: dict = {}
    stop_watch = threading.Event()
    logged_in: list[float] = []

    def judge(client: JudgeClient, delay: float) -> None:
        try:
            time.sleep(delay)
            if fresh:
                client.login()
                logged_in.append(time.perf_counter())
            items = [i for i in client.load_queue() if i["round_id"] == round_id]
            client.rng.shuffle(items)
            done = []
            for n, item in enumerate(items, start=1):
                if pause:
                    time.sleep(pause * (0.5 + client.rng.random()))
                sent = client.submit(client.make_submission(item))
                if sent.outcome == "acked":
                    done.append(item)
                    if resend_share and client.rng.random() < resend_share:
                        client.resend(sent)
                if n % 10 == 0:
                    client.load_queue()  # the tablet refreshes its list now and then
            for item in done:
                if client.rng.random() < edit_share:
                    if pause:
                        time.sleep(pause * (0.5 + client.rng.random()))
                    client.submit(client.make_submission(item, edit=True))
        except Exception as exc:  # a client that gives up is counted, not hidden
            with ledger.lock:
                faults.append(f"{client.username}: {type(exc).__name__}: {exc}")

    hooked: dict = {}

    def hooker() -> None:
        while not stop_watch.is_set() and ledger.acked < hook_after_acks:
            time.sleep(0.005)
        if ledger.acked >= hook_after_acks:
            hooked["acked_before"] = ledger.acked
            try:
                hooked["result"] = hook()
            except Exception as exc:
                hooked["error"] = f"{type(exc).__name__}: {exc}"
            hooked["acked_after"] = ledger.acked

    def crasher() -> None:
        while not stop_watch.is_set():
            if ledger.acked >= crash_after_acks:
                crash["acked_before"] = ledger.acked
                crash["at"] = time.perf_counter() - started
                server.kill()
                time.sleep(crash_downtime)
                crash["restart_seconds"] = server.start()
                return
            time.sleep(0.005)

    before = meter.snapshot() if meter else {}
    started = time.perf_counter()
    threads = [threading.Thread(target=judge, args=(c, rng.random() * arrival_spread), daemon=True)
               for c in clients.values()]
    watcher = None
    if crash_after_acks is not None:
        watcher = threading.Thread(target=crasher, daemon=True)
        watcher.start()
    hook_thread = None
    if hook is not None:
        hook_thread = threading.Thread(target=hooker, daemon=True)
        hook_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop_watch.set()
    if watcher is not None:
        watcher.join()
    if hook_thread is not None:
        hook_thread.join()
    seconds = time.perf_counter() - started
    cpu = CpuMeter.difference(before, meter.snapshot()) if meter and not crash else {}
    result = PhaseResult(name=name, seconds=seconds, samples=ledger.samples, sent=ledger.sent,
                         duplicate_answers=ledger.duplicate_answers, connection_errors=ledger.connection_errors,
                         retries=ledger.retries, crash=crash, client_faults=faults, cpu=cpu, started=started,
                         logins_done=(max(logged_in) - started) if logged_in else 0.0, hook_result=hooked)
    return result, clients


# --- Checking the database against the ledger -----------------------------------------------------

@dataclass
class Verdict:
    lost: int = 0            # acknowledged but not stored, or the current score is not what was acknowledged last
    doubled: int = 0         # stored more than once: a second history row or version for one submission
    refused: int = 0         # answered 4xx (not a resend case): the server refused a valid submission
    failed: int = 0          # never acknowledged within the retry window
    client_faults: int = 0   # a judge's thread gave up (login or queue never answered)
    details: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.refused + self.failed + self.client_faults


def verify(results: list[PhaseResult]) -> Verdict:
    """Inside an app context, with no server writing: every acknowledged submission stored exactly once.

    For each submission the client sent: acknowledged -> its key has exactly one history row, whose
    version is the one acknowledged. For each (round, entry, judge) touched: one current score row;
    history versions 1..n without gaps or repeats, n = the score's version; every history key was sent
    by a client; the current total equals the newest history row, and equals the last acknowledged
    submission when nothing after it was left unanswered. A deliberate resend of an acknowledged key
    must be answered as a replay (else the server wrote it twice)."""
    from sqlalchemy import select

    from judging.core.models import User
    from judging.extensions import db
    from judging.scoring.models import Score, ScoreHistory

    verdict = Verdict()
    sent = [s for r in results for s in r.sent]
    verdict.client_faults = sum(len(r.client_faults) for r in results)
    verdict.details.extend(f for r in results for f in r.client_faults)
    round_ids = {s.round_id for s in sent}
    if not sent:
        return verdict
    db.session.expire_all()
    judge_ids = dict(db.session.execute(select(User.username, User.id).where(
        User.username.in_({s.judge for s in sent}))).all())
    history = db.session.execute(select(
        ScoreHistory.idempotency_key, ScoreHistory.round_id, ScoreHistory.entry_id, ScoreHistory.judge_id,
        ScoreHistory.version, ScoreHistory.total).where(ScoreHistory.round_id.in_(round_ids))).all()
    scores = db.session.execute(select(Score.round_id, Score.entry_id, Score.judge_id, Score.version,
                                       Score.total).where(Score.round_id.in_(round_ids))).all()
    db.session.commit()

    by_key: dict[str, list] = defaultdict(list)
    by_triple: dict[tuple, list] = defaultdict(list)
    for row in history:
        by_key[row.idempotency_key].append(row)
        by_triple[(row.round_id, row.entry_id, row.judge_id)].append(row)
    score_rows: dict[tuple, list] = defaultdict(list)
    for row in scores:
        score_rows[(row.round_id, row.entry_id, row.judge_id)].append(row)

    sent_by_triple: dict[tuple, list[Sent]] = defaultdict(list)
    for s in sent:
        sent_by_triple[(s.round_id, s.entry_id, judge_ids[s.judge])].append(s)
        if s.outcome == "refused":
            verdict.refused += 1
            verdict.details.append(f"refused {s.key} ({s.answer_status}): {s.error.strip()}")
        elif s.outcome != "acked":
            verdict.failed += 1
            verdict.details.append(f"never acknowledged {s.key} after {s.attempts} attempts: {s.error}")
        rows = by_key.get(s.key, [])
        if len(rows) > 1:
            verdict.doubled += len(rows) - 1
            verdict.details.append(f"key {s.key} stored {len(rows)} times")
        if s.outcome == "acked":
            if not rows:
                verdict.lost += 1
                verdict.details.append(f"acknowledged {s.key} but not stored")
            elif rows[0].version != s.answer_version or rows[0].total != Decimal(s.total):
                verdict.lost += 1
                verdict.details.append(f"acknowledged {s.key} as version {s.answer_version} total {s.total}, "
                                       f"stored as version {rows[0].version} total {rows[0].total}")

    for triple, mine in sent_by_triple.items():
        rows = by_triple.get(triple, [])
        keys_sent = {s.key for s in mine}
        strangers = [r for r in rows if r.idempotency_key not in keys_sent]
        if strangers:
            verdict.doubled += len(strangers)
            verdict.details.append(f"{triple}: {len(strangers)} history rows under keys no client sent")
        versions = sorted(r.version for r in rows)
        if versions != list(range(1, len(versions) + 1)):
            verdict.doubled += max(0, len(versions) - len(set(versions)))
            verdict.details.append(f"{triple}: history versions {versions}")
        current = score_rows.get(triple, [])
        if len(current) > 1:
            verdict.doubled += len(current) - 1
            verdict.details.append(f"{triple}: {len(current)} current score rows")
        if rows and not current:
            verdict.lost += 1
            verdict.details.append(f"{triple}: history but no current score")
            continue
        if not current:
            continue
        newest = max(rows, key=lambda r: r.version) if rows else None
        if newest is None or current[0].version != newest.version or current[0].total != newest.total:
            verdict.lost += 1
            verdict.details.append(f"{triple}: current score v{current[0].version} {current[0].total} is not "
                                   f"the newest history row")
        last = mine[-1]
        if last.outcome == "acked" and (current[0].version != last.answer_version
                                        or current[0].total != Decimal(last.total)):
            verdict.lost += 1
            verdict.details.append(f"{triple}: last acknowledged {last.total} (v{last.answer_version}) but "
                                   f"current is {current[0].total} (v{current[0].version})")

    for r in results:
        for key, status, replayed in r.duplicate_answers:
            if status in (200, 201) and not replayed:
                verdict.doubled += 1
                verdict.details.append(f"resent key {key} was written again ({status}), not replayed")
    return verdict


def consistency_faults(url: str) -> list[str]:
    """A consistent database (e.g. a backup copy): every current score has exactly its versions 1..n in
    the history, its total is the newest history row's, all its criterion rows are there; no history
    row without its current score. Any SQLAlchemy URL; an empty list means consistent."""
    from sqlalchemy import create_engine, text

    checks = [
        ("score {0}: version {1}, {2} history rows up to v{3}",
         "SELECT s.id, s.version, count(h.id), max(h.version) FROM score s LEFT JOIN score_history h "
         "ON h.round_id = s.round_id AND h.entry_id = s.entry_id AND h.judge_id = s.judge_id "
         "GROUP BY s.id, s.version HAVING count(h.id) <> s.version OR max(h.version) <> s.version"),
        ("score {0}: total {1} but the newest history row says {2}",
         "SELECT s.id, s.total, h.total FROM score s JOIN score_history h ON h.round_id = s.round_id "
         "AND h.entry_id = s.entry_id AND h.judge_id = s.judge_id AND h.version = s.version "
         "WHERE h.total <> s.total"),
        ("score {0}: {1} criterion rows, its rubric has {2}",
         "SELECT s.id, count(c.id), (SELECT count(*) FROM criterion k WHERE k.category_id = e.category_id) "
         "FROM score s JOIN entry e ON e.id = s.entry_id LEFT JOIN criterion_score c ON c.score_id = s.id "
         "WHERE s.status = 'submitted' GROUP BY s.id, e.category_id "
         "HAVING count(c.id) <> (SELECT count(*) FROM criterion k WHERE k.category_id = e.category_id)"),
        ("history of (round {0}, entry {1}, judge {2}) without its current score",
         "SELECT h.round_id, h.entry_id, h.judge_id FROM score_history h LEFT JOIN score s "
         "ON h.round_id = s.round_id AND h.entry_id = s.entry_id AND h.judge_id = s.judge_id WHERE s.id IS NULL"),
    ]
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [message.format(*row) for message, sql in checks for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


# --- Reporting -------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summarize(result: PhaseResult) -> dict:
    answered = [s for s in result.samples if s.status]
    scores = [s for s in answered if s.kind == "score"]
    statuses = Counter(s.status for s in result.samples)
    acked = [s for s in result.sent if s.outcome == "acked"]
    login_window = result.started + result.logins_done
    during_logins = [s.seconds for s in scores if s.at <= login_window] if result.logins_done else []
    after_logins = [s.seconds for s in scores if s.at > login_window] if result.logins_done else []
    cpu = result.cpu
    return {
        "phase": result.name,
        "seconds": result.seconds,
        "requests": len(result.samples),
        "rps": len(answered) / result.seconds if result.seconds else 0.0,
        "score_posts": len(scores),
        "writes_per_s": len(acked) / result.seconds if result.seconds else 0.0,
        "p50_ms": percentile([s.seconds for s in answered], 0.50) * 1000,
        "p95_ms": percentile([s.seconds for s in answered], 0.95) * 1000,
        "score_p50_ms": percentile([s.seconds for s in scores], 0.50) * 1000,
        "score_p95_ms": percentile([s.seconds for s in scores], 0.95) * 1000,
        "score_max_ms": max((s.seconds for s in scores), default=float("nan")) * 1000,
        "login_p95_ms": percentile([s.seconds for s in answered if s.kind == "login"], 0.95) * 1000,
        "submissions": len(result.sent),
        "acked": len(acked),
        "replayed": sum(1 for s in acked if s.replayed),
        "http_5xx": sum(n for status, n in statuses.items() if status >= 500),
        "no_answer": statuses.get(0, 0),
        "retries": result.retries,
        "statuses": dict(sorted(statuses.items())),
        "logins_done_s": result.logins_done,
        "score_p95_during_logins_ms": percentile(during_logins, 0.95) * 1000,
        "score_max_during_logins_ms": max(during_logins, default=float("nan")) * 1000,
        "score_p95_after_logins_ms": percentile(after_logins, 0.95) * 1000,
        "score_max_after_logins_ms": max(after_logins, default=float("nan")) * 1000,
        "cpu": {k: round(v, 1) for k, v in cpu.items()},
        "server_cpu_ms_per_request": (cpu["server"] + cpu["database"]) / len(answered) * 1000
        if cpu and answered else float("nan"),
        "others_cpu_share": cpu["others"] / (result.seconds * (os.cpu_count() or 1)) if cpu else float("nan"),
    }
