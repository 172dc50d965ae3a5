"""Test fixtures: a fresh app and database per test, built by the real migrations.

SQLite (default): the migrations run once into a template file; each test gets a copy.
PostgreSQL: set TEST_DATABASE_URL (.ci/run does); the migrations run once into that database
and each test starts from emptied tables.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from judging import create_app
from judging.config import normalise_database_url
from judging.extensions import db as _db

PG_URL = os.environ.get("TEST_DATABASE_URL")


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "FAST_PASSWORD_HASH": True})
    with app.app_context():
        upgrade()
        _db.engine.dispose()


@pytest.fixture(scope="session")
def _instance_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("instance")
    os.environ["JUDGING_INSTANCE"] = str(root)
    os.environ.setdefault("SECRET_KEY", "test-only-secret")
    # Static font instances take ~25 s to make once: keep them across test runs on this machine.
    os.environ.setdefault("FONT_CACHE_DIR", str(Path.home() / ".cache" / "judging" / "fonts"))
    return root


@pytest.fixture(scope="session")
def _template_database(_instance_root) -> str:
    if PG_URL:
        url = normalise_database_url(PG_URL)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(url, _instance_root)
        return url
    path = _instance_root / "template.sqlite3"
    _migrate(f"sqlite:///{path}", _instance_root)
    # Fold the WAL into the main file so a plain copy is complete.
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    return str(path)


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(_template_database, tmp_path) -> str:
    if PG_URL:
        _empty_postgres(_template_database)
        return _template_database
    target = tmp_path / "test.sqlite3"
    shutil.copyfile(_template_database, target)
    return f"sqlite:///{target}"


@pytest.fixture
def make_app(database_url, tmp_path):
    apps = []

    def factory(**overrides):
        config = {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "FAST_PASSWORD_HASH": True,
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "SERVER_NAME": "localhost",
        }
        config.update(overrides)
        app = create_app(config)
        app.test_client_class = FreshUserClient
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


class FreshUserClient(FlaskClient):
    """The test app context stays pushed across requests, and Flask-Login caches the user in g:
    drop that cache before each request, as a real server (one context per request) does."""

    def open(self, *args, **kwargs):
        if has_app_context():
            g.pop("_login_user", None)
            g.pop("_flask_babel", None)  # the locale is chosen per request too
        return super().open(*args, **kwargs)


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


# --- small factories ------------------------------------------------------------------------------

PASSWORD = "secret123"


@pytest.fixture
def make_school(db):
    from judging.core.models import School

    counter = {"n": 0}

    def factory(name=None, **kwargs):
        counter["n"] += 1
        school = School(name=name or f"测试学校{counter['n']}", **kwargs)
        db.session.add(school)
        db.session.commit()
        return school

    return factory


@pytest.fixture
def make_user(db, make_school):
    from judging.core.models import User
    from judging.core.security import hash_password

    counter = {"n": 0}

    def factory(role="organizer", username=None, school=None, password=PASSWORD, **kwargs):
        counter["n"] += 1
        if role == "coordinator" and school is None:
            school = make_school()
        user = User(username=username or f"{role}{counter['n']}", display_name=kwargs.pop("display_name", f"用户{counter['n']}"),
                    role=role, school=school, password_hash=hash_password(password), **kwargs)
        db.session.add(user)
        db.session.commit()
        return user

    return factory


def login(client, user_or_name, password=PASSWORD):
    username = getattr(user_or_name, "username", user_or_name)
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture
def organizer(make_user):
    return make_user("organizer", username="org", display_name="组委会老师")


@pytest.fixture
def org_client(client, organizer):
    response = login(client, organizer)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def edition(db, organizer):
    """A small edition with two categories (rubrics), two divisions and default levels."""
    from decimal import Decimal

    from judging.contests import operations as ops

    e = ops.create_edition({"name": "测试县青少年科技创新大赛", "number": 13, "code": "KC", "notice_days": 7,
                            "entry_code_pattern": "{类别代码}{组别代码}-{序号:03d}", "scoring_method": "trimmed_mean",
                            "max_entries_per_class": 3,
                            "trim_min_judges": 5, "min_judges": 3, "reward_split": "equal",
                            "reward_accumulation": "sum", "org_award_enabled": False, "org_award_min_entries": 5})
    xf = ops.save_category(e, {"code": "XF", "name": "小发明", "max_students": 3, "max_instructors": 2})
    ops.save_rubric(xf, [{"name": "创新性", "max_points": Decimal("60")}, {"name": "实用性", "max_points": Decimal("40")}])
    kh = ops.save_category(e, {"code": "KH", "name": "科幻画", "subforms": "卡通画、素描画", "max_students": 1,
                               "max_instructors": 1})
    ops.save_rubric(kh, [{"name": "想象力", "max_points": Decimal("50")}, {"name": "绘画水平", "max_points": Decimal("50")}])
    ops.save_division(e, {"code": "X", "name": "小学组"})
    ops.save_division(e, {"code": "C", "name": "初中组"})
    db.session.commit()
    return e


@pytest.fixture
def make_entry(db, edition, organizer):
    """Register an entry through the real operation (rules, code, audit) as the organizer."""
    from judging.registration.operations import create_entry
    from judging.registration.rules import EntryInput, StudentInput

    counter = {"n": 0}

    def factory(school, title=None, category=None, division=None, students=None, instructors=(), **kwargs):
        counter["n"] += 1
        category = category or edition.categories[0]
        division = division or edition.divisions[0]
        students = students or [StudentInput(f"学生{counter['n']}", "男", "五年级", f"{counter['n'] % 9 + 1}班")]
        data = EntryInput(title=title or f"作品{counter['n']}", category_id=category.id, division_id=division.id,
                          students=students, instructors=list(instructors), **kwargs)
        entry, _ = create_entry(edition, school, data, organizer)
        db.session.commit()
        return entry

    return factory
