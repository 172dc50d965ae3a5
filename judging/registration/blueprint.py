"""The registration blueprint; its routes live in one module per audience:
views.py (organizer: review, check-in), school_views.py (school coordinator: entries and
attachments), import_views.py (Excel import), print_views.py (labels and catalogue)."""
from flask import Blueprint

bp = Blueprint("registration", __name__)


def load_views() -> Blueprint:
    from judging.registration import import_views, print_views, school_views, views  # noqa: F401

    return bp
