"""Locust users for ``scripts/bench_province.py``: the mix of roles a province's server sees (issue 17).

Run by the benchmark (``locust -f scripts/locust_province.py --headless ...``) with ``BENCH_ACCOUNTS``
naming a JSON file of accounts it prepared: officers holding a ready letter to sign, supervisors and
clerks. Every account's password is ``demo`` (app/auth/demo.py). Each request is named by its kind, so
Locust's statistics are per kind.

* Officer (township leader, weight 5): logs in, lists their tasks, opens the letter's form, signs it
  (one POST: the response carries their next tasks), then takes the next officer's account.
* Supervisor (weight 2): the case list and the dashboard of their committee.
* Clerk (office staff, weight 3): the case list, then opens cases from it.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task

ACCOUNTS: dict[str, list[str]] = json.loads(Path(os.environ["BENCH_ACCOUNTS"]).read_text(encoding="utf-8"))
_officers = iter(ACCOUNTS["officers"])
SIGN = {"decision": "sign", "signatory": "主要负责同志", "signed_on": "2026-01-20"}


class _Session(HttpUser):
    abstract = True
    wait_time = between(1, 3)  # a person reads between clicks
    csrf = ""

    def login(self, username: str) -> bool:
        with self.client.post(
            "/api/v1/auth/login",
            json={"username": username, "password": "demo"},
            name="login",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"login {username}: {r.status_code}")
                return False
            self.csrf = r.json().get("csrf_token", "")
        return True

    def post(self, path: str, body: dict[str, Any], name: str) -> Any:
        return self.client.post(path, json=body, name=name, headers={"X-CSRFToken": self.csrf})


class Officer(_Session):
    weight = 5

    def on_start(self) -> None:
        self.next_account()

    def next_account(self) -> None:
        username = next(_officers, None)
        if username is None:  # every letter signed: carry on as a reader of one's own tasks
            username = random.choice(ACCOUNTS["officers"])
        self.client.cookies.clear()
        self.login(username)

    @task
    def sign_letter(self) -> None:
        tasks = self.client.get("/api/v1/tasks?per_page=20", name="task list").json().get("items", [])
        mine = [t for t in tasks if t.get("element_id") == "sign_letter" and t.get("state") == "ready"]
        if not mine:
            self.next_account()
            return
        task_id = mine[0]["id"]
        self.client.get(f"/api/v1/tasks/{task_id}", name="task form")
        with self.client.post(
            f"/api/v1/tasks/{task_id}/complete",
            json={"data": SIGN, "comment": ""},
            headers={"X-CSRFToken": self.csrf},
            name="complete (with next tasks)",
            catch_response=True,
        ) as r:
            if r.status_code == 409:  # another officer of the unit signed first: not a server failure
                r.success()
        self.next_account()


class Supervisor(_Session):
    weight = 2
    _accounts = itertools.cycle(ACCOUNTS["supervisors"])

    def on_start(self) -> None:
        self.login(next(self._accounts))

    @task(3)
    def case_list(self) -> None:
        self.client.get("/api/v1/cases?per_page=20", name="case list")

    @task(1)
    def dashboard(self) -> None:
        self.client.get("/dashboard", name="dashboard (HTML)")


class Clerk(_Session):
    weight = 3
    _accounts = itertools.cycle(ACCOUNTS["clerks"])

    def on_start(self) -> None:
        self.login(next(self._accounts))
        self.case_ids: list[int] = []

    @task(1)
    def case_list(self) -> None:
        items = self.client.get("/api/v1/cases?per_page=20", name="case list").json().get("items", [])
        self.case_ids = [c["id"] for c in items if "id" in c] or self.case_ids

    @task(3)
    def open_case(self) -> None:
        if not self.case_ids:
            self.case_list()
        if self.case_ids:
            self.client.get(f"/api/v1/cases/{random.choice(self.case_ids)}", name="case detail")
