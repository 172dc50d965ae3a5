"""Stored uploads of the Excel imports (upload -> preview -> confirm).

An upload without faults is kept under UPLOAD_DIR/imports/<random token>.xlsx with the token in
the session, never a path from the client: session["people_imports"][kind] holds
{"token": ..., "filename": ...}, one slot per kind of import (e.g. "schools", "entries",
"paper_scores_<round id>"). The confirming POST finds the file again through stored(kind).
Files older than STALE_UPLOAD_SECONDS are removed whenever a new upload is kept.
"""
from __future__ import annotations

import io
import re
import secrets
import time
from pathlib import Path

from flask import current_app, send_file, session

from judging.core import sheets

IMPORT_SESSION_KEY = "people_imports"  # the session's pending uploads, by kind
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
STALE_UPLOAD_SECONDS = 24 * 3600


def xlsx_download(data: bytes, filename: str):
    """A response that downloads data as the .xlsx file filename (not cached)."""
    return send_file(io.BytesIO(data), mimetype=sheets.XLSX_MIMETYPE, as_attachment=True, download_name=filename,
                     max_age=0)


def imports_dir() -> Path:
    """UPLOAD_DIR/imports, created when missing."""
    path = Path(current_app.config["UPLOAD_DIR"]) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_stale_uploads(folder: Path, pattern: str = "*.xlsx") -> None:
    """Delete the files in folder matching pattern last changed more than STALE_UPLOAD_SECONDS ago."""
    cutoff = time.time() - STALE_UPLOAD_SECONDS
    for old in folder.glob(pattern):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass


def stored(kind: str) -> tuple[str, str, Path] | None:
    """The token, original file name and path of this session's pending import of kind, if any.

    The path may no longer exist (removed as stale): the caller checks.
    """
    pending = session.get(IMPORT_SESSION_KEY, {}).get(kind)
    if not isinstance(pending, dict):
        return None
    token = pending.get("token", "")
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        return None
    path = imports_dir() / f"{token}.xlsx"
    return token, str(pending.get("filename", "")), path


def forget(kind: str) -> None:
    """Delete the pending upload of kind, if any, and clear its slot in the session."""
    pending_file = stored(kind)
    if pending_file is not None:
        pending_file[2].unlink(missing_ok=True)
    pending = dict(session.get(IMPORT_SESSION_KEY, {}))
    pending.pop(kind, None)
    session[IMPORT_SESSION_KEY] = pending


def keep(kind: str, data: bytes, filename: str) -> str:
    """Store data as the pending upload of kind (replacing an earlier one); returns its new token."""
    forget(kind)
    folder = imports_dir()
    remove_stale_uploads(folder)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.xlsx").write_bytes(data)
    pending = dict(session.get(IMPORT_SESSION_KEY, {}))
    pending[kind] = {"token": token, "filename": filename}
    session[IMPORT_SESSION_KEY] = pending
    return token


def read_upload(form) -> tuple[bytes | None, str]:
    """The bytes and bare file name of form.file (an ImportUploadForm).

    The bytes are None when the file is too large; the reason is then added to form.file.errors.
    """
    upload = form.file.data
    filename = (upload.filename or "未命名文件").replace("\\", "/").rsplit("/", 1)[-1][:120]
    data = upload.read(sheets.MAX_IMPORT_BYTES + 1)
    try:
        sheets.check_upload_size(len(data), filename)
    except sheets.SheetError as error:
        form.file.errors = list(form.file.errors) + [str(f) for f in error.faults]
        return None, filename
    return data, filename
