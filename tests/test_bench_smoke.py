"""Every benchmark runs end to end at a tiny size against the test database and leaves it as it
found it. The figures mean nothing at this size; what this catches is a benchmark broken by a change
elsewhere (a new NOT NULL column its seed does not fill, a health check it waits on, a table its
cleanup forgets), which would otherwise be found only by the next `make bench`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

SMOKE = {
    "claim_storm": ["--tasks", "200", "--concurrency", "2"],
    "cycle_storm": ["--levels", "2", "--seconds", "1", "--minimal-seconds", "0.5", "--tasks", "60", "--people", "4",
                    "--workers", "1"],
    "export": ["--sizes", "400", "--repeat", "1"],
    "fairness": ["--contractors", "40", "--tasks", "80"],
    "http_herd": ["--tasks", "10", "--people", "20", "--workers", "1", "--requests", "40", "--clients", "2",
                  "--rounds", "1"],
    "import_tasks": [],
    "lottery": ["--tasks", "300", "--participants", "30", "--rounds", "1"],
    "recompute": ["--sizes", "400", "--contractors", "20", "--repeat", "1"],
}

# Tables a benchmark writes to; each must hold as many rows after it as before.
TABLES = ("accounts_user", "accounts_notification", "accounts_outgoingemail", "accounts_digestitem",
          "projects_project", "projects_batch", "projects_task", "projects_taskimport", "annotations_claim",
          "annotations_submission", "annotations_review", "annotations_lotteryentry", "payouts_ledgerentry",
          "django_session")


def test_every_benchmark_is_covered():
    assert sorted(SMOKE) == sorted(p.stem for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_"))


def _counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
        return counts


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", sorted(SMOKE))
def test_the_benchmark_runs_at_a_tiny_size_and_leaves_the_database_as_it_found_it(name):
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'root'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "true", "BENCH_IMPORT_ROWS": "500",
           "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-smoke-" + "x" * 40}
    before = _counts()
    done = subprocess.run([sys.executable, str(ROOT / "bench" / f"{name}.py"), *SMOKE[name]], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-3000:]
    assert "goal" in output.lower() or "ratio" in output.lower(), output[-3000:]
    assert _counts() == before
