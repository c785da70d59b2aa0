"""HTTP herd: the claim API behind the real server when everyone clicks at once.

Seeds a project with 200 tasks (overlap 1, at most one active claim per person) and 1,000
contractors, each with a session made directly in the session store and a CSRF token (no
login requests), then starts gunicorn with 2 sync workers on a free loopback port with
production settings (DEBUG off, real middleware, CSP included), and

  herd: fires 1,000 simultaneous POST /api/projects/<slug>/claims/next/, one per contractor,
      released together behind a barrier. Expected: exactly 200 answers 201 (a claim), 800
      answers 200 {"code": "nothing_left"}, no 5xx, and in the database 200 claims on 200
      distinct tasks by 200 distinct people;
  throughput: claim requests per second (a second project with enough tasks that every
      request claims) against a minimal Django view served by the same gunicorn, behind the
      same middleware with the same session cookie and CSRF token (bench/_herd_urls.py),
      each over new connections from the same number of client threads, alternating, the
      median of three rounds. Goal: claim/minimal >= 0.4.

Everything seeded is deleted at the end.

    make bench BENCH=http_herd
    DATABASE_URL=postgres://.../taskhub_bench .venv/bin/python bench/http_herd.py
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")

HOST = "127.0.0.1"
CSRF_TOKEN = "b" * 32  # any 32-character secret works when cookie and header agree


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def seed(*, herd_tasks: int, people: int, throughput_tasks: int):
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from accounts.models import Role, User
    from projects.models import Batch, Project, Task

    tag = uuid.uuid4().hex[:8]
    with transaction.atomic():
        projects = []
        for name, tasks, cap in (("herd", herd_tasks, 1), ("throughput", throughput_tasks, 32_000)):
            project = Project.objects.create(
                name=f"HTTP {name} {tag}", slug=f"http-{name}-{tag}", task_type="pairwise", overlap=1,
                status=Project.Status.ACTIVE, max_active_claims=cap, claim_minutes=60, instructions="Bench.",
            )
            batch = Batch.objects.create(project=project, name=name, status=Batch.Status.OPEN,
                                         released_at=timezone.now())
            Task.objects.bulk_create(
                Task(batch=batch, project=project, external_id=f"{name}-{i}", overlap=1,
                     payload={"prompt": f"Prompt {i}", "response_a": "A", "response_b": "B"})
                for i in range(tasks)
            )
            projects.append(project)
        users = User.objects.bulk_create(
            User(email=f"herd-{tag}-{i}@bench.local", role=Role.CONTRACTOR, password="!unusable")
            for i in range(people)
        )
        backend = "django.contrib.auth.backends.ModelBackend"
        store = SessionStore()
        expires = timezone.now() + timedelta(hours=2)
        sessions = [
            Session(session_key=get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789"),
                    session_data=store.encode({SESSION_KEY: str(u.pk), BACKEND_SESSION_KEY: backend,
                                               HASH_SESSION_KEY: u.get_session_auth_hash()}),
                    expire_date=expires)
            for u in users
        ]
        Session.objects.bulk_create(sessions)
    return projects, users, [s.session_key for s in sessions]


def cleanup(projects, users, session_keys) -> None:
    from django.contrib.sessions.models import Session
    from django.db import transaction

    from accounts.models import User
    from annotations.models import Claim
    from projects.models import Batch, Project, Task

    with transaction.atomic():
        Claim.objects.filter(project__in=projects).delete()
        Task.objects.filter(project__in=projects).delete()
        Batch.objects.filter(project__in=projects).delete()
        Project.objects.filter(pk__in=[p.pk for p in projects]).delete()
        Session.objects.filter(session_key__in=session_keys).delete()
        User.objects.filter(pk__in=[u.pk for u in users]).delete()


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ)
    env.update({
        "DEBUG": "false", "SECRET_KEY": env.get("SECRET_KEY") or "bench-" + uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": HOST, "SECURE_SSL_REDIRECT": "false", "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false", "SECURE_HSTS_SECONDS": "0", "ROOT_URLCONF": "bench._herd_urls",
        "LOG_LEVEL": "WARNING",
    })
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "taskhub.wsgi:application", "--workers", str(workers),
         "--bind", f"{HOST}:{port}", "--backlog", "4096", "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            status, _ = request(port, "GET", "/healthz?scope=web", None)  # no beat or worker here
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError("gunicorn did not answer /healthz within 30 s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def request(port: int, method: str, path: str, session_key: str | None) -> tuple[int, bytes]:
    """One request on a new connection, like a browser tab that has been idle."""
    headers = {"Host": HOST, "Accept": "application/json", "Connection": "close"}
    if session_key:
        headers["Cookie"] = f"sessionid={session_key}; csrftoken={CSRF_TOKEN}"
        headers["X-CSRFToken"] = CSRF_TOKEN
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        conn.request(method, path, body=b"" if method == "POST" else None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def herd(port: int, path: str, session_keys: list[str]) -> tuple[dict, float]:
    """Every contractor's claim request at once: one thread each, released by one barrier."""
    barrier = threading.Barrier(len(session_keys))
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def one(key):
        barrier.wait()
        try:
            status, body = request(port, "POST", path, key)
        except OSError as exc:
            label = f"error {type(exc).__name__}"
        else:
            code = json.loads(body).get("code") if status == 200 else None
            label = "201 claim" if status == 201 else f"200 {code}" if status == 200 else f"{status}"
        with lock:
            outcomes[label] = outcomes.get(label, 0) + 1

    threads = [threading.Thread(target=one, args=(key,)) for key in session_keys]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return outcomes, time.perf_counter() - started


def throughput(port: int, method: str, path: str, session_keys: list[str], *, requests: int, clients: int,
               expect: int) -> float:
    """Requests per second over `requests` requests from `clients` threads; every answer must be `expect`."""
    failures = []

    def one(i):
        status, body = request(port, method, path, session_keys[i % len(session_keys)])
        if status != expect:
            failures.append((status, body[:200]))

    with ThreadPoolExecutor(max_workers=clients) as pool:
        started = time.perf_counter()
        list(pool.map(one, range(requests)))
        elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} of {requests} requests to {path} did not answer {expect}: {failures[:3]}")
    return requests / elapsed


def herd_claims_check(project) -> tuple[int, int, int]:
    """(claims, distinct tasks, distinct contractors) of the herd project."""
    from django.db.models import Count

    from annotations.models import Claim

    figures = Claim.objects.filter(project=project).aggregate(
        claims=Count("id"), tasks=Count("task_id", distinct=True), people=Count("contractor_id", distinct=True))
    return figures["claims"], figures["tasks"], figures["people"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200, help="tasks in the herd batch (default 200)")
    parser.add_argument("--people", type=int, default=1000, help="contractors in the herd (default 1000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--requests", type=int, default=1500, help="requests per throughput round (default 1500)")
    parser.add_argument("--clients", type=int, default=16, help="client threads for throughput (default 16)")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds, median taken (default 3)")
    args = parser.parse_args(argv)
    if min(args.tasks, args.people, args.workers, args.requests, args.clients, args.rounds) < 1:
        parser.error("every count must be at least 1")

    import django

    django.setup()
    from django.db import connection

    print(f"http_herd: {args.people} contractors, {args.tasks} tasks, gunicorn {args.workers} workers, "
          f"database {connection.settings_dict['NAME']}", flush=True)
    projects, users, session_keys = seed(herd_tasks=args.tasks, people=args.people,
                                         throughput_tasks=args.requests * args.rounds)
    connection.close()
    port = free_port()
    server = None
    try:
        server = start_server(port, args.workers)
        herd_project, tp_project = projects
        outcomes, herd_seconds = herd(port, f"/api/projects/{herd_project.slug}/claims/next/", session_keys)
        claims, tasks, people = herd_claims_check(herd_project)

        claim_path = f"/api/projects/{tp_project.slug}/claims/next/"
        # Warm both paths in every worker (imports, connections) before timing.
        throughput(port, "POST", "/__bench__/minimal/", session_keys, requests=50, clients=4, expect=200)
        claim_rates, minimal_rates = [], []
        for _ in range(args.rounds):
            minimal_rates.append(throughput(port, "POST", "/__bench__/minimal/", session_keys,
                                            requests=args.requests, clients=args.clients, expect=200))
            claim_rates.append(throughput(port, "POST", claim_path, session_keys,
                                          requests=args.requests, clients=args.clients, expect=201))
    finally:
        if server is not None:
            stop_server(server)
        connection.close()
        cleanup(projects, users, session_keys)

    expected = {"201 claim": args.tasks, "200 nothing_left": args.people - args.tasks}
    server_errors = sum(n for label, n in outcomes.items() if label[:1] == "5" or label.startswith("error"))
    herd_ok = outcomes == expected and (claims, tasks, people) == (args.tasks,) * 3
    claim_rate, minimal_rate = statistics.median(claim_rates), statistics.median(minimal_rates)
    ratio = claim_rate / minimal_rate
    width = 60
    print("-" * width)
    print(f"herd: {args.people} simultaneous claim requests for {args.tasks} tasks in {herd_seconds:.2f} s")
    for label, count in sorted(outcomes.items()):
        print(f"  {label:<24}{count:>8}")
    print(f"  5xx or connection errors{server_errors:>7}")
    print(f"  in the database: {claims} claims, {tasks} distinct tasks, {people} distinct contractors")
    print("-" * width)
    print(f"throughput ({args.clients} clients, {args.requests} requests per round, median of {args.rounds}):")
    print(f"  claim API (each request claims) {claim_rate:>8.0f} req/s   rounds: "
          + ", ".join(f"{r:.0f}" for r in claim_rates))
    print(f"  minimal view, same middleware   {minimal_rate:>8.0f} req/s   rounds: "
          + ", ".join(f"{r:.0f}" for r in minimal_rates))
    print(f"ratio claim/minimal: {ratio:.2f} (goal >= 0.40)")
    print("-" * width)
    if not herd_ok:
        print(f"FAILED: expected {expected} and {args.tasks} distinct claims")
    print(f"result: {'OK' if herd_ok and ratio >= 0.4 else 'BELOW GOAL' if herd_ok else 'FAILED'}")
    return 0 if herd_ok else 1


if __name__ == "__main__":
    sys.exit(main())
