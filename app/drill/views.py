"""演练控制: the instructor's page (drill mode only, ``drill_admin``): the drill's clock, moving it by N days
or to a date, and what happened on the way. Thin: the work is ``moves`` and ``happenings``."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.auth.models import User
from app.drill import DRILL_ROLE
from app.drill.happenings import counts, happenings
from app.drill.moves import DrillError, drill_state, move_clock, target_of
from app.extensions import db
from app.runtime import runtime
from workflows.engine.legaltime.legal_time import CST, to_cst

bp = Blueprint("drill", __name__, url_prefix="/drill")


def instructor_required(view: Any) -> Any:
    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not any(g.role == DRILL_ROLE for g in current_user.grants):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _day(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=CST) if value else None
    except ValueError:
        return None


@bp.get("/")
@instructor_required
def index() -> ResponseReturnValue:
    state = drill_state(db.session())
    since = _day(request.args.get("since")) or state.moved_from or state.started_at
    until_day = _day(request.args.get("until"))
    until = until_day + timedelta(days=1) if until_day else state.now
    rows = happenings(db.session(), since, until)
    return render_template(
        "drill/index.html",
        state=state,
        since=since,
        until=until,
        rows=rows,
        counts=counts(rows),
        today=to_cst(state.now).date().isoformat(),
        moved_by=_name(state.moved_by),
    )


def _name(username: str | None) -> str | None:
    """Who moved the clock, by name (pages name people, not accounts)."""
    if not username:
        return None
    return db.session.scalar(select(User.display_name).where(User.username == username)) or username


@bp.post("/move")
@instructor_required
def move() -> ResponseReturnValue:
    days = request.form.get("days", "").strip()
    try:
        now = drill_state(db.session()).now
        if days:
            if not days.isdigit():
                raise DrillError(_("天数须为正整数：演练时钟只能向前拨动"))
            target = target_of(now, days=int(days))
        else:
            target = target_of(now, on=request.form.get("on"))
        report = move_clock(db.session(), runtime(), target, current_user.username)
    except DrillError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("drill.index"))
    flash(
        _(
            "演练时钟已从 %(a)s 拨到 %(b)s：途经 %(n)s 个到期时点，唤醒定时 %(w)s 次。",
            a=f"{to_cst(report.moved_from):%Y-%m-%d %H:%M}",
            b=f"{to_cst(report.moved_to):%Y-%m-%d %H:%M}",
            n=len(report.stops),
            w=report.woken,
        ),
        "success",
    )
    return redirect(url_for("drill.index"))
