"""The judge's tablet: his queue, the scoring page, the files of his entries and the service worker.

Blind: every page takes its data from api.judge_queue / api.blind_entry, never from students, school or
instructors; the files go out under a neutral name (the uploaded name may carry a student's name).

The two pages are shells. The server embeds the judge's queue as JSON in a non-executing
<script type="application/json"> block (allowed by the CSP) and static/js/judge.js renders it, merged with
the copy and the outbox it keeps in IndexedDB. So the service worker (static/js/judge_sw.js, served from
/judge/sw.js so that its scope covers /judge/) can answer a reload while offline with a cached page, and
any entry's URL with the cached shell of another one.
"""
from __future__ import annotations

import time
from pathlib import Path

from flask import abort, current_app, render_template, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from judging.contests.models import Round
from judging.core.permissions import JUDGE, public, roles_required
from judging.extensions import db
from judging.registration.models import Attachment
from judging.registration.school_views import STORED_NAME
from judging.scoring.api import judge_queue
from judging.scoring.blueprint import bp
from judging.scoring.models import Assignment

# What a judge's file may be served as; anything else goes out as a download of unknown type.
SERVED_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "pdf": "application/pdf"}


def _progress(queue: list[dict]) -> list[dict]:
    """Per round: how many of his entries the judge has submitted (scored) out of those assigned."""
    rounds: dict[int, dict] = {}
    for item in queue:
        row = rounds.setdefault(item["round_id"], {"round_id": item["round_id"], "round": item["round"],
                                                   "locked": item["locked"], "assigned": 0, "scored": 0,
                                                   "drafts": 0})
        row["assigned"] += 1
        status = (item["score"] or {}).get("status")
        if status == "submitted":
            row["scored"] += 1
        elif status == "draft":
            row["drafts"] += 1
    return list(rounds.values())


def _page(template: str, page: str, queue: list[dict], **extra):
    entry_prefix = url_for("scoring.judge_entry", round_id=0, entry_id=0)[: -len("0/0")]
    config = {
        "page": page,
        "judge_id": current_user.id,
        "urls": {
            "home": url_for("scoring.judge_home"),
            "entry": entry_prefix,
            "file": url_for("scoring.judge_file", attachment_id=0)[:-1],
            "api_queue": url_for("scoring.api_queue"),
            "api_scores": url_for("scoring.api_submit_score"),
            "sw": url_for("scoring.service_worker"),
            "login": url_for("core.login"),
        },
    }
    # The server's clock in ms: judge.js keeps whichever copy of the queue is newer (this page may come
    # from the service worker's cache, the IndexedDB copy from a later answer).
    data = {"generated_at": int(time.time() * 1000), "queue": queue}
    return render_template(template, config=config, data=data, progress=_progress(queue), **extra)


@bp.route("/judge/")
@roles_required(JUDGE)
def judge_home():
    """The judge's queue: his entries in enabled rounds, their scores and his progress per round."""
    return _page("scoring/judge/home.html", "home", judge_queue(current_user.id))


@bp.route("/judge/entries/<int:round_id>/<int:entry_id>")
@roles_required(JUDGE)
def judge_entry(round_id: int, entry_id: int):
    """The scoring page of one entry assigned to the judge (404 otherwise: nothing is confirmed)."""
    queue = judge_queue(current_user.id)
    item = next((i for i in queue if i["round_id"] == round_id and i["entry"]["id"] == entry_id), None)
    if item is None:
        abort(404)
    return _page("scoring/judge/entry.html", "entry", queue, item=item)


@bp.route("/judge/files/<int:attachment_id>")
@roles_required(JUDGE)
def judge_file(attachment_id: int):
    """An attachment of an entry the judge scores in an enabled round, under a neutral name; else 404."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.entry.status == "disqualified":
        abort(404)
    assigned = db.session.scalar(
        select(Assignment.id).join(Round, Round.id == Assignment.round_id)
        .where(Assignment.judge_id == current_user.id, Assignment.entry_id == attachment.entry_id,
               Round.enabled.is_(True)).limit(1))
    if assigned is None or not STORED_NAME.fullmatch(attachment.stored_name):
        abort(404)
    path = Path(current_app.config["UPLOAD_DIR"]) / "attachments" / attachment.stored_name[:2] / attachment.stored_name
    if not path.is_file():
        current_app.logger.warning("attachment %s has no file at %s", attachment.id, path)
        abort(404)
    extension = attachment.stored_name.rsplit(".", 1)[1]
    number = [a.id for a in attachment.entry.attachments].index(attachment.id) + 1
    # The uploaded name may carry a student's name: never send it.
    name = f"{attachment.entry.code}-{number}.{extension}"
    mimetype = SERVED_TYPES.get(extension)
    response = send_file(path, mimetype=mimetype or "application/octet-stream", as_attachment=mimetype is None,
                         download_name=name, conditional=True, etag=True, max_age=None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/judge/sw.js")
@public
def service_worker():
    """The service worker of the judge's pages. Public: a static script without data, and its update
    check must not fail into a login redirect when the session has expired."""
    response = send_file(Path(current_app.static_folder) / "js" / "judge_sw.js", mimetype="application/javascript",
                         max_age=None, conditional=True)
    response.headers["Service-Worker-Allowed"] = url_for("scoring.judge_home")
    response.headers["Cache-Control"] = "no-cache"
    return response
