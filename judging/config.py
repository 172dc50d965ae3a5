"""Settings read from the environment.

Every setting has a safe default for a single PC running the demo on SQLite; a real
installation sets DATABASE_URL (PostgreSQL) and usually SECRET_KEY through the environment.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load_secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="ascii").strip()
    key = secrets.token_hex(32)
    # Create with owner-only permissions; O_EXCL so two workers starting at once keep one key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


def normalise_database_url(url: str) -> str:
    """Send plain postgres:// and postgresql:// URLs through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def build_config(instance_path: Path) -> dict:
    instance_path.mkdir(parents=True, exist_ok=True)
    default_db = "sqlite:///" + str(instance_path / "judging.sqlite3")
    upload_dir = os.environ.get("UPLOAD_DIR") or str(instance_path / "uploads")
    return {
        "SECRET_KEY": load_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(os.environ.get("DATABASE_URL") or default_db),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "UPLOAD_DIR": upload_dir,
        "FONT_PATH": os.environ.get("FONT_PATH", ""),
        "FONT_BOLD_PATH": os.environ.get("FONT_BOLD_PATH", ""),
        "FONT_CACHE_DIR": os.environ.get("FONT_CACHE_DIR") or str(instance_path / "fonts"),
        "BABEL_DEFAULT_LOCALE": os.environ.get("JUDGING_LANGUAGE", "zh_CN"),
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("JUDGING_TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": {"zh_CN": "中文", "en": "English"},
        # A judge opens a form in the morning and submits after lunch: the CSRF token lives
        # as long as the session instead of Flask-WTF's default hour.
        "WTF_CSRF_TIME_LIMIT": None,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=16),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Behind HTTPS set SESSION_COOKIE_SECURE=1; a LAN served over plain http cannot use it.
        "SESSION_COOKIE_SECURE": _truthy(os.environ.get("SESSION_COOKIE_SECURE")),
        "REMEMBER_COOKIE_SECURE": _truthy(os.environ.get("SESSION_COOKIE_SECURE")),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "50")) * 1024 * 1024,
        "ATTACHMENT_MAX_MB": int(os.environ.get("ATTACHMENT_MAX_MB", "20")),  # per entry attachment
        # Login throttling: this many failures per username+address inside the window locks it.
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_WINDOW_SECONDS": int(os.environ.get("LOGIN_WINDOW_SECONDS", "900")),
        # The public address printed in certificate QR codes (e.g. https://kcds.xx.gov.cn); without it the
        # QR carries the address the organizer is browsing from, and the printing page warns.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "").rstrip("/"),
        # Certificate verification: lookups per client address inside the window.
        "VERIFY_MAX_LOOKUPS": int(os.environ.get("VERIFY_MAX_LOOKUPS", "30")),
        "VERIFY_WINDOW_SECONDS": int(os.environ.get("VERIFY_WINDOW_SECONDS", "600")),
        # Behind nginx or another reverse proxy: how many proxies set X-Forwarded-For/-Proto/-Host, so
        # the login throttle and the verification limit see the visitor's address, not the proxy's.
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", "0")),
    }
