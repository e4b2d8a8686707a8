#!/usr/bin/env python
"""Run one annual cycle (Art. 7–25) on Nanyang's real organisation with a moved clock, and measure the cost
of one completion inside a 300-way multi-instance step.

    .venv/bin/python scripts/simulate_year.py                 # the year, then the 300-way measurement
    .venv/bin/python scripts/simulate_year.py --year-only     # only the year
    .venv/bin/python scripts/simulate_year.py --wide-only --width 300
    .venv/bin/python scripts/simulate_year.py --database sqlite:///year.sqlite3   # the year, kept there

Everything runs directly on the engine (no Flask) against a throwaway SQLite file in a temporary directory
(schema from the models), with ``bpmn/`` and ``forms/`` deployed as they are in the checkout. Nothing
sleeps: a ``ManualClock`` is moved and due timers are woken with ``wake_due``, as the scheduler would.

The year: the city (411300) with its 15 county-level units and 246 townships (app/org/nanyang-divisions.csv)
and 60 city-direct units (the 5 demo ones plus 55 numbered stand-ins). Every step prints how many
completions it took, the wall time, and the median and worst time of one completion (load, complete,
engine steps, handlers, save, commit). A few units ask for amendments, some townships sign after 31 March,
some inspections open accountability cases, and the scores are drawn from a seeded generator, so every run
is the same.

The wide step: a city with ``--width`` city-direct units. It times issuing that many letters (one linked
``annual_letter`` instance each), signing a letter while the others are open, and completing one
``assess_unit`` task inside the ``--width``-way parallel multi-instance, and reports the cycle's state size.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402
from tqdm import tqdm  # noqa: E402

from app.indicators.demo import seed_demo_indicator_sets  # noqa: E402
from app.jobs import wake_due  # noqa: E402
from workflows.engine.actors import Actor  # noqa: E402
from workflows.engine.core import Engine  # noqa: E402
from workflows.engine.deploy.definitions import SpecCache, deploy, read_project_files  # noqa: E402
from workflows.engine.legaltime.clock import ManualClock  # noqa: E402
from workflows.engine.legaltime.legal_time import CST, WorkingCalendar  # noqa: E402
from workflows.engine.models import Base, OrgUnit, ProcessInstance, Task  # noqa: E402
from workflows.engine.reading import form_values  # noqa: E402
from workflows.regulation import annual, annual_queries  # noqa: E402
from workflows.regulation.doc_numbers import load_issuing_organs, read_organ_rows  # noqa: E402
from workflows.regulation.roles import OrgTree, load_org  # noqa: E402
from workflows.regulation.wiring import build_engine  # noqa: E402

DIVISIONS = ROOT / "app" / "org" / "nanyang-divisions.csv"
MEMBER_UNITS = ROOT / "app" / "org" / "demo-units.csv"
DEMO_CITY_DIRECT = ["市公安局", "市教育局", "市民政局", "市司法局", "市卫生健康委员会"]
DEPARTMENTS = ["governance", "discipline", "organization", "personnel", "supervision"]

DRAFT = {
    "key_tasks": ["健全立体化社会治安防控体系", "矛盾纠纷排查化解", "基层综治中心规范化建设"],
    "targets": ["公众安全感达到90%以上", "矛盾纠纷化解率达到95%以上"],
    "security_target_percent": 92,
}
APPROVE = {"approved": True, "opinion": "同意下达。"}
SIGN = {"decision": "sign", "signatory": "主要负责同志", "signed_on": "2026-01-20"}
AMEND = {
    "decision": "request_amendment",
    "signatory": "主要负责同志",
    "amendment_request": "请调整矛盾纠纷化解率目标。",
}
REVISE = {**{k: DRAFT[k] for k in ("key_tasks", "targets")}, "reply": "已按意见修改。"}
HEARING = {"heard_on": "2026-04-02", "reported_by": "政法委", "analysis": "形势总体平稳。"}
PLAN = {"inspection_scope": "all", "plan": "半年督查。", "starts_on": "2026-06-10", "ends_on": "2026-07-10"}
PLENARY_REPORT = {
    "plenary_report_document_no": "常委会报告〔2026〕1号",
    "reported_on": "2026-11-20",
    "plenary_report_summary": "常委会向全委会报告落实综治领导责任制情况。",
    "in_debriefings": True,
}
SUMMARY = {"summary": "年度工作总结正文……"}
DEBRIEFING = {
    "debriefing_format": "plenary",
    "held_on": "2026-11-20",
    "members": [{"name": "委员", "unit_name": "成员单位", "format": "plenary"}],
    "standing_committee_report": True,
}
REPORT_UPPER = {
    "report_document_no": "综治委〔2026〕9号",
    "submitted_on": "2026-11-20",
    "report": "本年度社会治安综合治理工作报告正文……",
}
REPORT = {"reported_to": ["party_committee", "government"]}


# -- timing -------------------------------------------------------------------------------------------------
@dataclass
class Step:
    name: str
    durations: list[float] = field(default_factory=list)
    wall: float = 0.0
    note: str = ""

    def line(self) -> str:
        n = len(self.durations)
        if n:
            med = statistics.median(self.durations) * 1000
            worst = max(self.durations) * 1000
            per = f"median {med:7.1f} ms  max {worst:7.1f} ms"
        else:
            per = " " * 35
        return f"{self.name:<52} {n:5d} ops {self.wall:7.2f} s   {per}  {self.note}"


class Sim:
    def __init__(self, url: str, start: datetime) -> None:
        self.db = create_engine(url)
        import workflows.regulation.annual_models  # noqa: F401  (tables into Base.metadata)

        Base.metadata.create_all(self.db)
        self.factory = sessionmaker(bind=self.db, expire_on_commit=False)
        self.clock = ManualClock(start)
        self.calendar = WorkingCalendar()
        self.cache = SpecCache()
        self.org: OrgTree | None = None
        self.steps: list[Step] = []

    def engine(self, s: Session) -> Engine:
        """Like app.runtime: one organisation tree per process, not one load per operation."""
        if self.org is None:
            self.org = load_org(s)
        return build_engine(s, self.calendar, clock=self.clock, spec_cache=self.cache, org=self.org)

    def at(self, *args: int) -> None:
        self.clock.set(datetime(*args, tzinfo=CST))  # type: ignore[misc]

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        step = Step(name)
        t0 = time.perf_counter()
        yield step
        step.wall = time.perf_counter() - t0
        self.steps.append(step)
        print(step.line(), flush=True)

    def load_org(self, units: Iterable[tuple[str, str, str, str | None]]) -> None:
        with self.factory() as s:
            for code, name, level, parent in units:
                s.add(OrgUnit(code=code, name=name, level=level, parent_code=parent))
            s.flush()
            codes = {code for code, *_ in units}  # the issuing organs (文号) of the city and counties loaded
            rows = read_organ_rows(ROOT / "app" / "org" / "issuing-organs.csv")
            load_issuing_organs(s, [r for r in rows if r["org_code"] in codes])
            s.commit()

    def deploy(self) -> None:
        with self.factory() as s:
            deploy(s, read_project_files(ROOT), self.engine(s).checks, created_by="simulation")
            seed_demo_indicator_sets(s)  # each committee's indicator set for the year (Art. 19)
            s.commit()

    # -- driving -----------------------------------------------------------------------------------------
    def ready(
        self, element: str, *, units: Iterable[str] | None = None, instance_id: int | None = None
    ) -> list[Task]:
        with self.factory() as s:
            query = select(Task).where(Task.state == "ready", Task.element_id == element)
            if units is not None:
                query = query.where(Task.unit_code.in_(sorted(units)))
            if instance_id is not None:
                query = query.where(Task.instance_id == instance_id)
            return list(s.scalars(query.order_by(Task.instance_id, Task.unit_code, Task.role)))

    def complete(self, task: Task, data: dict[str, Any], step: Step | None = None) -> None:
        holder = Actor(f"{task.role}@{task.org_code}", frozenset({(task.role, task.org_code)}))
        t0 = time.perf_counter()
        with self.factory() as s:
            self.engine(s).complete_task(task.id, data, holder)
            s.commit()
        if step is not None:
            step.durations.append(time.perf_counter() - t0)

    def complete_all(
        self, step: Step, element: str, data: Callable[[Task], dict[str, Any]] | dict[str, Any], **where: Any
    ) -> int:
        tasks = self.ready(element, **where)
        for task in tqdm(tasks, desc=f"{step.name[:30]}: {element}", unit="task", leave=False, disable=None):
            self.complete(task, data(task) if callable(data) else data, step)
        return len(tasks)

    def issue_all(self, step: Step) -> int:
        """Every drafted document (公文) issued as the office prefilled it: drafted, then signed off."""
        drafts = self.ready("draft_document")
        for task in drafts:
            with self.factory() as s:
                values = form_values(self.engine(s), s.get(Task, task.id))  # type: ignore[arg-type]
            self.complete(task, values, step)
        self.complete_all(step, "review_document", {"doc_review_approved": True})
        return len(drafts)

    def wake(self, step: Step) -> int:
        t0 = time.perf_counter()
        with self.factory() as s:
            report = wake_due(s, self.engine, limit=10_000)
        step.durations.append(time.perf_counter() - t0)
        if report.failed:
            raise RuntimeError(f"timers failed: {report.failed}")
        return len(report.woken)

    def count(self, process_id: str) -> int:
        with self.factory() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(ProcessInstance)
                    .where(ProcessInstance.process_id == process_id)
                )
                or 0
            )

    def state_kb(self, instance_id: int) -> float:
        with self.factory() as s:
            inst = s.get(ProcessInstance, instance_id)
            return len(inst.state_json.encode()) / 1024 if inst else 0.0


# -- the organisation ---------------------------------------------------------------------------------------
def nanyang(city_direct: int = 60) -> list[tuple[str, str, str, str | None]]:
    with DIVISIONS.open(encoding="utf-8") as fh:
        rows = [(r["code"], r["name"], r["level"], r["parent_code"] or None) for r in csv.DictReader(fh)]
    city = next(code for code, _, level, _ in rows if level == "city")
    names = DEMO_CITY_DIRECT + [f"市直单位{i:02d}" for i in range(len(DEMO_CITY_DIRECT) + 1, city_direct + 1)]
    rows += [(f"CD{i:02d}", names[i - 1], "city_direct", city) for i in range(1, city_direct + 1)]
    # The committees' member units (成员单位) of the demo organisation: they sign letters, summarise the year
    # (Art. 13, 15) and are assessed like any unit under the committee.
    with MEMBER_UNITS.open(encoding="utf-8") as fh:
        rows += [
            (r["code"], r["name"], r["level"], r["parent_code"])
            for r in csv.DictReader(fh)
            if r["level"] == "member_unit"
        ]
    return rows


def scores_for(rng: random.Random) -> Callable[[Task], dict[str, Any]]:
    def make(task: Task) -> dict[str, Any]:
        r = rng.random()
        if r < 0.15:
            overall, letters, execution = 95, 93, 92  # excellent
        elif r < 0.20:
            overall, letters, execution = 62, 50, 60  # targets missed: unqualified
        else:
            overall, letters, execution = (rng.randint(75, 92) for _ in range(3))
        return {  # against the demo indicator set (app/indicators/demo.py), as an office would score it
            "inspected_on": "2026-12-05",
            "scores": [
                {"indicator": "overall", "score": overall, "basis": "整体工作情况。"},
                {"indicator": "letters", "score": letters, "basis": "责任书完成情况。"},
                {"indicator": "execution", "score": execution, "basis": "执行领导责任制情况。"},
            ],
            "comments": "考核评价意见。",
            "findings": [],
        }

    return make


def findings_for(rng: random.Random) -> Callable[[Task], dict[str, Any]]:
    def make(task: Task) -> dict[str, Any]:
        found = []
        if rng.random() < 0.03:
            found.append(
                {"text": "阶段性刑事治安案件多发，防控措施不落实。", "art31_item": 2, "open_case": True}
            )
        if rng.random() < 0.2:
            found.append({"text": "台账不规范。", "open_case": False})
        return {"inspected_on": "2026-06-10", "conclusion": "督查情况。", "findings": found}

    return make


# -- the year -----------------------------------------------------------------------------------------------
def simulate_year(workdir: Path, year: int = 2026, url: str | None = None) -> datetime:
    """The year on a throwaway SQLite file in ``workdir``, or on the empty database ``url`` (already
    migrated or not: missing tables are created from the models); returns where its clock stopped."""
    sim = Sim(url or f"sqlite:///{workdir / 'year.sqlite3'}", datetime(year, 1, 5, 9, 0, tzinfo=CST))
    org = nanyang()
    sim.load_org(org)
    sim.deploy()
    city = next(code for code, _, level, _ in org if level == "city")
    counties = [code for code, _, level, _ in org if level == "county"]
    townships = [code for code, _, level, _ in org if level == "township"]
    city_direct = [code for code, _, level, _ in org if level == "city_direct"]
    city_members = [code for code, _, level, parent in org if level == "member_unit" and parent == city]
    county_members = [code for code, _, level, parent in org if level == "member_unit" and parent != city]
    rng = random.Random(2026)
    print(
        f"organisation: 1 city, {len(counties)} county-level units, {len(townships)} townships, "
        f"{len(city_direct)} city-direct units, {len(city_members) + len(county_members)} member units"
    )
    print(f"{'step':<52} {'count':>9} {'wall':>9}   per completion")

    with sim.step("Q1 city: start, draft, approve, issue letters") as st:
        with sim.factory() as s:
            cycle = annual.start_cycle(sim.engine(s), city, year)
            s.commit()
            city_cycle = cycle.id
        sim.complete_all(st, "draft_letters", DRAFT, instance_id=city_cycle)
        sim.complete_all(st, "approve_letters", APPROVE, instance_id=city_cycle)
        st.note = f"{sim.count('annual_letter')} letters issued (approval step timed with them)"

    sim.at(year, 1, 20, 10, 0)
    with sim.step("Q1 counties and city-direct units sign (2 amend)") as st:
        amenders = {counties[1], city_direct[3]}
        sim.complete_all(
            st,
            "sign_letter",
            lambda t: AMEND if t.unit_code in amenders else SIGN,
            units=counties + city_direct + city_members,
        )
        sim.complete_all(st, "revise_letter", REVISE)
        sim.complete_all(st, "sign_letter", SIGN, units=amenders)
        st.note = f"{sim.count('annual_cycle') - 1} county cycles (started with their letters)"

    sim.at(year, 2, 5, 10, 0)
    with sim.step("Q1 county committees draft, approve, issue") as st:
        sim.complete_all(st, "draft_letters", DRAFT)
        sim.complete_all(st, "approve_letters", APPROVE)
        st.note = f"{sim.count('annual_letter')} letters in all"

    late = set(rng.sample(townships, 12))
    sim.at(year, 3, 20, 10, 0)
    with sim.step("Q1 townships and county member units sign on time") as st:
        on_time = [t for t in townships if t not in late] + county_members
        sim.complete_all(st, "sign_letter", SIGN, units=on_time)
    sim.at(year, 4, 1, 0, 0, 1)
    with sim.step("1 April: wake (overdue letters flagged)") as st:
        st.note = f"{sim.wake(st)} instances woken"
    sim.at(year, 4, 3, 10, 0)
    with sim.step("Q1 late townships sign") as st:
        sim.complete_all(st, "sign_letter", SIGN, units=late)
    with sim.factory() as s:
        progress = annual_queries.letter_progress(s, year, sim.clock.now())
        signed = sum(p.signed for p in progress)
        flagged = sum(p.signed_late for p in progress)
        print(f"  letters: {signed} signed by {len(progress)} committees' units, {flagged} late")

    with sim.step("All year: first-half hearings") as st:
        sim.complete_all(st, "hear_report_h1", HEARING)

    sim.at(year, 6, 1, 9, 0, 1)
    with sim.step("1 June: wake (mid-year inspection opens)") as st:
        st.note = f"{sim.wake(st)} instances woken"
    sim.at(year, 6, 10, 10, 0)
    with sim.step("Mid-year: plans") as st:
        sim.complete_all(st, "plan_mid_year", PLAN)
    with sim.step("Mid-year: findings per unit") as st:
        sim.complete_all(st, "record_mid_year_findings", findings_for(rng))
        with sim.factory() as s:
            found = annual_queries.findings(s, year, kind="mid_year")
        st.note = f"{len(found)} findings, {sum(1 for f in found if f.case_instance_id)} cases opened"

    sim.at(year, 7, 1, 0, 0, 1)
    with sim.step("1 July: wake (second half opens)") as st:
        st.note = f"{sim.wake(st)} instances woken"
    with sim.step("Second-half hearings") as st:
        sim.complete_all(st, "hear_report_h2", {**HEARING, "heard_on": f"{year}-07-01"})

    sim.at(year, 11, 1, 9, 0, 1)
    with sim.step("1 November: wake (year-end opens)") as st:
        st.note = f"{sim.wake(st)} instances woken"
    sim.at(year, 11, 20, 10, 0)
    with sim.step("Year-end: annual summaries (O15.3)") as st:
        sim.complete_all(st, "submit_annual_summary", SUMMARY)
    with sim.step("Year-end: debriefings, reports to the plenary, annual reports") as st:
        sim.complete_all(st, "record_debriefings", DEBRIEFING)
        sim.complete_all(st, "report_to_plenary", PLENARY_REPORT)
        sim.complete_all(st, "submit_annual_report", REPORT_UPPER)
        sim.complete_all(st, "receive_annual_report", {"received_on": f"{year}-11-20"})
    sim.at(year, 12, 5, 10, 0)
    with sim.step("Year-end: annual inspection + assessment scores") as st:
        sim.complete_all(st, "assess_unit", scores_for(rng))
    sim.at(year, 12, 18, 10, 0)
    with sim.step("Year-end: joint meetings, decisions, reports") as st:
        sim.complete_all(st, "joint_opinion_assessment", {"department_opinion": "agree"})
        sim.complete_all(st, "joint_conclusion_assessment", {"conclusion": "同意按规则提出的等次。"})
        sim.complete_all(st, "decide_assessment", {"opinion": "同意。", "decided_on": f"{year}-12-18"})
        sim.complete_all(st, "report_assessment", REPORT)
        sim.issue_all(st)  # the 考核结果通报 of each committee (Art. 20)

    with sim.factory() as s:
        counts = annual_queries.grade_counts(s, year)
        salary = annual_queries.salary_list(s, year)
        cycles = annual_queries.cycles(s, year)
        records = sum(
            len(annual_queries.performance_records(s, u)) for u in counties + townships + city_direct
        )
    print(
        f"  grades {counts}; salary list {len(salary)} units; {records} performance records; "
        f"{sim.count('accountability_case')} accountability cases; "
        f"{sum(1 for c in cycles if c.status == 'complete')}/{len(cycles)} cycles complete"
    )
    print(
        f"  state JSON: city cycle {sim.state_kb(city_cycle):.0f} KB; "
        f"a county cycle {sim.state_kb(cycles[1].id):.0f} KB"
    )
    total = sum(len(st.durations) for st in sim.steps)
    wall = sum(st.wall for st in sim.steps)
    print(f"  {total} operations in {wall:.1f} s")
    sim.db.dispose()
    return sim.clock.now()


# -- one wide step ------------------------------------------------------------------------------------------
def measure_wide_step(
    workdir: Path, width: int = 300, year: int = 2026, samples: int = 30
) -> dict[str, float]:
    """Cost of one completion inside a ``width``-way parallel multi-instance step (``assess_unit``), and of
    signing one of ``width`` letters, on a city with ``width`` city-direct units."""
    sim = Sim(f"sqlite:///{workdir / f'wide{width}.sqlite3'}", datetime(year, 1, 5, 9, 0, tzinfo=CST))
    units = [("999900", "测试市", "city", None)]
    units += [(f"W{i:03d}", f"市直单位{i:03d}", "city_direct", "999900") for i in range(width)]
    sim.load_org(units)
    with sim.factory() as s:  # its committee and office issue documents (a signed letter is frozen)
        load_issuing_organs(
            s,
            [
                {
                    "code": f"999900-{kind}",
                    "org_code": "999900",
                    "kind": kind,
                    "name": f"测试市社会治安综合治理{name}",
                    "short_mark": f"测{mark}",
                    "organ_mark": f"测试市社会治安综合治理{name}文件",
                }
                for kind, name, mark in (
                    ("office", "委员会办公室", "综治办"),
                    ("committee", "委员会", "综治委"),
                )
            ],
        )
        s.commit()
    sim.deploy()
    print(f"\nwide step: a city with {width} city-direct units")
    with sim.factory() as s:
        cycle = annual.start_cycle(sim.engine(s), "999900", year).id
        s.commit()
    with sim.step("draft letters") as st:
        sim.complete_all(st, "draft_letters", DRAFT)
    with sim.step(f"approve: issue {width} letters (linked instances)") as st:
        sim.complete_all(st, "approve_letters", APPROVE)
    sim.at(year, 1, 20, 10, 0)  # the signing date is a past fact (x-not-future): sign on or after it
    with sim.step(f"sign one letter ({samples} samples)") as st:
        for task in sim.ready("sign_letter")[:samples]:
            sim.complete(task, SIGN, st)
    sign_median = statistics.median(st.durations)
    sim.at(year, 11, 1, 9, 0, 1)
    with sim.step("1 November: wake") as st:
        sim.wake(st)
    sim.at(year, 11, 20, 10, 0)  # as in the year: the reports' dates are not after the day they are filed
    with sim.step(f"year-end reports ({width} summaries first)") as st:  # the assessment waits for them
        sim.complete_all(st, "submit_annual_summary", SUMMARY)
        sim.complete_all(st, "record_debriefings", DEBRIEFING)
        sim.complete_all(st, "report_to_plenary", PLENARY_REPORT)
        sim.complete_all(st, "submit_annual_report", REPORT_UPPER)
    assess = sim.ready("assess_unit", instance_id=cycle)
    assert len(assess) == width, len(assess)
    make = scores_for(random.Random(1))
    sim.at(year, 12, 5, 10, 0)  # the inspection's date
    with sim.step(f"assess_unit: first {samples} of {width}") as st:
        for task in assess[:samples]:
            sim.complete(task, make(task), st)
    first = statistics.median(st.durations)
    with sim.step(f"assess_unit: the other {width - samples}") as st:
        for task in tqdm(assess[samples:], desc="assess_unit", unit="task", leave=False, disable=None):
            sim.complete(task, make(task), st)
    last = statistics.median(st.durations[-samples:])
    print(f"  cycle state after the step: {sim.state_kb(cycle):.0f} KB")
    print(
        f"  one completion inside the {width}-way step: median {first * 1000:.1f} ms at the start, "
        f"{last * 1000:.1f} ms at the end; signing one of {width} letters: {sign_median * 1000:.1f} ms"
    )
    return {"first": first, "last": last, "sign": sign_median}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--year-only", action="store_true")
    parser.add_argument("--wide-only", action="store_true")
    parser.add_argument("--width", type=int, default=300)
    parser.add_argument(
        "--database", metavar="URL", help="run the year (only) on this empty database instead (scripts/drill)"
    )
    args = parser.parse_args(argv)
    if args.database:
        simulate_year(Path(tempfile.gettempdir()), url=args.database)
        return 0
    with tempfile.TemporaryDirectory(prefix="simulate-year-") as tmp:
        if not args.wide_only:
            simulate_year(Path(tmp))
        if not args.year_only:
            measure_wide_step(Path(tmp), args.width)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
