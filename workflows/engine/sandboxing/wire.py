"""What crosses the pipe between the application and a script worker (issue 16), and how.

Frames are a 4-byte length, a one-byte tag and a pickle. Pickle keeps task data exactly (``date``,
``Decimal``, tuples, sets, integer keys), which JSON would not, but unpickling runs constructors, so the two
directions differ:

* application → worker: plain ``pickle``; the worker trusts the process that started it.
* worker → application: the worker runs untrusted code, so what it sends is unpickled with
  :class:`_TaskDataUnpickler`, which builds only the types task data may hold (:data:`ALLOWED_CLASSES`). It
  is also *bounded* (:func:`dumps_bounded`): pickled without the memo ("fast" mode), so a value shared
  a million times is written a million times and its size is the size task data would take when stored;
  a larger value is refused while it is being written, before it takes the memory.

``Sample`` lives here because deploy-time sampling sends it to the worker, which must import it cheaply.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import select
import struct
import time
from collections.abc import Iterator
from typing import Any

HEADER = struct.Struct("!I")
PROTOCOL = 5

# Tags: app → worker ("J" job, "A" answer to a helper call); worker → app ("R" ready, "D" done,
# "E" error, "C" helper call).
JOB, ANSWER, READY, DONE, ERROR, CALL = b"J", b"A", b"R", b"D", b"E", b"C"

# What task data (and so a script's result or a helper's arguments) may hold besides the types pickle
# writes natively (None, bool, int, float, str, bytes, list, tuple, dict, set, frozenset).
ALLOWED_CLASSES: frozenset[tuple[str, str]] = frozenset(
    {
        ("builtins", "str"),
        ("builtins", "int"),
        ("builtins", "float"),
        ("builtins", "complex"),
        ("builtins", "bytearray"),
        ("builtins", "range"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("uuid", "UUID"),
    }
)
_PLAIN_BASES = (int, float, str)  # bool cannot be subclassed


class Sample(str):
    """Stand-in for a process variable at deploy time: an instant string that also acts as the number 1,
    so ``months_after(decided_at, report_no)`` and ``2 * report_no`` evaluate like real data would."""

    def __int__(self) -> int:
        return 1

    def __add__(self, other: object) -> object:  # type: ignore[override]
        return 1 + other if isinstance(other, int) else str.__add__(self, other)  # type: ignore[operator]

    def __radd__(self, other: object) -> object:
        return other + 1 if isinstance(other, int) else NotImplemented

    def __mul__(self, other: object) -> object:  # type: ignore[override]
        return other if isinstance(other, int) else NotImplemented

    __rmul__ = __mul__  # type: ignore[assignment]

    def __iter__(self) -> Iterator[Sample]:
        """A list of one sample: ``sum(scores)``, ``max(days)`` and ``[d for d in items]`` evaluate as they
        would on a real list of numbers, instead of on the characters of the instant (a false refusal)."""
        return iter((Sample(self),))


class OutputTooLarge(Exception):
    """A value pickled by :func:`dumps_bounded` passed its limit; ``size`` is what was written so far."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.size = size
        self.limit = limit


class _BoundedBuffer(io.RawIOBase):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.parts: list[bytes] = []
        self.size = 0
        self.limit = limit

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.size += len(chunk)
        if self.size > self.limit:
            raise OutputTooLarge(self.size, self.limit)
        self.parts.append(chunk)
        return len(chunk)


class _PlainPickler(pickle.Pickler):
    """Writes subclasses of str/int/float as their base type (e.g. a deploy-time :class:`Sample` that a
    due-date expression returns) and refuses what task data cannot keep, with the type's name."""

    def reducer_override(self, obj: Any) -> Any:
        kind = obj if isinstance(obj, type) else type(obj)  # a class is written by name: the same check
        if (kind.__module__, kind.__qualname__) in ALLOWED_CLASSES:
            return NotImplemented
        for base in _PLAIN_BASES:
            if isinstance(obj, base):
                return base, (base(obj),)
        raise TypeError(f"a value of type {kind.__name__!r} cannot be kept in task data")


def dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=PROTOCOL)


def dumps_bounded(obj: Any, limit: int) -> bytes:
    """Pickle ``obj`` without sharing, refusing (:class:`OutputTooLarge`) more than ``limit`` bytes and
    (``TypeError``) values task data cannot hold; a cycle raises ``ValueError``."""
    buffer = _BoundedBuffer(limit)
    pickler = _PlainPickler(buffer, protocol=PROTOCOL)
    pickler.fast = True  # no memo: the size written is the size of the value as a tree
    pickler.dump(obj)
    return b"".join(buffer.parts)


class _TaskDataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_CLASSES:
            raise pickle.UnpicklingError(f"{module}.{name} may not come out of the script worker")
        return super().find_class(module, name)


def loads_task_data(data: bytes) -> Any:
    """Unpickle what a worker sent: only :data:`ALLOWED_CLASSES` are built."""
    return _TaskDataUnpickler(io.BytesIO(data)).load()


def loads(data: bytes) -> Any:
    """Unpickle what the application sent (worker side only)."""
    return pickle.loads(data)


def write_frame(fd: int, tag: bytes, payload: bytes) -> None:
    view = memoryview(HEADER.pack(len(payload) + 1) + tag + payload)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    while size:
        if deadline is not None:
            wait_readable(fd, deadline - time.monotonic())
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the other side of the script pipe closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def wait_readable(fd: int, timeout: float) -> None:
    """Wait until ``fd`` has data (or is closed), at most ``timeout`` seconds; ``TimeoutError`` after."""
    poller = select.poll()  # not select.select: a busy server may hand out descriptors above 1024
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    if not poller.poll(max(0, math.ceil(timeout * 1000))):
        raise TimeoutError


def read_frame(fd: int, limit: int | None = None, deadline: float | None = None) -> tuple[bytes, bytes]:
    """Read one frame; ``limit`` bounds its size (``OutputTooLarge``), ``deadline`` (monotonic) its
    arrival once started (``TimeoutError``), so a stalled or lying worker cannot hold the reader."""
    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size, deadline))
    if size < 1 or (limit is not None and size > limit):
        raise OutputTooLarge(size, limit or 0)
    frame = _read_exact(fd, size, deadline)
    return frame[:1], frame[1:]
