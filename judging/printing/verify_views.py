"""The public certificate verification page (证书查验).

GET /verify            the form; with ?number=<证书编号> a look-up of that exact number
GET /verify/<code>     the QR code's link: code is a signed token carrying the certificate id

Answers: valid (the holder's name partly masked, the work, the prize, the edition, the issue
date), revoked (with the date), not found (also for a forged or damaged QR token). Every look-up
counts against the client address's limit (operations.take_lookup): past it the page answers
429 in Chinese and looks nothing up.
"""
from __future__ import annotations

from flask import render_template, request

from judging.core.permissions import public
from judging.printing import operations as ops
from judging.printing.views import bp

STATUS_CODES = {"valid": 200, "revoked": 200, "not_found": 404}


def _limited():
    limit, _ = ops.verify_limits()
    response = render_template("printing/verify.html", answer=None, number=request.args.get("number", ""),
                               limited=True, limit=limit, minutes=ops.verify_window_minutes())
    return response, 429, {"Retry-After": str(ops.verify_limits()[1]), "Cache-Control": "no-store"}


def _answer(answer: ops.VerifyAnswer, number: str = ""):
    return (render_template("printing/verify.html", answer=answer, number=number, limited=False),
            STATUS_CODES[answer.status], {"Cache-Control": "no-store"})


@bp.route("/verify")
@public
def verify():
    number = (request.args.get("number") or "").strip()[:200]
    if not number:
        return render_template("printing/verify.html", answer=None, number="", limited=False)
    if not ops.take_lookup():
        return _limited()
    return _answer(ops.verify_answer(ops.certificate_by_number(number), number), number)


@bp.route("/verify/<code>")
@public
def verify_token(code: str):
    if len(code) > 200:
        cert = None  # no token is that long; answered without counting
    elif not ops.take_lookup():
        return _limited()
    else:
        cert = ops.certificate_from_token(code)
    return _answer(ops.verify_answer(cert))
