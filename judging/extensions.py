"""The one instance of each Flask extension, bound to the app in create_app()."""
from __future__ import annotations

import sqlite3

from flask import has_request_context, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Named constraints so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


# --- SQLite done right for many tablets at once (see shared/PITFALLS.md) ---------------------
# pysqlite opens transactions lazily and its BEGIN is DEFERRED: a request that reads first and
# writes later then fails at once with "database is locked", busy_timeout notwithstanding.
# We take over transaction handling: requests that may write begin with BEGIN IMMEDIATE (they
# queue on busy_timeout for the write lock up front); GET/HEAD requests read in a plain BEGIN.

@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _request_is_read_only() -> bool:
    return has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection):
    if connection.dialect.name != "sqlite":
        return
    connection.exec_driver_sql("BEGIN" if _request_is_read_only() else "BEGIN IMMEDIATE")
