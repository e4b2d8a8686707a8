"""Versioned JSON API (``/api/v1``): thin views over the engine and case services, described by OpenAPI
(``/api/v1/openapi.json``). Every view: load input with its schema, check access, call one service, commit,
dump. Errors come back as ``{"error": code, "message": ..., "errors": {...}}`` with a fitting status."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import (  # noqa: E402,F401  (registers routes)
    auth,
    cases,
    commendations,
    consultations,
    designer,
    documents,
    errors,
    incidents,
    indicators,
    meta,
    openapi,
    org,
    processes,
    records,
    regulation,
    supervision,
    tasks,
)
