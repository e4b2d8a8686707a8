"""Art. 38 (O38.1): a written report names the unit it is about; the case is opened against that unit, so it
lands at the unit's competent office (the office one level above it, 相应的上一级); a report received by an
office that is not competent for the unit is forwarded there, and the forwarding goes on the working file;
the report page's unit picker offers the units the clerk's office is competent for.

The tests run on the small organisation of tests/conftest.py plus one county department in each county. The
web page, the API and the browser on Nanyang's real organisation: tests/test_intake_forwarding_web.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.cases.services import get_case, open_case, unit_choices
from tests.conftest import (
    CITY,
    CITY_DIRECT,
    COUNTY_OFFICE,
    OTHER_COUNTY_OFFICE,
    ROOT,
    WANCHENG,
    WANCHENG_TOWN,
    WOLONG,
    WOLONG_TOWN,
    actor,
)
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import deploy, read_project_files
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import InstanceEvent, OrgUnit, ProcessInstance, Task
from workflows.regulation.access import can_read
from workflows.regulation.annual import start_report_filing
from workflows.regulation.intake import competent_office, receiving_office, units_in_competence
from workflows.regulation.roles import load_org

# One member unit (county department) of each county committee, besides the conftest organisation.
WANCHENG_DEPT, WOLONG_DEPT = "411302D01", "411303D01"
NOW = datetime(2026, 4, 13, 9, 0, tzinfo=CST)  # a Monday
SITUATION = {
    "report_kind": "important_situation",
    "title": "辖区连续发生入室盗窃",
    "content": "4月上旬东关街道辖区连续发生入室盗窃案件，群众反映强烈。",
}
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
}
WEB_REPORT = {**REPORT, "art31_items": ["2"]}


class Desk:
    """Member units file reports and office clerks receive them; each call is its own session and commit."""

    def __init__(self, factory: sessionmaker[Session], make_engine: Callable[[Session], Engine]) -> None:
        self.factory, self.make_engine = factory, make_engine

    def file(self, unit: str, **fields: Any) -> int:
        member = actor(f"member@{unit}", ("member_unit", unit))
        with self.factory() as s:
            eng = self.make_engine(s)
            filing = start_report_filing(eng, unit, member)
            task = eng.ready_tasks(filing.id)[0]
            eng.complete_task(task.id, {**SITUATION, **fields}, member)
            s.commit()
            return filing.id

    def task(self, instance_id: int, element: str) -> Task:
        with self.factory() as s:
            return s.scalars(
                select(Task).where(
                    Task.instance_id == instance_id, Task.element_id == element, Task.state == "ready"
                )
            ).one()

    def receive(self, filing_id: int, data: dict[str, Any], user: str = "clerk") -> Actor:
        task = self.task(filing_id, "receive_report")
        clerk = actor(user, (task.role, task.org_code))
        with self.factory() as s:
            self.make_engine(s).complete_task(task.id, data, clerk)
            s.commit()
        return clerk

    def case_of(self, filing_id: int) -> ProcessInstance | None:
        with self.factory() as s:
            return s.scalar(select(ProcessInstance).where(ProcessInstance.parent_instance_id == filing_id))

    def events(self, instance_id: int, kind: str) -> list[InstanceEvent]:
        with self.factory() as s:
            return list(
                s.scalars(
                    select(InstanceEvent)
                    .where(InstanceEvent.instance_id == instance_id, InstanceEvent.kind == kind)
                    .order_by(InstanceEvent.id)
                )
            )


@pytest.fixture
def desk(
    session: Session,
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
) -> Desk:
    session.add_all(
        [
            OrgUnit(code=WANCHENG_DEPT, name="宛城区公安分局", level="county_direct", parent_code=WANCHENG),
            OrgUnit(code=WOLONG_DEPT, name="卧龙区公安分局", level="county_direct", parent_code=WOLONG),
        ]
    )
    session.commit()
    deploy(session, read_project_files(ROOT), make_engine(session).checks, created_by="test")
    session.commit()
    clock.set(NOW)
    return Desk(session_factory, make_engine)


def referral(subject: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"handling": "accountability", "art31_items": [2]}
    if subject is not None:
        data["subject_unit_code"] = subject
    return data


# -- the member unit's report (annual_report_filing) ---------------------------------------------------------
@pytest.mark.obligation("O38.1")
def test_a_member_units_report_about_a_township_opens_a_case_against_the_township(desk: Desk) -> None:
    """宛城区公安分局 (a member unit of the county committee) reports about 东关街道: the case is the
    township's, its intake lands at 宛城区's office — the office that received the report, so nothing is
    forwarded."""
    filing = desk.file(WANCHENG_DEPT, subject_unit_code=WANCHENG_TOWN)
    receive = desk.task(filing, "receive_report")
    assert (receive.role, receive.org_code) == ("office_staff", WANCHENG)
    desk.receive(filing, referral(WANCHENG_TOWN))

    case = desk.case_of(filing)
    assert case is not None
    assert (case.process_id, case.unit_code) == ("accountability_case", WANCHENG_TOWN)
    register = desk.task(case.id, "register_report")
    assert (register.role, register.org_code, register.unit_code) == ("office_staff", WANCHENG, WANCHENG_TOWN)
    assert desk.events(case.id, "report_forwarded") == []
    assert desk.events(filing, "report_forwarded") == []
    [referred] = desk.events(filing, "report_referred")
    assert referred.detail["subject_unit_code"] == WANCHENG_TOWN
    assert referred.detail["article"] == "Art. 38 (O38.1)"


@pytest.mark.obligation("O38.1")
def test_the_office_corrects_the_unit_the_filer_named(desk: Desk) -> None:
    """The filer named the wrong township; the office's receipt corrects it, and the case follows the office.
    Both values stay on the report's working file."""
    filing = desk.file(WANCHENG_DEPT, subject_unit_code=WOLONG_TOWN)
    desk.receive(filing, referral(WANCHENG_TOWN))
    case = desk.case_of(filing)
    assert case is not None and case.unit_code == WANCHENG_TOWN
    named = [e.detail["data"].get("subject_unit_code") for e in desk.events(filing, "task_completed")]
    assert named == [WOLONG_TOWN, WANCHENG_TOWN]


@pytest.mark.obligation("O38.1")
@pytest.mark.parametrize(
    ("filer", "received_by", "received_name", "clerk_reads_case"),
    [
        (WOLONG_DEPT, WOLONG, "卧龙区综治办", False),  # another county's office: forwarded out of its sight
        (CITY_DIRECT, CITY, "南阳市综治办", True),  # the city office: forwarded down, still overseen
    ],
)
def test_a_report_the_receiving_office_is_not_competent_for_is_forwarded(
    desk: Desk,
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    filer: str,
    received_by: str,
    received_name: str,
    clerk_reads_case: bool,
) -> None:
    """A report about 东关街道 reaches an office other than 宛城区's: the case is still 东关街道's and
    lands at 宛城区's office; who received it, which office it went to and when are on the case's working
    file and on the report's, and the receiving clerk can still open the report he worked on."""
    filing = desk.file(filer, subject_unit_code=WANCHENG_TOWN)
    assert desk.task(filing, "receive_report").org_code == received_by
    clerk = desk.receive(filing, referral(WANCHENG_TOWN), user="receiving-clerk")

    case = desk.case_of(filing)
    assert case is not None and case.unit_code == WANCHENG_TOWN  # never the wrong unit
    assert desk.task(case.id, "register_report").org_code == WANCHENG  # at the competent office
    [on_case] = desk.events(case.id, "report_forwarded")
    [on_report] = desk.events(filing, "report_forwarded")
    for event in (on_case, on_report):
        assert event.actor == "receiving-clerk" and event.at == NOW
        detail = event.detail
        assert (detail["received_by"], detail["received_by_name"]) == (received_by, received_name)
        assert (detail["forwarded_to"], detail["forwarded_to_name"]) == (WANCHENG, "宛城区综治办")
        assert (detail["unit_code"], detail["unit_name"]) == (WANCHENG_TOWN, "东关街道")
        assert (detail["case_id"], detail["report_id"]) == (case.id, filing)
        assert detail["article"] == "Art. 38 (O38.1)"

    with session_factory() as s:
        eng = make_engine(s)
        org = load_org(s)
        report = get_case(eng, clerk, filing)  # the page of the report he worked on opens
        assert report.id == filing and can_read(s, org, clerk, report)
        assert can_read(s, org, clerk, s.get(ProcessInstance, case.id)) is clerk_reads_case
        competent = actor("wancheng-clerk", ("office_staff", WANCHENG))
        assert can_read(s, org, competent, s.get(ProcessInstance, case.id))


@pytest.mark.obligation("O38.1")
def test_referring_needs_a_known_subject_and_plain_information_does_not(desk: Desk) -> None:
    filing = desk.file(WANCHENG_DEPT)  # the filer may leave the unit out
    with pytest.raises(FormInvalid) as missing:
        desk.receive(filing, referral(None))
    assert "subject_unit_code" in missing.value.errors
    with pytest.raises(FormInvalid) as unknown:
        desk.receive(filing, referral("999999"))
    assert unknown.value.codes["subject_unit_code"] == [("unit", None)]
    assert desk.case_of(filing) is None  # nothing opened, the receipt still waits
    desk.receive(filing, {"handling": "noted"})
    assert desk.case_of(filing) is None

    info = desk.file(WOLONG_DEPT, report_kind="work_information")
    desk.receive(info, {"handling": "instructed", "instructions": "请继续做好排查。"})
    assert desk.case_of(info) is None and desk.events(info, "report_forwarded") == []


# -- opening a case by hand (web page and API service) -------------------------------------------------------
@pytest.mark.obligation("O38.1")
def test_opening_a_case_by_hand_forwards_what_the_office_is_not_competent_for(
    desk: Desk, session_factory: sessionmaker[Session], make_engine: Callable[[Session], Engine]
) -> None:
    city_clerk = actor("city-clerk", ("office_staff", CITY))
    supervisor = actor("supervisor", ("supervisor", CITY))
    with session_factory() as s:
        eng = make_engine(s)
        opened = {
            who.user_id: open_case(eng, who, WANCHENG_TOWN, dict(REPORT))
            for who in (OTHER_COUNTY_OFFICE, COUNTY_OFFICE, city_clerk, supervisor)
        }
        s.commit()
        ids = {user: inst.id for user, inst in opened.items()}
    for inst_id in ids.values():
        with session_factory() as s:
            case = s.get(ProcessInstance, inst_id)
            assert case is not None and case.unit_code == WANCHENG_TOWN
        assert desk.task(inst_id, "register_report").org_code == WANCHENG
    forwarded = {user: [e.detail for e in desk.events(i, "report_forwarded")] for user, i in ids.items()}
    assert forwarded["wancheng-office"] == [] and forwarded["supervisor"] == []  # competent / no office
    [wolong] = forwarded["wolong-office"]
    assert (wolong["received_by"], wolong["forwarded_to"], wolong["received_by_user"]) == (
        WOLONG,
        WANCHENG,
        "wolong-office",
    )
    [city] = forwarded["city-clerk"]
    assert (city["received_by"], city["forwarded_to"]) == (CITY, WANCHENG)


@pytest.mark.obligation("O38.1")
def test_the_competence_rule_and_the_picker(desk: Desk, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        org = load_org(s)
    assert competent_office(org, WANCHENG_TOWN) == WANCHENG
    assert competent_office(org, WANCHENG) == competent_office(org, CITY_DIRECT) == CITY
    assert [n.code for n in units_in_competence(org, WANCHENG)] == [WANCHENG_TOWN, WANCHENG_DEPT]
    assert [n.code for n in units_in_competence(org, CITY)] == [WANCHENG, WOLONG, CITY_DIRECT]
    assert units_in_competence(org, WANCHENG_TOWN) == []
    assert receiving_office(org, OTHER_COUNTY_OFFICE, WANCHENG_TOWN) == WOLONG
    assert receiving_office(org, COUNTY_OFFICE, WANCHENG_TOWN) is None
    assert receiving_office(org, actor("s", ("supervisor", WOLONG)), WANCHENG_TOWN) is None

    with session_factory() as s:
        eng = desk.make_engine(s)

        def groups(who: Actor) -> list[tuple[str, str, list[str]]]:
            return [(g.office_code, g.level, [u.code for u in g.units]) for g in unit_choices(eng, who)]

        assert groups(COUNTY_OFFICE) == [
            (WANCHENG, "township", [WANCHENG_TOWN]),
            (WANCHENG, "county_direct", [WANCHENG_DEPT]),
        ]
        assert groups(actor("c", ("office_director", CITY))) == [
            (CITY, "county", [WANCHENG, WOLONG]),
            (CITY, "city_direct", [CITY_DIRECT]),
        ]
        everyone = groups(actor("s", ("supervisor", CITY)))  # not an office: every unit, by competent office
        assert [office for office, _level, _units in everyone] == [
            CITY,
            CITY,
            WANCHENG,
            WANCHENG,
            WOLONG,
            WOLONG,
        ]
        assert sorted(code for _o, _l, codes in everyone for code in codes) == sorted(set(org.nodes) - {CITY})
