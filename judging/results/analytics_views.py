"""Results views (see blueprint.py)."""
from judging.results.blueprint import bp  # noqa: F401
