"""The project's frame, below every app: settings from the environment, the URLs, the Celery app,
and what all apps share: one error shape (`errors`), money (`money`), the one upward hook
(`hooks`), SQL files (`sql`), admin and form helpers, health checks and the demo data."""

from .celery import app as celery_app

__all__ = ["celery_app"]
