"""Document numbers (文号, issue 13): per issuing organ and year, gapless, never shared, voidable;
the issuing organs as data."""

from __future__ import annotations

import csv
import threading
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from app.org import DIVISIONS_CSV
from tests.conftest import CITY, WANCHENG, WOLONG, demo_app
from workflows.regulation.doc_numbers import (
    DocumentNumber,
    DocumentNumberError,
    IssuingOrgan,
    assign,
    format_number,
    load_issuing_organs,
    numbers_of,
    read_organ_rows,
    void,
)

ORGANS_CSV = DIVISIONS_CSV.with_name("issuing-organs.csv")
OFFICE, COMMITTEE, WANCHENG_OFFICE = f"{CITY}-office", f"{CITY}-committee", f"{WANCHENG}-office"


@pytest.fixture
def organs(session: Session) -> Session:
    """The organs of the test organisation's city and two counties, from the real CSV."""
    rows = [r for r in read_organ_rows(ORGANS_CSV) if r["org_code"] in {CITY, WANCHENG, WOLONG}]
    assert load_issuing_organs(session, rows) == 6
    session.commit()
    return session


def test_csv_lists_office_and_committee_of_the_city_and_every_county() -> None:
    with DIVISIONS_CSV.open(encoding="utf-8") as fh:
        divisions = {r["code"]: r["name"] for r in csv.DictReader(fh) if r["level"] in {"city", "county"}}
    rows = read_organ_rows(ORGANS_CSV)
    assert {(r["org_code"], r["kind"]) for r in rows} == {
        (c, k) for c in divisions for k in ("office", "committee")
    }
    assert len({r["short_mark"] for r in rows}) == len(rows), "two organs share a 机关代字"
    for r in rows:
        assert r["code"] == f"{r['org_code']}-{r['kind']}"
        assert r["name"].startswith(divisions[r["org_code"]])
        assert r["organ_mark"] == r["name"] + "文件"
        assert r["short_mark"].endswith("综治办" if r["kind"] == "office" else "综治委")
    by_code = {r["code"]: r for r in rows}
    assert by_code[OFFICE]["short_mark"] == "宛综治办"
    assert by_code[COMMITTEE]["short_mark"] == "宛综治委"
    assert by_code[OFFICE]["name"] == "南阳市社会治安综合治理委员会办公室"
    assert by_code[OFFICE]["organ_mark"] == "南阳市社会治安综合治理委员会办公室文件"
    assert by_code[WANCHENG_OFFICE]["short_mark"] == "宛区综治办"
    assert by_code[WANCHENG_OFFICE]["name"] == "宛城区社会治安综合治理委员会办公室"


def test_init_demo_loads_every_organ(db_url: str, session_factory: sessionmaker[Session]) -> None:
    from app.extensions import db

    with demo_app(db_url) as app, app.app_context():
        organs = db.session.scalars(select(IssuingOrgan)).all()
        assert len(organs) == len(read_organ_rows(ORGANS_CSV)) == 32  # city + 15 counties, two each
        number = assign(db.session(), OFFICE, 2026, "通报", "admin")
        assert number.number == "宛综治办〔2026〕1号"
        db.session.rollback()


def test_loading_is_idempotent_and_updates_edited_rows(organs: Session) -> None:
    rows = [r for r in read_organ_rows(ORGANS_CSV) if r["org_code"] in {CITY, WANCHENG, WOLONG}]
    edited = [dict(r, short_mark="宛城综治办") if r["code"] == WANCHENG_OFFICE else r for r in rows]
    load_issuing_organs(organs, edited)
    organs.commit()
    assert len(organs.scalars(select(IssuingOrgan)).all()) == 6
    assert organs.get(IssuingOrgan, WANCHENG_OFFICE).short_mark == "宛城综治办"  # type: ignore[union-attr]


def test_loading_refuses_bad_rows(session: Session) -> None:
    good = {
        "code": "x",
        "org_code": CITY,
        "kind": "office",
        "name": "n",
        "short_mark": "m",
        "organ_mark": "o",
    }
    with pytest.raises(DocumentNumberError, match="no unit 999999"):
        load_issuing_organs(session, [dict(good, org_code="999999")])
    with pytest.raises(DocumentNumberError, match="kind must be one of"):
        load_issuing_organs(session, [dict(good, kind="bureau")])
    with pytest.raises(DocumentNumberError, match="short_mark missing"):
        load_issuing_organs(session, [dict(good, short_mark=" ")])


def test_sequential_numbers_have_the_national_format(organs: Session) -> None:
    taken = [assign(organs, OFFICE, 2026, f"关于第{i}件事的通报", "officer1").number for i in (1, 2, 3)]
    organs.commit()
    assert taken == ["宛综治办〔2026〕1号", "宛综治办〔2026〕2号", "宛综治办〔2026〕3号"]
    assert format_number("宛综治办", 2026, 7) == "宛综治办〔2026〕7号"  # no leading zeros, no 第
    # per organ and per year: the committee, the county office and the next year start at 1
    assert assign(organs, COMMITTEE, 2026, "表彰决定", "officer1").number == "宛综治委〔2026〕1号"
    assert assign(organs, WANCHENG_OFFICE, 2026, "通报", "officer2").number == "宛区综治办〔2026〕1号"
    assert assign(organs, OFFICE, 2027, "通报", "officer1").number == "宛综治办〔2027〕1号"
    organs.commit()
    register = numbers_of(organs, OFFICE, 2026)
    assert [n.seq for n in register] == [1, 2, 3]
    assert register[0].title == "关于第1件事的通报"
    assert register[0].assigned_by == "officer1" and register[0].status == "assigned"


def test_a_voided_number_stays_used(organs: Session) -> None:
    _first, _second, third = (assign(organs, OFFICE, 2026, f"通报{i}", "officer1") for i in (1, 2, 3))
    organs.commit()
    void(organs, third.id, "文件撤回，重新起草", "director1")
    organs.commit()
    fourth = assign(organs, OFFICE, 2026, "通报4", "officer1")
    organs.commit()
    assert fourth.seq == 4 and fourth.number == "宛综治办〔2026〕4号"
    register = numbers_of(organs, OFFICE, 2026)
    assert [(n.seq, n.status) for n in register] == [
        (1, "assigned"),
        (2, "assigned"),
        (3, "voided"),
        (4, "assigned"),
    ]
    assert register[2].void_reason == "文件撤回，重新起草" and register[2].voided_by == "director1"
    assert register[2].voided_at is not None


def test_a_rolled_back_assignment_leaves_no_gap(organs: Session) -> None:
    assign(organs, OFFICE, 2026, "通报1", "officer1")
    organs.commit()
    assign(organs, OFFICE, 2026, "未发出的通报", "officer1")
    organs.rollback()  # the issue failed after the number was taken
    assert assign(organs, OFFICE, 2026, "通报2", "officer1").seq == 2
    organs.commit()


def test_bad_input_is_refused(organs: Session) -> None:
    with pytest.raises(DocumentNumberError, match="unknown issuing organ 'nowhere-office'"):
        assign(organs, "nowhere-office", 2026, "通报", "officer1")
    with pytest.raises(DocumentNumberError, match="title"):
        assign(organs, OFFICE, 2026, "  ", "officer1")
    with pytest.raises(DocumentNumberError, match="year"):
        assign(organs, OFFICE, 26, "通报", "officer1")
    number = assign(organs, OFFICE, 2026, "通报", "officer1")
    organs.commit()
    with pytest.raises(DocumentNumberError, match="needs a reason"):
        void(organs, number.id, "  ", "director1")
    with pytest.raises(DocumentNumberError, match="no document number"):
        void(organs, number.id + 1000, "错号", "director1")
    void(organs, number.id, "错号", "director1")
    with pytest.raises(DocumentNumberError, match="already voided"):
        void(organs, number.id, "再次作废", "director1")
    with pytest.raises(DocumentNumberError, match="unknown issuing organ"):
        numbers_of(organs, "nowhere-office", 2026)
    assert [n.seq for n in numbers_of(organs, OFFICE, 2026)] == [1]  # the refusals took no number


def test_200_concurrent_assignments_are_gapless_and_unique(
    organs: Session, session_factory: sessionmaker[Session], sql_engine: SqlEngine
) -> None:
    if sql_engine.dialect.name != "postgresql":
        pytest.skip(
            "CONCURRENCY NOT TESTED: needs PostgreSQL row locks (SELECT … FOR UPDATE); SQLite "
            "serialises writers with its file lock. Run with DATABASE_URL=postgresql://… to test it."
        )
    threads_n, per_thread = 8, 25
    start = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def issue(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with session_factory() as s:  # its own session and connection, one transaction per number
                    assign(s, OFFICE, 2026, f"通报 {worker}-{i}", f"officer{worker}")
                    s.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=issue, args=(w,)) for w in range(threads_n)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == []
    with session_factory() as s:
        rows = s.scalars(select(DocumentNumber).where(DocumentNumber.organ_code == OFFICE)).all()
    seqs = [r.seq for r in rows]
    assert [s for s, n in Counter(seqs).items() if n > 1] == [], "a number was given twice"
    assert sorted(seqs) == list(range(1, threads_n * per_thread + 1)), "numbers have gaps"
    assert len({r.number for r in rows}) == 200
    assert len({r.assigned_by for r in rows}) == threads_n  # every thread took numbers
