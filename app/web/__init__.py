"""Pages every user shares: login, logout, language, the start page; the navigation's context."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth.throttle import attempt_login, lockout_message, retry_after_seconds, throttle_from
from app.extensions import db
from app.i18n import LOCALES
from app.security import safe_next
from workflows.regulation.traceability import COVERAGE_ROLES

bp = Blueprint("web", __name__)


def _safe_next(target: str | None) -> str:
    """Only local paths (app/security.py): a login link must not bounce a user to another site."""
    return safe_next(target, url_for("inbox.inbox"))


@bp.get("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("inbox.inbox") if current_user.is_authenticated else url_for("web.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next"))
    username = request.form.get("username", "").strip()
    throttle = throttle_from(current_app.config)  # growing lock-outs per account and address (issue 16)
    password = request.form.get("password", "")
    attempt = attempt_login(db.session(), throttle, username, password, request.remote_addr or "")
    db.session.commit()
    if attempt.user is None:
        page = {"username": username, "next": request.form.get("next")}
        if attempt.retry_at is None:
            return render_template("login.html", error=_("用户名或密码错误"), **page), 401
        now = throttle.clock.now()
        error = lockout_message(attempt.retry_at, now)
        retry_after = str(retry_after_seconds(attempt.retry_at, now))
        return render_template("login.html", error=error, **page), 429, {"Retry-After": retry_after}
    login_user(attempt.user)
    session.pop("locale", None)
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    return redirect(url_for("web.login"))


@bp.post("/locale")
def set_locale() -> ResponseReturnValue:
    locale = request.form.get("locale")
    if locale in LOCALES:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale  # per user, remembered across sessions
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    blueprint: str


def _roles() -> set[str]:
    return {g.role.split("/")[0] for g in current_user.grants} if current_user.is_authenticated else set()


def extra_nav() -> list[NavItem]:
    roles = _roles()
    items = [
        NavItem(_("年度仪表盘"), url_for("dashboard.dashboard"), "dashboard"),
        NavItem(_("年度工作"), url_for("dashboard.annual_overview"), "dashboard.annual"),
    ]
    office = roles & {"office_director", "office_staff"}
    if office and "supervision.start_page" in _endpoints():  # Art. 18, 24, 25: inspections, meetings
        items.append(NavItem(_("督查与会议"), url_for("supervision.start_page"), "supervision"))
    if office and "indicators.index" in _endpoints():  # Art. 19: the year's indicator system
        items.append(NavItem(_("考核指标"), url_for("indicators.index"), "indicators"))
    if office and "commendations.index" in _endpoints():  # Art. 26-30
        items.append(NavItem(_("表彰奖励"), url_for("commendations.index"), "commendations"))
    records = office | (roles & {"organization_personnel"})
    if records and "records.index" in _endpoints():  # Art. 22: performance records per cadre
        items.append(NavItem(_("实绩档案"), url_for("records.index"), "records"))
    if records and "consultations.start_page" in _endpoints():  # Art. 23
        items.append(NavItem(_("征求意见"), url_for("consultations.start_page"), "consultations"))
    if roles and "processes.start_list" in _endpoints() and _may_start_something():  # issue 15
        items.insert(0, NavItem(_("发起"), url_for("processes.start_list"), "processes"))
    if "designer" in roles and "designer.designer_home" in _endpoints():
        items.append(NavItem(_("流程设计"), url_for("designer.designer_home"), "designer"))
    if roles & COVERAGE_ROLES and "regulation.coverage_page" in _endpoints():
        items.append(NavItem(_("法规条款对照"), url_for("regulation.coverage_page"), "regulation"))
    if "admin" in roles:
        items.append(NavItem(_("用户管理"), url_for("admin.users"), "admin"))
    if "drill_admin" in roles and "drill.index" in _endpoints():  # drill mode only (app/drill)
        items.append(NavItem(_("演练控制"), url_for("drill.index"), "drill"))
    return items


def _may_start_something() -> bool:
    """Whether the user holds a role some deployed procedure's ``startable_by`` names (the nav's 发起)."""
    from app.auth import current_actor
    from app.runtime import engine
    from workflows.regulation.startable import startable_for

    return bool(startable_for(engine(), current_actor()))


def _endpoints() -> set[str]:
    from flask import current_app

    return set(current_app.view_functions)


def init_app(app: Flask) -> None:
    from app.inbox.notifications import unread_count

    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        extra_nav=extra_nav,
        unread_notifications=lambda: unread_count(current_user) if current_user.is_authenticated else 0,
    )
