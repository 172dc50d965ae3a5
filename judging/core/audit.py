"""Writing the append-only audit log. Operations call record() inside their transaction, so
the event and the change it describes commit together or not at all."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from flask import has_request_context, request
from flask_login import current_user

from judging.core.models import AuditEvent
from judging.extensions import db


def _default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _dump(state) -> str | None:
    if state is None:
        return None
    return json.dumps(state, ensure_ascii=False, sort_keys=True, default=_default)


def snapshot(obj, fields) -> dict:
    """The named attributes of a model, for before/after."""
    return {name: getattr(obj, name) for name in fields}


def record(action: str, obj=None, *, object_type: str | None = None, object_id: int | None = None,
           edition_id: int | None = None, before=None, after=None, summary: str | None = None,
           user=None) -> AuditEvent:
    actor = user
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user._get_current_object()
    if obj is not None:
        object_type = object_type or obj.__tablename__
        if object_id is None:
            db.session.flush()
            object_id = obj.id
        if edition_id is None:
            edition_id = getattr(obj, "edition_id", None)
    event = AuditEvent(
        user_id=getattr(actor, "id", None),
        username=getattr(actor, "username", None),
        edition_id=edition_id,
        action=action,
        object_type=object_type or "-",
        object_id=object_id,
        summary=summary[:255] if summary else None,
        before=_dump(before),
        after=_dump(after),
        remote_addr=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event
