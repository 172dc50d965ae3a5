"""Login throttling across real gunicorn workers: wrong passwords through the real login form (with its CSRF
token, each attempt a fresh session as a guessing script would), spread over several worker processes;
once the limit is reached every worker refuses, the right password included, while another account from
the same address still logs in. (Two app instances on one database: tests/test_core.py.)"""
from __future__ import annotations

import http.client
import re
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from benchmarks import loadlib

pytestmark = pytest.mark.skipif(loadlib.gunicorn_available() is not None,
                                reason=f"needs gunicorn: {loadlib.gunicorn_available()}")

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
MAX_FAILURES = 4


def attempt(server, username: str, password: str) -> int:
    """GET the login form, POST it back with its token and cookie on a new connection; the status."""
    conn = http.client.HTTPConnection(*server.base, timeout=20)
    try:
        conn.request("GET", "/login")
        response = conn.getresponse()
        page = response.read().decode()
        cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
        token = CSRF.search(page).group(1)
        body = urlencode({"username": username, "password": password, "csrf_token": token})
        conn.request("POST", "/login", body=body, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                           "Cookie": cookie})
        response = conn.getresponse()
        text = response.read().decode()
        if response.status == 429:
            assert "登录失败次数过多" in text
        return response.status
    finally:
        conn.close()


def test_the_lockout_holds_whichever_worker_answers(app, db, database_url, tmp_path, make_user):
    make_user("judge", username="guessme", password="Right2026pw")
    make_user("judge", username="bystander", password="Other2026pw")
    db.session.commit()
    db.session.remove()  # the server writes the failures: hold no SQLite lock here
    server = loadlib.AppServer(database_url, tmp_path / "server", workers=3, extra_env={
        "LOGIN_MAX_FAILURES": str(MAX_FAILURES), "LOGIN_WINDOW_SECONDS": "900",
        # An access log line per request with the answering worker's pid.
        "GUNICORN_CMD_ARGS": "--access-logfile - --access-logformat '%(p)s %(m)s %(U)s %(s)s'"})
    assert server.workers == 3
    server.start()
    try:
        first = [attempt(server, "guessme", f"wrong{i}") for i in range(MAX_FAILURES)]
        assert first == [401] * MAX_FAILURES
        # Then a burst in parallel: more connections than workers, so every worker takes some.
        with ThreadPoolExecutor(8) as pool:
            burst = list(pool.map(lambda i: attempt(server, "GuessMe", f"wrong-again{i}"), range(30)))
        assert burst == [429] * 30, burst
        assert attempt(server, "guessme", "Right2026pw") == 429  # locked: even the right password
        assert attempt(server, "bystander", "Other2026pw") == 302  # the key is username + address
        time.sleep(0.5)  # let the access log flush
    finally:
        server.stop()
    # gunicorn writes %(p)s as <pid>
    lines = re.findall(r"^<(\d+)> POST /login (\d{3})$", server.log_path.read_text(), re.M)
    refused_by = {pid for pid, status in lines if status == "429"}
    assert len(lines) == MAX_FAILURES + 32
    assert len(refused_by) >= 2, f"the refusals came from one worker only: {lines[-10:]}"
