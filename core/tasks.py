from celery import shared_task

from .models import WorkerHeartbeat


@shared_task(name="core.heartbeat", ignore_result=True)
def heartbeat(label: str = "beat") -> None:
    """Periodic (Celery beat) and on demand: leaves a row that says a worker is alive."""
    hostname = heartbeat.request.hostname or ""
    WorkerHeartbeat.objects.create(token=label[:64], hostname=hostname[:255])
    # Keep the table small: the latest hundred are plenty to show liveness.
    stale = WorkerHeartbeat.objects.values_list("pk", flat=True)[100:]
    WorkerHeartbeat.objects.filter(pk__in=list(stale)).delete()
