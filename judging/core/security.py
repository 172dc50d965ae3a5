"""Password hashing (argon2id) and login throttling kept in the database, so the limit holds
across every worker process and server (Flask-Limiter's storages are memory, Redis, Memcached
or MongoDB; a school PC has none of the shared ones)."""
from __future__ import annotations

import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import delete, func, select

from judging.core.models import LoginFailure, User, utcnow
from judging.extensions import db

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (above OWASP's minimum)


def use_fast_hasher() -> None:
    """Cheap argon2 parameters for the test suite only (create_app with FAST_PASSWORD_HASH)."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# Letters and digits that cannot be confused on a printed sheet (no 0/O, 1/l/I).
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    try:
        ok = _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if ok and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return ok


def hash_matches(password_hash: str, password: str) -> bool:
    """The slow argon2 check alone, on a stored hash: no model, no database (see the login view)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def rehash_if_needed(user: User, password: str) -> None:
    """After a successful check: store the hash again when the hashing parameters have changed."""
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)


# A hash to verify against when the username is unknown, so both answers take as long.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(8))


def burn_verification_time(password: str) -> None:
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass


def generate_password(length: int = 10) -> str:
    while True:
        candidate = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate


def password_problem(password: str) -> str | None:
    """A Chinese message when a chosen password is too weak, else None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少需要{MIN_PASSWORD_LENGTH}位"
    if password.isdigit() or password.isalpha():
        return "密码需同时包含字母和数字"
    return None


# --- Throttling ---------------------------------------------------------------------------

def throttle_key(username: str, address: str | None) -> str:
    return f"{username.strip().lower()}|{address or '-'}"


def _window_start():
    return utcnow() - timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])


def is_throttled(key: str) -> bool:
    failures = db.session.scalar(
        select(func.count()).select_from(LoginFailure).where(
            LoginFailure.throttle_key == key, LoginFailure.at >= _window_start()
        )
    )
    return failures >= current_app.config["LOGIN_MAX_FAILURES"]


def record_failure(key: str) -> None:
    db.session.add(LoginFailure(throttle_key=key))
    # Keep the table small: failures older than the window no longer count.
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < _window_start()))


def clear_failures(key: str) -> None:
    db.session.execute(delete(LoginFailure).where(LoginFailure.throttle_key == key))
