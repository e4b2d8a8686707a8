"""The accountability forms in ``forms/``: well-formed, bilingual, and holding the field contracts the BPMN
diagrams rely on (Art. 31–41 of the 2017 Nanyang regulation)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workflows.engine.deploy.forms import parse_form, validate_submission
from workflows.engine.errors import FormInvalid

FORMS = Path(__file__).parent.parent / "forms"
FORM_FILES = sorted(FORMS.glob("*.json"))

# Field contracts with the diagrams: form -> {field: (JSON type, required)}. Conditions and scripts read
# these names, so renaming or retyping one is a breaking change.
CONTRACTS: dict[str, dict[str, tuple[str, bool]]] = {
    # Commendation (Art. 24, 26-30, 35 para 4): bpmn/commendation.bpmn.
    "commendation_nominations": {"nominations": ("array", True), "basis": ("string", False)},
    "commendation_joint_opinion": {"department_opinion": ("string", True), "remarks": ("string", False)},
    "commendation_joint_conclusion": {"conclusion": ("string", True)},
    "commendation_decision": {  # the 表彰决定's number and date come from document_issue (Art. 27)
        "not_approved": ("array", False),
        "fund_allocations": ("array", False),
        "national_commendations": ("array", False),
    },
    "commendation_recommendation": {
        "recommendation_document_no": ("string", True),
        "recommendation_text": ("string", True),
    },
    "commendation_receipt": {"handled_on": ("string", True), "remarks": ("string", False)},
    "commendation_disbursement": {
        "disbursed_on": ("string", True),
        "voucher_no": ("string", False),
        "remarks": ("string", False),
    },
    # The written report a case opens with (Art. 38): the start form of accountability_case, for the web
    # page and POST /api/v1/cases alike.
    "case_report": {
        "source": ("string", True),
        "reporter": ("string", True),
        "art31_items": ("array", True),
        "facts": ("string", True),
        "report_date": ("string", False),  # the competent office filing it registers it at once
        "leaders": ("array", False),
    },
    "intake_register": {
        "source": ("string", True),
        "reporter": ("string", True),
        "report_date": ("string", True),
        "art31_items": ("array", True),
        "facts": ("string", True),
        "leaders": ("array", True),
    },
    "intake_verify": {
        "established": ("boolean", True),
        "severity": ("string", False),  # required when established (allOf/if); shown only then
        "aggravating": ("array", False),
        "mitigating": ("array", False),
        "mitigate": ("boolean", False),
        "personal_measures": ("array", False),  # Art. 32, 39: one proposal per leader
        "reason": ("string", True),
    },
    "level_proposal": {
        "opinion": ("string", True),
        "measure_basis": ("string", False),
        "application_window_days": ("integer", False),  # after the period; 10 working days unless set
    },
    "level_approval": {"approved": ("boolean", True), "opinion": ("string", True)},
    "notification_approval": {  # Art. 33: the committee may interview (必要时由综治委进行约谈)
        "approved": ("boolean", True),
        "opinion": ("string", True),
        "committee_interview": ("boolean", False),
    },
    "interview_approval": {  # Art. 34: the office director interviews unless the committee's leaders do
        "approved": ("boolean", True),
        "opinion": ("string", True),
        "interviewer": ("string", False),
    },
    "document_draft": {
        "doc_title": ("string", True),
        "doc_main_recipients": ("array", True),
        "doc_copied_to": ("array", False),
        "doc_body": ("string", True),
        "doc_attachments": ("array", False),
        "doc_date": ("string", True),
    },
    "document_review": {"doc_review_approved": ("boolean", True), "doc_review_opinion": ("string", False)},
    "interview_record": {
        "held_on": ("string", True),
        "interviewer": ("string", True),
        "interviewees": ("array", True),
        "minutes": ("string", True),
    },
    "measures_report": {
        "measures": ("string", True),
        "responsible_person": ("string", True),
        "attachments": ("array", False),
    },
    "rectification_report": {"effect": ("string", True), "rectified": ("boolean", True)},
    "progress_report": {
        "progress": ("string", True),
        "apply_now": ("boolean", True),
        "visits": ("string", False),
    },
    "acceptance_application": {"application": ("string", True), "applied_on": ("string", True)},
    "acceptance": {
        "accepted": ("boolean", True),
        "findings": ("string", True),
        "inspected_on": ("string", True),
    },
    "investigation": {"findings": ("string", True), "meets_conditions": ("boolean", True)},
    "joint_opinion": {"department_opinion": ("string", True), "remarks": ("string", False)},
    "joint_conclusion": {"recommend_listing": ("boolean", True), "conclusion": ("string", True)},
    "responsible_leader": {
        "leader_name": ("string", True),
        "leader_position": ("string", True),
        "plan": ("string", True),
    },
    "county_check": {
        "passed": ("boolean", True),
        "findings": ("string", True),
        "application": ("string", False),
        "visits": ("string", True),  # Art. 36 (O36.1): the responsible leader's visits
        "work_team_sent": ("boolean", False),
    },
    "veto_proposal": {"basis": ("string", True), "opinion": ("string", True)},
    # Findings at any stage (Art. 40, 41, 32, 39) and the committee's decision on a change of level.
    "case_finding": {
        "finding_kind": ("string", True),
        "finding_items": ("array", False),
        "finding_facts": ("string", True),
        "propose_level_change": ("boolean", False),
        "personal_measures": ("array", False),
    },
    "level_change_decision": {"change_approved": ("boolean", True), "change_opinion": ("string", True)},
    # After the period: no application within the window (Art. 33–35).
    "no_application": {"no_application_decision": ("string", True), "findings": ("string", True)},
    # Art. 35: the day the unit received the listing decision; a new period after the veto procedure.
    "listing_receipt": {"received_on": ("string", True), "receiver": ("string", False)},
    "listing_renewal": {"renewal_months": ("integer", True), "opinion": ("string", True)},
    # Art. 35 para 2: the city office's key townships of the year.
    "key_townships": {"townships": ("array", True), "selection_basis": ("string", False)},
    # One referral per leader (Art. 32, 39): each authority records one outcome per measure proposed to it;
    # distinct field names, as the two tasks run in parallel and their data meet at the join.
    "referral_organization": {"organization_outcomes": ("array", True)},
    "referral_discipline": {"discipline_outcomes": ("array", True)},
    "filing": {"filed": ("boolean", True), "remarks": ("string", False)},
    # Inspections the office starts at any time (Art. 18): start form, plan, findings per unit (Art. 38).
    "inspection_start": {"inspection_kind": ("string", True), "subject": ("string", True)},
    "inspection_plan": {
        "inspected_units": ("array", True),
        "scope": ("string", True),
        "team": ("array", True),
        "starts_on": ("string", True),
        "ends_on": ("string", True),
    },
    "inspection_findings": {
        "inspected_on": ("string", True),
        "conclusion": ("string", True),
        "findings": ("array", True),
    },
    # Meetings (Art. 24, 25, 7(2)): start form and the two records; decisions may carry rectification items.
    "meeting_start": {
        "meeting_kind": ("string", True),
        "regularity": ("string", True),
        "subject": ("string", True),
    },
    "meeting_joint": {
        "held_on": ("string", True),
        "subjects": ("array", True),
        "departments_present": ("array", True),
        "topics": ("string", True),
        "participants": ("array", True),
        "observers": ("array", False),
        "decisions": ("string", True),
        "minutes": ("string", True),
        "rectification_items": ("array", False),
    },
    "meeting_record": {
        "held_on": ("string", True),
        "chaired_by": ("string", True),
        "topics": ("string", True),
        "participants": ("array", True),
        "observers": ("array", False),
        "decisions": ("string", True),
        "minutes": ("string", True),
        "rectification_items": ("array", False),
    },
    # Art. 23 (O23.1): the organisation department's consultation and the office's answer; the sanction rule
    # (Art. 35 para 4, Art. 37) reads cadre_unit_code, answer and override_reason.
    "consultation_request": {
        "person_id": ("integer", False),
        "cadre_name": ("string", True),
        "post": ("string", True),
        "cadre_unit_code": ("string", True),
        "purpose": ("string", True),
        "document_no": ("string", True),
        "answer_days": ("integer", False),
    },
    "consultation_answer": {
        "answer": ("string", True),
        "reasons": ("string", True),
        "override_reason": ("string", False),
    },
}

ENUMS = {
    ("intake_register", "source"): ["member_unit", "other_unit", "individual", "assessment", "inspection"],
    ("case_report", "source"): ["member_unit", "other_unit", "individual", "assessment", "inspection"],
    ("intake_verify", "severity"): ["ordinary", "serious", "especially_serious", "especially_serious_veto"],
    ("interview_approval", "interviewer"): ["office_director", "committee_director"],
    ("joint_opinion", "department_opinion"): ["agree", "disagree", "abstain"],
    ("consultation_request", "purpose"): ["pre_appointment", "promotion", "award"],
    ("consultation_answer", "answer"): ["agree", "disagree", "defer"],
}

DATE_FIELDS = {
    ("intake_register", "report_date"),
    ("document_draft", "doc_date"),
    ("interview_record", "held_on"),
    ("acceptance_application", "applied_on"),
    ("acceptance", "inspected_on"),
}


def load(name: str) -> dict[str, Any]:
    path = FORMS / f"{name}.json"
    schema, problems = parse_form(f"forms/{path.name}", path.read_text(encoding="utf-8"))
    assert problems == [], problems
    assert schema is not None
    return schema


def object_schemas(schema: Any) -> Iterator[dict[str, Any]]:
    """Every (sub)schema that declares ``properties``: the form itself and object items of arrays."""
    if isinstance(schema, dict):
        if isinstance(schema.get("properties"), dict):
            yield schema
        for key, value in schema.items():
            if key in ("if", "then", "else"):  # conditions refine fields, they declare none
                continue
            yield from object_schemas(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from object_schemas(value)


def enum_schemas(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        if "enum" in schema:
            yield schema
        for value in schema.values():
            yield from enum_schemas(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from enum_schemas(value)


def errors_of(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(FormInvalid) as info:
        validate_submission(schema, data)
    return info.value.errors


# --- every form ---------------------------------------------------------------------------------------------


def test_forms_folder_holds_exactly_the_contracted_forms() -> None:
    """The accountability forms (Ch. 5); the annual cycle's forms (annual_*) have their own tests."""
    assert {p.stem for p in FORM_FILES if not p.stem.startswith("annual_")} == set(CONTRACTS)


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.stem)
def test_form_parses_and_is_documented(path: Path) -> None:
    schema = load(path.stem)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["title"] and schema["x-title-en"]
    assert "Art." in schema["description"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) <= set(schema["properties"])


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.stem)
def test_every_property_is_bilingual_and_bounded(path: Path) -> None:
    schema = load(path.stem)
    for obj in object_schemas(schema):
        assert obj.get("additionalProperties") is False, f"{path.stem}: an object accepts undeclared fields"
        for name, prop in obj["properties"].items():
            where = f"{path.stem}.{name}"
            assert prop.get("title"), f"{where} has no title"
            assert prop.get("x-title-en"), f"{where} has no x-title-en"
            assert "type" in prop, f"{where} has no type"
            if prop["type"] == "string" and "enum" not in prop and "format" not in prop:
                assert prop.get("minLength", 0) >= 1, f"{where} accepts an empty string"
                assert "maxLength" in prop, f"{where} has no maxLength"
            if prop.get("x-widget") == "textarea":
                assert prop["type"] == "string" and prop["maxLength"] >= 1000, where
            if prop["type"] == "array":
                assert "items" in prop, f"{where} has no items"


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.stem)
def test_every_enum_has_labels_in_both_languages(path: Path) -> None:
    for sub in enum_schemas(load(path.stem)):
        assert len(sub["x-enum-titles"]) == len(sub["enum"]), f"{path.stem}: {sub['enum']}"
        assert len(sub["x-enum-titles-en"]) == len(sub["enum"]), f"{path.stem}: {sub['enum']}"
        assert all(sub["x-enum-titles"]) and all(sub["x-enum-titles-en"])


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_field_contract_with_the_diagrams(name: str) -> None:
    schema = load(name)
    contract = CONTRACTS[name]
    assert set(schema["properties"]) == set(contract)
    for field, (json_type, required) in contract.items():
        assert schema["properties"][field]["type"] == json_type, f"{name}.{field}"
        assert (field in schema["required"]) is required, f"{name}.{field}"
    for (form, field), values in ENUMS.items():
        if form == name:
            assert schema["properties"][field]["enum"] == values
    for form, field in DATE_FIELDS:
        if form == name:
            assert schema["properties"][field]["format"] == "date"


def test_intake_register_lists_the_nine_art31_items() -> None:
    prop = load("intake_register")["properties"]["art31_items"]
    assert prop["items"]["type"] == "integer"
    assert prop["items"]["enum"] == list(range(1, 10))
    assert prop["minItems"] == 1 and prop["uniqueItems"] is True
    assert len(prop["x-item-titles"]) == 9
    assert prop["x-item-titles"] == prop["items"]["x-enum-titles"]
    leader = load("intake_register")["properties"]["leaders"]["items"]
    assert leader["required"] == ["name", "position", "responsibility"]
    assert leader["properties"]["responsibility"]["enum"] == [
        "principal_leader",
        "in_charge_leader",
        "other_responsible",
    ]


def test_filing_can_only_be_submitted_as_filed() -> None:
    schema = load("filing")
    assert validate_submission(schema, {"filed": True}) == {"filed": True}
    assert "filed" in errors_of(schema, {"filed": False})


def test_intake_register_rejects_items_outside_art31() -> None:
    schema = load("intake_register")
    good = {
        "source": "member_unit",
        "reporter": "市公安局",
        "report_date": "2026-03-16",
        "art31_items": [2, 4],
        "facts": "某街道三月份连续发生多起入室盗窃案件，群众反映强烈。",
        "leaders": [{"name": "张三", "position": "街道党工委书记", "responsibility": "principal_leader"}],
    }
    assert validate_submission(schema, good) == good
    assert "art31_items/0" in errors_of(schema, {**good, "art31_items": [10]})
    assert "art31_items" in errors_of(schema, {**good, "art31_items": []})
    assert "art31_items" in errors_of(schema, {**good, "art31_items": [2, 2]})
    assert "leaders" in errors_of(schema, {**good, "leaders": []})
    # validate_submission keys a missing nested field by its bare name, not by "leaders/0/responsibility".
    missing = errors_of(schema, {**good, "leaders": [{"name": "张三", "position": "书记"}]})
    assert missing.keys() & {"leaders/0/responsibility", "responsibility"}


# --- submissions ------------------------------------------------------------------------------------------

VALID: dict[str, dict[str, Any]] = {
    "intake_verify": {
        "established": True,
        "severity": "serious",
        "aggravating": ["falsification"],
        "mitigating": [],
        "mitigate": False,
        "reason": "经核实，该街道连续发生多起入室盗窃案件，且瞒报案件数量，危害严重。",
    },
    "level_approval": {"approved": True, "opinion": "同意挂牌督办"},
    "notification_approval": {"approved": True, "opinion": "同意通报", "committee_interview": False},
    "interview_approval": {"approved": True, "opinion": "同意约谈", "interviewer": "committee_director"},
    "progress_report": {
        "progress": "已开展专项整治行动，破获入室盗窃案件5起。",
        "apply_now": False,
        "visits": "责任人3月20日暗访两个社区。",
    },
    "county_check": {
        "passed": True,
        "findings": "整改到位，发案率明显下降。",
        "application": "经先行检查验收，整改到位，申请解除挂牌督办。",
        "visits": "责任人明察暗访六次，跟踪督导整改。",
    },
    "joint_opinion": {"department_opinion": "agree", "remarks": "同意挂牌督办"},
}

# (form, changes applied to the valid sample (None deletes the field), field expected in .errors)
INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("intake_verify", {"established": None}, "established"),
    ("intake_verify", {"aggravating": None}, "aggravating"),
    ("intake_verify", {"severity": "minor"}, "severity"),
    ("intake_verify", {"aggravating": ["bribery"]}, "aggravating/0"),
    ("intake_verify", {"mitigating": ["cooperation", "cooperation"]}, "mitigating"),
    ("intake_verify", {"reason": "同意"}, "reason"),
    ("intake_verify", {"established": "yes"}, "established"),
    ("intake_verify", {"mitigate": True}, "mitigating"),  # Art. 41: no mitigation without a circumstance
    ("intake_verify", {"unit_code": "411302"}, "unit_code"),
    ("level_approval", {"approved": None}, "approved"),
    ("level_approval", {"opinion": None}, "opinion"),
    ("level_approval", {"opinion": ""}, "opinion"),
    ("interview_approval", {"interviewer": "mayor"}, "interviewer"),
    ("level_approval", {"level": "listing"}, "level"),
    ("progress_report", {"apply_now": None}, "apply_now"),
    ("progress_report", {"progress": "无"}, "progress"),
    ("progress_report", {"deadline": "2026-06-01"}, "deadline"),
    ("county_check", {"passed": None}, "passed"),
    ("county_check", {"application": None}, "application"),  # passed: the written application is required
    ("county_check", {"findings": ""}, "findings"),
    ("county_check", {"visits": None}, "visits"),
    ("county_check", {"delisted": True}, "delisted"),
    ("joint_opinion", {"department_opinion": None}, "department_opinion"),
    ("joint_opinion", {"department_opinion": "yes"}, "department_opinion"),
    ("joint_opinion", {"department": "discipline"}, "department"),
]


def changed(sample: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    data = dict(sample)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_sample_passes(name: str) -> None:
    assert validate_submission(load(name), VALID[name]) == VALID[name]


@pytest.mark.parametrize(("name", "changes", "field"), INVALID, ids=lambda v: str(v))
def test_invalid_sample_is_refused_with_the_field_named(
    name: str, changes: dict[str, Any], field: str
) -> None:
    assert field in errors_of(load(name), changed(VALID[name], changes))


def test_missing_field_is_reported_as_required() -> None:
    errors = errors_of(load("intake_verify"), changed(VALID["intake_verify"], {"severity": None}))
    assert errors["severity"] == ["required"]


def test_optional_fields_may_be_left_out() -> None:
    assert validate_submission(load("level_approval"), {"approved": False, "opinion": "不同意"})
    assert validate_submission(load("joint_opinion"), {"department_opinion": "abstain"})
    assert validate_submission(
        load("progress_report"), {"progress": "已完成整改，申请验收。", "apply_now": True}
    )


def test_county_check_needs_no_application_when_not_passed() -> None:
    data = {"passed": False, "findings": "整改尚未到位，继续督办。", "visits": "责任人暗访两次。"}
    assert validate_submission(load("county_check"), data) == data


def test_mitigation_with_a_circumstance_passes() -> None:
    data = changed(VALID["intake_verify"], {"mitigating": ["loss_avoided"], "mitigate": True})
    assert validate_submission(load("intake_verify"), data) == data


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "2026/03/16", "16.03.2026", "昨天"])
@pytest.mark.parametrize(("name", "field"), sorted(DATE_FIELDS))
def test_bad_dates_are_refused(name: str, field: str, bad: str) -> None:
    schema = load(name)
    errors = errors_of(schema, {field: bad})
    assert field in errors
    assert any("date" in message for message in errors[field])


@pytest.mark.parametrize(("name", "field"), sorted(DATE_FIELDS))
def test_good_dates_are_accepted(name: str, field: str) -> None:
    with pytest.raises(FormInvalid) as info:
        validate_submission(load(name), {field: "2026-03-16"})
    assert field not in info.value.errors  # only the other required fields are missing


def test_form_files_are_pretty_printed_utf8() -> None:
    for path in FORM_FILES:
        text = path.read_text(encoding="utf-8")
        assert "\\u" not in text, f"{path.name}: Chinese must be stored as UTF-8, not escaped"
        assert json.loads(text)
