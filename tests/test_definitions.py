"""Deploying definitions: hostile and broken input is refused with file, line and element; good input
becomes an immutable numbered version, and running instances stay on theirs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import FIXTURES, WANCHENG_TOWN
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import deploy, read_project_files
from workflows.engine.errors import DefinitionInvalid, Problem
from workflows.engine.models import DefinitionFile, DefinitionVersion, ProcessInstance

GOOD = read_project_files(FIXTURES)
BPMN = "bpmn/rectification.bpmn"


def refused(engine: Engine, session: Session, files: dict[str, str]) -> list[Problem]:
    with pytest.raises(DefinitionInvalid) as caught:
        deploy(session, files, engine.checks, created_by="test")
    assert session.scalar(select(func.count()).select_from(DefinitionVersion)) == 0  # nothing stored
    return caught.value.problems


def with_bpmn(text: str) -> dict[str, str]:
    return {**GOOD, BPMN: text}


def tweak(old: str, new: str) -> dict[str, str]:
    assert old in GOOD[BPMN], old
    return with_bpmn(GOOD[BPMN].replace(old, new, 1))


def test_good_set_deploys_as_version_1_and_again_is_idempotent(session: Session, engine: Engine) -> None:
    v1 = deploy(session, GOOD, engine.checks, created_by="test")
    assert (v1.number, sorted(v1.process_ids)) == (1, ["rectification", "wait_working_days"])
    assert sorted(f.path for f in v1.files) == sorted(GOOD)
    assert deploy(session, GOOD, engine.checks, created_by="test").id == v1.id
    v2 = deploy(
        session, tweak('name="综治委审批"', 'name="综治委审批（改）"'), engine.checks, created_by="test"
    )
    assert v2.number == 2


def test_deployed_version_is_immutable(session: Session, engine: Engine) -> None:
    version = deploy(session, GOOD, engine.checks, created_by="test")
    session.commit()
    version.comment = "rewritten history"
    with pytest.raises(ValueError, match="immutable"):
        session.flush()
    session.rollback()
    file = session.scalars(select(DefinitionFile)).first()
    assert file is not None
    session.delete(file)
    with pytest.raises(ValueError, match=r"immutable|cannot be deleted"):
        session.flush()
    session.rollback()


def test_running_instance_keeps_its_version(
    session_factory: sessionmaker[Session], make_engine: Callable[[Session], Engine], deployed: Any
) -> None:
    with session_factory() as s:
        old = make_engine(s).start("rectification", business_key="old", unit_code=WANCHENG_TOWN)
        s.commit()
        v2 = deploy(
            s, tweak('name="核实并提出处理建议"', 'name="核实"'), make_engine(s).checks, created_by="t"
        )
        s.commit()
        new = make_engine(s).start("rectification", business_key="new", unit_code=WANCHENG_TOWN)
        s.commit()
        assert old.version_id == deployed.id and new.version_id == v2.id
        names = {
            i.business_key: make_engine(s).ready_tasks(i.id)[0].name
            for i in s.scalars(select(ProcessInstance))
        }
        assert names == {"old": "核实并提出处理建议", "new": "核实"}


def test_external_entity_is_refused(session: Session, engine: Engine) -> None:
    xxe = (
        GOOD[BPMN]
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        )
        .replace('name="综治委审批"', 'name="&x;"')
    )
    problems = refused(engine, session, with_bpmn(xxe))
    assert len(problems) == 1 and problems[0].file == BPMN
    assert "DOCTYPE" in problems[0].message or "entity" in problems[0].message
    assert "root:" not in str(problems)  # the file was not read into the message


def test_entity_expansion_bomb_is_refused(session: Session, engine: Engine) -> None:
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    bomb = f'<?xml version="1.0"?>\n<!DOCTYPE b [<!ENTITY l0 "lol">{lol}]>\n<b>&l9;</b>'
    problems = refused(engine, session, with_bpmn(bomb))
    assert problems[0].file == BPMN and ("DOCTYPE" in problems[0].message or "entity" in problems[0].message)


def test_oversized_file_is_refused(session: Session, engine: Engine) -> None:
    huge = GOOD[BPMN].replace("<!-- Test fixture", "<!-- " + "x" * (3 * 1024 * 1024) + " Test fixture")
    problems = refused(engine, session, with_bpmn(huge))
    assert "超过上限" in problems[0].message


def test_malformed_xml_names_the_line(session: Session, engine: Engine) -> None:
    problems = refused(
        engine, session, tweak('<bpmn:userTask id="approve" name="综治委审批">', "<bpmn:userTask")
    )
    assert problems[0].file == BPMN and "XML 格式错误" in problems[0].message and problems[0].line


def test_xsd_violation_is_refused(session: Session, engine: Engine) -> None:
    problems = refused(
        engine,
        session,
        tweak(
            '<bpmn:exclusiveGateway id="Gateway_accepted" default="f10"/>',
            '<bpmn:exclusiveGateway id="Gateway_accepted" colour="f10"/>',
        ),
    )
    assert problems[0].file == BPMN and "BPMN" in problems[0].message


def test_unknown_role_lane_names_the_task(session: Session, engine: Engine) -> None:
    problems = refused(engine, session, tweak('name="committee_director@upper"', 'name="mayor@upper"'))
    assert [(p.element, "角色 mayor 不存在" in p.message) for p in problems] == [("approve", True)]
    assert problems[0].line and problems[0].line > 1


def test_unknown_scope_is_refused(session: Session, engine: Engine) -> None:
    problems = refused(
        engine, session, tweak('name="committee_director@upper"', 'name="committee_director@moon"')
    )
    assert "范围" in problems[0].message and "不存在" in problems[0].message


def test_user_task_outside_any_lane_is_refused(session: Session, engine: Engine) -> None:
    problems = refused(engine, session, tweak("<bpmn:flowNodeRef>approve</bpmn:flowNodeRef>", ""))
    assert problems[0].element == "approve" and "不在任何泳道中" in problems[0].message


def test_missing_form_is_refused(session: Session, engine: Engine) -> None:
    files = {k: v for k, v in GOOD.items() if k != "forms/approve.json"}
    problems = refused(engine, session, files)
    assert problems[0].element == "approve" and "approve.json" in problems[0].message


def test_invalid_form_file_is_refused(session: Session, engine: Engine) -> None:
    problems = refused(
        engine,
        session,
        {
            **GOOD,
            "forms/approve.json": '{"title": "x", "type": "object", '
            '"properties": {"a": {"type": "nonsense"}}}',
        },
    )
    assert any(p.file == "forms/approve.json" and "JSON Schema" in p.message for p in problems)


@pytest.mark.parametrize(
    "script",
    [
        "import os\nos.system('id')",
        "().__class__.__base__.__subclasses__()",
        "open('/etc/passwd').read()",
        "x = getattr(now, '__globals__')",
    ],
)
def test_script_escapes_are_refused_at_deploy(session: Session, engine: Engine, script: str) -> None:
    problems = refused(engine, session, tweak("decided_at = now()", script + "\ndecided_at = now()"))
    assert problems[0].element == "set_deadlines" and "不被允许" in problems[0].message
    assert "（set_deadlines）" in problems[0].message  # named: kind, name and id


def test_condition_with_dunder_is_refused(session: Session, engine: Engine) -> None:
    problems = refused(engine, session, tweak("accepted == True", "accepted.__class__ == bool"))
    assert problems[0].element == "f9"


def test_timer_expression_must_evaluate(session: Session, engine: Engine) -> None:
    problems = refused(
        engine,
        session,
        tweak("<bpmn:timeDate>months_after(decided_at, 2)", "<bpmn:timeDate>months_after(decided_at)"),
    )
    assert problems[0].element == "Timer_rectify_due" and "求值结果不是" in problems[0].message
    problems = refused(
        engine, session, tweak("<bpmn:timeDate>months_after(decided_at, 2)", "<bpmn:timeDate>'not a date'")
    )
    assert "ISO 8601" in problems[0].message


def test_due_date_expression_must_evaluate(session: Session, engine: Engine) -> None:
    problems = refused(
        engine, session, tweak('value="working_days_after(decided_at, 10)"', 'value="nonsense("')
    )
    assert problems[0].element == "report_measures"


def test_missing_called_process_is_refused(session: Session, engine: Engine) -> None:
    call = (
        '<bpmn:callActivity id="call_interview" calledElement="interview"/>'
        '<bpmn:sequenceFlow id="fx" sourceRef="call_interview" targetRef="End_escalated"/>'
    )
    files = tweak(
        '<bpmn:sequenceFlow id="f6" sourceRef="Timer_rectify_due" targetRef="End_escalated"/>',
        '<bpmn:sequenceFlow id="f6" sourceRef="Timer_rectify_due" targetRef="call_interview"/>' + call,
    )
    problems = refused(engine, session, files)
    assert "interview" in problems[0].message


def test_reserved_id_is_refused(session: Session, engine: Engine) -> None:
    problems = refused(engine, session, tweak('id="End_closed"', 'id="End"'))
    assert any(p.element == "End" and "保留字" in p.message for p in problems)


def test_no_bpmn_at_all(session: Session, engine: Engine) -> None:
    problems = refused(engine, session, {"forms/x.json": GOOD["forms/approve.json"]})
    assert "没有流程图文件" in problems[0].message


def test_non_utf8_is_refused(session: Session, engine: Engine) -> None:
    with pytest.raises(DefinitionInvalid, match="UTF-8"):
        deploy(session, {BPMN: "名".encode("gbk")}, engine.checks, created_by="t")


def test_read_project_files_reads_bpmn_and_forms(tmp_path: Path) -> None:
    (tmp_path / "bpmn").mkdir()
    (tmp_path / "forms").mkdir()
    (tmp_path / "bpmn" / "a.bpmn").write_text("<x/>", encoding="utf-8")
    (tmp_path / "forms" / "f.json").write_text("{}", encoding="utf-8")
    (tmp_path / "bpmn" / "notes.txt").write_text("ignored", encoding="utf-8")
    assert read_project_files(tmp_path) == {"bpmn/a.bpmn": "<x/>", "forms/f.json": "{}"}


def test_form_field_shadowing_a_helper_or_engine_variable_is_refused(
    session: Session, engine: Engine
) -> None:
    form = (
        '{"title": "x", "type": "object", '
        '"properties": {"record": {"type": "string"}, "unit_code": {"type": "string"}}}'
    )
    problems = refused(engine, session, {**GOOD, "forms/approve.json": form})
    assert {p.message.split(" ")[1] for p in problems if p.file == "forms/approve.json"} == {
        "record",
        "unit_code",
    }
