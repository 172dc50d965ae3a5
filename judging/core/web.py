"""Request-wide behaviour: loading the user, security headers, error pages, template helpers."""
from __future__ import annotations

from flask import Flask, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from judging.core.i18n import N_
from judging.core.models import ROLE_LABELS, User
from judging.extensions import db, login_manager

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


@login_manager.user_loader
def load_user(token: str):
    try:
        user_id, version = (int(part) for part in token.split(":", 1))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_version != version or not user.active:
        return None
    return user


def install_web_hooks(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if current_user.is_authenticated:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.before_request
    def keep_session():
        session.permanent = True

    def error_page(status: int, title: str, message: str):
        return render_template("error.html", status=status, title=title, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_page(400, N_("表单已失效"), N_("页面停留过久或会话已更换，请刷新页面后重新提交。"))

    @app.errorhandler(400)
    def bad_request(error):
        return error_page(400, N_("请求有误"), N_("提交的数据无法处理，请返回检查后重试。"))

    @app.errorhandler(403)
    def forbidden(error):
        return error_page(403, N_("无权访问"), N_("您的账号没有访问此页面的权限。"))

    @app.errorhandler(404)
    def not_found(error):
        return error_page(404, N_("页面不存在"), N_("您要找的页面不存在或已被删除。"))

    @app.errorhandler(413)
    def too_large(error):
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return error_page(413, "文件过大", f"上传的文件超过了{limit} MB 的上限。")

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return error_page(500, N_("系统出错"), N_("服务器处理时出错，已记录。请稍后重试，或联系组委会。"))

    @app.context_processor
    def template_globals():
        return {
            "ROLE_LABELS": ROLE_LABELS,
            "current_locale": str(get_locale()),
            "LANGUAGES": app.config["LANGUAGES"],
        }

    @app.template_filter("yesno")
    def yesno(value):
        return "是" if value else "否"

    @app.template_filter("num")
    def num(value):
        """Decimal without trailing zeros: 30.0 -> 30, 12.5 -> 12.5."""
        if value is None:
            return ""
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
