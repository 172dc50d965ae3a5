"""Schools and accounts (placeholder: being written)."""
from flask import Blueprint, render_template

from judging.core.permissions import organizer_required

bp = Blueprint("people", __name__, url_prefix="/admin")


@bp.route("/schools")
@organizer_required
def schools():
    return "schools"


@bp.route("/users")
@organizer_required
def users():
    return "users"
