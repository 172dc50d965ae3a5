"""Instructor reward sheet downloads (辅导教师奖励表)."""
from judging.printing.views import bp  # noqa: F401
