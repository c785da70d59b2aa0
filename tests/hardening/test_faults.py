"""Every fault a clear answer: Redis and PostgreSQL go away in the middle of a request.

The test runs a TaskHub of its own (tests/hardening/stack.py: its own PostgreSQL and Redis, the
web app under gunicorn, a worker with beat, DEBUG off) on the demo data, signs Alice in, and four
times takes a service away while a submit is in flight: the request is held on a row lock the
test owns, the service is killed, the lock is let go.

- Redis gone in the middle of a submit (a page submit, then an API submit): the answer is success
  (the work was committed, and paid in the same transaction, so nothing waits for Redis), sign-in
  answers a 503 page that names Redis, and once Redis is back everything answers again.
- PostgreSQL gone inside the submit's transaction (a page, then an API submit): a 503 page, or a
  JSON 503 under /api/, that says the database is unreachable; nothing is half-written; once it is
  back the same web process answers again and the same submit goes through.

The web server and the worker are never restarted.
"""

from __future__ import annotations

import threading
import time

import pytest

from annotations.services import claims
from tests.hardening import count
from tests.hardening.stack import Browser, private_stack, wait_until

pytestmark = pytest.mark.worker

PROJECT = "helpful-harmless-pairs"  # the demo's pairwise project Alice is qualified for
ANSWER = {"choice": "A", "strength": "clear", "reason": "A answers the question that was asked.", "next": "stop"}


class HeldSubmit:
    """A submit that waits on the claim's row, locked by the test, until `release()`."""

    def __init__(self, stack, browser: Browser, claim_id: int, *, api: bool) -> None:
        self.stack, self.claim_id = stack, claim_id
        self.lock = stack.postgres.connect(autocommit=False)
        self.lock.execute("SELECT id FROM annotations_claim WHERE id = %s FOR UPDATE", [claim_id])
        if api:
            self.call = lambda: browser.request("POST", f"/api/claims/{claim_id}/submit/",
                                                json_body={"answer": {k: v for k, v in ANSWER.items() if k != "next"}})
        else:
            self.call = lambda: browser.post(f"/work/claims/{claim_id}/submit/", ANSWER)
        self.answer = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        wait_until(self._waiting, 30, "the submit waiting on the claim's row lock")

    def _run(self) -> None:
        self.answer = self.call()

    def _waiting(self) -> bool:
        # The submit's text, or the name of its prepared statement once the connection has it.
        rows = self.stack.sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                              "AND (query ILIKE '%%annotations_claim%%' OR query LIKE %s)",
                              [f"%{claims._SUBMIT.name}%"])
        return rows[0][0] > 0

    def release(self) -> None:
        try:
            self.lock.commit()
            self.lock.close()
        except Exception:  # noqa: S110 - PostgreSQL was taken away under this connection too
            pass

    def result(self):
        self.thread.join(90)
        assert not self.thread.is_alive(), "the request never answered"
        return self.answer


def _claim(stack, alice: Browser, *, api: bool) -> int:
    if api:
        answer = alice.request("POST", f"/api/projects/{PROJECT}/claims/next/", json_body={})
        assert answer.status == 201, (answer.status, answer.body[:500])
        return answer.json()["id"]
    answer = alice.post(f"/work/projects/{PROJECT}/start/")
    assert answer.status == 302 and "/work/claims/" in answer.location, (answer.status, answer.body[-500:])
    return int(answer.location.rstrip("/").rsplit("/", 1)[1])


def _submission_of(stack, claim_id: int):
    rows = stack.sql("SELECT id, posted_entries FROM annotations_submission WHERE claim_id = %s", [claim_id])
    return rows[0] if rows else None


def _redis_goes_away_after_the_commit(stack, alice: Browser, *, api: bool) -> None:
    claim_id = _claim(stack, alice, api=api)
    held = HeldSubmit(stack, alice, claim_id, api=api)
    stack.redis.stop()
    held.release()
    answer = held.result()
    # Committed, so reported as done: not a 500, not "already submitted" on a retry.
    if api:
        assert answer.status == 201, (answer.status, answer.body[:500])
    else:
        assert answer.status == 302 and answer.location.endswith("/work/"), (answer.status, answer.body[-800:])
    submission = _submission_of(stack, claim_id)
    assert submission is not None
    # Paid in the submit's own transaction: nothing waits for Redis.
    assert submission[1] == 1, submission
    assert not stack.sql("SELECT id FROM taskhub_outboxmessage WHERE sent_at IS NULL "
                         "AND task = 'payouts.tasks.earnings_recompute'")

    # While Redis is down: a page that needs it (sign-in's rate limits) is a clear 503, /healthz names it.
    stranger = Browser(stack.base)
    stranger.get("/accounts/login/")
    refused = stranger.post("/accounts/login/", {"login": "bob@taskhub.local", "password": "wrong"})
    assert refused.status == 503, (refused.status, refused.body[-500:])
    assert "briefly unavailable" in refused.body and "Redis" in refused.body
    health = alice.get("/healthz")
    assert health.status == 503 and "redis" in health.json()["down"]
    assert alice.get("/work/").status == 200  # the dashboard needs no Redis: its badge counts in PostgreSQL

    stack.redis.start()
    # Back without a restart: sign-in works, and nothing is left waiting in the outbox.
    wait_until(lambda: stranger.post("/accounts/login/", {"login": "bob@taskhub.local", "password": "wrong"}
                                     ).status == 200, 30, "sign-in answering again")
    wait_until(lambda: not stack.sql("SELECT id FROM taskhub_outboxmessage WHERE sent_at IS NULL"), 90,
               "the outbox drained")
    assert _submission_of(stack, claim_id)[1] == 1  # paid once, not again
    count("faults survived")


def _postgres_goes_away_inside_the_transaction(stack, alice: Browser, *, api: bool) -> None:
    claim_id = _claim(stack, alice, api=api)
    held = HeldSubmit(stack, alice, claim_id, api=api)
    stack.postgres.stop()
    held.release()
    answer = held.result()
    assert answer.status == 503, (answer.status, answer.body[-800:])
    if api:
        problem = answer.json()
        assert (problem["code"], problem["service"]) == ("service_unavailable", "postgres")
        assert "database" in problem["detail"]
    else:
        assert "briefly unavailable" in answer.body and "the database" in answer.body
    assert answer.headers.get("Retry-After")
    # Every page and the API say so while it is down.
    page = alice.get("/work/")
    api_answer = alice.get("/api/claims/")
    assert (page.status, api_answer.status) == (503, 503)
    assert "the database" in page.body and api_answer.json()["service"] == "postgres"
    assert alice.get("/healthz").json()["down"][0] == "postgres"

    stack.postgres.start()
    wait_until(lambda: alice.get("/work/").status == 200, 30, "the dashboard answering again")
    # The submit was not half-done: no submission, the claim still Alice's to finish.
    assert _submission_of(stack, claim_id) is None
    assert stack.sql("SELECT status FROM annotations_claim WHERE id = %s", [claim_id]) == [("active",)]
    if api:
        again = alice.request("POST", f"/api/claims/{claim_id}/submit/",
                              json_body={"answer": {k: v for k, v in ANSWER.items() if k != "next"}})
        assert again.status == 201, (again.status, again.body[:500])
    else:
        again = alice.post(f"/work/claims/{claim_id}/submit/", ANSWER)
        assert again.status == 302, (again.status, again.body[-500:])
    assert _submission_of(stack, claim_id) is not None
    # The worker came back to PostgreSQL by itself too: it pays the work.
    wait_until(lambda: (_submission_of(stack, claim_id) or (0, 0))[1] > 0, 90, "the submission being paid")
    count("faults survived")


def test_redis_and_postgres_going_away_mid_request_answer_clearly_and_lose_nothing():
    with private_stack() as stack:
        stack.start_web()
        stack.start_worker()
        web_pid, worker_pid = stack.web.pid, stack.worker.pid
        try:
            alice = Browser(stack.base)
            alice.sign_in("alice@taskhub.local", "taskhub-demo")
            _redis_goes_away_after_the_commit(stack, alice, api=False)
            _redis_goes_away_after_the_commit(stack, alice, api=True)
            _postgres_goes_away_inside_the_transaction(stack, alice, api=False)
            _postgres_goes_away_inside_the_transaction(stack, alice, api=True)
            # The worker and beat came back too: their heartbeats are fresh, so /healthz is all green.
            wait_until(lambda: alice.get("/healthz").status == 200, 60, "/healthz all ok")
        except BaseException:
            time.sleep(0.5)
            print(stack.log_tail())
            raise
        assert (stack.web.poll(), stack.worker.poll()) == (None, None), "nothing was restarted"
        assert (stack.web.pid, stack.worker.pid) == (web_pid, worker_pid)
