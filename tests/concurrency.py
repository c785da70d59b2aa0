"""Run database work in real threads started at the same instant (each thread has its own
PostgreSQL connection, as Django's connections are per thread, and closes it afterwards)."""

import threading

from django.db import connection


def _start_together(calls, timeout: float) -> list[tuple[str, object]]:
    barrier = threading.Barrier(len(calls))
    outcomes: list = [("error", AssertionError("did not run"))] * len(calls)

    def body(index, call):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = ("ok", call())
        except BaseException as exc:  # each racer's outcome is what the caller checks
            outcomes[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return outcomes


def run_together(target, args_list, timeout: float = 120) -> list:
    """target(*args) for each args at once; the results in order, or the first failure re-raised."""
    outcomes = _start_together([lambda a=args: target(*a) for args in args_list], timeout)
    for kind, value in outcomes:
        if kind == "error":
            raise value
    return [value for _kind, value in outcomes]


def race(*actions, timeout: float = 30) -> list[tuple[str, object]]:
    """Each action at once; ("ok", result) or ("error", exception) for each, in order."""
    return _start_together(list(actions), timeout)
