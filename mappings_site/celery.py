"""The Celery application. Configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mappings_site.settings")

app = Celery("mappings_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="mappings_site.ping")
def ping() -> str:
    """A no-op task: health checks and tests use it to prove a worker is consuming."""
    return "pong"
