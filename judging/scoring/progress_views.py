"""Routes: being written."""
from judging.scoring.blueprint import bp  # noqa: F401
