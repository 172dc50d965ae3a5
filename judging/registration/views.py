"""Routes: being written."""
from judging.registration.blueprint import bp  # noqa: F401
