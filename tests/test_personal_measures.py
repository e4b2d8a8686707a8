"""Personal measures per leader (Art. 32, 39; O32.1, O39.1), as deployed from
bpmn/accountability_referral.bpmn and its forms: each leader named in a proposal gets their own referral,
routed by the measures proposed to the organisation-personnel department and/or the discipline inspection
and supervision organ one level above the case's unit (cadre authority), in parallel when both apply; the
outcome is recorded per leader and per measure, on the leader's row and on the case's working file.

The case is a stand-in row (process ``accountability_case``, key 追责-2026-0001, unit 东关街道 of 宛城区): the
proposal reaches ``personal_measures_proposed`` as the engine hands a recorded fact to its handler (the event
on the case's file first, then the handler), so these tests do not depend on the case diagram. Every step is
its own session and commit, like separate requests."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ROOT, WANCHENG, WANCHENG_TOWN, demo_app
from tests.referral_driver import (
    DISCIPLINE,
    LI,
    OFFICE,
    ORGANIZATION,
    PROPOSED,
    REFERRAL_FILE,
    STAFF,
    WANG,
    ZHANG,
    Referrals,
    at,
    outcome,
    send_letters,
)
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import Task
from workflows.engine.records import Record
from workflows.regulation.document_models import latest_document
from workflows.regulation.personal_measures import (
    PERSONAL_MEASURE_HANDLERS,
    PersonalMeasure,
)


@pytest.fixture
def referrals(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    session: Session,  # loads the organisation
) -> Referrals:
    return Referrals(session_factory, make_engine, clock)


# --- routing ----------------------------------------------------------------------------------------------


@pytest.mark.obligation("O39.1")
def test_each_leader_gets_their_own_referral_routed_by_the_measures(referrals: Referrals) -> None:
    referrals.propose([ZHANG, LI, WANG])
    rows = referrals.rows()
    assert [(r.seq, r.leader_name, r.measures) for r in rows] == [
        (1, "张三", ["removal"]),
        (2, "李四", ["party_discipline", "judicial_transfer"]),
        (3, "王五", ["removal", "party_discipline"]),
    ]
    assert {r.status for r in rows} == {"referred"}
    assert {(r.unit_code, r.authority_code, r.proposed_level, r.proposed_by) for r in rows} == {
        (WANCHENG_TOWN, WANCHENG, "intake", OFFICE.user_id)
    }
    keys = [referrals.referral(n) for n in ("张三", "李四", "王五")]
    assert [k.business_key for k in keys] == [f"追责-2026-0001-个人{i}" for i in (1, 2, 3)]
    assert {(k.process_id, k.parent_instance_id, k.unit_code) for k in keys} == {
        ("accountability_referral", referrals.case_id, WANCHENG_TOWN)
    }

    with referrals.factory() as s:  # each referral went with its 移送函 to the departments of 宛城区
        letter = latest_document(s, referrals.referral("张三").id, "referral")
        assert letter is not None and letter.number.startswith("宛区综治办〔2026〕")
        assert letter.main_recipients[:2] == ["中共宛城区纪委、宛城区监委", "中共宛城区委组织部"]
        assert "免职" in "".join(letter.body) and "张三" in letter.title
    # 免职 only → organisation-personnel only; 党纪处分 + 移送司法机关 → discipline only; both → both at once.
    assert set(referrals.ready("张三")) == {"handle_by_organization"}
    assert set(referrals.ready("李四")) == {"handle_by_discipline"}
    both = referrals.ready("王五")
    assert set(both) == {"handle_by_organization", "handle_by_discipline"}
    # Cadre authority (管理权限): the departments one level above the township, i.e. 宛城区's.
    assert (both["handle_by_organization"].role, both["handle_by_organization"].org_code) == (
        "organization_personnel",
        WANCHENG,
    )
    assert (both["handle_by_discipline"].role, both["handle_by_discipline"].org_code) == (
        "discipline_supervision",
        WANCHENG,
    )
    assert both["handle_by_organization"].article == "Art. 39 (O39.1)"

    # Each form comes with one row per measure proposed to that authority.
    data = referrals.task_data("李四", "handle_by_discipline")
    assert data["discipline_outcomes"] == [{"measure": "party_discipline"}, {"measure": "judicial_transfer"}]
    assert (data["leader_name"], data["case_key"]) == ("李四", "追责-2026-0001")
    assert "organization_outcomes" not in data


@pytest.mark.obligation("O39.1", "O32.1")
def test_outcomes_are_recorded_per_leader_and_on_the_case_file(
    referrals: Referrals, clock: ManualClock
) -> None:
    referrals.propose([ZHANG, LI, WANG])

    clock.set(at(2026, 4, 13, 10, 0))
    referrals.do("张三", "handle_by_organization", {"organization_outcomes": [outcome("removal")]})
    clock.set(at(2026, 4, 14, 10, 0))
    referrals.do(
        "李四",
        "handle_by_discipline",
        {
            "discipline_outcomes": [
                outcome("party_discipline"),
                outcome("judicial_transfer", receiving_organ="南阳市宛城区人民检察院"),
            ]
        },
    )
    # 王五: the discipline organ decides first; the row waits for the organisation department.
    clock.set(at(2026, 4, 15, 10, 0))
    referrals.do("王五", "handle_by_discipline", {"discipline_outcomes": [outcome("party_discipline")]})
    wang = referrals.row("王五")
    assert wang.status == "referred" and wang.decided_at is None
    assert set(wang.outcome) == {"discipline_supervision"}
    assert set(referrals.ready("王五")) == {"handle_by_organization"}
    clock.set(at(2026, 4, 16, 10, 0))
    referrals.do(
        "王五",
        "handle_by_organization",
        {"organization_outcomes": [outcome("removal", "not_adopted", reason="已调离原岗位，改为诫勉谈话。")]},
    )

    zhang, li, wang = referrals.row("张三"), referrals.row("李四"), referrals.row("王五")
    assert (zhang.status, zhang.decided_at) == ("decided", at(2026, 4, 13, 10, 0))
    assert zhang.outcome["organization_personnel"]["decided_by"] == ORGANIZATION.user_id
    assert zhang.outcome["organization_personnel"]["measures"] == {
        "removal": {"decision": "adopted", "decided_on": "2026-04-10", "document_no": "宛文〔2026〕7号"}
    }
    assert li.outcome["discipline_supervision"]["decided_by"] == DISCIPLINE.user_id
    assert li.outcome["discipline_supervision"]["measures"]["judicial_transfer"]["receiving_organ"] == (
        "南阳市宛城区人民检察院"
    )
    assert "organization_personnel" not in li.outcome
    assert (wang.status, wang.decided_at) == ("decided", at(2026, 4, 16, 10, 0))
    assert wang.outcome["organization_personnel"]["measures"]["removal"] == {
        "decision": "not_adopted",
        "decided_on": "2026-04-10",
        "reason": "已调离原岗位，改为诫勉谈话。",
    }
    assert wang.outcome["discipline_supervision"]["measures"]["party_discipline"]["decision"] == "adopted"
    assert [(line["measure"], line["result"]["decision"]) for line in wang.lines] == [
        ("removal", "not_adopted"),
        ("party_discipline", "adopted"),
    ]

    # The case's working file: one entry per leader and measure, by the department that decided, when.
    decided = [e for e in referrals.case_events() if e.detail["step"] == "decided"]
    assert [(e.detail["leader"], e.detail["measure"], e.detail["decision"], e.actor) for e in decided] == [
        ("张三", "removal", "adopted", ORGANIZATION.user_id),
        ("李四", "party_discipline", "adopted", DISCIPLINE.user_id),
        ("李四", "judicial_transfer", "adopted", DISCIPLINE.user_id),
        ("王五", "party_discipline", "adopted", DISCIPLINE.user_id),
        ("王五", "removal", "not_adopted", ORGANIZATION.user_id),
    ]
    assert decided[-1].detail["reason"] == "已调离原岗位，改为诫勉谈话。"
    assert decided[-1].at == at(2026, 4, 16, 10, 0)
    assert decided[-1].detail["referral"] == "追责-2026-0001-个人3"

    # The office files each outcome: the row is closed, the case's file says so, the referral ends.
    clock.set(at(2026, 4, 20, 9, 0))
    for name in ("张三", "李四", "王五"):
        referrals.do(name, "file_referral", {"filed": True})
    rows = referrals.rows()
    assert {(r.status, r.concluded_by, r.concluded_at) for r in rows} == {
        ("concluded", STAFF.user_id, at(2026, 4, 20, 9, 0))
    }
    assert {referrals.referral(n).status for n in ("张三", "李四", "王五")} == {"complete"}
    concluded = [e for e in referrals.case_events() if e.detail["step"] == "concluded"]
    assert [(e.detail["leader"], e.actor, e.detail["article"]) for e in concluded] == [
        ("张三", STAFF.user_id, "Art. 32 (O32.1)"),
        ("李四", STAFF.user_id, "Art. 32 (O32.1)"),
        ("王五", STAFF.user_id, "Art. 32 (O32.1)"),
    ]
    assert len(referrals.case_events(PROPOSED)) == 1


# --- what a department must record ------------------------------------------------------------------------


@pytest.mark.obligation("O39.1")
def test_every_measure_proposed_gets_exactly_one_outcome(referrals: Referrals, clock: ManualClock) -> None:
    referrals.propose([LI])
    clock.set(at(2026, 4, 13, 10, 0))  # after the outcomes' decided_on (10 April): only the rows are wrong
    missing = {"discipline_outcomes": [outcome("party_discipline")]}
    with pytest.raises(FormInvalid) as info:
        referrals.do("李四", "handle_by_discipline", missing)
    assert "discipline_outcomes" in info.value.errors
    not_proposed = {
        "discipline_outcomes": [
            outcome("party_discipline"),
            outcome("judicial_transfer", receiving_organ="宛城区人民检察院"),
            outcome("government_discipline"),
        ]
    }
    with pytest.raises(FormInvalid):
        referrals.do("李四", "handle_by_discipline", not_proposed)
    twice = {"discipline_outcomes": [outcome("party_discipline"), outcome("party_discipline")]}
    with pytest.raises(FormInvalid):
        referrals.do("李四", "handle_by_discipline", twice)
    assert referrals.row("李四").outcome == {} and referrals.case_events() == []
    assert set(referrals.ready("李四")) == {"handle_by_discipline"}


@pytest.mark.obligation("O39.1")
@pytest.mark.parametrize(
    ("row", "field"),
    [
        (outcome("party_discipline", "not_adopted"), "reason"),  # not adopted: say why
        ({"measure": "party_discipline", "decision": "adopted", "decided_on": "2026-04-10"}, "document_no"),
        (outcome("judicial_transfer"), "receiving_organ"),  # transferred: to which judicial organ
        ({**outcome("party_discipline"), "decided_on": "2026-13-01"}, "decided_on"),
        (outcome("removal"), "measure"),  # the organisation department's measure, not the discipline organ's
    ],
)
def test_the_discipline_form_refuses_an_incomplete_outcome(
    referrals: Referrals, row: dict[str, Any], field: str, clock: ManualClock
) -> None:
    referrals.propose([LI])
    clock.set(at(2026, 4, 13, 10, 0))  # after the outcomes' decided_on (10 April)
    with pytest.raises(FormInvalid) as info:
        referrals.do("李四", "handle_by_discipline", {"discipline_outcomes": [row]})
    assert any(key.endswith(field) for key in info.value.errors), info.value.errors


# --- proposals at any level -------------------------------------------------------------------------------


@pytest.mark.obligation("O32.1")
def test_a_later_finding_proposes_again_at_its_level(referrals: Referrals, clock: ManualClock) -> None:
    referrals.propose([ZHANG])
    clock.set(at(2026, 8, 3, 9, 0))
    referrals.propose([{**WANG, "measures": ["ordered_resignation"]}], level="listing")
    rows = referrals.rows()
    assert [(r.seq, r.leader_name, r.proposed_level, r.proposed_at) for r in rows] == [
        (1, "张三", "intake", at(2026, 3, 16, 9, 0)),
        (2, "王五", "listing", at(2026, 8, 3, 9, 0)),
    ]
    assert referrals.referral("王五").business_key == "追责-2026-0001-个人2"
    assert set(referrals.ready("王五")) == {"handle_by_organization"}


@pytest.mark.obligation("O32.1")
def test_a_proposal_without_level_or_leader_facts_takes_the_cases(referrals: Referrals) -> None:
    zhang = {k: v for k, v in ZHANG.items() if k != "facts"}
    referrals.propose_detail({"leaders": [zhang, LI], "facts": "经核实，辖区刑事案件多发，瞒报案件数量。"})
    assert [(r.leader_name, r.facts, r.proposed_level) for r in referrals.rows()] == [
        ("张三", "经核实，辖区刑事案件多发，瞒报案件数量。", "notification"),  # the case's current level
        ("李四", LI["facts"], "notification"),
    ]


@pytest.mark.parametrize(
    "leaders",
    [
        [],
        [{**ZHANG, "measures": []}],
        [{**ZHANG, "measures": ["demotion"]}],
        [{**ZHANG, "measures": ["removal", "removal"]}],
        [{**ZHANG, "responsibility": "mayor"}],
        [{**ZHANG, "name": " "}],
    ],
)
def test_a_malformed_proposal_is_refused_and_starts_nothing(
    referrals: Referrals, leaders: list[dict[str, Any]]
) -> None:
    with pytest.raises(FormInvalid) as info:
        referrals.propose(leaders)
    assert all(key.startswith("personal_measures") for key in info.value.errors)
    assert referrals.rows() == []


def test_no_gateway_of_the_referral_defaults_to_a_measure() -> None:
    """Issue 10: no gateway defaults to the harshest path; each branch runs only when its measures apply."""
    tree = etree.fromstring((ROOT / REFERRAL_FILE).read_bytes())
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    gateways = tree.findall(".//bpmn:exclusiveGateway", ns)
    assert gateways and all(g.get("default") is None for g in gateways)
    for flow in tree.findall(".//bpmn:sequenceFlow", ns):
        source = tree.find(f".//*[@id='{flow.get('sourceRef')}']")
        assert source is not None
        if source.tag.endswith("exclusiveGateway") and len(source.findall("bpmn:outgoing", ns)) > 1:
            assert flow.find("bpmn:conditionExpression", ns) is not None, flow.get("id")


# --- the case page ----------------------------------------------------------------------------------------


@pytest.fixture
def web(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, start=datetime(2026, 3, 16, 9, 0, tzinfo=CST)) as app:
        yield app


def _token(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


@pytest.mark.obligation("O39.1", "O32.1")
def test_the_case_page_shows_each_leaders_proposal_and_outcome(web: Flask) -> None:
    from app.extensions import db
    from app.runtime import engine as app_engine

    with web.app_context():
        eng = app_engine()
        case = eng.start(
            "accountability_case",
            business_key="追责-2026-0099",
            unit_code=WANCHENG_TOWN,
            data={
                "source": "member_unit",
                "reporter": "市公安局",
                "art31_items": [2],
                "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
            },
        )
        detail = {"leaders": [ZHANG, WANG], "level": "interview"}
        with clockmod.activated(eng.clock):
            eng.event(case, OFFICE, PROPOSED, detail=detail)
            PERSONAL_MEASURE_HANDLERS[PROPOSED](eng, case, Record(PROPOSED, detail))
        db.session.commit()
        send_letters(eng, case.id)
        db.session.commit()
        case_id = case.id
        task = db.session.scalars(
            select(Task)
            .join(PersonalMeasure, PersonalMeasure.referral_instance_id == Task.instance_id)
            .where(PersonalMeasure.leader_name == "张三", Task.element_id == "handle_by_organization")
        ).one()
        task_id, referral_id = task.id, task.instance_id

    # The organisation department of 宛城区 records the outcome through the task page's form (prefilled rows),
    # after its decision of 10 April.
    clock = web.extensions["governance"].clock
    assert isinstance(clock, ManualClock)
    clock.set(datetime(2026, 4, 13, 10, 0, tzinfo=CST))
    client = web.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={"username": "411302.organization_personnel", "password": "demo", "csrf_token": _token(page)},
    )
    form = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'name="organization_outcomes-0-measure"' in form and 'value="removal" selected' in form
    response = client.post(
        f"/tasks/{task_id}",
        data={
            "csrf_token": _token(form),
            "organization_outcomes__present": "1",
            "organization_outcomes-0-measure": "removal",
            "organization_outcomes-0-decision": "adopted",
            "organization_outcomes-0-decided_on": "2026-04-10",
            "organization_outcomes-0-document_no": "宛组干〔2026〕12号",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)

    client = web.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login", data={"username": "411302.office_director", "password": "demo", "csrf_token": _token(page)}
    )
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    section = html[html.index('id="personal-measures"') :]
    section = section[: section.index("</section>")]
    for text in (
        "个人责任追究",
        "张三",
        "街道党工委书记",
        "免职",
        "宛城区组织人事部门",
        "采纳",
        "宛组干〔2026〕12号",
    ):
        assert text in section, text
    assert (
        "王五" in section
        and "党纪处分" in section
        and "宛城区纪检监察机关" in section
        and "办理中" in section
    )
    # The referral's own page shows that leader's proposal only.
    html = client.get(f"/cases/{referral_id}").get_data(as_text=True)
    section = html[html.index('id="personal-measures"') :]
    section = section[: section.index("</section>")]
    assert "张三" in section and "王五" not in section
