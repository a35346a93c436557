"""``call_with_deadline``: a wall-clock limit on pure-Python code, enforced from a watchdog."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from templates_app.engine import deadline
from templates_app.engine.deadline import DeadlineExceeded, call_with_deadline

GIVE_UP = 10.0  # busy loops end by themselves after this, so a broken watchdog fails, not hangs
WALL_LIMIT = 3.0  # generous for shared CI machines


def busy(seconds: float = GIVE_UP) -> int:
    """Run Python bytecode for ``seconds`` (the kind of loop only an async exception stops)."""
    end = time.monotonic() + seconds
    turns = 0
    while time.monotonic() < end:
        turns += 1
    return turns


def run_in_thread(fn) -> dict:
    """Run ``fn`` in a new thread and wait; returns its ``value`` or ``error``."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # the test inspects whatever happened
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=GIVE_UP + 5)
    assert not thread.is_alive()
    return outcome


def test_fast_function_returns_its_value():
    assert call_with_deadline(1.0, lambda: {"answer": 42}) == {"answer": 42}


def test_busy_loop_is_interrupted_within_bounded_time():
    start = time.monotonic()

    with pytest.raises(DeadlineExceeded):
        call_with_deadline(0.2, lambda: busy())

    elapsed = time.monotonic() - start
    assert 0.2 <= elapsed < WALL_LIMIT


def test_infinite_loop_is_interrupted():
    def forever() -> None:
        while True:
            pass

    start = time.monotonic()

    with pytest.raises(DeadlineExceeded):
        call_with_deadline(0.1, forever)

    assert time.monotonic() - start < WALL_LIMIT


def test_code_catching_every_exception_cannot_swallow_the_deadline():
    def stubborn() -> None:
        end = time.monotonic() + GIVE_UP
        while time.monotonic() < end:
            with contextlib.suppress(Exception):  # what template code or Jinja might do
                busy(0.05)

    start = time.monotonic()

    with pytest.raises(DeadlineExceeded):
        call_with_deadline(0.2, stubborn)

    assert time.monotonic() - start < WALL_LIMIT
    assert not issubclass(DeadlineExceeded, Exception)


def test_own_exception_propagates_unchanged():
    error = ValueError("bad value")

    def fail() -> None:
        raise error

    with pytest.raises(ValueError) as info:
        call_with_deadline(1.0, fail)

    assert info.value is error


def test_function_finishing_in_time_is_not_interrupted_later():
    assert call_with_deadline(0.2, lambda: busy(0.05)) > 0
    busy(0.4)  # well past the deadline


def test_nested_call_keeps_the_outer_deadline():
    start = time.monotonic()

    with pytest.raises(DeadlineExceeded):
        call_with_deadline(0.2, lambda: call_with_deadline(60.0, lambda: busy()))

    assert time.monotonic() - start < WALL_LIMIT


def test_outer_deadline_still_applies_after_a_nested_call_returns():
    def outer() -> None:
        assert call_with_deadline(60.0, lambda: "inner") == "inner"
        busy()

    start = time.monotonic()

    with pytest.raises(DeadlineExceeded):
        call_with_deadline(0.2, outer)

    assert time.monotonic() - start < WALL_LIMIT


def test_watchdog_never_interrupts_a_thread_after_its_call_returned():
    results = [call_with_deadline(0.05, lambda i=i: i * 2) for i in range(200)]

    busy(0.3)  # past every one of those deadlines and many watchdog ticks

    assert results == [i * 2 for i in range(200)]
    assert threading.get_ident() not in deadline._deadlines


def test_calls_ending_right_at_the_deadline_leave_no_stray_exception():
    # Each call ends about when its deadline passes: either it returns or it raises
    # DeadlineExceeded from inside the call, but nothing may surface after it.
    for _ in range(200):
        with contextlib.suppress(DeadlineExceeded):
            call_with_deadline(0.002, lambda: busy(0.002))

    busy(0.3)

    assert threading.get_ident() not in deadline._deadlines


def test_thread_can_run_again_after_being_interrupted():
    with pytest.raises(DeadlineExceeded):
        call_with_deadline(0.1, lambda: busy())

    assert call_with_deadline(1.0, lambda: "again") == "again"
    busy(0.2)


def test_busy_loop_in_a_worker_thread_is_interrupted():
    start = time.monotonic()

    outcome = run_in_thread(lambda: call_with_deadline(0.2, lambda: busy()))

    assert isinstance(outcome.get("error"), DeadlineExceeded)
    assert time.monotonic() - start < WALL_LIMIT


def test_deadline_of_one_thread_does_not_touch_another():
    other: dict = {}

    def long_but_allowed() -> None:
        other["value"] = call_with_deadline(5.0, lambda: busy(0.6))

    thread = threading.Thread(target=long_but_allowed, daemon=True)
    thread.start()

    with pytest.raises(DeadlineExceeded):
        call_with_deadline(0.2, lambda: busy())
    thread.join(timeout=GIVE_UP)

    assert other.get("value", 0) > 0


class Finalized:
    """Work done in ``__del__``, where an exception is printed and dropped, not raised."""

    def __del__(self) -> None:
        total = 0
        for n in range(200):
            total += n


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_deadline_landing_in_a_finalizer_is_raised_again():
    # Most of this loop's time is spent in __del__: the first interruption is likely
    # swallowed there, so the watchdog must keep raising until the call is left.
    outcome: list[BaseException] = []

    def forever() -> None:
        while True:
            Finalized()  # freed at once: its __del__ runs here

    def churn() -> None:
        try:
            call_with_deadline(0.1, forever)
        except DeadlineExceeded as exc:
            outcome.append(exc)

    worker = threading.Thread(target=churn, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "the deadline was lost in a finalizer"
    assert outcome and time.monotonic() - started < 5
