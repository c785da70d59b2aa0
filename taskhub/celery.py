import os

from celery import Celery
from celery.signals import beat_init, before_task_publish

from . import heartbeats

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")

app = Celery("taskhub")
# Every Celery option lives in Django settings under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _beat_published(sender=None, **kwargs) -> None:
    if sender == heartbeats.TASK_NAME:
        heartbeats.heartbeat_record(heartbeats.BEAT)


@beat_init.connect
def _record_beat_heartbeats(sender=None, **kwargs) -> None:
    """In the beat process only: each heartbeat it publishes is beat's own heartbeat (/healthz)."""
    before_task_publish.connect(_beat_published, weak=False)
