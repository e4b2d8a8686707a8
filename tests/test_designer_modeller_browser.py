"""The modeller page in headless Chromium, as a designer uses it (issue 15, "the modeller"): bpmn-js in the
user's language (palette, context pad, replace menu, properties panel and the governance group in Chinese;
English for an English user), the palette beside the diagram rather than over it, lint while drawing with
the project's own rules in Chinese naming the element (an article that does not exist, a lane whose role
does not exist, a due date that does not parse), the process's 可发起角色 written into the exported XML,
leaving with undeployed edits asking first, and a deploy that says what it did."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from lxml import etree
from playwright.sync_api import expect

from tests.browser import login_page, wait_until
from tests.conftest import ROOT, demo_app
from workflows.regulation.articles import articles

pytest_plugins = ["tests.browser"]

DESIGNER = "411300.designer"
EDIT = "/designer/edit/1/bpmn/accountability_intake.bpmn"
TASK = "register_report"  # 登记书面反映, office_staff@upper
LANE = "Lane_intake_director"  # office_director@upper
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
LAST = max(articles())  # the regulation's text: 第一条 … 第四十四条 (43: interpretation, 44: in force)
SELECT = "(id) => designer.modeler.get('selection').select(designer.modeler.get('elementRegistry').get(id))"


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


def _open(browser: Any, base: str, size: tuple[int, int], english: bool = False) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login_page(page, base, DESIGNER)
    if english:
        token = page.locator("meta[name=csrf-token]").get_attribute("content")
        page.request.post(f"{base}/locale", form={"locale": "en", "csrf_token": token, "next": "/inbox"})
    page.goto(base + EDIT)
    page.wait_for_selector(f'[data-element-id="{TASK}"]')
    wait_until(page, "() => Boolean(window.designer && designer.lintIssues)")
    return page, errors


def _palette_label(page: Any, action: str) -> str | None:
    """The palette names its tools in aria-label (a tooltip shows it on hover)."""
    return page.locator(f'.djs-palette .entry[data-action="{action}"]').get_attribute("aria-label")


def _select_pool(page: Any) -> None:
    page.evaluate(
        "() => designer.modeler.get('selection').select("
        "designer.modeler.get('elementRegistry').filter((e) => e.type === 'bpmn:Participant')[0])"
    )


def _entry(page: Any, entry_id: str, control: str = "input") -> Any:
    return page.locator(f'#panel [data-entry-id="{entry_id}"] {control}')


def _group_title(page: Any, group: str) -> str:
    title = page.locator(f'#panel [data-group-id="group-{group}"] .bio-properties-panel-group-header-title')
    return title.inner_text().strip()


def _assert_palette_beside_diagram(page: Any) -> None:
    """No shape of the diagram lies under the palette, and the diagram starts inside the canvas."""
    palette = page.locator(".djs-palette").bounding_box()
    canvas = page.locator("#canvas").bounding_box()
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('#canvas .djs-shape')].map((el) => {
             const r = el.getBoundingClientRect();
             return { id: el.dataset.elementId, left: r.left, top: r.top, right: r.right, bottom: r.bottom };
           })"""
    )
    assert boxes
    palette_right = palette["x"] + palette["width"]
    palette_bottom = palette["y"] + palette["height"]
    under = [
        b["id"] for b in boxes if b["left"] < palette_right and b["top"] < palette_bottom and b["right"] > 0
    ]
    assert under == [], f"shapes under the palette: {under}"
    assert min(b["left"] for b in boxes) < canvas["x"] + canvas["width"]  # visible, not scrolled away


def _every_element_translated(page: Any) -> None:
    """Select every element (properties panel for each type) and open the replace menu of the task: the
    translate service met no English template it had no Chinese for."""
    ids = page.evaluate(
        "() => designer.modeler.get('elementRegistry').filter((e) => e.type !== 'label').map((e) => e.id)"
    )
    for element_id in ids:
        page.evaluate(SELECT, element_id)
    page.evaluate(SELECT, TASK)
    page.locator('.djs-context-pad .entry[data-action="replace"]').click()
    expect(page.locator(".djs-popup")).to_be_visible()
    assert page.locator('.djs-popup [data-id="replace-with-user-task"]').count() == 0  # it is one already
    assert page.locator('.djs-popup [data-id="replace-with-service-task"]').inner_text().strip() == "服务任务"
    page.keyboard.press("Escape")
    assert page.evaluate("() => [...designer.translate.missing]") == []


def _lint_lines(page: Any) -> list[str]:
    return [line.strip() for line in page.locator("#lint li").all_inner_texts()]


def test_chinese_modeller_lints_and_asks_before_leaving(
    browser: Any, live_server: str, tmp_path: Path
) -> None:
    page, errors = _open(browser, live_server, (1280, 800))
    try:
        # Palette, context pad, properties panel: Chinese.
        assert _palette_label(page, "create.start-event") == "创建开始事件"
        assert _palette_label(page, "create.exclusive-gateway") == "创建网关"
        assert _palette_label(page, "lasso-tool") == "启动套索工具"
        page.locator(f'[data-element-id="{TASK}"]').click()
        pad = page.locator(".djs-context-pad")
        assert pad.locator('.entry[data-action="append.end-event"]').get_attribute("title") == "添加结束事件"
        assert pad.locator('.entry[data-action="delete"]').get_attribute("title") == "删除"
        assert page.locator("#panel .bio-properties-panel-header-type").inner_text().strip() == "用户任务"
        assert _group_title(page, "general") == "常规"
        assert _group_title(page, "governance") == "治理"
        assert _group_title(page, "documentation") == "说明"
        labels = page.locator("#panel [data-group-id='group-governance'] .bio-properties-panel-label")
        assert [label.strip() for label in labels.all_inner_texts()] == ["表单", "期限", "条款", "角色限定"]
        _every_element_translated(page)
        _assert_palette_beside_diagram(page)
        page.screenshot(path=str(tmp_path / "modeller-zh-1280.png"))
        # bpmnlint's recommended rules, in Chinese and naming the element (warnings: deploy accepts it).
        fake_join = "用户任务「核实并确定追究方式」（verify_case）：多条入口顺序流没有汇合（请用网关）"
        expect(page.locator("#lint li.lint-warn", has_text=fake_join)).to_have_count(1)
        assert page.locator("#lint li.lint-error").count() == 0
        assert not page.evaluate("designer.isDirty()")

        # Lint: a task citing 第99条.
        page.evaluate(SELECT, TASK)
        _entry(page, "governance-article").fill("Art. 99 (O99.1)")
        _entry(page, "governance-article").press("Tab")
        article = f"用户任务「登记书面反映」（register_report）引用的第99条不存在（本办法共第1–{LAST}条）"
        expect(page.locator("#lint li.lint-error", has_text=article)).to_have_count(1)
        overlay = page.locator(f'.djs-overlays[data-container-id="{TASK}"] .bjsl-icon-error')
        expect(overlay).to_have_count(1)

        # A lane whose role does not exist (the governance field refuses it; a hand-edited file has it).
        page.evaluate(
            """(id) => designer.modeler.get('modeling').updateProperties(
                 designer.modeler.get('elementRegistry').get(id), { name: 'mayor@upper' })""",
            LANE,
        )
        lane = "泳道「mayor@upper」（Lane_intake_director）的角色 mayor 不存在；可用的角色：admin、"
        expect(page.locator("#lint li.lint-error", has_text=lane)).to_have_count(1)

        # A due date that does not parse, and one calling a function no script has.
        page.evaluate(SELECT, TASK)
        _entry(page, "governance-dueDate").fill("working_days_after(opened_at, 5")
        _entry(page, "governance-dueDate").press("Tab")
        unclosed = (
            "用户任务「登记书面反映」（register_report）的期限表达式（dueDate）"
            "working_days_after(opened_at, 5 无法解析：括号没有闭合"
        )
        expect(page.locator("#lint li", has_text=unclosed)).to_have_count(1)
        _entry(page, "governance-dueDate").fill("workdays_after(opened_at, 5)")
        _entry(page, "governance-dueDate").press("Tab")
        expect(page.locator("#lint li", has_text="没有函数 workdays_after()")).to_have_count(1)
        _entry(page, "governance-dueDate").fill("working_days_after(opened_at, 5)")
        _entry(page, "governance-dueDate").press("Tab")
        expect(page.locator("#lint li", has_text="期限表达式")).to_have_count(0)
        issues = page.evaluate("designer.lintIssues()")
        assert {i["rule"] for i in issues if i["category"] == "error"} == {
            "governance/article-exists",
            "governance/lane-role",
        }
        page.screenshot(path=str(tmp_path / "modeller-zh-lint.png"), full_page=True)

        # 可发起角色 on the process (the pool's process), with the roles as the hint.
        _select_pool(page)
        field = _entry(page, "governance-startable-by")
        startable = page.locator('#panel [data-entry-id="governance-startable-by"]')
        assert startable.locator(".bio-properties-panel-label").inner_text().strip() == "可发起角色"
        hint = startable.locator(".bio-properties-panel-description")
        assert "综治办工作人员 (office_staff)" in hint.inner_text()
        field.fill("office_staff, county_committee")
        field.press("Tab")
        wait_until(page, "() => designer.getXML().then((x) => x.includes('startable_by'))", timeout=3)
        exported = etree.fromstring(page.evaluate("designer.getXML()").encode())
        process = exported.find(f"{BPMN}process")
        path = f"{BPMN}extensionElements/{SPIFF}properties/{SPIFF}property"
        props = {p.get("name"): p.get("value") for p in process.findall(path)}
        assert props == {"startable_by": "office_staff, county_committee"}
        field.fill("office_staff, mayor")
        field.press("Tab")
        expect(
            page.locator(
                "#lint li",
                has_text="（accountability_intake）的 startable_by 含不存在的角色：mayor",
            )
        ).to_have_count(1)

        # Leaving with undeployed edits asks first: an in-page link (dismissed: stays) ...
        assert page.evaluate("designer.isDirty()")
        asked: list[str] = []

        def dismiss(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        page.locator(".modeler-toolbar a.button").click()
        assert asked == ["流程图有未部署的修改，离开将丢失这些修改。确定离开？"]
        assert page.url.endswith(EDIT)

        # ... and closing or reloading the page (beforeunload).
        prompts: list[str] = []
        page.once("dialog", lambda dialog: (prompts.append(dialog.type), dialog.dismiss()))
        page.evaluate("() => { window.location.href = '/inbox'; }")
        page.wait_for_timeout(500)
        assert prompts == ["beforeunload"]
        assert page.url.endswith(EDIT)
        assert errors == []
    finally:
        page.close()


def test_deploy_says_what_it_did(browser: Any, live_server: str) -> None:
    page, errors = _open(browser, live_server, (1280, 800))
    try:
        page.evaluate(SELECT, TASK)
        name = page.locator("#bio-properties-panel-name")
        if not name.is_visible():
            page.click('[data-group-id="group-general"] .bio-properties-panel-group-header')
        name.fill("登记书面反映（新）")
        name.press("Tab")
        page.click("#deploy")
        expect(page.locator("#deploy-result")).to_contain_text("已部署为第 2 版")
        assert page.locator("#deploy-result a").get_attribute("href") == "/designer"
        assert page.locator("#base-version").inner_text() == "基于 v2"
        assert not page.evaluate("designer.isDirty()")

        # The server answers "unchanged" (same files as the newest version): said so, no new number.
        page.route(
            "**/designer/deploy",
            lambda route: route.fulfill(
                status=200,
                content_type="application/json",
                body=json.dumps({"version": 2, "unchanged": True, "url": "/designer"}),
            ),
        )
        page.click("#deploy")
        expect(page.locator("#deploy-result")).to_contain_text("没有变化：与第 2 版相同，未创建新版本")
        assert page.get_attribute("#deploy-result", "data-unchanged") == "true"

        # Deployed: leaving asks nothing.
        page.locator(".modeler-toolbar a.button").click()
        page.wait_for_url(f"{live_server}/designer")
        assert errors == []
    finally:
        page.close()

    # The palette beside the diagram on a small screen too.
    page, errors = _open(browser, live_server, (1024, 768))
    try:
        _assert_palette_beside_diagram(page)
        assert errors == []
    finally:
        page.close()


def test_english_modeller_on_a_small_screen(browser: Any, live_server: str, tmp_path: Path) -> None:
    page, errors = _open(browser, live_server, (1024, 768), english=True)
    try:
        assert _palette_label(page, "create.start-event") == "Create start event"
        page.locator(f'[data-element-id="{TASK}"]').click()
        assert _group_title(page, "general") == "General"
        assert _group_title(page, "governance") == "Governance"
        _assert_palette_beside_diagram(page)
        _entry(page, "governance-article").fill("Art. 99")
        _entry(page, "governance-article").press("Tab")
        message = (
            'User task "登记书面反映" (register_report) cites article 99, '
            f"which does not exist (articles 1–{LAST})"
        )
        expect(page.locator("#lint li.lint-error", has_text=message)).to_have_count(1)
        page.screenshot(path=str(tmp_path / "modeller-en-1024.png"))
        assert errors == []
    finally:
        page.close()


# (expression, kind, the reason's English template or None): what the modeller's reading of timer and
# due-date expressions accepts — every expression of the shipped diagrams reads clean (checked by the lint
# of every file above); builtins such as len, sum and str are functions a script may call.
EXPRESSIONS = [
    ("working_days_after(decided_at, 10)", "datetime", None),
    ("rectify_due", "date", None),
    ('"P10D"', "duration", None),
    ("'PT1H30M'", "duration", None),
    ('"2026-03-16T09:00:00+08:00"', "date", None),
    ('"R3/PT10M"', "cycle", None),
    ("str(len(items) + sum(counts)) if items else 'P1D'", "duration", None),
    ("deadlines.get('reply')", "date", None),
    ('"P10X"', "duration", '"{value}" is not an ISO 8601 datetime or duration such as P10D'),
    ('"P10D"', "datetime", '"{value}" is not an ISO 8601 datetime such as 2026-03-16T09:00:00+08:00'),
    ('"PT10M"', "cycle", '"{value}" is not an ISO 8601 cycle such as R3/PT10M'),
    ("10", "duration", 'a bare number is not a time; write e.g. "P10D"'),
    ("working_days_after(decided_at, 10", "datetime", "a bracket is not closed"),
    ("working_days_after(decided_at, 10))", "datetime", "brackets do not match"),
    ('"P10D', "duration", "a string is not closed"),
    ("decided_at +", "datetime", "the expression ends early"),
    ("workdays_after(decided_at, 10)", "datetime", "unknown function {name}()"),
    ("decided_at ; 1", "datetime", 'unexpected character "{char}"'),
]


# Import a diagram and answer its lint issues once bpmn-js-bpmnlint has linted it (after import.done).
LINTED_IMPORT = """(xml) => new Promise((resolve, reject) => {
  designer.modeler.get('eventBus').once('linting.completed', 500, () => resolve(designer.lintIssues()));
  designer.importXML(xml).catch(reject);
})"""


def test_expressions_read_as_the_engine_reads_them(browser: Any, live_server: str) -> None:
    page, errors = _open(browser, live_server, (1024, 768))
    try:
        functions = page.request.get(f"{live_server}/designer/lint-facts").json()["functions"]
        assert {"len", "sum", "str", "working_days_after"} <= set(functions)
        found = page.evaluate(
            """([cases, functions]) => cases.map(([source, kind]) => {
                 const problem = GovernanceDesigner.checkExpression(source, kind, functions);
                 return problem ? problem.reason : null;
               })""",
            [[[source, kind] for source, kind, _ in EXPRESSIONS], functions],
        )
        assert found == [reason for _, _, reason in EXPRESSIONS]

        # Every shipped diagram (deployed as version 1) lints without an error: no false alarm from the
        # project's rules on lanes, forms, articles, timers and due dates that deploy accepts.
        alarms = {}
        for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
            issues = page.evaluate(LINTED_IMPORT, path.read_text(encoding="utf-8"))
            found_errors = [i["message"] for i in issues if i["category"] == "error"]
            if found_errors:
                alarms[path.name] = found_errors
        assert alarms == {}
        assert errors == []
    finally:
        page.close()
