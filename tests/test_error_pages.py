"""Error answers are never Flask's English default pages: JSON ``{"error", "message"}`` under /api/ (routing's
404 and 405, 413, 422, a crash), elsewhere a page in the reader's language with a way back (400 CSRF, 403,
404, 405, 413, 500 without the exception's text); huge or garbled page numbers are refused or clamped,
never an overflow."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import demo_app
from tests.test_openapi import login

FLASK_DEFAULTS = (
    "Not Found",
    "The requested URL",
    "Method Not Allowed",
    "Internal Server Error",
    "Bad Request",
)
SECRET = "secret detail of the crash 7f3a"
HUGE = "9" * 40
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发。",
}


def _boom() -> str:
    raise RuntimeError(SECRET)


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, PROPAGATE_EXCEPTIONS=False) as app:
        # Views that crash, one under /api/ and one outside it (added before the first request).
        app.add_url_rule("/api/v1/test-crash", "test_api_crash", _boom)
        app.add_url_rule("/test-crash", "test_web_crash", _boom)
        yield app


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, html
    return match.group(1)


def web_login(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"username": username, "password": "demo", "csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client, csrf_token(client.get("/inbox").get_data(as_text=True))


def no_flask_default(html: str) -> None:
    for text in FLASK_DEFAULTS:
        assert text not in html, text


# --- /api/: JSON ---------------------------------------------------------------------------------------


def test_api_unknown_route_is_json_404(app: Flask) -> None:
    response = app.test_client().get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.is_json
    assert response.json == {"error": "not_found", "message": "no such resource: /api/v1/no-such-thing"}


def test_api_wrong_method_is_json_405_with_allow(app: Flask) -> None:
    response = app.test_client().delete("/api/v1/health")
    assert response.status_code == 405 and response.is_json
    assert response.json["error"] == "method_not_allowed"  # type: ignore[index]
    assert "DELETE" in response.json["message"]  # type: ignore[index]
    assert "GET" in response.headers["Allow"]


def test_api_existing_shapes_are_kept(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/api/v1/tasks").json["error"] == "not_logged_in"  # type: ignore[index]
    api, _ = login(app, "411302.office_staff")
    no_csrf = api.post("/api/v1/cases", json={**REPORT, "unit_code": "411302001"})
    assert no_csrf.status_code == 400 and no_csrf.json["error"] == "csrf_failed"  # type: ignore[index]


def test_api_body_too_large_is_json_413(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = app.test_client().post("/api/v1/auth/login", data="x" * 4096, content_type="application/json")
    assert response.status_code == 413 and response.is_json
    assert response.json["error"] == "too_large" and "(1 KB)" in response.json["message"]  # type: ignore[index]


def test_api_crash_is_json_500_without_the_exception(app: Flask) -> None:
    response = app.test_client().get("/api/v1/test-crash")
    assert response.status_code == 500 and response.is_json
    assert response.json["error"] == "internal_error"  # type: ignore[index]
    text = response.get_data(as_text=True)
    assert SECRET not in text and "RuntimeError" not in text


@pytest.mark.parametrize("url", ["/api/v1/cases", "/api/v1/tasks"])
@pytest.mark.parametrize("query", [f"page={HUGE}", "page=100001", "page=0", "page=abc", f"per_page={HUGE}"])
def test_api_page_arguments_are_validated(app: Flask, url: str, query: str) -> None:
    client, _ = login(app, "411300.supervisor")
    response = client.get(f"{url}?{query}")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json["error"] == "invalid_input"  # type: ignore[index]
    assert set(response.json["errors"]) <= {"page", "per_page"}  # type: ignore[index]
    assert client.get(f"{url}?page=100000").status_code == 200  # the largest allowed: an empty page


# --- pages: Chinese, English on request ----------------------------------------------------------------


def test_404_page_logged_out_offers_login(app: Flask) -> None:
    response = app.test_client().get("/no-such-page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "页面不存在" in html and "错误代码 404" in html
    assert 'href="/login?next=/no-such-page' in html and "登录" in html
    no_flask_default(html)


def test_404_page_logged_in_links_back(app: Flask) -> None:
    client, _ = web_login(app, "411302.office_director")
    response = client.get("/cases/999999", headers={"Referer": "http://localhost/cases?level=intake"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "页面不存在" in html and "网址可能有误" in html
    assert 'href="/inbox"' in html and "我的任务" in html  # 我的任务
    assert 'href="/cases?level=intake"' in html and "返回上一页" in html  # the page the reader came from
    no_flask_default(html)


def test_back_link_never_leaves_the_site(app: Flask) -> None:
    client, _ = web_login(app, "411302.office_director")
    html = client.get("/no-such-page", headers={"Referer": "https://evil.example/x"}).get_data(as_text=True)
    assert "evil.example" not in html and "返回上一页" not in html


def test_403_page_for_a_case_of_another_county(app: Flask) -> None:
    api, headers = login(app, "411300.supervisor")
    created = api.post("/api/v1/cases", json={**REPORT, "unit_code": "411302001"}, headers=headers)
    assert created.status_code == 201, created.json
    other, _ = web_login(app, "411303.office_director")  # 卧龙区: the case is 宛城区's
    response = other.get(f"/cases/{created.json['id']}")  # type: ignore[index]
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "没有访问权限" in html and "无权查看" in html and 'href="/inbox"' in html
    assert "Forbidden" not in html and "辖区内" not in html  # nothing of the case shows
    no_flask_default(html)


def test_403_page_for_the_admin_page(app: Flask) -> None:
    client, _ = web_login(app, "411302.office_staff")
    response = client.get("/admin/users")
    assert response.status_code == 403 and "没有访问权限" in response.get_data(as_text=True)


def test_405_page_keeps_allow(app: Flask) -> None:
    client, _ = web_login(app, "411302.office_director")
    response = client.get("/logout")  # only a form's POST logs out
    html = response.get_data(as_text=True)
    assert response.status_code == 405 and response.headers["Allow"]
    assert "不支持此操作方式" in html and 'href="/inbox"' in html
    no_flask_default(html)


def test_csrf_failure_page(app: Flask) -> None:
    client, _ = web_login(app, "411302.office_director")
    response = client.post("/locale", data={"locale": "en"})  # no csrf_token
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "页面已过期" in html and "刷新后重新提交" in html
    assert "The CSRF token" not in html
    no_flask_default(html)
    assert "我的任务" in client.get("/inbox").get_data(as_text=True)  # the refused post changed nothing


def test_413_page(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    response = app.test_client().post("/login", data={"username": "x" * (2 * 1024 * 1024)})
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "上传内容过大" in html and "1 MB" in html
    no_flask_default(html)
    assert "Request Entity Too Large" not in html


def test_500_page_hides_the_exception(app: Flask) -> None:
    client, _ = web_login(app, "411302.office_director")
    response = client.get("/test-crash")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "系统出错了" in html and "联系系统管理员" in html and 'href="/inbox"' in html
    assert SECRET not in html and "RuntimeError" not in html and "Traceback" not in html
    no_flask_default(html)


def test_error_pages_in_english(app: Flask) -> None:
    client, csrf = web_login(app, "411302.committee_director")
    assert client.post("/locale", data={"locale": "en", "csrf_token": csrf}).status_code == 302
    try:
        missing = client.get("/no-such-page").get_data(as_text=True)
        assert "Page not found" in missing and "Error code 404" in missing and "My tasks" in missing
        assert "页面不存在" not in missing and "错误代码" not in missing
        no_flask_default(missing)
        crashed = client.get("/test-crash").get_data(as_text=True)
        assert "Something went wrong" in crashed and SECRET not in crashed
    finally:
        client.post("/locale", data={"locale": "zh_CN", "csrf_token": csrf})
    assert "页面不存在" in client.get("/no-such-page").get_data(as_text=True)


def test_error_page_without_its_layout(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the layout itself fails (e.g. the database is gone) a bare page still says what happened."""

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError(SECRET)

    monkeypatch.setattr("app.errors.render_template", broken)
    response = app.test_client().get("/test-crash")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and "系统出错了" in html and 'href="/"' in html
    assert SECRET not in html
    no_flask_default(html)


@pytest.mark.parametrize("url", ["/inbox", "/cases"])
@pytest.mark.parametrize("page", [HUGE, "100001", "-5", "abc", "1e9"])
def test_web_page_numbers_never_overflow(app: Flask, url: str, page: str) -> None:
    client, _ = web_login(app, "411300.supervisor")
    response = client.get(f"{url}?page={page}&per_page={HUGE}")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]  # clamped into 1..100000
    assert "系统出错了" not in response.get_data(as_text=True)
