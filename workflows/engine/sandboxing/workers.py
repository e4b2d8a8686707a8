"""The pool of script workers and one job's exchange with a worker (issue 16).

Why processes: an in-process step counter cannot interrupt ``10**10**7`` (one C call) and holds the GIL
meanwhile, so every other request of the server waits (``/api/v1/health`` froze for 6 s). A worker is a
separate interpreter (:mod:`.worker_main`) with its own memory limit; the calling thread waits for it in
``poll`` without the GIL and kills it when its CPU time (read from ``/proc``) passes the budget.

How: workers are plain ``subprocess`` children (``python -I -B``), not ``multiprocessing``: nothing of the
application's main module is re-imported, starting one is safe from a threaded server, and the pool
survives ``fork`` (gunicorn's pre-fork model): a child process forgets the parent's workers and starts its
own when it first needs one. The pool starts lazily, holds at most ``Budget.workers`` processes, and is
shared by every thread of the process (request threads, the timer scheduler); a thread takes an idle
worker or waits for one. A worker that overran is killed and a replacement started in the background.

While a job runs, the worker may ask the application to run a helper (``now()``, ``record(...)``,
``working_days_after(...)``): the waiting thread runs it itself, so the helper sees that thread's clock,
database session and record collector, exactly as in process. Helpers are trusted code; their time counts
against the wall-clock budget, and their number against ``Budget.helper_calls``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflows.engine.sandboxing import wire
from workflows.engine.sandboxing.limits import Budget
from workflows.engine.sandboxing.worker_main import CPU

_ROOT = str(Path(__file__).resolve().parents[3])  # the directory holding the ``workflows`` package
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from workflows.engine.sandboxing.worker_main import main; main(sys.argv[2:])"
)
START_TIMEOUT = 30.0  # seconds for a new worker to import and report ready (a loaded CI machine)
FRAME_SLACK = 64 * 1024  # frame overhead allowed beyond the output budget
MAX_JOBS = 5000  # jobs before a worker is retired, so slow leaks or fragmentation cannot pile up
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class WorkerLost(Exception):
    """The worker died or broke the protocol; ``returncode`` says how (negative: killed by a signal).
    ``retryable`` when no helper ran for the job, so running it again on another worker repeats nothing in
    the application (a worker killed from outside while idle is only noticed when it gets a job)."""

    def __init__(self, returncode: int | None, retryable: bool) -> None:
        super().__init__(f"script worker ended ({returncode})")
        self.returncode = returncode
        self.retryable = retryable


class Overrun(Exception):
    """The job passed a budget and its worker was killed; ``resource`` as in ``BudgetExceeded``,
    ``amount`` what was used (seconds, bytes or calls) when it was stopped."""

    def __init__(self, resource: str, amount: float) -> None:
        super().__init__(f"{resource}: {amount}")
        self.resource = resource
        self.amount = amount


@dataclass(eq=False)
class Worker:
    proc: subprocess.Popen[bytes]
    rfd: int  # from the worker
    wfd: int  # to the worker
    memory_bytes: int
    cpu_idle: float  # the worker's CPU seconds when it last finished a job
    jobs: int = 0
    dead: bool = False

    def cpu_seconds(self) -> float:
        """CPU time the worker has used in all, from ``/proc`` (the worker cannot report while busy)."""
        try:
            with open(f"/proc/{self.proc.pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, IndexError, ValueError):
            return float("inf") if self.proc.poll() is not None else self.cpu_idle

    def kill(self) -> None:
        self.dead = True
        with contextlib.suppress(OSError):
            self.proc.kill()

    def close(self) -> None:
        """Close our ends (the worker sees EOF and exits) and reap it, killing it if it lingers."""
        for fd in (self.wfd, self.rfd):
            with contextlib.suppress(OSError):
                os.close(fd)
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)


def spawn(memory_bytes: int) -> Worker:
    to_worker_r, to_worker_w = os.pipe()
    from_worker_r, from_worker_w = os.pipe()
    try:
        argv = [_ROOT, str(to_worker_r), str(from_worker_w), str(memory_bytes)]
        proc = subprocess.Popen(  # our own interpreter and module, no shell
            [sys.executable, "-I", "-B", "-c", _BOOT, *argv],
            pass_fds=(to_worker_r, from_worker_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env={"LANG": "C.UTF-8"},  # nothing of the server's environment (database URL, secret key)
            cwd="/",
            start_new_session=True,
        )
    except BaseException:
        for fd in (to_worker_w, from_worker_r):
            os.close(fd)
        raise
    finally:
        os.close(to_worker_r)
        os.close(from_worker_w)
    worker = Worker(proc, from_worker_r, to_worker_w, memory_bytes, 0.0)
    try:
        tag, payload = wire.read_frame(from_worker_r, 64, time.monotonic() + START_TIMEOUT)
        if tag != wire.READY:
            raise WorkerLost(proc.poll(), retryable=False)
    except (EOFError, TimeoutError, wire.OutputTooLarge, WorkerLost):
        worker.kill()
        worker.close()
        raise WorkerLost(proc.poll(), retryable=False) from None
    (worker.cpu_idle,) = CPU.unpack(payload)
    return worker


@dataclass(eq=False)
class WorkerPool:
    """At most ``Budget.workers`` workers for the whole process; see the module docstring."""

    idle: list[Worker] = field(default_factory=list)
    workers: set[Worker] = field(default_factory=set)
    starting: int = 0
    jobs_run: int = 0  # jobs finished by this pool's workers (benchmarks count them)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def acquire(self, budget: Budget) -> Worker:
        """An idle worker, a new one if fewer than ``budget.workers`` exist, or the next one released;
        :class:`Overrun` (``wall``) after waiting ``budget.wall_seconds`` for one."""
        stale: list[Worker] = []
        deadline = time.monotonic() + budget.wall_seconds
        try:
            with self.cond:
                while True:
                    while self.idle:
                        worker = self.idle.pop()
                        if worker.memory_bytes == budget.memory_bytes and worker.proc.poll() is None:
                            return worker
                        stale.append(worker)  # died while idle, or started under another memory budget
                        self.workers.discard(worker)
                    if len(self.workers) + self.starting < budget.workers:
                        self.starting += 1
                        break
                    if not self.cond.wait(timeout=deadline - time.monotonic()):
                        raise Overrun("wall", budget.wall_seconds)  # every worker busy all along
        finally:
            for worker in stale:
                _close_later(worker)
        try:
            worker = spawn(budget.memory_bytes)
        finally:
            with self.cond:
                self.starting -= 1
                self.cond.notify()
        with self.cond:
            self.workers.add(worker)
        return worker

    def release(self, worker: Worker, budget: Budget) -> None:
        """Back to the idle list; a killed or worn-out worker is closed and, if no other is idle, a
        replacement started in the background (so the next request does not wait for it)."""
        worker.jobs += 1
        if not worker.dead and worker.jobs < MAX_JOBS:
            with self.cond:
                self.jobs_run += 1
                self.idle.append(worker)
                self.cond.notify()
            return
        with self.cond:
            self.jobs_run += 1
            self.workers.discard(worker)
            spare = not self.idle
            self.cond.notify()
        _close_later(worker)
        if spare:
            threading.Thread(target=self._start_spare, args=(budget,), daemon=True).start()

    def _start_spare(self, budget: Budget) -> None:
        with self.cond:
            if len(self.workers) + self.starting >= budget.workers:
                return
            self.starting += 1
        try:
            worker = spawn(budget.memory_bytes)
        except (OSError, WorkerLost):
            return
        finally:
            with self.cond:
                self.starting -= 1
        with self.cond:
            self.workers.add(worker)
            self.idle.append(worker)
            self.cond.notify()

    def shutdown(self) -> None:
        with self.cond:
            workers, self.workers, self.idle = list(self.workers), set(), []
        for worker in workers:
            worker.close()


def _close_later(worker: Worker) -> None:
    """Close and reap a worker without making the calling thread wait for it to exit."""
    threading.Thread(target=worker.close, daemon=True).start()


_pool = WorkerPool()
# A parent process's pools, kept referenced in a forked child so that their Popen objects (whose processes
# are not the child's) are never collected there and warned about.
_inherited: list[WorkerPool] = []


def _after_fork_in_child() -> None:
    """The parent's workers are the parent's: drop our copies of their pipes (or they would never see
    EOF) and start afresh. Not ``close()``: their processes are not our children."""
    global _pool
    for worker in _pool.workers:
        for fd in (worker.rfd, worker.wfd):
            with contextlib.suppress(OSError):
                os.close(fd)
    _inherited.append(_pool)
    _pool = WorkerPool()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(lambda: _pool.shutdown())


def pool() -> WorkerPool:
    return _pool


def _serve(served: Mapping[str, Callable[..., Any]], payload: bytes, failures: list[BaseException]) -> bytes:
    """Run one helper the worker asked for; its exception is kept to be re-raised if the code does not
    catch it."""
    try:
        name, args, kwargs = wire.loads_task_data(payload)
        return wire.dumps(("ok", served[name](*args, **kwargs)))
    except Exception as exc:  # the helper's failure belongs to the sandboxed code that called it
        failures.append(exc)
        return wire.dumps(("raise", type(exc).__name__, str(exc)[:2000], len(failures) - 1))


def exchange(
    worker: Worker,
    job: bytes,
    served: Mapping[str, Callable[..., Any]],
    budget: Budget,
    failures: list[BaseException],
) -> tuple[bytes, bytes]:
    """Send ``job`` (pickled), serve helper calls, and return the final frame (tag, payload); raise
    :class:`Overrun` (the worker was killed) or :class:`WorkerLost`."""
    started = time.monotonic()
    wall_deadline = started + budget.wall_seconds
    check_at = started + budget.cpu_seconds
    calls = 0
    try:
        wire.write_frame(worker.wfd, wire.JOB, job)
    except OSError:  # died while idle (killed from outside, say): the job never reached it
        worker.dead = True
        raise WorkerLost(worker.proc.poll(), retryable=True) from None
    try:
        while True:
            try:
                wire.wait_readable(worker.rfd, min(check_at, wall_deadline) - time.monotonic())
            except TimeoutError:
                used = worker.cpu_seconds() - worker.cpu_idle
                if used >= budget.cpu_seconds:
                    raise _overrun(worker, "cpu", used) from None
                if time.monotonic() >= wall_deadline:
                    raise _overrun(worker, "wall", time.monotonic() - started) from None
                check_at = time.monotonic() + max(budget.cpu_seconds - used, 0.01)
                continue
            tag, payload = wire.read_frame(worker.rfd, budget.output_bytes + FRAME_SLACK, wall_deadline)
            if tag != wire.CALL:
                return tag, payload
            calls += 1
            if calls > budget.helper_calls:
                raise _overrun(worker, "calls", calls)
            wire.write_frame(worker.wfd, wire.ANSWER, _serve(served, payload, failures))
    except wire.OutputTooLarge as exc:
        raise _overrun(worker, "output", exc.size) from None
    except TimeoutError:
        raise _overrun(worker, "wall", time.monotonic() - started) from None
    except (EOFError, OSError):
        worker.dead = True
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.proc.wait(timeout=5)
        raise WorkerLost(worker.proc.returncode, retryable=calls == 0) from None


def _overrun(worker: Worker, resource: str, amount: float) -> Overrun:
    worker.kill()
    return Overrun(resource, amount)
