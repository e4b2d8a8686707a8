"""Error answers, never Flask's English default pages: JSON ``{"error", "message"}`` under /api/ (routing's
404/405, the 413 of a too large body, any abort, an unexpected exception) and to a request that sent JSON
(the designer's editors post JSON and read the answer as JSON), and elsewhere a page in the reader's
language saying what happened in plain words, with a way back. A 500 never shows the exception.
The API blueprint's own mappings (engine errors, invalid input, CSRF) are in app/api/errors.py."""

from __future__ import annotations

from contextlib import suppress
from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import escape
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from app.extensions import db
from app.i18n import pick
from app.labels import say
from workflows.engine.errors import BudgetExceeded, EngineError, ProcessFailed

API_PREFIX = "/api/"

# Machine-readable codes of the API's answers; the engine's own codes where they mean the same thing.
API_CODES = {
    400: "bad_request",
    401: "not_logged_in",
    403: "not_authorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_input",
    500: "internal_error",
}

# (title, explanation), each as (Chinese, English).
PAGES: dict[int, tuple[tuple[str, str], tuple[str, str]]] = {
    400: (
        ("请求无法处理", "The request could not be processed"),
        (
            "提交的内容或网址中的参数不正确。请返回上一页，检查后重试。",
            "Something in the form or in the address is not valid. Go back, check it and try again.",
        ),
    ),
    401: (
        ("请先登录", "Please log in"),
        ("查看此页面需要先登录。", "You need to log in to see this page."),
    ),
    403: (
        ("没有访问权限", "Access denied"),
        (
            "您的账号无权查看或办理此内容。如认为有误，请联系本单位综治办或系统管理员。",
            "Your account may not see or act on this. If you think this is wrong, ask your office or the "
            "system administrator.",
        ),
    ),
    404: (
        ("页面不存在", "Page not found"),
        (
            "您要找的页面或记录不存在：网址可能有误，或该记录已被删除。",
            "The page or record you asked for does not exist: the address may be wrong, or it was removed.",
        ),
    ),
    405: (
        ("不支持此操作方式", "This action is not possible here"),
        (
            "此网址不能以这种方式打开，例如只能通过页面上的按钮提交。请返回上一页，用页面上的按钮操作。",
            "This address cannot be used this way, e.g. it only accepts the form's button. Go back and use "
            "the buttons on the page.",
        ),
    ),
    409: (
        ("操作未能完成", "The action could not be completed"),
        (
            "该记录刚被他人修改，或已不能这样办理。请刷新页面，查看最新情况后重试。",
            "Someone else has just changed this, or it can no longer be done this way. Reload the page, "
            "check what it shows now and try again.",
        ),
    ),
    413: (
        ("上传内容过大", "Upload too large"),
        (
            "上传的文件或提交的内容超过了大小上限（{limit}）。请压缩或拆分后重试。",
            "The file or form you sent is larger than the limit ({limit}). Make it smaller or split it and "
            "try again.",
        ),
    ),
    422: (
        ("提交的内容有误", "The input is not valid"),
        (
            "提交的内容无法处理。请返回上一页，检查后重试。",
            "What you sent cannot be processed. Go back, check it and try again.",
        ),
    ),
    500: (
        ("系统出错了", "Something went wrong"),
        (
            "服务器处理请求时发生错误，本次操作未能完成。请稍后重试；如问题反复出现，请联系系统管理员并说明发生的时间。",
            "The server failed to handle the request and the action was not completed. Try again later; "
            "if it keeps happening, tell the system administrator when it happened.",
        ),
    ),
}
CSRF_PAGE = (
    ("页面已过期", "This page has expired"),
    (
        "表单的安全校验未通过（页面打开太久，或已在别处退出登录）。请返回上一页，刷新后重新提交。",
        "The form's security check failed (the page was open too long, or you logged out elsewhere). "
        "Go back, reload the page and send it again.",
    ),
)


def is_api() -> bool:
    return request.path.startswith(API_PREFIX)


def wants_json() -> bool:
    """Answer in JSON: under /api/, or to a request that sent JSON (no browser page does)."""
    return is_api() or request.is_json


def process_failed_message(exc: ProcessFailed) -> str:
    """A script or condition of the process refused the step (issue 16): the reader's fault or the
    definition's, never a crash; nothing was saved, so saying so is what matters. The engine's own text
    follows, since a script's refusal names what it refused (e.g. a unit not under the committee)."""
    return _(
        "流程中的脚本未能执行，本次操作未生效，案件保持原状。请检查填写的内容后重试；如仍无法办理，"
        "请联系流程设计人员。（详情：%(detail)s）",
        detail=str(exc),
    )


def budget_exceeded_message(exc: BudgetExceeded) -> str:
    """A script or expression of the diagram ran past its budget (CPU, memory, output) and was stopped
    (issue 16): the definition's fault; nothing was saved."""
    return _(
        "流程中的脚本或表达式超出计算限额，已被停止；本次操作未生效，案件保持原状。"
        "请联系流程设计人员修改流程。（详情：%(detail)s）",
        detail=say(exc.args[0] if exc.args else exc),  # names the element: 元素 compute（计算结果）…
    )


def engine_error_text(exc: EngineError) -> str:
    """What a page flashes for an engine error it cannot word better itself."""
    if isinstance(exc, BudgetExceeded):
        return budget_exceeded_message(exc)
    return process_failed_message(exc) if isinstance(exc, ProcessFailed) else str(exc)


def _limit() -> str:
    size = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def _api_message(exc: HTTPException, status: int) -> str:
    if status < 500 and exc.description and exc.description != type(exc).description:
        return str(exc.description)  # abort(400, "what was wrong"); a 500's text is never shown
    if isinstance(exc, MethodNotAllowed):
        allowed = ", ".join(exc.valid_methods or ())
        return f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
    return {
        404: f"no such resource: {request.path}",
        413: f"the request body is larger than the limit ({_limit()})",
        500: "internal server error; the transaction was rolled back",
    }.get(status, exc.name.lower())


def _back_url() -> str | None:
    """The page the reader came from, when it is one of ours and not this one."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc != request.host or not parts.path.startswith("/") or referrer == request.url:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def error_page(exc: HTTPException, csrf: bool = False) -> ResponseReturnValue:
    """The HTML answer for ``exc`` in the reader's language (base layout, links back)."""
    status = exc.code or 500
    title, text = CSRF_PAGE if csrf else PAGES.get(status, PAGES[500 if status >= 500 else 400])
    headers = {"Allow": ", ".join(exc.valid_methods or ())} if isinstance(exc, MethodNotAllowed) else {}
    try:  # the locale, the user and the layout need the database; a broken one must not hide the answer
        message = pick(*text).format(limit=_limit())
        logged_in = bool(current_user and current_user.is_authenticated)
        login_url = None
        if not logged_in:
            target = request.full_path.rstrip("?") if request.method == "GET" and status != 401 else None
            login_url = url_for("web.login", next=target) if target else url_for("web.login")
        body = render_template(
            "errors/error.html",
            status=status,
            title=pick(*title),
            message=message,
            back_url=_back_url(),
            logged_in=logged_in,
            login_url=login_url,
        )
    except Exception:
        current_app.logger.exception("error page %s could not be rendered", status)
        with suppress(Exception):
            db.session.rollback()
        heading = escape(f"{title[0]} · {title[1]}")  # both languages: the locale may be unknown
        zh, en = (escape(t.format(limit=_limit())) for t in text)
        body = (
            f'<!doctype html><meta charset="utf-8"><title>{status} {heading}</title>'
            f"<h1>{heading}</h1><p>{zh}</p><p>{en}</p>"
            '<p><a href="/">返回首页 · Back to the start page</a></p>'
        )
    return body, status, headers


def handle_http_error(exc: HTTPException) -> ResponseReturnValue:
    if exc.code is None or exc.code < 400:  # redirects and other non-errors pass through
        return exc
    if exc.code >= 500:
        with suppress(Exception):  # the failed request's changes; the layout may still query
            db.session.rollback()
    if wants_json():
        code = API_CODES.get(exc.code, exc.name.lower().replace(" ", "_"))
        response = jsonify(error=code, message=_api_message(exc, exc.code))
        response.status_code = exc.code
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response
    return error_page(exc)


def init_app(app: Flask) -> None:
    # Every HTTPException, 500 included: Flask wraps an unhandled exception in InternalServerError, logs
    # its ``original_exception`` and then calls this handler, which never shows it.
    app.register_error_handler(HTTPException, handle_http_error)
