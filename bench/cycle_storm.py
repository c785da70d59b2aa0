"""Cycle storm: contractors looping claim-next then submit over HTTP, right after an import.

The release storm of issue 16, through the real server: gunicorn with 4 sync workers and
production settings (DEBUG off, every middleware, CSRF on), a Celery worker on a queue of its
own, the benchmark database. 200 contractors each get a session (made in the session store, as a
sign-in would) and a CSRF token. For each concurrency C (8, 32 and 128 by default):

  1. a project of its own (pairwise, first come, overlap 1, a per-task rate) gets a batch of
     20,000 tasks through the import service (`task_import_create` + `task_import_run`), which is
     released at once: no manual ANALYZE, so the claims see whatever statistics the import left;
  2. C client threads, one contractor each, loop POST /api/projects/<slug>/claims/next/ then
     POST /api/claims/<id>/submit/ with an answer, for 20 s;
  3. the same C threads then call a minimal view (bench/_herd_urls.py: the same server, workers
     and middleware, session and CSRF, no work of its own) for a few seconds: the server's bound.

Printed per C: cycles/s, claim and submit p50 / p95 / p99, 5xx and other failures, the CPU used by
process group (web: gunicorn; Celery: the worker; PostgreSQL: the backends of the benchmark's
database; the load generator) and database CPU per cycle, the minimal view's requests/s and the
ratio of cycles/s to half of it (a cycle is two requests). Afterwards, in the database: tasks over
their overlap, contractors twice on a task, claims submitted twice, and submissions paid other
than exactly once (after the worker has drained what the storm queued). Everything seeded is
deleted at the end. Goals (a quiet 2-core machine): >= 145 cycles/s at C = 8, >= 130 at C = 128,
claim p99 < 1 s at C = 128, 0 5xx, 0 duplicates, >= 0.35 of the server's bound.

    make bench BENCH=cycle_storm
    DATABASE_URL=postgres://.../taskhub_bench .venv/bin/python bench/cycle_storm.py --levels 8,32,128 --seconds 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

# CYCLE_STORM_CODE: another checkout of TaskHub to measure (the server, the worker and the import
# then run its code: a baseline measured the same way on the same database).
ROOT = Path(os.environ.get("CYCLE_STORM_CODE") or Path(__file__).resolve().parent.parent).resolve()
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")
MEDIA = tempfile.TemporaryDirectory(prefix="taskhub-bench-media-")
os.environ["MEDIA_ROOT"] = MEDIA.name

HOST = "127.0.0.1"
CSRF_TOKEN = "c" * 32  # any 32-character secret works when cookie and header agree
PREFIX = "cycle-storm"
ANSWER = json.dumps({"answer": {"choice": "A", "strength": "clear", "reason": "A answers the question."}}).encode()
GOALS = {"cycles_c8": 145.0, "cycles_c128": 130.0, "claim_p99_c128": 1.0, "bound_ratio": 0.35}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def payload(i: int) -> dict:
    return {"prompt": f"Question {i}: which answer explains a heat pump better?",
            "response_a": f"Answer A{i}: a refrigerant evaporates cold and condenses warm.",
            "response_b": f"Answer B{i}: a compressor pumps heat against the gradient."}


# --- seeding -------------------------------------------------------------------------------------


def seed_people(count: int, tag: str) -> tuple[list[int], list[str]]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from accounts.models import Role, User

    with transaction.atomic():
        users = User.objects.bulk_create(
            User(email=f"{PREFIX}-{tag}-{i}@bench.invalid", role=Role.CONTRACTOR, password="!unusable")
            for i in range(count)
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
    return [u.pk for u in users], [s.session_key for s in sessions]


def seed_level(*, tag: str, level: int, tasks: int):
    """A project with a rate and a released batch of `tasks` imported tasks; (project, import seconds)."""
    from django.core.files import File
    from django.utils import timezone

    from annotations.services import batch_release
    from projects.models import Batch, PayRate, Project, TaskImport
    from projects.services import task_import_create, task_import_run

    project = Project.objects.create(
        name=f"Cycle storm {tag} C{level}", slug=f"{PREFIX}-{tag}-c{level}", task_type="pairwise", overlap=1,
        status=Project.Status.ACTIVE, max_active_claims=5, claim_minutes=60, instructions="Bench.",
        review_sample_rate=0,
    )
    PayRate.objects.create(project=project, amount=Decimal("0.50"), unit=PayRate.Unit.PER_TASK,
                           effective_from=timezone.now() - timedelta(days=1), reason="Bench rate.")
    batch = Batch.objects.create(project=project, name=f"storm C{level}", status=Batch.Status.DRAFT)
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "tasks.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for i in range(tasks):
                out.write(json.dumps({"external_id": f"t-{i:06d}", "payload": payload(i)}) + "\n")
        started = time.perf_counter()
        with path.open("rb") as handle:
            task_import = task_import_create(batch=batch, uploaded_file=File(handle, name=path.name), enqueue=False)
        task_import = task_import_run(task_import_id=task_import.pk)
        seconds = time.perf_counter() - started
    if task_import.status != TaskImport.Status.DONE:
        raise SystemExit(f"the import failed: {task_import.errors[:3]}")
    batch.refresh_from_db()
    batch_release(batch=batch)
    return project, seconds


def cleanup(tag: str, session_keys: list[str]) -> None:
    """Remove everything seeded. Ledger rows are append-only for every normal session; the
    benchmark's own session switches triggers off (replica mode) to clear its data."""
    from django.db import connection, transaction

    from projects.models import TaskImport

    for task_import in TaskImport.objects.filter(project__slug__startswith=f"{PREFIX}-{tag}-"):
        if task_import.file:
            task_import.file.delete(save=False)
    mine = f"(SELECT id FROM accounts_user WHERE email LIKE '{PREFIX}-{tag}-%%')"
    projects = f"(SELECT id FROM projects_project WHERE slug LIKE '{PREFIX}-{tag}-%%')"
    statements = [
        f"DELETE FROM payouts_ledgerentry WHERE contractor_id IN {mine}",
        f"DELETE FROM annotations_review WHERE submission_id IN "
        f"(SELECT id FROM annotations_submission WHERE project_id IN {projects})",
        f"DELETE FROM annotations_submission WHERE project_id IN {projects}",
        f"DELETE FROM annotations_batchdemand WHERE contractor_id IN {mine}",
        f"DELETE FROM annotations_claim WHERE project_id IN {projects}",
        f"DELETE FROM projects_task WHERE project_id IN {projects}",
        f"DELETE FROM projects_taskimport WHERE project_id IN {projects}",
        f"DELETE FROM projects_webhook WHERE project_id IN {projects}",
        f"DELETE FROM projects_batch WHERE project_id IN {projects}",
        f"DELETE FROM projects_payrate WHERE project_id IN {projects}",
        f"DELETE FROM projects_project WHERE id IN {projects}",
        f"DELETE FROM accounts_digestitem WHERE user_id IN {mine}",
        f"DELETE FROM accounts_outgoingemail WHERE user_id IN {mine}",
        f"DELETE FROM accounts_notification WHERE user_id IN {mine}",
        f"DELETE FROM accounts_user WHERE email LIKE '{PREFIX}-{tag}-%%'",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for sql in statements:
            cursor.execute(sql)
        cursor.execute("DELETE FROM django_session WHERE session_key = ANY(%s)", [session_keys])
    with connection.cursor() as cursor:
        for table in ("projects_task", "annotations_claim", "annotations_submission", "payouts_ledgerentry",
                      "taskhub_outboxmessage", "django_session", "accounts_user"):
            cursor.execute(f"VACUUM ANALYZE {table}")


# --- the server and the worker ---------------------------------------------------------------------


def server_env(queue: str) -> dict:
    env = dict(os.environ)
    env.update({
        "DEBUG": "false", "SECRET_KEY": env.get("SECRET_KEY") or "bench-" + uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": HOST, "SECURE_SSL_REDIRECT": "false", "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false", "SECURE_HSTS_SECONDS": "0", "ROOT_URLCONF": "bench._herd_urls",
        "LOG_LEVEL": "WARNING", "CELERY_DEFAULT_QUEUE": queue,
    })
    return env


def start(cmd: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL)


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for_server(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            status, _ = request(port, "GET", "/healthz?scope=web", None)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")


# --- CPU accounting ----------------------------------------------------------------------------------


def _tree_cpu(pid: int) -> float:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the benchmark's database."""
    import psutil
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database])
        pids = [row[0] for row in cursor.fetchall()]
    found = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            found[pid] = times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


class CpuMeter:
    def __init__(self, *, server: subprocess.Popen, worker: subprocess.Popen, database: str) -> None:
        self.server, self.worker, self.database = server, worker, database

    def sample(self) -> dict:
        import psutil

        me = psutil.Process().cpu_times()
        return {"web": _tree_cpu(self.server.pid), "celery": _tree_cpu(self.worker.pid),
                "postgres": _backend_cpu(self.database), "load": me.user + me.system, "at": time.monotonic()}

    @staticmethod
    def used(before: dict, after: dict) -> dict:
        # Backends that connected during the run count from 0; those that left are missed (the server
        # and the worker keep their connections: CONN_MAX_AGE).
        postgres = sum(cpu - before["postgres"].get(pid, 0.0) for pid, cpu in after["postgres"].items())
        return {"web": after["web"] - before["web"], "celery": after["celery"] - before["celery"],
                "postgres": postgres, "load": after["load"] - before["load"], "seconds": after["at"] - before["at"]}


# --- the clients -------------------------------------------------------------------------------------


def request(port: int, method: str, path: str, session_key: str | None, body: bytes | None = None,
            ) -> tuple[int, bytes]:
    """One request on a new connection (gunicorn's sync workers close each one)."""
    headers = {"Host": HOST, "Accept": "application/json", "Connection": "close"}
    if session_key:
        headers["Cookie"] = f"sessionid={session_key}; csrftoken={CSRF_TOKEN}"
        headers["X-CSRFToken"] = CSRF_TOKEN
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        conn.request(method, path, body=body if body is not None else (b"" if method == "POST" else None),
                     headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cycles = 0
        self.claim_times: list[float] = []
        self.submit_times: list[float] = []
        self.server_errors = 0
        self.failures: dict[str, int] = {}
        self.samples: list[str] = []

    def fail(self, label: str, body: bytes) -> None:
        with self.lock:
            self.failures[label] = self.failures.get(label, 0) + 1
            if label.startswith("5"):
                self.server_errors += 1
            if len(self.samples) < 3:
                self.samples.append(f"{label}: {body[:300]!r}")


def storm(port: int, slug: str, session_keys: list[str], seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    barrier = threading.Barrier(len(session_keys) + 1)
    stop_at = [0.0]
    claim_path = f"/api/projects/{slug}/claims/next/"

    def client(key: str) -> None:
        claims, submits, cycles = [], [], 0
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            started = time.perf_counter()
            try:
                status, body = request(port, "POST", claim_path, key)
            except OSError as exc:
                tally.fail(f"claim {type(exc).__name__}", b"")
                continue
            claims.append(time.perf_counter() - started)
            if status != 201:
                tally.fail(f"{status} claim", body)
                continue
            claim_id = json.loads(body)["id"]
            started = time.perf_counter()
            try:
                status, body = request(port, "POST", f"/api/claims/{claim_id}/submit/", key, ANSWER)
            except OSError as exc:
                tally.fail(f"submit {type(exc).__name__}", b"")
                continue
            submits.append(time.perf_counter() - started)
            if status != 201:
                tally.fail(f"{status} submit", body)
                continue
            cycles += 1
        with tally.lock:
            tally.cycles += cycles
            tally.claim_times += claims
            tally.submit_times += submits

    threads = [threading.Thread(target=client, args=(key,)) for key in session_keys]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    return tally, time.perf_counter() - started


def minimal(port: int, session_keys: list[str], seconds: float) -> float:
    """Requests/s of the minimal view from one thread per session, for `seconds`."""
    done = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(len(session_keys) + 1)
    stop_at = [0.0]

    def client(key: str) -> None:
        n = 0
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            status, _ = request(port, "POST", "/__bench__/minimal/", key)
            if status == 200:
                n += 1
        with lock:
            done[0] += n

    threads = [threading.Thread(target=client, args=(key,)) for key in session_keys]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    return done[0] / (time.perf_counter() - started)


# --- checks afterwards ---------------------------------------------------------------------------------


def wait_until_paid(project_ids: list[int], timeout: float = 120) -> None:
    """The storm may leave work queued (pay recomputes, outbox messages): wait for the worker."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM annotations_submission WHERE project_id = ANY(%s) "
                           "AND posted_entries = 0", [project_ids])
            unpaid = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM taskhub_outboxmessage WHERE sent_at IS NULL")
            waiting = cursor.fetchone()[0]
        if not unpaid and not waiting:
            return
        time.sleep(0.5)


def duplicates(project_id: int) -> dict[str, int]:
    from django.db import connection

    checks = {
        "tasks over overlap": """SELECT count(*) FROM projects_task t WHERE t.project_id = %(p)s AND (
            t.claim_count > t.overlap OR t.submitted_count > t.overlap OR
            (SELECT count(*) FROM annotations_claim c WHERE c.task_id = t.id
             AND c.status IN ('active', 'submitted', 'reserved')) > t.overlap)""",
        "contractor twice on a task": """SELECT count(*) FROM (SELECT 1 FROM annotations_claim WHERE project_id = %(p)s
            GROUP BY task_id, contractor_id HAVING count(*) > 1) d""",
        "claims submitted twice": """SELECT count(*) FROM (SELECT 1 FROM annotations_submission WHERE project_id = %(p)s
            GROUP BY claim_id HAVING count(*) > 1) d""",
        "submissions not paid exactly once": """SELECT count(*) FROM annotations_submission s
            WHERE s.project_id = %(p)s AND (s.posted_entries <> 1 OR s.posted_cents <> 50
            OR (SELECT count(*) FROM payouts_ledgerentry e WHERE e.source_type = 'submission'
                AND e.source_id = s.id) <> 1)""",
    }
    found = {}
    with connection.cursor() as cursor:
        for name, sql in checks.items():
            cursor.execute(sql, {"p": project_id})
            found[name] = cursor.fetchone()[0]
    return found


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- main ------------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="8,32,128", help="concurrencies, comma-separated (default 8,32,128)")
    parser.add_argument("--seconds", type=float, default=20.0, help="storm length per level (default 20)")
    parser.add_argument("--minimal-seconds", type=float, default=6.0, help="minimal view per level (default 6)")
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks imported per level (default 20000)")
    parser.add_argument("--people", type=int, default=200, help="contractors with sessions (default 200)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.levels.split(",") if level.strip()]
    if not levels or min(levels) < 1 or max(levels) > args.people or args.seconds <= 0 or args.tasks < 1:
        parser.error("levels must be between 1 and --people, seconds and tasks positive")

    import django

    django.setup()
    from django.db import connection

    database = connection.settings_dict["NAME"]
    tag = uuid.uuid4().hex[:8]
    queue = f"taskhub-cycle-storm-{tag}"
    print(f"cycle_storm: code {ROOT}, {args.people} contractors, levels {levels}, {args.seconds:g} s each, "
          f"{args.tasks:,} tasks imported per level, gunicorn {args.workers} sync workers + 1 Celery worker, "
          f"database {database}; load {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
    _people, session_keys = seed_people(args.people, tag)
    env = server_env(queue)
    port = free_port()
    server = worker = None
    results = []
    project_ids = []
    try:
        bindir = Path(sys.executable).parent
        server = start([str(bindir / "gunicorn"), "taskhub.wsgi:application", "--workers", str(args.workers),
                        "--bind", f"{HOST}:{port}", "--backlog", "4096", "--timeout", "120",
                        "--log-level", "warning"], env)
        worker = start([sys.executable, "-m", "celery", "-A", "taskhub", "worker", "--loglevel=WARNING",
                        "--concurrency=1", "-Q", queue, "--without-gossip", "--without-mingle",
                        "--without-heartbeat"], env)
        wait_for_server(server, port)
        # Warm every worker (imports, connections) on the minimal view.
        minimal(port, session_keys[:8], 1.0)
        meter = CpuMeter(server=server, worker=worker, database=database)
        for level in levels:
            project, import_seconds = seed_level(tag=tag, level=level, tasks=args.tasks)
            project_ids.append(project.pk)
            keys = session_keys[:level]
            before = meter.sample()
            tally, elapsed = storm(port, project.slug, keys, args.seconds)
            after = meter.sample()
            cpu = CpuMeter.used(before, after)
            load = os.getloadavg()[0]
            bound = minimal(port, keys, args.minimal_seconds)
            results.append((level, import_seconds, tally, elapsed, cpu, bound, load))
            rate = tally.cycles / elapsed
            print(f"  C={level}: {rate:.1f} cycles/s, minimal view {bound:.0f} req/s, load {load:.2f}", flush=True)
        wait_until_paid(project_ids)
        dupes = {level: duplicates(pid) for (level, *_rest), pid in zip(results, project_ids, strict=True)}
    finally:
        stop(server)
        stop(worker)
        connection.close()
        cleanup(tag, session_keys)
        MEDIA.cleanup()

    width = 118
    print("-" * width)
    print(f"{'C':>4}{'cycles/s':>10}{'claim p50/p95/p99 ms':>24}{'submit p50/p95/p99 ms':>25}{'5xx':>5}{'fail':>6}"
          f"{'CPU ms/cycle web/celery/pg/load':>33}{'db ms/cycle':>13}")
    rates = {}
    claim_p99 = {}
    ratios = {}
    server_errors = 0
    for level, _import_seconds, tally, elapsed, cpu, bound, _load in results:
        rate = tally.cycles / elapsed
        rates[level], claim_p99[level] = rate, percentile(tally.claim_times, 0.99)
        ratios[level] = rate / (bound / 2) if bound else 0.0
        server_errors += tally.server_errors
        claims = "/".join(f"{percentile(tally.claim_times, q) * 1000:.0f}" for q in (0.5, 0.95, 0.99))
        submits = "/".join(f"{percentile(tally.submit_times, q) * 1000:.0f}" for q in (0.5, 0.95, 0.99))
        cycles = tally.cycles or float("nan")
        cpus = "/".join(f"{cpu[k] / cycles * 1000:.1f}" for k in ("web", "celery", "postgres", "load"))
        db_per_cycle = cpu["postgres"] / cycles * 1000
        print(f"{level:>4}{rate:>10.1f}{claims:>24}{submits:>25}{tally.server_errors:>5}"
              f"{sum(tally.failures.values()):>6}{cpus:>33}{db_per_cycle:>13.1f}")
    print("-" * width)
    for level, import_seconds, tally, elapsed, cpu, bound, load in results:
        cores = {k: cpu[k] / cpu["seconds"] for k in ("web", "celery", "postgres", "load")}
        print(f"C={level}: import {import_seconds:.1f} s; {tally.cycles} cycles in {elapsed:.1f} s; cores used "
              + ", ".join(f"{k} {v:.2f}" for k, v in cores.items())
              + f"; minimal view {bound:.0f} req/s -> ratio to the server's bound {ratios[level]:.2f}; "
              f"load average {load:.2f}")
        if tally.failures:
            print(f"  failures: {tally.failures}; e.g. {tally.samples}")
    total_dupes = 0
    for level, found in dupes.items():
        total_dupes += sum(found.values())
        print(f"C={level} in the database: " + ", ".join(f"{name} {n}" for name, n in found.items()))
    print("-" * width)
    checks = []
    if 8 in rates:
        checks.append(("cycles/s at C=8", rates[8], ">=", GOALS["cycles_c8"]))
    if 128 in rates:
        checks.append(("cycles/s at C=128", rates[128], ">=", GOALS["cycles_c128"]))
        checks.append(("claim p99 at C=128 (s)", claim_p99[128], "<", GOALS["claim_p99_c128"]))
    checks.append(("lowest ratio to the server's bound", min(ratios.values()), ">=", GOALS["bound_ratio"]))
    checks.append(("5xx", server_errors, "==", 0))
    checks.append(("duplicates", total_dupes, "==", 0))
    met_all = True
    for name, value, op, goal in checks:
        met = {">=": value >= goal, "<": value < goal, "==": value == goal}[op]
        met_all &= met
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"goal: {name} {shown} (goal {op} {goal:g}) {'PASS' if met else 'BELOW GOAL'}")
    correct = server_errors == 0 and total_dupes == 0
    print(f"result: {'OK' if met_all else 'BELOW GOAL' if correct else 'FAILED'} "
          f"(load average {os.getloadavg()[0]:.2f}; goals are for a quiet machine)")
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
