import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")

app = Celery("taskhub")
# Every Celery option lives in Django settings under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
