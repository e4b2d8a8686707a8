"""The administrator's accounts page on the real city's demo accounts (issue 15, "Administration"): paged on
the server with bounded page sizes, searched by name, account, post and unit (Chinese substrings), filtered
by unit and role, and a grant form that starts empty and refuses to grant anything not chosen."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.auth.models import RoleGrant, User
from app.extensions import db
from app.params import MAX_PER_PAGE
from tests.conftest import demo_app
from tests.org_people_support import web_login
from workflows.regulation.people import Person, Post

ADMIN = "411300.admin"


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


@pytest.fixture(scope="module")
def admin(app: Flask) -> FlaskClient:
    return web_login(app, ADMIN)


def csrf(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found
    return found[1]


def usernames(page: str) -> list[str]:
    return re.findall(r'<tr data-user="([^"]+)"', page)


def test_the_first_page_is_small_and_says_how_many_accounts_there_are(app: Flask, admin: FlaskClient) -> None:
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(User))
        first = db.session.scalars(select(User.username).order_by(User.username).limit(50)).all()
    assert total and total > 700  # the real city: every county, township and member unit
    response = admin.get("/admin/users")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert usernames(page) == list(first)
    assert f"共 {total} 个账号，第 1 / {-(-total // 50)} 页" in page
    assert len(response.data) < 150_000  # was 2.5 MB: every row carried every unit
    assert 'id="grant-form"' not in page  # no grant form until an account is chosen
    second = admin.get("/admin/users?page=2").get_data(as_text=True)
    assert usernames(second)[0] > usernames(page)[-1]
    assert 'rel="prev"' in second and 'rel="next"' in second


def test_page_and_page_size_are_bounded(admin: FlaskClient) -> None:
    assert len(usernames(admin.get("/admin/users?per_page=100000").get_data(as_text=True))) == MAX_PER_PAGE
    assert len(usernames(admin.get("/admin/users?per_page=1").get_data(as_text=True))) == 20
    assert len(usernames(admin.get("/admin/users?per_page=abc&page=-3").get_data(as_text=True))) == 50
    past = admin.get("/admin/users?page=99999999999999999999999")
    assert past.status_code == 200 and "没有找到" in past.get_data(as_text=True)


def test_search_by_unit_name_person_post_and_account(app: Flask, admin: FlaskClient) -> None:
    by_unit = usernames(admin.get("/admin/users?q=宛城&per_page=200").get_data(as_text=True))
    assert "411302.office_director" in by_unit  # 宛城区's own accounts
    assert "411302-M02.member_unit" in by_unit  # 南阳市公安局宛城分局
    assert not any(
        u.startswith(("411303.", "411302001.")) for u in by_unit
    )  # 卧龙区; 东关街道 is not named 宛城
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "411302002.government_principal"))
        assert user and user.person_id
        person = db.session.get(Person, user.person_id)
        assert person
        name = person.name
        title = db.session.scalar(select(Post.title).where(Post.person_id == person.id))
    assert "411302002.government_principal" in usernames(
        admin.get(f"/admin/users?q={name}").get_data(as_text=True)
    )
    assert "411302002.government_principal" in usernames(
        admin.get(f"/admin/users?q={title}&org_code=411302002").get_data(as_text=True)
    )
    by_post = usernames(admin.get("/admin/users?q=综治办主任&per_page=200").get_data(as_text=True))
    assert "411302.office_director" in by_post and "411300.office_director" in by_post
    assert usernames(admin.get("/admin/users?q=411302.OFFICE_director").get_data(as_text=True)) == [
        "411302.office_director"
    ]
    assert usernames(admin.get("/admin/users?q=%25").get_data(as_text=True)) == []  # no wildcard


def test_filters_by_unit_and_role(app: Flask, admin: FlaskClient) -> None:
    at_unit = usernames(admin.get("/admin/users?org_code=411302&per_page=200").get_data(as_text=True))
    members = usernames(
        admin.get("/admin/users?role=joint_meeting_member&per_page=200").get_data(as_text=True)
    )
    both = usernames(
        admin.get("/admin/users?role=joint_meeting_member&org_code=411302").get_data(as_text=True)
    )
    with app.app_context():
        granted = {
            u: {(g.role, g.org_code) for g in user.grants}
            for u in at_unit + members
            if (user := db.session.scalar(select(User).where(User.username == u)))
        }
    assert at_unit and all(any(org == "411302" for _r, org in granted[u]) for u in at_unit)
    assert len(members) == 5 * 16  # five departments in the city and each of the 15 counties
    assert all(any(r.startswith("joint_meeting_member/") for r, _o in granted[u]) for u in members)
    assert sorted(both) == sorted(u for u in members if u.startswith("411302."))


def test_the_grant_form_starts_empty_and_grants_only_what_is_chosen(app: Flask, admin: FlaskClient) -> None:
    with app.app_context():
        target = db.session.scalar(select(User).where(User.username == "411302001.unit_in_charge_leader"))
        assert target
        user_id, before = target.id, len(target.grants)
    page = admin.get(f"/admin/users?q=东关&grant_to={user_id}").get_data(as_text=True)
    form = page[page.index('id="grant-form"') : page.index("</form>", page.index('id="grant-form"'))]
    role_select = re.search(r'<select name="role" required>(.*?)</select>', form, re.S)
    assert role_select and role_select[1].startswith('<option value="">请选择角色</option>')
    assert "selected" not in form  # neither a role (系统管理员 was the default) nor a unit is preselected
    assert '<select name="org_code" required>' in form
    back = "/admin/users?q=%E4%B8%9C%E5%85%B3"

    def post(**data: str) -> str:
        response = admin.post(
            f"/admin/users/{user_id}/grants", data={"csrf_token": csrf(page), "back": back, **data}
        )
        assert response.status_code == 302
        return admin.get(response.headers["Location"]).get_data(as_text=True)

    refused = post(role="", org_code="")
    assert "未授权：请选择要授予的角色；请选择单位。" in refused and 'id="grant-form"' in refused
    assert "未授权：请选择单位。" in post(role="inspector", org_code="")
    assert "未知角色：nobody" in post(role="nobody", org_code="411302")
    with app.app_context():
        assert len(db.session.get(User, user_id).grants) == before  # type: ignore[union-attr]
    granted = post(role="inspector", org_code="411302")
    assert "已授予 411302001.unit_in_charge_leader：督导检查人员 @ 411302" in granted
    assert 'id="grant-form"' not in granted and "东关" in granted  # back on the same search
    with app.app_context():
        row = db.session.scalar(
            select(RoleGrant).where(RoleGrant.user_id == user_id, RoleGrant.role == "inspector")
        )
        assert row and row.org_code == "411302" and row.post_id is None
        grant_id = row.id
    revoked = admin.post(f"/admin/grants/{grant_id}/revoke", data={"csrf_token": csrf(page), "back": back})
    assert revoked.headers["Location"].endswith(back)
    with app.app_context():
        assert db.session.get(RoleGrant, grant_id) is None


def test_only_administrators_see_the_accounts(app: Flask) -> None:
    assert web_login(app, "411302.office_director").get("/admin/users").status_code == 403
