"""The organisation and its people: units (member units of the committees, units of the city-direct systems),
people with their posts and dates, who holds a role at a unit on a day, and CSV/Excel import. Reading units
and holders needs a login; everything else the ``admin`` role. The same services as the admin pages
(``app/org/services.py``, ``app/org/imports.py``): a change of post moves the role grants at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from app.api import bp
from app.api.errors import error_response
from app.api.openapi import doc
from app.api.org_schemas import (
    OrgHoldersQuerySchema,
    OrgHoldersSchema,
    OrgImportReportSchema,
    OrgImportSchema,
    OrgPeopleQuerySchema,
    OrgPersonCreateSchema,
    OrgPersonSchema,
    OrgPostBodySchema,
    OrgPostChangeSchema,
    OrgPostEndSchema,
    OrgPostKindSchema,
    OrgPostSchema,
    OrgUnitCreateSchema,
    OrgUnitQuerySchema,
    OrgUnitSchema,
    OrgUnitUpdateSchema,
)
from app.extensions import db
from app.org import imports, services
from app.runtime import engine, runtime
from workflows.engine.errors import NotAuthorized, NotFound
from workflows.regulation import people
from workflows.regulation.people import POST_KINDS, Person, Post
from workflows.regulation.roles import OrgNode, org_of


# -- helpers ------------------------------------------------------------------------------------------------
def _admin() -> None:
    if not any(g.role == "admin" for g in current_user.grants):
        raise NotAuthorized("the organisation and its people are maintained by an administrator (role admin)")


def _now() -> datetime:
    return runtime().clock.now()


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _post(post: Post, today: Any) -> dict[str, Any]:
    node = org_of(engine()).nodes.get(post.org_code)
    spec = POST_KINDS.get(post.kind)
    return {
        "id": post.id,
        "person_id": post.person_id,
        "person_name": post.person.name,
        "org_code": post.org_code,
        "org_name": node.name if node else post.org_code,
        "kind": post.kind,
        "kind_label": people.kind_label(post.kind),
        "roles": list(spec.roles if spec else ()),
        "title": post.title,
        "start_on": post.start_on,
        "end_on": post.end_on,
        "in_post": post.held_on(today),
    }


def _person(person: Person) -> dict[str, Any]:
    today = people.day_of(_now())
    session = db.session()
    return {
        "id": person.id,
        "name": person.name,
        "gender": person.gender,
        "notes": person.notes,
        "posts": [_post(p, today) for p in people.post_history(session, person)],
        "accounts": [u.username for u in services.accounts_of(session, person.id)],
    }


def _unit(node: OrgNode, holders: list[Post]) -> dict[str, Any]:
    return {**vars(node), "holders": [f"{p.person.name}（{p.label}）" for p in holders]}


def _committed_unit(code: str) -> dict[str, Any]:
    db.session.commit()
    runtime().reload_calendar(db.session())  # this process's organisation tree follows at once
    node = org_of(engine()).nodes[code]
    return OrgUnitSchema().dump(_unit(node, people.posts_at(db.session(), [code], _now())[code]))


@bp.errorhandler(services.OrgUnitError)
@bp.errorhandler(services.PeopleError)
@bp.errorhandler(imports.TableError)
def _org_invalid(exc: ValueError) -> ResponseReturnValue:
    db.session.rollback()
    return error_response("invalid_org_data", str(exc), 422)


# -- units --------------------------------------------------------------------------------------------------
@bp.get("/org/units")
@doc(
    "Organisation units with the people in post today",
    query=OrgUnitQuerySchema,
    response=OrgUnitSchema(many=True),
)
@login_required
def list_units() -> ResponseReturnValue:
    args = OrgUnitQuerySchema().load(request.args)
    org = org_of(engine())
    nodes = [
        n
        for n in sorted(org.nodes.values(), key=lambda n: n.code)
        if (not args.get("parent") or n.parent_code == args["parent"])
        and (not args.get("level") or n.level == args["level"])
        and (n.active or args["include_inactive"])
    ]
    posts = people.posts_at(db.session(), [n.code for n in nodes], _now())
    return OrgUnitSchema(many=True).dump([_unit(n, posts[n.code]) for n in nodes])


@bp.post("/org/units")
@doc("Add a unit: a member unit of a committee, a unit of a city-direct system…", body=OrgUnitCreateSchema,
     response=OrgUnitSchema, status=201, errors=(403,))  # fmt: skip
@login_required
def create_unit() -> ResponseReturnValue:
    _admin()
    data = OrgUnitCreateSchema().load(_body())
    unit = services.create_unit(db.session(), data["name"], data["level"], data["parent_code"], data["code"])
    return _committed_unit(unit.code), 201


@bp.patch("/org/units/<code>")
@doc(
    "Rename, move or (de)activate a unit", body=OrgUnitUpdateSchema, response=OrgUnitSchema, errors=(403, 404)
)
@login_required
def update_unit(code: str) -> ResponseReturnValue:
    _admin()
    data = OrgUnitUpdateSchema().load(_body())
    if code not in org_of(engine()).nodes:
        raise NotFound(f"no unit {code}")
    if "name" in data or "parent_code" in data:
        services.edit_unit(db.session(), code, data.get("name"), data.get("parent_code"))
    if "active" in data:
        services.set_unit_active(db.session(), code, data["active"], _now(), data["note"])
    return _committed_unit(code)


# -- people and posts ---------------------------------------------------------------------------------------
@bp.get("/org/people")
@doc("People by name or unit, with every post and linked account", query=OrgPeopleQuerySchema,
     response=OrgPersonSchema(many=True), errors=(403,))  # fmt: skip
@login_required
def list_people() -> ResponseReturnValue:
    _admin()
    args = OrgPeopleQuerySchema().load(request.args)
    found = services.search_people(db.session(), args["q"], args["org_code"])
    return OrgPersonSchema(many=True).dump([_person(p) for p in found])


@bp.get("/org/people/<int:person_id>")
@doc("One person: posts with their dates (history included) and accounts", response=OrgPersonSchema,
     errors=(403, 404))  # fmt: skip
@login_required
def read_person(person_id: int) -> ResponseReturnValue:
    _admin()
    person = db.session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person {person_id}")
    return OrgPersonSchema().dump(_person(person))


@bp.post("/org/people")
@doc("Add a person, with posts and linked accounts", body=OrgPersonCreateSchema, response=OrgPersonSchema,
     status=201, errors=(403,))  # fmt: skip
@login_required
def create_person() -> ResponseReturnValue:
    _admin()
    data = OrgPersonCreateSchema().load(_body())
    session, now = db.session(), _now()
    person = services.add_person(session, data["name"], data["gender"], data["notes"])
    for post in data["posts"]:
        services.assign_post(
            session,
            person.id,
            post["org_code"],
            post["kind"],
            post["start_on"],
            now,
            post["title"],
            post["end_on"],
        )
    for username in data["accounts"]:
        services.link_account(session, person.id, username, now)
    db.session.commit()
    return OrgPersonSchema().dump(_person(person)), 201


@bp.post("/org/people/<int:person_id>/posts")
@doc("Start a post (its roles are held from start_on)", body=OrgPostBodySchema, response=OrgPostSchema,
     status=201, errors=(403,))  # fmt: skip
@login_required
def start_post(person_id: int) -> ResponseReturnValue:
    _admin()
    data = OrgPostBodySchema().load(_body())
    post = services.assign_post(
        db.session(), person_id, data["org_code"], data["kind"], data["start_on"], _now(),
        data["title"], data["end_on"],
    )  # fmt: skip
    db.session.commit()
    return OrgPostSchema().dump(_post(post, people.day_of(_now()))), 201


@bp.post("/org/posts/<int:post_id>/end")
@doc("End a post: the person leaves on end_on", body=OrgPostEndSchema, response=OrgPostSchema, errors=(403,))
@login_required
def end_post(post_id: int) -> ResponseReturnValue:
    _admin()
    data = OrgPostEndSchema().load(_body())
    post = services.end_post(db.session(), post_id, data["end_on"], _now())
    db.session.commit()
    return OrgPostSchema().dump(_post(post, people.day_of(_now())))


@bp.post("/org/posts/<int:post_id>/change")
@doc("Change of post (调任): the post ends on `on`, the new one starts; roles and open tasks move",
     body=OrgPostChangeSchema, response=OrgPostSchema, status=201, errors=(403,))  # fmt: skip
@login_required
def change_post(post_id: int) -> ResponseReturnValue:
    _admin()
    data = OrgPostChangeSchema().load(_body())
    post = services.change_post(
        db.session(),
        post_id,
        data["on"],
        _now(),
        org_code=data["org_code"],
        kind=data["kind"],
        title=data["title"],
    )
    db.session.commit()
    return OrgPostSchema().dump(_post(post, people.day_of(_now()))), 201


@bp.get("/org/holders")
@doc("Who holds a role at a unit on a day, by name (张三（区委书记）)", query=OrgHoldersQuerySchema,
     response=OrgHoldersSchema)  # fmt: skip
@login_required
def holders() -> ResponseReturnValue:
    args = OrgHoldersQuerySchema().load(request.args)
    on = args["on"] or people.day_of(_now())
    posts = people.holder_posts(db.session(), args["role"], args["org_code"], on)
    return OrgHoldersSchema().dump(
        {
            **args,
            "on": on,
            "holders": [f"{p.person.name}（{p.label}）" for p in posts],
            "posts": [_post(p, on) for p in posts],
        }
    )


@bp.get("/org/post-kinds")
@doc("The kinds of post and the workflow roles each carries", response=OrgPostKindSchema(many=True))
@login_required
def post_kinds() -> ResponseReturnValue:
    return OrgPostKindSchema(many=True).dump(
        [
            {"kind": kind, "label": spec.label, "roles": list(spec.roles), "levels": sorted(spec.levels)}
            for kind, spec in POST_KINDS.items()
        ]
    )


@bp.post("/org/import/<any(units, people):what>")
@doc("Import units or people with posts from a CSV or .xlsx file (all rows or none)",
     multipart=OrgImportSchema, response=OrgImportReportSchema, errors=(403,))  # fmt: skip
@login_required
def import_table(what: str) -> ResponseReturnValue:
    """A bad row refuses the whole file: 422 with ``errors`` {row number: problem} (row 1 is the header)."""
    _admin()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return error_response("invalid_input", "send the file as multipart field 'file'", 422)
    headers = imports.UNIT_HEADERS if what == "units" else imports.PEOPLE_HEADERS
    rows = imports.read_table(upload.filename, upload.read(), headers)
    session = db.session()
    report: Any = (
        imports.import_units(session, rows, people.day_of(_now()))
        if what == "units"
        else imports.import_people(session, rows, _now())
    )
    if report.errors:
        session.rollback()
        return error_response(
            "invalid_rows", f"{len(report.errors)} bad row(s); nothing imported", 422, report.errors
        )
    db.session.commit()
    runtime().reload_calendar(db.session())
    return OrgImportReportSchema().dump(report)
