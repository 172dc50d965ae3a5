"""Logging in and out, the home page each role lands on, language choice."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from judging.core import audit
from judging.core.forms import ChangePasswordForm, LoginForm
from judging.core.models import SiteSetting, User, utcnow
from judging.core.permissions import JUDGE, ORGANIZER, login_required_any, public
from judging.core.security import (
    burn_verification_time,
    clear_failures,
    hash_matches,
    hash_password,
    is_throttled,
    password_problem,
    record_failure,
    rehash_if_needed,
    throttle_key,
    verify_password,
)
from judging.extensions import db

bp = Blueprint("core", __name__)

DEMO_FLAG = "demo_accounts"


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/")
@public
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("core.login"))
    if current_user.role == ORGANIZER:
        return redirect(url_for("contests.dashboard"))
    if current_user.role == JUDGE:
        return redirect(url_for("scoring.judge_home"))
    return redirect(url_for("core.home"))


@bp.route("/home")
@login_required_any
def home():
    """The landing page of coordinators and judges (their work pages arrive with registration and scoring)."""
    from judging.contests.operations import latest_edition

    return render_template("core/home.html", edition=latest_edition())


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        username = form.username.data.strip()
        key = throttle_key(username, request.remote_addr)
        if is_throttled(key):
            minutes = max(1, current_app.config["LOGIN_WINDOW_SECONDS"] // 60)
            error = f"登录失败次数过多，请{minutes}分钟后再试，或联系组委会重置密码。"
            status = 429
        else:
            user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
            found = (user.id, user.password_hash, user.active) if user is not None else None
            # End the transaction before the slow hash check (~0.1 s): on SQLite a POST holds the write
            # lock from its first query, and judges' scores must not wait behind someone's login.
            db.session.rollback()
            if found is None:
                burn_verification_time(form.password.data)
            ok = found is not None and found[2] and hash_matches(found[1], form.password.data)
            user = db.session.get(User, found[0]) if ok else None
            if user is not None and user.active:
                rehash_if_needed(user, form.password.data)
                clear_failures(key)
                user.last_login_at = utcnow()
                audit.record("login", user, user=user, summary=f"{user.username} 登录")
                db.session.commit()
                language = session.get("lang")
                session.clear()  # a fresh session at login: nothing carried over but the language
                if language:
                    session["lang"] = language
                login_user(user)
                if user.must_change_password:
                    flash("首次登录，请修改初始密码。", "warning")
                    return redirect(url_for("core.change_password"))
                return redirect(_safe_next(request.args.get("next")) or url_for("core.index"))
            record_failure(key)
            db.session.commit()
            error = "用户名或密码错误。"
            status = 401
        return render_template("core/login.html", form=form, error=error, demo=_demo_accounts()), status
    return render_template("core/login.html", form=form, error=error, demo=_demo_accounts())


def _demo_accounts():
    """The demo accounts, listed on the login page only while the demo contest is loaded."""
    flag = db.session.get(SiteSetting, DEMO_FLAG)
    if flag is None:
        return None
    accounts = json.loads(flag.value)
    # Accounts deleted or deactivated since the demo was loaded are no longer offered.
    active = set(db.session.scalars(select(User.username).where(
        User.username.in_([a["username"] for a in accounts]), User.active.is_(True))))
    return [a for a in accounts if a["username"] in active] or None


@bp.route("/logout", methods=["POST"])
@public
def logout():
    logout_user()
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("core.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required_any
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user, form.current.data):
            form.current.errors.append("当前密码不正确")
        elif problem := password_problem(form.new.data):
            form.new.errors.append(problem)
        else:
            user = current_user._get_current_object()
            user.password_hash = hash_password(form.new.data)
            user.must_change_password = False
            user.session_version += 1
            audit.record("password_changed", user, summary=f"{user.username} 修改密码")
            db.session.commit()
            login_user(user)  # the session carries the new version
            flash("密码已修改。", "success")
            return redirect(url_for("core.index"))
    return render_template("core/change_password.html", form=form)


@bp.route("/lang/<code>", methods=["POST"])
@public
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")) or url_for("core.index"))
