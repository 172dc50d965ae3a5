"""The scoring blueprint; routes live in api.py (the JSON API the tablets use), judge_views.py
(the judge's queue and scoring page), admin_views.py (panels, assignment, conflicts), progress_views.py (locking, progress,
paper sheets and paper-score import)."""
from flask import Blueprint

bp = Blueprint("scoring", __name__)


def load_views() -> Blueprint:
    from judging.scoring import admin_views, api, judge_views, progress_views  # noqa: F401

    return bp
