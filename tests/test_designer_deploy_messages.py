"""Designer deploys (issue 15): unchanged files create no version (also when a modeller re-serialised them),
every refusal is in Chinese and names the element (no memory addresses, no internal class names), the
deploy-time sampling accepts ordinary expressions, MIWG-shaped uploads are accepted or refused file by file
and shown read-only, form problems are all reported, and comparisons list documentation and flow changes."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.audit import AuditEntry
from app.extensions import db
from app.runtime import runtime
from tests.conftest import ROOT, demo_app
from tests.test_designer_api import NOTIFICATION, deploy, login
from workflows.engine.deploy.definitions import read_project_files
from workflows.engine.deploy.validation import validate_files
from workflows.engine.models import DefinitionVersion

MIWG = ROOT / "tests" / "fixtures" / "miwg"
PATH = "bpmn/accountability_notification.bpmn"
LEAKS = re.compile(r"0x[0-9a-f]{6,}|_Sample|<Element|Time Specification|has no implementation")


@pytest.fixture
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def _versions(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(DefinitionVersion)) or 0


def _reserialised(xml: str) -> str:
    """What a modeller writes for a diagram it only opened: ``/>`` becomes `` />``, the diagram's shapes
    come in another order, gateways get isMarkerVisible."""
    head, plane_start, rest = xml.partition("<bpmndi:BPMNPlane")
    plane_tag, _, rest = rest.partition(">")
    shapes, plane_end, tail = rest.partition("</bpmndi:BPMNPlane>")
    parts = re.findall(r"\s*<bpmndi:BPMN(?:Shape|Edge)\b.*?</bpmndi:BPMN(?:Shape|Edge)>", shapes, re.S)
    assert "".join(parts).strip() and len(parts) > 3
    out = head + plane_start + plane_tag + ">" + "".join(reversed(parts)) + "\n    " + plane_end + tail
    out = re.sub(
        r'(<bpmndi:BPMNShape id="Gateway[^"]*" bpmnElement="[^"]*")', r'\1 isMarkerVisible="true"', out
    )
    return out.replace("/>", " />")


def test_unchanged_files_create_no_version(app: Flask) -> None:
    client, headers = login(app, "411300.designer")
    same = deploy(client, headers, {PATH: NOTIFICATION})
    assert same.status_code == 200 and same.json["unchanged"] is True and same.json["version"] == 1
    modeller = _reserialised(NOTIFICATION)
    assert modeller != NOTIFICATION
    page = client.post("/designer/deploy", json={"files": {PATH: modeller}, "base": 1}, headers=headers)
    assert page.status_code == 200 and page.json["unchanged"] is True and page.json["version"] == 1
    assert "没有变化" in page.json["message"]
    upload = client.post(
        "/designer/upload",
        headers=headers,
        content_type="multipart/form-data",
        data={"files": (io.BytesIO(modeller.encode()), "accountability_notification.bpmn")},
        follow_redirects=True,
    )
    assert "没有变化" in upload.get_data(as_text=True)
    assert _versions(app) == 1
    with app.app_context():
        assert (
            db.session.scalar(select(AuditEntry).where(AuditEntry.action.in_(["deploy", "upload"]))) is None
        )
    # A real edit still makes a version, and says what it did.
    renamed = modeller.replace('name="报告整改效果"', 'name="报告整改效果（修订）"')
    done = client.post("/designer/deploy", json={"files": {PATH: renamed}}, headers=headers)
    assert done.json["unchanged"] is False and done.json["version"] == 2 and "v2" in done.json["message"]


def _upload(app: Flask, name: str) -> tuple[int, str]:
    client, headers = login(app, "411300.designer")
    response = client.post(
        "/designer/upload",
        headers=headers,
        content_type="multipart/form-data",
        data={"files": (io.BytesIO((MIWG / name).read_bytes()), name)},
    )
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("name", "element", "words"),
    [
        ("02_data_store.bpmn", "DataStore_ledger", "数据存储「台账库」"),
        ("05_service_task.bpmn", "Service_e", "服务任务「调用外部系统」（Service_e）"),
        ("06_timer_bad_spec.bpmn", "Wait_f", "中间捕获事件「等待三天」（Wait_f）的定时器表达式"),
        (
            "04_event_subprocess.bpmn",
            "Start_sub_d",
            "开始事件「超时」（Start_sub_d）的定时器写的是 ISO 8601 文字 PT5M",
        ),
    ],
)
def test_refused_miwg_upload_names_the_element_in_chinese_and_shows_it(
    app: Flask,
    name: str,
    element: str | None,
    words: str,
) -> None:
    status, html = _upload(app, name)
    assert status == 422 and words in html
    assert not LEAKS.search(html), LEAKS.search(html)
    assert f'data-path="bpmn/{name}" data-refused="true"' in html or element is None
    assert 'class="diagram view-only"' in html and "data-xml=" in html  # shown read-only all the same
    if element:
        assert f"{element}&#34;: &#34;has-problem" in html  # the refused element is marked on the diagram
    assert _versions(app) == 1


@pytest.mark.parametrize(
    "name",
    [
        "01_pool_lanes.bpmn",
        "03_two_pools_message_flows.bpmn",
        "07_descriptive_only.bpmn",  # nothing to run, but nothing wrong: kept with the set
    ],
)
def test_accepted_miwg_uploads_deploy(app: Flask, name: str) -> None:
    status, _html = _upload(app, name)
    assert status == 302 and _versions(app) == 2


def test_a_batch_of_reference_files_gets_a_verdict_per_file(app: Flask) -> None:
    client, headers = login(app, "411300.designer")
    names = sorted(p.name for p in MIWG.glob("*.bpmn"))
    response = client.post(
        "/designer/upload",
        headers=headers,
        content_type="multipart/form-data",
        data={"files": [(io.BytesIO((MIWG / n).read_bytes()), n) for n in names]},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and _versions(app) == 1
    verdicts = dict(re.findall(r'data-path="bpmn/([^"]+)" data-refused="(\w+)"', html))
    assert verdicts == {
        "01_pool_lanes.bpmn": "false",
        "02_data_store.bpmn": "true",
        "03_two_pools_message_flows.bpmn": "false",
        "04_event_subprocess.bpmn": "true",
        "05_service_task.bpmn": "true",
        "06_timer_bad_spec.bpmn": "true",
        "07_descriptive_only.bpmn": "false",
    }
    assert html.count('class="diagram view-only"') == len(names)  # every one shown, refused or not
    assert not LEAKS.search(html)


def test_empty_timer_and_unknown_parse_errors_are_worded(app: Flask) -> None:
    xml = (MIWG / "06_timer_bad_spec.bpmn").read_text(encoding="utf-8")
    empty = re.sub(r"<bpmn:timeDuration>.*?</bpmn:timeDuration>", "", xml)
    pool = (MIWG / "01_pool_lanes.bpmn").read_text(encoding="utf-8")
    missing_target = pool.replace('targetRef="End_a"', 'targetRef="Nowhere"')
    with app.app_context():
        checks = runtime().engine(db.session).checks
        for text, expected in (
            (empty, "定时器没有时间设置"),
            (missing_target, "Nowhere"),
            (xml.replace('"3 days"', '"P3D"'), ""),  # quoted ISO 8601 is an expression: accepted
        ):
            problems = validate_files({"bpmn/t.bpmn": text}, checks).problems
            messages = " ".join(p.message for p in problems)
            assert expected in messages and not LEAKS.search(messages), messages
            assert all(p.element for p in problems) and bool(problems) == bool(expected)


@pytest.mark.parametrize(
    "expression",
    [
        "working_days_after(level_started_at, len(items))",
        "working_days_after(level_started_at, sum(scores))",
        "working_days_after(level_started_at, 10 + len(str(case_no)))",
        "working_days_after(level_started_at, max(len(items), sum([d for d in days])))",
    ],
)
def test_sampling_accepts_len_sum_str(app: Flask, expression: str) -> None:
    files = read_project_files(ROOT)
    files[PATH] = files[PATH].replace("working_days_after(level_started_at, 10)", expression)
    with app.app_context():
        problems = validate_files(files, runtime().engine(db.session).checks).problems
    assert problems == []


def test_form_preview_reports_every_schema_error_in_chinese(app: Flask) -> None:
    client, headers = login(app, "411300.designer")
    text = (
        '{"title": "x", "type": "object", "properties": {"a": {"type": "nonsense"}, "b": {"minLength": -1}}}'
    )
    body = client.post("/designer/forms/preview", json={"text": text}, headers=headers).json
    messages = [p["message"] for p in body["problems"]]
    assert any("字段 a" in m for m in messages) and any("字段 b" in m for m in messages), messages
    assert all(m.startswith("不是有效的 JSON Schema") for m in messages) and body["html"] == ""


def test_compare_lists_documentation_flow_and_new_file(app: Flask) -> None:
    client, headers = login(app, "411300.designer")
    edited = NOTIFICATION.replace(
        'name="报告整改效果">',
        'name="报告整改效果"><bpmn:documentation>按第十八条报告</bpmn:documentation>',
        1,
    )
    assert edited != NOTIFICATION
    new_file = (MIWG / "01_pool_lanes.bpmn").read_text(encoding="utf-8")
    files = {PATH: edited, "bpmn/01_pool_lanes.bpmn": new_file}
    assert deploy(client, headers, files).status_code == 201
    changes = {c["path"]: c for c in client.get("/api/v1/definitions/1/compare/2").json["changes"]}
    notification = changes[PATH]
    documented = [c for c in notification["changed"] if "说明文档" in c["aspects"]]
    assert len(documented) == 1 and notification["marks"][documented[0]["id"]] == "changed"
    added = changes["bpmn/01_pool_lanes.bpmn"]
    assert added["status"] == "added" and {e["id"] for e in added["added"]} >= {
        "Task_a1",
        "Task_a2",
        "Lane_a_dir",
    }
    page = client.get("/designer/compare?from=1&to=2").get_data(as_text=True)
    assert "说明文档" in page and 'name="from"' in page and 'name="to"' in page and "diff-added" in page


def test_deploy_refuses_a_citation_of_an_article_the_regulation_does_not_have(app: Flask) -> None:
    """The modeller's lint and deploy agree: a task citing 第九十九条 (the text has 第一条 to 第四十四条) or a
    citation without an article number is refused, naming the task, and nothing is stored."""
    before = _versions(app)
    first = NOTIFICATION.replace('value="Art. 33 (O33.1)"', 'value="Art. 99 (O99.1)"', 1)
    refused = deploy(*login(app, "411300.designer"), {PATH: first})
    assert refused.status_code == 422, refused.json
    messages = " ".join(p["message"] for p in refused.json["problems"])
    assert "引用的第99条不存在（本办法共第1–44条）" in messages and "用户任务「" in messages, messages
    unnumbered = NOTIFICATION.replace('value="Art. 33 (O33.1)"', 'value="第三十三条"', 1)
    refused = deploy(*login(app, "411300.designer"), {PATH: unnumbered})
    assert refused.status_code == 422 and "没有写明条号" in str(refused.json), refused.json
    assert _versions(app) == before


def test_an_english_page_gets_the_refusals_in_english(app: Flask) -> None:
    """The refusals are Chinese text that keeps its template (``workflows/engine/phrase.py``): a designer
    who reads the pages in English gets them in English, element names and ids as written, on the upload
    page, in the deploy JSON and in the form preview; the Chinese reader's text is unchanged."""
    client, headers = login(app, "411300.designer")
    assert client.post("/locale", data={"locale": "en"}, headers=headers).status_code in (200, 302)
    response = client.post(
        "/designer/upload",
        headers=headers,
        content_type="multipart/form-data",
        data={
            "files": (io.BytesIO((MIWG / "06_timer_bad_spec.bpmn").read_bytes()), "06_timer_bad_spec.bpmn")
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    said = "The timer expression &#34;3 days&#34; of intermediate catch event “等待三天” (Wait_f)"
    assert f"{said} does not give an ISO 8601 duration" in html
    assert "定时器表达式" not in html and not LEAKS.search(html)
    xml = (MIWG / "05_service_task.bpmn").read_text(encoding="utf-8")
    refused = deploy(client, headers, {"bpmn/05_service_task.bpmn": xml})
    [problem] = refused.json["problems"]
    assert refused.status_code == 422 and problem["message"].startswith("Service task “"), problem
    assert "service tasks cannot run here" in problem["message"]
    preview = client.post("/designer/forms/preview", json={"text": '{"type": "object"}'}, headers=headers)
    assert 'A form needs a "title"' in " ".join(p["message"] for p in preview.json["problems"])

    chinese, zh_headers = login(app, "411300.designer")
    chinese.post("/locale", data={"locale": "zh_CN"}, headers=zh_headers)
    again = deploy(chinese, zh_headers, {"bpmn/05_service_task.bpmn": xml}).json["problems"][0]["message"]
    assert again.startswith("服务任务「") and "请改为用户任务或脚本任务" in again
