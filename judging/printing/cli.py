"""flask print certificates|rewards."""
from flask import Flask


def register(app: Flask) -> None:
    """Add the `print` command group to the app's CLI."""
