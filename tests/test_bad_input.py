"""Issue 16 point 3: nothing a user sends gets a 500. Numbers in the query, the address and the body are
bounded (app/params.py): a listing's page is clamped on a page and refused with the field named by the API,
an id past the INTEGER id columns is a 404; a JSON body too large is a 413 and one nested too deep a 400,
before any view; under /api every error is JSON in the documented shape, elsewhere a Chinese page. What a
designer sends (refused scripts, unsafe form schemas) is tested in tests/test_bad_definitions.py and
tests/test_form_safety.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from app.params import MAX_ID, MAX_JSON_BYTES, clamp_int, id_list, page_arg, to_int, year_arg
from tests.conftest import demo_app
from tests.test_error_pages import web_login
from tests.test_openapi import login

HUGE = "861103122672075776"  # the page number: fits 64 bits, the offset it makes does not
BIG = "9" * 30  # past 64 bits: an OverflowError on SQLite when bound
DEEP = "[" * 100_000 + "]" * 100_000  # a RecursionError in the standard parser
TOO_DEEP_MESSAGE = "请求正文的 JSON 嵌套过深：不能超过 64 层。"
ARGUMENT = re.compile(r"<(?:(\w+)(?:\((\w+)[^)]*\))?:)?\w+>")  # <int:case_id>, <any(csv, xlsx):fmt>, <code>


def _boom() -> str:
    raise RuntimeError("crash for the test")


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, PROPAGATE_EXCEPTIONS=False) as app:
        yield app


class Sessions:
    """Logged-in clients, one per account and kind, kept for the module (logging in renders pages)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._api: dict[str, tuple[FlaskClient, dict[str, str]]] = {}
        self._web: dict[str, tuple[FlaskClient, str]] = {}

    def api(self, user: str) -> tuple[FlaskClient, dict[str, str]]:
        if user not in self._api:
            self._api[user] = login(self.app, user)
        return self._api[user]

    def web(self, user: str) -> tuple[FlaskClient, str]:
        if user not in self._web:
            self._web[user] = web_login(self.app, user)
        return self._web[user]


@pytest.fixture(scope="module")
def sessions(app: Flask) -> Sessions:
    return Sessions(app)


@pytest.fixture(scope="module")
def error_schema(app: Flask) -> dict[str, Any]:
    """The API's documented error body (components/schemas/Error of the OpenAPI document)."""
    document = app.test_client().get("/api/v1/openapi.json").json
    assert document is not None
    return {"$ref": "#/components/schemas/Error", "components": document["components"]}


def assert_api_error(response: Any, status: int, error: str, schema: dict[str, Any]) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = response.json
    assert body["error"] == error and body["message"]
    Draft202012Validator(schema).validate(body)
    assert set(body) <= set(schema["components"]["schemas"]["Error"]["properties"])
    return body


# --- the helpers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7), (" 12 ", 12), (7, 7), ("0", None), ("-3", None), (HUGE, None), (BIG, None), ("abc", None),
     ("1e3", None), ("²", None), ("١٢", None), ("9" * 5000, None), (True, None), (None, None), ("", None)],
)  # fmt: skip
def test_to_int_takes_only_plain_integers_in_range(value: object, expected: int | None) -> None:
    assert to_int(value, 1, 100) == expected


def test_clamping_and_lists() -> None:
    assert [page_arg({"page": p}) for p in ("3", HUGE, BIG, "-5", "0", "abc", None)] == [
        3, 100_000, 100_000, 1, 1, 1, 1,
    ]  # fmt: skip
    assert clamp_int("-9" * 3, 5, 1, 10) == 5  # not an integer at all: the default
    assert [year_arg(y, 2026) for y in ("2030", BIG, "1999", "x")] == [2030, 2026, 2026, 2026]
    assert id_list(f"12, 15 x 0 {BIG} {MAX_ID}") == [12, 15, MAX_ID]


# --- numbers in the query ------------------------------------------------------------------------------

PAGED_API = ["/api/v1/cases", "/api/v1/tasks", "/api/v1/rectification-items"]
BAD_PAGING = [
    (f"page={HUGE}", "page"),
    (f"page={BIG}", "page"),
    ("page=-1", "page"),
    ("page=0", "page"),
    ("page=abc", "page"),
    (f"per_page={HUGE}", "per_page"),
    ("per_page=0", "per_page"),
    ("per_page=201", "per_page"),
    (f"limit={HUGE}", "limit"),  # no such parameter: refused, not ignored
]


@pytest.mark.parametrize("url", PAGED_API)
@pytest.mark.parametrize(("query", "field"), BAD_PAGING)
def test_api_paging_is_refused_with_the_field_named(
    sessions: Sessions, error_schema: dict[str, Any], url: str, query: str, field: str
) -> None:
    client, _ = sessions.api("411300.supervisor")
    body = assert_api_error(client.get(f"{url}?{query}"), 422, "invalid_input", error_schema)
    assert list(body["errors"]) == [field]
    assert client.get(f"{url}?page=100000&per_page=200").json["items"] == []  # type: ignore[index]  # the bounds


WEB_LISTS = ["/inbox", "/cases", "/dashboard/cases", "/supervision/rectification", "/documents"]


@pytest.mark.parametrize("url", WEB_LISTS)
@pytest.mark.parametrize("page", [HUGE, BIG, "-5", "abc", "1e9", "²"])
def test_web_lists_clamp_the_page(sessions: Sessions, url: str, page: str) -> None:
    client, _ = sessions.web("411300.office_director")
    response = client.get(f"{url}?page={page}&per_page={BIG}&year={BIG}")
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    assert "系统出错了" not in response.get_data(as_text=True)


JUNK_QUERY = "&".join(
    f"{name}={value}"
    for name in ("page", "per_page", "year", "from", "to", "limit", "id")
    for value in (BIG, "-1", "x")
)


@pytest.mark.parametrize("user", ["411300.office_director", "411300.designer", "411300.admin"])
def test_no_page_or_api_list_fails_on_junk_numbers(app: Flask, sessions: Sessions, user: str) -> None:
    """Every GET address without arguments, with every usual number parameter set to junk: never a 500."""
    web, _ = sessions.web(user)
    urls = [r.rule for r in app.url_map.iter_rules() if "GET" in (r.methods or ()) and not r.arguments]
    assert len(urls) > 40
    failed = [(url, web.get(f"{url}?{JUNK_QUERY}").status_code) for url in urls if url != "/logout"]
    assert [f for f in failed if f[1] >= 500] == []


def test_web_year_out_of_range_falls_back_to_this_year(sessions: Sessions) -> None:
    client, _ = sessions.web("411300.office_director")
    html = client.get(f"/dashboard/annual?year={BIG}").get_data(as_text=True)
    assert '<option value="2026" selected' in html  # the clock's year (2 March 2026)


def test_designer_compare_with_huge_versions_is_404(sessions: Sessions) -> None:
    client, _ = sessions.web("411300.designer")
    for query in (f"from={BIG}&to={BIG}", f"from={HUGE}&to=1", "from=x&to=1", "to=1"):
        response = client.get(f"/designer/compare?{query}")
        assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


# --- numbers in the address ----------------------------------------------------------------------------


@pytest.mark.parametrize("number", [BIG, str(MAX_ID + 1), "2784451562", "9999999999"])  # past the id columns
def test_every_int_route_refuses_a_number_past_the_id_columns(
    app: Flask, sessions: Sessions, number: str
) -> None:
    """Every ``<int:…>`` rule, GET or not: past :data:`MAX_ID` no route matches (404); up to it, a lookup
    that finds nothing (both databases bind it)."""
    client, _ = sessions.web("411300.designer")
    rules = [r for r in app.url_map.iter_rules() if "<int:" in r.rule]
    assert len(rules) > 30
    for rule in rules:
        methods = rule.methods or set()
        method = "GET" if "GET" in methods else sorted(methods - {"HEAD", "OPTIONS"})[0]
        url = ARGUMENT.sub(lambda m: {"int": number, "any": m[2]}.get(m[1], "x"), rule.rule)
        response = client.open(url, method=method)
        # A number past MAX_ID matches no route at all, whatever its length: 404, also where another
        # method's rule has the same shape (GET and PUT /api/v1/indicator-sets/<int:year>/…), which once
        # answered 405 for a number of MAX_ID's length but larger (the API contract test found it).
        assert response.status_code == 404, (url, response.status_code)
        if url.startswith("/api/"):
            assert response.json["error"] == "not_found", url  # type: ignore[index]
        else:
            assert "页面不存在" in response.get_data(as_text=True), url
    assert client.get(f"/cases/{MAX_ID}").status_code == 404  # matched, looked up, not found
    assert client.get(f"/api/v1/cases/{MAX_ID}").json["error"] == "not_found"  # type: ignore[index]


# --- numbers in bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "url", "body", "field"),
    [
        ("411300.designer", "/api/v1/migrations", {"to_version": int(BIG)}, "to_version"),
        (
            "411300.designer",
            "/api/v1/migrations",
            {"to_version": 1, "instance_ids": [int(BIG)]},
            "instance_ids",
        ),
        ("411300.designer", "/api/v1/migrations", {"to_version": -5}, "to_version"),
        (
            "411300.designer",
            "/api/v1/definitions",
            {"files": {"forms/x.json": "{}"}, "base": int(BIG)},
            "base",
        ),
        ("411300.office_director", "/api/v1/commendations", {"year": int(BIG)}, "year"),
    ],
)
def test_api_body_numbers_are_bounded(
    app: Flask,
    sessions: Sessions,
    error_schema: dict[str, Any],
    user: str,
    url: str,
    body: dict[str, Any],
    field: str,
) -> None:
    client, headers = sessions.api(user)
    answer = assert_api_error(
        client.post(url, json=body, headers=headers), 422, "invalid_input", error_schema
    )
    assert list(answer["errors"]) == [field]


def test_indicator_order_is_bounded(sessions: Sessions) -> None:
    """A display position of 10^12 fits SQLite but not PostgreSQL's INTEGER: refused on both, field named."""
    client, headers = sessions.api("411300.office_director")
    stored = client.get("/api/v1/indicator-sets/2026/411300").json
    assert stored is not None and stored["indicators"]
    indicators = [{**stored["indicators"][0], "order": 10**12}, *stored["indicators"][1:]]
    body = {"indicators": indicators, "thresholds": stored["thresholds"]}
    refused = client.put("/api/v1/indicator-sets/2026/411300", json=body, headers=headers)
    assert refused.status_code == 422 and refused.json is not None
    assert refused.json["errors"] == {"indicators/0/order": ["须为0至10000的整数"]}


def test_web_form_numbers_are_bounded(app: Flask, sessions: Sessions) -> None:
    designer, token = sessions.web("411300.designer")
    for data in ({"instance_ids": BIG, "to_version": "1"}, {"instance_ids": "²"}, {"to_version": BIG}):
        page = designer.post("/designer/migrate", data={**data, "csrf_token": token})
        assert page.status_code == 200 and "系统出错了" not in page.get_data(as_text=True)
    office, token = sessions.web("411300.office_director")
    started = office.post("/commendations/start", data={"year": BIG, "csrf_token": token})
    assert started.status_code == 302
    assert "年度格式不正确" in office.get(started.headers["Location"]).get_data(as_text=True)
    annual = office.post("/dashboard/annual/start", data={"year": BIG, "csrf_token": token})
    assert annual.status_code == 400 and "请求无法处理" in annual.get_data(as_text=True)
    admin, token = sessions.web("411300.admin")
    post = admin.post("/admin/people/1/posts", data={"start_on": f"{BIG}-01-01", "csrf_token": token})
    assert post.status_code == 302  # the date is refused with a message (an OverflowError before)
    assert "is not a date" in admin.get(post.headers["Location"]).get_data(as_text=True)


# --- JSON bodies ---------------------------------------------------------------------------------------

JSON_ENDPOINTS = [
    ("/api/v1/auth/login", None),
    ("/api/v1/cases", "411300.supervisor"),
    ("/api/v1/tasks/no-such-task/complete", "411302.office_staff"),
    ("/api/v1/definitions", "411300.designer"),
    ("/api/v1/migrations", "411300.designer"),
    ("/api/v1/org/people", "411300.admin"),
    ("/designer/forms/preview", "web:411300.designer"),
    ("/designer/deploy", "web:411300.designer"),
]


def poster(sessions: Sessions, who: str | None) -> Callable[..., Any]:
    if who is None:
        return sessions.app.test_client().post
    if who.startswith("web:"):  # a page's script: the session and the CSRF token from the page
        client, token = sessions.web(who[4:])
        headers = {"X-CSRFToken": token}
    else:
        client, headers = sessions.api(who)
    return lambda url, **kwargs: client.post(url, headers=headers, **kwargs)


def _nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize(("url", "who"), JSON_ENDPOINTS)
@pytest.mark.parametrize("body", [DEEP, _nested(65)], ids=["100000-lists", "65-objects"])
def test_too_deep_json_is_400(
    sessions: Sessions, error_schema: dict[str, Any], url: str, who: str | None, body: str
) -> None:
    post = poster(sessions, who)
    response = post(url, data=body, content_type="application/json")
    answer = assert_api_error(response, 400, "bad_request", error_schema)
    assert answer["message"] == TOO_DEEP_MESSAGE


@pytest.mark.parametrize(("url", "who"), JSON_ENDPOINTS)
def test_too_large_json_is_413(
    app: Flask,
    sessions: Sessions,
    error_schema: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    who: str | None,
) -> None:
    post = poster(sessions, who)
    monkeypatch.setitem(app.config, "MAX_JSON_BYTES", 2048)
    response = post(url, data=json.dumps({"text": "x" * 4096}), content_type="application/json")
    answer = assert_api_error(response, 413, "too_large", error_schema)
    assert answer["message"] == "请求正文过大：JSON 不能超过 2 KB。"


def test_json_bounds_as_configured_by_default(app: Flask, error_schema: dict[str, Any]) -> None:
    client = app.test_client()
    big = json.dumps({"username": "x" * MAX_JSON_BYTES})
    assert_api_error(client.post("/api/v1/auth/login", data=big, content_type="application/json"), 413,
                     "too_large", error_schema)  # fmt: skip
    deep_enough = _nested(63)  # under the bound: the view answers (the login fields are missing)
    answer = client.post("/api/v1/auth/login", data=deep_enough, content_type="application/json")
    assert answer.status_code == 422 and answer.json["error"] == "invalid_input"  # type: ignore[index]


def test_form_preview_reports_a_deep_form_text(sessions: Sessions) -> None:
    post = poster(sessions, "web:411300.designer")
    answer = post("/designer/forms/preview", json={"text": DEEP})
    assert answer.status_code == 200 and answer.json["problems"][0]["message"] == "JSON 嵌套超过 64 层"
    not_an_object = post("/designer/forms/preview", json=[1, 2])
    assert not_an_object.status_code == 200 and not_an_object.json["problems"]


# --- every error under /api is JSON in the documented shape ------------------------------------------


def test_api_errors_are_json(
    app: Flask, sessions: Sessions, error_schema: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    anonymous = app.test_client()
    supervisor, headers = sessions.api("411300.supervisor")
    assert_api_error(anonymous.get("/api/v1/no-such-thing"), 404, "not_found", error_schema)
    assert_api_error(anonymous.delete("/api/v1/health"), 405, "method_not_allowed", error_schema)
    assert_api_error(anonymous.get("/api/v1/tasks"), 401, "not_logged_in", error_schema)
    assert_api_error(supervisor.post("/api/v1/auth/login", data="x", content_type="application/json",
                                     headers=headers), 422, "invalid_input", error_schema)  # fmt: skip
    assert_api_error(supervisor.get("/api/v1/org/people"), 403, "not_authorized", error_schema)
    assert_api_error(supervisor.post("/api/v1/cases", json={}), 400, "csrf_failed", error_schema)
    monkeypatch.setitem(app.view_functions, "api.health", _boom)  # a view that crashes
    assert_api_error(anonymous.get("/api/v1/health"), 500, "internal_error", error_schema)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    too_large = anonymous.post("/api/v1/auth/login", data="x" * 4096, content_type="application/json")
    assert_api_error(too_large, 413, "too_large", error_schema)


def test_pages_stay_chinese_html(sessions: Sessions) -> None:
    client, _ = sessions.web("411300.office_director")
    missing = client.get(f"/cases/{BIG}")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "页面不存在" in missing.get_data(as_text=True)
