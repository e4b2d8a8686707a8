"""What the organisation tests share (tests/test_org_people.py, tests/test_org_admin.py): the units they
work on, the demo clock (each module builds its own demo app at it), the API login, the account lookups."""

from __future__ import annotations

import re
from datetime import datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.auth.models import RoleGrant, User
from app.extensions import db
from workflows.engine.legaltime.legal_time import CST

CITY, COUNTY, TOWN = "411300", "411302", "411302001"
MEMBER, CITY_MEMBER, SYSTEM_UNIT = "411302-M02", "411300-M02", "CD02-S01"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # demo_app's clock
TODAY = NOW.date()
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def login(app: Flask, username: str) -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.json
    return client, {"X-CSRFToken": response.json["csrf_token"]}  # type: ignore[index]


def account(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    assert user is not None, username
    return user


def held_grants() -> set[tuple[str, str]]:
    rows = db.session.execute(
        select(RoleGrant.role, RoleGrant.org_code).join(User).where(User.active.is_(True))
    )
    return {(role, org) for role, org in rows}


def web_login(app: Flask, username: str) -> FlaskClient:
    """A test client logged in through the login form (its CSRF token) as a demo account."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert csrf
    response = client.post("/login", data={"username": username, "password": "demo", "csrf_token": csrf[1]})
    assert response.status_code == 302
    return client
