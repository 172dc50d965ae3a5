"""Organizer pages to upload and download the contest workbook."""
from flask import Blueprint

bp = Blueprint("exchange", __name__)
