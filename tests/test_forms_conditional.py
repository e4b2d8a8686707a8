"""Forms that don't lead (issue 14, point 4): a field that only makes sense for one answer is shown only
for that answer (``x-show-if``) and required only then (``allOf``/``if``/``then``, the same rule in the
validator); no decision is preselected; a date of a past fact (``x-not-future``) cannot lie after the
engine's today.

The page hides a field whose condition does not hold and disables its inputs, so a stale value is never
posted; through the API a hidden field's value is validated like any other and kept (the diagrams read
the hidden fields only on the branch that shows them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.browser import login_page
from tests.conftest import demo_app
from tests.test_api_accountability import Desk
from workflows.engine.deploy.forms import NOT_FUTURE, parse_form, validate_submission
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import InstanceEvent

FORMS = Path(__file__).parent.parent / "forms"
COUNTY, TOWN = "411302", "411302001"

#: Dates of past facts: held, inspected, received, signed, decided, reported, paid (Art. 13–39).
PAST_FACTS = {
    ("acceptance", "inspected_on"),
    ("acceptance_application", "applied_on"),
    ("annual_assessment", "inspected_on"),
    ("annual_assessment_decision", "decided_on"),
    ("annual_debriefing", "held_on"),
    ("annual_filing", "occurred_on"),
    ("annual_findings", "inspected_on"),
    ("annual_hearing", "heard_on"),
    ("annual_letter_sign", "signed_on"),
    ("annual_plenary", "held_on"),
    ("annual_plenary_report", "reported_on"),
    ("annual_report_receipt", "received_on"),
    ("annual_report_upper", "submitted_on"),
    ("case_report", "report_date"),
    ("commendation_disbursement", "disbursed_on"),
    ("commendation_receipt", "handled_on"),
    ("document_draft", "doc_date"),
    ("inspection_findings", "inspected_on"),
    ("intake_register", "report_date"),
    ("interview_record", "held_on"),
    ("listing_receipt", "received_on"),
    ("meeting_joint", "held_on"),
    ("meeting_record", "held_on"),
    ("referral_discipline", "discipline_outcomes/decided_on"),
    ("referral_organization", "organization_outcomes/decided_on"),
}
#: Planned dates and deadlines: ahead by nature.
PLANNED = {"starts_on", "ends_on", "due_on"}


def load(name: str) -> dict[str, Any]:
    path = FORMS / f"{name}.json"
    schema, problems = parse_form(path.name, path.read_text(encoding="utf-8"))
    assert problems == [] and schema is not None, problems
    return schema


def all_forms() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(FORMS.glob("*.json")):
        yield path.stem, json.loads(path.read_text(encoding="utf-8"))


def dates(schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every date field of a form, a table's columns as ``table/column``."""
    for name, prop in schema.get("properties", {}).items():
        if prop.get("format") == "date":
            yield prefix + name, prop
        if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            yield from dates(prop["items"], f"{prefix}{name}/")


def condition(rule: dict[str, Any]) -> tuple[str, set[Any]]:
    """The field and values an ``allOf`` rule's ``if`` tests (const or enum, the field required)."""
    [(field, test)] = rule["if"]["properties"].items()
    assert rule["if"]["required"] == [field], "an if must require its field, or it holds vacuously"
    return field, set(test["enum"]) if "enum" in test else {test["const"]}


def errors_of(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(FormInvalid) as info:
        validate_submission(schema, data)
    return info.value.errors


# --- the forms ----------------------------------------------------------------------------------------------


def test_every_condition_names_a_field_of_the_form_and_a_value_it_can_take() -> None:
    for name, schema in all_forms():
        props = schema["properties"]
        for field, prop in props.items():
            shown = prop.get("x-show-if")
            if shown is None:
                continue
            assert field not in schema.get("required", []), f"{name}.{field}: hidden yet always required"
            for other, wanted in shown.items():
                assert other in props and other != field, f"{name}.{field}: {other}"
                values = wanted if isinstance(wanted, list) else [wanted]
                allowed = props[other].get("enum", [True, False] if props[other]["type"] == "boolean" else [])
                assert values and set(values) <= set(allowed), f"{name}.{field}: {wanted!r}"


def test_a_field_shown_on_a_condition_is_required_exactly_when_it_is_shown() -> None:
    """The page's rule and the validator's are one: the values that require a hidden field are the values
    that show it (a field may also be optional when shown, e.g. the committee's own interview)."""
    checked = 0
    for name, schema in all_forms():
        required_when: dict[str, set[Any]] = {}
        for rule in schema.get("allOf", []):
            field, values = condition(rule)
            for needed in rule.get("then", {}).get("required", []):
                shown = schema["properties"][needed].get("x-show-if")
                assert shown is not None, f"{name}.{needed} is required on a condition but always shown"
                assert list(shown) == [field], f"{name}.{needed}: shown on another field's answer"
                required_when.setdefault(needed, set()).update(values)
        for needed, values in required_when.items():
            [wanted] = schema["properties"][needed]["x-show-if"].values()
            assert values == set(wanted if isinstance(wanted, list) else [wanted]), f"{name}.{needed}"
            checked += 1
    assert checked >= 12  # intake_verify's four, county_check, document_review, the letter, filing, plan…


def test_no_decision_is_preselected_and_no_yes_no_is_prefilled() -> None:
    for name, schema in all_forms():
        for field, prop in schema["properties"].items():
            assert "default" not in prop, f"{name}.{field} opens with an answer"
        prefill = schema.get("x-prefill")
        prefilled = set(schema["properties"]) if prefill is True else set(prefill or [])
        booleans = {f for f, p in schema["properties"].items() if p.get("type") == "boolean"}
        assert not prefilled & booleans, f"{name} opens with a decision made: {prefilled & booleans}"
    assert load("annual_letter_revise")["x-prefill"] == ["key_tasks", "targets"]  # not last round's reply


def test_every_date_is_either_a_past_fact_or_a_plan() -> None:
    seen = set()
    for name, schema in all_forms():
        for path, prop in dates(schema):
            if (name, path) in PAST_FACTS:
                assert prop.get(NOT_FUTURE) is True, f"{name}.{path} records a past fact"
                seen.add((name, path))
            else:
                assert path.split("/")[-1] in PLANNED, f"{name}.{path}: a past fact or a plan?"
                assert NOT_FUTURE not in prop, f"{name}.{path} is a plan or a deadline"
    assert seen == PAST_FACTS


# --- the validator ------------------------------------------------------------------------------------------

LEADER = {
    "name": "张三",
    "position": "党工委书记",
    "responsibility": "principal_leader",
    "measures": ["removal"],
    "facts": "对辖区治安混乱负主要领导责任。",
}
# (form, data valid without the conditional field, the field, the answer that requires it)
CONDITIONAL: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    (
        "county_check",
        {"passed": False, "findings": "整改尚未到位。", "visits": "责任人暗访两次。"},
        "application",
        {"passed": True},
    ),
    ("document_review", {"doc_review_approved": True}, "doc_review_opinion", {"doc_review_approved": False}),
    (
        "annual_letter_sign",
        {"decision": "request_amendment", "signatory": "李四", "amendment_request": "请调整目标值。"},
        "signed_on",
        {"decision": "sign"},
    ),
    (
        "annual_letter_sign",
        {"decision": "sign", "signatory": "张三", "signed_on": "2026-01-20"},
        "amendment_request",
        {"decision": "request_amendment"},
    ),
    ("annual_filing_receipt", {"handling": "noted"}, "instructions", {"handling": "instructed"}),
    ("annual_filing_receipt", {"handling": "noted"}, "subject_unit_code", {"handling": "accountability"}),
    ("annual_filing_receipt", {"handling": "noted"}, "art31_items", {"handling": "accountability"}),
    (
        "annual_inspection_plan",
        {"inspection_scope": "all", "plan": "半年督查。", "starts_on": "2026-06-10", "ends_on": "2026-07-10"},
        "selected_units",
        {"inspection_scope": "selected"},
    ),
    (
        "case_finding",
        {"finding_kind": "aggravating", "finding_items": ["obstruction"], "finding_facts": "阻碍调查。"},
        "personal_measures",
        {"finding_kind": "personal_measures"},
    ),
    (
        "case_finding",
        {
            "finding_kind": "personal_measures",
            "finding_facts": "一名领导干部负有责任。",
            "personal_measures": [LEADER],
        },
        "finding_items",
        {"finding_kind": "mitigating"},
    ),
]


@pytest.mark.parametrize(("name", "valid", "field", "answer"), CONDITIONAL, ids=lambda v: str(v)[:40])
def test_a_conditional_field_is_required_only_for_the_answer_that_shows_it(
    name: str, valid: dict[str, Any], field: str, answer: dict[str, Any]
) -> None:
    schema = load(name)
    with clockmod.activated(ManualClock(datetime(2026, 3, 16, 9, 0, tzinfo=CST))):
        if field not in valid:
            assert validate_submission(schema, valid) == valid  # not asked, not needed
        errors = errors_of(schema, {k: v for k, v in {**valid, **answer}.items() if k != field})
    assert errors[field] == ["required"]


def test_a_hidden_fields_value_sent_through_the_api_is_checked_and_kept() -> None:
    """What the page never sends (its inputs are disabled while hidden) the API may: it is validated like
    any field, not silently dropped — the diagram reads it only on the branch that shows it."""
    schema = load("consultation_answer")
    data = {
        "answer": "disagree",
        "reasons": "该同志抓综治工作不力。",
        "override_reason": "经县委常委会研究，仍同意提拔。",
    }
    assert validate_submission(schema, data) == data
    assert "override_reason" in errors_of(schema, {**data, "override_reason": "短"})


def test_a_future_date_of_a_past_fact_is_refused_on_its_field_and_in_a_tables_row() -> None:
    with clockmod.activated(ManualClock(datetime(2026, 3, 16, 9, 0, tzinfo=CST))):
        listing = load("listing_receipt")
        assert validate_submission(listing, {"received_on": "2026-03-16"})  # today is not the future
        assert errors_of(listing, {"received_on": "2026-03-17"}) == {
            "received_on": ["不能晚于今天（2026-03-16）"]
        }
        plan = load("inspection_plan")
        assert "starts_on" not in errors_of(plan, {"starts_on": "2026-04-01"})  # a plan lies ahead
        row = {"measure": "removal", "decision": "adopted", "decided_on": "2026-04-10", "document_no": "1号"}
        errors = errors_of(load("referral_organization"), {"organization_outcomes": [row]})
    assert errors == {"organization_outcomes/0/decided_on": ["不能晚于今天（2026-03-16）"]}


# --- in Chromium --------------------------------------------------------------------------------------------


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:  # the engine's today: 2 March 2026
        yield app


REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
    "unit_code": TOWN,
    "report_date": "2026-03-02",
    "leaders": [{"name": "张三", "position": "党工委书记", "responsibility": "principal_leader"}],
}


def _notification_drafted(app: Flask) -> tuple[int, dict[str, str]]:
    """Registered by the office (one step), verified, approved; the 通报 drafted. Returns the case and its
    open tasks by element (the director's review of the draft, the standing 记录办理中发现的情况)."""
    staff, director = Desk(app, f"{COUNTY}.office_staff"), Desk(app, f"{COUNTY}.office_director")
    case = staff.post("/api/v1/cases", REPORT).json["id"]
    verify = {
        "established": True,
        "severity": "ordinary",
        "aggravating": [],
        "mitigating": [],
        "mitigate": False,
    }
    director.do(case, "verify_case", {**verify, "reason": "经核实，建议予以通报。"})
    Desk(app, f"{COUNTY}.committee_director").do(
        case, "approve_notification", {"approved": True, "opinion": "同意通报。"}
    )
    staff.do(case, "draft_document", staff.prefilled(case, "draft_document"))
    return case, {t["element_id"]: t["id"] for t in director.case(case)["tasks"]}


def _field(page: Any, name: str) -> Any:
    return page.locator(f'.formfield[data-field="{name}"]')


def test_the_review_asks_for_reasons_only_when_returning_the_draft(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    case, tasks = _notification_drafted(live_app)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login_page(page, live_server, f"{COUNTY}.office_director")
        page.goto(f"{live_server}/tasks/{tasks['review_document']}")
        opinion = _field(page, "doc_review_opinion")
        assert page.locator('input[name="doc_review_approved"]:checked').count() == 0  # nothing preselected
        assert opinion.is_hidden()
        page.check('input[name="doc_review_approved"][value="false"]')
        assert opinion.is_visible() and "*" in opinion.locator("label").inner_text()  # required when shown
        page.click("#submit-task")  # returned without saying what to revise
        page.wait_for_selector(".flash-error")
        assert opinion.is_visible() and opinion.locator(".field-error").inner_text() == "必填"
        assert page.locator('input[name="doc_review_approved"][value="false"]').is_checked()  # kept

        page.fill("textarea[name=doc_review_opinion]", "请补充整改要求。")
        page.check('input[name="doc_review_approved"][value="true"]')  # changed their mind: signs it
        assert opinion.is_hidden()
        page.click("#submit-task")
        page.wait_for_url(f"{live_server}/cases/{case}")
        assert errors == []
    finally:
        page.close()
    with live_app.app_context():
        from app.extensions import db

        done = db.session.scalars(
            select(InstanceEvent)
            .where(InstanceEvent.kind == "task_completed")
            .order_by(InstanceEvent.id.desc())
        ).first()
        assert done is not None and done.detail["data"] == {
            "doc_review_approved": True
        }  # stale text not sent


def test_a_finding_shows_the_circumstances_or_the_leaders_for_its_kind(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    case, tasks = _notification_drafted(live_app)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login_page(page, live_server, f"{COUNTY}.office_director")
        page.goto(f"{live_server}/tasks/{tasks['record_finding']}")
        items, leaders = _field(page, "finding_items"), _field(page, "personal_measures")
        change = _field(page, "propose_level_change")
        assert items.is_hidden() and leaders.is_hidden() and change.is_hidden()  # no kind chosen yet
        page.select_option("select[name=finding_kind]", "personal_measures")
        assert leaders.is_visible() and items.is_hidden() and change.is_hidden()
        page.select_option("select[name=finding_kind]", "aggravating")
        assert items.is_visible() and change.is_visible() and leaders.is_hidden()
        page.fill("textarea[name=finding_facts]", "调查中发现该街道瞒报案件。")
        page.click("#submit-task")  # an aggravating finding without its circumstance
        page.wait_for_selector(".flash-error")
        assert items.is_visible() and items.locator(".field-error").inner_text() == "至少填写 1 项"
        page.check('input[name="finding_items"][value="falsification"]')
        page.click("#submit-task")
        page.wait_for_url(f"{live_server}/cases/{case}")
        assert errors == []
    finally:
        page.close()
    with live_app.app_context():
        from app.extensions import db

        recorded = db.session.scalars(
            select(InstanceEvent).where(
                InstanceEvent.instance_id == case, InstanceEvent.kind == "circumstance_recorded"
            )
        ).one()
        assert (recorded.detail["kind"], recorded.detail["items"]) == ("aggravating", ["falsification"])


def test_a_meeting_cannot_be_recorded_as_held_tomorrow(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    staff = Desk(live_app, f"{COUNTY}.office_staff")
    started = staff.post(
        "/api/v1/meetings",
        {"meeting_kind": "joint_meeting", "regularity": "ad_hoc", "subject": "研究信访问题"},
    )
    assert started.status_code == 201, started.json
    [task] = started.json["tasks"]
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    try:
        login_page(page, live_server, f"{COUNTY}.joint_meeting_convener")
        page.goto(f"{live_server}/tasks/{task['id']}")
        held = page.locator("input[name=held_on]")
        assert held.get_attribute("max") == "2026-03-02"  # the engine's today, offered by the date picker
        held.fill("2026-03-03")
        page.click("#submit-task")
        page.wait_for_selector(".flash-error")
        said = _field(page, "held_on").locator(".field-error").all_inner_texts()
        assert said == ["不能晚于今天（2026-03-02）"]
        assert page.locator("input[name=held_on]").input_value() == "2026-03-03"  # what was typed is kept
    finally:
        page.close()
