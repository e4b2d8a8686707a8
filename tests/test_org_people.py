"""The organisation as data an administrator maintains (issue 11, items 1 and 9): the committees' member units
and the units of the city-direct systems in the tree, named people in posts with dates, grants that follow the
posts, every lane of every diagram reaching someone in the demo organisation, and a task nobody holds flagged
to the office. The admin's pages, API and import: tests/test_org_admin.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import func, select

from app.extensions import db
from app.inbox.models import Notification
from app.org import services
from app.org.grants import sync_post_grants
from app.org.upkeep import keep_organisation
from app.runtime import runtime
from tests.conftest import FIXTURES, ROOT, demo_app
from tests.org_people_support import (
    BPMN,
    CITY,
    CITY_MEMBER,
    COUNTY,
    MEMBER,
    NOW,
    SYSTEM_UNIT,
    TODAY,
    TOWN,
    account,
    held_grants,
)
from workflows.engine.deploy.definitions import deploy, read_project_files
from workflows.engine.errors import NotAuthorized
from workflows.engine.models import DefinitionVersion, InstanceEvent, Task
from workflows.regulation import people
from workflows.regulation.org_units import OrgUnitError, next_code
from workflows.regulation.people import JOINT_MEETING, PeopleError, Person
from workflows.regulation.roles import OrgNode, OrgTree, parse_lane


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, start=NOW) as app:
        yield app


# -- the tree ------------------------------------------------------------------------------------------------
def test_member_and_system_units_sit_under_their_committee_and_unit() -> None:
    """OrgTree on member units (parent: the committee's city or county) and system units (parent: the
    city-direct unit): their upper level, county, subtree and lane resolution."""
    org = OrgTree(
        {
            n.code: n
            for n in [
                OrgNode(CITY, "南阳市", "city", None),
                OrgNode(COUNTY, "宛城区", "county", CITY),
                OrgNode(TOWN, "东关街道", "township", COUNTY),
                OrgNode(MEMBER, "南阳市公安局宛城分局", "member_unit", COUNTY),
                OrgNode("411302-M03", "宛城区人民法院", "member_unit", COUNTY, active=False),
                OrgNode(CITY_MEMBER, "南阳市公安局", "member_unit", CITY),
                OrgNode("CD02", "市教育局", "city_direct", CITY),
                OrgNode(SYSTEM_UNIT, "南阳市第一中学校", "system_unit", "CD02"),
            ]
        }
    )
    assert org.upper(MEMBER) == COUNTY and org.upper(CITY_MEMBER) == CITY and org.upper(SYSTEM_UNIT) == "CD02"
    assert org.county_of(MEMBER) == COUNTY and org.county_of(CITY_MEMBER) is None
    assert org.county_of(SYSTEM_UNIT) is None
    assert {MEMBER, TOWN, "411302-M03"} <= org.subtree({COUNTY}) and CITY_MEMBER not in org.subtree({COUNTY})
    assert org.resolve(parse_lane("office_staff@upper"), MEMBER) == COUNTY
    assert org.resolve(parse_lane("member_unit@own"), MEMBER) == MEMBER
    assert org.resolve(parse_lane("office_director@body"), CITY_MEMBER) == CITY
    assert [n.code for n in org.children(COUNTY, ("member_unit",))] == [MEMBER]
    assert [n.code for n in org.children(COUNTY, ("member_unit",), active_only=False)] == [
        MEMBER,
        "411302-M03",
    ]


def test_the_demo_organisation_has_member_units_for_the_city_and_every_county(app: Flask) -> None:
    with app.app_context():
        org = runtime().org(db.session())
        counties = [n for n in org.nodes.values() if n.level == "county"]
        assert len(counties) == 15
        for committee in [org.nodes[CITY], *counties]:
            members = org.children(committee.code, ("member_unit",))
            assert len(members) >= 5, committee.name
            assert all(re.fullmatch(rf"{committee.code}-M\d\d", m.code) for m in members)
            assert any("政法委员会" in m.name for m in members)
        names = {m.name for m in org.children(COUNTY, ("member_unit",))}
        assert {"中共宛城区委政法委员会", "南阳市公安局宛城分局", "宛城区人民法院", "宛城区信访局"} <= names
        assert [n.code for n in org.children("CD02", ("system_unit",))] == ["CD02-S01", "CD02-S02"]
        assert next_code(db.session(), COUNTY, "member_unit") == "411302-M13"


# -- people, posts, grants -----------------------------------------------------------------------------------
def test_every_county_and_township_has_two_principal_leaders_and_an_in_charge_leader(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        org = runtime().org(session)
        for node in org.nodes.values():
            if node.level in ("county", "township"):
                posts = people.holder_posts(session, "unit_principal_leader", node.code, TODAY)
                assert [p.kind for p in posts] == ["party_principal", "government_principal"], node.code
                assert len(people.holders(session, "unit_in_charge_leader", node.code, TODAY)) == 1
            if node.level == "member_unit":
                assert len(people.holders(session, "member_unit", node.code, TODAY)) == 2, node.code
        leaders = people.display_holders(session, "unit_principal_leader", TOWN, TODAY)
        assert len(leaders) == 2 and leaders[0].endswith("（街道党工委书记）") and "办事处主任" in leaders[1]
        assert people.display_holders(session, "unit_principal_leader", COUNTY, TODAY)[1].endswith("（区长）")
        assert people.display_holders(session, "member_unit", MEMBER, TODAY)[0].endswith("（局长）")
        assert people.display_holders(session, "unit_principal_leader", "nowhere", TODAY) == []
        fictitious = session.scalars(select(Person.notes).distinct()).all()
        assert fictitious == ["示例数据：虚构人物，姓名取自固定名单，与真实人员无关"]


def test_demo_accounts_are_linked_to_persons_and_hold_what_their_posts_carry(app: Flask) -> None:
    with app.app_context():
        expected = {
            # 党政主要负责同志: both hold the role, each its own qualifier for the hearings (Art. 9(3))
            f"{TOWN}.unit_principal_leader": {
                ("unit_principal_leader", TOWN),
                ("unit_principal_leader/party", TOWN),
            },
            f"{TOWN}.government_principal": {
                ("unit_principal_leader", TOWN),
                ("unit_principal_leader/government", TOWN),
            },
            f"{COUNTY}.office_director": {("office_director", COUNTY)},
            f"{COUNTY}.county_committee": {("county_committee", COUNTY)},
            f"{COUNTY}.joint_meeting_member/discipline": {("joint_meeting_member/discipline", COUNTY)},
            f"{MEMBER}.member_unit": {("member_unit", MEMBER), ("unit_principal_leader", MEMBER)},
            f"{MEMBER}.unit_in_charge_leader": {("member_unit", MEMBER), ("unit_in_charge_leader", MEMBER)},
            f"{CITY}.unit_principal_leader": {
                ("unit_principal_leader", CITY),
                ("unit_principal_leader/party", CITY),
            },
            f"{CITY}.government_principal": {
                ("unit_principal_leader", CITY),
                ("unit_principal_leader/government", CITY),
            },
            f"{SYSTEM_UNIT}.unit_principal_leader": {("unit_principal_leader", SYSTEM_UNIT)},
        }
        for username, grants in expected.items():
            user = account(username)
            assert user.person is not None, username
            assert {(g.role, g.org_code) for g in user.grants} == grants, username
            assert all(g.post_id is not None for g in user.grants), username
        admin = account(f"{CITY}.admin")
        assert admin.person is None and [(g.role, g.post_id) for g in admin.grants] == [("admin", None)]
        persons = db.session.scalar(select(func.count()).select_from(Person))
    again = app.test_cli_runner().invoke(args=["init-demo"])
    assert again.exit_code == 0 and "0 demo account(s) created" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == persons  # idempotent


def lanes() -> set[tuple[str, str]]:
    """Every (role, scope) a lane of bpmn/*.bpmn names; a joint-meeting lane once per department."""
    found: set[tuple[str, str]] = set()
    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        for lane in etree.parse(str(path)).iter(f"{BPMN}lane"):
            parsed = parse_lane(lane.get("name"))
            roles = (
                [f"{parsed.role}/{d}" for d in JOINT_MEETING]
                if parsed.role == "joint_meeting_member"
                else [parsed.role]
            )
            found |= {(role, parsed.scope) for role in roles}
    return found


UNIT_ROLES = ("unit_principal_leader", "unit_in_charge_leader")


def lane_units(org: OrgTree, role: str, scope: str) -> list[str]:
    """The units a lane can apply to in the demo organisation, by what its role is (DOMAIN.md, "Roles"):
    a unit's leaders on every unit with a party committee and government or a department (letters, hearings,
    accountability); member_unit on the committees' member units (summaries, reports); the committee's roles
    on the city and the counties (the annual cycle, the assessment) and, ``@upper``/``@body``, on every unit a
    committee deals with (counties, city-direct units, townships, member units); the county committee's
    first check on townships (Art. 36); ``@body`` also the city for a township (key townships, Art. 35)."""
    active = [n for n in org.nodes.values() if n.active]
    committees = [n.code for n in active if n.level in ("city", "county")]
    dealt_with = [n.code for n in active if n.level in ("county", "city_direct", "township", "member_unit")]
    if scope == "city":
        return [CITY]
    if scope in ("upper", "body"):
        return (
            [n.code for n in active if n.level == "township"]
            if role == "county_committee"
            else committees + dealt_with
        )
    if role == "member_unit":
        return [n.code for n in active if n.level == "member_unit"]
    if role in UNIT_ROLES:
        return [n.code for n in active]  # member units' leaders hold them too (member_principal/_in_charge)
    return [n.code for n in active if n.level == "county"] if role == "county_committee" else committees


def test_every_lane_resolves_to_someone_in_the_demo_organisation(app: Flask) -> None:
    """Issue 11, item 9: for every lane role@scope of bpmn/*.bpmn and every unit it can apply to, an active
    demo account holds the role at the organisation the lane resolves to — summaries reach a member unit's
    leader, the city's half-year hearing its principal leaders, a letter the unit's signatory."""
    found = lanes()
    assert ("member_unit", "own") in found and ("unit_principal_leader", "own") in found
    with app.app_context():
        org = runtime().org(db.session())
        held = held_grants()
        missing = []
        for role, scope in sorted(found):
            for unit in lane_units(org, role, scope):
                targets = {org.resolve(parse_lane(f"{role.partition('/')[0]}@{scope}"), unit)}
                if scope == "body" and org.nodes[unit].level == "township":
                    targets.add(CITY)  # the city lists a key township (body_code)
                missing += [f"{role}@{scope} for {unit} → {t}" for t in targets if (role, t) not in held]
        assert not missing, f"{len(missing)} lane(s) reach nobody, e.g. {missing[:10]}"


@pytest.mark.obligation("O13.1")
def test_letters_go_down_to_named_responsible_persons(app: Flask) -> None:
    """Art. 13 (落实到责任人): every unit the city's or a county's committee issues letters to — counties,
    city-direct units, townships, member units — has named principal leaders to sign them; a county and a
    township both its party and its government principal."""
    with app.app_context():
        session = db.session()
        org = runtime().org(session)
        committees = [CITY, *(n.code for n in org.nodes.values() if n.level == "county")]
        for committee in committees:
            for unit in org.children(committee):
                names = people.display_holders(session, "unit_principal_leader", unit.code, TODAY)
                expected = 2 if unit.level in ("county", "township") else 1
                assert len(names) == expected and all("（" in n for n in names), (unit.code, names)


@pytest.mark.obligation("O22.1")
def test_a_committee_keeps_records_of_named_cadres(app: Flask) -> None:
    """Art. 22: 宛城区's committee keeps performance records of its townships' party and government principal
    leaders and in-charge leaders and of its member units' principal and in-charge leaders — named people."""
    with app.app_context():
        session = db.session()
        org = runtime().org(session)
        posts = people.record_subjects(session, COUNTY, TODAY)
        townships = org.children(COUNTY, ("township",))
        members = org.children(COUNTY, ("member_unit",))
        assert len(posts) == 3 * len(townships) + 2 * len(members)
        kinds = {(p.org_code, p.kind) for p in posts}
        assert (TOWN, "government_principal") in kinds and (MEMBER, "member_in_charge") in kinds
        assert all(p.person.name for p in posts)
        city = people.record_subjects(session, CITY, TODAY)
        assert {p.org_code for p in city} >= {COUNTY, CITY_MEMBER} and TOWN not in {p.org_code for p in city}


def start_case(session: Any, unit: str) -> tuple[Any, Task]:
    """The fixture procedure (tests/fixtures) at ``unit`` up to its leader's first task (report measures)."""
    engine = runtime().engine(session)
    if not any("rectification" in v.process_ids for v in session.scalars(select(DefinitionVersion))):
        deploy(session, read_project_files(FIXTURES), engine.checks, created_by="test")
    case = engine.start("rectification", business_key=f"org-{unit}", unit_code=unit)
    county = runtime().org(session).upper(unit)
    office = account(f"{county}.office_director").actor()
    engine.complete_task(
        engine.ready_tasks(case.id)[0].id, {"facts": "发生重大案件", "proposal": "notification"}, office
    )
    committee = account(f"{county}.committee_director").actor()
    engine.complete_task(engine.ready_tasks(case.id)[0].id, {"approved": True}, committee)
    task = engine.ready_tasks(case.id)[0]
    assert (task.role, task.org_code) == ("unit_principal_leader", unit)
    return engine, task


def test_a_change_of_post_moves_future_tasks_not_history(app: Flask) -> None:
    """The party secretary of 新华街道 reports measures (completed: keeps her name), claims the next task,
    and is moved to a township of 卧龙区: the claim goes back to the post, the government principal can work
    it, she cannot; her new township's tasks are hers; her history shows both posts."""
    town, elsewhere = "411302002", "411303002"
    with app.app_context():
        session = db.session()
        engine, task = start_case(session, town)
        secretary = account(f"{town}.unit_principal_leader")
        engine.complete_task(task.id, {"measures": "已部署整改"}, secretary.actor())
        rectify = engine.ready_tasks(task.instance_id)[0]
        engine.claim(rectify.id, secretary.actor())
        session.commit()

        post = next(p for p in secretary.person.posts if p.kind == "party_principal")
        moved = services.change_post(session, post.id, TODAY, NOW, org_code=elsewhere, title="街道党工委书记")
        session.commit()
        assert {(g.role, g.org_code) for g in account(secretary.username).grants} == {
            ("unit_principal_leader", elsewhere),
            ("unit_principal_leader/party", elsewhere),
        }
        assert session.get(Task, task.id).completed_by == secretary.username  # history keeps her
        assert session.get(Task, rectify.id).claimed_by is None  # the open task went back to the post
        released = session.scalars(select(InstanceEvent).where(InstanceEvent.kind == "task_released")).all()
        assert [(e.task_id, e.detail["from"]) for e in released] == [(rectify.id, secretary.username)]
        with pytest.raises(NotAuthorized):
            engine.complete_task(rectify.id, {}, account(secretary.username).actor())
        history = people.post_history(session, secretary.person)
        assert [(p.org_code, p.end_on) for p in history] == [
            (town, TODAY),
            (elsewhere, None),
        ] and moved.id == history[1].id
        names = people.display_holders(session, "unit_principal_leader", town, TODAY)
        assert len(names) == 1 and "办事处主任" in names[0]
        there = people.display_holders(session, "unit_principal_leader", elsewhere, TODAY)
        assert f"{secretary.person.name}（街道党工委书记）" in there
        engine.complete_task(rectify.id, {}, account(f"{town}.government_principal").actor())
        session.commit()


def test_a_post_changed_ahead_of_time_moves_the_grants_on_its_day(app: Flask) -> None:
    town, member = "411302003", "411302-M05"
    tomorrow = TODAY + timedelta(days=1)
    with app.app_context():
        session = db.session()
        leader = account(f"{town}.unit_in_charge_leader")
        post = next(p for p in leader.person.posts if p.end_on is None)
        services.change_post(session, post.id, tomorrow, NOW, org_code=member, kind="member_in_charge")
        session.commit()
        assert {(g.role, g.org_code) for g in account(leader.username).grants} == {
            ("unit_in_charge_leader", town)
        }
        report = sync_post_grants(session, NOW + timedelta(days=1))  # what the background pass does
        session.commit()
        assert {(g.role, g.org_code) for g in account(leader.username).grants} == {
            ("member_unit", member),
            ("unit_in_charge_leader", member),
        }
        assert (leader.username, "unit_in_charge_leader", town) in report.removed
        assert sync_post_grants(session, NOW + timedelta(days=1)).changed is False  # nothing left to do
        with pytest.raises(PeopleError, match="another unit or another kind"):
            services.change_post(session, post.id, tomorrow, NOW)


def test_a_task_nobody_holds_is_flagged_to_the_office(app: Flask) -> None:
    """Both principal leaders of 汉冶街道 left: the measures task reaches nobody, so the background pass
    writes task_unassigned on the case and notifies 宛城区's office director, once."""
    town = "411302004"
    with app.app_context():
        session = db.session()
        for post in people.holder_posts(session, "unit_principal_leader", town, TODAY):
            services.end_post(session, post.id, TODAY, NOW)
        session.commit()
        _engine, task = start_case(session, town)
        session.commit()
        upkeep = keep_organisation(session, runtime().org(session), NOW)
        assert task.id in upkeep.unassigned
        event = session.scalar(
            select(InstanceEvent).where(
                InstanceEvent.task_id == task.id, InstanceEvent.kind == "task_unassigned"
            )
        )
        assert event is not None and event.detail["office"] == COUNTY
        notices = session.scalars(select(Notification).where(Notification.task_id == task.id)).all()
        director = account(f"{COUNTY}.office_director")
        assert [(n.user_id, n.kind) for n in notices] == [(director.id, "unassigned")]
        assert "无人办理" in notices[0].message and "主要负责同志" in notices[0].message
        assert keep_organisation(session, runtime().org(session), NOW).unassigned == []  # once
    result = app.test_cli_runner().invoke(args=["timers"])  # the pass runs the same step
    assert result.exit_code == 0, result.output


def test_units_are_added_edited_and_deactivated(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        unit = services.create_unit(session, "宛城区退役军人事务局", "member_unit", COUNTY, None)
        assert unit.code == "411302-M13"
        with pytest.raises(OrgUnitError, match="sits under"):
            services.create_unit(session, "某学校", "system_unit", COUNTY, None)
        with pytest.raises(OrgUnitError, match="exists"):
            services.create_unit(session, "重复", "township", COUNTY, TOWN)
        person = services.add_person(session, "欧阳志远", "male")
        services.assign_post(session, person.id, unit.code, "member_principal", TODAY, NOW, "局长")
        ended = services.set_unit_active(session, unit.code, False, NOW, "机构调整")
        session.commit()
        runtime().reload_calendar(session)
        assert [p.person_id for p in ended] == [person.id] and not runtime().org(session).nodes[
            unit.code
        ].active
        assert people.holders(session, "member_unit", unit.code, TODAY) == []
        with pytest.raises(PeopleError, match="deactivated"):
            services.assign_post(session, person.id, unit.code, "member_principal", TODAY, NOW)
