"""Login throttling (issue 16, point 5): failed logins slow an attacker down per account and per address.

Why a table and not Flask-Limiter: several app processes share one PostgreSQL in production, so the count
must live where every process sees it. Flask-Limiter's storages (the ``limits`` library: memory, Redis,
Memcached, MongoDB, etcd) have no SQL backend, and a per-process memory store would give an attacker N times
the attempts; nor does a fixed-window rate limit express "locked for 1, 2, 4 … minutes". So every failed
login is one row of ``login_failure`` (one for the account tried, one for the address it came from) in the
application's own database, and the lock-out is computed from those rows. Nothing else to deploy or
configure: the database the app already uses is the shared store (SQLite in tests and on one machine).

The rule (the same for both keys, each with its own threshold):

* ``max_failures`` failures within ``window`` lock the key for ``first_lockout``; each further lock-out within
  ``memory`` doubles it (1, 2, 4, 8 … minutes) up to ``max_lockout``;
* while locked, no password is checked (the right one is refused too) and the attempt is not counted;
* a successful login forgets the account's failures (not the address's: one valid account must not reset
  the throttle of an address that is guessing other accounts' passwords);
* rows older than ``memory`` are deleted as new failures arrive.

Per-address limits are higher than per-account ones: a township office's staff may share one address
behind its NAT.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.auth.models import User
from app.auth.services import authenticate
from workflows.engine.legaltime.clock import Clock, SystemClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import Base

log = logging.getLogger(__name__)

ACCOUNT, ADDRESS = "account", "address"
KEY_LENGTH = 200  # a username as typed (the account table allows 80) or an IPv6 address


class LoginFailure(Base):
    """One failed login, recorded once for the account tried and once for the address it came from."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_kind_key_at", "kind", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # account | address
    key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    at: Mapped[datetime] = mapped_column(index=True)  # the index serves the pruning of old rows


@dataclass(frozen=True)
class Policy:
    """How many failures within ``window`` lock a key, and for how long (doubling up to ``max_lockout``)."""

    max_failures: int
    window: timedelta
    first_lockout: timedelta
    max_lockout: timedelta
    memory: timedelta  # lock-outs further back than this no longer make the next one longer

    def lockout(self, level: int) -> timedelta:
        """The ``level``-th lock-out (1-based): 1×, 2×, 4× … ``first_lockout``, capped."""
        return min(self.first_lockout * 2 ** min(level - 1, 30), self.max_lockout)


@dataclass(frozen=True)
class Throttle:
    account: Policy
    address: Policy
    clock: Clock


#: Defaults; every one can be overridden by the app config key of the same name (tests shorten them).
DEFAULTS: dict[str, Any] = {
    "LOGIN_ACCOUNT_MAX_FAILURES": 5,
    "LOGIN_ADDRESS_MAX_FAILURES": 20,
    "LOGIN_FAILURE_WINDOW": timedelta(minutes=15),
    "LOGIN_FIRST_LOCKOUT": timedelta(minutes=1),
    "LOGIN_MAX_LOCKOUT": timedelta(minutes=15),
    "LOGIN_FAILURE_MEMORY": timedelta(hours=24),
    # The throttle's own clock: never the engine's, whose simulation mode may stand still or jump.
    "LOGIN_THROTTLE_CLOCK": SystemClock(),
}


def throttle_from(config: Mapping[str, Any]) -> Throttle:
    def get(key: str) -> Any:
        return config.get(key, DEFAULTS[key])

    def policy(max_failures: int) -> Policy:
        return Policy(
            max_failures=max_failures,
            window=get("LOGIN_FAILURE_WINDOW"),
            first_lockout=get("LOGIN_FIRST_LOCKOUT"),
            max_lockout=get("LOGIN_MAX_LOCKOUT"),
            memory=get("LOGIN_FAILURE_MEMORY"),
        )

    return Throttle(
        account=policy(get("LOGIN_ACCOUNT_MAX_FAILURES")),
        address=policy(get("LOGIN_ADDRESS_MAX_FAILURES")),
        clock=get("LOGIN_THROTTLE_CLOCK"),
    )


def locked_until(failures: Sequence[datetime], policy: Policy) -> datetime | None:
    """Replay one key's failures (oldest first) through the rule; the end of its last lock-out, if any.

    A failure recorded while the key was already locked (two processes checking at the same moment) does
    not count: the lock-out only grows with failures an attacker could actually make.
    """
    level, until = 0, None
    recent: list[datetime] = []
    for at in failures:
        if until is not None and at < until:
            continue
        recent = [t for t in recent if at - t < policy.window] + [at]
        if len(recent) >= policy.max_failures:
            level += 1
            until = at + policy.lockout(level)
            recent = []
    return until


def _failures(session: Session, kind: str, key: str, since: datetime) -> list[datetime]:
    query = (
        select(LoginFailure.at)
        .where(LoginFailure.kind == kind, LoginFailure.key == key, LoginFailure.at >= since)
        .order_by(LoginFailure.at, LoginFailure.id)
    )
    return list(session.scalars(query))


def lockout(session: Session, throttle: Throttle, username: str, address: str) -> datetime | None:
    """When the account or the address may try again, if either is locked now; otherwise None."""
    now = throttle.clock.now()
    ends = []
    for kind, key, policy in _keys(throttle, username, address):
        until = locked_until(_failures(session, kind, key, now - policy.memory), policy)
        if until is not None and until > now:
            ends.append(until)
    return max(ends, default=None)


def _keys(throttle: Throttle, username: str, address: str) -> list[tuple[str, str, Policy]]:
    return [
        (ACCOUNT, username[:KEY_LENGTH], throttle.account),
        (ADDRESS, address[:KEY_LENGTH], throttle.address),
    ]


@dataclass(frozen=True)
class LoginAttempt:
    """The user when the password was right; ``retry_at`` when the attempt was refused or started a lock."""

    user: User | None
    retry_at: datetime | None = None


def attempt_login(
    session: Session, throttle: Throttle, username: str, password: str, address: str
) -> LoginAttempt:
    """Check the password unless the account or the address is locked; record a failure. The caller commits.

    Every failure and every refusal is logged with the username (``%r``: a name with a line break cannot
    forge a log line) and the address, never the password.
    """
    address = address or "unknown"
    retry_at = lockout(session, throttle, username, address)
    if retry_at is not None:
        log.warning(
            "login refused while locked until %s: username=%r address=%s", retry_at, username, address
        )
        return LoginAttempt(None, retry_at)
    user = authenticate(session, username, password)
    now = throttle.clock.now()
    if user is not None:
        session.execute(
            delete(LoginFailure).where(
                LoginFailure.kind == ACCOUNT, LoginFailure.key == username[:KEY_LENGTH]
            )
        )
        return LoginAttempt(user)
    oldest = now - max(throttle.account.memory, throttle.address.memory)
    session.execute(delete(LoginFailure).where(LoginFailure.at < oldest))
    session.add_all(
        LoginFailure(kind=kind, key=key, at=now) for kind, key, _p in _keys(throttle, username, address)
    )
    session.flush()
    log.warning("login failed: username=%r address=%s", username, address)
    retry_at = lockout(session, throttle, username, address)
    if retry_at is not None:
        log.warning("login locked until %s: username=%r address=%s", retry_at, username, address)
    return LoginAttempt(None, retry_at)


def retry_after_seconds(retry_at: datetime, now: datetime) -> int:
    """For the ``Retry-After`` header: whole seconds, at least 1."""
    return max(1, math.ceil((retry_at - now).total_seconds()))


def lockout_message(retry_at: datetime, now: datetime) -> str:
    """Says when to try again: the clock time in Nanyang (rounded up to the minute) and how many minutes."""
    local = retry_at.astimezone(CST)
    shown = local.replace(second=0, microsecond=0)
    if shown < local:
        shown += timedelta(minutes=1)
    minutes = max(1, math.ceil((retry_at - now).total_seconds() / 60))
    return _(
        "登录失败次数过多，已暂停登录。请于 %(time)s 以后（约 %(minutes)s 分钟后）再试。",
        time=shown.strftime("%H:%M"),
        minutes=minutes,
    )
