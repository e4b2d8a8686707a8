"""Schemas of the organisation API (app/api/org.py): units, people, posts, holders, imports."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows.regulation import people
from workflows.regulation.org_units import LEVELS
from workflows.regulation.people import POST_KINDS


class OrgUnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String(metadata={"description": ", ".join(LEVELS)})
    parent_code = fields.String(allow_none=True)
    active = fields.Boolean()
    holders = fields.List(fields.String(), metadata={"description": "people in post today, 张三（区委书记）"})


class OrgUnitQuerySchema(Schema):
    parent = fields.String(metadata={"description": "only units directly under this code"})
    level = fields.String(validate=validate.OneOf(list(LEVELS)))
    include_inactive = fields.Boolean(load_default=False)


class OrgUnitCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    level = fields.String(required=True, validate=validate.OneOf(list(LEVELS)))
    parent_code = fields.String(load_default=None, allow_none=True)
    code = fields.String(
        load_default=None, allow_none=True, metadata={"description": "empty: the next <parent>-Mnn / -Snn"}
    )


class OrgUnitUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    parent_code = fields.String()
    active = fields.Boolean(metadata={"description": "false deactivates the unit: its posts end today"})
    note = fields.String(load_default="")


class OrgPostSchema(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    person_name = fields.String()
    org_code = fields.String()
    org_name = fields.String()
    kind = fields.String()
    kind_label = fields.String()
    roles = fields.List(fields.String(), metadata={"description": "workflow roles the post carries"})
    title = fields.String()
    start_on = fields.Date()
    end_on = fields.Date(allow_none=True, metadata={"description": "the first day no longer in post"})
    in_post = fields.Boolean()


class OrgPersonSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    gender = fields.String(allow_none=True)
    notes = fields.String()
    posts = fields.List(fields.Nested(OrgPostSchema), metadata={"description": "every post, oldest first"})
    accounts = fields.List(fields.String())


class OrgPeopleQuerySchema(Schema):
    q = fields.String(load_default="", metadata={"description": "part of a name"})
    org_code = fields.String(load_default="", metadata={"description": "held or holds a post there"})


class OrgPostBodySchema(Schema):
    """A post is held at a unit in a kind (which gives its roles): both required, so a post missing one is
    a 422 naming the field, not a 500 (issue 16 point 4, found by tests/test_contract.py)."""

    org_code = fields.String(required=True, validate=validate.Length(min=2, max=32))
    kind = fields.String(required=True, validate=validate.OneOf(list(POST_KINDS)))
    title = fields.String(load_default="", validate=validate.Length(max=100))
    start_on = fields.Date(required=True)
    end_on = fields.Date(load_default=None, allow_none=True)


class OrgPersonCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    gender = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(list(people.GENDERS)))
    notes = fields.String(load_default="")
    posts = fields.List(fields.Nested(OrgPostBodySchema), load_default=list)
    accounts = fields.List(fields.String(), load_default=list, metadata={"description": "usernames to link"})


class OrgPostEndSchema(Schema):
    end_on = fields.Date(required=True)


class OrgPostChangeSchema(Schema):
    on = fields.Date(required=True, metadata={"description": "the old post ends, the new one starts"})
    org_code = fields.String(load_default=None)
    kind = fields.String(load_default=None, validate=validate.OneOf(list(POST_KINDS)))
    title = fields.String(load_default=None)


class OrgHoldersQuerySchema(Schema):
    role = fields.String(required=True)
    org_code = fields.String(required=True)
    on = fields.Date(load_default=None, metadata={"description": "default: today"})


class OrgHoldersSchema(Schema):
    role = fields.String()
    org_code = fields.String()
    on = fields.Date()
    holders = fields.List(fields.String(), metadata={"description": "张三（区委书记）"})
    posts = fields.List(fields.Nested(OrgPostSchema))


class OrgImportSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class OrgImportReportSchema(Schema):
    added = fields.List(fields.String())
    updated = fields.List(fields.String())
    persons_created = fields.Integer()
    posts_created = fields.Integer()
    posts_updated = fields.Integer()
    accounts_linked = fields.Integer()


class OrgPostKindSchema(Schema):
    kind = fields.String()
    label = fields.String()
    roles = fields.List(fields.String())
    levels = fields.List(fields.String())
