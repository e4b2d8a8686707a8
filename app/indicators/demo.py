"""Demo indicator sets (``flask init-demo``): for 2026, the city's committee and every county's get the rule
the system used to hard-code, now as data the office can change (Art. 19, O19.1). Not the regulation's text:
the regulation leaves the indicators to each level's party committee and government.

Three indicators of 100 points each, the contents Art. 20 names — overall work 40%, letter completion 30%
(``source`` letter: a unit that never signed its letter gets 0), execution of the responsibility system 30%;
不合格 when the total is below 60 or letter completion below 60, 优秀 from a total of 90 with every indicator
at 80 or more, 合格 otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.models import OrgUnit
from workflows.regulation.indicators import find_set, save_set

DEMO_YEAR = 2026
COMMITTEE_LEVELS = ("city", "county")
DEMO_SET: dict[str, Any] = {
    "indicators": [
        {
            "code": "overall",
            "name": "整体工作情况",
            "description": "年度社会治安综合治理和平安建设整体工作情况（第二十条）",
            "weight": 40,
            "max_score": 100,
            "order": 1,
            "source": "manual",
        },
        {
            "code": "letters",
            "name": "目标管理责任书完成情况",
            "description": "年度目标管理责任书确定的重点工作和目标完成情况（第十三条、第二十条）；"
            "未签订责任书的不得分",
            "weight": 30,
            "max_score": 100,
            "order": 2,
            "source": "letter",
        },
        {
            "code": "execution",
            "name": "执行领导责任制情况",
            "description": "落实社会治安综合治理领导责任制情况（第二十条）",
            "weight": 30,
            "max_score": 100,
            "order": 3,
            "source": "manual",
        },
    ],
    "thresholds": {
        "unqualified": {"below_total": 60, "below": {"letters": 60}},
        "excellent": {"min_total": 90, "min_each": 80},
    },
}


def seed_demo_indicator_sets(session: Session, *, year: int = DEMO_YEAR, now: datetime | None = None) -> int:
    """Give the city and every county a set for ``year`` unless they have one; return how many were made."""
    created = 0
    committees = session.scalars(
        select(OrgUnit.code).where(OrgUnit.level.in_(COMMITTEE_LEVELS)).order_by(OrgUnit.code)
    )
    for code in list(committees):
        if find_set(session, year, code) is None:
            save_set(session, year, code, DEMO_SET, "init-demo", now=now)
            created += 1
    return created
