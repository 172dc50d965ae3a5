"""File downloads from views: one way to name an attachment and to turn font problems into a page.

Every download carries its Chinese file name in filename* (RFC 6266 / RFC 5987) with a plain ASCII
fallback for old clients, and is never cached (results, lists and sheets hold personal data).
"""
from __future__ import annotations

import io
import re
from collections.abc import Callable
from urllib.parse import quote

from flask import current_app, render_template, send_file

from judging.core.fonts import FontCoverageError, FontError

PDF_MIMETYPE = "application/pdf"
_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def attachment(data: bytes, mimetype: str, filename: str, ascii_name: str):
    """``data`` as a download named ``filename`` (characters a file system refuses become _)."""
    name = _UNSAFE_FILENAME.sub("_", filename).strip(" .")[:120] or ascii_name
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=ascii_name,
                         max_age=0)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def pdf_attachment(build: Callable[[], bytes], filename: str, ascii_name: str):
    """Build a PDF and send it; a missing glyph (named) or a font set-up problem becomes a Chinese page."""
    try:
        data = build()
    except FontCoverageError as error:
        return render_template("error.html", status=422, title="无法打印：字体缺字", message=error.message), 422
    except FontError as error:
        current_app.logger.error("font set-up: %s", error)
        return render_template("error.html", status=500, title="字体配置有误", message=str(error)), 500
    return attachment(data, PDF_MIMETYPE, filename, ascii_name)
