"""Marshmallow schemas of the v1 API: what goes in (load) and what comes out (dump). Also the source of
the OpenAPI document (app/api/openapi.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, fields, validate

from app.cases.services import LEVELS
from app.params import Id, Page, PerPage
from workflows.engine.legaltime.legal_time import to_cst


class CstDateTime(fields.AwareDateTime):
    """Instants are written with the +08:00 offset: deadlines are Nanyang times (DOMAIN.md, "Time"). The one
    datetime format of the API: every instant in a response goes through this field."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"description": "ISO 8601 with the +08:00 offset", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else super()._serialize(to_cst(value), attr, obj, **kwargs)


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class GrantSchema(Schema):
    role = fields.String()
    org_code = fields.String()


class MeSchema(Schema):
    username = fields.String()
    display_name = fields.String()
    locale = fields.String()
    grants = fields.List(fields.Nested(GrantSchema))
    csrf_token = fields.String()


class TaskSchema(Schema):
    id = fields.String()
    instance_id = fields.Integer()
    process_id = fields.String()
    element_id = fields.String()
    name = fields.String()
    role = fields.String()
    org_code = fields.String()
    unit_code = fields.String()
    form = fields.String(allow_none=True)
    article = fields.String(allow_none=True)
    due_at = CstDateTime(allow_none=True)
    due_provisional = fields.Boolean()
    remind_at = CstDateTime(allow_none=True)
    state = fields.String()
    created_at = CstDateTime()
    claimed_by = fields.String(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_at = CstDateTime(allow_none=True)
    deadline_status = fields.String(dump_only=True)
    colour = fields.String(dump_only=True)


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CompleteTaskSchema(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": "the form's fields"})
    comment = fields.String(
        load_default="", validate=validate.Length(max=2000), metadata={"description": "办理意见, on file"}
    )
    internal = fields.Boolean(
        load_default=False,
        metadata={"description": "the comment is internal: the supervised unit never sees it"},
    )


class SendBackSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class TransferSchema(Schema):
    to = fields.String(
        required=True, validate=validate.Length(min=1, max=80), metadata={"description": "username"}
    )
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class UrgeSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class CommentSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    internal = fields.Boolean(load_default=False, metadata={"description": "hidden from the supervised unit"})


class DeadlineSchema(Schema):
    kind = fields.String()
    task_id = fields.String(allow_none=True)
    name = fields.String()
    due_at = CstDateTime()
    provisional = fields.Boolean()
    remind_at = CstDateTime(allow_none=True)
    status = fields.String()


class EventSchema(Schema):
    id = fields.Integer()
    at = CstDateTime()
    actor = fields.String()
    kind = fields.String()
    element_id = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    detail = fields.Dict()


class SanctionSchema(Schema):
    kind = fields.String()
    unit_code = fields.String()
    article = fields.String()
    start_at = CstDateTime()
    end_at = CstDateTime(allow_none=True)


class CaseRowSchema(Schema):
    id = fields.Integer()
    business_key = fields.String()
    unit_code = fields.String()
    unit_name = fields.String()
    county_code = fields.String(allow_none=True)
    county_name = fields.String(allow_none=True)
    level = fields.String(allow_none=True, metadata={"enum": list(LEVELS)})
    stage = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    status = fields.String()
    steps = fields.List(fields.String())
    due_at = CstDateTime(allow_none=True)
    due_provisional = fields.Boolean()
    deadline_status = fields.String()
    colour = fields.String()
    created_at = CstDateTime()
    updated_at = CstDateTime()


class TaskDetailSchema(TaskSchema):
    form_schema = fields.Dict(
        allow_none=True, metadata={"description": "the task's form (JSON Schema), null when it has none"}
    )
    values = fields.Dict(
        metadata={"description": "what the form is prefilled with (e.g. a drafted document), its fields only"}
    )


class CompletionSchema(Schema):
    case = fields.Nested(CaseRowSchema, metadata={"description": "the case as the step left it"})
    next_tasks = fields.List(
        fields.Nested(TaskDetailSchema),
        metadata={
            "description": "the caller's next ready tasks in this case, each with its form (JSON Schema) and "
            "prefill, so no second request is needed; empty when the case waits on others or is done"
        },
    )


class CasePageSchema(Schema):
    items = fields.List(fields.Nested(CaseRowSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CaseDetailSchema(CaseRowSchema):
    tasks = fields.List(fields.Nested(TaskSchema))
    deadlines = fields.List(fields.Nested(DeadlineSchema))
    history = fields.List(fields.Nested(EventSchema))
    sanctions = fields.List(fields.Nested(SanctionSchema))
    version_id = fields.Integer()


class CaseQuerySchema(Schema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    status = fields.String(validate=validate.OneOf(["running", "complete", "error", "cancelled"]))
    county = fields.String()
    overdue = fields.Boolean()
    page = Page()
    per_page = PerPage()
    q = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "words searched in case number, unit, people and facts (all must match)"},
    )


class TaskQuerySchema(Schema):
    page = Page()
    per_page = PerPage()


class ProblemSchema(Schema):
    file = fields.String()
    line = fields.Integer(allow_none=True)
    element = fields.String(allow_none=True)
    message = fields.String()


class ErrorSchema(Schema):
    error = fields.String(metadata={"description": "machine-readable code"})
    message = fields.String()
    errors = fields.Dict(metadata={"description": "field → messages, for invalid input"})
    problems = fields.List(
        fields.Nested(ProblemSchema), metadata={"description": "where a deploy was refused (422)"}
    )
    detail = fields.String(metadata={"description": "the engine's own text (process_failed, 422)"})


class StatusSchema(Schema):
    status = fields.String()


class HealthSchema(Schema):
    status = fields.String()
    now = CstDateTime()


# Definitions and migrations (designers)


class DeploySchema(Schema):
    files = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "path (bpmn/<name>.bpmn or forms/<name>.json) → content"},
    )
    comment = fields.String(load_default="")
    base = Id(
        load_default=None, allow_none=True, metadata={"description": "version to build on (default: newest)"}
    )


class UploadSchema(Schema):
    """The multipart form of the same upload, as a desktop modeller's files (.bpmn/.json)."""

    files = fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}), required=True)
    comment = fields.String()


class DeployResultSchema(Schema):
    version = fields.Integer()
    processes = fields.List(fields.String())
    unchanged = fields.Boolean(
        metadata={"description": "true: the files say what the newest version says; no version was created"}
    )


class DefinitionVersionSchema(Schema):
    number = fields.Integer()
    created_at = CstDateTime()
    created_by = fields.String()
    processes = fields.List(fields.String())
    files = fields.List(fields.String(), metadata={"description": "paths"})


class ElementChangeSchema(Schema):
    id = fields.String()
    type = fields.String()
    name = fields.String()
    old = fields.String(metadata={"description": "renamed: the old name"})
    new = fields.String(metadata={"description": "renamed: the new name"})
    aspects = fields.List(
        fields.String(), metadata={"description": "changed: what changed (说明文档, 连线起止, 条件, 脚本, …)"}
    )


class FileChangesSchema(Schema):
    path = fields.String()
    status = fields.String(validate=validate.OneOf(["added", "removed", "changed", "unchanged"]))
    added = fields.List(fields.Nested(ElementChangeSchema))
    removed = fields.List(fields.Nested(ElementChangeSchema))
    renamed = fields.List(fields.Nested(ElementChangeSchema))
    changed = fields.List(fields.Nested(ElementChangeSchema))
    content_changed = fields.Boolean()
    marks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "element id → added | changed | removed (the diagram diff)"},
    )


class ComparisonSchema(Schema):
    changes = fields.List(fields.Nested(FileChangesSchema))


class MigrationSchema(Schema):
    to_version = Id(required=True)
    instance_ids = fields.List(Id(), load_default=None, allow_none=True)
    process_id = fields.String(load_default=None, allow_none=True)
    dry_run = fields.Boolean(load_default=True)


class MigrationPlanSchema(Schema):
    instance_id = fields.Integer()
    business_key = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    can_migrate = fields.Boolean()
    reasons = fields.List(fields.String())
    changed = fields.List(fields.String(), metadata={"description": "element ids whose definition changed"})
    removed = fields.List(fields.String(), metadata={"description": "element ids gone in the new version"})
    migrated = fields.Boolean()


class MigrationResultSchema(Schema):
    dry_run = fields.Boolean()
    results = fields.List(fields.Nested(MigrationPlanSchema))


class DeliverySchema(Schema):
    unit_code = fields.String()
    role = fields.String(metadata={"description": "main (主送) or copy (抄送)"})
    delivered_at = CstDateTime()
    received_at = CstDateTime(allow_none=True, metadata={"description": "签收; null until received"})
    received_by = fields.String(allow_none=True)


class DocumentLinksSchema(Schema):
    html = fields.String()
    docx = fields.String()
    pdf = fields.String(metadata={"description": "redirects to the HTML page when LibreOffice is missing"})


class DocumentSchema(Schema):
    """An issued 公文 (GB/T 9704-2012); ``sha256`` is the frozen .docx's."""

    COLUMNS = (
        "id",
        "instance_id",
        "unit_code",
        "kind",
        "article",
        "number",
        "title",
        "main_recipients",
        "copied_to",
        "issuer",
        "doc_date",
        "issued_at",
        "issued_by",
        "sha256",
    )
    id = fields.Integer()
    instance_id = fields.Integer()
    unit_code = fields.String()
    kind = fields.String()
    kind_label = fields.String()
    article = fields.String()
    number = fields.String(metadata={"description": "发文字号, e.g. 宛综治办〔2026〕7号"})
    title = fields.String()
    main_recipients = fields.List(fields.String())
    copied_to = fields.List(fields.String())
    issuer = fields.String()
    doc_date = fields.String(metadata={"description": "成文日期, YYYY-MM-DD (a calendar date in Nanyang)"})
    issued_at = CstDateTime()
    issued_by = fields.String()
    sha256 = fields.String()
    links = fields.Nested(DocumentLinksSchema)
    deliveries = fields.List(fields.Nested(DeliverySchema))


class ReceiptSchema(Schema):
    unit_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
