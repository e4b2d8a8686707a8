"""The pages that had inline scripts, under the Content-Security-Policy in headless Chromium (issue 16,
point 5): the dashboard's charts, the bpmn-js modeller with its properties panel, and the form editor's
live preview load and work with no CSP violation; an inline script injected into a page does not run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import demo_app

#: Collects every CSP violation the page reports, before any of the page's own scripts runs.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


class Watched:
    """A page whose script errors, console messages about the policy and CSP violations are recorded."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page(viewport={"width": 1500, "height": 950})
        self.errors: list[str] = []
        self.console: list[str] = []
        self.page.add_init_script(WATCH_VIOLATIONS)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.console.append(message.text)

    def login(self, base: str, username: str) -> None:
        self.page.goto(f"{base}/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", "demo")
        self.page.click("button.primary")
        self.page.wait_for_url(f"{base}/inbox")

    def assert_clean(self, where: str) -> None:
        violations = self.page.evaluate("window.__cspViolations")
        assert violations == [], (where, violations)
        assert self.console == [], (where, self.console)
        assert self.errors == [], (where, self.errors)


def test_dashboard_modeller_and_form_editor_run_under_the_policy(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    watched = Watched(browser)
    page = watched.page
    try:
        watched.login(live_server, "411300.supervisor")
        response = page.goto(f"{live_server}/dashboard")
        assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
        for name in ("levels", "stages", "counties", "letters", "grades", "findings"):
            page.wait_for_selector(f"#chart-{name}[data-rendered]")
        watched.assert_clean("dashboard")
        # The year selector opens the chosen year (a listener in year-select.js, no inline onchange).
        other = page.eval_on_selector_all(
            "#year-select option:not([selected])", "options => options.map(o => o.value)"
        )[0]
        page.select_option("#year-select select", other)
        page.wait_for_url(re.compile(rf"/dashboard\?year={other}$"))
        watched.assert_clean("dashboard, another year")

        page.goto(f"{live_server}/login")  # the designer's account
        page.context.clear_cookies()
        watched.login(live_server, "411300.designer")
        page.goto(f"{live_server}/designer/edit/1/bpmn/accountability_intake.bpmn")
        page.wait_for_selector('[data-element-id="register_report"]')
        page.click('[data-element-id="register_report"]')
        page.wait_for_selector(".bio-properties-panel-header")
        canvas_height = page.eval_on_selector("#canvas", "c => c.getBoundingClientRect().height")
        assert canvas_height > 600  # designer.css (the page's former <style>) is applied
        watched.assert_clean("modeller")

        page.goto(f"{live_server}/designer/forms/1/forms/case_report.json")
        page.wait_for_selector("#preview[data-valid=yes] form")
        page.press("#preview form input:not([type=hidden]) >> nth=0", "Enter")  # a preview never submits
        assert page.url.endswith("/designer/forms/1/forms/case_report.json")
        watched.assert_clean("form editor")

        # The policy is enforced: an inline script put into the page does not run, and is reported.
        ran = page.evaluate(
            """() => new Promise((resolve) => {
              document.addEventListener('securitypolicyviolation', () => resolve(window.__injected === 1));
              const s = document.createElement('script');
              s.textContent = 'window.__injected = 1';
              document.body.appendChild(s);
            })"""
        )
        assert ran is False
        assert any("script-src" in v for v in page.evaluate("window.__cspViolations"))
    finally:
        page.close()
