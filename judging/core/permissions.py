"""Who may do what: written once here, used by every view.

Every view function carries an access declaration (public, login_required_any, roles_required);
tests/test_routes.py walks the URL map and fails on a view without one or on an answer other
than the expected one for each role.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, jsonify, redirect, request, url_for
from flask_login import current_user

from judging.core.models import Role

ORGANIZER = Role.ORGANIZER.value
COORDINATOR = Role.COORDINATOR.value
JUDGE = Role.JUDGE.value


def _mark(view, policy):
    view.access_policy = policy
    return view


def public(view):
    """Anyone, logged in or not."""
    return _mark(view, "public")


def _login_redirect():
    return redirect(url_for("core.login", next=request.full_path if request.query_string else request.path))


def roles_required(*roles: str):
    """Logged-in users of the given roles; anonymous users go to the login page, others get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return _login_redirect()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return _mark(wrapped, ("roles", frozenset(roles)))

    return decorator


def api_roles_required(*roles: str):
    """For JSON endpoints: 401 / 403 as JSON (a tablet's script cannot follow a login redirect)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return jsonify(ok=False, error="unauthenticated", message="登录已失效，请重新登录。"), 401
            if roles and current_user.role not in roles:
                return jsonify(ok=False, error="forbidden", message="您的账号不能使用这个功能。"), 403
            return view(*args, **kwargs)

        return _mark(wrapped, ("roles", frozenset(roles)))

    return decorator


def login_required_any(view):
    """Any logged-in user."""
    return roles_required()(view)


organizer_required = roles_required(ORGANIZER)


def can_see_school(user, school_id: int | None) -> bool:
    """Organizers see every school; a coordinator only his own; judges see no school data."""
    if not user.is_authenticated:
        return False
    if user.role == ORGANIZER:
        return True
    if user.role == COORDINATOR:
        return school_id is not None and user.school_id == school_id
    return False


def require_school(school_id: int | None) -> None:
    """Abort with 404 (not 403: an id another school owns must not even be confirmed)."""
    if not can_see_school(current_user, school_id):
        abort(404)
