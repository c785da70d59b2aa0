import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests import factories
from tests.openai_server import running as model_server_running

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fast_and_local(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def contractor(db):
    return factories.ContractorFactory()


@pytest.fixture
def lead(db):
    return factories.LeadFactory()


@pytest.fixture
def admin_user(db):
    return factories.AdminFactory()


@pytest.fixture
def work(db):
    """Submitted work built straight into the tables (the claim engine has its own tests)."""
    return factories.Work()


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def test_database_url() -> str:
    """A URL for the test database, for processes started by tests (workers, servers)."""
    db = connection.settings_dict
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    return f"postgres://{quote(db['USER'] or '')}{password}@{host}{port}/{db['NAME']}"


test_database_url.__test__ = False


def child_env(**extra) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = test_database_url()
    env["CELERY_DEFAULT_QUEUE"] = settings.CELERY_TASK_DEFAULT_QUEUE
    env.update(extra)
    return env


@contextlib.contextmanager
def celery_worker(name: str = "celery-worker", **env):
    """A real Celery worker process on the test queue, against the test database and Redis, until the block
    ends (stopped with its process group)."""
    log = ROOT / "tests" / "artifacts" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "taskhub", "worker", "--pool=solo", "--loglevel=INFO",
             "-Q", f"{settings.CELERY_TASK_DEFAULT_QUEUE},{settings.CELERY_WEBHOOK_QUEUE}",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"{name}-{os.getpid()}@%h"],
            cwd=ROOT, env=child_env(**env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while b"ready." not in log.read_bytes():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Celery worker did not start:\n{log.read_text()}")
                time.sleep(0.2)
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real Celery worker process on the test queue, against the test database and Redis."""
    from taskhub.celery import app

    app.control.purge()
    with celery_worker() as proc:
        yield proc


@pytest.fixture
def model_server():
    """A real OpenAI-compatible server on a loopback port (tests/openai_server.py), deterministic replies."""
    with model_server_running() as server:
        yield server


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


# --- the one line that says whether the browser tests ran -----------------------------------

_browser_outcomes: dict[str, int] = {}


def pytest_runtest_logreport(report):
    if "browser" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _browser_outcomes[report.outcome] = _browser_outcomes.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter):
    from tests.hardening import FIGURES

    if FIGURES:
        figures = ", ".join(f"{name}: {value:,}" for name, value in sorted(FIGURES.items()))
        terminalreporter.write_sep("=", f"Hardening (issue 15): {figures}", bold=True)
    if not _browser_outcomes:
        return
    ran = _browser_outcomes.get("passed", 0) + _browser_outcomes.get("failed", 0)
    skipped = _browser_outcomes.get("skipped", 0)
    from tests.e2e.conftest import CHROMIUM

    if skipped and not ran:
        line = (f"Browser tests: all {skipped} skipped, {CHROMIUM} is not installed. "
                "Install Debian's Chromium (apt-get install -y chromium) to run them.")
    else:
        line = f"Browser tests: {ran} ran in headless Chromium ({CHROMIUM})"
        if _browser_outcomes.get("failed"):
            line += f", {_browser_outcomes['failed']} failed"
        if skipped:
            line += f", {skipped} skipped"
        line += "."
    terminalreporter.write_sep("=", line, bold=True)
