"""Demo accounts exist only where demo data was loaded (issue 15, "Administration"): the demo loader marks the
database (an ``audit_log`` row ``demo_data``); anywhere else the password ``demo`` is refused at login, when
an account is created (page, CLI, import) or its password set, and the start-up check names the accounts
that still have it."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app import create_app
from app.audit import AuditEntry
from app.auth.demo_mode import DEMO_ACTION, demo_loaded, mark_demo_loaded, warn_at_start
from app.auth.models import RoleGrant, User
from app.auth.services import AccountError, authenticate, create_user, set_password
from app.extensions import db
from tests.conftest import CITY, demo_app

SECRET = "a-real-secret-42"


def web_client(app: Flask) -> tuple[FlaskClient, str]:
    client = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token
    return client, token[1]


def web_login(app: Flask, username: str, password: str) -> Any:
    client, token = web_client(app)
    return client, client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture
def plain_app(session: Session, db_url: str) -> Iterator[Flask]:
    """The app on a database that was never loaded as demo data (the test organisation only), with an
    administrator whose password is real and a demo account copied in from a demo database."""
    session.add_all(
        [
            User(
                username="411302.office_director",
                display_name="复制来的账号",
                password_hash=generate_password_hash("demo"),
            ),
            admin := User(
                username="chief.admin", display_name="管理员", password_hash=generate_password_hash(SECRET)
            ),
        ]
    )
    session.flush()
    session.add(RoleGrant(user_id=admin.id, role="admin", org_code=CITY))
    session.commit()
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test", "DEMO_PASSWORD_CHECK": False})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # its pool's connections, before the session fixture empties the tables


def test_a_database_not_loaded_as_demo_refuses_the_demo_password(
    plain_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    with plain_app.app_context():
        assert not demo_loaded(db.session())
        for password in ("demo", " DEMO "):
            with pytest.raises(AccountError, match="不能使用演示密码 demo"):
                create_user(db.session(), "new.user", "新用户", password)
        user = db.session.scalar(select(User).where(User.username == "chief.admin"))
        assert user
        with pytest.raises(AccountError, match="不能使用演示密码 demo"):
            set_password(db.session(), user, "demo")
        assert (
            authenticate(db.session(), "411302.office_director", "demo") is None
        )  # the hash matches; refused
        db.session.rollback()

    assert warn_at_start(plain_app) == ["411302.office_director"]
    assert "1 account(s) have the demo password 'demo'" in capsys.readouterr().err
    with plain_app.app_context():  # a second one sharing the demo loader's single hash is found too
        copied = db.session.scalar(select(User).where(User.username == "411302.office_director"))
        assert copied
        db.session.add(User(username="someone", display_name="某人", password_hash=copied.password_hash))
        db.session.commit()
    assert warn_at_start(plain_app) == ["411302.office_director", "someone"]

    _client, refused = web_login(plain_app, "411302.office_director", "demo")
    assert refused.status_code == 401 and "用户名或密码错误" in refused.get_data(as_text=True)
    api = plain_app.test_client().post(
        "/api/v1/auth/login", json={"username": "411302.office_director", "password": "demo"}
    )
    assert api.status_code == 401

    admin, logged_in = web_login(plain_app, "chief.admin", SECRET)
    assert logged_in.status_code == 302
    page = admin.get("/admin/users").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token
    created = admin.post(
        "/admin/users",
        data={"csrf_token": token[1], "username": "new.user", "display_name": "新用户", "password": "demo"},
    )
    assert "不能使用演示密码 demo" in admin.get(created.headers["Location"]).get_data(as_text=True)
    csv = "姓名,账号,初始密码,角色,授权单位代码\n新同事,new.colleague,demo,督导人员,411300\n".encode()
    preview = admin.post(
        "/admin/import/people",
        data={"csrf_token": token[1], "file": (io.BytesIO(csv), "p.csv")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 422 and "不能使用演示密码 demo" in preview.get_data(as_text=True)
    with plain_app.app_context():
        assert db.session.scalar(select(User).where(User.username.in_(["new.user", "new.colleague"]))) is None
        mark_demo_loaded(db.session(), accounts=1)  # what the demo loader does: now it is a demo database
        db.session.commit()
    assert web_login(plain_app, "411302.office_director", "demo")[1].status_code == 302
    assert warn_at_start(plain_app) == []


def test_the_demo_loader_marks_its_database(db_url: str, sql_engine: object) -> None:
    with demo_app(db_url) as app, app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == DEMO_ACTION))
        accounts = db.session.scalars(select(User.id)).all()
        assert entry and entry.actor == "init-demo" and entry.detail["accounts"] == len(accounts)
        assert warn_at_start(app) == []  # a demo database: silence
        assert web_login(app, f"{CITY}.admin", "demo")[1].status_code == 302
        again = app.test_cli_runner().invoke(args=["init-demo"])
        assert again.exit_code == 0
        assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == DEMO_ACTION)).all()) == 1
