"""The API keeps its contract (issue 16 point 4): schemathesis generates requests from /api/v1/openapi.json
and sends them to a live server holding the demo data, logged in as an official (then as the designer and
the administrator, whose operations the official is only refused); every answer must be no
server error, carry a status the document lists for the operation, and a body that matches the schema the
document gives for that status (datetimes in ISO 8601, JSON error bodies, ...).

Requests are valid ones and invalid ones (schemathesis' negative mode: wrong types, missing fields …), on
generated ids and on ids that exist (a case and its open task), so answers with a body are checked as well as
refusals. The number of examples per operation is bounded and the generation is derandomised, so a run is
repeatable and stays short; a failure names the operation, the check and a curl command that replays it.
Logging in and out are left out: the session is what the other operations run under (login itself, its
throttle and its 429 are covered by tests/test_api.py and tests/test_security.py)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.browser import LiveServer
from tests.conftest import demo_app

COUNTY, TOWN = "411302", "411302001"  # 宛城区 and 东关街道, a township of it
OFFICIAL = f"{COUNTY}.office_staff"  # registers the county's cases: tasks, cases, documents of 宛城区
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内治安案件多发。",
}
EXAMPLES_PER_OPERATION = 10  # per operation and user; ~20 s a user for the whole document on 2 cores
REAL_EXAMPLES = 3  # and, for an operation on ids that exist, this many more on those ids
DESIGNER, ADMIN = "411300.designer", "411300.admin"
#: Operations each user must have seen answered 2xx at least once (the run is not only refusals).
ANSWERED = {
    OFFICIAL: ["GET /tasks", "GET /cases/{case_id}", "GET /tasks/{task_id}", "POST /tasks/{task_id}/claim"],
    DESIGNER: ["GET /definitions"],
    ADMIN: ["GET /org/units", "GET /org/people", "GET /incidents"],
}
LEFT_OUT = {"POST /auth/login", "POST /auth/logout"}  # the session every other request runs under
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live(db_url: str, sql_engine: object) -> Iterator[str]:
    # Throttle limits raised: generated requests must not lock the test client's address out.
    config = {"LOGIN_ADDRESS_MAX_FAILURES": 10_000, "LOGIN_ACCOUNT_MAX_FAILURES": 10_000}
    with demo_app(db_url, **config) as app, LiveServer(app) as server:
        yield server.url


def logged_in(base_url: str, username: str) -> requests.Session:
    """A requests session logged in through the API, sending the CSRF token on every request."""
    session = requests.Session()
    response = session.post(f"{base_url}/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.text
    session.headers["X-CSRFToken"] = response.json()["csrf_token"]
    return session


def real_path_parameters(base_url: str, official: requests.Session) -> dict[str, Any]:
    """Ids that exist: a case reported by the city supervisor against a township of 宛城区 and the official's
    open task on it. A third of the generated requests name these, so answers with a body (not only 404) are
    checked, among them claim/release/complete with their task's instants."""
    reporter = logged_in(base_url, "411300.supervisor")
    case = reporter.post(f"{base_url}/api/v1/cases", json={**REPORT, "unit_code": TOWN})
    assert case.status_code == 201, case.text
    tasks = official.get(f"{base_url}/api/v1/tasks").json()["items"]
    task = next(t for t in tasks if t["instance_id"] == case.json()["id"])
    return {
        "case_id": case.json()["id"],
        "task_id": task["id"],
        "year": 2026,
        "committee_code": COUNTY,
        "code": TOWN,
    }


def _failures(
    operation: Any, base_url: str, session: requests.Session, real: dict[str, Any], answered: Counter[str]
) -> list[str]:
    """Run ``operation``'s generated cases (valid, invalid, and on ids that exist); the first failure of
    each kind is kept (not raised), so one run reports every operation that breaks the contract.
    ``answered`` counts the operation's 2xx answers."""
    found: dict[tuple[str, ...], str] = {}
    names = re.findall(r"{(\w+)}", operation.path)
    generated = st.one_of(operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE))
    runs = [(generated, EXAMPLES_PER_OPERATION)]
    if names and set(names) <= real.keys():
        # On the ids that exist, in a run of their own: drawn as one branch of the generated run, whether
        # any example took it depended on the interpreter's hash seed (a claim never 2xx in some runs).
        runs.append((operation.as_strategy(path_parameters={n: real[n] for n in names}), REAL_EXAMPLES))

    def call(case: Any) -> None:
        try:
            response = case.call_and_validate(base_url=base_url, session=session, checks=CHECKS)
        except FailureGroup as group:  # one per case, holding each check that failed
            kinds = tuple(str(failure).splitlines()[0] for failure in group.exceptions)
            found.setdefault(kinds, f"{operation.label}: {group}")
        else:
            if response.status_code < 300:
                answered[operation.label] += 1

    for strategy, examples in runs:
        hypothesis.settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(given(case=strategy)(call))()
    return list(found.values())


@pytest.mark.parametrize("username", [OFFICIAL, DESIGNER, ADMIN])
def test_responses_keep_the_documented_contract(live: str, username: str) -> None:
    """As the official who works the cases, then the designer and the administrator, whose operations
    (deploys, migrations, organisation, incidents) the official is only refused."""
    schema = schemathesis.openapi.from_url(f"{live}/api/v1/openapi.json")
    base_url = f"{live}/api/v1"
    session = logged_in(live, username)
    real = real_path_parameters(live, logged_in(live, OFFICIAL))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40, "the document lost its operations"
    answered: Counter[str] = Counter()
    failures: list[str] = []
    for operation in operations:
        if operation.label not in LEFT_OUT:
            failures += _failures(operation, base_url, session, real, answered)
    assert session.get(f"{live}/api/v1/auth/me").status_code == 200, "the run logged the user out"
    assert not failures, f"{len(failures)} contract violation(s):\n\n" + "\n\n".join(failures[:30])
    # Not only refusals were checked: each user's own reads and actions answered too.
    for label in ANSWERED[username]:
        assert answered[label], f"{label} never answered 2xx: {dict(answered)}"


def test_errors_under_api_are_json(live: str) -> None:
    """404, 405 and 413 under /api/v1 answer the documented error body, not an HTML page."""
    session = logged_in(live, OFFICIAL)
    answers = {
        404: session.get(f"{live}/api/v1/no-such-thing"),
        405: session.delete(f"{live}/api/v1/cases"),
        413: session.post(f"{live}/api/v1/cases", data=b"x" * (60 * 1024 * 1024)),
    }
    for status, response in answers.items():
        assert response.status_code == status, response.text[:200]
        assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
        assert set(response.json()) >= {"error", "message"}
