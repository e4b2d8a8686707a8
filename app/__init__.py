"""Flask application factory: reads as the checklist of what the app is made of."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from app import auth, cli, errors, i18n, labels, runtime, scheduler, web
from app.config import build_config
from app.extensions import csrf, db, init_sqlite, migrate


def create_app(config_override: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(build_config(Path(app.instance_path), config_override))
    from app import params

    params.init_app(app)  # bounded <int:…> routes and JSON bodies (issue 16): before any route is added
    db.init_app(app)
    init_sqlite(app)  # WAL with synchronous=FULL on a SQLite file: durable, one fsync a commit (issue 17)
    migrate.init_app(app, db, directory=str(app.config["PROJECT_ROOT"] / "migrations"))
    csrf.init_app(app)
    auth.init_app(app)
    from app import security

    security.init_app(app)  # headers on every response, Secure cookies over HTTPS, the proxy (issue 16)
    from app import drill

    drill.init_app(app)  # a drill's stored clock, or refusal (issue 15): before the runtime takes its clock
    runtime.init_app(app)
    cli.init_app(app)
    from app.api import bp as api_bp

    app.register_blueprint(api_bp)
    i18n.init_app(app)
    labels.init_app(app)
    web.init_app(app)
    from app import audit  # noqa: F401  (table for the metadata)
    from app.admin import bp as admin_bp
    from app.cases.views import bp as cases_bp
    from app.dashboard import bp as dashboard_bp
    from app.designer import lint_views  # noqa: F401  (the modeller's lint facts, on designer_bp)
    from app.designer.views import bp as designer_bp
    from app.inbox import models as inbox_models  # noqa: F401  (tables for the metadata)
    from app.inbox.views import bp as inbox_bp
    from app.indicators import bp as indicators_bp
    from app.supervision import bp as supervision_bp
    from app.traceability import bp as regulation_bp

    for blueprint in (inbox_bp, cases_bp, dashboard_bp, admin_bp, designer_bp, regulation_bp, indicators_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(supervision_bp)  # 发起督查 / 召开会议, 整改事项 (Art. 18, 24, 25)
    from app.commendations import bp as commendations_bp

    app.register_blueprint(commendations_bp)  # 表彰奖励, salary-list export (Art. 20, 26–30)
    from app.records import bp as records_bp

    app.register_blueprint(records_bp)  # 实绩档案 (Art. 22)
    from app.consultations import bp as consultations_bp

    app.register_blueprint(consultations_bp)  # 征求意见 (Art. 23)
    from app.processes import bp as processes_bp

    app.register_blueprint(processes_bp)  # 发起: start any deployed procedure (issue 15)
    from app import documents

    documents.init_app(app)  # 公文: issued documents, downloads, 收文 and 签收 (Art. 33–39)
    from app.api import errors as api_errors

    api_errors.init_app(app)
    errors.init_app(app)  # JSON under /api/, a page in the reader's language elsewhere (404, 405, 413, 500…)
    scheduler.init_app(app)
    if app.config.get("DEMO_PASSWORD_CHECK", True):
        from app.auth.demo_mode import warn_at_start

        warn_at_start(app)  # accounts with the password demo on a database not loaded as demo data
    return app
