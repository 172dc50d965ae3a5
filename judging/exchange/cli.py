"""flask contest import|results|export (see WORKBOOK.md)."""
from flask import Flask


def register(app: Flask) -> None:
    """Add the `contest` command group to the app's CLI."""
