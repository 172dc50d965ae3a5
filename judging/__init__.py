"""judging: a web system for school science-innovation contests (青少年科技创新大赛)."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, request, session
from flask_login import current_user

from judging.config import build_config
from judging.extensions import babel, csrf, db, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def select_locale() -> str:
    from flask import current_app

    chosen = session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def create_app(overrides: dict | None = None) -> Flask:
    instance_path = Path(os.environ.get("JUDGING_INSTANCE") or PROJECT_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(build_config(instance_path))
    if overrides:
        app.config.update(overrides)
    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    if app.config.get("FAST_PASSWORD_HASH"):
        from judging.core.security import use_fast_hasher

        use_fast_hasher()

    from judging.core.i18n import ensure_compiled_catalogs

    ensure_compiled_catalogs()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    login_manager.init_app(app)
    login_manager.login_view = "core.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"
    # "strong" logs a judge out whenever his tablet changes network (PITFALLS).
    login_manager.session_protection = "basic"

    from judging import models  # noqa: F401  (every model registered before the first query)
    from judging.contests.views import bp as contests_bp
    from judging.contests.people_views import bp as people_bp
    from judging.core.views import bp as core_bp
    from judging.core.web import install_web_hooks

    app.register_blueprint(core_bp)
    app.register_blueprint(contests_bp)
    app.register_blueprint(people_bp)
    from judging.registration.blueprint import load_views as load_registration_views
    from judging.registration.operations import register_usage_checks

    app.register_blueprint(load_registration_views())
    register_usage_checks()
    from judging.scoring.blueprint import load_views as load_scoring_views
    from judging.scoring.panels import register_usage_checks as register_panel_usage_checks

    app.register_blueprint(load_scoring_views())
    register_panel_usage_checks()
    from judging.results.blueprint import load_views as load_results_views

    app.register_blueprint(load_results_views())
    from judging.exchange.views import bp as exchange_bp
    from judging.printing.views import load_views as load_printing_views

    app.register_blueprint(exchange_bp)
    app.register_blueprint(load_printing_views())
    install_web_hooks(app)

    from judging.cli import register_cli

    register_cli(app)
    return app
