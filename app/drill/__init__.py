"""Drill mode (演练, issue 15): a separate database whose clock an instructor moves from the page.

``GOVERNANCE_DRILL=1`` (``scripts/drill serve``) makes the app a drill: it refuses a database without the
drill mark, its clock is the one stored in that database (:class:`~app.drill.clock.StoredClock`, shared by
every process serving the drill), every page carries the 演练 banner, and holders of ``drill_admin`` get the
演练控制 page. A normal app refuses a drill database. ``GOVERNANCE_SIMULATION_START`` (a process-local
manual clock, for tests) is unchanged and cannot be combined with a drill.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app

from app.drill.clock import DrillRefused, StoredClock, guard

DRILL_ROLE = "drill_admin"


def is_drill() -> bool:
    return bool(current_app.config.get("DRILL"))


def init_app(app: Flask) -> None:
    """Before ``runtime.init_app``: in drill mode the runtime's clock is the drill's stored one."""
    drill = bool(app.config.get("DRILL"))
    app.jinja_env.globals.update(drill_mode=drill)
    guard(app.config["SQLALCHEMY_DATABASE_URI"], drill)
    if not drill:
        return
    if app.config.get("SIMULATION_START") or app.config.get("CLOCK") is not None:
        raise DrillRefused(
            "拒绝启动：演练使用演练数据库中保存的时钟，不能同时设置 GOVERNANCE_SIMULATION_START 或另给时钟。"
        )
    clock = StoredClock(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["CLOCK"] = clock

    @app.before_request
    def _read_drill_clock() -> None:
        """Each request starts from the stored instant: the instructor may have moved it in another
        process a moment ago."""
        clock.refresh()

    def drill_now() -> datetime:
        return clock.now()

    app.jinja_env.globals.update(drill_now=drill_now)
    from app.drill.views import bp

    app.register_blueprint(bp)
