"""The script worker: a separate interpreter that runs sandboxed code under resource limits (issue 16).

:mod:`.workers` starts it as ``python -I -B -c …`` with two pipe descriptors and a memory budget. Before
the first job it limits itself: its address space to what start-up took plus the budget (so
``'a' * 10**9`` raises MemoryError here instead of taking the server's memory), no files written, no
processes forked, no core dumps. It has no environment variables (no database URL, no secret key) and its
own session, so a Ctrl-C at the server's terminal does not reach it. CPU time is enforced from outside —
the application kills a worker that overruns — with ``RLIMIT_CPU`` as a backstop, set before each job,
should the application stop watching.

One job at a time: run the code in a :class:`RestrictedEnvironment` whose helpers are stubs that ask the
application to run the real helper (trusted code keeps its database session, clock and context), then
send back the result — pickled without sharing and bounded (:func:`wire.dumps_bounded`) — or the error.
"""

from __future__ import annotations

import builtins
import datetime  # noqa: F401  (imported before the limits: task data is made of these)
import decimal  # noqa: F401
import resource
import signal
import struct
import time
import traceback
import uuid  # noqa: F401
from collections.abc import Callable
from typing import Any

from workflows.engine.sandboxing import wire
from workflows.engine.sandboxing.sandbox import RestrictedEnvironment

CPU = struct.Struct("!d")
MAX_TEXT = 2000  # characters of an error message sent back
_PLAIN = (str, int, float, bool, type(None))


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _limit(memory_bytes: int) -> None:
    """Limit this process before it runs anything untrusted; hard limits too, so nothing can raise them."""
    vm = _vm_size()
    limits = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, 0), (resource.RLIMIT_NPROC, 0)]
    if vm:
        limits.append((resource.RLIMIT_AS, vm + memory_bytes))
    for which, value in limits:
        hard = resource.getrlimit(which)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def _cpu_backstop(cpu_seconds: float) -> None:
    """``RLIMIT_CPU`` (whole seconds, cumulative) a little beyond this job's budget: SIGXCPU ends the
    worker if the application somehow failed to."""
    soft = int(time.process_time() + cpu_seconds) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.getrlimit(resource.RLIMIT_CPU)[1]))


_helper_classes: dict[str, type[Exception]] = {}


def _helper_error(type_name: str, message: str, index: int) -> Exception:
    """The exception a failed helper raised, as seen by sandboxed code: of the same builtin class when it
    is one (so ``except ValueError`` still works), marked so that, uncaught, the application re-raises the
    original object."""
    cls = _helper_classes.get(type_name)
    if cls is None:
        base = getattr(builtins, type_name, None)
        if not (isinstance(base, type) and issubclass(base, Exception)):
            base = Exception
        cls = _helper_classes[type_name] = type(type_name, (base,), {})
    error = cls(message)
    error._helper_index = index  # type: ignore[attr-defined]  # underscore: unreadable in the sandbox
    return error


class _Channel:
    """The worker's end of the pipes: jobs in, results out, and helper calls in between."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd
        self.output_limit = 1 << 20

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        wire.write_frame(self.wfd, wire.CALL, wire.dumps_bounded((name, args, kwargs), self.output_limit))
        _, payload = wire.read_frame(self.rfd)
        answer = wire.loads(payload)
        if answer[0] == "ok":
            return answer[1]
        _, type_name, message, index = answer
        raise _helper_error(type_name, message, index)

    def stub(self, name: str) -> Callable[..., Any]:
        def helper(*args: Any, **kwargs: Any) -> Any:
            return self.call(name, args, kwargs)

        helper.__name__ = helper.__qualname__ = name
        return helper


def _sample_stub(name: str, value: str) -> Callable[..., Any]:
    def helper(*args: Any, **kwargs: Any) -> Any:
        return wire.Sample(value)

    helper.__name__ = helper.__qualname__ = name
    return helper


_environments: dict[tuple[tuple[str, ...], tuple[str, ...], str | None], RestrictedEnvironment] = {}


def _environment(job: dict[str, Any], channel: _Channel) -> RestrictedEnvironment:
    key = (job["served"], job["sampled"], job["sample"])
    env = None if job["constants"] else _environments.get(key)
    if env is None:
        helpers: dict[str, Any] = {name: channel.stub(name) for name in job["served"]}
        helpers.update({name: _sample_stub(name, job["sample"]) for name in job["sampled"]})
        helpers.update(job["constants"])
        env = RestrictedEnvironment(helpers)
        if not job["constants"] and len(_environments) < 64:
            _environments[key] = env
    return env


def _run(job: dict[str, Any], channel: _Channel) -> bytes:
    _cpu_backstop(job["cpu"])
    channel.output_limit = job["output"]
    env = _environment(job, channel)
    context = job["context"]
    if job["mode"] == "eval":
        value = env.evaluate(job["source"], context, job["external"])
    else:
        env.execute(job["source"], context, job["external"])
        value = context
    return wire.dumps_bounded(value, job["output"])


def _text(value: object) -> object:
    if isinstance(value, _PLAIN):
        return value[:MAX_TEXT] if isinstance(value, str) else value
    return str(value)[:MAX_TEXT]


def _describe(exc: BaseException) -> tuple[Any, ...]:
    line = 0
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == "<string>":  # the sandboxed code's frames (see sandbox._FILENAME)
            line = lineno or 0
    args = tuple(_text(arg) for arg in exc.args)
    index = getattr(exc, "_helper_index", None)
    return ("raise", type(exc).__name__, args, _text(str(exc)), line, index)


def serve(rfd: int, wfd: int) -> None:
    channel = _Channel(rfd, wfd)
    wire.write_frame(wfd, wire.READY, CPU.pack(time.process_time()))
    while True:
        try:
            _, payload = wire.read_frame(rfd)
        except EOFError:  # the application closed the pipe (or died): nothing more to do
            return
        report: tuple[Any, ...]
        try:
            result = _run(wire.loads(payload), channel)
        except wire.OutputTooLarge as exc:
            report = ("budget", "output", exc.size)
        except MemoryError:
            report = ("budget", "memory", 0)
        except BaseException as exc:  # whatever sandboxed code raises is the application's to report
            report = _describe(exc)
        else:
            wire.write_frame(wfd, wire.DONE, CPU.pack(time.process_time()) + result)
            continue
        wire.write_frame(wfd, wire.ERROR, CPU.pack(time.process_time()) + wire.dumps(report))


def main(argv: list[str]) -> None:
    """Entry point: ``argv`` is ``[read_fd, write_fd, memory_bytes]``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    rfd, wfd, memory_bytes = (int(arg) for arg in argv)
    _limit(memory_bytes)
    serve(rfd, wfd)
