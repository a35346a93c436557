"""Wall-clock limits for template code. Pure: no Django.

Jinja compiles templates to Python bytecode, so a runaway loop can only be
stopped from outside the thread running it. One daemon watchdog thread keeps
the deadlines of the threads currently rendering and, when one passes, raises
``DeadlineExceeded`` inside that thread (``PyThreadState_SetAsyncExc``), again at
every tick until the thread has left. The
exception derives from ``BaseException`` so that no ``except Exception`` inside
Jinja or template code can swallow it.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
TICK_SECONDS = 0.01


class DeadlineExceeded(BaseException):  # noqa: N818 - raised asynchronously, not an error class
    """Raised inside a thread whose deadline passed."""


_lock = threading.Lock()
_wakeup = threading.Condition(_lock)
_deadlines: dict[int, float] = {}
_fired: set[int] = set()  # threads past their deadline, interrupted until they leave
_watchdog: threading.Thread | None = None


def _interrupt(thread_id: int) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(DeadlineExceeded)
    )


def _clear(thread_id: int) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), None)


def _watch() -> None:
    with _lock:
        while True:
            if not _deadlines:
                _wakeup.wait()
                continue
            now = time.monotonic()
            for thread_id, deadline in _deadlines.items():
                if now >= deadline:
                    # Again at every tick until the thread leaves: an exception that lands
                    # while the thread runs a finalizer (the garbage collector may run one
                    # at any allocation) is printed and dropped, not raised.
                    _fired.add(thread_id)
                    _interrupt(thread_id)
            _wakeup.wait(TICK_SECONDS)


def _ensure_watchdog() -> None:
    global _watchdog
    if _watchdog is None or not _watchdog.is_alive():
        _watchdog = threading.Thread(target=_watch, name="cachet-render-watchdog", daemon=True)
        _watchdog.start()


def call_with_deadline(seconds: float, fn: Callable[[], T]) -> T:
    """Run ``fn`` in this thread; raise ``DeadlineExceeded`` if it runs longer than ``seconds``."""
    thread_id = threading.get_ident()
    with _lock:
        _ensure_watchdog()
        if thread_id in _deadlines:  # nested call: the outer deadline already applies
            nested = True
        else:
            nested = False
            _deadlines[thread_id] = time.monotonic() + seconds
            _wakeup.notify()
    if nested:
        return fn()
    try:
        return fn()
    finally:
        with _lock:
            del _deadlines[thread_id]
            fired = thread_id in _fired
            _fired.discard(thread_id)
        if fired:
            # The watchdog interrupted us; if the exception has not been delivered yet
            # (fn finished just in time), cancel it and report the overrun ourselves.
            _clear(thread_id)
            raise DeadlineExceeded
