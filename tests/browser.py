"""Shared helpers for browser tests: Debian's Chromium driven by Playwright, and a live Flask server.

Enable them for the whole suite with one line in ``tests/conftest.py``::

    pytest_plugins = ["tests.browser"]

That registers the fixtures ``browser`` (one headless Chromium per session), ``live_app`` (the Flask app to
serve; override it in a test module to serve another) and ``live_server`` (its base URL), and the
``pytest_terminal_summary`` hook that prints a banner when browser tests were skipped.

Only ``/usr/bin/chromium`` is ever launched (``apt-get install chromium fonts-wqy-microhei``): Playwright's
own browser downloads cannot work here, and without the CJK font Chinese labels render as empty boxes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_MISSING = "Chromium not installed: apt-get install chromium fonts-wqy-microhei"
#: Flags for a root user on a machine whose only network is loopback: without the background-networking
#: ones Chromium keeps trying (and failing) to reach Google's hosts at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: Skips recorded by the fixtures, printed again as a banner at the end of the run.
_skipped: list[str] = []


def _skip_loudly(reason: str) -> None:
    if reason not in _skipped:
        _skipped.append(reason)
    pytest.skip(reason)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Make a skipped browser run impossible to miss in the summary (a skip alone is one letter)."""
    if not _skipped:
        return
    terminalreporter.section("BROWSER TESTS SKIPPED", sep="#", red=True, bold=True)
    for reason in _skipped:
        terminalreporter.line(f"## {reason}", red=True, bold=True)
    terminalreporter.line("## Browser tests (bpmn-js rendering, pages) did NOT run.", red=True, bold=True)


def launch_chromium(playwright: Any) -> Any:
    """Launch Debian's Chromium headless through a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session; open pages with ``browser.new_page()``."""
    if not CHROMIUM.exists():
        _skip_loudly(CHROMIUM_MISSING)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        _skip_loudly("playwright not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A WSGI app served by werkzeug on 127.0.0.1 in a daemon thread; ``url`` has no trailing slash."""

    def __init__(self, app: Any) -> None:
        self._server = make_server("127.0.0.1", free_port(), app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def live_app() -> Any:
    """The app ``live_server`` serves: the real factory, no scheduler, an in-memory database.

    Override this fixture (same name, in a test module or conftest) to serve an app bound to the test
    database or configured otherwise.
    """
    from app import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SCHEDULER_ENABLED": False,
        }
    )


@pytest.fixture
def live_server(live_app: Any) -> Iterator[str]:
    """Serve ``live_app`` on a free port of 127.0.0.1 for one test; yields the base URL."""
    with LiveServer(live_app) as server:
        yield server.url


def login_page(page: Any, base: str, username: str) -> None:
    """Log a Chromium page in through the login form as a demo account (password demo); lands on /inbox."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("button.primary")
    page.wait_for_url(f"{base}/inbox")


def wait_until(page: Any, expression: str, arg: Any = None, timeout: float = 5.0) -> Any:
    """Poll ``expression`` (a JavaScript function of ``arg``, or an expression) until it is truthy; its
    value. Playwright's ``wait_for_function`` evaluates its predicate with ``new Function`` inside the page,
    which the app's Content-Security-Policy (no ``unsafe-eval``) refuses — intermittently, depending on
    whether the first check already passes; ``page.evaluate`` goes through the DevTools protocol instead."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)
