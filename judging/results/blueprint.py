"""The results blueprint; routes live in views.py (compute, overrides, advancement, publication,
objections, the public 公示 page), analytics_views.py (judge analytics and charts) and export_views.py
(result lists and summaries as Excel and PDF)."""
from flask import Blueprint

bp = Blueprint("results", __name__)


def load_views() -> Blueprint:
    from judging.results import analytics_views, export_views, views  # noqa: F401

    return bp
