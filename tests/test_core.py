"""The shared kernel: settings, SQLite locking, accounts, throttling, audit log, numerals, headers."""
from __future__ import annotations

import sqlite3
import threading
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

from judging.config import load_secret_key, normalise_database_url
from judging.core.models import AuditEvent, LoginFailure, User
from judging.core.numerals import chinese_date, chinese_number, edition_ordinal, round_half_up
from judging.core.text import clean, split_list
from tests.conftest import PG_URL, login

# --- numerals and text --------------------------------------------------------------------------


@pytest.mark.parametrize("n, expected", [
    (1, "一"), (10, "十"), (13, "十三"), (20, "二十"), (21, "二十一"), (100, "一百"), (105, "一百零五"),
    (110, "一百一十"), (1001, "一千零一"), (2026, "二千零二十六"), (10000, "一万"), (10010, "一万零一十"),
])
def test_chinese_numbers(n, expected):
    assert chinese_number(n) == expected


def test_edition_ordinal_and_certificate_date():
    assert edition_ordinal(13) == "第十三届"
    assert chinese_date(date(2026, 11, 25)) == "二〇二六年十一月"
    assert chinese_date(date(2027, 1, 5), with_day=True) == "二〇二七年一月五日"


_DIGIT = {c: i for i, c in enumerate("零一二三四五六七八九")}


def _parse_chinese(text: str) -> int:
    """An independent reader for the property test below."""
    total, section, digit = 0, 0, 0
    for ch in text:
        if ch in _DIGIT:
            digit = _DIGIT[ch]
        elif ch == "十":
            section += (digit or 1) * 10
            digit = 0
        elif ch == "百":
            section += digit * 100
            digit = 0
        elif ch == "千":
            section += digit * 1000
            digit = 0
        elif ch == "万":
            total += (section + digit) * 10000
            section = digit = 0
    return total + section + digit


@given(st.integers(min_value=1, max_value=99_999_999))
def test_chinese_numbers_read_back(n):
    text = chinese_number(n)
    assert _parse_chinese(text) == n
    assert "零零" not in text and not text.endswith("零")


def test_round_half_up_is_never_bankers_rounding():
    assert round_half_up(Decimal("85.125")) == Decimal("85.13")
    assert round_half_up(Decimal("85.135")) == Decimal("85.14")
    assert round_half_up(Decimal("2.5"), 0) == Decimal("3")
    with pytest.raises(TypeError):
        round_half_up(85.125)


def test_clean_and_split_accept_spreadsheet_variants():
    assert clean("  张\u3000三  ") == "张 三"
    assert clean("１２３ＡＢｃ") == "123ABc"
    assert clean("会转弯的雨伞（改进版）：好用！") == "会转弯的雨伞（改进版）：好用！"
    assert split_list("张三、李四，王五;赵六 ；  孙七,") == ["张三", "李四", "王五", "赵六", "孙七"]


# --- settings -------------------------------------------------------------------------------------


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(tmp_path)
    assert len(first) >= 64 and load_secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert load_secret_key(tmp_path) == "from-env"


def test_postgres_urls_use_psycopg3():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_session_and_csrf_settings(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None  # a token lives as long as the session
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    from judging.extensions import login_manager

    assert login_manager.session_protection == "basic"


# --- SQLite done right ------------------------------------------------------------------------------

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite pragmas")


@sqlite_only
def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app, db):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


@sqlite_only
def test_sqlite_write_transactions_take_the_lock_up_front(app, db, make_user):
    """A transaction outside a GET request holds the write lock from its first statement, so a
    competing writer waits (busy_timeout) instead of failing in the middle of its work."""
    make_user("judge", username="lockcheck")
    path = db.engine.url.database
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")  # opens BEGIN IMMEDIATE
        other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        conn.rollback()


@sqlite_only
def test_concurrent_writers_all_succeed(make_app, tmp_path):
    """Eight threads, each its own app (as separate workers would be), write at once: none fails."""
    app = make_app()
    with app.app_context():
        from judging.core.models import School
        from judging.extensions import db

        db.session.add(School(name="起点学校"))
        db.session.commit()
    errors = []

    def worker(n):
        try:
            with app.app_context():
                from judging.core.models import School
                from judging.extensions import db

                for i in range(10):
                    count = db.session.scalar(select(School).limit(1))  # read first, then write
                    assert count is not None
                    db.session.add(School(name=f"并发学校{n}-{i}"))
                    db.session.commit()
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with app.app_context():
        from judging.core.models import School
        from judging.extensions import db

        assert len(db.session.scalars(select(School)).all()) == 81


# --- accounts -------------------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2(make_user):
    user = make_user("judge")
    assert user.password_hash.startswith("$argon2id$") and "secret123" not in user.password_hash


def test_wrong_password_and_unknown_user_get_the_same_answer(client, make_user):
    make_user("judge", username="zhang")
    wrong = client.post("/login", data={"username": "zhang", "password": "nope12345"})
    unknown = client.post("/login", data={"username": "nobody", "password": "nope12345"})
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.get_data(as_text=True) and "用户名或密码错误" in unknown.get_data(as_text=True)


def test_username_is_case_insensitive_at_login(client, make_user):
    make_user("judge", username="ZhangSan")
    assert login(client, "zhangsan").status_code == 302


def test_inactive_accounts_cannot_log_in(client, make_user):
    make_user("judge", username="gone", active=False)
    assert login(client, "gone").status_code == 401


def test_login_throttle_holds_across_server_processes(make_app, make_user):
    """Two app instances (two workers) share the limit, which is keyed on username and address."""
    make_user("judge", username="target")
    worker_a, worker_b = make_app(LOGIN_MAX_FAILURES=3), make_app(LOGIN_MAX_FAILURES=3)
    a, b = worker_a.test_client(), worker_b.test_client()
    for client in (a, b, a):
        assert client.post("/login", data={"username": "target", "password": "wrong-1"}).status_code == 401
    blocked = b.post("/login", data={"username": "target", "password": "secret123"})
    assert blocked.status_code == 429 and "登录失败次数过多" in blocked.get_data(as_text=True)
    # Another address (another tablet in the hall) is not locked out by this one.
    other = worker_b.test_client()
    ok = other.post("/login", data={"username": "target", "password": "secret123"},
                    environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert ok.status_code == 302


def test_successful_login_clears_failures(client, db, make_user):
    make_user("judge", username="li")
    client.post("/login", data={"username": "li", "password": "bad-pass1"})
    assert login(client, "li").status_code == 302
    assert db.session.scalars(select(LoginFailure)).all() == []


def test_first_login_with_generated_password_asks_for_a_new_one(client, db, make_user):
    make_user("coordinator", username="newbie", must_change_password=True)
    response = login(client, "newbie")
    assert response.headers["Location"].endswith("/account/password")
    response = client.post("/account/password", data={"current": "secret123", "new": "abcd1234x",
                                                      "confirm": "abcd1234x"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "newbie"))
    db.session.refresh(user)
    assert not user.must_change_password


def test_weak_new_password_is_refused(client, make_user):
    make_user("judge", username="weak")
    login(client, "weak")
    response = client.post("/account/password", data={"current": "secret123", "new": "12345678",
                                                      "confirm": "12345678"})
    assert "密码需同时包含字母和数字" in response.get_data(as_text=True)


def test_password_change_ends_other_sessions(app, make_user):
    make_user("judge", username="twice")
    tablet, phone = app.test_client(), app.test_client()
    login(tablet, "twice")
    login(phone, "twice")
    assert phone.get("/home").status_code == 200
    tablet.post("/account/password", data={"current": "secret123", "new": "newpass123", "confirm": "newpass123"})
    assert tablet.get("/home").status_code == 200
    assert phone.get("/home").status_code == 302  # logged out


def test_login_redirect_never_leaves_the_site(client, make_user):
    make_user("judge", username="nexter")
    response = client.post("/login?next=https://evil.example/x", data={"username": "nexter", "password": "secret123"})
    assert response.headers["Location"] in ("/", "http://localhost/")
    client.post("/logout")
    response = client.post("/login?next=//evil.example", data={"username": "nexter", "password": "secret123"})
    assert "evil" not in response.headers["Location"]


def test_create_user_command(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "--username", "chief", "--name", "主任", "--role", "organizer",
                                 "--password", "Chief2026x"], input="Chief2026x\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.username == "chief")).role == "organizer"
    again = runner.invoke(args=["create-user", "--username", "CHIEF", "--name", "x", "--password", "Chief2026x"],
                          input="Chief2026x\n")
    assert again.exit_code != 0 and "已存在" in again.output
    weak = runner.invoke(args=["create-user", "--username", "w", "--name", "x", "--password", "short"],
                         input="short\n")
    assert weak.exit_code != 0 and "密码至少需要8位" in weak.output


# --- the audit log --------------------------------------------------------------------------------


def test_audit_log_is_append_only_in_the_database(app, db, organizer):
    from judging.core import audit

    audit.record("test_event", object_type="x", summary="一条记录", user=organizer)
    db.session.commit()
    for statement in ("UPDATE audit_event SET summary = 'changed'", "DELETE FROM audit_event"):
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "test_event"))
    event.summary = "changed in the ORM"
    with pytest.raises(Exception, match="append-only"):
        db.session.commit()
    db.session.rollback()


def test_login_is_audited(client, db, organizer):
    login(client, organizer)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login"))
    assert event.user_id == organizer.id and event.remote_addr


# --- pages ----------------------------------------------------------------------------------------


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_page_links_an_external_asset(client):
    page = client.get("/login").get_data(as_text=True)
    assert "http://" not in page.replace("http://localhost", "") and "https://" not in page


def test_not_found_and_server_errors_show_no_stack_trace(make_app, make_user):
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    client = app.test_client()
    assert "页面不存在" in client.get("/nowhere").get_data(as_text=True)
    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "系统出错" in body
    assert "Traceback" not in body and "secret internals" not in body


def test_language_switch_to_english(client):
    client.post("/lang/en", data={"next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and 'lang="en"' in page
    client.post("/lang/zh_CN")
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_behind_a_proxy_the_visitor_address_is_the_forwarded_one(make_app):
    """PROXY_COUNT=1 trusts one proxy's X-Forwarded-For (the throttles key on the visitor, not nginx)."""
    from flask import request

    for count, expected in ((0, "127.0.0.1"), (1, "203.0.113.9")):
        app = make_app(PROXY_COUNT=count)
        seen = {}

        @app.get("/_addr_probe")
        def probe():
            seen["addr"] = request.remote_addr
            return "ok"

        probe.access_policy = "public"
        app.test_client().get("/_addr_probe", headers={"X-Forwarded-For": "203.0.113.9"})
        assert seen["addr"] == expected


def test_a_login_holds_no_database_lock_while_the_password_is_checked(app, db, make_user, monkeypatch):
    """On SQLite a POST takes the write lock at its first query; the slow argon2 check must run
    outside any transaction, so a judge's score written meanwhile does not wait behind it."""
    import sqlite3

    from judging.core import views as core_views

    if db.engine.dialect.name != "sqlite":
        pytest.skip("the write lock is SQLite's")
    make_user("judge", username="lockcheck", password="secret123")
    path = db.engine.url.database
    seen = {}
    real = core_views.hash_matches

    def checking(password_hash, password):
        other = sqlite3.connect(path, timeout=0.2)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails with "database is locked" if the login holds it
            other.execute("ROLLBACK")
            seen["free"] = True
        except sqlite3.OperationalError as exc:
            seen["free"] = str(exc)
        finally:
            other.close()
        return real(password_hash, password)

    monkeypatch.setattr(core_views, "hash_matches", checking)
    response = app.test_client().post("/login", data={"username": "lockcheck", "password": "secret123"})
    assert response.status_code == 302
    assert seen["free"] is True
    response = app.test_client().post("/login", data={"username": "lockcheck", "password": "wrong-one"})
    assert response.status_code == 401 and seen["free"] is True
