"""Printing: certificates with verification, instructor reward sheets, result lists (reportlab)."""
