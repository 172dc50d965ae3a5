"""Printing pages (organizer) and the public certificate verification page."""
from flask import Blueprint

bp = Blueprint("printing", __name__)
