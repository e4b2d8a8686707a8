"""Flask application factory: reads as the checklist of what the app is made of."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from app import auth, cli, runtime, scheduler
from app.config import build_config
from app.extensions import csrf, db, migrate


def create_app(config_override: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(build_config(Path(app.instance_path), config_override))
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config["PROJECT_ROOT"] / "migrations"))
    csrf.init_app(app)
    auth.init_app(app)
    runtime.init_app(app)
    cli.init_app(app)
    from app.api import bp as api_bp

    app.register_blueprint(api_bp)
    from app.api import errors as api_errors

    api_errors.init_app(app)
    scheduler.init_app(app)
    return app
