"""What every response and every redirect must respect (issue 16, point 5).

* **Security headers** on every response (pages, JSON, static files, error pages): a Content-Security-Policy
  without inline script (pages hand their data to the static scripts in ``<script type="application/json">``
  blocks, which the browser never runs), no framing, no MIME sniffing, no full referrer to other sites.
* **Redirects to a user-supplied target** (``next``) go through :func:`safe_next`: only a path on this site.
* **Secure cookies over HTTPS**: the session cookie is ``Secure`` whenever the request came over HTTPS, and
  always when ``GOVERNANCE_HTTPS=1``; behind a reverse proxy (``GOVERNANCE_PROXIES=1``, the number of proxies
  in front) werkzeug's ProxyFix takes the scheme and the client's address from ``X-Forwarded-Proto`` /
  ``X-Forwarded-For`` — without that setting those headers are ignored, as anyone can send them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

#: ``style-src 'unsafe-inline'`` stays for inline ``style`` attributes only: some templates still carry
#: them, and the modeller's bundle (bpmn-js and its properties panel) sets style attributes on what it
#: draws — refused under ``style-src 'self'`` in Chromium (tests/test_browser_security.py found two), as
#: would be ECharts' tooltips. Four pages still have a ``<style>`` element (admin/_tabs.html,
#: regulation/diagram.html and coverage.html, documents/case_export.html); once those are style sheets,
#: ``style-src-elem 'self'`` can refuse injected ``<style>`` elements while attributes stay allowed.
#: ``data:`` images and fonts: bpmn-js's embedded icon font and the properties panel's icons.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default``: a link or a form must not bounce a user
    to another site (``//evil``, ``https://evil``, ``/\\evil``, ``javascript:…``, or a path that a browser
    turns into one of those after dropping tabs and line breaks)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default  # browsers read "\" as "/" and drop tabs/newlines: "/\evil", "/\t/evil" → "//evil"
    return target


def _add_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` when configured so or when this request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = super().get_cookie_secure(app)
        return configured or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("PROXY_COUNT", 0))
    if proxies > 0:
        # Trust exactly that many hops of X-Forwarded-For/-Proto/-Host; the client's address then feeds the
        # login throttle and the scheme the Secure cookie.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    app.session_interface = HttpsAwareSessionInterface()
    app.after_request(_add_headers)


def referrer_or(default: str) -> str:
    """Back to the page a form was posted from (``Referer``) when that page is on this site; else ``default``.
    The header comes from the browser, so it gets the same check as a ``next`` parameter."""
    parts = urlsplit(request.referrer or "")
    if parts.netloc != request.host:
        return default
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""), default)
