"""Printing pages (organizer) and the public certificate verification page; the reward sheets'
routes live in reward_views.py on the same blueprint."""
from flask import Blueprint

bp = Blueprint("printing", __name__)


def load_views() -> Blueprint:
    from judging.printing import reward_views  # noqa: F401

    return bp
