"""Every page an official can reach, in both locales (issue 14, point 3). Logged in as each side of a case,
the walk follows every link from the inbox (breadth first, GET only, same site) and reads each page's text.
A Chinese page shows no lane key, obligation id, ``Art. N`` or English sentence; an English page shows no
Chinese outside names: the units', the people's and their posts', the case's own facts and the documents
(Chinese whatever the reader's locale).

The Flask test client is enough for the walk: what is read is the rendered HTML's text, not a layout. The
diagram viewer's labels, drawn by script, are read in Chromium (the last test).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html

from tests.browser import login_page
from tests.conftest import CITY, demo_app
from tests.test_api_accountability import Desk
from tests.test_pages_chinese import COUNTY, FORBIDDEN, TOWN, _notified_case

# Pages that are files, actions or other people's tools, not pages of the reader's: not followed.
SKIP = re.compile(
    r"\.(docx|pdf|zip|csv|xlsx|xml|bpmn|json|png|js|css)$|/logout|/static/|/diagram/|/api/|/export"
)
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]+")
MAX_PAGES = 60  # per role and locale: every kind of page is reached well before this


def _names(app: Flask) -> set[str]:
    """What is Chinese in any locale: names of units, people and posts, case numbers, documents."""
    from app.auth.models import User
    from app.extensions import db
    from workflows.engine.models import OrgUnit, ProcessInstance
    from workflows.regulation.document_models import IssuedDocument
    from workflows.regulation.people import Person, Post

    with app.app_context():
        names = {u.name for u in db.session.scalars(db.select(OrgUnit))}
        names |= {u.display_name for u in db.session.scalars(db.select(User))}
        names |= {p.title for p in db.session.scalars(db.select(Post)) if p.title}  # 镇长: a post's own title
        names |= set(
            db.session.scalars(db.select(ProcessInstance.business_key))
        )  # 追责-2026-…, a case's name
        for doc in db.session.scalars(
            db.select(IssuedDocument)
        ):  # a document's number and title are its names
            names |= {doc.number or "", doc.title}
        names |= {p.name for p in db.session.scalars(db.select(Person))}
    return {n for n in names if n}


def _visible_text(page: str) -> str:
    """The page's text as read, without what is not the page's own words: official documents (``.gongwen``),
    recorded values (``.pre``, the dossier's ``dd``), machine identifiers shown to designers (``code``) and
    text declared in another language (``lang``, e.g. the obligations register's English)."""
    tree = html.fromstring(page).find("body")
    if tree is None:
        return ""
    for bad in tree.xpath(
        "//script|//style|//body//code|//body//textarea|//body//*[contains(@class,'gongwen')]|//body//*[contains(@class,'pre')]"
        "|//body//dl[contains(@class,'facts')]/dd|//body//*[@lang]"  # declared as another language's text
    ):
        bad.drop_tree()
    return " ".join(tree.text_content().split())


def _shape(link: str) -> str:
    """/cases/12?page=2 and /cases/13 are the same kind of page: ids and query values do not count."""
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d+", "#", link.split("?")[0])


def _crawl(client: FlaskClient, start: str = "/inbox") -> Iterator[tuple[str, str]]:
    """Breadth first from ``start``, at most two pages of each shape and MAX_PAGES in all."""
    seen, queue, shapes, visited = {start}, deque([start]), Counter[str](), 0
    while queue and visited < MAX_PAGES:
        url = queue.popleft()
        if shapes[_shape(url)] >= 2:
            continue
        shapes[_shape(url)] += 1
        visited += 1
        response = client.get(url, follow_redirects=True)
        if response.status_code != 200 or not response.mimetype.startswith("text/html"):
            continue
        page = response.get_data(as_text=True)
        yield url, page
        for href in html.fromstring(page).xpath("//a/@href"):
            target = urljoin(url, href)
            parts = urlsplit(target)
            if parts.netloc or not parts.path.startswith("/") or SKIP.search(parts.path):
                continue
            link = parts.path + (f"?{parts.query}" if parts.query else "")
            if link not in seen:
                seen.add(link)
                queue.append(link)


def _login(app: Flask, username: str, locale: str) -> FlaskClient:
    desk = Desk(app, username)  # the session cookie serves the pages too
    chosen = desk.client.post("/locale", data={"locale": locale}, headers={"X-CSRFToken": desk.token})
    assert chosen.status_code in (200, 302), chosen.status_code
    return desk.client


@pytest.fixture(scope="module")
def walked(db_url: str, sql_engine: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path_factory.mktemp("att"))) as app:
        app.config["WALKED_CASE"], _task = _notified_case(app)
        yield app


@pytest.fixture
def live_app(walked: Flask) -> Flask:
    return walked


ROLES = [
    f"{COUNTY}.office_director",
    f"{COUNTY}.office_staff",
    f"{TOWN}.unit_principal_leader",
    f"{CITY}.admin",
    f"{CITY}.designer",
    f"{CITY}.supervisor",
]


@pytest.mark.parametrize("username", ROLES)
def test_chinese_pages_show_no_machine_words(walked: Flask, username: str) -> None:
    client = _login(walked, username, "zh_CN")
    found: list[str] = []
    pages = 0
    for url, page in _crawl(client):
        pages += 1
        text = _visible_text(page)
        for name, pattern in FORBIDDEN.items():
            if match := pattern.search(text):
                found.append(f"{url}: {name} {match.group(0)!r}")
    assert pages > 5, "the walk reached too few pages"
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("username", ROLES)
def test_english_pages_show_no_chinese_but_names(walked: Flask, username: str) -> None:
    names = sorted(_names(walked), key=len, reverse=True)
    client = _login(walked, username, "en")
    found: list[str] = []
    pages = 0
    for url, page in _crawl(client):
        pages += 1
        text = _visible_text(page)
        for name in names:
            text = text.replace(name, " ")
        leaks = [run for run in CJK.findall(text) if re.search(r"[\u3400-\u9fff]", run)]
        found += [f"{url}: {leak}" for leak in leaks]
    assert pages > 5, "the walk reached too few pages"
    assert found == [], "\n".join(found)


def test_the_walk_covers_the_pages_of_a_case(walked: Flask) -> None:
    """The walk is only worth something if it reaches the task, case and document pages."""
    client = _login(walked, f"{COUNTY}.office_director", "zh_CN")
    urls = [url for url, _page in _crawl(client)]
    for kind in ("/tasks/", "/cases/", "/documents/"):
        assert any(kind in u for u in urls), f"no {kind} page reached: {urls}"


def test_the_diagram_reads_in_english_in_chromium(browser: Any, walked: Flask, live_server: str) -> None:
    """The viewer draws the diagram's own (Chinese) names; on an English page it draws their English."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    try:
        login_page(page, live_server, f"{COUNTY}.office_director")
        page.click("button[name=locale]")  # 中文 → English
        page.goto(f"{live_server}/cases/{walked.config['WALKED_CASE']}")
        page.wait_for_selector("#diagram[data-loaded]")
        labels = page.evaluate(
            "Array.from(document.querySelectorAll('#diagram svg text')).map(t => t.textContent)"
        )
        assert "Notification proposed" in labels  # the 通报 procedure, where the case stands
        names = _names(walked)
        chinese = [t for t in labels if re.search(r"[\u3400-\u9fff]", t) and t.strip() not in names]
        assert chinese == []
    finally:
        page.close()


# What a reader sees in Chromium once scripts have run (charts, shown/hidden fields, the diagram), without
# what is not the page's own words — the same parts _visible_text drops.
_READ = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('script, style, code, textarea, .gongwen, .pre, dl.facts > dd, [lang]')
    .forEach((el) => el.remove());
  return body.innerText + '\\n' + Array.from(document.querySelectorAll('svg text'))
    .map((t) => t.textContent).join('\\n');
}"""


@pytest.mark.parametrize("username", [f"{COUNTY}.office_director", f"{TOWN}.unit_principal_leader"])
def test_english_pages_in_chromium_show_no_chinese_but_names(
    browser: Any, walked: Flask, live_server: str, username: str
) -> None:
    """The walk again, in a real browser, in English: what scripts draw (the charts, the diagram, the
    forms' conditional fields) is read too."""
    urls = [url for url, _page in _crawl(_login(walked, username, "en"))][:25]
    names = sorted(_names(walked), key=len, reverse=True)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    found: list[str] = []
    try:
        login_page(page, live_server, username)  # the account's locale is English since the walk above
        assert page.evaluate("document.documentElement.lang") == "en"
        for url in urls:
            page.goto(f"{live_server}{url}")
            page.wait_for_load_state("networkidle")
            text = str(page.evaluate(_READ))
            for name in names:
                text = text.replace(name, " ")
            found += [f"{url}: {run}" for run in CJK.findall(text) if re.search(r"[\u3400-\u9fff]", run)]
    finally:
        page.close()
    assert len(urls) > 5 and errors == []
    assert found == [], "\n".join(found)


def test_citations_read_as_an_official_writes_them() -> None:
    """第四十条、第四十一条：… in Chinese, without obligation ids; Art. 40, Art. 41 in English."""
    from app import create_app
    from app.labels import cited_text

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "test"})
    machine = "Art. 40 (O40.1), Art. 41 (O41.1), Art. 32, 39 (O39.1): 办理中发现从重或从轻情节"
    with app.test_request_context("/"):
        assert cited_text(machine) == "第四十条、第四十一条、第三十二条、第三十九条：办理中发现从重或从轻情节"
    with app.test_request_context("/?lang=en"):
        assert cited_text("Art. 40 (O40.1), Art. 41 (O41.1)") == "Art. 40, Art. 41"
