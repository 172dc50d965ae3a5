"""flask backup OUT: a consistent copy of the database while judges are writing."""
from flask import Flask


def register(app: Flask) -> None:
    """Add the `backup` command to the app's CLI."""
