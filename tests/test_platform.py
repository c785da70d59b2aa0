"""Settings, health check, demo data and the Celery set-up."""

import os
import subprocess
import sys

import pytest
from django.core.management import call_command

from accounts.models import User
from projects.models import Batch, Project, Task
from tests.conftest import ROOT, child_env


def test_check_deploy_passes_with_debug_off():
    # Browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; production never has it.
    dropped = {"DEBUG", "SECURE_SSL_REDIRECT", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(DEBUG="false", SECRET_KEY="p" * 20 + "-production-secret-key-0123456789abcdefXYZ",
               ALLOWED_HOSTS="taskhub.example.com", CSRF_TRUSTED_ORIGINS="https://taskhub.example.com")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_healthz_web_scope_reports_both_services_up(client, db):
    response = client.get("/healthz?scope=web")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}


def test_healthz_is_503_naming_the_worker_and_beat_without_their_heartbeats(client, db):
    from django.core.cache import cache

    cache.delete_many(["heartbeat:beat", "heartbeat:worker"])
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["worker", "beat"]
    assert body["checks"]["worker"] == "down: no heartbeat yet"


def test_healthz_is_ok_with_fresh_heartbeats_and_names_a_stale_one(client, db, settings):
    from datetime import timedelta

    from django.utils import timezone

    from taskhub.heartbeats import BEAT, WORKER, heartbeat_record

    heartbeat_record(BEAT)
    heartbeat_record(WORKER)
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok", "worker": "ok", "beat": "ok"}
    heartbeat_record(WORKER, at=timezone.now() - timedelta(seconds=4 * settings.TASKHUB_SERVICE_HEARTBEAT_SECONDS))
    stale = client.get("/healthz").json()
    assert stale["down"] == ["worker"] and stale["checks"]["worker"].startswith("down: last heartbeat")


def test_healthz_is_503_naming_redis_when_redis_is_down(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["redis"]
    assert body["checks"]["postgres"] == "ok"


def test_healthz_is_503_naming_postgres_when_postgres_is_down():
    # A separate process pointed at a port where no PostgreSQL listens.
    code = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz');"
        "print(r.status_code, json.dumps(r.json()))"
    )
    env = child_env(DATABASE_URL="postgres://nobody@127.0.0.1:1/none", DJANGO_SETTINGS_MODULE="taskhub.settings",
                    ALLOWED_HOSTS="testserver", DEBUG="true")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().split(" ", 1)
    assert status == "503"
    assert '"down": ["postgres"' in body


def test_seed_demo_is_idempotent_and_gives_every_role_a_login(db, client):
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    counts = (User.objects.count(), Project.objects.count(), Batch.objects.count(), Task.objects.count())
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert (User.objects.count(), Project.objects.count(), Batch.objects.count(), Task.objects.count()) == counts
    assert counts[3] > 0
    from sprints.models import Question

    assert Question.objects.count() == 2 and Question.objects.filter(pinned_at__isnull=False).count() == 1
    for email, home in [("admin@taskhub.local", "/manage/"), ("lead@taskhub.local", "/lead/"),
                        ("alice@taskhub.local", "/work/")]:
        client.logout()
        response = client.post("/accounts/login/", {"login": email, "password": "taskhub-demo"}, follow=True)
        assert response.redirect_chain[-1][0] == home, email
        assert response.status_code == 200


@pytest.mark.worker
def test_a_real_worker_process_runs_the_expiry_sweep(celery_worker_process):
    from datetime import timedelta

    from django.utils import timezone

    from annotations.models import Claim
    from annotations.services import task_claim_next
    from annotations.tasks import claims_expire_overdue
    from tests import factories
    from tests.conftest import wait_for

    batch = factories.BatchFactory()
    factories.make_tasks(batch, 1)
    person = factories.ContractorFactory()
    claim = task_claim_next(contractor=person, project=batch.project, now=timezone.now() - timedelta(hours=2))
    claims_expire_overdue.delay()

    wait_for(lambda: Claim.objects.get(pk=claim.pk).status == Claim.Status.EXPIRED)
    assert Task.objects.get(batch=batch).claim_count == 0
