"""Streamed replies under the production web server: gunicorn with taskhub/gunicorn_config.py (threaded
workers, a cap on the streams one process holds), against the test database and a real OpenAI-compatible
server. Streams longer than the worker timeout finish; while a process streams its most, pages still
answer and one more stream is told the model is busy; a worker killed in the middle of a reply leaves the
turn recorded as broken off with what came, and the conversation carries on."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx2
import psutil
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from annotations import services
from annotations.models import ModelTurn
from tests import factories
from tests.annotations.conversations import redteam_claim, redteam_project
from tests.conftest import ROOT, child_env, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

WORKER_TIMEOUT = 3  # seconds: every stream below lasts longer


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn():
    port = _free_port()
    log = ROOT / "tests" / "artifacts" / "gunicorn-streams.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = child_env(GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="1", GUNICORN_THREADS="4",
                    GUNICORN_TIMEOUT=str(WORKER_TIMEOUT), GUNICORN_GRACEFUL_TIMEOUT="5",
                    TASKHUB_MODEL_STREAMS_PER_PROCESS="2", DEBUG="true", SECRET_KEY=settings.SECRET_KEY)
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:taskhub.gunicorn_config",
                                 "taskhub.wsgi:application"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            def up():
                if proc.poll() is not None:
                    raise RuntimeError(f"gunicorn exited:\n{log.read_text()}")
                with contextlib.suppress(httpx2.TransportError):
                    return httpx2.get(f"{base}/accounts/login/", timeout=2).status_code == 200
                return False

            wait_for(up, timeout=60)
            yield proc, base
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _session(user) -> dict:
    client = Client()
    client.force_login(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


class Stream(threading.Thread):
    """Reads one turn's server-sent events over HTTP, noting when the first piece came and when it ended."""

    def __init__(self, base, cookies, claim, turn):
        super().__init__(daemon=True)
        self.url = base + reverse("work:turn_stream", args=[claim.pk, turn.pk])
        self.cookies = cookies
        self.events: list[tuple[str, dict]] = []
        self.first = threading.Event()
        self.ended = threading.Event()
        self.error: Exception | None = None

    def run(self):
        name = None
        try:
            with httpx2.Client(cookies=self.cookies, timeout=60) as client, client.stream("GET", self.url) as response:
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        name = line.removeprefix("event: ")
                    elif line.startswith("data: ") and name:
                        self.events.append((name, json.loads(line.removeprefix("data: "))))
                        self.first.set()
        except httpx2.HTTPError as exc:  # the worker was killed under it
            self.error = exc
        finally:
            self.ended.set()


def _conversation(model_server):
    project = redteam_project(model_server.base_url, read_timeout_seconds=10, max_reply_seconds=60)
    claims = [redteam_claim(project, factories.ContractorFactory()) for _ in range(3)]
    return project, claims


def test_streams_outlive_the_worker_timeout_and_pages_still_answer_while_a_process_streams_its_most(
        model_server):
    _project, claims = _conversation(model_server)
    with gunicorn() as (_proc, base):
        streams = []
        for claim in claims[:2]:
            turn = services.turn_create(claim=claim, contractor=claim.contractor,
                                        prompt="[[slow:6]] tell me a long story about lighthouses please")
            streams.append(Stream(base, _session(claim.contractor), claim, turn))
        for stream in streams:
            stream.start()
        for stream in streams:
            assert stream.first.wait(20), "no reply began"

        # The process holds its two streams: a page still answers at once, and a third stream is told to wait.
        page = httpx2.get(f"{base}/accounts/login/", timeout=5)
        assert page.status_code == 200
        third_claim = claims[2]
        third_turn = services.turn_create(claim=third_claim, contractor=third_claim.contractor, prompt="hello")
        third = Stream(base, _session(third_claim.contractor), third_claim, third_turn)
        third.run()
        assert third.events[-1][0] == "failure" and third.events[-1][1]["code"] == "model_busy"
        assert "send your message again in a few seconds" in third.events[-1][1]["message"]
        assert not any(stream.ended.is_set() for stream in streams), "the pages must answer while streams run"

        for stream in streams:
            stream.join(40)
            assert stream.error is None
            assert stream.events[-1][0] == "done"  # longer than the worker timeout, and not killed
        assert ModelTurn.objects.filter(status="done").count() == 2
        # The busy turn failed without counting; it can be sent again now there is room.
        again = services.turn_create(claim=third_claim, contractor=third_claim.contractor, prompt="hello")
        retry = Stream(base, _session(third_claim.contractor), third_claim, again)
        retry.run()
        assert retry.events[-1][0] == "done"


def test_a_worker_killed_mid_reply_leaves_the_turn_broken_off_with_what_came(model_server):
    _project, claims = _conversation(model_server)
    claim = claims[0]
    cookies = _session(claim.contractor)
    with gunicorn() as (proc, base):
        turn = services.turn_create(claim=claim, contractor=claim.contractor,
                                    prompt="[[slow:8]] " + " ".join(f"w{n}" for n in range(40)))
        stream = Stream(base, cookies, claim, turn)
        stream.start()
        assert stream.first.wait(20)
        time.sleep(2.5)  # the growing reply is saved every second
        (worker,) = psutil.Process(proc.pid).children()
        worker.send_signal(signal.SIGKILL)
        assert stream.ended.wait(20)
        assert not stream.events or stream.events[-1][0] == "delta"  # the stream broke, it never ended

        # The master starts a new worker; the next look at the turn records it as broken off.
        def settled():
            with contextlib.suppress(httpx2.TransportError):
                response = httpx2.get(base + reverse("work:turn", args=[claim.pk, turn.pk]), cookies=cookies,
                                      headers={"Accept": "application/json"}, timeout=5)
                return response.status_code == 200 and response.json()["turn"]
            return None

        shown = wait_for(settled, timeout=30)
        assert shown["status"] == "interrupted" and shown["error_code"] == "reply_broke_off"
        assert shown["reply"].startswith("You said: w0") and "What came is kept" in shown["error_message"]
        assert (claim.turns.get(pk=turn.pk).reply) == shown["reply"]

        # Nothing is stuck: the conversation carries on.
        after = services.turn_create(claim=claim, contractor=claim.contractor, prompt="and now?")
        carry_on = Stream(base, cookies, claim, after)
        carry_on.run()
        assert carry_on.events[-1][0] == "done" and carry_on.events[-1][1]["turn"]["number"] == 1


def test_a_page_that_stops_listening_leaves_the_turn_broken_off_with_what_came(model_server):
    _project, claims = _conversation(model_server)
    claim = claims[0]
    with gunicorn() as (_proc, base):
        turn = services.turn_create(claim=claim, contractor=claim.contractor,
                                    prompt="[[slow:6]] " + " ".join(f"w{n}" for n in range(40)))
        url = base + reverse("work:turn_stream", args=[claim.pk, turn.pk])
        with httpx2.Client(cookies=_session(claim.contractor), timeout=20) as client, \
                client.stream("GET", url) as response:
            for line in response.iter_lines():
                if line.startswith("event: delta"):
                    break  # the tab is closed after the first piece
        recorded = wait_for(lambda: ModelTurn.objects.filter(pk=turn.pk, status="interrupted").first(), timeout=20)
        assert recorded.error_code == "page_left" and recorded.reply.startswith("You said:")
        assert "the page stopped listening" in recorded.error_message
